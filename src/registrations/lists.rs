//! Reading registrations: the staff list (JSON pages or one CSV), a registrant's own list and
//! the event report.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, SecondsFormat, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::page::{Page, PageRequest, TimeAndId};
use crate::db::schema::{events, invitations, organizations, people, registrations, sessions};
use crate::error::{AppError, AppResult, Validator};
use crate::events::facts::{EventFacts, SessionFacts};
use crate::events::local_time;
use crate::invitations::model::InvitationStatus;
use crate::organizations::model::OrganizationKind;
use crate::registrations::model::{
    EventReport, InvitationFunnel, MyRegistrationView, Registration, RegistrationStatus,
    SessionReport, StaffRegistrationView, StatusCounts,
};
use crate::registrations::seats;

/// Parsed list parameters. Both lists sort on a time and the registration's id.
#[derive(Debug, Clone)]
pub struct ListParams {
    pub statuses: Vec<RegistrationStatus>,
    pub page: PageRequest<TimeAndId>,
}

impl ListParams {
    /// `status` may name several statuses separated by commas.
    pub fn parse(
        status: Option<&str>,
        limit: Option<i64>,
        cursor: Option<&str>,
    ) -> AppResult<ListParams> {
        let mut v = Validator::new();
        let mut statuses = Vec::new();
        for part in status
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            if let Some(s) = v.check("status", part.parse::<RegistrationStatus>()) {
                statuses.push(s);
            }
        }
        let page = PageRequest::parse(&mut v, limit, cursor);
        v.finish()?;
        Ok(ListParams { statuses, page })
    }
}

type StaffRow = (
    Registration,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Registrations of a session for its staff, oldest first. `page` None gives every row (CSV).
async fn staff_rows(
    conn: &mut AsyncPgConnection,
    session_id: Uuid,
    statuses: &[RegistrationStatus],
    page: Option<&PageRequest<TimeAndId>>,
) -> AppResult<Vec<StaffRow>> {
    let mut query = registrations::table
        .inner_join(people::table)
        .left_join(organizations::table)
        .filter(registrations::session_id.eq(session_id))
        .order((registrations::created_at.asc(), registrations::id.asc()))
        .select((
            Registration::as_select(),
            people::email,
            people::name,
            organizations::name.nullable(),
            organizations::kind.nullable(),
            organizations::country.nullable(),
        ))
        .into_boxed();
    if !statuses.is_empty() {
        query = query.filter(registrations::status.eq_any(statuses.to_vec()));
    }
    if let Some((at, id)) = page.and_then(|p| p.after) {
        query = query.filter(
            registrations::created_at
                .gt(at)
                .or(registrations::created_at
                    .eq(at)
                    .and(registrations::id.gt(id))),
        );
    }
    if let Some(page) = page {
        query = query.limit(page.fetch());
    }
    Ok(query.load(conn).await?)
}

/// Waitlist positions of a session's waitlisted registrations, counting from 1.
async fn waitlist_positions(
    conn: &mut AsyncPgConnection,
    session_id: Uuid,
) -> AppResult<HashMap<Uuid, i64>> {
    let queue: Vec<Uuid> = registrations::table
        .filter(registrations::session_id.eq(session_id))
        .filter(registrations::status.eq(RegistrationStatus::Waitlisted))
        .order(registrations::waitlist_seq.asc())
        .select(registrations::id)
        .load(conn)
        .await?;
    Ok(queue
        .into_iter()
        .enumerate()
        .map(|(i, id)| (id, i as i64 + 1))
        .collect())
}

fn staff_view(row: StaffRow, positions: &HashMap<Uuid, i64>) -> StaffRegistrationView {
    let (r, email, name, org_name, org_kind, _org_country) = row;
    StaffRegistrationView {
        id: r.id,
        session_id: r.session_id,
        person_id: r.person_id,
        status: r.status,
        waitlist_position: positions.get(&r.id).copied(),
        source: r.source,
        email,
        name,
        organization: org_name.or(r.organization_name),
        organization_id: r.organization_id,
        organization_kind: org_kind.or_else(|| r.organization_kind.map(|k| k.as_str().to_owned())),
        country: r.country,
        created_at: r.created_at,
        confirmed_at: r.confirmed_at,
        checked_in_at: r.checked_in_at,
    }
}

/// One page of a session's registrations for its staff.
pub async fn staff_page(
    conn: &mut AsyncPgConnection,
    session_id: Uuid,
    params: &ListParams,
) -> AppResult<Page<StaffRegistrationView>> {
    let rows = staff_rows(conn, session_id, &params.statuses, Some(&params.page)).await?;
    let page = Page::from_rows(rows, &params.page, |(r, ..)| (r.created_at, r.id));
    let positions = waitlist_positions(conn, session_id).await?;
    Ok(page.map(|row| staff_view(row, &positions)))
}

/// A session's confirmed registrations and how many of them have checked in.
pub async fn attendance(conn: &mut AsyncPgConnection, session_id: Uuid) -> AppResult<(i64, i64)> {
    Ok(registrations::table
        .filter(registrations::session_id.eq(session_id))
        .filter(registrations::status.eq(RegistrationStatus::Confirmed))
        .select((
            diesel::dsl::count_star(),
            diesel::dsl::count(registrations::checked_in_at),
        ))
        .first(conn)
        .await?)
}

/// Every registration of a session matching `statuses`, for its staff, oldest first (the
/// console's list: a dialogue's session is at most a few hundred people).
pub async fn staff_all(
    conn: &mut AsyncPgConnection,
    session_id: Uuid,
    statuses: &[RegistrationStatus],
) -> AppResult<Vec<StaffRegistrationView>> {
    let rows = staff_rows(conn, session_id, statuses, None).await?;
    let positions = waitlist_positions(conn, session_id).await?;
    Ok(rows
        .into_iter()
        .map(|row| staff_view(row, &positions))
        .collect())
}

/// One staff view of a registration (answers of moderation and check-in).
pub async fn staff_item(
    conn: &mut AsyncPgConnection,
    registration: &Registration,
) -> AppResult<StaffRegistrationView> {
    let (email, name, org_name, org_kind): (String, String, Option<String>, Option<String>) =
        people::table
            .left_join(
                organizations::table.on(organizations::id
                    .nullable()
                    .eq(registration.organization_id)),
            )
            .filter(people::id.eq(registration.person_id))
            .select((
                people::email,
                people::name,
                organizations::name.nullable(),
                organizations::kind.nullable(),
            ))
            .first(conn)
            .await?;
    Ok(StaffRegistrationView {
        id: registration.id,
        session_id: registration.session_id,
        person_id: registration.person_id,
        status: registration.status,
        waitlist_position: seats::waitlist_position(conn, registration).await?,
        source: registration.source,
        email,
        name,
        organization: org_name.or_else(|| registration.organization_name.clone()),
        organization_id: registration.organization_id,
        organization_kind: org_kind.or_else(|| {
            registration
                .organization_kind
                .map(|k| k.as_str().to_owned())
        }),
        country: registration.country.clone(),
        created_at: registration.created_at,
        confirmed_at: registration.confirmed_at,
        checked_in_at: registration.checked_in_at,
    })
}

/// The columns of every registrations CSV (one session's, or a whole dialogue's).
pub const CSV_HEADER: [&str; 11] = [
    "registration_id",
    "session",
    "name",
    "email",
    "organization",
    "organization_kind",
    "country",
    "status",
    "waitlist_position",
    "registered_at",
    "checked_in_at",
];

/// Excel reads a CSV file as the machine's legacy code page unless it starts with the UTF-8
/// byte order mark; with it, Japanese and Vietnamese names open intact.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Every registration of `sessions` (one session, or all of a dialogue's) matching `statuses`,
/// as a CSV file for spreadsheets: the UTF-8 byte order mark, then [`CSV_HEADER`], session by
/// session in the order given, each oldest first, with times in the event's zone (RFC 3339 with
/// its offset). The API's `Accept: text/csv` answer and the console's downloads are this file.
pub async fn registrations_csv(
    conn: &mut AsyncPgConnection,
    event: &EventFacts,
    sessions: &[SessionFacts],
    statuses: &[RegistrationStatus],
) -> AppResult<Vec<u8>> {
    let tz = event.zone();
    let local = |at: DateTime<Utc>| {
        at.with_timezone(&tz)
            .to_rfc3339_opts(SecondsFormat::Secs, false)
    };
    let mut writer = csv::Writer::from_writer(UTF8_BOM.to_vec());
    writer
        .write_record(CSV_HEADER)
        .map_err(AppError::internal)?;
    for session in sessions {
        let rows = staff_rows(conn, session.id, statuses, None).await?;
        let positions = waitlist_positions(conn, session.id).await?;
        for (r, email, name, org_name, org_kind, org_country) in rows {
            let record = [
                r.id.to_string(),
                spreadsheet_safe(&session.title),
                spreadsheet_safe(&name),
                spreadsheet_safe(&email),
                spreadsheet_safe(
                    org_name
                        .or_else(|| r.organization_name.clone())
                        .as_deref()
                        .unwrap_or(""),
                ),
                org_kind
                    .or_else(|| r.organization_kind.map(|k| k.as_str().to_owned()))
                    .unwrap_or_default(),
                r.country.or(org_country).unwrap_or_default(),
                r.status.to_string(),
                positions.get(&r.id).map(i64::to_string).unwrap_or_default(),
                local(r.created_at),
                r.checked_in_at.map(local).unwrap_or_default(),
            ];
            writer.write_record(&record).map_err(AppError::internal)?;
        }
    }
    writer.into_inner().map_err(AppError::internal)
}

/// The sessions of an event in programme order (by start, then id).
pub async fn event_sessions(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
) -> AppResult<Vec<SessionFacts>> {
    Ok(sessions::table
        .filter(sessions::event_id.eq(event_id))
        .order((sessions::starts_at.asc(), sessions::id.asc()))
        .select(SessionFacts::as_select())
        .load(conn)
        .await?)
}

/// Registrants type their own names: a leading `=`, `+`, `-` or `@` would make a spreadsheet
/// evaluate the cell as a formula, so such cells get a leading apostrophe (OWASP's advice).
fn spreadsheet_safe(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

/// The caller's own registrations, by session start.
pub async fn my_page(
    conn: &mut AsyncPgConnection,
    person_id: Uuid,
    params: &ListParams,
) -> AppResult<Page<MyRegistrationView>> {
    let mut query = registrations::table
        .inner_join(sessions::table.inner_join(events::table))
        .filter(registrations::person_id.eq(person_id))
        .order((sessions::starts_at.asc(), registrations::id.asc()))
        .select((
            Registration::as_select(),
            SessionFacts::as_select(),
            EventFacts::as_select(),
        ))
        .limit(params.page.fetch())
        .into_boxed();
    if !params.statuses.is_empty() {
        query = query.filter(registrations::status.eq_any(params.statuses.clone()));
    }
    if let Some((at, id)) = params.page.after {
        query = query.filter(
            sessions::starts_at
                .gt(at)
                .or(sessions::starts_at.eq(at).and(registrations::id.gt(id))),
        );
    }
    let rows: Vec<(Registration, SessionFacts, EventFacts)> = query.load(conn).await?;
    let Page {
        items: rows,
        next_cursor,
    } = Page::from_rows(rows, &params.page, |(r, s, _)| (s.starts_at, r.id));
    let mut items = Vec::with_capacity(rows.len());
    for (r, session, event) in rows {
        let holds_seat = r.status == RegistrationStatus::Confirmed;
        let online_url = session
            .online_link(&event)
            .filter(|_| holds_seat)
            .map(str::to_owned);
        items.push(MyRegistrationView {
            id: r.id,
            session_id: r.session_id,
            status: r.status,
            waitlist_position: seats::waitlist_position(conn, &r).await?,
            session_title: session.title,
            starts_at: session.starts_at,
            ends_at: session.ends_at,
            local_time: local_time::format_range(session.starts_at, session.ends_at, &event.zone()),
            event_id: event.id,
            event_title: event.title,
            event_slug: event.slug,
            timezone: event.timezone,
            online_url,
            created_at: r.created_at,
            checked_in_at: r.checked_in_at,
        });
    }
    Ok(Page { items, next_cursor })
}

/// Session, the directory organisation's kind, the kind given with a typed organisation,
/// registrant's country, organisation's country, check-in.
type ConfirmedRow = (
    Uuid,
    Option<String>,
    Option<OrganizationKind>,
    Option<String>,
    Option<String>,
    Option<DateTime<Utc>>,
);

/// Per session: counts by status, the confirmed by organisation kind and country, attendance;
/// and the event's invitation funnel.
pub async fn event_report(conn: &mut AsyncPgConnection, event_id: Uuid) -> AppResult<EventReport> {
    let event_sessions = event_sessions(conn, event_id).await?;
    let ids: Vec<Uuid> = event_sessions.iter().map(|s| s.id).collect();

    let counts: Vec<(Uuid, RegistrationStatus, i64)> = registrations::table
        .filter(registrations::session_id.eq_any(&ids))
        .group_by((registrations::session_id, registrations::status))
        .select((
            registrations::session_id,
            registrations::status,
            diesel::dsl::count_star(),
        ))
        .load(conn)
        .await?;
    let confirmed: Vec<ConfirmedRow> = registrations::table
        .left_join(organizations::table)
        .filter(registrations::session_id.eq_any(&ids))
        .filter(registrations::status.eq(RegistrationStatus::Confirmed))
        .select((
            registrations::session_id,
            organizations::kind.nullable(),
            registrations::organization_kind,
            registrations::country,
            organizations::country.nullable(),
            registrations::checked_in_at,
        ))
        .load(conn)
        .await?;

    let mut reports: Vec<SessionReport> = event_sessions
        .into_iter()
        .map(|s| SessionReport {
            session_id: s.id,
            title: s.title,
            access: s.access,
            starts_at: s.starts_at,
            capacity: s.capacity,
            counts: StatusCounts::default(),
            confirmed_by_organization_kind: BTreeMap::new(),
            confirmed_by_country: BTreeMap::new(),
            checked_in: 0,
            attendance_rate: None,
        })
        .collect();
    let index: HashMap<Uuid, usize> = reports
        .iter()
        .enumerate()
        .map(|(i, r)| (r.session_id, i))
        .collect();
    for (session_id, status, n) in counts {
        if let Some(&i) = index.get(&session_id) {
            reports[i].counts.add(status, n);
        }
    }
    const UNSPECIFIED: &str = "unspecified";
    for (session_id, org_kind, typed_kind, country, org_country, checked_in_at) in confirmed {
        // A member's kind is the directory's; a typed organisation's, the registrant's.
        let kind = org_kind.or_else(|| typed_kind.map(|k| k.as_str().to_owned()));
        let Some(&i) = index.get(&session_id) else {
            continue;
        };
        let report = &mut reports[i];
        *report
            .confirmed_by_organization_kind
            .entry(kind.unwrap_or_else(|| UNSPECIFIED.to_owned()))
            .or_default() += 1;
        *report
            .confirmed_by_country
            .entry(
                country
                    .or(org_country)
                    .unwrap_or_else(|| UNSPECIFIED.to_owned()),
            )
            .or_default() += 1;
        if checked_in_at.is_some() {
            report.checked_in += 1;
        }
    }
    for report in &mut reports {
        if report.counts.confirmed > 0 {
            report.attendance_rate =
                Some(report.checked_in as f64 / report.counts.confirmed as f64);
        }
    }

    Ok(EventReport {
        event_id,
        generated_at: Utc::now(),
        sessions: reports,
        invitations: invitation_funnel(conn, event_id).await?,
    })
}

/// Invitations by status; a pending invitation past its expiry counts as expired.
async fn invitation_funnel(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
) -> AppResult<InvitationFunnel> {
    let by_status: Vec<(InvitationStatus, i64)> = invitations::table
        .filter(invitations::event_id.eq(event_id))
        .group_by(invitations::status)
        .select((invitations::status, diesel::dsl::count_star()))
        .load(conn)
        .await?;
    let lapsed: i64 = invitations::table
        .filter(invitations::event_id.eq(event_id))
        .filter(invitations::status.eq(InvitationStatus::Pending))
        .filter(invitations::expires_at.le(diesel::dsl::now))
        .count()
        .get_result(conn)
        .await?;
    let mut funnel = InvitationFunnel::default();
    for (status, n) in by_status {
        funnel.sent += n;
        match status {
            InvitationStatus::Pending => funnel.pending += n - lapsed,
            InvitationStatus::Accepted => funnel.accepted += n,
            InvitationStatus::Declined => funnel.declined += n,
            InvitationStatus::Expired => funnel.expired += n,
            InvitationStatus::Revoked => funnel.revoked += n,
        }
    }
    funnel.expired += lapsed;
    Ok(funnel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_params_clamp_and_validate() {
        let p = ListParams::parse(Some("confirmed, waitlisted"), Some(1000), None).expect("ok");
        assert_eq!(p.page.limit, crate::db::page::MAX_LIMIT);
        assert_eq!(
            p.statuses,
            vec![
                RegistrationStatus::Confirmed,
                RegistrationStatus::Waitlisted
            ]
        );
        assert!(ListParams::parse(Some("bogus"), None, None).is_err());
        assert!(ListParams::parse(None, None, Some("%%%")).is_err());
        assert_eq!(
            ListParams::parse(None, None, None).expect("ok").page.limit,
            crate::db::page::DEFAULT_LIMIT
        );
    }

    #[test]
    fn formulas_are_defused() {
        assert_eq!(spreadsheet_safe("=1+1"), "'=1+1");
        assert_eq!(spreadsheet_safe("Ana"), "Ana");
    }
}

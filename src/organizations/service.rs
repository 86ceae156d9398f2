//! The rules of the partnership: who may be a member, unique live names, the membership
//! lifecycle, applications and the emails they cause. Every change writes an audit entry in
//! its own transaction.

use chrono::{NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::audit;
use crate::auth::AuthUser;
use crate::context::Links;
use crate::db::page::{contains_pattern, lower, NameAndId, Page, PageRequest};
use crate::db::schema::organizations;
use crate::db::{is_unique_violation, Updated};
use crate::error::{AppError, AppResult, Code, Validator};
use crate::mail::{inert, EmailBody, MailQuota, OutgoingEmail};
use crate::organizations::model::{
    snapshot, MembershipStatus, NewOrganization, Organization, OrganizationChanges,
    OrganizationKind,
};
use crate::organizations::{CountryCode, WebsiteUrl};
use crate::people::EmailAddress;
use crate::text::{check_characters, Lines};

/// The unique index that keeps live (not withdrawn) names unique whatever their case.
pub const LIVE_NAME_INDEX: &str = "organizations_live_name";

pub fn parse_org_name(raw: &str) -> Result<String, &'static str> {
    let name = raw.trim();
    if name.is_empty() {
        Err("must not be empty")
    } else if name.chars().count() > 300 {
        Err("must be at most 300 characters")
    } else {
        check_characters(name, Lines::Single)?;
        Ok(name.to_owned())
    }
}

pub fn parse_short_name(raw: &str) -> Result<Option<String>, &'static str> {
    let short = raw.trim();
    if short.is_empty() {
        Ok(None)
    } else if short.chars().count() > 50 {
        Err("must be at most 50 characters")
    } else {
        check_characters(short, Lines::Single)?;
        Ok(Some(short.to_owned()))
    }
}

pub fn parse_kind(raw: &str) -> Result<OrganizationKind, String> {
    raw.trim()
        .parse::<OrganizationKind>()
        .map_err(|e| e.to_string())
}

/// An optional country: blank is none.
pub fn parse_country(
    raw: &str,
) -> Result<Option<CountryCode>, crate::organizations::country::CountryCodeError> {
    if raw.trim().is_empty() {
        Ok(None)
    } else {
        CountryCode::parse(raw).map(Some)
    }
}

/// An optional website: blank is none.
pub fn parse_website(
    raw: &str,
) -> Result<Option<WebsiteUrl>, crate::organizations::website::WebsiteUrlError> {
    if raw.trim().is_empty() {
        Ok(None)
    } else {
        WebsiteUrl::parse(raw).map(Some)
    }
}

pub fn parse_note(raw: &str) -> Result<Option<String>, &'static str> {
    let note = raw.trim();
    if note.is_empty() {
        Ok(None)
    } else if note.chars().count() > 4000 {
        Err("must be at most 4000 characters")
    } else {
        check_characters(note, Lines::Multi)?;
        Ok(Some(note.to_owned()))
    }
}

fn country_required_message(kind: OrganizationKind) -> String {
    format!(
        "is required for a {kind} organisation; only regional and international bodies may have none"
    )
}

/// The raw descriptive fields of an organisation, from JSON or a CSV row.
#[derive(Debug, Clone, Copy, Default)]
pub struct OrganizationFields<'a> {
    pub name: Option<&'a str>,
    pub short_name: Option<&'a str>,
    pub kind: Option<&'a str>,
    pub country: Option<&'a str>,
    pub website: Option<&'a str>,
}

/// An organisation's descriptive fields, parsed and consistent (a country where one is due).
#[derive(Debug, Clone)]
pub struct OrganizationInput {
    pub name: String,
    pub short_name: Option<String>,
    pub kind: OrganizationKind,
    pub country: Option<CountryCode>,
    pub website: Option<WebsiteUrl>,
}

impl OrganizationInput {
    /// Records every bad field under `prefix` + its name (e.g. `line[4].country`); `None`
    /// when any was bad.
    pub fn parse(v: &mut Validator, fields: OrganizationFields<'_>, prefix: &str) -> Option<Self> {
        let name = match fields.name {
            Some(raw) => v.check(format!("{prefix}name"), parse_org_name(raw)),
            None => {
                v.add(format!("{prefix}name"), "is required");
                None
            }
        };
        let short_name = v.check(
            format!("{prefix}short_name"),
            parse_short_name(fields.short_name.unwrap_or_default()),
        );
        let kind = match fields.kind.filter(|k| !k.trim().is_empty()) {
            Some(raw) => v.check(format!("{prefix}kind"), parse_kind(raw)),
            None => {
                v.add(format!("{prefix}kind"), "is required");
                None
            }
        };
        let country = v.check(
            format!("{prefix}country"),
            parse_country(fields.country.unwrap_or_default()),
        );
        let website = v.check(
            format!("{prefix}website"),
            parse_website(fields.website.unwrap_or_default()),
        );
        if let (Some(kind), Some(None)) = (kind, &country) {
            if kind.requires_country() {
                v.add(format!("{prefix}country"), country_required_message(kind));
                return None;
            }
        }
        Some(OrganizationInput {
            name: name?,
            short_name: short_name?,
            kind: kind?,
            country: country?,
            website: website?,
        })
    }

    /// The row to insert for these fields with a membership status.
    pub fn into_new(
        self,
        status: MembershipStatus,
        joined_on: Option<NaiveDate>,
    ) -> NewOrganization {
        NewOrganization {
            id: Uuid::now_v7(),
            name: self.name,
            short_name: self.short_name,
            kind: self.kind,
            country: self.country.map(|c| c.as_str().to_owned()),
            website: self.website.map(|w| w.as_str().to_owned()),
            status,
            joined_on,
            contact_name: None,
            contact_email: None,
            application_note: None,
        }
    }
}

/// The day membership starts for an organisation created with `status`: none for applicants,
/// `given` or today otherwise.
pub fn joined_on_for(status: MembershipStatus, given: Option<NaiveDate>) -> Option<NaiveDate> {
    match status {
        MembershipStatus::Applicant => None,
        _ => Some(given.unwrap_or_else(|| Utc::now().date_naive())),
    }
}

/// The 409 for a name already used by a live organisation. Its id is looked up by the caller
/// after the transaction (see [`name_duplicate_error`]); this one serves inside it.
fn duplicate_name_placeholder(name: &str) -> AppError {
    AppError::conflict(
        Code::DuplicateName,
        format!("an organisation named \"{name}\" already exists"),
    )
}

/// Inserts an organisation; a live name taken (even by a concurrent insert) is a 409.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    new: &NewOrganization,
) -> AppResult<Organization> {
    diesel::insert_into(organizations::table)
        .values(new)
        .returning(Organization::as_returning())
        .get_result(conn)
        .await
        .map_err(|e| {
            if is_unique_violation(&e, LIVE_NAME_INDEX) {
                duplicate_name_placeholder(&new.name)
            } else {
                e.into()
            }
        })
}

/// The live organisation whose name equals `name` whatever the case.
pub async fn find_live_by_name(
    conn: &mut AsyncPgConnection,
    name: &str,
) -> AppResult<Option<Organization>> {
    Ok(organizations::table
        .filter(lower(organizations::name).eq(lower(name)))
        .filter(organizations::status.ne(MembershipStatus::Withdrawn))
        .select(Organization::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// The 409 `duplicate_name` naming the existing organisation (name and id).
pub async fn name_duplicate_error(conn: &mut AsyncPgConnection, name: &str) -> AppError {
    match find_live_by_name(conn, name).await {
        Ok(Some(existing)) => AppError::conflict(
            Code::DuplicateName,
            format!(
                "an organisation named \"{}\" already exists (id {}, status {})",
                existing.name, existing.id, existing.status
            ),
        ),
        _ => duplicate_name_placeholder(name),
    }
}

/// Replaces a transaction's `duplicate_name` error by one that names the existing
/// organisation, read after the rollback (the row that won a race is committed by then).
pub async fn explain_duplicate<T>(
    conn: &mut AsyncPgConnection,
    result: AppResult<T>,
    name: &str,
) -> AppResult<T> {
    match result {
        Err(e) if e.code() == Code::DuplicateName => Err(name_duplicate_error(conn, name).await),
        other => other,
    }
}

/// `explain_duplicate` for someone who is not an admin: the existing organisation is named only
/// when it is in the public directory (active), so a duplicate tells nobody about a hidden
/// applicant (or a suspended member).
async fn explain_duplicate_to_public<T>(
    conn: &mut AsyncPgConnection,
    result: AppResult<T>,
    name: &str,
) -> AppResult<T> {
    match result {
        Err(e) if e.code() == Code::DuplicateName => match find_live_by_name(conn, name).await? {
            Some(existing) if existing.status == MembershipStatus::Active => {
                Err(name_duplicate_error(conn, name).await)
            }
            _ => Err(duplicate_name_placeholder(name)),
        },
        other => other,
    }
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> AppResult<Option<Organization>> {
    Ok(organizations::table
        .find(id)
        .select(Organization::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// Locks the organisation's row for the rest of the transaction.
pub async fn lock(conn: &mut AsyncPgConnection, id: Uuid) -> AppResult<Organization> {
    organizations::table
        .find(id)
        .select(Organization::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found("organization"))
}

/// What a directory listing is narrowed to.
#[derive(Debug, Default, Clone)]
pub struct OrganizationFilter {
    pub kind: Option<OrganizationKind>,
    pub country: Option<CountryCode>,
    pub status: Option<MembershipStatus>,
    pub q: Option<String>,
}

/// Organisations by name. The public and non-admins see active members only (asking them for
/// another status finds nothing); admins see every status and may filter by it.
pub async fn list(
    conn: &mut AsyncPgConnection,
    admin: bool,
    filter: &OrganizationFilter,
    page: &PageRequest<NameAndId>,
) -> AppResult<Page<Organization>> {
    let status = if admin {
        filter.status
    } else {
        match filter.status {
            None | Some(MembershipStatus::Active) => Some(MembershipStatus::Active),
            Some(_) => return Ok(Page::from_rows(Vec::new(), page, |o| o.id)),
        }
    };
    let mut query = organizations::table
        .select((Organization::as_select(), lower(organizations::name)))
        .into_boxed();
    if let Some(status) = status {
        query = query.filter(organizations::status.eq(status));
    }
    if let Some(kind) = filter.kind {
        query = query.filter(organizations::kind.eq(kind));
    }
    if let Some(country) = filter.country {
        query = query.filter(organizations::country.eq(country.as_str()));
    }
    if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let pattern = contains_pattern(q);
        query = query.filter(
            organizations::name
                .ilike(pattern.clone())
                .or(organizations::short_name.ilike(pattern)),
        );
    }
    if let Some((name, id)) = page.after.clone() {
        query = query.filter(
            lower(organizations::name)
                .gt(name.clone())
                .or(lower(organizations::name)
                    .eq(name)
                    .and(organizations::id.gt(id))),
        );
    }
    let rows: Vec<(Organization, String)> = query
        .order((lower(organizations::name).asc(), organizations::id.asc()))
        .limit(page.fetch())
        .load(conn)
        .await?;
    Ok(Page::from_rows(rows, page, |(o, key)| (key.clone(), o.id)).map(|(o, _)| o))
}

/// Creates an organisation (admins building the partnership by hand).
pub async fn create(
    conn: &mut AsyncPgConnection,
    actor: Option<Uuid>,
    new: NewOrganization,
) -> AppResult<Organization> {
    let name = new.name.clone();
    let result = crate::db::transaction(&mut *conn, |conn| {
        async move {
            let org = insert(conn, &new).await?;
            audit::record(
                conn,
                actor,
                "create",
                "organization",
                org.id,
                None,
                Some(snapshot(&org)),
            )
            .await?;
            Ok(org)
        }
        .scope_boxed()
    })
    .await;
    explain_duplicate(conn, result, &name).await
}

/// An application to join, from anyone.
#[derive(Debug, Clone)]
pub struct Application {
    pub organization: OrganizationInput,
    pub contact_name: Option<String>,
    pub contact_email: EmailAddress,
    pub note: Option<String>,
}

/// Records an application (status `applicant`) and, in the same transaction, queues or
/// refreshes each admin's hourly digest of the applications waiting (`digest`).
pub async fn apply(
    conn: &mut AsyncPgConnection,
    actor: Option<&AuthUser>,
    application: Application,
    quota: &MailQuota,
    links: &Links,
) -> AppResult<Organization> {
    let admin = actor.is_some_and(AuthUser::is_admin);
    let actor = actor.map(|u| u.account.id);
    let mut new = application
        .organization
        .clone()
        .into_new(MembershipStatus::Applicant, None);
    new.contact_name = application.contact_name.clone();
    new.contact_email = Some(application.contact_email.as_str().to_owned());
    new.application_note = application.note.clone();
    let name = new.name.clone();
    let result = crate::db::transaction(&mut *conn, |conn| {
        async move {
            quota.permit(conn, None).await?;
            let org = insert(conn, &new).await?;
            audit::record(
                conn,
                actor,
                "apply",
                "organization",
                org.id,
                None,
                Some(snapshot(&org)),
            )
            .await?;
            super::digest::queue(conn, links).await?;
            Ok(org)
        }
        .scope_boxed()
    })
    .await;
    if admin {
        explain_duplicate(conn, result, &name).await
    } else {
        explain_duplicate_to_public(conn, result, &name).await
    }
}

fn describe_kind(kind: OrganizationKind) -> String {
    kind.as_str().replace('_', " ")
}

/// What an applicant typed is shown inert: no link in an email.
fn organization_details(org: &Organization) -> Vec<(String, String)> {
    let mut details = vec![("Organisation".to_owned(), inert(&org.name))];
    if let Some(short) = &org.short_name {
        details.push(("Short name".to_owned(), inert(short)));
    }
    details.push(("Kind".to_owned(), describe_kind(org.kind)));
    if let Some(country) = org
        .country
        .as_deref()
        .and_then(|c| CountryCode::parse(c).ok())
    {
        details.push((
            "Country".to_owned(),
            format!("{} ({country})", country.name()),
        ));
    }
    if let Some(website) = &org.website {
        details.push(("Website".to_owned(), inert(website)));
    }
    details
}

fn approval_email(org: &Organization) -> EmailBody {
    let greeting = match &org.contact_name {
        Some(name) => format!("Dear {name},"),
        None => "Dear colleague,".to_owned(),
    };
    EmailBody {
        subject: format!(
            "Welcome to the partnership: {} is now a member",
            inert(&org.name)
        ),
        greeting,
        paragraphs: vec![
            format!(
                "We are pleased to tell you that the application of {} to join the Asia-Pacific Partnership for Atrocity Prevention has been approved.",
                inert(&org.name)
            ),
            "Your organisation now appears in the partnership's public directory and can be invited to its national dialogues.".to_owned(),
        ],
        details: organization_details(org),
        footer: vec!["You receive this message because you applied on behalf of this organisation.".to_owned()],
        ..Default::default()
    }
}

/// A membership transition, each its own endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Approve,
    Suspend,
    Reinstate,
    Withdraw,
}

impl Transition {
    pub fn action(self) -> &'static str {
        match self {
            Transition::Approve => "approve",
            Transition::Suspend => "suspend",
            Transition::Reinstate => "reinstate",
            Transition::Withdraw => "withdraw",
        }
    }

    fn allowed_from(self) -> &'static [MembershipStatus] {
        use MembershipStatus::*;
        match self {
            Transition::Approve => &[Applicant],
            Transition::Suspend => &[Active],
            Transition::Reinstate => &[Suspended],
            Transition::Withdraw => &[Applicant, Active, Suspended],
        }
    }

    fn target(self) -> MembershipStatus {
        match self {
            Transition::Approve | Transition::Reinstate => MembershipStatus::Active,
            Transition::Suspend => MembershipStatus::Suspended,
            Transition::Withdraw => MembershipStatus::Withdrawn,
        }
    }
}

/// On approval, the applicant's contact becomes a person affiliated with the organisation as
/// its focal point (an existing person with that address keeps their details), so that
/// invitations to the organisation's audience reach someone. No contact, no change.
async fn contact_becomes_focal_point(
    conn: &mut AsyncPgConnection,
    actor: Uuid,
    org: &Organization,
) -> AppResult<()> {
    use crate::people::service as people;
    let Some(email) = org
        .contact_email
        .as_deref()
        .and_then(|e| EmailAddress::parse(e).ok())
    else {
        return Ok(());
    };
    let name = org
        .contact_name
        .clone()
        .unwrap_or_else(|| email.as_str().to_owned());
    let input = people::PersonInput {
        email,
        name,
        honorific: None,
        position: None,
    };
    let (person, _) = people::find_or_create(conn, Some(actor), &input).await?;
    let change = people::AffiliationChange {
        position: None,
        focal_point: Some(true),
    };
    people::affiliate(conn, Some(actor), org.id, &person, change).await?;
    Ok(())
}

/// Moves an organisation through the lifecycle under its row lock, so two admins acting at
/// once cannot both succeed from the same status. Approval makes the applicant's contact the
/// focal point and emails them.
pub async fn transition(
    conn: &mut AsyncPgConnection,
    actor: Uuid,
    id: Uuid,
    transition: Transition,
) -> AppResult<Organization> {
    crate::db::transaction(&mut *conn, |conn| {
        async move {
            let before = lock(conn, id).await?;
            let allowed = transition.allowed_from();
            if !allowed.contains(&before.status) {
                let from = allowed.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" or ");
                return Err(AppError::conflict(
                    Code::InvalidTransition,
                    format!(
                        "cannot {} an organisation whose status is {}; only {from} organisations can be {}",
                        transition.action(),
                        before.status,
                        past_tense(transition),
                    ),
                ));
            }
            let now = Utc::now();
            let joined_on = match transition {
                Transition::Approve => Some(now.date_naive()),
                _ => before.joined_on,
            };
            let after: Organization = diesel::update(organizations::table.find(id))
                .set((
                    organizations::status.eq(transition.target()),
                    organizations::joined_on.eq(joined_on),
                    organizations::updated_at.eq(now),
                ))
                .returning(Organization::as_returning())
                .get_result(conn)
                .await?;
            audit::record(
                conn,
                Some(actor),
                transition.action(),
                "organization",
                id,
                Some(snapshot(&before)),
                Some(snapshot(&after)),
            )
            .await?;
            if transition == Transition::Approve {
                contact_becomes_focal_point(conn, actor, &after).await?;
                if let Some(contact) = &after.contact_email {
                    crate::mail::enqueue(
                        conn,
                        OutgoingEmail::new(
                            "organization_approved",
                            contact,
                            after.contact_name.as_deref(),
                            approval_email(&after),
                        )
                        .dedupe(format!("organization-approved:{id}")),
                    )
                    .await?;
                }
            }
            tracing::info!(organization_id = %id, action = transition.action(), status = %after.status, "membership changed");
            Ok(after)
        }
        .scope_boxed()
    })
    .await
}

fn past_tense(transition: Transition) -> &'static str {
    match transition {
        Transition::Approve => "approved",
        Transition::Suspend => "suspended",
        Transition::Reinstate => "reinstated",
        Transition::Withdraw => "withdrawn",
    }
}

/// A partial update as a client sent it, parsed: `None` leaves a field unchanged,
/// `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default)]
pub struct OrganizationUpdate {
    pub name: Option<String>,
    pub short_name: Option<Option<String>>,
    pub kind: Option<OrganizationKind>,
    pub country: Option<Option<CountryCode>>,
    pub website: Option<Option<WebsiteUrl>>,
    pub contact_name: Option<Option<String>>,
    pub contact_email: Option<Option<EmailAddress>>,
}

/// Applies a partial update; the result must still be consistent (a country where the kind
/// needs one). Writes an audit entry only when something changed.
pub async fn update(
    conn: &mut AsyncPgConnection,
    views: &crate::events::PublicViews,
    actor: Uuid,
    id: Uuid,
    update: OrganizationUpdate,
) -> AppResult<Updated<Organization>> {
    let new_name = update.name.clone();
    let result = crate::db::transaction(&mut *conn, |conn| {
        async move {
            let before = lock(conn, id).await?;
            let wanted_name = update.name.clone().unwrap_or_else(|| before.name.clone());
            let kind = update.kind.unwrap_or(before.kind);
            let country = match &update.country {
                Some(c) => c.map(|c| c.as_str().to_owned()),
                None => before.country.clone(),
            };
            if kind.requires_country() && country.is_none() {
                return Err(AppError::invalid("country", country_required_message(kind)));
            }
            let changes = OrganizationChanges {
                name: update.name,
                short_name: update.short_name,
                kind: update.kind,
                country: update.country.map(|c| c.map(|c| c.as_str().to_owned())),
                website: update.website.map(|w| w.map(|w| w.as_str().to_owned())),
                contact_name: update.contact_name,
                contact_email: update
                    .contact_email
                    .map(|e| e.map(|e| e.as_str().to_owned())),
                updated_at: None,
            };
            let unchanged = changes.name.as_ref().is_none_or(|n| *n == before.name)
                && changes
                    .short_name
                    .as_ref()
                    .is_none_or(|v| *v == before.short_name)
                && changes.kind.is_none_or(|v| v == before.kind)
                && changes
                    .country
                    .as_ref()
                    .is_none_or(|v| *v == before.country)
                && changes
                    .website
                    .as_ref()
                    .is_none_or(|v| *v == before.website)
                && changes
                    .contact_name
                    .as_ref()
                    .is_none_or(|v| *v == before.contact_name)
                && changes
                    .contact_email
                    .as_ref()
                    .is_none_or(|v| *v == before.contact_email);
            if unchanged {
                return Ok(Updated {
                    row: before,
                    changed: false,
                });
            }
            let after: Organization = diesel::update(organizations::table.find(id))
                .set(OrganizationChanges {
                    updated_at: Some(Utc::now()),
                    ..changes
                })
                .returning(Organization::as_returning())
                .get_result(conn)
                .await
                .map_err(|e| {
                    if is_unique_violation(&e, LIVE_NAME_INDEX) {
                        duplicate_name_placeholder(&wanted_name)
                    } else {
                        e.into()
                    }
                })?;
            audit::record(
                conn,
                Some(actor),
                "update",
                "organization",
                id,
                Some(snapshot(&before)),
                Some(snapshot(&after)),
            )
            .await?;
            Ok(Updated {
                row: after,
                changed: true,
            })
        }
        .scope_boxed()
    })
    .await;
    views.forget_all();
    match new_name {
        Some(name) => explain_duplicate(conn, result, &name).await,
        None => result,
    }
}

/// Who may manage an organisation's people: admins and its focal point. Others get a 403
/// when the organisation is in the public directory, a 404 when they may not know it exists.
pub async fn require_people_manager(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    org: &Organization,
) -> AppResult<()> {
    let focal_point = match user.person() {
        Some(person) => crate::people::service::is_focal_point(conn, person.id, org.id).await?,
        None => false,
    };
    if user.is_admin() || focal_point {
        Ok(())
    } else if org.status == MembershipStatus::Active {
        Err(AppError::forbidden(
            Code::NotFocalPoint,
            "only admins and the organisation's focal point may manage its people",
        ))
    } else {
        Err(AppError::not_found("organization"))
    }
}

/// How many organisations there are in each status, and how many live (not withdrawn) ones
/// of each kind and in each country: the admins' overview.
#[derive(Debug, Clone, Default)]
pub struct OrganizationCounts {
    pub by_status: Vec<(MembershipStatus, i64)>,
    pub by_kind: Vec<(OrganizationKind, i64)>,
    /// `None`: regional and international bodies without a country.
    pub by_country: Vec<(Option<String>, i64)>,
}

pub async fn counts(conn: &mut AsyncPgConnection) -> AppResult<OrganizationCounts> {
    use diesel::dsl::count_star;
    let by_status = organizations::table
        .group_by(organizations::status)
        .select((organizations::status, count_star()))
        .order(organizations::status.asc())
        .load(conn)
        .await?;
    let by_kind = organizations::table
        .filter(organizations::status.ne(MembershipStatus::Withdrawn))
        .group_by(organizations::kind)
        .select((organizations::kind, count_star()))
        .order(count_star().desc())
        .load(conn)
        .await?;
    let by_country = organizations::table
        .filter(organizations::status.ne(MembershipStatus::Withdrawn))
        .group_by(organizations::country)
        .select((organizations::country, count_star()))
        .order((count_star().desc(), organizations::country.asc()))
        .load(conn)
        .await?;
    Ok(OrganizationCounts {
        by_status,
        by_kind,
        by_country,
    })
}

/// Why an application is declined, as the admin wrote it: sent to the applicant's contact.
pub fn parse_decline_reason(raw: &str) -> Result<String, &'static str> {
    let reason = raw.trim();
    if reason.is_empty() {
        Err("is required: the applicant is told why")
    } else if reason.chars().count() > 2000 {
        Err("must be at most 2000 characters")
    } else {
        check_characters(reason, Lines::Multi)?;
        Ok(reason.to_owned())
    }
}

fn decline_email(org: &Organization, reason: &str) -> EmailBody {
    let greeting = match &org.contact_name {
        Some(name) => format!("Dear {},", inert(name)),
        None => "Dear colleague,".to_owned(),
    };
    EmailBody {
        subject: format!(
            "Your application to join the partnership: {}",
            inert(&org.name)
        ),
        greeting,
        paragraphs: vec![
            format!(
                "Thank you for the application of {} to join the Asia-Pacific Partnership for Atrocity Prevention. The secretariat has decided not to approve it at this time, for this reason:",
                inert(&org.name)
            ),
            reason.to_owned(),
            "You are welcome to apply again when the situation has changed.".to_owned(),
        ],
        details: organization_details(org),
        footer: vec!["You receive this message because you applied on behalf of this organisation.".to_owned()],
        ..Default::default()
    }
}

/// Declines an application: `applicant` → `withdrawn` under the row lock (so its name is free
/// for a later application), audited as `decline` with the reason, and the reason emailed to
/// the applicant's contact. Only applicants can be declined (409 `invalid_transition`).
pub async fn decline(
    conn: &mut AsyncPgConnection,
    actor: Uuid,
    id: Uuid,
    reason: String,
) -> AppResult<Organization> {
    crate::db::transaction(&mut *conn, |conn| {
        async move {
            let before = lock(conn, id).await?;
            if before.status != MembershipStatus::Applicant {
                return Err(AppError::conflict(
                    Code::InvalidTransition,
                    format!(
                        "cannot decline an organisation whose status is {}; only applicant organisations can be declined",
                        before.status
                    ),
                ));
            }
            let after: Organization = diesel::update(organizations::table.find(id))
                .set((
                    organizations::status.eq(MembershipStatus::Withdrawn),
                    organizations::updated_at.eq(Utc::now()),
                ))
                .returning(Organization::as_returning())
                .get_result(conn)
                .await?;
            let mut recorded = snapshot(&after);
            if let Some(fields) = recorded.as_object_mut() {
                fields.insert("decline_reason".to_owned(), reason.clone().into());
            }
            audit::record(
                conn,
                Some(actor),
                "decline",
                "organization",
                id,
                Some(snapshot(&before)),
                Some(recorded),
            )
            .await?;
            if let Some(contact) = &after.contact_email {
                crate::mail::enqueue(
                    conn,
                    OutgoingEmail::new(
                        "organization_declined",
                        contact,
                        after.contact_name.as_deref(),
                        decline_email(&after, &reason),
                    )
                    .dedupe(format!("organization-declined:{id}")),
                )
                .await?;
            }
            tracing::info!(organization_id = %id, action = "decline", "membership changed");
            Ok(after)
        }
        .scope_boxed()
    })
    .await
}

/// Who is added to an organisation: an existing person, or someone by email (an existing
/// person with that address, else a new one).
#[derive(Debug, Clone)]
pub enum Who {
    Id(Uuid),
    New(crate::people::service::PersonInput),
}

impl Who {
    /// Someone added by address: checks the address, honorific and position into `v`. The
    /// name (`"-"` when none was given) is checked by `add_person`, only for someone new.
    pub fn by_email(
        v: &mut Validator,
        email: &str,
        name: &str,
        honorific: Option<&str>,
        position: Option<&str>,
    ) -> Option<Who> {
        let mut inner = Validator::new();
        let input = crate::people::service::PersonInput::parse(
            &mut inner,
            crate::people::service::PersonFields {
                email: Some(email),
                name: Some(name),
                honorific,
                position,
            },
            "",
            crate::people::service::PERSON_FIELD_NAMES,
        );
        if let Err(AppError::Validation(errors)) = inner.finish() {
            for e in errors {
                v.add(e.field, e.message);
            }
        }
        input.map(Who::New)
    }
}

/// Affiliates a person with the organisation under its row lock (creating the person when
/// `who` is a new address; `name` is then required), or changes the existing affiliation;
/// true when the affiliation is new. The caller has checked `require_people_manager`.
pub async fn add_person(
    conn: &mut AsyncPgConnection,
    actor: Option<Uuid>,
    org_id: Uuid,
    who: Who,
    name: Option<&str>,
    change: crate::people::service::AffiliationChange,
) -> AppResult<(crate::people::model::AffiliateView, bool)> {
    use crate::people::service as people;
    let name = name.map(str::to_owned);
    crate::db::transaction(&mut *conn, |conn| {
        async move {
            lock(conn, org_id).await?;
            let person = match who {
                Who::Id(person_id) => people::find(conn, person_id)
                    .await?
                    .ok_or_else(|| AppError::invalid("person_id", "no such person"))?,
                Who::New(mut input) => match people::find_by_email(conn, &input.email).await? {
                    Some(person) => person,
                    None => {
                        input.name = people::parse_name(name.as_deref().unwrap_or_default())
                            .map_err(|e| {
                                AppError::invalid(
                                    "name",
                                    format!("{e} (required for a new person)"),
                                )
                            })?;
                        people::create(conn, actor, &input).await?
                    }
                },
            };
            people::affiliate(conn, actor, org_id, &person, change).await
        }
        .scope_boxed()
    })
    .await
}

/// Ends a person's affiliation with the organisation under its row lock (so it cannot race a
/// focal point change). The caller has checked `require_people_manager`.
pub async fn remove_person(
    conn: &mut AsyncPgConnection,
    actor: Option<Uuid>,
    org_id: Uuid,
    person_id: Uuid,
) -> AppResult<crate::people::model::Affiliation> {
    crate::db::transaction(&mut *conn, |conn| {
        async move {
            lock(conn, org_id).await?;
            crate::people::service::end_affiliation(conn, actor, org_id, person_id).await
        }
        .scope_boxed()
    })
    .await
}

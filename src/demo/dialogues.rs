//! Demo dialogues: the series, the Japan 2022 dialogue as the seed report tells it (completed,
//! with partners, sessions, speakers and its highlights published as outcomes, unattributed
//! for the closed sessions) and the upcoming 2027 edition (published).
//!
//! Works on its own: organisations and speakers' people missing from the database are created
//! from the seed (`data/demo.toml`); an event already present (by slug) is left as it is, so loading twice changes
//! nothing.

use anyhow::{anyhow, Context};
use chrono::{DateTime, Duration, NaiveDateTime, TimeZone as _, Utc};
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{
    event_partners, events, organizations, outcomes, people, series, sessions, speakers,
};
use crate::db::DbPool;
use crate::demo::seed::{self, seed, SeedEvent, SeedOrganization};
use crate::events::model::*;
use crate::organizations::model::MembershipStatus;

diesel::define_sql_function!(fn lower(x: Text) -> Text);

pub async fn load_dialogues(pool: &DbPool) -> anyhow::Result<()> {
    let mut conn = pool.get().await.context("connecting to the database")?;
    conn.transaction::<_, anyhow::Error, _>(|conn| {
        async move {
            let series_id = ensure_series(conn).await?;
            for event in &seed().events {
                load_event(conn, series_id, event).await?;
            }
            Ok(())
        }
        .scope_boxed()
    })
    .await
}

/// The organisation `key` (a name or short name in `seed`), created active when missing.
async fn ensure_organization(conn: &mut AsyncPgConnection, key: &str) -> anyhow::Result<Uuid> {
    let seed_org: &SeedOrganization =
        seed::find_organization(key).ok_or_else(|| anyhow!("no seed organisation {key}"))?;
    let mut query = organizations::table
        .filter(organizations::status.ne(MembershipStatus::Withdrawn))
        .filter(lower(organizations::name).eq(seed_org.name.to_lowercase()))
        .select(organizations::id)
        .into_boxed();
    if let Some(short) = &seed_org.short_name {
        query = query.or_filter(
            organizations::short_name
                .eq(short)
                .and(organizations::status.ne(MembershipStatus::Withdrawn)),
        );
    }
    if let Some(id) = query.first::<Uuid>(conn).await.optional()? {
        return Ok(id);
    }
    let id = Uuid::now_v7();
    diesel::insert_into(organizations::table)
        .values((
            organizations::id.eq(id),
            organizations::name.eq(&seed_org.name),
            organizations::short_name.eq(&seed_org.short_name),
            organizations::kind.eq(seed_org.kind),
            organizations::country.eq(&seed_org.country),
            organizations::website.eq(&seed_org.website),
            organizations::status.eq(MembershipStatus::Active),
            organizations::joined_on.eq(Utc::now().date_naive()),
        ))
        .execute(conn)
        .await
        .with_context(|| format!("creating organisation {}", seed_org.name))?;
    Ok(id)
}

/// The seed person named `name`, by email, created when missing.
async fn ensure_person(conn: &mut AsyncPgConnection, name: &str) -> anyhow::Result<Uuid> {
    let p = seed::find_person(name).ok_or_else(|| anyhow!("no seed person {name}"))?;
    if let Some(id) = people::table
        .filter(people::email.eq(&p.email))
        .select(people::id)
        .first::<Uuid>(conn)
        .await
        .optional()?
    {
        return Ok(id);
    }
    let id = Uuid::now_v7();
    let position: String = p.position.chars().take(200).collect();
    diesel::insert_into(people::table)
        .values((
            people::id.eq(id),
            people::email.eq(&p.email),
            people::name.eq(&p.name),
            people::honorific.eq(&p.honorific),
            people::position.eq(position),
        ))
        .execute(conn)
        .await
        .with_context(|| format!("creating person {}", p.name))?;
    Ok(id)
}

async fn ensure_series(conn: &mut AsyncPgConnection) -> anyhow::Result<Uuid> {
    if let Some(id) = series::table
        .filter(lower(series::name).eq(seed().series.name.to_lowercase()))
        .select(series::id)
        .first::<Uuid>(conn)
        .await
        .optional()?
    {
        return Ok(id);
    }
    let id = Uuid::now_v7();
    diesel::insert_into(series::table)
        .values((
            series::id.eq(id),
            series::name.eq(&seed().series.name),
            series::country.eq(&seed().series.country),
            series::description.eq(&seed().series.description),
        ))
        .execute(conn)
        .await
        .context("creating the series")?;
    Ok(id)
}

/// A seed wall-clock time (`YYYY-MM-DDTHH:MM`, local to `zone`) in UTC.
fn to_utc(local: &str, zone: chrono_tz::Tz) -> anyhow::Result<DateTime<Utc>> {
    let naive = NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M")
        .with_context(|| format!("seed time {local}"))?;
    zone.from_local_datetime(&naive)
        .single()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| anyhow!("seed time {local} is not a single instant in {zone}"))
}

async fn load_event(
    conn: &mut AsyncPgConnection,
    series_id: Uuid,
    seed_event: &SeedEvent,
) -> anyhow::Result<()> {
    let exists = events::table
        .filter(events::slug.eq(&seed_event.slug))
        .select(events::id)
        .first::<Uuid>(conn)
        .await
        .optional()?
        .is_some();
    if exists {
        return Ok(());
    }
    let zone: chrono_tz::Tz = seed_event
        .timezone
        .parse()
        .map_err(|_| anyhow!("seed time zone {}", seed_event.timezone))?;
    let status: EventStatus = seed_event.status;
    let event_id = Uuid::now_v7();
    let now = Utc::now();
    diesel::insert_into(events::table)
        .values((
            events::id.eq(event_id),
            EventFields {
                series_id: Some(series_id),
                slug: seed_event.slug.clone(),
                title: seed_event.title.clone(),
                summary: Some(seed_event.summary.clone()),
                country: Some(seed_event.country.clone()),
                timezone: zone.name().to_owned(),
                format: seed_event.format,
                venue: seed_event.venue.clone(),
                online_url: seed_event.online_url.clone(),
                contact_name: Some(seed_event.contact.name.clone()),
                contact_email: Some(seed_event.contact.email.clone()),
            },
            events::status.eq(status),
            events::published_at.eq((status != EventStatus::Draft).then_some(now)),
        ))
        .execute(conn)
        .await
        .with_context(|| format!("creating event {}", seed_event.slug))?;

    let mut partner_rows = Vec::new();
    for partner in &seed_event.partners {
        let organization_id = ensure_organization(conn, &partner.organization).await?;
        let role: PartnerRole = partner.role;
        partner_rows.push((
            event_partners::event_id.eq(event_id),
            event_partners::organization_id.eq(organization_id),
            event_partners::role.eq(role),
        ));
    }
    diesel::insert_into(event_partners::table)
        .values(partner_rows)
        .execute(conn)
        .await?;

    for seed_session in &seed_event.sessions {
        let session_id = Uuid::now_v7();
        let access: SessionAccess = seed_session.access;
        let starts_at = to_utc(&seed_session.starts_at, zone)?;
        let ends_at = to_utc(&seed_session.ends_at, zone)?;
        // The closed room has a link of its own (a placeholder, like the event's): the public
        // seminar's attendees get the event's link, never this one.
        let online_url = seed_event
            .online_url
            .as_deref()
            .filter(|_| access == SessionAccess::Closed)
            .map(|url| format!("{url}-closed-room"));
        diesel::insert_into(sessions::table)
            .values((
                sessions::id.eq(session_id),
                sessions::event_id.eq(event_id),
                SessionFields {
                    title: seed_session.title.clone(),
                    description: Some(seed_session.description.clone()),
                    access,
                    starts_at,
                    ends_at,
                    capacity: seed_session.capacity,
                    registration_opens_at: None,
                    registration_closes_at: None,
                    requires_approval: false,
                    waitlist: true,
                    chatham_house: seed_session.chatham_house,
                    online_url,
                },
            ))
            .execute(conn)
            .await
            .with_context(|| format!("creating session {}", seed_session.title))?;
        for sp in &seed_session.speakers {
            let person_id = ensure_person(conn, &sp.name).await?;
            let organization = seed::find_organization(&sp.organization)
                .map_or(sp.organization.as_str(), |o| o.name.as_str());
            diesel::insert_into(speakers::table)
                .values(NewSpeaker {
                    id: Uuid::now_v7(),
                    session_id,
                    person_id: Some(person_id),
                    name: format!("{} {}", sp.honorific, sp.name),
                    organization: Some(organization.to_owned()),
                    role: sp.role,
                    sort_order: sp.order,
                })
                .execute(conn)
                .await?;
        }
        if !seed_session.highlights.is_empty() {
            // Closed sessions' highlights are written without attribution in the seed; the
            // outcome view adds no speakers to them either.
            diesel::insert_into(outcomes::table)
                .values(NewOutcome {
                    id: Uuid::now_v7(),
                    event_id,
                    session_id: Some(session_id),
                    title: format!("Highlights: {}", seed_session.title),
                    body_markdown: seed_session.highlights.join("\n\n"),
                    published_at: Some(ends_at + Duration::days(30)),
                    created_by: None,
                })
                .execute(conn)
                .await?;
        }
    }
    tracing::info!(slug = %seed_event.slug, "loaded demo dialogue");
    Ok(())
}

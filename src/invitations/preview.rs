//! A dry run of inviting: who a request would reach, grouped by organisation kind and country,
//! the organisations of its audience that have nobody to invite, and who would be skipped and
//! why. It runs the same checks as creating (`create::check_request`) and writes nothing, so
//! the console can show it before anything is sent and the API can offer it to clients.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::db::schema::{affiliations, organizations};
use crate::error::{AppError, AppResult, Code};
use crate::events::local_time::format_local;
use crate::invitations::create::{check_request, live_invitations};
use crate::invitations::lookup::{event_for_staff, live_registrations};
use crate::invitations::model::SkipReason;
use crate::invitations::types::{CreateInvitationsRequest, SkippedInvitee};
use crate::organizations::model::{MembershipStatus, OrganizationKind};
use crate::organizations::CountryCode;

/// An organisation as the preview names it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PreviewOrganization {
    pub id: Uuid,
    pub name: String,
    pub kind: OrganizationKind,
    /// ISO 3166-1 alpha-2; none for regional and international bodies.
    pub country: Option<String>,
}

/// Someone the request would invite.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PreviewInvitee {
    pub email: String,
    pub name: String,
    /// True when the partnership does not know them yet: sending creates the person.
    pub new_person: bool,
    /// The organisation they are invited as.
    pub organization: Option<PreviewOrganization>,
}

/// How many invitees share an organisation kind and country (both none: invited in their own
/// name, without an organisation).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PreviewGroup {
    pub kind: Option<OrganizationKind>,
    pub country: Option<String>,
    pub invitees: usize,
    pub organizations: usize,
}

/// A closed session the invitations would offer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PreviewSession {
    pub id: Uuid,
    pub title: String,
    /// In the event's time zone.
    pub local_time: String,
}

/// What `POST /events/{id}/invitations` would do with the same body, at this moment.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InvitationPreview {
    pub sessions: Vec<PreviewSession>,
    pub expires_at: DateTime<Utc>,
    /// The expiry in the event's time zone.
    pub expires_local: String,
    pub message: Option<String>,
    /// Who would be invited, in the order they would be (named people first, then the
    /// audience, focal points first).
    pub invitees: Vec<PreviewInvitee>,
    /// The invitees by organisation kind and country.
    pub groups: Vec<PreviewGroup>,
    /// Active organisations the audience matches that have no affiliated person: nobody there
    /// would hear of the dialogue.
    pub organizations_without_people: Vec<PreviewOrganization>,
    /// Who would get no new invitation, and why.
    pub skipped: Vec<SkippedInvitee>,
}

/// Runs every check of creating invitations and answers who they would reach; writes nothing.
/// Errors are those of creating (422 listing every bad field, 409 `event_not_open`, 403/404).
pub async fn preview(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    event_id: Uuid,
    request: &CreateInvitationsRequest,
) -> AppResult<InvitationPreview> {
    let event = event_for_staff(conn, user, event_id).await?;
    if !event.accepts_invitations() {
        return Err(AppError::conflict(
            Code::EventNotOpen,
            format!("the event is {}: it takes no new invitations", event.status),
        ));
    }
    let now = Utc::now();
    let checked = check_request(conn, &event, request, now).await?;
    let person_ids: Vec<Uuid> = checked
        .candidates
        .iter()
        .filter_map(|c| c.person_id)
        .collect();
    let session_ids: Vec<Uuid> = checked.sessions.iter().map(|s| s.id).collect();
    let invited = live_invitations(conn, event.id, &person_ids, &session_ids, now).await?;
    let registered = live_registrations(conn, &person_ids, &session_ids).await?;

    let org_ids: Vec<Uuid> = checked
        .candidates
        .iter()
        .filter_map(|c| c.organization_id)
        .collect();
    let orgs: HashMap<Uuid, PreviewOrganization> = load_organizations(
        conn,
        organizations::table
            .filter(organizations::id.eq_any(&org_ids))
            .into_boxed(),
    )
    .await?
    .into_iter()
    .map(|o| (o.id, o))
    .collect();

    let mut skipped = checked.skipped;
    let mut invitees = Vec::new();
    for candidate in checked.candidates {
        let reason = match candidate.person_id {
            Some(id) if invited.contains(&id) => Some(SkipReason::AlreadyInvited),
            Some(id) if registered.contains(&id) => Some(SkipReason::AlreadyRegistered),
            _ => None,
        };
        if let Some(reason) = reason {
            skipped.push(SkippedInvitee {
                email: candidate.email,
                reason,
            });
            continue;
        }
        invitees.push(PreviewInvitee {
            email: candidate.email,
            name: candidate.name,
            new_person: candidate.person_id.is_none(),
            organization: candidate
                .organization_id
                .and_then(|id| orgs.get(&id).cloned()),
        });
    }

    let organizations_without_people = match &checked.audience {
        Some((kinds, countries)) => without_people(conn, kinds, countries).await?,
        None => Vec::new(),
    };
    let zone = event.zone();
    Ok(InvitationPreview {
        sessions: checked
            .sessions
            .iter()
            .map(|s| PreviewSession {
                id: s.id,
                title: s.title.clone(),
                local_time: event.local_time(s),
            })
            .collect(),
        expires_at: checked.expires_at,
        expires_local: format_local(checked.expires_at, &zone),
        message: checked.message,
        groups: groups(&invitees),
        invitees,
        organizations_without_people,
        skipped,
    })
}

/// The invitees counted by (kind, country), in kind order then country; those without an
/// organisation last.
fn groups(invitees: &[PreviewInvitee]) -> Vec<PreviewGroup> {
    // Kinds in their declared order (government first), by their place in `ALL`.
    type Key = (bool, Option<usize>, Option<String>);
    let place = |kind: OrganizationKind| OrganizationKind::ALL.iter().position(|k| *k == kind);
    let mut by: BTreeMap<Key, (usize, Vec<Uuid>)> = BTreeMap::new();
    for invitee in invitees {
        let key = match &invitee.organization {
            Some(o) => (false, place(o.kind), o.country.clone()),
            None => (true, None, None),
        };
        let entry = by.entry(key).or_default();
        entry.0 += 1;
        if let Some(o) = &invitee.organization {
            if !entry.1.contains(&o.id) {
                entry.1.push(o.id);
            }
        }
    }
    by.into_iter()
        .map(|((_, kind, country), (n, orgs))| PreviewGroup {
            kind: kind.and_then(|i| OrganizationKind::ALL.get(i).copied()),
            country,
            invitees: n,
            organizations: orgs.len(),
        })
        .collect()
}

type OrgQuery<'a> = organizations::BoxedQuery<'a, diesel::pg::Pg>;

async fn load_organizations(
    conn: &mut AsyncPgConnection,
    query: OrgQuery<'_>,
) -> AppResult<Vec<PreviewOrganization>> {
    let rows: Vec<(Uuid, String, OrganizationKind, Option<String>)> = query
        .order((organizations::name.asc(), organizations::id.asc()))
        .select((
            organizations::id,
            organizations::name,
            organizations::kind,
            organizations::country,
        ))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, kind, country)| PreviewOrganization {
            id,
            name,
            kind,
            country,
        })
        .collect())
}

/// Active organisations of these kinds and countries (the audience's rule, as in
/// `create::audience_members`) with no affiliated person.
async fn without_people(
    conn: &mut AsyncPgConnection,
    kinds: &[OrganizationKind],
    countries: &[CountryCode],
) -> AppResult<Vec<PreviewOrganization>> {
    let people_of = affiliations::table
        .filter(affiliations::organization_id.eq(organizations::id))
        .select(affiliations::person_id);
    let mut query = organizations::table
        .filter(organizations::status.eq(MembershipStatus::Active))
        .filter(diesel::dsl::not(diesel::dsl::exists(people_of)))
        .into_boxed();
    if !kinds.is_empty() {
        query = query.filter(organizations::kind.eq_any(kinds.to_vec()));
    }
    if !countries.is_empty() {
        let codes: Vec<String> = countries.iter().map(|c| c.as_str().to_owned()).collect();
        query = query.filter(organizations::country.eq_any(codes));
    }
    load_organizations(conn, query).await
}

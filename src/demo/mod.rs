//! `convene demo`: the Japan 2022 dialogue from the seed report, and an upcoming edition.
//!
//! Every part is idempotent: organisations are matched by name (case-insensitive, live ones),
//! people by email, affiliations by (person, organisation). A second run finds everything in
//! place, changes nothing and writes no audit entries.

pub mod dialogues;
pub mod seed;

use std::collections::HashMap;
use std::fmt;

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::audit;
use crate::db::schema::{affiliations, organizations};
use crate::db::DbPool;
use crate::error::{AppError, AppResult, Validator};
use crate::organizations::fields::{OrganizationFields, OrganizationInput};
use crate::organizations::model::{snapshot, MembershipStatus, Organization, OrganizationKind};
use crate::organizations::service::{find_live_by_name, insert};
use crate::people::service::{
    affiliate, find_or_create, AffiliationChange, PersonFields, PersonInput, PERSON_FIELD_NAMES,
};

/// Loads the demo data; running it twice changes nothing the second time.
pub async fn load(pool: &DbPool) -> anyhow::Result<()> {
    let network = load_network(pool).await?;
    println!("demo network: {network}");
    // The dialogues (series, events and their partners, sessions, speakers, outcomes) refer to
    // the organisations and people loaded above, so they load after them.
    dialogues::load_dialogues(pool).await?;
    println!("demo dialogues: Japan 2022 and the upcoming 2027 edition are loaded");
    Ok(())
}

/// What one run of [`load_network`] changed; all zeros on a second run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct NetworkSummary {
    pub organizations_created: usize,
    pub organizations_updated: usize,
    pub people_created: usize,
    pub affiliations_created: usize,
    pub affiliations_updated: usize,
}

impl fmt::Display for NetworkSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} organisations created, {} updated; {} people created; {} affiliations created, {} updated",
            self.organizations_created,
            self.organizations_updated,
            self.people_created,
            self.affiliations_created,
            self.affiliations_updated
        )
    }
}

/// The seed organisation as the domain's rules take it. The partnership itself (APPAP) is in
/// the seed as kind `other` without a country, being an alliance across the region; since only
/// regional and international bodies may lack a country, such a body loads as a regional one.
fn seed_organization(org: &seed::SeedOrganization) -> AppResult<OrganizationInput> {
    let kind = match (org.kind, &org.country) {
        (kind, None) if kind.requires_country() => OrganizationKind::RegionalOrganization,
        (kind, _) => kind,
    };
    let mut v = Validator::new();
    let input = OrganizationInput::parse(
        &mut v,
        OrganizationFields {
            name: Some(&org.name),
            short_name: org.short_name.as_deref(),
            kind: Some(kind.as_str()),
            country: org.country.as_deref(),
            website: org.website.as_deref(),
        },
        &format!("seed organization {}.", org.name),
    );
    v.finish()?;
    input.ok_or_else(|| AppError::internal(format!("seed organization {} is invalid", org.name)))
}

fn seed_person(person: &seed::SeedPerson) -> AppResult<PersonInput> {
    let mut v = Validator::new();
    let input = PersonInput::parse(
        &mut v,
        PersonFields {
            email: Some(&person.email),
            name: Some(&person.name),
            honorific: Some(&person.honorific),
            position: Some(&person.position),
        },
        &format!("seed person {}.", person.name),
        PERSON_FIELD_NAMES,
    );
    v.finish()?;
    input.ok_or_else(|| AppError::internal(format!("seed person {} is invalid", person.name)))
}

/// The member organisations named in the report (all active) and the demo people with their
/// affiliations and focal points, in one transaction.
pub async fn load_network(pool: &DbPool) -> anyhow::Result<NetworkSummary> {
    let mut conn = pool.get().await?;
    let summary = crate::db::transaction(&mut conn, |conn| {
        async move {
            let mut summary = NetworkSummary::default();
            let mut ids: HashMap<&'static str, Uuid> = HashMap::new();
            for org in &seed::seed().organizations {
                let id = upsert_organization(conn, org, &mut summary).await?;
                ids.insert(org.name.as_str(), id);
            }
            for person in &seed::seed().people {
                let org = seed::find_organization(&person.organization).ok_or_else(|| {
                    AppError::internal(format!(
                        "seed person {} names unknown organisation {}",
                        person.name, person.organization
                    ))
                })?;
                let org_id = ids
                    .get(org.name.as_str())
                    .copied()
                    .ok_or_else(|| AppError::internal("seed organisation not loaded"))?;
                let input = seed_person(person)?;
                let (loaded, created) = find_or_create(conn, None, &input).await?;
                if created {
                    summary.people_created += 1;
                }
                let has_focal_point: i64 = affiliations::table
                    .filter(affiliations::organization_id.eq(org_id))
                    .filter(affiliations::focal_point.eq(true))
                    .count()
                    .get_result(conn)
                    .await?;
                let existing: i64 = affiliations::table
                    .filter(affiliations::organization_id.eq(org_id))
                    .filter(affiliations::person_id.eq(loaded.id))
                    .count()
                    .get_result(conn)
                    .await?;
                // Only a new affiliation takes the seed's position; a focal point is set
                // only where the organisation has none, so an admin's choice stands.
                let change = AffiliationChange {
                    position: (existing == 0).then(|| input.position.clone()),
                    focal_point: (person.focal_point && has_focal_point == 0).then_some(true),
                };
                if existing > 0 && change.focal_point.is_none() {
                    continue;
                }
                affiliate(conn, None, org_id, &loaded, change).await?;
                if existing == 0 {
                    summary.affiliations_created += 1;
                } else {
                    summary.affiliations_updated += 1;
                }
            }
            Ok(summary)
        }
        .scope_boxed()
    })
    .await?;
    Ok(summary)
}

/// Inserts the organisation as an active member, or brings an existing one's descriptive
/// fields in line with the seed (its membership status is left to the admins).
async fn upsert_organization(
    conn: &mut AsyncPgConnection,
    org: &seed::SeedOrganization,
    summary: &mut NetworkSummary,
) -> AppResult<Uuid> {
    let input = seed_organization(org)?;
    let Some(existing) = find_live_by_name(conn, &org.name).await? else {
        let today = Utc::now().date_naive();
        let created = insert(conn, &input.into_new(MembershipStatus::Active, Some(today))).await?;
        audit::record(
            conn,
            None,
            "create",
            "organization",
            created.id,
            None,
            Some(snapshot(&created)),
        )
        .await?;
        summary.organizations_created += 1;
        return Ok(created.id);
    };
    let country = input.country.map(|c| c.as_str().to_owned());
    let website = input.website.map(|w| w.as_str().to_owned());
    if existing.short_name == input.short_name
        && existing.kind == input.kind
        && existing.country == country
        && existing.website == website
    {
        return Ok(existing.id);
    }
    let updated: Organization = diesel::update(organizations::table.find(existing.id))
        .set((
            organizations::short_name.eq(&input.short_name),
            organizations::kind.eq(input.kind),
            organizations::country.eq(&country),
            organizations::website.eq(&website),
            organizations::updated_at.eq(Utc::now()),
        ))
        .returning(Organization::as_returning())
        .get_result(conn)
        .await?;
    audit::record(
        conn,
        None,
        "update",
        "organization",
        existing.id,
        Some(snapshot(&existing)),
        Some(snapshot(&updated)),
    )
    .await?;
    summary.organizations_updated += 1;
    Ok(existing.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_seed_organization_and_person_is_valid() {
        for org in &seed::seed().organizations {
            seed_organization(org).unwrap_or_else(|e| panic!("{}: {e:?}", org.name));
        }
        for person in &seed::seed().people {
            seed_person(person).unwrap_or_else(|e| panic!("{}: {e:?}", person.name));
            assert!(
                seed::find_organization(&person.organization).is_some(),
                "{} names an unknown organisation",
                person.name
            );
        }
    }

    #[test]
    fn at_most_one_focal_point_per_seed_organization() {
        let mut seen = std::collections::HashSet::new();
        for person in seed::seed().people.iter().filter(|p| p.focal_point) {
            let org = seed::find_organization(&person.organization).map(|o| o.name.as_str());
            assert!(seen.insert(org), "two focal points for {org:?}");
        }
    }
}

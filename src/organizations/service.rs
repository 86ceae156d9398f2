//! The directory of organisations: finding, locking, listing and counting them, creating and
//! updating them, and the rule that live (not withdrawn) names are unique whatever their case.
//! Every change writes an audit entry in its own transaction.

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::audit;
use crate::db::page::{contains_pattern, lower, NameAndId, Page, PageRequest};
use crate::db::schema::organizations;
use crate::db::{is_unique_violation, Updated};
use crate::error::{AppError, AppResult, Code};
use crate::organizations::fields::country_required_message;
use crate::organizations::model::{
    snapshot, MembershipStatus, NewOrganization, Organization, OrganizationChanges,
    OrganizationKind,
};
use crate::organizations::{CountryCode, WebsiteUrl};
use crate::people::EmailAddress;

/// The unique index that keeps live (not withdrawn) names unique whatever their case.
pub const LIVE_NAME_INDEX: &str = "organizations_live_name";

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
pub(super) async fn explain_duplicate_to_public<T>(
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

//! Accounts as admins and the other areas see them: the view, the admins' list and changes
//! (role, disabling) with their audit entries, and which account a person has.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::login::revoke_sessions;
use crate::auth::model::{Account, AccountView, Role};
use crate::context::Context;
use crate::db::page::{contains_pattern, Page, PageRequest};
use crate::db::schema::{accounts, audit_entries};
use crate::error::{AppError, AppResult, Code};

pub fn account_view(account: &Account) -> AccountView {
    AccountView {
        id: account.id,
        person_id: account.person_id,
        email: account.email.clone(),
        name: account.name.clone(),
        role: account.role,
        email_verified: account.email_verified_at.is_some(),
        disabled: account.disabled_at.is_some(),
        created_at: account.created_at,
    }
}

/// The account with this id (404 when there is none).
pub async fn load_account(conn: &mut AsyncPgConnection, account_id: Uuid) -> AppResult<Account> {
    accounts::table
        .find(account_id)
        .select(Account::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found("account"))
}

/// Which accounts an admin lists.
#[derive(Debug, Default)]
pub struct AccountFilter {
    pub role: Option<Role>,
    pub disabled: Option<bool>,
    /// Matched against name and email, case-insensitively, anywhere in them.
    pub q: Option<String>,
}

/// A page of accounts in creation order (ids are UUID v7, so the id is the sort key).
pub async fn list_accounts(
    state: &Context,
    filter: AccountFilter,
    page: &PageRequest<Uuid>,
) -> AppResult<Page<AccountView>> {
    let mut conn = state.pool.get().await?;
    let mut query = accounts::table
        .select(Account::as_select())
        .order(accounts::id.asc())
        .limit(page.fetch())
        .into_boxed();
    if let Some(role) = filter.role {
        query = query.filter(accounts::role.eq(role));
    }
    match filter.disabled {
        Some(true) => query = query.filter(accounts::disabled_at.is_not_null()),
        Some(false) => query = query.filter(accounts::disabled_at.is_null()),
        None => {}
    }
    if let Some(q) = filter.q.as_deref() {
        let pattern = contains_pattern(q);
        query = query.filter(
            accounts::name
                .ilike(pattern.clone())
                .or(accounts::email.ilike(pattern)),
        );
    }
    if let Some(after) = page.after {
        query = query.filter(accounts::id.gt(after));
    }
    let rows: Vec<Account> = query.load(&mut conn).await?;
    Ok(Page::from_rows(rows, page, |a| a.id).map(|a| account_view(&a)))
}

/// What an admin changes on an account; `None` leaves it as it is.
#[derive(Debug, Default)]
pub struct AccountChanges {
    pub role: Option<Role>,
    pub disabled: Option<bool>,
}

#[derive(AsChangeset)]
#[diesel(table_name = accounts)]
struct AccountChangeset {
    role: Option<Role>,
    disabled_at: Option<Option<DateTime<Utc>>>,
    updated_at: DateTime<Utc>,
}

fn audit_state(account: &Account) -> serde_json::Value {
    serde_json::json!({
        "role": account.role,
        "disabled": account.disabled_at.is_some(),
    })
}

/// Changes an account's role or disables it (which ends its sessions). An admin cannot disable
/// or demote themselves, and the caller's and the target's rows are locked together, so two
/// admins demoting each other at once cannot leave the partnership without an admin.
pub async fn update_account(
    state: &Context,
    actor_id: Uuid,
    target_id: Uuid,
    changes: AccountChanges,
) -> AppResult<Account> {
    let mut conn = state.pool.get().await?;
    crate::db::transaction(&mut conn, |conn| {
        async move {
            let locked: Vec<Account> = accounts::table
                .filter(accounts::id.eq_any([actor_id, target_id]))
                .order(accounts::id.asc())
                .select(Account::as_select())
                .for_update()
                .load(conn)
                .await?;
            let still_admin = locked
                .iter()
                .any(|a| a.id == actor_id && a.role == Role::Admin && a.disabled_at.is_none());
            if !still_admin {
                return Err(AppError::forbidden(
                    Code::AdminOnly,
                    "only admins may do this",
                ));
            }
            let Some(before) = locked.into_iter().find(|a| a.id == target_id) else {
                return Err(AppError::not_found("account"));
            };
            if target_id == actor_id {
                if changes.disabled == Some(true) {
                    return Err(AppError::conflict(
                        Code::CannotDisableSelf,
                        "an admin cannot disable their own account; ask another admin",
                    ));
                }
                if changes.role.is_some_and(|r| r != Role::Admin) {
                    return Err(AppError::conflict(
                        Code::CannotDemoteSelf,
                        "an admin cannot take away their own admin role; ask another admin",
                    ));
                }
            }
            let disabled_at = match changes.disabled {
                Some(true) => Some(Some(before.disabled_at.unwrap_or_else(Utc::now))),
                Some(false) => Some(None),
                None => None,
            };
            let after: Account = diesel::update(accounts::table.find(target_id))
                .set(AccountChangeset {
                    role: changes.role,
                    disabled_at,
                    updated_at: Utc::now(),
                })
                .returning(Account::as_returning())
                .get_result(conn)
                .await?;
            if after.disabled_at.is_some() {
                revoke_sessions(conn, target_id).await?;
            }
            let admins_left: i64 = accounts::table
                .filter(accounts::role.eq(Role::Admin))
                .filter(accounts::disabled_at.is_null())
                .count()
                .get_result(conn)
                .await?;
            if admins_left == 0 {
                return Err(AppError::conflict(
                    Code::LastAdmin,
                    "the partnership must keep at least one enabled admin",
                ));
            }
            let (before_state, after_state) = (audit_state(&before), audit_state(&after));
            if before_state != after_state {
                diesel::insert_into(audit_entries::table)
                    .values((
                        audit_entries::id.eq(Uuid::now_v7()),
                        audit_entries::actor_account_id.eq(Some(actor_id)),
                        audit_entries::action.eq("account.update"),
                        audit_entries::target_type.eq("account"),
                        audit_entries::target_id.eq(target_id),
                        audit_entries::before.eq(Some(before_state)),
                        audit_entries::after.eq(Some(after_state)),
                    ))
                    .execute(conn)
                    .await?;
            }
            load_account(conn, target_id).await
        }
        .scope_boxed()
    })
    .await
}

/// The account joined to this person, if they have one.
pub async fn account_of_person(
    conn: &mut AsyncPgConnection,
    person_id: Uuid,
) -> AppResult<Option<Account>> {
    Ok(accounts::table
        .filter(accounts::person_id.eq(person_id))
        .select(Account::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// A joined account shows its person's name (see `signup::join_person`): called by the people
/// service when that name changes, in the same transaction.
pub async fn follow_person_name(
    conn: &mut AsyncPgConnection,
    person_id: Uuid,
    name: &str,
) -> AppResult<()> {
    diesel::update(accounts::table.filter(accounts::person_id.eq(person_id)))
        .set((
            accounts::name.eq(name),
            accounts::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

//! Correcting a person's email address, for staff whose message bounced on a mistyped one.

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::audit::service as audit;
use crate::db::schema::people;
use crate::error::{AppError, AppResult};
use crate::people::model::{snapshot, Person};
use crate::people::service::{find_by_email, has_account};
use crate::people::EmailAddress;

/// Gives the person known by `old` the address `new`, with an audit entry; answers the person
/// (None when nobody has the old address). Refused, with the field `email` named: a person
/// with an account (their address is their sign-in, which they change themselves), and an
/// address another person already has. Call inside a transaction.
pub async fn correct_email(
    conn: &mut AsyncPgConnection,
    actor: Option<Uuid>,
    old: &str,
    new: &EmailAddress,
) -> AppResult<Option<Person>> {
    let before: Option<Person> = people::table
        .filter(people::email.eq(old.to_lowercase()))
        .select(Person::as_select())
        .for_no_key_update()
        .first(conn)
        .await
        .optional()?;
    let Some(before) = before else {
        return Ok(None);
    };
    if before.email == new.as_str() {
        return Ok(Some(before));
    }
    if has_account(conn, before.id).await? {
        return Err(AppError::invalid(
            "email",
            "belongs to someone with an account: they change their address themselves",
        ));
    }
    if find_by_email(conn, new).await?.is_some() {
        return Err(AppError::invalid(
            "email",
            "another person of the partnership already has this address",
        ));
    }
    let after: Person = diesel::update(people::table.find(before.id))
        .set((
            people::email.eq(new.as_str()),
            people::updated_at.eq(Utc::now()),
        ))
        .returning(Person::as_returning())
        .get_result(conn)
        .await?;
    audit::record(
        conn,
        actor,
        "update",
        "person",
        after.id,
        Some(snapshot(&before)),
        Some(snapshot(&after)),
    )
    .await?;
    Ok(Some(after))
}

//! The stored tokens of accounts (login sessions, emailed links): issuing one, using a
//! single-use one exactly once (or checking that it could, without using it), retiring the
//! older ones of its purpose, and telling why a presented one cannot act.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::model::{NewAccountToken, TokenPurpose};
use crate::auth::token::{hash_token, looks_like_token, IssuedToken};
use crate::db::prepared::KeepPrepared;
use crate::db::schema::account_tokens;
use crate::error::{AppError, AppResult, Code};

pub async fn issue_token(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    purpose: TokenPurpose,
    ttl: Duration,
) -> AppResult<(IssuedToken, DateTime<Utc>)> {
    let token = IssuedToken::generate();
    let expires_at = Utc::now() + ttl;
    // Kept prepared: a login storm issues one a login.
    KeepPrepared(
        diesel::insert_into(account_tokens::table).values(NewAccountToken {
            token_hash: token.hash.clone(),
            account_id,
            purpose,
            expires_at,
        }),
    )
    .execute(conn)
    .await?;
    Ok((token, expires_at))
}

/// Uses a single-use token: marks it used and returns its account, or None when it is
/// unknown, expired, used or meant for another purpose. One conditional UPDATE, so of many
/// concurrent uses exactly one succeeds.
pub async fn consume_token(
    conn: &mut AsyncPgConnection,
    token: &str,
    purpose: TokenPurpose,
) -> AppResult<Option<Uuid>> {
    if !looks_like_token(token) {
        return Ok(None);
    }
    Ok(diesel::update(account_tokens::table)
        .filter(account_tokens::token_hash.eq(hash_token(token)))
        .filter(account_tokens::purpose.eq(purpose))
        .filter(account_tokens::used_at.is_null())
        .filter(account_tokens::expires_at.gt(diesel::dsl::now))
        .set(account_tokens::used_at.eq(diesel::dsl::now))
        .returning(account_tokens::account_id)
        .get_result(conn)
        .await
        .optional()?)
}

/// Uses a single-use token ([`consume_token`]) and answers its account, or the error that
/// says why it cannot act ([`token_problem`]).
pub(super) async fn use_token(
    conn: &mut AsyncPgConnection,
    token: &str,
    purpose: TokenPurpose,
) -> AppResult<Uuid> {
    match consume_token(conn, token, purpose).await? {
        Some(account_id) => Ok(account_id),
        None => Err(token_problem(conn, token, purpose).await?),
    }
}

/// Answers whether a token could act now (known, of this purpose, unused, unexpired) without
/// using it: `Ok` when it could, else the error that says why not ([`token_problem`]).
pub(super) async fn ensure_usable(
    conn: &mut AsyncPgConnection,
    token: &str,
    purpose: TokenPurpose,
) -> AppResult<()> {
    let usable: Option<Uuid> = if looks_like_token(token) {
        account_tokens::table
            .filter(account_tokens::token_hash.eq(hash_token(token)))
            .filter(account_tokens::purpose.eq(purpose))
            .filter(account_tokens::used_at.is_null())
            .filter(account_tokens::expires_at.gt(diesel::dsl::now))
            .select(account_tokens::account_id)
            .first(conn)
            .await
            .optional()?
    } else {
        None
    };
    match usable {
        Some(_) => Ok(()),
        None => Err(token_problem(conn, token, purpose).await?),
    }
}

/// Why a presented token cannot act, told apart so the page behind the link can say what to do
/// next. Knowing that a token was used or expired tells nothing to someone who does not hold it.
async fn token_problem(
    conn: &mut AsyncPgConnection,
    token: &str,
    purpose: TokenPurpose,
) -> AppResult<AppError> {
    let found: Option<(DateTime<Utc>, Option<DateTime<Utc>>)> = if looks_like_token(token) {
        account_tokens::table
            .filter(account_tokens::token_hash.eq(hash_token(token)))
            .filter(account_tokens::purpose.eq(purpose))
            .select((account_tokens::expires_at, account_tokens::used_at))
            .first(conn)
            .await
            .optional()?
    } else {
        None
    };
    Ok(match found {
        Some((_, Some(_))) => AppError::gone(
            Code::TokenUsed,
            "this link has already been used; each link works once",
        ),
        Some((expires_at, None)) if expires_at <= Utc::now() => AppError::gone(
            Code::TokenExpired,
            "this link has expired; ask for a new one",
        ),
        _ => AppError::bad_request(
            Code::InvalidToken,
            "this link is not valid; check that it was copied whole",
        ),
    })
}

/// Marks every other unused token of this purpose as used: once one link has acted, the older
/// ones in the inbox should not act again.
pub(super) async fn retire_tokens(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    purpose: TokenPurpose,
) -> AppResult<()> {
    diesel::update(account_tokens::table)
        .filter(account_tokens::account_id.eq(account_id))
        .filter(account_tokens::purpose.eq(purpose))
        .filter(account_tokens::used_at.is_null())
        .set(account_tokens::used_at.eq(diesel::dsl::now))
        .execute(conn)
        .await?;
    Ok(())
}

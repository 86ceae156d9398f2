//! Logging in and out: the password check, the throttles on failed logins, and the login
//! sessions an account holds.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use secrecy::SecretString;
use uuid::Uuid;

use crate::auth::account_tokens::issue_token;
use crate::auth::model::{Account, TokenPurpose};
use crate::auth::password::verify_password;
use crate::auth::token::{hash_token, IssuedToken};
use crate::client_addr::ClientAddr;
use crate::context::Context;
use crate::db::schema::{account_tokens, accounts, login_failures};
use crate::error::{AppError, AppResult, Code};
use crate::people::EmailAddress;

pub struct LoginSuccess {
    pub token: IssuedToken,
    pub expires_at: DateTime<Utc>,
    pub account: Account,
}

/// Checks the password (one Argon2 run whether or not the account exists), throttling failed
/// attempts per (submitted address, client), per client and per submitted address. The
/// throttles key on the address as submitted, never on an account, so an address with an
/// account and one without answer exactly alike.
pub async fn login(
    state: &Context,
    email: &str,
    password: SecretString,
    client: ClientAddr,
) -> AppResult<LoginSuccess> {
    let auth = &state.settings.auth;
    let throttle_key = login_throttle_key(email);
    let client = client.key();
    let email = EmailAddress::parse(email).ok();
    let mut conn = state.pool.get().await?;
    let failures = recent_failures(&mut conn, &throttle_key, &client, auth).await?;
    if let Some(until) = failures.throttled_until {
        let retry_after = (until - Utc::now()).num_seconds().max(1) as u64;
        return Err(AppError::too_many_requests(retry_after));
    }
    let found: Option<Account> = match &email {
        Some(email) => accounts::table
            .filter(accounts::email.eq(email.as_str()))
            .select(Account::as_select())
            .first(&mut conn)
            .await
            .optional()?,
        None => None,
    };
    // Give the connection back while Argon2 runs on a blocking thread.
    drop(conn);
    let stored_hash = found.as_ref().map(|a| a.password_hash.clone());
    let valid = verify_password(stored_hash, password).await?;
    let mut conn = state.pool.get().await?;
    let Some(account) = found.filter(|_| valid) else {
        diesel::insert_into(login_failures::table)
            .values((
                login_failures::email.eq(&throttle_key),
                login_failures::client_ip.eq(&client),
            ))
            .execute(&mut conn)
            .await?;
        return Err(AppError::unauthorized(
            Code::InvalidCredentials,
            "the email or password is wrong",
        ));
    };
    if account.disabled_at.is_some() {
        return Err(AppError::forbidden(
            Code::AccountDisabled,
            "this account has been disabled; contact the secretariat",
        ));
    }
    // Most logins follow no failure: no statement for them (the login storm's CPU is Argon2's).
    // Only this client's failures are forgotten: others' still count against the address.
    if failures.of_pair > 0 {
        diesel::delete(
            login_failures::table
                .filter(login_failures::email.eq(&throttle_key))
                .filter(login_failures::client_ip.eq(&client)),
        )
        .execute(&mut conn)
        .await?;
    }
    let ttl = Duration::hours(state.settings.app.session_ttl_hours);
    let (token, expires_at) =
        issue_token(&mut conn, account.id, TokenPurpose::Session, ttl).await?;
    Ok(LoginSuccess {
        token,
        expires_at,
        account,
    })
}

/// The submitted address as failed logins are counted by: trimmed, lower-cased, bounded, so
/// that spellings of one address count together whether or not it parses or has an account.
fn login_throttle_key(submitted: &str) -> String {
    submitted.trim().to_lowercase().chars().take(320).collect()
}

/// Failed logins within the window, and what they mean for this attempt.
struct RecentFailures {
    /// When the throttle lifts, if any of the three counts is over its limit.
    throttled_until: Option<DateTime<Utc>>,
    /// This (address, client)'s failures, which a successful login forgets.
    of_pair: i64,
}

#[derive(QueryableByName)]
struct FailureCounts {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    of_pair: i64,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
    pair_oldest: Option<DateTime<Utc>>,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    of_client: i64,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
    client_oldest: Option<DateTime<Utc>>,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    of_email: i64,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
    email_oldest: Option<DateTime<Utc>>,
}

async fn recent_failures(
    conn: &mut AsyncPgConnection,
    email: &str,
    client: &str,
    auth: &crate::config::AuthSettings,
) -> AppResult<RecentFailures> {
    let window = Duration::seconds(auth.failed_login_window_secs);
    // One statement, both indexes (by email, by client).
    let counts: FailureCounts = diesel::sql_query(
        "SELECT count(*) FILTER (WHERE email = $1 AND client_ip = $2) AS of_pair, \
                min(failed_at) FILTER (WHERE email = $1 AND client_ip = $2) AS pair_oldest, \
                count(*) FILTER (WHERE client_ip = $2) AS of_client, \
                min(failed_at) FILTER (WHERE client_ip = $2) AS client_oldest, \
                count(*) FILTER (WHERE email = $1) AS of_email, \
                min(failed_at) FILTER (WHERE email = $1) AS email_oldest \
         FROM login_failures WHERE (email = $1 OR client_ip = $2) AND failed_at > $3",
    )
    .bind::<diesel::sql_types::Text, _>(email)
    .bind::<diesel::sql_types::Text, _>(client)
    .bind::<diesel::sql_types::Timestamptz, _>(Utc::now() - window)
    .get_result(conn)
    .await?;
    let over = |count: i64, limit: i64, oldest: Option<DateTime<Utc>>| {
        (count >= limit)
            .then_some(oldest)
            .flatten()
            .map(|t| t + window)
    };
    let throttled_until = [
        over(
            counts.of_pair,
            auth.max_failed_logins_per_account_and_client,
            counts.pair_oldest,
        ),
        over(
            counts.of_client,
            auth.max_failed_logins_per_client,
            counts.client_oldest,
        ),
        over(
            counts.of_email,
            auth.max_failed_logins_per_account,
            counts.email_oldest,
        ),
    ]
    .into_iter()
    .flatten()
    .max();
    Ok(RecentFailures {
        throttled_until,
        of_pair: counts.of_pair,
    })
}

/// Deletes failed logins recorded before `before` (older than the throttle's window, they count
/// for nothing); answers how many.
pub async fn prune_login_failures(
    conn: &mut AsyncPgConnection,
    before: DateTime<Utc>,
) -> AppResult<usize> {
    Ok(
        diesel::delete(login_failures::table.filter(login_failures::failed_at.lt(before)))
            .execute(conn)
            .await?,
    )
}

/// Forgets the failed logins counted against this address, from every client.
pub(super) async fn forget_login_failures(
    conn: &mut AsyncPgConnection,
    submitted: &str,
) -> AppResult<()> {
    let throttle_key = login_throttle_key(submitted);
    diesel::delete(login_failures::table.filter(login_failures::email.eq(&throttle_key)))
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn logout(state: &Context, token: &str) -> AppResult<()> {
    let mut conn = state.pool.get().await?;
    diesel::delete(account_tokens::table.filter(account_tokens::token_hash.eq(hash_token(token))))
        .execute(&mut conn)
        .await?;
    Ok(())
}

/// Ends every login session of an account.
pub async fn revoke_sessions(conn: &mut AsyncPgConnection, account_id: Uuid) -> AppResult<usize> {
    Ok(diesel::delete(
        account_tokens::table
            .filter(account_tokens::account_id.eq(account_id))
            .filter(account_tokens::purpose.eq(TokenPurpose::Session)),
    )
    .execute(conn)
    .await?)
}

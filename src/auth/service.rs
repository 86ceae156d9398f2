//! The rules of accounts: signup, login with throttling, sessions, email verification,
//! password reset, and the admins' management of accounts.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use secrecy::SecretString;
use uuid::Uuid;

use crate::auth::model::{Account, AccountView, NewAccount, NewAccountToken, Role, TokenPurpose};
use crate::auth::password::{hash_password, verify_password, Password};
use crate::auth::token::{hash_token, looks_like_token, IssuedToken};
use crate::client_addr::ClientAddr;
use crate::context::{Context, Links};
use crate::db::page::{contains_pattern, Page, PageRequest};
use crate::db::prepared::KeepPrepared;
use crate::db::schema::{account_tokens, accounts, audit_entries, login_failures, people};
use crate::error::{AppError, AppResult, Code, Validator};
use crate::mail::{enqueue, EmailAction, EmailBody, MailQuota, OutgoingEmail, UNPROVED_GREETING};
use crate::people::model::Person;
use crate::people::service::parse_name;
use crate::people::EmailAddress;

pub const EMAIL_VERIFICATION_TTL_HOURS: i64 = 72;
/// A reset link is a key to the account: short-lived.
pub const PASSWORD_RESET_TTL_MINUTES: i64 = 60;
/// At most this many reset emails per account per window, so nobody can flood an inbox by
/// asking again and again; the answer to the asker stays the same.
pub const PASSWORD_RESETS_PER_WINDOW: i64 = 3;
pub const PASSWORD_RESET_WINDOW_MINUTES: i64 = 15;
/// A logged-in account may ask for a new verification email once a minute.
pub const VERIFICATION_RESEND_INTERVAL_SECS: i64 = 60;

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

pub struct NewAccountInput {
    pub email: EmailAddress,
    pub name: String,
    pub password: Password,
    pub role: Role,
}

impl NewAccountInput {
    pub fn parse_signup(email: &str, name: &str, password: SecretString) -> AppResult<Self> {
        let mut v = Validator::new();
        let email = v.check("email", EmailAddress::parse(email));
        let name = v.check("name", parse_name(name));
        let password = v.check("password", Password::parse(password));
        v.finish()?;
        match (email, name, password) {
            (Some(email), Some(name), Some(password)) => Ok(NewAccountInput {
                email,
                name,
                password,
                role: Role::Member,
            }),
            _ => Err(AppError::internal("validator passed with missing fields")),
        }
    }
}

/// Creates an account whose address is trusted (an admin on the command line, the tests):
/// verified and joined to its person at once. A taken address is a 409 `account_exists`.
pub async fn create_account(
    state: &Context,
    input: NewAccountInput,
) -> AppResult<(Account, Person)> {
    let password_hash = hash_password(input.password).await?;
    let mut conn = state.pool.get().await?;
    crate::db::transaction(&mut conn, |conn| {
        async move {
            let inserted =
                insert_account(conn, &input.email, &input.name, password_hash, input.role)
                    .await?
                    .ok_or_else(|| {
                        AppError::conflict(
                            Code::AccountExists,
                            "an account with this email already exists",
                        )
                    })?;
            join_person(conn, inserted.id).await
        }
        .scope_boxed()
    })
    .await
}

/// Inserts an unverified account without a person; `None` when the address has an account.
async fn insert_account(
    conn: &mut AsyncPgConnection,
    email: &EmailAddress,
    name: &str,
    password_hash: String,
    role: Role,
) -> AppResult<Option<Account>> {
    Ok(diesel::insert_into(accounts::table)
        .values(NewAccount {
            id: Uuid::now_v7(),
            person_id: None,
            email: email.as_str(),
            name,
            password_hash,
            role,
            email_verified_at: None,
        })
        .on_conflict(accounts::email)
        .do_nothing()
        .returning(Account::as_returning())
        .get_result(conn)
        .await
        .optional()?)
}

/// Public signup. The answer is the same whether or not the address has an account or a
/// person, and costs the same (one Argon2 run, one insert attempt, one email): a new address
/// gets an unverified account without a person and a link to verify it; an address with an
/// account is told so ("log in or reset your password") and nothing changes. No person is
/// found, created or claimed here: verification does that ([`join_person`]).
pub async fn signup(state: &Context, input: NewAccountInput, quota: &MailQuota) -> AppResult<()> {
    let password_hash = hash_password(input.password).await?;
    let links = state.links.clone();
    let mut conn = state.pool.get().await?;
    crate::db::transaction(&mut conn, |conn| {
        async move {
            let may_email = quota
                .permit(conn, Some(input.email.as_str()))
                .await?
                .granted();
            let inserted =
                insert_account(conn, &input.email, &input.name, password_hash, input.role).await?;
            if !may_email {
                return Ok(());
            }
            match inserted {
                Some(account) => send_verification_email(conn, &account, &links).await,
                None => {
                    let existing: Account = accounts::table
                        .filter(accounts::email.eq(input.email.as_str()))
                        .select(Account::as_select())
                        .first(conn)
                        .await?;
                    send_account_exists_email(conn, &existing, &links).await
                }
            }
        }
        .scope_boxed()
    })
    .await
}

/// Tells the owner of an address that already has an account what to do instead of signing
/// up, with a password reset link while the account may have one (enabled, and not too many
/// reset emails lately): choosing a new password also proves the address.
async fn send_account_exists_email(
    conn: &mut AsyncPgConnection,
    account: &Account,
    links: &Links,
) -> AppResult<()> {
    let reset = issue_reset_if_allowed(conn, &account.email)
        .await?
        .map(|(token, _)| token);
    let mut paragraphs = vec![
        "Someone, hopefully you, asked to create a Convene account with this email address. You already have an account, so nothing was created and nothing has changed.".to_owned(),
        "Log in with your password. If you have forgotten it, choose a new one with the link below (valid for one hour, it works once; until you use it, your current password keeps working).".to_owned(),
    ];
    if account.email_verified_at.is_none() {
        paragraphs.push(
            "Your address is not confirmed yet: choosing a new password with this link confirms it."
                .to_owned(),
        );
    }
    if account.disabled_at.is_some() {
        paragraphs = vec![
            "Someone, hopefully you, asked to create a Convene account with this email address. You already have an account, but it has been disabled; contact the secretariat to use it again.".to_owned(),
        ];
    }
    let body = EmailBody {
        subject: "You already have a Convene account".to_owned(),
        // The name of an account that never proved its address may be anyone's invention.
        greeting: match account.email_verified_at {
            Some(_) => format!("Dear {},", account.name),
            None => "Dear colleague,".to_owned(),
        },
        paragraphs,
        action: reset.map(|token| EmailAction {
            label: "Choose a new password".to_owned(),
            url: links.password_reset(token.expose()),
        }),
        footer: vec![
            "If you did not ask for this, ignore this message: your account stays as it is."
                .to_owned(),
        ],
        ..Default::default()
    };
    enqueue(
        conn,
        OutgoingEmail::new("account_exists", &account.email, Some(&account.name), body),
    )
    .await?;
    Ok(())
}

/// Marks the account's address verified and joins it to its person: the one with this address,
/// created (with the account's name) when the partnership does not know it yet. A known
/// person's name is kept, and becomes the account's. The account row is locked, so concurrent
/// proofs join once. Must run inside a transaction.
async fn join_person(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
) -> AppResult<(Account, Person)> {
    let account: Account = accounts::table
        .find(account_id)
        .select(Account::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found("account"))?;
    let person = match account.person_id {
        Some(id) => {
            people::table
                .find(id)
                .select(Person::as_select())
                .first(conn)
                .await?
        }
        None => {
            let email = EmailAddress::from_trusted(account.email.clone());
            crate::people::service::find_or_create_by_email(conn, &email, &account.name).await?
        }
    };
    let account: Account = diesel::update(accounts::table.find(account_id))
        .set((
            accounts::person_id.eq(Some(person.id)),
            accounts::name.eq(&person.name),
            accounts::email_verified_at
                .eq(Some(account.email_verified_at.unwrap_or_else(Utc::now))),
            accounts::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Account::as_returning())
        .get_result(conn)
        .await?;
    Ok((account, person))
}

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

async fn send_verification_email(
    conn: &mut AsyncPgConnection,
    account: &Account,
    links: &Links,
) -> AppResult<()> {
    let (token, _) = issue_token(
        conn,
        account.id,
        TokenPurpose::EmailVerification,
        Duration::hours(EMAIL_VERIFICATION_TTL_HOURS),
    )
    .await?;
    let body = EmailBody {
        subject: "Confirm your email address for Convene".to_owned(),
        greeting: UNPROVED_GREETING.to_owned(),
        paragraphs: vec![
            "Thank you for creating an account with the Asia-Pacific Partnership for Atrocity Prevention.".to_owned(),
            "Please confirm that this email address is yours. The link is valid for 72 hours.".to_owned(),
        ],
        action: Some(EmailAction {
            label: "Confirm my email address".to_owned(),
            url: links.verify_email(token.expose()),
        }),
        footer: vec!["If you did not create this account, ignore this message.".to_owned()],
        ..Default::default()
    };
    enqueue(
        conn,
        OutgoingEmail::new("email_verification", &account.email, None, body),
    )
    .await?;
    Ok(())
}

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
        return Err(AppError::problem(
            actix_web::http::StatusCode::UNAUTHORIZED,
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

pub async fn logout(state: &Context, token: &str) -> AppResult<()> {
    let mut conn = state.pool.get().await?;
    diesel::delete(account_tokens::table.filter(account_tokens::token_hash.eq(hash_token(token))))
        .execute(&mut conn)
        .await?;
    Ok(())
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
async fn retire_tokens(
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

/// Uses an emailed verification token: the account's email is verified from now on, and the
/// account is joined to its person. The token acts once; of many concurrent uses exactly one
/// succeeds.
pub async fn verify_email(state: &Context, token: &str) -> AppResult<(Account, Person)> {
    let token = token.trim().to_owned();
    let mut conn = state.pool.get().await?;
    crate::db::transaction(&mut conn, |conn| {
        async move {
            let Some(account_id) =
                consume_token(conn, &token, TokenPurpose::EmailVerification).await?
            else {
                return Err(token_problem(conn, &token, TokenPurpose::EmailVerification).await?);
            };
            retire_tokens(conn, account_id, TokenPurpose::EmailVerification).await?;
            join_person(conn, account_id).await
        }
        .scope_boxed()
    })
    .await
}

/// Sends a fresh verification link to a logged-in account whose email is not verified yet.
pub async fn resend_verification(
    state: &Context,
    account_id: Uuid,
    quota: &MailQuota,
) -> AppResult<()> {
    let links = state.links.clone();
    let mut conn = state.pool.get().await?;
    crate::db::transaction(&mut conn, |conn| {
        async move {
            // Locks the account row so two quick resends cannot both pass the interval check.
            let account: Account = accounts::table
                .find(account_id)
                .select(Account::as_select())
                .for_update()
                .first(conn)
                .await?;
            if account.email_verified_at.is_some() {
                return Err(AppError::conflict(
                    Code::AlreadyVerified,
                    "this account's email address is already verified",
                ));
            }
            let last_sent: Option<DateTime<Utc>> = account_tokens::table
                .filter(account_tokens::account_id.eq(account_id))
                .filter(account_tokens::purpose.eq(TokenPurpose::EmailVerification))
                .select(diesel::dsl::max(account_tokens::created_at))
                .first(conn)
                .await?;
            let interval = Duration::seconds(VERIFICATION_RESEND_INTERVAL_SECS);
            if let Some(next) = last_sent.map(|t| t + interval).filter(|n| *n > Utc::now()) {
                let wait = (next - Utc::now()).num_seconds().max(1) as u64;
                return Err(AppError::Problem {
                    status: actix_web::http::StatusCode::TOO_MANY_REQUESTS,
                    code: Code::TooManyRequests,
                    detail: format!(
                        "a verification email was sent moments ago; ask again in {wait} seconds"
                    ),
                    retry_after_secs: Some(wait),
                });
            }
            quota
                .permit(conn, Some(&account.email))
                .await?
                .or_too_many()?;
            send_verification_email(conn, &account, &links).await
        }
        .scope_boxed()
    })
    .await
}

/// Issues a password-reset token for the enabled account with this address, unless it had
/// `PASSWORD_RESETS_PER_WINDOW` of them lately. One statement, so concurrent asks cannot pass
/// the cap; `None` for no account, a disabled one, or one over the cap.
async fn issue_reset_if_allowed(
    conn: &mut AsyncPgConnection,
    email: &str,
) -> AppResult<Option<(IssuedToken, Uuid)>> {
    let token = IssuedToken::generate();
    let expires_at = Utc::now() + Duration::minutes(PASSWORD_RESET_TTL_MINUTES);
    let issued: Option<IssuedFor> = diesel::sql_query(
        "INSERT INTO account_tokens (token_hash, account_id, purpose, expires_at) \
         SELECT $1, a.id, $2, $3 FROM accounts a \
         WHERE a.email = $4 AND a.disabled_at IS NULL \
           AND (SELECT count(*) FROM account_tokens t \
                WHERE t.account_id = a.id AND t.purpose = $2 \
                  AND t.created_at > now() - make_interval(mins => $5)) < $6 \
         RETURNING account_id",
    )
    .bind::<diesel::sql_types::Bytea, _>(&token.hash)
    .bind::<diesel::sql_types::Text, _>(TokenPurpose::PasswordReset)
    .bind::<diesel::sql_types::Timestamptz, _>(expires_at)
    .bind::<diesel::sql_types::Text, _>(email)
    .bind::<diesel::sql_types::Integer, _>(PASSWORD_RESET_WINDOW_MINUTES as i32)
    .bind::<diesel::sql_types::BigInt, _>(PASSWORD_RESETS_PER_WINDOW)
    .get_result(conn)
    .await
    .optional()?;
    Ok(issued.map(|i| (token, i.account_id)))
}

#[derive(QueryableByName)]
struct IssuedFor {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    account_id: Uuid,
}

/// Emails a password reset link when an enabled account uses `email`; otherwise does the same
/// database work and sends nothing, so the asker learns nothing from the answer or its timing.
pub async fn request_password_reset(
    state: &Context,
    email: &EmailAddress,
    quota: &MailQuota,
) -> AppResult<()> {
    let links = state.links.clone();
    let email = email.clone();
    let mut conn = state.pool.get().await?;
    crate::db::transaction(&mut conn, |conn| {
        async move {
            let may_email = quota.permit(conn, Some(email.as_str())).await?.granted();
            // Issued whether or not the email may go, so known and unknown addresses do the
            // same work.
            let issued = issue_reset_if_allowed(conn, email.as_str()).await?;
            if let (Some((token, account_id)), true) = (issued, may_email) {
                let body = password_reset_email(&links, &token);
                tracing::info!(%account_id, "password reset link queued");
                enqueue(
                    conn,
                    OutgoingEmail::new("password_reset", email.as_str(), None, body),
                )
                .await?;
            }
            Ok(())
        }
        .scope_boxed()
    })
    .await
}

fn password_reset_email(links: &Links, token: &IssuedToken) -> EmailBody {
    EmailBody {
        subject: "Choose a new password for Convene".to_owned(),
        greeting: UNPROVED_GREETING.to_owned(),
        paragraphs: vec![
            "Someone, hopefully you, asked to reset the password of your Convene account.".to_owned(),
            "The link below lets you choose a new password. It is valid for one hour and works once; until you use it, your current password keeps working.".to_owned(),
        ],
        action: Some(EmailAction {
            label: "Choose a new password".to_owned(),
            url: links.password_reset(token.expose()),
        }),
        footer: vec![
            "If you did not ask for this, ignore this message: your password stays as it is."
                .to_owned(),
        ],
        ..Default::default()
    }
}

/// Sets a new password with an emailed reset token and ends every login session of the
/// account, so whoever knew the old password is logged out. Reading the link proved the
/// address, so the email counts as verified too and the account is joined to its person.
pub async fn confirm_password_reset(
    state: &Context,
    token: &str,
    password: Password,
) -> AppResult<()> {
    let token = token.trim().to_owned();
    let mut conn = state.pool.get().await?;
    // Look before hashing: an invalid token must not cost an Argon2 run.
    let usable: Option<Uuid> = if looks_like_token(&token) {
        account_tokens::table
            .filter(account_tokens::token_hash.eq(hash_token(&token)))
            .filter(account_tokens::purpose.eq(TokenPurpose::PasswordReset))
            .filter(account_tokens::used_at.is_null())
            .filter(account_tokens::expires_at.gt(diesel::dsl::now))
            .select(account_tokens::account_id)
            .first(&mut conn)
            .await
            .optional()?
    } else {
        None
    };
    if usable.is_none() {
        return Err(token_problem(&mut conn, &token, TokenPurpose::PasswordReset).await?);
    }
    drop(conn);
    let password_hash = hash_password(password).await?;
    let mut conn = state.pool.get().await?;
    crate::db::transaction(&mut conn, |conn| {
        async move {
            let Some(account_id) =
                consume_token(conn, &token, TokenPurpose::PasswordReset).await?
            else {
                return Err(token_problem(conn, &token, TokenPurpose::PasswordReset).await?);
            };
            diesel::update(accounts::table.find(account_id))
                .set((
                    accounts::password_hash.eq(password_hash),
                    accounts::updated_at.eq(diesel::dsl::now),
                ))
                .execute(conn)
                .await?;
            let (account, _) = join_person(conn, account_id).await?;
            retire_tokens(conn, account_id, TokenPurpose::PasswordReset).await?;
            revoke_sessions(conn, account_id).await?;
            let throttle_key = login_throttle_key(&account.email);
            diesel::delete(login_failures::table.filter(login_failures::email.eq(&throttle_key)))
                .execute(conn)
                .await?;
            let body = EmailBody {
                subject: "Your Convene password was changed".to_owned(),
                greeting: format!("Dear {},", account.name),
                paragraphs: vec![
                    "The password of your Convene account has just been changed with a reset link, and every device that was logged in has been logged out.".to_owned(),
                    "If you did not do this, ask for a new reset link at once and tell the secretariat.".to_owned(),
                ],
                ..Default::default()
            };
            enqueue(
                conn,
                OutgoingEmail::new("password_changed", &account.email, Some(&account.name), body),
            )
            .await?;
            Ok(())
        }
        .scope_boxed()
    })
    .await
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

/// A joined account shows its person's name (see `join_person`): called by the people service
/// when that name changes, in the same transaction.
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

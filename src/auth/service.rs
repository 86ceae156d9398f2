//! The rules of accounts: signup, login with throttling, sessions, verification.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use secrecy::SecretString;
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::model::{Account, AccountView, NewAccount, NewAccountToken, Role, TokenPurpose};
use crate::auth::password::{hash_password, verify_password, Password};
use crate::auth::token::{hash_token, looks_like_token, IssuedToken};
use crate::db::schema::{account_tokens, accounts, login_failures, people};
use crate::error::{AppError, AppResult, Validator};
use crate::mail::{enqueue, EmailAction, EmailBody, OutgoingEmail};
use crate::people::model::{NewPerson, Person};
use crate::people::EmailAddress;

pub const EMAIL_VERIFICATION_TTL_HOURS: i64 = 72;

pub fn account_view(account: &Account, person: &Person) -> AccountView {
    AccountView {
        id: account.id,
        person_id: person.id,
        email: person.email.clone(),
        name: person.name.clone(),
        role: account.role,
        email_verified: account.email_verified_at.is_some(),
        disabled: account.disabled_at.is_some(),
        created_at: account.created_at,
    }
}

/// A display name: trimmed, 1–200 characters.
pub fn parse_name(raw: &str) -> Result<String, &'static str> {
    let name = raw.trim();
    if name.is_empty() {
        Err("must not be empty")
    } else if name.chars().count() > 200 {
        Err("must be at most 200 characters")
    } else {
        Ok(name.to_owned())
    }
}

pub struct NewAccountInput {
    pub email: EmailAddress,
    pub name: String,
    pub password: Password,
    pub role: Role,
    /// Admins created from the command line are trusted; signups must verify.
    pub verified: bool,
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
                verified: false,
            }),
            _ => Err(AppError::internal("validator passed with missing fields")),
        }
    }
}

/// Creates an account (and its person, unless the email already belongs to a contact) and,
/// unless pre-verified, queues the verification email in the same transaction.
pub async fn create_account(
    state: &AppState,
    input: NewAccountInput,
) -> AppResult<(Account, Person)> {
    let password_hash = hash_password(input.password).await?;
    let public_url = state.settings.public_url().to_owned();
    let mut conn = state.pool.get().await?;
    conn.transaction::<_, AppError, _>(|conn| {
        async move {
            let person = find_or_create_person(conn, &input.email, &input.name).await?;
            let taken: i64 = accounts::table
                .filter(accounts::person_id.eq(person.id))
                .count()
                .get_result(conn)
                .await?;
            if taken > 0 {
                return Err(AppError::conflict(
                    "email_taken",
                    "an account with this email already exists; log in or reset the password",
                ));
            }
            let account: Account = diesel::insert_into(accounts::table)
                .values(NewAccount {
                    id: Uuid::now_v7(),
                    person_id: person.id,
                    password_hash,
                    role: input.role,
                    email_verified_at: input.verified.then(Utc::now),
                })
                .returning(Account::as_returning())
                .get_result(conn)
                .await?;
            if !input.verified {
                send_verification_email(conn, &account, &person, &public_url).await?;
            }
            Ok((account, person))
        }
        .scope_boxed()
    })
    .await
}

/// The person with this email, created with `name` when the partnership does not know them yet.
pub async fn find_or_create_person(
    conn: &mut AsyncPgConnection,
    email: &EmailAddress,
    name: &str,
) -> AppResult<Person> {
    diesel::insert_into(people::table)
        .values(NewPerson {
            id: Uuid::now_v7(),
            email: email.as_str(),
            name,
            honorific: None,
            position: None,
        })
        .on_conflict(people::email)
        .do_nothing()
        .execute(conn)
        .await?;
    Ok(people::table
        .filter(people::email.eq(email.as_str()))
        .select(Person::as_select())
        .first(conn)
        .await?)
}

pub async fn issue_token(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    purpose: TokenPurpose,
    ttl: Duration,
) -> AppResult<(IssuedToken, DateTime<Utc>)> {
    let token = IssuedToken::generate();
    let expires_at = Utc::now() + ttl;
    diesel::insert_into(account_tokens::table)
        .values(NewAccountToken {
            token_hash: token.hash.clone(),
            account_id,
            purpose,
            expires_at,
        })
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
    person: &Person,
    public_url: &str,
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
        greeting: format!("Dear {},", person.name),
        paragraphs: vec![
            "Thank you for creating an account with the Asia-Pacific Partnership for Atrocity Prevention.".to_owned(),
            "Please confirm that this email address is yours. The link is valid for 72 hours.".to_owned(),
        ],
        action: Some(EmailAction {
            label: "Confirm my email address".to_owned(),
            url: format!("{public_url}/verify-email?token={}", token.expose()),
        }),
        footer: vec!["If you did not create this account, ignore this message.".to_owned()],
        ..Default::default()
    };
    enqueue(
        conn,
        OutgoingEmail::new(
            "email_verification",
            &person.email,
            Some(&person.name),
            body,
        ),
    )
    .await?;
    Ok(())
}

pub struct LoginSuccess {
    pub token: IssuedToken,
    pub expires_at: DateTime<Utc>,
    pub account: Account,
    pub person: Person,
}

/// Checks the password (one Argon2 run whether or not the account exists), throttling failed
/// attempts per account and per client address.
pub async fn login(
    state: &AppState,
    email: &str,
    password: SecretString,
    client_ip: &str,
) -> AppResult<LoginSuccess> {
    let auth = &state.settings.auth;
    let window = Duration::seconds(auth.failed_login_window_secs);
    let email = EmailAddress::parse(email).ok();
    let mut conn = state.pool.get().await?;
    let found: Option<(Account, Person)> = match &email {
        Some(email) => accounts::table
            .inner_join(people::table)
            .filter(people::email.eq(email.as_str()))
            .select((Account::as_select(), Person::as_select()))
            .first(&mut conn)
            .await
            .optional()?,
        None => None,
    };
    let account_id = found.as_ref().map(|(a, _)| a.id);
    let since = Utc::now() - window;
    let throttled_until = throttled_until(&mut conn, account_id, client_ip, since, auth).await?;
    if let Some(until) = throttled_until {
        let retry_after = (until - Utc::now()).num_seconds().max(1) as u64;
        return Err(AppError::too_many_requests(retry_after));
    }
    // Give the connection back while Argon2 runs on a blocking thread.
    drop(conn);
    let stored_hash = found.as_ref().map(|(a, _)| a.password_hash.clone());
    let valid = verify_password(stored_hash, password).await?;
    let mut conn = state.pool.get().await?;
    let Some((account, person)) = found.filter(|_| valid) else {
        diesel::insert_into(login_failures::table)
            .values((
                login_failures::account_id.eq(account_id),
                login_failures::client_ip.eq(client_ip),
            ))
            .execute(&mut conn)
            .await?;
        return Err(AppError::problem(
            actix_web::http::StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "the email or password is wrong",
        ));
    };
    if account.disabled_at.is_some() {
        return Err(AppError::forbidden(
            "account_disabled",
            "this account has been disabled; contact the secretariat",
        ));
    }
    diesel::delete(login_failures::table.filter(login_failures::account_id.eq(account.id)))
        .execute(&mut conn)
        .await?;
    let ttl = Duration::hours(state.settings.app.session_ttl_hours);
    let (token, expires_at) =
        issue_token(&mut conn, account.id, TokenPurpose::Session, ttl).await?;
    Ok(LoginSuccess {
        token,
        expires_at,
        account,
        person,
    })
}

/// When the throttle on this account or address lifts, if either is over its limit.
async fn throttled_until(
    conn: &mut AsyncPgConnection,
    account_id: Option<Uuid>,
    client_ip: &str,
    since: DateTime<Utc>,
    auth: &crate::config::AuthSettings,
) -> AppResult<Option<DateTime<Utc>>> {
    let window = Duration::seconds(auth.failed_login_window_secs);
    let mut until = None;
    if let Some(account_id) = account_id {
        let (count, oldest): (i64, Option<DateTime<Utc>>) = login_failures::table
            .filter(login_failures::account_id.eq(account_id))
            .filter(login_failures::failed_at.gt(since))
            .select((
                diesel::dsl::count_star(),
                diesel::dsl::min(login_failures::failed_at),
            ))
            .first(conn)
            .await?;
        if count >= auth.max_failed_logins {
            until = oldest.map(|t| t + window);
        }
    }
    let (count, oldest): (i64, Option<DateTime<Utc>>) = login_failures::table
        .filter(login_failures::client_ip.eq(client_ip))
        .filter(login_failures::failed_at.gt(since))
        .select((
            diesel::dsl::count_star(),
            diesel::dsl::min(login_failures::failed_at),
        ))
        .first(conn)
        .await?;
    if count >= auth.max_failed_logins_per_address {
        let by_address = oldest.map(|t| t + window);
        until = until.max(by_address);
    }
    Ok(until)
}

pub async fn logout(state: &AppState, token: &str) -> AppResult<()> {
    let mut conn = state.pool.get().await?;
    diesel::delete(account_tokens::table.filter(account_tokens::token_hash.eq(hash_token(token))))
        .execute(&mut conn)
        .await?;
    Ok(())
}

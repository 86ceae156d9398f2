//! Proving an account's email address: the emailed link, its single use (which joins the
//! account to its person), and asking for a new link.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::account_tokens::{issue_token, retire_tokens, use_token};
use crate::auth::model::{Account, TokenPurpose};
use crate::auth::signup::join_person;
use crate::context::{Context, Links};
use crate::db::schema::{account_tokens, accounts};
use crate::error::{AppError, AppResult, Code};
use crate::mail::EmailKind;
use crate::mail::{enqueue, EmailAction, EmailBody, MailQuota, OutgoingEmail, UNPROVED_GREETING};
use crate::people::model::Person;

pub const EMAIL_VERIFICATION_TTL_HOURS: i64 = 72;
/// A logged-in account may ask for a new verification email once a minute.
pub const VERIFICATION_RESEND_INTERVAL_SECS: i64 = 60;

pub(super) async fn send_verification_email(
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
        OutgoingEmail::new(EmailKind::EmailVerification, &account.email, None, body),
    )
    .await?;
    Ok(())
}

/// Uses an emailed verification token: the account's email is verified from now on, and the
/// account is joined to its person. The token acts once; of many concurrent uses exactly one
/// succeeds.
pub async fn verify_email(state: &Context, token: &str) -> AppResult<(Account, Person)> {
    let token = token.trim().to_owned();
    let mut conn = state.pool.get().await?;
    crate::db::transaction(&mut conn, |conn| {
        async move {
            let account_id = use_token(conn, &token, TokenPurpose::EmailVerification).await?;
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
                return Err(AppError::slow_down(
                    Code::TooManyRequests,
                    format!(
                        "a verification email was sent moments ago; ask again in {wait} seconds"
                    ),
                    wait,
                ));
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

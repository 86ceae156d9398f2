//! Password reset: asking for an emailed link (capped per account, answered alike for every
//! address) and choosing a new password with it, which ends the account's login sessions.

use chrono::{Duration, Utc};
use diesel::prelude::*;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::account_tokens::{ensure_usable, retire_tokens, use_token};
use crate::auth::login::{forget_login_failures, revoke_sessions};
use crate::auth::model::TokenPurpose;
use crate::auth::password::{hash_password, Password};
use crate::auth::signup::join_person;
use crate::auth::token::IssuedToken;
use crate::context::{Context, Links};
use crate::db::schema::accounts;
use crate::error::AppResult;
use crate::mail::EmailKind;
use crate::mail::{enqueue, EmailAction, EmailBody, MailQuota, OutgoingEmail, UNPROVED_GREETING};
use crate::people::EmailAddress;

/// A reset link is a key to the account: short-lived.
pub const PASSWORD_RESET_TTL_MINUTES: i64 = 60;
/// At most this many reset emails per account per window, so nobody can flood an inbox by
/// asking again and again; the answer to the asker stays the same.
pub const PASSWORD_RESETS_PER_WINDOW: i64 = 3;
pub const PASSWORD_RESET_WINDOW_MINUTES: i64 = 15;

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
                    OutgoingEmail::new(EmailKind::PasswordReset, email.as_str(), None, body),
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
        action: Some(reset_action(links, token)),
        footer: vec![
            "If you did not ask for this, ignore this message: your password stays as it is."
                .to_owned(),
        ],
        ..Default::default()
    }
}

/// The button of an email that carries a reset link.
pub(super) fn reset_action(links: &Links, token: &IssuedToken) -> EmailAction {
    EmailAction {
        label: "Choose a new password".to_owned(),
        url: links.password_reset(token.expose()),
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
    ensure_usable(&mut conn, &token, TokenPurpose::PasswordReset).await?;
    drop(conn);
    let password_hash = hash_password(password).await?;
    let mut conn = state.pool.get().await?;
    crate::db::transaction(&mut conn, |conn| {
        async move {
            let account_id = use_token(conn, &token, TokenPurpose::PasswordReset).await?;
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
            forget_login_failures(conn, &account.email).await?;
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
                OutgoingEmail::new(EmailKind::PasswordChanged, &account.email, Some(&account.name), body),
            )
            .await?;
            Ok(())
        }
        .scope_boxed()
    })
    .await
}

/// Issues a password-reset token for the enabled account with this address, unless it had
/// `PASSWORD_RESETS_PER_WINDOW` of them lately. One statement, so concurrent asks cannot pass
/// the cap; `None` for no account, a disabled one, or one over the cap.
pub(super) async fn issue_reset_if_allowed(
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

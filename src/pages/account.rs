//! The pages behind the account emails: `/verify-email?token=T` (confirm the address) and
//! `/password-reset?token=T` (choose a new password). GET shows what the link covers and never
//! acts (rule 8: mail scanners follow links); the form POSTs to the same path with the token in
//! a hidden field, and the page shows the outcome. A link that is unknown answers 404, one that
//! was used or has expired 410, each with what to do next.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse, ResponseError};
use askama::Template;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use secrecy::{ExposeSecret, SecretString};

use super::{html, sentence, MessagePage, Summary};
use crate::auth::model::TokenPurpose;
use crate::auth::password::{Password, PasswordError};
use crate::auth::password_reset::{self, PASSWORD_RESET_TTL_MINUTES};
use crate::auth::token::{hash_token, looks_like_token};
use crate::auth::verification::{self, EMAIL_VERIFICATION_TTL_HOURS};
use crate::context::Context;
use crate::db::schema::{account_tokens, accounts};
use crate::error::{AppError, AppResult, Code};

pub fn page_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(verify_page)
        .service(verify_submit)
        .service(reset_page)
        .service(reset_submit);
}

#[derive(Template)]
#[template(path = "pages/verify_email.html")]
struct VerifyPage<'a> {
    summary: Summary,
    token: &'a str,
}

#[derive(Template)]
#[template(path = "pages/password_reset.html")]
struct ResetPage<'a> {
    summary: Summary,
    token: &'a str,
    error: Option<&'static str>,
}

/// Which emailed link a page stands behind; each explains a dead link its own way.
#[derive(Clone, Copy)]
enum Link {
    Verification,
    Reset,
}

impl Link {
    fn purpose(self) -> TokenPurpose {
        match self {
            Link::Verification => TokenPurpose::EmailVerification,
            Link::Reset => TokenPurpose::PasswordReset,
        }
    }
}

/// The account an emailed link was sent to: what the page shows before anything is done.
struct Holder {
    email: String,
    name: String,
}

impl Holder {
    fn summary(self) -> Summary {
        Summary {
            title: self.email,
            lines: vec![self.name],
        }
    }
}

/// Where a presented token stands, found without using it.
enum Lookup {
    Usable(Holder),
    Used,
    Expired,
    Unknown,
}

/// A token's expiry and use, and the email address and name of its account.
type TokenRow = (DateTime<Utc>, Option<DateTime<Utc>>, String, String);

async fn look(conn: &mut AsyncPgConnection, token: &str, link: Link) -> AppResult<Lookup> {
    let token = token.trim();
    if !looks_like_token(token) {
        return Ok(Lookup::Unknown);
    }
    let row: Option<TokenRow> = account_tokens::table
        .inner_join(accounts::table)
        .filter(account_tokens::token_hash.eq(hash_token(token)))
        .filter(account_tokens::purpose.eq(link.purpose()))
        .select((
            account_tokens::expires_at,
            account_tokens::used_at,
            accounts::email,
            accounts::name,
        ))
        .first(conn)
        .await
        .optional()?;
    Ok(match row {
        None => Lookup::Unknown,
        Some((_, Some(_), _, _)) => Lookup::Used,
        Some((expires_at, None, _, _)) if expires_at <= Utc::now() => Lookup::Expired,
        Some((_, None, email, name)) => Lookup::Usable(Holder { email, name }),
    })
}

async fn lookup(state: &web::Data<Context>, token: &str, link: Link) -> AppResult<Lookup> {
    let mut conn = state.pool.get().await?;
    look(&mut conn, token, link).await
}

/// The page for a link that cannot act: 404 when unknown, 410 when used or expired.
fn dead_link(link: Link, lookup: &Lookup) -> HttpResponse {
    let (status, page) = match (lookup, link) {
        (Lookup::Used, Link::Verification) => (
            StatusCode::GONE,
            MessagePage::new("This link has already been used")
                .paragraph("Each link works once. If you confirmed your email address with it, it is confirmed: there is nothing more to do."),
        ),
        (Lookup::Used, Link::Reset) => (
            StatusCode::GONE,
            MessagePage::new("This link has already been used")
                .paragraph("Each password reset link works once. To choose another password, ask for a new reset link."),
        ),
        (Lookup::Expired, Link::Verification) => (
            StatusCode::GONE,
            MessagePage::new("This link has expired").paragraph(format!(
                "Verification links are valid for {EMAIL_VERIFICATION_TTL_HOURS} hours. Log in and ask for a new verification email."
            )),
        ),
        (Lookup::Expired, Link::Reset) => (
            StatusCode::GONE,
            MessagePage::new("This link has expired").paragraph(format!(
                "Password reset links are valid for {PASSWORD_RESET_TTL_MINUTES} minutes. Ask for a new one; your current password still works."
            )),
        ),
        (Lookup::Unknown | Lookup::Usable(_), _) => (
            StatusCode::NOT_FOUND,
            MessagePage::new("This link is not valid")
                .paragraph("It may be incomplete: open the link straight from the email, or copy all of it.")
                .paragraph("If you received several emails, use the link in the most recent one."),
        ),
    };
    page.respond(status)
}

/// The page for an error of the service behind a form.
fn failure(link: Link, error: AppError) -> HttpResponse {
    let status = error.status_code();
    match &error {
        AppError::Problem { code, detail, .. } => match *code {
            Code::InvalidToken | Code::NotFound => dead_link(link, &Lookup::Unknown),
            Code::TokenUsed => dead_link(link, &Lookup::Used),
            Code::TokenExpired => dead_link(link, &Lookup::Expired),
            _ => MessagePage::new("Your request could not be completed")
                .paragraph(sentence(detail))
                .respond(status),
        },
        AppError::Validation(errors) => MessagePage::new("Your request could not be completed")
            .paragraphs(errors.iter().map(|e| sentence(&e.message)))
            .respond(status),
        AppError::Unavailable(_) | AppError::Internal(_) => {
            error.log_cause();
            super::unavailable(status)
        }
    }
}

/// The first value of `name` in a query string or form body. Parsed by hand so that a repeated
/// or unexpected field never turns into a JSON error in the middle of a web page.
fn field(encoded: &[u8], name: &str) -> String {
    url::form_urlencoded::parse(encoded)
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}

/// Shows which address the emailed verification link confirms; the button POSTs.
#[get("/verify-email")]
async fn verify_page(state: web::Data<Context>, req: HttpRequest) -> HttpResponse {
    let token = field(req.query_string().as_bytes(), "token");
    match lookup(&state, &token, Link::Verification).await {
        Ok(Lookup::Usable(holder)) => html(
            StatusCode::OK,
            &VerifyPage {
                summary: holder.summary(),
                token: token.trim(),
            },
        ),
        Ok(dead) => dead_link(Link::Verification, &dead),
        Err(e) => failure(Link::Verification, e),
    }
}

/// Confirms the address (the button of the verification page) and shows the outcome.
#[post("/verify-email")]
async fn verify_submit(state: web::Data<Context>, body: web::Bytes) -> HttpResponse {
    let token = field(&body, "token");
    match verification::verify_email(&state, &token).await {
        Ok((account, _)) => MessagePage::new("Your email address is verified")
            .summary(Some(Holder { email: account.email, name: account.name }.summary()))
            .paragraph("Thank you. Your Convene account's email address is confirmed: sign in to see your registrations and invitations.")
            .link("/login?done=verified", "Sign in")
            .respond(StatusCode::OK),
        Err(e) => failure(Link::Verification, e),
    }
}

/// Shows the form for a new password, for the account the emailed link was sent to.
#[get("/password-reset")]
async fn reset_page(state: web::Data<Context>, req: HttpRequest) -> HttpResponse {
    let token = field(req.query_string().as_bytes(), "token");
    match lookup(&state, &token, Link::Reset).await {
        Ok(Lookup::Usable(holder)) => html(
            StatusCode::OK,
            &ResetPage {
                summary: holder.summary(),
                token: token.trim(),
                error: None,
            },
        ),
        Ok(dead) => dead_link(Link::Reset, &dead),
        Err(e) => failure(Link::Reset, e),
    }
}

/// Why the two typed passwords cannot be used, in the words the form shows.
fn password_problem(
    password: SecretString,
    again: &SecretString,
) -> Result<Password, &'static str> {
    if password.expose_secret() != again.expose_secret() {
        return Err("The two passwords are not the same. Please type your new password twice.");
    }
    Password::parse(password).map_err(|e| match e {
        PasswordError::TooShort => "Your new password is too short: use at least 8 characters.",
        PasswordError::TooLong => "Your new password is too long: use at most 128 characters.",
    })
}

/// Sets the new password (the form of the reset page) and shows the outcome. Passwords that
/// differ or are too short show the form again; the link stays usable.
#[post("/password-reset")]
async fn reset_submit(state: web::Data<Context>, body: web::Bytes) -> HttpResponse {
    let token = field(&body, "token");
    let password = SecretString::from(field(&body, "password"));
    let again = SecretString::from(field(&body, "password_confirmation"));
    // Look first: a dead link gets its explanation rather than the form again.
    let holder = match lookup(&state, &token, Link::Reset).await {
        Ok(Lookup::Usable(holder)) => holder,
        Ok(dead) => return dead_link(Link::Reset, &dead),
        Err(e) => return failure(Link::Reset, e),
    };
    let password = match password_problem(password, &again) {
        Ok(password) => password,
        Err(error) => {
            return html(
                StatusCode::UNPROCESSABLE_ENTITY,
                &ResetPage {
                    summary: holder.summary(),
                    token: token.trim(),
                    error: Some(error),
                },
            )
        }
    };
    match password_reset::confirm_password_reset(&state, &token, password).await {
        Ok(()) => MessagePage::new("Your password has been changed")
            .summary(Some(holder.summary()))
            .paragraph("You can now log in with your new password. Every device that was logged in to your account has been logged out.")
            .paragraph("We have emailed you a note of the change.")
            .link("/login?done=password", "Sign in with your new password")
            .respond(StatusCode::OK),
        Err(e) => failure(Link::Reset, e),
    }
}

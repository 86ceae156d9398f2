//! The console: server-rendered pages for people, not API clients. The public account pages
//! (`/login`, `/signup`, `/account`, `POST /logout`) and the secretariat's pages under
//! `/manage`. Every action is a plain form POST (no JavaScript), carries the CSRF token of
//! the session (`auth::csrf`), and calls the same service functions as the API handlers: a rule
//! is written once, in the service.
//!
//! Conventions shared by every page here:
//! - who is signed in is read per page ([`signed_in`], [`admin`]): an anonymous visitor is sent
//!   to `/login?next=…`, a signed-in non-admin gets a polite 403 page;
//! - a failed form shows each error next to its field, keeps what was typed, changes nothing;
//! - a success redirects (303) to a page whose `?done=` says what happened, from a fixed list
//!   of sentences (never text taken from the address).

// A page helper's `Err` is the page to answer instead (a redirect, a 403): built at most once
// per request, so its size does not matter.
#![allow(clippy::result_large_err)]

pub mod account;
pub mod accounts;
pub mod audit;
pub mod dialogues;
pub mod home;
pub mod import;
pub mod invitations;
pub mod organizations;
pub mod outcomes;
pub mod people;
pub mod reports;
pub mod setup;

use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse, ResponseError};

use crate::auth::csrf;
use crate::auth::{AuthUser, MaybeUser};
use crate::error::{AppError, Code, FieldError};
use crate::pages::{sentence, MessagePage};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.configure(account::routes)
        .configure(home::routes)
        .configure(setup::routes)
        .configure(dialogues::routes)
        .configure(invitations::routes)
        .configure(audit::routes)
        .configure(import::routes)
        .configure(organizations::routes)
        .configure(people::routes)
        .configure(accounts::routes)
        .configure(reports::routes)
        .configure(outcomes::routes);
}

/// The frame of a console page: who is signed in, and the token of the sign-out form.
#[derive(Clone)]
pub struct Chrome {
    pub name: String,
    pub email: String,
    pub csrf: String,
    pub admin: bool,
    /// Organisers (and admins) see their dialogues.
    pub organizer: bool,
}

impl Chrome {
    fn of(user: &AuthUser, req: &HttpRequest) -> Chrome {
        Chrome {
            name: user.name().to_owned(),
            email: user.email().to_owned(),
            csrf: csrf::form_token(req).unwrap_or_default(),
            admin: user.is_admin(),
            organizer: user.is_organizer(),
        }
    }
}

/// The signed-in user of a page, or the answer to give instead: a redirect to the sign-in
/// page that comes back here afterwards.
pub async fn signed_in(req: &HttpRequest) -> Result<(AuthUser, Chrome), HttpResponse> {
    match MaybeUser::extract(req).await {
        Ok(MaybeUser(Some(user))) => {
            let chrome = Chrome::of(&user, req);
            Ok((user, chrome))
        }
        Ok(MaybeUser(None)) => {
            let here = match req.uri().path_and_query() {
                Some(pq) => pq.as_str().to_owned(),
                None => req.path().to_owned(),
            };
            let next: String = url::form_urlencoded::byte_serialize(here.as_bytes()).collect();
            Err(see_other(&format!("/login?next={next}")))
        }
        Err(e) => Err(error_page(e)),
    }
}

/// A signed-in user's form POST: the user, the page's chrome and the form, its CSRF token
/// checked; or the answer to give instead (sign in first; the expired-form page).
pub async fn signed_in_form(
    req: &HttpRequest,
    body: &[u8],
) -> Result<(AuthUser, Chrome, Form), HttpResponse> {
    let (user, chrome) = signed_in(req).await?;
    Ok((user, chrome, Form::checked(req, body)?))
}

/// An admin's form POST: the admin, the page's chrome and the form, its CSRF token checked.
pub async fn admin_form(
    req: &HttpRequest,
    body: &[u8],
) -> Result<(AuthUser, Chrome, Form), HttpResponse> {
    let (user, chrome) = admin(req).await?;
    Ok((user, chrome, Form::checked(req, body)?))
}

/// An organiser's (or admin's) form POST: the organiser, the page's chrome and the form, its
/// CSRF token checked.
pub async fn organizer_form(
    req: &HttpRequest,
    body: &[u8],
) -> Result<(AuthUser, Chrome, Form), HttpResponse> {
    let (user, chrome) = organizer(req).await?;
    Ok((user, chrome, Form::checked(req, body)?))
}

/// A signed-in admin, or the answer to give instead (sign in first; or a 403 page).
pub async fn admin(req: &HttpRequest) -> Result<(AuthUser, Chrome), HttpResponse> {
    let (user, chrome) = signed_in(req).await?;
    require_admin(&user)?;
    Ok((user, chrome))
}

/// The polite 403 page for anyone signed in who is not an admin.
pub fn require_admin(user: &AuthUser) -> Result<(), HttpResponse> {
    if user.is_admin() {
        Ok(())
    } else {
        Err(MessagePage::new("This page is for the secretariat")
            .paragraph(format!(
                "You are signed in as {}. The console's pages are for the partnership's admins; your account cannot open them.",
                user.email()
            ))
            .paragraph("If you think you should have access, write to the secretariat.")
            .link("/account", "Go to your account")
            .respond(StatusCode::FORBIDDEN))
    }
}

/// A signed-in organiser or admin (the dialogues' pages), or the answer to give instead.
pub async fn organizer(req: &HttpRequest) -> Result<(AuthUser, Chrome), HttpResponse> {
    let (user, chrome) = signed_in(req).await?;
    if user.is_organizer() {
        Ok((user, chrome))
    } else {
        Err(MessagePage::new("This page is for organisers")
            .paragraph(format!(
                "You are signed in as {}. Dialogues are run by their organisers and the partnership's admins; your account cannot open this page.",
                user.email()
            ))
            .paragraph("If you organise a dialogue, ask the secretariat to make you one of its staff.")
            .link("/account", "Go to your account")
            .respond(StatusCode::FORBIDDEN))
    }
}

/// A 303 to `location` (after a POST, the browser GETs the next page).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// A relative address on this site to go to after signing in; anything else (another site,
/// `//host`, `/\host`, control characters) is refused.
pub fn safe_next(raw: &str) -> Option<&str> {
    let next = raw.trim();
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && next.len() <= 2000
        && !next.chars().any(|c| c.is_control() || c == '\\');
    ok.then_some(next)
}

/// A urlencoded form body. Read by hand so that a repeated or unexpected field never becomes
/// a JSON error in the middle of a web page; a missing field reads as empty.
pub struct Form(Vec<(String, String)>);

impl Form {
    pub fn parse(body: &[u8]) -> Form {
        Form(
            url::form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    }

    /// The form of a POST, refused (403 page) without the session's CSRF token.
    pub fn checked(req: &HttpRequest, body: &[u8]) -> Result<Form, HttpResponse> {
        let form = Form::parse(body);
        form.check_csrf(req)?;
        Ok(form)
    }

    /// Refuses (403 page) a form without the session's CSRF token.
    pub fn check_csrf(&self, req: &HttpRequest) -> Result<(), HttpResponse> {
        csrf::check_form(req, self.get(csrf::FIELD)).map_err(|_| {
            MessagePage::new("This form has expired")
                .paragraph("It did not come from this site, or you signed in again since it was shown. Nothing was changed.")
                .paragraph("Go back, reload the page and try again.")
                .link("/manage", "Go to the console")
                .respond(StatusCode::FORBIDDEN)
        })
    }
}

/// The errors of a form, each shown next to its field.
#[derive(Default)]
pub struct Errors(pub Vec<FieldError>);

impl Errors {
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }
}

/// The page for a service error that is not about one form field.
pub fn error_page(error: AppError) -> HttpResponse {
    let status = error.status_code();
    match &error {
        AppError::Problem { code, detail, .. } if *code == Code::NotFound => {
            crate::pages::not_found(&sentence(detail))
        }
        AppError::Problem { detail, .. } => MessagePage::new("This could not be done")
            .paragraph(sentence(detail))
            .paragraph("Nothing was changed.")
            .link("/manage", "Go to the console")
            .respond(status),
        AppError::Validation(errors) => MessagePage::new("This could not be done")
            .paragraphs(
                errors
                    .iter()
                    .map(|e| sentence(&format!("{}: {}", e.field, e.message))),
            )
            .link("/manage", "Go to the console")
            .respond(status),
        AppError::Unavailable(_) | AppError::Internal(_) => {
            error.log_cause();
            crate::pages::unavailable(status)
        }
    }
}

/// A list page's address for the page after this one: its filters (the empty ones left out)
/// and the cursor where the next page starts.
pub fn next_page_address(path: &str, filters: &[(&str, &str)], cursor: &str) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in filters {
        if !value.is_empty() {
            query.append_pair(name, value);
        }
    }
    query.append_pair("cursor", cursor);
    format!("{path}?{}", query.finish())
}

/// "civil_society" → "civil society".
pub fn words(code: &str) -> String {
    code.replace('_', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_relative_addresses_are_followed_after_sign_in() {
        assert_eq!(safe_next("/manage?x=1"), Some("/manage?x=1"));
        assert_eq!(safe_next("//evil.example"), None);
        assert_eq!(safe_next("/\\evil.example"), None);
        assert_eq!(safe_next("https://evil.example"), None);
        assert_eq!(safe_next("/a\nb"), None);
        assert_eq!(safe_next(""), None);
    }

    #[test]
    fn the_next_page_keeps_the_filters_that_are_set() {
        assert_eq!(
            next_page_address("/manage/people", &[("q", "Aiko Mori"), ("role", "")], "c1"),
            "/manage/people?q=Aiko+Mori&cursor=c1"
        );
    }
}

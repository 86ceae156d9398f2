//! Server-rendered HTML pages (askama, auto-escaped, no JavaScript build step). Every page
//! template extends `templates/pages/layout.html` and fills its `title` and `content` blocks
//! (and `head` for a page that must not be indexed).
//!
//! The pages behind emailed links (`/registrations/confirm`, `/registrations/{id}/cancel`,
//! `/invitations/{token}`, `/verify-email`, `/password-reset`) show what their token covers and
//! act only on a form POST (rule 8). Their token appears in the HTML only as the hidden field of
//! the form that uses it (the invitation form posts back to its own address and carries none).

pub mod account;
pub mod dialogues;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(dialogues::index))
        .route("/events/{slug}", web::get().to(dialogues::event_page))
        .configure(account::page_routes)
        .configure(crate::invitations::pages::page_routes)
        .configure(crate::registrations::pages::page_routes);
}

/// Renders a page with `status`; a template failure is logged and answered as a plain 500.
/// No browser or shared cache keeps a page (`no-store`): those behind emailed links carry tokens,
/// the others change often.
pub fn html(status: StatusCode, page: &impl Template) -> HttpResponse {
    match render(page) {
        Ok(body) => html_body(status, body),
        Err(e) => {
            tracing::error!(error = %e, "rendering a page failed");
            HttpResponse::InternalServerError()
                .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
                .body("<!DOCTYPE html><html lang=\"en\"><title>Error</title><p>Something went wrong; it has been logged.</p></html>")
        }
    }
}

/// A page's HTML.
pub fn render(page: &impl Template) -> crate::error::AppResult<bytes::Bytes> {
    page.render()
        .map(bytes::Bytes::from)
        .map_err(|e| crate::error::AppError::internal(format!("rendering a page: {e}")))
}

/// Answers rendered HTML, which neither a shared cache nor the browser keeps (see [`html`]).
pub fn html_body(status: StatusCode, body: bytes::Bytes) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

/// What a page is about, shown in a box under its heading: a session with its event and
/// local time, an account's address.
pub struct Summary {
    pub title: String,
    pub lines: Vec<String>,
}

/// Where a message page sends the reader next.
pub struct Link {
    pub href: String,
    pub label: String,
}

/// A page that only says something: an outcome ("You're registered"), or why a request could
/// not be done ("This link has expired"), with what it is about and one link onwards.
#[derive(Template)]
#[template(path = "pages/message.html")]
pub struct MessagePage {
    pub heading: String,
    pub summary: Option<Summary>,
    pub paragraphs: Vec<String>,
    pub link: Link,
}

impl MessagePage {
    /// A heading, and a link to the list of dialogues.
    pub fn new(heading: impl Into<String>) -> MessagePage {
        MessagePage {
            heading: heading.into(),
            summary: None,
            paragraphs: Vec::new(),
            link: Link {
                href: "/".to_owned(),
                label: "See the upcoming dialogues".to_owned(),
            },
        }
    }

    pub fn paragraph(mut self, text: impl Into<String>) -> MessagePage {
        self.paragraphs.push(text.into());
        self
    }

    pub fn paragraphs(mut self, texts: impl IntoIterator<Item = String>) -> MessagePage {
        self.paragraphs.extend(texts);
        self
    }

    pub fn summary(mut self, summary: Option<Summary>) -> MessagePage {
        self.summary = summary;
        self
    }

    pub fn link(mut self, href: impl Into<String>, label: impl Into<String>) -> MessagePage {
        self.link = Link {
            href: href.into(),
            label: label.into(),
        };
        self
    }

    pub fn respond(&self, status: StatusCode) -> HttpResponse {
        html(status, self)
    }
}

/// The HTML 404 page.
pub fn not_found(message: &str) -> HttpResponse {
    MessagePage::new("Page not found")
        .paragraph(message)
        .respond(StatusCode::NOT_FOUND)
}

/// An HTML page for an error that is not the visitor's doing (database unavailable, ...).
pub fn unavailable(status: StatusCode) -> HttpResponse {
    MessagePage::new("Something went wrong")
        .paragraph("This page could not be shown right now; please try again shortly.")
        .respond(status)
}

/// "this link has expired" → "This link has expired."; error details read as sentences.
pub fn sentence(text: &str) -> String {
    let mut chars = text.trim().chars();
    match chars.next() {
        Some(first) => {
            let mut out: String = first.to_uppercase().collect();
            out.push_str(chars.as_str());
            if !out.ends_with(['.', '!', '?']) {
                out.push('.');
            }
            out
        }
        None => String::new(),
    }
}

/// The fields of a registration form for one public session, shared by the event page (one
/// form per session) and the stand-alone form page (which shows them again with the errors).
pub struct RegisterFields {
    pub action: String,
    /// Keeps field ids unique when a page holds several forms ("-{session id}").
    pub id_suffix: String,
    pub email: String,
    pub name: String,
    /// The member organisation picked from the directory (its id), or empty.
    pub organization_id: String,
    /// An organisation typed because it is not in the directory, and its kind.
    pub organization_name: String,
    pub organization_kind: String,
    pub country: String,
    /// The session is full and takes the registration onto its waitlist.
    pub full: bool,
    pub errors: Vec<crate::error::FieldError>,
    /// A logged-in caller may leave email and name empty to register themselves.
    pub logged_in_as: Option<String>,
    /// The hidden CSRF field's value when the visitor presents the session cookie
    /// (`auth::csrf::form_token`).
    pub csrf_token: Option<String>,
    pub countries: &'static [crate::organizations::country::Country],
    /// The directory's active members, to pick from.
    pub members: Members,
    pub kinds: &'static [crate::organizations::model::OrganizationKind],
}

/// A member organisation as a registration form offers it.
pub struct MemberOption {
    pub id: String,
    /// "Name (Country)".
    pub label: String,
}

/// The active members, sorted by name, shared by every form of a page.
pub type Members = std::sync::Arc<[MemberOption]>;

/// The directory's active members for the registration forms: only they may be named by id.
pub async fn members(
    conn: &mut diesel_async::AsyncPgConnection,
) -> crate::error::AppResult<Members> {
    use crate::db::schema::organizations;
    use crate::organizations::model::MembershipStatus;
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    let rows: Vec<(uuid::Uuid, String, Option<String>)> = organizations::table
        .filter(organizations::status.eq(MembershipStatus::Active))
        .order((organizations::name.asc(), organizations::id.asc()))
        .select((
            organizations::id,
            organizations::name,
            organizations::country,
        ))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, country)| MemberOption {
            id: id.to_string(),
            label: match country.as_deref() {
                Some(code) => format!(
                    "{name} ({})",
                    crate::organizations::CountryCode::display_name(code)
                ),
                None => name,
            },
        })
        .collect())
}

impl RegisterFields {
    /// An empty form posting to `action`, offering `members`.
    pub fn new(action: String, id_suffix: String, members: Members) -> RegisterFields {
        RegisterFields {
            action,
            id_suffix,
            email: String::new(),
            name: String::new(),
            organization_id: String::new(),
            organization_name: String::new(),
            organization_kind: String::new(),
            country: String::new(),
            full: false,
            errors: Vec::new(),
            logged_in_as: None,
            csrf_token: None,
            countries: countries(),
            members,
            kinds: crate::organizations::model::OrganizationKind::ALL,
        }
    }

    /// The error of one field, for the message under its label.
    pub fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }

    /// The label a field's error is announced with.
    pub fn label<'f>(&self, field: &'f str) -> &'f str {
        match field {
            "email" => "Email",
            "name" => "Name",
            "organization_id" => "Member organisation",
            "organization_name" => "Other organisation",
            "organization_kind" => "Kind of organisation",
            "country" => "Country",
            other => other,
        }
    }

    /// The id of a field's input, for the error summary's links.
    pub fn field_id(&self, field: &str) -> String {
        format!("{field}{}", self.id_suffix)
    }
}

/// Countries with their English short names, sorted by name, for the registration forms.
pub fn countries() -> &'static [crate::organizations::country::Country] {
    crate::organizations::country::countries_by_name()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_become_sentences() {
        assert_eq!(sentence("this link has expired"), "This link has expired.");
        assert_eq!(sentence("Done."), "Done.");
        assert_eq!(sentence(""), "");
    }

    #[test]
    fn a_message_page_escapes_and_links_home() {
        let body = MessagePage::new("A <b>heading</b>")
            .paragraph("x < y")
            .render()
            .expect("renders");
        assert!(body.contains("A &lt;b&gt;heading&lt;/b&gt;"));
        assert!(body.contains("x &lt; y"));
        assert!(body.contains("<a href=\"/\">See the upcoming dialogues</a>"));
        assert!(body.contains("<html lang=\"en\">"));
        assert!(body.contains("noindex"));
    }

    #[test]
    fn countries_are_sorted_by_name() {
        let list = countries();
        assert!(list.iter().any(|c| c.code == "JP" && c.name == "Japan"));
    }
}

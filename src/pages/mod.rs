//! Server-rendered HTML pages (askama, auto-escaped, no JavaScript build step). Every page
//! template extends `templates/pages/layout.html` and fills its `title` and `content` blocks.

pub mod dialogues;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(dialogues::index))
        .route("/events/{slug}", web::get().to(dialogues::event_page))
        .configure(crate::invitations::pages::page_routes)
        .configure(crate::registrations::pages::page_routes);
}

/// Renders a page with `status`; a template failure is logged and answered as a plain 500.
pub fn html(status: StatusCode, page: &impl Template) -> HttpResponse {
    match page.render() {
        Ok(body) => HttpResponse::build(status)
            .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(body),
        Err(e) => {
            tracing::error!(error = %e, "rendering a page failed");
            HttpResponse::InternalServerError()
                .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
                .body("<!DOCTYPE html><title>Error</title><p>Something went wrong; it has been logged.</p>")
        }
    }
}

/// A page that only says something: "Page not found", "Something went wrong".
#[derive(Template)]
#[template(path = "pages/message.html")]
pub struct MessagePage<'a> {
    pub heading: &'a str,
    pub message: &'a str,
}

/// The HTML 404 page.
pub fn not_found(message: &str) -> HttpResponse {
    html(
        StatusCode::NOT_FOUND,
        &MessagePage {
            heading: "Page not found",
            message,
        },
    )
}

/// An HTML page for an error that is not the visitor's doing (database unavailable, ...).
pub fn unavailable(status: StatusCode) -> HttpResponse {
    html(
        status,
        &MessagePage {
            heading: "Something went wrong",
            message: "This page could not be shown right now; please try again shortly.",
        },
    )
}

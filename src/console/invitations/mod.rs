//! A dialogue's invitations and email in the console, for its staff and admins: composing
//! (`compose`), previewing then sending (`preview`), the invitations table with resend and
//! revoke (`list`), and the status of the dialogue's email with retry (`emails`). This file
//! holds the routes and what the pages share.
//!
//! Every action calls the service the API calls (`invitations::{create, manage}`, `invitations::preview`,
//! `mail::retry`), so a rule is written once.

mod compose;
mod emails;
mod list;
mod preview;

use actix_web::{web, HttpRequest};
use uuid::Uuid;

use crate::console::dialogues::StatusChoice;
use crate::console::{words, Form};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(compose::compose)
        .service(compose::compose_again)
        .service(preview::preview_page)
        .service(preview::send)
        .service(list::list)
        .service(list::resend)
        .service(list::revoke_page)
        .service(list::revoke)
        .service(emails::emails_page)
        .service(emails::retry_page)
        .service(emails::retry_post);
}

/// What a form did, said on the page it returns to (a fixed list: never text from the address).
fn done_sentence(code: &str) -> Option<&'static str> {
    match code {
        "sent" => Some("The invitations were sent."),
        "resent" => {
            Some("The invitation was sent again with a new link; the old link no longer works.")
        }
        "revoked" => Some("The invitation was withdrawn and the invitee told."),
        "retried" => Some("The address was corrected and the message is being sent again."),
        _ => None,
    }
}

/// What a table page is asked for in its address: a status filter, a page cursor, and what the
/// form before it did.
struct TableQuery {
    status: String,
    cursor: String,
    done: Option<&'static str>,
}

impl TableQuery {
    fn of(req: &HttpRequest) -> TableQuery {
        let query = Form::parse(req.query_string().as_bytes());
        TableQuery {
            status: query.get("status").trim().to_owned(),
            cursor: query.get("cursor").trim().to_owned(),
            done: done_sentence(query.get("done")),
        }
    }

    /// The address of the page at `cursor` of the table `/manage/events/{event_id}/{table}`,
    /// with the same status filter.
    fn next(&self, event_id: Uuid, table: &str, cursor: &str) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if !self.status.is_empty() {
            query.append_pair("status", &self.status);
        }
        query.append_pair("cursor", cursor);
        format!("/manage/events/{event_id}/{table}?{}", query.finish())
    }
}

/// The status filter's choices, one a status code.
fn status_choices(codes: impl Iterator<Item = &'static str>) -> Vec<StatusChoice> {
    codes
        .map(|code| StatusChoice {
            code,
            label: words(code),
        })
        .collect()
}

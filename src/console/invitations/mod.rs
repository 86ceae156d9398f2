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

use actix_web::web;

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

//! Email: composing messages, the outbox they wait in, the worker that delivers them.

pub mod compose;
pub mod kind;
pub mod limits;
pub mod outbox;
pub mod retry;
pub mod routes;
pub mod service;
pub mod status;
pub mod transport;
pub mod worker;

pub use compose::{inert, Contact, EmailAction, EmailBody, UNPROVED_GREETING};
pub use kind::EmailKind;
pub use limits::MailQuota;
pub use outbox::{enqueue, enqueue_many, OutgoingEmail};

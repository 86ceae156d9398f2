//! Where messages go: SMTP (production; see `mail::smtp`), `.eml` files in a folder, or the
//! log (local development).

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncFileTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;
use std::sync::Arc;
use tokio::sync::OwnedMutexGuard;

use crate::config::{EmailSettings, EmailTransportKind};
use crate::mail::outbox::Email;
use crate::mail::smtp::SmtpMailer;

/// How long one SMTP step (connecting, or one message's transaction) may take.
const SMTP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

pub enum Mailer {
    Smtp(SmtpMailer),
    File(AsyncFileTransport<Tokio1Executor>),
    Log,
}

/// Why a message was not delivered.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Trying again later may help.
    #[error("transient: {0}")]
    Transient(String),
    #[error("permanent: {0}")]
    Permanent(String),
    /// The worker's window closed (it is stopping, or held the claim too long) before the
    /// content went out: nothing was attempted, the message goes back to the queue as it was.
    #[error("not attempted: the worker's window to send closed")]
    NotAttempted,
}

/// Until when a worker may still let a message through the server's acceptance.
#[derive(Debug, Clone)]
pub struct AcceptWindow {
    pub until: std::time::Instant,
    pub shutdown: Option<tokio::sync::watch::Receiver<bool>>,
    /// Set when an outcome could not be recorded: nothing more goes through.
    pub halted: Arc<std::sync::atomic::AtomicBool>,
}

impl AcceptWindow {
    pub fn is_open(&self) -> bool {
        std::time::Instant::now() < self.until
            && !self.shutdown.as_ref().is_some_and(|s| *s.borrow())
            && !self.halted.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// What one send did. `gate` is held when the content went out, whatever the answer: the
/// server may have accepted it, so its outcome must be recorded before any other message is
/// let through (see [`SmtpMailer::send`]).
pub struct Attempt {
    pub result: Result<(), SendError>,
    pub gate: Option<OwnedMutexGuard<()>>,
}

impl Attempt {
    /// Failed before the content went out: nothing can have been accepted.
    pub fn before_content(error: SendError) -> Attempt {
        Attempt {
            result: Err(error),
            gate: None,
        }
    }
}

impl Mailer {
    pub fn from_settings(settings: &EmailSettings) -> anyhow::Result<Mailer> {
        Ok(match settings.transport {
            EmailTransportKind::Smtp => Mailer::Smtp(
                SmtpMailer::new(
                    settings.smtp_url.expose_secret(),
                    SMTP_TIMEOUT,
                    settings.smtp_pool_size,
                )
                // Not the URL itself: it may carry a password.
                .map_err(|e| anyhow::anyhow!("email.smtp_url is invalid: {e}"))?,
            ),
            EmailTransportKind::File => {
                std::fs::create_dir_all(&settings.file_dir).map_err(|e| {
                    anyhow::anyhow!(
                        "creating email.file_dir {}: {e}",
                        settings.file_dir.display()
                    )
                })?;
                Mailer::File(AsyncFileTransport::new(&settings.file_dir))
            }
            EmailTransportKind::Log => Mailer::Log,
        })
    }

    /// How many messages one worker may have under way at once: one per SMTP connection it
    /// keeps; files and the log take one at a time.
    pub fn parallelism(&self) -> usize {
        match self {
            Mailer::Smtp(smtp) => smtp.max_connections(),
            Mailer::File(_) | Mailer::Log => 1,
        }
    }

    /// Delivers `message`, letting it through the acceptance only while `gate` is ours and
    /// `window` is open.
    pub async fn send(
        &self,
        message: Message,
        email: &Email,
        gate: &Arc<tokio::sync::Mutex<()>>,
        window: &AcceptWindow,
    ) -> Attempt {
        match self {
            Mailer::Smtp(smtp) => smtp.send(&message, gate, window).await,
            Mailer::File(file) => {
                let send = async {
                    file.send(message)
                        .await
                        .map(|_| ())
                        .map_err(|e| SendError::Transient(e.to_string()))
                };
                one_at_a_time(gate, window, send).await
            }
            Mailer::Log => {
                let log = async {
                    // Not the body: its links carry tokens, which never go to a log.
                    tracing::info!(
                        email_id = %email.id,
                        to = %email.to_address,
                        subject = %email.subject,
                        "email (log transport; use the file transport to read messages)"
                    );
                    Ok(())
                };
                one_at_a_time(gate, window, log).await
            }
        }
    }
}

/// A whole send under the gate, for transports without an envelope to open first.
async fn one_at_a_time(
    gate: &Arc<tokio::sync::Mutex<()>>,
    window: &AcceptWindow,
    send: impl std::future::Future<Output = Result<(), SendError>>,
) -> Attempt {
    let held = gate.clone().lock_owned().await;
    if !window.is_open() {
        return Attempt::before_content(SendError::NotAttempted);
    }
    Attempt {
        result: send.await,
        gate: Some(held),
    }
}

/// Builds the MIME message: text and HTML alternatives, plus `invite.ics` when present.
pub fn build_message(email: &Email, from: &Mailbox) -> Result<Message, SendError> {
    let address = email
        .to_address
        .parse()
        .map_err(|e| SendError::Permanent(format!("bad recipient address: {e}")))?;
    let to = Mailbox::new(email.to_name.clone(), address);
    let alternative = MultiPart::alternative()
        .singlepart(SinglePart::plain(email.text_body.clone()))
        .singlepart(SinglePart::html(email.html_body.clone()));
    let body = match &email.ics {
        None => alternative,
        Some(ics) => {
            // The part's method is the calendar's own (RFC 6047).
            let method = ics
                .lines()
                .find_map(|line| line.strip_prefix("METHOD:"))
                .map_or("PUBLISH", str::trim);
            let content_type =
                ContentType::parse(&format!("text/calendar; charset=utf-8; method={method}"))
                    .map_err(|e| SendError::Permanent(format!("calendar content type: {e}")))?;
            MultiPart::mixed().multipart(alternative).singlepart(
                Attachment::new("invite.ics".to_owned()).body(ics.clone(), content_type),
            )
        }
    };
    let mut builder = Message::builder();
    // Replies go to the event's contact. A stored mailbox that no longer parses is left out
    // rather than failing the message.
    if let Some(reply_to) = email.reply_to.as_deref().and_then(|r| r.parse().ok()) {
        builder = builder.reply_to(reply_to);
    }
    builder
        // Stable across attempts: a copy sent again after a crash has the same Message-ID, so
        // mail clients and servers that deduplicate fold it into one.
        .message_id(Some(message_id(email, from)))
        .from(from.clone())
        .to(to)
        .subject(email.subject.clone())
        .multipart(body)
        .map_err(|e| SendError::Permanent(format!("building the message: {e}")))
}

/// `<email id@sender's domain>`: one per outbox row, the same on every attempt.
pub fn message_id(email: &Email, from: &Mailbox) -> String {
    format!("<{}@{}>", email.id, from.email.domain())
}

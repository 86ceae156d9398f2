//! Where messages go: SMTP through lettre's pooled transport (production), `.eml` files in a
//! folder, or the log (local development).

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use crate::config::{EmailSettings, EmailTransportKind};
use crate::mail::outbox::Email;

/// How long one SMTP step (connecting, or one command of a message's transaction) may take.
const SMTP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

pub enum Mailer {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
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
}

impl Mailer {
    pub fn from_settings(settings: &EmailSettings) -> anyhow::Result<Mailer> {
        Ok(match settings.transport {
            EmailTransportKind::Smtp => Mailer::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(settings.smtp_url.expose_secret())
                    // Not the URL itself: it may carry a password.
                    .map_err(|e| anyhow::anyhow!("email.smtp_url is invalid: {e}"))?
                    .timeout(Some(SMTP_TIMEOUT))
                    .pool_config(PoolConfig::new().max_size(settings.smtp_pool_size.max(1)))
                    .build(),
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

    /// Delivers `message`. 5xx answers are permanent; everything else (4xx, a refused or
    /// dropped connection, a timeout, TLS) may pass and is transient.
    pub async fn send(&self, message: Message, email: &Email) -> Result<(), SendError> {
        match self {
            Mailer::Smtp(smtp) => smtp.send(message).await.map(|_| ()).map_err(|e| {
                if e.is_permanent() {
                    SendError::Permanent(e.to_string())
                } else {
                    SendError::Transient(e.to_string())
                }
            }),
            Mailer::File(file) => file
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| SendError::Transient(e.to_string())),
            Mailer::Log => {
                // Not the body: its links carry tokens, which never go to a log.
                tracing::info!(
                    email_id = %email.id,
                    to = %email.to_address,
                    subject = %email.subject,
                    "email (log transport; use the file transport to read messages)"
                );
                Ok(())
            }
        }
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

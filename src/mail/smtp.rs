//! SMTP delivery over connections kept open between messages, with Nagle's algorithm off.
//!
//! Why not lettre's `AsyncSmtpTransport` as it is: lettre 0.11 writes a message's body and its
//! closing `<CRLF>.<CRLF>` as two writes on a socket that has Nagle's algorithm on, so the
//! closing write waits for the server's delayed ACK, about 40 ms on Linux, before it leaves:
//! some 25 messages a second per connection, whatever the server. lettre has no option for
//! `TCP_NODELAY`, but its connection type accepts a socket we open ourselves; everything else
//! (the SMTP conversation, STARTTLS, AUTH, error codes) is lettre's.
//!
//! Implicit TLS (`smtps://`) still goes through lettre's own socket, Nagle included: prefer
//! `smtp://host:587?tls=required` (STARTTLS), which is as secure and gets the fast path.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use lettre::Message;

use crate::mail::transport::{AcceptWindow, Attempt, SendError};

/// lettre's ports: plain SMTP, submission with STARTTLS, submission over implicit TLS.
const SMTP_PORT: u16 = 25;
const SUBMISSION_PORT: u16 = 587;
const SUBMISSIONS_PORT: u16 = 465;

/// An open connection unused for longer is closed rather than reused: servers drop idle
/// clients after a few minutes.
const MAX_IDLE: Duration = Duration::from_secs(60);

#[derive(Clone)]
enum Security {
    None,
    StartTls {
        required: bool,
        params: TlsParameters,
    },
    Implicit(TlsParameters),
}

/// Where and how to connect, from `email.smtp_url` in lettre's URL form:
/// `smtp://[user:password@]host[:port][/ehlo-name][?tls=required|opportunistic]` or
/// `smtps://...`.
struct Endpoint {
    host: String,
    port: u16,
    security: Security,
    hello: ClientId,
    credentials: Option<Credentials>,
}

impl Endpoint {
    fn parse(url: &str) -> anyhow::Result<Endpoint> {
        let url = url::Url::parse(url)?;
        let host = url
            .host_str()
            .ok_or_else(|| anyhow::anyhow!("no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let tls = url
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned());
        let params = || TlsParameters::new(host.clone());
        let (default_port, security) = match (url.scheme(), tls.as_deref()) {
            ("smtp", None) => (SMTP_PORT, Security::None),
            ("smtp", Some(mode @ ("required" | "opportunistic"))) => (
                SUBMISSION_PORT,
                Security::StartTls {
                    required: mode == "required",
                    params: params()?,
                },
            ),
            ("smtps", _) => (SUBMISSIONS_PORT, Security::Implicit(params()?)),
            (scheme, tls) => anyhow::bail!(
                "unknown scheme `{scheme}` or tls parameter {tls:?}: use smtp:// (optionally \
                 with ?tls=required or ?tls=opportunistic) or smtps://"
            ),
        };
        let hello = match url.path().trim_matches('/') {
            "" => ClientId::default(),
            name => ClientId::Domain(name.to_owned()),
        };
        let credentials = match url.password() {
            Some(password) => Some(Credentials::new(
                percent_decode(url.username())?,
                percent_decode(password)?,
            )),
            None => None,
        };
        Ok(Endpoint {
            port: url.port().unwrap_or(default_port),
            host,
            security,
            hello,
            credentials,
        })
    }
}

fn percent_decode(text: &str) -> anyhow::Result<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| anyhow::anyhow!("bad percent-encoding in the credentials"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(String::from_utf8(out)?)
}

struct Idle {
    conn: AsyncSmtpConnection,
    since: Instant,
}

pub struct SmtpMailer {
    endpoint: Endpoint,
    timeout: Duration,
    max_idle_connections: usize,
    idle: Mutex<Vec<Idle>>,
}

impl SmtpMailer {
    pub fn new(url: &str, timeout: Duration, max_idle_connections: u32) -> anyhow::Result<Self> {
        Ok(SmtpMailer {
            endpoint: Endpoint::parse(url)?,
            timeout,
            max_idle_connections: max_idle_connections.max(1) as usize,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// Sends one message over a reused or new connection; each step is bounded by the timeout.
    ///
    /// The envelope (MAIL, RCPT, DATA) goes out at once, in parallel with other messages; the
    /// content, whose final `.` is the server's acceptance, only once `gate` is ours and while
    /// `window` is open. Once the content went out the gate stays held, whatever the answer
    /// (a timeout may hide an acceptance), until the caller has recorded the outcome: at any
    /// moment at most one message may have been accepted without being recorded, so a crash
    /// sends at most one message twice, however many are under way.
    pub async fn send(
        &self,
        message: &Message,
        gate: &Arc<tokio::sync::Mutex<()>>,
        window: &AcceptWindow,
    ) -> Attempt {
        let envelope = message.envelope().clone();
        let bytes = message.formatted();
        let opened = async {
            let mut conn = self.checkout().await?;
            let options = mail_options(&conn, &envelope, &bytes)?;
            self.bounded(open_transaction(&mut conn, &envelope, options))
                .await?;
            Ok(conn)
        };
        let mut conn = match opened.await {
            Ok(conn) => conn,
            Err(e) => return Attempt::before_content(e),
        };
        let held = gate.clone().lock_owned().await;
        if !window.is_open() {
            // Dropping the connection in the middle of DATA abandons the transaction.
            return Attempt::before_content(SendError::NotAttempted);
        }
        let result = self.bounded(conn.message(&bytes)).await.map(|_| ());
        if result.is_ok() {
            self.checkin(conn);
        }
        Attempt {
            result,
            gate: Some(held),
        }
    }

    /// One step under the timeout. After an error or a timeout the connection is dropped, which
    /// closes its socket without waiting on the server.
    async fn bounded<T>(
        &self,
        step: impl std::future::Future<Output = Result<T, lettre::transport::smtp::Error>>,
    ) -> Result<T, SendError> {
        match tokio::time::timeout(self.timeout, step).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(e)) => Err(classify(e)),
            Err(_) => Err(SendError::Transient(format!(
                "the SMTP server did not answer within {:?}",
                self.timeout
            ))),
        }
    }

    pub fn max_connections(&self) -> usize {
        self.max_idle_connections
    }

    fn take_idle(&self) -> Option<Idle> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop()
    }

    fn checkin(&self, conn: AsyncSmtpConnection) {
        if conn.has_broken() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < self.max_idle_connections {
            idle.push(Idle {
                conn,
                since: Instant::now(),
            });
        }
    }

    async fn checkout(&self) -> Result<AsyncSmtpConnection, SendError> {
        while let Some(Idle { mut conn, since }) = self.take_idle() {
            // A NOOP first: a connection the server has closed must not take a message down.
            if since.elapsed() < MAX_IDLE
                && tokio::time::timeout(self.timeout, conn.test_connected())
                    .await
                    .unwrap_or(false)
            {
                return Ok(conn);
            }
        }
        match tokio::time::timeout(self.timeout, self.connect()).await {
            Ok(result) => result,
            Err(_) => Err(SendError::Transient(format!(
                "could not connect to the SMTP server within {:?}",
                self.timeout
            ))),
        }
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
        let Endpoint {
            host,
            port,
            security,
            hello,
            credentials,
        } = &self.endpoint;
        let mut conn = match security {
            Security::Implicit(params) => AsyncSmtpConnection::connect_tokio1(
                (host.as_str(), *port),
                Some(self.timeout),
                hello,
                Some(params.clone()),
                None,
            )
            .await
            .map_err(classify)?,
            Security::None | Security::StartTls { .. } => {
                let socket = tokio::net::TcpStream::connect((host.as_str(), *port))
                    .await
                    .map_err(|e| {
                        SendError::Transient(format!("connecting to {host}:{port}: {e}"))
                    })?;
                socket
                    .set_nodelay(true)
                    .map_err(|e| SendError::Transient(format!("setting TCP_NODELAY: {e}")))?;
                AsyncSmtpConnection::connect_with_transport(Box::new(socket), hello)
                    .await
                    .map_err(classify)?
            }
        };
        if let Security::StartTls { required, params } = security {
            if conn.can_starttls() {
                conn.starttls(params.clone(), hello)
                    .await
                    .map_err(classify)?;
            } else if *required {
                conn.abort().await;
                return Err(SendError::Transient(format!(
                    "{host}:{port} does not offer STARTTLS, which email.smtp_url requires"
                )));
            }
        }
        if let Some(credentials) = credentials {
            conn.auth(DEFAULT_MECHANISMS, credentials)
                .await
                .map_err(classify)?;
        }
        Ok(conn)
    }
}

/// The MAIL parameters lettre's own `send` would ask for: SMTPUTF8 for non-ASCII addresses,
/// 8BITMIME for a non-ASCII body; a permanent error when the server offers neither.
fn mail_options(
    conn: &AsyncSmtpConnection,
    envelope: &Envelope,
    content: &[u8],
) -> Result<Vec<MailParameter>, SendError> {
    let offers = |extension| conn.server_info().supports_feature(extension);
    let mut options = Vec::new();
    let addresses_ascii = envelope
        .from()
        .into_iter()
        .chain(envelope.to())
        .all(|a| AsRef::<str>::as_ref(a).is_ascii());
    if !addresses_ascii {
        if !offers(Extension::SmtpUtfEight) {
            return Err(SendError::Permanent(
                "the address is not ASCII and the SMTP server does not offer SMTPUTF8".to_owned(),
            ));
        }
        options.push(MailParameter::SmtpUtfEight);
    }
    if !content.is_ascii() {
        if !offers(Extension::EightBitMime) {
            return Err(SendError::Permanent(
                "the message is not ASCII and the SMTP server does not offer 8BITMIME".to_owned(),
            ));
        }
        options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    Ok(options)
}

/// MAIL, RCPT and DATA for `envelope`; the content follows.
async fn open_transaction(
    conn: &mut AsyncSmtpConnection,
    envelope: &Envelope,
    options: Vec<MailParameter>,
) -> Result<(), lettre::transport::smtp::Error> {
    conn.command(Mail::new(envelope.from().cloned(), options))
        .await?;
    for to in envelope.to() {
        conn.command(Rcpt::new(to.clone(), Vec::new())).await?;
    }
    conn.command(Data).await?;
    Ok(())
}

/// 5xx answers are final; everything else (4xx, a refused or dropped connection, a timeout,
/// TLS) may pass.
fn classify(e: lettre::transport::smtp::Error) -> SendError {
    if e.is_permanent() {
        SendError::Permanent(e.to_string())
    } else {
        SendError::Transient(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lettre_urls() {
        let e = Endpoint::parse("smtp://127.0.0.1:2525").expect("plain");
        assert_eq!((e.host.as_str(), e.port), ("127.0.0.1", 2525));
        assert!(matches!(e.security, Security::None));
        assert!(e.credentials.is_none());

        let e = Endpoint::parse("smtp://us%40er:p%2Fss@mail.example.org?tls=required")
            .expect("starttls");
        assert_eq!(e.port, SUBMISSION_PORT);
        assert!(matches!(
            e.security,
            Security::StartTls { required: true, .. }
        ));
        assert_eq!(
            e.credentials,
            Some(Credentials::new("us@er".to_owned(), "p/ss".to_owned()))
        );

        let e = Endpoint::parse("smtps://mail.example.org/convene.example.org").expect("smtps");
        assert_eq!(e.port, SUBMISSIONS_PORT);
        assert!(matches!(e.security, Security::Implicit(_)));
        assert_eq!(e.hello, ClientId::Domain("convene.example.org".to_owned()));

        assert!(Endpoint::parse("http://mail.example.org").is_err());
        assert!(Endpoint::parse("smtp://mail.example.org?tls=maybe").is_err());
    }
}

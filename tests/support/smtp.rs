//! A small, real, in-process SMTP server for integration tests.
//!
//! It runs on the test's tokio runtime, listens on `127.0.0.1` with a random
//! port and speaks just enough plain SMTP (no TLS, no AUTH) for lettre's
//! pooled `AsyncSmtpTransport<Tokio1Executor>`. Every accepted message is kept
//! in memory so tests can read it back, and faults can be injected with
//! [`SmtpServer::set_mode`].
//!
//! ```ignore
//! let smtp = SmtpServer::start().await;
//! // configure the app with smtp.url() ...
//! let mails = smtp.wait_for(1, Duration::from_secs(10)).await;
//! assert_eq!(mails[0].subject(), "Welcome");
//! let link = mails[0].first_link("http://localhost/verify").expect("link");
//! ```
#![allow(dead_code)]

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use mail_parser::{HeaderName, HeaderValue, Message, MessageParser, MimeHeaders};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// Longest command or DATA line accepted before the connection is dropped.
const MAX_LINE_BYTES: u64 = 1024 * 1024;
/// Sent to every client accepted outside [`Mode::Down`].
const GREETING: &str = "220 127.0.0.1 ESMTP convene-test-smtp ready\r\n";
/// Largest message accepted before the connection is dropped.
const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// How the server treats connections and transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Normal operation: every message is accepted.
    Accept,
    /// The server looks down: new connections are accepted and closed at once
    /// without a greeting, and any command on an existing connection makes the
    /// server close it without answering.
    Down,
    /// The next `n` transactions are answered `451 4.3.0 Try again later` at
    /// MAIL FROM; after that the mode goes back to [`Mode::Accept`] by itself.
    TempFail(u32),
    /// Every transaction is answered `550 5.1.1 Mailbox unavailable` at MAIL
    /// FROM until the mode is changed.
    PermFail,
}

/// One message the server accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMail {
    /// Envelope sender (MAIL FROM), without angle brackets; empty for `<>`.
    pub from: String,
    /// Envelope recipients (RCPT TO), without angle brackets.
    pub to: Vec<String>,
    /// The message as sent after DATA, dot-stuffing undone.
    pub raw: String,
}

#[derive(Debug)]
struct State {
    mode: Mode,
    messages: Vec<ReceivedMail>,
    attempts: usize,
    connections: usize,
    /// Pause between storing a message and answering `250` to it.
    delay: Duration,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    /// Number of messages stored so far; `wait_for` subscribes to it.
    count: watch::Sender<usize>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not take the server down with it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn mode(&self) -> Mode {
        self.lock().mode
    }
}

/// The in-process SMTP server. Dropping it stops the accept loop and closes
/// every open connection.
#[derive(Debug)]
pub struct SmtpServer {
    shared: Arc<Shared>,
    port: u16,
    accept_task: JoinHandle<()>,
}

impl SmtpServer {
    /// Binds `127.0.0.1:0` and spawns the accept loop on the current runtime.
    pub async fn start() -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("test SMTP server: bind 127.0.0.1:0");
        let port = listener
            .local_addr()
            .expect("test SMTP server: local_addr")
            .port();
        let (count, _) = watch::channel(0usize);
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                mode: Mode::Accept,
                messages: Vec::new(),
                attempts: 0,
                connections: 0,
                delay: Duration::ZERO,
            }),
            count,
        });
        let accept_task = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        SmtpServer {
            shared,
            port,
            accept_task,
        }
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `smtp://127.0.0.1:{port}`: a plain (no TLS) URL for lettre's `from_url`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Changes how the server behaves from now on, on new and open connections.
    pub fn set_mode(&self, mode: Mode) {
        self.shared.lock().mode = mode;
    }

    /// Makes the server slow: after storing each message it waits `delay` before answering
    /// `250`. That is the window in which a client killed mid-send has delivered a message
    /// without learning it, so fault tests use it to make kills land there.
    pub fn set_delay(&self, delay: Duration) {
        self.shared.lock().delay = delay;
    }

    /// Envelope recipients of every message accepted so far, in arrival order (one entry per
    /// recipient per message).
    pub fn recipients(&self) -> Vec<String> {
        self.shared
            .lock()
            .messages
            .iter()
            .flat_map(|m| m.to.iter().map(|t| t.to_ascii_lowercase()))
            .collect()
    }

    /// The current mode (a `TempFail(n)` counts down as transactions fail).
    pub fn mode(&self) -> Mode {
        self.shared.mode()
    }

    /// Every delivery attempt seen: the number of MAIL FROM commands, however
    /// they were answered. Connections dropped in [`Mode::Down`] never get
    /// that far; see [`SmtpServer::connections`] for those.
    pub fn attempts(&self) -> usize {
        self.shared.lock().attempts
    }

    /// Number of TCP connections accepted so far, including the ones closed
    /// at once in [`Mode::Down`].
    pub fn connections(&self) -> usize {
        self.shared.lock().connections
    }

    /// Number of messages accepted so far (cheaper than `messages().len()`).
    pub fn count(&self) -> usize {
        self.shared.lock().messages.len()
    }

    /// All messages accepted so far, in arrival order.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        self.shared.lock().messages.clone()
    }

    /// Messages with `addr` among their envelope recipients (case-insensitive).
    pub fn messages_to(&self, addr: &str) -> Vec<ReceivedMail> {
        let addr = strip_brackets(addr.trim());
        self.shared
            .lock()
            .messages
            .iter()
            .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(addr)))
            .cloned()
            .collect()
    }

    /// Forgets the messages received so far (attempt and connection counters
    /// are kept).
    pub fn clear(&self) {
        self.shared.lock().messages.clear();
        self.shared.count.send_replace(0);
    }

    /// Waits until at least `n` messages have arrived and returns all of them.
    /// Panics, listing what did arrive, if `timeout` passes first.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<ReceivedMail> {
        let mut rx = self.shared.count.subscribe();
        let reached = tokio::time::timeout(timeout, rx.wait_for(|count| *count >= n)).await;
        let messages = self.messages();
        match reached {
            Ok(Ok(_)) if messages.len() >= n => messages,
            _ => panic!(
                "test SMTP server: expected at least {n} message(s) within {timeout:?}, \
                 got {} (mode {:?}, {} attempt(s), {} connection(s)):\n{}",
                messages.len(),
                self.mode(),
                self.attempts(),
                self.connections(),
                describe(&messages),
            ),
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        // The connection tasks live in a JoinSet owned by the accept task, so
        // aborting it closes the listener and every open connection.
        self.accept_task.abort();
    }
}

fn describe(messages: &[ReceivedMail]) -> String {
    if messages.is_empty() {
        return "  (none)".to_string();
    }
    messages
        .iter()
        .enumerate()
        .map(|(i, m)| {
            format!(
                "  #{i}: from <{}> to {:?} subject {:?}",
                m.from,
                m.to,
                m.subject()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let down = {
                        let mut state = shared.lock();
                        state.connections += 1;
                        state.mode == Mode::Down
                    };
                    if down {
                        // Close at once, without a greeting.
                        drop(stream);
                        continue;
                    }
                    connections.spawn(handle_connection(stream, Arc::clone(&shared)));
                }
                // E.g. too many open files: back off a little and go on.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            // Reap finished connection tasks so the set does not grow forever.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Reads one line (up to and including `\n`). `None` on EOF, I/O error, or a
/// line longer than [`MAX_LINE_BYTES`].
async fn read_line<R: AsyncRead + Unpin>(reader: &mut BufReader<R>) -> Option<Vec<u8>> {
    let mut line = Vec::new();
    match (&mut *reader)
        .take(MAX_LINE_BYTES)
        .read_until(b'\n', &mut line)
        .await
    {
        Ok(0) | Err(_) => None,
        Ok(_) if line.last() != Some(&b'\n') => None,
        Ok(_) => Some(line),
    }
}

/// Writes a reply; `false` if the client has gone.
async fn reply<W: AsyncWrite + Unpin>(writer: &mut W, text: &str) -> bool {
    writer.write_all(text.as_bytes()).await.is_ok() && writer.flush().await.is_ok()
}

/// Reads DATA content up to the `.` line, undoing dot-stuffing. `None` if the
/// client went away (or sent too much) before the end.
async fn read_data<R: AsyncRead + Unpin>(reader: &mut BufReader<R>) -> Option<Vec<u8>> {
    let mut data = Vec::new();
    loop {
        let line = read_line(reader).await?;
        if line == b".\r\n" || line == b".\n" {
            return Some(data);
        }
        let content = if line.first() == Some(&b'.') {
            &line[1..]
        } else {
            &line[..]
        };
        if data.len() + content.len() > MAX_MESSAGE_BYTES {
            return None;
        }
        data.extend_from_slice(content);
    }
}

/// The address inside `<...>` of a `MAIL FROM:` / `RCPT TO:` argument, or
/// `None` if `args` does not start with `prefix` (case-insensitive).
fn path_arg(args: &str, prefix: &str) -> Option<String> {
    let head = args.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = args[prefix.len()..].trim_start();
    let path = if let Some(inner) = rest.strip_prefix('<') {
        inner.split('>').next().unwrap_or_default()
    } else {
        rest.split_whitespace().next().unwrap_or_default()
    };
    Some(path.trim().to_string())
}

fn strip_brackets(addr: &str) -> &str {
    addr.strip_prefix('<')
        .and_then(|a| a.strip_suffix('>'))
        .unwrap_or(addr)
}

async fn handle_connection(stream: TcpStream, shared: Arc<Shared>) {
    let (read_half, mut writer) = stream.into_split();
    let mut reader = BufReader::new(read_half);

    if !reply(&mut writer, GREETING).await {
        return;
    }

    let mut from: Option<String> = None;
    let mut to: Vec<String> = Vec::new();

    loop {
        let Some(line) = read_line(&mut reader).await else {
            return;
        };
        if shared.mode() == Mode::Down {
            return;
        }
        let line = String::from_utf8_lossy(&line);
        let line = line.trim_end_matches(['\r', '\n']);
        let (verb, args) = match line.split_once(' ') {
            Some((verb, args)) => (verb, args.trim()),
            None => (line, ""),
        };

        let response: &str = match verb.to_ascii_uppercase().as_str() {
            "EHLO" => {
                from = None;
                to.clear();
                "250-127.0.0.1 greets you\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 PIPELINING\r\n"
            }
            "HELO" => {
                from = None;
                to.clear();
                "250 127.0.0.1\r\n"
            }
            "MAIL" => {
                let outcome = {
                    let mut state = shared.lock();
                    state.attempts += 1;
                    match state.mode {
                        Mode::TempFail(n) if n > 0 => {
                            state.mode = if n == 1 {
                                Mode::Accept
                            } else {
                                Mode::TempFail(n - 1)
                            };
                            Some("451 4.3.0 Try again later\r\n")
                        }
                        Mode::TempFail(_) => {
                            state.mode = Mode::Accept;
                            None
                        }
                        Mode::PermFail => Some("550 5.1.1 Mailbox unavailable\r\n"),
                        Mode::Accept | Mode::Down => None,
                    }
                };
                match (outcome, path_arg(args, "FROM:")) {
                    (Some(failure), _) => {
                        from = None;
                        to.clear();
                        failure
                    }
                    (None, Some(sender)) => {
                        from = Some(sender);
                        to.clear();
                        "250 2.1.0 Ok\r\n"
                    }
                    (None, None) => "501 5.5.4 Syntax: MAIL FROM:<address>\r\n",
                }
            }
            "RCPT" => match (&from, path_arg(args, "TO:")) {
                (None, _) => "503 5.5.1 Error: need MAIL command\r\n",
                (Some(_), Some(rcpt)) if !rcpt.is_empty() => {
                    to.push(rcpt);
                    "250 2.1.5 Ok\r\n"
                }
                (Some(_), _) => "501 5.5.4 Syntax: RCPT TO:<address>\r\n",
            },
            "DATA" => {
                if from.is_none() {
                    "503 5.5.1 Error: need MAIL command\r\n"
                } else if to.is_empty() {
                    "503 5.5.1 Error: need RCPT command\r\n"
                } else {
                    if !reply(&mut writer, "354 End data with <CR><LF>.<CR><LF>\r\n").await {
                        return;
                    }
                    let Some(data) = read_data(&mut reader).await else {
                        return;
                    };
                    if shared.mode() == Mode::Down {
                        return;
                    }
                    let mail = ReceivedMail {
                        from: from.take().unwrap_or_default(),
                        to: std::mem::take(&mut to),
                        raw: String::from_utf8_lossy(&data).into_owned(),
                    };
                    let (count, delay) = {
                        let mut state = shared.lock();
                        state.messages.push(mail);
                        (state.messages.len(), state.delay)
                    };
                    shared.count.send_replace(count);
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    "250 2.0.0 Ok: queued\r\n"
                }
            }
            "RSET" => {
                from = None;
                to.clear();
                "250 2.0.0 Ok\r\n"
            }
            "NOOP" => "250 2.0.0 Ok\r\n",
            "VRFY" => "252 2.0.0 Cannot VRFY user\r\n",
            "QUIT" => {
                let _ = reply(&mut writer, "221 2.0.0 Bye\r\n").await;
                let _ = writer.shutdown().await;
                return;
            }
            _ => "502 5.5.2 Error: command not recognized\r\n",
        };
        if !reply(&mut writer, response).await {
            return;
        }
    }
}

impl ReceivedMail {
    fn parsed(&self) -> Message<'_> {
        MessageParser::default()
            .parse(self.raw.as_bytes())
            .expect("test SMTP server: received message could not be parsed")
    }

    /// The decoded Subject, or an empty string.
    pub fn subject(&self) -> String {
        self.parsed().subject().unwrap_or_default().to_string()
    }

    /// The decoded text/plain body, or an empty string if there is none.
    pub fn text_body(&self) -> String {
        let message = self.parsed();
        message
            .text_part(0)
            .filter(|part| !part.is_text_html())
            .and_then(|part| part.text_contents())
            .unwrap_or_default()
            .to_string()
    }

    /// The decoded text/html body, or an empty string if there is none.
    pub fn html_body(&self) -> String {
        let message = self.parsed();
        message
            .html_part(0)
            .filter(|part| part.is_text_html())
            .and_then(|part| part.text_contents())
            .unwrap_or_default()
            .to_string()
    }

    /// A top-level header by name (case-insensitive). Unstructured headers
    /// (Subject, custom `X-...` headers) are RFC 2047-decoded; structured ones
    /// (addresses, dates, Message-ID, Content-Type, List-*) come back as sent,
    /// unfolded and trimmed.
    pub fn header(&self, name: &str) -> Option<String> {
        let message = self.parsed();
        let header_name = HeaderName::from(name);
        let value = message.header(header_name.clone())?;
        let is_id = matches!(
            header_name,
            HeaderName::MessageId
                | HeaderName::InReplyTo
                | HeaderName::References
                | HeaderName::ResentMessageId
        );
        let decoded = match value {
            HeaderValue::Text(text) if !is_id => Some(text.to_string()),
            HeaderValue::TextList(list) if !is_id => Some(
                list.iter()
                    .map(|t| t.as_ref())
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            _ => None,
        };
        decoded.or_else(|| {
            message
                .header_raw(header_name)
                .map(|raw| raw.replace(['\r', '\n'], "").trim().to_string())
        })
    }

    /// The attachments as `(content type, decoded content)`, e.g.
    /// `("text/calendar", "BEGIN:VCALENDAR...")`. The content type has no
    /// parameters and is lowercase; binary content is decoded lossily as UTF-8.
    pub fn attachments(&self) -> Vec<(String, String)> {
        let message = self.parsed();
        message
            .attachments()
            .map(|part| {
                let content_type = part
                    .content_type()
                    .map(|ct| match &ct.c_subtype {
                        Some(sub) => format!("{}/{}", ct.c_type, sub),
                        None => ct.c_type.to_string(),
                    })
                    .unwrap_or_else(|| "application/octet-stream".to_string())
                    .to_ascii_lowercase();
                let content = match part.text_contents() {
                    Some(text) => text.to_string(),
                    None => String::from_utf8_lossy(part.contents()).into_owned(),
                };
                (content_type, content)
            })
            .collect()
    }

    /// The full Content-Type of each attachment, parameters included and lowercased, e.g.
    /// `text/calendar; charset=utf-8; method=request`.
    pub fn attachment_content_types(&self) -> Vec<String> {
        let message = self.parsed();
        message
            .attachments()
            .map(|part| match part.content_type() {
                None => "application/octet-stream".to_string(),
                Some(ct) => {
                    let mut full = match &ct.c_subtype {
                        Some(sub) => format!("{}/{}", ct.c_type, sub),
                        None => ct.c_type.to_string(),
                    };
                    for (key, value) in ct.attributes().unwrap_or_default() {
                        full.push_str(&format!("; {key}={value}"));
                    }
                    full.to_ascii_lowercase()
                }
            })
            .collect()
    }

    /// The first URL in the text body that starts with `prefix`, ending at
    /// whitespace, `>`, `<`, `"`, `'` or `)`. Falls back to the HTML body
    /// (with `&amp;` decoded) when the text body has no such URL.
    pub fn first_link(&self, prefix: &str) -> Option<String> {
        fn find(body: &str, prefix: &str) -> Option<String> {
            if prefix.is_empty() {
                return None;
            }
            let start = body.find(prefix)?;
            let rest = &body[start..];
            let end = rest
                .find(|c: char| c.is_whitespace() || matches!(c, '>' | '<' | '"' | '\'' | ')'))
                .unwrap_or(rest.len());
            Some(rest[..end].to_string())
        }
        find(&self.text_body(), prefix)
            .or_else(|| find(&self.html_body(), prefix).map(|url| url.replace("&amp;", "&")))
    }
}

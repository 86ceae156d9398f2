//! Every email is one `EmailBody` rendered through the shared layout into a text part and an
//! HTML part (auto-escaped), so all messages look alike and no user text can inject markup.

use askama::Template;

/// The greeting of an email to an address nobody has proved (a registration to confirm, an
/// account to verify, a password reset): the name that came with the address was typed by
/// whoever asked, perhaps not its owner, so it is not repeated to the address.
pub const UNPROVED_GREETING: &str = "Hello,";

/// What an email says; `compose` turns it into a subject, a text part and an HTML part.
#[derive(Debug, Clone, Default)]
pub struct EmailBody {
    pub subject: String,
    /// "Dear Prof. Hoshino,"
    pub greeting: String,
    pub paragraphs: Vec<String>,
    /// Label/value lines such as "When: Fri 18 Feb 2022, 10:00–12:00 (Asia/Tokyo)".
    pub details: Vec<(String, String)>,
    /// The one thing to do, as a button in HTML and a bare link in text.
    pub action: Option<EmailAction>,
    /// Links the message offers besides its action (joining online, cancelling), each a
    /// sentence (`label`) ending in its URL: a link in HTML that wraps on a narrow screen, the
    /// bare URL in text. Only URLs Convene made: never text anyone typed.
    pub links: Vec<EmailAction>,
    /// Small print after the signature.
    pub footer: Vec<String>,
    /// Whom to write to about the message's event, after the footer (set with the Reply-To by
    /// [`crate::mail::OutgoingEmail::contact`]).
    pub contact: Option<Contact>,
}

/// A person to write to: an event's contact, named by its staff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub name: String,
    pub email: String,
}

impl Contact {
    /// "Name <address>", quoted as RFC 5322 needs (the Reply-To header); None when the address
    /// does not parse, which the events' validation rules out.
    pub fn mailbox(&self) -> Option<String> {
        let address = self.email.parse().ok()?;
        Some(lettre::message::Mailbox::new(Some(self.name.clone()), address).to_string())
    }
}

#[derive(Debug, Clone)]
pub struct EmailAction {
    pub label: String,
    pub url: String,
}

pub struct RenderedEmail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Template)]
#[template(path = "email/layout.txt", escape = "none")]
struct TextLayout<'a> {
    body: &'a EmailBody,
}

#[derive(Template)]
#[template(path = "email/layout.html")]
struct HtmlLayout<'a> {
    body: &'a EmailBody,
}

impl EmailBody {
    pub fn render(&self) -> anyhow::Result<RenderedEmail> {
        // A greeting holds a name, and names may have been typed by anyone: never a link.
        let body = &EmailBody {
            greeting: inert(&self.greeting),
            ..self.clone()
        };
        Ok(RenderedEmail {
            subject: self.subject.replace(['\r', '\n'], " "),
            text: TextLayout { body }.render()?,
            html: HtmlLayout { body }.render()?,
        })
    }
}

/// Text typed by someone nobody vouches for, made safe to show in an email: no mail client
/// turns it into a link. A URL's `://` becomes `[:]//` and a dot between two letters or digits
/// `[.]` ("phish.example" reads "phish[.]example", an address "a@b[.]org"), the way security
/// teams quote hostile links; prose ("Dr. Ito", "U.N. Office" aside) is left as it was.
pub fn inert(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        let before = i.checked_sub(1).and_then(|j| chars.get(j));
        let after = chars.get(i + 1);
        match c {
            '.' if before.is_some_and(|b| b.is_alphanumeric())
                && after.is_some_and(|a| a.is_alphanumeric()) =>
            {
                out.push_str("[.]")
            }
            ':' if chars.get(i + 1..i + 3) == Some(&['/', '/']) => out.push_str("[:]"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_user_text() {
        let body = EmailBody {
            subject: "Hi".into(),
            greeting: "Dear <script>alert(1)</script>,".into(),
            paragraphs: vec!["a & b".into()],
            ..Default::default()
        };
        let rendered = body.render().expect("renders");
        assert!(rendered.html.contains("&lt;script&gt;"));
        assert!(rendered.text.contains("<script>"));
    }

    #[test]
    fn inert_text_holds_no_link_and_keeps_prose() {
        assert_eq!(
            inert("Visit http://phish.example/login now"),
            "Visit http[:]//phish[.]example/login now"
        );
        assert_eq!(inert("www.evil.org"), "www[.]evil[.]org");
        assert_eq!(inert("mori@example.org"), "mori@example[.]org");
        assert_eq!(inert("Dr. Ito, Prof. Ono."), "Dr. Ito, Prof. Ono.");
        assert_eq!(inert("ok: yes / no"), "ok: yes / no");
        let rendered = EmailBody {
            greeting: "Dear Visit https://phish.example,".into(),
            ..Default::default()
        }
        .render()
        .expect("renders");
        assert!(!rendered.text.contains("https://phish.example"));
        assert!(!rendered.html.contains("https://phish.example"));
    }

    #[test]
    fn links_and_the_contact_are_anchors_in_html_and_bare_in_text() {
        let url = "https://convene.example/registrations/1/cancel?token=abc&x=1";
        let rendered = EmailBody {
            greeting: "Dear https://phish.example,".into(),
            links: vec![EmailAction {
                label: "Can't come? Cancel here".into(),
                url: url.into(),
            }],
            contact: Some(Contact {
                name: "Yuki Sato".into(),
                email: "sato@example.org".into(),
            }),
            ..Default::default()
        }
        .render()
        .expect("renders");
        assert!(rendered.html.contains(
            "<a href=\"https://convene.example/registrations/1/cancel?token=abc&amp;x=1\""
        ));
        assert!(rendered.html.contains("word-break:break-all"));
        assert!(rendered
            .html
            .contains("<a href=\"mailto:sato@example.org\""));
        assert!(rendered
            .text
            .contains(&format!("Can't come? Cancel here: {url}")));
        assert!(rendered
            .text
            .contains("Write to Yuki Sato at sato@example.org"));
        assert_eq!(rendered.html.matches("<a ").count(), 2, "{}", rendered.html);
        assert_eq!(
            Contact {
                name: "Sato, Yuki".into(),
                email: "sato@example.org".into()
            }
            .mailbox()
            .as_deref(),
            Some("\"Sato, Yuki\" <sato@example.org>")
        );
    }
}

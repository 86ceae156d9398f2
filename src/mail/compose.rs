//! Every email is one `EmailBody` rendered through the shared layout into a text part and an
//! HTML part (auto-escaped), so all messages look alike and no user text can inject markup.

use askama::Template;

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
    /// Small print after the signature, e.g. how to cancel.
    pub footer: Vec<String>,
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
        Ok(RenderedEmail {
            subject: self.subject.replace(['\r', '\n'], " "),
            text: TextLayout { body: self }.render()?,
            html: HtmlLayout { body: self }.render()?,
        })
    }
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
}

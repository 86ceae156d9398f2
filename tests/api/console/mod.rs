//! The console over HTTP, as a browser without JavaScript uses it: a cookie jar, form posts
//! from Convene's own origin, the CSRF token read from the page.

mod audit;
mod browser;
mod dialogues;
mod import;
mod invitations;
mod invitations_browser;
mod organizations;
mod people;
mod reports;
mod setup;
mod setup_browser;
mod sign_in;

use reqwest::{Response, StatusCode};

use crate::support::TestApp;

pub const PASSWORD: &str = "correct horse battery staple";

/// A browser without JavaScript: keeps cookies, follows no redirect on its own, and sends the
/// `Origin` of Convene's pages with every form.
pub struct Visitor {
    client: reqwest::Client,
    base: String,
    origin: String,
}

impl Visitor {
    pub fn new(app: &TestApp) -> Visitor {
        Visitor {
            client: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            base: app.address.clone(),
            origin: convene::auth::csrf::origin_of(app.settings.public_url()),
        }
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET sent")
    }

    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        self.client
            .post(format!("{}{path}", self.base))
            .header("origin", &self.origin)
            .form(fields)
            .send()
            .await
            .expect("POST sent")
    }

    /// A form posted from another site's page: its `Origin` is `origin`.
    pub async fn post_from(&self, origin: &str, path: &str, fields: &[(&str, &str)]) -> Response {
        self.client
            .post(format!("{}{path}", self.base))
            .header("origin", origin)
            .form(fields)
            .send()
            .await
            .expect("POST sent")
    }

    /// A `multipart/form-data` form, as a browser posts a form with a file input: `fields`,
    /// then the file `content` named `file_name` in the field `file_field`.
    pub async fn upload(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        file_field: &str,
        file_name: &str,
        content: &[u8],
    ) -> Response {
        let boundary = "----convene-test-boundary-7MA4YWxkTrZu0gW";
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        }
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{file_field}\"; filename=\"{file_name}\"\r\nContent-Type: text/csv\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(content);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        self.client
            .post(format!("{}{path}", self.base))
            .header("origin", &self.origin)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .await
            .expect("upload sent")
    }

    /// Signs in through the sign-in page; answers where it sent the visitor.
    pub async fn sign_in(&self, email: &str) -> String {
        let res = self
            .post("/login", &[("email", email), ("password", PASSWORD)])
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "sign-in of {email}");
        location(&res)
    }

    /// The page at `path` (200 expected) and the CSRF token of its forms.
    pub async fn page(&self, path: &str) -> (String, String) {
        let res = self.get(path).await;
        let status = res.status();
        let body = res.text().await.expect("body");
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        let token = csrf_of(&body).unwrap_or_default();
        (body, token)
    }
}

pub fn location(res: &Response) -> String {
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("a Location header")
        .to_owned()
}

/// The value of the first field named `name` of a page, as the browser would send it.
pub fn field_value(body: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body.find(&marker)? + marker.len();
    let end = body[start..].find('"')?;
    Some(
        body[start..start + end]
            .replace("&quot;", "\"")
            .replace("&#x27;", "'")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&#x2f;", "/")
            .replace("&amp;", "&"),
    )
}

/// The value of the first `csrf_token` hidden field of a page, if it has one.
pub fn csrf_of(body: &str) -> Option<String> {
    let marker = "name=\"csrf_token\" value=\"";
    let start = body.find(marker)? + marker.len();
    let end = body[start..].find('"')?;
    Some(body[start..start + end].to_owned())
}

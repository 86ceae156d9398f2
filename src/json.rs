//! JSON request bodies that refuse keys nobody reads: a typo such as `application_note` for
//! `note` must be a 422 naming it, never a 201 that silently dropped what the client sent.
//! serde's `deny_unknown_fields` stops at the first unknown key; this names every one.

use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;

use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use crate::error::{AppError, FieldError};

/// Use instead of `web::Json` for request bodies. The body limit, the content type and
/// malformed JSON are handled as for `web::Json` (the app's `JsonConfig`).
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Json<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let value = web::Json::<serde_json::Value>::from_request(req, payload);
        Box::pin(async move {
            let value = value.await?.into_inner();
            parse(value).map(Json).map_err(Into::into)
        })
    }
}

/// Reads `value` as a `T`, naming every key `T` does not have, and the first other problem.
pub fn parse<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, AppError> {
    let mut unknown = Vec::new();
    let parsed: Result<T, _> = serde_ignored::deserialize(value, |path| {
        unknown.push(FieldError::new(field_path(&path), "is not a known field"));
    });
    let mut errors = unknown;
    match parsed {
        Ok(parsed) if errors.is_empty() => return Ok(parsed),
        Ok(_) => {}
        Err(e) => errors.push(data_error(&e)),
    }
    Err(AppError::Validation(errors))
}

/// A serde error as a field error: the field its message names (`missing field `name``), else
/// the body as a whole.
pub fn data_error(e: &serde_json::Error) -> FieldError {
    let message = e.to_string();
    let field = message
        .split('`')
        .nth(1)
        .filter(|_| message.contains("field"))
        .unwrap_or("body")
        .to_owned();
    FieldError::new(field, message)
}

/// `invitees[3].email`, the form every field path of a problem takes.
fn field_path(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", field_path(parent)),
        Path::Map { parent, key } => {
            let parent = field_path(parent);
            if parent.is_empty() {
                key.clone()
            } else {
                format!("{parent}.{key}")
            }
        }
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => field_path(parent),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    #[expect(dead_code, reason = "parsed only")]
    struct Invitee {
        email: String,
    }

    #[derive(Debug, Deserialize)]
    #[expect(dead_code, reason = "parsed only")]
    struct Request {
        message: Option<String>,
        invitees: Vec<Invitee>,
    }

    fn fields(err: AppError) -> Vec<String> {
        match err {
            AppError::Validation(errors) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("not a validation error: {other:?}"),
        }
    }

    #[test]
    fn every_unknown_key_is_named_with_its_path() {
        let err = parse::<Request>(json!({
            "mesage": "hello",
            "invitees": [{"email": "a@example.org"}, {"email": "b@example.org", "nmae": "B"}],
            "expiry": "soon"
        }))
        .expect_err("unknown keys");
        let mut named = fields(err);
        named.sort();
        assert_eq!(named, ["expiry", "invitees[1].nmae", "mesage"]);
    }

    #[test]
    fn known_keys_parse() {
        let parsed = parse::<Request>(json!({"invitees": []})).expect("parses");
        assert!(parsed.invitees.is_empty());
    }

    #[test]
    fn a_missing_field_is_named_beside_unknown_ones() {
        let err = parse::<Request>(json!({"extra": 1})).expect_err("invalid");
        assert_eq!(fields(err), ["extra", "invitees"]);
    }
}

//! The text and id fields of the dialogue requests, each parsed once: trimmed, bounded,
//! free of control characters a field does not allow, or filed as an error under its name.

use uuid::Uuid;

use crate::error::Validator;
use crate::text::{check_characters, Lines};

/// A trimmed optional text: empty means absent; longer than `max` characters, or a control
/// character `lines` does not allow, is an error.
pub(crate) fn optional_text(
    v: &mut Validator,
    field: &str,
    raw: Option<String>,
    max: usize,
    lines: Lines,
) -> Option<String> {
    let text = raw.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())?;
    if text.chars().count() > max {
        v.add(field, format!("must be at most {max} characters"));
        return None;
    }
    if let Err(message) = check_characters(&text, lines) {
        v.add(field, message);
        return None;
    }
    Some(text)
}

/// A trimmed required one-line text (a title, a name) of 1 to `max` characters.
pub(crate) fn required_text(
    v: &mut Validator,
    field: &str,
    raw: Option<String>,
    max: usize,
) -> Option<String> {
    match raw.map(|t| t.trim().to_owned()) {
        None => {
            v.add(field, "is required");
            None
        }
        Some(t) if t.is_empty() => {
            v.add(field, "must not be empty");
            None
        }
        Some(t) if t.chars().count() > max => {
            v.add(field, format!("must be at most {max} characters"));
            None
        }
        Some(t) => match check_characters(&t, Lines::Single) {
            Ok(()) => Some(t),
            Err(message) => {
                v.add(field, message);
                None
            }
        },
    }
}

pub(crate) fn parse_uuid(v: &mut Validator, field: &str, raw: &str) -> Option<Uuid> {
    v.check(
        field,
        Uuid::parse_str(raw.trim()).map_err(|_| format!("`{}` is not an id (a UUID)", raw.trim())),
    )
}

//! Keyset pagination shared by every list: `limit` (default 50, clamped to 1..=200) and an
//! opaque `cursor` that carries the sort key of the last item returned, so a page is one index
//! range scan however deep the client goes, and rows inserted meanwhile never shift a page.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{AppError, AppResult};

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

diesel::define_sql_function! {
    /// PostgreSQL's `lower(text)`: case-insensitive sort keys computed by the database itself,
    /// so a cursor compares exactly as the index orders.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// The page size a client asked for, clamped into 1..=200 (a larger value is not an error).
pub fn clamp_limit(limit: Option<i64>) -> i64 {
    limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
}

/// Writes a sort key as an opaque cursor (base64url of its JSON).
pub fn encode_cursor<K: Serialize>(key: &K) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).unwrap_or_default())
}

/// Reads a cursor this list handed out; anything else is a 422 on the `cursor` field.
pub fn decode_cursor<K: DeserializeOwned>(raw: &str) -> AppResult<K> {
    URL_SAFE_NO_PAD
        .decode(raw.trim())
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| AppError::invalid("cursor", "is not a cursor this list gave out"))
}

/// Given up to `limit + 1` rows in order, keeps `limit` and makes the cursor of the next page
/// from the last row kept, when there is a next page.
pub fn paginate<T, K: Serialize>(
    mut rows: Vec<T>,
    limit: i64,
    key: impl Fn(&T) -> K,
) -> (Vec<T>, Option<String>) {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if rows.len() <= limit {
        return (rows, None);
    }
    rows.truncate(limit);
    let next = rows.last().map(|last| encode_cursor(&key(last)));
    (rows, next)
}

/// A LIKE/ILIKE pattern matching `text` anywhere, with the pattern's own metacharacters
/// escaped so a search for `50%` finds "50%" and not everything.
pub fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_clamped() {
        assert_eq!(clamp_limit(None), 50);
        assert_eq!(clamp_limit(Some(0)), 1);
        assert_eq!(clamp_limit(Some(-5)), 1);
        assert_eq!(clamp_limit(Some(1000)), 200);
        assert_eq!(clamp_limit(Some(7)), 7);
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let id = uuid::Uuid::now_v7();
        let cursor = encode_cursor(&("ministry", id));
        let back: (String, uuid::Uuid) = decode_cursor(&cursor).expect("decodes");
        assert_eq!(back, ("ministry".to_owned(), id));
        assert!(decode_cursor::<(String, uuid::Uuid)>("not a cursor").is_err());
        assert!(decode_cursor::<(String, uuid::Uuid)>(&encode_cursor(&42)).is_err());
    }

    #[test]
    fn paginate_keeps_limit_and_points_past_the_last() {
        let (rows, next) = paginate(vec![1, 2, 3], 2, |n| *n);
        assert_eq!(rows, vec![1, 2]);
        assert_eq!(next, Some(encode_cursor(&2)));
        let (rows, next) = paginate(vec![1, 2], 2, |n| *n);
        assert_eq!(rows, vec![1, 2]);
        assert_eq!(next, None);
    }

    #[test]
    fn like_metacharacters_are_escaped() {
        assert_eq!(contains_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }
}

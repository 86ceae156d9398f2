//! Keyset pagination shared by every list: `limit` (default 50, at most 200: larger values are
//! clamped, values under 1 are a 422) and an opaque `cursor` that carries the sort key of the
//! last item returned, so a page is one index range scan however deep the client goes, and rows
//! inserted meanwhile never shift a page. Every list answers a [`Page`].

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::{AppResult, Validator};

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

/// The sort key of a list in time order: the time, then the id to break ties.
pub type TimeAndId = (DateTime<Utc>, Uuid);
/// The sort key of a list in name order: the (lower-cased) name, then the id.
pub type NameAndId = (String, Uuid);

diesel::define_sql_function! {
    /// PostgreSQL's `lower(text)`: case-insensitive sort keys computed by the database itself,
    /// so a cursor compares exactly as the index orders.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// One page of a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; null on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Given up to `page.fetch()` rows in order, keeps `page.limit` of them and makes the cursor
    /// of the next page from the sort key of the last row kept, when there is a next page.
    pub fn from_rows<K: Serialize, C>(
        mut rows: Vec<T>,
        page: &PageRequest<C>,
        key: impl Fn(&T) -> K,
    ) -> Page<T> {
        let limit = usize::try_from(page.limit).unwrap_or(usize::MAX);
        let next_cursor = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|last| encode_cursor(&key(last)))
        } else {
            None
        };
        Page {
            items: rows,
            next_cursor,
        }
    }

    /// The same page with each item turned into what the client sees.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

/// `limit` and `cursor` of a list request, parsed; `after` is the sort key (of type `K`) of
/// the last item of the previous page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest<K> {
    pub limit: i64,
    pub after: Option<K>,
}

impl<K: DeserializeOwned> PageRequest<K> {
    /// Records a cursor this list did not give out (field `cursor`) and a limit under 1 (field
    /// `limit`) in `v`, beside the list's other parameters; a limit above 200 is clamped.
    pub fn parse(v: &mut Validator, limit: Option<i64>, cursor: Option<&str>) -> PageRequest<K> {
        let after = cursor
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .and_then(|c| v.check("cursor", decode_cursor(c)));
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if limit < 1 {
            v.add("limit", "must be at least 1");
        }
        PageRequest {
            limit: limit.clamp(1, MAX_LIMIT),
            after,
        }
    }

    /// `parse` for a list that takes nothing else.
    pub fn from_query(query: &PageQuery) -> AppResult<PageRequest<K>> {
        let mut v = Validator::new();
        let page = Self::parse(&mut v, query.limit, query.cursor.as_deref());
        v.finish()?;
        Ok(page)
    }
}

impl<K> PageRequest<K> {
    /// How many rows to load: one more than a page, to learn whether another page follows.
    pub fn fetch(&self) -> i64 {
        self.limit + 1
    }
}

/// The query parameters of a list that takes nothing but its page. Lists with filters repeat
/// these two fields in their own query (serde's `flatten` cannot read numbers from a query
/// string) and parse them with [`PageRequest::parse`].
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size: default 50, at most 200 (larger values are clamped).
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A cursor that no list of this service gave out.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("is not a cursor this list gave out")]
pub struct CursorError;

/// Writes a sort key as an opaque cursor (base64url of its JSON).
fn encode_cursor<K: Serialize>(key: &K) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).unwrap_or_default())
}

fn decode_cursor<K: DeserializeOwned>(raw: &str) -> Result<K, CursorError> {
    let value: serde_json::Value = URL_SAFE_NO_PAD
        .decode(raw.trim())
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or(CursorError)?;
    // A cursor comes back from the client: a time in it that PostgreSQL cannot compare
    // (`-4714-01-01T00:00:00Z`) is as foreign as any other made-up cursor.
    if holds_unsupported_time(&value) {
        return Err(CursorError);
    }
    serde_json::from_value(value).map_err(|_| CursorError)
}

fn holds_unsupported_time(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(text) => text
            .parse::<DateTime<chrono::FixedOffset>>()
            .is_ok_and(|at| crate::events::types::supported(at.with_timezone(&Utc)).is_err()),
        serde_json::Value::Array(items) => items.iter().any(holds_unsupported_time),
        serde_json::Value::Object(fields) => fields.values().any(holds_unsupported_time),
        _ => false,
    }
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
    use crate::error::AppError;

    fn request<K: DeserializeOwned>(
        limit: Option<i64>,
        cursor: Option<&str>,
    ) -> AppResult<PageRequest<K>> {
        PageRequest::from_query(&PageQuery {
            limit,
            cursor: cursor.map(str::to_owned),
        })
    }

    #[test]
    fn limits_default_clamp_and_refuse_less_than_one() {
        assert_eq!(request::<i64>(None, None).expect("ok").limit, 50);
        assert_eq!(request::<i64>(Some(1000), None).expect("ok").limit, 200);
        assert_eq!(request::<i64>(Some(7), None).expect("ok").limit, 7);
        for bad in [0, -5] {
            match request::<i64>(Some(bad), None) {
                Err(AppError::Validation(errors)) => assert_eq!(errors[0].field, "limit"),
                other => panic!("{bad}: expected a 422, got {other:?}"),
            }
        }
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let id = Uuid::now_v7();
        let cursor = encode_cursor(&("ministry", id));
        let back: PageRequest<NameAndId> = request(None, Some(&cursor)).expect("decodes");
        assert_eq!(back.after, Some(("ministry".to_owned(), id)));
        assert!(request::<NameAndId>(None, Some("not a cursor")).is_err());
        assert!(request::<NameAndId>(None, Some(&encode_cursor(&42))).is_err());
        let at = DateTime::from_timestamp_micros(1_700_000_000_123_456).expect("time");
        let back: PageRequest<TimeAndId> =
            request(None, Some(&encode_cursor(&(at, id)))).expect("decodes");
        assert_eq!(
            back.after,
            Some((at, id)),
            "microseconds survive the round trip"
        );
        assert_eq!(request::<i64>(None, Some(" ")).expect("blank").after, None);
    }

    #[test]
    fn every_bad_parameter_is_reported_at_once() {
        let mut v = Validator::new();
        PageRequest::<i64>::parse(&mut v, Some(0), Some("%%%"));
        match v.finish() {
            Err(AppError::Validation(errors)) => {
                let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
                assert_eq!(fields, ["cursor", "limit"]);
            }
            other => panic!("expected a 422, got {other:?}"),
        }
    }

    #[test]
    fn a_page_keeps_limit_and_points_past_the_last() {
        let two = PageRequest::<i64> {
            limit: 2,
            after: None,
        };
        let page = Page::from_rows(vec![1, 2, 3], &two, |n| *n);
        assert_eq!(page.items, vec![1, 2]);
        assert_eq!(page.next_cursor, Some(encode_cursor(&2)));
        let page = Page::from_rows(vec![1, 2], &two, |n| *n);
        assert_eq!(page.items, vec![1, 2]);
        assert_eq!(page.next_cursor, None);
        assert_eq!(page.map(|n| n * 10).items, vec![10, 20]);
    }

    #[test]
    fn like_metacharacters_are_escaped() {
        assert_eq!(contains_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }
}

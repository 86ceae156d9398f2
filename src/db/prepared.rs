//! Statements the connection keeps prepared although diesel would prepare them afresh.
//!
//! diesel caches a prepared statement only when it knows the statement's SQL cannot vary with
//! its values: never an `update()` (a changeset's columns may vary), a multi-row insert, or any
//! query holding raw SQL. diesel-async then sends every such statement twice, a Parse and then
//! the execution: two round trips instead of one. Where that second round trip is paid under a
//! lock many requests queue for (a session's seats in a registration rush), [`KeepPrepared`]
//! asks for the statement to be cached by its SQL text instead.

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::QueryResult;

/// A statement kept prepared on the connection, keyed by its SQL text and bind types.
///
/// Only for statements of a fixed shape: each distinct SQL text is one more statement kept
/// on every connection, so a shape that varies with the data (an `IN` list, a batch insert of
/// any length) would grow that cache without bound.
#[derive(Debug, Clone, Copy)]
pub struct KeepPrepared<Q>(pub Q);

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for KeepPrepared<Q> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &Pg) -> QueryResult<bool> {
        Ok(true)
    }
}

/// No static id: the cache is keyed by the SQL text, so each shape gets its own statement.
impl<Q> QueryId for KeepPrepared<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for KeepPrepared<Q> {
    type SqlType = Q::SqlType;
}

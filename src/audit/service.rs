use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::audit::model::AuditEntry;
use crate::db::page::{Page, PageRequest, TimeAndId};
use crate::db::schema::audit_entries;
use crate::error::AppResult;

/// Writes one audit entry. Call it inside the transaction of the change it records, with
/// `before`/`after` snapshots of the record (None where there is no such side).
pub async fn record(
    conn: &mut AsyncPgConnection,
    actor: Option<Uuid>,
    action: &str,
    target_type: &str,
    target_id: Uuid,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> AppResult<()> {
    diesel::insert_into(audit_entries::table)
        .values((
            audit_entries::id.eq(Uuid::now_v7()),
            audit_entries::actor_account_id.eq(actor),
            audit_entries::action.eq(action),
            audit_entries::target_type.eq(target_type),
            audit_entries::target_id.eq(target_id),
            audit_entries::before.eq(before),
            audit_entries::after.eq(after),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// What the list is narrowed to; every part is optional.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub target_type: Option<String>,
    pub target_id: Option<Uuid>,
    pub action: Option<String>,
    pub actor: Option<Uuid>,
}

/// Entries newest first (creation time, then id).
pub async fn list(
    conn: &mut AsyncPgConnection,
    filter: &AuditFilter,
    page: &PageRequest<TimeAndId>,
) -> AppResult<Page<AuditEntry>> {
    let mut query = audit_entries::table
        .select(AuditEntry::as_select())
        .into_boxed();
    if let Some(target_type) = &filter.target_type {
        query = query.filter(audit_entries::target_type.eq(target_type.clone()));
    }
    if let Some(target_id) = filter.target_id {
        query = query.filter(audit_entries::target_id.eq(target_id));
    }
    if let Some(action) = &filter.action {
        query = query.filter(audit_entries::action.eq(action.clone()));
    }
    if let Some(actor) = filter.actor {
        query = query.filter(audit_entries::actor_account_id.eq(actor));
    }
    if let Some((at, id)) = page.after {
        query = query.filter(
            audit_entries::created_at
                .lt(at)
                .or(audit_entries::created_at
                    .eq(at)
                    .and(audit_entries::id.lt(id))),
        );
    }
    let rows = query
        .order((audit_entries::created_at.desc(), audit_entries::id.desc()))
        .limit(page.fetch())
        .load(conn)
        .await?;
    Ok(Page::from_rows(rows, page, |e| (e.created_at, e.id)))
}

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::schema::audit_entries;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, ToSchema)]
#[diesel(table_name = audit_entries)]
pub struct AuditEntry {
    pub id: Uuid,
    /// The account that made the change; null for the system (demo loader, worker) or an
    /// anonymous applicant.
    pub actor_account_id: Option<Uuid>,
    /// What was done, e.g. `create`, `update`, `approve`, `suspend`, `import`.
    pub action: String,
    /// The kind of record, e.g. `organization`, `person`.
    pub target_type: String,
    pub target_id: Uuid,
    /// The record before the change (null for a creation).
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    /// The record after the change.
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
}

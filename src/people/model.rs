use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::schema::people;

/// Someone the partnership knows: an invitee, a registrant, a speaker, an account holder.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize, ToSchema)]
#[diesel(table_name = people)]
pub struct Person {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub honorific: Option<String>,
    pub position: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = people)]
pub struct NewPerson<'a> {
    pub id: Uuid,
    pub email: &'a str,
    pub name: &'a str,
    pub honorific: Option<&'a str>,
    pub position: Option<&'a str>,
}

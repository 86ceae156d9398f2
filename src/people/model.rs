use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::schema::{affiliations, people};

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

/// A link between a person and an organisation; at most one per organisation is its focal
/// point, who may manage the organisation's people.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = affiliations)]
pub struct Affiliation {
    pub person_id: Uuid,
    pub organization_id: Uuid,
    pub position: Option<String>,
    pub focal_point: bool,
    pub created_at: DateTime<Utc>,
}

/// A contact as admins and organizers see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PersonView {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    /// Prof., Dr, Mr., Ms. or another form of address.
    pub honorific: Option<String>,
    pub position: Option<String>,
    /// Whether the person can log in.
    pub has_account: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl PersonView {
    pub fn new(person: &Person, has_account: bool) -> Self {
        PersonView {
            id: person.id,
            email: person.email.clone(),
            name: person.name.clone(),
            honorific: person.honorific.clone(),
            position: person.position.clone(),
            has_account,
            created_at: person.created_at,
            updated_at: person.updated_at,
        }
    }
}

/// The record as the audit trail keeps it.
pub fn snapshot(person: &Person) -> serde_json::Value {
    serde_json::to_value(person).unwrap_or(serde_json::Value::Null)
}

/// A person in an organisation's list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AffiliateView {
    pub person_id: Uuid,
    pub organization_id: Uuid,
    pub email: String,
    pub name: String,
    pub honorific: Option<String>,
    /// The person's position in this organisation.
    pub position: Option<String>,
    /// Whether the person is the organisation's focal point.
    pub focal_point: bool,
    /// When the person was affiliated.
    pub created_at: DateTime<Utc>,
}

impl AffiliateView {
    pub fn new(affiliation: &Affiliation, person: &Person) -> Self {
        AffiliateView {
            person_id: person.id,
            organization_id: affiliation.organization_id,
            email: person.email.clone(),
            name: person.name.clone(),
            honorific: person.honorific.clone(),
            position: affiliation.position.clone(),
            focal_point: affiliation.focal_point,
            created_at: affiliation.created_at,
        }
    }
}

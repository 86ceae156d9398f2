use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::schema::organizations;

crate::text_enum! {
    /// What sort of body an organisation is.
    pub enum OrganizationKind {
        Government => "government",
        RegionalOrganization => "regional_organization",
        InternationalOrganization => "international_organization",
        CivilSociety => "civil_society",
        Academia => "academia",
        ThinkTank => "think_tank",
        Other => "other",
    }
}

impl OrganizationKind {
    /// How a form names the kind.
    pub fn label(self) -> &'static str {
        match self {
            OrganizationKind::Government => "Government",
            OrganizationKind::RegionalOrganization => "Regional organisation",
            OrganizationKind::InternationalOrganization => "International organisation",
            OrganizationKind::CivilSociety => "Civil society",
            OrganizationKind::Academia => "Academia",
            OrganizationKind::ThinkTank => "Think tank",
            OrganizationKind::Other => "Other",
        }
    }

    /// Only regional and international bodies may have no country.
    pub fn requires_country(self) -> bool {
        !matches!(
            self,
            OrganizationKind::RegionalOrganization | OrganizationKind::InternationalOrganization
        )
    }
}

crate::text_enum! {
    /// Membership of the partnership: `applicant` → `active` ↔ `suspended`; any of them →
    /// `withdrawn`, which is final (a withdrawn organisation applies again as a new one).
    pub enum MembershipStatus {
        Applicant => "applicant",
        Active => "active",
        Suspended => "suspended",
        Withdrawn => "withdrawn",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = organizations)]
pub struct Organization {
    pub id: Uuid,
    pub name: String,
    pub short_name: Option<String>,
    pub kind: OrganizationKind,
    pub country: Option<String>,
    pub website: Option<String>,
    pub status: MembershipStatus,
    pub joined_on: Option<NaiveDate>,
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    pub application_note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = organizations)]
pub struct NewOrganization {
    pub id: Uuid,
    pub name: String,
    pub short_name: Option<String>,
    pub kind: OrganizationKind,
    pub country: Option<String>,
    pub website: Option<String>,
    pub status: MembershipStatus,
    pub joined_on: Option<NaiveDate>,
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    pub application_note: Option<String>,
}

/// A change of an organisation's descriptive fields: `None` leaves a field as it is,
/// `Some(None)` clears it.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = organizations)]
pub struct OrganizationChanges {
    pub name: Option<String>,
    pub short_name: Option<Option<String>>,
    pub kind: Option<OrganizationKind>,
    pub country: Option<Option<String>>,
    pub website: Option<Option<String>>,
    pub contact_name: Option<Option<String>>,
    pub contact_email: Option<Option<String>>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// An organisation as the API shows it. Everyone sees the first seven fields; admins also see
/// the membership and contact details (absent from the public view, not null).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrganizationView {
    pub id: Uuid,
    pub name: String,
    /// Acronym or usual short form, e.g. MOFA.
    #[schema(required = true)]
    pub short_name: Option<String>,
    pub kind: OrganizationKind,
    /// ISO 3166-1 alpha-2; null only for regional and international bodies.
    #[schema(required = true)]
    pub country: Option<String>,
    #[schema(required = true)]
    pub website: Option<String>,
    pub status: MembershipStatus,
    /// Admins only: the day the organisation became a member.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<NaiveDate>, required = false)]
    pub joined_on: Option<Option<NaiveDate>>,
    /// Admins only: who applied or speaks for the organisation.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, required = false)]
    pub contact_name: Option<Option<String>>,
    /// Admins only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, required = false)]
    pub contact_email: Option<Option<String>>,
    /// Admins only: what the applicant wrote with the application.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, required = false)]
    pub application_note: Option<Option<String>>,
    /// Admins only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false)]
    pub created_at: Option<DateTime<Utc>>,
    /// Admins only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false)]
    pub updated_at: Option<DateTime<Utc>>,
}

impl OrganizationView {
    /// What the public directory shows.
    pub fn public(org: &Organization) -> Self {
        OrganizationView {
            id: org.id,
            name: org.name.clone(),
            short_name: org.short_name.clone(),
            kind: org.kind,
            country: org.country.clone(),
            website: org.website.clone(),
            status: org.status,
            joined_on: None,
            contact_name: None,
            contact_email: None,
            application_note: None,
            created_at: None,
            updated_at: None,
        }
    }

    /// Everything, for admins (and the audit trail's snapshots).
    pub fn admin(org: &Organization) -> Self {
        OrganizationView {
            joined_on: Some(org.joined_on),
            contact_name: Some(org.contact_name.clone()),
            contact_email: Some(org.contact_email.clone()),
            application_note: Some(org.application_note.clone()),
            created_at: Some(org.created_at),
            updated_at: Some(org.updated_at),
            ..Self::public(org)
        }
    }

    pub fn for_viewer(org: &Organization, admin: bool) -> Self {
        if admin {
            Self::admin(org)
        } else {
            Self::public(org)
        }
    }
}

/// The record as the audit trail keeps it.
pub fn snapshot(org: &Organization) -> serde_json::Value {
    serde_json::to_value(OrganizationView::admin(org)).unwrap_or(serde_json::Value::Null)
}

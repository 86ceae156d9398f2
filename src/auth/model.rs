use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::schema::{account_tokens, accounts};

crate::text_enum! {
    /// What an account may do: admins manage the partnership, organizers run dialogues.
    pub enum Role {
        Admin => "admin",
        Organizer => "organizer",
        Member => "member",
    }
}

crate::text_enum! {
    /// Each token is bound to one purpose: a reset token never logs anyone in.
    pub enum TokenPurpose {
        Session => "session",
        EmailVerification => "email_verification",
        PasswordReset => "password_reset",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = accounts)]
pub struct Account {
    pub id: Uuid,
    /// The person this account is: set when its address is verified, never before (a CHECK
    /// holds it), so an account that never proved its address has nobody's data.
    pub person_id: Option<Uuid>,
    pub password_hash: String,
    pub role: Role,
    pub email_verified_at: Option<DateTime<Utc>>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The address it logs in with (lower-cased, unique among accounts).
    pub email: String,
    /// The name typed at signup; once joined to a known person, that person's name.
    pub name: String,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = accounts)]
pub struct NewAccount<'a> {
    pub id: Uuid,
    pub person_id: Option<Uuid>,
    pub email: &'a str,
    pub name: &'a str,
    pub password_hash: String,
    pub role: Role,
    pub email_verified_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = account_tokens)]
pub struct NewAccountToken {
    pub token_hash: Vec<u8>,
    pub account_id: Uuid,
    pub purpose: TokenPurpose,
    pub expires_at: DateTime<Utc>,
}

/// The account as its owner and admins see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccountView {
    pub id: Uuid,
    /// Null until the address is verified.
    pub person_id: Option<Uuid>,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub email_verified: bool,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

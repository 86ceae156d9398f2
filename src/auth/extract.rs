//! Who is calling, declared in a handler's signature: `AuthUser` (anyone logged in), `Admin`,
//! `Organizer` (organizers and admins), `MaybeUser` (public routes that show more to some).

use std::future::Future;
use std::pin::Pin;

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpRequest};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::auth::model::{Account, Role, TokenPurpose};
use crate::auth::token::{hash_token, looks_like_token};
use crate::context::Context;
use crate::db::schema::{account_tokens, accounts, people};
use crate::error::{AppError, AppResult, Code};
use crate::people::model::Person;

pub const SESSION_COOKIE: &str = "convene_session";

/// A logged-in, enabled account and, once its address is verified, the person it is.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub account: Account,
    /// Private so that every person-scoped use goes through [`AuthUser::person`].
    person: Option<Person>,
}

impl AuthUser {
    /// The person this account is, only once its address is verified. Until then the account
    /// acts as a stranger: no one's registrations, invitations, seats, links or focal-point
    /// powers.
    pub fn person(&self) -> Option<&Person> {
        self.person
            .as_ref()
            .filter(|_| self.account.email_verified_at.is_some())
    }

    /// The verified person, or a 403 `email_unverified` for what needs one.
    pub fn verified_person(&self) -> AppResult<&Person> {
        self.person().ok_or_else(|| {
            AppError::forbidden(
                Code::EmailUnverified,
                "verify your email address first: open the link we emailed you, or ask for a new one",
            )
        })
    }

    /// Whether this account is the person `person_id` (never before its address is verified).
    pub fn is_person(&self, person_id: uuid::Uuid) -> bool {
        self.person().is_some_and(|p| p.id == person_id)
    }

    /// The address the account logs in with.
    pub fn email(&self) -> &str {
        &self.account.email
    }

    pub fn name(&self) -> &str {
        &self.account.name
    }

    pub fn is_admin(&self) -> bool {
        self.account.role == Role::Admin
    }

    pub fn is_organizer(&self) -> bool {
        matches!(self.account.role, Role::Organizer | Role::Admin)
    }

    pub fn email_verified(&self) -> bool {
        self.account.email_verified_at.is_some()
    }
}

/// The token a request presents: `Authorization: Bearer <token>` first, then the cookie.
pub fn presented_token(req: &HttpRequest) -> Option<String> {
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned());
    bearer.or_else(|| req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned()))
}

async fn load_user(req: HttpRequest) -> AppResult<Option<AuthUser>> {
    let Some(token) = presented_token(&req) else {
        return Ok(None);
    };
    if !looks_like_token(&token) {
        return Ok(None);
    }
    let state = req
        .app_data::<web::Data<Context>>()
        .ok_or_else(|| AppError::internal("application state missing"))?;
    let mut conn = state.pool.get().await?;
    let found = account_tokens::table
        .inner_join(accounts::table.left_join(people::table))
        .filter(account_tokens::token_hash.eq(hash_token(&token)))
        .filter(account_tokens::purpose.eq(TokenPurpose::Session))
        .filter(account_tokens::expires_at.gt(diesel::dsl::now))
        .filter(accounts::disabled_at.is_null())
        .select((Account::as_select(), Option::<Person>::as_select()))
        .first::<(Account, Option<Person>)>(&mut conn)
        .await
        .optional()?;
    if let Some((account, _)) = &found {
        tracing::debug!(account_id = %account.id, role = %account.role, "request authenticated");
    }
    Ok(found.map(|(account, person)| AuthUser { account, person }))
}

type ExtractFuture<T> = Pin<Box<dyn Future<Output = Result<T, AppError>>>>;

impl FromRequest for AuthUser {
    type Error = AppError;
    type Future = ExtractFuture<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { load_user(req).await?.ok_or_else(AppError::unauthenticated) })
    }
}

/// Anyone; `Some` when the request carries a valid login.
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<AuthUser>);

impl FromRequest for MaybeUser {
    type Error = AppError;
    type Future = ExtractFuture<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Ok(MaybeUser(load_user(req).await?)) })
    }
}

/// A secretariat admin.
#[derive(Debug, Clone)]
pub struct Admin(pub AuthUser);

impl FromRequest for Admin {
    type Error = AppError;
    type Future = ExtractFuture<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = AuthUser::from_request(req, payload);
        Box::pin(async move {
            let user = user.await?;
            if user.is_admin() {
                Ok(Admin(user))
            } else {
                Err(AppError::forbidden(
                    Code::AdminOnly,
                    "only admins may do this",
                ))
            }
        })
    }
}

/// An organizer or an admin: may create dialogues and manage contacts.
#[derive(Debug, Clone)]
pub struct Organizer(pub AuthUser);

impl FromRequest for Organizer {
    type Error = AppError;
    type Future = ExtractFuture<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = AuthUser::from_request(req, payload);
        Box::pin(async move {
            let user = user.await?;
            if user.is_organizer() {
                Ok(Organizer(user))
            } else {
                Err(AppError::forbidden(
                    Code::OrganizerOnly,
                    "only organizers and admins may do this",
                ))
            }
        })
    }
}

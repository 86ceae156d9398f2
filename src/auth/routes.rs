use actix_web::cookie::{time, Cookie, SameSite};
use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use crate::auth::accounts::{self, account_view, AccountChanges, AccountFilter};
use crate::auth::extract::{presented_token, Admin, AuthUser, SESSION_COOKIE};
use crate::auth::model::{AccountView, Role};
use crate::auth::password::Password;
use crate::auth::signup::NewAccountInput;
use crate::auth::{password_reset, verification};
use crate::client_addr::ClientAddr;
use crate::context::Context;
use crate::db::page::{Page, PageRequest};
use crate::error::{AppResult, Problem, Validator};
use crate::json::Json;
use crate::mail::MailQuota;
use crate::people::EmailAddress;

#[derive(OpenApi)]
#[openapi(
    paths(
        signup,
        login,
        logout,
        me,
        verify_email,
        resend_verification,
        request_password_reset,
        confirm_password_reset,
        list_accounts,
        update_account
    ),
    components(schemas(AccountView, LoginResponse, LoginUser, Accepted, Role))
)]
pub struct Api;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(signup)
        .service(login)
        .service(logout)
        .service(me)
        .service(verify_email)
        .service(resend_verification)
        .service(request_password_reset)
        .service(confirm_password_reset)
        .service(list_accounts)
        .service(update_account);
}

/// The answer to a request whose effect arrives by email.
#[derive(Serialize, ToSchema)]
pub struct Accepted {
    pub message: String,
}

#[derive(Deserialize, ToSchema)]
pub struct SignupRequest {
    pub email: String,
    #[schema(value_type = String, min_length = 8, max_length = 128)]
    pub password: SecretString,
    pub name: String,
}

/// Signs up for a member account. The answer is the same 202 whether or not the address has
/// an account (only malformed input is a 422): a new address is emailed a
/// `{public_url}/verify-email?token=T` link, an address with an account is told so, with a
/// link to choose a new password. Until the address is verified the account has no person: it
/// sees none of the registrations, invitations or powers of whoever owns the address.
#[utoipa::path(post, path = "/api/v1/auth/signup", tag = "auth", request_body = SignupRequest,
    responses((status = 202, body = Accepted),
              (status = 422, body = Problem, content_type = "application/problem+json"),
              (status = 429, description = "this client asked for too much email this hour", body = Problem, content_type = "application/problem+json")))]
#[post("/auth/signup")]
async fn signup(
    state: web::Data<Context>,
    quota: MailQuota,
    body: Json<SignupRequest>,
) -> AppResult<HttpResponse> {
    let body = body.into_inner();
    let input = NewAccountInput::parse_signup(&body.email, &body.name, body.password)?;
    crate::auth::signup::signup(&state, input, &quota).await?;
    Ok(HttpResponse::Accepted().json(Accepted {
        message: "check your email: a message to this address says what to do next".to_owned(),
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    pub email: String,
    #[schema(value_type = String)]
    pub password: SecretString,
}

#[derive(Serialize, ToSchema)]
pub struct LoginUser {
    pub id: uuid::Uuid,
    pub email: String,
    pub name: String,
    pub role: Role,
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`; shown only here, once.
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: LoginUser,
}

/// Logs in: answers a bearer token and sets the session cookie. Failed attempts are throttled
/// per (address, client), per client and per address (429 with Retry-After), alike whether or
/// not the address has an account.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse),
              (status = 401, body = Problem, content_type = "application/problem+json"),
              (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 429, body = Problem, content_type = "application/problem+json")))]
#[post("/auth/login")]
async fn login(
    state: web::Data<Context>,
    client: ClientAddr,
    body: Json<LoginRequest>,
) -> AppResult<HttpResponse> {
    let body = body.into_inner();
    let success = crate::auth::login::login(&state, &body.email, body.password, client).await?;
    let cookie = session_cookie(
        &state,
        success.token.expose().to_owned(),
        success.expires_at,
    );
    Ok(HttpResponse::Ok().cookie(cookie).json(LoginResponse {
        token: success.token.expose().to_owned(),
        expires_at: success.expires_at,
        user: LoginUser {
            id: success.account.id,
            email: success.account.email,
            name: success.account.name,
            role: success.account.role,
        },
    }))
}

/// The session cookie the API's login sets; the console's sign-in sets the very same.
pub fn session_cookie(
    state: &Context,
    value: String,
    expires_at: DateTime<Utc>,
) -> Cookie<'static> {
    let max_age = (expires_at - Utc::now()).num_seconds().max(0);
    Cookie::build(SESSION_COOKIE, value)
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.settings.is_production())
        .path("/")
        .max_age(time::Duration::seconds(max_age))
        .finish()
}

/// Ends this login session; the token stops working at once.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204)))]
#[post("/auth/logout")]
async fn logout(
    state: web::Data<Context>,
    req: HttpRequest,
    _user: AuthUser,
) -> AppResult<HttpResponse> {
    if let Some(token) = presented_token(&req) {
        crate::auth::login::logout(&state, &token).await?;
    }
    Ok(HttpResponse::NoContent()
        .cookie(expired_session_cookie(&state))
        .finish())
}

/// The cookie that clears the session cookie: the same attributes as the cookie it replaces
/// (a clearing cookie is a cookie too).
pub fn expired_session_cookie(state: &Context) -> Cookie<'static> {
    let mut expired = session_cookie(state, String::new(), Utc::now());
    expired.make_removal();
    expired
}

/// The logged-in account.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = AccountView)))]
#[get("/me")]
async fn me(user: AuthUser) -> HttpResponse {
    HttpResponse::Ok().json(account_view(&user.account))
}

#[derive(Deserialize, ToSchema)]
pub struct TokenRequest {
    /// The `token` parameter of the emailed link.
    #[schema(value_type = String)]
    pub token: SecretString,
}

/// Verifies the account's email address with the token from the emailed
/// `{public_url}/verify-email?token=T` link, and joins the account to its person (the contact
/// with this address, whose name it takes, or a new one). The token works once: an unknown token is a 400
/// `invalid_token`; a used one a 410 `token_used`; an expired one (after 72 hours) a 410
/// `token_expired`.
#[utoipa::path(post, path = "/api/v1/auth/verify-email", tag = "auth", request_body = TokenRequest,
    responses((status = 200, description = "the email is verified", body = AccountView),
              (status = 410, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
#[post("/auth/verify-email")]
async fn verify_email(
    state: web::Data<Context>,
    body: Json<TokenRequest>,
) -> AppResult<HttpResponse> {
    let (account, _) = verification::verify_email(&state, body.token.expose_secret()).await?;
    Ok(HttpResponse::Ok().json(account_view(&account)))
}

/// Sends a new verification link to the logged-in account (at most once a minute, and within
/// `limits.emails_per_recipient_per_hour`: else 429 with Retry-After). An account already
/// verified gets a 409 `already_verified`.
#[utoipa::path(post, path = "/api/v1/auth/verify-email/resend", tag = "auth", security(("bearer" = [])),
    responses((status = 202, body = Accepted),
              (status = 409, body = Problem, content_type = "application/problem+json"),
              (status = 429, body = Problem, content_type = "application/problem+json")))]
#[post("/auth/verify-email/resend")]
async fn resend_verification(
    state: web::Data<Context>,
    quota: MailQuota,
    user: AuthUser,
) -> AppResult<HttpResponse> {
    verification::resend_verification(&state, user.account.id, &quota).await?;
    Ok(HttpResponse::Accepted().json(Accepted {
        message: format!("a new verification link is on its way to {}", user.email()),
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordResetRequest {
    pub email: String,
}

/// Asks for a password reset link. The answer is the same 202 whether or not an account uses
/// the address (only a malformed address is a 422); when one does, it is emailed a
/// `{public_url}/password-reset?token=T` link valid for one hour (at most 3 per 15 minutes).
#[utoipa::path(post, path = "/api/v1/auth/password-reset", tag = "auth",
    request_body = PasswordResetRequest,
    responses((status = 202, body = Accepted),
              (status = 422, body = Problem, content_type = "application/problem+json"),
              (status = 429, description = "this client asked for too much email this hour", body = Problem, content_type = "application/problem+json")))]
#[post("/auth/password-reset")]
async fn request_password_reset(
    state: web::Data<Context>,
    quota: MailQuota,
    body: Json<PasswordResetRequest>,
) -> AppResult<HttpResponse> {
    let mut v = Validator::new();
    let email = v.check("email", EmailAddress::parse(&body.email));
    v.finish()?;
    if let Some(email) = email {
        password_reset::request_password_reset(&state, &email, &quota).await?;
    }
    Ok(HttpResponse::Accepted().json(Accepted {
        message: "if an account uses this address, a link to choose a new password is on its way"
            .to_owned(),
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordResetConfirmRequest {
    /// The `token` parameter of the emailed link.
    #[schema(value_type = String)]
    pub token: SecretString,
    /// The new password: 8 to 128 characters.
    #[schema(value_type = String, min_length = 8, max_length = 128)]
    pub password: SecretString,
}

/// Sets a new password with the emailed reset token and logs the account out everywhere. The
/// token works once: unknown is a 400 `invalid_token`; used a 410 `token_used`; expired a 410
/// `token_expired`. A password outside 8–128 characters is a 422 and leaves the token unused.
#[utoipa::path(post, path = "/api/v1/auth/password-reset/confirm", tag = "auth",
    request_body = PasswordResetConfirmRequest,
    responses((status = 204, description = "the password is changed"),
              (status = 410, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
#[post("/auth/password-reset/confirm")]
async fn confirm_password_reset(
    state: web::Data<Context>,
    body: Json<PasswordResetConfirmRequest>,
) -> AppResult<HttpResponse> {
    let body = body.into_inner();
    let mut v = Validator::new();
    let password = v.check("password", Password::parse(body.password));
    v.finish()?;
    if let Some(password) = password {
        password_reset::confirm_password_reset(&state, body.token.expose_secret(), password)
            .await?;
    }
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListAccountsQuery {
    /// Only accounts with this role.
    #[param(value_type = Option<Role>)]
    pub role: Option<String>,
    /// Only disabled (true) or enabled (false) accounts.
    pub disabled: Option<bool>,
    /// Part of the name or email, case-insensitive.
    pub q: Option<String>,
    /// Page size: default 50, at most 200 (larger values are clamped).
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Lists accounts in creation order, for admins.
#[utoipa::path(get, path = "/api/v1/accounts", tag = "accounts", params(ListAccountsQuery),
    security(("bearer" = [])),
    responses((status = 200, body = Page<AccountView>),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
#[get("/accounts")]
async fn list_accounts(
    state: web::Data<Context>,
    _admin: Admin,
    query: web::Query<ListAccountsQuery>,
) -> AppResult<HttpResponse> {
    let query = query.into_inner();
    let mut v = Validator::new();
    let role = query
        .role
        .as_deref()
        .and_then(|r| v.check("role", r.parse::<Role>()));
    let page = PageRequest::parse(&mut v, query.limit, query.cursor.as_deref());
    let q = query
        .q
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(str::to_owned);
    if q.as_ref().is_some_and(|q| q.chars().count() > 200) {
        v.add("q", "must be at most 200 characters");
    }
    v.finish()?;
    let accounts = accounts::list_accounts(
        &state,
        AccountFilter {
            role,
            disabled: query.disabled,
            q,
        },
        &page,
    )
    .await?;
    Ok(HttpResponse::Ok().json(accounts))
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateAccountRequest {
    #[schema(value_type = Option<Role>)]
    pub role: Option<String>,
    /// True disables the account and ends its sessions; false enables it again.
    pub disabled: Option<bool>,
}

/// Changes an account's role or disables it, for admins. Admins cannot disable or demote
/// themselves (409 `cannot_disable_self`, `cannot_demote_self`), so the partnership always
/// keeps an admin.
#[utoipa::path(patch, path = "/api/v1/accounts/{id}", tag = "accounts",
    params(("id" = Uuid, Path, description = "the account's id")),
    request_body = UpdateAccountRequest, security(("bearer" = [])),
    responses((status = 200, body = AccountView),
              (status = 409, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
#[patch("/accounts/{id}")]
async fn update_account(
    state: web::Data<Context>,
    admin: Admin,
    path: web::Path<Uuid>,
    body: Json<UpdateAccountRequest>,
) -> AppResult<HttpResponse> {
    let body = body.into_inner();
    let mut v = Validator::new();
    let role = body
        .role
        .as_deref()
        .and_then(|r| v.check("role", r.parse::<Role>()));
    v.finish()?;
    let account = accounts::update_account(
        &state,
        admin.0.account.id,
        path.into_inner(),
        AccountChanges {
            role,
            disabled: body.disabled,
        },
    )
    .await?;
    Ok(HttpResponse::Ok().json(account_view(&account)))
}

use actix_web::cookie::{time, Cookie, SameSite};
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::app::{AppState, State};
use crate::auth::extract::{presented_token, AuthUser, SESSION_COOKIE};
use crate::auth::model::{AccountView, Role};
use crate::auth::service::{self, account_view, NewAccountInput};
use crate::error::{AppResult, Problem};

#[derive(OpenApi)]
#[openapi(
    paths(signup, login, logout, me),
    components(schemas(AccountView, LoginResponse, LoginUser))
)]
pub struct Api;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(signup)
        .service(login)
        .service(logout)
        .service(me);
}

#[derive(Deserialize, ToSchema)]
pub struct SignupRequest {
    pub email: String,
    #[schema(value_type = String, min_length = 8, max_length = 128)]
    pub password: SecretString,
    pub name: String,
}

/// Creates a member account and emails a link to verify the address.
#[utoipa::path(post, path = "/api/v1/auth/signup", tag = "auth", request_body = SignupRequest,
    responses((status = 201, body = AccountView),
              (status = 409, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
#[post("/auth/signup")]
async fn signup(state: State, body: web::Json<SignupRequest>) -> AppResult<HttpResponse> {
    let body = body.into_inner();
    let input = NewAccountInput::parse_signup(&body.email, &body.name, body.password)?;
    let (account, person) = service::create_account(&state, input).await?;
    Ok(HttpResponse::Created().json(account_view(&account, &person)))
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
/// per account and per address (429 with Retry-After).
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse),
              (status = 401, body = Problem, content_type = "application/problem+json"),
              (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 429, body = Problem, content_type = "application/problem+json")))]
#[post("/auth/login")]
async fn login(
    state: State,
    req: HttpRequest,
    body: web::Json<LoginRequest>,
) -> AppResult<HttpResponse> {
    let body = body.into_inner();
    let client_ip = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let success = service::login(&state, &body.email, body.password, &client_ip).await?;
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
            email: success.person.email,
            name: success.person.name,
            role: success.account.role,
        },
    }))
}

fn session_cookie(state: &AppState, value: String, expires_at: DateTime<Utc>) -> Cookie<'static> {
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
    responses((status = 204),
              (status = 401, body = Problem, content_type = "application/problem+json")))]
#[post("/auth/logout")]
async fn logout(state: State, req: HttpRequest, _user: AuthUser) -> AppResult<HttpResponse> {
    if let Some(token) = presented_token(&req) {
        service::logout(&state, &token).await?;
    }
    let mut expired = Cookie::build(SESSION_COOKIE, "").path("/").finish();
    expired.make_removal();
    Ok(HttpResponse::NoContent().cookie(expired).finish())
}

/// The logged-in account.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = AccountView),
              (status = 401, body = Problem, content_type = "application/problem+json")))]
#[get("/me")]
async fn me(user: AuthUser) -> HttpResponse {
    HttpResponse::Ok().json(account_view(&user.account, &user.person))
}

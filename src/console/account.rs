//! The public account pages: sign in (`/login`), sign out (`POST /logout`), sign up
//! (`/signup`), and `/account` (who I am, my registrations and invitations). They call the
//! same service functions as `/api/v1/auth/*` and `/api/v1/me/*`.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;
use secrecy::SecretString;

use super::{error_page, safe_next, see_other, signed_in, Chrome, Errors, Form};
use crate::auth::extract::presented_token;
use crate::auth::model::Role;
use crate::auth::routes::{expired_session_cookie, session_cookie};
use crate::auth::signup::{self, NewAccountInput};
use crate::auth::MaybeUser;
use crate::auth::{login, password_reset};
use crate::client_addr::ClientAddr;
use crate::context::Context;
use crate::db::page::PageRequest;
use crate::error::{AppError, Code};
use crate::invitations::types::MyInvitationView;
use crate::mail::MailQuota;
use crate::pages::{html, MessagePage};
use crate::people::EmailAddress;
use crate::registrations::lists::{self, ListParams};
use crate::registrations::model::MyRegistrationView;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(login_page)
        .service(login_submit)
        .service(logout)
        .service(signup_page)
        .service(signup_submit)
        .service(forgot_password_page)
        .service(forgot_password_submit)
        .service(account_page);
}

#[derive(Template)]
#[template(path = "console/login.html")]
struct LoginPage {
    email: String,
    next: String,
    errors: Errors,
    notice: Option<&'static str>,
}

/// What a `?done=` on the sign-in page says.
fn login_notice(done: &str) -> Option<&'static str> {
    match done {
        "signed-out" => Some("You are signed out."),
        "password" => Some("Your password has been changed: sign in with the new one."),
        "verified" => Some("Your email address is verified: sign in to continue."),
        _ => None,
    }
}

fn query(req: &HttpRequest, name: &str) -> String {
    Form::parse(req.query_string().as_bytes())
        .get(name)
        .to_owned()
}

/// Where to go once signed in: the page that asked, else the console for admins, their
/// dialogues for organisers, else the account page.
fn destination(next: &str, role: Role) -> String {
    match (safe_next(next), role) {
        (Some(next), _) => next.to_owned(),
        (None, Role::Admin) => "/manage".to_owned(),
        (None, Role::Organizer) => "/manage/events".to_owned(),
        (None, Role::Member) => "/account".to_owned(),
    }
}

#[get("/login")]
async fn login_page(req: HttpRequest, user: MaybeUser) -> HttpResponse {
    let next = query(&req, "next");
    if let Some(user) = user.0 {
        return see_other(&destination(&next, user.account.role));
    }
    html(
        StatusCode::OK,
        &LoginPage {
            email: String::new(),
            next: safe_next(&next).unwrap_or_default().to_owned(),
            errors: Errors::default(),
            notice: login_notice(&query(&req, "done")),
        },
    )
}

/// Signs in with the API's login service and sets the same session cookie.
#[post("/login")]
async fn login_submit(
    state: web::Data<Context>,
    client: ClientAddr,
    body: web::Bytes,
) -> HttpResponse {
    let form = Form::parse(&body);
    let email = form.get("email").trim().to_owned();
    let next = safe_next(form.get("next")).unwrap_or_default().to_owned();
    let mut errors = Errors::default();
    if email.is_empty() {
        errors.add("email", "Enter your email address.");
    }
    if form.get("password").is_empty() {
        errors.add("password", "Enter your password.");
    }
    if errors.is_empty() {
        let password = SecretString::from(form.get("password").to_owned());
        match login::login(&state, &email, password, client).await {
            Ok(success) => {
                let cookie = session_cookie(
                    &state,
                    success.token.expose().to_owned(),
                    success.expires_at,
                );
                let to = destination(&next, success.account.role);
                let mut res = see_other(&to);
                if let Err(e) = res.add_cookie(&cookie) {
                    tracing::error!(error = %e, "setting the session cookie failed");
                }
                return res;
            }
            Err(AppError::Problem { code, detail, .. }) => match code {
                Code::InvalidCredentials => errors.add(
                    "password",
                    "This email address and password do not match an account. Check both and try again.",
                ),
                _ => errors.add("email", crate::pages::sentence(&detail)),
            },
            Err(e) => return error_page(e),
        }
    }
    html(
        StatusCode::UNPROCESSABLE_ENTITY,
        &LoginPage {
            email,
            next,
            errors,
            notice: None,
        },
    )
}

/// Ends this browser's session (the API's logout service) and clears the cookie.
#[post("/logout")]
async fn logout(state: web::Data<Context>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let form = Form::parse(&body);
    if let Err(refused) = form.check_csrf(&req) {
        return refused;
    }
    if let Some(token) = presented_token(&req) {
        if let Err(e) = login::logout(&state, &token).await {
            return error_page(e);
        }
    }
    let mut res = see_other("/login?done=signed-out");
    if let Err(e) = res.add_cookie(&expired_session_cookie(&state)) {
        tracing::error!(error = %e, "clearing the session cookie failed");
    }
    res
}

#[derive(Template)]
#[template(path = "console/signup.html")]
struct SignupPage {
    name: String,
    email: String,
    errors: Errors,
}

#[get("/signup")]
async fn signup_page() -> HttpResponse {
    html(
        StatusCode::OK,
        &SignupPage {
            name: String::new(),
            email: String::new(),
            errors: Errors::default(),
        },
    )
}

/// Signs up through the API's service; the answer is the same whether or not the address
/// already has an account (the email says which).
#[post("/signup")]
async fn signup_submit(
    state: web::Data<Context>,
    quota: MailQuota,
    body: web::Bytes,
) -> HttpResponse {
    let form = Form::parse(&body);
    let (name, email) = (form.get("name").to_owned(), form.get("email").to_owned());
    let password = SecretString::from(form.get("password").to_owned());
    let result = match NewAccountInput::parse_signup(&email, &name, password) {
        Ok(input) => signup::signup(&state, input, &quota).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => MessagePage::new("Check your email")
            .paragraph(format!(
                "A message to {} says what to do next. Open the link in it to confirm your address.",
                email.trim()
            ))
            .paragraph("Nothing arrived after a few minutes? Look in your spam folder, or sign up again.")
            .link("/login", "Go to the sign-in page")
            .respond(StatusCode::ACCEPTED),
        Err(AppError::Validation(errors)) => html(
            StatusCode::UNPROCESSABLE_ENTITY,
            &SignupPage {
                name,
                email,
                errors: Errors(
                    errors
                        .into_iter()
                        .map(|e| {
                            let message = format!(
                                "{}: {}",
                                match e.field.as_str() {
                                    "email" => "Email",
                                    "name" => "Name",
                                    "password" => "Password",
                                    other => other,
                                },
                                e.message
                            );
                            crate::error::FieldError::new(e.field, message)
                        })
                        .collect(),
                ),
            },
        ),
        Err(e) => error_page(e),
    }
}

#[derive(Template)]
#[template(path = "console/forgot_password.html")]
struct ForgotPasswordPage {
    email: String,
    errors: Errors,
}

#[get("/forgot-password")]
async fn forgot_password_page() -> HttpResponse {
    html(
        StatusCode::OK,
        &ForgotPasswordPage {
            email: String::new(),
            errors: Errors::default(),
        },
    )
}

/// Asks the API's service for a reset link; the answer is the same whether or not the address
/// has an account.
#[post("/forgot-password")]
async fn forgot_password_submit(
    state: web::Data<Context>,
    quota: MailQuota,
    body: web::Bytes,
) -> HttpResponse {
    let form = Form::parse(&body);
    let email = form.get("email").to_owned();
    let address = match EmailAddress::parse(&email) {
        Ok(address) => address,
        Err(e) => {
            return html(
                StatusCode::UNPROCESSABLE_ENTITY,
                &ForgotPasswordPage {
                    email,
                    errors: Errors(vec![crate::error::FieldError::new(
                        "email",
                        format!("Email: {e}"),
                    )]),
                },
            )
        }
    };
    match password_reset::request_password_reset(&state, &address, &quota).await {
        Ok(()) => MessagePage::new("Check your email")
            .paragraph(format!(
                "If {} belongs to an account, a link to choose a new password is on its way. It is valid for one hour.",
                address.as_str()
            ))
            .link("/login", "Go to the sign-in page")
            .respond(StatusCode::ACCEPTED),
        Err(e) => error_page(e),
    }
}

#[derive(Template)]
#[template(path = "console/account.html")]
struct AccountPage {
    chrome: Chrome,
    done: Option<&'static str>,
    verified: bool,
    registrations: Vec<MyRegistrationView>,
    invitations: Vec<MyInvitationView>,
}

/// The signed-in account: its name and address, and (once the address is verified) the
/// person's registrations and invitations, read with the services behind `/me/*`.
#[get("/account")]
async fn account_page(state: web::Data<Context>, req: HttpRequest) -> HttpResponse {
    let (user, chrome) = match signed_in(&req).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let (mut registrations, mut invitations) = (Vec::new(), Vec::new());
    if let Some(person) = user.person() {
        let loaded = async {
            let mut conn = state.pool.get().await?;
            let params = ListParams::parse(None, None, None)?;
            let regs = lists::my_page(&mut conn, person.id, &params).await?;
            let page = PageRequest {
                limit: crate::db::page::DEFAULT_LIMIT,
                after: None,
            };
            let invs = crate::invitations::answer::list_mine(&mut conn, person.id, &page).await?;
            Ok::<_, AppError>((regs.items, invs.items))
        };
        match loaded.await {
            Ok((r, i)) => (registrations, invitations) = (r, i),
            Err(e) => return error_page(e),
        }
    }
    html(
        StatusCode::OK,
        &AccountPage {
            chrome,
            done: None,
            verified: user.email_verified(),
            registrations,
            invitations,
        },
    )
}

impl AccountPage {
    fn words(&self, code: &str) -> String {
        super::words(code)
    }
}

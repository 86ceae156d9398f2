//! Accounts in the console: the list (`/manage/accounts`, search by name or email, filters by
//! role and by disabled, pages like the API's), an account's page with its role form, and
//! the confirmation pages that disable or re-enable it. Every change goes through
//! `auth::accounts::update_account`, the service behind `PATCH /api/v1/accounts/{id}`, which
//! writes the audit entry and keeps the partnership with at least one enabled admin.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;
use uuid::Uuid;

use super::audit::{entries, zone_caption, Entry, DEFAULT_ZONE};
use super::{admin, admin_form, error_page, see_other, words, Chrome, Errors, Form};
use crate::audit::service::AuditFilter;
use crate::auth::accounts::{self, AccountChanges, AccountFilter};
use crate::auth::model::{Account, AccountView, Role};
use crate::context::Context;
use crate::db::page::PageRequest;
use crate::error::{AppError, Code, Validator};
use crate::pages::{html, sentence};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list)
        .service(details)
        .service(change_role)
        .service(confirm_page)
        .service(confirm_submit);
}

const ROLES: [Role; 3] = [Role::Member, Role::Organizer, Role::Admin];

/// What each role may do, for the role form and the list's filter.
pub struct RoleChoice {
    pub code: &'static str,
    pub label: &'static str,
}

fn role_choices() -> Vec<RoleChoice> {
    ROLES
        .iter()
        .map(|r| RoleChoice {
            code: r.as_str(),
            label: match r {
                Role::Member => "Member: registers and answers invitations",
                Role::Organizer => "Organiser: also runs dialogues",
                Role::Admin => "Admin: also manages the partnership and its accounts",
            },
        })
        .collect()
}

#[derive(Template)]
#[template(path = "console/accounts.html")]
struct ListPage {
    chrome: Chrome,
    done: Option<&'static str>,
    q: String,
    role: String,
    disabled: String,
    errors: Errors,
    rows: Vec<AccountView>,
    next_page: Option<String>,
    roles: Vec<RoleChoice>,
}

/// The accounts in creation order, narrowed like `GET /api/v1/accounts`.
#[get("/manage/accounts")]
async fn list(state: web::Data<Context>, req: HttpRequest) -> HttpResponse {
    let (_admin, chrome) = match admin(&req).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let query = Form::parse(req.query_string().as_bytes());
    let q = query.get("q").trim().to_owned();
    let role = query.get("role").trim().to_owned();
    let disabled = query.get("disabled").trim().to_owned();
    let cursor = query.get("cursor").trim().to_owned();
    let mut v = Validator::new();
    if q.chars().count() > 200 {
        v.add("q", "must be at most 200 characters");
    }
    let role_filter = (!role.is_empty())
        .then(|| v.check("role", role.parse::<Role>()))
        .flatten();
    let disabled_filter = match disabled.as_str() {
        "" => None,
        "yes" => Some(true),
        "no" => Some(false),
        _ => {
            v.add("disabled", "must be yes, no or empty");
            None
        }
    };
    let page: PageRequest<Uuid> = PageRequest::parse(&mut v, None, Some(&cursor));
    let (mut rows, mut next_page, mut errors) = (Vec::new(), None, Errors::default());
    match v.finish() {
        Err(AppError::Validation(found)) => errors = Errors(found),
        Err(e) => return error_page(e),
        Ok(()) => {
            let filter = AccountFilter {
                role: role_filter,
                disabled: disabled_filter,
                q: (!q.is_empty()).then(|| q.clone()),
            };
            match accounts::list_accounts(&state, filter, &page).await {
                Ok(found) => {
                    rows = found.items;
                    next_page = found.next_cursor.map(|c| {
                        let filters = [("q", q.as_str()), ("role", &role), ("disabled", &disabled)];
                        super::next_page_address("/manage/accounts", &filters, &c)
                    });
                }
                Err(e) => return error_page(e),
            }
        }
    }
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    html(
        status,
        &ListPage {
            chrome,
            done: None,
            q,
            role,
            disabled,
            errors,
            rows,
            next_page,
            roles: role_choices(),
        },
    )
}

#[derive(Template)]
#[template(path = "console/account_details.html")]
struct DetailsPage {
    chrome: Chrome,
    done: Option<&'static str>,
    account: Account,
    /// Whether this is the signed-in admin's own account.
    own: bool,
    role: String,
    errors: Errors,
    roles: Vec<RoleChoice>,
    changes: Vec<Entry>,
    zone: String,
    collapse_changes: bool,
}

impl DetailsPage {
    fn words(&self, code: &str) -> String {
        words(code)
    }
}

fn done_message(done: &str) -> Option<&'static str> {
    match done {
        "role" => Some("The role was changed."),
        "unchanged" => Some("Nothing was changed: the account already had this role."),
        "disable" => Some("The account was disabled and signed out everywhere."),
        "enable" => Some("The account was enabled again: its owner can sign in."),
        _ => None,
    }
}

async fn details_page(
    state: &web::Data<Context>,
    chrome: Chrome,
    admin_id: Uuid,
    id: Uuid,
    done: Option<&'static str>,
    edited: Option<(String, Errors)>,
) -> HttpResponse {
    let loaded = async {
        let mut conn = state.pool.get().await?;
        let account = accounts::load_account(&mut conn, id).await?;
        let filter = AuditFilter {
            target_id: Some(id),
            ..Default::default()
        };
        let history = entries(&mut conn, &filter, 10).await?;
        Ok::<_, AppError>((account, history))
    };
    let (account, history) = match loaded.await {
        Ok(loaded) => loaded,
        Err(e) => return error_page(e),
    };
    let (role, errors, status) = match edited {
        Some((role, errors)) => (role, errors, StatusCode::UNPROCESSABLE_ENTITY),
        None => (
            account.role.as_str().to_owned(),
            Errors::default(),
            StatusCode::OK,
        ),
    };
    html(
        status,
        &DetailsPage {
            chrome,
            done,
            own: account.id == admin_id,
            account,
            role,
            errors,
            roles: role_choices(),
            changes: history,
            zone: zone_caption(&DEFAULT_ZONE),
            collapse_changes: false,
        },
    )
}

#[get("/manage/accounts/{id}")]
async fn details(state: web::Data<Context>, req: HttpRequest, id: web::Path<Uuid>) -> HttpResponse {
    let (admin, chrome) = match admin(&req).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let done = done_message(Form::parse(req.query_string().as_bytes()).get("done"));
    details_page(&state, chrome, admin.account.id, *id, done, None).await
}

/// A refusal of the service that is about the role field: shown next to it.
fn role_error(e: &AppError) -> Option<String> {
    match e {
        AppError::Problem { code, detail, .. }
            if matches!(*code, Code::CannotDemoteSelf | Code::LastAdmin) =>
        {
            Some(sentence(detail))
        }
        _ => None,
    }
}

/// Changes the account's role through the service behind `PATCH /api/v1/accounts/{id}`.
#[post("/manage/accounts/{id}/role")]
async fn change_role(
    state: web::Data<Context>,
    req: HttpRequest,
    id: web::Path<Uuid>,
    body: web::Bytes,
) -> HttpResponse {
    let (admin, chrome, form) = match admin_form(&req, &body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let typed = form.get("role").trim().to_owned();
    let changed = async {
        let mut v = Validator::new();
        let role = v.check("role", typed.parse::<Role>());
        v.finish()?;
        let before = {
            let mut conn = state.pool.get().await?;
            accounts::load_account(&mut conn, *id).await?
        };
        let after = accounts::update_account(
            &state,
            admin.account.id,
            *id,
            AccountChanges {
                role,
                disabled: None,
            },
        )
        .await?;
        Ok::<_, AppError>(after.role != before.role)
    };
    match changed.await {
        Ok(changed) => {
            let done = if changed { "role" } else { "unchanged" };
            see_other(&format!("/manage/accounts/{id}?done={done}"))
        }
        Err(AppError::Validation(errors)) => {
            let errors = Errors(errors);
            details_page(
                &state,
                chrome,
                admin.account.id,
                *id,
                None,
                Some((typed, errors)),
            )
            .await
        }
        Err(e) => match role_error(&e) {
            Some(message) => {
                let mut errors = Errors::default();
                errors.add("role", message);
                details_page(
                    &state,
                    chrome,
                    admin.account.id,
                    *id,
                    None,
                    Some((typed, errors)),
                )
                .await
            }
            None => error_page(e),
        },
    }
}

/// Disabling or enabling an account again, each behind a confirmation page.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Switch {
    Disable,
    Enable,
}

impl Switch {
    fn parse(raw: &str) -> Option<Switch> {
        match raw {
            "disable" => Some(Switch::Disable),
            "enable" => Some(Switch::Enable),
            _ => None,
        }
    }

    fn path(self) -> &'static str {
        match self {
            Switch::Disable => "disable",
            Switch::Enable => "enable",
        }
    }

    /// The confirmation page's heading, what will happen, and its button.
    fn explain(self, account: &Account) -> (String, Vec<String>, &'static str) {
        let who = format!("{} ({})", account.name, account.email);
        match self {
            Switch::Disable => (
                format!("Disable the account of {who}?"),
                vec![
                    "They are signed out everywhere at once and cannot sign in until an admin enables the account again.".to_owned(),
                    "Their person, affiliations, registrations and invitations are kept; emails about them still reach their address.".to_owned(),
                ],
                "Disable the account",
            ),
            Switch::Enable => (
                format!("Enable the account of {who} again?"),
                vec![format!(
                    "They can sign in again with their password, as {}.",
                    words(account.role.as_str())
                )],
                "Enable the account",
            ),
        }
    }
}

#[derive(Template)]
#[template(path = "console/account_confirm.html")]
struct ConfirmPage {
    chrome: Chrome,
    done: Option<&'static str>,
    account: Account,
    heading: String,
    consequences: Vec<String>,
    button: &'static str,
    path: &'static str,
}

/// Says what disabling or enabling will do and asks for confirmation; changes nothing.
#[get("/manage/accounts/{id}/{switch}")]
async fn confirm_page(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<(Uuid, String)>,
) -> HttpResponse {
    let (_admin, chrome) = match admin(&req).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let (id, raw) = path.into_inner();
    let Some(switch) = Switch::parse(&raw) else {
        return crate::pages::not_found("There is no such page.");
    };
    let found = async {
        let mut conn = state.pool.get().await?;
        accounts::load_account(&mut conn, id).await
    };
    let account = match found.await {
        Ok(account) => account,
        Err(e) => return error_page(e),
    };
    let (heading, consequences, button) = switch.explain(&account);
    html(
        StatusCode::OK,
        &ConfirmPage {
            chrome,
            done: None,
            account,
            heading,
            consequences,
            button,
            path: switch.path(),
        },
    )
}

/// Disables or enables the account through the service the API uses.
#[post("/manage/accounts/{id}/{switch}")]
async fn confirm_submit(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<(Uuid, String)>,
    body: web::Bytes,
) -> HttpResponse {
    let (admin, _chrome, _form) = match admin_form(&req, &body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let (id, raw) = path.into_inner();
    let Some(switch) = Switch::parse(&raw) else {
        return crate::pages::not_found("There is no such page.");
    };
    let changes = AccountChanges {
        role: None,
        disabled: Some(switch == Switch::Disable),
    };
    match accounts::update_account(&state, admin.account.id, id, changes).await {
        Ok(_) => see_other(&format!("/manage/accounts/{id}?done={}", switch.path())),
        Err(e) => error_page(e),
    }
}

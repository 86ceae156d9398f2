//! A dialogue's partner organisations (picked from the partnership's active members, each
//! with its role) and its staff (organiser and admin accounts added; removed after a
//! confirmation page), on the dialogue's set-up page.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::event::{edit_form, Choice, Failed};
use super::{staff_form, staff_of, ConfirmPage};
use crate::console::{error_page, home::country_name, see_other, words, Errors};
use crate::context::Context;
use crate::db::page::{PageRequest, MAX_LIMIT};
use crate::error::{AppError, AppResult};
use crate::events::model::PartnerRole;
use crate::events::types::{PartnerRequest, PartnerView, StaffRequest};
use crate::events::{partners, staff};
use crate::organizations::model::MembershipStatus;
use crate::organizations::service::{self as orgs, OrganizationFilter};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(add_partner)
        .service(remove_partner)
        .service(add_staff)
        .service(remove_staff_page)
        .service(remove_staff);
}

/// A partner as a line of the set-up page.
pub struct PartnerLine {
    pub organization_id: Uuid,
    pub name: String,
    pub role: String,
}

impl PartnerLine {
    pub fn of(p: PartnerView) -> PartnerLine {
        PartnerLine {
            organization_id: p.organization_id,
            name: p.name,
            role: p.role.label().to_owned(),
        }
    }
}

/// The "add a partner" form, as typed.
#[derive(Default)]
pub struct PartnerForm {
    pub organization_id: String,
    pub role: String,
}

/// The "add to the staff" form, as typed.
#[derive(Default)]
pub struct StaffForm {
    pub account_id: String,
}

pub fn role_choices() -> Vec<Choice> {
    PartnerRole::ALL
        .iter()
        .map(|r| Choice {
            code: r.as_str().to_owned(),
            label: r.label().to_owned(),
        })
        .collect()
}

/// The partnership's active members, by name, as "Name (kind, country)".
pub async fn organization_choices(conn: &mut AsyncPgConnection) -> AppResult<Vec<Choice>> {
    let filter = OrganizationFilter {
        status: Some(MembershipStatus::Active),
        ..Default::default()
    };
    let page = PageRequest {
        limit: MAX_LIMIT,
        after: None,
    };
    Ok(orgs::list(conn, false, &filter, &page)
        .await?
        .items
        .into_iter()
        .map(|o| {
            let short = o
                .short_name
                .as_ref()
                .map(|s| format!(" — {s}"))
                .unwrap_or_default();
            let country = match o.country.as_deref() {
                Some(_) => format!(", {}", country_name(o.country.as_deref())),
                None => String::new(),
            };
            Choice {
                code: o.id.to_string(),
                label: format!("{}{short} ({}{country})", o.name, words(o.kind.as_str())),
            }
        })
        .collect())
}

/// The event's partners as the API's whole-list request.
fn as_requests(partners: &[PartnerView]) -> Vec<PartnerRequest> {
    partners
        .iter()
        .map(|p| PartnerRequest {
            organization_id: Some(p.organization_id.to_string()),
            role: Some(p.role.as_str().to_owned()),
        })
        .collect()
}

/// Adds a partner, or changes the role of one already listed, through the API's whole-list
/// replacement.
#[post("/manage/events/{id}/partners")]
async fn add_partner(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> HttpResponse {
    let (user, chrome, event, form) = match staff_form(&state, &req, *path, &body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let typed = PartnerForm {
        organization_id: form.get("organization_id").trim().to_owned(),
        role: form.get("role").trim().to_owned(),
    };
    let saved = async {
        let mut errors = Errors::default();
        if typed.organization_id.is_empty() {
            errors.add("organization_id", "Pick an organisation.");
        }
        if typed.role.is_empty() {
            errors.add("role", "Pick its role.");
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors.0));
        }
        let mut conn = state.pool.get().await?;
        let current = partners::partners_by_event(&mut conn, &[event.id])
            .await?
            .remove(&event.id)
            .unwrap_or_default();
        let mut list = as_requests(&current);
        let new = PartnerRequest {
            organization_id: Some(typed.organization_id.clone()),
            role: Some(typed.role.clone()),
        };
        let at = list
            .iter()
            .position(|p| p.organization_id == new.organization_id);
        let index = match at {
            Some(i) => {
                list[i] = new;
                i
            }
            None => {
                list.push(new);
                list.len() - 1
            }
        };
        partners::set_partners(
            &mut conn,
            &state.public_views,
            &user,
            &event.id.to_string(),
            list,
        )
        .await
        .map_err(|e| match e {
            // The list's errors name entries by index: only the one added can be wrong.
            AppError::Validation(errors) => AppError::Validation(
                errors
                    .into_iter()
                    .filter_map(|mut e| {
                        let field = e.field.strip_prefix(&format!("[{index}]."))?.to_owned();
                        e.field = field;
                        e.message = crate::pages::sentence(&e.message);
                        Some(e)
                    })
                    .collect(),
            ),
            e => e,
        })
    };
    match saved.await {
        Ok(_) => see_other(&format!(
            "/manage/events/{}/edit?done=partner_saved#partners",
            event.id
        )),
        Err(AppError::Validation(errors)) => {
            edit_form(
                &state,
                chrome,
                event,
                None,
                Failed::Partner(typed, Errors(errors)),
            )
            .await
        }
        Err(e) => error_page(e),
    }
}

#[post("/manage/events/{id}/partners/{organization}/remove")]
async fn remove_partner(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<(Uuid, String)>,
    body: web::Bytes,
) -> HttpResponse {
    let (id, organization) = path.into_inner();
    let (user, _chrome, event, _form) = match staff_form(&state, &req, id, &body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let saved = async {
        let mut conn = state.pool.get().await?;
        let current = partners::partners_by_event(&mut conn, &[event.id])
            .await?
            .remove(&event.id)
            .unwrap_or_default();
        let list: Vec<PartnerRequest> = as_requests(&current)
            .into_iter()
            .filter(|p| p.organization_id.as_deref() != Some(organization.as_str()))
            .collect();
        partners::set_partners(
            &mut conn,
            &state.public_views,
            &user,
            &event.id.to_string(),
            list,
        )
        .await
    };
    match saved.await {
        Ok(_) => see_other(&format!(
            "/manage/events/{}/edit?done=partner_removed#partners",
            event.id
        )),
        Err(e) => error_page(e),
    }
}

#[post("/manage/events/{id}/staff")]
async fn add_staff(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> HttpResponse {
    let (user, chrome, event, form) = match staff_form(&state, &req, *path, &body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let typed = StaffForm {
        account_id: form.get("account_id").trim().to_owned(),
    };
    let added = async {
        if typed.account_id.is_empty() {
            return Err(AppError::invalid("account_id", "Pick an account."));
        }
        let mut conn = state.pool.get().await?;
        let request = StaffRequest {
            account_id: Some(typed.account_id.clone()),
        };
        staff::add_staff(&mut conn, &user, &event.id.to_string(), request).await
    };
    match added.await {
        Ok(_) => see_other(&format!(
            "/manage/events/{}/edit?done=staff_added#staff",
            event.id
        )),
        Err(AppError::Validation(errors)) => {
            edit_form(
                &state,
                chrome,
                event,
                None,
                Failed::Staff(typed, Errors(errors)),
            )
            .await
        }
        Err(e) => error_page(e),
    }
}

/// Says who leaves the staff (or why they cannot) and asks for confirmation.
#[get("/manage/events/{id}/staff/{account}/remove")]
async fn remove_staff_page(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<(Uuid, Uuid)>,
) -> HttpResponse {
    let (id, account_id) = path.into_inner();
    let (_user, chrome, event) = match staff_of(&state, &req, id).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let found = async {
        let mut conn = state.pool.get().await?;
        staff::staff_of(&mut conn, event.id).await
    };
    let list = match found.await {
        Ok(list) => list,
        Err(e) => return error_page(e),
    };
    let Some(member) = list.iter().find(|s| s.account_id == account_id) else {
        return error_page(AppError::not_found("staff member"));
    };
    ConfirmPage {
        chrome,
        done: None,
        heading: format!("Take {} off the staff?", member.name),
        about: vec![
            event.title.clone(),
            format!("{} ({})", member.name, member.email),
        ],
        consequences: vec![format!(
            "{} will no longer see or change this dialogue, unless they are an admin.",
            member.name
        )],
        told_heading: "Nobody is emailed.".to_owned(),
        told: Vec::new(),
        action: format!("/manage/events/{}/staff/{account_id}/remove", event.id),
        hidden: Vec::new(),
        button: "Take them off the staff".to_owned(),
        danger: true,
        back: format!("/manage/events/{}/edit#staff", event.id),
        refused: (list.len() == 1).then(|| {
            "They are the dialogue's only staff member: add someone else first.".to_owned()
        }),
        errors: Errors::default(),
    }
    .respond()
}

#[post("/manage/events/{id}/staff/{account}/remove")]
async fn remove_staff(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<(Uuid, Uuid)>,
    body: web::Bytes,
) -> HttpResponse {
    let (id, account_id) = path.into_inner();
    let (user, _chrome, event, _form) = match staff_form(&state, &req, id, &body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let removed = async {
        let mut conn = state.pool.get().await?;
        staff::remove_staff(&mut conn, &user, &event.id.to_string(), account_id).await
    };
    match removed.await {
        // Someone who took themselves off no longer runs the dialogue.
        Ok(()) if account_id == user.account.id && !user.is_admin() => see_other("/manage/events"),
        Ok(()) => see_other(&format!(
            "/manage/events/{}/edit?done=staff_removed#staff",
            event.id
        )),
        Err(e) => error_page(e),
    }
}

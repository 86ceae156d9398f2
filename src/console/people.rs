//! People in the console: the directory (`/manage/people`, search by name or email, pages
//! like the API's), a person's page (details and their edit form, affiliations with "add to
//! an organisation" and "end", registrations, invitations, history), and the confirmation
//! page that ends an affiliation. Every change goes through the service the API uses.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;
use uuid::Uuid;

use super::audit::{entries, zone_caption, Entry, DEFAULT_ZONE};
use super::{admin, admin_form, error_page, see_other, words, Chrome, Errors, Form};
use crate::audit::service::AuditFilter;
use crate::auth::model::Account;
use crate::context::Context;
use crate::db::page::{NameAndId, PageRequest};
use crate::error::{AppError, Code, Validator};
use crate::invitations::types::MyInvitationView;
use crate::organizations::members::{self, Who};
use crate::organizations::model::MembershipStatus;
use crate::organizations::service::{self as orgs, OrganizationFilter};
use crate::pages::{html, sentence};
use crate::people::model::{Person, PersonView};
use crate::people::routes::UpdatePersonRequest;
use crate::people::service::{
    self as people, parse_position, AffiliationChange, PersonAffiliation,
};
use crate::registrations::lists::{self, ListParams};
use crate::registrations::model::MyRegistrationView;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(directory)
        .service(details)
        .service(edit)
        .service(affiliate)
        .service(end_page)
        .service(end_submit);
}

#[derive(Template)]
#[template(path = "console/people.html")]
struct DirectoryPage {
    chrome: Chrome,
    done: Option<&'static str>,
    q: String,
    errors: Errors,
    rows: Vec<PersonView>,
    next_page: Option<String>,
}

/// Everyone the partnership knows, by name; `q` finds a part of a name or an address.
#[get("/manage/people")]
async fn directory(state: web::Data<Context>, req: HttpRequest) -> HttpResponse {
    let (_admin, chrome) = match admin(&req).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let query = Form::parse(req.query_string().as_bytes());
    let q = query.get("q").trim().to_owned();
    let cursor = query.get("cursor").trim().to_owned();
    let mut v = Validator::new();
    if q.chars().count() > 200 {
        v.add("q", "must be at most 200 characters");
    }
    let page: PageRequest<NameAndId> = PageRequest::parse(&mut v, None, Some(&cursor));
    let (mut rows, mut next_page, mut errors) = (Vec::new(), None, Errors::default());
    match v.finish() {
        Err(AppError::Validation(found)) => errors = Errors(found),
        Err(e) => return error_page(e),
        Ok(()) => {
            let listed = async {
                let mut conn = state.pool.get().await?;
                people::list(&mut conn, Some(&q), &page).await
            };
            match listed.await {
                Ok(found) => {
                    rows = found.items;
                    next_page = found
                        .next_cursor
                        .map(|c| super::next_page_address("/manage/people", &[("q", &q)], &c));
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
        &DirectoryPage {
            chrome,
            done: None,
            q,
            errors,
            rows,
            next_page,
        },
    )
}

/// The edit form's fields, as typed (or as stored).
pub struct Fields {
    pub name: String,
    pub honorific: String,
    pub email: String,
    pub position: String,
}

impl Fields {
    fn of(person: &Person) -> Fields {
        Fields {
            name: person.name.clone(),
            honorific: person.honorific.clone().unwrap_or_default(),
            email: person.email.clone(),
            position: person.position.clone().unwrap_or_default(),
        }
    }

    fn read(form: &Form) -> Fields {
        Fields {
            name: form.get("name").to_owned(),
            honorific: form.get("honorific").to_owned(),
            email: form.get("email").to_owned(),
            position: form.get("position").to_owned(),
        }
    }

    /// The API's update request: every field is sent, a blank optional one clears it.
    fn request(&self) -> UpdatePersonRequest {
        UpdatePersonRequest {
            email: Some(self.email.clone()),
            name: Some(self.name.clone()),
            honorific: Some(Some(self.honorific.clone())),
            position: Some(Some(self.position.clone())),
        }
    }
}

/// The "add to an organisation" form, as typed.
#[derive(Default)]
pub struct Adding {
    pub organization_id: String,
    pub position: String,
    pub focal_point: bool,
}

/// An organisation a person may be added to.
pub struct OrgChoice {
    pub id: Uuid,
    pub label: String,
}

#[derive(Template)]
#[template(path = "console/person.html")]
struct DetailsPage {
    chrome: Chrome,
    done: Option<&'static str>,
    person: Person,
    account: Option<Account>,
    fields: Fields,
    errors: Errors,
    affiliations: Vec<PersonAffiliation>,
    organizations: Vec<OrgChoice>,
    adding: Adding,
    add_errors: Errors,
    registrations: Vec<MyRegistrationView>,
    invitations: Vec<MyInvitationView>,
    changes: Vec<Entry>,
    zone: String,
    collapse_changes: bool,
}

impl DetailsPage {
    fn words(&self, code: &str) -> String {
        words(code)
    }
}

/// What a `?done=` on a person's page says.
fn done_message(done: &str) -> Option<&'static str> {
    match done {
        "updated" => Some("The person's details were saved."),
        "unchanged" => Some("Nothing was changed: the details were already as submitted."),
        "affiliated" => Some("The affiliation was saved."),
        "ended" => Some("The affiliation was ended."),
        _ => None,
    }
}

/// Every organisation that is not withdrawn, by name, for the "add to an organisation" list.
async fn live_organizations(
    conn: &mut diesel_async::AsyncPgConnection,
) -> Result<Vec<OrgChoice>, AppError> {
    let mut choices = Vec::new();
    let mut after = None;
    // A few pages at most: the partnership has hundreds of organisations, not thousands.
    for _ in 0..10 {
        let page = PageRequest {
            limit: crate::db::page::MAX_LIMIT,
            after,
        };
        let found = orgs::list(conn, true, &OrganizationFilter::default(), &page).await?;
        for org in found.items {
            if org.status == MembershipStatus::Withdrawn {
                continue;
            }
            let label = match &org.short_name {
                Some(short) => format!("{} ({short})", org.name),
                None => org.name.clone(),
            };
            choices.push(OrgChoice { id: org.id, label });
        }
        match found.next_cursor {
            Some(cursor) => {
                let mut v = Validator::new();
                after = PageRequest::<NameAndId>::parse(&mut v, None, Some(&cursor)).after;
                if after.is_none() {
                    break;
                }
            }
            None => break,
        }
    }
    Ok(choices)
}

/// Loads a person's page: the person, their account, affiliations, registrations,
/// invitations and history.
async fn details_page(
    state: &web::Data<Context>,
    chrome: Chrome,
    id: Uuid,
    done: Option<&'static str>,
    edited: Option<(Fields, Errors)>,
    added: Option<(Adding, Errors)>,
) -> HttpResponse {
    let loaded = async {
        let mut conn = state.pool.get().await?;
        let person = people::find(&mut conn, id)
            .await?
            .ok_or_else(|| AppError::not_found("person"))?;
        let account = crate::auth::accounts::account_of_person(&mut conn, id).await?;
        let affiliations = people::affiliations_of(&mut conn, id).await?;
        let organizations = live_organizations(&mut conn).await?;
        let params = ListParams::parse(None, Some(crate::db::page::MAX_LIMIT), None)?;
        let registrations = lists::my_page(&mut conn, id, &params).await?.items;
        let page = PageRequest {
            limit: crate::db::page::MAX_LIMIT,
            after: None,
        };
        let invitations = crate::invitations::answer::list_mine(&mut conn, id, &page)
            .await?
            .items;
        let filter = AuditFilter {
            target_id: Some(id),
            ..Default::default()
        };
        let history = entries(&mut conn, &filter, 10).await?;
        Ok::<_, AppError>((
            person,
            account,
            affiliations,
            organizations,
            registrations,
            invitations,
            history,
        ))
    };
    let (person, account, affiliations, organizations, registrations, invitations, history) =
        match loaded.await {
            Ok(loaded) => loaded,
            Err(e) => return error_page(e),
        };
    let (fields, errors, mut status) = match edited {
        Some((fields, errors)) => (fields, errors, StatusCode::UNPROCESSABLE_ENTITY),
        None => (Fields::of(&person), Errors::default(), StatusCode::OK),
    };
    let (adding, add_errors) = match added {
        Some(added) => {
            status = StatusCode::UNPROCESSABLE_ENTITY;
            added
        }
        None => (Adding::default(), Errors::default()),
    };
    html(
        status,
        &DetailsPage {
            chrome,
            done,
            person,
            account,
            fields,
            errors,
            affiliations,
            organizations,
            adding,
            add_errors,
            registrations,
            invitations,
            changes: history,
            zone: zone_caption(&DEFAULT_ZONE),
            collapse_changes: false,
        },
    )
}

#[get("/manage/people/{id}")]
async fn details(state: web::Data<Context>, req: HttpRequest, id: web::Path<Uuid>) -> HttpResponse {
    let (_admin, chrome) = match admin(&req).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let done = done_message(Form::parse(req.query_string().as_bytes()).get("done"));
    details_page(&state, chrome, *id, done, None, None).await
}

/// Saves the edit form through the API's parser and the service's update.
#[post("/manage/people/{id}")]
async fn edit(
    state: web::Data<Context>,
    req: HttpRequest,
    id: web::Path<Uuid>,
    body: web::Bytes,
) -> HttpResponse {
    let (admin, chrome, form) = match admin_form(&req, &body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let fields = Fields::read(&form);
    let saved = async {
        let update = fields.request().parse()?;
        let mut conn = state.pool.get().await?;
        let saved = people::update(
            &mut conn,
            &state.public_views,
            admin.account.id,
            *id,
            update,
        )
        .await?;
        Ok::<_, AppError>(saved.changed)
    };
    match saved.await {
        Ok(changed) => {
            let done = if changed { "updated" } else { "unchanged" };
            see_other(&format!("/manage/people/{id}?done={done}"))
        }
        Err(AppError::Validation(errors)) => {
            details_page(
                &state,
                chrome,
                *id,
                None,
                Some((fields, Errors(errors))),
                None,
            )
            .await
        }
        Err(e) if matches!(e.code(), Code::DuplicateEmail | Code::PersonHasAccount) => {
            let mut errors = Errors::default();
            let message = match e.code() {
                Code::DuplicateEmail => "Another person already has this email address.".to_owned(),
                _ => match &e {
                    AppError::Problem { detail, .. } => sentence(detail),
                    _ => String::new(),
                },
            };
            errors.add("email", message);
            details_page(&state, chrome, *id, None, Some((fields, errors)), None).await
        }
        Err(e) => error_page(e),
    }
}

/// Adds the person to an organisation (or changes their position or focal point there)
/// through the service behind `POST /api/v1/organizations/{id}/people`.
#[post("/manage/people/{id}/affiliations")]
async fn affiliate(
    state: web::Data<Context>,
    req: HttpRequest,
    id: web::Path<Uuid>,
    body: web::Bytes,
) -> HttpResponse {
    let (admin, chrome, form) = match admin_form(&req, &body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let adding = Adding {
        organization_id: form.get("organization_id").trim().to_owned(),
        position: form.get("position").to_owned(),
        focal_point: form.get("focal_point") == "yes",
    };
    let result = async {
        let mut v = Validator::new();
        let org_id = if adding.organization_id.is_empty() {
            v.add("organization_id", "Choose an organisation.");
            None
        } else {
            v.check(
                "organization_id",
                adding
                    .organization_id
                    .parse::<Uuid>()
                    .map_err(|_| "is not an organisation"),
            )
        };
        // A blank position leaves an existing one as it is.
        let position = v
            .check("position", parse_position(&adding.position))
            .filter(Option::is_some);
        v.finish()?;
        let org_id =
            org_id.ok_or_else(|| AppError::internal("validator passed with missing fields"))?;
        let mut conn = state.pool.get().await?;
        let org = orgs::find(&mut conn, org_id)
            .await?
            .filter(|o| o.status != MembershipStatus::Withdrawn)
            .ok_or_else(|| AppError::invalid("organization_id", "Choose an organisation."))?;
        members::require_people_manager(&mut conn, &admin, &org).await?;
        let change = AffiliationChange {
            position,
            focal_point: adding.focal_point.then_some(true),
        };
        members::add_person(
            &mut conn,
            Some(admin.account.id),
            org.id,
            Who::Id(*id),
            None,
            change,
        )
        .await
    };
    match result.await {
        Ok(_) => see_other(&format!("/manage/people/{id}?done=affiliated#affiliations")),
        Err(AppError::Validation(errors)) => {
            details_page(
                &state,
                chrome,
                *id,
                None,
                None,
                Some((adding, Errors(errors))),
            )
            .await
        }
        Err(e) => error_page(e),
    }
}

#[derive(Template)]
#[template(path = "console/end_affiliation.html")]
struct EndPage {
    chrome: Chrome,
    done: Option<&'static str>,
    person: Person,
    affiliation: PersonAffiliation,
}

/// Says what ending the affiliation does and asks for confirmation; changes nothing.
#[get("/manage/people/{id}/affiliations/{org}/end")]
async fn end_page(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<(Uuid, Uuid)>,
) -> HttpResponse {
    let (_admin, chrome) = match admin(&req).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let (id, org_id) = path.into_inner();
    let found = async {
        let mut conn = state.pool.get().await?;
        let person = people::find(&mut conn, id)
            .await?
            .ok_or_else(|| AppError::not_found("person"))?;
        let affiliation = people::affiliations_of(&mut conn, id)
            .await?
            .into_iter()
            .find(|a| a.organization_id == org_id)
            .ok_or_else(|| AppError::not_found("affiliation"))?;
        Ok::<_, AppError>((person, affiliation))
    };
    match found.await {
        Ok((person, affiliation)) => html(
            StatusCode::OK,
            &EndPage {
                chrome,
                done: None,
                person,
                affiliation,
            },
        ),
        Err(e) => error_page(e),
    }
}

/// Ends the affiliation through the service behind
/// `DELETE /api/v1/organizations/{id}/people/{person_id}`.
#[post("/manage/people/{id}/affiliations/{org}/end")]
async fn end_submit(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<(Uuid, Uuid)>,
    body: web::Bytes,
) -> HttpResponse {
    let (admin, _chrome, _form) = match admin_form(&req, &body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let (id, org_id) = path.into_inner();
    let ended = async {
        let mut conn = state.pool.get().await?;
        let org = orgs::find(&mut conn, org_id)
            .await?
            .ok_or_else(|| AppError::not_found("organization"))?;
        members::require_people_manager(&mut conn, &admin, &org).await?;
        members::remove_person(&mut conn, Some(admin.account.id), org_id, id).await
    };
    match ended.await {
        Ok(_) => see_other(&format!("/manage/people/{id}?done=ended#affiliations")),
        Err(e) => error_page(e),
    }
}

//! The partnership's organisations in the console: the directory (`/manage/organizations`,
//! search and filters like the API), an organisation's page (details and their edit form,
//! membership and its transitions, people and focal point, history), the membership
//! transitions behind a confirmation page each, and the applications queue
//! (`/manage/applications`: approve, or decline with a reason).

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;
use uuid::Uuid;

use super::audit::{entries, zone_caption, Entry, DEFAULT_ZONE};
use super::home::country_name;
use super::{admin, admin_form, error_page, see_other, words, Chrome, Errors, Form};
use crate::audit::service::AuditFilter;
use crate::context::Context;
use crate::db::page::{NameAndId, PageRequest};
use crate::error::{AppError, Code, Validator};
use crate::events::partnerships::Partnership;
use crate::organizations::country::{Country, CountryCode};
use crate::organizations::members::{self, Who};
use crate::organizations::membership::{self, Transition};
use crate::organizations::model::{MembershipStatus, Organization, OrganizationKind};
use crate::organizations::routes::UpdateOrganizationRequest;
use crate::organizations::service::{self as orgs, OrganizationFilter};
use crate::pages::{countries, html};
use crate::people::model::AffiliateView;
use crate::people::service::{parse_position, AffiliationChange};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(directory)
        .service(applications)
        .service(details)
        .service(edit)
        .service(add_person)
        .service(confirm_page)
        .service(confirm_submit);
}

const KINDS: [OrganizationKind; 7] = [
    OrganizationKind::Government,
    OrganizationKind::RegionalOrganization,
    OrganizationKind::InternationalOrganization,
    OrganizationKind::CivilSociety,
    OrganizationKind::Academia,
    OrganizationKind::ThinkTank,
    OrganizationKind::Other,
];

const STATUSES: [MembershipStatus; 4] = [
    MembershipStatus::Applicant,
    MembershipStatus::Active,
    MembershipStatus::Suspended,
    MembershipStatus::Withdrawn,
];

/// A kind or status as a `<select>` option: its code and its words.
pub struct Choice {
    pub code: &'static str,
    pub label: String,
}

fn kind_choices() -> Vec<Choice> {
    KINDS
        .iter()
        .map(|k| Choice {
            code: k.as_str(),
            label: words(k.as_str()),
        })
        .collect()
}

fn status_choices() -> Vec<Choice> {
    STATUSES
        .iter()
        .map(|s| Choice {
            code: s.as_str(),
            label: words(s.as_str()),
        })
        .collect()
}

/// One organisation as a row of the directory.
pub struct Row {
    pub id: Uuid,
    pub name: String,
    pub short_name: String,
    pub kind: String,
    pub country: String,
    pub status: MembershipStatus,
}

impl Row {
    fn of(org: &Organization) -> Row {
        Row {
            id: org.id,
            name: org.name.clone(),
            short_name: org.short_name.clone().unwrap_or_default(),
            kind: words(org.kind.as_str()),
            country: country_name(org.country.as_deref()),
            status: org.status,
        }
    }
}

#[derive(Template)]
#[template(path = "console/organizations.html")]
struct DirectoryPage {
    chrome: Chrome,
    done: Option<&'static str>,
    q: String,
    status: String,
    kind: String,
    country: String,
    errors: Errors,
    rows: Vec<Row>,
    next_page: Option<String>,
    kinds: Vec<Choice>,
    statuses: Vec<Choice>,
    countries: &'static [Country],
}

/// The query of a directory page, kept as typed so the filter form shows it again.
struct DirectoryQuery {
    q: String,
    status: String,
    kind: String,
    country: String,
    cursor: String,
}

impl DirectoryQuery {
    fn read(req: &HttpRequest) -> DirectoryQuery {
        let form = Form::parse(req.query_string().as_bytes());
        DirectoryQuery {
            q: form.get("q").trim().to_owned(),
            status: form.get("status").trim().to_owned(),
            kind: form.get("kind").trim().to_owned(),
            country: form.get("country").trim().to_owned(),
            cursor: form.get("cursor").trim().to_owned(),
        }
    }

    /// The filter and page, parsed as the API parses them; bad parts are recorded in `v`.
    fn parse(&self, v: &mut Validator) -> (OrganizationFilter, PageRequest<NameAndId>) {
        let status = (!self.status.is_empty())
            .then(|| v.check("status", self.status.parse::<MembershipStatus>()))
            .flatten();
        let kind = (!self.kind.is_empty())
            .then(|| v.check("kind", self.kind.parse::<OrganizationKind>()))
            .flatten();
        let country = (!self.country.is_empty())
            .then(|| v.check("country", CountryCode::parse(&self.country)))
            .flatten();
        if self.q.chars().count() > 200 {
            v.add("q", "must be at most 200 characters");
        }
        let page = PageRequest::parse(v, None, Some(&self.cursor));
        let filter = OrganizationFilter {
            kind,
            country,
            status,
            q: (!self.q.is_empty()).then(|| self.q.clone()),
        };
        (filter, page)
    }

    /// This page's address with another cursor.
    fn with_cursor(&self, cursor: &str) -> String {
        let filters = [
            ("q", self.q.as_str()),
            ("status", &self.status),
            ("kind", &self.kind),
            ("country", &self.country),
        ];
        super::next_page_address("/manage/organizations", &filters, cursor)
    }
}

#[get("/manage/organizations")]
async fn directory(state: web::Data<Context>, req: HttpRequest) -> HttpResponse {
    let (_admin, chrome) = match admin(&req).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let query = DirectoryQuery::read(&req);
    let done = match Form::parse(req.query_string().as_bytes()).get("done") {
        "imported" => Some("The organisations of the file were imported. Each one's history says it came from the file."),
        _ => None,
    };
    let mut v = Validator::new();
    let (filter, page) = query.parse(&mut v);
    let mut errors = Errors::default();
    let mut rows = Vec::new();
    let mut next_page = None;
    match v.finish() {
        Err(AppError::Validation(found)) => errors = Errors(found),
        Err(e) => return error_page(e),
        Ok(()) => {
            let listed = async {
                let mut conn = state.pool.get().await?;
                orgs::list(&mut conn, true, &filter, &page).await
            };
            match listed.await {
                Ok(found) => {
                    rows = found.items.iter().map(Row::of).collect();
                    next_page = found.next_cursor.map(|c| query.with_cursor(&c));
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
            done,
            q: query.q,
            status: query.status,
            kind: query.kind,
            country: query.country,
            errors,
            rows,
            next_page,
            kinds: kind_choices(),
            statuses: status_choices(),
            countries: countries(),
        },
    )
}

/// The edit form's fields, as typed (or as stored).
pub struct Fields {
    pub name: String,
    pub short_name: String,
    pub kind: String,
    pub country: String,
    pub website: String,
    pub contact_name: String,
    pub contact_email: String,
}

impl Fields {
    fn of(org: &Organization) -> Fields {
        Fields {
            name: org.name.clone(),
            short_name: org.short_name.clone().unwrap_or_default(),
            kind: org.kind.as_str().to_owned(),
            country: org.country.clone().unwrap_or_default(),
            website: org.website.clone().unwrap_or_default(),
            contact_name: org.contact_name.clone().unwrap_or_default(),
            contact_email: org.contact_email.clone().unwrap_or_default(),
        }
    }

    fn read(form: &Form) -> Fields {
        let get = |name: &str| form.get(name).to_owned();
        Fields {
            name: get("name"),
            short_name: get("short_name"),
            kind: get("kind"),
            country: get("country"),
            website: get("website"),
            contact_name: get("contact_name"),
            contact_email: get("contact_email"),
        }
    }

    /// The API's update request for these fields: every field is sent, a blank optional one
    /// clears it.
    fn request(&self) -> UpdateOrganizationRequest {
        let optional = |v: &str| Some((!v.trim().is_empty()).then(|| v.to_owned()));
        UpdateOrganizationRequest {
            name: Some(Some(self.name.clone())),
            short_name: optional(&self.short_name),
            kind: Some(Some(self.kind.clone())),
            country: optional(&self.country),
            website: optional(&self.website),
            contact_name: optional(&self.contact_name),
            contact_email: optional(&self.contact_email),
        }
    }
}

/// A membership change offered on an organisation's page.
pub struct Action {
    pub path: &'static str,
    pub label: &'static str,
    pub danger: bool,
}

fn actions(status: MembershipStatus) -> Vec<Action> {
    let action = |path, label, danger| Action {
        path,
        label,
        danger,
    };
    match status {
        MembershipStatus::Applicant => vec![
            action("approve", "Approve the application", false),
            action("decline", "Decline the application", true),
        ],
        MembershipStatus::Active => vec![
            action("suspend", "Suspend membership", true),
            action("withdraw", "Withdraw from the partnership", true),
        ],
        MembershipStatus::Suspended => vec![
            action("reinstate", "Reinstate membership", false),
            action("withdraw", "Withdraw from the partnership", true),
        ],
        MembershipStatus::Withdrawn => Vec::new(),
    }
}

#[derive(Template)]
#[template(path = "console/organization.html")]
struct DetailsPage {
    chrome: Chrome,
    done: Option<&'static str>,
    org: Organization,
    country: String,
    fields: Fields,
    errors: Errors,
    actions: Vec<Action>,
    people: Vec<AffiliateView>,
    adding: Adding,
    add_errors: Errors,
    changes: Vec<Entry>,
    zone: String,
    collapse_changes: bool,
    partnerships: Vec<PartnerEvent>,
    kinds: Vec<Choice>,
    countries: &'static [Country],
}

impl DetailsPage {
    fn words(&self, code: &str) -> String {
        words(code)
    }
}

/// A dialogue the organisation is a partner of, as its page lists it.
pub struct PartnerEvent {
    pub href: String,
    pub title: String,
    pub role: &'static str,
    pub status: String,
    /// When its first session starts, in the dialogue's own zone.
    pub when: String,
}

impl PartnerEvent {
    fn of(p: Partnership) -> PartnerEvent {
        let zone = crate::events::local_time::zone(&p.timezone);
        PartnerEvent {
            href: format!("/manage/events/{}", p.event_id),
            title: p.title,
            role: p.role.label(),
            status: words(p.status.as_str()),
            when: match p.starts_at {
                Some(at) => format!(
                    "{} ({})",
                    crate::events::local_time::format_local(at, &zone),
                    zone.name()
                ),
                None => "No sessions yet".to_owned(),
            },
        }
    }
}

/// What a `?done=` on an organisation's page says.
fn done_message(done: &str) -> Option<&'static str> {
    match done {
        "updated" => Some("The organisation's details were saved."),
        "unchanged" => Some("Nothing was changed: the details were already as submitted."),
        "approve" => Some("The application was approved: the organisation is an active member, its contact is its focal point and has been emailed."),
        "suspend" => Some("The membership was suspended."),
        "reinstate" => Some("The membership was reinstated: the organisation is an active member again."),
        "withdraw" => Some("The organisation was withdrawn from the partnership."),
        "decline" => Some("The application was declined, and the reason emailed to its contact."),
        "person" => Some("The person is affiliated with the organisation."),
        "focal-point" => Some("The focal point was changed."),
        _ => None,
    }
}

/// Loads an organisation's page: the organisation, its people and its history.
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
        let org = orgs::find(&mut conn, id)
            .await?
            .ok_or_else(|| AppError::not_found("organization"))?;
        let page = PageRequest {
            limit: crate::db::page::MAX_LIMIT,
            after: None,
        };
        let people = crate::people::service::list_affiliates(&mut conn, id, &page).await?;
        let filter = AuditFilter {
            target_id: Some(id),
            ..Default::default()
        };
        let history = entries(&mut conn, &filter, 10).await?;
        let partnerships = crate::events::partnerships::of_organization(&mut conn, id).await?;
        Ok::<_, AppError>((org, people.items, history, partnerships))
    };
    let (org, people, history, partnerships) = match loaded.await {
        Ok(loaded) => loaded,
        Err(e) => return error_page(e),
    };
    let (fields, errors, mut status) = match edited {
        Some((fields, errors)) => (fields, errors, StatusCode::UNPROCESSABLE_ENTITY),
        None => (Fields::of(&org), Errors::default(), StatusCode::OK),
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
            country: country_name(org.country.as_deref()),
            actions: actions(org.status),
            fields,
            errors,
            org,
            people,
            adding,
            add_errors,
            changes: history,
            zone: zone_caption(&DEFAULT_ZONE),
            collapse_changes: false,
            partnerships: partnerships.into_iter().map(PartnerEvent::of).collect(),
            kinds: kind_choices(),
            countries: countries(),
        },
    )
}

#[get("/manage/organizations/{id}")]
async fn details(state: web::Data<Context>, req: HttpRequest, id: web::Path<Uuid>) -> HttpResponse {
    let (_admin, chrome) = match admin(&req).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let done = done_message(Form::parse(req.query_string().as_bytes()).get("done"));
    details_page(&state, chrome, *id, done, None, None).await
}

/// Saves the edit form through the API's parser and the service's update.
#[post("/manage/organizations/{id}")]
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
        let saved = orgs::update(
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
            see_other(&format!("/manage/organizations/{id}?done={done}"))
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
        Err(e) if e.code() == Code::DuplicateName => {
            let mut errors = Errors::default();
            if let AppError::Problem { detail, .. } = &e {
                errors.add("name", crate::pages::sentence(detail));
            }
            details_page(&state, chrome, *id, None, Some((fields, errors)), None).await
        }
        Err(e) => error_page(e),
    }
}

/// A membership change reached from an organisation's page.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    Transition(Transition),
    Decline,
}

impl Step {
    fn parse(raw: &str) -> Option<Step> {
        Some(match raw {
            "approve" => Step::Transition(Transition::Approve),
            "suspend" => Step::Transition(Transition::Suspend),
            "reinstate" => Step::Transition(Transition::Reinstate),
            "withdraw" => Step::Transition(Transition::Withdraw),
            "decline" => Step::Decline,
            _ => return None,
        })
    }

    fn path(self) -> &'static str {
        match self {
            Step::Transition(t) => t.action(),
            Step::Decline => "decline",
        }
    }

    /// The confirmation page's heading and what will happen, in sentences.
    fn explain(self, org: &Organization) -> (String, Vec<String>, &'static str) {
        let name = &org.name;
        match self {
            Step::Transition(Transition::Approve) => (
                format!("Approve the application of {name}?"),
                vec![
                    format!("{name} becomes an active member from today and appears in the public directory."),
                    match &org.contact_email {
                        Some(email) => format!("Its contact, {email}, becomes its focal point and is emailed that the application was approved."),
                        None => "It has no contact address: nobody is emailed.".to_owned(),
                    },
                ],
                "Approve",
            ),
            Step::Transition(Transition::Suspend) => (
                format!("Suspend the membership of {name}?"),
                vec![
                    format!("{name} leaves the public directory and cannot be invited until it is reinstated."),
                    "Its people, affiliations and past registrations are kept. You can reinstate it at any time.".to_owned(),
                ],
                "Suspend membership",
            ),
            Step::Transition(Transition::Reinstate) => (
                format!("Reinstate the membership of {name}?"),
                vec![format!("{name} becomes an active member again and returns to the public directory.")],
                "Reinstate membership",
            ),
            Step::Transition(Transition::Withdraw) => (
                format!("Withdraw {name} from the partnership?"),
                vec![
                    format!("{name} leaves the partnership for good: this cannot be undone. To come back it applies again as a new organisation."),
                    "Its name becomes free for another organisation.".to_owned(),
                ],
                "Withdraw for good",
            ),
            Step::Decline => (
                format!("Decline the application of {name}?"),
                vec![
                    "The application is closed and the name becomes free again; the organisation may apply again later.".to_owned(),
                    match &org.contact_email {
                        Some(email) => format!("Its contact, {email}, is emailed the reason you give below."),
                        None => "It has no contact address: nobody is emailed.".to_owned(),
                    },
                ],
                "Decline the application",
            ),
        }
    }
}

#[derive(Template)]
#[template(path = "console/confirm.html")]
struct ConfirmPage {
    chrome: Chrome,
    done: Option<&'static str>,
    org: Organization,
    heading: String,
    consequences: Vec<String>,
    button: &'static str,
    path: &'static str,
    decline: bool,
    reason: String,
    errors: Errors,
}

async fn confirm(
    state: &web::Data<Context>,
    chrome: Chrome,
    id: Uuid,
    change: Step,
    reason: String,
    errors: Errors,
) -> HttpResponse {
    let found = async {
        let mut conn = state.pool.get().await?;
        orgs::find(&mut conn, id)
            .await?
            .ok_or_else(|| AppError::not_found("organization"))
    };
    let org = match found.await {
        Ok(org) => org,
        Err(e) => return error_page(e),
    };
    let (heading, consequences, button) = change.explain(&org);
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    html(
        status,
        &ConfirmPage {
            chrome,
            done: None,
            org,
            heading,
            consequences,
            button,
            path: change.path(),
            decline: change == Step::Decline,
            reason,
            errors,
        },
    )
}

/// Says what the change will do and asks for confirmation; changes nothing.
#[get("/manage/organizations/{id}/{change}")]
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
    let Some(change) = Step::parse(&raw) else {
        return crate::pages::not_found("There is no such page.");
    };
    confirm(&state, chrome, id, change, String::new(), Errors::default()).await
}

/// Makes the confirmed change through the service the API uses.
#[post("/manage/organizations/{id}/{change}")]
async fn confirm_submit(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<(Uuid, String)>,
    body: web::Bytes,
) -> HttpResponse {
    let (admin, chrome, form) = match admin_form(&req, &body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let (id, raw) = path.into_inner();
    let Some(change) = Step::parse(&raw) else {
        return crate::pages::not_found("There is no such page.");
    };
    let reason = form.get("reason").to_owned();
    let result = async {
        let mut conn = state.pool.get().await?;
        match change {
            Step::Transition(t) => membership::transition(&mut conn, admin.account.id, id, t).await,
            Step::Decline => {
                let reason = membership::parse_decline_reason(&reason)
                    .map_err(|e| AppError::invalid("reason", format!("The reason {e}.")))?;
                membership::decline(&mut conn, admin.account.id, id, reason).await
            }
        }
    };
    match result.await {
        Ok(_) => see_other(&format!(
            "/manage/organizations/{id}?done={}",
            change.path()
        )),
        Err(AppError::Validation(errors)) => {
            confirm(&state, chrome, id, change, reason, Errors(errors)).await
        }
        Err(e) => error_page(e),
    }
}

/// One application in the queue.
pub struct Application {
    pub org: Organization,
    pub country: String,
}

#[derive(Template)]
#[template(path = "console/applications.html")]
struct ApplicationsPage {
    chrome: Chrome,
    done: Option<&'static str>,
    applications: Vec<Application>,
    next_page: Option<String>,
}

impl ApplicationsPage {
    fn words(&self, code: &str) -> String {
        words(code)
    }
}

/// The applications waiting, by name, with all they say and the two decisions.
#[get("/manage/applications")]
async fn applications(state: web::Data<Context>, req: HttpRequest) -> HttpResponse {
    let (_admin, chrome) = match admin(&req).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let cursor = Form::parse(req.query_string().as_bytes())
        .get("cursor")
        .to_owned();
    let listed = async {
        let mut v = Validator::new();
        let page = PageRequest::parse(&mut v, None, Some(&cursor));
        v.finish()?;
        let filter = OrganizationFilter {
            status: Some(MembershipStatus::Applicant),
            ..Default::default()
        };
        let mut conn = state.pool.get().await?;
        orgs::list(&mut conn, true, &filter, &page).await
    };
    let page = match listed.await {
        Ok(page) => page,
        Err(e) => return error_page(e),
    };
    html(
        StatusCode::OK,
        &ApplicationsPage {
            chrome,
            done: None,
            applications: page
                .items
                .into_iter()
                .map(|org| Application {
                    country: country_name(org.country.as_deref()),
                    org,
                })
                .collect(),
            next_page: page
                .next_cursor
                .map(|c| format!("/manage/applications?cursor={c}")),
        },
    )
}

/// The "add a person" form, as typed.
#[derive(Default)]
pub struct Adding {
    pub email: String,
    pub name: String,
    pub position: String,
    pub focal_point: bool,
}

/// Adds a person (an existing one by email, or someone new) or makes someone the focal point,
/// through the service behind `POST /api/v1/organizations/{id}/people`.
#[post("/manage/organizations/{id}/people")]
async fn add_person(
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
        email: form.get("email").to_owned(),
        name: form.get("name").to_owned(),
        position: form.get("position").to_owned(),
        focal_point: form.get("focal_point") == "yes",
    };
    let person_id = form.get("person_id").trim().to_owned();
    let done = if person_id.is_empty() {
        "person"
    } else {
        "focal-point"
    };
    let result = async {
        let mut v = Validator::new();
        let (who, change) = if person_id.is_empty() {
            // A blank position leaves an existing one as it is.
            let position = v
                .check("position", parse_position(&adding.position))
                .filter(Option::is_some);
            let name = Some(adding.name.trim()).filter(|n| !n.is_empty());
            let who = Who::by_email(
                &mut v,
                &adding.email,
                name.unwrap_or("-"),
                None,
                position.clone().flatten().as_deref(),
            );
            let change = AffiliationChange {
                position,
                focal_point: adding.focal_point.then_some(true),
            };
            (who, change)
        } else {
            let who = v.check(
                "person_id",
                person_id.parse::<Uuid>().map_err(|_| "is not a person"),
            );
            let change = AffiliationChange {
                position: None,
                focal_point: Some(true),
            };
            (who.map(Who::Id), change)
        };
        v.finish()?;
        let who = who.ok_or_else(|| AppError::internal("validator passed with missing fields"))?;
        let mut conn = state.pool.get().await?;
        let org = orgs::find(&mut conn, *id)
            .await?
            .ok_or_else(|| AppError::not_found("organization"))?;
        members::require_people_manager(&mut conn, &admin, &org).await?;
        let name = Some(adding.name.as_str());
        members::add_person(&mut conn, Some(admin.account.id), org.id, who, name, change).await
    };
    match result.await {
        Ok(_) => see_other(&format!("/manage/organizations/{id}?done={done}#people")),
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

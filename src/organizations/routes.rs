use actix_web::http::header;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use crate::auth::{Admin, AuthUser, MaybeUser};
use crate::context::Context;
use crate::db::page::{Page, PageQuery, PageRequest};
use crate::error::{AppError, AppResult, Code, Problem, Validator};
use crate::json::Json;
use crate::mail::MailQuota;
use crate::organizations::fields::{
    parse_country, parse_kind, parse_note, parse_org_name, parse_short_name, parse_website,
    OrganizationFields, OrganizationInput,
};
use crate::organizations::members::{self, Who};
use crate::organizations::membership::{self, joined_on_for, Application, Transition};
use crate::organizations::model::{MembershipStatus, OrganizationKind, OrganizationView};
use crate::organizations::service::{self, OrganizationFilter, OrganizationUpdate};
use crate::organizations::{import, CountryCode};
use crate::people::model::AffiliateView;
use crate::people::service::AffiliationChange;
use crate::people::EmailAddress;

#[derive(OpenApi)]
#[openapi(
    paths(
        list_organizations,
        get_organization,
        create_organization,
        update_organization,
        apply,
        approve,
        suspend,
        reinstate,
        withdraw,
        decline,
        import_organizations,
        list_people,
        add_person,
        remove_person
    ),
    components(schemas(
        OrganizationView,
        OrganizationKind,
        MembershipStatus,
        CreateOrganizationRequest,
        UpdateOrganizationRequest,
        ApplicationRequest,
        DeclineRequest,
        ImportResult,
        AffiliateRequest,
        AffiliateView
    ))
)]
pub struct Api;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list_organizations)
        .service(create_organization)
        .service(apply)
        .service(import_organizations)
        .service(get_organization)
        .service(update_organization)
        .service(approve)
        .service(suspend)
        .service(reinstate)
        .service(withdraw)
        .service(decline)
        .service(list_people)
        .service(add_person)
        .service(remove_person);
}

fn parse_date(raw: &str) -> Result<NaiveDate, &'static str> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").map_err(|_| "is not a date (YYYY-MM-DD)")
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrganizationQuery {
    pub kind: Option<OrganizationKind>,
    /// ISO 3166-1 alpha-2, e.g. JP.
    pub country: Option<String>,
    /// Admins: any status. Everyone else sees active members only.
    pub status: Option<MembershipStatus>,
    /// Text contained in the name or short name (case-insensitive).
    pub q: Option<String>,
    /// Page size: default 50, at most 200 (larger values are clamped).
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The partnership's directory, ordered by name. The public sees active members only; admins
/// see every organisation with its membership and contact details.
#[utoipa::path(get, path = "/api/v1/organizations", tag = "organizations",
    params(OrganizationQuery),
    responses((status = 200, body = Page<OrganizationView>),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
#[get("/organizations")]
async fn list_organizations(
    state: web::Data<Context>,
    user: MaybeUser,
    query: web::Query<OrganizationQuery>,
) -> AppResult<HttpResponse> {
    let query = query.into_inner();
    let mut v = Validator::new();
    let country = match query.country.as_deref().filter(|c| !c.trim().is_empty()) {
        Some(raw) => v.check("country", CountryCode::parse(raw)),
        None => None,
    };
    let page = PageRequest::parse(&mut v, query.limit, query.cursor.as_deref());
    v.finish()?;
    let admin = user.0.as_ref().is_some_and(AuthUser::is_admin);
    let filter = OrganizationFilter {
        kind: query.kind,
        country,
        status: query.status,
        q: query.q,
    };
    let mut conn = state.pool.get().await?;
    let orgs = service::list(&mut conn, admin, &filter, &page).await?;
    Ok(HttpResponse::Ok().json(orgs.map(|o| OrganizationView::for_viewer(&o, admin))))
}

/// One organisation: any for admins, active members for everyone else.
#[utoipa::path(get, path = "/api/v1/organizations/{id}", tag = "organizations",
    params(("id" = Uuid, Path, description = "organisation id")),
    responses((status = 200, body = OrganizationView)))]
#[get("/organizations/{id}")]
async fn get_organization(
    state: web::Data<Context>,
    user: MaybeUser,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let admin = user.0.as_ref().is_some_and(AuthUser::is_admin);
    let mut conn = state.pool.get().await?;
    let org = service::find(&mut conn, *id)
        .await?
        .filter(|o| admin || o.status == MembershipStatus::Active)
        .ok_or_else(|| AppError::not_found("organization"))?;
    Ok(HttpResponse::Ok().json(OrganizationView::for_viewer(&org, admin)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateOrganizationRequest {
    /// Unique among live organisations, whatever the case; 1–300 characters.
    #[schema(value_type = String)]
    pub name: Option<String>,
    pub short_name: Option<String>,
    #[schema(value_type = OrganizationKind)]
    pub kind: Option<String>,
    /// ISO 3166-1 alpha-2; required except for regional and international organisations.
    pub country: Option<String>,
    /// An http or https URL.
    pub website: Option<String>,
    /// Default `active`.
    #[schema(value_type = Option<MembershipStatus>)]
    pub status: Option<String>,
    /// When it became a member (YYYY-MM-DD); default today unless the status is `applicant`.
    #[schema(value_type = Option<NaiveDate>)]
    pub joined_on: Option<String>,
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
}

fn parse_contact(
    v: &mut Validator,
    name: Option<&str>,
    email: Option<&str>,
) -> (Option<String>, Option<EmailAddress>) {
    let name = name
        .filter(|n| !n.trim().is_empty())
        .and_then(|n| v.check("contact_name", crate::people::service::parse_name(n)));
    let email = email
        .filter(|e| !e.trim().is_empty())
        .and_then(|e| v.check("contact_email", EmailAddress::parse(e)));
    (name, email)
}

/// Adds an organisation by hand (default status `active`). Admins only.
#[utoipa::path(post, path = "/api/v1/organizations", tag = "organizations",
    request_body = CreateOrganizationRequest, security(("bearer" = [])),
    responses((status = 201, body = OrganizationView),
              (status = 409, description = "`duplicate_name`: a live organisation has this name", body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
#[post("/organizations")]
async fn create_organization(
    state: web::Data<Context>,
    admin: Admin,
    body: Json<CreateOrganizationRequest>,
) -> AppResult<HttpResponse> {
    let body = body.into_inner();
    let mut v = Validator::new();
    let input = OrganizationInput::parse(
        &mut v,
        OrganizationFields {
            name: body.name.as_deref(),
            short_name: body.short_name.as_deref(),
            kind: body.kind.as_deref(),
            country: body.country.as_deref(),
            website: body.website.as_deref(),
        },
        "",
    );
    let status = match body.status.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(raw) => v.check("status", raw.trim().parse::<MembershipStatus>()),
        None => Some(MembershipStatus::Active),
    };
    let joined_on = match body.joined_on.as_deref() {
        Some(raw) => v.check("joined_on", parse_date(raw)).map(Some),
        None => Some(None),
    };
    let (contact_name, contact_email) = parse_contact(
        &mut v,
        body.contact_name.as_deref(),
        body.contact_email.as_deref(),
    );
    v.finish()?;
    let (Some(input), Some(status), Some(joined_on)) = (input, status, joined_on) else {
        return Err(AppError::internal("validator passed with missing fields"));
    };
    let mut new = input.into_new(status, joined_on_for(status, joined_on));
    new.contact_name = contact_name;
    new.contact_email = contact_email.map(|e| e.as_str().to_owned());
    let mut conn = state.pool.get().await?;
    let org = service::create(&mut conn, Some(admin.0.account.id), new).await?;
    Ok(HttpResponse::Created().json(OrganizationView::admin(&org)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateOrganizationRequest {
    /// Left out: unchanged. Cannot be null.
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = String, required = false)]
    pub name: Option<Option<String>>,
    /// Left out: unchanged; null: cleared. Likewise for the fields below.
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<String>)]
    pub short_name: Option<Option<String>>,
    /// Left out: unchanged. Cannot be null.
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = OrganizationKind, required = false)]
    pub kind: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<String>)]
    pub country: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<String>)]
    pub website: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<String>)]
    pub contact_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<String>)]
    pub contact_email: Option<Option<String>>,
}

impl UpdateOrganizationRequest {
    /// Parses every field, recording each bad one; the console's edit form uses it too.
    pub fn parse(self) -> AppResult<OrganizationUpdate> {
        let mut v = Validator::new();
        let name = match self.name {
            None => None,
            Some(None) => {
                v.add("name", "cannot be removed");
                None
            }
            Some(Some(raw)) => v.check("name", parse_org_name(&raw)),
        };
        let kind = match self.kind {
            None => None,
            Some(None) => {
                v.add("kind", "cannot be removed");
                None
            }
            Some(Some(raw)) => v.check("kind", parse_kind(&raw)),
        };
        let short_name = self
            .short_name
            .map(|s| {
                v.check(
                    "short_name",
                    parse_short_name(s.as_deref().unwrap_or_default()),
                )
            })
            .map(Option::flatten);
        let country = self
            .country
            .and_then(|c| v.check("country", parse_country(c.as_deref().unwrap_or_default())));
        let website = self
            .website
            .and_then(|w| v.check("website", parse_website(w.as_deref().unwrap_or_default())));
        let contact_name =
            self.contact_name
                .and_then(|n| match n.filter(|n| !n.trim().is_empty()) {
                    None => Some(None),
                    Some(raw) => v
                        .check("contact_name", crate::people::service::parse_name(&raw))
                        .map(Some),
                });
        let contact_email =
            self.contact_email
                .and_then(|e| match e.filter(|e| !e.trim().is_empty()) {
                    None => Some(None),
                    Some(raw) => v
                        .check("contact_email", EmailAddress::parse(&raw))
                        .map(Some),
                });
        v.finish()?;
        Ok(OrganizationUpdate {
            name,
            short_name,
            kind,
            country,
            website,
            contact_name,
            contact_email,
        })
    }
}

/// Changes an organisation's details (not its status: see the lifecycle routes). Fields left
/// out are unchanged; `null` clears an optional field. Admins only.
#[utoipa::path(patch, path = "/api/v1/organizations/{id}", tag = "organizations",
    params(("id" = Uuid, Path, description = "organisation id")),
    request_body = UpdateOrganizationRequest, security(("bearer" = [])),
    responses((status = 200, body = OrganizationView),
              (status = 409, description = "`duplicate_name`", body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
#[patch("/organizations/{id}")]
async fn update_organization(
    state: web::Data<Context>,
    admin: Admin,
    id: web::Path<Uuid>,
    body: Json<UpdateOrganizationRequest>,
) -> AppResult<HttpResponse> {
    let update = body.into_inner().parse()?;
    let mut conn = state.pool.get().await?;
    let org = service::update(
        &mut conn,
        &state.public_views,
        admin.0.account.id,
        *id,
        update,
    )
    .await?
    .row;
    Ok(HttpResponse::Ok().json(OrganizationView::admin(&org)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ApplicationRequest {
    #[schema(value_type = String)]
    pub name: Option<String>,
    pub short_name: Option<String>,
    #[schema(value_type = OrganizationKind)]
    pub kind: Option<String>,
    /// ISO 3166-1 alpha-2; required except for regional and international organisations.
    pub country: Option<String>,
    pub website: Option<String>,
    /// Who applies on the organisation's behalf.
    pub contact_name: Option<String>,
    /// Where to send the answer; required.
    #[schema(value_type = String)]
    pub contact_email: Option<String>,
    /// Anything the secretariat should know (at most 4000 characters).
    pub note: Option<String>,
}

/// Applies to join the partnership: the organisation is recorded as an `applicant` and every
/// admin is told in an hourly digest; its contact is emailed when an admin approves it. Anyone
/// may apply, within `limits.anonymous_emails_per_client_per_hour` (then 429 with Retry-After).
#[utoipa::path(post, path = "/api/v1/organizations/applications", tag = "organizations",
    request_body = ApplicationRequest,
    responses((status = 201, body = OrganizationView),
              (status = 409, description = "`duplicate_name`", body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json"),
              (status = 429, body = Problem, content_type = "application/problem+json")))]
#[post("/organizations/applications")]
async fn apply(
    state: web::Data<Context>,
    user: MaybeUser,
    quota: MailQuota,
    body: Json<ApplicationRequest>,
) -> AppResult<HttpResponse> {
    let body = body.into_inner();
    let mut v = Validator::new();
    let organization = OrganizationInput::parse(
        &mut v,
        OrganizationFields {
            name: body.name.as_deref(),
            short_name: body.short_name.as_deref(),
            kind: body.kind.as_deref(),
            country: body.country.as_deref(),
            website: body.website.as_deref(),
        },
        "",
    );
    let (contact_name, contact_email) = parse_contact(
        &mut v,
        body.contact_name.as_deref(),
        body.contact_email.as_deref(),
    );
    if body
        .contact_email
        .as_deref()
        .is_none_or(|e| e.trim().is_empty())
    {
        v.add("contact_email", "is required");
    }
    let note = v.check("note", parse_note(body.note.as_deref().unwrap_or_default()));
    v.finish()?;
    let (Some(organization), Some(contact_email), Some(note)) = (organization, contact_email, note)
    else {
        return Err(AppError::internal("validator passed with missing fields"));
    };
    let mut conn = state.pool.get().await?;
    let org = membership::apply(
        &mut conn,
        user.0.as_ref(),
        Application {
            organization,
            contact_name,
            contact_email,
            note,
        },
        &quota,
        &state.links,
    )
    .await?;
    let admin = user.0.as_ref().is_some_and(AuthUser::is_admin);
    Ok(HttpResponse::Created().json(OrganizationView::for_viewer(&org, admin)))
}

async fn run_transition(
    state: web::Data<Context>,
    admin: Admin,
    id: Uuid,
    transition: Transition,
) -> AppResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let org = membership::transition(&mut conn, admin.0.account.id, id, transition).await?;
    Ok(HttpResponse::Ok().json(OrganizationView::admin(&org)))
}

/// Approves an application: `applicant` → `active`, joined today; emails the applicant's
/// contact. Admins only.
#[utoipa::path(post, path = "/api/v1/organizations/{id}/approve", tag = "organizations", operation_id = "approve_organization",
    params(("id" = Uuid, Path, description = "organisation id")), security(("bearer" = [])),
    responses((status = 200, body = OrganizationView),
              (status = 409, description = "`invalid_transition`: the detail names the current status", body = Problem, content_type = "application/problem+json")))]
#[post("/organizations/{id}/approve")]
async fn approve(
    state: web::Data<Context>,
    admin: Admin,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    run_transition(state, admin, *id, Transition::Approve).await
}

/// Suspends a member: `active` → `suspended`. Admins only.
#[utoipa::path(post, path = "/api/v1/organizations/{id}/suspend", tag = "organizations",
    params(("id" = Uuid, Path, description = "organisation id")), security(("bearer" = [])),
    responses((status = 200, body = OrganizationView),
              (status = 409, description = "`invalid_transition`: the detail names the current status", body = Problem, content_type = "application/problem+json")))]
#[post("/organizations/{id}/suspend")]
async fn suspend(
    state: web::Data<Context>,
    admin: Admin,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    run_transition(state, admin, *id, Transition::Suspend).await
}

/// Reinstates a suspended member: `suspended` → `active`. Admins only.
#[utoipa::path(post, path = "/api/v1/organizations/{id}/reinstate", tag = "organizations",
    params(("id" = Uuid, Path, description = "organisation id")), security(("bearer" = [])),
    responses((status = 200, body = OrganizationView),
              (status = 409, description = "`invalid_transition`: the detail names the current status", body = Problem, content_type = "application/problem+json")))]
#[post("/organizations/{id}/reinstate")]
async fn reinstate(
    state: web::Data<Context>,
    admin: Admin,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    run_transition(state, admin, *id, Transition::Reinstate).await
}

/// Withdraws an organisation (or declines an application): any status but `withdrawn` →
/// `withdrawn`, which is final and frees its name. Admins only.
#[utoipa::path(post, path = "/api/v1/organizations/{id}/withdraw", tag = "organizations",
    params(("id" = Uuid, Path, description = "organisation id")), security(("bearer" = [])),
    responses((status = 200, body = OrganizationView),
              (status = 409, description = "`invalid_transition`: the detail names the current status", body = Problem, content_type = "application/problem+json")))]
#[post("/organizations/{id}/withdraw")]
async fn withdraw(
    state: web::Data<Context>,
    admin: Admin,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    run_transition(state, admin, *id, Transition::Withdraw).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclineRequest {
    /// Why, in a few sentences: emailed to the applicant's contact (at most 2000 characters).
    pub reason: String,
}

/// Declines an application: `applicant` → `withdrawn` (its name is free again) and the reason
/// is emailed to the applicant's contact. Admins only.
#[utoipa::path(post, path = "/api/v1/organizations/{id}/decline", tag = "organizations", operation_id = "decline_organization",
    params(("id" = Uuid, Path, description = "organisation id")),
    request_body = DeclineRequest, security(("bearer" = [])),
    responses((status = 200, body = OrganizationView),
              (status = 409, description = "`invalid_transition`: only applicants can be declined", body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
#[post("/organizations/{id}/decline")]
async fn decline(
    state: web::Data<Context>,
    admin: Admin,
    id: web::Path<Uuid>,
    body: web::Json<DeclineRequest>,
) -> AppResult<HttpResponse> {
    let mut v = Validator::new();
    let reason = v.check("reason", membership::parse_decline_reason(&body.reason));
    v.finish()?;
    let Some(reason) = reason else {
        return Err(AppError::internal("validator passed with missing fields"));
    };
    let mut conn = state.pool.get().await?;
    let org = membership::decline(&mut conn, admin.0.account.id, *id, reason).await?;
    Ok(HttpResponse::Ok().json(OrganizationView::admin(&org)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportResult {
    pub created: usize,
    pub organizations: Vec<OrganizationView>,
}

/// Whether the request says its body is CSV (UTF-8 when a charset is given).
fn is_csv(req: &HttpRequest) -> bool {
    let Some(value) = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mut parts = value.split(';').map(str::trim);
    let essence = parts.next().unwrap_or_default();
    let utf8 = parts.all(|p| match p.split_once('=') {
        Some((k, v)) if k.trim().eq_ignore_ascii_case("charset") => {
            let v = v.trim().trim_matches('"');
            v.eq_ignore_ascii_case("utf-8") || v.eq_ignore_ascii_case("us-ascii")
        }
        _ => true,
    });
    essence.eq_ignore_ascii_case("text/csv") && utf8
}

/// Imports organisations from a CSV file (`Content-Type: text/csv`, UTF-8, a header row).
/// Columns: `name`, `kind` (required), `short_name`, `country`, `website`, `status` (default
/// `active`), `focal_point_email`, `focal_point_name`, `focal_point_position`. Every row is
/// checked first; any bad row answers 422 listing each problem as `line[N].column` (the header
/// is line 1) and nothing is written. Admins only.
#[utoipa::path(post, path = "/api/v1/organizations/import", tag = "organizations",
    request_body(content = String, content_type = "text/csv",
        description = "name,short_name,kind,country,website,status,focal_point_email,focal_point_name,focal_point_position"),
    security(("bearer" = [])),
    responses((status = 201, body = ImportResult),
              (status = 409, description = "`duplicate_name`: a concurrent change took a name; nothing was written", body = Problem, content_type = "application/problem+json"),
              (status = 413, body = Problem, content_type = "application/problem+json"),
              (status = 415, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
#[post("/organizations/import")]
async fn import_organizations(
    state: web::Data<Context>,
    admin: Admin,
    req: HttpRequest,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    if !is_csv(&req) {
        return Err(AppError::problem(
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Code::UnsupportedMediaType,
            "send the file as UTF-8 CSV with `Content-Type: text/csv`",
        ));
    }
    let mut conn = state.pool.get().await?;
    let orgs = import::import(&mut conn, admin.0.account.id, &body).await?;
    tracing::info!(created = orgs.len(), "imported organisations");
    Ok(HttpResponse::Created().json(ImportResult {
        created: orgs.len(),
        organizations: orgs.iter().map(OrganizationView::admin).collect(),
    }))
}

/// The organisation's people, by name, with its focal point marked. Admins and the
/// organisation's focal point.
#[utoipa::path(get, path = "/api/v1/organizations/{id}/people", tag = "organizations", operation_id = "list_organization_people",
    params(("id" = Uuid, Path, description = "organisation id"), PageQuery),
    security(("bearer" = [])),
    responses((status = 200, body = Page<AffiliateView>),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
#[get("/organizations/{id}/people")]
async fn list_people(
    state: web::Data<Context>,
    user: AuthUser,
    id: web::Path<Uuid>,
    query: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let org = service::find(&mut conn, *id)
        .await?
        .ok_or_else(|| AppError::not_found("organization"))?;
    members::require_people_manager(&mut conn, &user, &org).await?;
    let page = PageRequest::from_query(&query)?;
    let people = crate::people::service::list_affiliates(&mut conn, org.id, &page).await?;
    Ok(HttpResponse::Ok().json(people))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AffiliateRequest {
    /// An existing person; or give `email` (and `name` for someone new) instead.
    #[schema(value_type = Option<Uuid>)]
    pub person_id: Option<String>,
    /// The person's email: an existing person with it is affiliated, else one is created.
    pub email: Option<String>,
    /// Required when creating a person.
    pub name: Option<String>,
    /// For a new person: Prof., Dr, Mr., Ms. or another form of address.
    pub honorific: Option<String>,
    /// The position in this organisation; left out: unchanged, null: cleared.
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<String>)]
    pub position: Option<Option<String>>,
    /// Make this person the focal point (the previous one stops being it) or stop being it.
    pub focal_point: Option<bool>,
}

/// Affiliates a person with the organisation (an existing person by `person_id` or `email`,
/// or a new one from `email` and `name`), or changes their affiliation: 201 when new, 200
/// when it existed. Admins and the organisation's focal point.
#[utoipa::path(post, path = "/api/v1/organizations/{id}/people", tag = "organizations",
    params(("id" = Uuid, Path, description = "organisation id")),
    request_body = AffiliateRequest, security(("bearer" = [])),
    responses((status = 200, description = "the existing affiliation, changed", body = AffiliateView),
              (status = 201, description = "a new affiliation", body = AffiliateView),
              (status = 409, description = "`duplicate_email`: a concurrent request created this person; retry", body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
#[post("/organizations/{id}/people")]
async fn add_person(
    state: web::Data<Context>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: Json<AffiliateRequest>,
) -> AppResult<HttpResponse> {
    let org_id = *id;
    let mut conn = state.pool.get().await?;
    let org = service::find(&mut conn, org_id)
        .await?
        .ok_or_else(|| AppError::not_found("organization"))?;
    members::require_people_manager(&mut conn, &user, &org).await?;

    let body = body.into_inner();
    let mut v = Validator::new();
    let position = body.position.clone().and_then(|p| {
        v.check(
            "position",
            crate::people::service::parse_position(p.as_deref().unwrap_or_default()),
        )
        .map(Some)
    });
    let who = match (body.person_id.as_deref(), body.email.as_deref()) {
        (Some(_), Some(_)) => {
            v.add("person_id", "give either person_id or email, not both");
            None
        }
        (Some(raw), None) => v
            .check(
                "person_id",
                raw.trim().parse::<Uuid>().map_err(|_| "is not a UUID"),
            )
            .map(Who::Id),
        (None, Some(email)) => Who::by_email(
            &mut v,
            email,
            body.name.as_deref().unwrap_or("-"),
            body.honorific.as_deref(),
            position.clone().flatten().flatten().as_deref(),
        ),
        (None, None) => {
            v.add(
                "person_id",
                "give person_id, or email (and name for someone new)",
            );
            None
        }
    };
    v.finish()?;
    let Some(who) = who else {
        return Err(AppError::internal("validator passed with missing fields"));
    };
    let change = AffiliationChange {
        position: position.flatten(),
        focal_point: body.focal_point,
    };
    let (view, created) = members::add_person(
        &mut conn,
        Some(user.account.id),
        org_id,
        who,
        body.name.as_deref(),
        change,
    )
    .await?;
    Ok(if created {
        HttpResponse::Created().json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}

/// Ends a person's affiliation with the organisation: they leave its people (and stop being
/// its focal point, if they were); their registrations and invitations are kept. Admins and
/// the organisation's focal point. 404 when the person is not affiliated.
#[utoipa::path(delete, path = "/api/v1/organizations/{id}/people/{person_id}", tag = "organizations",
    operation_id = "end_affiliation",
    params(("id" = Uuid, Path, description = "organisation id"),
           ("person_id" = Uuid, Path, description = "the affiliated person's id")),
    security(("bearer" = [])),
    responses((status = 204, description = "the affiliation ended"),
              (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 404, body = Problem, content_type = "application/problem+json")))]
#[delete("/organizations/{id}/people/{person_id}")]
async fn remove_person(
    state: web::Data<Context>,
    user: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
) -> AppResult<HttpResponse> {
    let (org_id, person_id) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let org = service::find(&mut conn, org_id)
        .await?
        .ok_or_else(|| AppError::not_found("organization"))?;
    members::require_people_manager(&mut conn, &user, &org).await?;
    members::remove_person(&mut conn, Some(user.account.id), org_id, person_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

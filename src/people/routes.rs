use actix_web::{get, patch, post, web, HttpResponse};
use diesel_async::scoped_futures::ScopedFutureExt;
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::auth::{Admin, Organizer};
use crate::context::Context;
use crate::db::page::{Page, PageRequest};
use crate::error::{AppError, AppResult, Problem, Validator};
use crate::json::Json;
use crate::people::model::PersonView;
use crate::people::service::{
    self, parse_honorific, parse_name, parse_position, PersonFields, PersonInput, PersonUpdate,
    PERSON_FIELD_NAMES,
};
use crate::people::EmailAddress;

#[derive(OpenApi)]
#[openapi(
    paths(list_people, create_person, update_person),
    components(schemas(PersonView, CreatePersonRequest, UpdatePersonRequest))
)]
pub struct Api;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list_people)
        .service(create_person)
        .service(update_person);
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeopleQuery {
    /// Text contained in the name or email (case-insensitive).
    pub q: Option<String>,
    /// Page size: default 50, at most 200 (larger values are clamped).
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The partnership's contacts, with or without accounts, by name. Organizers and admins.
#[utoipa::path(get, path = "/api/v1/people", tag = "people", params(PeopleQuery),
    security(("bearer" = [])),
    responses((status = 200, body = Page<PersonView>),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
#[get("/people")]
async fn list_people(
    state: web::Data<Context>,
    _organizer: Organizer,
    query: web::Query<PeopleQuery>,
) -> AppResult<HttpResponse> {
    let mut v = Validator::new();
    let page = PageRequest::parse(&mut v, query.limit, query.cursor.as_deref());
    v.finish()?;
    let mut conn = state.pool.get().await?;
    let people = service::list(&mut conn, query.q.as_deref(), &page).await?;
    Ok(HttpResponse::Ok().json(people))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreatePersonRequest {
    /// Unique whatever its case.
    #[schema(value_type = String)]
    pub email: Option<String>,
    #[schema(value_type = String)]
    pub name: Option<String>,
    /// Prof., Dr, Mr., Ms., or another form of address (at most 40 characters).
    pub honorific: Option<String>,
    pub position: Option<String>,
}

/// Adds a contact. A taken email is a 409 `duplicate_email` naming the existing person.
/// Organizers and admins.
#[utoipa::path(post, path = "/api/v1/people", tag = "people", request_body = CreatePersonRequest,
    security(("bearer" = [])),
    responses((status = 201, body = PersonView),
              (status = 409, description = "`duplicate_email`: the detail gives the existing person's id", body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
#[post("/people")]
async fn create_person(
    state: web::Data<Context>,
    organizer: Organizer,
    body: Json<CreatePersonRequest>,
) -> AppResult<HttpResponse> {
    let mut v = Validator::new();
    let input = PersonInput::parse(
        &mut v,
        PersonFields {
            email: body.email.as_deref(),
            name: body.name.as_deref(),
            honorific: body.honorific.as_deref(),
            position: body.position.as_deref(),
        },
        "",
        PERSON_FIELD_NAMES,
    );
    v.finish()?;
    let input = input.ok_or_else(|| AppError::internal("validator passed with missing fields"))?;
    let actor = Some(organizer.0.account.id);
    let mut conn = state.pool.get().await?;
    let person = crate::db::transaction(&mut conn, |conn| {
        async move { service::create(conn, actor, &input).await }.scope_boxed()
    })
    .await?;
    Ok(HttpResponse::Created().json(PersonView::new(&person, false)))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct UpdatePersonRequest {
    /// Unique whatever its case. Not for a person with an account: they sign in with it.
    pub email: Option<String>,
    pub name: Option<String>,
    /// Prof., Dr, Mr., Ms., or another form of address; null or blank clears it.
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<String>)]
    pub honorific: Option<Option<String>>,
    /// Null or blank clears it.
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<String>)]
    pub position: Option<Option<String>>,
}

impl UpdatePersonRequest {
    /// Parses every field given, each problem named by its field.
    pub fn parse(&self) -> AppResult<PersonUpdate> {
        let mut v = Validator::new();
        let email = self
            .email
            .as_deref()
            .and_then(|raw| v.check("email", EmailAddress::parse(raw)));
        let name = self
            .name
            .as_deref()
            .and_then(|raw| v.check("name", parse_name(raw)));
        let honorific = self.honorific.as_ref().and_then(|raw| {
            v.check(
                "honorific",
                parse_honorific(raw.as_deref().unwrap_or_default()),
            )
        });
        let position = self.position.as_ref().and_then(|raw| {
            v.check(
                "position",
                parse_position(raw.as_deref().unwrap_or_default()),
            )
        });
        v.finish()?;
        Ok(PersonUpdate {
            email,
            name,
            honorific,
            position,
        })
    }
}

/// Changes a contact's email, name, honorific or position, with an audit entry; a key left
/// out keeps its field. A taken email is a 409 `duplicate_email`; the email of a person with
/// an account is theirs to prove, so changing it is a 409 `person_has_account`. Admins.
#[utoipa::path(patch, path = "/api/v1/people/{id}", tag = "people",
    params(("id" = Uuid, Path, description = "the person's id")),
    request_body = UpdatePersonRequest, security(("bearer" = [])),
    responses((status = 200, body = PersonView),
              (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "`duplicate_email` or `person_has_account`", body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
#[patch("/people/{id}")]
async fn update_person(
    state: web::Data<Context>,
    admin: Admin,
    path: web::Path<uuid::Uuid>,
    body: Json<UpdatePersonRequest>,
) -> AppResult<HttpResponse> {
    let update = body.parse()?;
    let mut conn = state.pool.get().await?;
    let person = service::update(
        &mut conn,
        &state.public_views,
        admin.0.account.id,
        path.into_inner(),
        update,
    )
    .await?
    .row;
    let has_account = service::has_account(&mut conn, person.id).await?;
    Ok(HttpResponse::Ok().json(PersonView::new(&person, has_account)))
}

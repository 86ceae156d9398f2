//! A dialogue's outcomes in the console (`/manage/events/{id}/outcomes`): the highlights its
//! staff write in Markdown, with a preview before anything is saved; publish, edit, unpublish
//! (at once: a Chatham House breach comes down with one button) and delete after a confirmation.
//! Every change goes through `events::outcomes`, the API's service, which audits it.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;
use uuid::Uuid;

use super::{error_page, see_other, signed_in, signed_in_form, Chrome, Errors, Form};
use crate::auth::AuthUser;
use crate::context::Context;
use crate::error::{AppError, AppResult};
use crate::events::access::require_staff_of_event;
use crate::events::outcomes::{self, render_markdown, OutcomeEdit};
use crate::events::types::{OutcomeRequest, OutcomeView};
use crate::pages::html;
use crate::registrations::lists;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(edit_page)
        .service(edit)
        .service(publish)
        .service(unpublish)
        .service(delete_page)
        .service(delete);
}

fn done_sentence(code: &str) -> Option<&'static str> {
    match code {
        "saved" => Some("The highlights were saved as a draft; only the dialogue's staff see them."),
        "published" => Some("The highlights were published on the dialogue's public page."),
        "unpublished" => Some("The highlights were taken down; they are a draft again, seen only by the dialogue's staff."),
        "updated" => Some("The highlights were saved."),
        "deleted" => Some("The highlights were deleted."),
        _ => None,
    }
}

/// A session to choose in the form.
pub struct SessionChoice {
    pub id: String,
    pub title: String,
}

/// What the form holds: as typed, or as stored.
#[derive(Default)]
pub struct Fields {
    pub title: String,
    pub session_id: String,
    pub body_markdown: String,
}

impl Fields {
    fn of_form(form: &Form) -> Fields {
        Fields {
            title: form.get("title").to_owned(),
            session_id: form.get("session_id").trim().to_owned(),
            body_markdown: form.get("body_markdown").to_owned(),
        }
    }

    fn of_view(o: &OutcomeView) -> Fields {
        Fields {
            title: o.title.clone(),
            session_id: o.session_id.map(|id| id.to_string()).unwrap_or_default(),
            body_markdown: o.body_markdown.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "console/outcomes.html")]
struct ListPage {
    chrome: Chrome,
    done: Option<&'static str>,
    event_id: Uuid,
    title: String,
    outcomes: Vec<OutcomeView>,
    sessions: Vec<SessionChoice>,
    fields: Fields,
    errors: Errors,
    preview: Option<String>,
}

#[derive(Template)]
#[template(path = "console/outcome.html")]
struct EditPage {
    chrome: Chrome,
    done: Option<&'static str>,
    event_id: Uuid,
    event_title: String,
    outcome: OutcomeView,
    sessions: Vec<SessionChoice>,
    fields: Fields,
    errors: Errors,
    preview: Option<String>,
}

#[derive(Template)]
#[template(path = "console/outcome_delete.html")]
struct DeletePage {
    chrome: Chrome,
    done: Option<&'static str>,
    event_id: Uuid,
    outcome: OutcomeView,
}

async fn choices(
    conn: &mut diesel_async::AsyncPgConnection,
    event_id: Uuid,
) -> AppResult<Vec<SessionChoice>> {
    Ok(lists::event_sessions(conn, event_id)
        .await?
        .into_iter()
        .map(|s| SessionChoice {
            id: s.id.to_string(),
            title: s.title,
        })
        .collect())
}

async fn event_title(
    conn: &mut diesel_async::AsyncPgConnection,
    event_id: Uuid,
) -> AppResult<String> {
    use crate::db::schema::events;
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    Ok(events::table
        .find(event_id)
        .select(events::title)
        .first(conn)
        .await?)
}

/// The list page of an event, with the form as given.
async fn list_page(
    state: &web::Data<Context>,
    user: &AuthUser,
    event_id: Uuid,
    chrome: Chrome,
    done: Option<&'static str>,
    (fields, errors, preview): (Fields, Errors, Option<String>),
) -> AppResult<ListPage> {
    let mut conn = state.pool.get().await?;
    require_staff_of_event(&mut conn, user, event_id).await?;
    Ok(ListPage {
        chrome,
        done,
        event_id,
        title: event_title(&mut conn, event_id).await?,
        outcomes: outcomes::staff_outcomes(&mut conn, event_id).await?,
        sessions: choices(&mut conn, event_id).await?,
        fields,
        errors,
        preview,
    })
}

#[get("/manage/events/{id}/outcomes")]
async fn list(state: web::Data<Context>, req: HttpRequest, path: web::Path<Uuid>) -> HttpResponse {
    let (user, chrome) = match signed_in(&req).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let event_id = path.into_inner();
    let query = Form::parse(req.query_string().as_bytes());
    let done = done_sentence(query.get("done"));
    match list_page(
        &state,
        &user,
        event_id,
        chrome,
        done,
        (Fields::default(), Errors::default(), None),
    )
    .await
    {
        Ok(page) => html(StatusCode::OK, &page),
        Err(e) => error_page(e),
    }
}

/// A service's field errors for the form; any other error is the page's answer.
fn field_errors(error: AppError) -> Result<Errors, HttpResponse> {
    match error {
        AppError::Validation(errors) => Ok(Errors(errors)),
        other => Err(error_page(other)),
    }
}

/// Writes highlights: `action` is `preview` (nothing saved), `draft` or `publish`.
#[post("/manage/events/{id}/outcomes")]
async fn create(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> HttpResponse {
    let (user, chrome, form) = match signed_in_form(&req, &body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let event_id = path.into_inner();
    let fields = Fields::of_form(&form);
    let action = form.get("action");
    let (errors, preview, status) = if action == "preview" {
        let preview = render_markdown(&fields.body_markdown);
        (Errors::default(), Some(preview), StatusCode::OK)
    } else {
        let created = async {
            let mut conn = state.pool.get().await?;
            outcomes::create_outcome(
                &mut conn,
                &state.public_views,
                &user,
                &event_id.to_string(),
                OutcomeRequest {
                    title: Some(fields.title.clone()),
                    body_markdown: Some(fields.body_markdown.clone()),
                    session_id: Some(fields.session_id.clone()),
                    publish: Some(action == "publish"),
                },
            )
            .await
        };
        match created.await {
            Ok(view) => {
                let done = if view.published { "published" } else { "saved" };
                return see_other(&format!("/manage/events/{event_id}/outcomes?done={done}"));
            }
            Err(e) => match field_errors(e) {
                Ok(errors) => (errors, None, StatusCode::UNPROCESSABLE_ENTITY),
                Err(answer) => return answer,
            },
        }
    };
    match list_page(
        &state,
        &user,
        event_id,
        chrome,
        None,
        (fields, errors, preview),
    )
    .await
    {
        Ok(page) => html(status, &page),
        Err(e) => error_page(e),
    }
}

/// An outcome the signed-in user may change, with its event's id.
async fn found(
    state: &web::Data<Context>,
    user: &AuthUser,
    id: Uuid,
) -> AppResult<(OutcomeView, Uuid)> {
    let mut conn = state.pool.get().await?;
    let (outcome, event) = outcomes::outcome_for_staff(&mut conn, user, id).await?;
    let view = outcomes::staff_outcomes(&mut conn, event.id)
        .await?
        .into_iter()
        .find(|o| o.id == outcome.id)
        .ok_or_else(|| AppError::not_found("outcome"))?;
    Ok((view, event.id))
}

async fn edit_page_of(
    state: &web::Data<Context>,
    user: &AuthUser,
    id: Uuid,
    chrome: Chrome,
    form: Option<(Fields, Errors, Option<String>)>,
) -> AppResult<EditPage> {
    let (outcome, event_id) = found(state, user, id).await?;
    let mut conn = state.pool.get().await?;
    let (fields, errors, preview) = match form {
        Some(given) => given,
        None => (
            Fields::of_view(&outcome),
            Errors::default(),
            Some(outcome.body_html.clone()),
        ),
    };
    Ok(EditPage {
        chrome,
        done: None,
        event_id,
        event_title: event_title(&mut conn, event_id).await?,
        sessions: choices(&mut conn, event_id).await?,
        outcome,
        fields,
        errors,
        preview,
    })
}

#[get("/manage/outcomes/{id}")]
async fn edit_page(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<Uuid>,
) -> HttpResponse {
    let (user, chrome) = match signed_in(&req).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let id = path.into_inner();
    match edit_page_of(&state, &user, id, chrome, None).await {
        Ok(page) => html(StatusCode::OK, &page),
        Err(e) => error_page(e),
    }
}

/// Saves an edit; `action` `preview` shows the text as it will read and saves nothing.
#[post("/manage/outcomes/{id}")]
async fn edit(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> HttpResponse {
    let (user, chrome, form) = match signed_in_form(&req, &body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let id = path.into_inner();
    let fields = Fields::of_form(&form);
    if form.get("action") == "preview" {
        let preview = Some(render_markdown(&fields.body_markdown));
        return match edit_page_of(
            &state,
            &user,
            id,
            chrome,
            Some((fields, Errors::default(), preview)),
        )
        .await
        {
            Ok(page) => html(StatusCode::OK, &page),
            Err(e) => error_page(e),
        };
    }
    let saved = async {
        let mut conn = state.pool.get().await?;
        let session = fields.session_id.clone();
        outcomes::edit_outcome(
            &mut conn,
            &state.public_views,
            &user,
            id,
            OutcomeEdit {
                title: Some(fields.title.clone()),
                body_markdown: Some(fields.body_markdown.clone()),
                session_id: Some((!session.is_empty()).then_some(session)),
            },
        )
        .await
    };
    match saved.await {
        Ok(view) => see_other(&format!(
            "/manage/events/{}/outcomes?done=updated",
            view.event_id
        )),
        Err(e) => match field_errors(e) {
            Ok(errors) => {
                match edit_page_of(&state, &user, id, chrome, Some((fields, errors, None))).await {
                    Ok(page) => html(StatusCode::UNPROCESSABLE_ENTITY, &page),
                    Err(e) => error_page(e),
                }
            }
            Err(answer) => answer,
        },
    }
}

/// Which way a publication button goes.
#[derive(Clone, Copy)]
enum Publication {
    Publish,
    Unpublish,
}

async fn set_publication(
    state: web::Data<Context>,
    req: HttpRequest,
    id: Uuid,
    body: web::Bytes,
    to: Publication,
) -> HttpResponse {
    let (user, _chrome, _form) = match signed_in_form(&req, &body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let changed = async {
        let mut conn = state.pool.get().await?;
        match to {
            Publication::Publish => {
                outcomes::publish_outcome(&mut conn, &state.public_views, &user, id).await
            }
            Publication::Unpublish => {
                outcomes::unpublish_outcome(&mut conn, &state.public_views, &user, id).await
            }
        }
    };
    match changed.await {
        Ok(view) => {
            let done = match to {
                Publication::Publish => "published",
                Publication::Unpublish => "unpublished",
            };
            see_other(&format!(
                "/manage/events/{}/outcomes?done={done}",
                view.event_id
            ))
        }
        Err(e) => error_page(e),
    }
}

#[post("/manage/outcomes/{id}/publish")]
async fn publish(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> HttpResponse {
    set_publication(state, req, *path, body, Publication::Publish).await
}

/// Takes published highlights down at once, without a confirmation: a breach of the Chatham
/// House rule must not wait, and publishing again undoes it.
#[post("/manage/outcomes/{id}/unpublish")]
async fn unpublish(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> HttpResponse {
    set_publication(state, req, *path, body, Publication::Unpublish).await
}

#[get("/manage/outcomes/{id}/delete")]
async fn delete_page(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<Uuid>,
) -> HttpResponse {
    let (user, chrome) = match signed_in(&req).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let id = path.into_inner();
    match found(&state, &user, id).await {
        Ok((outcome, event_id)) => html(
            StatusCode::OK,
            &DeletePage {
                chrome,
                done: None,
                event_id,
                outcome,
            },
        ),
        Err(e) => error_page(e),
    }
}

#[post("/manage/outcomes/{id}/delete")]
async fn delete(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> HttpResponse {
    let (user, _chrome, _form) = match signed_in_form(&req, &body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let id = path.into_inner();
    let deleted = async {
        let mut conn = state.pool.get().await?;
        let (_, event) = outcomes::outcome_for_staff(&mut conn, &user, id).await?;
        outcomes::delete_outcome(&mut conn, &state.public_views, &user, id).await?;
        AppResult::Ok(event.id)
    };
    match deleted.await {
        Ok(event_id) => see_other(&format!("/manage/events/{event_id}/outcomes?done=deleted")),
        Err(e) => error_page(e),
    }
}

//! Outcomes: the highlights staff write after an event or a session, published to everyone.
//! Outcomes of Chatham House sessions are never attributed: they carry no speakers.

use std::collections::HashMap;

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::db::page::{Page, PageRequest, TimeAndId};
use crate::db::schema::{events, outcomes, sessions};
use crate::error::{AppError, AppResult, Code, Validator};
use crate::events::access::{event_for_staff, is_event_staff, require_event_staff, visible_event};
use crate::events::fields::{parse_uuid, required_text};
use crate::events::model::*;
use crate::events::types::{OutcomeRequest, OutcomeView, SpeakerView};
use crate::events::views::speakers_by_session;
use crate::text::{check_characters, Lines};

/// Markdown to HTML, then through ammonia's allow-list: no scripts, no event handlers, links
/// marked `noopener noreferrer`.
pub fn render_markdown(markdown: &str) -> String {
    use pulldown_cmark::{html, Options, Parser};
    let parser = Parser::new_ext(
        markdown,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    );
    let mut unsafe_html = String::new();
    html::push_html(&mut unsafe_html, parser);
    ammonia::clean(&unsafe_html)
}

/// What an outcome view needs of its session.
struct SessionInfo {
    title: String,
    access: SessionAccess,
    chatham_house: bool,
}

async fn outcome_views(
    conn: &mut AsyncPgConnection,
    rows: Vec<Outcome>,
) -> AppResult<Vec<OutcomeView>> {
    let session_ids: Vec<Uuid> = rows.iter().filter_map(|o| o.session_id).collect();
    let infos: HashMap<Uuid, SessionInfo> = sessions::table
        .filter(sessions::id.eq_any(&session_ids))
        .select((
            sessions::id,
            sessions::title,
            sessions::access,
            sessions::chatham_house,
        ))
        .load::<(Uuid, String, SessionAccess, bool)>(conn)
        .await?
        .into_iter()
        .map(|(id, title, access, chatham_house)| {
            (
                id,
                SessionInfo {
                    title,
                    access,
                    chatham_house,
                },
            )
        })
        .collect();
    // Only sessions on the record are attributed: public ones without the Chatham House rule.
    let attributed: Vec<Uuid> = infos
        .iter()
        .filter(|(_, i)| i.access == SessionAccess::Public && !i.chatham_house)
        .map(|(id, _)| *id)
        .collect();
    let speakers = speakers_by_session(conn, &attributed).await?;
    Ok(rows
        .into_iter()
        .map(|o| {
            let info = o.session_id.and_then(|id| infos.get(&id));
            let attributed =
                info.is_some_and(|i| i.access == SessionAccess::Public && !i.chatham_house);
            OutcomeView {
                id: o.id,
                event_id: o.event_id,
                session_id: o.session_id,
                session_title: info.map(|i| i.title.clone()),
                body_html: render_markdown(&o.body_markdown),
                title: o.title,
                body_markdown: o.body_markdown,
                published: o.published_at.is_some(),
                published_at: o.published_at,
                created_at: o.created_at,
                chatham_house: info.is_some_and(|i| i.chatham_house),
                speakers: if attributed {
                    o.session_id.map(|id| {
                        speakers
                            .get(&id)
                            .map(|list| list.iter().map(SpeakerView::from).collect())
                            .unwrap_or_default()
                    })
                } else {
                    None
                },
            }
        })
        .collect())
}

/// The fields of an outcome as written, checked: title, Markdown body, and the session it is
/// about (of `event_id`; None for the whole event).
struct Written {
    title: String,
    body_markdown: String,
    session_id: Option<Uuid>,
}

async fn check_written(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
    title: Option<String>,
    body_markdown: Option<String>,
    session_id: Option<String>,
) -> AppResult<Written> {
    let mut v = Validator::new();
    let title = required_text(&mut v, "title", title, 300);
    let body = match body_markdown {
        None => {
            v.add("body_markdown", "is required");
            None
        }
        Some(b) if b.trim().is_empty() => {
            v.add("body_markdown", "must not be empty");
            None
        }
        Some(b) if b.len() > 100_000 => {
            v.add("body_markdown", "must be at most 100000 bytes");
            None
        }
        Some(b) => v
            .check("body_markdown", check_characters(&b, Lines::Multi))
            .map(|()| b),
    };
    let session_id = session_id
        .filter(|s| !s.trim().is_empty())
        .and_then(|s| parse_uuid(&mut v, "session_id", &s));
    if let Some(id) = session_id {
        let of_event: i64 = sessions::table
            .filter(sessions::id.eq(id))
            .filter(sessions::event_id.eq(event_id))
            .count()
            .get_result(conn)
            .await?;
        if of_event == 0 {
            v.add("session_id", "no such session in this event");
        }
    }
    v.finish()?;
    let (Some(title), Some(body_markdown)) = (title, body) else {
        return Err(AppError::internal("validation"));
    };
    Ok(Written {
        title,
        body_markdown,
        session_id,
    })
}

/// What the audit trail keeps of an outcome, before and after a change.
fn snapshot(o: &Outcome) -> serde_json::Value {
    serde_json::json!({
        "event_id": o.event_id,
        "session_id": o.session_id,
        "title": o.title,
        "body_markdown": o.body_markdown,
        "published_at": o.published_at,
    })
}

/// Writes one audit entry of an outcome change.
async fn audit(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    action: &str,
    before: Option<&Outcome>,
    after: Option<&Outcome>,
) -> AppResult<()> {
    let Some(id) = after.or(before).map(|o| o.id) else {
        return Ok(());
    };
    crate::audit::service::record(
        conn,
        Some(user.account.id),
        action,
        "outcome",
        id,
        before.map(snapshot),
        after.map(snapshot),
    )
    .await
}

/// Writes an outcome (a draft unless `publish`), audited as `create`.
pub async fn create_outcome(
    conn: &mut AsyncPgConnection,
    views: &super::PublicViews,
    user: &AuthUser,
    event_id_or_slug: &str,
    req: OutcomeRequest,
) -> AppResult<OutcomeView> {
    let event = event_for_staff(conn, user, event_id_or_slug).await?;
    let written =
        check_written(conn, event.id, req.title, req.body_markdown, req.session_id).await?;
    let new = NewOutcome {
        id: Uuid::now_v7(),
        event_id: event.id,
        session_id: written.session_id,
        title: written.title,
        body_markdown: written.body_markdown,
        published_at: req.publish.unwrap_or(false).then(Utc::now),
        created_by: Some(user.account.id),
    };
    let row: Outcome = crate::db::transaction(conn, |conn| {
        async move {
            let row: Outcome = diesel::insert_into(outcomes::table)
                .values(new)
                .returning(Outcome::as_returning())
                .get_result(conn)
                .await?;
            audit(conn, user, "create", None, Some(&row)).await?;
            Ok(row)
        }
        .scope_boxed()
    })
    .await?;
    views.forget_event(event.id);
    one(outcome_views(conn, vec![row]).await?)
}

fn one(mut views: Vec<OutcomeView>) -> AppResult<OutcomeView> {
    views
        .pop()
        .ok_or_else(|| AppError::internal("outcome view missing"))
}

/// An outcome and its event, for the event's staff and admins. Outsiders learn of a published
/// outcome of a public event only (403); of anything else nothing (404).
pub async fn outcome_for_staff(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    outcome_id: Uuid,
) -> AppResult<(Outcome, Event)> {
    let found: Option<(Outcome, Event)> = outcomes::table
        .inner_join(events::table)
        .filter(outcomes::id.eq(outcome_id))
        .select((Outcome::as_select(), Event::as_select()))
        .first(conn)
        .await
        .optional()?;
    let (outcome, event) = found.ok_or_else(|| AppError::not_found("outcome"))?;
    let visible = event.is_public() && outcome.published_at.is_some();
    require_event_staff(conn, user, event.id, visible)
        .await
        .map_err(|e| match e.code() {
            Code::NotFound => AppError::not_found("outcome"),
            _ => e,
        })?;
    Ok((outcome, event))
}

/// Changes an outcome under its row lock, audited as `action` when it changed anything; the
/// public views of its event forget it.
async fn change_outcome<F>(
    conn: &mut AsyncPgConnection,
    views: &super::PublicViews,
    user: &AuthUser,
    outcome_id: Uuid,
    action: &'static str,
    change: F,
) -> AppResult<OutcomeView>
where
    F: FnOnce(&Outcome) -> Option<OutcomeChange> + Send,
{
    let (_, event) = outcome_for_staff(conn, user, outcome_id).await?;
    let row = crate::db::transaction(conn, |conn| {
        async move {
            let before: Outcome = outcomes::table
                .find(outcome_id)
                .for_no_key_update()
                .select(Outcome::as_select())
                .first(conn)
                .await
                .optional()?
                .ok_or_else(|| AppError::not_found("outcome"))?;
            let Some(set) = change(&before) else {
                return Ok(before);
            };
            let after: Outcome = diesel::update(outcomes::table.find(outcome_id))
                .set((set, outcomes::updated_at.eq(Utc::now())))
                .returning(Outcome::as_returning())
                .get_result(conn)
                .await?;
            audit(conn, user, action, Some(&before), Some(&after)).await?;
            Ok(after)
        }
        .scope_boxed()
    })
    .await?;
    views.forget_event(event.id);
    one(outcome_views(conn, vec![row]).await?)
}

/// The columns an outcome change sets.
#[derive(AsChangeset)]
#[diesel(table_name = outcomes, treat_none_as_null = true)]
struct OutcomeChange {
    title: String,
    body_markdown: String,
    session_id: Option<Uuid>,
    published_at: Option<chrono::DateTime<Utc>>,
}

impl OutcomeChange {
    fn of(o: &Outcome) -> OutcomeChange {
        OutcomeChange {
            title: o.title.clone(),
            body_markdown: o.body_markdown.clone(),
            session_id: o.session_id,
            published_at: o.published_at,
        }
    }
}

/// Publishes an outcome (publishing it again changes nothing).
pub async fn publish_outcome(
    conn: &mut AsyncPgConnection,
    views: &super::PublicViews,
    user: &AuthUser,
    outcome_id: Uuid,
) -> AppResult<OutcomeView> {
    change_outcome(conn, views, user, outcome_id, "publish", |o| {
        o.published_at.is_none().then(|| OutcomeChange {
            published_at: Some(Utc::now()),
            ..OutcomeChange::of(o)
        })
    })
    .await
}

/// Takes a published outcome down at once (a draft again, seen by staff only); unpublishing a
/// draft changes nothing.
pub async fn unpublish_outcome(
    conn: &mut AsyncPgConnection,
    views: &super::PublicViews,
    user: &AuthUser,
    outcome_id: Uuid,
) -> AppResult<OutcomeView> {
    change_outcome(conn, views, user, outcome_id, "unpublish", |o| {
        o.published_at.is_some().then(|| OutcomeChange {
            published_at: None,
            ..OutcomeChange::of(o)
        })
    })
    .await
}

/// `PATCH /outcomes/{id}`: a key left out keeps the field; `session_id` null (or empty) makes
/// it an outcome of the whole event.
#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct OutcomeEdit {
    pub title: Option<String>,
    /// Markdown; rendered to sanitised HTML.
    pub body_markdown: Option<String>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<Uuid>)]
    pub session_id: Option<Option<String>>,
}

/// Edits an outcome's title, text or session; a published one stays published with the new
/// text. Audited as `update` with the fields before and after.
pub async fn edit_outcome(
    conn: &mut AsyncPgConnection,
    views: &super::PublicViews,
    user: &AuthUser,
    outcome_id: Uuid,
    edit: OutcomeEdit,
) -> AppResult<OutcomeView> {
    let (current, event) = outcome_for_staff(conn, user, outcome_id).await?;
    let written = check_written(
        conn,
        event.id,
        Some(edit.title.unwrap_or(current.title)),
        Some(edit.body_markdown.unwrap_or(current.body_markdown)),
        match edit.session_id {
            None => current.session_id.map(|id| id.to_string()),
            Some(choice) => choice,
        },
    )
    .await?;
    change_outcome(conn, views, user, outcome_id, "update", move |o| {
        let same = o.title == written.title
            && o.body_markdown == written.body_markdown
            && o.session_id == written.session_id;
        (!same).then_some(OutcomeChange {
            title: written.title,
            body_markdown: written.body_markdown,
            session_id: written.session_id,
            published_at: o.published_at,
        })
    })
    .await
}

/// Deletes an outcome for good; the audit trail keeps what it said.
pub async fn delete_outcome(
    conn: &mut AsyncPgConnection,
    views: &super::PublicViews,
    user: &AuthUser,
    outcome_id: Uuid,
) -> AppResult<()> {
    let (_, event) = outcome_for_staff(conn, user, outcome_id).await?;
    crate::db::transaction(conn, |conn| {
        async move {
            let gone: Option<Outcome> = diesel::delete(outcomes::table.find(outcome_id))
                .returning(Outcome::as_returning())
                .get_result(conn)
                .await
                .optional()?;
            let gone = gone.ok_or_else(|| AppError::not_found("outcome"))?;
            audit(conn, user, "delete", Some(&gone), None).await
        }
        .scope_boxed()
    })
    .await?;
    views.forget_event(event.id);
    Ok(())
}

/// Every outcome of an event for its staff (drafts too), oldest first.
pub async fn staff_outcomes(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
) -> AppResult<Vec<OutcomeView>> {
    let rows: Vec<Outcome> = outcomes::table
        .filter(outcomes::event_id.eq(event_id))
        .order((outcomes::created_at.asc(), outcomes::id.asc()))
        .select(Outcome::as_select())
        .load(conn)
        .await?;
    outcome_views(conn, rows).await
}

/// The event's outcomes, oldest first: published ones for everyone, drafts too for staff.
pub async fn list_outcomes(
    conn: &mut AsyncPgConnection,
    viewer: Option<&AuthUser>,
    event_id_or_slug: &str,
    page: &PageRequest<TimeAndId>,
) -> AppResult<Page<OutcomeView>> {
    let event = visible_event(conn, viewer, event_id_or_slug).await?;
    let staff = match viewer {
        Some(user) => is_event_staff(conn, user, event.id).await?,
        None => false,
    };
    let mut query = outcomes::table
        .filter(outcomes::event_id.eq(event.id))
        .select(Outcome::as_select())
        .into_boxed();
    if !staff {
        query = query.filter(outcomes::published_at.is_not_null());
    }
    if let Some((at, id)) = page.after {
        query = query.filter(
            outcomes::created_at
                .gt(at)
                .or(outcomes::created_at.eq(at).and(outcomes::id.gt(id))),
        );
    }
    let rows: Vec<Outcome> = query
        .order((outcomes::created_at.asc(), outcomes::id.asc()))
        .limit(page.fetch())
        .load(conn)
        .await?;
    let Page { items, next_cursor } = Page::from_rows(rows, page, |o| (o.created_at, o.id));
    Ok(Page {
        items: outcome_views(conn, items).await?,
        next_cursor,
    })
}

/// Published outcomes of an event for its public page.
pub async fn published_outcomes(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
) -> AppResult<Vec<OutcomeView>> {
    let rows: Vec<Outcome> = outcomes::table
        .filter(outcomes::event_id.eq(event_id))
        .filter(outcomes::published_at.is_not_null())
        .order((outcomes::created_at.asc(), outcomes::id.asc()))
        .select(Outcome::as_select())
        .load(conn)
        .await?;
    outcome_views(conn, rows).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_is_rendered_and_sanitised() {
        let html = render_markdown(
            "**Bold** and [a link](https://example.org)\n\n<script>alert(1)</script>\n\n\
             <img src=x onerror=alert(1)>",
        );
        assert!(html.contains("<strong>Bold</strong>"));
        assert!(html.contains("href=\"https://example.org\""));
        assert!(!html.contains("<script"));
        assert!(!html.contains("onerror"));
    }
}

//! Outcomes: the highlights staff write after an event or a session, published to everyone.
//! Outcomes of Chatham House sessions are never attributed: they carry no speakers.

use std::collections::HashMap;

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::db::page::{Page, PageRequest, TimeAndId};
use crate::db::schema::{events, outcomes, sessions};
use crate::error::{AppError, AppResult, Code, Validator};
use crate::events::access::{is_event_staff, require_event_staff};
use crate::events::model::*;
use crate::events::service::{
    event_for_staff, parse_uuid, required_text, speakers_by_session, visible_event,
};
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

pub async fn create_outcome(
    conn: &mut AsyncPgConnection,
    views: &super::PublicViews,
    user: &AuthUser,
    event_id_or_slug: &str,
    req: OutcomeRequest,
) -> AppResult<OutcomeView> {
    let event = event_for_staff(conn, user, event_id_or_slug).await?;
    let mut v = Validator::new();
    let title = required_text(&mut v, "title", req.title, 300);
    let body = match req.body_markdown {
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
    let session_id = req
        .session_id
        .filter(|s| !s.trim().is_empty())
        .and_then(|s| parse_uuid(&mut v, "session_id", &s));
    if let Some(id) = session_id {
        let of_event: i64 = sessions::table
            .filter(sessions::id.eq(id))
            .filter(sessions::event_id.eq(event.id))
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
    let row: Outcome = diesel::insert_into(outcomes::table)
        .values(NewOutcome {
            id: Uuid::now_v7(),
            event_id: event.id,
            session_id,
            title,
            body_markdown,
            published_at: req.publish.unwrap_or(false).then(Utc::now),
            created_by: Some(user.account.id),
        })
        .returning(Outcome::as_returning())
        .get_result(conn)
        .await?;
    views.forget_event(event.id);
    one(outcome_views(conn, vec![row]).await?)
}

fn one(mut views: Vec<OutcomeView>) -> AppResult<OutcomeView> {
    views
        .pop()
        .ok_or_else(|| AppError::internal("outcome view missing"))
}

/// Publishes an outcome (publishing it again changes nothing).
pub async fn publish_outcome(
    conn: &mut AsyncPgConnection,
    views: &super::PublicViews,
    user: &AuthUser,
    outcome_id: Uuid,
) -> AppResult<OutcomeView> {
    let found: Option<(Outcome, Event)> = outcomes::table
        .inner_join(events::table)
        .filter(outcomes::id.eq(outcome_id))
        .select((Outcome::as_select(), Event::as_select()))
        .first(conn)
        .await
        .optional()?;
    let (outcome, event) = found.ok_or_else(|| AppError::not_found("outcome"))?;
    // Only a published outcome of a public event is known to outsiders.
    let visible = event.is_public() && outcome.published_at.is_some();
    require_event_staff(conn, user, event.id, visible)
        .await
        .map_err(|e| match e.code() {
            Code::NotFound => AppError::not_found("outcome"),
            _ => e,
        })?;
    let row = if outcome.published_at.is_some() {
        outcome
    } else {
        let now = Utc::now();
        diesel::update(outcomes::table.find(outcome_id))
            .set((
                outcomes::published_at.eq(Some(now)),
                outcomes::updated_at.eq(now),
            ))
            .returning(Outcome::as_returning())
            .get_result(conn)
            .await?
    };
    views.forget_event(event.id);
    one(outcome_views(conn, vec![row]).await?)
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

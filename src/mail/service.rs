//! What staff and operators read from the outbox: an event's messages, and the queue's state.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::page::{Page, PageRequest, TimeAndId};
use crate::db::schema::emails;
use crate::error::AppResult;
use crate::mail::outbox::{Email, EmailStatus};

/// One page of an event's messages, newest first (creation time, then id).
pub async fn list_for_event(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
    status: Option<EmailStatus>,
    page: &PageRequest<TimeAndId>,
) -> AppResult<Page<Email>> {
    let mut query = emails::table
        .filter(emails::event_id.eq(event_id))
        .select(Email::as_select())
        .into_boxed();
    if let Some(status) = status {
        query = query.filter(emails::status.eq(status));
    }
    if let Some((at, id)) = page.after {
        query = query.filter(
            emails::created_at
                .lt(at)
                .or(emails::created_at.eq(at).and(emails::id.lt(id))),
        );
    }
    let rows: Vec<Email> = query
        .order((emails::created_at.desc(), emails::id.desc()))
        .limit(page.fetch())
        .load(conn)
        .await?;
    Ok(Page::from_rows(rows, page, |e| (e.created_at, e.id)))
}

/// The outbox at a glance, for `/metrics`.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct OutboxStats {
    #[diesel(sql_type = BigInt)]
    pub queued: i64,
    #[diesel(sql_type = BigInt)]
    pub sending: i64,
    #[diesel(sql_type = BigInt)]
    pub failed: i64,
    #[diesel(sql_type = BigInt)]
    pub sent: i64,
    #[diesel(sql_type = Double)]
    pub oldest_unsent_age_seconds: f64,
}

/// When an unsent message first became due: its due time until an attempt has failed (a retry
/// moves `next_attempt_at`), then, as the best that is stored, the time it was queued.
const FIRST_DUE: &str = "CASE WHEN attempts = 0 OR (status = 'sending' AND attempts = 1) \
                         THEN next_attempt_at ELSE created_at END";
/// Unsent and due: scheduled mail (reminders) not yet due does not count as waiting.
const WAITING: &str =
    "(status = 'sending' OR (status = 'queued' AND (attempts > 0 OR next_attempt_at <= now())))";

/// Counts by status and the age of the oldest waiting message, in one scan of the table.
pub async fn stats(conn: &mut AsyncPgConnection) -> AppResult<OutboxStats> {
    let sql = format!(
        "SELECT count(*) FILTER (WHERE status = 'queued') AS queued, \
                count(*) FILTER (WHERE status = 'sending') AS sending, \
                count(*) FILTER (WHERE status = 'failed') AS failed, \
                count(*) FILTER (WHERE status = 'sent') AS sent, \
                COALESCE(EXTRACT(EPOCH FROM now() - min({FIRST_DUE}) FILTER (WHERE {WAITING})), 0)::float8 \
                    AS oldest_unsent_age_seconds \
         FROM emails"
    );
    Ok(diesel::sql_query(sql).get_result(conn).await?)
}

/// The queue only (rows not yet sent), answered from the partial indexes: cheap enough for the
/// worker's periodic log line.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct QueueSummary {
    #[diesel(sql_type = BigInt)]
    pub queued_due: i64,
    #[diesel(sql_type = BigInt)]
    pub sending: i64,
    #[diesel(sql_type = Double)]
    pub oldest_unsent_age_seconds: f64,
}

pub async fn queue_summary(conn: &mut AsyncPgConnection) -> AppResult<QueueSummary> {
    let sql = format!(
        "SELECT count(*) FILTER (WHERE status = 'queued' AND next_attempt_at <= now()) AS queued_due, \
                count(*) FILTER (WHERE status = 'sending') AS sending, \
                COALESCE(EXTRACT(EPOCH FROM now() - min({FIRST_DUE}) FILTER (WHERE {WAITING})), 0)::float8 \
                    AS oldest_unsent_age_seconds \
         FROM emails WHERE status IN ('queued', 'sending')"
    );
    Ok(diesel::sql_query(sql).get_result(conn).await?)
}

/// Renders the stats in the Prometheus text exposition format (version 0.0.4).
pub fn prometheus_text(stats: &OutboxStats) -> String {
    let metrics: [(&str, &str, &str, String); 5] = [
        (
            "convene_outbox_queued",
            "gauge",
            "Emails waiting in the outbox (due now, retrying later, or scheduled).",
            stats.queued.to_string(),
        ),
        (
            "convene_outbox_sending",
            "gauge",
            "Emails a worker has claimed and is sending.",
            stats.sending.to_string(),
        ),
        (
            "convene_outbox_failed_total",
            "counter",
            "Emails given up as failed (permanent SMTP error or too many attempts).",
            stats.failed.to_string(),
        ),
        (
            "convene_outbox_sent_total",
            "counter",
            "Emails delivered to the SMTP server.",
            stats.sent.to_string(),
        ),
        (
            "convene_outbox_oldest_unsent_age_seconds",
            "gauge",
            "Seconds the oldest due, unsent email has been waiting (0 when none).",
            format!("{:.3}", stats.oldest_unsent_age_seconds.max(0.0)),
        ),
    ];
    let mut out = String::new();
    for (name, kind, help, value) in metrics {
        out.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
        ));
    }
    out
}

/// The list's status filter and page, every bad parameter reported at once.
pub type ListQuery = (Option<EmailStatus>, PageRequest<TimeAndId>);

pub fn parse_list_query(
    status: Option<&str>,
    limit: Option<i64>,
    cursor: Option<&str>,
) -> AppResult<ListQuery> {
    let mut v = crate::error::Validator::new();
    let status = match status.filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => v.check("status", s.parse::<EmailStatus>()),
    };
    let page = PageRequest::parse(&mut v, limit, cursor);
    v.finish()?;
    Ok((status, page))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AppError;

    #[test]
    fn list_query_reports_every_bad_field() {
        let err = parse_list_query(Some("lost"), Some(0), Some("nope")).expect_err("invalid");
        match err {
            AppError::Validation(errors) => {
                let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
                assert_eq!(fields, ["status", "cursor", "limit"]);
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
        let (status, page) = parse_list_query(Some("failed"), Some(5000), None).expect("valid");
        assert_eq!(status, Some(EmailStatus::Failed));
        assert_eq!(page.after, None);
        assert_eq!(page.limit, crate::db::page::MAX_LIMIT);
    }

    #[test]
    fn prometheus_text_lists_every_metric() {
        let text = prometheus_text(&OutboxStats {
            queued: 3,
            sending: 1,
            failed: 2,
            sent: 40,
            oldest_unsent_age_seconds: 12.5,
        });
        for line in [
            "convene_outbox_queued 3",
            "convene_outbox_sending 1",
            "convene_outbox_failed_total 2",
            "convene_outbox_sent_total 40",
            "convene_outbox_oldest_unsent_age_seconds 12.500",
            "# TYPE convene_outbox_sent_total counter",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line}:\n{text}");
        }
    }
}

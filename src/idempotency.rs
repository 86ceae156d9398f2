//! `Idempotency-Key` (rule 9): a POST that creates may be retried safely. The same key with the
//! same body answers the stored response and has one effect; the same key with another body is
//! a 422; a retry while the first attempt is still running is a 409 to try again shortly.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use sha2::{Digest, Sha256};

use crate::context::Context;
use crate::db::schema::idempotency_keys;
use crate::error::{AppError, AppResult, Code};

pub const HEADER: &str = "Idempotency-Key";

/// An attempt that has not stored its response after this long is taken to have crashed.
const ABANDONED_AFTER_SECS: i64 = 60;

/// How long a key answers its retries (as Stripe's API does); older keys are pruned, so the
/// table holds about a day of creating POSTs, and a key reused after that is a new request.
pub const KEEP_HOURS: i64 = 24;

/// A client's key: 1–200 visible ASCII characters (UUIDs in practice).
#[derive(Debug, Clone)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The request's key, if it sent one.
    pub fn from_request(req: &HttpRequest) -> AppResult<Option<IdempotencyKey>> {
        let Some(value) = req.headers().get(HEADER) else {
            return Ok(None);
        };
        let key = value.to_str().unwrap_or("").trim();
        if key.is_empty() || key.len() > 200 || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(AppError::bad_request(
                Code::InvalidIdempotencyKey,
                "Idempotency-Key must be 1–200 visible ASCII characters",
            ));
        }
        Ok(Some(IdempotencyKey(key.to_owned())))
    }
}

/// Keys are per caller and per route, so two clients' keys never collide.
fn scope(req: &HttpRequest, caller: Option<uuid::Uuid>) -> String {
    let who = caller.map_or_else(|| "anonymous".to_owned(), |id| id.to_string());
    format!("{who} {} {}", req.method(), req.path())
}

/// Hash of the request body; serde_json's maps are ordered, so equal JSON hashes equally.
pub fn fingerprint(body: &impl serde::Serialize) -> Vec<u8> {
    let canonical = serde_json::to_value(body)
        .and_then(|v| serde_json::to_vec(&v))
        .unwrap_or_default();
    Sha256::digest(canonical).to_vec()
}

/// Runs `create` at most once per key. Without a key it simply runs. `create` answers the
/// status and the body to send as JSON (and to replay).
pub async fn run<F, Fut, T>(
    state: &Context,
    req: &HttpRequest,
    caller: Option<uuid::Uuid>,
    request_fingerprint: Vec<u8>,
    create: F,
) -> AppResult<HttpResponse>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = AppResult<(StatusCode, T)>>,
    T: serde::Serialize,
{
    let create = || async {
        let (status, body) = create().await?;
        let body = serde_json::to_value(body).map_err(AppError::internal)?;
        Ok::<_, AppError>((status, body))
    };
    let Some(key) = IdempotencyKey::from_request(req)? else {
        let (status, body) = create().await?;
        return Ok(HttpResponse::build(status).json(body));
    };
    let scope = scope(req, caller);
    let claimed_at = match begin(state, &scope, &key, &request_fingerprint).await? {
        Begun::Replay(replay) => return Ok(replay),
        Begun::Claimed(at) => at,
    };
    match create().await {
        Ok((status, body)) => {
            let mut conn = state.pool.get().await?;
            store_answer(&mut conn, &scope, &key, &request_fingerprint, status, &body).await?;
            Ok(HttpResponse::build(status).json(body))
        }
        Err(e) => {
            // Nothing was created: free the key so a corrected retry can run, unless a retry
            // has taken it over meanwhile (it is then that retry's to free or answer).
            if let Ok(mut conn) = state.pool.get().await {
                let still_ours = idempotency_keys::table
                    .find((&scope, &key.0))
                    .filter(idempotency_keys::created_at.eq(claimed_at))
                    .filter(idempotency_keys::response_status.is_null());
                let _ = diesel::delete(still_ours).execute(&mut conn).await;
            }
            Err(e)
        }
    }
}

/// Records what the key answers from now on. The first attempt to succeed is the one: an
/// attempt presumed dead that succeeds after all still records its answer if the retry that
/// took the key over has not (that retry may well fail, its effect already done), and records
/// it again should a failed retry have freed the key.
async fn store_answer(
    conn: &mut diesel_async::AsyncPgConnection,
    scope: &str,
    key: &IdempotencyKey,
    request_fingerprint: &[u8],
    status: StatusCode,
    body: &serde_json::Value,
) -> AppResult<()> {
    let answer = (
        idempotency_keys::response_status.eq(Some(status.as_u16() as i16)),
        idempotency_keys::response_body.eq(Some(body)),
    );
    let stored = diesel::update(
        idempotency_keys::table
            .find((scope, &key.0))
            .filter(idempotency_keys::response_status.is_null()),
    )
    .set(answer)
    .execute(conn)
    .await?;
    if stored == 0 {
        diesel::insert_into(idempotency_keys::table)
            .values((
                idempotency_keys::scope.eq(scope),
                idempotency_keys::key.eq(&key.0),
                idempotency_keys::request_hash.eq(request_fingerprint),
                answer,
            ))
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// What an attempt found of its key.
enum Begun {
    /// An earlier attempt's stored response, to answer again.
    Replay(HttpResponse),
    /// This attempt holds the key, claimed at this time.
    Claimed(DateTime<Utc>),
}

/// Claims the key, or answers the stored response of an earlier attempt.
async fn begin(
    state: &Context,
    scope: &str,
    key: &IdempotencyKey,
    request_fingerprint: &[u8],
) -> AppResult<Begun> {
    let mut conn = state.pool.get().await?;
    let claimed: Option<DateTime<Utc>> = diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::scope.eq(scope),
            idempotency_keys::key.eq(&key.0),
            idempotency_keys::request_hash.eq(request_fingerprint),
        ))
        .on_conflict_do_nothing()
        .returning(idempotency_keys::created_at)
        .get_result(&mut conn)
        .await
        .optional()?;
    if let Some(at) = claimed {
        return Ok(Begun::Claimed(at));
    }
    let (stored_hash, status, body, claimed_at): (
        Vec<u8>,
        Option<i16>,
        Option<serde_json::Value>,
        chrono::DateTime<Utc>,
    ) = idempotency_keys::table
        .find((scope, &key.0))
        .select((
            idempotency_keys::request_hash,
            idempotency_keys::response_status,
            idempotency_keys::response_body,
            idempotency_keys::created_at,
        ))
        .first(&mut conn)
        .await
        .optional()?
        // Freed between the claim and this read by the attempt that held it, which failed: the
        // key is free again, and a retry claims it.
        .ok_or_else(key_in_use)?;
    if stored_hash != request_fingerprint {
        return Err(AppError::unprocessable(
            Code::IdempotencyKeyReused,
            "this Idempotency-Key was used with a different request body",
        ));
    }
    match (status, body) {
        (Some(status), Some(body)) => {
            let status = StatusCode::from_u16(status as u16).unwrap_or(StatusCode::OK);
            Ok(Begun::Replay(
                HttpResponse::build(status)
                    .insert_header(("Idempotent-Replayed", "true"))
                    .json(body),
            ))
        }
        _ => {
            // An attempt that has not answered within a minute is presumed dead and this one
            // takes over, unless another retry just did: of concurrent retries, the one whose
            // update still finds the claim it read wins. The database's clock judges the age,
            // as it stamped the claim.
            let abandoned = diesel::dsl::sql::<diesel::sql_types::Timestamptz>(&format!(
                "now() - interval '{ABANDONED_AFTER_SECS} seconds'"
            ));
            let taken = diesel::update(
                idempotency_keys::table
                    .find((scope, &key.0))
                    .filter(idempotency_keys::created_at.eq(claimed_at))
                    .filter(idempotency_keys::created_at.lt(abandoned))
                    .filter(idempotency_keys::response_status.is_null()),
            )
            .set(idempotency_keys::created_at.eq(diesel::dsl::now))
            .returning(idempotency_keys::created_at)
            .get_result(&mut conn)
            .await
            .optional()?;
            taken.map(Begun::Claimed).ok_or_else(key_in_use)
        }
    }
}

fn key_in_use() -> AppError {
    AppError::conflict(
        Code::IdempotencyKeyInUse,
        "a request with this Idempotency-Key is still being processed; retry shortly",
    )
}

/// Deletes keys older than [`KEEP_HOURS`]; answers how many.
pub async fn prune(conn: &mut diesel_async::AsyncPgConnection) -> AppResult<usize> {
    Ok(diesel::delete(
        idempotency_keys::table
            .filter(idempotency_keys::created_at.lt(Utc::now() - Duration::hours(KEEP_HOURS))),
    )
    .execute(conn)
    .await?)
}

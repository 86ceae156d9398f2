//! One error type for the whole application, rendered as RFC 9457 problem+json.
//!
//! A client's mistake maps to a 4xx with a stable `code`; anything unexpected is a 500 whose
//! body says nothing internal while the log gets the whole cause chain.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

/// One invalid field of a request: its path (`invitees[2].email`) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Every stable, machine-readable reason an error answers with, as `Problem.code`. The wire
/// strings are part of the API: clients branch on them, so a variant is never renamed.
macro_rules! codes {
    ($($variant:ident => $wire:literal,)*) => {
        /// The stable reason of a problem, e.g. `invitation_required`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum Code {
            $($variant,)*
        }

        impl Code {
            /// Every code, for the test that the serde names are the wire strings.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The wire string, as serde writes it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $wire,)*
                }
            }
        }
    };
}

codes! {
    AccountDisabled => "account_disabled",
    AccountExists => "account_exists",
    AdminOnly => "admin_only",
    AlreadyCancelled => "already_cancelled",
    AlreadyRegistered => "already_registered",
    AlreadyVerified => "already_verified",
    AnswerFinal => "answer_final",
    BadRequest => "bad_request",
    CannotDemoteSelf => "cannot_demote_self",
    CannotDisableSelf => "cannot_disable_self",
    CannotRetry => "cannot_retry",
    CapacityBelowConfirmed => "capacity_below_confirmed",
    CrossSiteRequest => "cross_site_request",
    DuplicateEmail => "duplicate_email",
    DuplicateName => "duplicate_name",
    EmailUnverified => "email_unverified",
    EventNotOpen => "event_not_open",
    IdempotencyKeyInUse => "idempotency_key_in_use",
    IdempotencyKeyReused => "idempotency_key_reused",
    InternalError => "internal_error",
    InvalidBody => "invalid_body",
    InvalidCredentials => "invalid_credentials",
    InvalidCsrfToken => "invalid_csrf_token",
    InvalidIdempotencyKey => "invalid_idempotency_key",
    InvalidQuery => "invalid_query",
    InvalidText => "invalid_text",
    InvalidToken => "invalid_token",
    InvalidTransition => "invalid_transition",
    InvitationExpired => "invitation_expired",
    InvitationRequired => "invitation_required",
    InvitationRevoked => "invitation_revoked",
    LastAdmin => "last_admin",
    LastStaff => "last_staff",
    MalformedJson => "malformed_json",
    MethodNotAllowed => "method_not_allowed",
    NoSessions => "no_sessions",
    NotConfirmed => "not_confirmed",
    NotEventStaff => "not_event_staff",
    NotFocalPoint => "not_focal_point",
    NotFailed => "not_failed",
    NotFound => "not_found",
    OrganizerOnly => "organizer_only",
    PayloadTooLarge => "payload_too_large",
    PersonHasAccount => "person_has_account",
    RegistrationClosed => "registration_closed",
    RegistrationNotLive => "registration_not_live",
    RegistrationNotOpen => "registration_not_open",
    SeriesNameTaken => "series_name_taken",
    ServiceUnavailable => "service_unavailable",
    SessionEnded => "session_ended",
    SessionFull => "session_full",
    SessionHasRegistrations => "session_has_registrations",
    SlugTaken => "slug_taken",
    TokenExpired => "token_expired",
    TokenUsed => "token_used",
    TooManyAttempts => "too_many_attempts",
    TooManyRequests => "too_many_requests",
    Unauthenticated => "unauthenticated",
    UnsupportedMediaType => "unsupported_media_type",
    ValidationFailed => "validation_failed",
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The problem+json body every error response carries.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable, machine-readable reason, e.g. `invitation_required`.
    pub code: Code,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A client's mistake or a rule that refuses the request.
    #[error("{code}: {detail}")]
    Problem {
        status: StatusCode,
        code: Code,
        detail: String,
        retry_after_secs: Option<u64>,
    },
    /// The request was understood but fields are invalid; nothing was changed.
    #[error("validation failed: {0:?}")]
    Validation(Vec<FieldError>),
    /// The database could not be reached or the pool is exhausted.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type AppResult<T> = Result<T, AppError>;

/// Why a transaction PostgreSQL rolled back (SQLSTATE 40001 or 40P01) is unavailable.
const ROLLED_BACK: &str = "transaction rolled back by a concurrent one; retry";

impl AppError {
    pub fn problem(status: StatusCode, code: Code, detail: impl Into<String>) -> Self {
        AppError::Problem {
            status,
            code,
            detail: detail.into(),
            retry_after_secs: None,
        }
    }

    pub fn bad_request(code: Code, detail: impl Into<String>) -> Self {
        Self::problem(StatusCode::BAD_REQUEST, code, detail)
    }

    pub fn unauthenticated() -> Self {
        Self::problem(
            StatusCode::UNAUTHORIZED,
            Code::Unauthenticated,
            "log in first: send `Authorization: Bearer <token>` or the session cookie",
        )
    }

    pub fn forbidden(code: Code, detail: impl Into<String>) -> Self {
        Self::problem(StatusCode::FORBIDDEN, code, detail)
    }

    /// Who is asking could not be told apart from nobody: wrong credentials.
    pub fn unauthorized(code: Code, detail: impl Into<String>) -> Self {
        Self::problem(StatusCode::UNAUTHORIZED, code, detail)
    }

    /// A 404 that says more than "no such thing": a link that does not (or no longer) work.
    pub fn not_found_because(code: Code, detail: impl Into<String>) -> Self {
        Self::problem(StatusCode::NOT_FOUND, code, detail)
    }

    /// `what` names the kind of object, e.g. "event".
    pub fn not_found(what: &str) -> Self {
        Self::problem(
            StatusCode::NOT_FOUND,
            Code::NotFound,
            format!("no such {what}"),
        )
    }

    pub fn conflict(code: Code, detail: impl Into<String>) -> Self {
        Self::problem(StatusCode::CONFLICT, code, detail)
    }

    pub fn gone(code: Code, detail: impl Into<String>) -> Self {
        Self::problem(StatusCode::GONE, code, detail)
    }

    pub fn unprocessable(code: Code, detail: impl Into<String>) -> Self {
        Self::problem(StatusCode::UNPROCESSABLE_ENTITY, code, detail)
    }

    pub fn too_many_requests(retry_after_secs: u64) -> Self {
        Self::slow_down(
            Code::TooManyAttempts,
            format!("too many failed attempts; try again in {retry_after_secs} seconds"),
            retry_after_secs,
        )
    }

    /// A 429 with `Retry-After`: asked too often; `detail` says when to ask again.
    pub fn slow_down(code: Code, detail: impl Into<String>, retry_after_secs: u64) -> Self {
        AppError::Problem {
            status: StatusCode::TOO_MANY_REQUESTS,
            code,
            detail: detail.into(),
            retry_after_secs: Some(retry_after_secs),
        }
    }

    /// A single invalid field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Validation(vec![FieldError::new(field, message)])
    }

    pub fn internal(context: impl std::fmt::Display) -> Self {
        AppError::Internal(anyhow::anyhow!("{context}"))
    }

    /// A 404: what was asked for does not exist (or is not the caller's to see).
    pub fn is_not_found(&self) -> bool {
        matches!(self, AppError::Problem { status, .. } if *status == StatusCode::NOT_FOUND)
    }

    /// Whether PostgreSQL rolled the transaction back for a deadlock or a serialization
    /// failure: running it again may succeed.
    pub fn is_rolled_back(&self) -> bool {
        matches!(self, AppError::Unavailable(why) if why == ROLLED_BACK)
    }

    pub fn code(&self) -> Code {
        match self {
            AppError::Problem { code, .. } => *code,
            AppError::Validation(_) => Code::ValidationFailed,
            AppError::Unavailable(_) => Code::ServiceUnavailable,
            AppError::Internal(_) => Code::InternalError,
        }
    }

    /// Logs what the answer hides: the cause chain of a 500, why a 503 happened. A client's
    /// mistake is not logged here (the request span records its status).
    pub fn log_cause(&self) {
        match self {
            AppError::Internal(cause) => {
                tracing::error!(error = ?cause, "request failed with an internal error")
            }
            AppError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "request failed: service unavailable")
            }
            AppError::Problem { .. } | AppError::Validation(_) => {}
        }
    }

    pub fn to_problem(&self) -> Problem {
        let status = self.status_code();
        let (detail, errors) = match self {
            AppError::Problem { detail, .. } => (detail.clone(), Vec::new()),
            AppError::Validation(errors) => (
                "the request has invalid fields; nothing was changed".to_owned(),
                errors.clone(),
            ),
            AppError::Unavailable(_) => (
                "the service is temporarily unavailable; try again shortly".to_owned(),
                Vec::new(),
            ),
            AppError::Internal(_) => (
                "an unexpected error occurred; it has been logged".to_owned(),
                Vec::new(),
            ),
        };
        Problem::new(status, self.code(), detail, errors)
    }
}

impl Problem {
    pub fn new(status: StatusCode, code: Code, detail: String, errors: Vec<FieldError>) -> Self {
        Problem {
            type_: format!("urn:convene:problem:{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail,
            code,
            errors,
        }
    }

    pub fn response(&self) -> HttpResponse {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        HttpResponse::build(status)
            .insert_header((header::CONTENT_TYPE, PROBLEM_JSON))
            .json(self)
    }
}

pub const PROBLEM_JSON: &str = "application/problem+json";

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::Problem { status, .. } => *status,
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        self.log_cause();
        let mut response = self.to_problem().response();
        let retry_after = match self {
            AppError::Problem {
                retry_after_secs: Some(secs),
                ..
            } => Some(*secs),
            AppError::Unavailable(_) => Some(1),
            _ => None,
        };
        if let Some(secs) = retry_after {
            if let Ok(value) = header::HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(err: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match err {
            Error::NotFound => AppError::not_found("record"),
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
                AppError::Unavailable(info.message().to_owned())
            }
            // SQLSTATE 40001 and 40P01 (a deadlock: see docs/decisions/0011-sqlstate-through-patched-diesel-async.md): PostgreSQL
            // rolled the transaction back, nothing was changed; `db::retry` runs it again, and
            // what still fails answers 503 with Retry-After, never 500.
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => {
                AppError::Unavailable(ROLLED_BACK.to_owned())
            }
            // Bounded lock waits (lock_timeout) under a rush: the client may retry.
            Error::DatabaseError(DatabaseErrorKind::Unknown, ref info)
                if info.message().contains("lock timeout") =>
            {
                AppError::Unavailable("lock wait timed out; retry".to_owned())
            }
            // A NUL or an invalid byte sequence reached a text column (a field no parser checks,
            // such as a search term): the client's mistake, and the statement changed nothing.
            Error::DatabaseError(DatabaseErrorKind::Unknown, ref info)
                if info.message().contains("invalid byte sequence") =>
            {
                AppError::unprocessable(
                    Code::InvalidText,
                    "text must not contain NUL (\\u0000) characters",
                )
            }
            other => AppError::Internal(anyhow::Error::new(other).context("database query failed")),
        }
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for AppError {
    fn from(err: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        AppError::Unavailable(format!("database pool: {err}"))
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(err: actix_web::error::BlockingError) -> Self {
        AppError::Internal(anyhow::anyhow!("blocking task failed: {err}"))
    }
}

/// Collects field errors while parsing a request, so a client learns every problem at once.
#[derive(Debug, Default)]
pub struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the error of a field parse and returns the value when it parsed.
    pub fn check<T, E: std::fmt::Display>(
        &mut self,
        field: impl Into<String>,
        result: Result<T, E>,
    ) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(e) => {
                self.errors.push(FieldError::new(field, e.to_string()));
                None
            }
        }
    }

    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }

    /// Ends validation: an error listing every bad field, or Ok when there were none.
    pub fn finish(self) -> AppResult<()> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(self.errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_serializes_as_its_wire_string() {
        for code in Code::ALL {
            let json = serde_json::to_value(code).expect("serializes");
            assert_eq!(json, serde_json::Value::from(code.as_str()), "{code:?}");
        }
    }
}

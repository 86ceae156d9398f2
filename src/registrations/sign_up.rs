//! Public registration (`POST /sessions/{id}/registrations` and the event page's form): the
//! form's input, the checks that a session is open to the public, and the sign-up itself. A
//! verified account registering itself is seated at once; anyone else proves the address by
//! an emailed link (`confirmation`).

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::token::IssuedToken;
use crate::auth::AuthUser;
use crate::context::{Context, Links};
use crate::db::locks::SessionLock;
use crate::db::schema::{organizations, registrations};
use crate::error::{AppError, AppResult, Code, Validator};
use crate::events::access::is_event_staff;
use crate::events::local_time;
use crate::mail::MailQuota;
use crate::organizations::model::{MembershipStatus, OrganizationKind};
use crate::organizations::CountryCode;
use crate::people::model::Person;
use crate::people::EmailAddress;
use crate::registrations::confirmation::after_confirmation;
use crate::registrations::emails::{self, Notice};
use crate::registrations::model::{
    Registration, RegistrationRequest, RegistrationSource, RegistrationStatus, RegistrationView,
    SessionContext,
};
use crate::registrations::seats;
use crate::registrations::service::{
    admit, already_registered, check_event_open, check_session_not_over, live_registration,
    session_context, view, Admission,
};
use crate::text::{check_characters, Lines};

/// How long an emailed confirmation link stays valid.
pub const CONFIRM_TOKEN_TTL_HOURS: i64 = 48;

/// A registration request, parsed: who registers and what they say of themselves.
#[derive(Debug, Clone)]
pub struct RegistrationInput {
    pub email: Option<EmailAddress>,
    pub name: Option<String>,
    pub organization_id: Option<Uuid>,
    pub organization_name: Option<String>,
    pub organization_kind: Option<OrganizationKind>,
    pub country: Option<String>,
}

impl RegistrationInput {
    /// Checks every field at once. Email and name may be left out by a logged-in caller
    /// registering themselves.
    pub fn parse(raw: &RegistrationRequest, caller: Option<&AuthUser>) -> AppResult<Self> {
        let mut v = Validator::new();
        let email = match present(&raw.email) {
            Some(e) => v.check("email", EmailAddress::parse(e)),
            None if caller.is_none() => {
                v.add("email", "is required");
                None
            }
            None => None,
        };
        let for_someone_else = match (&email, caller) {
            (Some(e), Some(user)) => e.as_str() != user.email(),
            (_, None) => true,
            (None, Some(_)) => false,
        };
        let name = match present(&raw.name) {
            Some(n) => v.check("name", crate::people::service::parse_name(n)),
            None if for_someone_else => {
                v.add("name", "is required");
                None
            }
            None => None,
        };
        let organization_name = match present(&raw.organization_name) {
            Some(n) if n.chars().count() > 300 => {
                v.add("organization_name", "must be at most 300 characters");
                None
            }
            Some(n) => v
                .check("organization_name", check_characters(n, Lines::Single))
                .map(|()| n.to_owned()),
            None => None,
        };
        // A typed organisation's kind is the registrant's word; a member's is the directory's.
        let organization_kind = match present(&raw.organization_kind) {
            Some(_) if raw.organization_id.is_some() => {
                v.add(
                    "organization_kind",
                    "is the member organisation's own: give it only with organization_name",
                );
                None
            }
            Some(_) if present(&raw.organization_name).is_none() => {
                v.add("organization_kind", "needs organization_name");
                None
            }
            Some(kind) => v.check(
                "organization_kind",
                kind.parse::<OrganizationKind>().map_err(|_| {
                    format!(
                        "must be one of: {}",
                        OrganizationKind::ALL
                            .iter()
                            .map(OrganizationKind::as_str)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }),
            ),
            None => None,
        };
        let country = present(&raw.country)
            .and_then(|c| v.check("country", CountryCode::parse(c)))
            .map(|c| c.as_str().to_owned());
        v.finish()?;
        Ok(RegistrationInput {
            email,
            name,
            organization_id: raw.organization_id,
            organization_name,
            organization_kind,
            country,
        })
    }
}

fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// What a registration request led to.
#[derive(Debug, Clone)]
pub enum RegisterOutcome {
    /// A verified account registering itself: its registration; `created` is false when its
    /// live registration was answered instead of making a second one.
    Registered {
        registration: RegistrationView,
        created: bool,
    },
    /// Anyone else (anonymous, unverified, or registering another address): one answer whatever
    /// the address's state, so it tells nobody who is registered. The email to the address
    /// says what applies: a confirmation link, or where its registration stands.
    CheckEmail,
}

/// Refuses registration for sessions that are not open to the public right now. A draft is
/// 404 to non-staff so its existence does not leak.
pub async fn check_open_for_public(
    conn: &mut AsyncPgConnection,
    ctx: &SessionContext,
    caller: Option<&AuthUser>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    if ctx.event.is_draft() {
        let staff = match caller {
            Some(user) => is_event_staff(conn, user, ctx.event.id).await?,
            None => false,
        };
        if !staff {
            return Err(AppError::not_found("session"));
        }
    }
    if !ctx.session.is_public() {
        return Err(AppError::forbidden(
            Code::InvitationRequired,
            "this session is closed: only invited people may take part",
        ));
    }
    check_event_open(ctx)?;
    check_session_not_over(ctx, now)?;
    if let Some(opens) = ctx.session.registration_opens_at {
        if now < opens {
            return Err(AppError::conflict(
                Code::RegistrationNotOpen,
                format!(
                    "registration opens on {}",
                    local_time::format_local(opens, &ctx.event.zone())
                ),
            ));
        }
    }
    if let Some(closes) = ctx.session.registration_closes_at {
        if now >= closes {
            return Err(AppError::conflict(
                Code::RegistrationClosed,
                format!(
                    "registration closed on {}",
                    local_time::format_local(closes, &ctx.event.zone())
                ),
            ));
        }
    }
    Ok(())
}

/// A registrant may name only an active member organisation (not an applicant, nor a suspended
/// or withdrawn one).
async fn check_organization(
    conn: &mut AsyncPgConnection,
    organization_id: Option<Uuid>,
) -> AppResult<()> {
    let Some(id) = organization_id else {
        return Ok(());
    };
    let found: i64 = organizations::table
        .filter(organizations::id.eq(id))
        .filter(organizations::status.eq(MembershipStatus::Active))
        .count()
        .get_result(conn)
        .await?;
    if found == 0 {
        return Err(AppError::invalid(
            "organization_id",
            "no such organisation in the partnership",
        ));
    }
    Ok(())
}

/// Public registration (`POST /sessions/{id}/registrations` and the event page's form).
///
/// A verified account registering itself skips the email step and learns where its
/// registration stands. Everyone else is answered [`RegisterOutcome::CheckEmail`] and the
/// address is emailed: a new `pending_confirmation` registration's link, a fresh link for one
/// still unconfirmed, or where a live registration stands.
pub async fn register(
    state: &Context,
    session_id: Uuid,
    caller: Option<&AuthUser>,
    input: RegistrationInput,
    quota: &MailQuota,
) -> AppResult<RegisterOutcome> {
    let mut conn = state.pool.get().await?;
    let ctx = session_context(&mut conn, session_id).await?;
    check_open_for_public(&mut conn, &ctx, caller, Utc::now()).await?;
    check_organization(&mut conn, input.organization_id).await?;

    // Only a verified account registering its own address is trusted without the email step.
    let verified_person = caller
        .filter(|user| {
            input
                .email
                .as_ref()
                .is_none_or(|e| e.as_str() == user.email())
        })
        .and_then(|user| user.person().cloned());
    if let Some(person) = verified_person {
        return register_verified(&mut conn, &state.links, session_id, caller, person, input).await;
    }
    let email = input
        .email
        .clone()
        .or_else(|| caller.map(|u| EmailAddress::from_trusted(u.email().to_owned())))
        .ok_or_else(|| AppError::invalid("email", "is required"))?;
    let name = input
        .name
        .clone()
        .or_else(|| caller.map(|u| u.name().to_owned()))
        .ok_or_else(|| AppError::invalid("name", "is required"))?;
    let sign_up = SignUp {
        session_id,
        caller,
        email: &email,
        name: &name,
        input: &input,
    };
    request_confirmation(&mut conn, &state.links, sign_up, quota).await?;
    Ok(RegisterOutcome::CheckEmail)
}

/// A verified account registering itself: seated, waitlisted or queued for approval at once.
async fn register_verified(
    conn: &mut AsyncPgConnection,
    links: &Links,
    session_id: Uuid,
    caller: Option<&AuthUser>,
    person: Person,
    input: RegistrationInput,
) -> AppResult<RegisterOutcome> {
    crate::db::transaction(conn, |conn| {
        async move {
            // Every change of a seat in the session happens under this lock, so a double
            // submission finds the first one instead of tripping the unique index.
            let locked = seats::lock_session(conn, session_id).await?;
            // The checks that decide, again on what the lock now guards (rule 12): a session
            // made closed or an event cancelled meanwhile takes no registration.
            let ctx = session_context(conn, session_id).await?;
            check_open_for_public(conn, &ctx, caller, Utc::now()).await?;
            let (registration, created) = match live_registration(conn, session_id, person.id)
                .await?
            {
                Some(r) if r.status == RegistrationStatus::PendingConfirmation => {
                    let placed =
                        after_confirmation(conn, links, &ctx, &locked, r, &person, None).await?;
                    (placed.registration, false)
                }
                Some(r) => (r, false),
                None if ctx.session.requires_approval => {
                    let r = insert_registration(
                        conn,
                        &ctx,
                        person.id,
                        &input,
                        RegistrationStatus::PendingApproval,
                        None,
                    )
                    .await?;
                    match r {
                        Some(r) => {
                            emails::notify(conn, links, &ctx, &r, Notice::AwaitingApproval).await?;
                            (r, true)
                        }
                        // An unconfirmed sign-up of the address committed meanwhile (sign-ups
                        // do not wait for the seat lock): the account proves the address, so
                        // that registration goes on to the approval queue.
                        None => {
                            let r = live_registration(conn, session_id, person.id)
                                .await?
                                .ok_or_else(already_registered)?;
                            let placed =
                                after_confirmation(conn, links, &ctx, &locked, r, &person, None)
                                    .await?;
                            (placed.registration, false)
                        }
                    }
                }
                None => {
                    let admission = Admission {
                        session_id,
                        person_id: person.id,
                        source: RegistrationSource::PublicForm,
                        invitation_id: None,
                        organization_id: input.organization_id,
                        organization_name: input.organization_name.clone(),
                        organization_kind: input.organization_kind,
                        country: input.country.clone(),
                    };
                    let r = admit(conn, admission).await?.registration;
                    emails::notify(conn, links, &ctx, &r, Notice::for_seat(r.status)).await?;
                    (r, true)
                }
            };
            Ok(RegisterOutcome::Registered {
                registration: view(conn, &registration).await?,
                created,
            })
        }
        .scope_boxed()
    })
    .await
}

/// An address asking to register, which must prove it owns the address first.
#[derive(Clone, Copy)]
struct SignUp<'a> {
    session_id: Uuid,
    caller: Option<&'a AuthUser>,
    email: &'a EmailAddress,
    name: &'a str,
    input: &'a RegistrationInput,
}

/// Emails the address what applies to it: a confirmation link for a new `pending_confirmation`
/// registration, a fresh link for one still unconfirmed, or where its live registration
/// stands; nothing when the address had its share of mail this hour (a link it holds keeps
/// working).
///
/// It takes no seat, so it holds the session only as [`SessionLock::SignUp`]: sign-ups run
/// side by side and never queue behind the seat-takers of a rush, while a change of the
/// session or the event's cancellation waits for them (and they for it). The registrant's own
/// actions racing this one (a second submission, a click on the link, a cancellation) are
/// settled by the unique index of live registrations and by changing a registration only in
/// the status it was read in.
async fn request_confirmation(
    conn: &mut AsyncPgConnection,
    links: &Links,
    sign_up: SignUp<'_>,
    quota: &MailQuota,
) -> AppResult<()> {
    crate::db::transaction(conn, |conn| {
        async move {
            seats::lock_session_as(conn, sign_up.session_id, SessionLock::SignUp).await?;
            let ctx = session_context(conn, sign_up.session_id).await?;
            check_open_for_public(conn, &ctx, sign_up.caller, Utc::now()).await?;
            let person =
                crate::people::service::find_or_create_by_email(conn, sign_up.email, sign_up.name)
                    .await?;
            // Under the address's mail limit lock (when limits are on), so a second
            // submission of the address reads what the first committed.
            let may_email = quota.permit(conn, Some(&person.email)).await?.granted();
            let mut existing = live_registration(conn, sign_up.session_id, person.id).await?;
            if let (Some(r), true) = (&existing, may_email) {
                if r.status == RegistrationStatus::PendingConfirmation {
                    if let Some((r, token)) = replace_link(conn, r.id).await? {
                        return emails::send_confirmation_request(
                            conn, links, &ctx, &r, &person, &token,
                        )
                        .await;
                    }
                    // Confirmed or cancelled by its registrant meanwhile: decide again.
                    existing = live_registration(conn, sign_up.session_id, person.id).await?;
                    if existing
                        .as_ref()
                        .is_some_and(|r| r.status == RegistrationStatus::PendingConfirmation)
                    {
                        // A second submission made it; its email carries the link.
                        return Ok(());
                    }
                }
            }
            match existing {
                Some(_) if !may_email => {}
                Some(r) => {
                    let position = seats::waitlist_position(conn, &r).await?;
                    emails::send_already_registered(conn, &ctx, &r, &person, position).await?;
                }
                None => {
                    let token = IssuedToken::generate();
                    let inserted = insert_registration(
                        conn,
                        &ctx,
                        person.id,
                        sign_up.input,
                        RegistrationStatus::PendingConfirmation,
                        Some(&token),
                    )
                    .await?;
                    // `None`: a second submission of the address committed first; its email
                    // carries the link. Without its share of mail this hour the address gets
                    // no link now: it asks again later for a fresh one.
                    if let (Some(r), true) = (inserted, may_email) {
                        emails::send_confirmation_request(conn, links, &ctx, &r, &person, &token)
                            .await?;
                    }
                }
            }
            Ok(())
        }
        .scope_boxed()
    })
    .await
}

/// Gives a `pending_confirmation` registration a new confirmation link, which replaces the old
/// one; `None` when the registration is no longer pending.
async fn replace_link(
    conn: &mut AsyncPgConnection,
    registration_id: Uuid,
) -> AppResult<Option<(Registration, IssuedToken)>> {
    let token = IssuedToken::generate();
    let replaced: Option<Registration> = diesel::update(
        registrations::table
            .find(registration_id)
            .filter(registrations::status.eq(RegistrationStatus::PendingConfirmation)),
    )
    .set((
        registrations::confirm_token_hash.eq(Some(token.hash.clone())),
        registrations::confirm_token_expires_at.eq(Some(confirm_token_expiry())),
        registrations::updated_at.eq(Utc::now()),
    ))
    .returning(Registration::as_returning())
    .get_result(conn)
    .await
    .optional()?;
    Ok(replaced.map(|r| (r, token)))
}

fn confirm_token_expiry() -> DateTime<Utc> {
    Utc::now() + Duration::hours(CONFIRM_TOKEN_TTL_HOURS)
}

/// Inserts a registration; `None` when the person already has a live one in the session (the
/// unique index of live registrations), committed by a transaction that did not hold the
/// session's seat lock (a sign-up).
async fn insert_registration(
    conn: &mut AsyncPgConnection,
    ctx: &SessionContext,
    person_id: Uuid,
    input: &RegistrationInput,
    status: RegistrationStatus,
    confirm_token: Option<&IssuedToken>,
) -> AppResult<Option<Registration>> {
    Ok(diesel::insert_into(registrations::table)
        .values((
            registrations::id.eq(Uuid::now_v7()),
            registrations::session_id.eq(ctx.session.id),
            registrations::person_id.eq(person_id),
            registrations::status.eq(status),
            registrations::source.eq(RegistrationSource::PublicForm),
            registrations::organization_id.eq(input.organization_id),
            registrations::organization_name.eq(&input.organization_name),
            registrations::organization_kind.eq(input.organization_kind),
            registrations::country.eq(&input.country),
            registrations::confirm_token_hash.eq(confirm_token.map(|t| t.hash.clone())),
            registrations::confirm_token_expires_at
                .eq(confirm_token.map(|_| confirm_token_expiry())),
        ))
        .on_conflict_do_nothing()
        .returning(Registration::as_returning())
        .get_result(conn)
        .await
        .optional()?)
}

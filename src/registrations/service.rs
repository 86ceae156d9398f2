//! The rules of registrations. `admit` is the one way into a seat, shared by public
//! registration (after the email is confirmed), staff approval and accepted invitations.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::token::{hash_token, looks_like_token, IssuedToken};
use crate::auth::AuthUser;
use crate::context::{Context, Links};
use crate::db::locks::SessionLock;
use crate::db::schema::{events, organizations, people, registrations, sessions};
use crate::error::{AppError, AppResult, Code, Validator};
use crate::events::access::is_event_staff;
use crate::events::local_time;
use crate::mail::MailQuota;
use crate::organizations::model::{MembershipStatus, OrganizationKind};
use crate::organizations::CountryCode;
use crate::people::model::Person;
use crate::people::EmailAddress;
use crate::registrations::emails::{self, Notice};
use crate::registrations::model::{
    EventFacts, Registration, RegistrationRequest, RegistrationSource, RegistrationStatus,
    RegistrationView, SessionContext, SessionFacts,
};
use crate::registrations::seats;
use crate::text::{check_characters, Lines};

/// Who is admitted to which session, and why.
#[derive(Debug, Clone)]
pub struct Admission {
    pub session_id: Uuid,
    pub person_id: Uuid,
    pub source: RegistrationSource,
    pub invitation_id: Option<Uuid>,
    pub organization_id: Option<Uuid>,
    pub organization_name: Option<String>,
    pub organization_kind: Option<OrganizationKind>,
    pub country: Option<String>,
}

/// The registration after admission, and whether this call changed it (false: it was already
/// confirmed or waitlisted, e.g. a double submission).
#[derive(Debug, Clone)]
pub struct Admitted {
    pub registration: Registration,
    pub changed: bool,
}

/// Seats a person in a session: confirmed while there is room, else waitlisted (or a 409
/// `session_full` when the waitlist is off). Reuses the person's live registration, so calling
/// it twice gives one registration. Must run inside a transaction; it locks the session row.
pub async fn admit(conn: &mut AsyncPgConnection, admission: Admission) -> AppResult<Admitted> {
    let session = seats::lock_session(conn, admission.session_id).await?;
    let mut existing = live_registration(conn, admission.session_id, admission.person_id).await?;
    // A seat held through the public form is now also the invitation's: revoking the
    // invitation then finds it by the invitation's id.
    if let (Some(r), Some(invitation_id)) = (&mut existing, admission.invitation_id) {
        if r.invitation_id.is_none() {
            *r = diesel::update(registrations::table.find(r.id))
                .set((
                    registrations::invitation_id.eq(invitation_id),
                    registrations::updated_at.eq(Utc::now()),
                ))
                .returning(Registration::as_returning())
                .get_result(conn)
                .await?;
        }
    }
    let registration_id = match existing {
        Some(r)
            if matches!(
                r.status,
                RegistrationStatus::Confirmed | RegistrationStatus::Waitlisted
            ) =>
        {
            return Ok(Admitted {
                registration: r,
                changed: false,
            });
        }
        Some(r) => r.id,
        None => {
            let id = Uuid::now_v7();
            let inserted = diesel::insert_into(registrations::table)
                .values((
                    registrations::id.eq(id),
                    registrations::session_id.eq(admission.session_id),
                    registrations::person_id.eq(admission.person_id),
                    // Provisional: take_seat decides right below, in this transaction.
                    registrations::status.eq(RegistrationStatus::PendingApproval),
                    registrations::source.eq(admission.source),
                    registrations::invitation_id.eq(admission.invitation_id),
                    registrations::organization_id.eq(admission.organization_id),
                    registrations::organization_name.eq(&admission.organization_name),
                    registrations::organization_kind.eq(admission.organization_kind),
                    registrations::country.eq(&admission.country),
                ))
                .on_conflict_do_nothing()
                .execute(conn)
                .await?;
            if inserted == 1 {
                id
            } else {
                // A sign-up of the person committed meanwhile (sign-ups do not wait for this
                // lock): its `pending_confirmation` registration is the one to seat.
                live_registration(conn, admission.session_id, admission.person_id)
                    .await?
                    .ok_or_else(already_registered)?
                    .id
            }
        }
    };
    let registration = seats::take_seat(conn, &session, registration_id, None)
        .await?
        .ok_or_else(session_full)?
        .registration;
    Ok(Admitted {
        registration,
        changed: true,
    })
}

/// Cancels a registration and, when it held a seat, gives the seat to the waitlist in the same
/// transaction: every way of cancelling goes through here. The registration's session reminder
/// is withdrawn; each promoted registrant is emailed and gets one (the caller tells the
/// cancelled registrant, as its cause calls for). Returns the cancelled registration and the
/// promoted ones.
pub async fn cancel(
    conn: &mut AsyncPgConnection,
    links: &Links,
    registration_id: Uuid,
) -> AppResult<(Registration, Vec<Registration>)> {
    let session_id: Uuid = registrations::table
        .find(registration_id)
        .select(registrations::session_id)
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found("registration"))?;
    let session = seats::lock_session(conn, session_id).await?;
    // Re-read under the session lock: every status change of a registration holds that lock.
    let status: RegistrationStatus = registrations::table
        .find(registration_id)
        .select(registrations::status)
        .first(conn)
        .await?;
    if !status.is_live() {
        return Err(AppError::conflict(
            Code::RegistrationNotLive,
            format!("the registration is already {status}"),
        ));
    }
    let now = Utc::now();
    let cancelled: Registration = diesel::update(registrations::table.find(registration_id))
        .set((
            registrations::status.eq(RegistrationStatus::Cancelled),
            registrations::cancelled_at.eq(now),
            registrations::waitlist_seq.eq(None::<i64>),
            registrations::updated_at.eq(now),
        ))
        .returning(Registration::as_returning())
        .get_result(conn)
        .await?;
    emails::withdraw_session_reminder(conn, registration_id).await?;
    // The registrant's calendar is told with a CANCEL of a higher SEQUENCE.
    emails::raise_sequences(conn, &[session_id]).await?;
    let promoted = promote_from_waitlist(conn, links, &session).await?;
    Ok((cancelled, promoted))
}

/// Seats as many waitlisted registrations as the locked session has room for, in order, and
/// tells each (with a session reminder). The one way off the waitlist into a freed seat.
async fn promote_from_waitlist(
    conn: &mut AsyncPgConnection,
    links: &Links,
    session: &seats::LockedSession,
) -> AppResult<Vec<Registration>> {
    let promoted = seats::fill_from_waitlist(conn, session).await?;
    if !promoted.is_empty() {
        let ctx = session_context(conn, session.id).await?;
        for r in &promoted {
            emails::notify_promoted(conn, links, &ctx, r).await?;
        }
    }
    Ok(promoted)
}

// ---------------------------------------------------------------------------------------------
// Public registration, confirmation, moderation, check-in, lists and reports.
// ---------------------------------------------------------------------------------------------

/// How long an emailed confirmation link stays valid.
pub const CONFIRM_TOKEN_TTL_HOURS: i64 = 48;

/// The session with its event; 404 when there is no such session.
pub async fn session_context(
    conn: &mut AsyncPgConnection,
    session_id: Uuid,
) -> AppResult<SessionContext> {
    let (session, event) = sessions::table
        .inner_join(events::table)
        .filter(sessions::id.eq(session_id))
        .select((SessionFacts::as_select(), EventFacts::as_select()))
        .first::<(SessionFacts, EventFacts)>(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found("session"))?;
    Ok(SessionContext { session, event })
}

/// A registration with its session and event; 404 when there is no such registration.
pub async fn registration_context(
    conn: &mut AsyncPgConnection,
    registration_id: Uuid,
) -> AppResult<(Registration, SessionContext)> {
    let registration: Registration = registrations::table
        .find(registration_id)
        .select(Registration::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found("registration"))?;
    let ctx = session_context(conn, registration.session_id).await?;
    Ok((registration, ctx))
}

/// The registrant's view, with the waitlist position when waitlisted.
pub async fn view(
    conn: &mut AsyncPgConnection,
    registration: &Registration,
) -> AppResult<RegistrationView> {
    let position = seats::waitlist_position(conn, registration).await?;
    Ok(RegistrationView::new(registration, position))
}

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

fn check_event_open(ctx: &SessionContext) -> AppResult<()> {
    if ctx.event.is_published() {
        Ok(())
    } else {
        Err(AppError::conflict(
            Code::EventNotOpen,
            format!(
                "the event is {} and takes no registrations",
                ctx.event.status
            ),
        ))
    }
}

fn check_session_not_over(ctx: &SessionContext, now: DateTime<Utc>) -> AppResult<()> {
    if now >= ctx.session.ends_at {
        Err(AppError::conflict(
            Code::SessionEnded,
            "the session has already ended",
        ))
    } else {
        Ok(())
    }
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

async fn live_registration(
    conn: &mut AsyncPgConnection,
    session_id: Uuid,
    person_id: Uuid,
) -> AppResult<Option<Registration>> {
    Ok(registrations::table
        .filter(registrations::session_id.eq(session_id))
        .filter(registrations::person_id.eq(person_id))
        .filter(registrations::status.ne_all(RegistrationStatus::ENDED))
        .select(Registration::as_select())
        .first(conn)
        .await
        .optional()?)
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
                    .await?
                    .ok_or_else(already_registered)?;
                    emails::notify(conn, links, &ctx, &r, Notice::AwaitingApproval).await?;
                    (r, true)
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
            let existing = live_registration(conn, sign_up.session_id, person.id).await?;
            let may_email = quota.permit(conn, Some(&person.email)).await?.granted();
            let registration = match existing {
                Some(_) if !may_email => return Ok(()),
                Some(r) if r.status == RegistrationStatus::PendingConfirmation => {
                    // A new link replaces the old one, which stops working.
                    let token = IssuedToken::generate();
                    let refreshed: Option<Registration> = diesel::update(
                        registrations::table.find(r.id).filter(
                            registrations::status.eq(RegistrationStatus::PendingConfirmation),
                        ),
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
                    if let Some(r) = refreshed {
                        return emails::send_confirmation_request(
                            conn, links, &ctx, &r, &person, &token,
                        )
                        .await;
                    }
                    // Confirmed or cancelled by its registrant meanwhile: say where it stands.
                    live_registration(conn, sign_up.session_id, person.id).await?
                }
                Some(r) => Some(r),
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
                    // `None`: a second submission of the address committed first; its
                    // email carries the link.
                    // Without its share of mail this hour the address gets no link now: it
                    // asks again later for a fresh one.
                    if let (Some(r), true) = (inserted, may_email) {
                        emails::send_confirmation_request(conn, links, &ctx, &r, &person, &token)
                            .await?;
                    }
                    return Ok(());
                }
            };
            if let Some(r) = registration {
                let position = seats::waitlist_position(conn, &r).await?;
                emails::send_already_registered(conn, &ctx, &r, &person, position).await?;
            }
            Ok(())
        }
        .scope_boxed()
    })
    .await
}

fn already_registered() -> AppError {
    AppError::conflict(
        Code::AlreadyRegistered,
        "this person is already registered for the session",
    )
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

/// The step after a registrant proved their address: into the approval queue, or a seat
/// (or waitlist place) right away. The session must be locked in this transaction. Answers the
/// registration; its waitlist position is counted after commit (see below).
///
/// `confirm_token_hash` is the confirmation link's token when that is the proof: it is used up
/// here, and a token used meanwhile (a second click) is refused as invalid. `None` when the
/// registrant proved their address otherwise (logged in with it).
async fn after_confirmation(
    conn: &mut AsyncPgConnection,
    links: &Links,
    ctx: &SessionContext,
    session: &seats::LockedSession,
    registration: Registration,
    person: &Person,
    confirm_token_hash: Option<&[u8]>,
) -> AppResult<seats::Placed> {
    if ctx.session.requires_approval {
        let queued: Option<Registration> = diesel::update(registrations::table.filter(
            seats::registration_holding(registration.id, confirm_token_hash),
        ))
        .set((
            registrations::status.eq(RegistrationStatus::PendingApproval),
            registrations::updated_at.eq(Utc::now()),
            seats::without_confirm_link(),
        ))
        .returning(Registration::as_returning())
        .get_result(conn)
        .await
        .optional()?;
        let r = queued.ok_or_else(invalid_token)?;
        emails::notify_person(conn, links, ctx, &r, person, None, Notice::AwaitingApproval).await?;
        return Ok(seats::Placed {
            registration: r,
            waitlist_position: None,
        });
    }
    let Some(placed) = seats::take_seat(conn, session, registration.id, confirm_token_hash).await?
    else {
        return Err(match confirm_token_hash {
            Some(hash) if !seats::holds_confirm_token(conn, registration.id, hash).await? => {
                invalid_token()
            }
            _ => session_full(),
        });
    };
    emails::notify_person(
        conn,
        links,
        ctx,
        &placed.registration,
        person,
        placed.waitlist_position,
        Notice::for_seat(placed.registration.status),
    )
    .await?;
    Ok(placed)
}

pub fn session_full() -> AppError {
    AppError::conflict(Code::SessionFull, "the session is full and has no waitlist")
}

pub(crate) fn admission_of(registration: &Registration) -> Admission {
    Admission {
        session_id: registration.session_id,
        person_id: registration.person_id,
        source: registration.source,
        invitation_id: registration.invitation_id,
        organization_id: registration.organization_id,
        organization_name: registration.organization_name.clone(),
        organization_kind: registration.organization_kind,
        country: registration.country.clone(),
    }
}

fn invalid_token() -> AppError {
    AppError::problem(
        actix_web::http::StatusCode::NOT_FOUND,
        Code::InvalidToken,
        "this link is not valid: it was already used, replaced by a newer one, or mistyped",
    )
}

/// What an emailed confirmation link covers, without using it (for the page behind the link).
pub async fn peek_confirmation(
    conn: &mut AsyncPgConnection,
    token: &str,
) -> AppResult<(Registration, SessionContext, Person)> {
    if !looks_like_token(token) {
        return Err(invalid_token());
    }
    let registration: Registration = registrations::table
        .filter(registrations::confirm_token_hash.eq(hash_token(token)))
        .filter(registrations::status.eq(RegistrationStatus::PendingConfirmation))
        .select(Registration::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(invalid_token)?;
    if registration
        .confirm_token_expires_at
        .is_some_and(|at| at <= Utc::now())
    {
        return Err(token_expired());
    }
    let ctx = session_context(conn, registration.session_id).await?;
    let person = person_of(conn, &registration).await?;
    Ok((registration, ctx, person))
}

fn token_expired() -> AppError {
    AppError::gone(
        Code::TokenExpired,
        "this confirmation link has expired; register again to get a new one",
    )
}

/// The registrant.
pub(crate) async fn person_of(
    conn: &mut AsyncPgConnection,
    registration: &Registration,
) -> AppResult<Person> {
    Ok(people::table
        .find(registration.person_id)
        .select(Person::as_select())
        .first(conn)
        .await?)
}

/// Uses a confirmation token: single-use, and the seat (or approval queue) is decided in the
/// same transaction. Of many concurrent uses of one token exactly one succeeds.
pub async fn confirm(state: &Context, token: &str) -> AppResult<RegistrationView> {
    if !looks_like_token(token) {
        return Err(invalid_token());
    }
    let hash = hash_token(token);
    let links = state.links.clone();
    let mut conn = state.pool.get().await?;
    // Everything that needs no lock is read first, so the time under the session lock (the
    // queue of a registration rush) stays short.
    let (found, person): (Registration, Person) = registrations::table
        .inner_join(people::table)
        .filter(registrations::confirm_token_hash.eq(&hash))
        .filter(registrations::status.eq(RegistrationStatus::PendingConfirmation))
        .select((Registration::as_select(), Person::as_select()))
        .first(&mut conn)
        .await
        .optional()?
        .ok_or_else(invalid_token)?;
    if found
        .confirm_token_expires_at
        .is_some_and(|at| at <= Utc::now())
    {
        return Err(token_expired());
    }
    let ctx = session_context(&mut conn, found.session_id).await?;
    check_still_open(&ctx, &found)?;
    let placed = crate::db::retry::transaction(&mut conn, |conn| {
        let (found, links, person, hash) = (&found, &links, &person, &hash);
        async move {
            let locked = seats::lock_session(conn, found.session_id).await?;
            // Decided again under the lock: the event may have been cancelled, the session
            // closed to the public, since the read above.
            let ctx = session_context(conn, found.session_id).await?;
            check_still_open(&ctx, found)?;
            // The token is used up in the statement that takes the seat (or queues for
            // approval): a concurrent or replayed use finds it gone and changes nothing.
            after_confirmation(
                conn,
                links,
                &ctx,
                &locked,
                found.clone(),
                person,
                Some(hash),
            )
            .await
        }
        .scope_boxed()
    })
    .await?;
    Ok(RegistrationView::new(
        &placed.registration,
        placed.waitlist_position,
    ))
}

/// Whether a pending registration may still be confirmed: the event open, the session not
/// over and, for a registration made through the public form, the session still public.
fn check_still_open(ctx: &SessionContext, registration: &Registration) -> AppResult<()> {
    check_event_open(ctx)?;
    check_session_not_over(ctx, Utc::now())?;
    if registration.source == RegistrationSource::PublicForm && !ctx.session.is_public() {
        return Err(AppError::forbidden(
            Code::InvitationRequired,
            "this session is now closed: only invited people may take part",
        ));
    }
    Ok(())
}

/// Cancels a registration for a signed-in caller: its registrant, or the event's staff (the
/// registrant is then told staff cancelled it). Anyone else is told nothing exists (404).
pub async fn cancel_for(
    state: &Context,
    user: &AuthUser,
    registration_id: Uuid,
) -> AppResult<RegistrationView> {
    let by_staff = {
        let mut conn = state.pool.get().await?;
        let (registration, ctx) = registration_context(&mut conn, registration_id).await?;
        let own = user.is_person(registration.person_id);
        if !own && !is_event_staff(&mut conn, user, ctx.event.id).await? {
            return Err(AppError::not_found("registration"));
        }
        !own
    };
    cancel_and_notify(state, registration_id, by_staff).await
}

/// Cancels a registration and emails its registrant (and, through `cancel`, everyone promoted
/// off the waitlist), all in one transaction.
pub async fn cancel_and_notify(
    state: &Context,
    registration_id: Uuid,
    by_staff: bool,
) -> AppResult<RegistrationView> {
    let links = state.links.clone();
    let mut conn = state.pool.get().await?;
    let (_, ctx) = registration_context(&mut conn, registration_id).await?;
    check_session_not_over(&ctx, Utc::now())?;
    crate::db::retry::transaction(&mut conn, |conn| {
        let (links, ctx) = (&links, &ctx);
        async move {
            let (cancelled, _) = cancel(conn, links, registration_id).await?;
            // Read again: `cancel` raised the session's calendar sequence.
            let ctx = &session_context(conn, ctx.session.id).await?;
            emails::notify(conn, links, ctx, &cancelled, Notice::Cancelled { by_staff }).await?;
            view(conn, &cancelled).await
        }
        .scope_boxed()
    })
    .await
}

/// The registration an emailed cancel link covers; 404 `invalid_token` when the link does not
/// match it.
pub async fn peek_cancellation(
    conn: &mut AsyncPgConnection,
    registration_id: Uuid,
    token: &str,
) -> AppResult<(Registration, SessionContext, Person)> {
    if !looks_like_token(token) {
        return Err(invalid_token());
    }
    let registration: Registration = registrations::table
        .find(registration_id)
        .filter(registrations::cancel_token_hash.eq(hash_token(token)))
        .select(Registration::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(invalid_token)?;
    let ctx = session_context(conn, registration.session_id).await?;
    let person = person_of(conn, &registration).await?;
    Ok((registration, ctx, person))
}

/// Cancels through the emailed link. A registration already cancelled answers 410
/// `already_cancelled`, so of many concurrent uses exactly one cancels.
pub async fn cancel_with_token(
    state: &Context,
    registration_id: Uuid,
    token: &str,
) -> AppResult<RegistrationView> {
    {
        let mut conn = state.pool.get().await?;
        let (registration, _, _) = peek_cancellation(&mut conn, registration_id, token).await?;
        if !registration.status.is_live() {
            return Err(already_cancelled(registration.status));
        }
    }
    match cancel_and_notify(state, registration_id, false).await {
        Err(e) if e.code() == Code::RegistrationNotLive => {
            Err(already_cancelled(RegistrationStatus::Cancelled))
        }
        other => other,
    }
}

fn already_cancelled(status: RegistrationStatus) -> AppError {
    AppError::gone(
        Code::AlreadyCancelled,
        format!("this registration is already {status}"),
    )
}

/// After a session's capacity was raised (in the caller's transaction, with the new capacity
/// already written), seats as many waitlisted registrations as now fit, in order, and emails
/// each. The events module calls this from `PATCH /sessions/{id}`.
pub async fn raise_capacity_promotions(
    conn: &mut AsyncPgConnection,
    links: &Links,
    session_id: Uuid,
) -> AppResult<Vec<Registration>> {
    let session = seats::lock_session(conn, session_id).await?;
    promote_from_waitlist(conn, links, &session).await
}

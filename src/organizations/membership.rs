//! The membership lifecycle: applications to join (`applicant`), the transitions between
//! statuses (approve, suspend, reinstate, withdraw), declining an application, and the emails
//! to the applicant's contact they cause. Each change holds the organisation's row lock and
//! writes an audit entry in its own transaction.

use chrono::{NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::audit;
use crate::auth::AuthUser;
use crate::context::Links;
use crate::db::schema::organizations;
use crate::error::{AppError, AppResult, Code};
use crate::mail::EmailKind;
use crate::mail::{inert, EmailBody, MailQuota, OutgoingEmail};
use crate::organizations::fields::OrganizationInput;
use crate::organizations::model::{snapshot, MembershipStatus, Organization, OrganizationKind};
use crate::organizations::service::{explain_duplicate, explain_duplicate_to_public, insert, lock};
use crate::organizations::CountryCode;
use crate::people::EmailAddress;
use crate::text::{check_characters, Lines};

/// The day membership starts for an organisation created with `status`: none for applicants,
/// `given` or today otherwise.
pub fn joined_on_for(status: MembershipStatus, given: Option<NaiveDate>) -> Option<NaiveDate> {
    match status {
        MembershipStatus::Applicant => None,
        _ => Some(given.unwrap_or_else(|| Utc::now().date_naive())),
    }
}

/// An application to join, from anyone.
#[derive(Debug, Clone)]
pub struct Application {
    pub organization: OrganizationInput,
    pub contact_name: Option<String>,
    pub contact_email: EmailAddress,
    pub note: Option<String>,
}

/// Records an application (status `applicant`) and, in the same transaction, queues or
/// refreshes each admin's hourly digest of the applications waiting (`digest`).
pub async fn apply(
    conn: &mut AsyncPgConnection,
    actor: Option<&AuthUser>,
    application: Application,
    quota: &MailQuota,
    links: &Links,
) -> AppResult<Organization> {
    let admin = actor.is_some_and(AuthUser::is_admin);
    let actor = actor.map(|u| u.account.id);
    let mut new = application
        .organization
        .clone()
        .into_new(MembershipStatus::Applicant, None);
    new.contact_name = application.contact_name.clone();
    new.contact_email = Some(application.contact_email.as_str().to_owned());
    new.application_note = application.note.clone();
    let name = new.name.clone();
    let result = crate::db::transaction(&mut *conn, |conn| {
        async move {
            quota.permit(conn, None).await?;
            let org = insert(conn, &new).await?;
            audit::record(
                conn,
                actor,
                "apply",
                "organization",
                org.id,
                None,
                Some(snapshot(&org)),
            )
            .await?;
            super::digest::queue(conn, links).await?;
            Ok(org)
        }
        .scope_boxed()
    })
    .await;
    if admin {
        explain_duplicate(conn, result, &name).await
    } else {
        explain_duplicate_to_public(conn, result, &name).await
    }
}

/// A membership transition, each its own endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Approve,
    Suspend,
    Reinstate,
    Withdraw,
}

impl Transition {
    pub fn action(self) -> &'static str {
        match self {
            Transition::Approve => "approve",
            Transition::Suspend => "suspend",
            Transition::Reinstate => "reinstate",
            Transition::Withdraw => "withdraw",
        }
    }

    fn allowed_from(self) -> &'static [MembershipStatus] {
        use MembershipStatus::*;
        match self {
            Transition::Approve => &[Applicant],
            Transition::Suspend => &[Active],
            Transition::Reinstate => &[Suspended],
            Transition::Withdraw => &[Applicant, Active, Suspended],
        }
    }

    fn target(self) -> MembershipStatus {
        match self {
            Transition::Approve | Transition::Reinstate => MembershipStatus::Active,
            Transition::Suspend => MembershipStatus::Suspended,
            Transition::Withdraw => MembershipStatus::Withdrawn,
        }
    }
}

/// On approval, the applicant's contact becomes a person affiliated with the organisation as
/// its focal point (an existing person with that address keeps their details), so that
/// invitations to the organisation's audience reach someone. No contact, no change.
async fn contact_becomes_focal_point(
    conn: &mut AsyncPgConnection,
    actor: Uuid,
    org: &Organization,
) -> AppResult<()> {
    use crate::people::service as people;
    let Some(email) = org
        .contact_email
        .as_deref()
        .and_then(|e| EmailAddress::parse(e).ok())
    else {
        return Ok(());
    };
    let name = org
        .contact_name
        .clone()
        .unwrap_or_else(|| email.as_str().to_owned());
    let input = people::PersonInput {
        email,
        name,
        honorific: None,
        position: None,
    };
    let (person, _) = people::find_or_create(conn, Some(actor), &input).await?;
    let change = people::AffiliationChange {
        position: None,
        focal_point: Some(true),
    };
    people::affiliate(conn, Some(actor), org.id, &person, change).await?;
    Ok(())
}

/// Moves an organisation through the lifecycle under its row lock, so two admins acting at
/// once cannot both succeed from the same status. Approval makes the applicant's contact the
/// focal point and emails them.
pub async fn transition(
    conn: &mut AsyncPgConnection,
    actor: Uuid,
    id: Uuid,
    transition: Transition,
) -> AppResult<Organization> {
    crate::db::transaction(&mut *conn, |conn| {
        async move {
            let before = lock(conn, id).await?;
            let allowed = transition.allowed_from();
            if !allowed.contains(&before.status) {
                let from = allowed.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" or ");
                return Err(AppError::conflict(
                    Code::InvalidTransition,
                    format!(
                        "cannot {} an organisation whose status is {}; only {from} organisations can be {}",
                        transition.action(),
                        before.status,
                        past_tense(transition),
                    ),
                ));
            }
            let now = Utc::now();
            let joined_on = match transition {
                Transition::Approve => Some(now.date_naive()),
                _ => before.joined_on,
            };
            let after: Organization = diesel::update(organizations::table.find(id))
                .set((
                    organizations::status.eq(transition.target()),
                    organizations::joined_on.eq(joined_on),
                    organizations::updated_at.eq(now),
                ))
                .returning(Organization::as_returning())
                .get_result(conn)
                .await?;
            audit::record(
                conn,
                Some(actor),
                transition.action(),
                "organization",
                id,
                Some(snapshot(&before)),
                Some(snapshot(&after)),
            )
            .await?;
            if transition == Transition::Approve {
                contact_becomes_focal_point(conn, actor, &after).await?;
                if let Some(contact) = &after.contact_email {
                    crate::mail::enqueue(
                        conn,
                        OutgoingEmail::new(
                            EmailKind::OrganizationApproved,
                            contact,
                            after.contact_name.as_deref(),
                            approval_email(&after),
                        )
                        .dedupe(format!("organization-approved:{id}")),
                    )
                    .await?;
                }
            }
            tracing::info!(organization_id = %id, action = transition.action(), status = %after.status, "membership changed");
            Ok(after)
        }
        .scope_boxed()
    })
    .await
}

fn past_tense(transition: Transition) -> &'static str {
    match transition {
        Transition::Approve => "approved",
        Transition::Suspend => "suspended",
        Transition::Reinstate => "reinstated",
        Transition::Withdraw => "withdrawn",
    }
}

/// Why an application is declined, as the admin wrote it: sent to the applicant's contact.
pub fn parse_decline_reason(raw: &str) -> Result<String, &'static str> {
    let reason = raw.trim();
    if reason.is_empty() {
        Err("is required: the applicant is told why")
    } else if reason.chars().count() > 2000 {
        Err("must be at most 2000 characters")
    } else {
        check_characters(reason, Lines::Multi)?;
        Ok(reason.to_owned())
    }
}

fn decline_email(org: &Organization, reason: &str) -> EmailBody {
    let greeting = match &org.contact_name {
        Some(name) => format!("Dear {},", inert(name)),
        None => "Dear colleague,".to_owned(),
    };
    EmailBody {
        subject: format!(
            "Your application to join the partnership: {}",
            inert(&org.name)
        ),
        greeting,
        paragraphs: vec![
            format!(
                "Thank you for the application of {} to join the Asia-Pacific Partnership for Atrocity Prevention. The secretariat has decided not to approve it at this time, for this reason:",
                inert(&org.name)
            ),
            reason.to_owned(),
            "You are welcome to apply again when the situation has changed.".to_owned(),
        ],
        details: organization_details(org),
        footer: vec!["You receive this message because you applied on behalf of this organisation.".to_owned()],
        ..Default::default()
    }
}

/// Declines an application: `applicant` → `withdrawn` under the row lock (so its name is free
/// for a later application), audited as `decline` with the reason, and the reason emailed to
/// the applicant's contact. Only applicants can be declined (409 `invalid_transition`).
pub async fn decline(
    conn: &mut AsyncPgConnection,
    actor: Uuid,
    id: Uuid,
    reason: String,
) -> AppResult<Organization> {
    crate::db::transaction(&mut *conn, |conn| {
        async move {
            let before = lock(conn, id).await?;
            if before.status != MembershipStatus::Applicant {
                return Err(AppError::conflict(
                    Code::InvalidTransition,
                    format!(
                        "cannot decline an organisation whose status is {}; only applicant organisations can be declined",
                        before.status
                    ),
                ));
            }
            let after: Organization = diesel::update(organizations::table.find(id))
                .set((
                    organizations::status.eq(MembershipStatus::Withdrawn),
                    organizations::updated_at.eq(Utc::now()),
                ))
                .returning(Organization::as_returning())
                .get_result(conn)
                .await?;
            let mut recorded = snapshot(&after);
            if let Some(fields) = recorded.as_object_mut() {
                fields.insert("decline_reason".to_owned(), reason.clone().into());
            }
            audit::record(
                conn,
                Some(actor),
                "decline",
                "organization",
                id,
                Some(snapshot(&before)),
                Some(recorded),
            )
            .await?;
            if let Some(contact) = &after.contact_email {
                crate::mail::enqueue(
                    conn,
                    OutgoingEmail::new(
                        EmailKind::OrganizationDeclined,
                        contact,
                        after.contact_name.as_deref(),
                        decline_email(&after, &reason),
                    )
                    .dedupe(format!("organization-declined:{id}")),
                )
                .await?;
            }
            tracing::info!(organization_id = %id, action = "decline", "membership changed");
            Ok(after)
        }
        .scope_boxed()
    })
    .await
}

fn describe_kind(kind: OrganizationKind) -> String {
    kind.as_str().replace('_', " ")
}

/// What an applicant typed is shown inert: no link in an email.
fn organization_details(org: &Organization) -> Vec<(String, String)> {
    let mut details = vec![("Organisation".to_owned(), inert(&org.name))];
    if let Some(short) = &org.short_name {
        details.push(("Short name".to_owned(), inert(short)));
    }
    details.push(("Kind".to_owned(), describe_kind(org.kind)));
    if let Some(country) = org
        .country
        .as_deref()
        .and_then(|c| CountryCode::parse(c).ok())
    {
        details.push((
            "Country".to_owned(),
            format!("{} ({country})", country.name()),
        ));
    }
    if let Some(website) = &org.website {
        details.push(("Website".to_owned(), inert(website)));
    }
    details
}

fn approval_email(org: &Organization) -> EmailBody {
    let greeting = match &org.contact_name {
        Some(name) => format!("Dear {name},"),
        None => "Dear colleague,".to_owned(),
    };
    EmailBody {
        subject: format!(
            "Welcome to the partnership: {} is now a member",
            inert(&org.name)
        ),
        greeting,
        paragraphs: vec![
            format!(
                "We are pleased to tell you that the application of {} to join the Asia-Pacific Partnership for Atrocity Prevention has been approved.",
                inert(&org.name)
            ),
            "Your organisation now appears in the partnership's public directory and can be invited to its national dialogues.".to_owned(),
        ],
        details: organization_details(org),
        footer: vec!["You receive this message because you applied on behalf of this organisation.".to_owned()],
        ..Default::default()
    }
}

//! The people of an organisation: who may manage them, and adding or removing a person under
//! the organisation's row lock.

use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::error::{AppError, AppResult, Code, Validator};
use crate::organizations::model::{MembershipStatus, Organization};
use crate::organizations::service::lock;

/// Who may manage an organisation's people: admins and its focal point. Others get a 403
/// when the organisation is in the public directory, a 404 when they may not know it exists.
pub async fn require_people_manager(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    org: &Organization,
) -> AppResult<()> {
    let focal_point = match user.person() {
        Some(person) => crate::people::service::is_focal_point(conn, person.id, org.id).await?,
        None => false,
    };
    if user.is_admin() || focal_point {
        Ok(())
    } else if org.status == MembershipStatus::Active {
        Err(AppError::forbidden(
            Code::NotFocalPoint,
            "only admins and the organisation's focal point may manage its people",
        ))
    } else {
        Err(AppError::not_found("organization"))
    }
}

/// Who is added to an organisation: an existing person, or someone by email (an existing
/// person with that address, else a new one).
#[derive(Debug, Clone)]
pub enum Who {
    Id(Uuid),
    New(crate::people::service::PersonInput),
}

impl Who {
    /// Someone added by address: checks the address, honorific and position into `v`. The
    /// name (`"-"` when none was given) is checked by `add_person`, only for someone new.
    pub fn by_email(
        v: &mut Validator,
        email: &str,
        name: &str,
        honorific: Option<&str>,
        position: Option<&str>,
    ) -> Option<Who> {
        let mut inner = Validator::new();
        let input = crate::people::service::PersonInput::parse(
            &mut inner,
            crate::people::service::PersonFields {
                email: Some(email),
                name: Some(name),
                honorific,
                position,
            },
            "",
            crate::people::service::PERSON_FIELD_NAMES,
        );
        if let Err(AppError::Validation(errors)) = inner.finish() {
            for e in errors {
                v.add(e.field, e.message);
            }
        }
        input.map(Who::New)
    }
}

/// Affiliates a person with the organisation under its row lock (creating the person when
/// `who` is a new address; `name` is then required), or changes the existing affiliation;
/// true when the affiliation is new. The caller has checked `require_people_manager`.
pub async fn add_person(
    conn: &mut AsyncPgConnection,
    actor: Option<Uuid>,
    org_id: Uuid,
    who: Who,
    name: Option<&str>,
    change: crate::people::service::AffiliationChange,
) -> AppResult<(crate::people::model::AffiliateView, bool)> {
    use crate::people::service as people;
    let name = name.map(str::to_owned);
    crate::db::transaction(&mut *conn, |conn| {
        async move {
            lock(conn, org_id).await?;
            let person = match who {
                Who::Id(person_id) => people::find(conn, person_id)
                    .await?
                    .ok_or_else(|| AppError::invalid("person_id", "no such person"))?,
                Who::New(mut input) => match people::find_by_email(conn, &input.email).await? {
                    Some(person) => person,
                    None => {
                        input.name = people::parse_name(name.as_deref().unwrap_or_default())
                            .map_err(|e| {
                                AppError::invalid(
                                    "name",
                                    format!("{e} (required for a new person)"),
                                )
                            })?;
                        people::create(conn, actor, &input).await?
                    }
                },
            };
            people::affiliate(conn, actor, org_id, &person, change).await
        }
        .scope_boxed()
    })
    .await
}

/// Ends a person's affiliation with the organisation under its row lock (so it cannot race a
/// focal point change). The caller has checked `require_people_manager`.
pub async fn remove_person(
    conn: &mut AsyncPgConnection,
    actor: Option<Uuid>,
    org_id: Uuid,
    person_id: Uuid,
) -> AppResult<crate::people::model::Affiliation> {
    crate::db::transaction(&mut *conn, |conn| {
        async move {
            lock(conn, org_id).await?;
            crate::people::service::end_affiliation(conn, actor, org_id, person_id).await
        }
        .scope_boxed()
    })
    .await
}

//! The rules of contacts and affiliations: one person per email address (case-insensitive),
//! at most one focal point per organisation.

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::audit;
use crate::db::page::{contains_pattern, lower, NameAndId, Page, PageRequest};
use crate::db::schema::{accounts, affiliations, people};
use crate::error::{AppError, AppResult, Code, Validator};
use crate::people::model::{snapshot, AffiliateView, Affiliation, NewPerson, Person, PersonView};
use crate::people::EmailAddress;
use crate::text::{check_characters, Lines};

/// A form of address: Prof., Dr, Mr., Ms. or any other up to 40 characters; blank is none.
pub fn parse_honorific(raw: &str) -> Result<Option<String>, &'static str> {
    let honorific = raw.trim();
    if honorific.is_empty() {
        Ok(None)
    } else if honorific.chars().count() > 40 {
        Err("must be at most 40 characters (e.g. Prof., Dr, Mr., Ms.)")
    } else {
        check_characters(honorific, Lines::Single)?;
        Ok(Some(honorific.to_owned()))
    }
}

/// A position such as "Research Fellow"; blank is none.
pub fn parse_position(raw: &str) -> Result<Option<String>, &'static str> {
    let position = raw.trim();
    if position.is_empty() {
        Ok(None)
    } else if position.chars().count() > 200 {
        Err("must be at most 200 characters")
    } else {
        check_characters(position, Lines::Single)?;
        Ok(Some(position.to_owned()))
    }
}

/// A new contact, parsed.
#[derive(Debug, Clone)]
pub struct PersonInput {
    pub email: EmailAddress,
    pub name: String,
    pub honorific: Option<String>,
    pub position: Option<String>,
}

impl PersonInput {
    /// Parses the fields of a new person, recording each problem under `prefix` + field name
    /// (e.g. `line[3].focal_point_email`). `None` when any field was bad.
    pub fn parse(
        v: &mut Validator,
        fields: PersonFields<'_>,
        prefix: &str,
        names: [&str; 4],
    ) -> Option<PersonInput> {
        let [email_field, name_field, honorific_field, position_field] = names;
        let email = match fields.email {
            Some(raw) => v.check(format!("{prefix}{email_field}"), EmailAddress::parse(raw)),
            None => {
                v.add(format!("{prefix}{email_field}"), "is required");
                None
            }
        };
        let name = match fields.name {
            Some(raw) => v.check(
                format!("{prefix}{name_field}"),
                crate::people::service::parse_name(raw),
            ),
            None => {
                v.add(format!("{prefix}{name_field}"), "is required");
                None
            }
        };
        let honorific = v.check(
            format!("{prefix}{honorific_field}"),
            parse_honorific(fields.honorific.unwrap_or_default()),
        );
        let position = v.check(
            format!("{prefix}{position_field}"),
            parse_position(fields.position.unwrap_or_default()),
        );
        Some(PersonInput {
            email: email?,
            name: name?,
            honorific: honorific?,
            position: position?,
        })
    }
}

/// A person's name as shown (accounts, contacts, registrants, invitees): trimmed, 1–200
/// characters, one line.
pub fn parse_name(raw: &str) -> Result<String, &'static str> {
    let name = raw.trim();
    if name.is_empty() {
        Err("must not be empty")
    } else if name.chars().count() > 200 {
        Err("must be at most 200 characters")
    } else {
        check_characters(name, Lines::Single)?;
        Ok(name.to_owned())
    }
}

/// The raw fields of a person as a request or a CSV row gives them.
#[derive(Debug, Clone, Copy, Default)]
pub struct PersonFields<'a> {
    pub email: Option<&'a str>,
    pub name: Option<&'a str>,
    pub honorific: Option<&'a str>,
    pub position: Option<&'a str>,
}

pub const PERSON_FIELD_NAMES: [&str; 4] = ["email", "name", "honorific", "position"];

/// Inserts the person unless the email is taken; `None` when it is.
async fn insert_new(
    conn: &mut AsyncPgConnection,
    input: &PersonInput,
) -> AppResult<Option<Person>> {
    Ok(diesel::insert_into(people::table)
        .values(NewPerson {
            id: Uuid::now_v7(),
            email: input.email.as_str(),
            name: &input.name,
            honorific: input.honorific.as_deref(),
            position: input.position.as_deref(),
        })
        .on_conflict(people::email)
        .do_nothing()
        .returning(Person::as_returning())
        .get_result(conn)
        .await
        .optional()?)
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> AppResult<Option<Person>> {
    Ok(people::table
        .find(id)
        .select(Person::as_select())
        .first(conn)
        .await
        .optional()?)
}

pub async fn find_by_email(
    conn: &mut AsyncPgConnection,
    email: &EmailAddress,
) -> AppResult<Option<Person>> {
    Ok(people::table
        .filter(people::email.eq(email.as_str()))
        .select(Person::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// The person with this email, created with `name` when the partnership does not know them
/// yet. For people acting for themselves (signing up, registering), so no audit entry.
pub async fn find_or_create_by_email(
    conn: &mut AsyncPgConnection,
    email: &EmailAddress,
    name: &str,
) -> AppResult<Person> {
    diesel::insert_into(people::table)
        .values(NewPerson {
            id: Uuid::now_v7(),
            email: email.as_str(),
            name,
            honorific: None,
            position: None,
        })
        .on_conflict(people::email)
        .do_nothing()
        .execute(conn)
        .await?;
    Ok(people::table
        .filter(people::email.eq(email.as_str()))
        .select(Person::as_select())
        .first(conn)
        .await?)
}

/// Inserts the person unless the email is taken, with the audit entry of the creation.
async fn insert_audited(
    conn: &mut AsyncPgConnection,
    actor: Option<Uuid>,
    input: &PersonInput,
) -> AppResult<Option<Person>> {
    let Some(person) = insert_new(conn, input).await? else {
        return Ok(None);
    };
    audit::record(
        conn,
        actor,
        "create",
        "person",
        person.id,
        None,
        Some(snapshot(&person)),
    )
    .await?;
    Ok(Some(person))
}

/// Creates a contact; a taken email is a 409 `duplicate_email` naming the existing person.
/// Call inside a transaction (the audit entry is written with it).
pub async fn create(
    conn: &mut AsyncPgConnection,
    actor: Option<Uuid>,
    input: &PersonInput,
) -> AppResult<Person> {
    match insert_audited(conn, actor, input).await? {
        Some(person) => Ok(person),
        None => {
            let existing = find_by_email(conn, &input.email).await?;
            Err(AppError::conflict(
                Code::DuplicateEmail,
                match existing {
                    Some(p) => format!(
                        "a person with the email {} already exists (id {})",
                        p.email, p.id
                    ),
                    None => format!("a person with the email {} already exists", input.email),
                },
            ))
        }
    }
}

/// The person with this email, created from `input` when unknown; true when created. An
/// existing person keeps their details (`input.name` may then be a placeholder). Call inside
/// a transaction.
pub async fn find_or_create(
    conn: &mut AsyncPgConnection,
    actor: Option<Uuid>,
    input: &PersonInput,
) -> AppResult<(Person, bool)> {
    if let Some(person) = find_by_email(conn, &input.email).await? {
        return Ok((person, false));
    }
    if let Some(person) = insert_audited(conn, actor, input).await? {
        return Ok((person, true));
    }
    let person = find_by_email(conn, &input.email)
        .await?
        .ok_or_else(|| AppError::internal("person vanished between insert and select"))?;
    Ok((person, false))
}

pub async fn has_account(conn: &mut AsyncPgConnection, person_id: Uuid) -> AppResult<bool> {
    let n: i64 = accounts::table
        .filter(accounts::person_id.eq(person_id))
        .count()
        .get_result(conn)
        .await?;
    Ok(n > 0)
}

/// Contacts ordered by name, optionally those whose name or email contains `q`.
pub async fn list(
    conn: &mut AsyncPgConnection,
    q: Option<&str>,
    page: &PageRequest<NameAndId>,
) -> AppResult<Page<PersonView>> {
    let mut query = people::table
        .left_join(accounts::table)
        .select((
            Person::as_select(),
            accounts::id.nullable(),
            lower(people::name),
        ))
        .into_boxed();
    if let Some(q) = q.map(str::trim).filter(|q| !q.is_empty()) {
        let pattern = contains_pattern(q);
        query = query.filter(
            people::name
                .ilike(pattern.clone())
                .or(people::email.ilike(pattern)),
        );
    }
    if let Some((name, id)) = page.after.clone() {
        query = query.filter(
            lower(people::name)
                .gt(name.clone())
                .or(lower(people::name).eq(name).and(people::id.gt(id))),
        );
    }
    let rows: Vec<(Person, Option<Uuid>, String)> = query
        .order((lower(people::name).asc(), people::id.asc()))
        .limit(page.fetch())
        .load(conn)
        .await?;
    Ok(
        Page::from_rows(rows, page, |(p, _, key)| (key.clone(), p.id))
            .map(|(person, account, _)| PersonView::new(&person, account.is_some())),
    )
}

/// Whether `person_id` is the focal point of `organization_id`.
pub async fn is_focal_point(
    conn: &mut AsyncPgConnection,
    person_id: Uuid,
    organization_id: Uuid,
) -> AppResult<bool> {
    let n: i64 = affiliations::table
        .filter(affiliations::person_id.eq(person_id))
        .filter(affiliations::organization_id.eq(organization_id))
        .filter(affiliations::focal_point.eq(true))
        .count()
        .get_result(conn)
        .await?;
    Ok(n > 0)
}

/// An organisation's people ordered by name.
pub async fn list_affiliates(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    page: &PageRequest<NameAndId>,
) -> AppResult<Page<AffiliateView>> {
    let mut query = affiliations::table
        .inner_join(people::table)
        .filter(affiliations::organization_id.eq(organization_id))
        .select((
            Affiliation::as_select(),
            Person::as_select(),
            lower(people::name),
        ))
        .into_boxed();
    if let Some((name, id)) = page.after.clone() {
        query = query.filter(
            lower(people::name)
                .gt(name.clone())
                .or(lower(people::name).eq(name).and(people::id.gt(id))),
        );
    }
    let rows: Vec<(Affiliation, Person, String)> = query
        .order((lower(people::name).asc(), people::id.asc()))
        .limit(page.fetch())
        .load(conn)
        .await?;
    Ok(
        Page::from_rows(rows, page, |(_, p, key)| (key.clone(), p.id))
            .map(|(affiliation, person, _)| AffiliateView::new(&affiliation, &person)),
    )
}

fn affiliation_snapshot(a: &Affiliation) -> serde_json::Value {
    serde_json::json!({
        "person_id": a.person_id,
        "organization_id": a.organization_id,
        "position": a.position,
        "focal_point": a.focal_point,
    })
}

/// How an affiliation should change: `None` leaves a field as it is (or takes the default for
/// a new affiliation: no position, not focal point).
#[derive(Debug, Clone, Default)]
pub struct AffiliationChange {
    pub position: Option<Option<String>>,
    pub focal_point: Option<bool>,
}

/// Affiliates `person` with the organisation, or changes the existing affiliation; true when
/// it is new. Making someone focal point unsets the previous one. Call inside a transaction
/// that has locked the organisation's row, so two concurrent focal point changes take turns.
pub async fn affiliate(
    conn: &mut AsyncPgConnection,
    actor: Option<Uuid>,
    organization_id: Uuid,
    person: &Person,
    change: AffiliationChange,
) -> AppResult<(AffiliateView, bool)> {
    let existing: Option<Affiliation> = affiliations::table
        .find((person.id, organization_id))
        .select(Affiliation::as_select())
        .first(conn)
        .await
        .optional()?;
    if change.focal_point == Some(true) {
        let previous: Vec<Affiliation> = diesel::update(affiliations::table)
            .filter(affiliations::organization_id.eq(organization_id))
            .filter(affiliations::focal_point.eq(true))
            .filter(affiliations::person_id.ne(person.id))
            .set(affiliations::focal_point.eq(false))
            .returning(Affiliation::as_returning())
            .get_results(conn)
            .await?;
        for after in previous {
            let before = Affiliation {
                focal_point: true,
                ..after.clone()
            };
            audit::record(
                conn,
                actor,
                "update_affiliation",
                "organization",
                organization_id,
                Some(affiliation_snapshot(&before)),
                Some(affiliation_snapshot(&after)),
            )
            .await?;
        }
    }
    match existing {
        None => {
            let affiliation: Affiliation = diesel::insert_into(affiliations::table)
                .values(Affiliation {
                    person_id: person.id,
                    organization_id,
                    position: change.position.flatten(),
                    focal_point: change.focal_point.unwrap_or(false),
                    created_at: Utc::now(),
                })
                .returning(Affiliation::as_returning())
                .get_result(conn)
                .await?;
            audit::record(
                conn,
                actor,
                "affiliate",
                "organization",
                organization_id,
                None,
                Some(affiliation_snapshot(&affiliation)),
            )
            .await?;
            Ok((AffiliateView::new(&affiliation, person), true))
        }
        Some(before) => {
            let position = change.position.unwrap_or_else(|| before.position.clone());
            let focal_point = change.focal_point.unwrap_or(before.focal_point);
            if position == before.position && focal_point == before.focal_point {
                return Ok((AffiliateView::new(&before, person), false));
            }
            let after: Affiliation =
                diesel::update(affiliations::table.find((person.id, organization_id)))
                    .set((
                        affiliations::position.eq(position),
                        affiliations::focal_point.eq(focal_point),
                    ))
                    .returning(Affiliation::as_returning())
                    .get_result(conn)
                    .await?;
            audit::record(
                conn,
                actor,
                "update_affiliation",
                "organization",
                organization_id,
                Some(affiliation_snapshot(&before)),
                Some(affiliation_snapshot(&after)),
            )
            .await?;
            Ok((AffiliateView::new(&after, person), false))
        }
    }
}

/// What an admin changes on a person; `None` leaves a field as it is, `Some(None)` clears an
/// optional one.
#[derive(Debug, Clone, Default)]
pub struct PersonUpdate {
    pub email: Option<EmailAddress>,
    pub name: Option<String>,
    pub honorific: Option<Option<String>>,
    pub position: Option<Option<String>>,
}

/// Changes a person's details, with an audit entry of the change.
///
/// - The address stays unique (409 `duplicate_email`).
/// - The address of a person with an account is where that account proved it receives mail
///   and the address it signs in with: nobody else may replace it (409 `person_has_account`),
///   or an admin's typo would hand the person's invitations and links to another inbox
///   (rule 5).
/// - A joined account shows its person's name, so a new name becomes the account's too.
///
/// The person's row is locked for the change. Speakers show their person's name, so every
/// kept public view is forgotten after the commit.
pub async fn update(
    conn: &mut AsyncPgConnection,
    views: &crate::events::PublicViews,
    actor: Uuid,
    id: Uuid,
    update: PersonUpdate,
) -> AppResult<crate::db::Updated<Person>> {
    use diesel_async::scoped_futures::ScopedFutureExt;
    let (before, after) = crate::db::transaction(&mut *conn, |conn| {
            async move {
                let before: Person = people::table
                    .find(id)
                    .select(Person::as_select())
                    .for_update()
                    .first(conn)
                    .await
                    .optional()?
                    .ok_or_else(|| AppError::not_found("person"))?;
                let email = update
                    .email
                    .filter(|e| e.as_str() != before.email)
                    .map(|e| e.as_str().to_owned());
                if let Some(email) = &email {
                    if has_account(conn, id).await? {
                        return Err(AppError::conflict(
                            Code::PersonHasAccount,
                            "this person signs in with their address, which they proved is theirs; only they can use another one (through a new account)",
                        ));
                    }
                    let taken = find_by_email(conn, &EmailAddress::from_trusted(email.clone()))
                        .await?;
                    if let Some(other) = taken {
                        return Err(AppError::conflict(
                            Code::DuplicateEmail,
                            format!(
                                "a person with the email {} already exists (id {})",
                                other.email, other.id
                            ),
                        ));
                    }
                }
                let name = update.name.unwrap_or_else(|| before.name.clone());
                let honorific = update
                    .honorific
                    .unwrap_or_else(|| before.honorific.clone());
                let position = update.position.unwrap_or_else(|| before.position.clone());
                let unchanged = email.is_none()
                    && name == before.name
                    && honorific == before.honorific
                    && position == before.position;
                if unchanged {
                    return Ok((before.clone(), before));
                }
                let after: Person = diesel::update(people::table.find(id))
                    .set((
                        people::email.eq(email.as_deref().unwrap_or(&before.email)),
                        people::name.eq(&name),
                        people::honorific.eq(&honorific),
                        people::position.eq(&position),
                        people::updated_at.eq(diesel::dsl::now),
                    ))
                    .returning(Person::as_returning())
                    .get_result(conn)
                    .await
                    .map_err(|e| match e {
                        // Another request took the address between the check and the update.
                        diesel::result::Error::DatabaseError(
                            diesel::result::DatabaseErrorKind::UniqueViolation,
                            _,
                        ) => AppError::conflict(
                            Code::DuplicateEmail,
                            "a person with this email already exists",
                        ),
                        other => other.into(),
                    })?;
                if after.name != before.name {
                    crate::auth::accounts::follow_person_name(conn, id, &after.name).await?;
                }
                audit::record(
                    conn,
                    Some(actor),
                    "update",
                    "person",
                    id,
                    Some(snapshot(&before)),
                    Some(snapshot(&after)),
                )
                .await?;
                Ok((before, after))
            }
            .scope_boxed()
        })
        .await?;
    let changed = after.updated_at != before.updated_at;
    if changed {
        views.forget_all();
    }
    Ok(crate::db::Updated {
        row: after,
        changed,
    })
}

/// One of a person's affiliations, with the organisation's name and membership.
#[derive(Debug, Clone)]
pub struct PersonAffiliation {
    pub organization_id: Uuid,
    pub organization_name: String,
    pub organization_status: String,
    pub position: Option<String>,
    pub focal_point: bool,
    pub created_at: chrono::DateTime<Utc>,
}

/// A person's affiliations, by organisation name.
pub async fn affiliations_of(
    conn: &mut AsyncPgConnection,
    person_id: Uuid,
) -> AppResult<Vec<PersonAffiliation>> {
    use crate::db::schema::organizations;
    let rows: Vec<(Affiliation, String, String)> = affiliations::table
        .inner_join(organizations::table)
        .filter(affiliations::person_id.eq(person_id))
        .order((lower(organizations::name).asc(), organizations::id.asc()))
        .select((
            Affiliation::as_select(),
            organizations::name,
            organizations::status,
        ))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(a, name, status)| PersonAffiliation {
            organization_id: a.organization_id,
            organization_name: name,
            organization_status: status,
            position: a.position,
            focal_point: a.focal_point,
            created_at: a.created_at,
        })
        .collect())
}

/// The affiliation of a person with an organisation, if there is one.
pub async fn find_affiliation(
    conn: &mut AsyncPgConnection,
    person_id: Uuid,
    organization_id: Uuid,
) -> AppResult<Option<Affiliation>> {
    Ok(affiliations::table
        .find((person_id, organization_id))
        .select(Affiliation::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// Ends a person's affiliation with an organisation (404 when there is none), with an audit
/// entry keeping what it was. A focal point who leaves leaves the organisation without one.
/// Call inside a transaction that has locked the organisation's row, as [`affiliate`] does.
pub async fn end_affiliation(
    conn: &mut AsyncPgConnection,
    actor: Option<Uuid>,
    organization_id: Uuid,
    person_id: Uuid,
) -> AppResult<Affiliation> {
    let ended: Affiliation = diesel::delete(affiliations::table.find((person_id, organization_id)))
        .returning(Affiliation::as_returning())
        .get_result(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found("affiliation"))?;
    audit::record(
        conn,
        actor,
        "end_affiliation",
        "organization",
        organization_id,
        Some(affiliation_snapshot(&ended)),
        None,
    )
    .await?;
    Ok(ended)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(parse_name("  Ms. Kim "), Ok("Ms. Kim".to_owned()));
        assert!(parse_name("   ").is_err());
        assert!(parse_name(&"x".repeat(201)).is_err());
    }

    #[test]
    fn honorifics_are_free_text_up_to_40() {
        assert_eq!(parse_honorific(" Prof. "), Ok(Some("Prof.".to_owned())));
        assert_eq!(parse_honorific("Dr"), Ok(Some("Dr".to_owned())));
        assert_eq!(
            parse_honorific("H.E. Ambassador"),
            Ok(Some("H.E. Ambassador".to_owned()))
        );
        assert_eq!(parse_honorific("  "), Ok(None));
        assert!(parse_honorific(&"x".repeat(41)).is_err());
    }

    #[test]
    fn positions_are_bounded() {
        assert_eq!(parse_position(""), Ok(None));
        assert!(parse_position(&"x".repeat(201)).is_err());
    }
}

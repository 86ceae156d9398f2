//! The audit trail for people (`/manage/audit`): each entry as a sentence (who did what to
//! which record), when in a named time zone, and what changed, field by field. Filters by
//! record, by who made the change and by action; pages of [`PAGE_SIZE`], newest first. The
//! home page and an organisation's page show their last entries through [`entries`].

use std::collections::{BTreeSet, HashMap};

use actix_web::http::StatusCode;
use actix_web::{get, web, HttpRequest, HttpResponse};
use askama::Template;
use chrono_tz::Tz;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use super::home::country_name;
use super::{admin, error_page, words, Chrome, Errors, Form};
use crate::audit::model::AuditEntry;
use crate::audit::service::{self as audit, AuditFilter};
use crate::context::Context;
use crate::db::page::{PageRequest, TimeAndId};
use crate::db::schema::{accounts, organizations, people};
use crate::error::{AppError, AppResult, Validator};
use crate::events::local_time::format_local;
use crate::pages::html;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(trail);
}

/// Entries on one page of the trail.
const PAGE_SIZE: i64 = 25;

/// The zone times are shown in unless the reader picks another: the secretariat's, at the
/// University of Queensland in Brisbane.
pub const DEFAULT_ZONE: Tz = chrono_tz::Australia::Brisbane;

/// The zones offered in the "Times in" filter: the partnership's region, and UTC. Any other
/// IANA name given as `?tz=` works too.
const ZONES: &[&str] = &[
    "Australia/Brisbane",
    "Australia/Sydney",
    "Australia/Perth",
    "Pacific/Auckland",
    "Asia/Tokyo",
    "Asia/Seoul",
    "Asia/Shanghai",
    "Asia/Manila",
    "Asia/Singapore",
    "Asia/Kuala_Lumpur",
    "Asia/Jakarta",
    "Asia/Bangkok",
    "Asia/Ho_Chi_Minh",
    "Asia/Yangon",
    "Asia/Dhaka",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Europe/Geneva",
    "America/New_York",
    "UTC",
];

/// The actions the trail can be filtered by, with the words the filter shows. Entries with
/// another action are still listed, and `?action=` takes any.
const ACTIONS: &[(&str, &str)] = &[
    ("create", "Created"),
    ("apply", "Applied to join"),
    ("import", "Imported from a CSV file"),
    ("update", "Details edited"),
    ("approve", "Application approved"),
    ("decline", "Application declined"),
    ("suspend", "Membership suspended"),
    ("reinstate", "Membership reinstated"),
    ("withdraw", "Withdrawn"),
    ("affiliate", "Person added to an organisation"),
    ("update_affiliation", "Affiliation changed"),
    ("end_affiliation", "Affiliation ended"),
    ("account.update", "Account role or access changed"),
];

/// The kinds of record the trail can be filtered by.
const KINDS: &[(&str, &str)] = &[
    ("organization", "Organisations"),
    ("person", "People"),
    ("account", "Accounts"),
];

/// One field that changed: its name and its value before and after, as words.
pub struct FieldChange {
    pub field: String,
    pub before: String,
    pub after: String,
}

/// One audit entry, readable: "<actor> <verb> the <kind> <name><suffix>." and when.
pub struct Entry {
    pub when: String,
    pub actor: String,
    pub actor_href: Option<String>,
    pub verb: String,
    pub kind: String,
    pub name: String,
    pub href: Option<String>,
    pub suffix: &'static str,
    /// `/manage/audit?target=…`: this record's whole history.
    pub history: String,
    pub changes: Vec<FieldChange>,
}

/// The console page of a record, where one exists.
fn record_page(kind: &str, id: Uuid) -> Option<String> {
    match kind {
        "organization" => Some(format!("/manage/organizations/{id}")),
        "person" => Some(format!("/manage/people/{id}")),
        "account" => Some(format!("/manage/accounts/{id}")),
        _ => None,
    }
}

/// The console page of the person an account is.
fn person_page(person_id: Uuid) -> Option<String> {
    record_page("person", person_id)
}

fn kind_words(kind: &str) -> String {
    match kind {
        "organization" => "organisation".to_owned(),
        other => words(other),
    }
}

/// Names of the accounts, organisations and people that a page of entries mentions.
#[derive(Default)]
struct Names {
    accounts: HashMap<Uuid, (String, Option<Uuid>)>,
    organizations: HashMap<Uuid, String>,
    people: HashMap<Uuid, String>,
}

impl Names {
    async fn load(conn: &mut AsyncPgConnection, entries: &[AuditEntry]) -> AppResult<Names> {
        let mut account_ids = BTreeSet::new();
        let mut org_ids = BTreeSet::new();
        let mut person_ids = BTreeSet::new();
        for e in entries {
            account_ids.extend(e.actor_account_id);
            match e.target_type.as_str() {
                "organization" => org_ids.insert(e.target_id),
                "person" => person_ids.insert(e.target_id),
                "account" => account_ids.insert(e.target_id),
                _ => false,
            };
            for side in [&e.before, &e.after].into_iter().flatten() {
                let id = side.get("person_id").and_then(Value::as_str);
                person_ids.extend(id.and_then(|id| id.parse::<Uuid>().ok()));
            }
        }
        let account_ids: Vec<Uuid> = account_ids.into_iter().collect();
        let org_ids: Vec<Uuid> = org_ids.into_iter().collect();
        let person_ids: Vec<Uuid> = person_ids.into_iter().collect();
        let accounts = accounts::table
            .filter(accounts::id.eq_any(&account_ids))
            .select((accounts::id, accounts::name, accounts::person_id))
            .load::<(Uuid, String, Option<Uuid>)>(conn)
            .await?
            .into_iter()
            .map(|(id, name, person)| (id, (name, person)))
            .collect();
        let organizations = organizations::table
            .filter(organizations::id.eq_any(&org_ids))
            .select((organizations::id, organizations::name))
            .load::<(Uuid, String)>(conn)
            .await?
            .into_iter()
            .collect();
        let people = people::table
            .filter(people::id.eq_any(&person_ids))
            .select((people::id, people::name))
            .load::<(Uuid, String)>(conn)
            .await?
            .into_iter()
            .collect();
        Ok(Names {
            accounts,
            organizations,
            people,
        })
    }

    fn person(&self, id: &str) -> Option<&str> {
        let id = id.parse::<Uuid>().ok()?;
        self.people.get(&id).map(String::as_str)
    }
}

/// The label of a snapshot's field.
fn field_label(field: &str) -> String {
    match field {
        "status" => "Membership".to_owned(),
        "joined_on" => "Joined on".to_owned(),
        "person_id" => "Person".to_owned(),
        "focal_point" => "Focal point".to_owned(),
        "application_note" => "Application note".to_owned(),
        other => crate::pages::sentence(&words(other))
            .trim_end_matches('.')
            .to_owned(),
    }
}

/// A snapshot's value as words.
fn value_words(field: &str, value: Option<&Value>, names: &Names) -> String {
    match value {
        None | Some(Value::Null) => "(none)".to_owned(),
        Some(Value::Bool(true)) => "yes".to_owned(),
        Some(Value::Bool(false)) => "no".to_owned(),
        Some(Value::String(s)) => match field {
            "kind" | "status" => words(s),
            "country" => country_name(Some(s)),
            "person_id" => names
                .person(s)
                .unwrap_or("a person no longer known")
                .to_owned(),
            _ => s.clone(),
        },
        Some(Value::Object(map)) => map
            .iter()
            .filter(|(k, v)| !v.is_null() && k.as_str() != "person_id")
            .map(|(k, v)| format!("{}: {}", words(k), value_words(k, Some(v), names)))
            .collect::<Vec<_>>()
            .join("; "),
        Some(other) => other.to_string(),
    }
}

/// Fields that say nothing to a reader of the trail.
fn shown(field: &str) -> bool {
    !matches!(
        field,
        "id" | "created_at" | "updated_at" | "organization_id" | "email_verified_at"
    )
}

/// The fields that differ between `before` and `after`, in name order; every field of the
/// side there is for a creation or a removal.
fn difference(before: Option<&Value>, after: Option<&Value>, names: &Names) -> Vec<FieldChange> {
    let empty = serde_json::Map::new();
    let b = before.and_then(Value::as_object).unwrap_or(&empty);
    let a = after.and_then(Value::as_object).unwrap_or(&empty);
    let fields: BTreeSet<&String> = b.keys().chain(a.keys()).collect();
    fields
        .into_iter()
        .filter(|f| shown(f))
        .filter(|f| b.get(*f) != a.get(*f))
        .filter(|f| {
            // A creation lists what was set, not every empty field.
            !(before.is_none() && a.get(*f).is_none_or(Value::is_null))
        })
        .map(|f| FieldChange {
            field: field_label(f),
            before: if before.is_none() {
                "—".to_owned()
            } else {
                value_words(f, b.get(f), names)
            },
            after: if after.is_none() {
                "—".to_owned()
            } else {
                value_words(f, a.get(f), names)
            },
        })
        .collect()
}

/// What was done, as a verb phrase before the record and words after it.
fn verb(e: &AuditEntry, names: &Names) -> (String, &'static str) {
    let person = || {
        e.after
            .as_ref()
            .or(e.before.as_ref())
            .and_then(|s| s.get("person_id"))
            .and_then(Value::as_str)
            .and_then(|id| names.person(id))
            .unwrap_or("someone")
            .to_owned()
    };
    match e.action.as_str() {
        "create" => ("created".to_owned(), ""),
        "apply" => ("applied to join the partnership as".to_owned(), ""),
        "import" => ("imported".to_owned(), " from a CSV file"),
        "update" => ("edited the details of".to_owned(), ""),
        "approve" => ("approved the application of".to_owned(), ""),
        "decline" => ("declined the application of".to_owned(), ""),
        "suspend" => ("suspended the membership of".to_owned(), ""),
        "reinstate" => ("reinstated the membership of".to_owned(), ""),
        "withdraw" => ("withdrew".to_owned(), " from the partnership"),
        "affiliate" => (format!("added {} to", person()), ""),
        "update_affiliation" => (format!("changed the affiliation of {} with", person()), ""),
        "end_affiliation" => (format!("ended the affiliation of {} with", person()), ""),
        "account.update" => ("changed the role or access of".to_owned(), ""),
        other => (format!("made a change ({}) to", words(other)), ""),
    }
}

/// Entries made readable, with times in `zone`.
async fn readable(
    conn: &mut AsyncPgConnection,
    entries: Vec<AuditEntry>,
    zone: &Tz,
) -> AppResult<Vec<Entry>> {
    let names = Names::load(conn, &entries).await?;
    Ok(entries
        .into_iter()
        .map(|e| {
            let (actor, actor_href) = match e.actor_account_id {
                Some(id) => match names.accounts.get(&id) {
                    Some((name, person)) => (name.clone(), person.and_then(person_page)),
                    None => ("A former account".to_owned(), None),
                },
                None if e.action == "apply" => ("A visitor without an account".to_owned(), None),
                None => ("Convene itself (no account)".to_owned(), None),
            };
            let snapshot_name = e
                .after
                .as_ref()
                .or(e.before.as_ref())
                .and_then(|s| s.get("name"))
                .and_then(Value::as_str);
            let name = match e.target_type.as_str() {
                "organization" => names.organizations.get(&e.target_id).map(String::as_str),
                "person" => names.people.get(&e.target_id).map(String::as_str),
                "account" => names.accounts.get(&e.target_id).map(|(n, _)| n.as_str()),
                _ => None,
            }
            .or(snapshot_name)
            .unwrap_or("(no longer known)")
            .to_owned();
            let (verb, suffix) = verb(&e, &names);
            Entry {
                when: format_local(e.created_at, zone),
                actor,
                actor_href,
                verb,
                kind: kind_words(&e.target_type),
                name,
                href: record_page(&e.target_type, e.target_id),
                suffix,
                history: format!("/manage/audit?target={}:{}", e.target_type, e.target_id),
                changes: difference(e.before.as_ref(), e.after.as_ref(), &names),
            }
        })
        .collect())
}

/// The name of a record the trail has no entry about.
async fn record_name(
    conn: &mut AsyncPgConnection,
    kind: &str,
    id: Uuid,
) -> AppResult<Option<String>> {
    Ok(match kind {
        "organization" => organizations::table
            .find(id)
            .select(organizations::name)
            .first(conn)
            .await
            .optional()?,
        "person" => people::table
            .find(id)
            .select(people::name)
            .first(conn)
            .await
            .optional()?,
        "account" => accounts::table
            .find(id)
            .select(accounts::name)
            .first(conn)
            .await
            .optional()?,
        _ => None,
    })
}

/// The last `limit` entries matching `filter`, readable, times in the default zone.
pub async fn entries(
    conn: &mut AsyncPgConnection,
    filter: &AuditFilter,
    limit: i64,
) -> AppResult<Vec<Entry>> {
    let page = PageRequest { limit, after: None };
    let found = audit::list(conn, filter, &page).await?.items;
    readable(conn, found, &DEFAULT_ZONE).await
}

/// "Australia/Brisbane (AEST)": the zone a list of entries is shown in.
pub fn zone_caption(zone: &Tz) -> String {
    let abbreviation = chrono::Utc::now().with_timezone(zone).format("%Z");
    format!("{} ({abbreviation})", zone.name())
}

/// The record whose history a page shows.
pub struct RecordRef {
    pub kind: String,
    pub name: String,
    pub href: Option<String>,
}

/// An option of a `<select>`.
pub struct Choice {
    pub value: String,
    pub label: String,
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct TrailPage {
    chrome: Chrome,
    done: Option<&'static str>,
    query: TrailQuery,
    errors: Errors,
    /// What `target` names, when the page is one record's history.
    record: Option<RecordRef>,
    changes: Vec<Entry>,
    zone: String,
    zone_name: String,
    collapse_changes: bool,
    next_page: Option<String>,
    kinds: Vec<Choice>,
    actors: Vec<Choice>,
    actions: Vec<Choice>,
    zones: Vec<Choice>,
}

/// The query of a trail page, kept as typed so the filter form shows it again.
struct TrailQuery {
    target: String,
    kind: String,
    actor: String,
    action: String,
    tz: String,
    cursor: String,
}

impl TrailQuery {
    fn read(req: &HttpRequest) -> TrailQuery {
        let form = Form::parse(req.query_string().as_bytes());
        let get = |name: &str| form.get(name).trim().to_owned();
        TrailQuery {
            target: get("target"),
            kind: get("kind"),
            actor: get("actor"),
            action: get("action"),
            tz: get("tz"),
            cursor: get("cursor"),
        }
    }

    fn parse(&self, v: &mut Validator) -> (AuditFilter, PageRequest<TimeAndId>, Tz) {
        let mut filter = AuditFilter::default();
        if !self.target.is_empty() {
            match self.target.split_once(':') {
                Some((kind, id)) if !kind.is_empty() => match id.parse::<Uuid>() {
                    Ok(id) => {
                        filter.target_type = Some(kind.to_owned());
                        filter.target_id = Some(id);
                    }
                    Err(_) => v.add("target", "does not name a record"),
                },
                _ => v.add("target", "does not name a record"),
            }
        } else if !self.kind.is_empty() {
            if KINDS.iter().any(|(k, _)| *k == self.kind) {
                filter.target_type = Some(self.kind.clone());
            } else {
                v.add("kind", "is not a kind of record");
            }
        }
        if !self.actor.is_empty() {
            filter.actor = v.check(
                "actor",
                self.actor
                    .parse::<Uuid>()
                    .map_err(|_| "is not an account of Convene"),
            );
        }
        if self.action.chars().count() > 100 {
            v.add("action", "is not an action");
        } else if !self.action.is_empty() {
            filter.action = Some(self.action.clone());
        }
        let zone = if self.tz.is_empty() {
            DEFAULT_ZONE
        } else {
            v.check(
                "tz",
                self.tz
                    .parse::<Tz>()
                    .map_err(|_| "is not a time zone (an IANA name such as Asia/Tokyo)"),
            )
            .unwrap_or(DEFAULT_ZONE)
        };
        let mut page = PageRequest::parse(v, Some(PAGE_SIZE), Some(&self.cursor));
        page.limit = PAGE_SIZE;
        (filter, page, zone)
    }

    /// This page's address with another cursor.
    fn with_cursor(&self, cursor: &str) -> String {
        let filters = [
            ("target", self.target.as_str()),
            ("kind", &self.kind),
            ("actor", &self.actor),
            ("action", &self.action),
            ("tz", &self.tz),
        ];
        super::next_page_address("/manage/audit", &filters, cursor)
    }
}

/// The accounts that can make changes (admins and organisers), by name, for the filter.
async fn actor_choices(conn: &mut AsyncPgConnection) -> AppResult<Vec<Choice>> {
    let rows: Vec<(Uuid, String, String)> = accounts::table
        .filter(accounts::role.eq_any(["admin", "organizer"]))
        .order((accounts::name.asc(), accounts::id.asc()))
        .select((accounts::id, accounts::name, accounts::email))
        .limit(500)
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, email)| Choice {
            value: id.to_string(),
            label: format!("{name} ({email})"),
        })
        .collect())
}

fn choices(list: &[(&str, &str)]) -> Vec<Choice> {
    list.iter()
        .map(|(value, label)| Choice {
            value: (*value).to_owned(),
            label: (*label).to_owned(),
        })
        .collect()
}

#[get("/manage/audit")]
async fn trail(state: web::Data<Context>, req: HttpRequest) -> HttpResponse {
    let (_admin, chrome) = match admin(&req).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let query = TrailQuery::read(&req);
    let mut v = Validator::new();
    let (filter, page, zone) = query.parse(&mut v);
    let mut errors = Errors::default();
    let checked = v.finish();
    let loaded = async {
        let mut conn = state.pool.get().await?;
        let actors = actor_choices(&mut conn).await?;
        let mut entries = Vec::new();
        let mut next_page = None;
        let mut record = None;
        match checked {
            Err(AppError::Validation(found)) => errors = Errors(found),
            Err(e) => return Err(e),
            Ok(()) => {
                let found = audit::list(&mut conn, &filter, &page).await?;
                next_page = found.next_cursor.map(|c| query.with_cursor(&c));
                entries = readable(&mut conn, found.items, &zone).await?;
                if let (Some(kind), Some(id)) = (&filter.target_type, filter.target_id) {
                    let name = match <[Entry]>::first(&entries) {
                        Some(e) => e.name.clone(),
                        None => record_name(&mut conn, kind, id)
                            .await?
                            .unwrap_or_else(|| "(not found)".to_owned()),
                    };
                    record = Some(RecordRef {
                        kind: kind_words(kind),
                        name,
                        href: record_page(kind, id),
                    });
                }
            }
        }
        Ok::<_, AppError>((actors, entries, next_page, record))
    };
    let (actors, entries, next_page, record) = match loaded.await {
        Ok(loaded) => loaded,
        Err(e) => return error_page(e),
    };
    let mut zones: Vec<Choice> = ZONES
        .iter()
        .map(|z| Choice {
            value: (*z).to_owned(),
            label: (*z).replace('_', " "),
        })
        .collect();
    if !ZONES.contains(&zone.name()) {
        zones.push(Choice {
            value: zone.name().to_owned(),
            label: zone.name().replace('_', " "),
        });
    }
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    html(
        status,
        &TrailPage {
            chrome,
            done: None,
            zone: zone_caption(&zone),
            zone_name: zone.name().to_owned(),
            collapse_changes: false,
            query,
            errors,
            record,
            changes: entries,
            next_page,
            kinds: choices(KINDS),
            actors,
            actions: choices(ACTIONS),
            zones,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_edit_shows_only_the_fields_that_changed_in_words() {
        let names = Names::default();
        let before = json!({"id": "x", "name": "Sophia University", "country": "JP", "kind": "academia", "website": null, "updated_at": "a"});
        let after = json!({"id": "x", "name": "Sophia University Tokyo", "country": "JP", "kind": "think_tank", "website": "https://www.sophia.ac.jp", "updated_at": "b"});
        let changes = difference(Some(&before), Some(&after), &names);
        let rows: Vec<(&str, &str, &str)> = changes
            .iter()
            .map(|c| (c.field.as_str(), c.before.as_str(), c.after.as_str()))
            .collect();
        assert_eq!(
            rows,
            [
                ("Kind", "academia", "think tank"),
                ("Name", "Sophia University", "Sophia University Tokyo"),
                ("Website", "(none)", "https://www.sophia.ac.jp"),
            ]
        );
    }

    #[test]
    fn a_creation_lists_what_was_set() {
        let names = Names::default();
        let after = json!({"name": "ASEAN", "country": null, "status": "active", "focal_point": {"email": "a@example.org", "position": null}});
        let changes = difference(None, Some(&after), &names);
        let rows: Vec<(&str, &str, &str)> = changes
            .iter()
            .map(|c| (c.field.as_str(), c.before.as_str(), c.after.as_str()))
            .collect();
        assert_eq!(
            rows,
            [
                ("Focal point", "—", "email: a@example.org"),
                ("Name", "—", "ASEAN"),
                ("Membership", "—", "active"),
            ]
        );
    }
}

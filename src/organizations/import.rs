//! CSV import for admins moving from spreadsheets: every row is checked first (fields, names
//! repeated within the file or taken in the database, unknown focal points without a name);
//! one bad row and nothing is written. A good file is written in one transaction.
//! [`preview`] runs the same checks and writes nothing, so what the console shows before the
//! admin commits is what [`import`] then does (or, if the database changed meanwhile, refuses).

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::audit;
use crate::db::page::lower;
use crate::db::schema::{affiliations, organizations, people};
use crate::error::{AppError, AppResult, Validator};
use crate::organizations::fields::{OrganizationFields, OrganizationInput};
use crate::organizations::membership::joined_on_for;
use crate::organizations::model::{snapshot, MembershipStatus, Organization, OrganizationKind};
use crate::organizations::service::insert;
use crate::people::model::Affiliation;
use crate::people::service::{parse_position, PersonInput};
use crate::people::EmailAddress;

/// The columns a file may have, in the documented order; `name` and `kind` are required.
pub const COLUMNS: &[&str] = &[
    "name",
    "short_name",
    "kind",
    "country",
    "website",
    "status",
    "focal_point_email",
    "focal_point_name",
    "focal_point_position",
];
const REQUIRED_COLUMNS: &[&str] = &["name", "kind"];

/// At most this many errors are listed; a file with more has a systematic problem.
const MAX_ERRORS: usize = 500;

/// The path of a field of a CSV line in error responses: `line[3].country` is the `country`
/// column of the file's third line (the header is line 1).
fn field_path(line: u64, column: &str) -> String {
    format!("line[{line}].{column}")
}

#[derive(Debug, Clone)]
struct FocalPoint {
    email: EmailAddress,
    name: Option<String>,
    position: Option<String>,
}

#[derive(Debug, Clone)]
struct Row {
    line: u64,
    organization: OrganizationInput,
    status: MembershipStatus,
    focal_point: Option<FocalPoint>,
}

/// What a line says that is checked against other lines and the database, known even when
/// another of its fields is bad, so that one answer lists every problem of every line.
#[derive(Debug, Clone)]
struct LineFacts {
    line: u64,
    /// The name as written (trimmed), when there is one.
    name: Option<String>,
    withdrawn: bool,
    /// The focal point's address, normalised, when it parses.
    focal_point_email: Option<String>,
    focal_point_named: bool,
}

/// The file's lines: every line's facts, and the lines that parsed whole.
#[derive(Debug, Default)]
struct ParsedFile {
    facts: Vec<LineFacts>,
    rows: Vec<Row>,
}

/// Reads and checks the file's rows on their own (no database); errors go to `v`.
fn parse_rows(body: &[u8], v: &mut Validator) -> ParsedFile {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(body);
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|c| c.trim().to_lowercase()).collect(),
        Err(e) => {
            v.add(
                "line[1]",
                format!("cannot read the header row: {}", csv_error_message(&e)),
            );
            return ParsedFile::default();
        }
    };
    let mut seen = HashSet::new();
    for column in &headers {
        if !COLUMNS.contains(&column.as_str()) {
            v.add(
                field_path(1, if column.is_empty() { "(blank)" } else { column }),
                format!(
                    "is not a known column; expected some of: {}",
                    COLUMNS.join(", ")
                ),
            );
        } else if !seen.insert(column.clone()) {
            v.add(field_path(1, column), "appears twice in the header");
        }
    }
    for required in REQUIRED_COLUMNS {
        if !headers.iter().any(|c| c == required) {
            v.add(
                field_path(1, required),
                "is a required column and is missing from the header",
            );
        }
    }
    if !v.is_ok() {
        return ParsedFile::default();
    }
    let index: HashMap<&str, usize> = headers
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();

    let mut parsed = ParsedFile::default();
    let mut record = csv::StringRecord::new();
    let mut saw_data = false;
    let mut lines = LineCounter::new(body);
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map(|p| lines.line_at(p.byte())).unwrap_or(0);
                v.add(format!("line[{line}]"), csv_error_message(&e));
                // After a broken quote the reader's idea of records is unreliable: stop here.
                break;
            }
        }
        let line = record
            .position()
            .map(|p| lines.line_at(p.byte()))
            .unwrap_or(0);
        if record.iter().all(str::is_empty) {
            continue;
        }
        saw_data = true;
        if record.len() > headers.len() {
            v.add(
                format!("line[{line}]"),
                format!(
                    "has {} fields but the header has {}",
                    record.len(),
                    headers.len()
                ),
            );
        }
        let get = |column: &str| -> Option<&str> {
            index
                .get(column)
                .and_then(|&i| record.get(i))
                .filter(|s| !s.is_empty())
        };
        let prefix = format!("line[{line}].");
        let organization = OrganizationInput::parse(
            v,
            OrganizationFields {
                name: get("name"),
                short_name: get("short_name"),
                kind: get("kind"),
                country: get("country"),
                website: get("website"),
            },
            &prefix,
        );
        let status = match get("status") {
            None => Some(MembershipStatus::Active),
            Some(raw) => v.check(field_path(line, "status"), raw.parse::<MembershipStatus>()),
        };
        let focal_point = parse_focal_point(
            v,
            line,
            get("focal_point_email"),
            get("focal_point_name"),
            get("focal_point_position"),
        );
        parsed.facts.push(LineFacts {
            line,
            name: get("name").map(str::to_owned),
            withdrawn: status == Some(MembershipStatus::Withdrawn),
            focal_point_email: get("focal_point_email")
                .and_then(|e| EmailAddress::parse(e).ok())
                .map(|e| e.as_str().to_owned()),
            focal_point_named: get("focal_point_name").is_some(),
        });
        if record.len() > headers.len() {
            continue;
        }
        if let (Some(organization), Some(status), Some(focal_point)) =
            (organization, status, focal_point)
        {
            parsed.rows.push(Row {
                line,
                organization,
                status,
                focal_point,
            });
        }
    }
    if !saw_data && v.is_ok() {
        v.add("file", "has no rows after the header");
    }
    parsed
}

/// Line numbers from byte offsets: the csv reader's own line count skips blank lines, and a
/// spreadsheet user looks for the line their editor shows.
struct LineCounter<'a> {
    body: &'a [u8],
    byte: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(body: &'a [u8]) -> Self {
        LineCounter {
            body,
            byte: 0,
            line: 1,
        }
    }

    /// The 1-based line of the record starting at `byte`; offsets must not decrease between
    /// calls. The reader reports a record as starting before the blank lines it skipped.
    fn line_at(&mut self, byte: u64) -> u64 {
        let mut target = usize::try_from(byte)
            .unwrap_or(usize::MAX)
            .min(self.body.len());
        while matches!(self.body.get(target), Some(b'\n' | b'\r')) {
            target += 1;
        }
        if target > self.byte {
            let newlines = self.body[self.byte..target]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            self.line += newlines as u64;
            self.byte = target;
        }
        self.line
    }
}

fn csv_error_message(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => {
            "is not valid UTF-8 text (save the file as CSV UTF-8)".to_owned()
        }
        _ => format!("is not valid CSV: {e}"),
    }
}

/// `Some(None)`: no focal point; `None`: a bad focal point field (recorded in `v`).
fn parse_focal_point(
    v: &mut Validator,
    line: u64,
    email: Option<&str>,
    name: Option<&str>,
    position: Option<&str>,
) -> Option<Option<FocalPoint>> {
    let Some(email) = email else {
        if name.is_some() || position.is_some() {
            v.add(
                field_path(line, "focal_point_email"),
                "is required when focal_point_name or focal_point_position is given",
            );
            return None;
        }
        return Some(None);
    };
    let email = v.check(
        field_path(line, "focal_point_email"),
        EmailAddress::parse(email),
    );
    let name = match name {
        Some(raw) => v
            .check(
                field_path(line, "focal_point_name"),
                crate::people::service::parse_name(raw),
            )
            .map(Some),
        None => Some(None),
    };
    let position = v.check(
        field_path(line, "focal_point_position"),
        parse_position(position.unwrap_or_default()),
    );
    Some(Some(FocalPoint {
        email: email?,
        name: name?,
        position: position?,
    }))
}

/// Checks the lines against each other and the database: a live name may appear once, and
/// must not be taken; a focal point the partnership does not know needs a name.
/// Answers the focal points' addresses that are already known people.
async fn check_against_database(
    conn: &mut AsyncPgConnection,
    lines: &[LineFacts],
    v: &mut Validator,
) -> AppResult<HashSet<String>> {
    let live = || {
        lines
            .iter()
            .filter(|l| !l.withdrawn)
            .filter_map(|l| Some((l.line, l.name.as_deref()?)))
    };
    let mut first_line: HashMap<String, u64> = HashMap::new();
    for (line, name) in live() {
        match first_line.get(&name.to_lowercase()) {
            Some(first) => v.add(
                field_path(line, "name"),
                format!("\"{name}\" is already on line {first} of this file"),
            ),
            None => {
                first_line.insert(name.to_lowercase(), line);
            }
        }
    }
    let names: Vec<String> = first_line.keys().cloned().collect();
    let taken: Vec<(String, Uuid, String)> = organizations::table
        .filter(lower(organizations::name).eq_any(&names))
        .filter(organizations::status.ne(MembershipStatus::Withdrawn))
        .select((
            lower(organizations::name),
            organizations::id,
            organizations::name,
        ))
        .load(conn)
        .await?;
    let taken: HashMap<String, (Uuid, String)> = taken
        .into_iter()
        .map(|(key, id, name)| (key, (id, name)))
        .collect();
    for (line, name) in live() {
        if let Some((id, existing)) = taken.get(&name.to_lowercase()) {
            v.add(
                field_path(line, "name"),
                format!("an organisation named \"{existing}\" already exists (id {id})"),
            );
        }
    }

    let emails: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.focal_point_email.as_deref())
        .collect();
    let known: HashSet<String> = people::table
        .filter(people::email.eq_any(&emails))
        .select(people::email)
        .load::<String>(conn)
        .await?
        .into_iter()
        .collect();
    let named_in_file: HashSet<&str> = lines
        .iter()
        .filter(|l| l.focal_point_named)
        .filter_map(|l| l.focal_point_email.as_deref())
        .collect();
    for line in lines {
        if let Some(email) = line.focal_point_email.as_deref() {
            if !known.contains(email) && !named_in_file.contains(email) {
                v.add(
                    field_path(line.line, "focal_point_name"),
                    format!("is required: {email} is not yet a known person"),
                );
            }
        }
    }
    Ok(known)
}

/// A file whose every line passed every check: its rows, and which focal points are known.
struct CheckedFile {
    rows: Vec<Row>,
    known: HashSet<String>,
}

/// Every check of every line, in one pass; the errors ordered by line.
async fn check(conn: &mut AsyncPgConnection, body: &[u8]) -> AppResult<CheckedFile> {
    let mut v = Validator::new();
    let ParsedFile { facts, rows } = parse_rows(body, &mut v);
    // Every line is checked against the others and the database, also a line with a bad
    // field, so one answer lists every problem of every line.
    let known = check_against_database(conn, &facts, &mut v).await?;
    v.finish().map_err(tidy_errors)?;
    Ok(CheckedFile { rows, known })
}

/// One organisation an import would create, as the preview shows it.
#[derive(Debug, Clone)]
pub struct Planned {
    /// The file's line (the header is line 1).
    pub line: u64,
    pub name: String,
    pub short_name: Option<String>,
    pub kind: OrganizationKind,
    pub country: Option<String>,
    pub website: Option<String>,
    pub status: MembershipStatus,
    pub focal_point: Option<PlannedFocalPoint>,
}

#[derive(Debug, Clone)]
pub struct PlannedFocalPoint {
    pub email: String,
    /// The name the file gives (for someone new; a known person keeps theirs).
    pub name: Option<String>,
    pub position: Option<String>,
    /// Whether the import creates this person (else an existing person is affiliated).
    pub new_person: bool,
}

/// What importing `body` would create, in file order, or every problem of every line (the
/// same validation error as [`import`]). Writes nothing.
pub async fn preview(conn: &mut AsyncPgConnection, body: &[u8]) -> AppResult<Vec<Planned>> {
    let CheckedFile { rows, known } = check(conn, body).await?;
    Ok(rows
        .into_iter()
        .map(|row| Planned {
            line: row.line,
            name: row.organization.name,
            short_name: row.organization.short_name,
            kind: row.organization.kind,
            country: row.organization.country.map(|c| c.as_str().to_owned()),
            website: row.organization.website.map(|w| w.as_str().to_owned()),
            status: row.status,
            focal_point: row.focal_point.map(|f| PlannedFocalPoint {
                new_person: !known.contains(f.email.as_str()),
                email: f.email.as_str().to_owned(),
                name: f.name,
                position: f.position,
            }),
        })
        .collect())
}

/// Imports a CSV file: all rows or none. Returns the organisations created, in file order.
pub async fn import(
    conn: &mut AsyncPgConnection,
    actor: Uuid,
    body: &[u8],
) -> AppResult<Vec<Organization>> {
    let CheckedFile { rows, .. } = check(conn, body).await?;

    // Names of new people as the file first gives them.
    let mut names: HashMap<String, String> = HashMap::new();
    for focal in rows.iter().filter_map(|r| r.focal_point.as_ref()) {
        if let Some(name) = &focal.name {
            names
                .entry(focal.email.as_str().to_owned())
                .or_insert_with(|| name.clone());
        }
    }
    crate::db::transaction(&mut *conn, |conn| {
        async move {
            let mut created = Vec::with_capacity(rows.len());
            for row in rows {
                let joined_on = joined_on_for(row.status, None);
                let org = insert(conn, &row.organization.into_new(row.status, joined_on)).await?;
                let mut after = snapshot(&org);
                if let Some(focal) = row.focal_point {
                    let input = PersonInput {
                        name: names.get(focal.email.as_str()).cloned().unwrap_or_default(),
                        email: focal.email,
                        honorific: None,
                        position: focal.position.clone(),
                    };
                    let (person, _) =
                        crate::people::service::find_or_create(conn, Some(actor), &input).await?;
                    diesel::insert_into(affiliations::table)
                        .values(Affiliation {
                            person_id: person.id,
                            organization_id: org.id,
                            position: focal.position.clone(),
                            focal_point: true,
                            created_at: chrono::Utc::now(),
                        })
                        .execute(conn)
                        .await?;
                    if let Some(map) = after.as_object_mut() {
                        map.insert(
                            "focal_point".to_owned(),
                            serde_json::json!({
                                "person_id": person.id,
                                "email": person.email,
                                "position": focal.position,
                            }),
                        );
                    }
                }
                audit::record(
                    conn,
                    Some(actor),
                    "import",
                    "organization",
                    org.id,
                    None,
                    Some(after),
                )
                .await?;
                created.push(org);
            }
            Ok(created)
        }
        .scope_boxed()
    })
    .await
}

/// The line a field path names (`line[12].kind` → 12); the file-wide ones come last.
fn line_of(field: &str) -> u64 {
    field
        .strip_prefix("line[")
        .and_then(|rest| rest.split(']').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(u64::MAX)
}

/// Orders the errors by line (checks run in passes) and caps their number.
fn tidy_errors(err: AppError) -> AppError {
    match err {
        AppError::Validation(mut errors) => {
            errors.sort_by_key(|e| line_of(&e.field));
            if errors.len() > MAX_ERRORS {
                let more = errors.len() - MAX_ERRORS;
                errors.truncate(MAX_ERRORS);
                errors.push(crate::error::FieldError::new(
                    "file",
                    format!("and {more} more errors not listed"),
                ));
            }
            AppError::Validation(errors)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors_of(csv: &str) -> Vec<(String, String)> {
        let mut v = Validator::new();
        let _ = parse_rows(csv.as_bytes(), &mut v);
        match v.finish() {
            Ok(()) => Vec::new(),
            Err(AppError::Validation(errors)) => {
                errors.into_iter().map(|e| (e.field, e.message)).collect()
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn good_rows_parse_with_defaults() {
        let mut v = Validator::new();
        let ParsedFile { facts, rows } = parse_rows(
            "\u{feff}Name,kind,country,website,status\n\
             Ministry of Foreign Affairs of Japan,government,jp,https://www.mofa.go.jp/,\n\
             \n\
             ASEAN,regional_organization,,,applicant\n"
                .as_bytes(),
            &mut v,
        );
        assert!(v.is_ok(), "{v:?}");
        assert_eq!(rows.len(), 2);
        let lines: Vec<u64> = facts.iter().map(|f| f.line).collect();
        assert_eq!(lines, [2, 4]);
        assert_eq!(rows[0].status, MembershipStatus::Active);
        assert_eq!(rows[0].organization.country.map(|c| c.as_str()), Some("JP"));
        assert_eq!(rows[1].status, MembershipStatus::Applicant);
    }

    #[test]
    fn every_bad_field_is_named_by_line() {
        let errors = errors_of(
            "name,kind,country,website,focal_point_name\n\
             Good,academia,AU,,\n\
             ,think_tank,ZZ,ftp://x,\n\
             Bad kind,club,JP,,\n\
             No country,civil_society,,,\n\
             Orphan name,academia,JP,,Someone\n",
        );
        let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "line[3].name",
                "line[3].country",
                "line[3].website",
                "line[4].kind",
                "line[5].country",
                "line[6].focal_point_email",
            ]
        );
    }

    #[test]
    fn header_problems_are_reported() {
        let errors = errors_of("name,countyr\nX,JP\n");
        let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, vec!["line[1].countyr", "line[1].kind"]);
        let errors = errors_of("name,kind\n");
        assert_eq!(errors[0].0, "file");
    }

    #[test]
    fn crlf_files_and_blank_lines_keep_editor_line_numbers() {
        let errors = errors_of("name,kind,country\r\nA,academia,JP\r\n\r\nB,academia,ZZ\r\n");
        assert_eq!(errors[0].0, "line[4].country");
    }

    #[test]
    fn quoted_fields_span_lines_but_a_name_is_one_line() {
        let mut v = Validator::new();
        let facts = parse_rows(
            "name,kind,country\n\"Multi\nline\",academia,JP\nNext,academia,JP\n".as_bytes(),
            &mut v,
        )
        .facts;
        assert_eq!(facts.last().map(|f| f.line), Some(4));
        match v.finish() {
            Err(crate::error::AppError::Validation(errors)) => {
                let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
                assert_eq!(fields, ["line[2].name"]);
            }
            other => panic!("expected the multi-line name refused: {other:?}"),
        }
    }
}

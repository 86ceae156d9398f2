//! Importing organisations from a CSV file in the browser, in two steps, nothing written
//! before the second:
//!
//! 1. `POST /manage/organizations/import` takes the uploaded file (a multipart form) and shows
//!    what importing it would create, or every problem of every line in one table; it writes
//!    nothing and keeps nothing on the server.
//! 2. The preview's "Import" form posts the same file's text back (a hidden field) to
//!    `POST /manage/organizations/import/commit`, which runs every check again (the database may
//!    have changed meanwhile) and creates the organisations in one transaction through the same
//!    service as `POST /api/v1/organizations/import`. Cancelling is leaving the page.
//!
//! `GET /manage/organizations/import/template.csv` is a file to start from.

use actix_web::http::{header, StatusCode};
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;
use futures_util::StreamExt;

use super::home::country_name;
use super::{admin, admin_form, error_page, see_other, words, Chrome, Form};
use crate::context::Context;
use crate::error::{AppError, FieldError};
use crate::organizations::import::{self, Planned};
use crate::pages::{html, sentence, MessagePage};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(upload_page)
        .service(template)
        .service(preview)
        .service(commit);
}

/// The template's example rows: one member with its focal point, one regional body applying.
const TEMPLATE: &str = "\u{feff}name,short_name,kind,country,website,status,focal_point_email,focal_point_name,focal_point_position\r\n\
Sophia Institute of International Relations,SIIR,academia,JP,https://www.sophia.ac.jp,active,focal.point@example.org,Hana Suzuki,Director\r\n\
ASEAN Intergovernmental Commission on Human Rights,AICHR,regional_organization,,,applicant,,,\r\n";

/// One organisation the file would create, in words.
pub struct PlannedRow {
    pub line: u64,
    pub name: String,
    pub kind: String,
    pub country: String,
    pub website: String,
    pub status: String,
    pub focal_point: String,
}

impl PlannedRow {
    fn of(p: Planned) -> PlannedRow {
        let name = match &p.short_name {
            Some(short) => format!("{} ({short})", p.name),
            None => p.name.clone(),
        };
        let focal_point = match p.focal_point {
            None => String::new(),
            Some(f) => {
                let mut text = match &f.name {
                    Some(name) if f.new_person => format!("{name}, {}", f.email),
                    _ => f.email.clone(),
                };
                if let Some(position) = &f.position {
                    text.push_str(&format!(", {position}"));
                }
                text.push_str(if f.new_person {
                    " (someone new)"
                } else {
                    " (already known)"
                });
                text
            }
        };
        PlannedRow {
            line: p.line,
            name,
            kind: words(p.kind.as_str()),
            country: country_name(p.country.as_deref()),
            website: p.website.unwrap_or_default(),
            status: words(p.status.as_str()),
            focal_point,
        }
    }
}

/// One problem of the file: its line (the header is line 1), its column, what is wrong.
pub struct Problem {
    pub line: String,
    pub column: String,
    pub message: String,
}

impl Problem {
    /// `line[3].country`, `line[3]` or `file`, as the import service names them.
    fn of(e: FieldError) -> Problem {
        let (line, column) = match e.field.strip_prefix("line[") {
            Some(rest) => match rest.split_once(']') {
                Some((line, column)) => (
                    line.to_owned(),
                    column.strip_prefix('.').unwrap_or_default().to_owned(),
                ),
                None => (String::new(), String::new()),
            },
            None => (String::new(), String::new()),
        };
        // The service's messages follow a field path: "is required…", or say it all
        // ("an organisation named … already exists"). The first kind gets its subject back.
        let predicate = ["is ", "must ", "has ", "appears ", "cannot "]
            .iter()
            .any(|verb| e.message.starts_with(verb));
        let message = match (predicate, column.is_empty(), line.is_empty()) {
            (false, _, _) => sentence(&e.message),
            (true, false, _) => sentence(&format!("{column} {}", e.message)),
            (true, true, false) => sentence(&format!("this line {}", e.message)),
            (true, true, true) => sentence(&format!("the file {}", e.message)),
        };
        Problem {
            line: if line.is_empty() {
                "whole file".to_owned()
            } else {
                line
            },
            column: if column.is_empty() {
                "—".to_owned()
            } else {
                column
            },
            message,
        }
    }
}

#[derive(Template)]
#[template(path = "console/import.html")]
struct ImportPage {
    chrome: Chrome,
    done: Option<&'static str>,
    /// The name of the file the preview or the problems are about.
    file_name: String,
    /// A problem with the upload itself (no file chosen, not readable).
    upload_error: Option<String>,
    problems: Vec<Problem>,
    /// What the file would create (shown only when it has no problem).
    planned: Vec<PlannedRow>,
    /// The file's text, posted back by the "Import" form.
    csv: String,
}

impl ImportPage {
    fn new(chrome: Chrome) -> ImportPage {
        ImportPage {
            chrome,
            done: None,
            file_name: String::new(),
            upload_error: None,
            problems: Vec::new(),
            planned: Vec::new(),
            csv: String::new(),
        }
    }

    fn respond(self) -> HttpResponse {
        let status = if self.upload_error.is_some() || !self.problems.is_empty() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        };
        html(status, &self)
    }
}

#[get("/manage/organizations/import")]
async fn upload_page(req: HttpRequest) -> HttpResponse {
    match admin(&req).await {
        Ok((_admin, chrome)) => ImportPage::new(chrome).respond(),
        Err(answer) => answer,
    }
}

#[get("/manage/organizations/import/template.csv")]
async fn template(req: HttpRequest) -> HttpResponse {
    if let Err(answer) = admin(&req).await {
        return answer;
    }
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"organisations-template.csv\"",
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(TEMPLATE)
}

/// The fields of a multipart form: `(name, file name, bytes)` each.
async fn multipart_fields(
    req: &HttpRequest,
    body: web::Bytes,
) -> Result<Vec<(String, Option<String>, Vec<u8>)>, actix_multipart::MultipartError> {
    let stream =
        futures_util::stream::once(async move { Ok::<_, actix_web::error::PayloadError>(body) });
    let mut multipart = actix_multipart::Multipart::new(req.headers(), stream);
    let mut fields = Vec::new();
    while let Some(field) = multipart.next().await {
        let mut field = field?;
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field
            .content_disposition()
            .and_then(|d| d.get_filename())
            .map(str::to_owned);
        let mut data = Vec::new();
        while let Some(chunk) = field.next().await {
            data.extend_from_slice(&chunk?);
        }
        fields.push((name, file_name, data));
    }
    Ok(fields)
}

/// Checks the uploaded file and shows what it would create, or every problem; writes nothing.
#[post("/manage/organizations/import")]
async fn preview(
    state: web::Data<Context>,
    req: HttpRequest,
    body: Result<web::Bytes, actix_web::Error>,
) -> HttpResponse {
    let (_admin, chrome) = match admin(&req).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    // The preview posts the file back urlencoded, up to three times its size, within
    // `server.body_limit`: a larger file is refused here, on the page, before any check.
    let max_file = state.settings.server.body_limit / 3;
    let too_large = || {
        format!(
            "The file is too large: at most {} KiB can be imported at once. Split it into smaller files.",
            max_file / 1024
        )
    };
    let Ok(body) = body else {
        let mut page = ImportPage::new(chrome);
        page.upload_error = Some(too_large());
        return page.respond();
    };
    let fields = match multipart_fields(&req, body).await {
        Ok(fields) => fields,
        Err(_) => {
            return MessagePage::new("The upload could not be read")
                .paragraph("Nothing was imported. Go back, choose the file again and upload it.")
                .link("/manage/organizations/import", "Import organisations")
                .respond(StatusCode::BAD_REQUEST)
        }
    };
    let token = fields
        .iter()
        .find(|(name, _, _)| name == crate::auth::csrf::FIELD)
        .map(|(_, _, data)| String::from_utf8_lossy(data).into_owned())
        .unwrap_or_default();
    if let Err(answer) = Form(vec![(crate::auth::csrf::FIELD.to_owned(), token)]).check_csrf(&req) {
        return answer;
    }
    let mut page = ImportPage::new(chrome);
    let Some((_, file_name, data)) = fields
        .into_iter()
        .find(|(name, _, data)| name == "file" && !data.is_empty())
    else {
        page.upload_error = Some("Choose a CSV file to upload.".to_owned());
        return page.respond();
    };
    if data.len() > max_file {
        page.upload_error = Some(too_large());
        return page.respond();
    }
    page.file_name = file_name.unwrap_or_else(|| "the file".to_owned());
    show(&state, page, data).await
}

/// The preview of `data`: what it would create, or its problems.
async fn show(state: &web::Data<Context>, mut page: ImportPage, data: Vec<u8>) -> HttpResponse {
    let checked = async {
        let mut conn = state.pool.get().await?;
        import::preview(&mut conn, &data).await
    };
    match checked.await {
        Ok(planned) => {
            // A file that passed every check is UTF-8 (less its byte order mark).
            let text = String::from_utf8_lossy(&data);
            page.csv = text.trim_start_matches('\u{feff}').to_owned();
            page.planned = planned.into_iter().map(PlannedRow::of).collect();
        }
        Err(AppError::Validation(errors)) => {
            page.problems = errors.into_iter().map(Problem::of).collect();
        }
        Err(e) => return error_page(e),
    }
    page.respond()
}

/// Creates the organisations of the previewed file, all or none.
#[post("/manage/organizations/import/commit")]
async fn commit(state: web::Data<Context>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let (admin, chrome, form) = match admin_form(&req, &body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let csv = form.get("csv").to_owned();
    let file_name = form.get("file_name").to_owned();
    let imported = async {
        let mut conn = state.pool.get().await?;
        import::import(&mut conn, admin.account.id, csv.as_bytes()).await
    };
    match imported.await {
        Ok(created) => {
            tracing::info!(created = created.len(), "imported organisations");
            see_other("/manage/organizations?done=imported")
        }
        Err(AppError::Validation(errors)) => {
            let mut page = ImportPage::new(chrome);
            page.file_name = file_name;
            page.problems = errors.into_iter().map(Problem::of).collect();
            page.respond()
        }
        Err(e) => error_page(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_name_their_line_and_column() {
        let p = Problem::of(FieldError::new("line[3].country", "is not a country code"));
        assert_eq!(
            (p.line.as_str(), p.column.as_str(), p.message.as_str()),
            ("3", "country", "Country is not a country code.")
        );
        let p = Problem::of(FieldError::new(
            "line[4].name",
            "an organisation named \"X\" already exists",
        ));
        assert_eq!(p.message, "An organisation named \"X\" already exists.");
        let p = Problem::of(FieldError::new(
            "line[4]",
            "has 5 fields but the header has 3",
        ));
        assert_eq!(p.message, "This line has 5 fields but the header has 3.");
        let p = Problem::of(FieldError::new("file", "has no rows after the header"));
        assert_eq!(
            (p.line.as_str(), p.message.as_str()),
            ("whole file", "The file has no rows after the header.")
        );
    }
}

//! Series: the recurring dialogues (a country's national dialogue) whose editions are events.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::db::is_unique_violation;
use crate::db::page::{NameAndId, Page, PageRequest};
use crate::db::schema::series;
use crate::error::{AppError, AppResult, Code, Validator};
use crate::events::fields::{optional_text, required_text};
use crate::events::model::{NewSeries, Series};
use crate::events::types::{SeriesRequest, SeriesView};
use crate::organizations::CountryCode;
use crate::text::Lines;

pub async fn list_series(
    conn: &mut AsyncPgConnection,
    page: &PageRequest<NameAndId>,
) -> AppResult<Page<SeriesView>> {
    let mut query = series::table.into_boxed();
    if let Some((name, id)) = page.after.clone() {
        query = query.filter(
            series::name
                .gt(name.clone())
                .or(series::name.eq(name).and(series::id.gt(id))),
        );
    }
    let rows: Vec<Series> = query
        .order((series::name.asc(), series::id.asc()))
        .limit(page.fetch())
        .select(Series::as_select())
        .load(conn)
        .await?;
    Ok(Page::from_rows(rows, page, |s| (s.name.clone(), s.id)).map(SeriesView::from))
}

pub async fn create_series(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    req: SeriesRequest,
) -> AppResult<SeriesView> {
    let mut v = Validator::new();
    let name = required_text(&mut v, "name", req.name, 300);
    let country = req
        .country
        .filter(|c| !c.trim().is_empty())
        .and_then(|c| v.check("country", CountryCode::parse(&c)));
    let description = optional_text(&mut v, "description", req.description, 5000, Lines::Multi);
    v.finish()?;
    let row = NewSeries {
        id: Uuid::now_v7(),
        name: name.unwrap_or_default(),
        country: country.map(|c| c.as_str().to_owned()),
        description,
        created_by: Some(user.account.id),
    };
    let created = diesel::insert_into(series::table)
        .values(&row)
        .returning(Series::as_returning())
        .get_result(conn)
        .await
        .map_err(|e| {
            if is_unique_violation(&e, "series_name") {
                AppError::conflict(
                    Code::SeriesNameTaken,
                    "a series with this name already exists",
                )
            } else {
                e.into()
            }
        })?;
    Ok(created.into())
}

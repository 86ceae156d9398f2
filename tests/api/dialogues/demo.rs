//! The demo data: the Japan dialogues load once.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use reqwest::StatusCode;

use crate::support::{expect_json, TestApp};

use super::*;

#[tokio::test]
async fn the_demo_loads_the_japan_dialogues_once() {
    let app = TestApp::spawn().await;
    convene::demo::dialogues::load_dialogues(&app.pool)
        .await
        .expect("demo loads");
    convene::demo::dialogues::load_dialogues(&app.pool)
        .await
        .expect("demo loads again");

    let listed = expect_json(app.get("/events", None).await, StatusCode::OK).await;
    let slugs: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["slug"].as_str().unwrap())
        .collect();
    assert_eq!(
        slugs,
        [
            "japan-national-dialogue-2022",
            "japan-national-dialogue-2027"
        ]
    );

    let e = expect_json(
        app.get("/events/japan-national-dialogue-2022", None).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(e["status"], "completed");
    assert_eq!(e["format"], "online");
    assert_eq!(e["timezone"], "Asia/Tokyo");
    assert!(e.get("online_url").is_none());
    let roles: Vec<(&str, &str)> = e["partners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["short_name"]
                    .as_str()
                    .unwrap_or(p["name"].as_str().unwrap()),
                p["role"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(roles.len(), 5);
    assert_eq!(roles[0], ("APR2P", "organizer"));
    assert!(roles.contains(&("DFAT", "funder")));
    assert!(roles.contains(&("AHC", "supporter")));
    let sessions = e["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 3);
    assert_eq!(
        sessions[0]["starts_at"], "2022-02-18T00:30:00Z",
        "09:30 in Tokyo"
    );
    assert!(sessions[0]["title"]
        .as_str()
        .unwrap()
        .starts_with("Vitalizing R2P in the Japanese Context"));
    assert_eq!(
        keys(&sessions[0]),
        CLOSED_PUBLIC_KEYS.iter().map(|k| k.to_string()).collect()
    );
    assert_eq!(
        keys(&sessions[1]),
        CLOSED_PUBLIC_KEYS.iter().map(|k| k.to_string()).collect()
    );
    let seminar = &sessions[2];
    assert_eq!(seminar["starts_at_local"], "2022-02-18T16:00:00+09:00");
    let speakers: Vec<&str> = seminar["speakers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        speakers,
        [
            "Prof. Toshiya Hoshino",
            "Dr Noel M. Morada",
            "Prof. Daisaku Higashi",
            "Prof. Misako Takizawa",
            "Prof. Yasuhiro Ueki"
        ]
    );
    let text = e.to_string();
    assert!(
        !text.contains("Ralph") && !text.contains("Hasegawa"),
        "closed-session speakers leaked"
    );

    let outcomes = expect_json(
        app.get("/events/japan-national-dialogue-2022/outcomes", None)
            .await,
        StatusCode::OK,
    )
    .await;
    let items = outcomes["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert!(items[0].get("speakers").is_none() && items[1].get("speakers").is_none());
    assert_eq!(items[0]["chatham_house"], true);
    assert_eq!(items[2]["speakers"].as_array().unwrap().len(), 5);
    assert!(items[2]["body_html"].as_str().unwrap().contains("<p>"));

    let upcoming = expect_json(
        app.get("/events/japan-national-dialogue-2027", None).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(upcoming["status"], "published");
    assert_eq!(upcoming["format"], "hybrid");
    assert_eq!(upcoming["series_id"], e["series_id"]);
    let series = expect_json(app.get("/series", None).await, StatusCode::OK).await;
    assert_eq!(series["items"].as_array().unwrap().len(), 1);

    use convene::db::schema::{organizations, people, speakers};
    let mut conn = app.pool.get().await.unwrap();
    let n_orgs: i64 = organizations::table
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    let n_people: i64 = people::table.count().get_result(&mut conn).await.unwrap();
    let n_speakers: i64 = speakers::table.count().get_result(&mut conn).await.unwrap();
    assert_eq!(n_orgs, 5, "the five partners");
    assert_eq!(n_people, 7, "the seven speakers");
    assert_eq!(n_speakers, 9);
}

//! The demo network loads once however often it runs.

use std::collections::HashSet;

use reqwest::StatusCode;

use crate::support::{expect_json, TestApp};

use super::*;

#[tokio::test]
async fn the_demo_network_loads_once_however_often_it_runs() {
    let app = TestApp::spawn().await;
    let tables = [
        "SELECT count(*) AS n FROM organizations",
        "SELECT count(*) AS n FROM people",
        "SELECT count(*) AS n FROM affiliations",
        "SELECT count(*) AS n FROM affiliations WHERE focal_point",
        "SELECT count(*) AS n FROM audit_entries",
    ];
    convene::demo::load(&app.pool).await.expect("first load");
    let mut first = Vec::new();
    for sql in tables {
        first.push(count(&app, sql).await);
    }
    assert!(first[0] >= 20, "{first:?}");
    assert!(first[1] >= 20, "{first:?}");
    assert_eq!(first[2], first[1], "every demo person has one affiliation");
    assert!(first[3] >= 8, "{first:?}");

    let summary = convene::demo::load_network(&app.pool)
        .await
        .expect("second load");
    assert_eq!(summary, convene::demo::NetworkSummary::default());
    convene::demo::load(&app.pool).await.expect("third load");
    let mut again = Vec::new();
    for sql in tables {
        again.push(count(&app, sql).await);
    }
    assert_eq!(first, again);

    let page = list(&app, "?limit=200", None).await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len() as i64, first[0]);
    let short_names: HashSet<&str> = items
        .iter()
        .filter_map(|o| o["short_name"].as_str())
        .collect();
    for expected in [
        "MOFA",
        "NIDS",
        "JICA",
        "JICA Ogata Research Institute",
        "IDE-JETRO",
        "JIIA",
        "JICS",
        "GPAJ",
        "SIIR",
        "APR2P",
        "AHC",
        "DFAT",
        "ASEAN",
    ] {
        assert!(
            short_names.contains(expected),
            "{expected} missing from the directory"
        );
    }
    let by_name = |name: &str| {
        items
            .iter()
            .find(|o| o["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing"))
            .clone()
    };
    assert_eq!(by_name("R2P Network of Japan")["kind"], "civil_society");
    assert_eq!(by_name("Australian Embassy in Tokyo")["country"], "AU");
    let asean = by_name("Association of Southeast Asian Nations");
    assert_eq!(asean["kind"], "regional_organization");
    assert!(asean["country"].is_null());
    assert_eq!(
        by_name("Ministry of Foreign Affairs of Japan")["country"],
        "JP"
    );

    // Focal points from the seed: Ms. Sato for MOFA.
    let admin = app.user("admin").await;
    let mofa = by_name("Ministry of Foreign Affairs of Japan");
    let people = expect_json(
        app.get(
            &format!("/organizations/{}/people", id_of(&mofa)),
            admin.token(),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(people["items"][0]["email"], "sato@example.org");
    assert_eq!(people["items"][0]["focal_point"], true);
}

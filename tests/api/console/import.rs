//! Importing organisations from a CSV file in the console: every problem of every line in one
//! answer, a preview of what would be created, nothing written before the admin commits.

use reqwest::StatusCode;

use super::{field_value, location, Visitor};
use crate::support::fixtures as fx;
use crate::support::TestApp;

const IMPORT: &str = "/manage/organizations/import";

/// A file with two problems on one line, one on another, and a name already taken.
const BAD: &str =
    "name,short_name,kind,country,website,status,focal_point_email,focal_point_name\n\
Japan Forum on R2P,JFR,think_tank,JP,https://r2p.example.jp,,,\n\
Osaka Peace Institute,,club,ZZ,,,,\n\
Waseda University,,academia,JP,,,,\n\
Hiroshima Centre,,academia,JP,,,new.person@example.org,\n";

const GOOD: &str =
    "name,short_name,kind,country,website,status,focal_point_email,focal_point_name\n\
Japan Forum on R2P,JFR,think_tank,JP,https://r2p.example.jp,,,\n\
Osaka Peace Institute,,civil_society,JP,,,,\n\
Hiroshima Centre,,academia,JP,,applicant,new.person@example.org,Aiko Mori\n";

async fn organisations(app: &TestApp) -> i64 {
    fx::count(app, "SELECT count(*) AS n FROM organizations").await
}

#[tokio::test]
async fn every_problem_is_listed_then_the_fixed_file_is_previewed_and_imported() {
    let app = TestApp::spawn().await;
    fx::organization(&app, "Waseda University", "academia", Some("JP"), "active").await;
    let admin = app.user("admin").await;
    let visitor = Visitor::new(&app);
    visitor.sign_in(&admin.email).await;
    let (page, token) = visitor.page(IMPORT).await;
    assert!(page.contains("enctype=\"multipart/form-data\""));
    assert!(page.contains("<label for=\"file\">CSV file</label>"));
    let before = organisations(&app).await;

    let res = visitor
        .upload(
            IMPORT,
            &[("csrf_token", &token)],
            "file",
            "members.csv",
            BAD.as_bytes(),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = res.text().await.unwrap();
    assert!(
        body.contains("members.csv has 4 problems; nothing was imported."),
        "{body}"
    );
    for row in [
        "<tr><td class=\"nowrap\">3</td><td>kind</td>",
        "<tr><td class=\"nowrap\">3</td><td>country</td>",
        "<tr><td class=\"nowrap\">4</td><td>name</td>",
        "<tr><td class=\"nowrap\">5</td><td>focal_point_name</td>",
    ] {
        assert!(body.contains(row), "{row} in {body}");
    }
    assert!(body.contains("already exists"));
    assert_eq!(organisations(&app).await, before, "nothing imported");

    // No file chosen: said beside the field.
    let res = visitor
        .upload(IMPORT, &[("csrf_token", &token)], "file", "", b"")
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("id=\"file-error\""));

    // The corrected file: a preview, still nothing written.
    let res = visitor
        .upload(
            IMPORT,
            &[("csrf_token", &token)],
            "file",
            "members.csv",
            GOOD.as_bytes(),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let preview = res.text().await.unwrap();
    assert!(preview.contains("What members.csv would create"));
    assert!(
        preview.contains(
            "<td>Japan Forum on R2P (JFR)</td><td>think tank</td><td>Japan</td><td>active</td>"
        ),
        "{preview}"
    );
    assert!(preview.contains("Aiko Mori, new.person@example.org (someone new)"));
    assert!(preview.contains("Import 3 organisations"));
    assert_eq!(
        organisations(&app).await,
        before,
        "a preview writes nothing"
    );

    // The preview posts the file back; without the form token nothing happens.
    let csv = field_value(&preview, "csv").expect("the file in the form");
    assert_eq!(csv, GOOD);
    let commit = format!("{IMPORT}/commit");
    let res = visitor.post(&commit, &[("csv", &csv)]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(organisations(&app).await, before);
    let res = visitor
        .post(&commit, &[("csrf_token", &token), ("csv", &csv)])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/manage/organizations?done=imported");
    let (directory, _) = visitor.page(&location(&res)).await;
    assert!(directory.contains("The organisations of the file were imported."));
    assert_eq!(organisations(&app).await, before + 3);
    assert_eq!(
        fx::text(&app, "SELECT p.name AS v FROM affiliations a JOIN people p ON p.id = a.person_id JOIN organizations o ON o.id = a.organization_id WHERE o.name = 'Hiroshima Centre' AND a.focal_point").await.as_deref(),
        Some("Aiko Mori")
    );
    let (trail, _) = visitor.page("/manage/audit?action=import").await;
    assert_eq!(trail.matches(" from a CSV file.").count(), 3);

    // Committing the same file again: its names are taken now; explained, nothing written.
    let res = visitor
        .post(&commit, &[("csrf_token", &token), ("csv", &csv)])
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("has 3 problems; nothing was imported."));
    assert_eq!(organisations(&app).await, before + 3);
}

#[tokio::test]
async fn the_template_is_a_csv_file_the_import_accepts() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin").await;
    let visitor = Visitor::new(&app);
    visitor.sign_in(&admin.email).await;
    let res = visitor.get(&format!("{IMPORT}/template.csv")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()["content-type"].to_str().unwrap(),
        "text/csv; charset=utf-8"
    );
    assert!(res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let file = res.bytes().await.unwrap();
    assert!(file.starts_with(b"\xEF\xBB\xBFname,short_name,kind,country,website,status,focal_point_email,focal_point_name,focal_point_position\r\n"));
    let (_, token) = visitor.page(IMPORT).await;
    let res = visitor
        .upload(
            IMPORT,
            &[("csrf_token", &token)],
            "file",
            "organisations-template.csv",
            &file,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("Import 2 organisations"));
}

#[tokio::test]
async fn a_file_too_large_to_post_back_is_refused_on_the_page() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin").await;
    let visitor = Visitor::new(&app);
    visitor.sign_in(&admin.email).await;
    let (_, token) = visitor.page(IMPORT).await;
    let limit = app.settings.server.body_limit;
    for size in [limit / 3 + 1, limit + 1] {
        let mut file = b"name,kind\n".to_vec();
        file.resize(size, b'x');
        let res = visitor
            .upload(IMPORT, &[("csrf_token", &token)], "file", "big.csv", &file)
            .await;
        assert_eq!(
            res.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{size} bytes"
        );
        let body = res.text().await.unwrap();
        assert!(body.contains("id=\"file-error\""), "{body}");
        assert!(body.contains("The file is too large"));
    }
}

//! The CSV import: everything created with focal points, every problem of a line reported at
//! once, nothing changed when any row is bad.

use reqwest::StatusCode;

use crate::support::{expect_json, expect_problem, TestApp};

use super::*;

const GOOD_CSV: &str = "\
name,short_name,kind,country,website,status,focal_point_email,focal_point_name,focal_point_position
Ministry of Foreign Affairs of Japan,MOFA,government,JP,https://www.mofa.go.jp/,,sato@example.org,Yuko Sato,Deputy Director
National Institute for Defense Studies,NIDS,think_tank,jp,https://www.nids.mod.go.jp/,active,,,
Association of Southeast Asian Nations,ASEAN,regional_organization,,https://asean.org/,,
\"Institute for Asia Human Community, Waseda University\",AHC,academia,JP,,applicant,kato@example.org,Rina Kato,Research Associate
Old Member,,civil_society,AU,,withdrawn,,,
";

#[tokio::test]
async fn csv_import_creates_everything_with_focal_points() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin").await;
    let member = app.user("member").await;
    let organizer = app.user("organizer").await;

    expect_problem(
        import_csv(&app, None, GOOD_CSV).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    for user in [&member, &organizer] {
        expect_problem(
            import_csv(&app, user.token(), GOOD_CSV).await,
            StatusCode::FORBIDDEN,
            "admin_only",
        )
        .await;
    }
    let res = app
        .client
        .post(app.api("/organizations/import"))
        .bearer_auth(&admin.token)
        .header("content-type", "application/json")
        .body(GOOD_CSV)
        .send()
        .await
        .unwrap();
    expect_problem(
        res,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;

    let result = expect_json(
        import_csv(&app, admin.token(), GOOD_CSV).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(result["created"], 5);
    let orgs = result["organizations"].as_array().unwrap();
    assert_eq!(orgs[0]["short_name"], "MOFA");
    assert_eq!(orgs[0]["status"], "active");
    assert_eq!(orgs[1]["country"], "JP");
    assert!(orgs[2]["country"].is_null());
    assert_eq!(
        orgs[3]["name"],
        "Institute for Asia Human Community, Waseda University"
    );
    assert_eq!(orgs[3]["status"], "applicant");
    assert!(orgs[3]["joined_on"].is_null());
    assert_eq!(orgs[4]["status"], "withdrawn");

    assert_eq!(
        names(&list(&app, "", None).await),
        vec![
            "Association of Southeast Asian Nations",
            "Ministry of Foreign Affairs of Japan",
            "National Institute for Defense Studies"
        ]
    );
    let mofa_people = expect_json(
        app.get(
            &format!("/organizations/{}/people", id_of(&orgs[0])),
            admin.token(),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(mofa_people["items"][0]["email"], "sato@example.org");
    assert_eq!(mofa_people["items"][0]["focal_point"], true);
    assert_eq!(mofa_people["items"][0]["position"], "Deputy Director");

    // One audit entry per organisation, action `import`.
    let entries = audit(&app, &admin, "?action=import").await;
    assert_eq!(entries.len(), 5);
    let mofa_entries = audit(
        &app,
        &admin,
        &format!("?target=organization:{}", id_of(&orgs[0])),
    )
    .await;
    assert_eq!(mofa_entries.len(), 1);
    assert_eq!(mofa_entries[0]["action"], "import");
    assert_eq!(
        mofa_entries[0]["actor_account_id"],
        admin.account_id.as_str()
    );
    assert_eq!(
        mofa_entries[0]["after"]["focal_point"]["email"],
        "sato@example.org"
    );

    // The same file again: every live name is now taken, nothing is written.
    let again = expect_problem(
        import_csv(&app, admin.token(), GOOD_CSV).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(
        error_fields(&again),
        vec![
            "line[2].name",
            "line[3].name",
            "line[4].name",
            "line[5].name"
        ]
    );
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM organizations").await,
        5
    );

    // An existing person named as focal point needs no name in the file.
    let res = import_csv(
        &app,
        admin.token(),
        "name,kind,country,focal_point_email\nSophia University,academia,JP,SATO@example.org\n",
    )
    .await;
    let result = expect_json(res, StatusCode::CREATED).await;
    assert_eq!(result["created"], 1);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM people WHERE email = 'sato@example.org'"
        )
        .await,
        1
    );
}

/// A line with several kinds of problem gets each named in the one answer: a bad field does
/// not hide that the same line's name is taken or repeated, or that its focal point is unknown.
#[tokio::test]
async fn a_csv_line_reports_every_kind_of_problem_at_once() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin").await;
    create(
        &app,
        &admin,
        org(
            "Japan Institute of International Affairs",
            "think_tank",
            Some("JP"),
        ),
    )
    .await;
    let file = "\
name,kind,country,focal_point_email
Japan Institute of International Affairs,club,ZZ,stranger@example.org
Waseda University,academia,JP,
waseda university,academia,XX,
Sophia University,academia,JP,,extra
";
    let problem = expect_problem(
        import_csv(&app, admin.token(), file).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(
        error_fields(&problem),
        vec![
            "line[2].kind",
            "line[2].country",
            "line[2].name",
            "line[2].focal_point_name",
            "line[4].country",
            "line[4].name",
            "line[5]",
        ],
        "{problem}"
    );
}

#[tokio::test]
async fn a_csv_file_with_any_bad_row_changes_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin").await;
    create(
        &app,
        &admin,
        org(
            "Japan Institute of International Affairs",
            "think_tank",
            Some("JP"),
        ),
    )
    .await;
    let before_orgs = count(&app, "SELECT count(*) AS n FROM organizations").await;
    let before_people = count(&app, "SELECT count(*) AS n FROM people").await;
    let before_audit = count(&app, "SELECT count(*) AS n FROM audit_entries").await;

    let bad = "\
name,short_name,kind,country,website,status,focal_point_email,focal_point_name,focal_point_position
Good One,G1,academia,JP,https://example.org/,,good@example.org,Good Person,Director
Nowhere Institute,,think_tank,,,,,,
Bad Country,,academia,ZZ,,,,,
Bad Kind,,club,JP,javascript:alert(1),pending,,,
good one,,academia,JP,,,,,
JAPAN INSTITUTE OF INTERNATIONAL AFFAIRS,JIIA,think_tank,JP,,,,,
Unknown Focal,,academia,JP,,,unknown@example.org,,
Bad Email,,academia,JP,,,not-an-email,Someone,
,,academia,JP,,,,,
Too,Many,academia,JP,,,,,,extra
";
    let problem = expect_problem(
        import_csv(&app, admin.token(), bad).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(
        error_fields(&problem),
        vec![
            "line[3].country",
            "line[4].country",
            "line[5].kind",
            "line[5].website",
            "line[5].status",
            "line[6].name",
            "line[7].name",
            "line[8].focal_point_name",
            "line[9].focal_point_email",
            "line[10].name",
            "line[11]",
        ],
        "{problem}"
    );
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM organizations").await,
        before_orgs
    );
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM people").await,
        before_people
    );
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM audit_entries").await,
        before_audit
    );

    // Once each row is well formed, the file is checked against itself and the database.
    let cross = "\
name,kind,country,focal_point_email
Good One,academia,JP,
good one,academia,JP,
JAPAN INSTITUTE OF INTERNATIONAL AFFAIRS,think_tank,JP,
Unknown Focal,academia,JP,unknown@example.org
";
    let problem = expect_problem(
        import_csv(&app, admin.token(), cross).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(
        error_fields(&problem),
        vec!["line[3].name", "line[4].name", "line[5].focal_point_name"],
        "{problem}"
    );
    let messages: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert!(messages[0].contains("line 2"), "{}", messages[0]);
    assert!(messages[1].contains("Japan Institute of International Affairs"));

    // Structural problems: unknown or missing columns, no rows, not UTF-8.
    let problem = expect_problem(
        import_csv(&app, admin.token(), "name,countyr\nX,JP\n").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(
        error_fields(&problem),
        vec!["line[1].countyr", "line[1].kind"]
    );
    let problem = expect_problem(
        import_csv(&app, admin.token(), "name,kind,country\n").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(error_fields(&problem), vec!["file"]);
    let res = app
        .client
        .post(app.api("/organizations/import"))
        .bearer_auth(&admin.token)
        .header("content-type", "text/csv")
        .body(b"name,kind,country\nMinist\xe8re,government,FR\n".to_vec())
        .send()
        .await
        .unwrap();
    let problem = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(error_fields(&problem), vec!["line[2]"]);
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM organizations").await,
        before_orgs
    );

    // Too large a body is refused before it is read.
    let huge = format!(
        "name,kind,country\n{}",
        "A Very Long Name,academia,JP\n".repeat(40_000)
    );
    let res = import_csv(&app, admin.token(), &huge).await;
    expect_problem(res, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
}

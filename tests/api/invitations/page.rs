//! The page behind the invitation link: it shows the offer and answers only on POST.

use convene::events::local_time::format_range;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::fixtures as fx;
use crate::support::TestApp;

use super::*;

#[tokio::test]
async fn the_invitation_page_shows_the_offer_and_answers_only_on_post() {
    let app = TestApp::spawn().await;
    let d = fx::dialogue(&app).await;
    invite(
        &app,
        &d,
        json!({
            "session_ids": d.closed,
            "invitees": [invitee("page@example.org", "Prof. <Page>"), invitee("nope@example.org", "Dr Nope")],
            "message": "Looking forward to <b>your</b> views.",
        }),
    )
    .await;
    let token = invitation_token(&app, "page@example.org").await;
    let page_url = app.url(&format!("/invitations/{token}"));

    // GET (twice, as a mail scanner might) shows the offer and changes nothing.
    for _ in 0..2 {
        let res = app.client.get(&page_url).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["referrer-policy"], "no-referrer");
        assert_eq!(res.headers()["cache-control"], "no-store");
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let html = res.text().await.unwrap();
        assert!(html.contains("Japan National Dialogue on R2P and Atrocities Prevention"));
        assert!(html.contains("Closed session I: R2P in Japan"));
        let local = format_range(
            d.starts[0],
            d.starts[0] + chrono::Duration::hours(2),
            &tokyo(),
        );
        assert!(html.contains(&local), "{local} missing");
        assert!(html.contains("The Chatham House rule"));
        assert!(html.contains("Prof. &lt;Page&gt;"), "escaped name");
        assert!(html.contains("Looking forward to &lt;b&gt;your&lt;/b&gt; views."));
        // The form posts back to the page's own address: the token is not in the HTML.
        assert!(html.contains("<form method=\"post\">"));
        assert!(!html.contains(&token), "the token is written into the page");
        assert!(html.contains(&format!("value=\"{}\"", d.closed[0])));
        assert!(html.contains("value=\"accept\"") && html.contains("value=\"decline\""));
    }
    assert_eq!(
        fx::text(&app, "SELECT i.status AS v FROM invitations i JOIN people p ON p.id = i.person_id WHERE p.email = 'page@example.org'").await.as_deref(),
        Some("pending")
    );

    // Accepting with no session ticked re-displays the form.
    let res = app
        .client
        .post(&page_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("response=accept")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Tick at least one session"));

    // Accept one session through the form.
    let res = app
        .client
        .post(&page_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("session_ids={}&response=accept", d.closed[1]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("You're registered") || html.contains("You&#x27;re registered"),
        "{html}"
    );
    assert!(html.contains("Closed session II: Early warning"));
    assert!(html.contains("Registered"));
    assert!(!html.contains("Closed session I: R2P in Japan"));
    assert_eq!(
        fx::count(
            &app,
            "SELECT count(*) AS n FROM registrations WHERE status = 'confirmed'"
        )
        .await,
        1
    );
    // Until the deadline a second POST changes the answer; GET shows it, with the form to
    // change it again.
    let res = app
        .client
        .post(&page_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("response=decline")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        fx::count(
            &app,
            "SELECT count(*) AS n FROM registrations WHERE status = 'confirmed'"
        )
        .await,
        0
    );
    let html = app
        .client
        .get(&page_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("You declined this invitation"));
    assert!(html.contains("You can change your answer until"));
    assert!(html.contains("<form"));
    // Past the deadline the answer is shown, with no form.
    app.sql(
        "UPDATE invitations SET expires_at = now() - interval '1 minute' \
         WHERE status = 'declined'",
    )
    .await;
    let html = app
        .client
        .get(&page_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("You declined this invitation"));
    assert!(!html.contains("<form"));

    // Declining through the form.
    let nope = invitation_token(&app, "nope@example.org").await;
    let res = app
        .client
        .post(app.url(&format!("/invitations/{nope}")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("session_ids={}&response=decline", d.closed[0]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("You declined"));

    // Unknown links get a friendly 404 page.
    let res = app
        .client
        .get(app.url("/invitations/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("This invitation link is not valid"));
}

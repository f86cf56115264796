use reqwest::Method;
use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

async fn bad_input_is_a_problem_never_a_500(app: TestApp) {
    let url = app.url("/v1/organizations");
    let send = |body: Vec<u8>, content_type: &'static str| {
        app.client
            .post(&url)
            .bearer_auth(&app.admin_token)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let as_reply = |res: reqwest::Response| async move {
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.json().await.unwrap_or_default();
        Reply {
            status,
            headers,
            body,
        }
    };

    let malformed = as_reply(
        send(b"{\"name\": ".to_vec(), "application/json")
            .await
            .unwrap(),
    )
    .await;
    assert_problem(&malformed, 400);
    let empty = as_reply(send(Vec::new(), "application/json").await.unwrap()).await;
    assert_problem(&empty, 400);
    let not_utf8 = as_reply(
        send(vec![b'"', 0xff, 0xfe, b'"'], "application/json")
            .await
            .unwrap(),
    )
    .await;
    assert_problem(&not_utf8, 400);
    let form = as_reply(
        send(b"name=x".to_vec(), "application/x-www-form-urlencoded")
            .await
            .unwrap(),
    )
    .await;
    assert_problem(&form, 415);
    let huge = as_reply(
        send(vec![b' '; 3 * 1024 * 1024], "application/json")
            .await
            .unwrap(),
    )
    .await;
    assert_problem(&huge, 413);
    let nested = as_reply(
        send(
            format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes(),
            "application/json",
        )
        .await
        .unwrap(),
    )
    .await;
    // Rejected at the first element (shape) or at serde_json's depth limit (syntax).
    let nested_status = nested.status.as_u16();
    assert!(
        nested_status == 400 || nested_status == 422,
        "{nested_status}"
    );
    assert_problem(&nested, nested_status);

    let unknown_field = app
        .post(
            "/v1/organizations",
            &app.admin_token,
            json!({"name": "x", "kind": "platform", "admin": true}),
        )
        .await;
    assert_invalid_field(&unknown_field, "admin");
    let wrong_type = app
        .post(
            "/v1/organizations",
            &app.admin_token,
            json!({"name": 7, "kind": "platform"}),
        )
        .await;
    assert_invalid_field(&wrong_type, "name");
    let missing = app
        .post(
            "/v1/organizations",
            &app.admin_token,
            json!({"kind": "platform"}),
        )
        .await;
    assert_invalid_field(&missing, "name");
    let duplicate_key = as_reply(
        send(
            br#"{"name":"a","name":"b","kind":"platform"}"#.to_vec(),
            "application/json",
        )
        .await
        .unwrap(),
    )
    .await;
    assert_invalid_field(&duplicate_key, "name");

    assert_problem(
        &app.get("/v1/organizations?limit=abc", &app.admin_token)
            .await,
        422,
    );
    assert_problem(
        &app.get("/v1/organizations?limit=0", &app.admin_token).await,
        422,
    );
    assert_problem(
        &app.get("/v1/organizations?cursor=%25%25", &app.admin_token)
            .await,
        422,
    );
    assert_problem(&app.get("/v1/no/such/route", &app.admin_token).await, 404);
    assert_problem(
        &app.call(
            Method::DELETE,
            "/v1/organizations",
            Some(&app.admin_token),
            None,
        )
        .await,
        404,
    );
    assert_problem(
        &app.get("/v1/users/..%2F..%2Fetc%2Fpasswd", &app.admin_token)
            .await,
        404,
    );
}
both_backends!(
    bad_input_is_a_problem_never_a_500,
    bad_input_is_a_problem_never_a_500
);

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
    // A known path with a method it does not have: 405 naming those it has
    // (issue 14; this was a 404 before).
    let delete = app
        .call(
            Method::DELETE,
            "/v1/organizations",
            Some(&app.admin_token),
            None,
        )
        .await;
    assert_problem(&delete, 405);
    assert_eq!(delete.headers["allow"], "GET, POST");
    for token in [None, Some(app.admin_token.as_str())] {
        let trace = app.call(Method::TRACE, "/v1/subjects", token, None).await;
        assert_problem(&trace, 405);
        assert_eq!(trace.headers["allow"], "GET, POST");
        let put = app
            .call(Method::PUT, "/v1/subjects/not-even-an-id", token, None)
            .await;
        assert_problem(&put, 405);
        assert_eq!(put.headers["allow"], "GET, PATCH");
        let unknown = app
            .call(Method::TRACE, "/v1/nothing/here", token, None)
            .await;
        assert_problem(&unknown, 404);
    }
    let head = app.call(Method::HEAD, "/v1/public/keys", None, None).await;
    assert_eq!(head.status, 405);
    assert_eq!(head.headers["allow"], "GET");
    // Not an id: 404 (a GET of that path is a 405 now, as users/{id} takes only PATCH).
    assert_problem(
        &app.patch(
            "/v1/users/..%2F..%2Fetc%2Fpasswd",
            &app.admin_token,
            json!({"disabled": true}),
        )
        .await,
        404,
    );
}
both_backends!(
    bad_input_is_a_problem_never_a_500,
    bad_input_is_a_problem_never_a_500
);

/// Issue 14's reproductions: each was a 500 on PostgreSQL (or stored a NUL on SQLite).
async fn nul_and_invalid_utf8_are_refused_by_name(app: TestApp) {
    let admin = app.admin_token.clone();
    let (_, auditor) = app.user_with_role("auditor").await;
    let (_, regulator) = app.user_with_role("regulator").await;
    let (_, platform) = app.user_with_role("platform").await;
    let anonymous = |path: &str| app.call(Method::GET, path.to_owned(), None, None);

    for (path, field) in [
        ("/v1/public/blacklist?q=%00", "q"),
        ("/v1/public/blacklist?q=%C0%AF", "q"),
        ("/v1/public/blacklist?q=a%1Fb", "q"),
        ("/v1/public/blacklist?cursor=AAAA", "cursor"),
        ("/v1/public/blacklist?cursor=%00", "cursor"),
        ("/v1/public/changes?cursor=AAAA", "cursor"),
        ("/v1/public/blacklist?kind=%00", "kind"),
    ] {
        assert_invalid_field(&anonymous(path).await, field);
    }
    for (path, field) in [
        ("/v1/subjects?q=%00", "q"),
        ("/v1/subjects?cursor=AAAA", "cursor"),
        ("/v1/listings?subject_id=%00", "subject_id"),
        ("/v1/listings?subject_id=nope", "subject_id"),
    ] {
        assert_invalid_field(&app.get(path, &regulator).await, field);
    }
    for (path, field) in [
        ("/v1/audit?target_id=%00", "target_id"),
        ("/v1/audit?actor=%C0%AF", "actor"),
        ("/v1/audit?actor=someone", "actor"),
        ("/v1/audit?cursor=AAAA", "cursor"),
    ] {
        assert_invalid_field(&app.get(path, &auditor).await, field);
    }
    assert_invalid_field(&app.get("/v1/users?cursor=AAAA", &admin).await, "cursor");
    assert_invalid_field(
        &app.get("/v1/events?cursor=AAAA", &platform).await,
        "cursor",
    );

    // Ids in paths that cannot exist: 404 without asking the database.
    for path in [
        "/v1/subjects/%00",
        "/v1/listings/%00",
        "/v1/violations/%00",
        "/v1/subjects/%C0%AF/score",
        "/v1/listings/0193a5b0-7e1f-7000-8000-00000000000g",
    ] {
        assert_problem(&app.get(path, &regulator).await, 404);
    }
    assert_eq!(anonymous("/entries/%00").await.status, 404);

    // An empty optional parameter is absent.
    for path in [
        "/v1/public/blacklist?cursor=&q=&kind=",
        "/v1/public/changes?cursor=&limit=",
    ] {
        assert_eq!(anonymous(path).await.status, 200, "{path}");
    }
    assert_eq!(
        app.get("/v1/audit?action=&actor=&cursor=", &auditor)
            .await
            .status,
        200
    );

    // JSON bodies: a control character in any string is a 422 naming the field.
    let nul = "o\u{0}";
    let login = app
        .call(
            Method::POST,
            "/v1/auth/login",
            None,
            Some(json!({"email": nul, "password": "whatever it is"})),
        )
        .await;
    assert_invalid_field(&login, "email");
    let org = app
        .post(
            "/v1/organizations",
            &admin,
            json!({"name": nul, "kind": "platform"}),
        )
        .await;
    assert_invalid_field(&org, "name");
    let org_id = app.create_org("issue 14 org", "platform").await;
    let user = app
        .post(
            "/v1/users",
            &admin,
            json!({"email": "nul@livecredit.test", "password": PASSWORD, "role": "platform",
                "organization_id": org_id, "display_name": nul}),
        )
        .await;
    assert_invalid_field(&user, "display_name");
    let subject = app
        .create_subject(&regulator, json!({"kind": "anchor", "name": "王五"}))
        .await;
    let watch = app
        .post(
            "/v1/watchlist",
            &platform,
            json!({"subject_id": subject, "external_ref": "ref\u{7}"}),
        )
        .await;
    assert_invalid_field(&watch, "external_ref");
    let nested = app
        .post(
            "/v1/subjects",
            &regulator,
            json!({"kind": "anchor", "name": "赵六", "accounts": [{"platform": "douyin", "handle": "\u{85}x"}]}),
        )
        .await;
    assert_invalid_field(&nested, "accounts[0].handle");

    // No message quotes an ID number sent with the wrong type.
    let number = app
        .post(
            "/v1/subjects",
            &regulator,
            json!({"kind": "anchor", "name": "钱七", "id_number": 110105199001011239_u64}),
        )
        .await;
    assert_invalid_field(&number, "id_number");
    assert!(
        !number.body.to_string().contains("11010519900101"),
        "{}",
        number.body
    );
}
both_backends!(
    nul_and_invalid_utf8_are_refused_by_name,
    nul_and_invalid_utf8_are_refused_by_name
);

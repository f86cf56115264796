use reqwest::Method;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;

async fn login_returns_a_token_pair(app: TestApp) {
    let body = app.login(ADMIN_EMAIL, PASSWORD).await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert!(body["refresh_token"].as_str().unwrap().len() >= 40);
    assert_eq!(body["user"]["email"], ADMIN_EMAIL);
    assert_eq!(body["user"]["role"], "admin");
    assert!(body["user"]["organization_id"].is_string());
    // The e-mail is matched without regard to case or surrounding spaces.
    app.login(&format!("  {}  ", ADMIN_EMAIL.to_uppercase()), PASSWORD)
        .await;
    let me = app
        .get("/v1/me", body["access_token"].as_str().unwrap())
        .await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["id"], body["user"]["id"]);
    assert!(me.body.get("password_hash").is_none());
}
both_backends!(login_returns_a_token_pair, login_returns_a_token_pair);

async fn unknown_email_and_wrong_password_look_the_same(app: TestApp) {
    let wrong_password = app.try_login(ADMIN_EMAIL, "not the password at all").await;
    let unknown = app.try_login("nobody@livecredit.test", PASSWORD).await;
    assert_problem(&wrong_password, 401);
    assert_problem(&unknown, 401);
    assert_eq!(wrong_password.body, unknown.body);
}
both_backends!(
    unknown_email_and_wrong_password_look_the_same,
    unknown_email_and_wrong_password_look_the_same
);

async fn repeated_failures_are_throttled(app: TestApp) {
    for _ in 0..5 {
        assert_problem(
            &app.try_login(ADMIN_EMAIL, "wrong password guess").await,
            401,
        );
    }
    let throttled = app.try_login(ADMIN_EMAIL, "wrong password guess").await;
    assert_problem(&throttled, 429);
    let retry: u64 = throttled.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 900);
    // Throttled means throttled: even the right password waits.
    assert_problem(&app.try_login(ADMIN_EMAIL, PASSWORD).await, 429);
}
both_backends!(
    repeated_failures_are_throttled,
    repeated_failures_are_throttled
);

async fn failures_from_one_address_are_throttled_across_accounts(app: TestApp) {
    for i in 0..20 {
        let r = app
            .try_login(&format!("guess{i}@livecredit.test"), "wrong password guess")
            .await;
        assert_problem(&r, 401);
    }
    assert_problem(
        &app.try_login("another@livecredit.test", "wrong password guess")
            .await,
        429,
    );
}
both_backends!(
    failures_from_one_address_are_throttled_across_accounts,
    failures_from_one_address_are_throttled_across_accounts
);

async fn refresh_rotates_and_reuse_revokes_the_family(app: TestApp) {
    let first = app.login(ADMIN_EMAIL, PASSWORD).await;
    let r1 = first["refresh_token"].as_str().unwrap();
    let second = app
        .call(
            Method::POST,
            "/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": r1})),
        )
        .await;
    assert_eq!(second.status, 200, "{:?}", second.body);
    let r2 = second.body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2);
    assert_eq!(
        app.get("/v1/me", second.body["access_token"].as_str().unwrap())
            .await
            .status,
        200
    );

    // The spent token is refused, and its reuse ends the whole family: r2 too.
    let reuse = app
        .call(
            Method::POST,
            "/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": r1})),
        )
        .await;
    assert_problem(&reuse, 401);
    let after = app
        .call(
            Method::POST,
            "/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": r2})),
        )
        .await;
    assert_problem(&after, 401);

    // Another login's family is untouched.
    let other = app.login(ADMIN_EMAIL, PASSWORD).await;
    let ok = app
        .call(
            Method::POST,
            "/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": other["refresh_token"]})),
        )
        .await;
    assert_eq!(ok.status, 200);
    let garbage = app
        .call(
            Method::POST,
            "/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": "nope"})),
        )
        .await;
    assert_problem(&garbage, 401);
}
both_backends!(
    refresh_rotates_and_reuse_revokes_the_family,
    refresh_rotates_and_reuse_revokes_the_family
);

async fn logout_ends_the_refresh_token(app: TestApp) {
    let pair = app.login(ADMIN_EMAIL, PASSWORD).await;
    let access = pair["access_token"].as_str().unwrap();
    let refresh = pair["refresh_token"].clone();
    let out = app
        .call(
            Method::POST,
            "/v1/auth/logout",
            Some(access),
            Some(json!({"refresh_token": refresh})),
        )
        .await;
    assert_eq!(out.status, 204);
    let again = app
        .call(
            Method::POST,
            "/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": refresh})),
        )
        .await;
    assert_problem(&again, 401);
    let anonymous = app
        .call(
            Method::POST,
            "/v1/auth/logout",
            None,
            Some(json!({"refresh_token": "x"})),
        )
        .await;
    assert_problem(&anonymous, 401);
}
both_backends!(logout_ends_the_refresh_token, logout_ends_the_refresh_token);

async fn disabling_a_user_ends_their_tokens_at_once(app: TestApp) {
    let (id, token) = app.user_with_role("regulator").await;
    assert_eq!(app.get("/v1/me", &token).await.status, 200);
    let r = app
        .patch(
            &format!("/v1/users/{id}"),
            &app.admin_token,
            json!({"disabled": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["disabled"], true);
    assert_problem(&app.get("/v1/me", &token).await, 401);
    let email = r.body["email"].as_str().unwrap();
    assert_problem(&app.try_login(email, PASSWORD).await, 401);
    // Enabled again, they may log in again.
    let r = app
        .patch(
            &format!("/v1/users/{id}"),
            &app.admin_token,
            json!({"disabled": false}),
        )
        .await;
    assert_eq!(r.status, 200);
    app.login(email, PASSWORD).await;
}
both_backends!(
    disabling_a_user_ends_their_tokens_at_once,
    disabling_a_user_ends_their_tokens_at_once
);

async fn a_role_change_ends_old_tokens(app: TestApp) {
    let (id, token) = app.user_with_role("regulator").await;
    let pair_refresh = {
        let me = app.get("/v1/me", &token).await;
        app.login(me.body["email"].as_str().unwrap(), PASSWORD)
            .await["refresh_token"]
            .clone()
    };
    let r = app
        .patch(
            &format!("/v1/users/{id}"),
            &app.admin_token,
            json!({"role": "auditor"}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["role"], "auditor");
    assert_problem(&app.get("/v1/me", &token).await, 401);
    let refresh = app
        .call(
            Method::POST,
            "/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": pair_refresh})),
        )
        .await;
    assert_problem(&refresh, 401);
    // A regulator cannot become a platform user of a regulator organization.
    let r = app
        .patch(
            &format!("/v1/users/{id}"),
            &app.admin_token,
            json!({"role": "platform"}),
        )
        .await;
    assert_invalid_field(&r, "role");
}
both_backends!(a_role_change_ends_old_tokens, a_role_change_ends_old_tokens);

/// Sets `change` on user `id` as the admin; returns the user as answered.
async fn change_user(app: &TestApp, id: &str, change: Value) -> Value {
    let r = app
        .patch(&format!("/v1/users/{id}"), &app.admin_token, change)
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body
}

async fn refresh_with(app: &TestApp, refresh_token: &Value) -> Reply {
    app.call(
        Method::POST,
        "/v1/auth/refresh",
        None,
        Some(json!({"refresh_token": refresh_token})),
    )
    .await
}

/// Disabling moves the token epoch on: enabling again does not bring the
/// old tokens back; only a new login does.
async fn an_undone_disabling_leaves_old_tokens_dead(app: TestApp) {
    let (id, token) = app.user_with_role("platform").await;
    let email = app.get("/v1/me", &token).await.body["email"]
        .as_str()
        .unwrap()
        .to_owned();
    let old_refresh = app.login(&email, PASSWORD).await["refresh_token"].clone();
    // A change that changes nothing ends nothing.
    change_user(&app, &id, json!({"disabled": false})).await;
    assert_eq!(app.get("/v1/me", &token).await.status, 200);

    change_user(&app, &id, json!({"disabled": true})).await;
    assert_problem(&app.get("/v1/me", &token).await, 401);
    change_user(&app, &id, json!({"disabled": false})).await;
    assert_problem(&app.get("/v1/me", &token).await, 401);
    assert_problem(&app.get("/v1/screenings", &token).await, 401);
    assert_problem(&refresh_with(&app, &old_refresh).await, 401);

    let fresh = app.login(&email, PASSWORD).await;
    let new_token = fresh["access_token"].as_str().unwrap();
    assert_eq!(app.get("/v1/me", new_token).await.status, 200);
    assert_eq!(app.get("/v1/screenings", new_token).await.status, 200);
    assert_eq!(
        refresh_with(&app, &fresh["refresh_token"]).await.status,
        200
    );
    // The old one stays dead beside the new one.
    assert_problem(&app.get("/v1/me", &token).await, 401);
}
both_backends!(
    an_undone_disabling_leaves_old_tokens_dead,
    an_undone_disabling_leaves_old_tokens_dead
);

/// A role changed and changed back: tokens of the first time stay dead.
async fn an_undone_role_change_leaves_old_tokens_dead(app: TestApp) {
    let (id, token) = app.user_with_role("regulator").await;
    let email = app.get("/v1/me", &token).await.body["email"]
        .as_str()
        .unwrap()
        .to_owned();
    let old_refresh = app.login(&email, PASSWORD).await["refresh_token"].clone();
    assert_eq!(app.get("/v1/subjects", &token).await.status, 200);

    let changed = change_user(&app, &id, json!({"role": "auditor"})).await;
    assert_eq!(changed["role"], "auditor");
    let as_auditor = app.login(&email, PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(app.get("/v1/audit/verify", &as_auditor).await.status, 200);

    let back = change_user(&app, &id, json!({"role": "regulator"})).await;
    assert_eq!(back["role"], "regulator");
    // Role and organization match the first token again; its epoch does not.
    assert_problem(&app.get("/v1/me", &token).await, 401);
    assert_problem(&app.get("/v1/subjects", &token).await, 401);
    assert_problem(&app.get("/v1/me", &as_auditor).await, 401);
    assert_problem(&refresh_with(&app, &old_refresh).await, 401);

    let fresh = app.login(&email, PASSWORD).await;
    assert_eq!(fresh["user"]["role"], "regulator");
    let new_token = fresh["access_token"].as_str().unwrap();
    assert_eq!(app.get("/v1/subjects", new_token).await.status, 200);
}
both_backends!(
    an_undone_role_change_leaves_old_tokens_dead,
    an_undone_role_change_leaves_old_tokens_dead
);

async fn forged_and_malformed_tokens_are_refused(app: TestApp) {
    for token in ["", "garbage", "a.b.c", &format!("{}x", app.admin_token)] {
        assert_problem(&app.get("/v1/me", token).await, 401);
    }
    let no_scheme = app
        .client
        .get(app.url("/v1/me"))
        .header("authorization", &app.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(no_scheme.status(), 401);
    assert_eq!(no_scheme.headers()["www-authenticate"], "Bearer");
}
both_backends!(
    forged_and_malformed_tokens_are_refused,
    forged_and_malformed_tokens_are_refused
);

/// Behind a trusted proxy, addresses come from X-Forwarded-For: one client's
/// failures do not lock out everyone behind the same proxy.
#[actix_web::test]
async fn a_trusted_proxy_passes_the_client_address() {
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]
    })
    .await
    .unwrap();
    let attempt = |forwarded: &'static str, email: String| {
        app.client
            .post(app.url("/v1/auth/login"))
            .header("x-forwarded-for", forwarded)
            .json(&json!({"email": email, "password": "wrong password guess"}))
            .send()
    };
    for i in 0..20 {
        assert_eq!(
            attempt("203.0.113.7", format!("guess{i}@livecredit.test"))
                .await
                .unwrap()
                .status(),
            401
        );
    }
    assert_eq!(
        attempt("203.0.113.7", "more@livecredit.test".into())
            .await
            .unwrap()
            .status(),
        429
    );
    // Another client behind the same proxy is not throttled; a forged first entry does not help the attacker.
    assert_eq!(
        attempt("203.0.113.8", "other@livecredit.test".into())
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        attempt("198.51.100.1, 203.0.113.7", "forged@livecredit.test".into())
            .await
            .unwrap()
            .status(),
        429
    );
}

use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

async fn admins_create_and_list_organizations(app: TestApp) {
    let r = app
        .post(
            "/v1/organizations",
            &app.admin_token,
            json!({"name": "杭州市市场监督管理局", "kind": "regulator", "region_code": "330100"}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(r.body["kind"], "regulator");
    assert_eq!(r.body["region_code"], "330100");

    let dup = app
        .post(
            "/v1/organizations",
            &app.admin_token,
            json!({"name": "杭州市市场监督管理局", "kind": "platform"}),
        )
        .await;
    assert_problem(&dup, 409);
    assert_eq!(dup.body["existing_organization_id"], id.as_str());

    let bad = app
        .post(
            "/v1/organizations",
            &app.admin_token,
            json!({"name": " ", "kind": "regulator", "region_code": "33"}),
        )
        .await;
    assert_invalid_field(&bad, "name");
    assert_invalid_field(&bad, "region_code");
    let bad_kind = app
        .post(
            "/v1/organizations",
            &app.admin_token,
            json!({"name": "x", "kind": "bank"}),
        )
        .await;
    assert_invalid_field(&bad_kind, "kind");

    for i in 0..4 {
        app.create_org(&format!("平台 {i}"), "platform").await;
    }
    // 6 organizations with the system one; pages of 4 then 2.
    let page1 = app.get("/v1/organizations?limit=4", &app.admin_token).await;
    assert_eq!(page1.status, 200);
    assert_eq!(page1.body["items"].as_array().unwrap().len(), 4);
    let cursor = page1.body["next_cursor"].as_str().unwrap();
    let page2 = app
        .get(
            &format!("/v1/organizations?limit=4&cursor={cursor}"),
            &app.admin_token,
        )
        .await;
    assert_eq!(page2.body["items"].as_array().unwrap().len(), 2);
    assert!(page2.body["next_cursor"].is_null());
    let all: Vec<_> = page1.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(page2.body["items"].as_array().unwrap())
        .map(|o| o["id"].clone())
        .collect();
    let mut unique = all.clone();
    unique.dedup();
    assert_eq!(all.len(), 6);
    assert_eq!(unique.len(), 6);
}
both_backends!(
    admins_create_and_list_organizations,
    admins_create_and_list_organizations
);

async fn admins_create_users_under_the_rules(app: TestApp) {
    let regulators = app.create_org("Regulators", "regulator").await;
    let platform = app.create_org("Platform", "platform").await;
    let create = |body: serde_json::Value| app.post("/v1/users", &app.admin_token, body);

    let r = create(
        json!({"email": "Li.Na@SAMR.gov.cn", "password": PASSWORD, "role": "regulator",
        "organization_id": regulators, "display_name": "李娜"}),
    )
    .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["email"], "li.na@samr.gov.cn");
    assert_eq!(r.body["display_name"], "李娜");
    assert_eq!(r.body["disabled"], false);
    assert!(r.body.get("password").is_none() && r.body.get("password_hash").is_none());
    let id = r.body["id"].as_str().unwrap().to_owned();
    app.login("li.na@samr.gov.cn", PASSWORD).await;

    let dup = create(json!({"email": "li.na@samr.gov.cn", "password": PASSWORD, "role": "regulator", "organization_id": regulators})).await;
    assert_problem(&dup, 409);
    assert_eq!(dup.body["existing_user_id"], id.as_str());

    let short = create(json!({"email": "a@b.cn", "password": "short", "role": "regulator", "organization_id": regulators})).await;
    assert_invalid_field(&short, "password");
    let bad_email = create(json!({"email": "not-an-email", "password": PASSWORD, "role": "regulator", "organization_id": regulators})).await;
    assert_invalid_field(&bad_email, "email");
    let bad_role = create(json!({"email": "x@b.cn", "password": PASSWORD, "role": "root", "organization_id": regulators})).await;
    assert_invalid_field(&bad_role, "role");
    let wrong_kind = create(json!({"email": "x@b.cn", "password": PASSWORD, "role": "platform", "organization_id": regulators})).await;
    assert_invalid_field(&wrong_kind, "role");
    let no_org = create(json!({"email": "x@b.cn", "password": PASSWORD, "role": "platform", "organization_id": "nope"})).await;
    assert_invalid_field(&no_org, "organization_id");
    let ok = create(json!({"email": "ops@platform.cn", "password": PASSWORD, "role": "platform", "organization_id": platform})).await;
    assert_eq!(ok.status, 201);

    let list = app.get("/v1/users?limit=500", &app.admin_token).await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 3);
    assert!(list.body["next_cursor"].is_null());

    let missing = app
        .patch(
            "/v1/users/does-not-exist",
            &app.admin_token,
            json!({"disabled": true}),
        )
        .await;
    assert_problem(&missing, 404);
    let empty = app
        .patch(&format!("/v1/users/{id}"), &app.admin_token, json!({}))
        .await;
    assert_problem(&empty, 422);
    let admin_id = app.get("/v1/me", &app.admin_token).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let self_disable = app
        .patch(
            &format!("/v1/users/{admin_id}"),
            &app.admin_token,
            json!({"disabled": true}),
        )
        .await;
    assert_problem(&self_disable, 409);
}
both_backends!(
    admins_create_users_under_the_rules,
    admins_create_users_under_the_rules
);

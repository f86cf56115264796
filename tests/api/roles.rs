//! Every route of the app against every role and no token. A route missing
//! from `RULES` fails the suite: each new route must state who may call it.

use reqwest::Method;
use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

#[derive(Clone, Copy, Debug)]
enum Access {
    /// No token needed.
    Public,
    /// Any signed-in user.
    Anyone,
    /// Only these roles.
    Roles(&'static [&'static str]),
}
use Access::*;

const ADMIN: &[&str] = &["admin"];
const REGULATOR: &[&str] = &["regulator"];
const READERS: &[&str] = &["admin", "regulator", "auditor"];
const AUDIT: &[&str] = &["admin", "auditor"];
/// Admins and auditors read everything (CONTRACT §4).
const OVERSEERS: &[&str] = &["admin", "auditor"];
const PLATFORM: &[&str] = &["platform"];
/// Platforms' records: a platform its own, admins and auditors every platform's.
const PLATFORM_RECORDS: &[&str] = &["admin", "platform", "auditor"];

const RULES: &[(&str, &str, Access)] = &[
    ("get", "/healthz", Public),
    ("get", "/readyz", Public),
    ("get", "/metrics", Public),
    ("post", "/v1/auth/login", Public),
    ("post", "/v1/auth/refresh", Public),
    ("post", "/v1/auth/logout", Anyone),
    ("get", "/v1/me", Anyone),
    ("post", "/v1/organizations", Roles(ADMIN)),
    ("get", "/v1/organizations", Roles(OVERSEERS)),
    ("get", "/v1/organizations/{id}", Roles(READERS)),
    ("post", "/v1/users", Roles(ADMIN)),
    ("get", "/v1/users", Roles(OVERSEERS)),
    ("patch", "/v1/users/{id}", Roles(ADMIN)),
    ("post", "/v1/subjects", Roles(REGULATOR)),
    ("get", "/v1/subjects", Roles(READERS)),
    ("get", "/v1/subjects/{id}", Roles(READERS)),
    ("patch", "/v1/subjects/{id}", Roles(REGULATOR)),
    ("post", "/v1/subjects/{id}/identifiers", Roles(REGULATOR)),
    ("post", "/v1/subjects/{id}/relations", Roles(REGULATOR)),
    ("get", "/v1/subjects/{id}/relations", Roles(READERS)),
    (
        "delete",
        "/v1/subjects/{id}/relations/{relation_id}",
        Roles(REGULATOR),
    ),
    ("post", "/v1/subjects/{id}/violations", Roles(REGULATOR)),
    ("get", "/v1/subjects/{id}/violations", Roles(READERS)),
    ("get", "/v1/violations/{id}", Roles(READERS)),
    ("post", "/v1/violations/{id}/revoke", Roles(REGULATOR)),
    ("post", "/v1/violations/{id}/decide", Roles(REGULATOR)),
    ("get", "/v1/subjects/{id}/score", Roles(READERS)),
    ("post", "/v1/listings", Roles(REGULATOR)),
    ("get", "/v1/listings", Roles(READERS)),
    ("get", "/v1/listings/{id}", Roles(READERS)),
    ("post", "/v1/listings/{id}/notice", Roles(REGULATOR)),
    ("post", "/v1/listings/{id}/objections", Roles(REGULATOR)),
    ("post", "/v1/listings/{id}/decision", Roles(REGULATOR)),
    ("post", "/v1/listings/{id}/hearing", Roles(REGULATOR)),
    (
        "post",
        "/v1/listings/{id}/hearing/withdrawal",
        Roles(REGULATOR),
    ),
    ("post", "/v1/listings/{id}/consent", Roles(REGULATOR)),
    ("get", "/v1/listings/{id}/documents/{kind}", Roles(READERS)),
    ("get", "/v1/review-flags", Roles(READERS)),
    ("post", "/v1/review-flags/{id}/clear", Roles(REGULATOR)),
    ("post", "/v1/review-flags/{id}/conversion", Roles(REGULATOR)),
    ("get", "/v1/reference/listing-grounds", Public),
    ("get", "/v1/reference/measures", Public),
    ("post", "/v1/listings/{id}/repairs", Roles(REGULATOR)),
    ("get", "/v1/repairs", Roles(READERS)),
    ("get", "/v1/repairs/{id}", Roles(READERS)),
    ("post", "/v1/repairs/{id}/acceptance", Roles(REGULATOR)),
    ("post", "/v1/repairs/{id}/supplement", Roles(REGULATOR)),
    ("post", "/v1/repairs/{id}/decision", Roles(REGULATOR)),
    ("post", "/v1/repairs/{id}/extension", Roles(REGULATOR)),
    ("get", "/v1/repairs/{id}/documents/decision", Roles(READERS)),
    ("post", "/v1/listings/{id}/access-code", Roles(REGULATOR)),
    ("post", "/v1/portal/session", Public),
    ("post", "/v1/evidence", Roles(REGULATOR)),
    ("get", "/v1/evidence/{id}", Roles(READERS)),
    ("post", "/v1/listings/{id}/reinstate", Roles(REGULATOR)),
    ("post", "/v1/listings/{id}/revoke", Roles(REGULATOR)),
    ("get", "/v1/public/blacklist", Public),
    ("get", "/v1/public/blacklist/export", Public),
    ("get", "/v1/public/snapshot", Public),
    ("get", "/v1/public/keys", Public),
    ("get", "/v1/public/changes", Public),
    ("post", "/v1/screening", Roles(PLATFORM)),
    ("post", "/v1/screening/batch", Roles(PLATFORM)),
    ("get", "/v1/screenings", Roles(PLATFORM_RECORDS)),
    ("get", "/v1/screenings/{id}", Roles(PLATFORM_RECORDS)),
    ("post", "/v1/watchlist", Roles(PLATFORM)),
    ("get", "/v1/watchlist", Roles(PLATFORM_RECORDS)),
    ("delete", "/v1/watchlist/{id}", Roles(PLATFORM)),
    ("get", "/v1/events", Roles(PLATFORM_RECORDS)),
    ("post", "/v1/webhooks", Roles(PLATFORM)),
    ("get", "/v1/webhooks", Roles(PLATFORM_RECORDS)),
    ("delete", "/v1/webhooks/{id}", Roles(PLATFORM)),
    (
        "get",
        "/v1/webhooks/{id}/deliveries",
        Roles(PLATFORM_RECORDS),
    ),
    ("get", "/v1/audit", Roles(AUDIT)),
    ("get", "/v1/audit/verify", Roles(AUDIT)),
];

const ROLES: [&str; 4] = ["admin", "regulator", "platform", "auditor"];

fn operations() -> Vec<(String, String)> {
    let spec: serde_json::Value = serde_json::from_str(&livecredit::api::openapi_json()).unwrap();
    let mut ops = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            ops.push((method.clone(), path.clone()));
        }
    }
    ops
}

#[test]
fn every_route_has_an_access_rule() {
    for (method, path) in operations() {
        assert!(
            RULES.iter().any(|(m, p, _)| *m == method && *p == path),
            "{method} {path} has no rule in tests/api/roles.rs"
        );
    }
}

async fn every_route_enforces_its_roles(app: TestApp) {
    let mut tokens = vec![("admin", app.admin_token.clone())];
    for role in &ROLES[1..] {
        tokens.push((role, app.user_with_role(role).await.1));
    }
    for (method, path) in operations() {
        let (_, _, access) = RULES
            .iter()
            .find(|(m, p, _)| *m == method && *p == path)
            .copied()
            .unwrap();
        let concrete = path.replace("{id}", "00000000-0000-7000-8000-000000000000");
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let body = (method != Method::GET && method != Method::DELETE).then(|| json!({}));
        let anonymous = app
            .call(method.clone(), &concrete, None, body.clone())
            .await;
        assert!(
            anonymous.status.as_u16() < 500,
            "{method} {path} anonymous: {}",
            anonymous.status
        );
        if !matches!(access, Public) {
            assert_eq!(anonymous.status, 401, "{method} {path} without a token");
        }
        for (role, token) in &tokens {
            let reply = app
                .call(method.clone(), &concrete, Some(token), body.clone())
                .await;
            let status = reply.status.as_u16();
            assert!(status < 500, "{method} {path} as {role}: {status}");
            let allowed = match access {
                Public | Anyone => true,
                Roles(roles) => roles.contains(role),
            };
            if allowed {
                assert!(
                    status != 401 && status != 403,
                    "{method} {path} as {role}: {status} {:?}",
                    reply.body
                );
            } else {
                assert_eq!(status, 403, "{method} {path} as {role}");
                assert_problem(&reply, 403);
            }
        }
    }
}
both_backends!(
    every_route_enforces_its_roles,
    every_route_enforces_its_roles
);

//! Attacks, on purpose: forged and tampered tokens, injection strings,
//! traversal, cross-origin reads.

use base64::Engine;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;

const SECRET: &[u8] = b"test-jwt-secret-of-at-least-32-bytes!";

fn b64(value: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
}

async fn forged_tokens_are_refused(app: TestApp) {
    let me = app.get("/v1/me", &app.admin_token).await.body;
    let now = chrono::Utc::now().timestamp();
    let claims = |overrides: Value| {
        let mut c = json!({"sub": me["id"], "role": "admin", "org": me["organization_id"], "iat": now, "exp": now + 600,
            "jti": "x", "iss": "livecredit", "aud": "livecredit", "epoch": 0});
        for (k, v) in overrides.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    let hs256 = |c: Value| {
        encode(
            &Header::new(Algorithm::HS256),
            &c,
            &EncodingKey::from_secret(SECRET).unwrap(),
        )
        .unwrap()
    };
    // The honest token works, so the failures below are the attacks' doing.
    assert_eq!(
        app.get("/v1/me", &hs256(claims(json!({})))).await.status,
        200
    );

    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&claims(json!({})))
    );
    let hs512 = encode(
        &Header::new(Algorithm::HS512),
        &claims(json!({})),
        &EncodingKey::from_secret(SECRET).unwrap(),
    )
    .unwrap();
    let forged = encode(
        &Header::new(Algorithm::HS256),
        &claims(json!({})),
        &EncodingKey::from_secret(b"another secret of thirty-two bytes..").unwrap(),
    )
    .unwrap();
    let rs256_header = format!(
        "{}.{}.{}",
        b64(&json!({"alg": "RS256", "typ": "JWT"})),
        b64(&claims(json!({}))),
        "c2lnbmF0dXJl"
    );
    let attacks = [
        ("alg none", none),
        ("another algorithm", hs512),
        ("forged signature", forged),
        ("RS256 header", rs256_header),
        (
            "expired",
            hs256(claims(json!({"exp": now - 120, "iat": now - 1000}))),
        ),
        ("not yet valid", hs256(claims(json!({"nbf": now + 3600})))),
        (
            "not-before as a string (GHSA-h395-gr6q-cpjc)",
            hs256(claims(json!({"nbf": (now + 3600).to_string()}))),
        ),
        (
            "issued in the future",
            hs256(claims(json!({"iat": now + 3600, "exp": now + 7200}))),
        ),
        (
            "wrong issuer",
            hs256(claims(json!({"iss": "someone-else"}))),
        ),
        (
            "wrong audience",
            hs256(claims(json!({"aud": "someone-else"}))),
        ),
        (
            "role escalation",
            hs256(claims(json!({"role": "regulator"}))),
        ),
        ("another token epoch", hs256(claims(json!({"epoch": 1})))),
        (
            "token epoch as a string",
            hs256(claims(json!({"epoch": "0"}))),
        ),
        ("no token epoch", {
            let mut c = claims(json!({}));
            c.as_object_mut().unwrap().remove("epoch");
            hs256(c)
        }),
        (
            "unknown user",
            hs256(claims(
                json!({"sub": "00000000-0000-7000-8000-000000000000"}),
            )),
        ),
    ];
    for (name, token) in attacks {
        let r = app.get("/v1/me", &token).await;
        assert_eq!(r.status, 401, "{name} was accepted");
        assert_problem(&r, 401);
    }
}
both_backends!(forged_tokens_are_refused, forged_tokens_are_refused);

const HOSTILE: [&str; 6] = [
    "'; DROP TABLE subjects; --",
    "\" OR 1=1 --",
    "' OR '1'='1",
    "../../../../etc/passwd",
    "%00%27%22",
    "<script>alert(1)</script>",
];

async fn injection_and_traversal_strings_are_just_data(app: TestApp) {
    let (_, reg) = app.user_with_role("regulator").await;
    let (_, platform) = app.user_with_role("platform").await;
    for (i, hostile) in HOSTILE.iter().enumerate() {
        let r = app
            .post("/v1/subjects", &reg, json!({"kind": "anchor", "name": hostile, "aliases": [format!("{hostile}{i}")],
                "accounts": [{"platform": "douyin", "handle": format!("h{i}")}], "region_code": hostile}))
            .await;
        // The region code is not a code; the names are stored as written.
        assert_invalid_field(&r, "region_code");
        let created = app
            .post(
                "/v1/subjects",
                &reg,
                json!({"kind": "anchor", "name": hostile}),
            )
            .await;
        assert_eq!(created.status, 201, "{:?}", created.body);
        assert_eq!(created.body["name"], *hostile);
        let id = created.body["id"].as_str().unwrap();
        let v = app
            .post(
                format!("/v1/subjects/{id}/violations"),
                &reg,
                json!({"category": "other", "severity": "minor",
            "description": hostile, "decision_no": hostile, "legal_basis": hostile}),
            )
            .await;
        assert_eq!(v.status, 201, "{:?}", v.body);
        assert_eq!(v.body["description"], *hostile);
        let q = crate::subjects::urlencoding(hostile);
        for path in [
            format!("/v1/subjects?q={q}"),
            format!("/v1/subjects?kind={q}"),
            format!("/v1/listings?status={q}&subject_id={q}"),
            format!("/v1/audit?action={q}&actor={q}&target_id={q}"),
            format!("/v1/public/blacklist?q={q}"),
            format!("/v1/public/changes?cursor={q}"),
            format!("/v1/subjects/{q}"),
            format!("/v1/violations/{q}"),
            format!("/v1/listings/{q}"),
        ] {
            let r = app.get(&path, &app.admin_token).await;
            assert!(r.status.as_u16() < 500, "{path}: {}", r.status);
            if r.status.is_client_error() {
                assert_problem(&r, r.status.as_u16());
            }
        }
        let s = app
            .post("/v1/screening", &platform, json!({"name": hostile}))
            .await;
        assert_eq!(s.status, 200, "{hostile}: {:?}", s.body);
    }
    // Every hostile name was stored once, and the tables are all still there.
    let all = app.get("/v1/subjects?limit=500", &app.admin_token).await;
    assert_eq!(all.body["items"].as_array().unwrap().len(), HOSTILE.len());
    let found = app
        .get(
            format!(
                "/v1/subjects?q={}",
                crate::subjects::urlencoding("DROP TABLE")
            ),
            &app.admin_token,
        )
        .await;
    assert_eq!(found.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.get("/v1/audit/verify", &app.admin_token).await.body["valid"],
        true
    );
    for path in [
        "/v1/subjects/..%2F..%2Fetc%2Fpasswd",
        "/..%2F..%2Fetc/passwd",
        "/v1/../v1/me",
        "/docs/../../etc/passwd",
    ] {
        let r = app
            .call(Method::GET, path, Some(&app.admin_token), None)
            .await;
        assert!(r.status.as_u16() < 500, "{path}");
        assert!(
            !r.body.to_string().contains("root:x:0:0"),
            "{path} leaked a file"
        );
    }
}
both_backends!(
    injection_and_traversal_strings_are_just_data,
    injection_and_traversal_strings_are_just_data
);

async fn cross_origin_reads_are_closed_by_default(app: TestApp) {
    let res = app
        .client
        .get(app.url("/v1/public/blacklist"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("access-control-allow-origin").is_none());
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert!(res.headers().get("server").is_none());
}
both_backends!(
    cross_origin_reads_are_closed_by_default,
    cross_origin_reads_are_closed_by_default
);

#[actix_web::test]
async fn configured_origins_may_read() {
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.cors_origins = vec!["https://portal.example.cn".into()]
    })
    .await
    .unwrap();
    let allowed = app
        .client
        .get(app.url("/v1/public/blacklist"))
        .header("origin", "https://portal.example.cn")
        .send()
        .await
        .unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://portal.example.cn"
    );
    let other = app
        .client
        .get(app.url("/v1/public/blacklist"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
    let preflight = app
        .client
        .request(Method::OPTIONS, app.url("/v1/public/blacklist"))
        .header("origin", "https://portal.example.cn")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "https://portal.example.cn"
    );
}

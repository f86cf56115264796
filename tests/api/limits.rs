//! The public limits per client address (CONTRACT §6.7): every public
//! request, and searches by full resident ID, behind a trusted proxy.

use std::time::Instant;

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

/// Like `both_backends!`, with the settings adjusted first.
macro_rules! both_backends_with {
    ($name:ident, $body:path, $configure:expr) => {
        mod $name {
            use super::*;
            #[actix_web::test]
            async fn sqlite() {
                let app = spawn_app_with(Backend::Sqlite, $configure).await.unwrap();
                $body(app).await;
            }
            #[actix_web::test]
            async fn postgres() {
                if let Some(app) = spawn_app_with(Backend::Postgres, $configure).await {
                    $body(app).await;
                }
            }
        }
    };
}

const CLIENT: &str = "203.0.113.7";
const OTHER_CLIENT: &str = "203.0.113.8";

/// A GET from `client`, as the trusted proxy on 127.0.0.1 passes it on.
async fn get_from(app: &TestApp, client: &str, path: &str) -> Reply {
    let res = app
        .client
        .get(app.url(path))
        .header("x-forwarded-for", client)
        .send()
        .await
        .expect("request");
    let status = res.status();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
    Reply {
        status,
        headers,
        body,
    }
}

fn retry_after(reply: &Reply) -> u64 {
    reply
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After in seconds")
}

/// An HTML 429 page of the public web page, with its Retry-After.
fn assert_html_429(reply: &Reply) -> String {
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        reply.headers["content-type"].to_str().unwrap(),
        "text/html; charset=utf-8"
    );
    assert!(reply.headers.contains_key("content-security-policy"));
    assert!(retry_after(reply) >= 1);
    let html = reply.body.as_str().expect("an HTML body").to_owned();
    assert!(html.starts_with("<!doctype html>"), "{html}");
    assert!(html.contains("请求过于频繁"), "{html}");
    assert!(html.contains("Too many requests"), "{html}");
    html
}

async fn public_requests_meet_429_after_the_burst(app: TestApp) {
    // 20 a second, bursts of 40: 500 requests in about a second from one
    // address get through the burst and the refill, and no more.
    let paths = [
        "/v1/public/keys",
        "/v1/public/blacklist?q=zhang",
        "/v1/public/changes",
        "/",
    ];
    let started = Instant::now();
    let mut replies = Vec::new();
    for round in 0..10 {
        let batch = (0..50).map(|i| get_from(&app, CLIENT, paths[(round + i) % paths.len()]));
        replies.extend(join_all(batch).await);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let passed = replies.iter().filter(|r| r.status.is_success()).count();
    let limited: Vec<&Reply> = replies
        .iter()
        .filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
        .collect();
    assert_eq!(passed + limited.len(), 500, "only 200s and 429s");
    assert!(passed >= 40, "the burst of 40 passes ({passed} did)");
    let allowed = 40.0 + 20.0 * elapsed + 1.0;
    assert!(
        (passed as f64) <= allowed,
        "{passed} passed in {elapsed:.2} s; at most {allowed:.0} may"
    );
    let api_429 = limited
        .iter()
        .find(|r| r.body.is_object())
        .expect("an API request was limited");
    assert_problem(api_429, 429);
    assert!(retry_after(api_429) >= 1);

    // The web page answers its 429 as a readable HTML page. (On a busy
    // machine a token or two may have refilled since the burst: the first
    // refusal among a few quick requests is the page to read.)
    let mut page = get_from(&app, CLIENT, "/").await;
    for _ in 0..5 {
        if page.status == StatusCode::TOO_MANY_REQUESTS {
            break;
        }
        page = get_from(&app, CLIENT, "/").await;
    }
    let html = assert_html_429(&page);
    assert!(html.contains("请在"), "{html}");

    // Another address behind the same proxy, and the proxy itself, are not affected.
    assert_eq!(
        get_from(&app, OTHER_CLIENT, "/v1/public/keys").await.status,
        200
    );
    assert_eq!(get_from(&app, OTHER_CLIENT, "/").await.status, 200);
    let direct = app
        .client
        .get(app.url("/v1/public/keys"))
        .send()
        .await
        .unwrap();
    assert_eq!(direct.status(), 200);
    // Staff endpoints are not public: the limit does not touch them.
    assert_eq!(
        app.get("/v1/me", &app.admin_token).await.status,
        200,
        "staff endpoints are outside the public limit"
    );
}
both_backends_with!(
    public_requests_meet_429_after_the_burst,
    public_requests_meet_429_after_the_burst,
    |s| {
        s.public_rate_limit = 20;
        s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    }
);

async fn full_id_queries_are_limited_per_hour(app: TestApp) {
    let ((_, a), (_, b)) = app.two_officials().await;
    let id_number = resident_id("44010619610927123");
    let (_, listing) = app
        .publish_listing(
            &a,
            &b,
            json!({"kind": "anchor", "name": "刘德华", "id_number": id_number}),
        )
        .await;
    let by_id = format!("/v1/public/blacklist?q={id_number}");
    for n in 1..=20 {
        let reply = get_from(&app, CLIENT, &by_id).await;
        assert_eq!(reply.status, 200, "query {n}: {:?}", reply.body);
        assert_eq!(reply.body["items"][0]["listing_id"], listing.as_str());
    }
    let refused = get_from(&app, CLIENT, &by_id).await;
    assert_problem(&refused, 429);
    // One more query every 3 minutes: the wait is at most that.
    let wait = retry_after(&refused);
    assert!((1..=180).contains(&wait), "Retry-After {wait}");
    assert!(
        !refused.body["detail"]
            .as_str()
            .unwrap()
            .contains(&id_number),
        "the refusal does not echo the ID"
    );

    // A name, an account-like text or a mistyped ID still searches.
    let by_name = get_from(&app, CLIENT, "/v1/public/blacklist?q=liu%20dehua").await;
    assert_eq!(by_name.status, 200);
    assert_eq!(by_name.body["items"][0]["listing_id"], listing.as_str());
    let mistyped = format!("{}0", &id_number[..17]);
    let mistyped = if mistyped == id_number {
        format!("{}1", &id_number[..17])
    } else {
        mistyped
    };
    assert_eq!(
        get_from(&app, CLIENT, &format!("/v1/public/blacklist?q={mistyped}"))
            .await
            .status,
        200,
        "a text that is no valid ID is not an ID query"
    );

    // The web page shares the allowance and says so in HTML.
    let page = get_from(&app, CLIENT, &format!("/?q={id_number}")).await;
    let html = assert_html_429(&page);
    assert!(html.contains("按完整身份证号搜索的次数有限"), "{html}");
    assert!(!html.contains("<script"), "{html}");
    assert_eq!(get_from(&app, CLIENT, "/?q=liu+dehua").await.status, 200);

    // Another address has its own allowance.
    let other = get_from(&app, OTHER_CLIENT, &by_id).await;
    assert_eq!(other.status, 200);
    assert_eq!(other.body["items"][0]["listing_id"], listing.as_str());
    assert_eq!(
        get_from(&app, OTHER_CLIENT, &format!("/?q={id_number}"))
            .await
            .status,
        200
    );
}
both_backends_with!(
    full_id_queries_are_limited_per_hour,
    full_id_queries_are_limited_per_hour,
    |s| {
        s.public_id_queries_per_hour = 20;
        s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    }
);

/// Without a trusted proxy, a forged X-Forwarded-For does not buy a new allowance.
#[actix_web::test]
async fn a_forged_forwarded_header_does_not_escape_the_limit() {
    let app = spawn_app_with(Backend::Sqlite, |s| s.public_id_queries_per_hour = 2)
        .await
        .unwrap();
    let id_number = resident_id("44010619610927123");
    let path = format!("/v1/public/blacklist?q={id_number}");
    for client in ["198.51.100.1", "198.51.100.2"] {
        assert_eq!(get_from(&app, client, &path).await.status, 200);
    }
    assert_problem(&get_from(&app, "198.51.100.3", &path).await, 429);
}

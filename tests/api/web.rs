//! The public web page: search, entry view, errors as HTML, security headers.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;

const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

async fn publish(app: &TestApp, a: &str, b: &str, subject: Value) -> String {
    app.publish_listing(a, b, subject).await.1
}

struct Page {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Page {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// An HTML page with the strict policy, whatever its status.
    fn assert_html(&self) {
        assert_eq!(self.header("content-type"), "text/html; charset=utf-8");
        assert_eq!(self.header("content-security-policy"), CSP);
        assert!(self.body.starts_with("<!doctype html>"), "{}", self.body);
        assert!(self.body.contains(r#"<html lang="zh-CN">"#));
    }
}

async fn page(app: &TestApp, path: &str) -> Page {
    let res = app.client.get(app.url(path)).send().await.expect("request");
    Page {
        status: res.status(),
        headers: res.headers().clone(),
        body: res.text().await.unwrap_or_default(),
    }
}

async fn searches_and_shows_entries(app: TestApp) {
    let ((_, a), (_, b)) = app.two_officials().await;

    let empty = page(&app, "/").await;
    assert_eq!(empty.status, 200);
    empty.assert_html();
    assert!(empty.body.contains("直播带货严重违法失信名单"));
    assert!(empty.body.contains("No entries found"));

    let listing = publish(
        &app,
        &a,
        &b,
        json!({"kind": "anchor", "name": "刘德华", "aliases": ["华仔"],
        "id_number": resident_id("44010619610927123"),
        "accounts": [{"platform": "douyin", "handle": "andylau_live"}]}),
    )
    .await;
    let entry_link = format!(r#"href="/entries/{listing}""#);

    let home = page(&app, "/").await;
    assert_eq!(home.status, 200);
    home.assert_html();
    for needle in [
        "刘德华",
        entry_link.as_str(),
        "4401**********",
        "andylau_live",
        "直播间虚假宣传",
        "2026-06-09",
        "2029-06-09",
    ] {
        assert!(home.body.contains(needle), "/ lacks {needle}");
    }
    assert!(!home.body.contains("No entries found"));

    for q in ["liu%20dehua", "%E5%8D%8E%E4%BB%94", "andylau_live"] {
        let found = page(&app, &format!("/?q={q}")).await;
        assert_eq!(found.status, 200);
        assert!(found.body.contains(&entry_link), "q={q}");
    }
    let found = page(&app, "/?q=liu%20dehua&kind=anchor").await;
    assert!(found.body.contains("刘德华"));
    // The form keeps what was asked.
    assert!(found.body.contains(r#"value="liu dehua""#));
    assert!(found.body.contains(r#"<option value="anchor" selected>"#));

    for path in ["/?q=nothing", "/?q=liu%20dehua&kind=merchant"] {
        let none = page(&app, path).await;
        assert_eq!(none.status, 200);
        assert!(none.body.contains("未找到"), "{path}");
        assert!(none.body.contains("No entries found"), "{path}");
        assert!(!none.body.contains("刘德华"), "{path}");
    }

    let shown = page(&app, &format!("/entries/{listing}")).await;
    assert_eq!(shown.status, 200);
    shown.assert_html();
    for needle in [
        "刘德华",
        "直播间虚假宣传",
        "《反不正当竞争法》第八条",
        "法律依据",
        "决定机关",
        "2026-06-09",
    ] {
        assert!(shown.body.contains(needle), "entry page lacks {needle}");
    }

    let missing = page(&app, "/entries/nope").await;
    assert_eq!(missing.status, 404);
    missing.assert_html();
    assert!(missing.body.contains("未找到"));

    // Once revoked, the entry leaves the page too.
    let r = app
        .post(
            format!("/v1/listings/{listing}/revoke"),
            &a,
            json!({"reason": "决定被撤销"}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(page(&app, &format!("/entries/{listing}")).await.status, 404);
    assert!(!page(&app, "/").await.body.contains("刘德华"));
}
both_backends!(searches_and_shows_entries, searches_and_shows_entries);

async fn data_is_escaped(app: TestApp) {
    let ((_, a), (_, b)) = app.two_officials().await;
    let listing = publish(
        &app,
        &a,
        &b,
        json!({"kind": "merchant", "name": "<script>alert(\"x\")</script>坏商家",
        "uscc": uscc("91330100MA2C00002")}),
    )
    .await;
    for path in [
        "/".to_owned(),
        format!("/entries/{listing}"),
        // 坏商家: found inside the name, shown escaped.
        "/?q=%E5%9D%8F%E5%95%86%E5%AE%B6".to_owned(),
    ] {
        let p = page(&app, &path).await;
        assert_eq!(p.status, 200, "{path}");
        assert!(!p.body.contains("<script"), "{path}: {}", p.body);
        assert!(
            p.body
                .contains("&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;坏商家"),
            "{path}"
        );
    }
    // The query itself is echoed into the form, escaped.
    let p = page(&app, "/?q=%3Cscript%3E").await;
    assert_eq!(p.status, 200);
    assert!(!p.body.contains("<script"), "{}", p.body);
    assert!(p.body.contains("&#60;script&#62;"), "{}", p.body);
}
both_backends!(data_is_escaped, data_is_escaped);

async fn errors_are_html_pages(app: TestApp) {
    for (path, status) in [
        ("/?cursor=%%%", 422),
        ("/?cursor=not-a-cursor!", 422),
        ("/?kind=robot", 422),
        ("/?q=a&q=b", 400),
    ] {
        let p = page(&app, path).await;
        assert_eq!(p.status.as_u16(), status, "{path}: {}", p.body);
        p.assert_html();
        assert!(!p.body.contains("problem+json"));
        // The search form is there to try again.
        assert!(p.body.contains(r#"<form class="search""#), "{path}");
    }
    let long = "长".repeat(201);
    let p = page(
        &app,
        &format!("/?q={}", crate::subjects::urlencoding(&long)),
    )
    .await;
    assert_eq!(p.status, 422);
    p.assert_html();

    // A bad token does not stop anyone reading the public page.
    let res = app
        .client
        .get(app.url("/"))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}
both_backends!(errors_are_html_pages, errors_are_html_pages);

async fn the_stylesheet_is_served_and_cacheable(app: TestApp) {
    let css = page(&app, "/assets/site.css").await;
    assert_eq!(css.status, 200);
    assert!(css.header("content-type").starts_with("text/css"));
    assert_eq!(css.header("cache-control"), "public, max-age=3600");
    assert!(css.body.contains("@media (max-width: 640px)"));
    let home = page(&app, "/").await;
    assert!(home
        .body
        .contains(r#"<link rel="stylesheet" href="/assets/site.css">"#));
    assert_eq!(home.header("x-content-type-options"), "nosniff");
    let head = app.client.head(app.url("/")).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert!(head.headers().contains_key("content-security-policy"));
}
both_backends!(
    the_stylesheet_is_served_and_cacheable,
    the_stylesheet_is_served_and_cacheable
);

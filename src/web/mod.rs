//! The public web page: search the published blacklist and read one entry,
//! server-rendered with no JavaScript. Small render functions build the HTML;
//! every piece of data passes through [`escape`] on its way in.
//!
//! The search runs the same query as `GET /v1/public/blacklist`, so the page
//! and the API never disagree about what is listed.

pub mod documents;
pub mod portal;

use std::fmt::Write as _;

use actix_web::http::{header, StatusCode};
use actix_web::{guard, web, HttpRequest, HttpResponse, ResponseError};
use serde::Deserialize;

use crate::auth::address::client_ip;
use crate::config::Settings;
use crate::db::ReadDb;
use crate::domain::identifiers::ResidentId;
use crate::domain::registry::SubjectKind;
use crate::error::ApiError;
use crate::service::page::{Page, PageRequest};
use crate::service::publication::{self, PublicEntry, PublicLimits};

/// Nothing runs and nothing loads from elsewhere: the page is HTML and one stylesheet.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

const STYLESHEET: &str = include_str!("site.css");
const PAGE_SIZE: i64 = 20;
const LIST_NAME: &str = "直播带货严重违法失信名单";
const LIST_NAME_EN: &str = "Live-commerce serious-violation blacklist";

/// The page's routes: `/`, `/entries/{listing_id}` and the stylesheet.
pub fn routes(cfg: &mut web::ServiceConfig) {
    // HEAD too, for link checkers and uptime probes (actix sends no body for it).
    let read = || web::route().guard(guard::Any(guard::Get()).or(guard::Head()));
    cfg.route("/", read().to(search))
        .route("/entries/{listing_id}", read().to(entry))
        .route("/assets/site.css", read().to(stylesheet))
        .route("/assets/document.css", read().to(document_stylesheet))
        .configure(portal::routes);
}

/// The search form's fields, all optional and taken as text so that no
/// value can make the extractor answer with JSON.
#[derive(Debug, Default, Deserialize)]
struct SearchForm {
    q: Option<String>,
    kind: Option<String>,
    cursor: Option<String>,
}

impl SearchForm {
    fn q(&self) -> &str {
        self.q.as_deref().map(str::trim).unwrap_or("")
    }

    /// The kind chosen; empty (全部 All) means none.
    fn kind(&self) -> Result<Option<SubjectKind>, ApiError> {
        match self.kind.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(kind) => kind
                .parse()
                .map(Some)
                .map_err(|e: crate::domain::UnknownName| ApiError::invalid("kind", e.hint())),
        }
    }

    fn cursor(&self) -> Option<String> {
        self.cursor.clone().filter(|c| !c.is_empty())
    }
}

async fn search(
    req: HttpRequest,
    db: ReadDb,
    settings: web::Data<Settings>,
    limits: web::Data<PublicLimits>,
) -> HttpResponse {
    let form = match web::Query::<SearchForm>::from_query(req.query_string()) {
        Ok(form) => form.into_inner(),
        Err(_) => {
            let e = ApiError::bad_request("the address's query string could not be read");
            return error_page(&e, &SearchForm::default());
        }
    };
    let client = client_ip(&req, &settings.trusted_proxies);
    match search_results(&db, &settings, &limits, client, &form).await {
        Ok(page) => html(StatusCode::OK, render_search(&form, &page)),
        Err(e) => error_page(&e, &form),
    }
}

type PublicPage = Page<PublicEntry>;

async fn search_results(
    db: &ReadDb,
    settings: &Settings,
    limits: &PublicLimits,
    client: Option<std::net::IpAddr>,
    form: &SearchForm,
) -> Result<PublicPage, ApiError> {
    let criteria = publication::criteria(Some(form.q()), form.kind()?, settings.id_pepper.bytes())?;
    let page = PageRequest::parse(Some(PAGE_SIZE), form.cursor().as_deref())?;
    limits.admit_search(client, &criteria)?;
    Ok(db
        .run(move |conn| publication::search(conn, &criteria, &page))
        .await?)
}

async fn entry(req: HttpRequest, db: ReadDb) -> HttpResponse {
    // Not a UUID: no listing can have it, and the database need not be asked.
    let Some(listing_id) = req
        .match_info()
        .get("listing_id")
        .and_then(crate::service::canonical_id)
    else {
        return html(StatusCode::NOT_FOUND, render_entry_not_found());
    };
    match db
        .run(move |conn| publication::entry(conn, &listing_id))
        .await
    {
        Ok(Some(entry)) => html(StatusCode::OK, render_entry(&entry)),
        Ok(None) => html(StatusCode::NOT_FOUND, render_entry_not_found()),
        Err(e) => error_page(&e.into(), &SearchForm::default()),
    }
}

async fn stylesheet() -> HttpResponse {
    css(STYLESHEET)
}

async fn document_stylesheet() -> HttpResponse {
    css(documents::STYLESHEET)
}

fn css(text: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/css; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(text)
}

/// A whole HTML page as an answer, with the pages' headers (strict CSP).
pub fn html(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .body(body)
}

/// An error of the page's own routes (a refused request, before any
/// search), as the page answers it: HTML, never JSON.
pub fn error_response(e: &ApiError) -> HttpResponse {
    error_page(e, &SearchForm::default())
}

/// An error as an HTML page with the error's own status (never JSON here).
fn error_page(e: &ApiError, form: &SearchForm) -> HttpResponse {
    let status = e.status_code();
    if let ApiError::Internal(cause) = e {
        tracing::error!(
            error = format!("{cause:#}"),
            "internal error on the web page"
        );
    }
    let retry_after = match e {
        ApiError::TooManyRequests {
            retry_after_secs, ..
        } => Some((*retry_after_secs).max(1)),
        ApiError::Unavailable(_) => Some(5),
        _ => None,
    };
    let mut response = html(
        status,
        render_error(status, &e.problem().detail, retry_after, form),
    );
    if let Some(seconds) = retry_after {
        if let Ok(value) = header::HeaderValue::from_str(&seconds.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
    }
    response
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a query or path component (all but RFC 3986 unreserved characters).
fn url_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// Chinese and English side by side; the English marked as such for screen readers.
fn bilingual(zh: &str, en: &str) -> String {
    format!(
        r#"{} <span class="en" lang="en">{}</span>"#,
        escape(zh),
        escape(en)
    )
}

fn kind_label(kind: SubjectKind) -> (&'static str, &'static str) {
    kind.labels()
}

fn platform_label(platform: &str) -> Option<&'static str> {
    Some(match platform {
        "douyin" => "抖音",
        "kuaishou" => "快手",
        "taobao" => "淘宝",
        "xiaohongshu" => "小红书",
        "weibo" => "微博",
        "bilibili" => "哔哩哔哩",
        "jd" => "京东",
        "pinduoduo" => "拼多多",
        "wechat_channels" => "微信视频号",
        _ => return None,
    })
}

fn entry_path(listing_id: &str) -> String {
    format!("/entries/{}", url_component(listing_id))
}

/// The whole document around a page's `<main>` (which the caller has built from escaped parts).
/// On the search page the list's name is the page's heading; elsewhere each page has its own.
fn layout(title: &str, home: bool, main: &str) -> String {
    let name_tag = if home { "h1" } else { "p" };
    let title = if title.is_empty() {
        format!("{LIST_NAME} {LIST_NAME_EN}")
    } else {
        format!("{title} · {LIST_NAME}")
    };
    format!(
        r##"<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="/assets/site.css">
</head>
<body>
<a class="skip" href="#main">跳到正文 <span lang="en">Skip to content</span></a>
<header class="site">
<div class="wrap">
<{name_tag} class="list-name"><a href="/">{name}</a></{name_tag}>
<p class="lede">{lede}</p>
</div>
</header>
<main id="main" class="wrap">
{main}
</main>
<footer class="site">
<div class="wrap">
<p>{data}: <a href="/v1/public/blacklist/export?format=csv">CSV</a> · <a href="/v1/public/blacklist/export?format=ndjson">NDJSON</a> · <a href="/v1/public/snapshot">{snapshot}</a> · <a href="/docs/">API</a></p>
</div>
</footer>
</body>
</html>
"##,
        title = escape(&title),
        name = bilingual(LIST_NAME, LIST_NAME_EN),
        lede = bilingual(
            "市场监督管理部门依法公示、仍在有效期内的直播营销主播和商家。",
            "Anchors and merchants listed by market regulators, while the listing is in force."
        ),
        data = bilingual("下载全部名单", "Download the list"),
        snapshot = bilingual("签名快照", "signed snapshot"),
    )
}

fn render_form(q: &str, kind: Option<&str>) -> String {
    let option = |value: &str, zh: &str, en: &str| {
        let selected = if kind.unwrap_or("") == value {
            " selected"
        } else {
            ""
        };
        format!(
            r#"<option value="{}"{selected}>{} {}</option>"#,
            escape(value),
            escape(zh),
            escape(en)
        )
    };
    format!(
        r#"<form class="search" method="get" action="/" role="search">
<div class="field field-q">
<label for="q">{q_label}</label>
<input id="q" name="q" type="search" value="{q}" maxlength="200" autocomplete="off" spellcheck="false">
</div>
<div class="field field-kind">
<label for="kind">{kind_label}</label>
<select id="kind" name="kind">
{all}
{anchor}
{merchant}
</select>
</div>
<div class="field field-submit">
<button type="submit">{submit}</button>
</div>
</form>
<p class="hint">{hint}</p>"#,
        q_label = bilingual("姓名/名称、拼音、账号或证件号", "Name, pinyin, account or ID"),
        q = escape(q),
        kind_label = bilingual("类型", "Kind"),
        all = option("", "全部", "All"),
        anchor = option("anchor", "主播", "Anchor"),
        merchant = option("merchant", "商家", "Merchant"),
        submit = bilingual("搜索", "Search"),
        hint = bilingual(
            "可输入汉字（简体或繁体）、拼音、平台账号、统一社会信用代码或完整的身份证号。",
            "Han characters (simplified or traditional), pinyin, a platform account, a USCC or a full resident ID."
        ),
    )
}

/// One labelled value of an entry (the value already escaped markup).
fn field(zh: &str, en: &str, value_html: &str) -> String {
    format!(
        "<div><dt>{}</dt><dd>{value_html}</dd></div>\n",
        bilingual(zh, en)
    )
}

fn identifier_field(entry: &PublicEntry) -> String {
    match (&entry.subject.id_number_masked, &entry.subject.uscc) {
        (Some(masked), _) => field(
            "身份证号（部分隐藏）",
            "ID number (masked)",
            &format!(r#"<span class="code">{}</span>"#, escape(masked)),
        ),
        (None, Some(uscc)) => field(
            "统一社会信用代码",
            "USCC",
            &format!(r#"<span class="code">{}</span>"#, escape(uscc)),
        ),
        (None, None) => String::new(),
    }
}

fn accounts_field(entry: &PublicEntry) -> String {
    if entry.subject.accounts.is_empty() {
        return String::new();
    }
    let items: String = entry
        .subject
        .accounts
        .iter()
        .map(|a| {
            let platform = match platform_label(&a.platform) {
                Some(zh) => format!(
                    r#"{} <span class="en" lang="en">({})</span>"#,
                    escape(zh),
                    escape(&a.platform)
                ),
                None => escape(&a.platform),
            };
            format!(
                r#"<li>{platform}: <span class="code">@{}</span></li>"#,
                escape(&a.handle)
            )
        })
        .collect();
    field(
        "平台账号",
        "Accounts",
        &format!(r#"<ul class="accounts">{items}</ul>"#),
    )
}

fn date(d: chrono::NaiveDate) -> String {
    let d = escape(&d.to_string());
    format!(r#"<time datetime="{d}">{d}</time>"#)
}

fn kind_badge(kind: SubjectKind) -> String {
    let (zh, en) = kind_label(kind);
    format!(
        r#"<span class="kind kind-{}">{}</span>"#,
        escape(kind.as_str()),
        bilingual(zh, en)
    )
}

fn render_card(entry: &PublicEntry) -> String {
    let mut fields = identifier_field(entry);
    fields.push_str(&accounts_field(entry));
    fields.push_str(&field("失信原因", "Reason", &escape(&entry.reason)));
    fields.push_str(&field("决定机关", "Authority", &escape(&entry.authority)));
    fields.push_str(&field(
        "列入日期 – 有效期至",
        "Listed on – In force through",
        &format!("{} – {}", date(entry.listed_on), date(entry.expires_on)),
    ));
    format!(
        r#"<li class="card">
<h3><a href="{href}">{name}</a> {kind}</h3>
<dl>
{fields}</dl>
</li>
"#,
        href = escape(&entry_path(&entry.listing_id)),
        name = escape(&entry.subject.name),
        kind = kind_badge(entry.subject.kind),
    )
}

fn search_link(q: &str, kind: Option<&str>, cursor: Option<&str>) -> String {
    let mut params = Vec::new();
    if !q.is_empty() {
        params.push(format!("q={}", url_component(q)));
    }
    if let Some(kind) = kind.filter(|k| !k.is_empty()) {
        params.push(format!("kind={}", url_component(kind)));
    }
    if let Some(cursor) = cursor {
        params.push(format!("cursor={}", url_component(cursor)));
    }
    if params.is_empty() {
        "/".to_owned()
    } else {
        format!("/?{}", params.join("&"))
    }
}

fn render_search(form: &SearchForm, page: &PublicPage) -> String {
    let q = form.q();
    let kind = form.kind.as_deref().map(str::trim);
    let mut main = render_form(q, kind);
    main.push_str("\n<section class=\"results\" aria-labelledby=\"results-heading\">\n");
    let heading = if q.is_empty() {
        bilingual("名单", "Listed entries")
    } else {
        format!(
            "{} <q>{}</q>",
            bilingual("搜索结果", "Results for"),
            escape(q)
        )
    };
    let _ = writeln!(
        main,
        r#"<h2 id="results-heading" class="results-heading">{heading}</h2>"#
    );
    if page.items.is_empty() {
        let _ = writeln!(
            main,
            r#"<div class="empty"><p class="empty-title">{}</p><p>{}</p></div>"#,
            bilingual("未找到", "No entries found"),
            bilingual(
                "名单只包含仍在有效期内的条目；请检查拼写，或换用拼音、账号或证件号搜索。",
                "Only entries in force are shown; check the spelling, or try pinyin, an account or an ID."
            )
        );
    } else {
        main.push_str("<ol class=\"cards\">\n");
        for entry in &page.items {
            main.push_str(&render_card(entry));
        }
        main.push_str("</ol>\n");
    }
    let mut nav = String::new();
    if form.cursor().is_some() {
        let _ = write!(
            nav,
            r#"<a href="{}">{}</a>"#,
            escape(&search_link(q, kind, None)),
            bilingual("第一页", "First page")
        );
    }
    if let Some(next) = &page.next_cursor {
        let _ = write!(
            nav,
            r#"<a class="next" rel="next" href="{}">{} →</a>"#,
            escape(&search_link(q, kind, Some(next))),
            bilingual("下一页", "Next page")
        );
    }
    if !nav.is_empty() {
        let _ = writeln!(
            main,
            r#"<nav class="pager" aria-label="分页 Pages">{nav}</nav>"#
        );
    }
    main.push_str("</section>");
    let title = if q.is_empty() {
        String::new()
    } else {
        format!("搜索 {q}")
    };
    layout(&title, true, &main)
}

fn render_entry(entry: &PublicEntry) -> String {
    let mut fields = identifier_field(entry);
    fields.push_str(&accounts_field(entry));
    fields.push_str(&field("失信原因", "Reason", &escape(&entry.reason)));
    fields.push_str(&field(
        "法律依据",
        "Legal basis",
        &escape(&entry.legal_basis),
    ));
    fields.push_str(&field("决定机关", "Authority", &escape(&entry.authority)));
    if let Some(number) = &entry.decision_no {
        fields.push_str(&field("决定书文号", "Decision no.", &escape(number)));
    }
    fields.push_str(&field("列入日期", "Listed on", &date(entry.listed_on)));
    fields.push_str(&field(
        "有效期至",
        "In force through",
        &date(entry.expires_on),
    ));
    fields.push_str(&field(
        "条目编号",
        "Entry number",
        &format!(r#"<span class="code">{}</span>"#, escape(&entry.listing_id)),
    ));
    let main = format!(
        r#"<p class="back"><a href="/">← {back}</a></p>
<article class="entry">
<h1>{name} {kind}</h1>
<dl>
{fields}</dl>
<p class="note">{note}</p>
</article>"#,
        back = bilingual("返回搜索", "Back to search"),
        name = escape(&entry.subject.name),
        kind = kind_badge(entry.subject.kind),
        note = bilingual(
            "有效期届满的次日，该条目自动移出名单；信用修复或撤销决定也会使其提前移出。",
            "The entry leaves the list the day after its last day in force, or earlier after credit repair or a revocation."
        ),
    );
    layout(&entry.subject.name, false, &main)
}

fn render_entry_not_found() -> String {
    let main = format!(
        r#"<div class="error">
<h1>{title}</h1>
<p>{detail}</p>
<p><a href="/">← {back}</a></p>
</div>"#,
        title = bilingual("未找到该条目", "Entry not found"),
        detail = bilingual(
            "该条目不存在，或已不在名单上（已到期、已修复或已撤销）。",
            "There is no such entry, or it is no longer on the list (expired, repaired or revoked)."
        ),
        back = bilingual("返回搜索", "Back to search"),
    );
    layout("未找到 Not found", false, &main)
}

fn error_title(status: StatusCode) -> (&'static str, &'static str) {
    match status.as_u16() {
        400 => ("请求有误", "Bad request"),
        404 => ("未找到", "Not found"),
        422 => ("请求无效", "Invalid request"),
        429 => ("请求过于频繁", "Too many requests"),
        503 => ("服务暂时不可用", "Service unavailable"),
        s if s >= 500 => ("服务出错", "Something went wrong"),
        _ => ("请求未能完成", "The request could not be completed"),
    }
}

fn render_error(
    status: StatusCode,
    detail: &str,
    retry_after: Option<u64>,
    form: &SearchForm,
) -> String {
    let (zh, en) = error_title(status);
    let hint = if status == StatusCode::TOO_MANY_REQUESTS {
        let wait = retry_after.unwrap_or(1);
        let (zh_wait, en_wait) = if wait >= 120 {
            let minutes = wait.div_ceil(60);
            (format!("{minutes} 分钟"), format!("{minutes} minutes"))
        } else {
            let unit = if wait == 1 { "second" } else { "seconds" };
            (format!("{wait} 秒"), format!("{wait} {unit}"))
        };
        let mut hint = bilingual(
            &format!("来自您网络地址的请求过于频繁，请在 {zh_wait}后再试。"),
            &format!(
                "Too many requests came from your network address. Please try again in {en_wait}."
            ),
        );
        // The hourly allowance counts searches by full ID number only.
        if ResidentId::parse(form.q()).is_ok() {
            hint.push(' ');
            hint.push_str(&bilingual(
                "按完整身份证号搜索的次数有限；按姓名、拼音、账号或统一社会信用代码搜索不受此限。",
                "Searches by full ID number are limited per hour; searches by name, pinyin, account or USCC are not.",
            ));
        }
        hint
    } else if status.is_server_error() {
        bilingual("请稍后再试。", "Please try again shortly.")
    } else {
        bilingual(
            "请修改搜索条件后重试，或从第一页开始。",
            "Change the search and try again, or start from the first page.",
        )
    };
    let main = format!(
        r#"<div class="error">
<h1>{title}</h1>
<p class="status">HTTP {code}: <span lang="en">{detail}</span></p>
<p>{hint}</p>
</div>
{form}"#,
        title = bilingual(zh, en),
        code = status.as_u16(),
        detail = escape(detail),
        form = render_form(form.q(), form.kind.as_deref().map(str::trim)),
    );
    layout(&format!("{zh} {en}"), false, &main)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::publication::{PublicAccount, PublicSubject};
    use chrono::NaiveDate;

    fn sample(name: &str) -> PublicEntry {
        PublicEntry {
            listing_id: "0190a1b2-0000-7000-8000-000000000001".into(),
            subject: PublicSubject {
                name: name.into(),
                kind: SubjectKind::Anchor,
                id_number_masked: Some("3301**********1234".into()),
                uscc: None,
                accounts: vec![PublicAccount {
                    platform: "douyin".into(),
                    handle: "a\"b'c".into(),
                }],
            },
            reason: "直播间虚假宣传 & <b>夸大</b>".into(),
            legal_basis: "《反不正当竞争法》第八条".into(),
            authority: "杭州市市场监督管理局".into(),
            decision_no: Some("杭州市市场监督管理局列严决〔2026〕1号".into()),
            listed_on: NaiveDate::from_ymd_opt(2026, 6, 9).unwrap(),
            expires_on: NaiveDate::from_ymd_opt(2029, 6, 9).unwrap(),
        }
    }

    #[test]
    fn escape_covers_the_five_characters() {
        assert_eq!(
            escape(r#"<a href="x" title='y'>&amp;</a>"#),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;"
        );
        assert_eq!(escape("刘德华 plain"), "刘德华 plain");
        assert_eq!(escape(""), "");
    }

    #[test]
    fn an_entry_with_markup_in_its_data_renders_as_text() {
        let name = "<script>alert('x')</script>刘德华";
        for html in [
            render_entry(&sample(name)),
            render_search(
                &SearchForm {
                    q: Some("<script>".into()),
                    ..Default::default()
                },
                &PublicPage {
                    items: vec![sample(name)],
                    next_cursor: Some("\"><script>".into()),
                },
            ),
        ] {
            assert!(!html.contains("<script"), "{html}");
            assert!(!html.contains("<b>"), "{html}");
            assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;刘德华"));
            assert!(html.contains("@a&quot;b&#39;c"));
            assert!(html.contains("直播间虚假宣传 &amp; &lt;b&gt;夸大&lt;/b&gt;"));
        }
    }

    #[test]
    fn the_entry_page_shows_every_public_field() {
        let html = render_entry(&sample("刘德华"));
        for needle in [
            "<html lang=\"zh-CN\">",
            "<meta charset=\"utf-8\">",
            "刘德华",
            "主播",
            "3301**********1234",
            "抖音",
            "失信原因",
            "法律依据",
            "《反不正当竞争法》第八条",
            "决定机关",
            "杭州市市场监督管理局",
            "2026-06-09",
            "2029-06-09",
        ] {
            assert!(html.contains(needle), "missing {needle}");
        }
    }

    #[test]
    fn next_page_links_keep_the_search() {
        assert_eq!(
            search_link("liu dehua", Some("anchor"), Some("abc_-")),
            "/?q=liu%20dehua&kind=anchor&cursor=abc_-"
        );
        assert_eq!(search_link("", None, None), "/");
        assert_eq!(search_link("刘", Some(""), None), "/?q=%E5%88%98");
    }

    #[test]
    fn a_429_page_says_how_long_to_wait_in_both_languages() {
        let by_id = SearchForm {
            q: Some("11010519491231002X".into()),
            ..Default::default()
        };
        let html = render_error(StatusCode::TOO_MANY_REQUESTS, "limited", Some(170), &by_id);
        assert!(html.contains("请求过于频繁"), "{html}");
        assert!(html.contains("请在 3 分钟后再试"), "{html}");
        assert!(html.contains("try again in 3 minutes"), "{html}");
        assert!(html.contains("按完整身份证号搜索的次数有限"), "{html}");
        let html = render_error(
            StatusCode::TOO_MANY_REQUESTS,
            "limited",
            Some(2),
            &SearchForm::default(),
        );
        assert!(html.contains("请在 2 秒后再试"), "{html}");
        assert!(!html.contains("按完整身份证号"), "{html}");
    }

    #[test]
    fn kinds_parse_and_bad_ones_are_invalid() {
        let form = |kind: &str| SearchForm {
            kind: Some(kind.into()),
            ..Default::default()
        };
        assert_eq!(form("").kind().unwrap(), None);
        assert_eq!(
            form("merchant").kind().unwrap(),
            Some(SubjectKind::Merchant)
        );
        assert!(matches!(form("robot").kind(), Err(ApiError::Validation(_))));
    }
}

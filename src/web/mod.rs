//! The public web page: search the published blacklist and read one entry,
//! server-rendered with no JavaScript, on the askama templates of
//! `templates/public/` (which share `templates/site/layout.html` with the
//! subject portal); the templates escape every value.
//!
//! The search runs the same query as `GET /v1/public/blacklist`, so the page
//! and the API never disagree about what is listed.

pub mod console;
pub mod documents;
pub mod labels;
pub mod portal;
pub mod session;

use std::fmt::Write as _;

use askama::Template;

use actix_web::http::{header, StatusCode};
use actix_web::{guard, web, HttpRequest, HttpResponse, ResponseError};
use serde::Deserialize;

use crate::auth::address::client_ip;
use crate::config::Settings;
use crate::db::ReadDb;
use crate::domain::identifiers::ResidentId;
use crate::domain::registry::SubjectKind;
use crate::error::ApiError;
use crate::service::index::Live;
use crate::service::page::{Page, PageRequest};
use crate::service::publication::{self, PublicEntry, PublicLimits};

/// Nothing runs and nothing loads from elsewhere: the page is HTML and one stylesheet.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

const STYLESHEET: &str = include_str!("site.css");
const PAGE_SIZE: i64 = 20;

/// The page's routes: `/`, `/entries/{listing_id}` and the stylesheet.
pub fn routes(cfg: &mut web::ServiceConfig) {
    // HEAD too, for link checkers and uptime probes (actix sends no body for it).
    let read = || web::route().guard(guard::Any(guard::Get()).or(guard::Head()));
    cfg.route("/", read().to(search))
        .route("/entries/{listing_id}", read().to(entry))
        .route("/assets/site.css", read().to(stylesheet))
        .route("/assets/document.css", read().to(document_stylesheet))
        .configure(portal::routes)
        .configure(console::routes);
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
    live: web::Data<Live>,
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
    match search_results(&live, &settings, &limits, client, &form).await {
        Ok(page) => html(StatusCode::OK, render_search(&form, &page)),
        Err(e) => error_page(&e, &form),
    }
}

type PublicPage = Page<PublicEntry>;

async fn search_results(
    live: &Live,
    settings: &Settings,
    limits: &PublicLimits,
    client: Option<std::net::IpAddr>,
    form: &SearchForm,
) -> Result<PublicPage, ApiError> {
    let criteria = publication::criteria(Some(form.q()), form.kind()?, settings.id_pepper.bytes())?;
    let page = PageRequest::parse(Some(PAGE_SIZE), form.cursor().as_deref())?;
    limits.admit_search(client, &criteria)?;
    Ok(publication::search(live, &criteria, &page).await?)
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

/// A file as a download that no browser renders in place (the API's and the portal's).
pub fn attachment(download: crate::service::evidence::Download) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, download.file.media_type.clone()))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}\"", download.offered_name),
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; sandbox",
        ))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .body(download.content)
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

// ---- the pages, as askama templates (`templates/public/`) ----

/// One choice of the kind selector.
struct KindOption {
    value: &'static str,
    zh: &'static str,
    en: &'static str,
    selected: bool,
}

/// The search form as shown: the text searched and the kind chosen.
struct FormView<'a> {
    q: &'a str,
    options: Vec<KindOption>,
}

impl<'a> FormView<'a> {
    fn of(form: &'a SearchForm) -> Self {
        let chosen = form.kind.as_deref().map(str::trim).unwrap_or("");
        let mut options = vec![KindOption {
            value: "",
            zh: "全部",
            en: "All",
            selected: chosen.is_empty(),
        }];
        for kind in SubjectKind::ALL {
            let (zh, en) = kind.labels();
            options.push(KindOption {
                value: kind.as_str(),
                zh,
                en,
                selected: chosen == kind.as_str(),
            });
        }
        Self {
            q: form.q(),
            options,
        }
    }
}

/// A platform account as shown: the platform's Chinese name when known.
struct AccountLabel<'a> {
    zh: Option<&'static str>,
    platform: &'a str,
    handle: &'a str,
}

/// A public entry with what its card and page need.
struct EntryView<'a> {
    entry: &'a PublicEntry,
    href: String,
    kind: (&'static str, &'static str),
    kind_code: &'static str,
    accounts: Vec<AccountLabel<'a>>,
}

impl<'a> EntryView<'a> {
    fn of(entry: &'a PublicEntry) -> Self {
        Self {
            entry,
            href: entry_path(&entry.listing_id),
            kind: entry.subject.kind.labels(),
            kind_code: entry.subject.kind.as_str(),
            accounts: entry
                .subject
                .accounts
                .iter()
                .map(|a| AccountLabel {
                    zh: platform_label(&a.platform),
                    platform: &a.platform,
                    handle: &a.handle,
                })
                .collect(),
        }
    }
}

#[derive(Template)]
#[template(path = "public/search.html")]
struct SearchPage<'a> {
    form: FormView<'a>,
    entries: Vec<EntryView<'a>>,
    first_page: Option<String>,
    next_page: Option<String>,
}

#[derive(Template)]
#[template(path = "public/entry.html")]
struct EntryPage<'a> {
    e: EntryView<'a>,
}

#[derive(Template)]
#[template(path = "public/not_found.html")]
struct NotFoundPage;

#[derive(Template)]
#[template(path = "public/error.html")]
struct ErrorPage<'a> {
    form: FormView<'a>,
    title: (&'static str, &'static str),
    code: u16,
    detail: &'a str,
    hint: (String, String),
    /// After a 429 on a search by full ID: only those are limited per hour.
    id_hint: Option<(&'static str, &'static str)>,
}

/// A template's page, or (should a template fail) a line saying so.
fn render(page: impl Template) -> String {
    page.render().unwrap_or_else(|e| {
        tracing::error!(error = %e, "rendering a page failed");
        "<!doctype html><title>error</title><p>The page could not be rendered.".to_owned()
    })
}

fn render_search(form: &SearchForm, page: &PublicPage) -> String {
    let (q, kind) = (form.q(), form.kind.as_deref().map(str::trim));
    render(SearchPage {
        form: FormView::of(form),
        entries: page.items.iter().map(EntryView::of).collect(),
        first_page: form.cursor().map(|_| search_link(q, kind, None)),
        next_page: page
            .next_cursor
            .as_deref()
            .map(|next| search_link(q, kind, Some(next))),
    })
}

fn render_entry(entry: &PublicEntry) -> String {
    render(EntryPage {
        e: EntryView::of(entry),
    })
}

fn render_entry_not_found() -> String {
    render(NotFoundPage)
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
    let (hint, id_hint) = if status == StatusCode::TOO_MANY_REQUESTS {
        let wait = retry_after.unwrap_or(1);
        let (zh_wait, en_wait) = if wait >= 120 {
            let minutes = wait.div_ceil(60);
            (format!("{minutes} 分钟"), format!("{minutes} minutes"))
        } else {
            let unit = if wait == 1 { "second" } else { "seconds" };
            (format!("{wait} 秒"), format!("{wait} {unit}"))
        };
        // The hourly allowance counts searches by full ID number only.
        let id_hint = ResidentId::parse(form.q()).is_ok().then_some((
            "按完整身份证号搜索的次数有限；按姓名、拼音、账号或统一社会信用代码搜索不受此限。",
            "Searches by full ID number are limited per hour; searches by name, pinyin, account or USCC are not.",
        ));
        (
            (
                format!("来自您网络地址的请求过于频繁，请在 {zh_wait}后再试。"),
                format!(
                    "Too many requests came from your network address. Please try again in {en_wait}."
                ),
            ),
            id_hint,
        )
    } else if status.is_server_error() {
        (
            (
                "请稍后再试。".to_owned(),
                "Please try again shortly.".to_owned(),
            ),
            None,
        )
    } else {
        (
            (
                "请修改搜索条件后重试，或从第一页开始。".to_owned(),
                "Change the search and try again, or start from the first page.".to_owned(),
            ),
            None,
        )
    };
    render(ErrorPage {
        form: FormView::of(form),
        title: error_title(status),
        code: status.as_u16(),
        detail,
        hint,
        id_hint,
    })
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
            // askama escapes with numeric references: &#60; &#62; &#34; &#39; &#38;.
            assert!(
                html.contains("&#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62;刘德华"),
                "{html}"
            );
            assert!(html.contains("@a&#34;b&#39;c"), "{html}");
            assert!(html.contains("直播间虚假宣传 &#38; &#60;b&#62;夸大&#60;/b&#62;"));
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

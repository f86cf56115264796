//! What the portal and the console share: the request context, the CSRF
//! token, cookies, problems worded for a page, and multipart forms.
//!
//! A browser area (`/portal`, `/console`) keeps its cookies under its own
//! path: `HttpOnly`, `SameSite=Strict`, `Secure` unless
//! `LIVECREDIT_COOKIE_SECURE=false`. Every form carries a CSRF token, an
//! HMAC (keyed by the JWT secret and the area) of a random per-browser
//! cookie; a form without it is refused before anything else is read.

use std::future::{ready, Ready};

use actix_multipart::Multipart;
use actix_web::cookie::{time::Duration as CookieAge, Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use askama::Template;
use futures_util::StreamExt;
use hmac::{Hmac, KeyInit, Mac};
use rand::RngCore;
use sha2::Sha256;

use super::html;
use crate::auth::tokens::TokenService;
use crate::config::Settings;
use crate::db::Db;
use crate::domain::evidence::MAX_EVIDENCE_BYTES;
use crate::error::ApiError;
use crate::service::ServiceError;

/// One browser area: where its cookies live and how its pages name it.
#[derive(Debug)]
pub struct Area {
    /// The path prefix, also the cookies' `Path`.
    pub path: &'static str,
    /// The signed-in landing page.
    pub home: &'static str,
    pub csrf_cookie: &'static str,
    /// Mixed into the CSRF token, so one area's token is no good in another.
    pub csrf_purpose: &'static str,
    pub name: &'static str,
    pub name_en: &'static str,
}

pub const PORTAL: Area = Area {
    path: "/portal",
    home: "/portal/home",
    csrf_cookie: "lc_portal_csrf",
    csrf_purpose: "livecredit portal csrf:",
    name: "当事人服务",
    name_en: "Subject portal",
};

pub const CONSOLE: Area = Area {
    path: "/console",
    home: "/console/home",
    csrf_cookie: "lc_console_csrf",
    csrf_purpose: "livecredit console csrf:",
    name: "监管工作台",
    name_en: "Console",
};

/// What every page handler needs.
pub struct Ctx {
    pub req: HttpRequest,
    pub db: web::Data<Db>,
    pub tokens: web::Data<TokenService>,
    pub settings: web::Data<Settings>,
}

impl FromRequest for Ctx {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let ctx = (|| {
            Some(Self {
                req: req.clone(),
                db: req.app_data::<web::Data<Db>>()?.clone(),
                tokens: req.app_data::<web::Data<TokenService>>()?.clone(),
                settings: req.app_data::<web::Data<Settings>>()?.clone(),
            })
        })();
        ready(ctx.ok_or_else(|| {
            actix_web::error::ErrorInternalServerError("the pages' services are not registered")
        }))
    }
}

impl Ctx {
    /// Shared state registered with the app (`Calendar`, `EvidenceStore`, …).
    pub fn app<T: 'static>(&self) -> Result<web::Data<T>, Problem> {
        self.req.app_data::<web::Data<T>>().cloned().ok_or_else(|| {
            Problem::from(ServiceError::internal(format!(
                "{} is not registered",
                std::any::type_name::<T>()
            )))
        })
    }

    /// The browser's CSRF nonce: the cookie's, or a new one to set.
    pub fn nonce(&self, area: &Area) -> (String, Option<Cookie<'static>>) {
        if let Some(c) = self.req.cookie(area.csrf_cookie) {
            if c.value().len() == 64 && c.value().bytes().all(|b| b.is_ascii_hexdigit()) {
                return (c.value().to_owned(), None);
            }
        }
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        let nonce = hex::encode(bytes);
        let cookie = self.cookie(area, area.csrf_cookie, nonce.clone(), None);
        (nonce, Some(cookie))
    }

    /// A MAC keyed by the service's secret over `purpose` and `value`.
    pub fn mac(&self, purpose: &str, value: &str) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(self.settings.jwt_secret.bytes())
            .expect("HMAC takes a key of any length");
        mac.update(purpose.as_bytes());
        mac.update(value.as_bytes());
        mac
    }

    /// The token a form carries for this browser.
    pub fn csrf_token(&self, area: &Area, nonce: &str) -> String {
        hex::encode(self.mac(area.csrf_purpose, nonce).finalize().into_bytes())
    }

    /// The CSRF token for this browser's forms, and the nonce cookie to set if it is new.
    pub fn csrf(&self, area: &Area) -> (String, Option<Cookie<'static>>) {
        let (nonce, set) = self.nonce(area);
        (self.csrf_token(area, &nonce), set)
    }

    /// Whether a form's token is this browser's (compared in constant time).
    pub fn csrf_ok(&self, area: &Area, token: &str) -> bool {
        let Some(nonce) = self.req.cookie(area.csrf_cookie) else {
            return false;
        };
        match hex::decode(token.trim()) {
            Ok(bytes) => self
                .mac(area.csrf_purpose, nonce.value())
                .verify_slice(&bytes)
                .is_ok(),
            Err(_) => false,
        }
    }

    /// A cookie of the area: `HttpOnly`, `SameSite=Strict`, its path,
    /// `Secure` unless configured off.
    pub fn cookie(
        &self,
        area: &Area,
        name: &'static str,
        value: String,
        max_age: Option<i64>,
    ) -> Cookie<'static> {
        let mut cookie = Cookie::build(name, value)
            .path(area.path)
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(self.settings.cookie_secure)
            .finish();
        if let Some(seconds) = max_age {
            cookie.set_max_age(CookieAge::seconds(seconds));
        }
        cookie
    }

    /// A cookie that tells the browser to forget `name`.
    pub fn removal(&self, area: &Area, name: &'static str) -> Cookie<'static> {
        let mut gone = self.cookie(area, name, String::new(), Some(0));
        gone.make_removal();
        gone
    }
}

pub fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .finish()
}

pub fn with_cookie(mut response: HttpResponse, cookie: Option<Cookie<'static>>) -> HttpResponse {
    if let Some(cookie) = cookie {
        let _ = response.add_cookie(&cookie);
    }
    response
}

pub fn with_retry_after(mut response: HttpResponse, retry_after: Option<u64>) -> HttpResponse {
    if let Some(seconds) = retry_after {
        if let Ok(value) = header::HeaderValue::from_str(&seconds.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
    }
    response
}

pub fn render(template: impl Template) -> String {
    template
        .render()
        .unwrap_or_else(|e| format!("<!doctype html><p>rendering failed: {e}"))
}

// ---- problems ----

/// A refusal or failure of a use case, as a page words it.
#[derive(Debug)]
pub struct Problem {
    pub status: StatusCode,
    pub zh: &'static str,
    pub en: &'static str,
    /// The service's own words (English): the rule, the deadline, the field.
    pub detail: String,
    /// The fields a refusal names, so that a form shows each next to its input.
    pub fields: Vec<(String, String)>,
    pub retry_after: Option<u64>,
}

impl Problem {
    pub fn new(status: StatusCode, zh: &'static str, en: &'static str, detail: &str) -> Self {
        Self {
            status,
            zh,
            en,
            detail: detail.to_owned(),
            fields: Vec::new(),
            retry_after: None,
        }
    }

    /// What the refusal says about `field`, if anything.
    pub fn field(&self, field: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }
}

impl From<ServiceError> for Problem {
    fn from(e: ServiceError) -> Self {
        let api = ApiError::from(e);
        let status = actix_web::ResponseError::status_code(&api);
        if let ApiError::Internal(cause) = &api {
            tracing::error!(error = format!("{cause:#}"), "internal error in a page");
        }
        let problem = api.problem();
        let fields: Vec<(String, String)> = match &api {
            ApiError::Validation(errors) => errors
                .iter()
                .map(|e| (e.field.clone(), e.message.clone()))
                .collect(),
            _ => Vec::new(),
        };
        let detail = match fields.is_empty() {
            true => problem.detail.clone(),
            false => fields
                .iter()
                .map(|(f, m)| format!("{f}: {m}"))
                .collect::<Vec<_>>()
                .join("; "),
        };
        let (zh, en) = match status.as_u16() {
            401 => ("登录信息不正确", "The sign-in details are wrong"),
            403 => ("无权办理", "You may not do this"),
            404 => ("未找到", "Not found"),
            409 => ("当前不能办理此事项", "This cannot be done now"),
            413 => ("文件超过 10 MiB", "The file is larger than 10 MiB"),
            415 => (
                "文件须为 PDF、JPEG、PNG 或 MP4",
                "Files must be PDF, JPEG, PNG or MP4",
            ),
            422 => ("填写的内容有误", "Some of the input is not valid"),
            429 => (
                "尝试次数过多，请稍后再试",
                "Too many attempts; try again later",
            ),
            503 => (
                "服务暂时不可用，请稍后再试",
                "The service is unavailable; try again shortly",
            ),
            _ => ("出现错误", "Something went wrong"),
        };
        let retry_after = match api {
            ApiError::TooManyRequests {
                retry_after_secs, ..
            } => Some(retry_after_secs.max(1)),
            ApiError::Unavailable(_) => Some(5),
            _ => None,
        };
        Self {
            status,
            zh,
            en,
            detail,
            fields,
            retry_after,
        }
    }
}

#[derive(Template)]
#[template(path = "site/message.html")]
struct MessagePage<'a> {
    area: &'a Area,
    title: &'a str,
    title_en: &'a str,
    detail: Option<&'a str>,
}

/// A page with one message (a refusal, an error, a notice) and a way back.
pub fn message_page(
    area: &Area,
    status: StatusCode,
    title: &str,
    title_en: &str,
    detail: Option<&str>,
) -> HttpResponse {
    let page = MessagePage {
        area,
        title,
        title_en,
        detail,
    };
    html(status, render(page))
}

pub fn problem_page(area: &Area, problem: Problem) -> HttpResponse {
    let response = message_page(
        area,
        problem.status,
        problem.zh,
        problem.en,
        Some(&problem.detail),
    );
    with_retry_after(response, problem.retry_after)
}

pub fn csrf_refused(area: &Area) -> HttpResponse {
    message_page(
        area,
        StatusCode::FORBIDDEN,
        "表单已失效，请返回后重新提交",
        "The form has expired; go back, reload the page and submit again",
        None,
    )
}

/// A form that cannot be read (not URL-encoded, or malformed) answers a page, not JSON.
pub fn form_config(area: &'static Area) -> web::FormConfig {
    web::FormConfig::default()
        .limit(256 * 1024)
        .error_handler(move |err, _req| {
            let page = message_page(
                area,
                StatusCode::BAD_REQUEST,
                "表单无法读取",
                "The form could not be read",
                Some(&err.to_string()),
            );
            actix_web::error::InternalError::from_response(err, page).into()
        })
}

// ---- multipart forms ----

/// A file of a multipart form: its name, declared type and bytes.
#[derive(Debug)]
pub struct SubmittedFile {
    pub file_name: Option<String>,
    pub declared_type: Option<String>,
    pub content: Vec<u8>,
}

/// A form's text fields (in order, a name repeated for each checked box)
/// and, for a multipart form, its files.
#[derive(Debug, Default)]
pub struct Submitted {
    pub fields: Vec<(String, String)>,
    pub files: Vec<SubmittedFile>,
}

impl Submitted {
    /// A URL-encoded form's fields.
    pub fn of(fields: Vec<(String, String)>) -> Self {
        Self {
            fields,
            files: Vec::new(),
        }
    }

    /// The field's (first) value; empty when absent.
    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().to_owned()
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The field's value, `None` when absent or blank.
    pub fn optional(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    }

    /// Whether a checkbox named so was checked.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Every value of a repeated field (checkboxes).
    pub fn all(&self, name: &str) -> Vec<String> {
        self.fields
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

/// Reads a multipart form: text fields up to 64 KiB each, at most
/// `max_files` files of at most `max_file_bytes` each (empty file inputs
/// skipped).
pub async fn read_form(
    mut form: Multipart,
    max_files: usize,
    max_file_bytes: usize,
) -> Result<Submitted, Problem> {
    let unreadable = |e: &dyn std::fmt::Display| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "表单无法读取",
            "The form could not be read",
            &e.to_string(),
        )
    };
    let mut out = Submitted::default();
    while let Some(field) = form.next().await {
        let mut field = field.map_err(|e| unreadable(&e))?;
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field
            .content_disposition()
            .and_then(|d| d.get_filename())
            .map(str::to_owned);
        let is_file = file_name.is_some();
        let limit = if is_file { max_file_bytes } else { 64 * 1024 };
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|e| unreadable(&e))?;
            if bytes.len() + chunk.len() > limit {
                return Err(if max_file_bytes == MAX_EVIDENCE_BYTES {
                    Problem::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "文件超过 10 MiB",
                        "The file is larger than 10 MiB",
                        "each file may be at most 10 MiB",
                    )
                } else {
                    Problem::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "文件过大",
                        "The file is too large",
                        &format!("a file may be at most {limit} bytes"),
                    )
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        if is_file {
            if bytes.is_empty() {
                continue;
            }
            if out.files.len() == max_files {
                return Err(Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "文件过多",
                    "Too many files",
                    &format!("at most {max_files} files at once"),
                ));
            }
            let declared_type = field.content_type().map(|m| m.essence_str().to_owned());
            out.files.push(SubmittedFile {
                file_name,
                declared_type,
                content: bytes,
            });
        } else {
            let text = String::from_utf8(bytes).map_err(|_| unreadable(&"a field is not UTF-8"))?;
            out.fields.push((name, text));
        }
    }
    Ok(out)
}

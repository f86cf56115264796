//! The listed subject's portal in the browser (CONTRACT §6.5): sign in with
//! the notice's number and access code, read what the registry holds and
//! the documents served, lodge a statement (and ask for a hearing) inside
//! the window, apply for credit repair with evidence files, answer a
//! supplement request, and follow every deadline.
//!
//! A door like the JSON API: every step is the same use case in `service`,
//! acting as `Actor::Subject`, so the rules, refusals and audit entries are
//! the API's. The session is the portal's bearer token in an `HttpOnly`,
//! `SameSite=Strict` cookie (`Secure` unless `LIVECREDIT_COOKIE_SECURE=false`);
//! every form carries a CSRF token, an HMAC of a random per-browser cookie.
//! No JavaScript; the pages are askama templates sharing `templates/site/`.

use actix_multipart::Multipart;
use actix_web::cookie::{time::Duration as CookieAge, Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{NaiveDate, Utc};
use futures_util::StreamExt;
use hmac::{Hmac, KeyInit, Mac};
use rand::RngCore;
use serde::Deserialize;
use sha2::Sha256;

use super::html;
use crate::auth::address::client_address;
use crate::auth::tokens::{TokenService, ACCESS_TOKEN_SECONDS};
use crate::config::Settings;
use crate::db::Db;
use crate::domain::calendar::Calendar;
use crate::domain::evidence::MAX_EVIDENCE_BYTES;
use crate::domain::procedure::{repair_opens_on, HearingStatus, Status};
use crate::domain::repairs::{Channel, RepairStatus};
use crate::domain::scoring::{Category, Severity};
use crate::infra::evidence::EvidenceStore;
use crate::service::documents::{self, DocumentKind};
use crate::service::evidence::{self, Upload};
use crate::service::listings::{self, ListingView, LodgeObjection};
use crate::service::page::PageRequest;
use crate::service::portal::{self, PortalSignIn};
use crate::service::repairs::{self, ApplyForRepair, Commitment, RepairView, SupplementRepair};
use crate::service::scores::{self, ScoreView};
use crate::service::subjects::{self, SubjectView};
use crate::service::violations::{self, EvidenceItem, ViolationView};
use crate::service::{Actor, Party, ServiceError};

const SESSION_COOKIE: &str = "lc_portal";
const CSRF_COOKIE: &str = "lc_portal_csrf";
/// Files one form may carry.
const MAX_FILES: usize = 5;

/// The portal's routes, under `/portal`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/portal")
            .app_data(form_config())
            .route("", web::get().to(sign_in_page))
            .route("/session", web::post().to(sign_in))
            .route("/logout", web::post().to(sign_out))
            .route("/home", web::get().to(home))
            .route("/statement", web::post().to(lodge_statement))
            .route("/repairs", web::post().to(apply_for_repair))
            .route(
                "/repairs/{id}/supplement",
                web::post().to(supplement_repair),
            )
            .route("/repairs/{id}/decision", web::get().to(repair_decision))
            .route("/documents/{kind}", web::get().to(document))
            .route("/evidence/{id}", web::get().to(download_evidence)),
    );
}

/// A form that cannot be read (not URL-encoded, or malformed) answers a page, not JSON.
fn form_config() -> web::FormConfig {
    web::FormConfig::default()
        .limit(256 * 1024)
        .error_handler(|err, _req| {
            let page = message_page(
                StatusCode::BAD_REQUEST,
                "表单无法读取",
                "The form could not be read",
                Some(&err.to_string()),
            );
            actix_web::error::InternalError::from_response(err, page).into()
        })
}

// ---- session and CSRF ----

/// What every handler needs.
struct Ctx {
    req: HttpRequest,
    db: web::Data<Db>,
    tokens: web::Data<TokenService>,
    settings: web::Data<Settings>,
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
            actix_web::error::ErrorInternalServerError("the portal's services are not registered")
        }))
    }
}

impl Ctx {
    /// The signed-in subject, if the session cookie holds a live portal token
    /// (a new access code, or its expiry, ends it).
    async fn party(&self) -> Result<Option<Party>, ServiceError> {
        let Some(token) = self
            .req
            .cookie(SESSION_COOKIE)
            .map(|c| c.value().to_owned())
        else {
            return Ok(None);
        };
        let Some(claims) = self.tokens.verify(&token, Utc::now()) else {
            return Ok(None);
        };
        if claims.role != portal::SUBJECT_ROLE {
            return Ok(None);
        }
        self.db
            .run(move |conn| portal::token_holder(conn, &claims))
            .await
    }

    /// The browser's CSRF nonce: the cookie's, or a new one to set.
    fn nonce(&self) -> (String, Option<Cookie<'static>>) {
        if let Some(c) = self.req.cookie(CSRF_COOKIE) {
            if c.value().len() == 64 && c.value().bytes().all(|b| b.is_ascii_hexdigit()) {
                return (c.value().to_owned(), None);
            }
        }
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        let nonce = hex::encode(bytes);
        let cookie = self.cookie(CSRF_COOKIE, nonce.clone(), None);
        (nonce, Some(cookie))
    }

    fn csrf_mac(&self, nonce: &str) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(self.settings.jwt_secret.bytes())
            .expect("HMAC takes a key of any length");
        mac.update(b"livecredit portal csrf:");
        mac.update(nonce.as_bytes());
        mac
    }

    /// The token a form carries for this browser.
    fn csrf_token(&self, nonce: &str) -> String {
        hex::encode(self.csrf_mac(nonce).finalize().into_bytes())
    }

    /// Whether a form's token is this browser's (compared in constant time).
    fn csrf_ok(&self, token: &str) -> bool {
        let Some(nonce) = self.req.cookie(CSRF_COOKIE) else {
            return false;
        };
        match hex::decode(token.trim()) {
            Ok(bytes) => self.csrf_mac(nonce.value()).verify_slice(&bytes).is_ok(),
            Err(_) => false,
        }
    }

    /// A cookie of the portal: `HttpOnly`, `SameSite=Strict`, `Path=/portal`,
    /// `Secure` unless configured off.
    fn cookie(&self, name: &'static str, value: String, max_age: Option<i64>) -> Cookie<'static> {
        let mut cookie = Cookie::build(name, value)
            .path("/portal")
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(self.settings.cookie_secure)
            .finish();
        if let Some(seconds) = max_age {
            cookie.set_max_age(CookieAge::seconds(seconds));
        }
        cookie
    }
}

fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .finish()
}

/// The page for a request without a live session: the sign-in page.
fn signed_out() -> HttpResponse {
    redirect("/portal?expired=1")
}

// ---- pages ----

#[derive(Template)]
#[template(path = "portal/sign_in.html")]
struct SignInPage<'a> {
    csrf: &'a str,
    notice_no: &'a str,
    error: Option<(&'a str, &'a str)>,
    info: Option<(&'a str, &'a str)>,
}

#[derive(Template)]
#[template(path = "portal/message.html")]
struct MessagePage<'a> {
    title: &'a str,
    title_en: &'a str,
    detail: Option<&'a str>,
}

fn message_page(
    status: StatusCode,
    title: &str,
    title_en: &str,
    detail: Option<&str>,
) -> HttpResponse {
    let page = MessagePage {
        title,
        title_en,
        detail,
    };
    html(status, page.render().unwrap_or_else(|e| format!("{e}")))
}

/// A refusal or failure of a use case, as the portal words it.
struct Problem {
    status: StatusCode,
    zh: &'static str,
    en: &'static str,
    /// The service's own words (English): the rule, the deadline, the field.
    detail: String,
    retry_after: Option<u64>,
}

impl From<ServiceError> for Problem {
    fn from(e: ServiceError) -> Self {
        let api = crate::error::ApiError::from(e);
        let status = actix_web::ResponseError::status_code(&api);
        if let crate::error::ApiError::Internal(cause) = &api {
            tracing::error!(error = format!("{cause:#}"), "internal error in the portal");
        }
        let problem = api.problem();
        let detail = match &api {
            crate::error::ApiError::Validation(errors) => errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; "),
            _ => problem.detail.clone(),
        };
        let (zh, en) = match status.as_u16() {
            401 => (
                "通知书文号或访问码不正确",
                "The notice number or access code is wrong",
            ),
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
            crate::error::ApiError::TooManyRequests {
                retry_after_secs, ..
            } => Some(retry_after_secs.max(1)),
            crate::error::ApiError::Unavailable(_) => Some(5),
            _ => None,
        };
        Self {
            status,
            zh,
            en,
            detail,
            retry_after,
        }
    }
}

fn with_retry_after(mut response: HttpResponse, retry_after: Option<u64>) -> HttpResponse {
    if let Some(seconds) = retry_after {
        if let Ok(value) = header::HeaderValue::from_str(&seconds.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
    }
    response
}

fn problem_page(problem: Problem) -> HttpResponse {
    let response = message_page(
        problem.status,
        problem.zh,
        problem.en,
        Some(&problem.detail),
    );
    with_retry_after(response, problem.retry_after)
}

fn with_cookie(mut response: HttpResponse, cookie: Option<Cookie<'static>>) -> HttpResponse {
    if let Some(cookie) = cookie {
        let _ = response.add_cookie(&cookie);
    }
    response
}

#[derive(Debug, Default, Deserialize)]
struct SignInQuery {
    expired: Option<String>,
    signed_out: Option<String>,
}

async fn sign_in_page(ctx: Ctx) -> HttpResponse {
    if let Ok(Some(_)) = ctx.party().await {
        return redirect("/portal/home");
    }
    let query = web::Query::<SignInQuery>::from_query(ctx.req.query_string())
        .map(web::Query::into_inner)
        .unwrap_or_default();
    let info = if query.expired.is_some() {
        Some((
            "请重新登录：会话已结束或已失效。",
            "Please sign in again: the session ended.",
        ))
    } else if query.signed_out.is_some() {
        Some(("已退出。", "You have signed out."))
    } else {
        None
    };
    let (nonce, set) = ctx.nonce();
    let page = SignInPage {
        csrf: &ctx.csrf_token(&nonce),
        notice_no: "",
        error: None,
        info,
    };
    with_cookie(html(StatusCode::OK, render(page)), set)
}

fn render(template: impl Template) -> String {
    template
        .render()
        .unwrap_or_else(|e| format!("<!doctype html><p>rendering failed: {e}"))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SignInForm {
    notice_no: String,
    access_code: String,
    csrf: String,
}

fn csrf_refused() -> HttpResponse {
    message_page(
        StatusCode::FORBIDDEN,
        "表单已失效，请返回后重新提交",
        "The form has expired; go back, reload the page and submit again",
        None,
    )
}

async fn sign_in(ctx: Ctx, form: web::Form<SignInForm>) -> HttpResponse {
    let form = form.into_inner();
    if !ctx.csrf_ok(&form.csrf) {
        return csrf_refused();
    }
    let address = client_address(&ctx.req, &ctx.settings.trusted_proxies);
    let input = PortalSignIn {
        notice_no: form.notice_no.clone(),
        access_code: form.access_code,
    };
    match portal::sign_in(&ctx.db, &ctx.tokens, input, &address).await {
        Ok(session) => {
            let cookie = ctx.cookie(
                SESSION_COOKIE,
                session.access_token,
                Some(ACCESS_TOKEN_SECONDS),
            );
            with_cookie(redirect("/portal/home"), Some(cookie))
        }
        Err(e) => {
            let problem = Problem::from(e);
            let (nonce, set) = ctx.nonce();
            let page = SignInPage {
                csrf: &ctx.csrf_token(&nonce),
                notice_no: &form.notice_no,
                error: Some((problem.zh, problem.en)),
                info: None,
            };
            let response = with_cookie(html(problem.status, render(page)), set);
            with_retry_after(response, problem.retry_after)
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CsrfForm {
    csrf: String,
}

async fn sign_out(ctx: Ctx, form: web::Form<CsrfForm>) -> HttpResponse {
    if !ctx.csrf_ok(&form.csrf) {
        return csrf_refused();
    }
    let mut gone = ctx.cookie(SESSION_COOKIE, String::new(), Some(0));
    gone.make_removal();
    with_cookie(redirect("/portal?signed_out=1"), Some(gone))
}

// ---- the subject's page ----

/// One deadline or date of the procedure, as shown.
struct Deadline {
    zh: &'static str,
    en: &'static str,
    date: NaiveDate,
    /// The day has passed.
    passed: bool,
}

/// One violation as shown.
struct ViolationRow {
    category: (&'static str, &'static str),
    severity: (&'static str, &'static str),
    decided_on: Option<NaiveDate>,
    decision_no: Option<String>,
    description: String,
    repaired_on: Option<NaiveDate>,
    revoked: bool,
}

/// One repair application as shown.
struct RepairRow {
    view: RepairView,
    status: (&'static str, &'static str),
    /// Waiting for the subject's supplement.
    awaiting_supplement: bool,
    /// A written decision exists.
    has_document: bool,
}

#[derive(Template)]
#[template(path = "portal/home.html")]
struct HomePage<'a> {
    csrf: &'a str,
    subject: &'a SubjectView,
    kind: (&'static str, &'static str),
    listing: &'a ListingView,
    status: (&'static str, &'static str),
    hearing: Option<(&'static str, &'static str)>,
    deadlines: Vec<Deadline>,
    violations: Vec<ViolationRow>,
    score: &'a ScoreView,
    repairs: Vec<RepairRow>,
    statement_open: bool,
    repair_opens_on: Option<NaiveDate>,
    can_apply: bool,
    done: Option<(&'static str, &'static str)>,
    /// A refused form: which one, the problem, and the service's words.
    error: Option<(&'a str, &'a str, &'a str, &'a str)>,
    max_files: usize,
}

/// Everything the subject's page shows, read as the subject.
struct Overview {
    subject: SubjectView,
    listing: ListingView,
    violations: Vec<ViolationView>,
    score: ScoreView,
}

async fn overview(db: &Db, party: &Party) -> Result<Overview, ServiceError> {
    let actor = Actor::Subject(party.clone());
    let party = party.clone();
    db.run(move |conn| {
        let subject = subjects::get(conn, &actor, &party.subject_id)?;
        let listing = listings::get(conn, &actor, &party.listing_id)?;
        let page = PageRequest::parse(Some(500), None)?;
        let violations = violations::list_of_subject(conn, &actor, &party.subject_id, &page)?.items;
        let score = scores::explain(conn, &actor, &party.subject_id, None)?;
        Ok(Overview {
            subject,
            listing,
            violations,
            score,
        })
    })
    .await
}

#[derive(Debug, Default, Deserialize)]
struct HomeQuery {
    done: Option<String>,
}

async fn home(ctx: Ctx) -> HttpResponse {
    let done = web::Query::<HomeQuery>::from_query(ctx.req.query_string())
        .ok()
        .and_then(|q| q.into_inner().done)
        .and_then(|d| match d.as_str() {
            "statement" => Some(("陈述申辩已提交。", "Your statement has been lodged.")),
            "repair" => Some((
                "信用修复申请已提交。",
                "Your credit repair application has been submitted.",
            )),
            "supplement" => Some(("补正材料已提交。", "Your supplement has been submitted.")),
            _ => None,
        });
    home_page(&ctx, StatusCode::OK, done, None).await
}

/// The subject's page, with a message after a step or a refused form.
async fn home_page(
    ctx: &Ctx,
    status: StatusCode,
    done: Option<(&'static str, &'static str)>,
    error: Option<(&str, Problem)>,
) -> HttpResponse {
    let party = match ctx.party().await {
        Ok(Some(party)) => party,
        Ok(None) => return signed_out(),
        Err(e) => return problem_page(e.into()),
    };
    let overview = match overview(&ctx.db, &party).await {
        Ok(o) => o,
        Err(e) => return problem_page(e.into()),
    };
    let today = crate::service::today();
    let listing = &overview.listing;
    let mut deadlines = Vec::new();
    let mut add = |zh, en, date: Option<NaiveDate>| {
        if let Some(date) = date {
            deadlines.push(Deadline {
                zh,
                en,
                date,
                passed: date < today,
            });
        }
    };
    add("告知书送达", "Notice served", listing.served_on);
    add(
        "陈述申辩截止（含当日）",
        "Last day for a statement or hearing request",
        listing.objection_deadline,
    );
    add("列入决定", "Decision to list", listing.decided_on);
    add("公示", "Published", listing.published_on);
    let opens = listing.listed_on.map(repair_opens_on);
    add(
        "可申请信用修复",
        "Credit repair may be applied for from",
        opens,
    );
    add("公示期届满（含当日）", "Listed through", listing.expires_on);
    add(
        "信用修复禁止申请至",
        "No repair application through",
        listing.repair_barred_until,
    );
    let statement_open =
        listing.status == Status::Noticed && listing.objection_deadline.is_some_and(|d| today <= d);
    let repairs: Vec<RepairRow> = listing
        .repairs
        .iter()
        .rev()
        .map(|r| RepairRow {
            status: repair_status_label(r.status),
            awaiting_supplement: r.status == RepairStatus::SupplementRequested,
            has_document: r.decided_on.is_some() || r.status == RepairStatus::Refused,
            view: r.clone(),
        })
        .collect();
    let repair_open = listing.repairs.iter().any(|r| r.status.is_open());
    let can_apply = listing.status == Status::Listed && !repair_open;
    let violations = overview
        .violations
        .iter()
        .map(|v| ViolationRow {
            category: category_label(v.category),
            severity: severity_label(v.severity),
            decided_on: v.decided_on,
            decision_no: v.decision_no.clone(),
            description: v.description.clone(),
            repaired_on: v.repaired_on,
            revoked: v.revoked_on.is_some(),
        })
        .collect();
    let (nonce, set) = ctx.nonce();
    let csrf = ctx.csrf_token(&nonce);
    let retry_after = error.as_ref().and_then(|(_, p)| p.retry_after);
    let error_parts = error
        .as_ref()
        .map(|(form, p)| (*form, p.zh, p.en, p.detail.as_str()));
    let page = HomePage {
        csrf: &csrf,
        subject: &overview.subject,
        kind: overview.subject.kind.labels(),
        listing,
        status: status_label(listing.status),
        hearing: listing.hearing_status.map(hearing_label),
        deadlines,
        violations,
        score: &overview.score,
        repairs,
        statement_open,
        repair_opens_on: opens,
        can_apply,
        done,
        error: error_parts,
        max_files: MAX_FILES,
    };
    with_retry_after(with_cookie(html(status, render(page)), set), retry_after)
}

// ---- the steps ----

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct StatementForm {
    statement: String,
    hearing: Option<String>,
    csrf: String,
}

async fn lodge_statement(ctx: Ctx, form: web::Form<StatementForm>) -> HttpResponse {
    if !ctx.csrf_ok(&form.csrf) {
        return csrf_refused();
    }
    let party = match ctx.party().await {
        Ok(Some(party)) => party,
        Ok(None) => return signed_out(),
        Err(e) => return problem_page(e.into()),
    };
    let form = form.into_inner();
    let input = LodgeObjection {
        statement: form.statement,
        received_on: None,
        hearing_requested: form.hearing.is_some(),
    };
    let actor = Actor::Subject(party.clone());
    let result = ctx
        .db
        .write(move |conn| listings::lodge_objection(conn, &actor, &party.listing_id, input))
        .await;
    match result {
        Ok(_) => redirect("/portal/home?done=statement"),
        Err(e) => {
            let problem = Problem::from(e);
            home_page(&ctx, problem.status, None, Some(("statement", problem))).await
        }
    }
}

/// A multipart form's text fields and files.
#[derive(Default)]
struct Submitted {
    fields: std::collections::HashMap<String, String>,
    files: Vec<(Option<String>, Option<String>, Vec<u8>)>,
}

impl Submitted {
    fn text(&self, name: &str) -> String {
        self.fields.get(name).cloned().unwrap_or_default()
    }
}

/// Reads a multipart form: text fields up to 64 KiB each, at most
/// [`MAX_FILES`] files of at most 10 MiB each (empty file inputs skipped).
async fn read_form(mut form: Multipart) -> Result<Submitted, Problem> {
    let refuse = |status: StatusCode, zh, en, detail: &str| Problem {
        status,
        zh,
        en,
        detail: detail.to_owned(),
        retry_after: None,
    };
    let mut out = Submitted::default();
    while let Some(field) = form.next().await {
        let mut field = field.map_err(|e| {
            refuse(
                StatusCode::BAD_REQUEST,
                "表单无法读取",
                "The form could not be read",
                &e.to_string(),
            )
        })?;
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field
            .content_disposition()
            .and_then(|d| d.get_filename())
            .map(str::to_owned);
        let is_file = file_name.is_some();
        let limit = if is_file {
            MAX_EVIDENCE_BYTES
        } else {
            64 * 1024
        };
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|e| {
                refuse(
                    StatusCode::BAD_REQUEST,
                    "表单无法读取",
                    "The form could not be read",
                    &e.to_string(),
                )
            })?;
            if bytes.len() + chunk.len() > limit {
                return Err(refuse(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "文件超过 10 MiB",
                    "The file is larger than 10 MiB",
                    "each file may be at most 10 MiB",
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        if is_file {
            if bytes.is_empty() {
                continue;
            }
            if out.files.len() == MAX_FILES {
                return Err(refuse(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "文件过多",
                    "Too many files",
                    &format!("at most {MAX_FILES} files at once"),
                ));
            }
            let declared = field.content_type().map(|m| m.essence_str().to_owned());
            out.files.push((file_name, declared, bytes));
        } else {
            let text = String::from_utf8(bytes).map_err(|_| {
                refuse(
                    StatusCode::BAD_REQUEST,
                    "表单无法读取",
                    "The form could not be read",
                    "a field is not UTF-8",
                )
            })?;
            out.fields.insert(name, text);
        }
    }
    Ok(out)
}

/// Stores the form's files as the subject's evidence; answers their items.
async fn store_files(
    ctx: &Ctx,
    party: &Party,
    files: Vec<(Option<String>, Option<String>, Vec<u8>)>,
) -> Result<Vec<EvidenceItem>, Problem> {
    let store = ctx
        .req
        .app_data::<web::Data<EvidenceStore>>()
        .cloned()
        .ok_or_else(|| Problem::from(ServiceError::internal("EvidenceStore not registered")))?;
    let mut items = Vec::new();
    for (file_name, declared_type, content) in files {
        let upload = Upload {
            content,
            declared_type,
            file_name,
        };
        let view = evidence::upload(&ctx.db, &store, Actor::Subject(party.clone()), upload)
            .await
            .map_err(Problem::from)?;
        items.push(view.item);
    }
    Ok(items)
}

async fn apply_for_repair(ctx: Ctx, form: Multipart) -> HttpResponse {
    let submitted = match read_form(form).await {
        Ok(s) => s,
        Err(problem) => {
            return home_page(&ctx, problem.status, None, Some(("repair", problem))).await
        }
    };
    if !ctx.csrf_ok(&submitted.text("csrf")) {
        return csrf_refused();
    }
    let party = match ctx.party().await {
        Ok(Some(party)) => party,
        Ok(None) => return signed_out(),
        Err(e) => return problem_page(e.into()),
    };
    let today = crate::service::today();
    let Submitted { fields, files } = submitted;
    let field = |name: &str| fields.get(name).cloned().unwrap_or_default();
    let evidence = match store_files(&ctx, &party, files).await {
        Ok(items) => items,
        Err(problem) => {
            return home_page(&ctx, problem.status, None, Some(("repair", problem))).await
        }
    };
    let input = ApplyForRepair {
        statement: field("statement"),
        commitment: Commitment {
            text: field("commitment"),
            signed_on: today,
        },
        penalty_fulfilled: fields.contains_key("penalty_fulfilled"),
        harm_removed: fields.contains_key("harm_removed"),
        evidence,
        channel: Some(Channel::Online),
        applied_on: None,
    };
    let calendar = match ctx.req.app_data::<web::Data<Calendar>>().cloned() {
        Some(c) => c,
        None => return problem_page(ServiceError::internal("Calendar not registered").into()),
    };
    let actor = Actor::Subject(party.clone());
    let result = ctx
        .db
        .write(move |conn| repairs::apply(conn, &actor, &calendar, &party.listing_id, input))
        .await;
    match result {
        Ok(_) => redirect("/portal/home?done=repair"),
        Err(e) => {
            let problem = Problem::from(e);
            home_page(&ctx, problem.status, None, Some(("repair", problem))).await
        }
    }
}

async fn supplement_repair(ctx: Ctx, path: web::Path<String>, form: Multipart) -> HttpResponse {
    let submitted = match read_form(form).await {
        Ok(s) => s,
        Err(problem) => {
            return home_page(&ctx, problem.status, None, Some(("supplement", problem))).await
        }
    };
    if !ctx.csrf_ok(&submitted.text("csrf")) {
        return csrf_refused();
    }
    let party = match ctx.party().await {
        Ok(Some(party)) => party,
        Ok(None) => return signed_out(),
        Err(e) => return problem_page(e.into()),
    };
    let statement = submitted.text("statement");
    let evidence = match store_files(&ctx, &party, submitted.files).await {
        Ok(items) => items,
        Err(problem) => {
            return home_page(&ctx, problem.status, None, Some(("supplement", problem))).await
        }
    };
    let (id, actor) = (path.into_inner(), Actor::Subject(party));
    let input = SupplementRepair {
        statement,
        evidence,
    };
    let Some(calendar) = ctx.req.app_data::<web::Data<Calendar>>().cloned() else {
        return problem_page(ServiceError::internal("Calendar not registered").into());
    };
    let result = ctx
        .db
        .write(move |conn| repairs::supplement(conn, &actor, &calendar, &id, input))
        .await;
    match result {
        Ok(_) => redirect("/portal/home?done=supplement"),
        Err(e) => {
            let problem = Problem::from(e);
            home_page(&ctx, problem.status, None, Some(("supplement", problem))).await
        }
    }
}

// ---- documents and files ----

async fn document(ctx: Ctx, path: web::Path<String>) -> HttpResponse {
    let kind = match path.as_str() {
        "notice" => DocumentKind::Notice,
        "decision" => DocumentKind::Decision,
        _ => return message_page(StatusCode::NOT_FOUND, "未找到", "Not found", None),
    };
    let party = match ctx.party().await {
        Ok(Some(party)) => party,
        Ok(None) => return signed_out(),
        Err(e) => return problem_page(e.into()),
    };
    let actor = Actor::Subject(party.clone());
    let result = ctx
        .db
        .write(move |conn| documents::get(conn, &actor, &party.listing_id, kind))
        .await;
    match result.map(|d| super::documents::render(&d)) {
        Ok(Ok(page)) => html(StatusCode::OK, page),
        Ok(Err(e)) => {
            problem_page(ServiceError::internal(format!("rendering a document: {e}")).into())
        }
        Err(e) => problem_page(e.into()),
    }
}

async fn repair_decision(ctx: Ctx, path: web::Path<String>) -> HttpResponse {
    let party = match ctx.party().await {
        Ok(Some(party)) => party,
        Ok(None) => return signed_out(),
        Err(e) => return problem_page(e.into()),
    };
    let Some(id) = crate::service::canonical_id(&path) else {
        return message_page(StatusCode::NOT_FOUND, "未找到", "Not found", None);
    };
    let actor = Actor::Subject(party);
    let result = ctx
        .db
        .write(move |conn| repairs::decision_document(conn, &actor, &id))
        .await;
    match result.map(|d| super::documents::render_repair_decision(&d)) {
        Ok(Ok(page)) => html(StatusCode::OK, page),
        Ok(Err(e)) => {
            problem_page(ServiceError::internal(format!("rendering a document: {e}")).into())
        }
        Err(e) => problem_page(e.into()),
    }
}

async fn download_evidence(ctx: Ctx, path: web::Path<String>) -> HttpResponse {
    let party = match ctx.party().await {
        Ok(Some(party)) => party,
        Ok(None) => return signed_out(),
        Err(e) => return problem_page(e.into()),
    };
    let Some(store) = ctx.req.app_data::<web::Data<EvidenceStore>>().cloned() else {
        return problem_page(ServiceError::internal("EvidenceStore not registered").into());
    };
    match evidence::download(&ctx.db, &store, Actor::Subject(party), &path).await {
        Ok(download) => super::attachment(download),
        Err(e) => problem_page(e.into()),
    }
}

// ---- labels ----

fn status_label(status: Status) -> (&'static str, &'static str) {
    match status {
        Status::Proposed => ("拟列入", "Proposed"),
        Status::Noticed => (
            "已告知，陈述申辩期内",
            "Notice served; the window for your statement is open",
        ),
        Status::Listed => ("已列入严重违法失信名单并公示", "Listed and published"),
        Status::NotListed => ("决定不予列入", "Decided not to list"),
        Status::Expired => ("公示期届满，已移出", "The listing period has ended"),
        Status::Removed => ("已信用修复，移出名单", "Removed after credit repair"),
        Status::Revoked => ("已撤销", "Revoked"),
    }
}

fn hearing_label(status: HearingStatus) -> (&'static str, &'static str) {
    match status {
        HearingStatus::Requested => ("已申请，待举行", "Requested; to be held"),
        HearingStatus::Held => ("已举行", "Held"),
        HearingStatus::Withdrawn => ("已撤回", "Withdrawn"),
    }
}

fn repair_status_label(status: RepairStatus) -> (&'static str, &'static str) {
    match status {
        RepairStatus::Submitted => ("已提交，待受理", "Submitted; to be accepted"),
        RepairStatus::SupplementRequested => ("需补正材料", "Supplement requested"),
        RepairStatus::Accepted => ("已受理，审查中", "Accepted; being decided"),
        RepairStatus::Approved => ("准予信用修复", "Approved"),
        RepairStatus::Rejected => ("不予信用修复", "Rejected"),
        RepairStatus::Refused => ("不予受理", "Not accepted"),
    }
}

fn category_label(category: Category) -> (&'static str, &'static str) {
    match category {
        Category::FalseAdvertising => ("虚假或引人误解的宣传", "False or misleading advertising"),
        Category::PriceFraud => ("价格欺诈", "Price fraud"),
        Category::OffPlatformTransaction => ("诱导私下交易", "Luring buyers off the platform"),
        Category::DataFraud => (
            "数据造假（销量、观看量等）",
            "Faked sales or audience figures",
        ),
        Category::SubstandardProduct => ("销售不合格商品", "Substandard goods"),
        Category::AfterSalesRefusal => {
            ("拒不履行售后义务", "Refused returns or after-sales duties")
        }
        Category::Other => ("其他违法行为", "Other violation"),
    }
}

fn severity_label(severity: Severity) -> (&'static str, &'static str) {
    match severity {
        Severity::Minor => ("轻微", "Minor"),
        Severity::General => ("一般", "General"),
        Severity::Serious => ("严重", "Serious"),
        Severity::EspeciallySerious => ("特别严重", "Especially serious"),
    }
}

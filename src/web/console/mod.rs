//! The staff console in the browser (CONTRACT §6.8): regulators work their
//! queues and take a case through the procedure, auditors read and verify
//! the audit chain, admins keep the organization tree and the users,
//! platforms screen by form or CSV upload and follow their watchlist and
//! webhook deliveries.
//!
//! A door like the JSON API: every page reads and every form writes through
//! the same use case in `service`, as the signed-in user, so the rules,
//! refusals and audit entries are the API's. No JavaScript; askama
//! templates under `templates/console/` on the shared `templates/site/`.
//!
//! The session: sign-in is the API's login (same accounts, Argon2, throttle
//! and audit entry). The access token rides in an `HttpOnly`,
//! `SameSite=Strict` cookie under `/console` (`Secure` unless
//! `LIVECREDIT_COOKIE_SECURE=false`) and is renewed on a click once it is a
//! minute old, so that [`IDLE_SECONDS`] without a click end the session;
//! a signed start time ends it [`ABSOLUTE_SECONDS`] after sign-in whatever
//! the activity. Every click re-reads the user: a disabled user, or one
//! whose role changed, is out at the next click. Sign-out revokes the
//! refresh token family of the sign-in.

mod cases;
mod oversight;
mod platform;

use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::Utc;
use serde::Deserialize;

use super::html;
use super::session::{
    csrf_refused, form_config, message_page, problem_page, redirect, render, with_cookie,
    with_retry_after, Ctx, Problem, CONSOLE,
};
use crate::auth::address::client_address;
use crate::auth::password::DecoyHash;
use crate::auth::tokens::ACCESS_TOKEN_SECONDS;
use crate::domain::accounts::Role;
use crate::service::accounts::{self, LoginRequest};
use crate::service::work::{self, Queue, QueueKind};
use crate::service::{portal, Actor, ServiceError};
use crate::web::labels::role_label;

const SESSION_COOKIE: &str = "lc_console";
const REFRESH_COOKIE: &str = "lc_console_refresh";
const SINCE_COOKIE: &str = "lc_console_since";
const SINCE_PURPOSE: &str = "livecredit console session start:";

/// Without a click for this long the session ends (the access token's life).
pub const IDLE_SECONDS: i64 = ACCESS_TOKEN_SECONDS;
/// However busy, a session ends this long after sign-in (one working day).
pub const ABSOLUTE_SECONDS: i64 = 10 * 3600;
/// A token older than this is renewed on the next click.
const RENEW_AFTER_SECONDS: i64 = 60;

/// The console's routes, under `/console`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/console")
            .app_data(form_config(&CONSOLE))
            .app_data(web::PayloadConfig::new(4 * 1024 * 1024))
            .route("", web::get().to(sign_in_page))
            .route("/session", web::post().to(sign_in))
            .route("/logout", web::post().to(sign_out))
            .route("/home", web::get().to(home))
            .route("/work", web::get().to(my_work))
            .configure(cases::routes)
            .configure(platform::routes)
            .configure(oversight::routes)
            .default_service(web::to(not_found)),
    );
}

// ---- the session ----

/// The signed-in user, as the database knows them now.
pub struct Staffer {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub organization_id: String,
    pub can_approve: bool,
    /// Cookies the response must carry (a renewed token, a new CSRF nonce).
    cookies: Vec<Cookie<'static>>,
    csrf: Option<String>,
}

impl Staffer {
    pub fn actor(&self) -> Actor {
        Actor::user(&self.id, &self.organization_id, self.role)
    }

    /// This browser's CSRF token for the page's forms.
    pub fn csrf(&mut self, ctx: &Ctx) -> String {
        if let Some(token) = &self.csrf {
            return token.clone();
        }
        let (token, set) = ctx.csrf(&CONSOLE);
        self.cookies.extend(set);
        self.csrf = Some(token.clone());
        token
    }

    /// The frame of every page: who is signed in, the sections of their role.
    pub fn chrome(&mut self, ctx: &Ctx, current: &'static str) -> Chrome {
        let sections: &[(&str, &str, &str)] = match self.role {
            Role::Regulator => &[
                ("work", "我的待办", "My work"),
                ("subjects", "当事人与案件", "Subjects and cases"),
            ],
            Role::Auditor => &[
                ("audit", "审计日志", "Audit log"),
                ("admin", "机构与用户", "Organizations and users"),
                ("subjects", "当事人与案件", "Subjects and cases"),
            ],
            Role::Admin => &[
                ("admin", "机构与用户", "Organizations and users"),
                ("audit", "审计日志", "Audit log"),
                ("subjects", "当事人与案件", "Subjects and cases"),
            ],
            Role::Platform => &[
                ("screening", "筛查", "Screening"),
                ("watchlist", "关注名单", "Watchlist"),
                ("deliveries", "推送记录", "Webhook deliveries"),
            ],
        };
        Chrome {
            csrf: self.csrf(ctx),
            user: self.name.clone(),
            role: role_label(self.role),
            sections: sections
                .iter()
                .map(|(key, zh, en)| Section {
                    href: format!("/console/{key}"),
                    zh,
                    en,
                    current: *key == current,
                })
                .collect(),
        }
    }

    /// A page as the answer, with the session's cookies.
    pub fn page(self, status: StatusCode, body: String) -> HttpResponse {
        self.finish(html(status, body))
    }

    /// Any answer, with the session's cookies.
    pub fn finish(self, mut response: HttpResponse) -> HttpResponse {
        for cookie in &self.cookies {
            let _ = response.add_cookie(cookie);
        }
        response
    }

    /// The 403 page for a section of another role.
    pub fn forbidden(self) -> HttpResponse {
        let role = self.role;
        self.finish(message_page(
            &CONSOLE,
            StatusCode::FORBIDDEN,
            "无权访问此页面",
            "You may not open this page",
            Some(&format!(
                "the {} role may not use this part of the console",
                role
            )),
        ))
    }

    /// A refused or failed use case, as a page (with the session's cookies).
    pub fn problem(self, problem: Problem) -> HttpResponse {
        self.finish(problem_page(&CONSOLE, problem))
    }
}

/// The frame of a console page.
pub struct Chrome {
    pub csrf: String,
    pub user: String,
    pub role: (&'static str, &'static str),
    pub sections: Vec<Section>,
}

pub struct Section {
    pub href: String,
    pub zh: &'static str,
    pub en: &'static str,
    pub current: bool,
}

/// The signed start of a session: `"<unix seconds>.<hex MAC>"` over the
/// time and the user.
fn since_value(ctx: &Ctx, at: i64, user_id: &str) -> String {
    use hmac::Mac;
    let mac = ctx.mac(SINCE_PURPOSE, &format!("{at}:{user_id}"));
    format!("{at}.{}", hex::encode(mac.finalize().into_bytes()))
}

/// When the session of `user_id` began, if the cookie is genuine.
fn since(ctx: &Ctx, user_id: &str) -> Option<i64> {
    use hmac::Mac;
    let value = ctx.req.cookie(SINCE_COOKIE)?;
    let (at, mac) = value.value().split_once('.')?;
    let at: i64 = at.parse().ok()?;
    let mac = hex::decode(mac).ok()?;
    ctx.mac(SINCE_PURPOSE, &format!("{at}:{user_id}"))
        .verify_slice(&mac)
        .ok()?;
    Some(at)
}

/// Who is signed in, re-read from the database; `None` when there is no
/// live session (none, idle too long, past its absolute end, or the user
/// disabled or changed).
async fn session(ctx: &Ctx) -> Result<Option<Staffer>, ServiceError> {
    let now = Utc::now();
    let Some(token) = ctx.req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned()) else {
        return Ok(None);
    };
    let Some(claims) = ctx.tokens.verify(&token, now) else {
        return Ok(None);
    };
    if claims.role == portal::SUBJECT_ROLE {
        return Ok(None);
    }
    let Some(started) = since(ctx, &claims.sub) else {
        return Ok(None);
    };
    if now.timestamp() - started >= ABSOLUTE_SECONDS {
        return Ok(None);
    }
    let renew = now.timestamp() - claims.iat >= RENEW_AFTER_SECONDS;
    let Some((staff, user)) = ctx
        .db
        .run(move |conn| accounts::token_holder(conn, &claims))
        .await?
    else {
        return Ok(None);
    };
    let mut cookies = Vec::new();
    if renew {
        let fresh = accounts::access_token(&ctx.tokens, &user, now)?;
        cookies.push(ctx.cookie(&CONSOLE, SESSION_COOKIE, fresh, None));
    }
    Ok(Some(Staffer {
        name: user
            .display_name
            .clone()
            .unwrap_or_else(|| user.email.clone()),
        email: user.email,
        id: staff.id,
        role: staff.role,
        organization_id: staff.organization_id,
        can_approve: user.can_approve,
        cookies,
        csrf: None,
    }))
}

/// The signed-in user if they hold one of `roles`; otherwise the answer to
/// give instead: the sign-in page, a 403 page, or the failure.
pub async fn signed_in(ctx: &Ctx, roles: &[Role]) -> Result<Staffer, HttpResponse> {
    match session(ctx).await {
        Ok(Some(staffer)) if roles.contains(&staffer.role) => Ok(staffer),
        Ok(Some(staffer)) => Err(staffer.forbidden()),
        Ok(None) => Err(redirect("/console?expired=1")),
        Err(e) => Err(problem_page(&CONSOLE, e.into())),
    }
}

/// A form's CSRF check, then the session: the answer to give when either fails.
pub async fn posted(ctx: &Ctx, csrf: &str, roles: &[Role]) -> Result<Staffer, HttpResponse> {
    if !ctx.csrf_ok(&CONSOLE, csrf) {
        return Err(csrf_refused(&CONSOLE));
    }
    signed_in(ctx, roles).await
}

pub const EVERY_ROLE: &[Role] = &[Role::Admin, Role::Regulator, Role::Auditor, Role::Platform];

// ---- sign-in ----

#[derive(Template)]
#[template(path = "console/sign_in.html")]
struct SignInPage<'a> {
    csrf: &'a str,
    email: &'a str,
    error: Option<(&'a str, &'a str)>,
    info: Option<(&'a str, &'a str)>,
}

#[derive(Debug, Default, Deserialize)]
struct SignInQuery {
    expired: Option<String>,
    signed_out: Option<String>,
}

async fn sign_in_page(ctx: Ctx) -> HttpResponse {
    if let Ok(Some(_)) = session(&ctx).await {
        return redirect(CONSOLE.home);
    }
    let query = web::Query::<SignInQuery>::from_query(ctx.req.query_string())
        .map(web::Query::into_inner)
        .unwrap_or_default();
    let info = if query.expired.is_some() {
        Some((
            "请登录：会话不存在、已超时或已失效。",
            "Please sign in: there is no session, or it timed out or ended.",
        ))
    } else if query.signed_out.is_some() {
        Some(("已退出。", "You have signed out."))
    } else {
        None
    };
    let (csrf, set) = ctx.csrf(&CONSOLE);
    let page = SignInPage {
        csrf: &csrf,
        email: "",
        error: None,
        info,
    };
    with_cookie(html(StatusCode::OK, render(page)), set)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SignInForm {
    email: String,
    password: String,
    csrf: String,
}

async fn sign_in(ctx: Ctx, form: web::Form<SignInForm>) -> HttpResponse {
    let form = form.into_inner();
    if !ctx.csrf_ok(&CONSOLE, &form.csrf) {
        return csrf_refused(&CONSOLE);
    }
    let decoy = match ctx.app::<DecoyHash>() {
        Ok(d) => d,
        Err(p) => return problem_page(&CONSOLE, p),
    };
    let address = client_address(&ctx.req, &ctx.settings.trusted_proxies);
    let credentials = LoginRequest {
        email: form.email.clone(),
        password: form.password,
    };
    match accounts::login(&ctx.db, &ctx.tokens, &decoy.0, credentials, &address).await {
        Ok(pair) => {
            let started = since_value(&ctx, Utc::now().timestamp(), &pair.user.id);
            let mut response = redirect(CONSOLE.home);
            for cookie in [
                ctx.cookie(&CONSOLE, SESSION_COOKIE, pair.access_token, None),
                ctx.cookie(&CONSOLE, REFRESH_COOKIE, pair.refresh_token, None),
                ctx.cookie(&CONSOLE, SINCE_COOKIE, started, None),
            ] {
                let _ = response.add_cookie(&cookie);
            }
            response
        }
        Err(e) => {
            let problem = Problem::from(e);
            let (zh, en) = match problem.status.as_u16() {
                401 => ("邮箱或密码不正确", "The e-mail or password is wrong"),
                _ => (problem.zh, problem.en),
            };
            let (csrf, set) = ctx.csrf(&CONSOLE);
            let page = SignInPage {
                csrf: &csrf,
                email: &form.email,
                error: Some((zh, en)),
                info: None,
            };
            let response = with_cookie(html(problem.status, render(page)), set);
            with_retry_after(response, problem.retry_after)
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CsrfForm {
    pub csrf: String,
}

async fn sign_out(ctx: Ctx, form: web::Form<CsrfForm>) -> HttpResponse {
    if !ctx.csrf_ok(&CONSOLE, &form.csrf) {
        return csrf_refused(&CONSOLE);
    }
    if let (Ok(Some(staffer)), Some(refresh)) =
        (session(&ctx).await, ctx.req.cookie(REFRESH_COOKIE))
    {
        let (actor, refresh) = (staffer.actor(), refresh.value().to_owned());
        if let Err(e) = ctx
            .db
            .write(move |conn| accounts::logout(conn, &actor, &refresh))
            .await
        {
            return problem_page(&CONSOLE, e.into());
        }
    }
    let mut response = redirect("/console?signed_out=1");
    for name in [SESSION_COOKIE, REFRESH_COOKIE, SINCE_COOKIE] {
        let _ = response.add_cookie(&ctx.removal(&CONSOLE, name));
    }
    response
}

/// Each role's first page.
async fn home(ctx: Ctx) -> HttpResponse {
    match signed_in(&ctx, EVERY_ROLE).await {
        Ok(staffer) => {
            let to = match staffer.role {
                Role::Regulator => "/console/work",
                Role::Auditor => "/console/audit",
                Role::Admin => "/console/admin",
                Role::Platform => "/console/screening",
            };
            staffer.finish(redirect(to))
        }
        Err(response) => response,
    }
}

async fn not_found(ctx: Ctx) -> HttpResponse {
    let page = |staffer: Option<Staffer>| {
        let response = message_page(
            &CONSOLE,
            StatusCode::NOT_FOUND,
            "未找到",
            "Not found",
            Some("there is no such page in the console"),
        );
        match staffer {
            Some(s) => s.finish(response),
            None => response,
        }
    };
    page(session(&ctx).await.ok().flatten())
}

// ---- my work ----

struct QueueView {
    key: &'static str,
    zh: &'static str,
    en: &'static str,
    /// What the queue's due date is.
    due_zh: &'static str,
    due_en: &'static str,
    queue: Queue,
}

#[derive(Template)]
#[template(path = "console/work.html")]
struct WorkPage {
    chrome: Chrome,
    queues: Vec<QueueView>,
    today: chrono::NaiveDate,
}

fn queue_labels(kind: QueueKind) -> [&'static str; 4] {
    match kind {
        QueueKind::ObjectionWindows => [
            "陈述申辩期即将届满",
            "Objection windows closing",
            "截止（含当日）",
            "last day",
        ],
        QueueKind::Hearings => ["已申请听证", "Hearings requested", "", ""],
        QueueKind::Decisions => [
            "待第二名执法人员作出决定",
            "Decisions waiting for a second official",
            "申辩期届满",
            "window closed",
        ],
        QueueKind::Consents => [
            "待本局同意（下级局拟列入）",
            "Consents asked of this bureau",
            "申辩期届满",
            "window closes",
        ],
        QueueKind::Publications => ["待公示", "Publications due", "公示期限", "due by"],
        QueueKind::RepairsToAccept => [
            "信用修复申请待受理（2个工作日）",
            "Repairs to accept (2 working days)",
            "受理期限",
            "accept by",
        ],
        QueueKind::RepairsToDecide => [
            "信用修复待决定（7+10个工作日）",
            "Repairs to decide (7 + 10 working days)",
            "决定期限",
            "decide by",
        ],
        QueueKind::Expiring => [
            "本月公示期届满",
            "Listings expiring this month",
            "最后一日",
            "last day",
        ],
        QueueKind::ReviewFlags => [
            "信用分降至D级待复核",
            "Band-D review flags",
            "提示日期",
            "raised on",
        ],
    }
}

async fn my_work(ctx: Ctx) -> HttpResponse {
    let mut staffer = match signed_in(&ctx, &[Role::Regulator]).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let actor = staffer.actor();
    let queues = match ctx.db.run(move |conn| work::my_work(conn, &actor)).await {
        Ok(q) => q,
        Err(e) => return staffer.problem(e.into()),
    };
    let queues = queues
        .into_iter()
        .map(|queue| {
            let [zh, en, due_zh, due_en] = queue_labels(queue.kind);
            QueueView {
                key: queue.kind.as_str(),
                zh,
                en,
                due_zh,
                due_en,
                queue,
            }
        })
        .collect();
    let page = WorkPage {
        chrome: staffer.chrome(&ctx, "work"),
        queues,
        today: crate::service::today(),
    };
    staffer.page(StatusCode::OK, render(page))
}

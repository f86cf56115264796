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
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::{NaiveDate, Utc};
use serde::Deserialize;

use super::html;
use super::labels::{
    category_label, hearing_label, repair_status_label, severity_label, status_label,
};
use super::session::{
    csrf_refused, form_config, message_page, problem_page, read_form, redirect, render,
    with_cookie, with_retry_after, Ctx, Problem, SubmittedFile, PORTAL,
};
use crate::auth::address::client_address;
use crate::auth::tokens::ACCESS_TOKEN_SECONDS;
use crate::db::Db;
use crate::domain::calendar::Calendar;
use crate::domain::evidence::MAX_EVIDENCE_BYTES;
use crate::domain::procedure::{repair_opens_on, Status};
use crate::domain::repairs::{Channel, RepairStatus};
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
/// Files one form may carry.
const MAX_FILES: usize = 5;

/// The portal's routes, under `/portal`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/portal")
            .app_data(form_config(&PORTAL))
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

// ---- session ----

/// The signed-in subject, if the session cookie holds a live portal token
/// (a new access code, or its expiry, ends it).
async fn party(ctx: &Ctx) -> Result<Option<Party>, ServiceError> {
    let Some(token) = ctx.req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned()) else {
        return Ok(None);
    };
    let Some(claims) = ctx.tokens.verify(&token, Utc::now()) else {
        return Ok(None);
    };
    if claims.role != portal::SUBJECT_ROLE {
        return Ok(None);
    }
    ctx.db
        .run(move |conn| portal::token_holder(conn, &claims))
        .await
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

#[derive(Debug, Default, Deserialize)]
struct SignInQuery {
    expired: Option<String>,
    signed_out: Option<String>,
}

async fn sign_in_page(ctx: Ctx) -> HttpResponse {
    if let Ok(Some(_)) = party(&ctx).await {
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
    let (nonce, set) = ctx.nonce(&PORTAL);
    let page = SignInPage {
        csrf: &ctx.csrf_token(&PORTAL, &nonce),
        notice_no: "",
        error: None,
        info,
    };
    with_cookie(html(StatusCode::OK, render(page)), set)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SignInForm {
    notice_no: String,
    access_code: String,
    csrf: String,
}

async fn sign_in(ctx: Ctx, form: web::Form<SignInForm>) -> HttpResponse {
    let form = form.into_inner();
    if !ctx.csrf_ok(&PORTAL, &form.csrf) {
        return csrf_refused(&PORTAL);
    }
    let address = client_address(&ctx.req, &ctx.settings.trusted_proxies);
    let input = PortalSignIn {
        notice_no: form.notice_no.clone(),
        access_code: form.access_code,
    };
    match portal::sign_in(&ctx.db, &ctx.tokens, input, &address).await {
        Ok(session) => {
            let cookie = ctx.cookie(
                &PORTAL,
                SESSION_COOKIE,
                session.access_token,
                Some(ACCESS_TOKEN_SECONDS),
            );
            with_cookie(redirect("/portal/home"), Some(cookie))
        }
        Err(e) => {
            let problem = Problem::from(e);
            let (zh, en) = match problem.status.as_u16() {
                401 => (
                    "通知书文号或访问码不正确",
                    "The notice number or access code is wrong",
                ),
                _ => (problem.zh, problem.en),
            };
            let (nonce, set) = ctx.nonce(&PORTAL);
            let page = SignInPage {
                csrf: &ctx.csrf_token(&PORTAL, &nonce),
                notice_no: &form.notice_no,
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
struct CsrfForm {
    csrf: String,
}

async fn sign_out(ctx: Ctx, form: web::Form<CsrfForm>) -> HttpResponse {
    if !ctx.csrf_ok(&PORTAL, &form.csrf) {
        return csrf_refused(&PORTAL);
    }
    let gone = ctx.removal(&PORTAL, SESSION_COOKIE);
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
    let party = match party(ctx).await {
        Ok(Some(party)) => party,
        Ok(None) => return signed_out(),
        Err(e) => return problem_page(&PORTAL, e.into()),
    };
    let overview = match overview(&ctx.db, &party).await {
        Ok(o) => o,
        Err(e) => return problem_page(&PORTAL, e.into()),
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
    let (nonce, set) = ctx.nonce(&PORTAL);
    let csrf = ctx.csrf_token(&PORTAL, &nonce);
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
    if !ctx.csrf_ok(&PORTAL, &form.csrf) {
        return csrf_refused(&PORTAL);
    }
    let party = match party(&ctx).await {
        Ok(Some(party)) => party,
        Ok(None) => return signed_out(),
        Err(e) => return problem_page(&PORTAL, e.into()),
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

/// Stores the form's files as the subject's evidence; answers their items.
async fn store_files(
    ctx: &Ctx,
    party: &Party,
    files: Vec<SubmittedFile>,
) -> Result<Vec<EvidenceItem>, Problem> {
    let store = ctx.app::<EvidenceStore>()?;
    let mut items = Vec::new();
    for file in files {
        let upload = Upload {
            content: file.content,
            declared_type: file.declared_type,
            file_name: file.file_name,
        };
        let view = evidence::upload(&ctx.db, &store, Actor::Subject(party.clone()), upload)
            .await
            .map_err(Problem::from)?;
        items.push(view.item);
    }
    Ok(items)
}

async fn apply_for_repair(ctx: Ctx, form: Multipart) -> HttpResponse {
    let mut submitted = match read_form(form, MAX_FILES, MAX_EVIDENCE_BYTES).await {
        Ok(s) => s,
        Err(problem) => {
            return home_page(&ctx, problem.status, None, Some(("repair", problem))).await
        }
    };
    if !ctx.csrf_ok(&PORTAL, &submitted.text("csrf")) {
        return csrf_refused(&PORTAL);
    }
    let party = match party(&ctx).await {
        Ok(Some(party)) => party,
        Ok(None) => return signed_out(),
        Err(e) => return problem_page(&PORTAL, e.into()),
    };
    let today = crate::service::today();
    let evidence = match store_files(&ctx, &party, std::mem::take(&mut submitted.files)).await {
        Ok(items) => items,
        Err(problem) => {
            return home_page(&ctx, problem.status, None, Some(("repair", problem))).await
        }
    };
    let field = |name: &str| submitted.text(name);
    let input = ApplyForRepair {
        statement: field("statement"),
        commitment: Commitment {
            text: field("commitment"),
            signed_on: today,
        },
        penalty_fulfilled: submitted.has("penalty_fulfilled"),
        harm_removed: submitted.has("harm_removed"),
        evidence,
        channel: Some(Channel::Online),
        applied_on: None,
    };
    let calendar = match ctx.req.app_data::<web::Data<Calendar>>().cloned() {
        Some(c) => c,
        None => {
            return problem_page(
                &PORTAL,
                ServiceError::internal("Calendar not registered").into(),
            )
        }
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
    let submitted = match read_form(form, MAX_FILES, MAX_EVIDENCE_BYTES).await {
        Ok(s) => s,
        Err(problem) => {
            return home_page(&ctx, problem.status, None, Some(("supplement", problem))).await
        }
    };
    if !ctx.csrf_ok(&PORTAL, &submitted.text("csrf")) {
        return csrf_refused(&PORTAL);
    }
    let party = match party(&ctx).await {
        Ok(Some(party)) => party,
        Ok(None) => return signed_out(),
        Err(e) => return problem_page(&PORTAL, e.into()),
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
        return problem_page(
            &PORTAL,
            ServiceError::internal("Calendar not registered").into(),
        );
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
        _ => return message_page(&PORTAL, StatusCode::NOT_FOUND, "未找到", "Not found", None),
    };
    let party = match party(&ctx).await {
        Ok(Some(party)) => party,
        Ok(None) => return signed_out(),
        Err(e) => return problem_page(&PORTAL, e.into()),
    };
    let actor = Actor::Subject(party.clone());
    let result = ctx
        .db
        .write(move |conn| documents::get(conn, &actor, &party.listing_id, kind))
        .await;
    match result.map(|d| super::documents::render(&d)) {
        Ok(Ok(page)) => html(StatusCode::OK, page),
        Ok(Err(e)) => problem_page(
            &PORTAL,
            ServiceError::internal(format!("rendering a document: {e}")).into(),
        ),
        Err(e) => problem_page(&PORTAL, e.into()),
    }
}

async fn repair_decision(ctx: Ctx, path: web::Path<String>) -> HttpResponse {
    let party = match party(&ctx).await {
        Ok(Some(party)) => party,
        Ok(None) => return signed_out(),
        Err(e) => return problem_page(&PORTAL, e.into()),
    };
    let Some(id) = crate::service::canonical_id(&path) else {
        return message_page(&PORTAL, StatusCode::NOT_FOUND, "未找到", "Not found", None);
    };
    let actor = Actor::Subject(party);
    let result = ctx
        .db
        .write(move |conn| repairs::decision_document(conn, &actor, &id))
        .await;
    match result.map(|d| super::documents::render_repair_decision(&d)) {
        Ok(Ok(page)) => html(StatusCode::OK, page),
        Ok(Err(e)) => problem_page(
            &PORTAL,
            ServiceError::internal(format!("rendering a document: {e}")).into(),
        ),
        Err(e) => problem_page(&PORTAL, e.into()),
    }
}

async fn download_evidence(ctx: Ctx, path: web::Path<String>) -> HttpResponse {
    let party = match party(&ctx).await {
        Ok(Some(party)) => party,
        Ok(None) => return signed_out(),
        Err(e) => return problem_page(&PORTAL, e.into()),
    };
    let Some(store) = ctx.req.app_data::<web::Data<EvidenceStore>>().cloned() else {
        return problem_page(
            &PORTAL,
            ServiceError::internal("EvidenceStore not registered").into(),
        );
    };
    match evidence::download(&ctx.db, &store, Actor::Subject(party), &path).await {
        Ok(download) => super::attachment(download),
        Err(e) => problem_page(&PORTAL, e.into()),
    }
}

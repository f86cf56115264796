//! Cases: subject search and the subject page (identity, accounts,
//! relations, violations with their history, the score explained as a chart,
//! listings as a timeline), and the listing page with a form for every step
//! of the procedure and of credit repair that the viewer's state allows.
//! Each form states the rule it applies; a refusal comes back on the same
//! page with the problem's fields beside their inputs.

use actix_multipart::Multipart;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::NaiveDate;
use serde::de::DeserializeOwned;

use super::{posted, signed_in, Chrome, CsrfForm, Staffer};
use crate::domain::accounts::Role;
use crate::domain::calendar::Calendar;
use crate::domain::evidence::MAX_EVIDENCE_BYTES;
use crate::domain::grounds::{listing_grounds, measures, ListingGround, Measure};
use crate::domain::penalties::PenaltyKind;
use crate::domain::procedure::{may_decide, Considerations, Official, ProcedureError, Status};
use crate::domain::registry::{SubjectKind, ViolationStatus};
use crate::domain::scoring::{Category, Severity};
use crate::infra::evidence::EvidenceStore;
use crate::service::documents::{self, DocumentKind};
use crate::service::evidence::{self, Upload};
use crate::service::listings::{
    self, DecideListing, GiveConsent, ListingFilter, ListingView, LodgeObjection, ProposeListing,
    RecordHearing, RevokeListing, ServeNotice, WithdrawHearing,
};
use crate::service::page::PageRequest;
use crate::service::relations::{self, RelationView};
use crate::service::repairs::{self, AnswerRepair, DecideRepair, ExtendRepair};
use crate::service::scores::{self, ScoreView};
use crate::service::subjects::{
    self, AccountInput, CreateSubject, SubjectFilter, SubjectView, UpdateSubject,
};
use crate::service::violations::{
    self, EvidenceItem, RecordViolation, RevokeViolation, ViolationView,
};
use crate::service::{portal, roles, ServiceError};
use crate::web::labels::{
    category_label, hearing_label, listing_status_label, penalty_label, repair_status_label,
    severity_label, step_label, violation_status_label,
};
use crate::web::session::{read_form, redirect, render, Ctx, Problem, Submitted};

/// How forms and documents name Order 44.
const ORDER_44: &str = "《市场监督管理严重违法失信名单管理办法》";

/// Evidence files one violation form may carry.
const MAX_FILES: usize = 5;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/subjects", web::get().to(search))
        .route("/subjects", web::post().to(create_subject))
        .route("/subjects/{id}", web::get().to(subject))
        .route(
            "/subjects/{id}/violations",
            web::post().to(record_violation),
        )
        .route("/subjects/{id}/listings", web::post().to(propose))
        .route("/subjects/{id}/identity", web::post().to(add_identity))
        .route("/violations/{id}/revoke", web::post().to(revoke_violation))
        .route("/listings/{id}", web::get().to(listing))
        .route("/listings/{id}/documents/{kind}", web::get().to(document))
        .route("/listings/{id}/access-code", web::post().to(reissue_code))
        .route("/listings/{id}/{step}", web::post().to(listing_step))
        .route("/repairs/{id}/{step}", web::post().to(repair_step));
}

// ---- reading form values ----

/// A refused form: which one, the problem, and what was entered (to show again).
pub struct FormError {
    pub form: &'static str,
    pub problem: Problem,
    pub values: Submitted,
}

/// A choice of a `snake_case` enum, read as the JSON API reads it.
pub(super) fn choice<T: DeserializeOwned>(field: &str, raw: &str) -> Result<T, ServiceError> {
    serde_json::from_value(serde_json::Value::String(raw.trim().to_owned()))
        .map_err(|_| ServiceError::invalid(field, format!("`{raw}` is not one of the choices")))
}

/// An optional date field (`YYYY-MM-DD`, as date inputs send it).
fn date(form: &Submitted, field: &str) -> Result<Option<NaiveDate>, ServiceError> {
    form.optional(field)
        .map(|raw| {
            NaiveDate::parse_from_str(&raw, "%Y-%m-%d")
                .map_err(|_| ServiceError::invalid(field, "must be a date, YYYY-MM-DD"))
        })
        .transpose()
}

/// Shared by the pages' templates: a refusal's words and fields, and the
/// values entered, for the form named.
pub trait Refusal {
    fn refusal(&self) -> Option<&FormError>;

    fn error_of(&self, form: &str) -> Option<&Problem> {
        self.refusal()
            .filter(|e| e.form == form)
            .map(|e| &e.problem)
    }

    fn field_error(&self, form: &str, field: &str) -> Option<&str> {
        self.error_of(form).and_then(|p| p.field(field))
    }

    fn entered(&self, form: &str, field: &str) -> String {
        self.refusal()
            .filter(|e| e.form == form)
            .map(|e| e.values.text(field))
            .unwrap_or_default()
    }

    fn checked(&self, form: &str, field: &str, value: &str) -> bool {
        self.refusal()
            .filter(|e| e.form == form)
            .is_some_and(|e| e.values.all(field).iter().any(|v| v == value))
    }
}

/// The message after a form's redirect (`?done=<step>`).
fn done_of(ctx: &Ctx) -> Option<(&'static str, &'static str)> {
    let query = web::Query::<Vec<(String, String)>>::from_query(ctx.req.query_string()).ok()?;
    let (_, step) = query.iter().find(|(k, _)| k == "done")?;
    Some(match step.as_str() {
        "subject" => ("当事人已登记。", "The subject is registered."),
        "identity" => ("证件号已补充。", "The identifier is added."),
        "violation" => ("违法行为已登记。", "The violation is recorded."),
        "violation-revoked" => ("违法行为已撤销。", "The violation is revoked."),
        "propose" => (
            "已拟列入，请送达告知书。",
            "Proposed; now serve the notice.",
        ),
        "objection" => ("陈述申辩已登记。", "The statement is recorded."),
        "hearing" => ("听证已登记。", "The hearing is recorded."),
        "hearing-withdrawal" => ("撤回听证申请已登记。", "The withdrawal is recorded."),
        "consent" => ("意见已提交。", "The answer is given."),
        "decision" => ("决定已作出。", "The decision is made."),
        "revoke" => ("列入已撤销。", "The listing is revoked."),
        "repair" => ("信用修复已办理。", "The repair step is done."),
        _ => return None,
    })
}

// ---- subject search and creation ----

#[derive(Template)]
#[template(path = "console/subjects.html")]
struct SearchPage {
    chrome: Chrome,
    q: String,
    results: Vec<SubjectView>,
    searched: bool,
    may_create: bool,
    kinds: Vec<(&'static str, (&'static str, &'static str))>,
    error: Option<FormError>,
}

impl Refusal for SearchPage {
    fn refusal(&self) -> Option<&FormError> {
        self.error.as_ref()
    }
}

#[derive(Debug, Default, serde::Deserialize)]
struct SearchQuery {
    q: Option<String>,
}

async fn search(ctx: Ctx) -> HttpResponse {
    let staffer = match signed_in(&ctx, roles::READERS).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let q = web::Query::<SearchQuery>::from_query(ctx.req.query_string())
        .ok()
        .and_then(|q| q.into_inner().q)
        .unwrap_or_default();
    search_page(ctx, staffer, q, None).await
}

async fn search_page(
    ctx: Ctx,
    mut staffer: Staffer,
    q: String,
    error: Option<FormError>,
) -> HttpResponse {
    let searched = !q.trim().is_empty();
    let results = if searched {
        let (actor, pepper) = (staffer.actor(), ctx.settings.id_pepper.clone());
        let filter = SubjectFilter {
            q: Some(q.clone()),
            kind: None,
        };
        let found = ctx
            .db
            .run(move |conn| {
                let page = PageRequest::parse(Some(50), None)?;
                subjects::search(conn, &actor, pepper.bytes(), &filter, &page)
            })
            .await;
        match found {
            Ok(page) => page.items,
            Err(e) => return staffer.problem(e.into()),
        }
    } else {
        Vec::new()
    };
    let status = error.as_ref().map_or(StatusCode::OK, |e| e.problem.status);
    let page = SearchPage {
        chrome: staffer.chrome(&ctx, "subjects"),
        q,
        results,
        searched,
        may_create: staffer.role == Role::Regulator,
        kinds: SubjectKind::ALL
            .iter()
            .map(|k| (k.as_str(), k.labels()))
            .collect(),
        error,
    };
    staffer.page(status, render(page))
}

async fn create_subject(ctx: Ctx, form: web::Form<Vec<(String, String)>>) -> HttpResponse {
    let form = Submitted::of(form.into_inner());
    let staffer = match posted(&ctx, &form.text("csrf"), roles::REGULATORS).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let input = (|| -> Result<CreateSubject, ServiceError> {
        let accounts = match (form.optional("platform"), form.optional("handle")) {
            (Some(platform), Some(handle)) => vec![AccountInput { platform, handle }],
            _ => Vec::new(),
        };
        Ok(CreateSubject {
            kind: choice("kind", &form.text("kind"))?,
            name: form.text("name"),
            aliases: form
                .text("aliases")
                .split([',', '，', '、'])
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(str::to_owned)
                .collect(),
            id_number: form.optional("id_number"),
            uscc: form.optional("uscc"),
            accounts,
            region_code: form.optional("region_code"),
        })
    })();
    let (actor, pepper) = (staffer.actor(), ctx.settings.id_pepper.clone());
    let result = match input {
        Ok(input) => {
            ctx.db
                .write(move |conn| subjects::create(conn, &actor, pepper.bytes(), input))
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(subject) => staffer.finish(redirect(&format!(
            "/console/subjects/{}?done=subject",
            subject.id
        ))),
        Err(e) => {
            let error = FormError {
                form: "subject",
                problem: e.into(),
                values: form,
            };
            search_page(ctx, staffer, String::new(), Some(error)).await
        }
    }
}

// ---- the subject page ----

/// One bar of the score chart: a violation's points on the day it was decided.
struct Bar {
    x: f64,
    y: f64,
    height: f64,
    label: String,
}

/// The score's contributions over time, laid out for an inline SVG.
struct Chart {
    width: f64,
    height: f64,
    bars: Vec<Bar>,
    /// Axis labels: (x, text).
    ticks: Vec<(f64, String)>,
}

const CHART_WIDTH: f64 = 640.0;
const CHART_HEIGHT: f64 = 160.0;
const CHART_MARGIN: f64 = 24.0;

fn chart(score: &ScoreView) -> Chart {
    let start = score
        .contributions
        .iter()
        .map(|c| c.decided_on)
        .min()
        .unwrap_or(score.as_of)
        .min(score.as_of - chrono::Days::new(365));
    let span = (score.as_of - start).num_days().max(1) as f64;
    let max = score
        .contributions
        .iter()
        .map(|c| c.points)
        .fold(10.0_f64, f64::max);
    let plot_w = CHART_WIDTH - 2.0 * CHART_MARGIN;
    let plot_h = CHART_HEIGHT - 2.0 * CHART_MARGIN;
    let x_of = |d: NaiveDate| CHART_MARGIN + plot_w * ((d - start).num_days() as f64 / span);
    let bars = score
        .contributions
        .iter()
        .map(|c| {
            let height = (plot_h * c.points / max).max(1.0);
            Bar {
                x: x_of(c.decided_on) - 3.0,
                y: CHART_MARGIN + plot_h - height,
                height,
                label: format!(
                    "{} {} {}: {:.2}",
                    c.decided_on,
                    category_label(c.category).1,
                    severity_label(c.severity).1,
                    c.points
                ),
            }
        })
        .collect();
    Chart {
        width: CHART_WIDTH,
        height: CHART_HEIGHT,
        bars,
        ticks: vec![
            (CHART_MARGIN, start.to_string()),
            (CHART_WIDTH - CHART_MARGIN, score.as_of.to_string()),
        ],
    }
}

struct ViolationRow {
    view: ViolationView,
    category: (&'static str, &'static str),
    severity: (&'static str, &'static str),
    status: (&'static str, &'static str),
    /// It may carry a listing proposal (heavier, with a ground, not revoked).
    may_ground: bool,
    /// The viewer's bureau imposed it and it stands: it may be revoked here.
    may_revoke: bool,
}

struct ListingRow {
    view: ListingView,
    status: (&'static str, &'static str),
}

#[derive(Template)]
#[template(path = "console/subject.html")]
struct SubjectPage {
    chrome: Chrome,
    /// What the last form did (after its redirect), to say so.
    done: Option<(&'static str, &'static str)>,
    subject: SubjectView,
    kind: (&'static str, &'static str),
    violations: Vec<ViolationRow>,
    score: ScoreView,
    chart: Chart,
    listings: Vec<ListingRow>,
    relations: Vec<RelationView>,
    regulator: bool,
    categories: Vec<(&'static str, (&'static str, &'static str))>,
    severities: Vec<(&'static str, (&'static str, &'static str))>,
    penalty_kinds: Vec<(&'static str, (&'static str, &'static str))>,
    grounds: &'static [ListingGround],
    /// The proposal's legal basis as the form offers it: the art. of the
    /// ground the first penalty that may carry a listing names.
    proposal_basis: String,
    today: NaiveDate,
    max_files: usize,
    error: Option<FormError>,
}

impl Refusal for SubjectPage {
    fn refusal(&self) -> Option<&FormError> {
        self.error.as_ref()
    }
}

impl SubjectPage {
    fn category_of(&self, c: &Category) -> (&'static str, &'static str) {
        category_label(*c)
    }

    fn severity_of(&self, s: &Severity) -> (&'static str, &'static str) {
        severity_label(*s)
    }

    fn step_of(&self, action: &str) -> (&'static str, &'static str) {
        step_label(action)
    }

    /// An anchor without a resident ID, or a merchant without a USCC:
    /// platforms cannot find them by identifier, and the notice cannot name one.
    fn identity_missing(&self) -> bool {
        match self.subject.kind {
            SubjectKind::Anchor => self.subject.id_number_masked.is_none(),
            SubjectKind::Merchant => self.subject.uscc.is_none(),
            _ => false,
        }
    }
}

async fn subject(ctx: Ctx, path: web::Path<String>) -> HttpResponse {
    let staffer = match signed_in(&ctx, roles::READERS).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    subject_page(ctx, staffer, path.into_inner(), None).await
}

async fn subject_page(
    ctx: Ctx,
    mut staffer: Staffer,
    id: String,
    error: Option<FormError>,
) -> HttpResponse {
    let actor = staffer.actor();
    let loaded = ctx
        .db
        .run(move |conn| {
            let subject = subjects::get(conn, &actor, &id)?;
            let page = PageRequest::parse(Some(500), None)?;
            let violations = violations::list_of_subject(conn, &actor, &id, &page)?.items;
            let score = scores::explain(conn, &actor, &id, None)?;
            let filter = ListingFilter {
                status: None,
                subject_id: Some(id.clone()),
            };
            let listings = listings::list(conn, &actor, filter, &page)?.items;
            let relations = relations::list(conn, &actor, &id)?;
            Ok::<_, ServiceError>((subject, violations, score, listings, relations))
        })
        .await;
    let (subject, violations, score, listings, relations) = match loaded {
        Ok(l) => l,
        Err(e) => return staffer.problem(e.into()),
    };
    let status = error.as_ref().map_or(StatusCode::OK, |e| e.problem.status);
    let proposal_basis = violations
        .iter()
        .filter(|v| v.heavier_penalty && v.status != ViolationStatus::Revoked)
        .find_map(|v| {
            let code = v.listing_ground.as_deref()?;
            listing_grounds().iter().find(|g| g.code == code)
        })
        .map(|g| format!("{ORDER_44}{}", documents::article_text(g.article, g.item)))
        .unwrap_or_default();
    let page = SubjectPage {
        done: done_of(&ctx),
        chrome: staffer.chrome(&ctx, "subjects"),
        kind: subject.kind.labels(),
        subject,
        violations: violations
            .into_iter()
            .map(|v| ViolationRow {
                category: category_label(v.category),
                severity: severity_label(v.severity),
                status: violation_status_label(v.status),
                may_ground: v.heavier_penalty
                    && v.listing_ground.is_some()
                    && v.status != ViolationStatus::Revoked,
                may_revoke: staffer.role == Role::Regulator
                    && v.status != ViolationStatus::Revoked
                    && v.authority.id == staffer.organization_id,
                view: v,
            })
            .collect(),
        chart: chart(&score),
        score,
        listings: listings
            .into_iter()
            .rev()
            .map(|l| ListingRow {
                status: listing_status_label(l.status),
                view: l,
            })
            .collect(),
        relations,
        regulator: staffer.role == Role::Regulator,
        categories: Category::ALL
            .iter()
            .map(|c| (c.as_str(), category_label(*c)))
            .collect(),
        severities: Severity::ALL
            .iter()
            .map(|s| (s.as_str(), severity_label(*s)))
            .collect(),
        penalty_kinds: PenaltyKind::ALL
            .iter()
            .map(|k| (k.as_str(), penalty_label(*k)))
            .collect(),
        grounds: listing_grounds(),
        proposal_basis,
        today: crate::service::today(),
        max_files: MAX_FILES,
        error,
    };
    staffer.page(status, render(page))
}

/// Stores the form's files as evidence; answers their items.
async fn store_files(
    ctx: &Ctx,
    staffer: &Staffer,
    form: &mut Submitted,
) -> Result<Vec<EvidenceItem>, Problem> {
    let store = ctx.app::<EvidenceStore>()?;
    let mut items = Vec::new();
    for file in std::mem::take(&mut form.files) {
        let upload = Upload {
            content: file.content,
            declared_type: file.declared_type,
            file_name: file.file_name,
        };
        let view = evidence::upload(&ctx.db, &store, staffer.actor(), upload)
            .await
            .map_err(Problem::from)?;
        items.push(view.item);
    }
    Ok(items)
}

fn violation_input(
    form: &Submitted,
    evidence: Vec<EvidenceItem>,
) -> Result<RecordViolation, ServiceError> {
    let fine_cents = form
        .optional("fine_yuan")
        .map(|raw| {
            raw.parse::<f64>()
                .ok()
                .filter(|y| y.is_finite() && *y >= 0.0 && *y < 1e13)
                .map(|y| (y * 100.0).round() as i64)
                .ok_or_else(|| ServiceError::invalid("fine_cents", "must be an amount in yuan"))
        })
        .transpose()?;
    Ok(RecordViolation {
        category: choice("category", &form.text("category"))?,
        severity: choice("severity", &form.text("severity"))?,
        decided_on: date(form, "decided_on")?,
        pending: form.has("pending"),
        penalty_kinds: form
            .all("penalty_kinds")
            .iter()
            .map(|k| choice("penalty_kinds", k))
            .collect::<Result<_, _>>()?,
        ban_until: date(form, "ban_until")?,
        listing_ground: form.optional("listing_ground"),
        description: form.text("description"),
        decision_no: form.optional("decision_no"),
        fine_cents,
        legal_basis: form.optional("legal_basis"),
        evidence,
        related_subject_ids: Vec::new(),
    })
}

async fn record_violation(ctx: Ctx, path: web::Path<String>, form: Multipart) -> HttpResponse {
    let id = path.into_inner();
    let mut form = match read_form(form, MAX_FILES, MAX_EVIDENCE_BYTES).await {
        Ok(f) => f,
        Err(problem) => {
            return match signed_in(&ctx, roles::REGULATORS).await {
                Ok(s) => s.problem(problem),
                Err(response) => response,
            }
        }
    };
    let staffer = match posted(&ctx, &form.text("csrf"), roles::REGULATORS).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let result = match store_files(&ctx, &staffer, &mut form).await {
        Err(problem) => Err(problem),
        Ok(evidence) => match violation_input(&form, evidence) {
            Err(e) => Err(e.into()),
            Ok(input) => {
                let (actor, subject_id) = (staffer.actor(), id.clone());
                ctx.db
                    .write(move |conn| violations::record(conn, &actor, &subject_id, input))
                    .await
                    .map_err(Problem::from)
            }
        },
    };
    match result {
        Ok(_) => staffer.finish(redirect(&format!(
            "/console/subjects/{id}?done=violation#violations"
        ))),
        Err(problem) => {
            let error = FormError {
                form: "violation",
                problem,
                values: form,
            };
            subject_page(ctx, staffer, id, Some(error)).await
        }
    }
}

async fn propose(
    ctx: Ctx,
    path: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> HttpResponse {
    let (id, form) = (path.into_inner(), Submitted::of(form.into_inner()));
    let staffer = match posted(&ctx, &form.text("csrf"), roles::REGULATORS).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let input = ProposeListing {
        subject_id: id.clone(),
        violation_ids: form.all("violation_ids"),
        reason: form.text("reason"),
        legal_basis: form.text("legal_basis"),
        considerations: Considerations::default(),
        no_intent_proven: form.has("no_intent_proven"),
    };
    let actor = staffer.actor();
    match ctx
        .db
        .write(move |conn| listings::propose(conn, &actor, input))
        .await
    {
        Ok(listing) => staffer.finish(redirect(&format!(
            "/console/listings/{}?done=propose",
            listing.id
        ))),
        Err(e) => {
            let error = FormError {
                form: "propose",
                problem: e.into(),
                values: form,
            };
            subject_page(ctx, staffer, id, Some(error)).await
        }
    }
}

/// Revokes a violation of the viewer's bureau: its decision annulled, or
/// recorded by mistake (the API's violation revocation, Order 44 art. 19:
/// a listing it alone carried is revoked with it).
async fn revoke_violation(
    ctx: Ctx,
    path: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> HttpResponse {
    let (id, form) = (path.into_inner(), Submitted::of(form.into_inner()));
    let staffer = match posted(&ctx, &form.text("csrf"), roles::REGULATORS).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let actor = staffer.actor();
    let result = match date(&form, "revoked_on") {
        Ok(revoked_on) => {
            let input = RevokeViolation {
                reason: form.text("reason"),
                revoked_on,
            };
            ctx.db
                .write(move |conn| violations::revoke(conn, &actor, &id, input))
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(v) => staffer.finish(redirect(&format!(
            "/console/subjects/{}?done=violation-revoked#violation-{}",
            v.subject_id, v.id
        ))),
        Err(e) => staffer.problem(e.into()),
    }
}

/// Adds the identifier an anchor or merchant was registered without (the
/// API's subject update: added where there was none, never replaced here).
async fn add_identity(
    ctx: Ctx,
    path: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> HttpResponse {
    let (id, form) = (path.into_inner(), Submitted::of(form.into_inner()));
    let staffer = match posted(&ctx, &form.text("csrf"), roles::REGULATORS).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let input = UpdateSubject {
        name: None,
        aliases: None,
        accounts: None,
        region_code: None,
        id_number: form.optional("id_number"),
        uscc: form.optional("uscc"),
    };
    let (actor, pepper, subject_id) = (staffer.actor(), ctx.settings.id_pepper.clone(), id.clone());
    match ctx
        .db
        .write(move |conn| subjects::update(conn, &actor, pepper.bytes(), &subject_id, input))
        .await
    {
        Ok(_) => staffer.finish(redirect(&format!("/console/subjects/{id}?done=identity"))),
        Err(e) => {
            let error = FormError {
                form: "identity",
                problem: e.into(),
                values: form,
            };
            subject_page(ctx, staffer, id, Some(error)).await
        }
    }
}

// ---- the listing page ----

struct RepairRow {
    view: crate::service::repairs::RepairView,
    status: (&'static str, &'static str),
}

#[derive(Template)]
#[template(path = "console/listing.html")]
struct ListingPage {
    chrome: Chrome,
    done: Option<(&'static str, &'static str)>,
    listing: ListingView,
    subject: SubjectView,
    status: (&'static str, &'static str),
    hearing: Option<(&'static str, &'static str)>,
    repairs: Vec<RepairRow>,
    regulator: bool,
    /// The viewer's bureau is the listing's authority.
    own_case: bool,
    /// Why the viewer may not decide (Chinese, English); `None` when they may.
    may_not_decide: Option<(&'static str, String)>,
    /// The measures of Order 44 art. 15 a decision to list may take.
    measures: &'static [Measure],
    /// The penalties the listing rests on.
    basis: Vec<ViolationView>,
    today: NaiveDate,
    error: Option<FormError>,
}

impl Refusal for ListingPage {
    fn refusal(&self) -> Option<&FormError> {
        self.error.as_ref()
    }
}

impl ListingPage {
    fn is(&self, status: &str) -> bool {
        self.listing.status.as_str() == status
    }

    fn hearing_requested(&self) -> bool {
        self.listing.hearing_status.map(|h| h.as_str()) == Some("requested")
    }

    fn step_of(&self, action: &str) -> (&'static str, &'static str) {
        step_label(action)
    }

    fn status_of(&self, status: &Status) -> (&'static str, &'static str) {
        listing_status_label(*status)
    }

    fn category_of(&self, c: &Category) -> (&'static str, &'static str) {
        category_label(*c)
    }
}

async fn listing(ctx: Ctx, path: web::Path<String>) -> HttpResponse {
    let staffer = match signed_in(&ctx, roles::READERS).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    listing_page(ctx, staffer, path.into_inner(), None).await
}

async fn listing_page(
    ctx: Ctx,
    mut staffer: Staffer,
    id: String,
    error: Option<FormError>,
) -> HttpResponse {
    let actor = staffer.actor();
    let loaded = ctx
        .db
        .run(move |conn| {
            let listing = listings::get(conn, &actor, &id)?;
            let subject = subjects::get(conn, &actor, &listing.subject_id)?;
            let page = PageRequest::parse(Some(500), None)?;
            let basis = violations::list_of_subject(conn, &actor, &listing.subject_id, &page)?
                .items
                .into_iter()
                .filter(|v| listing.violation_ids.contains(&v.id))
                .collect::<Vec<_>>();
            Ok::<_, ServiceError>((listing, subject, basis))
        })
        .await;
    let (listing, subject, basis) = match loaded {
        Ok(l) => l,
        Err(e) => return staffer.problem(e.into()),
    };
    let viewer = Official {
        id: &staffer.id,
        organization_id: &staffer.organization_id,
    };
    let first = listing
        .proposed_by
        .as_deref()
        .or(listing.noticed_by.as_deref());
    let may_not_decide = may_decide(listing.authority_id.as_deref(), first, &viewer)
        .err()
        .map(|e| {
            let zh = match e {
                ProcedureError::NotTheAuthority => {
                    "只有作出行政处罚的本局执法人员可以决定（第十三条）"
                }
                _ => "提出列入的执法人员不能作出决定，须由本局另一名执法人员决定",
            };
            (zh, e.to_string())
        });
    let own_case = listing.authority_id.as_deref() == Some(staffer.organization_id.as_str());
    let status = error.as_ref().map_or(StatusCode::OK, |e| e.problem.status);
    let page = ListingPage {
        done: done_of(&ctx),
        chrome: staffer.chrome(&ctx, "subjects"),
        status: listing_status_label(listing.status),
        hearing: listing.hearing_status.map(hearing_label),
        repairs: listing
            .repairs
            .iter()
            .map(|r| RepairRow {
                status: repair_status_label(r.status),
                view: r.clone(),
            })
            .collect(),
        listing,
        subject,
        regulator: staffer.role == Role::Regulator,
        own_case,
        may_not_decide,
        measures: measures(),
        basis,
        today: crate::service::today(),
        error,
    };
    staffer.page(status, render(page))
}

#[derive(Template)]
#[template(path = "console/notice_served.html")]
struct NoticeServedPage {
    chrome: Chrome,
    /// A new code for a notice served before (the old one no longer signs in).
    reissued: bool,
    listing: ListingView,
    access_code: String,
    /// The party's name, for the slip.
    party: String,
    /// Where the party signs in, as this browser reached the service.
    portal_url: String,
}

/// The access code, shown this once, on a page no cache keeps: the slip
/// that goes to the party with the notice.
async fn code_page(
    ctx: &Ctx,
    mut staffer: Staffer,
    listing: ListingView,
    access_code: String,
    reissued: bool,
) -> HttpResponse {
    let (actor, subject_id) = (staffer.actor(), listing.subject_id.clone());
    let party = ctx
        .db
        .run(move |conn| subjects::get(conn, &actor, &subject_id))
        .await
        .map(|s| s.name)
        .unwrap_or_default();
    let portal_url = {
        let info = ctx.req.connection_info();
        format!("{}://{}/portal", info.scheme(), info.host())
    };
    let page = NoticeServedPage {
        chrome: staffer.chrome(ctx, "subjects"),
        reissued,
        listing,
        access_code,
        party,
        portal_url,
    };
    let mut response = staffer.page(StatusCode::OK, render(page));
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

/// A new access code for a served notice (the party lost theirs, or it
/// leaked): the API's reissue, audited; the old code's sessions end.
async fn reissue_code(
    ctx: Ctx,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> HttpResponse {
    let id = path.into_inner();
    let staffer = match posted(&ctx, &form.csrf, roles::REGULATORS).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let actor = staffer.actor();
    let issued = ctx
        .db
        .write(move |conn| {
            let issued = portal::reissue_code(conn, &actor, &id)?;
            let listing = listings::get(conn, &actor, &issued.listing_id)?;
            Ok::<_, ServiceError>((listing, issued.access_code))
        })
        .await;
    match issued {
        Ok((listing, code)) => code_page(&ctx, staffer, listing, code, true).await,
        Err(e) => staffer.problem(e.into()),
    }
}

/// One step of the procedure on a listing, from its form.
async fn listing_step(
    ctx: Ctx,
    path: web::Path<(String, String)>,
    form: web::Form<Vec<(String, String)>>,
) -> HttpResponse {
    let ((id, step), form) = (path.into_inner(), Submitted::of(form.into_inner()));
    let staffer = match posted(&ctx, &form.text("csrf"), roles::REGULATORS).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let calendar = match ctx.app::<Calendar>() {
        Ok(c) => c,
        Err(problem) => return staffer.problem(problem),
    };
    let actor = staffer.actor();
    let listing_id = id.clone();
    let form_key: &'static str = match step.as_str() {
        "notice" => "notice",
        "objection" => "objection",
        "hearing" => "hearing",
        "hearing-withdrawal" => "hearing-withdrawal",
        "consent" => "consent",
        "decision" => "decision",
        "revoke" => "revoke",
        _ => return super::not_found(ctx).await,
    };
    let parsed = (|| -> Result<Step, ServiceError> {
        Ok(match form_key {
            "notice" => Step::Notice(ServeNotice {
                served_on: date(&form, "served_on")?,
            }),
            "objection" => Step::Objection(LodgeObjection {
                statement: form.text("statement"),
                received_on: date(&form, "received_on")?,
                hearing_requested: form.has("hearing_requested"),
            }),
            "hearing" => Step::Hearing(RecordHearing {
                held_on: date(&form, "held_on")?
                    .ok_or_else(|| ServiceError::invalid("held_on", "is required"))?,
                summary: form.text("summary"),
            }),
            "hearing-withdrawal" => Step::Withdrawal(WithdrawHearing {
                received_on: date(&form, "received_on")?,
            }),
            "consent" => Step::Consent(GiveConsent {
                outcome: choice("outcome", &form.text("outcome"))?,
                reason: form.text("reason"),
            }),
            "decision" => Step::Decide(DecideListing {
                outcome: choice("outcome", &form.text("outcome"))?,
                reason: form.text("reason"),
                decided_on: date(&form, "decided_on")?,
                // The form lists every measure, checked: what is sent is the choice.
                measures: form.has("measures_shown").then(|| form.all("measures")),
                decision_no: form.optional("decision_no"),
                penalty_decision_no: form.optional("penalty_decision_no"),
                penalty_decided_on: date(&form, "penalty_decided_on")?,
            }),
            _ => Step::Revoke(RevokeListing {
                reason: form.text("reason"),
            }),
        })
    })();
    let result = match parsed {
        Err(e) => Err(e),
        Ok(step) => {
            ctx.db
                .write(move |conn| {
                    let id = &listing_id;
                    Ok(match step {
                        Step::Notice(i) => {
                            let served = listings::serve_notice(conn, &actor, &calendar, id, i)?;
                            Some(served)
                        }
                        Step::Objection(i) => {
                            listings::lodge_objection(conn, &actor, id, i)?;
                            None
                        }
                        Step::Hearing(i) => {
                            listings::record_hearing(conn, &actor, id, i)?;
                            None
                        }
                        Step::Withdrawal(i) => {
                            listings::withdraw_hearing(conn, &actor, id, i)?;
                            None
                        }
                        Step::Consent(i) => {
                            listings::give_consent(conn, &actor, id, i)?;
                            None
                        }
                        Step::Decide(i) => {
                            listings::decide(conn, &actor, &calendar, id, i)?;
                            None
                        }
                        Step::Revoke(i) => {
                            listings::revoke(conn, &actor, id, i)?;
                            None
                        }
                    })
                })
                .await
        }
    };
    match result {
        // The access code is shown this once, on a page no cache keeps.
        Ok(Some(served)) => {
            code_page(&ctx, staffer, served.listing, served.access_code, false).await
        }
        Ok(None) => staffer.finish(redirect(&format!("/console/listings/{id}?done={form_key}"))),
        Err(e) => {
            let error = FormError {
                form: form_key,
                problem: e.into(),
                values: form,
            };
            listing_page(ctx, staffer, id, Some(error)).await
        }
    }
}

enum Step {
    Notice(ServeNotice),
    Objection(LodgeObjection),
    Hearing(RecordHearing),
    Withdrawal(WithdrawHearing),
    Consent(GiveConsent),
    Decide(DecideListing),
    Revoke(RevokeListing),
}

/// A step on a credit repair application: answer, decide, extend.
async fn repair_step(
    ctx: Ctx,
    path: web::Path<(String, String)>,
    form: web::Form<Vec<(String, String)>>,
) -> HttpResponse {
    let ((id, step), form) = (path.into_inner(), Submitted::of(form.into_inner()));
    let staffer = match posted(&ctx, &form.text("csrf"), roles::REGULATORS).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let calendar = match ctx.app::<Calendar>() {
        Ok(c) => c,
        Err(problem) => return staffer.problem(problem),
    };
    let form_key: &'static str = match step.as_str() {
        "answer" => "repair-answer",
        "decision" => "repair-decision",
        "extension" => "repair-extension",
        _ => return super::not_found(ctx).await,
    };
    let actor = staffer.actor();
    let repair_id = id.clone();
    let missing: Vec<String> = form
        .text("missing")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    let outcome = form.text("outcome");
    let reason = form.text("reason");
    let result = ctx
        .db
        .write(move |conn| match form_key {
            "repair-answer" => repairs::answer(
                conn,
                &actor,
                &calendar,
                &repair_id,
                AnswerRepair {
                    outcome: choice("outcome", &outcome)?,
                    missing,
                    reason: Some(reason).filter(|r| !r.trim().is_empty()),
                    accepted_on: None,
                },
            ),
            "repair-decision" => repairs::decide(
                conn,
                &actor,
                &repair_id,
                DecideRepair {
                    outcome: choice("outcome", &outcome)?,
                    reason,
                    decided_on: None,
                },
            ),
            _ => repairs::extend(conn, &actor, &calendar, &repair_id, ExtendRepair { reason }),
        })
        .await;
    match result {
        Ok(repair) => staffer.finish(redirect(&format!(
            "/console/listings/{}?done=repair#repair-{}",
            repair.listing_id, repair.id
        ))),
        Err(e) => {
            // Back to the application's listing, the refusal beside its form.
            let problem = Problem::from(e);
            let actor = staffer.actor();
            let found = ctx
                .db
                .run(move |conn| repairs::get(conn, &actor, &id))
                .await;
            match found {
                Ok(repair) => {
                    let error = FormError {
                        form: form_key,
                        problem,
                        values: form,
                    };
                    listing_page(ctx, staffer, repair.listing_id, Some(error)).await
                }
                Err(_) => staffer.problem(problem),
            }
        }
    }
}

/// The notice or the decision as a printable page.
async fn document(ctx: Ctx, path: web::Path<(String, String)>) -> HttpResponse {
    let staffer = match signed_in(&ctx, roles::READERS).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let (id, kind) = path.into_inner();
    let kind = match kind.as_str() {
        "notice" => DocumentKind::Notice,
        "decision" => DocumentKind::Decision,
        _ => return super::not_found(ctx).await,
    };
    let actor = staffer.actor();
    let result = ctx
        .db
        .write(move |conn| documents::get(conn, &actor, &id, kind))
        .await;
    match result.map(|d| crate::web::documents::render(&d)) {
        Ok(Ok(page)) => staffer.page(StatusCode::OK, page),
        Ok(Err(e)) => {
            staffer.problem(ServiceError::internal(format!("rendering a document: {e}")).into())
        }
        Err(e) => staffer.problem(e.into()),
    }
}

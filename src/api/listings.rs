//! The blacklist procedure: propose, notice, objections, decision, credit
//! repair, reinstatement, revocation — each step a rule of `domain::procedure`.

use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::idempotency::{self, IdempotencyKey};
use super::json::ApiJson;
use super::pagination::{page_of, PageParams};
use super::violations::{clean_evidence, EvidenceItem};
use crate::audit::Actor;
use crate::auth::extract::CurrentUser;
use crate::auth::{Reader, Regulator};
use crate::db::listings::{
    self, HistoryEntry, Listing, ListingSearch, Objection, RepairApplication,
};
use crate::db::{registry, Db, DbConn};
use crate::domain::calendar::Calendar;
use crate::domain::procedure::{self, DecisionOutcome, RepairOutcome, Status};
use crate::domain::registry::{clean_text, today_cst, MAX_TEXT_CHARS};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::page_type;
use crate::workflows;

/// Working days a party has to object after being served notice.
pub const OBJECTION_WORKING_DAYS: u32 = 5;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposeListing {
    pub subject_id: String,
    /// Effective violations of this subject the listing rests on.
    pub violation_ids: Vec<String>,
    /// The facts and reasons, as the notice will state them.
    pub reason: String,
    pub legal_basis: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServeNotice {
    /// Default today; not before the basis decisions, never in the future.
    pub served_on: Option<NaiveDate>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LodgeObjection {
    /// The party's statement of its case.
    pub statement: String,
    /// Default today; the deadline day itself is still inside the window.
    pub received_on: Option<NaiveDate>,
    #[serde(default)]
    pub hearing_requested: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecideListing {
    pub outcome: DecisionOutcomeInput,
    pub reason: String,
    /// Default today; must be after the objection deadline.
    pub decided_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecisionOutcomeInput {
    List,
    NotList,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyRepair {
    /// How the penalty was carried out and the harm remedied.
    pub statement: String,
    #[serde(default)]
    pub evidence: Vec<EvidenceItem>,
    /// Default today; not before `listed_on` + 1 year.
    pub applied_on: Option<NaiveDate>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecideRepair {
    pub outcome: RepairOutcomeInput,
    pub reason: String,
    pub decided_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RepairOutcomeInput {
    Approve,
    Reject,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reinstate {
    /// Why the repair is found false.
    pub reason: String,
    /// Default today; the three-year period restarts from this date.
    pub reinstated_on: Option<NaiveDate>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeListing {
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryView {
    /// `propose`, `notice`, `objection`, `decision`, `repair`, `repair_decision`, `reinstate`, `revoke`, `expire`.
    pub action: String,
    pub from_status: Option<Status>,
    pub to_status: Status,
    /// Null for the system.
    pub actor_user_id: Option<String>,
    pub effective_on: NaiveDate,
    /// When it was entered.
    pub at: DateTime<Utc>,
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ObjectionView {
    pub id: String,
    pub listing_id: String,
    pub statement: String,
    pub received_on: NaiveDate,
    pub hearing_requested: bool,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RepairApplicationView {
    pub id: String,
    pub listing_id: String,
    pub statement: String,
    pub evidence: Vec<EvidenceItem>,
    pub applied_on: NaiveDate,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
    /// Null while pending; `approve` or `reject`.
    pub outcome: Option<String>,
    pub decided_by: Option<String>,
    pub decided_on: Option<NaiveDate>,
    pub decision_reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ListingView {
    pub id: String,
    pub subject_id: String,
    /// As of now: a listing past `expires_on` is `expired`.
    pub status: Status,
    pub reason: String,
    pub legal_basis: String,
    pub violation_ids: Vec<String>,
    /// Null when the system proposed it.
    pub proposed_by: Option<String>,
    pub noticed_by: Option<String>,
    pub served_on: Option<NaiveDate>,
    /// Last day for objections: served_on + 5 working days.
    pub objection_deadline: Option<NaiveDate>,
    pub decided_by: Option<String>,
    pub decided_on: Option<NaiveDate>,
    pub decision_reason: Option<String>,
    pub listed_on: Option<NaiveDate>,
    pub expires_on: Option<NaiveDate>,
    pub removed_on: Option<NaiveDate>,
    /// `credit_repair` when removed.
    pub removal_reason: Option<String>,
    pub revoked_on: Option<NaiveDate>,
    pub revocation_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub history: Vec<HistoryView>,
    pub objections: Vec<ObjectionView>,
    pub repair_applications: Vec<RepairApplicationView>,
}

page_type!(ListingPage, ListingView);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListingQuery {
    pub status: Option<Status>,
    pub subject_id: Option<String>,
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

fn objection_view(o: Objection) -> ObjectionView {
    ObjectionView {
        id: o.id,
        listing_id: o.listing_id,
        statement: o.statement,
        received_on: o.received_on,
        hearing_requested: o.hearing_requested,
        recorded_by: o.recorded_by,
        recorded_at: o.recorded_at.and_utc(),
    }
}

fn repair_view(r: RepairApplication) -> RepairApplicationView {
    RepairApplicationView {
        evidence: serde_json::from_str(&r.evidence).unwrap_or_default(),
        id: r.id,
        listing_id: r.listing_id,
        statement: r.statement,
        applied_on: r.applied_on,
        recorded_by: r.recorded_by,
        recorded_at: r.recorded_at.and_utc(),
        outcome: r.outcome,
        decided_by: r.decided_by,
        decided_on: r.decided_on,
        decision_reason: r.decision_reason,
    }
}

fn history_view(h: HistoryEntry) -> HistoryView {
    HistoryView {
        action: h.action,
        from_status: h.from_status.and_then(|s| s.parse().ok()),
        to_status: h.to_status.parse().unwrap_or(Status::Proposed),
        actor_user_id: h.actor_user_id,
        effective_on: h.effective_on,
        at: h.at.and_utc(),
        reason: h.reason,
    }
}

/// The full view of a listing as of `today`.
pub fn view(conn: &mut DbConn, l: Listing, today: NaiveDate) -> ApiResult<ListingView> {
    let stored: Status = l
        .status
        .parse()
        .map_err(|_| ApiError::Internal(anyhow::anyhow!("bad status {}", l.status)))?;
    Ok(ListingView {
        status: procedure::effective_status(stored, l.expires_on, today),
        violation_ids: listings::violation_ids(conn, &l.id)?,
        history: listings::history(conn, &l.id)?
            .into_iter()
            .map(history_view)
            .collect(),
        objections: listings::objections_of(conn, &l.id)?
            .into_iter()
            .map(objection_view)
            .collect(),
        repair_applications: listings::repairs_of(conn, &l.id)?
            .into_iter()
            .map(repair_view)
            .collect(),
        id: l.id,
        subject_id: l.subject_id,
        reason: l.reason,
        legal_basis: l.legal_basis,
        proposed_by: l.proposed_by,
        noticed_by: l.noticed_by,
        served_on: l.served_on,
        objection_deadline: l.objection_deadline,
        decided_by: l.decided_by,
        decided_on: l.decided_on,
        decision_reason: l.decision_reason,
        listed_on: l.listed_on,
        expires_on: l.expires_on,
        removed_on: l.removed_on,
        removal_reason: l.removal_reason,
        revoked_on: l.revoked_on,
        revocation_reason: l.revocation_reason,
        created_at: l.created_at.and_utc(),
        updated_at: l.updated_at.and_utc(),
    })
}

fn to_json<T: Serialize>(value: T) -> ApiResult<serde_json::Value> {
    serde_json::to_value(value).map_err(|e| ApiError::Internal(e.into()))
}

fn actor(user: &CurrentUser) -> Actor {
    Actor::user(&user.id, &user.organization_id)
}

fn text(field: &str, raw: &str, max: usize) -> ApiResult<String> {
    clean_text(raw, max).map_err(|m| ApiError::invalid(field, m))
}

/// Propose a listing.
#[utoipa::path(post, path = "/v1/listings", tag = "listings", operation_id = "proposeListing",
    request_body = ProposeListing, security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the first response")),
    responses(
        (status = 201, description = "Proposed", body = ListingView),
        (status = 400, response = crate::api::BadRequest),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 409, response = crate::api::Conflict),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[post("/v1/listings")]
pub async fn propose_listing(
    Regulator(user): Regulator,
    key: IdempotencyKey,
    body: ApiJson<ProposeListing>,
    db: web::Data<Db>,
) -> ApiResult<HttpResponse> {
    let fingerprint = body.fingerprint();
    let b = body.0;
    let mut errors = Vec::new();
    let reason = clean_text(&b.reason, MAX_TEXT_CHARS)
        .map_err(|m| errors.push(FieldError::new("reason", m)))
        .unwrap_or_default();
    let legal_basis = clean_text(&b.legal_basis, 2000)
        .map_err(|m| errors.push(FieldError::new("legal_basis", m)))
        .unwrap_or_default();
    let mut violation_ids = b.violation_ids;
    violation_ids.sort();
    violation_ids.dedup();
    if violation_ids.is_empty() || violation_ids.len() > 100 {
        errors.push(FieldError::new("violation_ids", "name 1 to 100 violations"));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let actor = actor(&user);
    let subject_id = b.subject_id;
    idempotency::create(&db, &user, key, fingerprint, move |conn| {
        let today = today_cst(Utc::now());
        registry::find_subject(conn, &subject_id)?
            .ok_or_else(|| ApiError::invalid("subject_id", "no such subject"))?;
        for (i, id) in violation_ids.iter().enumerate() {
            match registry::find_violation(conn, id)? {
                Some(v) if v.subject_id != subject_id => {
                    return Err(ApiError::invalid(
                        format!("violation_ids[{i}]"),
                        "belongs to another subject",
                    ))
                }
                Some(v) if v.status != "effective" => {
                    return Err(ApiError::invalid(
                        format!("violation_ids[{i}]"),
                        "is revoked",
                    ))
                }
                Some(_) => {}
                None => {
                    return Err(ApiError::invalid(
                        format!("violation_ids[{i}]"),
                        "no such violation",
                    ))
                }
            }
        }
        let listing = workflows::propose(
            conn,
            &subject_id,
            &violation_ids,
            &reason,
            &legal_basis,
            &actor,
            today,
        )?;
        to_json(view(conn, listing, today)?)
    })
    .await
}

/// Search listings.
#[utoipa::path(get, path = "/v1/listings", tag = "listings", operation_id = "listListings",
    params(ListingQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "One page, oldest first", body = ListingPage),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[get("/v1/listings")]
pub async fn list_listings(
    _reader: Reader,
    query: web::Query<ListingQuery>,
    db: web::Data<Db>,
) -> ApiResult<web::Json<ListingPage>> {
    let q = query.into_inner();
    let page = PageParams {
        limit: q.limit,
        cursor: q.cursor,
    };
    let (limit, after) = (page.limit()?, page.after()?);
    let search = ListingSearch {
        subject_id: q.subject_id,
        status: q.status.map(|s| s.as_str().to_owned()),
    };
    let (items, next_cursor) = db
        .run(move |conn| {
            let today = today_cst(Utc::now());
            let rows = listings::search(conn, &search, today, after.as_deref(), limit + 1)?;
            let (rows, next) = page_of(rows, limit, |l| l.id.clone());
            let items = rows
                .into_iter()
                .map(|l| view(conn, l, today))
                .collect::<ApiResult<Vec<_>>>()?;
            Ok((items, next))
        })
        .await?;
    Ok(web::Json(ListingPage { items, next_cursor }))
}

/// One listing with its history, objections and repair applications.
#[utoipa::path(get, path = "/v1/listings/{id}", tag = "listings", operation_id = "getListing",
    params(("id" = String, Path, description = "Listing id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The listing", body = ListingView),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
    ))]
#[get("/v1/listings/{id}")]
pub async fn get_listing(
    _reader: Reader,
    id: web::Path<String>,
    db: web::Data<Db>,
) -> ApiResult<web::Json<ListingView>> {
    let id = id.into_inner();
    let listing = db
        .run(move |conn| {
            let listing =
                listings::find(conn, &id)?.ok_or_else(|| ApiError::not_found("no such listing"))?;
            view(conn, listing, today_cst(Utc::now()))
        })
        .await?;
    Ok(web::Json(listing))
}

/// Runs one procedure step in a write transaction and answers with the listing.
async fn step<F>(
    db: &Db,
    id: String,
    user: &CurrentUser,
    reason: Option<String>,
    rule: F,
) -> ApiResult<web::Json<ListingView>>
where
    F: FnOnce(
            &procedure::ListingFacts,
            NaiveDate,
        ) -> Result<procedure::Transition, procedure::ProcedureError>
        + Send
        + 'static,
{
    let actor = actor(user);
    let view = db
        .write(move |conn| {
            let today = today_cst(Utc::now());
            let (listing, _) =
                workflows::transition(conn, &id, &actor, reason.as_deref(), today, |facts, _| {
                    rule(facts, today)
                })?;
            view(conn, listing, today)
        })
        .await?;
    Ok(web::Json(view))
}

/// Serve the notice: the party is told the facts, reasons and legal basis.
#[utoipa::path(post, path = "/v1/listings/{id}/notice", tag = "listings", operation_id = "serveNotice",
    params(("id" = String, Path, description = "Listing id")),
    request_body = ServeNotice, security(("bearer" = [])),
    responses(
        (status = 200, description = "Noticed; `objection_deadline` set", body = ListingView),
        (status = 400, response = crate::api::BadRequest),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
        (status = 409, response = crate::api::Conflict),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[post("/v1/listings/{id}/notice")]
pub async fn serve_notice(
    Regulator(user): Regulator,
    id: web::Path<String>,
    body: ApiJson<ServeNotice>,
    db: web::Data<Db>,
    calendar: web::Data<Calendar>,
) -> ApiResult<web::Json<ListingView>> {
    let served_on = body.0.served_on;
    let server = user.id.clone();
    step(&db, id.into_inner(), &user, None, move |facts, today| {
        let served_on = served_on.unwrap_or(today);
        let deadline = calendar.add_working_days(served_on, OBJECTION_WORKING_DAYS);
        procedure::notice(facts, served_on, deadline, &server, today)
    })
    .await
}

/// Record the party's objection (statement of its case, or a hearing request).
#[utoipa::path(post, path = "/v1/listings/{id}/objections", tag = "listings", operation_id = "lodgeObjection",
    params(("id" = String, Path, description = "Listing id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the first response")),
    request_body = LodgeObjection, security(("bearer" = [])),
    responses(
        (status = 201, description = "Recorded", body = ObjectionView),
        (status = 400, response = crate::api::BadRequest),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
        (status = 409, response = crate::api::Conflict),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[post("/v1/listings/{id}/objections")]
pub async fn lodge_objection(
    Regulator(user): Regulator,
    id: web::Path<String>,
    key: IdempotencyKey,
    body: ApiJson<LodgeObjection>,
    db: web::Data<Db>,
) -> ApiResult<HttpResponse> {
    let fingerprint = body.fingerprint();
    let b = body.0;
    let statement = text("statement", &b.statement, MAX_TEXT_CHARS)?;
    let id = id.into_inner();
    let actor = actor(&user);
    let recorder = user.id.clone();
    idempotency::create(&db, &user, key, fingerprint, move |conn| {
        let today = today_cst(Utc::now());
        let received_on = b.received_on.unwrap_or(today);
        let reason = if b.hearing_requested {
            "objection with a hearing request"
        } else {
            "objection"
        };
        let (listing, _) =
            workflows::transition(conn, &id, &actor, Some(reason), today, |facts, _| {
                procedure::object(facts, received_on, &recorder, today)
            })?;
        let objection = Objection {
            id: uuid::Uuid::now_v7().to_string(),
            listing_id: listing.id,
            statement,
            received_on,
            hearing_requested: b.hearing_requested,
            recorded_by: recorder.clone(),
            recorded_at: Utc::now().naive_utc(),
        };
        listings::insert_objection(conn, &objection)?;
        to_json(objection_view(objection))
    })
    .await
}

/// Decide to list or not, after the objection window (two officials: not the proposer).
#[utoipa::path(post, path = "/v1/listings/{id}/decision", tag = "listings", operation_id = "decideListing",
    params(("id" = String, Path, description = "Listing id")),
    request_body = DecideListing, security(("bearer" = [])),
    responses(
        (status = 200, description = "Decided: `listed` (published at once) or `not_listed`", body = ListingView),
        (status = 400, response = crate::api::BadRequest),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
        (status = 409, response = crate::api::Conflict),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[post("/v1/listings/{id}/decision")]
pub async fn decide_listing(
    Regulator(user): Regulator,
    id: web::Path<String>,
    body: ApiJson<DecideListing>,
    db: web::Data<Db>,
) -> ApiResult<web::Json<ListingView>> {
    let b = body.0;
    let reason = text("reason", &b.reason, MAX_TEXT_CHARS)?;
    let outcome = match b.outcome {
        DecisionOutcomeInput::List => DecisionOutcome::List,
        DecisionOutcomeInput::NotList => DecisionOutcome::NotList,
    };
    let decider = user.id.clone();
    let authority = user.organization_id.clone();
    let id = id.into_inner();
    let actor = actor(&user);
    let view = db
        .write(move |conn| {
            let today = today_cst(Utc::now());
            let decided_on = b.decided_on.unwrap_or(today);
            let (mut listing, _) =
                workflows::transition(conn, &id, &actor, Some(&reason), today, |facts, _| {
                    procedure::decide(facts, outcome, decided_on, &decider, today)
                })?;
            listing.decision_reason = Some(reason.clone());
            // The deciding official's organization is the authority the public list names.
            listing.authority_id = Some(authority.clone());
            listings::save(conn, &listing)?;
            view(conn, listing, today)
        })
        .await?;
    Ok(web::Json(view))
}

/// Apply for credit repair (early removal), from one year after listing.
#[utoipa::path(post, path = "/v1/listings/{id}/repair", tag = "listings", operation_id = "applyForRepair",
    params(("id" = String, Path, description = "Listing id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the first response")),
    request_body = ApplyRepair, security(("bearer" = [])),
    responses(
        (status = 201, description = "The pending application", body = RepairApplicationView),
        (status = 400, response = crate::api::BadRequest),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
        (status = 409, response = crate::api::Conflict),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[post("/v1/listings/{id}/repair")]
pub async fn apply_for_repair(
    Regulator(user): Regulator,
    id: web::Path<String>,
    key: IdempotencyKey,
    body: ApiJson<ApplyRepair>,
    db: web::Data<Db>,
) -> ApiResult<HttpResponse> {
    let fingerprint = body.fingerprint();
    let b = body.0;
    let statement = text("statement", &b.statement, MAX_TEXT_CHARS)?;
    let mut errors = Vec::new();
    let evidence = clean_evidence(b.evidence, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let evidence = serde_json::to_string(&evidence).map_err(|e| ApiError::Internal(e.into()))?;
    let id = id.into_inner();
    let actor = actor(&user);
    let applicant = user.id.clone();
    idempotency::create(&db, &user, key, fingerprint, move |conn| {
        let today = today_cst(Utc::now());
        let applied_on = b.applied_on.unwrap_or(today);
        let (listing, _) = workflows::transition(
            conn,
            &id,
            &actor,
            Some("credit repair application"),
            today,
            |facts, _| procedure::apply_repair(facts, applied_on, &applicant, today),
        )?;
        let application = RepairApplication {
            id: uuid::Uuid::now_v7().to_string(),
            listing_id: listing.id,
            statement,
            evidence,
            applied_on,
            recorded_by: applicant.clone(),
            recorded_at: Utc::now().naive_utc(),
            outcome: None,
            decided_by: None,
            decided_on: None,
            decision_reason: None,
        };
        listings::insert_repair(conn, &application)?;
        to_json(repair_view(application))
    })
    .await
}

/// Approve (→ `removed`) or reject the pending credit repair application.
#[utoipa::path(post, path = "/v1/listings/{id}/repair/decision", tag = "listings", operation_id = "decideRepair",
    params(("id" = String, Path, description = "Listing id")),
    request_body = DecideRepair, security(("bearer" = [])),
    responses(
        (status = 200, description = "Decided", body = ListingView),
        (status = 400, response = crate::api::BadRequest),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
        (status = 409, response = crate::api::Conflict),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[post("/v1/listings/{id}/repair/decision")]
pub async fn decide_repair(
    Regulator(user): Regulator,
    id: web::Path<String>,
    body: ApiJson<DecideRepair>,
    db: web::Data<Db>,
) -> ApiResult<web::Json<ListingView>> {
    let b = body.0;
    let reason = text("reason", &b.reason, MAX_TEXT_CHARS)?;
    let outcome = match b.outcome {
        RepairOutcomeInput::Approve => RepairOutcome::Approve,
        RepairOutcomeInput::Reject => RepairOutcome::Reject,
    };
    let official = user.id.clone();
    let id = id.into_inner();
    let actor = actor(&user);
    let view = db
        .write(move |conn| {
            let today = today_cst(Utc::now());
            let decided_on = b.decided_on.unwrap_or(today);
            let (listing, _) =
                workflows::transition(conn, &id, &actor, Some(&reason), today, |facts, _| {
                    procedure::decide_repair(facts, outcome, decided_on, &official, today)
                })?;
            if let Some(mut pending) = listings::repairs_of(conn, &listing.id)?
                .into_iter()
                .rev()
                .find(|r| r.outcome.is_none())
            {
                pending.outcome = Some(outcome.as_str().to_owned());
                pending.decided_by = Some(official.clone());
                pending.decided_on = Some(decided_on);
                pending.decision_reason = Some(reason.clone());
                listings::save_repair(conn, &pending)?;
            }
            view(conn, listing, today)
        })
        .await?;
    Ok(web::Json(view))
}

/// Reinstate a removed listing whose repair was obtained by false statements; the period restarts.
#[utoipa::path(post, path = "/v1/listings/{id}/reinstate", tag = "listings", operation_id = "reinstateListing",
    params(("id" = String, Path, description = "Listing id")),
    request_body = Reinstate, security(("bearer" = [])),
    responses(
        (status = 200, description = "Listed again with a new `expires_on`", body = ListingView),
        (status = 400, response = crate::api::BadRequest),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
        (status = 409, response = crate::api::Conflict),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[post("/v1/listings/{id}/reinstate")]
pub async fn reinstate_listing(
    Regulator(user): Regulator,
    id: web::Path<String>,
    body: ApiJson<Reinstate>,
    db: web::Data<Db>,
) -> ApiResult<web::Json<ListingView>> {
    let b = body.0;
    let reason = text("reason", &b.reason, MAX_TEXT_CHARS)?;
    let official = user.id.clone();
    step(
        &db,
        id.into_inner(),
        &user,
        Some(reason),
        move |facts, today| {
            procedure::reinstate(facts, b.reinstated_on.unwrap_or(today), &official, today)
        },
    )
    .await
}

/// Revoke a listing (the underlying penalty was annulled).
#[utoipa::path(post, path = "/v1/listings/{id}/revoke", tag = "listings", operation_id = "revokeListing",
    params(("id" = String, Path, description = "Listing id")),
    request_body = RevokeListing, security(("bearer" = [])),
    responses(
        (status = 200, description = "Revoked", body = ListingView),
        (status = 400, response = crate::api::BadRequest),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
        (status = 409, response = crate::api::Conflict),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[post("/v1/listings/{id}/revoke")]
pub async fn revoke_listing(
    Regulator(user): Regulator,
    id: web::Path<String>,
    body: ApiJson<RevokeListing>,
    db: web::Data<Db>,
) -> ApiResult<web::Json<ListingView>> {
    let reason = text("reason", &body.0.reason, MAX_TEXT_CHARS)?;
    let official = user.id.clone();
    let r = reason.clone();
    step(
        &db,
        id.into_inner(),
        &user,
        Some(reason),
        move |facts, today| procedure::revoke(facts, &r, &official, today),
    )
    .await
}

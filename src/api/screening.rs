//! Screening for platforms: one subject or a batch of up to 1,000, by
//! identifiers and names, each answer recorded before it is given.

use actix_web::{get, post, web};
use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::json::ApiJson;
use super::pagination::{page_of, PageParams};
use super::subjects::AccountInput;
use crate::audit::Actor;
use crate::auth::extract::CurrentUser;
use crate::auth::Platform;
use crate::config::Settings;
use crate::db::screening::{self as repo, ScreeningRecord, Watch};
use crate::db::{Db, ReadDb};
use crate::domain::identifiers::{Account, ResidentId, Uscc};
use crate::domain::names;
use crate::domain::registry::{today_cst, SubjectKind};
use crate::domain::scoring::{round_half_away_from_zero, Band};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::page_type;
use crate::screening::{self, Decision, Outcome, Query, RateLimiter, RecordJob, RecordWriter};

/// Most items in one batch.
pub const MAX_BATCH: usize = 1000;

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScreeningRequest {
    /// A person's or shop's name: Han characters (traditional or simplified) or pinyin.
    pub name: Option<String>,
    /// 18-character resident ID.
    pub id_number: Option<String>,
    /// 18-character unified social credit code.
    pub uscc: Option<String>,
    #[serde(default)]
    pub accounts: Vec<AccountInput>,
    /// Add the subjects matched by identifier to the organization's watchlist.
    #[serde(default)]
    pub watch: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// Up to 1,000 items, each shaped as a single screening.
    pub items: Vec<ScreeningRequest>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActiveListingView {
    pub listing_id: String,
    pub listed_on: Option<NaiveDate>,
    pub expires_on: Option<NaiveDate>,
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MatchView {
    pub subject_id: String,
    pub name: String,
    pub kind: SubjectKind,
    /// `id_number`, `uscc`, `account`, `name`, `alias`.
    pub matched_on: Vec<String>,
    /// The stored names or aliases the query's name matched.
    pub matched_names: Vec<String>,
    /// 1 for an identifier match; name similarity in 0–1 otherwise.
    pub confidence: f64,
    pub score: f64,
    pub band: Band,
    pub active_listings: Vec<ActiveListingView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScreeningResult {
    pub screening_id: String,
    pub screened_at: DateTime<Utc>,
    /// The public list version the answer was computed at.
    pub list_version: i64,
    pub decision: Decision,
    pub matches: Vec<MatchView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchResult {
    /// In the order of the request's items.
    pub results: Vec<ScreeningResult>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScreeningRecordView {
    pub screening_id: String,
    pub batch_id: Option<String>,
    pub screened_at: DateTime<Utc>,
    pub user_id: String,
    /// Keyed hash of the normalised query.
    pub query_fingerprint: String,
    pub decision: String,
    pub list_version: i64,
    pub matched_subject_ids: Vec<String>,
}

page_type!(ScreeningRecordPage, ScreeningRecordView);

fn parse(
    req: &ScreeningRequest,
    prefix: &str,
    pepper: &[u8],
    errors: &mut Vec<FieldError>,
) -> Query {
    let field = |name: &str| format!("{prefix}{name}");
    let mut query = Query {
        watch: req.watch,
        ..Default::default()
    };
    if let Some(name) = req.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        if name.chars().count() > 200 {
            errors.push(FieldError::new(
                field("name"),
                "must be at most 200 characters",
            ));
        } else {
            let keys = names::name_keys(name);
            if keys.text.is_empty() && keys.pinyin.is_empty() {
                errors.push(FieldError::new(
                    field("name"),
                    "has no letters or characters to match",
                ));
            } else {
                query.name = Some(keys);
            }
        }
    }
    if let Some(raw) = &req.id_number {
        match ResidentId::parse(raw) {
            Ok(id) => query.id_number_hash = Some(id.keyed_hash(pepper)),
            Err(e) => errors.push(FieldError::new(field("id_number"), e.to_string())),
        }
    }
    if let Some(raw) = &req.uscc {
        match Uscc::parse(raw) {
            Ok(code) => query.uscc = Some(code.as_str().to_owned()),
            Err(e) => errors.push(FieldError::new(field("uscc"), e.to_string())),
        }
    }
    if req.accounts.len() > 50 {
        errors.push(FieldError::new(field("accounts"), "at most 50 accounts"));
    }
    for (i, a) in req.accounts.iter().take(50).enumerate() {
        match Account::parse(&a.platform, &a.handle) {
            Ok(account) => query.account_keys.push(account.key()),
            Err(e) => errors.push(FieldError::new(
                format!("{}[{i}]", field("accounts")),
                e.to_string(),
            )),
        }
    }
    if query.name.is_none()
        && query.id_number_hash.is_none()
        && query.uscc.is_none()
        && query.account_keys.is_empty()
        && errors.is_empty()
    {
        errors.push(FieldError::new(
            if prefix.is_empty() {
                "body".to_owned()
            } else {
                prefix.trim_end_matches('.').to_owned()
            },
            "give at least one of name, id_number, uscc, accounts",
        ));
    }
    query
}

fn view(outcome: Outcome, id: String, at: DateTime<Utc>, list_version: i64) -> ScreeningResult {
    ScreeningResult {
        screening_id: id,
        screened_at: at,
        list_version,
        decision: outcome.decision,
        matches: outcome
            .matches
            .into_iter()
            .map(|m| MatchView {
                subject_id: m.subject.id,
                name: m.subject.name,
                kind: m.subject.kind.parse().unwrap_or(SubjectKind::Anchor),
                matched_on: m.matched_on.into_iter().map(str::to_owned).collect(),
                matched_names: m.matched_names,
                confidence: m.confidence,
                score: round_half_away_from_zero(m.subject.score, 1),
                band: m.subject.band.parse().unwrap_or(Band::A),
                active_listings: m
                    .active_listings
                    .into_iter()
                    .map(|l| ActiveListingView {
                        listing_id: l.listing_id,
                        listed_on: l.listed_on,
                        expires_on: l.expires_on,
                        reason: l.reason,
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// Screens parsed queries, records every answer (and watch) and returns the answers.
async fn run(
    db: &ReadDb,
    writer: &RecordWriter,
    settings: &Settings,
    user: &CurrentUser,
    queries: Vec<Query>,
    batch_id: Option<String>,
) -> ApiResult<Vec<ScreeningResult>> {
    let today = today_cst(Utc::now());
    let fingerprints: Vec<String> = queries
        .iter()
        .map(|q| q.fingerprint(settings.id_pepper.bytes()))
        .collect();
    let watch_flags: Vec<bool> = queries.iter().map(|q| q.watch).collect();
    let (list_version, outcomes) = db
        .run(move |conn| Ok(screening::screen(conn, &queries, today)?))
        .await?;
    let at = Utc::now().trunc_subsecs(6);
    let mut records = Vec::with_capacity(outcomes.len());
    let mut watches = Vec::new();
    for (position, outcome) in outcomes.iter().enumerate() {
        let matched: Vec<&str> = outcome
            .matches
            .iter()
            .map(|m| m.subject.id.as_str())
            .collect();
        records.push(ScreeningRecord {
            id: uuid::Uuid::now_v7().to_string(),
            batch_id: batch_id.clone(),
            position: position as i32,
            organization_id: user.organization_id.clone(),
            user_id: user.id.clone(),
            screened_at: at.naive_utc(),
            query_fingerprint: fingerprints[position].clone(),
            decision: outcome.decision.as_str().to_owned(),
            list_version,
            matched_subject_ids: serde_json::to_string(&matched).unwrap_or_else(|_| "[]".into()),
        });
        if watch_flags[position] {
            for m in outcome.matches.iter().filter(|m| m.confidence >= 1.0) {
                if !watches.iter().any(|w: &Watch| w.subject_id == m.subject.id) {
                    watches.push(Watch {
                        id: uuid::Uuid::now_v7().to_string(),
                        organization_id: user.organization_id.clone(),
                        subject_id: m.subject.id.clone(),
                        external_ref: None,
                        created_by: user.id.clone(),
                        created_at: at.naive_utc(),
                        since_seq: 0,
                    });
                }
            }
        }
    }
    let ids: Vec<String> = records.iter().map(|r| r.id.clone()).collect();
    writer
        .commit(RecordJob {
            actor: Actor::user(&user.id, &user.organization_id),
            records,
            watches,
        })
        .await?;
    Ok(outcomes
        .into_iter()
        .zip(ids)
        .map(|(o, id)| view(o, id, at, list_version))
        .collect())
}

fn rate_limit(limiter: &RateLimiter, user: &CurrentUser, cost: f64) -> ApiResult<()> {
    limiter.check(&user.organization_id, cost).map_err(|retry_after_secs| ApiError::TooManyRequests {
        detail: "this organization's screening rate limit is exhausted; retry after the Retry-After seconds".into(),
        retry_after_secs,
    })
}

/// Screen one anchor or merchant.
#[utoipa::path(post, path = "/v1/screening", tag = "screening", operation_id = "screen",
    request_body = ScreeningRequest, security(("bearer" = [])),
    responses(
        (status = 200, description = "The decision and the matches, recorded", body = ScreeningResult),
        (status = 400, response = crate::api::BadRequest),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 422, response = crate::api::Unprocessable),
        (status = 429, response = crate::api::TooManyRequests),
    ))]
#[post("/v1/screening")]
pub async fn screen_one(
    Platform(user): Platform,
    body: ApiJson<ScreeningRequest>,
    db: ReadDb,
    writer: web::Data<RecordWriter>,
    limiter: web::Data<RateLimiter>,
    settings: web::Data<Settings>,
) -> ApiResult<web::Json<ScreeningResult>> {
    rate_limit(&limiter, &user, 1.0)?;
    let mut errors = Vec::new();
    let query = parse(&body.0, "", settings.id_pepper.bytes(), &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let mut results = run(&db, &writer, &settings, &user, vec![query], None).await?;
    results
        .pop()
        .map(web::Json)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no screening result")))
}

/// Screen up to 1,000 items; results in the order of the items.
#[utoipa::path(post, path = "/v1/screening/batch", tag = "screening", operation_id = "screenBatch",
    request_body = BatchRequest, security(("bearer" = [])),
    responses(
        (status = 200, description = "One result per item, in order, all recorded", body = BatchResult),
        (status = 400, response = crate::api::BadRequest),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 422, response = crate::api::Unprocessable),
        (status = 429, response = crate::api::TooManyRequests),
    ))]
#[post("/v1/screening/batch")]
pub async fn screen_batch(
    Platform(user): Platform,
    body: ApiJson<BatchRequest>,
    db: ReadDb,
    writer: web::Data<RecordWriter>,
    limiter: web::Data<RateLimiter>,
    settings: web::Data<Settings>,
) -> ApiResult<web::Json<BatchResult>> {
    let items = body.0.items;
    if items.is_empty() || items.len() > MAX_BATCH {
        return Err(ApiError::invalid(
            "items",
            format!("give 1 to {MAX_BATCH} items"),
        ));
    }
    // A batch costs what its items would cost one by one, up to a burst.
    rate_limit(&limiter, &user, items.len() as f64)?;
    let mut errors = Vec::new();
    let queries: Vec<Query> = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            parse(
                item,
                &format!("items[{i}]."),
                settings.id_pepper.bytes(),
                &mut errors,
            )
        })
        .collect();
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let batch_id = uuid::Uuid::now_v7().to_string();
    let results = run(&db, &writer, &settings, &user, queries, Some(batch_id)).await?;
    Ok(web::Json(BatchResult { results }))
}

fn record_view(r: ScreeningRecord) -> ScreeningRecordView {
    ScreeningRecordView {
        matched_subject_ids: serde_json::from_str(&r.matched_subject_ids).unwrap_or_default(),
        screening_id: r.id,
        batch_id: r.batch_id,
        screened_at: r.screened_at.and_utc(),
        user_id: r.user_id,
        query_fingerprint: r.query_fingerprint,
        decision: r.decision,
        list_version: r.list_version,
    }
}

/// This organization's screening history.
#[utoipa::path(get, path = "/v1/screenings", tag = "screening", operation_id = "listScreenings",
    params(PageParams), security(("bearer" = [])),
    responses(
        (status = 200, description = "One page, oldest first", body = ScreeningRecordPage),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[get("/v1/screenings")]
pub async fn list_screenings(
    Platform(user): Platform,
    page: web::Query<PageParams>,
    db: web::Data<Db>,
) -> ApiResult<web::Json<ScreeningRecordPage>> {
    let (limit, after) = (page.limit()?, page.after()?);
    let org = user.organization_id;
    let rows = db
        .run(move |conn| {
            Ok(repo::list_screenings(
                conn,
                &org,
                after.as_deref(),
                limit + 1,
            )?)
        })
        .await?;
    let (rows, next_cursor) = page_of(rows, limit, |r| r.id.clone());
    Ok(web::Json(ScreeningRecordPage {
        items: rows.into_iter().map(record_view).collect(),
        next_cursor,
    }))
}

/// One screening record of this organization (another's is a 404).
#[utoipa::path(get, path = "/v1/screenings/{id}", tag = "screening", operation_id = "getScreening",
    params(("id" = String, Path, description = "Screening id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The record", body = ScreeningRecordView),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
    ))]
#[get("/v1/screenings/{id}")]
pub async fn get_screening(
    Platform(user): Platform,
    id: web::Path<String>,
    db: web::Data<Db>,
) -> ApiResult<web::Json<ScreeningRecordView>> {
    let id = id.into_inner();
    let record = db
        .run(move |conn| {
            repo::find_screening(conn, &user.organization_id, &id)?
                .ok_or_else(|| ApiError::not_found("no such screening"))
        })
        .await?;
    Ok(web::Json(record_view(record)))
}

//! Subjects: anchors and merchants, their names, aliases, identifiers and accounts.

use actix_web::{get, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::idempotency::{self, IdempotencyKey};
use super::json::ApiJson;
use super::pagination::{page_of, PageParams};
use crate::audit::{self, Actor, Event};
use crate::auth::extract::CurrentUser;
use crate::auth::{Reader, Regulator};
use crate::config::Settings;
use crate::db::publication;
use crate::db::registry::{self, Subject, SubjectAccount, SubjectRecord, SubjectSearch};
use crate::db::{Db, DbConn};
use crate::domain::identifiers::{Account, ResidentId, Uscc};
use crate::domain::registry::{
    check_region_code, clean_name, clean_text, today_cst, SubjectKind, MAX_ACCOUNTS, MAX_ALIASES,
};
use crate::domain::scoring::{round_half_away_from_zero, Band, MAX_SCORE};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::page_type;

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountInput {
    /// Platform name, e.g. `douyin`, `kuaishou`, `taobao`.
    pub platform: String,
    /// The handle on that platform (a leading `@` is dropped).
    pub handle: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSubject {
    pub kind: SubjectKind,
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    /// 18-character resident ID (anchors only); stored only as a keyed hash and a masked form.
    pub id_number: Option<String>,
    /// 18-character unified social credit code (merchants only).
    pub uscc: Option<String>,
    #[serde(default)]
    pub accounts: Vec<AccountInput>,
    pub region_code: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSubject {
    pub name: Option<String>,
    /// Replaces the aliases.
    pub aliases: Option<Vec<String>>,
    /// Replaces the accounts.
    pub accounts: Option<Vec<AccountInput>>,
    pub region_code: Option<String>,
    /// May be added where there was none; replacing one here → 409 (use the identifier change).
    pub id_number: Option<String>,
    /// May be added where there was none; replacing one here → 409 (use the identifier change).
    pub uscc: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum IdentifierType {
    IdNumber,
    Uscc,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeIdentifier {
    pub identifier: IdentifierType,
    /// The new value; null removes the identifier.
    pub value: Option<String>,
    /// Why (kept in the audit log).
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountView {
    pub platform: String,
    pub handle: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubjectView {
    pub id: String,
    pub kind: SubjectKind,
    pub name: String,
    pub aliases: Vec<String>,
    /// First 4 and last 4 characters of the resident ID; the full number is never returned.
    pub id_number_masked: Option<String>,
    pub uscc: Option<String>,
    pub accounts: Vec<AccountView>,
    pub region_code: Option<String>,
    /// The stored current score (one decimal); `GET /v1/subjects/{id}/score` explains it.
    pub score: f64,
    pub band: Band,
    /// The date the stored score was computed for (null before any violation).
    pub score_as_of: Option<chrono::NaiveDate>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<SubjectRecord> for SubjectView {
    fn from(r: SubjectRecord) -> Self {
        let s = r.subject;
        Self {
            kind: s.kind.parse().unwrap_or(SubjectKind::Anchor),
            id: s.id,
            name: s.name,
            aliases: r.aliases,
            id_number_masked: s.id_number_masked,
            uscc: s.uscc,
            accounts: r
                .accounts
                .into_iter()
                .map(|a| AccountView {
                    platform: a.platform,
                    handle: a.handle,
                })
                .collect(),
            region_code: s.region_code,
            score: round_half_away_from_zero(s.score, 1),
            band: s.band.parse().unwrap_or(Band::A),
            score_as_of: s.score_as_of,
            created_by: s.created_by,
            created_at: s.created_at.and_utc(),
            updated_at: s.updated_at.and_utc(),
        }
    }
}

page_type!(SubjectPage, SubjectView);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SubjectQuery {
    /// Text in a name or alias, or a full resident ID, USCC or account handle.
    pub q: Option<String>,
    pub kind: Option<SubjectKind>,
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// A resident ID as stored: keyed hash and masked form.
pub struct StoredIdNumber {
    pub hash: String,
    pub masked: String,
}

fn parse_id_number(
    raw: &str,
    pepper: &[u8],
    field: &str,
    errors: &mut Vec<FieldError>,
) -> Option<StoredIdNumber> {
    match ResidentId::parse(raw) {
        Ok(id) => Some(StoredIdNumber {
            hash: id.keyed_hash(pepper),
            masked: id.masked(),
        }),
        Err(e) => {
            errors.push(FieldError::new(field, e.to_string()));
            None
        }
    }
}

fn parse_uscc(raw: &str, field: &str, errors: &mut Vec<FieldError>) -> Option<String> {
    Uscc::parse(raw)
        .map(|u| u.as_str().to_owned())
        .map_err(|e| errors.push(FieldError::new(field, e.to_string())))
        .ok()
}

fn parse_aliases(raw: &[String], name: &str, errors: &mut Vec<FieldError>) -> Vec<String> {
    if raw.len() > MAX_ALIASES {
        errors.push(FieldError::new(
            "aliases",
            format!("at most {MAX_ALIASES} aliases"),
        ));
        return Vec::new();
    }
    let mut aliases: Vec<String> = Vec::new();
    for (i, alias) in raw.iter().enumerate() {
        match clean_name(alias) {
            Ok(alias) if alias != name && !aliases.contains(&alias) => aliases.push(alias),
            Ok(_) => {}
            Err(m) => errors.push(FieldError::new(format!("aliases[{i}]"), m)),
        }
    }
    aliases
}

fn parse_accounts(raw: &[AccountInput], errors: &mut Vec<FieldError>) -> Vec<Account> {
    if raw.len() > MAX_ACCOUNTS {
        errors.push(FieldError::new(
            "accounts",
            format!("at most {MAX_ACCOUNTS} accounts"),
        ));
        return Vec::new();
    }
    let mut accounts: Vec<Account> = Vec::new();
    for (i, a) in raw.iter().enumerate() {
        match Account::parse(&a.platform, &a.handle) {
            Ok(account) if !accounts.iter().any(|x| x.key() == account.key()) => {
                accounts.push(account)
            }
            Ok(_) => {}
            Err(e) => errors.push(FieldError::new(format!("accounts[{i}]"), e.to_string())),
        }
    }
    accounts
}

fn account_rows(subject_id: &str, accounts: &[Account]) -> Vec<SubjectAccount> {
    accounts
        .iter()
        .map(|a| SubjectAccount {
            subject_id: subject_id.to_owned(),
            account_key: a.key(),
            platform: a.platform().to_owned(),
            handle: a.handle().to_owned(),
        })
        .collect()
}

fn duplicate(what: &str, existing: String) -> ApiError {
    ApiError::conflict_with(
        format!("another subject has this {what}"),
        [("existing_subject_id", existing.into())],
    )
}

/// 409 when another subject holds any of these identifiers or accounts.
fn check_unique(
    conn: &mut DbConn,
    subject_id: &str,
    id_number_hash: Option<&str>,
    uscc: Option<&str>,
    accounts: &[Account],
) -> ApiResult<()> {
    if let Some(hash) = id_number_hash {
        if let Some(existing) =
            registry::subject_id_by_id_number_hash(conn, hash)?.filter(|id| id != subject_id)
        {
            return Err(duplicate("id_number", existing));
        }
    }
    if let Some(uscc) = uscc {
        if let Some(existing) =
            registry::subject_id_by_uscc(conn, uscc)?.filter(|id| id != subject_id)
        {
            return Err(duplicate("uscc", existing));
        }
    }
    let keys: Vec<String> = accounts.iter().map(Account::key).collect();
    if let Some((_, existing)) = registry::subjects_by_account_keys(conn, &keys)?
        .into_iter()
        .find(|(_, id)| id != subject_id)
    {
        return Err(duplicate("account", existing));
    }
    Ok(())
}

/// The audit form of a subject: never the full resident ID.
fn audit_details(s: &Subject, aliases: &[String], accounts: &[Account]) -> serde_json::Value {
    json!({
        "kind": s.kind, "name": s.name, "aliases": aliases, "region_code": s.region_code,
        "id_number_masked": s.id_number_masked, "uscc": s.uscc,
        "accounts": accounts.iter().map(Account::key).collect::<Vec<_>>(),
    })
}

fn actor(user: &CurrentUser) -> Actor {
    Actor::user(&user.id, &user.organization_id)
}

fn load_view(conn: &mut DbConn, id: &str) -> ApiResult<SubjectView> {
    registry::find_subject_record(conn, id)?
        .map(SubjectView::from)
        .ok_or_else(|| ApiError::not_found("no such subject"))
}

fn to_json<T: Serialize>(value: T) -> ApiResult<serde_json::Value> {
    serde_json::to_value(value).map_err(|e| ApiError::Internal(e.into()))
}

/// Register an anchor or merchant.
#[utoipa::path(post, path = "/v1/subjects", tag = "subjects", operation_id = "createSubject",
    request_body = CreateSubject, security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the first response")),
    responses(
        (status = 201, description = "Created", body = SubjectView),
        (status = 400, response = crate::api::BadRequest),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 409, response = crate::api::Conflict),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[post("/v1/subjects")]
pub async fn create_subject(
    Regulator(user): Regulator,
    key: IdempotencyKey,
    body: ApiJson<CreateSubject>,
    db: web::Data<Db>,
    settings: web::Data<Settings>,
) -> ApiResult<HttpResponse> {
    let fingerprint = body.fingerprint();
    let b = body.0;
    let mut errors = Vec::new();
    let name = clean_name(&b.name)
        .map_err(|m| errors.push(FieldError::new("name", m)))
        .unwrap_or_default();
    let aliases = parse_aliases(&b.aliases, &name, &mut errors);
    let accounts = parse_accounts(&b.accounts, &mut errors);
    let id_number = match (&b.id_number, b.kind) {
        (Some(raw), SubjectKind::Anchor) => {
            parse_id_number(raw, settings.id_pepper.bytes(), "id_number", &mut errors)
        }
        (Some(_), SubjectKind::Merchant) => {
            errors.push(FieldError::new(
                "id_number",
                "only anchors have a resident ID; give a merchant's uscc",
            ));
            None
        }
        (None, _) => None,
    };
    let uscc = match (&b.uscc, b.kind) {
        (Some(raw), SubjectKind::Merchant) => parse_uscc(raw, "uscc", &mut errors),
        (Some(_), SubjectKind::Anchor) => {
            errors.push(FieldError::new(
                "uscc",
                "only merchants have a unified social credit code",
            ));
            None
        }
        (None, _) => None,
    };
    let region_code = b
        .region_code
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    if let Some(Err(m)) = region_code.as_deref().map(check_region_code) {
        errors.push(FieldError::new("region_code", m));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let now = Utc::now().naive_utc();
    let subject = Subject {
        id: uuid::Uuid::now_v7().to_string(),
        kind: b.kind.as_str().into(),
        name,
        region_code,
        id_number_masked: id_number.as_ref().map(|i| i.masked.clone()),
        id_number_hash: id_number.map(|i| i.hash),
        uscc,
        created_by: user.id.clone(),
        created_at: now,
        updated_at: now,
        score: MAX_SCORE,
        band: Band::A.as_str().into(),
        score_as_of: None,
        policy_version: 1,
    };
    let actor = actor(&user);
    idempotency::create(&db, &user, key, fingerprint, move |conn| {
        check_unique(
            conn,
            &subject.id,
            subject.id_number_hash.as_deref(),
            subject.uscc.as_deref(),
            &accounts,
        )?;
        registry::insert_subject(conn, &subject)?;
        registry::replace_names(conn, &subject.id, &subject.name, &aliases)?;
        registry::replace_accounts(conn, &subject.id, &account_rows(&subject.id, &accounts))?;
        audit::append(
            conn,
            &actor,
            Event {
                action: "subject.created",
                target_type: "subject",
                target_id: &subject.id,
                details: audit_details(&subject, &aliases, &accounts),
            },
        )?;
        to_json(load_view(conn, &subject.id)?)
    })
    .await
}

/// Search subjects.
#[utoipa::path(get, path = "/v1/subjects", tag = "subjects", operation_id = "listSubjects",
    params(SubjectQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "One page, in registration order", body = SubjectPage),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[get("/v1/subjects")]
pub async fn list_subjects(
    _reader: Reader,
    query: web::Query<SubjectQuery>,
    db: web::Data<Db>,
    settings: web::Data<Settings>,
) -> ApiResult<web::Json<SubjectPage>> {
    let query = query.into_inner();
    let page = PageParams {
        limit: query.limit,
        cursor: query.cursor,
    };
    let (limit, after) = (page.limit()?, page.after()?);
    let mut search = SubjectSearch {
        kind: query.kind.map(|k| k.as_str().to_owned()),
        ..Default::default()
    };
    if let Some(q) = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        if q.chars().count() > 200 {
            return Err(ApiError::invalid("q", "must be at most 200 characters"));
        }
        search.text = Some(q.to_lowercase());
        search.id_number_hash = ResidentId::parse(q)
            .ok()
            .map(|id| id.keyed_hash(settings.id_pepper.bytes()));
        search.uscc = Uscc::parse(q).ok().map(|u| u.as_str().to_owned());
        search.account_handle = Some(q.trim_start_matches('@').to_lowercase());
    }
    let (items, next_cursor) = db
        .run(move |conn| {
            let rows = registry::search_subjects(conn, &search, after.as_deref(), limit + 1)?;
            let (rows, next) = page_of(rows, limit, |s| s.id.clone());
            Ok((registry::with_details(conn, rows)?, next))
        })
        .await?;
    Ok(web::Json(SubjectPage {
        items: items.into_iter().map(SubjectView::from).collect(),
        next_cursor,
    }))
}

/// One subject.
#[utoipa::path(get, path = "/v1/subjects/{id}", tag = "subjects", operation_id = "getSubject",
    params(("id" = String, Path, description = "Subject id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The subject", body = SubjectView),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
    ))]
#[get("/v1/subjects/{id}")]
pub async fn get_subject(
    _reader: Reader,
    id: web::Path<String>,
    db: web::Data<Db>,
) -> ApiResult<web::Json<SubjectView>> {
    let id = id.into_inner();
    Ok(web::Json(db.run(move |conn| load_view(conn, &id)).await?))
}

/// Change name, aliases, accounts or region, or add a missing identifier.
#[utoipa::path(patch, path = "/v1/subjects/{id}", tag = "subjects", operation_id = "updateSubject",
    params(("id" = String, Path, description = "Subject id")),
    request_body = UpdateSubject, security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = SubjectView),
        (status = 400, response = crate::api::BadRequest),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
        (status = 409, response = crate::api::Conflict),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[patch("/v1/subjects/{id}")]
pub async fn update_subject(
    Regulator(user): Regulator,
    id: web::Path<String>,
    body: ApiJson<UpdateSubject>,
    db: web::Data<Db>,
    settings: web::Data<Settings>,
) -> ApiResult<web::Json<SubjectView>> {
    let id = id.into_inner();
    let b = body.0;
    let mut errors = Vec::new();
    let name = b
        .name
        .as_deref()
        .map(clean_name)
        .transpose()
        .map_err(|m| errors.push(FieldError::new("name", m)))
        .ok()
        .flatten();
    let accounts = b
        .accounts
        .as_deref()
        .map(|a| parse_accounts(a, &mut errors));
    let id_number = b
        .id_number
        .as_deref()
        .and_then(|raw| parse_id_number(raw, settings.id_pepper.bytes(), "id_number", &mut errors));
    let uscc = b
        .uscc
        .as_deref()
        .and_then(|raw| parse_uscc(raw, "uscc", &mut errors));
    let region_code = b.region_code.map(|r| r.trim().to_owned());
    if let Some(Err(m)) = region_code
        .as_deref()
        .filter(|r| !r.is_empty())
        .map(check_region_code)
    {
        errors.push(FieldError::new("region_code", m));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let raw_aliases = b.aliases;
    let actor = actor(&user);
    let view = db
        .write(move |conn| {
            let record = registry::find_subject_record(conn, &id)?.ok_or_else(|| ApiError::not_found("no such subject"))?;
            let mut subject = record.subject.clone();
            let kind: SubjectKind = subject.kind.parse().map_err(|m: String| ApiError::Internal(anyhow::anyhow!(m)))?;
            let mut changed = Vec::new();
            if let Some(name) = name.filter(|n| *n != subject.name) {
                subject.name = name;
                changed.push("name");
            }
            let mut errors = Vec::new();
            let aliases = match &raw_aliases {
                Some(raw) => {
                    changed.push("aliases");
                    parse_aliases(raw, &subject.name, &mut errors)
                }
                None => record.aliases.iter().filter(|a| **a != subject.name).cloned().collect(),
            };
            if !errors.is_empty() {
                return Err(ApiError::Validation(errors));
            }
            if let Some(region) = region_code {
                subject.region_code = Some(region).filter(|r| !r.is_empty());
                changed.push("region_code");
            }
            if let Some(new) = id_number {
                if kind != SubjectKind::Anchor {
                    return Err(ApiError::invalid("id_number", "only anchors have a resident ID"));
                }
                match &subject.id_number_hash {
                    Some(existing) if *existing == new.hash => {}
                    Some(_) => {
                        return Err(ApiError::conflict(
                            "the subject already has a resident ID; replacing one is an identifier change with a reason (POST /v1/subjects/{id}/identifiers)",
                        ))
                    }
                    None => {
                        subject.id_number_hash = Some(new.hash);
                        subject.id_number_masked = Some(new.masked);
                        changed.push("id_number");
                    }
                }
            }
            if let Some(new) = uscc {
                if kind != SubjectKind::Merchant {
                    return Err(ApiError::invalid("uscc", "only merchants have a unified social credit code"));
                }
                match &subject.uscc {
                    Some(existing) if *existing == new => {}
                    Some(_) => {
                        return Err(ApiError::conflict(
                            "the subject already has a USCC; replacing one is an identifier change with a reason (POST /v1/subjects/{id}/identifiers)",
                        ))
                    }
                    None => {
                        subject.uscc = Some(new);
                        changed.push("uscc");
                    }
                }
            }
            let account_list: Vec<Account> = match &accounts {
                Some(list) => {
                    changed.push("accounts");
                    list.clone()
                }
                None => record
                    .accounts
                    .iter()
                    .filter_map(|a| Account::parse(&a.platform, &a.handle).ok())
                    .collect(),
            };
            check_unique(conn, &subject.id, subject.id_number_hash.as_deref(), subject.uscc.as_deref(), &account_list)?;
            subject.updated_at = Utc::now().naive_utc();
            registry::update_subject(conn, &subject)?;
            if publication::is_published(conn, &subject.id, today_cst(Utc::now()))? {
                // The public entry shows these fields: the list changed.
                publication::bump(conn, 1)?;
            }
            registry::replace_names(conn, &subject.id, &subject.name, &aliases)?;
            if accounts.is_some() {
                registry::replace_accounts(conn, &subject.id, &account_rows(&subject.id, &account_list))?;
            }
            let mut details = audit_details(&subject, &aliases, &account_list);
            details["changed"] = json!(changed);
            audit::append(conn, &actor, Event { action: "subject.updated", target_type: "subject", target_id: &subject.id, details })?;
            load_view(conn, &subject.id)
        })
        .await?;
    Ok(web::Json(view))
}

/// Replace or remove an identifier: an explicit, audited act with a reason.
#[utoipa::path(post, path = "/v1/subjects/{id}/identifiers", tag = "subjects", operation_id = "changeSubjectIdentifier",
    params(("id" = String, Path, description = "Subject id")),
    request_body = ChangeIdentifier, security(("bearer" = [])),
    responses(
        (status = 200, description = "Changed", body = SubjectView),
        (status = 400, response = crate::api::BadRequest),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
        (status = 409, response = crate::api::Conflict),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[post("/v1/subjects/{id}/identifiers")]
pub async fn change_identifier(
    Regulator(user): Regulator,
    id: web::Path<String>,
    body: ApiJson<ChangeIdentifier>,
    db: web::Data<Db>,
    settings: web::Data<Settings>,
) -> ApiResult<web::Json<SubjectView>> {
    let id = id.into_inner();
    let b = body.0;
    let mut errors = Vec::new();
    let reason = clean_text(&b.reason, 1000)
        .map_err(|m| errors.push(FieldError::new("reason", m)))
        .unwrap_or_default();
    let id_number = match (b.identifier, &b.value) {
        (IdentifierType::IdNumber, Some(raw)) => {
            parse_id_number(raw, settings.id_pepper.bytes(), "value", &mut errors)
        }
        _ => None,
    };
    let uscc = match (b.identifier, &b.value) {
        (IdentifierType::Uscc, Some(raw)) => parse_uscc(raw, "value", &mut errors),
        _ => None,
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let actor = actor(&user);
    let identifier = b.identifier;
    let view = db
        .write(move |conn| {
            let mut subject = registry::find_subject(conn, &id)?.ok_or_else(|| ApiError::not_found("no such subject"))?;
            let kind: SubjectKind = subject.kind.parse().map_err(|m: String| ApiError::Internal(anyhow::anyhow!(m)))?;
            let (before, after, name) = match identifier {
                IdentifierType::IdNumber => {
                    if kind != SubjectKind::Anchor {
                        return Err(ApiError::invalid("identifier", "only anchors have a resident ID"));
                    }
                    let before = subject.id_number_masked.clone();
                    subject.id_number_masked = id_number.as_ref().map(|i| i.masked.clone());
                    subject.id_number_hash = id_number.map(|i| i.hash);
                    (before, subject.id_number_masked.clone(), "id_number")
                }
                IdentifierType::Uscc => {
                    if kind != SubjectKind::Merchant {
                        return Err(ApiError::invalid("identifier", "only merchants have a unified social credit code"));
                    }
                    let before = subject.uscc.clone();
                    subject.uscc = uscc;
                    (before, subject.uscc.clone(), "uscc")
                }
            };
            check_unique(conn, &subject.id, subject.id_number_hash.as_deref(), subject.uscc.as_deref(), &[])?;
            subject.updated_at = Utc::now().naive_utc();
            registry::update_subject(conn, &subject)?;
            if publication::is_published(conn, &subject.id, today_cst(Utc::now()))? {
                // The public entry shows these fields: the list changed.
                publication::bump(conn, 1)?;
            }
            let action = if after.is_some() { "subject.identifier_replaced" } else { "subject.identifier_removed" };
            audit::append(
                conn,
                &actor,
                Event {
                    action,
                    target_type: "subject",
                    target_id: &subject.id,
                    details: json!({"identifier": name, "before": before, "after": after, "reason": reason}),
                },
            )?;
            load_view(conn, &subject.id)
        })
        .await?;
    Ok(web::Json(view))
}

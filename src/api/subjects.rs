//! Subjects: anchors, merchants, live-room operators and MCNs, their names,
//! aliases, identifiers and accounts, and the relations between them.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::idempotency::{self, IdempotencyKey};
use super::json::ApiJson;
use super::pagination::PageParams;
use super::params::{Id, Query};
use crate::auth::{Reader, ReaderOrParty, Regulator};
use crate::config::Settings;
use crate::db::Db;
use crate::domain::registry::SubjectKind;
use crate::error::{ApiError, ApiResult};
use crate::page_type;
use crate::service::canonical_id;
use crate::service::relations::{self, AddRelation, RelationView};
use crate::service::subjects::{
    self, ChangeIdentifier, CreateSubject, SubjectFilter, SubjectView, UpdateSubject,
};

page_type!(SubjectPage, SubjectView);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SubjectQuery {
    /// A name or alias (whole, in Han characters, traditional or simplified, or in pinyin with or
    /// without spaces and tones; or two characters or more found within one, punctuation and
    /// spaces ignored), or a full resident ID, USCC or account handle.
    #[param(max_length = 200)]
    pub q: Option<String>,
    pub kind: Option<SubjectKind>,
    /// Page size: default 50; above 500 is treated as 500.
    #[param(minimum = 1)]
    #[serde(default, deserialize_with = "crate::api::params::whole_number")]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    #[param(max_length = 200, pattern = r"^[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
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
    let (actor, input, settings) = (user.actor(), body.0, settings.clone());
    idempotency::create(&db, &user, key, fingerprint, move |conn| {
        subjects::create(conn, &actor, settings.id_pepper.bytes(), input)
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
    Reader(user): Reader,
    query: Query<SubjectQuery>,
    db: web::Data<Db>,
    settings: web::Data<Settings>,
) -> ApiResult<web::Json<SubjectPage>> {
    let q = query.into_inner();
    let page = PageParams {
        limit: q.limit,
        cursor: q.cursor,
    }
    .request()?;
    let filter = SubjectFilter {
        q: q.q,
        kind: q.kind,
    };
    let (actor, settings) = (user.actor(), settings.clone());
    let page = db
        .run(move |conn| subjects::search(conn, &actor, settings.id_pepper.bytes(), &filter, &page))
        .await?;
    Ok(web::Json(page.into()))
}

/// One subject.
#[utoipa::path(get, path = "/v1/subjects/{id}", tag = "subjects", operation_id = "getSubject",
    params(("id" = uuid::Uuid, Path, description = "Subject id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The subject", body = SubjectView),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
    ))]
#[get("/v1/subjects/{id}")]
pub async fn get_subject(
    ReaderOrParty(caller): ReaderOrParty,
    id: Id,
    db: web::Data<Db>,
) -> ApiResult<web::Json<SubjectView>> {
    let (actor, id) = (caller.actor(), id.into_inner());
    Ok(web::Json(
        db.run(move |conn| subjects::get(conn, &actor, &id)).await?,
    ))
}

/// Change name, aliases, accounts or region, or add a missing identifier.
#[utoipa::path(patch, path = "/v1/subjects/{id}", tag = "subjects", operation_id = "updateSubject",
    params(("id" = uuid::Uuid, Path, description = "Subject id")),
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
    id: Id,
    body: ApiJson<UpdateSubject>,
    db: web::Data<Db>,
    settings: web::Data<Settings>,
) -> ApiResult<web::Json<SubjectView>> {
    let (actor, id, input, settings) = (user.actor(), id.into_inner(), body.0, settings.clone());
    let view = db
        .write(move |conn| subjects::update(conn, &actor, settings.id_pepper.bytes(), &id, input))
        .await?;
    Ok(web::Json(view))
}

/// Replace or remove an identifier: an explicit, audited act with a reason.
#[utoipa::path(post, path = "/v1/subjects/{id}/identifiers", tag = "subjects", operation_id = "changeSubjectIdentifier",
    params(("id" = uuid::Uuid, Path, description = "Subject id")),
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
    id: Id,
    body: ApiJson<ChangeIdentifier>,
    db: web::Data<Db>,
    settings: web::Data<Settings>,
) -> ApiResult<web::Json<SubjectView>> {
    let (actor, id, input, settings) = (user.actor(), id.into_inner(), body.0, settings.clone());
    let view = db
        .write(move |conn| {
            subjects::change_identifier(conn, &actor, settings.id_pepper.bytes(), &id, input)
        })
        .await?;
    Ok(web::Json(view))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RelationList {
    /// Oldest first, ended relations included.
    pub items: Vec<RelationView>,
}

/// Record that the subject is bound to a related party (Order 117): an
/// anchor employed by or contracted with an MCN, employer or live-room
/// operator; a live-room operator or MCN running a room for a merchant.
#[utoipa::path(post, path = "/v1/subjects/{id}/relations", tag = "subjects", operation_id = "addRelation",
    params(("id" = uuid::Uuid, Path, description = "Subject id (the bound party)"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the first response")),
    request_body = AddRelation, security(("bearer" = [])),
    responses(
        (status = 201, description = "Recorded", body = RelationView),
        (status = 400, response = crate::api::BadRequest),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
        (status = 409, response = crate::api::Conflict),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[post("/v1/subjects/{id}/relations")]
pub async fn add_relation(
    Regulator(user): Regulator,
    id: Id,
    key: IdempotencyKey,
    body: ApiJson<AddRelation>,
    db: web::Data<Db>,
) -> ApiResult<HttpResponse> {
    let fingerprint = body.fingerprint();
    let (actor, id, input) = (user.actor(), id.into_inner(), body.0);
    idempotency::create(&db, &user, key, fingerprint, move |conn| {
        relations::add(conn, &actor, &id, input)
    })
    .await
}

/// The subject's relations, current and ended.
#[utoipa::path(get, path = "/v1/subjects/{id}/relations", tag = "subjects", operation_id = "listRelations",
    params(("id" = uuid::Uuid, Path, description = "Subject id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The relations", body = RelationList),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
    ))]
#[get("/v1/subjects/{id}/relations")]
pub async fn list_relations(
    Reader(user): Reader,
    id: Id,
    db: web::Data<Db>,
) -> ApiResult<web::Json<RelationList>> {
    let (actor, id) = (user.actor(), id.into_inner());
    let items = db
        .run(move |conn| relations::list(conn, &actor, &id))
        .await?;
    Ok(web::Json(RelationList { items }))
}

/// End a relation today: it no longer holds from today on; the record stays
/// in the subject's history.
#[utoipa::path(delete, path = "/v1/subjects/{id}/relations/{relation_id}", tag = "subjects", operation_id = "endRelation",
    params(("id" = uuid::Uuid, Path, description = "Subject id"),
        ("relation_id" = uuid::Uuid, Path, description = "Relation id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Ended", body = RelationView),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
        (status = 409, response = crate::api::Conflict),
    ))]
#[delete("/v1/subjects/{id}/relations/{relation_id}")]
pub async fn end_relation(
    Regulator(user): Regulator,
    id: Id,
    req: HttpRequest,
    db: web::Data<Db>,
) -> ApiResult<web::Json<RelationView>> {
    let relation_id = req
        .match_info()
        .get("relation_id")
        .and_then(canonical_id)
        .ok_or_else(|| ApiError::not_found("no such relation"))?;
    let (actor, id) = (user.actor(), id.into_inner());
    let view = db
        .write(move |conn| relations::end(conn, &actor, &id, &relation_id))
        .await?;
    Ok(web::Json(view))
}

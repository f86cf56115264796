//! Evidence files over HTTP (CONTRACT §6.5): the raw file as the body of a
//! `POST`, and a download that no browser renders in place.

use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::Deserialize;
use utoipa::IntoParams;

use super::params::{Id, Query};
use crate::auth::{ReaderOrParty, RegulatorOrParty};
use crate::db::Db;
use crate::domain::evidence::MAX_EVIDENCE_BYTES;
use crate::error::{ApiError, ApiResult};
use crate::infra::evidence::EvidenceStore;
use crate::service::evidence::{self, EvidenceFileView, Upload};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// The file's name as the uploader knows it, kept for people to read
    /// (never used as a path); at most 200 characters.
    #[param(max_length = 200)]
    pub file_name: Option<String>,
}

/// Upload an evidence file: the file itself is the body (a PDF, JPEG, PNG or MP4 of at most
/// 10 MiB). What the file is is told by its content: a declared `Content-Type` among the four
/// must agree with it, any other (`application/octet-stream`) leaves it to the content. The
/// answer's `item` goes into the `evidence` list of a repair application, a supplement or a
/// violation. Officials of a bureau upload; so does a listed subject signed in to the portal.
#[utoipa::path(post, path = "/v1/evidence", tag = "evidence", operation_id = "uploadEvidence",
    params(UploadParams),
    request_body(description = "The file's bytes", content(
        (String = "application/pdf"), (String = "image/jpeg"), (String = "image/png"),
        (String = "video/mp4"), (String = "application/octet-stream"))),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Stored (the same content uploaded twice is stored once)", body = EvidenceFileView),
        (status = 400, response = crate::api::BadRequest),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 413, description = "The file is larger than 10 MiB", body = crate::error::Problem,
            content_type = "application/problem+json"),
        (status = 415, description = "The content is not a PDF, JPEG, PNG or MP4, or not the type declared",
            body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[post("/v1/evidence")]
pub async fn upload_evidence(
    RegulatorOrParty(caller): RegulatorOrParty,
    req: HttpRequest,
    params: Query<UploadParams>,
    mut payload: web::Payload,
    db: web::Data<Db>,
    files: web::Data<EvidenceStore>,
) -> ApiResult<HttpResponse> {
    let too_large = || ApiError::PayloadTooLarge {
        limit: MAX_EVIDENCE_BYTES,
    };
    let declared_length = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared_length.is_some_and(|n| n > MAX_EVIDENCE_BYTES) {
        return Err(too_large());
    }
    let mut content = Vec::with_capacity(declared_length.unwrap_or(0));
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::bad_request(format!("reading the body failed: {e}")))?;
        if content.len() + chunk.len() > MAX_EVIDENCE_BYTES {
            return Err(too_large());
        }
        content.extend_from_slice(&chunk);
    }
    if content.is_empty() {
        // As for a JSON body: no body at all is a malformed request.
        return Err(ApiError::bad_request(
            "the request needs the file as its body",
        ));
    }
    let declared_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let upload = Upload {
        content,
        declared_type,
        file_name: params.into_inner().file_name,
    };
    let view = evidence::upload(&db, &files, caller.actor(), upload).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, view.download_path.clone()))
        .json(view))
}

/// Download an evidence file, always as an attachment (`Content-Disposition: attachment`,
/// `X-Content-Type-Options: nosniff`, a sandboxing CSP): never shown inline. A subject
/// downloads their own uploads; officials, auditors and admins any. Every download is logged.
#[utoipa::path(get, path = "/v1/evidence/{id}", tag = "evidence", operation_id = "downloadEvidence",
    params(("id" = uuid::Uuid, Path, description = "Evidence file id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The file", content(
            (String = "application/pdf"), (String = "image/jpeg"), (String = "image/png"),
            (String = "video/mp4"))),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
    ))]
#[get("/v1/evidence/{id}")]
pub async fn download_evidence(
    ReaderOrParty(caller): ReaderOrParty,
    id: Id,
    db: web::Data<Db>,
    files: web::Data<EvidenceStore>,
) -> ApiResult<HttpResponse> {
    let download = evidence::download(&db, &files, caller.actor(), &id.into_inner()).await?;
    Ok(crate::web::attachment(download))
}

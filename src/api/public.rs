//! The published blacklist over HTTP, for anyone: search, export, signed
//! snapshot, signing keys and the change feed.

use std::sync::Mutex;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDateTime, SubsecRound};
use futures_util::stream;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::pagination::PageParams;
use super::params::Query;
use crate::auth::address::client_ip;
use crate::config::Settings;
use crate::db::ReadDb;
use crate::domain::registry::SubjectKind;
use crate::error::{ApiError, ApiResult};
use crate::infra::csv;
use crate::page_type;
use crate::service;
use crate::service::index::Live;
use crate::service::page::{decode_seq_cursor, encode_cursor};
use crate::service::publication::{self, PublicChange, PublicEntry, PublicLimits, Snapshot};
use crate::signing::{self, KeyStore, PublicKey};

page_type!(PublicPage, PublicEntry);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BlacklistQuery {
    /// A name or alias (Han characters, traditional or simplified, or pinyin with or
    /// without spaces and tones), a USCC, an account handle, or a full resident ID.
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

/// Search the active blacklist.
///
/// Searches by full resident ID are limited per client address and hour
/// (`LIVECREDIT_PUBLIC_ID_QUERIES_PER_HOUR`, default 20), like every public
/// request per second (`LIVECREDIT_PUBLIC_RATE_LIMIT`): 429 with `Retry-After`.
#[utoipa::path(get, path = "/v1/public/blacklist", tag = "public", operation_id = "searchBlacklist",
    params(BlacklistQuery),
    responses(
        (status = 200, description = "Active entries (listed and not past `expires_on`)", body = PublicPage),
        (status = 422, response = crate::api::Unprocessable),
        (status = 429, response = crate::api::TooManyRequests),
    ))]
#[get("/v1/public/blacklist")]
pub async fn blacklist(
    req: HttpRequest,
    query: Query<BlacklistQuery>,
    live: web::Data<Live>,
    settings: web::Data<Settings>,
    limits: web::Data<PublicLimits>,
) -> ApiResult<web::Json<PublicPage>> {
    let q = query.into_inner();
    let search = publication::criteria(q.q.as_deref(), q.kind, settings.id_pepper.bytes())?;
    let page = PageParams {
        limit: q.limit,
        cursor: q.cursor,
    }
    .request()?;
    limits.admit_search(client_ip(&req, &settings.trusted_proxies), &search)?;
    let page = publication::search(&live, &search, &page).await?;
    Ok(web::Json(page.into()))
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    Ndjson,
    Csv,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `ndjson` (default) or `csv`.
    pub format: Option<ExportFormat>,
}

const CSV_HEADER: [&str; 12] = [
    "listing_id",
    "name",
    "kind",
    "id_number_masked",
    "uscc",
    "accounts",
    "reason",
    "legal_basis",
    "authority",
    "listed_on",
    "expires_on",
    "decision_no",
];

/// One entry as the fields of a CSV line, in the order of [`CSV_HEADER`].
fn csv_fields(e: &PublicEntry) -> [String; 12] {
    let accounts: Vec<String> = e
        .subject
        .accounts
        .iter()
        .map(|a| format!("{}:{}", a.platform, a.handle))
        .collect();
    [
        e.listing_id.clone(),
        e.subject.name.clone(),
        e.subject.kind.as_str().to_owned(),
        e.subject.id_number_masked.clone().unwrap_or_default(),
        e.subject.uscc.clone().unwrap_or_default(),
        accounts.join(";"),
        e.reason.clone(),
        e.legal_basis.clone(),
        e.authority.clone(),
        e.listed_on.to_string(),
        e.expires_on.to_string(),
        e.decision_no.clone().unwrap_or_default(),
    ]
}

/// One page of the export in its format, the CSV header before the first.
fn export_chunk(
    format: ExportFormat,
    header: bool,
    rows: &[PublicEntry],
) -> Result<Vec<u8>, String> {
    let mut chunk = Vec::new();
    match format {
        ExportFormat::Csv => {
            if header {
                csv::write_records(&mut chunk, [CSV_HEADER]).map_err(|e| e.to_string())?;
            }
            csv::write_records(&mut chunk, rows.iter().map(csv_fields))
                .map_err(|e| e.to_string())?;
        }
        ExportFormat::Ndjson => {
            for entry in rows {
                serde_json::to_writer(&mut chunk, entry).map_err(|e| e.to_string())?;
                chunk.push(b'\n');
            }
        }
    }
    Ok(chunk)
}

fn http_date(at: NaiveDateTime) -> String {
    at.and_utc().format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// Whether the client's copy (by `If-None-Match`, else `If-Modified-Since`) is current.
fn not_modified(req: &HttpRequest, etag: &str, last_modified: NaiveDateTime) -> bool {
    if let Some(tags) = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        return tags
            .split(',')
            .map(str::trim)
            .any(|t| t == etag || t == "*" || t.trim_start_matches("W/") == etag);
    }
    req.headers()
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| DateTime::parse_from_rfc2822(v).ok())
        .is_some_and(|since| last_modified.trunc_subsecs(0) <= since.naive_utc())
}

/// Entries read from the screening index (under its read lock) and written
/// out per chunk of an export.
const EXPORT_PAGE: usize = 1000;

/// Every active entry, streamed page by page (never the whole list in memory).
#[utoipa::path(get, path = "/v1/public/blacklist/export", tag = "public", operation_id = "exportBlacklist",
    params(ExportQuery),
    responses(
        (status = 200, description = "NDJSON (one entry per line) or CSV (RFC 4180, header row, UTF-8; a field that begins with `=`, `+`, `-`, `@`, a tab or a carriage return is prefixed with `'`, so that spreadsheets do not run it as a formula)",
            content((String = "application/x-ndjson"), (String = "text/csv")),
            headers(("ETag" = String, description = "Changes exactly when the list does"), ("Last-Modified" = String))),
        (status = 304, description = "Not modified since the `If-None-Match` / `If-Modified-Since` given"),
        (status = 422, response = crate::api::Unprocessable),
        (status = 429, response = crate::api::TooManyRequests),
    ))]
#[get("/v1/public/blacklist/export")]
pub async fn export(
    req: HttpRequest,
    query: Query<ExportQuery>,
    live: web::Data<Live>,
) -> ApiResult<HttpResponse> {
    let format = query.format.unwrap_or(ExportFormat::Ndjson);
    let today = service::today();
    let (version, last_modified) = publication::live_version(&live, today).await?;
    let etag = format!(
        "\"{version}-{}\"",
        if format == ExportFormat::Csv {
            "csv"
        } else {
            "ndjson"
        }
    );
    let last_modified_header = http_date(last_modified);
    if not_modified(&req, &etag, last_modified) {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .insert_header((header::LAST_MODIFIED, last_modified_header))
            .finish());
    }
    // State: (cursor, header written, done).
    let pages = stream::unfold(
        (None::<String>, false, false),
        move |(after, started, done)| {
            let live = live.clone();
            async move {
                if done {
                    return None;
                }
                let rows =
                    publication::export_page(&live, today, after.as_deref(), EXPORT_PAGE).await;
                let rows = match rows {
                    Ok(rows) => rows,
                    Err(e) => {
                        tracing::error!(error = %service::chain(&e), "export stopped: the screening index could not be brought up to date mid-stream");
                        return Some((
                            Err(actix_web::error::ErrorServiceUnavailable(
                                "export interrupted",
                            )),
                            (after, true, true),
                        ));
                    }
                };
                let last = rows.last().map(|e| e.listing_id.clone());
                let finished = rows.len() < EXPORT_PAGE;
                let chunk = match export_chunk(format, !started, &rows) {
                    Ok(chunk) => chunk,
                    Err(e) => {
                        tracing::error!(error = %e, "export stopped: an entry could not be written");
                        return Some((
                            Err(actix_web::error::ErrorInternalServerError(
                                "export interrupted",
                            )),
                            (after, true, true),
                        ));
                    }
                };
                Some((
                    Ok::<_, actix_web::Error>(web::Bytes::from(chunk)),
                    (last.or(after), true, finished),
                ))
            }
        },
    );
    let content_type = match format {
        ExportFormat::Csv => "text/csv; charset=utf-8",
        ExportFormat::Ndjson => "application/x-ndjson",
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::ETAG, etag))
        .insert_header((header::LAST_MODIFIED, last_modified_header))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .streaming(pages))
}

/// The last snapshot made, reused while the list's version stays the same.
#[derive(Default)]
pub struct SnapshotCache(Mutex<Option<(i64, String, web::Bytes)>>);

/// The whole active list, signed.
#[utoipa::path(get, path = "/v1/public/snapshot", tag = "public", operation_id = "getSnapshot",
    responses(
        (status = 200, description = "The signed snapshot", body = Snapshot,
            headers(("ETag" = String, description = "The snapshot's version and key"))),
        (status = 304, description = "Not modified since the `If-None-Match` given"),
        (status = 429, response = crate::api::TooManyRequests),
    ))]
#[get("/v1/public/snapshot")]
pub async fn snapshot(
    req: HttpRequest,
    db: ReadDb,
    keys: web::Data<KeyStore>,
    cache: web::Data<SnapshotCache>,
) -> ApiResult<HttpResponse> {
    let today = service::today();
    let (version, last_modified) = db
        .run(move |conn| publication::version(conn, today))
        .await?;
    let key = {
        let keys = keys.clone();
        web::block(move || keys.current())
            .await?
            .map_err(ApiError::Internal)?
    };
    let key_id = signing::key_id(&key);
    let etag = format!("\"{version}-{key_id}\"");
    if not_modified(&req, &etag, last_modified) {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .finish());
    }
    let cached = cache
        .0
        .lock()
        .ok()
        .and_then(|c| c.clone())
        .filter(|(v, k, _)| *v == version && *k == key_id);
    let body = match cached {
        Some((_, _, body)) => body,
        None => {
            let document = db
                .run(move |conn| publication::signed_snapshot(conn, today, version, &key))
                .await?;
            let body = web::Bytes::from(document);
            if let Ok(mut c) = cache.0.lock() {
                *c = Some((version, key_id.clone(), body.clone()));
            }
            body
        }
    };
    let mut response = HttpResponse::Ok();
    response.insert_header((header::CONTENT_TYPE, "application/json"));
    response.insert_header((header::CACHE_CONTROL, "no-cache"));
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response.insert_header((header::ETAG, value));
    }
    Ok(response.body(body))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyList {
    pub keys: Vec<PublicKey>,
}

/// The public keys that sign snapshots, current and retired.
#[utoipa::path(get, path = "/v1/public/keys", tag = "public", operation_id = "listSigningKeys",
    responses(
        (status = 200, description = "Current and retired keys", body = KeyList),
        (status = 429, response = crate::api::TooManyRequests),
    ))]
#[get("/v1/public/keys")]
pub async fn signing_keys(keys: web::Data<KeyStore>) -> ApiResult<web::Json<KeyList>> {
    let keys = keys.clone();
    let keys = web::block(move || keys.list())
        .await?
        .map_err(ApiError::Internal)?;
    Ok(web::Json(KeyList { keys }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeFeed {
    pub items: Vec<PublicChange>,
    /// Always present: pass it back to resume; `items` is empty when caught up.
    pub next_cursor: String,
}

/// The public list's changes, in commit order; a cursor never skips or repeats one.
#[utoipa::path(get, path = "/v1/public/changes", tag = "public", operation_id = "listPublicChanges",
    params(PageParams),
    responses(
        (status = 200, description = "Changes after the cursor", body = ChangeFeed),
        (status = 422, response = crate::api::Unprocessable),
        (status = 429, response = crate::api::TooManyRequests),
    ))]
#[get("/v1/public/changes")]
pub async fn changes(query: Query<PageParams>, db: ReadDb) -> ApiResult<web::Json<ChangeFeed>> {
    let limit = query.request()?.limit;
    let after = decode_seq_cursor(query.cursor.as_deref())?;
    let (items, next) = db
        .run(move |conn| publication::changes(conn, after, limit))
        .await?;
    Ok(web::Json(ChangeFeed {
        items,
        next_cursor: encode_cursor(&next.to_string()),
    }))
}

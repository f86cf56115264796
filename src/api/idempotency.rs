//! `Idempotency-Key` on every POST that creates something: the same key from
//! the same user with the same body returns the first response; with another
//! body, 409. Keys are kept for at least 24 hours.
//!
//! The key is inserted first in the transaction that creates the resource
//! and its response stored before commit, so a create and its key commit
//! together. A concurrent request with the same key waits on that insert
//! (PostgreSQL) or on the write lock (SQLite), then replays the stored answer.

use std::future::{ready, Ready};

use actix_web::http::StatusCode;
use actix_web::{dev::Payload, FromRequest, HttpRequest, HttpResponse};
use chrono::{Duration, Utc};
use serde_json::Value;

use crate::auth::extract::CurrentUser;
use crate::db::{idempotency, write_tx, Db, DbConn};
use crate::error::{ApiError, ApiResult};

/// How long keys are kept (the contract promises at least 24 hours).
pub const RETENTION: Duration = Duration::hours(48);

/// The optional `Idempotency-Key` header.
#[derive(Debug, Clone)]
pub struct IdempotencyKey(pub Option<String>);

impl FromRequest for IdempotencyKey {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(value) = req.headers().get("idempotency-key") else {
            return ready(Ok(Self(None)));
        };
        let key =
            value.to_str().ok().map(str::trim).filter(|k| {
                !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic())
            });
        ready(match key {
            Some(key) => Ok(Self(Some(key.to_owned()))),
            None => Err(ApiError::invalid(
                "Idempotency-Key",
                "must be 1 to 255 visible ASCII characters",
            )),
        })
    }
}

enum Outcome {
    Created(Value),
    /// Another request holds or held this key.
    Taken,
    Failed(ApiError),
}

impl From<diesel::result::Error> for Outcome {
    fn from(e: diesel::result::Error) -> Self {
        Outcome::Failed(e.into())
    }
}

/// A stored first response, to be sent again.
struct Replay {
    status: StatusCode,
    body: String,
}

impl Replay {
    fn into_response(self) -> HttpResponse {
        HttpResponse::build(self.status)
            .content_type("application/json")
            .insert_header(("Idempotent-Replayed", "true"))
            .body(self.body)
    }
}

fn replay(stored: idempotency::StoredResponse, fingerprint: &str) -> ApiResult<Replay> {
    if stored.request_hash != fingerprint {
        return Err(ApiError::conflict(
            "this Idempotency-Key was used with a different request body",
        ));
    }
    Ok(Replay {
        status: StatusCode::from_u16(stored.response_status as u16).unwrap_or(StatusCode::CREATED),
        body: stored.response_body,
    })
}

/// Runs `create` in a write transaction and answers 201 with its JSON,
/// honouring the caller's `Idempotency-Key`.
pub async fn create<F>(
    db: &Db,
    user: &CurrentUser,
    key: IdempotencyKey,
    fingerprint: String,
    create: F,
) -> ApiResult<HttpResponse>
where
    F: FnOnce(&mut DbConn) -> ApiResult<Value> + Send + 'static,
{
    let Some(key) = key.0 else {
        let body = db.write(create).await?;
        return Ok(HttpResponse::Created().json(body));
    };
    let user_id = user.id.clone();
    let answer = db
        .run(move |conn| -> ApiResult<Result<Value, Replay>> {
            if let Some(stored) = idempotency::find(conn, &user_id, &key)? {
                return replay(stored, &fingerprint).map(Err);
            }
            let outcome = write_tx(conn, |conn| -> Result<Value, Outcome> {
                let claimed = idempotency::insert(
                    conn,
                    &idempotency::StoredResponse {
                        user_id: user_id.clone(),
                        idempotency_key: key.clone(),
                        request_hash: fingerprint.clone(),
                        response_status: i32::from(StatusCode::CREATED.as_u16()),
                        response_body: String::new(),
                        created_at: Utc::now().naive_utc(),
                    },
                );
                match claimed {
                    Err(diesel::result::Error::DatabaseError(
                        diesel::result::DatabaseErrorKind::UniqueViolation,
                        _,
                    )) => return Err(Outcome::Taken),
                    other => other?,
                }
                let body = create(conn).map_err(Outcome::Failed)?;
                idempotency::set_response(conn, &user_id, &key, 201, &body.to_string())?;
                Ok(body)
            })
            .map_or_else(|e| e, Outcome::Created);
            match outcome {
                Outcome::Created(body) => Ok(Ok(body)),
                Outcome::Failed(e) => Err(e),
                Outcome::Taken => {
                    let stored = idempotency::find(conn, &user_id, &key)?.ok_or_else(|| {
                        ApiError::conflict("a request with this Idempotency-Key is in progress")
                    })?;
                    replay(stored, &fingerprint).map(Err)
                }
            }
        })
        .await?;
    Ok(match answer {
        Ok(body) => HttpResponse::Created().json(body),
        Err(replayed) => replayed.into_response(),
    })
}

/// Fingerprint of a JSON body: SHA-256 of its canonical form (keys sorted).
pub fn fingerprint(body: &Value) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(body.to_string().as_bytes()))
}

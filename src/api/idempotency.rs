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
use chrono::Utc;
use serde_json::Value;

use crate::auth::extract::CurrentUser;
use crate::db::{idempotency, write_tx, Db, DbConn, DbError};
use crate::error::{ApiError, ApiResult};
use crate::service::{ServiceError, ServiceResult};

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

/// Why the creating transaction was rolled back.
enum Abandoned {
    /// Another request holds or held this key.
    Taken,
    Failed(ServiceError),
}

impl From<DbError> for Abandoned {
    fn from(e: DbError) -> Self {
        Abandoned::Failed(e.into())
    }
}

impl From<ServiceError> for Abandoned {
    fn from(e: ServiceError) -> Self {
        Abandoned::Failed(e)
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

fn replay(stored: idempotency::StoredResponse, fingerprint: &str) -> ServiceResult<Replay> {
    if stored.request_hash != fingerprint {
        return Err(ServiceError::conflict(
            "this Idempotency-Key was used with a different request body",
        ));
    }
    Ok(Replay {
        status: StatusCode::from_u16(stored.response_status as u16).unwrap_or(StatusCode::CREATED),
        body: stored.response_body,
    })
}

fn to_json<T: serde::Serialize>(value: T) -> ServiceResult<Value> {
    serde_json::to_value(value).map_err(|e| ServiceError::Internal(e.into()))
}

/// Runs `create` (a use case) in a write transaction and answers 201 with
/// its JSON, honouring the caller's `Idempotency-Key`.
pub async fn create<T, F>(
    db: &Db,
    user: &CurrentUser,
    key: IdempotencyKey,
    fingerprint: String,
    create: F,
) -> ApiResult<HttpResponse>
where
    T: serde::Serialize,
    F: FnOnce(&mut DbConn) -> ServiceResult<T> + Send + 'static,
{
    let create = move |conn: &mut DbConn| create(conn).and_then(to_json);
    let Some(key) = key.0 else {
        let body = db.write(create).await?;
        return Ok(HttpResponse::Created().json(body));
    };
    let user_id = user.id.clone();
    let answer = db
        .run(move |conn| -> ServiceResult<Result<Value, Replay>> {
            if let Some(stored) = idempotency::find(conn, &user_id, &key)? {
                return replay(stored, &fingerprint).map(Err);
            }
            let outcome = write_tx(conn, |conn| -> Result<Value, Abandoned> {
                let claimed = idempotency::claim(
                    conn,
                    &idempotency::StoredResponse {
                        user_id: user_id.clone(),
                        idempotency_key: key.clone(),
                        request_hash: fingerprint.clone(),
                        response_status: i32::from(StatusCode::CREATED.as_u16()),
                        response_body: String::new(),
                        created_at: Utc::now().naive_utc(),
                    },
                )?;
                if !claimed {
                    // Roll back: on PostgreSQL the refused insert ended the transaction.
                    return Err(Abandoned::Taken);
                }
                let body = create(conn)?;
                idempotency::set_response(conn, &user_id, &key, 201, &body.to_string())?;
                Ok(body)
            });
            match outcome {
                Ok(body) => Ok(Ok(body)),
                Err(Abandoned::Failed(e)) => Err(e),
                Err(Abandoned::Taken) => {
                    let stored = idempotency::find(conn, &user_id, &key)?.ok_or_else(|| {
                        ServiceError::conflict("a request with this Idempotency-Key is in progress")
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

//! The listed subject's way in (CONTRACT §6.5): the notice's number and its
//! one-time access code sign them in to the portal, as role `subject`, for
//! their own records only. Guessing is throttled per notice; a regulator of
//! the authority can issue a new code, which ends the sessions signed in
//! with the one before.

use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::accounts::{throttled_for, THROTTLE_WINDOW_SECONDS};
use super::listings::{self, hash_access_code, new_access_code, put_access_code};
use super::{check_query_text, roles, Actor, Party, ServiceError, ServiceResult};
use crate::auth::tokens::{Claims, TokenService, ACCESS_TOKEN_SECONDS};
use crate::db::audit::{self, AuditActor, Event};
use crate::db::listings as listing_store;
use crate::db::repairs as repair_store;
use crate::db::{accounts as account_store, write_tx, Db, DbConn};

/// The role a portal token carries.
pub const SUBJECT_ROLE: &str = "subject";
/// Wrong codes per notice number in the throttle window before 429.
pub const MAX_FAILURES_PER_NOTICE: i32 = 5;

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PortalSignIn {
    /// The notice's number (告知书文号), as printed on it.
    #[schema(min_length = 1, max_length = 200)]
    pub notice_no: String,
    /// The access code printed with the notice (groups may be written with or without dashes).
    #[schema(min_length = 1, max_length = 100)]
    pub access_code: String,
}

/// A portal session: a bearer token for the subject's own records.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PortalSession {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the token expires; sign in again after.
    pub expires_in: i64,
    pub subject_id: String,
    /// The listing whose notice signed the subject in.
    pub listing_id: String,
}

/// A new access code for a served notice, shown once.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccessCodeIssued {
    pub listing_id: String,
    pub notice_no: String,
    /// Hand it to the party: the code before it no longer signs in.
    pub access_code: String,
}

fn wrong_code() -> ServiceError {
    ServiceError::unauthorized("wrong notice number or access code")
}

fn subject_actor(party: &Party) -> AuditActor {
    AuditActor {
        subject_id: Some(party.subject_id.clone()),
        ..AuditActor::default()
    }
}

/// Signs a subject in with the notice's number and access code. Five wrong
/// codes for one notice within 15 minutes answer 429 until the window ends.
pub async fn sign_in(
    db: &Db,
    tokens: &TokenService,
    input: PortalSignIn,
    address: &str,
) -> ServiceResult<PortalSession> {
    let notice_no = input.notice_no.trim().to_owned();
    check_query_text("notice_no", &notice_no, 200)?;
    check_query_text("access_code", &input.access_code, 100)?;
    let key = format!("portal:{notice_no}");
    let tokens = tokens.clone();
    let address = address.to_owned();
    db.run(move |conn| {
        if let Some(retry_after_secs) = throttled_for(conn, &key, MAX_FAILURES_PER_NOTICE)? {
            return Err(ServiceError::RateLimited {
                detail: "too many wrong access codes for this notice; wait before trying again"
                    .into(),
                retry_after_secs,
            });
        }
        let hash = hash_access_code(&input.access_code);
        let found = match listing_store::find_by_notice_no(conn, &notice_no)? {
            Some(listing) => repair_store::code_of(conn, &listing.id)?
                .filter(|code| code.code_hash == hash)
                .map(|code| (listing, code)),
            None => None,
        };
        let now = Utc::now();
        let Some((listing, code)) = found else {
            let cutoff = (now - Duration::seconds(THROTTLE_WINDOW_SECONDS)).naive_utc();
            write_tx(conn, |conn| -> ServiceResult<i64> {
                account_store::record_login_failure(conn, &key, now.naive_utc(), cutoff)?;
                Ok(audit::append(
                    conn,
                    &AuditActor::default(),
                    Event {
                        action: "portal.sign_in_failed",
                        target_type: "notice",
                        target_id: &notice_no,
                        details: json!({"address": address}),
                    },
                )?)
            })?;
            return Err(wrong_code());
        };
        let party = Party {
            subject_id: listing.subject_id.clone(),
            listing_id: listing.id.clone(),
        };
        let access_token = tokens
            .issue(
                &party.subject_id,
                SUBJECT_ROLE,
                &party.listing_id,
                i64::from(code.epoch),
                now,
            )
            .map_err(ServiceError::Internal)?;
        write_tx(conn, |conn| -> ServiceResult<i64> {
            account_store::clear_login_failures(conn, &key)?;
            Ok(audit::append(
                conn,
                &subject_actor(&party),
                Event {
                    action: "portal.sign_in",
                    target_type: "listing",
                    target_id: &party.listing_id,
                    details: json!({"address": address, "notice_no": notice_no}),
                },
            )?)
        })?;
        Ok(PortalSession {
            access_token,
            token_type: "Bearer".into(),
            expires_in: ACCESS_TOKEN_SECONDS,
            subject_id: party.subject_id,
            listing_id: party.listing_id,
        })
    })
    .await
}

/// The subject a portal token speaks for, while the code it was signed in
/// with is the listing's latest; `None` otherwise.
pub fn token_holder(conn: &mut DbConn, claims: &Claims) -> ServiceResult<Option<Party>> {
    let Some(code) = repair_store::code_of(conn, &claims.org)? else {
        return Ok(None);
    };
    if i64::from(code.epoch) != claims.epoch {
        return Ok(None);
    }
    let Some(listing) = listing_store::find(conn, &claims.org)? else {
        return Ok(None);
    };
    if listing.subject_id != claims.sub {
        return Ok(None);
    }
    Ok(Some(Party {
        subject_id: listing.subject_id,
        listing_id: listing.id,
    }))
}

/// Issues a new access code for a served notice (the party lost theirs, or
/// it leaked), by a regulator of the listing's authority. Audited; the
/// sessions signed in with the old code end.
pub fn reissue_code(conn: &mut DbConn, actor: &Actor, id: &str) -> ServiceResult<AccessCodeIssued> {
    let staff = actor.staff(roles::REGULATORS)?;
    let listing = listings::find(conn, id)?;
    if listing.authority_id.as_deref() != Some(staff.organization_id.as_str()) {
        return Err(ServiceError::forbidden(
            "only officials of the listing's authority issue its access code",
        ));
    }
    let Some(notice_no) = listing.notice_no.clone() else {
        return Err(ServiceError::conflict(
            "no notice has been served on this listing: its access code comes with the notice",
        ));
    };
    let (code, hash) = new_access_code();
    let epoch = put_access_code(conn, &listing.id, hash, Some(&staff.id))?;
    audit::append(
        conn,
        &actor.audit(),
        Event {
            action: "listing.access_code_issued",
            target_type: "listing",
            target_id: &listing.id,
            details: json!({"subject_id": listing.subject_id, "epoch": epoch}),
        },
    )?;
    Ok(AccessCodeIssued {
        listing_id: listing.id,
        notice_no,
        access_code: code,
    })
}

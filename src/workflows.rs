//! Work that spans several tables and must commit with the write that caused
//! it: score upkeep, automatic proposals, and listing transitions with their
//! history and audit entries. Every function runs inside the caller's
//! transaction.

use chrono::{NaiveDate, Utc};
use serde_json::json;

use crate::audit::{self, Actor, Event};
use crate::db::listings::{self, HistoryEntry, Listing};
use crate::db::registry::Violation;
use crate::db::scores::BandChange;
use crate::db::{publication, scores, DbConn};
use crate::domain::procedure::{
    self, ErrorKind, ListingFacts, ProcedureError, RemovalReason, Status, Transition,
};
use crate::domain::scoring::ScoreReport;
use crate::domain::scoring::{Band, Severity};
use crate::error::{ApiError, ApiResult};
use crate::events;

/// The legal basis named on listings the system proposes.
pub const LISTING_REGULATION: &str =
    "《市场监督管理严重违法失信名单管理办法》(SAMR Order No. 44, 2021)";

fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// A refused procedure step as a problem: 409 with the current state and the
/// allowed actions, 403 for the two-officials rule, 422 naming the field.
pub fn procedure_problem(e: ProcedureError) -> ApiError {
    let message = e.to_string();
    match (e.kind(), e) {
        (
            ErrorKind::Conflict,
            ProcedureError::NotAllowed {
                current, allowed, ..
            },
        ) => ApiError::conflict_with(
            message,
            [
                ("current_status", json!(current.as_str())),
                (
                    "allowed_actions",
                    json!(allowed.iter().map(|a| a.as_str()).collect::<Vec<_>>()),
                ),
            ],
        ),
        (ErrorKind::Conflict, _) => ApiError::conflict(message),
        (ErrorKind::Forbidden, _) => ApiError::forbidden(message),
        (ErrorKind::Validation { field }, _) => ApiError::invalid(field, message),
        (ErrorKind::Internal, _) => ApiError::Internal(anyhow::anyhow!(message)),
    }
}

/// What the procedure needs to know about a stored listing.
pub fn facts_of(conn: &mut DbConn, listing: &Listing) -> ApiResult<ListingFacts> {
    let status: Status = listing.status.parse().map_err(|_| {
        ApiError::Internal(anyhow::anyhow!(
            "listing {} has unknown status {}",
            listing.id,
            listing.status
        ))
    })?;
    Ok(ListingFacts {
        status,
        proposed_by: listing.proposed_by.clone(),
        noticed_by: listing.noticed_by.clone(),
        served_on: listing.served_on,
        objection_deadline: listing.objection_deadline,
        listed_on: listing.listed_on,
        expires_on: listing.expires_on,
        pending_repair_applied_on: listing.pending_repair_applied_on,
        removed_on: listing.removed_on,
        basis_latest_decided_on: listings::basis_latest_decided_on(conn, &listing.id)?
            .unwrap_or(NaiveDate::MIN),
    })
}

fn apply(listing: &mut Listing, t: &Transition) {
    let set = &t.set;
    listing.status = t.to.as_str().to_owned();
    set.noticed_by.apply_to(&mut listing.noticed_by);
    set.served_on.apply_to(&mut listing.served_on);
    set.objection_deadline
        .apply_to(&mut listing.objection_deadline);
    set.decided_by.apply_to(&mut listing.decided_by);
    set.decided_on.apply_to(&mut listing.decided_on);
    set.listed_on.apply_to(&mut listing.listed_on);
    set.expires_on.apply_to(&mut listing.expires_on);
    set.pending_repair_applied_on
        .apply_to(&mut listing.pending_repair_applied_on);
    set.removed_on.apply_to(&mut listing.removed_on);
    set.revoked_on.apply_to(&mut listing.revoked_on);
    set.revocation_reason
        .apply_to(&mut listing.revocation_reason);
    let mut removal: Option<RemovalReason> = None;
    set.removal_reason.apply_to(&mut removal);
    match set.removal_reason {
        procedure::Update::Keep => {}
        _ => listing.removal_reason = removal.map(|r| r.as_str().to_owned()),
    }
    listing.updated_at = Utc::now().naive_utc();
}

/// Performs one step of the procedure on a listing: locks it, asks the rules,
/// saves the new state, and appends history and audit. `step` receives the
/// facts and the listing and returns the transition, or why not.
pub fn transition(
    conn: &mut DbConn,
    listing_id: &str,
    actor: &Actor,
    reason: Option<&str>,
    today: NaiveDate,
    step: impl FnOnce(&ListingFacts, &Listing) -> Result<Transition, ProcedureError>,
) -> ApiResult<(Listing, Transition)> {
    transition_with(conn, listing_id, actor, reason, today, Box::new(step))
}

type Step<'a> = Box<dyn FnOnce(&ListingFacts, &Listing) -> Result<Transition, ProcedureError> + 'a>;

fn transition_with(
    conn: &mut DbConn,
    listing_id: &str,
    actor: &Actor,
    reason: Option<&str>,
    today: NaiveDate,
    step: Step<'_>,
) -> ApiResult<(Listing, Transition)> {
    if !listings::lock(conn, listing_id)? {
        return Err(ApiError::not_found("no such listing"));
    }
    let mut listing =
        listings::find(conn, listing_id)?.ok_or_else(|| ApiError::not_found("no such listing"))?;
    let before = listing.clone();
    let facts = facts_of(conn, &listing)?;
    let t = step(&facts, &listing).map_err(procedure_problem)?;
    apply(&mut listing, &t);
    listings::save(conn, &listing)?;
    if before.status != listing.status {
        crate::db::registry::sync_listed_flag(conn, &listing.subject_id)?;
    }
    record_step(conn, &listing, &t, actor, reason)?;
    publish(conn, &before, &listing, &t, today)?;
    // A listing that is published already past its end (a back-dated
    // decision or reinstatement) has its expiry recorded at once.
    if listing.status == Status::Listed.as_str() && listing.expires_on.is_some_and(|e| e <= today) {
        let expire: Step<'_> = Box::new(|facts, _| procedure::expire(facts, "system", today));
        let (expired, _) =
            transition_with(conn, listing_id, &Actor::system(), None, today, expire)?;
        return Ok((expired, t));
    }
    Ok((listing, t))
}

/// Where a stored listing stands on the public list on `today`: (visible, expired but not yet recorded).
fn public_state(listing: &Listing, today: NaiveDate) -> (bool, bool) {
    let listed = listing.status == Status::Listed.as_str();
    let ended = listing.expires_on.is_none_or(|e| e <= today);
    (listed && !ended, listed && ended)
}

/// Keeps the list version and the public change feed in step with a transition.
fn publish(
    conn: &mut DbConn,
    before: &Listing,
    after: &Listing,
    t: &Transition,
    today: NaiveDate,
) -> ApiResult<()> {
    let (visible_before, pending_before) = public_state(before, today);
    let (visible_after, pending_after) = public_state(after, today);
    // version = counter + pending expiries: move the counter so that the
    // version grows by one exactly when the visible list changes.
    let delta = i64::from(visible_before != visible_after)
        - (i64::from(pending_after) - i64::from(pending_before));
    publication::bump(conn, delta)?;
    let event_type = match (t.action, t.to) {
        (_, Status::Listed) if t.from != Status::Listed => Some(events::LISTING_PUBLISHED),
        (procedure::Action::Expire, _) => Some(events::LISTING_EXPIRED),
        (_, Status::Removed) => Some(events::LISTING_REMOVED),
        (_, Status::Revoked) if matches!(t.from, Status::Listed | Status::Removed) => {
            Some(events::LISTING_REVOKED)
        }
        _ => None,
    };
    if let Some(event_type) = event_type {
        events::emit(
            conn,
            event_type,
            &after.subject_id,
            Some(&after.id),
            json!({"listing_id": after.id, "status": after.status, "listed_on": after.listed_on,
                "expires_on": after.expires_on, "effective_on": t.effective_on}),
        )?;
    }
    Ok(())
}

fn record_step(
    conn: &mut DbConn,
    listing: &Listing,
    t: &Transition,
    actor: &Actor,
    reason: Option<&str>,
) -> ApiResult<()> {
    listings::insert_history(
        conn,
        &HistoryEntry {
            id: new_id(),
            listing_id: listing.id.clone(),
            action: t.action.as_str().to_owned(),
            from_status: Some(t.from.as_str().to_owned()),
            to_status: t.to.as_str().to_owned(),
            actor_user_id: actor.user_id.clone(),
            effective_on: t.effective_on,
            at: Utc::now().naive_utc(),
            reason: reason.map(str::to_owned),
        },
    )?;
    audit::append(
        conn,
        actor,
        Event {
            action: &format!("listing.{}", t.action.as_str()),
            target_type: "listing",
            target_id: &listing.id,
            details: json!({
                "subject_id": listing.subject_id, "from": t.from.as_str(), "to": t.to.as_str(),
                "effective_on": t.effective_on, "reason": reason,
            }),
        },
    )?;
    Ok(())
}

/// Creates a `proposed` listing resting on `violation_ids` (already checked).
pub fn propose(
    conn: &mut DbConn,
    subject_id: &str,
    violation_ids: &[String],
    reason: &str,
    legal_basis: &str,
    actor: &Actor,
    today: NaiveDate,
) -> ApiResult<Listing> {
    let now = Utc::now().naive_utc();
    let listing = Listing::proposed(
        new_id(),
        subject_id,
        reason.to_owned(),
        legal_basis.to_owned(),
        actor.user_id.clone(),
        actor.organization_id.clone(),
        now,
    );
    listings::insert(conn, &listing, violation_ids)?;
    listings::insert_history(
        conn,
        &HistoryEntry {
            id: new_id(),
            listing_id: listing.id.clone(),
            action: "propose".into(),
            from_status: None,
            to_status: listing.status.clone(),
            actor_user_id: actor.user_id.clone(),
            effective_on: today,
            at: now,
            reason: Some(reason.to_owned()),
        },
    )?;
    audit::append(
        conn,
        actor,
        Event {
            action: "listing.propose",
            target_type: "listing",
            target_id: &listing.id,
            details: json!({"subject_id": subject_id, "violation_ids": violation_ids, "reason": reason,
                "legal_basis": legal_basis, "by_system": actor.user_id.is_none()}),
        },
    )?;
    Ok(listing)
}

/// After a violation is recorded (with its subject locked): the stored score
/// is brought up to date, and a listing is proposed by the system when the
/// violation is especially serious or brings the subject to band D — unless
/// the subject already has an open proposal or an active listing.
pub fn after_violation_recorded(
    conn: &mut DbConn,
    violation: &Violation,
    today: NaiveDate,
) -> ApiResult<Option<Listing>> {
    emit_violation(conn, events::VIOLATION_RECORDED, violation)?;
    let (report, change) = refresh_score(conn, &violation.subject_id, today)?;
    let especially =
        violation.severity == Severity::EspeciallySerious.as_str() && violation.decided_on <= today;
    let fell_to_d = change.is_some_and(|c| c.to == Band::D);
    if !especially && !fell_to_d {
        return Ok(None);
    }
    let busy = listings::open_or_listed(conn, &violation.subject_id)?
        .iter()
        .any(|l| l.status != Status::Listed.as_str() || l.expires_on.is_some_and(|e| e > today));
    if busy {
        return Ok(None);
    }
    let mut basis: Vec<String> = Vec::new();
    let mut reasons = Vec::new();
    if especially {
        basis.push(violation.id.clone());
        reasons.push("情节特别严重的违法行为 (an especially serious violation)".to_owned());
    }
    if fell_to_d {
        basis.extend(
            report
                .contributions
                .iter()
                .filter(|c| c.points > 0.0)
                .map(|c| c.violation_id.clone()),
        );
        reasons.push(format!(
            "信用评分降至 D 级 (credit score fell to band D: {:.1})",
            report.score_rounded()
        ));
    }
    basis.sort();
    basis.dedup();
    let reason = format!(
        "系统自动提议 (proposed by the system): {}",
        reasons.join("; ")
    );
    propose(
        conn,
        &violation.subject_id,
        &basis,
        &reason,
        LISTING_REGULATION,
        &Actor::system(),
        today,
    )
    .map(Some)
}

/// After a violation is revoked (with its subject locked): the stored score
/// is brought up to date, and every listing whose basis violations are now
/// all revoked is revoked too. Returns the revoked listings.
pub fn after_violation_revoked(
    conn: &mut DbConn,
    violation: &Violation,
    today: NaiveDate,
) -> ApiResult<Vec<Listing>> {
    emit_violation(conn, events::VIOLATION_REVOKED, violation)?;
    refresh_score(conn, &violation.subject_id, today)?;
    let mut revoked = Vec::new();
    for listing_id in listings::listings_of_violation(conn, &violation.id)? {
        if listings::effective_basis_count(conn, &listing_id)? > 0 {
            continue;
        }
        let reason = "依据的违法行为均已撤销 (every violation the listing rests on was revoked)";
        let outcome = transition(
            conn,
            &listing_id,
            &Actor::system(),
            Some(reason),
            today,
            |facts, _| procedure::revoke(facts, reason, "system", today),
        );
        match outcome {
            Ok((listing, _)) => revoked.push(listing),
            // Already final (not listed, expired, revoked): nothing to undo.
            Err(ApiError::Conflict { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(revoked)
}

fn emit_violation(conn: &mut DbConn, event_type: &str, v: &Violation) -> ApiResult<()> {
    events::emit(
        conn,
        event_type,
        &v.subject_id,
        None,
        json!({"violation_id": v.id, "category": v.category, "severity": v.severity,
            "decided_on": v.decided_on, "status": v.status}),
    )?;
    Ok(())
}

/// Brings the subject's stored score up to date (subject locked) and reports
/// a change of band as an event.
pub fn refresh_score(
    conn: &mut DbConn,
    subject_id: &str,
    today: NaiveDate,
) -> ApiResult<(ScoreReport, Option<BandChange>)> {
    let (report, change) = scores::refresh(conn, subject_id, today)?;
    if let Some(change) = change {
        events::emit(
            conn,
            events::SCORE_BAND_CHANGED,
            subject_id,
            None,
            json!({"from": change.from.as_str(), "to": change.to.as_str(), "score": report.score_rounded(),
                "as_of": today, "policy_version": report.policy_version}),
        )?;
    }
    Ok((report, change))
}

/// Records the expiry of listings whose `expires_on` has come. Idempotent:
/// the listing row lock and the state check let only one instance record it.
pub fn expire_due(
    conn: &mut DbConn,
    listing_id: &str,
    today: NaiveDate,
) -> ApiResult<Option<Listing>> {
    match transition(
        conn,
        listing_id,
        &Actor::system(),
        None,
        today,
        |facts, _| procedure::expire(facts, "system", today),
    ) {
        Ok((listing, _)) => Ok(Some(listing)),
        Err(ApiError::Conflict { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

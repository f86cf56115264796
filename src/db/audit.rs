//! The hash-chained audit log: every write appends one entry in the same
//! transaction as the write.
//!
//! `hash = SHA-256(canonical JSON of [seq, at, actor_user_id,
//! actor_organization_id, action, target_type, target_id, details, prev_hash])`,
//! with `actor_subject_id` appended to the array for an entry whose actor is
//! a listed subject acting in the portal (entries of users and the system
//! hash as they always did)
//! where `at` is RFC 3339 UTC with microseconds and `details` is the stored
//! canonical JSON text (keys sorted, no whitespace). The first entry's
//! `prev_hash` is 64 zeros. Editing, deleting or reordering any entry breaks
//! every hash after it.

use chrono::{NaiveDateTime, SubsecRound, Utc};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::schema::{audit_head, audit_log};
use super::DbConn;

pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who did it, as the chain records it: a user of an organization, a listed
/// subject in the portal, or the system (all null).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditActor {
    pub user_id: Option<String>,
    pub organization_id: Option<String>,
    pub subject_id: Option<String>,
}

/// One thing that happened, before it is chained.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: &'a str,
    pub details: Value,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = audit_log, treat_none_as_default_value = false)]
pub struct Entry {
    pub seq: i64,
    pub at: NaiveDateTime,
    pub actor_user_id: Option<String>,
    pub actor_organization_id: Option<String>,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
    /// A listed subject acting in the portal.
    pub actor_subject_id: Option<String>,
}

/// The hash of an entry's content and its predecessor's hash.
pub fn entry_hash(e: &Entry) -> String {
    let mut canonical = serde_json::json!([
        e.seq,
        e.at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        e.actor_user_id,
        e.actor_organization_id,
        e.action,
        e.target_type,
        e.target_id,
        e.details,
        e.prev_hash,
    ]);
    if let (Some(subject), Some(items)) = (&e.actor_subject_id, canonical.as_array_mut()) {
        items.push(serde_json::Value::from(subject.as_str()));
    }
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// Appends one entry; call inside the write's transaction.
pub fn append(conn: &mut DbConn, actor: &AuditActor, event: Event<'_>) -> QueryResult<i64> {
    append_all(conn, actor, std::iter::once(event))
}

/// Appends entries in order under one lock of the chain head; returns the last seq.
pub fn append_all<'a>(
    conn: &mut DbConn,
    actor: &AuditActor,
    events: impl IntoIterator<Item = Event<'a>>,
) -> QueryResult<i64> {
    append_each(conn, events.into_iter().map(|e| (actor.clone(), e)))
}

/// Appends entries with their own actors, in order, under one lock of the
/// chain head (one multi-row insert per 500 entries); returns the last seq.
pub fn append_each<'a>(
    conn: &mut DbConn,
    items: impl IntoIterator<Item = (AuditActor, Event<'a>)>,
) -> QueryResult<i64> {
    let items: Vec<(AuditActor, Event<'a>)> = items.into_iter().collect();
    let count = items.len() as i64;
    // Updating the head first takes its row lock (PostgreSQL) or the write
    // lock (SQLite): concurrent appenders queue here and the chain stays
    // linear. The same statement reads the range taken and the last hash.
    let (last_seq, mut prev_hash): (i64, String) = diesel::update(audit_head::table.find(1))
        .set(audit_head::seq.eq(audit_head::seq + count))
        .returning((audit_head::seq, audit_head::hash))
        .get_result(conn)?;
    let at = Utc::now().naive_utc().trunc_subsecs(6);
    let mut entries = Vec::with_capacity(items.len());
    for (i, (actor, event)) in items.into_iter().enumerate() {
        let mut entry = Entry {
            seq: last_seq - count + 1 + i as i64,
            at,
            actor_user_id: actor.user_id,
            actor_organization_id: actor.organization_id,
            action: event.action.to_owned(),
            target_type: event.target_type.to_owned(),
            target_id: event.target_id.to_owned(),
            details: event.details.to_string(),
            prev_hash,
            hash: String::new(),
            actor_subject_id: actor.subject_id,
        };
        entry.hash = entry_hash(&entry);
        prev_hash = entry.hash.clone();
        entries.push(entry);
    }
    for chunk in entries.chunks(500) {
        crate::insert_rows!(conn, audit_log::table, chunk)?;
    }
    diesel::update(audit_head::table.find(1))
        .set(audit_head::hash.eq(&prev_hash))
        .execute(conn)?;
    Ok(last_seq)
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Verification {
    pub valid: bool,
    /// Entries checked.
    pub entries: i64,
    /// Hash of the last entry (64 zeros for an empty log).
    pub head_hash: String,
    /// The first entry whose hash or link does not hold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_bad_seq: Option<i64>,
}

/// Recomputes the chain from the first entry, in pages, and checks that the
/// head row agrees with the last entry (a truncated tail is caught too).
pub fn verify(conn: &mut DbConn) -> QueryResult<Verification> {
    let mut prev_hash = GENESIS_HASH.to_owned();
    let mut expected_seq = 1i64;
    let mut checked = 0i64;
    loop {
        let page: Vec<Entry> = audit_log::table
            .filter(audit_log::seq.ge(expected_seq))
            .order(audit_log::seq)
            .limit(2000)
            .select(Entry::as_select())
            .load(conn)?;
        if page.is_empty() {
            break;
        }
        for entry in page {
            if entry.seq != expected_seq
                || entry.prev_hash != prev_hash
                || entry_hash(&entry) != entry.hash
            {
                return Ok(Verification {
                    valid: false,
                    entries: checked,
                    head_hash: prev_hash,
                    first_bad_seq: Some(expected_seq),
                });
            }
            prev_hash = entry.hash;
            expected_seq += 1;
            checked += 1;
        }
    }
    let (head_seq, head_hash): (i64, String) = audit_head::table
        .find(1)
        .select((audit_head::seq, audit_head::hash))
        .first(conn)?;
    let head_agrees = head_seq == checked && head_hash == prev_hash;
    Ok(Verification {
        valid: head_agrees,
        entries: checked,
        head_hash: prev_hash,
        first_bad_seq: (!head_agrees).then_some(expected_seq),
    })
}

/// Filters of `GET /v1/audit`.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub action: Option<String>,
    pub actor: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
}

pub fn list(
    conn: &mut DbConn,
    filter: &Filter,
    after_seq: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<Entry>> {
    let mut query = audit_log::table
        .select(Entry::as_select())
        .order(audit_log::seq)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after_seq {
        query = query.filter(audit_log::seq.gt(after));
    }
    if let Some(action) = &filter.action {
        query = query.filter(audit_log::action.eq(action.clone()));
    }
    if let Some(actor) = &filter.actor {
        query = query.filter(
            audit_log::actor_user_id
                .eq(actor.clone())
                .or(audit_log::actor_subject_id.eq(actor.clone())),
        );
    }
    if let Some(target_type) = &filter.target_type {
        query = query.filter(audit_log::target_type.eq(target_type.clone()));
    }
    if let Some(target_id) = &filter.target_id {
        query = query.filter(audit_log::target_id.eq(target_id.clone()));
    }
    query.load(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: i64, prev: &str) -> Entry {
        let mut e = Entry {
            seq,
            at: chrono::NaiveDate::from_ymd_opt(2026, 11, 29)
                .unwrap()
                .and_hms_micro_opt(8, 0, 0, 123456)
                .unwrap(),
            actor_user_id: Some("u".into()),
            actor_organization_id: None,
            action: "subject.created".into(),
            target_type: "subject".into(),
            target_id: "s".into(),
            details: r#"{"a":1}"#.into(),
            prev_hash: prev.into(),
            hash: String::new(),
            actor_subject_id: None,
        };
        e.hash = entry_hash(&e);
        e
    }

    #[test]
    fn hashes_cover_every_field_and_the_link() {
        let first = entry(1, GENESIS_HASH);
        assert_eq!(first.hash.len(), 64);
        assert_eq!(entry_hash(&first), first.hash);
        let second = entry(2, &first.hash);
        assert_ne!(second.hash, first.hash);
        let mut edited = first.clone();
        edited.details = r#"{"a":2}"#.into();
        assert_ne!(entry_hash(&edited), first.hash);
        let mut relinked = second.clone();
        relinked.prev_hash = GENESIS_HASH.into();
        assert_ne!(entry_hash(&relinked), second.hash);
        let mut actor = first.clone();
        actor.actor_organization_id = Some("o".into());
        assert_ne!(entry_hash(&actor), first.hash);
        let mut subject = first.clone();
        subject.actor_user_id = None;
        let user_less = entry_hash(&subject);
        subject.actor_subject_id = Some("s1".into());
        assert_ne!(entry_hash(&subject), user_less);
    }

    #[test]
    fn entries_without_a_subject_hash_as_before() {
        // The hash of an entry as written before subjects could act (fixed value).
        let e = entry(1, GENESIS_HASH);
        let canonical = serde_json::json!([
            e.seq,
            "2026-11-29T08:00:00.123456Z",
            e.actor_user_id,
            e.actor_organization_id,
            e.action,
            e.target_type,
            e.target_id,
            e.details,
            e.prev_hash,
        ]);
        assert_eq!(
            e.hash,
            hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
        );
    }
}

//! Relations between the parties of live-stream commerce (Order 117): an
//! anchor employed by or contracted with an MCN, a live-room operator running
//! a room for a merchant. Regulators record and end them; the history stays.
//! Screening reads the relations that hold today (`service::screening`).

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::{new_id, roles, Actor, ServiceError, ServiceResult};
use crate::db::audit::{self, Event};
use crate::db::registry::{self, Subject};
use crate::db::relations::{self as store, Relation};
use crate::db::DbConn;
use crate::domain::registry::SubjectKind;
use crate::domain::relations::{check_relation, holds_on, RelationKind};

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddRelation {
    /// The MCN, employer, live-room operator or merchant.
    #[schema(format = Uuid)]
    pub related_subject_id: String,
    pub relation: RelationKind,
    /// The first day the relation holds (not in the future).
    pub from: NaiveDate,
    /// The day it ended, if it has or when it will: it no longer holds on that day.
    pub to: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RelationView {
    pub id: String,
    pub subject_id: String,
    pub related_subject_id: String,
    pub related_name: String,
    pub related_kind: SubjectKind,
    pub relation: RelationKind,
    pub from: NaiveDate,
    /// The day the relation ended (it no longer holds on that day).
    pub to: Option<NaiveDate>,
    /// Whether it holds today.
    pub current: bool,
    pub created_by: String,
    pub created_at: chrono::DateTime<Utc>,
    pub ended_by: Option<String>,
    pub ended_at: Option<chrono::DateTime<Utc>>,
}

fn view(r: Relation, related_name: String, related_kind: SubjectKind) -> RelationView {
    RelationView {
        current: holds_on(r.valid_from, r.valid_to, super::today()),
        id: r.id,
        subject_id: r.subject_id,
        related_subject_id: r.related_subject_id,
        related_name,
        related_kind,
        relation: r.relation,
        from: r.valid_from,
        to: r.valid_to,
        created_by: r.created_by,
        created_at: r.created_at.and_utc(),
        ended_by: r.ended_by,
        ended_at: r.ended_at.map(|t| t.and_utc()),
    }
}

/// Records that `subject_id` is bound to a related party.
pub fn add(
    conn: &mut DbConn,
    actor: &Actor,
    subject_id: &str,
    input: AddRelation,
) -> ServiceResult<RelationView> {
    let official = actor.staff(roles::REGULATORS)?;
    let today = super::today();
    let subject = super::subjects::find(conn, subject_id)?;
    let related_id = super::canonical_id(&input.related_subject_id)
        .ok_or_else(|| ServiceError::invalid("related_subject_id", "no such subject"))?;
    let related = registry::find_subject(conn, &related_id)?
        .ok_or_else(|| ServiceError::invalid("related_subject_id", "no such subject"))?;
    if input.from > today {
        return Err(ServiceError::invalid(
            "from",
            format!("must not be in the future (today is {today})"),
        ));
    }
    check_relation(
        input.relation,
        subject.id == related.id,
        subject.kind,
        related.kind,
        input.from,
        input.to,
    )
    .map_err(|e| {
        let field = match e {
            crate::domain::relations::RelationError::EndsBeforeItStarts { .. } => "to",
            crate::domain::relations::RelationError::SubjectKind { .. } => "relation",
            _ => "related_subject_id",
        };
        ServiceError::invalid(field, e.to_string())
    })?;
    if store::overlapping(conn, &subject.id, &related.id, input.relation, input.from)? {
        return Err(ServiceError::conflict(
            "this relation between these subjects is already recorded for that time; end it first",
        ));
    }
    let relation = Relation {
        id: new_id(),
        subject_id: subject.id.clone(),
        related_subject_id: related.id.clone(),
        relation: input.relation,
        valid_from: input.from,
        valid_to: input.to,
        created_by: official.id.clone(),
        created_at: Utc::now().naive_utc(),
        ended_by: None,
        ended_at: None,
    };
    store::insert_relation(conn, &relation)?;
    audit::append(
        conn,
        &actor.audit(),
        Event {
            action: "relation.added",
            target_type: "subject",
            target_id: &subject.id,
            details: json!({"relation_id": relation.id, "relation": relation.relation.as_str(),
                "related_subject_id": related.id, "from": relation.valid_from, "to": relation.valid_to}),
        },
    )?;
    Ok(view(relation, related.name, related.kind))
}

/// A subject's relations, oldest first, ended ones included.
pub fn list(
    conn: &mut DbConn,
    actor: &Actor,
    subject_id: &str,
) -> ServiceResult<Vec<RelationView>> {
    actor.require_reader_of(subject_id)?;
    super::subjects::find(conn, subject_id)?;
    let relations = store::relations_of(conn, subject_id)?;
    let ids: Vec<String> = relations
        .iter()
        .map(|r| r.related_subject_id.clone())
        .collect();
    let related: HashMap<String, Subject> = registry::find_subjects(conn, &ids)?
        .into_iter()
        .map(|s| (s.id.clone(), s))
        .collect();
    relations
        .into_iter()
        .map(|r| {
            let party = related
                .get(&r.related_subject_id)
                .ok_or_else(|| ServiceError::internal("a relation names a subject that is gone"))?;
            let (name, kind) = (party.name.clone(), party.kind);
            Ok(view(r, name, kind))
        })
        .collect()
}

/// Ends a relation today (it no longer holds from today on); its row stays.
pub fn end(
    conn: &mut DbConn,
    actor: &Actor,
    subject_id: &str,
    relation_id: &str,
) -> ServiceResult<RelationView> {
    let official = actor.staff(roles::REGULATORS)?;
    let today = super::today();
    super::subjects::find(conn, subject_id)?;
    let mut relation = store::find_relation(conn, subject_id, relation_id)?
        .ok_or_else(|| ServiceError::not_found("no such relation"))?;
    if relation.valid_to.is_some_and(|to| to <= today) {
        return Err(ServiceError::conflict_with(
            "this relation has already ended",
            [("ended_on", json!(relation.valid_to))],
        ));
    }
    if relation.valid_from >= today {
        return Err(ServiceError::conflict(
            "a relation that starts today or later cannot end today; record it anew with the right dates",
        ));
    }
    let at = Utc::now().naive_utc();
    store::end_relation(conn, &relation.id, today, &official.id, at)?;
    audit::append(
        conn,
        &actor.audit(),
        Event {
            action: "relation.ended",
            target_type: "subject",
            target_id: subject_id,
            details: json!({"relation_id": relation.id, "ended_on": today}),
        },
    )?;
    relation.valid_to = Some(today);
    relation.ended_by = Some(official.id.clone());
    relation.ended_at = Some(at);
    let related = registry::find_subject(conn, &relation.related_subject_id)?
        .ok_or_else(|| ServiceError::internal("a relation names a subject that is gone"))?;
    Ok(view(relation, related.name, related.kind))
}

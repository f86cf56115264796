//! Relations between subjects (Order 117's parties): who works for whom,
//! with their history.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::schema::subject_relations;
use super::typed::name_row;
use super::{DbConn, DbResult};
use crate::domain::relations::RelationKind;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = subject_relations, treat_none_as_default_value = false)]
pub struct Relation {
    pub id: String,
    pub subject_id: String,
    pub related_subject_id: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub relation: RelationKind,
    pub valid_from: NaiveDate,
    /// The day the relation ended (it no longer holds on that day).
    pub valid_to: Option<NaiveDate>,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub ended_by: Option<String>,
    pub ended_at: Option<NaiveDateTime>,
}

/// Relations that hold on `day`: `valid_from ≤ day` and not yet ended.
macro_rules! holding_on {
    ($day:expr) => {
        subject_relations::valid_from.le($day).and(
            subject_relations::valid_to
                .is_null()
                .or(subject_relations::valid_to.gt($day)),
        )
    };
}

/// Relations not ended by `day`: those that hold on it, and those that will.
pub fn not_ended_by(
    day: NaiveDate,
) -> diesel::dsl::Or<
    diesel::dsl::IsNull<subject_relations::valid_to>,
    diesel::dsl::Gt<subject_relations::valid_to, NaiveDate>,
> {
    subject_relations::valid_to
        .is_null()
        .or(subject_relations::valid_to.gt(day))
}

pub fn insert_relation(conn: &mut DbConn, relation: &Relation) -> QueryResult<()> {
    diesel::insert_into(subject_relations::table)
        .values(relation.clone())
        .execute(conn)?;
    super::changes::subject(conn, &relation.subject_id)
}

/// A subject's relations (as the bound party), oldest first; ended ones too.
pub fn relations_of(conn: &mut DbConn, subject_id: &str) -> DbResult<Vec<Relation>> {
    let found = subject_relations::table
        .filter(subject_relations::subject_id.eq(subject_id))
        .order((subject_relations::valid_from, subject_relations::id))
        .select(Relation::as_select())
        .load(conn);
    name_row(conn, "subject_relations", found)
}

pub fn find_relation(conn: &mut DbConn, subject_id: &str, id: &str) -> DbResult<Option<Relation>> {
    let found = subject_relations::table
        .filter(subject_relations::id.eq(id))
        .filter(subject_relations::subject_id.eq(subject_id))
        .select(Relation::as_select())
        .first(conn)
        .optional();
    name_row(conn, "subject_relations", found)
}

/// Whether the same relation between the same two subjects holds on `day`
/// or starts later.
pub fn overlapping(
    conn: &mut DbConn,
    subject_id: &str,
    related_subject_id: &str,
    relation: RelationKind,
    day: NaiveDate,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        subject_relations::table
            .filter(subject_relations::subject_id.eq(subject_id))
            .filter(subject_relations::related_subject_id.eq(related_subject_id))
            .filter(subject_relations::relation.eq(relation.as_str()))
            .filter(
                subject_relations::valid_to
                    .is_null()
                    .or(subject_relations::valid_to.gt(day)),
            ),
    ))
    .get_result(conn)
}

/// Ends a relation on `day` (it no longer holds from that day on).
pub fn end_relation(
    conn: &mut DbConn,
    id: &str,
    day: NaiveDate,
    by: &str,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(subject_relations::table.find(id))
        .set((
            subject_relations::valid_to.eq(day),
            subject_relations::ended_by.eq(by),
            subject_relations::ended_at.eq(at),
        ))
        .execute(conn)?;
    let holder: String = subject_relations::table
        .find(id)
        .select(subject_relations::subject_id)
        .first(conn)?;
    super::changes::subject(conn, &holder)
}

/// The relations that bind someone to `related_subject_id` on `day` (an
/// MCN's anchors, a merchant's room operators).
pub fn holding_to(
    conn: &mut DbConn,
    related_subject_id: &str,
    day: NaiveDate,
) -> DbResult<Vec<Relation>> {
    let found = subject_relations::table
        .filter(subject_relations::related_subject_id.eq(related_subject_id))
        .filter(holding_on!(day))
        .select(Relation::as_select())
        .load(conn);
    name_row(conn, "subject_relations", found)
}

/// The relations of these subjects (as the bound party) not ended by `day`:
/// those that hold on it, and those that will.
pub fn unended_relations_of(
    conn: &mut DbConn,
    subject_ids: &[String],
    day: NaiveDate,
) -> DbResult<Vec<Relation>> {
    if subject_ids.is_empty() {
        return Ok(Vec::new());
    }
    let found = subject_relations::table
        .filter(subject_relations::subject_id.eq_any(subject_ids))
        .filter(not_ended_by(day))
        .select(Relation::as_select())
        .load(conn);
    name_row(conn, "subject_relations", found)
}

/// The subjects bound by a relation not ended by `day` to any of these parties.
pub fn holders_of(
    conn: &mut DbConn,
    party_ids: &[String],
    day: NaiveDate,
) -> QueryResult<Vec<String>> {
    if party_ids.is_empty() {
        return Ok(Vec::new());
    }
    subject_relations::table
        .filter(subject_relations::related_subject_id.eq_any(party_ids))
        .filter(not_ended_by(day))
        .select(subject_relations::subject_id)
        .distinct()
        .load(conn)
}

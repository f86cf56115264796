//! Bulk loading for tools such as demo-data: many rows of every registry
//! table in one transaction, by PostgreSQL's binary `COPY` or by multi-row
//! INSERTs. The rows are built by the same functions the use cases use.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use diesel::prelude::*;

use super::listings::{
    ConsentRecord, HistoryEntry, Listing, ListingViolation, Objection, ReviewFlag, StoredDocument,
};
use super::registry::{Evidence, NameKeyRow, Subject, SubjectAccount, SubjectName, Violation};
use super::relations::Relation;
use super::repairs::Repair;
use super::schema::{
    listing_consents, listing_documents, listing_history, listing_violations, listings, objections,
    repairs, review_flags, subject_accounts, subject_name_keys, subject_names, subject_relations,
    subjects, violation_evidence, violations,
};
use super::DbConn;

/// Rows per multi-row INSERT.
const INSERT_CHUNK: usize = 1000;

/// The rows of one bulk write, table by table.
#[derive(Debug, Default)]
pub struct Rows {
    pub subjects: Vec<Subject>,
    pub names: Vec<SubjectName>,
    pub name_keys: Vec<NameKeyRow>,
    pub accounts: Vec<SubjectAccount>,
    pub violations: Vec<Violation>,
    pub evidence: Vec<Evidence>,
    pub listings: Vec<Listing>,
    pub listing_violations: Vec<ListingViolation>,
    pub history: Vec<HistoryEntry>,
    pub objections: Vec<Objection>,
    pub repairs: Vec<Repair>,
    pub consents: Vec<ConsentRecord>,
    pub documents: Vec<StoredDocument>,
    pub review_flags: Vec<ReviewFlag>,
}

/// Writes `$rows` (a `Vec`, consumed) into `$table`: binary `COPY` on
/// PostgreSQL when `$copy`, else multi-row INSERTs of [`INSERT_CHUNK`] rows.
macro_rules! bulk_insert {
    ($timings:expr, $conn:expr, $copy:expr, $name:literal, $table:expr, $rows:expr) => {{
        let rows = $rows;
        let started = Instant::now();
        if !rows.is_empty() {
            match (&mut *$conn, $copy) {
                (DbConn::Pg(c), true) => {
                    diesel::copy_from($table).from_insertable(rows).execute(c)?;
                }
                _ => {
                    for chunk in rows.chunks(INSERT_CHUNK) {
                        $crate::insert_rows!(&mut *$conn, $table, chunk.to_vec())?;
                    }
                }
            }
        }
        *$timings.entry($name).or_default() += started.elapsed();
    }};
}

/// Inserts every row, in an order the foreign keys accept, adding the time
/// spent per table to `timings`. Call inside a transaction.
pub fn insert(
    conn: &mut DbConn,
    rows: Rows,
    copy: bool,
    timings: &mut BTreeMap<&'static str, Duration>,
) -> QueryResult<()> {
    let t = timings;
    bulk_insert!(t, conn, copy, "subjects", subjects::table, rows.subjects);
    bulk_insert!(
        t,
        conn,
        copy,
        "subject_names",
        subject_names::table,
        rows.names
    );
    bulk_insert!(
        t,
        conn,
        copy,
        "subject_name_keys",
        subject_name_keys::table,
        rows.name_keys
    );
    bulk_insert!(
        t,
        conn,
        copy,
        "subject_accounts",
        subject_accounts::table,
        rows.accounts
    );
    bulk_insert!(
        t,
        conn,
        copy,
        "violations",
        violations::table,
        rows.violations
    );
    bulk_insert!(
        t,
        conn,
        copy,
        "violation_evidence",
        violation_evidence::table,
        rows.evidence
    );
    bulk_insert!(t, conn, copy, "listings", listings::table, rows.listings);
    bulk_insert!(
        t,
        conn,
        copy,
        "listing_violations",
        listing_violations::table,
        rows.listing_violations
    );
    bulk_insert!(
        t,
        conn,
        copy,
        "listing_history",
        listing_history::table,
        rows.history
    );
    bulk_insert!(
        t,
        conn,
        copy,
        "objections",
        objections::table,
        rows.objections
    );
    bulk_insert!(t, conn, copy, "repairs", repairs::table, rows.repairs);
    bulk_insert!(
        t,
        conn,
        copy,
        "listing_consents",
        listing_consents::table,
        rows.consents
    );
    bulk_insert!(
        t,
        conn,
        copy,
        "listing_documents",
        listing_documents::table,
        rows.documents
    );
    bulk_insert!(
        t,
        conn,
        copy,
        "review_flags",
        review_flags::table,
        rows.review_flags
    );
    Ok(())
}

/// Writes the relations between subjects once every subject is there (an
/// anchor's MCN may come in a later batch). Call inside a transaction.
pub fn insert_relations(conn: &mut DbConn, rows: Vec<Relation>, copy: bool) -> QueryResult<()> {
    let mut timings: BTreeMap<&'static str, Duration> = BTreeMap::new();
    let t = &mut timings;
    bulk_insert!(
        t,
        conn,
        copy,
        "subject_relations",
        subject_relations::table,
        rows
    );
    Ok(())
}

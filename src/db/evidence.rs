//! Uploads of evidence files: one row per upload (the content is in the
//! evidence store, `infra::evidence`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::evidence_files;
use super::typed::name_row;
use super::{DbConn, DbResult};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = evidence_files)]
pub struct EvidenceFile {
    pub id: String,
    /// Lower-case hex SHA-256 of the content: its name in the store.
    pub sha256: String,
    pub media_type: String,
    pub size_bytes: i64,
    /// The name the uploader gave, if any (shown, never used as a path).
    pub file_name: Option<String>,
    /// The official who uploaded it; none when a subject did.
    pub uploaded_by: Option<String>,
    /// The subject who uploaded it in the portal; none when an official did.
    pub subject_id: Option<String>,
    pub uploaded_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConn, file: &EvidenceFile) -> QueryResult<()> {
    diesel::insert_into(evidence_files::table)
        .values(file.clone())
        .execute(conn)
        .map(drop)
}

pub fn find(conn: &mut DbConn, id: &str) -> DbResult<Option<EvidenceFile>> {
    let found = evidence_files::table
        .find(id)
        .select(EvidenceFile::as_select())
        .first(conn)
        .optional();
    name_row(conn, "evidence_files", found)
}

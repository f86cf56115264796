//! Evidence files (CONTRACT §6.5): an official or a listed subject in the
//! portal uploads a PDF, JPEG, PNG or MP4 of at most 10 MiB, told by its
//! content; the registry keeps it content-addressed and serves it only as a
//! download. A subject reads back only their own uploads; officials,
//! auditors and admins read every upload. Uploads and downloads are audited.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::violations::EvidenceItem;
use super::{canonical_id, roles, Actor, ServiceError, ServiceResult};
use crate::db::audit::{self, Event};
use crate::db::evidence::{self as store, EvidenceFile};
use crate::db::Db;
use crate::domain::evidence::{check_upload, EvidenceKind, EvidenceRefusal, MAX_EVIDENCE_BYTES};
use crate::infra::evidence::EvidenceStore;

/// Those who upload evidence: officials (a subject in the portal may too).
const UPLOADERS: &[crate::domain::accounts::Role] = roles::REGULATORS;
/// The longest file name kept with an upload.
const MAX_FILE_NAME_CHARS: usize = 200;

/// An uploaded file as the client sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EvidenceFileView {
    pub id: String,
    /// Lower-case hex SHA-256 of the content.
    pub sha256: String,
    /// What the content is (`application/pdf`, `image/jpeg`, `image/png`, `video/mp4`).
    pub media_type: String,
    pub size_bytes: i64,
    pub file_name: Option<String>,
    pub uploaded_at: DateTime<Utc>,
    /// Where to download it (`GET`).
    pub download_path: String,
    /// The file as an evidence item, ready for the `evidence` list of a
    /// repair application, a supplement or a violation.
    pub item: EvidenceItem,
}

impl From<EvidenceFile> for EvidenceFileView {
    fn from(f: EvidenceFile) -> Self {
        Self {
            download_path: format!("/v1/evidence/{}", f.id),
            item: EvidenceItem {
                sha256: f.sha256.clone(),
                media_type: f.media_type.clone(),
                description: f.file_name.clone(),
                uri: Some(format!("urn:livecredit:evidence:{}", f.id)),
            },
            id: f.id,
            sha256: f.sha256,
            media_type: f.media_type,
            size_bytes: f.size_bytes,
            file_name: f.file_name,
            uploaded_at: f.uploaded_at.and_utc(),
        }
    }
}

/// One upload: the bytes, the media type the client declared, and the
/// file's name as the client knows it.
#[derive(Debug, Clone)]
pub struct Upload {
    pub content: Vec<u8>,
    pub declared_type: Option<String>,
    pub file_name: Option<String>,
}

/// A file to download: what it is, and its content.
#[derive(Debug, Clone)]
pub struct Download {
    pub file: EvidenceFileView,
    pub content: Vec<u8>,
    /// A safe name to offer (`evidence-<sha256 prefix>.<ext>`).
    pub offered_name: String,
}

impl From<EvidenceRefusal> for ServiceError {
    fn from(e: EvidenceRefusal) -> Self {
        match e {
            EvidenceRefusal::TooLarge => ServiceError::TooLarge {
                detail: e.to_string(),
                limit: MAX_EVIDENCE_BYTES,
            },
            EvidenceRefusal::Empty => ServiceError::invalid("body", e.to_string()),
            EvidenceRefusal::UnknownContent | EvidenceRefusal::Mismatch { .. } => {
                ServiceError::UnsupportedContent(e.to_string())
            }
        }
    }
}

/// Stores an upload and records who made it.
pub async fn upload(
    db: &Db,
    files: &EvidenceStore,
    actor: Actor,
    upload: Upload,
) -> ServiceResult<EvidenceFileView> {
    // Who may upload is decided before a byte reaches the disk.
    let (uploaded_by, subject_id) = match &actor {
        Actor::Subject(party) => (None, Some(party.subject_id.clone())),
        _ => (Some(actor.staff(UPLOADERS)?.id.clone()), None),
    };
    let file_name = match upload.file_name.as_deref().map(clean_file_name) {
        Some(Ok(name)) => name,
        Some(Err(message)) => return Err(ServiceError::invalid("file_name", message)),
        None => None,
    };
    let kind = check_upload(&upload.content, upload.declared_type.as_deref())?;
    let size_bytes = upload.content.len() as i64;
    let (files, content) = (files.clone(), upload.content);
    let sha256 = tokio::task::spawn_blocking(move || files.put(&content))
        .await
        .map_err(|e| ServiceError::internal(format!("storing evidence: {e}")))?
        .map_err(|e| ServiceError::Internal(anyhow::Error::new(e).context("storing evidence")))?;
    let file = EvidenceFile {
        id: uuid::Uuid::now_v7().to_string(),
        sha256,
        media_type: kind.media_type().to_owned(),
        size_bytes,
        file_name,
        uploaded_by,
        subject_id,
        uploaded_at: Utc::now().naive_utc(),
    };
    db.write(move |conn| {
        store::insert(conn, &file)?;
        audit::append(
            conn,
            &actor.audit(),
            Event {
                action: "evidence.upload",
                target_type: "evidence",
                target_id: &file.id,
                details: json!({"sha256": file.sha256, "media_type": file.media_type,
                    "size_bytes": file.size_bytes}),
            },
        )?;
        Ok(file.into())
    })
    .await
}

/// An uploaded file for download: to a subject only their own uploads
/// (another's are "not found"); to officials, auditors and admins any.
/// Every download is logged.
pub async fn download(
    db: &Db,
    files: &EvidenceStore,
    actor: Actor,
    id: &str,
) -> ServiceResult<Download> {
    let id = canonical_id(id).ok_or_else(|| ServiceError::not_found("no such evidence file"))?;
    let file = db
        .write(move |conn| {
            let file = store::find(conn, &id)?
                .ok_or_else(|| ServiceError::not_found("no such evidence file"))?;
            match &actor {
                Actor::Subject(party) if file.subject_id.as_deref() == Some(&party.subject_id) => {}
                Actor::Subject(_) => return Err(ServiceError::not_found("no such evidence file")),
                _ => {
                    actor.require(roles::READERS)?;
                }
            }
            audit::append(
                conn,
                &actor.audit(),
                Event {
                    action: "evidence.serve",
                    target_type: "evidence",
                    target_id: &file.id,
                    details: json!({"sha256": file.sha256}),
                },
            )?;
            Ok::<_, ServiceError>(file)
        })
        .await?;
    let (files, sha256) = (files.clone(), file.sha256.clone());
    let content = tokio::task::spawn_blocking(move || files.read(&sha256))
        .await
        .map_err(|e| ServiceError::internal(format!("reading evidence: {e}")))?
        .map_err(|e| ServiceError::Internal(anyhow::Error::new(e).context("reading evidence")))?
        .ok_or_else(|| {
            ServiceError::internal(format!(
                "evidence file {} ({}) is recorded but missing from the store",
                file.id, file.sha256
            ))
        })?;
    let extension = EvidenceKind::from_media_type(&file.media_type)
        .map(EvidenceKind::extension)
        .unwrap_or("bin");
    let offered_name = format!("evidence-{}.{extension}", &file.sha256[..12]);
    Ok(Download {
        file: file.into(),
        content,
        offered_name,
    })
}

/// A file name as given, kept for people to read: trimmed, without control
/// characters or path separators; blank is none.
fn clean_file_name(raw: &str) -> Result<Option<String>, String> {
    let name = raw.trim();
    if name.is_empty() {
        return Ok(None);
    }
    if name.chars().count() > MAX_FILE_NAME_CHARS
        || name
            .chars()
            .any(|c| c.is_control() || c == '/' || c == '\\')
    {
        return Err(format!(
            "must be at most {MAX_FILE_NAME_CHARS} characters, without control characters or path separators"
        ));
    }
    Ok(Some(name.to_owned()))
}

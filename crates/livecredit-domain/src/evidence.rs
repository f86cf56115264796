//! Evidence files (CONTRACT §6.5): which kinds are taken, told by their
//! content, and how large one may be.

use serde::{Deserialize, Serialize};

/// The largest evidence file taken: 10 MiB.
pub const MAX_EVIDENCE_BYTES: usize = 10 * 1024 * 1024;

/// The kinds of file taken as evidence: documents, photographs and video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EvidenceKind {
    Pdf,
    Jpeg,
    Png,
    Mp4,
}

impl EvidenceKind {
    pub const ALL: [EvidenceKind; 4] = [Self::Pdf, Self::Jpeg, Self::Png, Self::Mp4];

    pub fn media_type(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Mp4 => "video/mp4",
        }
    }

    /// The file name extension a download is offered with.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Mp4 => "mp4",
        }
    }

    /// The kind a media type names (parameters and case ignored).
    pub fn from_media_type(raw: &str) -> Option<Self> {
        let essence = raw.split(';').next()?.trim().to_ascii_lowercase();
        Self::ALL.into_iter().find(|k| k.media_type() == essence)
    }

    /// The kind the content is, by its leading bytes ("magic numbers"): a PDF
    /// starts `%PDF-`, a JPEG `FF D8 FF`, a PNG with its eight-byte
    /// signature, an MP4 (ISO base media file) with an `ftyp` box.
    pub fn sniff(content: &[u8]) -> Option<Self> {
        const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";
        if content.starts_with(b"%PDF-") {
            Some(Self::Pdf)
        } else if content.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if content.starts_with(PNG) {
            Some(Self::Png)
        } else if content.len() >= 12 && &content[4..8] == b"ftyp" {
            Some(Self::Mp4)
        } else {
            None
        }
    }
}

/// Why a file is not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceRefusal {
    #[error("the file is empty")]
    Empty,
    #[error("the file is larger than 10 MiB")]
    TooLarge,
    #[error("evidence is a PDF, JPEG, PNG or MP4 file; the content is none of these")]
    UnknownContent,
    #[error("the content is {found}, not the {declared} declared")]
    Mismatch {
        declared: &'static str,
        found: &'static str,
    },
}

/// The kind of an uploaded file: its content decides; a declared media type,
/// when given, must agree with it.
pub fn check_upload(
    content: &[u8],
    declared: Option<&str>,
) -> Result<EvidenceKind, EvidenceRefusal> {
    if content.is_empty() {
        return Err(EvidenceRefusal::Empty);
    }
    if content.len() > MAX_EVIDENCE_BYTES {
        return Err(EvidenceRefusal::TooLarge);
    }
    let found = EvidenceKind::sniff(content).ok_or(EvidenceRefusal::UnknownContent)?;
    match declared.map(EvidenceKind::from_media_type) {
        Some(Some(kind)) if kind != found => Err(EvidenceRefusal::Mismatch {
            declared: kind.media_type(),
            found: found.media_type(),
        }),
        _ => Ok(found),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_decides_the_kind() {
        assert_eq!(check_upload(b"%PDF-1.7\n...", None), Ok(EvidenceKind::Pdf));
        assert_eq!(
            check_upload(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10], None),
            Ok(EvidenceKind::Jpeg)
        );
        assert_eq!(
            check_upload(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", None),
            Ok(EvidenceKind::Png)
        );
        assert_eq!(
            check_upload(b"\0\0\0\x18ftypmp42\0\0\0\0", None),
            Ok(EvidenceKind::Mp4)
        );
    }

    #[test]
    fn scripts_and_pages_are_refused_whatever_they_claim() {
        let html = b"<html><script>alert(1)</script></html>";
        assert_eq!(
            check_upload(html, Some("application/pdf")),
            Err(EvidenceRefusal::UnknownContent)
        );
        assert_eq!(
            check_upload(b"MZ\x90\0", None),
            Err(EvidenceRefusal::UnknownContent)
        );
        assert_eq!(check_upload(b"", None), Err(EvidenceRefusal::Empty));
    }

    #[test]
    fn a_declared_type_must_agree_with_the_content() {
        assert_eq!(
            check_upload(b"%PDF-1.4", Some("image/png")),
            Err(EvidenceRefusal::Mismatch {
                declared: "image/png",
                found: "application/pdf"
            })
        );
        // A type outside the four is not a claim about them: the content decides.
        assert_eq!(
            check_upload(b"%PDF-1.4", Some("application/octet-stream")),
            Ok(EvidenceKind::Pdf)
        );
        assert_eq!(
            check_upload(b"%PDF-1.4", Some("Application/PDF; q=1")),
            Ok(EvidenceKind::Pdf)
        );
    }

    #[test]
    fn ten_mebibytes_is_the_limit() {
        let mut big = b"%PDF-".to_vec();
        big.resize(MAX_EVIDENCE_BYTES, b' ');
        assert_eq!(check_upload(&big, None), Ok(EvidenceKind::Pdf));
        big.push(b' ');
        assert_eq!(check_upload(&big, None), Err(EvidenceRefusal::TooLarge));
    }
}

//! The evidence files themselves, content-addressed by SHA-256 under one
//! folder (`LIVECREDIT_EVIDENCE_DIR`, default `LIVECREDIT_DATA_DIR/evidence`):
//! `ab/abcdef…` for the file whose hash starts `ab`. A file is written once,
//! under a temporary name, flushed to disk and renamed into place, so that a
//! crash never leaves a partial file under a hash; the same content uploaded
//! twice is stored once. Files are readable by the service's user only.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

#[derive(Debug, Clone)]
pub struct EvidenceStore {
    dir: PathBuf,
}

impl EvidenceStore {
    /// The store in `dir`, created (owner-only) if missing.
    pub fn open(dir: impl Into<PathBuf>) -> io::Result<Self> {
        let dir = dir.into();
        create_private_dir(&dir)?;
        Ok(Self { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The lower-case hex SHA-256 of `content`.
    pub fn hash(content: &[u8]) -> String {
        hex::encode(Sha256::digest(content))
    }

    /// Where the file with this hash is (or would be) kept; `None` for
    /// anything but 64 lower-case hex digits, which no file is named.
    pub fn path_of(&self, sha256: &str) -> Option<PathBuf> {
        let valid = sha256.len() == 64
            && sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        valid.then(|| self.dir.join(&sha256[..2]).join(sha256))
    }

    /// Stores `content` durably; answers its hash. Storing what is already
    /// there is a no-op.
    pub fn put(&self, content: &[u8]) -> io::Result<String> {
        let sha256 = Self::hash(content);
        let path = self
            .path_of(&sha256)
            .expect("a SHA-256 in hex names a file");
        if path.exists() {
            return Ok(sha256);
        }
        let folder = path.parent().expect("a file in a fan-out folder");
        create_private_dir(folder)?;
        let temporary = folder.join(format!(".{sha256}.{}.tmp", uuid::Uuid::now_v7().simple()));
        let written = (|| {
            let mut file = private_file(&temporary)?;
            file.write_all(content)?;
            file.sync_all()?;
            fs::rename(&temporary, &path)?;
            // The rename itself must survive a crash: flush the folder too.
            fs::File::open(folder)?.sync_all()
        })();
        if written.is_err() {
            let _ = fs::remove_file(&temporary);
        }
        written.map(|()| sha256)
    }

    /// The file with this hash, if it is kept here.
    pub fn read(&self, sha256: &str) -> io::Result<Option<Vec<u8>>> {
        let Some(path) = self.path_of(sha256) else {
            return Ok(None);
        };
        match fs::read(path) {
            Ok(content) => Ok(Some(content)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

#[cfg(unix)]
fn private_file(path: &Path) -> io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn private_file(path: &Path) -> io::Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_kept_once_under_its_hash_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = EvidenceStore::open(dir.path().join("evidence")).unwrap();
        let sha = store.put(b"%PDF-1.7 evidence").unwrap();
        assert_eq!(sha, EvidenceStore::hash(b"%PDF-1.7 evidence"));
        assert_eq!(store.put(b"%PDF-1.7 evidence").unwrap(), sha);
        assert_eq!(store.read(&sha).unwrap().unwrap(), b"%PDF-1.7 evidence");
        let folder = store.dir().join(&sha[..2]);
        assert_eq!(
            fs::read_dir(&folder).unwrap().count(),
            1,
            "no temporary file left"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(folder.join(&sha))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn names_that_are_not_hashes_reach_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = EvidenceStore::open(dir.path()).unwrap();
        assert!(store.path_of("../../etc/passwd").is_none());
        assert!(store.path_of(&"A".repeat(64)).is_none());
        assert!(store.read(&"0".repeat(64)).unwrap().is_none());
    }
}

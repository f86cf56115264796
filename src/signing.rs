//! Ed25519 keys that sign the published snapshot.
//!
//! Keys live in `LIVECREDIT_DATA_DIR/signing-keys/`: one `<key_id>.key` file
//! per key (hex of the 32-byte seed, mode 0600) and a `current` file naming
//! the key that signs. `livecredit keys rotate` adds a key and makes it
//! current; the others stay listed as retired so that snapshots signed
//! before the rotation can still be checked. Every instance of a deployment
//! must see the same folder (or the same `LIVECREDIT_SIGNING_KEY`).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use base64::Engine;
use ed25519_dalek::Signer;
pub use ed25519_dalek::SigningKey;
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

/// A public key as `GET /v1/public/keys` lists it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicKey {
    pub key_id: String,
    /// Always `Ed25519`.
    pub algorithm: String,
    /// Standard base64 of the 32 raw public-key bytes.
    pub public_key: String,
    /// `current` signs new snapshots; `retired` keys verify older ones.
    pub status: String,
}

/// The key id: the first 16 hex digits of the SHA-256 of the public key.
pub fn key_id(key: &SigningKey) -> String {
    hex::encode(&Sha256::digest(key.verifying_key().as_bytes())[..8])
}

fn parse_seed(text: &str) -> anyhow::Result<SigningKey> {
    let bytes = hex::decode(text.trim())
        .context("a signing key must be 64 hex digits (a 32-byte Ed25519 seed)")?;
    let seed: [u8; 32] = bytes.try_into().map_err(|_| {
        anyhow::anyhow!("a signing key must be 64 hex digits (a 32-byte Ed25519 seed)")
    })?;
    Ok(SigningKey::from_bytes(&seed))
}

/// The signing keys of one deployment.
#[derive(Clone, Debug)]
pub struct KeyStore {
    dir: PathBuf,
    /// `LIVECREDIT_SIGNING_KEY`, which overrides the folder's current key.
    configured: Option<String>,
}

impl KeyStore {
    pub fn new(data_dir: &Path, configured: Option<String>) -> Self {
        Self {
            dir: data_dir.join("signing-keys"),
            configured,
        }
    }

    fn write_key(&self, key: &SigningKey) -> anyhow::Result<String> {
        fs::create_dir_all(&self.dir)
            .with_context(|| format!("creating {}", self.dir.display()))?;
        let id = key_id(key);
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let path = self.dir.join(format!("{id}.key"));
        let mut file = options
            .open(&path)
            .with_context(|| format!("writing {}", path.display()))?;
        file.write_all(hex::encode(key.to_bytes()).as_bytes())?;
        file.sync_all()?;
        Ok(id)
    }

    fn set_current(&self, id: &str) -> anyhow::Result<()> {
        let tmp = self.dir.join("current.tmp");
        fs::write(&tmp, id)?;
        fs::rename(&tmp, self.dir.join("current"))?;
        Ok(())
    }

    /// The key that signs: the configured one, else the folder's current one,
    /// created on first use.
    pub fn current(&self) -> anyhow::Result<SigningKey> {
        if let Some(configured) = &self.configured {
            return parse_seed(configured).context("LIVECREDIT_SIGNING_KEY");
        }
        match fs::read_to_string(self.dir.join("current")) {
            Ok(id) => {
                let id = id.trim();
                let text = fs::read_to_string(self.dir.join(format!("{id}.key")))
                    .with_context(|| format!("reading signing key {id}"))?;
                parse_seed(&text)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = new_key();
                let id = self.write_key(&key)?;
                self.set_current(&id)?;
                tracing::info!(key_id = %id, "generated a snapshot signing key in the data folder");
                Ok(key)
            }
            Err(e) => Err(e).context("reading the current signing key"),
        }
    }

    /// Adds a new key and makes it current; returns its id.
    pub fn rotate(&self) -> anyhow::Result<String> {
        if self.configured.is_some() {
            bail!("LIVECREDIT_SIGNING_KEY is set: rotate by configuring a new key");
        }
        self.current()?;
        let key = new_key();
        let id = self.write_key(&key)?;
        self.set_current(&id)?;
        Ok(id)
    }

    /// Every key, current first.
    pub fn list(&self) -> anyhow::Result<Vec<PublicKey>> {
        let current = self.current()?;
        let current_id = key_id(&current);
        let mut keys = vec![public(&current, "current")];
        if let Ok(entries) = fs::read_dir(&self.dir) {
            let mut retired = Vec::new();
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "key") {
                    if let Ok(key) = fs::read_to_string(&path)
                        .map_err(anyhow::Error::from)
                        .and_then(|t| parse_seed(&t))
                    {
                        if key_id(&key) != current_id {
                            retired.push(public(&key, "retired"));
                        }
                    }
                }
            }
            retired.sort_by(|a, b| a.key_id.cmp(&b.key_id));
            keys.extend(retired);
        }
        Ok(keys)
    }
}

fn new_key() -> SigningKey {
    let mut seed = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut seed);
    SigningKey::from_bytes(&seed)
}

fn public(key: &SigningKey, status: &str) -> PublicKey {
    PublicKey {
        key_id: key_id(key),
        algorithm: "Ed25519".into(),
        public_key: base64::engine::general_purpose::STANDARD
            .encode(key.verifying_key().as_bytes()),
        status: status.into(),
    }
}

/// RFC 8785 canonical JSON of a document without floating-point numbers:
/// object keys sorted (all keys here are ASCII, where UTF-16 and byte order
/// agree), no whitespace, and serde_json's string escaping, which is the
/// ECMAScript one RFC 8785 requires.
pub fn canonical_json(value: &serde_json::Value) -> String {
    // serde_json's map is a BTreeMap (the `preserve_order` feature is off), so keys come out sorted.
    value.to_string()
}

/// Standard base64 of the Ed25519 signature over `message`.
pub fn sign(key: &SigningKey, message: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(key.sign(message).to_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::Verifier;

    #[test]
    fn keys_are_created_kept_and_rotated() {
        let dir = tempfile::tempdir().unwrap();
        let store = KeyStore::new(dir.path(), None);
        let first = store.current().unwrap();
        assert_eq!(key_id(&store.current().unwrap()), key_id(&first));
        let second = store.rotate().unwrap();
        assert_ne!(second, key_id(&first));
        let keys = store.list().unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(
            (keys[0].key_id.as_str(), keys[0].status.as_str()),
            (second.as_str(), "current")
        );
        assert_eq!(
            (keys[1].key_id.clone(), keys[1].status.as_str()),
            (key_id(&first), "retired")
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(
                dir.path()
                    .join("signing-keys")
                    .join(format!("{second}.key")),
            )
            .unwrap()
            .permissions()
            .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn canonical_json_sorts_keys_and_has_no_whitespace() {
        let value = serde_json::json!({"b": 1, "a": {"d": [1, "x\n\u{1}"], "c": "张伟/é"}});
        assert_eq!(
            canonical_json(&value),
            r#"{"a":{"c":"张伟/é","d":[1,"x\n\u0001"]},"b":1}"#
        );
    }

    #[test]
    fn signatures_verify() {
        let dir = tempfile::tempdir().unwrap();
        let key = KeyStore::new(dir.path(), None).current().unwrap();
        let signature = sign(&key, b"hello");
        let bytes: [u8; 64] = base64::engine::general_purpose::STANDARD
            .decode(signature)
            .unwrap()
            .try_into()
            .unwrap();
        assert!(key
            .verifying_key()
            .verify(b"hello", &ed25519_dalek::Signature::from_bytes(&bytes))
            .is_ok());
        let configured = KeyStore::new(dir.path(), Some("11".repeat(32)));
        assert_eq!(configured.list().unwrap().len(), 2);
        assert!(KeyStore::new(dir.path(), Some("zz".into()))
            .current()
            .is_err());
    }
}

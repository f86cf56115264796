//! HS256 access tokens and opaque refresh tokens.

use base64::Engine;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::Secret;

pub const ACCESS_TOKEN_SECONDS: i64 = 15 * 60;
pub const REFRESH_TOKEN_DAYS: i64 = 30;
pub const ISSUER: &str = "livecredit";
pub const AUDIENCE: &str = "livecredit";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: String,
    pub org: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    pub iss: String,
    pub aud: String,
    /// The user's token epoch when the token was issued: a change of role
    /// or a disabling moves the user's epoch on, and this token stops
    /// counting for good. Required: a token without it does not decode.
    pub epoch: i64,
    /// Never issued; typed so that a token carrying a non-integer `nbf` fails
    /// to decode instead of having its check skipped (GHSA-h395-gr6q-cpjc in
    /// jsonwebtoken 9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
}

/// Signs and checks access tokens with the configured secret.
#[derive(Clone)]
pub struct TokenService {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl TokenService {
    /// Fails on an empty secret, or on a build where jsonwebtoken has no
    /// crypto backend (its `rust_crypto` feature is the one chosen): better
    /// at start than at the first login.
    pub fn new(secret: &Secret) -> anyhow::Result<Self> {
        if jsonwebtoken::crypto::CryptoProvider::try_get_default().is_none() {
            anyhow::bail!("jsonwebtoken was built without exactly one crypto backend");
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "sub", "iss", "aud"]);
        validation.validate_nbf = true;
        validation.leeway = 5;
        Ok(Self {
            encoding: EncodingKey::from_secret(secret.bytes())
                .map_err(|e| anyhow::anyhow!("the JWT secret: {e}"))?,
            decoding: DecodingKey::from_secret(secret.bytes())
                .map_err(|e| anyhow::anyhow!("the JWT secret: {e}"))?,
            validation,
        })
    }

    pub fn issue(
        &self,
        user_id: &str,
        role: &str,
        org: &str,
        epoch: i64,
        now: DateTime<Utc>,
    ) -> anyhow::Result<String> {
        let claims = Claims {
            sub: user_id.to_owned(),
            role: role.to_owned(),
            org: org.to_owned(),
            iat: now.timestamp(),
            exp: now.timestamp() + ACCESS_TOKEN_SECONDS,
            jti: uuid::Uuid::now_v7().to_string(),
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            epoch,
            nbf: None,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| anyhow::anyhow!("signing token: {e}"))
    }

    /// Checks signature, algorithm (HS256 only), expiry, not-before, issuer
    /// and audience. A token issued in the future is refused as well.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Option<Claims> {
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()?
            .claims;
        // The library checks `exp` against the system clock; check against
        // `now` too so the rule is testable and explicit.
        let leeway = self.validation.leeway as i64;
        (claims.iat <= now.timestamp() + leeway && claims.exp > now.timestamp() - leeway)
            .then_some(claims)
    }
}

/// A new opaque refresh token: 32 random bytes, base64url.
pub fn new_refresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What the database keeps of a refresh token.
pub fn refresh_token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service() -> TokenService {
        TokenService::new(&Secret::new(b"0123456789abcdef0123456789abcdef".to_vec())).unwrap()
    }

    #[test]
    fn issued_tokens_verify_until_they_expire() {
        let now = Utc::now();
        let token = service().issue("u1", "admin", "o1", 0, now).unwrap();
        let claims = service().verify(&token, now).unwrap();
        assert_eq!(
            (
                claims.sub.as_str(),
                claims.role.as_str(),
                claims.org.as_str()
            ),
            ("u1", "admin", "o1")
        );
        assert_eq!(claims.epoch, 0);
        let later = now + chrono::Duration::seconds(ACCESS_TOKEN_SECONDS + 60);
        assert!(service().verify(&token, later).is_none());
    }

    #[test]
    fn other_secrets_and_tampering_are_refused() {
        let now = Utc::now();
        let token = service().issue("u1", "admin", "o1", 0, now).unwrap();
        let other =
            TokenService::new(&Secret::new(b"another secret of thirty-two byt".to_vec())).unwrap();
        assert!(other.verify(&token, now).is_none());
        let mut tampered = token.clone();
        tampered.push('x');
        assert!(service().verify(&tampered, now).is_none());
    }

    #[test]
    fn refresh_tokens_are_random_and_hashed() {
        let (a, b) = (new_refresh_token(), new_refresh_token());
        assert_ne!(a, b);
        assert_eq!(refresh_token_hash(&a).len(), 64);
        assert_ne!(refresh_token_hash(&a), a);
    }
}

//! Capability tokens: HMAC-SHA256-signed claims that let one agent act on one attempt of one task
//! until a deadline. The key is random per manager start, so tokens never outlive the manager that
//! issued them (tasks that were running are handled by the restart policy instead).
//! Hand-written on `hmac` rather than a JWT crate: the format is internal, tiny and fixed, and a JWT
//! library would bring algorithm negotiation we must not allow.
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::error::{Error, Result};

type HmacSha256 = Hmac<Sha256>;

/// What a capability token allows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The task.
    #[serde(rename = "t")]
    pub task_id: String,
    /// The agent.
    #[serde(rename = "a")]
    pub agent_id: String,
    /// The attempt number.
    #[serde(rename = "n")]
    pub attempt: u32,
    /// Expiry, µs since the epoch.
    #[serde(rename = "e")]
    pub expires_us: i64,
}

/// Signs and checks tokens with one secret key.
pub struct TokenKey {
    key: [u8; 32],
}

impl TokenKey {
    /// A fresh random key.
    pub fn random() -> Result<TokenKey> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key)
            .map_err(|e| Error::io("reading random bytes", std::io::Error::other(e.to_string())))?;
        Ok(TokenKey { key })
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC takes keys of any length; 32 bytes cannot fail.
        HmacSha256::new_from_slice(&self.key).expect("HMAC accepts any key length")
    }

    /// `base64url(claims JSON) . base64url(HMAC)`.
    pub fn sign(&self, claims: &Claims) -> String {
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims serialize"));
        let mut mac = self.mac();
        mac.update(body.as_bytes());
        let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{body}.{sig}")
    }

    /// Checks the signature and expiry and returns the claims.
    pub fn verify(&self, token: &str, now_us: i64) -> Result<Claims> {
        if token.is_empty() {
            return Err(Error::Unauthenticated(
                "missing capability token: every call about a task must carry the token from its StartTask".into(),
            ));
        }
        let forged = || {
            Error::Unauthenticated("capability token is malformed or its signature is wrong".into())
        };
        let (body, sig) = token.split_once('.').ok_or_else(forged)?;
        let sig = URL_SAFE_NO_PAD.decode(sig).map_err(|_| forged())?;
        let mut mac = self.mac();
        mac.update(body.as_bytes());
        mac.verify_slice(&sig).map_err(|_| forged())?;
        let claims: Claims = URL_SAFE_NO_PAD
            .decode(body)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(forged)?;
        if claims.expires_us <= now_us {
            return Err(Error::Unauthenticated(format!(
                "capability token for task {} expired",
                claims.task_id
            )));
        }
        Ok(claims)
    }
}

/// A random opaque secret (hex), for session tokens and the TCP bearer token.
pub fn random_secret() -> Result<String> {
    let mut b = [0u8; 24];
    getrandom::fill(&mut b)
        .map_err(|e| Error::io("reading random bytes", std::io::Error::other(e.to_string())))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Claims {
        Claims {
            task_id: "t1".into(),
            agent_id: "echo".into(),
            attempt: 1,
            expires_us: 1_000,
        }
    }

    #[test]
    fn a_signed_token_verifies_to_its_claims() {
        let k = TokenKey::random().unwrap();
        assert_eq!(k.verify(&k.sign(&claims()), 999).unwrap(), claims());
    }

    #[test]
    fn an_expired_token_is_refused() {
        let k = TokenKey::random().unwrap();
        let err = k.verify(&k.sign(&claims()), 1_000).unwrap_err().to_string();
        assert_eq!(err, "capability token for task t1 expired");
    }

    #[test]
    fn a_token_from_another_key_or_edited_is_refused() {
        let k = TokenKey::random().unwrap();
        let other = TokenKey::random().unwrap();
        assert!(k.verify(&other.sign(&claims()), 0).is_err());
        let mut c = claims();
        c.task_id = "t2".into();
        let forged_body = k.sign(&c).split_once('.').unwrap().0.to_string();
        let real_sig = k.sign(&claims()).split_once('.').unwrap().1.to_string();
        let err = k
            .verify(&format!("{forged_body}.{real_sig}"), 0)
            .unwrap_err();
        assert!(err.to_string().contains("signature is wrong"), "{err}");
        assert!(k
            .verify("", 0)
            .unwrap_err()
            .to_string()
            .starts_with("missing capability token"));
        assert!(k.verify("garbage", 0).is_err());
    }
}

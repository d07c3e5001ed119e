//! Encryption at rest of the organisations' WinLeadPlus tokens: AES-256-GCM under
//! `TOKEN_ENCRYPTION_KEY`, a fresh random nonce per token, stored as `nonce ‖ ciphertext`.

use aes_gcm::aead::{Aead, Generate, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};

use crate::config::EncryptionKey;

const NONCE_LEN: usize = 12;

/// Why a token could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// No key is configured: tokens can be neither stored nor read.
    #[error("TOKEN_ENCRYPTION_KEY is not set: API tokens cannot be stored or read")]
    NoKey,
    /// The stored value is not ours or the key changed.
    #[error("the stored token cannot be decrypted (was TOKEN_ENCRYPTION_KEY changed?)")]
    Corrupt,
}

/// Seals and opens tokens (cheap to clone).
#[derive(Clone)]
pub struct TokenCipher {
    cipher: Option<Aes256Gcm>,
}

impl TokenCipher {
    /// A cipher under `key`, or one that refuses everything without a key.
    pub fn new(key: Option<&EncryptionKey>) -> Self {
        Self {
            cipher: key.and_then(|k| Aes256Gcm::new_from_slice(&k.0).ok()),
        }
    }

    /// Whether tokens can be stored.
    pub fn has_key(&self) -> bool {
        self.cipher.is_some()
    }

    /// `nonce ‖ ciphertext` of a token.
    pub fn seal(&self, token: &str) -> Result<Vec<u8>, CryptoError> {
        let cipher = self.cipher.as_ref().ok_or(CryptoError::NoKey)?;
        let nonce = Nonce::generate();
        let sealed = cipher
            .encrypt(&nonce, token.as_bytes())
            .map_err(|_| CryptoError::Corrupt)?;
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(nonce.as_slice());
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// The token of a sealed value.
    pub fn open(&self, sealed: &[u8]) -> Result<String, CryptoError> {
        let cipher = self.cipher.as_ref().ok_or(CryptoError::NoKey)?;
        if sealed.len() <= NONCE_LEN {
            return Err(CryptoError::Corrupt);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_from(nonce).map_err(|_| CryptoError::Corrupt)?;
        let plain = cipher
            .decrypt(&nonce, ciphertext)
            .map_err(|_| CryptoError::Corrupt)?;
        String::from_utf8(plain).map_err(|_| CryptoError::Corrupt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_token_opens_under_the_same_key_only() {
        let a = TokenCipher::new(Some(&EncryptionKey([7; 32])));
        let b = TokenCipher::new(Some(&EncryptionKey([8; 32])));
        let sealed = a.seal("s3cret-token").unwrap();
        assert!(!sealed.windows(6).any(|w| w == b"s3cret"));
        assert_eq!(a.open(&sealed).unwrap(), "s3cret-token");
        assert!(matches!(b.open(&sealed), Err(CryptoError::Corrupt)));
        assert_ne!(
            a.seal("s3cret-token").unwrap(),
            sealed,
            "a fresh nonce each time"
        );
    }

    #[test]
    fn without_a_key_nothing_is_sealed() {
        let none = TokenCipher::new(None);
        assert!(matches!(none.seal("t"), Err(CryptoError::NoKey)));
        assert!(!none.has_key());
    }
}

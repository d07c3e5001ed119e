//! Encryption at rest of the organisations' WinLeadPlus tokens (ARCHITECTURE.md, "Outbound
//! tokens"): AES-256-GCM under the first key of `TOKEN_ENCRYPTION_KEYS`, a fresh random
//! nonce per token, bound by the associated data to its organisation and to the origin
//! (scheme, host, port) of the endpoint it was saved for. A token copied into another
//! organisation's row, or read for another origin, does not open.
//!
//! A sealed token is `MAGIC ‖ version ‖ kid length ‖ kid ‖ nonce ‖ ciphertext`; the header
//! (everything before the ciphertext) is part of the associated data too, so it cannot be
//! edited either. Tokens sealed before this format (`nonce ‖ ciphertext`, no associated data)
//! are never opened at run time: `cargo xtask rotate-tokens` converts them ([`TokenCipher::reseal`]).

use std::collections::BTreeMap;

use aes_gcm::aead::{Aead, Generate, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use uuid::Uuid;

use crate::domain::Endpoint;
use crate::keys::{MAX_KID_LEN, NamedKey, is_kid_byte};

/// First bytes of every sealed token of this format.
const MAGIC: &[u8] = b"WLT";
/// The format's version.
const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
/// Prefix of the associated data, so it means nothing to any other use of the same key.
const AAD_DOMAIN: &[u8] = b"winleadplus-token\0";

/// Why a token could not be sealed or opened. No message carries a token or a key.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// No key is configured: tokens can be neither stored nor read.
    #[error(
        "TOKEN_ENCRYPTION_KEYS is not set: API tokens cannot be stored or read (ask the operator)"
    )]
    NoKey,
    /// The token names a key id the service does not have.
    #[error(
        "the stored API token was sealed with key {kid:?}, which is not among TOKEN_ENCRYPTION_KEYS (ask the operator)"
    )]
    UnknownKey {
        /// The id in the token's header.
        kid: String,
    },
    /// The token does not open for this organisation and origin: it was copied from another
    /// row, the endpoint moved, or the key behind its id changed.
    #[error(
        "the stored API token does not open for organisation {organisation_id} and origin {origin}: it was saved for another organisation or origin, or under another key; save the api_token again"
    )]
    Mismatch {
        /// The organisation it was opened for.
        organisation_id: Uuid,
        /// The origin it was opened for.
        origin: String,
    },
    /// A token of the format before tokens were bound to their organisation and origin.
    #[error(
        "the stored API token is in the old format (not bound to its organisation and origin): the operator must run `cargo xtask rotate-tokens`"
    )]
    Legacy,
    /// Sealing failed (a message too long for AES-GCM).
    #[error("the API token cannot be sealed")]
    Seal,
}

/// What a token is bound to: its organisation and the origin of its config's endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenBinding {
    organisation_id: Uuid,
    origin: String,
}

impl TokenBinding {
    /// The binding of a token saved for `organisation_id` with `endpoint`.
    pub fn new(organisation_id: Uuid, endpoint: &Endpoint) -> Self {
        Self {
            organisation_id,
            origin: endpoint.url().origin().ascii_serialization(),
        }
    }

    /// The origin, as `scheme://host[:port]`.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The associated data of a token with this header.
    fn aad(&self, header: &[u8]) -> Vec<u8> {
        let mut aad = Vec::with_capacity(AAD_DOMAIN.len() + header.len() + 16 + self.origin.len());
        aad.extend_from_slice(AAD_DOMAIN);
        aad.extend_from_slice(header);
        aad.extend_from_slice(self.organisation_id.as_bytes());
        aad.extend_from_slice(self.origin.as_bytes());
        aad
    }

    fn mismatch(&self) -> CryptoError {
        CryptoError::Mismatch {
            organisation_id: self.organisation_id,
            origin: self.origin.clone(),
        }
    }
}

/// The key id a sealed token names; `None` for the old format (or anything else).
pub fn kid_of(sealed: &[u8]) -> Option<&str> {
    Header::parse(sealed).map(|h| h.kid)
}

/// How many stored tokens name each key id (`None`: the old format).
pub fn census<'a>(sealed: impl IntoIterator<Item = &'a [u8]>) -> BTreeMap<Option<String>, usize> {
    let mut counts = BTreeMap::new();
    for s in sealed {
        *counts.entry(kid_of(s).map(str::to_owned)).or_insert(0) += 1;
    }
    counts
}

/// What [`TokenCipher::reseal`] made of a token.
#[derive(Debug)]
pub enum Resealed {
    /// Already sealed with the first key and bound as it should be: left alone.
    Current,
    /// Opened (under an older key, or from the old format) and sealed again with the first
    /// key and the binding.
    New(Vec<u8>),
}

/// Seals and opens tokens (cheap to clone).
#[derive(Clone)]
pub struct TokenCipher {
    /// The keys, the sealing one first.
    keys: Vec<(String, Aes256Gcm)>,
}

impl TokenCipher {
    /// A cipher under `keys` (the first seals), or one that refuses everything without keys.
    pub fn new(keys: &[NamedKey]) -> Self {
        Self {
            keys: keys
                .iter()
                .map(|k| (k.kid.clone(), Aes256Gcm::new(&k.key.0.into())))
                .collect(),
        }
    }

    /// Whether tokens can be stored.
    pub fn has_key(&self) -> bool {
        !self.keys.is_empty()
    }

    /// Whether a key of this id is configured.
    pub fn knows(&self, kid: &str) -> bool {
        self.keys.iter().any(|(k, _)| k == kid)
    }

    /// A token sealed with the first key and bound to `binding`.
    pub fn seal(&self, token: &str, binding: &TokenBinding) -> Result<Vec<u8>, CryptoError> {
        let (kid, cipher) = self.keys.first().ok_or(CryptoError::NoKey)?;
        let nonce = Nonce::generate();
        let mut out =
            Vec::with_capacity(MAGIC.len() + 2 + kid.len() + NONCE_LEN + token.len() + 16);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        // Key ids are at most MAX_KID_LEN bytes (checked when the keys are read).
        out.push(u8::try_from(kid.len()).map_err(|_| CryptoError::Seal)?);
        out.extend_from_slice(kid.as_bytes());
        out.extend_from_slice(nonce.as_slice());
        let aad = binding.aad(&out);
        let sealed = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: token.as_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| CryptoError::Seal)?;
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// The token of a sealed value, if it was sealed for `binding`. A token in the old
    /// format is refused ([`CryptoError::Legacy`]): opening it without associated data would
    /// let a token copied from another organisation's row be sent.
    pub fn open(&self, sealed: &[u8], binding: &TokenBinding) -> Result<String, CryptoError> {
        if !self.has_key() {
            return Err(CryptoError::NoKey);
        }
        let header = Header::parse(sealed).ok_or(CryptoError::Legacy)?;
        let cipher = self
            .key(header.kid)
            .ok_or_else(|| CryptoError::UnknownKey {
                kid: header.kid.to_owned(),
            })?;
        let nonce = Nonce::try_from(header.nonce).map_err(|_| binding.mismatch())?;
        let plain = cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: header.ciphertext,
                    aad: &binding.aad(header.bytes),
                },
            )
            .map_err(|_| binding.mismatch())?;
        String::from_utf8(plain).map_err(|_| binding.mismatch())
    }

    /// For `cargo xtask rotate-tokens`: a token sealed again with the first key and
    /// `binding`, opened either as a bound token (under any configured key) or, failing that,
    /// as a token of the old format (each key in turn, without associated data).
    pub fn reseal(&self, sealed: &[u8], binding: &TokenBinding) -> Result<Resealed, CryptoError> {
        let first = self.keys.first().map(|(kid, _)| kid.as_str());
        match self.open(sealed, binding) {
            Ok(_) if kid_of(sealed) == first => Ok(Resealed::Current),
            Ok(token) => self.seal(&token, binding).map(Resealed::New),
            // A header can only be mistaken for the start of an old token by chance (one in
            // 2^24), but then the old format is the right reading.
            Err(e) => match self.open_legacy(sealed) {
                Some(token) => self.seal(&token, binding).map(Resealed::New),
                None => Err(e),
            },
        }
    }

    /// A token of the old format, `nonce ‖ ciphertext` without associated data.
    fn open_legacy(&self, sealed: &[u8]) -> Option<String> {
        if sealed.len() <= NONCE_LEN {
            return None;
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_from(nonce).ok()?;
        self.keys.iter().find_map(|(_, cipher)| {
            let plain = cipher.decrypt(&nonce, ciphertext).ok()?;
            String::from_utf8(plain).ok()
        })
    }

    fn key(&self, kid: &str) -> Option<&Aes256Gcm> {
        self.keys.iter().find(|(k, _)| k == kid).map(|(_, c)| c)
    }
}

/// The parts of a sealed token of the current format.
struct Header<'a> {
    /// Everything before the ciphertext (part of the associated data).
    bytes: &'a [u8],
    kid: &'a str,
    nonce: &'a [u8],
    ciphertext: &'a [u8],
}

impl<'a> Header<'a> {
    fn parse(sealed: &'a [u8]) -> Option<Self> {
        let rest = sealed.strip_prefix(MAGIC)?;
        let (&version, rest) = rest.split_first()?;
        let (&kid_len, rest) = rest.split_first()?;
        let kid_len = usize::from(kid_len);
        if version != VERSION || kid_len == 0 || kid_len > MAX_KID_LEN {
            return None;
        }
        let (kid, rest) = rest.split_at_checked(kid_len)?;
        if !kid.iter().copied().all(is_kid_byte) {
            return None;
        }
        let kid = std::str::from_utf8(kid).ok()?;
        let (nonce, ciphertext) = rest.split_at_checked(NONCE_LEN)?;
        if ciphertext.is_empty() {
            return None;
        }
        let header_len = sealed.len() - ciphertext.len();
        Some(Self {
            bytes: sealed.get(..header_len)?,
            kid,
            nonce,
            ciphertext,
        })
    }
}

/// A token sealed the way this module did before tokens were bound (`nonce ‖ ciphertext`,
/// no associated data): for tests of the conversion by `cargo xtask rotate-tokens`.
pub fn seal_legacy(key: &NamedKey, token: &str) -> Result<Vec<u8>, CryptoError> {
    let cipher = Aes256Gcm::new(&key.key.0.into());
    let nonce = Nonce::generate();
    let sealed = cipher
        .encrypt(&nonce, token.as_bytes())
        .map_err(|_| CryptoError::Seal)?;
    let mut out = nonce.as_slice().to_vec();
    out.extend_from_slice(&sealed);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::EncryptionKey;

    fn key(kid: &str, byte: u8) -> NamedKey {
        NamedKey {
            kid: kid.to_owned(),
            key: EncryptionKey::from_bytes([byte; 32]),
        }
    }

    fn binding(org: u128, url: &str) -> TokenBinding {
        TokenBinding::new(Uuid::from_u128(org), &Endpoint::parse(url).unwrap())
    }

    #[test]
    fn a_sealed_token_opens_under_the_same_key_only() {
        let a = TokenCipher::new(&[key("a", 7)]);
        let b = TokenCipher::new(&[key("a", 8)]);
        let at = binding(1, "https://wlp.example/api/prospects");
        let sealed = a.seal("s3cret-token", &at).unwrap();
        assert!(!sealed.windows(6).any(|w| w == b"s3cret"));
        assert_eq!(a.open(&sealed, &at).unwrap(), "s3cret-token");
        assert!(matches!(
            b.open(&sealed, &at),
            Err(CryptoError::Mismatch { .. })
        ));
        assert_ne!(
            a.seal("s3cret-token", &at).unwrap(),
            sealed,
            "a fresh nonce each time"
        );
    }

    #[test]
    fn a_token_opens_only_for_its_organisation_and_origin() {
        let c = TokenCipher::new(&[key("k1", 7)]);
        let home = binding(1, "https://wlp.example/api/prospects");
        let sealed = c.seal("tok", &home).unwrap();
        // Another path on the same origin: the same binding.
        let same = binding(1, "https://wlp.example/v2/leads");
        assert_eq!(c.open(&sealed, &same).unwrap(), "tok");
        for other in [
            binding(2, "https://wlp.example/api/prospects"),
            binding(1, "https://evil.example/api/prospects"),
            binding(1, "http://wlp.example/api/prospects"),
            binding(1, "https://wlp.example:8443/api/prospects"),
        ] {
            let e = c.open(&sealed, &other).unwrap_err();
            assert!(matches!(e, CryptoError::Mismatch { .. }), "{other:?}");
            let text = e.to_string();
            assert!(
                text.contains(other.origin()) && text.contains("save the api_token again"),
                "{text}"
            );
        }
    }

    #[test]
    fn the_header_cannot_be_edited() {
        let c = TokenCipher::new(&[key("k1", 7), key("k2", 7)]);
        let at = binding(1, "https://wlp.example");
        let mut sealed = c.seal("tok", &at).unwrap();
        assert_eq!(kid_of(&sealed), Some("k1"));
        // Same key bytes under another id: the header is authenticated.
        let at_kid = MAGIC.len() + 2;
        sealed[at_kid..at_kid + 2].copy_from_slice(b"k2");
        assert_eq!(kid_of(&sealed), Some("k2"));
        assert!(matches!(
            c.open(&sealed, &at),
            Err(CryptoError::Mismatch { .. })
        ));
    }

    #[test]
    fn the_first_key_seals_and_every_key_opens() {
        let old = TokenCipher::new(&[key("k1", 1)]);
        let both = TokenCipher::new(&[key("k2", 2), key("k1", 1)]);
        let at = binding(1, "https://wlp.example");
        let by_old = old.seal("tok", &at).unwrap();
        assert_eq!(both.open(&by_old, &at).unwrap(), "tok");
        let by_both = both.seal("tok", &at).unwrap();
        assert_eq!(kid_of(&by_both), Some("k2"));
        let e = old.open(&by_both, &at).unwrap_err();
        assert!(
            matches!(e, CryptoError::UnknownKey { ref kid } if kid == "k2"),
            "{e}"
        );
    }

    #[test]
    fn an_old_format_token_is_refused_at_run_time_and_converted_by_reseal() {
        let k1 = key("k1", 1);
        let c = TokenCipher::new(&[key("k2", 2), k1.clone()]);
        let at = binding(1, "https://wlp.example");
        let legacy = seal_legacy(&k1, "tok").unwrap();
        assert_eq!(kid_of(&legacy), None);
        let e = c.open(&legacy, &at).unwrap_err();
        assert!(e.to_string().contains("cargo xtask rotate-tokens"), "{e}");

        let Resealed::New(converted) = c.reseal(&legacy, &at).unwrap() else {
            panic!("converted")
        };
        assert_eq!(kid_of(&converted), Some("k2"));
        assert_eq!(c.open(&converted, &at).unwrap(), "tok");
        assert!(matches!(c.reseal(&converted, &at), Ok(Resealed::Current)));

        let under_k1 = TokenCipher::new(&[k1]).seal("tok", &at).unwrap();
        let Resealed::New(moved) = c.reseal(&under_k1, &at).unwrap() else {
            panic!("re-sealed")
        };
        assert_eq!(kid_of(&moved), Some("k2"));
        assert!(
            c.reseal(&under_k1, &binding(2, "https://wlp.example"))
                .is_err()
        );
        assert!(c.reseal(b"garbage-garbage-garbage", &at).is_err());
    }

    #[test]
    fn census_counts_tokens_per_key_id() {
        let at = binding(1, "https://wlp.example");
        let k1 = TokenCipher::new(&[key("k1", 1)]).seal("t", &at).unwrap();
        let k2 = TokenCipher::new(&[key("k2", 1)]).seal("t", &at).unwrap();
        let legacy = seal_legacy(&key("x", 1), "t").unwrap();
        let counts = census([&k1[..], &k1[..], &k2[..], &legacy[..]]);
        assert_eq!(counts.get(&Some("k1".to_owned())), Some(&2));
        assert_eq!(counts.get(&Some("k2".to_owned())), Some(&1));
        assert_eq!(counts.get(&None), Some(&1));
    }

    #[test]
    fn without_a_key_nothing_is_sealed_or_opened() {
        let none = TokenCipher::new(&[]);
        let at = binding(1, "https://wlp.example");
        assert!(matches!(none.seal("t", &at), Err(CryptoError::NoKey)));
        assert!(matches!(
            none.open(b"anything", &at),
            Err(CryptoError::NoKey)
        ));
        assert!(!none.has_key());
    }
}

//! The keys that seal the organisations' WinLeadPlus tokens at rest: the settings
//! `TOKEN_ENCRYPTION_KEYS` (`kid:base64[,kid:base64…]`, the first one seals, all of them
//! open) and the older `TOKEN_ENCRYPTION_KEY` (one key, id [`DEFAULT_KID`]), shared by
//! sync-service's `Config` and `cargo xtask rotate-tokens`. A key never prints: not in
//! `Debug`, not in a refusal (clap's own errors quote the value; ours do not).

use base64::Engine;

/// The two settings of the token keys, shared by the service and `cargo xtask rotate-tokens`
/// (so both read the environment the same way).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct KeyArgs {
    /// Keys that seal stored tokens: `kid:base64[,kid:base64…]` (32 bytes each). The first
    /// seals; all of them open (a token names its key's id). Rotate by putting a new key
    /// first, then run `cargo xtask rotate-tokens`.
    #[arg(long, env = "TOKEN_ENCRYPTION_KEYS", hide_env_values = true, value_parser = KEYS_PARSER)]
    pub token_encryption_keys: Option<EncryptionKeys>,

    /// One key (base64 of 32 bytes), the same as `TOKEN_ENCRYPTION_KEYS=default:<key>`.
    #[arg(long, env = "TOKEN_ENCRYPTION_KEY", hide_env_values = true, value_parser = KEY_PARSER)]
    pub token_encryption_key: Option<EncryptionKey>,
}

/// Both key settings are given: which one wins would be a guess.
#[derive(Debug, thiserror::Error)]
#[error(
    "set TOKEN_ENCRYPTION_KEYS or TOKEN_ENCRYPTION_KEY, not both \
     (TOKEN_ENCRYPTION_KEY=<key> is TOKEN_ENCRYPTION_KEYS={DEFAULT_KID}:<key>)"
)]
pub struct BothKeySettings;

/// The key id of `TOKEN_ENCRYPTION_KEY`.
pub const DEFAULT_KID: &str = "default";

/// Longest key id (it is stored in every sealed token's header).
pub const MAX_KID_LEN: usize = 32;

impl KeyArgs {
    /// One key, under [`DEFAULT_KID`] (what `TOKEN_ENCRYPTION_KEY` gives).
    pub fn single(key: EncryptionKey) -> Self {
        Self {
            token_encryption_keys: None,
            token_encryption_key: Some(key),
        }
    }

    /// A key list, the first one sealing.
    pub fn list(keys: Vec<NamedKey>) -> Self {
        Self {
            token_encryption_keys: Some(EncryptionKeys(keys)),
            token_encryption_key: None,
        }
    }

    /// The configured keys, the sealing one first; empty when neither setting is given.
    pub fn keys(&self) -> Result<Vec<NamedKey>, BothKeySettings> {
        match (&self.token_encryption_keys, &self.token_encryption_key) {
            (Some(_), Some(_)) => Err(BothKeySettings),
            (Some(list), None) => Ok(list.0.clone()),
            (None, Some(key)) => Ok(vec![NamedKey {
                kid: DEFAULT_KID.to_owned(),
                key: key.clone(),
            }]),
            (None, None) => Ok(Vec::new()),
        }
    }
}

/// A key and its id (the id prints, the key never does).
#[derive(Clone)]
pub struct NamedKey {
    /// The key's id: 1 to [`MAX_KID_LEN`] of `A-Z a-z 0-9 _ . -`.
    pub kid: String,
    /// The key.
    pub key: EncryptionKey,
}

impl std::fmt::Debug for NamedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NamedKey({}: ***)", self.kid)
    }
}

/// The keys of `TOKEN_ENCRYPTION_KEYS`, in order, ids unique.
#[derive(Debug, Clone)]
pub struct EncryptionKeys(Vec<NamedKey>);

/// A 32-byte AES-256 key (never printed).
#[derive(Clone)]
pub struct EncryptionKey(pub(crate) [u8; 32]);

impl std::fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EncryptionKey(***)")
    }
}

impl EncryptionKey {
    /// A key from raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

/// Parses a secret setting without ever echoing it: clap's own error for a value parser
/// quotes the value, which would put the secret in the start-up log.
#[derive(Clone)]
struct SecretParser<T> {
    /// The setting's variable, named in the refusal.
    var: &'static str,
    /// The value, or why not (a reason that does not quote it).
    parse: fn(&str) -> Result<T, String>,
}

/// `TOKEN_ENCRYPTION_KEY`.
const KEY_PARSER: SecretParser<EncryptionKey> = SecretParser {
    var: "TOKEN_ENCRYPTION_KEY",
    parse: parse_key,
};

/// `TOKEN_ENCRYPTION_KEYS` (key ids may be named, keys never).
const KEYS_PARSER: SecretParser<EncryptionKeys> = SecretParser {
    var: "TOKEN_ENCRYPTION_KEYS",
    parse: parse_keys,
};

impl<T: Clone + Send + Sync + 'static> clap::builder::TypedValueParser for SecretParser<T> {
    type Value = T;

    fn parse_ref(
        &self,
        _cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<T, clap::Error> {
        let reason = match value.to_str() {
            Some(text) => match (self.parse)(text) {
                Ok(parsed) => return Ok(parsed),
                Err(reason) => reason,
            },
            None => "is not valid UTF-8".to_owned(),
        };
        Err(clap::Error::raw(
            clap::error::ErrorKind::ValueValidation,
            format!("invalid {} (value not shown): {reason}\n", self.var),
        ))
    }
}

/// `kid:base64[,kid:base64…]`. A reason names the entry by its position and its id once the
/// id is known to be well formed, never by its key.
fn parse_keys(value: &str) -> Result<EncryptionKeys, String> {
    let mut keys: Vec<NamedKey> = Vec::new();
    for (i, entry) in value.split(',').enumerate() {
        let n = i + 1;
        let Some((kid, key)) = entry.split_once(':') else {
            return Err(format!(
                "entry {n} is not `kid:base64` (e.g. `k2:$(openssl rand -base64 32)`)"
            ));
        };
        let kid = kid.trim();
        if kid.is_empty() {
            return Err(format!("entry {n} has an empty key id"));
        }
        if kid.len() > MAX_KID_LEN || !kid.bytes().all(is_kid_byte) {
            return Err(format!(
                "the key id of entry {n} must be 1 to {MAX_KID_LEN} of A-Z a-z 0-9 _ . -"
            ));
        }
        if keys.iter().any(|k| k.kid == kid) {
            return Err(format!("key id {kid:?} appears twice"));
        }
        let key = parse_key(key).map_err(|reason| format!("key {kid:?}: {reason}"))?;
        keys.push(NamedKey {
            kid: kid.to_owned(),
            key,
        });
    }
    Ok(EncryptionKeys(keys))
}

/// Whether a byte may be part of a key id.
pub fn is_kid_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')
}

fn parse_key(value: &str) -> Result<EncryptionKey, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .map_err(|_| "must be base64 (e.g. `openssl rand -base64 32`)".to_owned())?;
    let key: [u8; 32] = bytes
        .try_into()
        .map_err(|b: Vec<u8>| format!("must decode to 32 bytes, got {}", b.len()))?;
    Ok(EncryptionKey(key))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        keys: KeyArgs,
    }

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        let mut all = vec!["keys"];
        all.extend_from_slice(args);
        Cli::try_parse_from(all)
    }

    /// A valid key (32 bytes) and a 31-byte one, as base64.
    const K32: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    const K31: &str = "ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgg==";

    #[test]
    fn a_key_list_reads_in_order_the_first_sealing() {
        let c = parse(&["--token-encryption-keys", &format!("k2:{K32}, k1:{K32}")]).unwrap();
        let kids: Vec<String> = c.keys.keys().unwrap().into_iter().map(|k| k.kid).collect();
        assert_eq!(kids, ["k2", "k1"]);
        let c = parse(&["--token-encryption-key", K32]).unwrap();
        let kids: Vec<String> = c.keys.keys().unwrap().into_iter().map(|k| k.kid).collect();
        assert_eq!(kids, [DEFAULT_KID]);
    }

    #[test]
    fn a_bad_key_list_is_refused_without_being_echoed() {
        let bad_b64 = "not*base64*ZGVm";
        for (value, reason) in [
            (format!("k1:{bad_b64}"), "base64"),
            (format!("k1:{K31}"), "32 bytes"),
            (format!("k1:{K32},k1:{K31}"), "twice"),
            (format!(":{K31}"), "empty key id"),
            (format!("k 1:{K31}"), "A-Z a-z 0-9"),
            (format!("{}:{K31}", "k".repeat(33)), "1 to 32"),
            (K31.to_owned(), "kid:base64"),
        ] {
            let e = parse(&["--token-encryption-keys", &value])
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("TOKEN_ENCRYPTION_KEYS") && e.contains(reason),
                "{value}: {e}"
            );
            for secret in ["ZGVm", "AAAA", "not*base64"] {
                assert!(!e.contains(secret), "{value}: {e}");
            }
        }
    }

    #[test]
    fn both_key_settings_are_refused_in_one_line() {
        let c = parse(&[
            "--token-encryption-keys",
            &format!("k1:{K32}"),
            "--token-encryption-key",
            K32,
        ])
        .unwrap();
        let e = c.keys.keys().unwrap_err().to_string();
        assert!(
            e.contains("TOKEN_ENCRYPTION_KEYS or TOKEN_ENCRYPTION_KEY, not both"),
            "{e}"
        );
        assert!(!e.contains("AAAA") && !e.contains('\n'), "{e}");
    }

    #[test]
    fn keys_never_print() {
        let c = parse(&["--token-encryption-keys", &format!("k1:{K32}")]).unwrap();
        let printed = format!("{c:?}");
        assert!(
            printed.contains("k1") && !printed.contains("AAAA"),
            "{printed}"
        );
    }
}

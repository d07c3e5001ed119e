//! Re-sealing every stored WinLeadPlus token under the first key of `TOKEN_ENCRYPTION_KEYS`
//! (what `cargo xtask rotate-tokens` runs): tokens sealed with an older key, and tokens of
//! the format before they were bound to their organisation and origin, are opened and sealed
//! again for their own row's organisation and stored endpoint. Each row is replaced only if
//! it still holds what was read, so a concurrent SaveConfig is never overwritten.

use uuid::Uuid;

use crate::crypto::{CryptoError, Resealed, TokenBinding, TokenCipher};
use crate::db::DbError;
use crate::db::configs::ConfigStore;
use crate::domain::Endpoint;

/// What a rotation did, row by row. Never holds a token.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// Sealed again under the first key (older key, or old format).
    pub resealed: usize,
    /// Already under the first key and bound: left alone.
    pub current: usize,
    /// Changed by a save between the read and the write: left as the save made it.
    pub changed_meanwhile: usize,
    /// Could not be opened by any configured key: each organisation and why.
    pub failed: Vec<(Uuid, String)>,
}

/// Re-seals every stored token with `cipher`'s first key.
#[tracing::instrument(skip_all)]
pub async fn rotate_tokens(
    configs: &ConfigStore,
    cipher: &TokenCipher,
) -> Result<Rotation, DbError> {
    let mut rotation = Rotation::default();
    for row in configs.sealed_tokens().await? {
        let resealed = Endpoint::parse(&row.api_endpoint)
            .map_err(|e| format!("its endpoint cannot be read: {e}"))
            .and_then(|endpoint| {
                let binding = TokenBinding::new(row.organisation_id, &endpoint);
                cipher.reseal(&row.sealed, &binding).map_err(|e| match e {
                    CryptoError::Legacy => "old format, and no configured key opens it".to_owned(),
                    other => other.to_string(),
                })
            });
        match resealed {
            Ok(Resealed::Current) => rotation.current += 1,
            Ok(Resealed::New(sealed)) => {
                if configs.replace_token(&row, &sealed).await? {
                    rotation.resealed += 1;
                } else {
                    rotation.changed_meanwhile += 1;
                }
            }
            Err(reason) => rotation.failed.push((row.organisation_id, reason)),
        }
    }
    Ok(rotation)
}

//! `cargo xtask rotate-tokens`: re-seals every stored WinLeadPlus token under the first key
//! of `TOKEN_ENCRYPTION_KEYS` and converts tokens of the old format (before they were bound
//! to their organisation and origin). The keys and the database are read from the same
//! settings as sync-service's (`TOKEN_ENCRYPTION_KEYS` or `TOKEN_ENCRYPTION_KEY`,
//! `COMMERCIAL_DATABASE_URL`); the work is sync-service's `rotate::rotate_tokens`.

#![allow(clippy::print_stdout, reason = "a command-line task reports on stdout")]

use anyhow::Context;
use crm_db::Database;
use sync_service::crypto::TokenCipher;
use sync_service::db::configs::ConfigStore;
use sync_service::keys::KeyArgs;

/// The keys, as sync-service reads them.
#[derive(Debug, clap::Args)]
pub(crate) struct RotateArgs {
    #[command(flatten)]
    keys: KeyArgs,
}

pub(crate) async fn run(args: RotateArgs) -> anyhow::Result<()> {
    let keys = args.keys.keys()?;
    let Some(first) = keys.first() else {
        anyhow::bail!(
            "TOKEN_ENCRYPTION_KEYS is not set: give the new key first and the old ones after \
             (kid:base64,kid:base64)"
        );
    };
    let pool = sync_service::db::pool(
        &crate::database_url(Database::Commercial),
        2,
        std::sync::Arc::new(|| {}),
    )?;
    let rotation =
        sync_service::rotate::rotate_tokens(&ConfigStore::new(pool), &TokenCipher::new(&keys))
            .await
            .context("cannot re-seal the stored tokens")?;
    println!(
        "under key {:?}: {} re-sealed, {} already current, {} changed meanwhile (left as saved), {} failed",
        first.kid,
        rotation.resealed,
        rotation.current,
        rotation.changed_meanwhile,
        rotation.failed.len()
    );
    for (organisation_id, reason) in &rotation.failed {
        println!("  failed: organisation {organisation_id}: {reason}");
    }
    if !rotation.failed.is_empty() {
        anyhow::bail!(
            "{} tokens could not be re-sealed: add the key they were sealed with, or have those organisations save their api_token again",
            rotation.failed.len()
        );
    }
    Ok(())
}

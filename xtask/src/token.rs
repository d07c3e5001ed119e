//! `cargo xtask token`: an HS256 access token the services accept, for local calls with
//! grpcurl or a hand-written client. It signs with the same secret as the services
//! (`AUTH_JWT_SECRET`) and names the organisations the caller may see.

use std::time::Duration;

use anyhow::Context;
use uuid::Uuid;

/// What to put in the token.
#[derive(Debug, clap::Args)]
pub(crate) struct TokenArgs {
    /// The services' HS256 secret.
    #[arg(long, env = "AUTH_JWT_SECRET", hide_env_values = true)]
    secret: String,
    /// An organisation the caller may see (repeat for several).
    #[arg(long = "org", required = true)]
    organisations: Vec<Uuid>,
    /// The caller's id (`sub`).
    #[arg(long, default_value = "xtask")]
    subject: String,
    /// Minutes until the token expires.
    #[arg(long, default_value_t = 60)]
    minutes: u64,
}

/// Prints the token on stdout, alone on its line (so `$(cargo xtask token …)` works).
pub(crate) fn run(args: &TokenArgs) -> anyhow::Result<()> {
    let token = service_kit::auth::mint::hs256_token(
        &args.secret,
        &args.subject,
        &args.organisations,
        Duration::from_secs(args.minutes.saturating_mul(60)),
    )
    .context("cannot mint the token")?;
    #[allow(clippy::print_stdout, reason = "the token is this command's output")]
    {
        println!("{token}");
    }
    Ok(())
}

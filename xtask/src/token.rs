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
    /// How long the token is valid: a number with `s`, `m`, `h` or `d` (`90m`, `1h`).
    #[arg(long, default_value = "1h", value_parser = parse_ttl)]
    ttl: Duration,
}

/// `90s`, `30m`, `1h`, `7d`.
fn parse_ttl(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.len().saturating_sub(1);
    let (number, unit) = (
        text.get(..split).unwrap_or(""),
        text.get(split..).unwrap_or(""),
    );
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "{text:?}: give a number and a unit, s, m, h or d (e.g. 1h)"
            ));
        }
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?}: give a number and a unit, s, m, h or d (e.g. 1h)"))?;
    match n.checked_mul(seconds) {
        Some(secs) if secs > 0 => Ok(Duration::from_secs(secs)),
        _ => Err(format!("{text:?}: the token must live at least a second")),
    }
}

/// Prints the token on stdout, alone on its line (so `$(cargo xtask token …)` works).
pub(crate) fn run(args: &TokenArgs) -> anyhow::Result<()> {
    let token = service_kit::auth::mint::hs256_token(
        &args.secret,
        &args.subject,
        &args.organisations,
        args.ttl,
    )
    .context("cannot mint the token")?;
    #[allow(clippy::print_stdout, reason = "the token is this command's output")]
    {
        println!("{token}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_read_as_a_number_and_a_unit() {
        assert_eq!(parse_ttl("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_ttl("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_ttl("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_ttl("7d"), Ok(Duration::from_secs(604_800)));
        for bad in ["", "h", "1", "1w", "-1h", "0m", "1.5h"] {
            assert!(parse_ttl(bad).is_err(), "{bad}");
        }
    }
}

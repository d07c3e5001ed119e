//! Command line of the `winleadplus-sim` binary: every setting a `--flag` and an environment
//! variable (ARCHITECTURE.md, "Runtime contract": `SIM_ADDR`, default `127.0.0.1:8090`).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
pub use service_kit::telemetry::LogFormat;

use crate::generate::DEFAULT_SEED;
use crate::sim::{AdminAccess, DEFAULT_TOKEN, SimConfig, SimData};

/// winleadplus-sim: a fake WinLeadPlus API (`GET /api/prospects`) with an admin API under
/// `/admin` (data, faults, shape, token, statistics).
#[derive(Debug, Clone, Parser)]
#[command(name = "winleadplus-sim", version, about)]
pub struct Config {
    /// Listen address.
    #[arg(long, env = "SIM_ADDR", default_value = "127.0.0.1:8090")]
    pub addr: SocketAddr,

    /// Bearer token `/api/prospects` expects.
    #[arg(long, env = "SIM_TOKEN", default_value = DEFAULT_TOKEN, hide_env_values = true)]
    pub token: String,

    /// JSON file of prospects to serve (an array, or an object with a `data` array).
    #[arg(long, env = "SIM_DATA", conflicts_with = "generate")]
    pub data: Option<PathBuf>,

    /// Serve this many generated prospects (ids from 100000 up).
    #[arg(long, env = "SIM_GENERATE")]
    pub generate: Option<usize>,

    /// Seed of the generated prospects.
    #[arg(long, env = "SIM_SEED", default_value_t = DEFAULT_SEED)]
    pub seed: u64,

    /// Let the admin API answer peers that are not on the loopback interface (in a container).
    #[arg(long, env = "SIM_ADMIN_ANYWHERE", default_value_t = false)]
    pub admin_anywhere: bool,

    /// Log format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Auto)]
    pub log_format: LogFormat,
}

impl Config {
    /// The library configuration this command line stands for.
    pub fn sim_config(&self) -> SimConfig {
        let data = match (&self.data, self.generate) {
            (Some(path), _) => SimData::File(path.clone()),
            (None, Some(count)) => SimData::Generate {
                count,
                seed: self.seed,
            },
            (None, None) => SimData::Empty,
        };
        SimConfig {
            addr: self.addr,
            token: self.token.clone(),
            data,
        }
    }

    /// Who may use the admin API.
    pub fn admin_access(&self) -> AdminAccess {
        if self.admin_anywhere {
            AdminAccess::Anywhere
        } else {
            AdminAccess::LoopbackOnly
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_runtime_contract() {
        let config = Config::try_parse_from(["winleadplus-sim"]).unwrap();
        assert_eq!(config.addr.to_string(), "127.0.0.1:8090");
        assert_eq!(config.token, "sim-token");
        assert_eq!(config.seed, 42);
        assert!(matches!(config.sim_config().data, SimData::Empty));
        assert_eq!(config.admin_access(), AdminAccess::LoopbackOnly);
    }

    #[test]
    fn generate_and_data_exclude_each_other() {
        let config =
            Config::try_parse_from(["winleadplus-sim", "--generate", "10", "--seed", "7"]).unwrap();
        assert!(matches!(
            config.sim_config().data,
            SimData::Generate { count: 10, seed: 7 }
        ));
        assert!(
            Config::try_parse_from(["winleadplus-sim", "--generate", "10", "--data", "x.json"])
                .is_err()
        );
    }
}

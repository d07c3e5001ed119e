//! Where the files are, and the deployment files loaded and parsed for one test.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use crate::compose::Compose;
use crate::dockerfile::{self, Stage};
use crate::dotenv::{self, EnvFile};

/// The repository root (the workspace of this crate).
pub(crate) fn root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize()
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
}

/// A file of the repository, by its path from the root.
pub(crate) fn read(relative: &str) -> String {
    fs::read_to_string(root().join(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// The deployment files, parsed.
pub(crate) struct Deploy {
    /// `deploy/.env.example`.
    pub(crate) env: EnvFile,
    /// Its text.
    pub(crate) env_text: String,
    /// `deploy/docker-compose.yml`, substituted with `env`.
    pub(crate) compose: Compose,
    /// Every `${NAME}` the compose file refers to.
    pub(crate) referenced: BTreeSet<String>,
    /// `deploy/Dockerfile`.
    pub(crate) stages: Vec<Stage>,
    /// `deploy/README.md`.
    pub(crate) readme: String,
}

/// Loads and parses the deployment files.
pub(crate) fn deploy() -> Deploy {
    let env_text = read("deploy/.env.example");
    let env = dotenv::parse(&env_text).unwrap_or_else(|e| panic!("deploy/.env.example: {e}"));
    let (compose, referenced) = Compose::parse(&read("deploy/docker-compose.yml"), &env.vars);
    Deploy {
        env,
        env_text,
        compose,
        referenced,
        stages: dockerfile::parse(&read("deploy/Dockerfile")),
        readme: read("deploy/README.md"),
    }
}

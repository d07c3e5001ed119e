//! The three service binaries. `CARGO_BIN_EXE_*` exists only for a package's own binaries,
//! so the harness builds them itself: `cargo build --locked -p client-core -p sync-service
//! -p winleadplus-sim --bins`, into the target directory and with the profile of the running
//! executable (a test binary in `target/debug/deps` uses `target/debug`), once per process.
//! Cargo finds them up to date when `cargo test --workspace` has just built them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use anyhow::{Context, bail};

/// The binaries the harness runs.
pub const SERVICES: [&str; 3] = ["client-core", "sync-service", "winleadplus-sim"];

/// A cargo profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Profile {
    /// `dev`, in `target/debug`.
    Debug,
    /// `release`, in `target/release`.
    Release,
    /// Another profile, in `target/<name>`.
    Named(String),
}

impl Profile {
    /// The profile whose output directory is named `dir`.
    pub fn from_dir_name(dir: &str) -> Self {
        match dir {
            "debug" => Profile::Debug,
            "release" => Profile::Release,
            other => Profile::Named(other.to_owned()),
        }
    }

    /// Its directory under the target directory.
    pub fn dir_name(&self) -> &str {
        match self {
            Profile::Debug => "debug",
            Profile::Release => "release",
            Profile::Named(name) => name,
        }
    }

    fn cargo_args(&self) -> Vec<String> {
        match self {
            Profile::Debug => Vec::new(),
            Profile::Release => vec!["--release".to_owned()],
            Profile::Named(name) => vec!["--profile".to_owned(), name.clone()],
        }
    }
}

/// Where the built binaries are.
#[derive(Debug, Clone)]
pub struct Binaries {
    dir: PathBuf,
}

impl Binaries {
    /// Builds the service binaries of the workspace at `workspace` into `target_dir` with
    /// `profile`.
    pub fn build(workspace: &Path, target_dir: &Path, profile: &Profile) -> anyhow::Result<Self> {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut command = Command::new(&cargo);
        // A test binary runs with its own package's `CARGO_*` variables (and `OUT_DIR`); build
        // scripts watch some of them (`rerun-if-env-changed`), so they would make this build
        // and the next `cargo test` rebuild each other's dependencies in turn.
        for (name, _) in std::env::vars_os() {
            let text = name.to_string_lossy();
            if (text.starts_with("CARGO_") && text != "CARGO_HOME") || text == "OUT_DIR" {
                command.env_remove(&name);
            }
        }
        command
            .current_dir(workspace)
            .env("CARGO_TARGET_DIR", target_dir)
            .args(["build", "--locked", "--bins"])
            .args(profile.cargo_args());
        for service in SERVICES {
            command.args(["-p", service]);
        }
        let status = command
            .status()
            .with_context(|| format!("cannot run {}", Path::new(&cargo).display()))?;
        if !status.success() {
            bail!("building the service binaries failed ({status})");
        }
        let binaries = Self {
            dir: target_dir.join(profile.dir_name()),
        };
        for service in SERVICES {
            let path = binaries.path(service);
            if !path.is_file() {
                bail!("{} is missing after the build", path.display());
            }
        }
        Ok(binaries)
    }

    /// The binaries of the running executable's target directory and profile, built on the
    /// first call of the process (later calls wait for it and share its result).
    pub fn for_this_executable() -> anyhow::Result<Self> {
        static BUILT: OnceLock<Result<Binaries, String>> = OnceLock::new();
        BUILT
            .get_or_init(|| Self::build_for_this_executable().map_err(|e| format!("{e:#}")))
            .clone()
            .map_err(anyhow::Error::msg)
    }

    /// The binaries already in `dir` (no build).
    pub fn in_dir(dir: PathBuf) -> Self {
        Self { dir }
    }

    /// The path of one of [`SERVICES`].
    pub fn path(&self, service: &str) -> PathBuf {
        self.dir.join(service)
    }

    fn build_for_this_executable() -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("cannot tell the running executable")?;
        let mut profile_dir = exe
            .parent()
            .context("the running executable has no directory")?;
        // Test binaries live in `<target>/<profile>/deps`.
        if profile_dir.file_name().is_some_and(|name| name == "deps") {
            profile_dir = profile_dir
                .parent()
                .context("the deps directory has no parent")?;
        }
        let profile = Profile::from_dir_name(
            &profile_dir
                .file_name()
                .context("no profile directory")?
                .to_string_lossy(),
        );
        let target_dir = profile_dir.parent().context("no target directory")?;
        Self::build(&workspace_root(), target_dir, &profile)
    }
}

/// The workspace's root directory (this crate is `crates/fault-tests`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

//! One service process: started from its binary with an environment of its own (nothing
//! inherited but `PATH`, `HOME` and `RUST_BACKTRACE`), ready once its HTTP readiness URL
//! answers 200, killed with SIGKILL or asked to stop with SIGTERM, restarted with the same
//! environment. stdout and stderr go to one log file, appended across restarts; when a test
//! panics, the end of every log is printed as its process is dropped.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// How a process is started.
#[derive(Debug, Clone)]
pub struct ProcessSpec {
    /// A short name for messages (`sync-service#1`).
    pub name: String,
    /// The binary.
    pub program: PathBuf,
    /// Its whole environment but `PATH`, `HOME` and `RUST_BACKTRACE`.
    pub env: Vec<(String, String)>,
    /// A URL that answers 200 once the process is ready (`/readyz`, the simulator's `/healthz`).
    pub ready_url: String,
    /// Where stdout and stderr go.
    pub log_file: PathBuf,
}

/// A running (or stopped) process of a [`ProcessSpec`]. Dropping it kills it.
pub struct Process {
    spec: ProcessSpec,
    child: Option<Child>,
    /// How many times it was started.
    starts: u32,
    http: reqwest::Client,
}

/// How long a start may take before it counts as failed (a debug build on a busy machine).
const READY_TIMEOUT: Duration = Duration::from_secs(90);

/// Lines of a log printed when a test fails.
const LOG_TAIL_LINES: usize = 150;

impl Process {
    /// Starts the process and waits until it is ready.
    pub async fn start(spec: ProcessSpec) -> anyhow::Result<Self> {
        let mut process = Self {
            spec,
            child: None,
            starts: 0,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .context("cannot build an HTTP client")?,
        };
        process.spawn()?;
        process.wait_ready(READY_TIMEOUT).await?;
        Ok(process)
    }

    /// The process's name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// Its specification (environment included).
    pub fn spec(&self) -> &ProcessSpec {
        &self.spec
    }

    /// How many times it was started.
    pub fn starts(&self) -> u32 {
        self.starts
    }

    /// Starts the process (without waiting for it to be ready).
    pub fn spawn(&mut self) -> anyhow::Result<()> {
        if self.is_running() {
            bail!("{} is already running", self.spec.name);
        }
        self.starts += 1;
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.spec.log_file)
            .with_context(|| format!("cannot open {}", self.spec.log_file.display()))?;
        writeln!(log, "===== {} start #{} =====", self.spec.name, self.starts)?;
        let stderr = log.try_clone()?;
        let mut command = Command::new(&self.spec.program);
        command.env_clear();
        for kept in ["PATH", "HOME", "RUST_BACKTRACE"] {
            if let Some(value) = std::env::var_os(kept) {
                command.env(kept, value);
            }
        }
        let child = command
            .envs(self.spec.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("cannot start {}", self.spec.program.display()))?;
        self.child = Some(child);
        Ok(())
    }

    /// Waits until the readiness URL answers 200; fails at once when the process exits.
    pub async fn wait_ready(&mut self, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.exit_status()? {
                bail!(
                    "{} exited ({status}) before it was ready; its log ends with:\n{}",
                    self.spec.name,
                    self.log_tail(40)
                );
            }
            if let Ok(response) = self.http.get(&self.spec.ready_url).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "{} not ready after {timeout:?}; its log ends with:\n{}",
                    self.spec.name,
                    self.log_tail(40)
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Whether the readiness URL answers 200 right now.
    pub async fn is_ready(&self) -> bool {
        match self.http.get(&self.spec.ready_url).send().await {
            Ok(response) => response.status().is_success(),
            Err(_) => false,
        }
    }

    /// `kill -9`: SIGKILL, then reaps it. Nothing when it is not running.
    pub fn kill(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            if child.try_wait()?.is_none() {
                child
                    .kill()
                    .with_context(|| format!("cannot kill {}", self.spec.name))?;
            }
            child.wait()?;
        }
        Ok(())
    }

    /// Sends SIGTERM (a graceful stop); [`Process::wait_exit`] tells how it ended.
    pub fn terminate(&self) -> anyhow::Result<()> {
        let Some(child) = &self.child else {
            bail!("{} is not running", self.spec.name);
        };
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .context("cannot run kill")?;
        if !status.success() {
            bail!("kill -TERM {} failed ({status})", child.id());
        }
        Ok(())
    }

    /// Waits up to `timeout` for the process to exit: its status, or `None` if it still runs.
    pub async fn wait_exit(&mut self, timeout: Duration) -> anyhow::Result<Option<ExitStatus>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.exit_status()? {
                self.child = None;
                return Ok(Some(status));
            }
            if Instant::now() > deadline {
                return Ok(None);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGTERM, then waits up to `within` for the exit: its status and how long it took, or an
    /// error when it still runs.
    pub async fn stop(&mut self, within: Duration) -> anyhow::Result<(ExitStatus, Duration)> {
        let asked = Instant::now();
        self.terminate()?;
        match self.wait_exit(within).await? {
            Some(status) => Ok((status, asked.elapsed())),
            None => bail!("{} still runs {within:?} after SIGTERM", self.spec.name),
        }
    }

    /// Kills the process if it runs, starts it again and waits until it is ready.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.kill()?;
        self.spawn()?;
        self.wait_ready(READY_TIMEOUT).await
    }

    /// Whether the process runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.exit_status(), Ok(None)) && self.child.is_some()
    }

    /// The pid of the running process.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Its resident set size now (`VmRSS`), in kB.
    pub fn rss_kb(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?)).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// Everything it wrote so far, all starts included.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.spec.log_file).unwrap_or_default()
    }

    /// The last `lines` lines of its log.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = self.log();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// The exit status if it exited (`None` while it runs or when it was never started).
    fn exit_status(&mut self) -> anyhow::Result<Option<ExitStatus>> {
        match &mut self.child {
            Some(child) => Ok(child.try_wait()?),
            None => Ok(None),
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "----- {} ({}), last {LOG_TAIL_LINES} lines -----\n{}",
                self.spec.name,
                self.spec.log_file.display(),
                self.log_tail(LOG_TAIL_LINES)
            );
        }
        if let Err(e) = self.kill() {
            eprintln!("cannot kill {}: {e:#}", self.spec.name);
        }
    }
}

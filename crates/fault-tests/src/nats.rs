//! A `nats-server` of the caller's own, for the tests that kill NATS (the machine's server is
//! never touched): JetStream on, a free loopback port, a store in a temporary directory.
//! [`NatsServer::kill`] and [`NatsServer::restart`] keep the port and the store, so the
//! stream and its durable consumer survive as they would in production. The binary is
//! `NATS_SERVER_BIN`, else `/usr/sbin/nats-server`, else `nats-server` on `PATH`.

use std::fs::OpenOptions;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// A nats-server process; dropping it kills it and removes its directory.
pub struct NatsServer {
    child: Option<Child>,
    binary: PathBuf,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its directory: the store and the log.
    pub dir: PathBuf,
}

impl NatsServer {
    /// Starts a server and waits until it listens.
    pub fn start() -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!("fault-tests-nats-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(dir.join("store"))
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let mut server = Self {
            child: None,
            binary: binary()?,
            port: free_port()?,
            dir,
        };
        server.spawn()?;
        Ok(server)
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// `kill -9`.
    pub fn kill(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill().context("cannot kill nats-server")?;
            child.wait()?;
        }
        Ok(())
    }

    /// Starts it again on the same port with the same store (killing it first if it runs).
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.kill()?;
        self.spawn()
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("nats-server.log")).unwrap_or_default()
    }

    fn spawn(&mut self) -> anyhow::Result<()> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("nats-server.log"))?;
        let child = Command::new(&self.binary)
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-js",
                "-sd",
            ])
            .arg(self.dir.join("store"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {}", self.binary.display()))?;
        self.child = Some(child);
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if started.elapsed() > Duration::from_secs(15) {
                bail!(
                    "nats-server did not listen within 15 s; its log:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("----- nats-server's log -----\n{}", self.log());
        }
        if let Err(e) = self.kill() {
            eprintln!("{e:#}");
        }
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            eprintln!("cannot remove {}: {e}", self.dir.display());
        }
    }
}

/// The nats-server binary.
fn binary() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("NATS_SERVER_BIN") {
        return Ok(PathBuf::from(path));
    }
    let debian = Path::new("/usr/sbin/nats-server");
    if debian.is_file() {
        return Ok(debian.to_owned());
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("nats-server"))
        .find(|candidate| candidate.is_file())
        .context("no nats-server binary: install nats-server or set NATS_SERVER_BIN to its path")
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

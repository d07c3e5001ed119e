//! A `nats-server` of a test's own: started on a free loopback port with JetStream and a
//! temporary store, from a configuration the test writes; killed and its directory removed
//! on drop. The binary is `NATS_SERVER_BIN`, else `/usr/sbin/nats-server`, else the one on
//! `PATH`; without one the test fails and says so.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct NatsServer {
    child: Child,
    pub port: u16,
    /// The server's directory: its configuration, its store, and whatever the test writes.
    pub dir: PathBuf,
}

impl NatsServer {
    /// Starts `nats-server -c <config>` with `env`, JetStream on. `config` is the text of the
    /// configuration file; the port, address and store directory are given on the command line.
    pub fn start(config: &str, env: &[(&str, &str)]) -> Self {
        let binary = binary();
        let dir = std::env::temp_dir().join(format!("nats-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(dir.join("store")).unwrap();
        let config_file = dir.join("nats-server.conf");
        std::fs::write(&config_file, config).unwrap();
        let port = free_port();
        let log = std::fs::File::create(dir.join("nats-server.log")).unwrap();
        let child = Command::new(&binary)
            .arg("-c")
            .arg(&config_file)
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(dir.join("store"))
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let server = Self { child, port, dir };
        server.wait_until_listening();
        server
    }

    /// `nats://127.0.0.1:<port>` (or another scheme).
    pub fn url(&self, scheme: &str) -> String {
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    fn wait_until_listening(&self) {
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "nats-server did not listen within 10 s; its log: {}",
                std::fs::read_to_string(self.dir.join("nats-server.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "nats-server's log:\n{}",
                std::fs::read_to_string(self.dir.join("nats-server.log")).unwrap_or_default()
            );
        }
        let _killed = self.child.kill();
        let _reaped = self.child.wait();
        let _removed = std::fs::remove_dir_all(&self.dir);
    }
}

/// The nats-server binary, or a failed test saying how to provide one.
fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("NATS_SERVER_BIN") {
        return PathBuf::from(path);
    }
    let debian = Path::new("/usr/sbin/nats-server");
    if debian.is_file() {
        return debian.to_owned();
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("nats-server"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "no nats-server binary: install nats-server (it is on PATH or at \
                 /usr/sbin/nats-server) or set NATS_SERVER_BIN to its path"
            )
        })
}

/// A loopback port nobody listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

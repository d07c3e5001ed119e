//! Starting and stopping: in-process (`Sim::stop` frees the port) and the binary (flags,
//! health, SIGTERM).

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use winleadplus_sim::SimData;

use crate::helpers::{client, spawn, spawn_generated};

#[tokio::test]
async fn urls_name_the_bound_port() {
    let sim = spawn(SimData::Empty).await;

    let port = sim.addr().port();

    assert_ne!(port, 0);
    assert_eq!(sim.base_url(), format!("http://127.0.0.1:{port}"));
    assert_eq!(
        sim.prospects_url(),
        format!("http://127.0.0.1:{port}/api/prospects")
    );
}

#[tokio::test]
async fn stop_shuts_the_server_down() {
    let sim = spawn_generated(1).await;
    let url = format!("{}/healthz", sim.base_url());
    assert_eq!(
        client()
            .get(&url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "ok"
    );

    sim.stop().await;

    service_kit::tls::install_default_provider();
    let fresh = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    assert!(fresh.get(&url).send().await.unwrap_err().is_connect());
}

#[tokio::test]
async fn the_binary_serves_generated_data_and_stops_on_sigterm() {
    let port = {
        let probe = TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_winleadplus-sim"))
        .env("SIM_ADDR", format!("127.0.0.1:{port}"))
        .env("SIM_TOKEN", "bin-token")
        .env("SIM_GENERATE", "5")
        .env("SIM_SEED", "11")
        .env("LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/api/prospects");

    let mut body = None;
    for _ in 0..100 {
        if let Ok(response) = client().get(&url).bearer_auth("bin-token").send().await {
            body = Some(response.json::<Value>().await.unwrap());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(body, Some(Value::Array(winleadplus_sim::generate(5, 11))));

    let term = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(term.success());
    let mut status = None;
    for _ in 0..100 {
        status = child.try_wait().unwrap();
        if status.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if status.is_none() {
        child.kill().unwrap();
    }
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
}

//! Shared set-up: a simulator on port 0, an HTTP client, and short-hands for the requests
//! the tests make.

use std::sync::Once;

use reqwest::{Client, Response};
use serde_json::Value;
use winleadplus_sim::{Sim, SimConfig, SimData};

/// Logs go to the test output only with `TEST_LOG=1`.
fn init_logs() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            service_kit::telemetry::init(service_kit::telemetry::LogFormat::Pretty);
        }
    });
}

/// A simulator on `127.0.0.1:0` with the default token and this data.
pub async fn spawn(data: SimData) -> Sim {
    init_logs();
    Sim::start(SimConfig {
        data,
        ..SimConfig::default()
    })
    .await
    .expect("the simulator starts")
}

/// A simulator serving `generate(count, 42)`.
pub async fn spawn_generated(count: usize) -> Sim {
    spawn(SimData::Generate { count, seed: 42 }).await
}

/// A plain HTTP client (ring installed first: reqwest has no crypto provider of its own).
pub fn client() -> Client {
    service_kit::tls::install_default_provider();
    Client::builder().build().unwrap()
}

/// `GET /api/prospects{query}` with the simulator's token.
pub async fn get(sim: &Sim, query: &str) -> Response {
    client()
        .get(format!("{}{query}", sim.prospects_url()))
        .bearer_auth(sim.token())
        .send()
        .await
        .unwrap()
}

/// `GET /api/prospects{query}`, expecting 200 and JSON.
pub async fn get_json(sim: &Sim, query: &str) -> Value {
    let response = get(sim, query).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// An admin request with a JSON body; returns the status and the JSON answer (`null` when
/// there is no body).
pub async fn admin(
    sim: &Sim,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = client().request(method, format!("{}{path}", sim.base_url()));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("admin answered non-JSON {text:?}: {e}"))
    };
    (status, value)
}

/// The `idProspect`s of a list, as numbers.
pub fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|p| match &p["idProspect"] {
            Value::Number(n) => n.as_i64().unwrap(),
            Value::String(s) => s.parse().unwrap(),
            other => panic!("no id: {other}"),
        })
        .collect()
}

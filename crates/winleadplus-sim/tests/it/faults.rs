//! Injected faults: they apply in order to the next requests, then the simulator answers
//! normally again; the statistics show what was answered.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use winleadplus_sim::{Fault, generate};

use crate::helpers::{admin, client, get, get_json, spawn_generated};

#[tokio::test]
async fn two_500s_then_the_data() {
    let sim = spawn_generated(3).await;
    let (status, queued) = admin(
        &sim,
        Method::POST,
        "/admin/faults",
        Some(json!([{ "status": 500, "count": 2 }])),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(queued["queued"], json!([{ "status": 500, "count": 2 }]));

    let first = get(&sim, "").await;
    let second = get(&sim, "").await;
    let third = get(&sim, "").await;

    assert_eq!(first.status(), 500);
    let error: Value = first.json().await.unwrap();
    assert_eq!(error["status"], 500);
    assert_eq!(second.status(), 500);
    assert_eq!(third.status(), 200);
    assert_eq!(
        third.json::<Value>().await.unwrap(),
        Value::Array(generate(3, 42))
    );
    let (_, stats) = admin(&sim, Method::GET, "/admin/stats", None).await;
    assert_eq!(stats["requests"], 3);
    assert_eq!(stats["statuses"], json!({ "200": 1, "500": 2 }));
    assert_eq!(stats["history"], json!([500, 500, 200]));
    assert_eq!(stats["faults_applied"], 2);
}

#[tokio::test]
async fn a_429_carries_retry_after() {
    let sim = spawn_generated(1).await;
    admin(
        &sim,
        Method::POST,
        "/admin/faults",
        Some(json!({ "status": 429, "retry_after_secs": 1 })),
    )
    .await;

    let limited = get(&sim, "").await;

    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["retry-after"], "1");
    assert_eq!(get(&sim, "").await.status(), 200);
}

#[tokio::test]
async fn a_truncated_body_is_a_200_that_is_not_valid_json() {
    let sim = spawn_generated(20).await;
    sim.push_fault(Fault::truncate());

    let response = get(&sim, "").await;

    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let text = response.text().await.unwrap();
    let whole = serde_json::to_string(&generate(20, 42)).unwrap();
    assert!(
        text.len() < whole.len() && text.len() >= whole.len() / 2 - 4,
        "{} of {}",
        text.len(),
        whole.len()
    );
    assert!(whole.starts_with(&text));
    assert!(serde_json::from_str::<Value>(&text).is_err());
    assert_eq!(get_json(&sim, "").await.as_array().unwrap().len(), 20);
}

#[tokio::test]
async fn an_html_error_page_comes_with_200() {
    let sim = spawn_generated(2).await;
    sim.push_fault(Fault::html());

    let response = get(&sim, "").await;

    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let text = response.text().await.unwrap();
    assert!(text.starts_with("<!DOCTYPE html>"));
    assert!(serde_json::from_str::<Value>(&text).is_err());
    assert_eq!(sim.stats().history, vec![200]);
}

#[tokio::test]
async fn a_delay_holds_the_answer_back_and_can_time_a_client_out() {
    let sim = spawn_generated(2).await;
    sim.push_fault(Fault::delay_ms(300));
    sim.push_fault(Fault::delay_ms(2000));

    let started = Instant::now();
    let slow = get(&sim, "").await;
    assert_eq!(slow.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(300));

    service_kit::tls::install_default_provider();
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let timed_out = impatient
        .get(sim.prospects_url())
        .bearer_auth(sim.token())
        .send()
        .await;
    assert!(timed_out.unwrap_err().is_timeout());
}

#[tokio::test]
async fn faults_apply_in_the_order_they_were_queued() {
    let sim = spawn_generated(2).await;
    sim.push_fault(Fault::status(503).times(2));
    admin(
        &sim,
        Method::POST,
        "/admin/faults",
        Some(json!([{ "html": true }, { "status": 404 }])),
    )
    .await;
    sim.push_fault(Fault::status(502).with_delay_ms(10));

    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(get(&sim, "").await.status().as_u16());
    }

    assert_eq!(statuses, vec![503, 503, 200, 404, 502, 200]);
    assert_eq!(sim.stats().history, vec![503, 503, 200, 404, 502, 200]);
    assert!(sim.pending_faults().is_empty());
}

#[tokio::test]
async fn a_refused_request_does_not_use_up_a_fault() {
    let sim = spawn_generated(1).await;
    sim.push_fault(Fault::status(500));

    let unauthorised = client().get(sim.prospects_url()).send().await.unwrap();

    assert_eq!(unauthorised.status(), 401);
    assert_eq!(get(&sim, "").await.status(), 500);
    assert_eq!(get(&sim, "").await.status(), 200);
}

#[tokio::test]
async fn deleting_the_faults_clears_the_queue() {
    let sim = spawn_generated(1).await;
    sim.push_fault(Fault::status(500).times(5));

    let (status, cleared) = admin(&sim, Method::DELETE, "/admin/faults", None).await;

    assert_eq!(status, 200);
    assert_eq!(cleared, json!({ "cleared": 1 }));
    assert_eq!(get(&sim, "").await.status(), 200);
}

#[tokio::test]
async fn meaningless_faults_are_refused_with_400() {
    let sim = spawn_generated(1).await;

    for body in [
        json!({ "count": 2 }),
        json!({ "status": 500, "html": true }),
        json!({ "status": 500, "count": 0 }),
        json!({ "stauts": 500 }),
        json!([{ "status": 500 }, { "html": "yes" }]),
        json!("500"),
    ] {
        let (status, error) = admin(&sim, Method::POST, "/admin/faults", Some(body.clone())).await;
        assert_eq!(status, 400, "{body}");
        assert!(error["message"].is_string(), "{error}");
    }
    assert!(sim.pending_faults().is_empty());
}

//! `GET /api/prospects`: the token, `limit`, the three body shapes and pagination, and the
//! data served exactly as loaded.

use serde_json::{Value, json};
use winleadplus_sim::{Shape, SimData, generate};

use crate::helpers::{client, get, get_json, ids, spawn, spawn_generated};

#[tokio::test]
async fn a_request_without_a_token_or_with_a_wrong_one_gets_401() {
    let sim = spawn_generated(3).await;

    let missing = client().get(sim.prospects_url()).send().await.unwrap();
    let wrong = client()
        .get(sim.prospects_url())
        .bearer_auth("not-the-token")
        .send()
        .await
        .unwrap();

    for response in [missing, wrong] {
        assert_eq!(response.status(), 401);
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["status"], 401);
        assert!(body["message"].as_str().unwrap().contains("token"));
    }
    let stats = sim.stats();
    assert_eq!(stats.requests, 2);
    assert_eq!(stats.count(401), 2);
}

#[tokio::test]
async fn the_right_token_gets_the_generated_data_as_an_array() {
    let sim = spawn_generated(50).await;

    let body = get_json(&sim, "").await;

    assert_eq!(body, Value::Array(generate(50, 42)));
    assert_eq!(sim.stats().count(200), 1);
    assert_eq!(sim.stats().prospects_served, 50);
}

#[tokio::test]
async fn a_new_token_replaces_the_old_one() {
    let sim = spawn_generated(1).await;

    sim.set_token("rotated");

    let old = client()
        .get(sim.prospects_url())
        .bearer_auth("sim-token")
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), 401);
    assert_eq!(get(&sim, "").await.status(), 200);
}

#[tokio::test]
async fn limit_returns_the_first_n_prospects() {
    let sim = spawn_generated(20).await;

    assert_eq!(ids(&get_json(&sim, "?limit=1").await), vec![100_000]);
    assert_eq!(
        ids(&get_json(&sim, "?limit=3").await),
        vec![100_000, 100_001, 100_002]
    );
    assert_eq!(get_json(&sim, "?limit=0").await, json!([]));
    assert_eq!(ids(&get_json(&sim, "?limit=999").await).len(), 20);
    assert_eq!(get(&sim, "?limit=abc").await.status(), 400);
}

#[tokio::test]
async fn the_wrapped_shape_puts_the_array_under_data() {
    let sim = spawn_generated(5).await;
    sim.set_shape(Shape::Wrapped);

    let body = get_json(&sim, "?limit=2").await;

    assert_eq!(body, json!({ "data": generate(2, 42) }));
}

#[tokio::test]
async fn the_paginated_shape_serves_pages_of_the_configured_size() {
    let sim = spawn_generated(25).await;
    sim.set_shape(Shape::Paginated { page_size: 10 });

    let first = get_json(&sim, "").await;
    assert_eq!(first["page"], 1);
    assert_eq!(first["total_pages"], 3);
    assert_eq!(ids(&first["data"]), (100_000..100_010).collect::<Vec<_>>());

    let mut all = Vec::new();
    let mut page = 1;
    loop {
        let body = get_json(&sim, &format!("?page={page}")).await;
        assert_eq!(body["page"], page);
        all.extend(body["data"].as_array().unwrap().iter().cloned());
        if page >= body["total_pages"].as_u64().unwrap() {
            break;
        }
        page += 1;
    }
    assert_eq!(all, generate(25, 42));

    let beyond = get_json(&sim, "?page=4").await;
    assert_eq!(beyond, json!({ "data": [], "page": 4, "total_pages": 3 }));
    assert_eq!(get(&sim, "?page=0").await.status(), 400);

    let limited = get_json(&sim, "?limit=12&page=2").await;
    assert_eq!(limited["total_pages"], 2);
    assert_eq!(ids(&limited["data"]), vec![100_010, 100_011]);
}

#[tokio::test]
async fn an_empty_simulator_serves_an_empty_array() {
    let sim = spawn(SimData::Empty).await;

    assert_eq!(get_json(&sim, "").await, json!([]));
}

#[tokio::test]
async fn a_large_body_arrives_whole_and_in_order() {
    let sim = spawn_generated(5000).await;

    let response = get(&sim, "").await;
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.unwrap();

    assert_eq!(ids(&body), (100_000..105_000).collect::<Vec<_>>());
    assert_eq!(body[4321], generate(4322, 42)[4321]);
}

#[tokio::test]
async fn prospects_given_in_process_are_served_verbatim_broken_ones_included() {
    let data = vec![
        json!({ "idProspect": 1001, "nom": " Dupont " }),
        json!({ "idProspect": null }),
        json!("not an object"),
        json!({ "idProspect": "1002", "nom": "Nul\u{0}Octet" }),
        json!({ "idProspect": 1001, "nom": "duplicate" }),
    ];
    let sim = spawn(SimData::Prospects(data.clone())).await;

    assert_eq!(get_json(&sim, "").await, Value::Array(data));
}

#[tokio::test]
async fn a_data_file_may_hold_an_array_or_a_wrapped_array() {
    let dir = std::env::temp_dir().join(format!("wlp-sim-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let array = dir.join("array.json");
    let wrapped = dir.join("wrapped.json");
    let data = generate(7, 3);
    std::fs::write(&array, serde_json::to_vec(&data).unwrap()).unwrap();
    std::fs::write(
        &wrapped,
        serde_json::to_vec(&json!({ "data": data })).unwrap(),
    )
    .unwrap();

    for path in [&array, &wrapped] {
        let sim = spawn(SimData::File(path.clone())).await;
        assert_eq!(
            get_json(&sim, "").await,
            Value::Array(data.clone()),
            "{}",
            path.display()
        );
    }

    let not_a_list = dir.join("object.json");
    std::fs::write(&not_a_list, b"{\"nope\": 1}").unwrap();
    let error = winleadplus_sim::Sim::start(winleadplus_sim::SimConfig {
        data: SimData::File(not_a_list),
        ..Default::default()
    })
    .await
    .unwrap_err();
    assert!(
        format!("{error:#}").contains("not a JSON array"),
        "{error:#}"
    );
    let missing = winleadplus_sim::Sim::start(winleadplus_sim::SimConfig {
        data: SimData::File(dir.join("missing.json")),
        ..Default::default()
    })
    .await
    .unwrap_err();
    assert!(
        format!("{missing:#}").contains("missing.json"),
        "{missing:#}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn unknown_routes_answer_404_in_json() {
    let sim = spawn(SimData::Empty).await;

    let response = client()
        .get(format!("{}/api/nothing", sim.base_url()))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], 404);
}

//! The admin API over HTTP: loading, changing and counting the data, generation, mutation,
//! shape, token and statistics.

use reqwest::Method;
use serde_json::{Value, json};
use winleadplus_sim::{Shape, SimData, generate};

use crate::helpers::{admin, client, get, get_json, ids, spawn, spawn_generated};

#[tokio::test]
async fn put_replaces_post_upserts_and_delete_removes() {
    let sim = spawn_generated(3).await;

    let (status, body) = admin(
        &sim,
        Method::PUT,
        "/admin/prospects",
        Some(json!([{ "idProspect": 1 }, { "idProspect": 2 }])),
    )
    .await;
    assert_eq!((status, body), (200, json!({ "count": 2 })));

    let (status, body) = admin(
        &sim,
        Method::POST,
        "/admin/prospects",
        Some(json!({ "idProspect": 2, "nom": "B" })),
    )
    .await;
    assert_eq!((status, body), (200, json!({ "upserted": 1, "count": 2 })));
    let (_, body) = admin(
        &sim,
        Method::POST,
        "/admin/prospects",
        Some(json!([{ "idProspect": 3 }, { "idProspect": "1", "nom": "A" }])),
    )
    .await;
    assert_eq!(body, json!({ "upserted": 2, "count": 3 }));
    assert_eq!(
        get_json(&sim, "").await,
        json!([{ "idProspect": "1", "nom": "A" }, { "idProspect": 2, "nom": "B" }, { "idProspect": 3 }])
    );
    let (_, body) = admin(
        &sim,
        Method::POST,
        "/admin/prospects",
        Some(json!({ "data": [{ "idProspect": 4 }] })),
    )
    .await;
    assert_eq!(body, json!({ "upserted": 1, "count": 4 }));
    let (_, body) = admin(
        &sim,
        Method::POST,
        "/admin/prospects",
        Some(json!({ "nom": "no id" })),
    )
    .await;
    assert_eq!(body, json!({ "upserted": 1, "count": 5 }));
    let (_, body) = admin(
        &sim,
        Method::PUT,
        "/admin/prospects",
        Some(json!([{ "idProspect": 1 }, { "idProspect": 2 }, { "idProspect": 3 }])),
    )
    .await;
    assert_eq!(body, json!({ "count": 3 }));

    let (status, body) = admin(&sim, Method::DELETE, "/admin/prospects/2", None).await;
    assert_eq!((status, body), (200, json!({ "removed": 2, "count": 2 })));
    let (status, _) = admin(&sim, Method::DELETE, "/admin/prospects/2", None).await;
    assert_eq!(status, 404);
    let (status, _) = admin(&sim, Method::DELETE, "/admin/prospects/abc", None).await;
    assert_eq!(status, 400);

    let (status, body) = admin(&sim, Method::GET, "/admin/prospects/count", None).await;
    assert_eq!((status, body), (200, json!({ "count": 2 })));
    let (_, all) = admin(&sim, Method::GET, "/admin/prospects", None).await;
    assert_eq!(ids(&all), vec![1, 3]);
}

#[tokio::test]
async fn a_body_that_is_not_a_list_is_refused() {
    let sim = spawn(SimData::Empty).await;

    for body in [json!({ "nope": [] }), json!(12)] {
        let (status, _) = admin(&sim, Method::PUT, "/admin/prospects", Some(body)).await;
        assert_eq!(status, 400);
    }
    let response = client()
        .put(format!("{}/admin/prospects", sim.base_url()))
        .body("[{\"idProspect\": 1,")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(sim.count(), 0);
}

#[tokio::test]
async fn a_large_data_set_can_be_put_over_http() {
    let sim = spawn(SimData::Empty).await;
    let data = generate(3000, 5); // about 5 MB, more than axum's default body limit

    let response = client()
        .put(format!("{}/admin/prospects", sim.base_url()))
        .json(&data)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    assert_eq!(sim.prospects(), data);
}

#[tokio::test]
async fn generate_replaces_the_data_with_the_seeded_set() {
    let sim = spawn_generated(3).await;

    let (status, body) = admin(
        &sim,
        Method::POST,
        "/admin/generate",
        Some(json!({ "count": 40, "seed": 9 })),
    )
    .await;

    assert_eq!((status, body), (200, json!({ "count": 40, "seed": 9 })));
    assert_eq!(get_json(&sim, "").await, Value::Array(generate(40, 9)));
    let (_, body) = admin(
        &sim,
        Method::POST,
        "/admin/generate",
        Some(json!({ "count": 2 })),
    )
    .await;
    assert_eq!(body["seed"], 42);
}

#[tokio::test]
async fn mutate_changes_exactly_the_rounded_fraction_and_is_deterministic() {
    let a = spawn_generated(200).await;
    let b = spawn_generated(200).await;

    let (status, body) = admin(
        &a,
        Method::POST,
        "/admin/mutate",
        Some(json!({ "fraction": 0.05, "seed": 7 })),
    )
    .await;
    let other = b.mutate(0.05, 7);

    assert_eq!(status, 200);
    assert_eq!(body["count"], 10);
    let changed: Vec<i64> = serde_json::from_value(body["changed"].clone()).unwrap();
    assert_eq!(changed.len(), 10);
    assert_eq!(changed, other);
    assert_eq!(a.prospects(), b.prospects());

    let before = generate(200, 42);
    let after = get_json(&a, "").await;
    let differing: Vec<i64> = before
        .iter()
        .zip(after.as_array().unwrap())
        .filter(|(x, y)| x != y)
        .map(|(_, y)| ids(&json!([y]))[0])
        .collect();
    assert_eq!(differing, changed);

    let another_seed = spawn_generated(200).await.mutate(0.05, 8);
    assert_ne!(another_seed, changed);
    let (status, _) = admin(
        &a,
        Method::POST,
        "/admin/mutate",
        Some(json!({ "fraction": 1.5 })),
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn shape_and_token_can_be_set_over_http() {
    let sim = spawn_generated(12).await;

    let (status, body) = admin(
        &sim,
        Method::PUT,
        "/admin/shape",
        Some(json!({ "shape": "paginated", "page_size": 5 })),
    )
    .await;
    assert_eq!(
        (status, body),
        (200, json!({ "shape": "paginated", "page_size": 5 }))
    );
    assert_eq!(sim.shape(), Shape::Paginated { page_size: 5 });
    assert_eq!(
        get_json(&sim, "?page=3").await["data"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let (status, _) = admin(
        &sim,
        Method::PUT,
        "/admin/shape",
        Some(json!({ "shape": "paginated", "page_size": 0 })),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = admin(
        &sim,
        Method::PUT,
        "/admin/shape",
        Some(json!({ "shape": "xml" })),
    )
    .await;
    assert_eq!(status, 400);
    admin(
        &sim,
        Method::PUT,
        "/admin/shape",
        Some(json!({ "shape": "wrapped" })),
    )
    .await;
    assert!(get_json(&sim, "").await["data"].is_array());

    let (status, body) = admin(
        &sim,
        Method::PUT,
        "/admin/token",
        Some(json!({ "token": "t2" })),
    )
    .await;
    assert_eq!((status, body), (204, Value::Null));
    let response = client()
        .get(sim.prospects_url())
        .bearer_auth("t2")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn stats_count_requests_and_reset() {
    let sim = spawn_generated(1).await;
    for _ in 0..3 {
        get(&sim, "").await;
    }
    client().get(sim.prospects_url()).send().await.unwrap();
    // Admin requests are not counted.
    admin(&sim, Method::GET, "/admin/prospects/count", None).await;

    let (_, stats) = admin(&sim, Method::GET, "/admin/stats", None).await;
    assert_eq!(stats["requests"], 4);
    assert_eq!(stats["statuses"], json!({ "200": 3, "401": 1 }));
    assert_eq!(stats["prospects_served"], 3);

    let (status, _) = admin(&sim, Method::POST, "/admin/stats/reset", None).await;
    assert_eq!(status, 204);
    assert_eq!(sim.stats(), winleadplus_sim::Stats::default());
}

//! What an operator meets: health and reflection over gRPC, `/healthz`, `/readyz`, `/metrics`.

use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::helpers::spawn_app;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_health_reports_the_clients_service_serving() {
    let app = spawn_app().await;
    let mut health = HealthClient::new(app.channel.clone());
    let response = health
        .check(HealthCheckRequest {
            service: "clients.ClientBaseService".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(response.status(), ServingStatus::Serving);
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_endpoints_answer_and_metrics_count_rpcs() {
    let app = spawn_app().await;
    let _ = app
        .grpc
        .clone()
        .get(proto::clients::GetClientBaseRequest { id: "nope".into() })
        .await;
    service_kit::tls::install_default_provider();
    let http = reqwest::Client::new();

    let healthz = http
        .get(format!("{}/healthz", app.http))
        .send()
        .await
        .unwrap();
    assert_eq!(healthz.status(), 200);
    let readyz = http
        .get(format!("{}/readyz", app.http))
        .send()
        .await
        .unwrap();
    assert_eq!(readyz.status(), 200);
    let metrics = http
        .get(format!("{}/metrics", app.http))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            r#"core_grpc_requests_total{method="clients.ClientBaseService/Get",code="InvalidArgument"} 1"#
        ),
        "{metrics}"
    );
    assert!(metrics.contains("core_update_consumer_pending"));
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflection_lists_the_services_as_grpcurl_list_would() {
    use futures::StreamExt;
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let app = spawn_app().await;
    let mut reflection = ServerReflectionClient::new(app.channel.clone());
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = reflection
        .server_reflection_info(futures::stream::iter(vec![request]))
        .await
        .unwrap()
        .into_inner();
    let Some(Ok(response)) = responses.next().await else {
        panic!("no reflection answer")
    };
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("not a service list")
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for expected in ["clients.ClientBaseService", "grpc.health.v1.Health"] {
        assert!(names.contains(&expected.to_owned()), "{names:?}");
    }
    app.cleanup().await;
}

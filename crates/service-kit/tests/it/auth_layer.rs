//! The layer in a real tonic server on 127.0.0.1: health, reflection (v1 and v1alpha) and a
//! probe implementing `winleadplus.WinLeadPlusSyncService` whose `GetConfig` answers with
//! what it sees of the caller. Clients are the generated ones, as the frontend's would be.

use std::time::Duration;

use proto::tonic::metadata::MetadataValue;
use proto::tonic::transport::server::TcpIncoming;
use proto::tonic::transport::{Channel, Server};
use proto::tonic::{self, Code, Request, Response, Status};
use proto::winleadplus::win_lead_plus_sync_service_client::WinLeadPlusSyncServiceClient;
use proto::winleadplus::win_lead_plus_sync_service_server::{
    WinLeadPlusSyncService, WinLeadPlusSyncServiceServer,
};
use proto::winleadplus::{
    GetSyncStatusRequest, GetSyncStatusResponse, GetWinLeadPlusConfigRequest,
    HasWinLeadPlusConfigResponse, ListWinLeadPlusSyncLogsRequest, ListWinLeadPlusSyncLogsResponse,
    SyncProspectsRequest, SyncProspectsResponse, TestConnectionRequest, TestConnectionResponse,
    UpdateWinLeadPlusConfigRequest, WinLeadPlusConfig,
};
use service_kit::auth::{AuthConfig, AuthLayer, Authenticator, mint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::{v1, v1alpha};
use uuid::Uuid;

use crate::helpers::{JwksServer, Mode, SECRET, SigningKey, secret_config};

/// Answers `GetConfig` with the caller's subject as `id`, or PERMISSION_DENIED for an
/// organisation the caller may not see; everything else is unimplemented.
struct Probe;

#[tonic::async_trait]
impl WinLeadPlusSyncService for Probe {
    async fn get_config(
        &self,
        request: Request<GetWinLeadPlusConfigRequest>,
    ) -> Result<Response<WinLeadPlusConfig>, Status> {
        let caller = service_kit::auth::caller(&request)?;
        let organisation = Uuid::try_parse(&request.get_ref().organisation_id)
            .map_err(|_| Status::invalid_argument("organisation_id"))?;
        if !caller.may_access(organisation) {
            return Err(Status::permission_denied("not your organisation"));
        }
        Ok(Response::new(WinLeadPlusConfig {
            id: caller.subject().to_owned(),
            organisation_id: organisation.to_string(),
            ..WinLeadPlusConfig::default()
        }))
    }

    async fn sync_prospects(
        &self,
        _: Request<SyncProspectsRequest>,
    ) -> Result<Response<SyncProspectsResponse>, Status> {
        Err(Status::unimplemented("probe"))
    }

    async fn get_sync_status(
        &self,
        _: Request<GetSyncStatusRequest>,
    ) -> Result<Response<GetSyncStatusResponse>, Status> {
        Err(Status::unimplemented("probe"))
    }

    async fn get_sync_logs(
        &self,
        _: Request<ListWinLeadPlusSyncLogsRequest>,
    ) -> Result<Response<ListWinLeadPlusSyncLogsResponse>, Status> {
        Err(Status::unimplemented("probe"))
    }

    async fn test_connection(
        &self,
        _: Request<TestConnectionRequest>,
    ) -> Result<Response<TestConnectionResponse>, Status> {
        Err(Status::unimplemented("probe"))
    }

    async fn save_config(
        &self,
        _: Request<UpdateWinLeadPlusConfigRequest>,
    ) -> Result<Response<WinLeadPlusConfig>, Status> {
        Err(Status::unimplemented("probe"))
    }

    async fn has_config(
        &self,
        _: Request<GetWinLeadPlusConfigRequest>,
    ) -> Result<Response<HasWinLeadPlusConfigResponse>, Status> {
        Err(Status::unimplemented("probe"))
    }
}

/// A server with the layer on 127.0.0.1, and a channel to it.
async fn serve(config: AuthConfig) -> Channel {
    let authenticator = Authenticator::new(&config).unwrap();
    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<WinLeadPlusSyncServiceServer<Probe>>()
        .await;
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
        .build_v1()
        .unwrap();
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let router = Server::builder()
        .layer(AuthLayer::new(authenticator))
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(WinLeadPlusSyncServiceServer::new(Probe));
    tokio::spawn(router.serve_with_incoming(TcpIncoming::from(listener)));
    Channel::from_shared(format!("http://{address}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

fn hs256(subject: &str, organisations: &[Uuid]) -> String {
    mint::hs256_token(SECRET, subject, organisations, Duration::from_secs(300)).unwrap()
}

/// `GetConfig` for `organisation` with these metadata entries.
async fn get_config(
    channel: &Channel,
    organisation: Uuid,
    metadata: &[(&'static str, String)],
) -> Result<WinLeadPlusConfig, Status> {
    let mut request = Request::new(GetWinLeadPlusConfigRequest {
        organisation_id: organisation.to_string(),
    });
    for (key, value) in metadata {
        let value: MetadataValue<_> = value.parse().unwrap();
        request.metadata_mut().insert(*key, value);
    }
    WinLeadPlusSyncServiceClient::new(channel.clone())
        .get_config(request)
        .await
        .map(Response::into_inner)
}

fn bearer(token: &str) -> (&'static str, String) {
    ("authorization", format!("Bearer {token}"))
}

fn refusal(result: Result<WinLeadPlusConfig, Status>) -> (Code, String) {
    let status = result.unwrap_err();
    (status.code(), status.message().to_owned())
}

#[tokio::test]
async fn a_call_without_token_is_unauthenticated() {
    let channel = serve(secret_config()).await;
    assert_eq!(
        refusal(get_config(&channel, Uuid::new_v4(), &[]).await),
        (Code::Unauthenticated, "missing bearer token".to_owned())
    );
}

#[tokio::test]
async fn a_valid_token_reaches_the_handler_as_a_caller() {
    let channel = serve(secret_config()).await;
    let (mine, theirs) = (Uuid::new_v4(), Uuid::new_v4());
    let token = hs256("alice", &[mine]);

    let config = get_config(&channel, mine, &[bearer(&token)]).await.unwrap();
    assert_eq!(config.id, "alice");
    assert_eq!(
        refusal(get_config(&channel, theirs, &[bearer(&token)]).await).0,
        Code::PermissionDenied
    );
}

#[tokio::test]
async fn refusals_say_what_is_wrong_with_the_token() {
    let channel = serve(secret_config()).await;
    let org = Uuid::new_v4();
    let expired = mint::hs256_sign(
        SECRET,
        &serde_json::json!({"sub": "u", "exp": crate::helpers::now() - 3600}),
    )
    .unwrap();
    let foreign = mint::hs256_sign("not our secret", &crate::helpers::claims("u", org)).unwrap();
    let cases = [
        (bearer(&expired), "token expired"),
        (bearer(&foreign), "token signature invalid"),
        (bearer("garbage"), "malformed bearer token"),
        (
            ("authorization", format!("Basic {}", hs256("u", &[org]))),
            "the authorization header is not a bearer token",
        ),
    ];
    for (header, message) in cases {
        assert_eq!(
            refusal(get_config(&channel, org, &[header]).await),
            (Code::Unauthenticated, message.to_owned())
        );
    }
}

#[tokio::test]
async fn the_x_internal_service_header_gives_nothing() {
    let channel = serve(secret_config()).await;
    let org = Uuid::new_v4();
    let internal = ("x-internal-service", "true".to_owned());
    assert_eq!(
        refusal(get_config(&channel, org, std::slice::from_ref(&internal)).await).0,
        Code::Unauthenticated
    );
    // Nor does it widen what a real caller may see.
    let token = hs256("alice", &[]);
    assert_eq!(
        refusal(get_config(&channel, org, &[internal, bearer(&token)]).await).0,
        Code::PermissionDenied
    );
}

#[tokio::test]
async fn health_checks_need_no_token() {
    let channel = serve(secret_config()).await;
    let response = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap();
    assert_eq!(response.into_inner().status(), ServingStatus::Serving);
}

/// Lists the services through reflection v1 and v1alpha: the status code of each.
async fn reflection_codes(channel: &Channel) -> [Code; 2] {
    let v1 = v1::server_reflection_client::ServerReflectionClient::new(channel.clone())
        .server_reflection_info(futures::stream::iter(Some(v1::ServerReflectionRequest {
            host: String::new(),
            message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
                String::new(),
            )),
        })))
        .await;
    let v1alpha = v1alpha::server_reflection_client::ServerReflectionClient::new(channel.clone())
        .server_reflection_info(futures::stream::iter(Some(
            v1alpha::ServerReflectionRequest {
                host: String::new(),
                message_request: Some(
                    v1alpha::server_reflection_request::MessageRequest::ListServices(String::new()),
                ),
            },
        )))
        .await;
    [v1.err(), v1alpha.err()].map(|status| status.map_or(Code::Ok, |s| s.code()))
}

#[tokio::test]
async fn reflection_is_closed_unless_made_public() {
    let closed = serve(secret_config()).await;
    assert_eq!(reflection_codes(&closed).await, [Code::Unauthenticated; 2]);

    let public = serve(AuthConfig {
        reflection_public: true,
        ..secret_config()
    })
    .await;
    assert_eq!(reflection_codes(&public).await, [Code::Ok; 2]);
}

#[tokio::test]
async fn disabled_authentication_lets_calls_through_as_an_unrestricted_caller() {
    let channel = serve(AuthConfig {
        disabled: true,
        ..AuthConfig::default()
    })
    .await;
    let config = get_config(&channel, Uuid::new_v4(), &[]).await.unwrap();
    assert_eq!(config.id, "anonymous (authentication disabled)");
}

#[tokio::test]
async fn an_unavailable_key_set_answers_unavailable() {
    let key = SigningKey::es256("k");
    let jwks = JwksServer::start(&[&key]).await;
    jwks.set_mode(Mode::Fail);
    let channel = serve(AuthConfig {
        jwks_url: Some(jwks.url.clone()),
        ..AuthConfig::default()
    })
    .await;
    let org = Uuid::new_v4();
    assert_eq!(
        refusal(get_config(&channel, org, &[bearer(&key.token("u", org))]).await).0,
        Code::Unavailable
    );
}

//! The egress policy end to end: what SaveConfig, TestConnection and a sync refuse, and proof
//! that nothing reached the refused place — a real listener on the forbidden address that
//! must never accept. The stack lists only the simulator's host (127.0.0.1) in
//! `WINLEADPLUS_ALLOW_HTTP_HOSTS`; the small servers here answer one canned response.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use proto::tonic::{Code, Status};
use proto::winleadplus::{
    TestConnectionRequest, UpdateWinLeadPlusConfigRequest, WinLeadPlusSyncLog,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::helpers::{SIM_HOST, Stack, fixture, spawn_stack};

const LOOPBACK_RULE: &str = "127.0.0.2 is a loopback address; internal addresses are only \
                             reachable for hosts listed in WINLEADPLUS_ALLOW_HTTP_HOSTS";
const REDIRECT_MESSAGE: &str = "WinLeadPlus answered a redirect (HTTP 302) to another location; \
                                redirects are not followed: set api_endpoint to the final URL";

/// A listener that must never see a connection.
struct Forbidden {
    listener: TcpListener,
    port: u16,
}

impl Forbidden {
    async fn bind(ip: &str) -> Self {
        let listener = TcpListener::bind((ip, 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        Self { listener, port }
    }

    /// Fails if anything connected (a connection waits in the backlog until accepted).
    async fn assert_untouched(&self) {
        let accepted =
            tokio::time::timeout(Duration::from_millis(300), self.listener.accept()).await;
        assert!(
            accepted.is_err(),
            "something connected to the forbidden listener: {accepted:?}"
        );
    }
}

/// An HTTP/1.1 server on 127.0.0.1 answering every request with the same response.
struct Canned {
    port: u16,
    requests: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Canned {
    async fn start(head: String, body: String) -> Self {
        let listener = TcpListener::bind((SIM_HOST, 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&requests);
        let response = format!(
            "{head}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let task = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                let response = response.clone();
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buf[..n]),
                        }
                    }
                    socket.write_all(response.as_bytes()).await.unwrap();
                    socket.shutdown().await.unwrap();
                });
            }
        });
        Self {
            port,
            requests,
            task,
        }
    }

    fn url(&self) -> String {
        format!("http://{SIM_HOST}:{}/api/prospects", self.port)
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for Canned {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn save(stack: &Stack, org: Uuid, endpoint: &str) -> Result<(), Status> {
    stack
        .sync
        .clone()
        .save_config(UpdateWinLeadPlusConfigRequest {
            organisation_id: Some(org.to_string()),
            api_endpoint: Some(endpoint.to_owned()),
            api_token: Some("tok".into()),
            enabled: Some(true),
            ..Default::default()
        })
        .await
        .map(drop)
}

async fn test_connection(
    stack: &Stack,
    org: Uuid,
    endpoint: &str,
) -> Result<proto::winleadplus::TestConnectionResponse, Status> {
    stack
        .sync
        .clone()
        .test_connection(TestConnectionRequest {
            organisation_id: org.to_string(),
            api_endpoint: endpoint.to_owned(),
            api_token: Some("tok".into()),
        })
        .await
        .map(|r| r.into_inner())
}

/// The sync ended FAILED with `message` as its log's message (and among its errors).
async fn assert_failed_with(stack: &Stack, org: Uuid, log: &WinLeadPlusSyncLog, message: &str) {
    assert_eq!(log.status, "FAILED");
    let error = format!("sync failed: {message}");
    assert!(log.errors.contains(&error), "{:?}", log.errors);
    let sql = format!(
        "SELECT count(*) AS n FROM winleadplus_sync_logs WHERE organisation_id = '{org}' \
         AND status = 'FAILED' AND message = '{}'",
        message.replace('\'', "''")
    );
    assert_eq!(stack.commercial_count(&sql).await, 1, "{sql}");
}

fn assert_refused(status: &Status, code: Code, message: &str) {
    assert_eq!(status.code(), code, "{status:?}");
    assert_eq!(status.message(), message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loopback_address_that_is_not_listed_is_refused_before_any_connection() {
    let stack = spawn_stack(Vec::new()).await;
    let org = Uuid::new_v4();
    let forbidden = Forbidden::bind("127.0.0.2").await;
    let endpoint = format!("http://127.0.0.2:{}/api/prospects", forbidden.port);
    let expected = format!("api_endpoint refused: {LOOPBACK_RULE}");

    let saved = save(&stack, org, &endpoint).await.unwrap_err();
    assert_refused(&saved, Code::PermissionDenied, &expected);
    let tested = test_connection(&stack, org, &endpoint).await.unwrap_err();
    assert_refused(&tested, Code::PermissionDenied, &expected);

    forbidden.assert_untouched().await;
    assert_eq!(
        stack
            .commercial_count("SELECT count(*) AS n FROM winleadplus_configs")
            .await,
        0
    );
    stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_next_link_to_a_refused_address_fails_the_sync_and_is_never_requested() {
    let stack = spawn_stack(Vec::new()).await;
    let org = Uuid::new_v4();
    let forbidden = Forbidden::bind("127.0.0.2").await;
    let first = fixture("prospects-edge.json").swap_remove(0);
    assert_eq!(first["idProspect"], 1001);
    let page = serde_json::json!({
        "data": [first],
        "next": format!("http://127.0.0.2:{}/api/prospects?page=2", forbidden.port),
    });
    let server = Canned::start(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json".into(),
        page.to_string(),
    )
    .await;
    save(&stack, org, &server.url()).await.unwrap();

    let (success, log) = stack.sync_now(org, false).await;

    assert!(!success);
    assert_failed_with(
        &stack,
        org,
        &log,
        &format!("next page link refused: {LOOPBACK_RULE}"),
    )
    .await;
    forbidden.assert_untouched().await;
    assert_eq!(server.requests(), 1, "the first page only, no retry");
    // Whatever the first page held, nothing else was recorded.
    assert_eq!(
        stack
            .commercial_count(&format!(
                "SELECT count(*) AS n FROM winleadplus_mappings WHERE organisation_id = '{org}' \
                 AND winleadplus_prospect_id <> 1001"
            ))
            .await,
        0
    );
    stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_is_reported_and_not_followed() {
    let stack = spawn_stack(Vec::new()).await;
    let org = Uuid::new_v4();
    let elsewhere = Forbidden::bind(SIM_HOST).await;
    let server = Canned::start(
        format!(
            "HTTP/1.1 302 Found\r\nlocation: http://{SIM_HOST}:{}/api/prospects",
            elsewhere.port
        ),
        String::new(),
    )
    .await;
    save(&stack, org, &server.url()).await.unwrap();

    let (success, log) = stack.sync_now(org, false).await;
    assert!(!success);
    assert_failed_with(&stack, org, &log, REDIRECT_MESSAGE).await;
    assert_eq!(server.requests(), 1, "a redirect is not retried");

    let tested = test_connection(&stack, org, &server.url()).await.unwrap();
    assert!(!tested.success);
    assert_eq!(tested.http_status, 302);
    assert_eq!(tested.message, REDIRECT_MESSAGE);
    elsewhere.assert_untouched().await;
    stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_to_a_host_that_is_not_listed_is_an_invalid_argument() {
    let stack = spawn_stack(Vec::new()).await;
    let org = Uuid::new_v4();
    // An `.invalid` name (RFC 6761) is never looked up, and here not even resolved.
    let endpoint = "http://wlp.invalid/api/prospects";
    let expected = "api_endpoint refused: http is only allowed for hosts in \
                    WINLEADPLUS_ALLOW_HTTP_HOSTS; use https";

    assert_refused(
        &save(&stack, org, endpoint).await.unwrap_err(),
        Code::InvalidArgument,
        expected,
    );
    assert_refused(
        &test_connection(&stack, org, endpoint).await.unwrap_err(),
        Code::InvalidArgument,
        expected,
    );
    stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_that_resolves_to_loopback_is_refused_by_the_resolver() {
    let stack = spawn_stack(Vec::new()).await;
    let org = Uuid::new_v4();
    let forbidden = Forbidden::bind(SIM_HOST).await;
    let endpoint = format!("https://localhost:{}/api/prospects", forbidden.port);
    let expected = "api_endpoint refused: localhost resolves to a loopback address; \
                    internal addresses are only reachable for hosts listed in \
                    WINLEADPLUS_ALLOW_HTTP_HOSTS";

    // At save, by a lookup; at TestConnection, by the client's resolver while connecting.
    assert_refused(
        &save(&stack, org, &endpoint).await.unwrap_err(),
        Code::PermissionDenied,
        expected,
    );
    assert_refused(
        &test_connection(&stack, org, &endpoint).await.unwrap_err(),
        Code::PermissionDenied,
        expected,
    );
    forbidden.assert_untouched().await;
    stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_failures_are_reported_in_generic_words() {
    let stack = spawn_stack(Vec::new()).await;
    let org = Uuid::new_v4();
    let closed = {
        let listener = TcpListener::bind((SIM_HOST, 0)).await.unwrap();
        listener.local_addr().unwrap().port()
    };
    let refused = test_connection(
        &stack,
        org,
        &format!("http://{SIM_HOST}:{closed}/api/prospects"),
    )
    .await
    .unwrap();
    assert!(!refused.success);
    assert_eq!(refused.http_status, 0);
    assert_eq!(refused.message, "could not connect");

    // https to a server that answers the TLS hello in plain http: the handshake fails.
    let plain = TcpListener::bind((SIM_HOST, 0)).await.unwrap();
    let port = plain.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (mut socket, _) = plain.accept().await.unwrap();
        let mut hello = [0u8; 512];
        let _read = socket.read(&mut hello).await;
        let _written = socket
            .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
            .await;
    });
    let tls = test_connection(
        &stack,
        org,
        &format!("https://{SIM_HOST}:{port}/api/prospects"),
    )
    .await
    .unwrap();
    assert!(!tls.success);
    assert_eq!(tls.message, "TLS error");
    server.await.unwrap();
    stack.cleanup().await;
}

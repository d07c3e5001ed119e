//! NATS security against servers of the tests' own: the shipped `deploy/nats-server.conf`
//! lets both services run a full sync as their own users and stops sync-service from
//! publishing outside its subjects; a `tls://` server is reached through the kit's connect
//! with `NATS_CA_FILE`, and refused without it.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use service_kit::nats::{ConnectError, NatsArgs};
use uuid::Uuid;

use crate::helpers::{NatsUsers, Options, counters, fixture, spawn_stack_with};
use crate::nats_server::NatsServer;

const SYNC_PASSWORD: &str = "sync-test-password";
const CORE_PASSWORD: &str = "core-test-password";
const OBSERVER_PASSWORD: &str = "observer-test-password";

/// `deploy/nats-server.conf` as shipped, plus a user of the test's own who may do anything
/// (it watches the subjects and cleans up).
fn deploy_config_with_observer() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/nats-server.conf");
    let shipped = std::fs::read_to_string(&path).unwrap();
    let users = "users = [";
    assert!(
        shipped.contains(users),
        "{} has no users list",
        path.display()
    );
    shipped.replacen(
        users,
        &format!("{users}\n    {{ user: \"observer\", password: \"{OBSERVER_PASSWORD}\" }}"),
        1,
    )
}

fn deploy_server() -> NatsServer {
    NatsServer::start(
        &deploy_config_with_observer(),
        &[
            ("SYNC_NATS_PASSWORD", SYNC_PASSWORD),
            ("CORE_NATS_PASSWORD", CORE_PASSWORD),
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_services_sync_end_to_end_as_the_users_of_the_deploy_config() {
    let server = deploy_server();
    let url = server.url("nats");
    let base = fixture("prospects-sample-200.json");
    let changed = fixture("prospects-sample-200-changed10.json");
    let stack = spawn_stack_with(Options {
        prospects: base.clone(),
        nats: Some(NatsUsers {
            core: NatsArgs::new(&url).with_user("client-core", CORE_PASSWORD),
            sync: NatsArgs::new(&url).with_user("sync-service", SYNC_PASSWORD),
            observer: NatsArgs::new(&url).with_user("observer", OBSERVER_PASSWORD),
        }),
        ..Options::default()
    })
    .await;
    let org = Uuid::new_v4();
    stack.configure(org).await;

    // Creates: request/reply between the two users.
    let (success, log) = stack.sync_now(org, false).await;
    assert!(success, "{log:?}");
    assert_eq!(counters(&log), (200, 200, 0, 0, 0));

    // Updates: JetStream from sync-service's user, pulled and acked by client-core's.
    stack.sim.set_prospects(changed.clone());
    let (success, log) = stack.sync_now(org, false).await;
    assert!(success, "{log:?}");
    assert!(log.updated > 0, "{log:?}");
    let (before, after) = base
        .iter()
        .zip(&changed)
        .find(|(a, b)| {
            a != b
                && mapper::map_prospect(a).unwrap().client.email
                    != mapper::map_prospect(b).unwrap().client.email
        })
        .expect("the changed fixture changes an e-mail");
    let id = mapper::ProspectId::parse(&before["idProspect"])
        .unwrap()
        .get();
    let email = mapper::map_prospect(after).unwrap().client.email.unwrap();
    stack
        .core_eventually(
            &format!(
                "SELECT count(*) AS n FROM clientbases WHERE organisation_id = '{org}' \
                 AND external_id = '{id}' AND email = '{}'",
                email.replace('\'', "''")
            ),
            1,
        )
        .await;
    stack.cleanup().await;
}

#[tokio::test]
async fn sync_service_cannot_publish_outside_its_subjects() {
    let server = deploy_server();
    let observer = service_kit::nats::connect(
        &NatsArgs::new(server.url("nats")).with_user("observer", OBSERVER_PASSWORD),
        "observer",
    )
    .await
    .unwrap();
    let mut watched = observer.subscribe("client.delete.>").await.unwrap();
    observer.flush().await.unwrap();

    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = Arc::clone(&errors);
    let sync = async_nats::ConnectOptions::with_user_and_password(
        "sync-service".into(),
        SYNC_PASSWORD.into(),
    )
    .event_callback(move |event| {
        let seen = Arc::clone(&seen);
        async move {
            if let async_nats::Event::ServerError(e) = event {
                seen.lock().unwrap().push(e.to_string());
            }
        }
    })
    .connect(server.url("nats"))
    .await
    .unwrap();

    sync.publish("client.delete.x", "not mine".into())
        .await
        .unwrap();
    sync.flush().await.unwrap();

    let violation = first_error(&errors)
        .await
        .expect("the server reports a permissions violation");
    assert!(
        violation.contains("Permissions Violation") && violation.contains("client.delete.x"),
        "{violation}"
    );
    let delivered = tokio::time::timeout(Duration::from_millis(300), watched.next()).await;
    assert!(
        delivered.is_err(),
        "the message reached a subscriber: {delivered:?}"
    );

    // Nor read client-core's replies (its pulled updates carry personal data).
    errors.lock().unwrap().clear();
    let core_inbox = service_kit::nats::inbox_prefix(
        &NatsArgs::new(server.url("nats")).with_user("client-core", "x"),
        "client-core",
    );
    let _refused = sync.subscribe(format!("{core_inbox}.>")).await.unwrap();
    sync.flush().await.unwrap();
    let violation = first_error(&errors)
        .await
        .expect("the server refuses the subscription");
    assert!(
        violation.contains("Permissions Violation") && violation.contains("_INBOX_client-core"),
        "{violation}"
    );
}

#[tokio::test]
async fn a_tls_server_is_reached_with_its_ca_file_and_refused_without() {
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    let dir = std::env::temp_dir().join(format!("nats-tls-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("server.pem"), dir.join("server-key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let server = NatsServer::start(
        &format!(
            "tls {{\n  cert_file: {:?}\n  key_file: {:?}\n}}\n",
            cert.display().to_string(),
            key.display().to_string()
        ),
        &[],
    );
    let url = server.url("tls");

    let trusting = NatsArgs {
        ca_file: Some(cert.clone()),
        ..NatsArgs::new(&url)
    };
    let nats = service_kit::nats::connect(&trusting, "tls test")
        .await
        .unwrap();
    let mut echo = nats.subscribe("tls.echo").await.unwrap();
    nats.publish("tls.echo", "over TLS".into()).await.unwrap();
    let message = tokio::time::timeout(Duration::from_secs(5), echo.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&message.payload[..], b"over TLS");
    drop(nats);

    let refused = service_kit::nats::connect(&NatsArgs::new(&url), "tls test").await;
    match refused {
        Err(ConnectError::Connect { source, .. }) => assert!(
            source.to_string().contains("invalid peer certificate"),
            "{source}"
        ),
        other => panic!("connected without the CA: {:?}", other.map(|_| ())),
    }
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The first error the server reported on a connection, waited for at most 5 s.
async fn first_error(errors: &Mutex<Vec<String>>) -> Option<String> {
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Some(e) = errors.lock().unwrap().first() {
                return e.clone();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .ok()
}

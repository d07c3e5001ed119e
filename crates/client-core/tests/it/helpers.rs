//! `spawn_app()`: a running client-core over a fresh database, with typed clients and the
//! raw connections tests assert with.

use std::time::Duration;

use async_nats::jetstream;
use client_core::config::LogFormat;
use client_core::{App, Config};
use crm_db::Database;
use crm_db::testing::TestDatabase;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use proto::clients::client_base_service_client::ClientBaseServiceClient;
use proto::events::{
    AddressData, ClientCreate, ClientCreateBatch, ClientCreateBatchReply, ClientData, ClientUpdated,
};
use proto::prost::Message;
use proto::tonic::transport::Channel;
use service_kit::nats::NatsArgs;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub struct TestApp {
    pub db: TestDatabase,
    pub config: Config,
    pub grpc: ClientBaseServiceClient<Channel>,
    pub channel: Channel,
    pub http: String,
    pub nats: async_nats::Client,
    pub js: jetstream::Context,
    running: Option<Running>,
}

struct Running {
    shutdown: CancellationToken,
    handle: JoinHandle<anyhow::Result<()>>,
    metrics: client_core::metrics::Metrics,
}

fn init_logs() {
    if std::env::var_os("TEST_LOG").is_some() {
        service_kit::telemetry::init(LogFormat::Pretty);
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    init_logs();
    let db = TestDatabase::new(Database::Core).await;
    let tag = Uuid::new_v4().simple().to_string();
    let mut config = Config {
        grpc_addr: "127.0.0.1:0".parse().unwrap(),
        http_addr: "127.0.0.1:0".parse().unwrap(),
        database_url: db.url().to_owned(),
        db_pool_size: 4,
        migrate_on_start: false,
        nats: NatsArgs::new(
            std::env::var("NATS_URL").unwrap_or_else(|_| service_kit::nats::DEFAULT_URL.into()),
        ),
        nats_subject_prefix: format!("t{tag}"),
        stream: format!("T_{tag}"),
        consumer: "client-core".into(),
        retry_budget_secs: 1,
        update_batch: 64,
        create_concurrency: 4,
        stream_max_age_hours: 168,
        dead_letter_retention_days: 30,
        log_format: LogFormat::Pretty,
        auth: service_kit::auth::AuthConfig {
            disabled: true,
            ..Default::default()
        },
    };
    adjust(&mut config);
    let nats = service_kit::nats::connect(&config.nats, "client-core tests")
        .await
        .expect("NATS is running");
    let js = jetstream::new(nats.clone());
    let mut app = TestApp {
        db,
        config,
        grpc: ClientBaseServiceClient::new(
            Channel::from_static("http://127.0.0.1:1").connect_lazy(),
        ),
        channel: Channel::from_static("http://127.0.0.1:1").connect_lazy(),
        http: String::new(),
        nats,
        js,
        running: None,
    };
    app.start().await;
    app
}

impl TestApp {
    /// Starts (or restarts) the service with the same database, stream and subjects.
    pub async fn start(&mut self) {
        assert!(self.running.is_none(), "already running");
        let app = App::build(self.config.clone())
            .await
            .expect("client-core builds");
        let grpc_addr = app.grpc_addr().unwrap();
        self.http = format!("http://{}", app.http_addr().unwrap());
        let metrics = app.metrics();
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn(app.run_until_stopped(shutdown.clone()));
        let channel = Channel::from_shared(format!("http://{grpc_addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        self.grpc = ClientBaseServiceClient::new(channel.clone());
        self.channel = channel;
        self.running = Some(Running {
            shutdown,
            handle,
            metrics,
        });
    }

    /// Stops the service gracefully and returns its metrics text.
    pub async fn stop(&mut self) -> String {
        let running = self.running.take().expect("running");
        running.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(20), running.handle)
            .await
            .expect("stops within 20 s")
            .expect("task joins")
            .expect("stops cleanly");
        running.metrics.base().render()
    }

    /// Metrics text of the running instance.
    pub fn metrics(&self) -> String {
        self.running
            .as_ref()
            .expect("running")
            .metrics
            .base()
            .render()
    }

    pub fn subject(&self, s: &str) -> String {
        self.config.subject(s)
    }

    pub async fn conn(&self) -> AsyncPgConnection {
        AsyncPgConnection::establish(self.db.url()).await.unwrap()
    }

    /// Runs a statement on the database (a test's own set-up).
    pub async fn execute(&self, sql: &str) {
        use diesel_async::RunQueryDsl;
        diesel::sql_query(sql)
            .execute(&mut self.conn().await)
            .await
            .unwrap();
    }

    /// Runs a query returning one `n` bigint column.
    pub async fn count(&self, sql: &str) -> i64 {
        self.db.count(sql).await
    }

    /// Sends a create batch and waits for the reply.
    pub async fn create_batch(&self, items: Vec<ClientCreate>) -> ClientCreateBatchReply {
        let payload = ClientCreateBatch { items }.encode_to_vec();
        let reply = tokio::time::timeout(
            Duration::from_secs(10),
            self.nats
                .request(self.subject(proto::subjects::CLIENT_CREATE), payload.into()),
        )
        .await
        .expect("reply within 10 s")
        .expect("request answered");
        ClientCreateBatchReply::decode(reply.payload).expect("a ClientCreateBatchReply")
    }

    /// Publishes an update to JetStream and waits for its PubAck.
    pub async fn publish_update(&self, event: &ClientUpdated) {
        self.publish_raw_update(event.encode_to_vec()).await;
    }

    pub async fn publish_raw_update(&self, payload: Vec<u8>) {
        self.js
            .publish(self.subject(proto::subjects::CLIENT_UPDATE), payload.into())
            .await
            .unwrap()
            .await
            .unwrap();
    }

    /// Waits until `sql` (one bigint `n`) returns `expected`, at most 20 s.
    pub async fn eventually(&self, sql: &str, expected: i64) {
        self.db.eventually(sql, expected).await;
    }

    /// Stops the service if running, deletes the stream, drops the database.
    pub async fn cleanup(mut self) {
        if self.running.is_some() {
            self.stop().await;
        }
        let _ignored = self.js.delete_stream(&self.config.stream).await;
        self.db.cleanup().await.unwrap();
    }
}

pub fn client_data(external_id: &str, nom: &str) -> ClientData {
    ClientData {
        type_client: "PARTICULIER".into(),
        nom: nom.into(),
        prenom: "Marie".into(),
        date_naissance: Some("1984-03-12".into()),
        compte_code: format!("WLP-{external_id}"),
        telephone: Some("06 12 34 56 78".into()),
        email: Some(format!("{external_id}@example.fr")),
        canal_acquisition: format!("winleadplus:{external_id}"),
        iban: Some("FR7630006000011234567890189".into()),
        bic: Some("AGRIFRPP".into()),
        mandat_sepa: Some(true),
        numss: Some("184037512345678".into()),
        ..ClientData::default()
    }
}

pub fn create_item(org: Uuid, external_id: &str, nom: &str, version: i64) -> ClientCreate {
    ClientCreate {
        organisation_id: org.to_string(),
        source: "WinLeadPlus".into(),
        external_id: external_id.into(),
        source_version: version,
        data: Some(client_data(external_id, nom)),
        address: Some(AddressData {
            ligne1: Some("12 rue des Lilas".into()),
            ligne2: None,
            code_postal: Some("01000".into()),
            ville: Some("Bourg-en-Bresse".into()),
            pays: "FR".into(),
        }),
    }
}

pub fn update_event(
    org: Uuid,
    client_id: &str,
    external_id: &str,
    nom: &str,
    version: i64,
) -> ClientUpdated {
    ClientUpdated {
        client_id: client_id.into(),
        organisation_id: org.to_string(),
        source: "WinLeadPlus".into(),
        external_id: external_id.into(),
        source_version: version,
        data: Some(client_data(external_id, nom)),
        address: None,
        lifecycle: proto::events::Lifecycle::Update.into(),
    }
}

/// The client id of a create result, or a panic with the item's error.
pub fn client_id(result: &proto::events::ClientCreateResult) -> String {
    match &result.outcome {
        Some(proto::events::client_create_result::Outcome::ClientId(id)) => id.clone(),
        other => panic!("item {} failed: {other:?}", result.external_id),
    }
}

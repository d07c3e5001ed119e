//! Prometheus metrics of client-core, served as text on `/metrics`. Names are documented
//! in the README. gRPC calls are counted by service-kit's layer, into this registry.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use service_kit::grpc::RpcMetrics;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabels {
    kind: &'static str,
    outcome: &'static str,
}

struct Inner {
    registry: Arc<Registry>,
    statements: Counter,
    rpcs: RpcMetrics,
    events: Family<EventLabels, Counter>,
    pending: Gauge<u64, AtomicU64>,
}

/// The metrics of one client-core instance (cheap to clone; no global registry).
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let statements = Counter::default();
        registry.register(
            "core_db_statements",
            "Statements sent to PostgreSQL",
            statements.clone(),
        );
        let rpcs = RpcMetrics::register(&mut registry, "core_grpc_requests");
        let events = Family::<EventLabels, Counter>::default();
        let pending = Gauge::<u64, AtomicU64>::default();
        registry.register(
            "core_events",
            "NATS events by kind (create, update) and outcome (applied, ignored, failed, dead_lettered)",
            events.clone(),
        );
        registry.register(
            "core_update_consumer_pending",
            "Updates waiting in the JetStream consumer, as last seen",
            pending.clone(),
        );
        Self(Arc::new(Inner {
            registry: Arc::new(registry),
            statements,
            rpcs,
            events,
            pending,
        }))
    }

    /// The counter of gRPC calls, for the server's metrics layer.
    pub fn rpc(&self) -> RpcMetrics {
        self.0.rpcs.clone()
    }

    fn event(&self, kind: &'static str, outcome: &'static str) {
        self.0
            .events
            .get_or_create(&EventLabels { kind, outcome })
            .inc();
    }

    /// Counts an event applied.
    pub fn events_applied(&self, kind: &'static str) {
        self.event(kind, "applied");
    }

    /// Counts an event acknowledged without effect.
    pub fn events_ignored(&self, kind: &'static str) {
        self.event(kind, "ignored");
    }

    /// Counts an event (or item) that failed.
    pub fn events_failed(&self, kind: &'static str) {
        self.event(kind, "failed");
    }

    /// Counts an event stored as a dead letter.
    pub fn events_dead_lettered(&self, kind: &'static str) {
        self.event(kind, "dead_lettered");
    }

    /// Records the consumer's pending count.
    pub fn set_consumer_pending(&self, pending: u64) {
        self.0.pending.set(pending);
    }

    /// A hook counting statements, for the database pool.
    pub fn statement_hook(&self) -> crm_db::pool::StatementHook {
        let statements = self.0.statements.clone();
        Arc::new(move || {
            statements.inc();
        })
    }

    /// The registry every metric lives in (what `/metrics` serves).
    pub fn registry(&self) -> Arc<Registry> {
        Arc::clone(&self.0.registry)
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        service_kit::ops::render(&self.0.registry)
    }
}

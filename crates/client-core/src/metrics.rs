//! Prometheus metrics of client-core, served as text on `/metrics`. Names are documented
//! in the README. gRPC calls are counted by service-kit's layer, into this registry.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use service_kit::metrics::ServiceMetrics;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabels {
    kind: &'static str,
    outcome: &'static str,
}

struct Inner {
    base: ServiceMetrics,
    events: Family<EventLabels, Counter>,
    pending: Gauge<u64, AtomicU64>,
    purged: Counter,
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
    /// What every service counts (statements per database, gRPC calls), the registry and
    /// `render` for `/metrics`.
    pub fn base(&self) -> &ServiceMetrics {
        &self.0.base
    }

    /// Registers every metric.
    pub fn new() -> Self {
        let mut registering = ServiceMetrics::register("core");
        let registry = registering.registry();
        let events = Family::<EventLabels, Counter>::default();
        let pending = Gauge::<u64, AtomicU64>::default();
        let purged = Counter::default();
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
        registry.register(
            "core_dead_letters_purged",
            "Dead letters deleted by the retention purge (CORE_DEAD_LETTER_RETENTION_DAYS)",
            purged.clone(),
        );
        Self(Arc::new(Inner {
            base: registering.finish(),
            events,
            pending,
            purged,
        }))
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

    /// Counts dead letters purged.
    pub fn dead_letters_purged(&self, purged: usize) {
        self.0
            .purged
            .inc_by(u64::try_from(purged).unwrap_or(u64::MAX));
    }

    /// Records the consumer's pending count.
    pub fn set_consumer_pending(&self, pending: u64) {
        self.0.pending.set(pending);
    }
}

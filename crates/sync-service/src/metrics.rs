//! Prometheus metrics of sync-service, served as text on `/metrics`. Names are documented
//! in the README. gRPC calls are counted by service-kit's layer, into this registry.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use service_kit::metrics::ServiceMetrics;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SyncLabels {
    status: &'static str,
    dry_run: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProspectLabels {
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GuardLabels {
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: String,
}

struct Inner {
    base: ServiceMetrics,
    syncs: Family<SyncLabels, Counter>,
    durations: Family<SyncLabels, Histogram>,
    prospects: Family<ProspectLabels, Counter>,
    http: Family<StatusLabels, Counter>,
    archive_guard: Family<GuardLabels, Counter>,
}

/// The metrics of one sync-service instance (cheap to clone; no global registry).
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn duration_histogram() -> Histogram {
    Histogram::new([
        0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0,
    ])
}

impl Metrics {
    /// What every service counts (statements per database, gRPC calls), the registry and
    /// `render` for `/metrics`.
    pub fn base(&self) -> &ServiceMetrics {
        &self.0.base
    }

    /// Registers every metric.
    pub fn new() -> Self {
        let mut registering = ServiceMetrics::register("sync");
        let registry = registering.registry();
        let syncs = Family::<SyncLabels, Counter>::default();
        let durations = Family::<SyncLabels, Histogram>::new_with_constructor(
            duration_histogram as fn() -> Histogram,
        );
        let prospects = Family::<ProspectLabels, Counter>::default();
        let http = Family::<StatusLabels, Counter>::default();
        registry.register(
            "sync_runs",
            "Finished syncs by status and dry run",
            syncs.clone(),
        );
        registry.register(
            "sync_run_duration_seconds",
            "Duration of finished syncs",
            durations.clone(),
        );
        registry.register(
            "sync_prospects",
            "Prospects handled, by outcome (created, updated, skipped, failed, archived)",
            prospects.clone(),
        );
        let archive_guard = Family::<GuardLabels, Counter>::default();
        registry.register(
            "sync_archive_guard",
            "Syncs that archived none of the prospects missing from WinLeadPlus's answer because \
             of the archive guard, by reason (ratio: more than SYNC_MAX_ARCHIVE_RATIO; empty: \
             an empty answer while prospects are mapped)",
            archive_guard.clone(),
        );
        registry.register(
            "sync_winleadplus_http_responses",
            "WinLeadPlus responses by HTTP status (0: no response)",
            http.clone(),
        );
        Self(Arc::new(Inner {
            base: registering.finish(),
            syncs,
            durations,
            prospects,
            http,
            archive_guard,
        }))
    }

    /// Counts a finished sync and its duration.
    pub fn sync_finished(&self, status: &'static str, dry_run: bool, duration: Duration) {
        let labels = SyncLabels {
            status,
            dry_run: if dry_run { "true" } else { "false" },
        };
        self.0.syncs.get_or_create(&labels).inc();
        self.0
            .durations
            .get_or_create(&labels)
            .observe(duration.as_secs_f64());
    }

    /// Counts a prospect by outcome.
    pub fn prospect(&self, outcome: &'static str) {
        self.prospects(outcome, 1);
    }

    /// Counts `count` prospects of one outcome.
    pub fn prospects(&self, outcome: &'static str, count: u64) {
        self.0
            .prospects
            .get_or_create(&ProspectLabels { outcome })
            .inc_by(count);
    }

    /// Counts a sync whose archive guard held (`ratio` or `empty`).
    pub fn archive_guard(&self, reason: &'static str) {
        self.0
            .archive_guard
            .get_or_create(&GuardLabels { reason })
            .inc();
    }

    /// Counts a WinLeadPlus response.
    pub fn winleadplus_status(&self, status: u16) {
        self.0
            .http
            .get_or_create(&StatusLabels {
                status: status.to_string(),
            })
            .inc();
    }
}

//! The metrics every service has, whatever its domain: one registry per process (no global
//! one), the statements it sends to PostgreSQL (`{prefix}_db_statements`) and its gRPC calls
//! (`{prefix}_grpc_requests`, counted by the server's layer). A service registers its own
//! metrics into the same registry, then freezes it with [`ServiceMetrics::finish`].

use std::sync::Arc;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;

use crate::grpc::RpcMetrics;

/// The shared metrics of one service instance (cheap to clone).
#[derive(Clone)]
pub struct ServiceMetrics {
    registry: Arc<Registry>,
    statements: Counter,
    rpcs: RpcMetrics,
}

/// The registry while the service adds its own metrics to it.
pub struct Registering {
    registry: Registry,
    statements: Counter,
    rpcs: RpcMetrics,
}

impl ServiceMetrics {
    /// Starts a registry with the shared metrics, names prefixed with `prefix` (`core`,
    /// `sync`); the service registers its own into [`Registering::registry`].
    pub fn register(prefix: &str) -> Registering {
        let mut registry = Registry::default();
        let statements = Counter::default();
        registry.register(
            format!("{prefix}_db_statements"),
            "Statements sent to PostgreSQL",
            statements.clone(),
        );
        let rpcs = RpcMetrics::register(&mut registry, &format!("{prefix}_grpc_requests"));
        Registering {
            registry,
            statements,
            rpcs,
        }
    }

    /// The counter of gRPC calls, for the server's metrics layer.
    pub fn rpc(&self) -> RpcMetrics {
        self.rpcs.clone()
    }

    /// A hook counting statements, for the database pool (`crm_db::pool::StatementHook`).
    pub fn statement_hook(&self) -> Arc<dyn Fn() + Send + Sync> {
        let statements = self.statements.clone();
        Arc::new(move || {
            statements.inc();
        })
    }

    /// The registry every metric lives in (what `/metrics` serves).
    pub fn registry(&self) -> Arc<Registry> {
        Arc::clone(&self.registry)
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        crate::ops::render(&self.registry)
    }
}

impl Registering {
    /// Where the service registers its own metrics.
    pub fn registry(&mut self) -> &mut Registry {
        &mut self.registry
    }

    /// Freezes the registry.
    pub fn finish(self) -> ServiceMetrics {
        ServiceMetrics {
            registry: Arc::new(self.registry),
            statements: self.statements,
            rpcs: self.rpcs,
        }
    }
}

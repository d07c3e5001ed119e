//! The spans a sync leaves behind, read the way an operator reads a slow sync: a span per
//! page fetched (with its size), per store operation (with its `op`) and per NATS batch, each
//! nested in the sync's span. A subscriber scoped to this test collects them.
//!
//! The test runs on a current-thread runtime: every task of the stack (the gRPC handler, the
//! engine's fetch and recording tasks, client-core's responder) is then polled on this thread,
//! where the collecting subscriber is the default, while the other tests of the binary keep
//! theirs.
//!
//! A scoped subscriber meets a race in tracing's callsite cache: another test that opens a
//! `sync` span for the first time while this one installs its subscriber can cache that
//! callsite as "never interested" for the whole binary. Rebuilding the cache once the stack
//! is up, right before the sync, makes every callsite ask this subscriber again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Metadata, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use uuid::Uuid;
use winleadplus_sim::Shape;

use crate::helpers::{Options, spawn_stack_with};

/// One span as it ended up: its fields (recorded at creation or later) and where it sat.
#[derive(Debug, Clone)]
struct Seen {
    name: &'static str,
    /// The module that opened it (`sync_service::…` or `client_core::…`).
    target: &'static str,
    fields: HashMap<&'static str, String>,
    /// Names of the enclosing spans, innermost first.
    ancestors: Vec<&'static str>,
}

impl Seen {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }

    fn number(&self, name: &str) -> u64 {
        self.field(name)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{} has no numeric {name}: {self:?}", self.name))
    }

    fn in_sync(&self) -> bool {
        self.ancestors.contains(&"sync")
    }
}

/// A layer that keeps every span opened while it is the default subscriber.
#[derive(Clone, Default)]
struct Collector(Arc<Mutex<Vec<Seen>>>);

/// Where a span's entry is in the collector (kept in the span's extensions).
#[derive(Clone, Copy)]
struct Slot(usize);

struct Fields<'a>(&'a mut HashMap<&'static str, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name(), format!("{value:?}"));
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Collector {
    fn enabled(&self, _: &Metadata<'_>, _: Context<'_, S>) -> bool {
        true
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = HashMap::new();
        attrs.record(&mut Fields(&mut fields));
        let seen = Seen {
            name: attrs.metadata().name(),
            target: attrs.metadata().target(),
            fields,
            ancestors: span.scope().skip(1).map(|s| s.name()).collect(),
        };
        let mut all = self.0.lock().unwrap();
        all.push(seen);
        span.extensions_mut().insert(Slot(all.len() - 1));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let Some(Slot(slot)) = span.extensions().get::<Slot>().copied() else {
            return;
        };
        let mut all = self.0.lock().unwrap();
        values.record(&mut Fields(&mut all[slot].fields));
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_paginated_sync_leaves_a_span_per_page_store_operation_and_nats_batch() {
    let collector = Collector::default();
    let _default =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(collector.clone()));
    // 25 prospects served 10 a page: pages of 10, 10 and 5; batches of 10 as well.
    let stack = spawn_stack_with(Options {
        prospects: winleadplus_sim::generate(25, 3),
        batch_size: 10,
        ..Options::default()
    })
    .await;
    stack.sim.set_shape(Shape::Paginated { page_size: 10 });
    let org = Uuid::new_v4();
    stack.configure(org).await;
    tracing_core::callsite::rebuild_interest_cache();

    let (success, log) = stack.sync_now(org, false).await;
    stack.cleanup().await;

    assert!(success, "{log:?}");
    assert_eq!(log.total_prospects, 25);
    let spans = collector.0.lock().unwrap().clone();
    let sync: Vec<&Seen> = spans.iter().filter(|s| s.name == "sync").collect();
    assert_eq!(sync.len(), 1, "one sync span");
    assert_eq!(
        sync[0].field("organisation_id"),
        Some(org.to_string().as_str())
    );
    assert_eq!(sync[0].field("sync_id"), Some(log.id.as_str()));
    assert_eq!(sync[0].field("dry_run"), Some("false"));

    // Fetch: one span per page, with its number, status, size and records.
    let pages: Vec<&Seen> = spans.iter().filter(|s| s.name == "fetch_page").collect();
    let numbers: Vec<u64> = pages.iter().map(|p| p.number("page")).collect();
    assert_eq!(numbers, [1, 2, 3], "{pages:#?}");
    let records: Vec<u64> = pages.iter().map(|p| p.number("records")).collect();
    assert_eq!(records, [10, 10, 5]);
    for page in &pages {
        assert!(page.in_sync(), "{page:?}");
        assert_eq!(page.number("status"), 200);
        assert_eq!(page.number("attempts"), 1);
        assert!(page.number("bytes") > 100, "{page:?}");
    }

    // Stores: each operation of the run in a "db" span with its op, inside the sync.
    let ops: Vec<&Seen> = spans
        .iter()
        .filter(|s| s.name == "db" && s.in_sync())
        .collect();
    let op_names: Vec<&str> = ops.iter().filter_map(|s| s.field("op")).collect();
    for expected in [
        "config_by_organisation",
        "lease",
        "load_mappings",
        "record_batch",
        "upsert_contrats",
        "upsert_mappings",
        "finish",
        "set_last_sync",
    ] {
        assert!(
            op_names.contains(&expected),
            "no {expected} in {op_names:?}"
        );
    }
    let recorded: Vec<u64> = ops
        .iter()
        .filter(|s| s.field("op") == Some("record_batch"))
        .map(|s| s.number("batch"))
        .collect();
    assert_eq!(
        recorded,
        [10, 10, 5],
        "one record_batch span per batch, sized"
    );
    assert!(
        ops.iter()
            .filter(|s| s.field("op") == Some("upsert_mappings"))
            .all(|s| s.ancestors.first() == Some(&"db")),
        "statement groups nest in their batch's span"
    );

    // NATS: each create request of sync-service, and each batch client-core served.
    let sent: Vec<&Seen> = spans
        .iter()
        .filter(|s| s.name == "create_batch" && s.target.starts_with("sync_service"))
        .collect();
    assert_eq!(
        sent.iter().map(|s| s.number("batch")).collect::<Vec<_>>(),
        [10, 10, 5]
    );
    assert!(
        sent.iter()
            .all(|s| s.in_sync() && s.field("subject").is_some())
    );
    let served: Vec<&Seen> = spans
        .iter()
        .filter(|s| s.name == "create_batch" && s.target.starts_with("client_core::nats"))
        .collect();
    assert_eq!(served.len(), 3, "{served:#?}");
    assert_eq!(served.iter().map(|s| s.number("created")).sum::<u64>(), 25);
    assert!(served.iter().all(|s| s.number("failed") == 0));
}

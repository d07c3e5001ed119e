//! What the logs keep: a full sync, creates then updates, at `RUST_LOG=trace` through the
//! services' own log layer, with sentinel values for the WinLeadPlus token, an IBAN, a BIC
//! and a social-security number. None of them may appear in any line either service writes,
//! valid or not (a refused IBAN is masked in the sync log's warnings too).
//!
//! Like `spans.rs`, the test runs on a current-thread runtime so that every task of the
//! stack logs through the subscriber it installs, and rebuilds tracing's callsite interest
//! once the stack is up (see there why).

use std::io::Write;
use std::sync::{Arc, Mutex};

use proto::winleadplus::UpdateWinLeadPlusConfigRequest;
use serde_json::{Value, json};
use service_kit::telemetry::{self, LogFormat};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use uuid::Uuid;

use crate::helpers::{Options, spawn_stack_with};

const TOKEN: &str = "wlp-SENTINEL-token-5c1f9e";
/// A valid French IBAN (mod 97), so it travels the whole way to client-core.
const IBAN: &str = "FR0712739000705173856491803";
/// The same account with wrong check digits: not stored, a warning.
const BAD_IBAN: &str = "FR9912739000705173856491803";
const BIC: &str = "SNTLFRPPXXX";
const NUMSS: &str = "184127512399917";
/// The account number both IBANs share: no part of it long enough to identify it may show.
const ACCOUNT: &str = "00705173856491803";

/// Every line written, in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'w> MakeWriter<'w> for Captured {
    type Writer = Captured;

    fn make_writer(&'w self) -> Captured {
        self.clone()
    }
}

fn with_payment(mut prospect: Value, iban: &str) -> Value {
    prospect["informationsPaiement"] = json!([{ "iban": iban, "BIC": BIC, "mandatSepa": "M-1" }]);
    prospect["numss"] = json!(NUMSS);
    prospect
}

#[tokio::test(flavor = "current_thread")]
async fn a_full_sync_at_trace_logs_no_token_iban_bic_or_numss() {
    let lines = Captured::default();
    let subscriber = tracing_subscriber::registry().with(telemetry::layer(
        LogFormat::Json,
        false,
        "trace",
        lines.clone(),
    ));
    let _default = tracing::subscriber::set_default(subscriber);

    let mut prospects = winleadplus_sim::generate(6, 11);
    prospects[0] = with_payment(prospects[0].clone(), IBAN);
    prospects[1] = with_payment(prospects[1].clone(), BAD_IBAN);
    let stack = spawn_stack_with(Options {
        prospects: prospects.clone(),
        batch_size: 4,
        ..Options::default()
    })
    .await;
    stack.sim.set_token(TOKEN);
    let org = Uuid::new_v4();
    tracing_core::callsite::rebuild_interest_cache();
    stack
        .member_of(org)
        .sync
        .save_config(UpdateWinLeadPlusConfigRequest {
            organisation_id: Some(org.to_string()),
            api_endpoint: Some(stack.sim.prospects_url()),
            api_token: Some(TOKEN.into()),
            enabled: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();

    let (created, first) = stack.sync_now(org, false).await;
    // Every prospect changes (the sentinel one keeps its payment data): updates go through
    // JetStream to client-core.
    for p in &mut prospects {
        p["nom"] = json!("Changé");
    }
    stack.sim.set_prospects(prospects);
    let (updated, second) = stack.sync_now(org, false).await;
    stack
        .core_eventually(
            "SELECT count(*) AS n FROM clientbases WHERE nom = 'Changé'",
            6,
        )
        .await;
    let iban_stored = stack
        .core_count(&format!(
            "SELECT count(*) AS n FROM clientbases WHERE iban = '{IBAN}' AND bic = '{BIC}' \
             AND numss = '{NUMSS}'"
        ))
        .await;
    stack.cleanup().await;

    assert!(created && updated, "{first:?} {second:?}");
    assert_eq!((first.created, first.failed), (6, 0), "{first:?}");
    assert_eq!(second.updated, 6, "{second:?}");
    assert_eq!(
        iban_stored, 1,
        "the sentinel client landed with its payment data"
    );
    let messages = format!("{first:?} {second:?}");
    assert!(
        messages.contains("IBAN") && !messages.contains(ACCOUNT),
        "the refused IBAN is reported, masked: {messages}"
    );

    let text = lines.text();
    assert!(
        text.lines().count() > 100 && text.contains("\"level\":\"TRACE\""),
        "the capture saw the trace-level run: {} lines",
        text.lines().count()
    );
    for service in ["sync_service", "client_core"] {
        assert!(
            text.contains(&format!("\"target\":\"{service}")),
            "the capture saw {service}'s lines"
        );
    }
    for (what, sentinel) in [
        ("token", TOKEN),
        ("IBAN", IBAN),
        ("refused IBAN", BAD_IBAN),
        ("account number", ACCOUNT),
        ("BIC", BIC),
        ("numss", NUMSS),
    ] {
        let leaks: Vec<&str> = text
            .lines()
            .filter(|l| l.contains(sentinel))
            .take(3)
            .collect();
        assert!(leaks.is_empty(), "the {what} is in the logs: {leaks:#?}");
    }
}

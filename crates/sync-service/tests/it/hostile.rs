//! Hostile WinLeadPlus data: every odd record fails alone, with its record number, the rest
//! of the sync goes on and ends SUCCESS; a row the database refuses fails only its prospect,
//! which the next sync retries; a server that never finishes cannot hold the lease for ever.

use std::time::Duration;

use serde_json::json;
use uuid::Uuid;
use winleadplus_sim::Fault;

use crate::helpers::{Options, counters, fixture, spawn_stack, spawn_stack_with};

/// The edge fixture (12 records), then the hostile ones, as raw bytes.
fn hostile_payload() -> Vec<Vec<u8>> {
    let mut records: Vec<Vec<u8>> = fixture("prospects-edge.json")
        .iter()
        .map(|p| p.to_string().into_bytes())
        .collect();
    // 13: a 10 MB string.
    records.push(
        format!(
            r#"{{"idProspect": 3001, "nom": "Gros", "notes": "{}"}}"#,
            "x".repeat(10 * 1024 * 1024)
        )
        .into_bytes(),
    );
    // 14: nested 70 levels deep.
    records.push(
        format!(
            r#"{{"idProspect": 3002, "nom": "Profond", "x": {}1{}}}"#,
            "[".repeat(70),
            "]".repeat(70)
        )
        .into_bytes(),
    );
    // 15: a number no f64 holds.
    records.push(br#"{"idProspect": 3003, "nom": "Expo", "montant": 1e400}"#.to_vec());
    // 16: invalid UTF-8 in a string.
    records.push(b"{\"idProspect\": 3004, \"nom\": \"Oct\xff\xfeet\"}".to_vec());
    // 17: a lone surrogate.
    records.push(br#"{"idProspect": 3005, "nom": "Demi\ud800"}"#.to_vec());
    // 18: amount, price, quantity and date that their columns cannot hold.
    records.push(
        json!({
            "idProspect": 3006, "nom": "Montant",
            "contrats": [{ "idContrat": 9001, "montant": "99999999999999999999.99",
                           "dateSignature": "2999-01-01" }],
            "abonnements": [{ "offreId": 1, "nom": "Box", "prix_base": 1e13,
                              "quantite": 99_999_999_999_i64 }],
        })
        .to_string()
        .into_bytes(),
    );
    // 19: a birth date before 1900.
    records.push(
        json!({ "idProspect": 3007, "nom": "Naissance", "dateNaissance": "0001-01-01" })
            .to_string()
            .into_bytes(),
    );
    // 20: an ordinary prospect after all of them.
    records.push(
        json!({ "idProspect": 3008, "nom": "Dernier", "prenom": "Arrivé" })
            .to_string()
            .into_bytes(),
    );
    records
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_records_fail_alone_with_their_number_and_the_sync_succeeds() {
    let stack = spawn_stack_with(Options {
        raw: Some(hostile_payload()),
        ..Options::default()
    })
    .await;
    let org = Uuid::new_v4();
    stack.configure(org).await;

    let (success, log) = stack.sync_now(org, false).await;

    assert!(success, "{log:?}");
    assert_eq!(log.status, "SUCCESS");
    // Edge fixture: 5 created, 7 failed; hostile: 3006, 3007, 3008 created, 13–17 failed.
    assert_eq!(counters(&log), (20, 8, 0, 0, 12));
    let expected_errors = [
        "prospect 3001: record 13 is larger than 256 KB (WINLEADPLUS_MAX_RECORD_KB); not imported",
        "prospect 3002: record 14 is nested deeper than 64 levels; not imported",
        "prospect 3003: record 15 is not valid JSON: number out of range",
        "prospect 3004: record 16 is not valid JSON: invalid unicode code point",
        "prospect 3005: record 17 is not valid JSON: unexpected end of hex escape",
    ];
    for expected in expected_errors {
        assert!(
            log.errors.iter().any(|e| e.starts_with(expected)),
            "{expected:?} not in {:#?}",
            log.errors
        );
    }
    assert!(
        log.errors.iter().all(|e| e.chars().count() < 400),
        "errors are short: {:?}",
        log.errors.iter().map(|e| e.len()).collect::<Vec<_>>()
    );
    for expected in [
        "prospect 3006: contrat 9001: montant 99999999999999999999.99 out of range; not stored",
        "prospect 3006: contrat 9001: dateSignature \"2999-01-01\" out of range; not stored",
        "prospect 3006: abonnements[0].prix_base 10000000000000.0 out of range; not stored",
        "prospect 3006: abonnements[0].quantite 99999999999 out of range; not stored",
        "prospect 3007: dateNaissance \"0001-01-01\" out of range; not stored",
    ] {
        assert!(
            log.warnings.iter().any(|w| w == expected),
            "{expected:?} not in {:#?}",
            log.warnings
        );
    }

    let org_filter = format!("organisation_id = '{org}'");
    assert_eq!(
        stack
            .core_count(&format!(
                "SELECT count(*) AS n FROM clientbases WHERE {org_filter}"
            ))
            .await,
        8
    );
    assert_eq!(
        stack
            .core_count(&format!(
                "SELECT count(*) AS n FROM clientbases WHERE {org_filter} \
                 AND external_id IN ('3006', '3007', '3008') AND date_naissance IS NULL"
            ))
            .await,
        3
    );
    assert_eq!(
        stack
            .commercial_count(&format!(
                "SELECT count(*) AS n FROM contrats c JOIN lignes_contrat l ON l.contrat_id = c.id \
                 WHERE c.{org_filter} AND c.reference = 'WLP-CONTRAT-9001' AND c.montant IS NULL \
                 AND c.date_signature IS NULL AND l.nom = 'Box' AND l.prix_unitaire IS NULL AND l.quantite = 1"
            ))
            .await,
        1
    );
    assert_eq!(
        stack
            .commercial_count(&format!(
                "SELECT count(*) AS n FROM winleadplus_mappings WHERE {org_filter}"
            ))
            .await,
        8
    );

    // The same payload again: the recorded prospects are skipped, the bad ones fail again,
    // nothing is published.
    let published = stack.published().await;
    let (success, again) = stack.sync_now(org, false).await;
    assert!(success, "{again:?}");
    assert_eq!(
        (
            again.total_prospects,
            again.created,
            again.updated,
            again.skipped,
            again.failed
        ),
        (20, 0, 0, 8, 12)
    );
    assert_eq!(stack.published().await, published);
    stack.cleanup().await;
}

/// Six prospects with one contract each; prospect `3` owns `WLP-CONTRAT-7003`.
fn prospects_with_contracts() -> Vec<serde_json::Value> {
    (1..=6)
        .map(|i| {
            json!({
                "idProspect": i, "nom": format!("Client{i}"), "telephone": format!("06000000{i:02}"),
                "contrats": [{ "idContrat": 7000 + i, "montant": "10.50" }],
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_the_database_refuses_fails_its_prospect_only_and_is_retried_next_time() {
    let stack = spawn_stack(prospects_with_contracts()).await;
    let org = Uuid::new_v4();
    stack.configure(org).await;
    // A rule of the database that the mapper does not know: it refuses one contract row.
    stack
        .commercial_execute(
            "ALTER TABLE contrats ADD CONSTRAINT test_refuses_7003 CHECK (reference <> 'WLP-CONTRAT-7003')",
        )
        .await;

    let (success, log) = stack.sync_now(org, false).await;

    assert!(success, "{log:?}");
    assert_eq!(log.status, "SUCCESS");
    assert_eq!(counters(&log), (6, 5, 0, 0, 1));
    assert_eq!(log.errors.len(), 1, "{:?}", log.errors);
    assert!(
        log.errors[0].starts_with("prospect 3: not recorded: ")
            && log.errors[0].contains("test_refuses_7003"),
        "{:?}",
        log.errors
    );
    let org_filter = format!("organisation_id = '{org}'");
    assert_eq!(
        stack
            .commercial_count(&format!(
                "SELECT count(*) AS n FROM winleadplus_mappings WHERE {org_filter} AND winleadplus_prospect_id <> 3 \
                 AND cardinality(crm_contrat_ids) = 1"
            ))
            .await,
        5
    );
    assert_eq!(
        stack
            .commercial_count(&format!(
                "SELECT count(*) AS n FROM winleadplus_mappings WHERE {org_filter} AND winleadplus_prospect_id = 3"
            ))
            .await,
        0,
        "the refused prospect's mapping is not advanced"
    );
    assert_eq!(
        stack
            .commercial_count(&format!(
                "SELECT count(*) AS n FROM contrats WHERE {org_filter}"
            ))
            .await,
        5
    );

    // Once the database takes the row, the next sync retries that prospect only.
    stack
        .commercial_execute("ALTER TABLE contrats DROP CONSTRAINT test_refuses_7003")
        .await;
    let (success, retry) = stack.sync_now(org, false).await;
    assert!(success, "{retry:?}");
    assert_eq!(
        (
            retry.total_prospects,
            retry.created,
            retry.updated,
            retry.skipped,
            retry.failed
        ),
        (6, 1, 0, 5, 0)
    );
    assert_eq!(
        stack
            .commercial_count(&format!(
                "SELECT count(*) AS n FROM contrats WHERE {org_filter} AND reference = 'WLP-CONTRAT-7003'"
            ))
            .await,
        1
    );
    // client-core answered the repeated create with the same client: no duplicate.
    assert_eq!(
        stack
            .core_count(&format!(
                "SELECT count(*) AS n FROM clientbases WHERE {org_filter}"
            ))
            .await,
        6
    );
    stack.cleanup().await;
}

/// Syncs six prospects against a server that sends its body one byte every `drip_ms`;
/// checks that the run ended FAILED with `reason`, within `within`, having recorded nothing,
/// and that the next sync (the fault spent) runs and imports everything.
async fn sync_against_a_dripping_server(
    options: Options,
    drip_ms: u64,
    reason: &str,
    within: Duration,
) {
    let stack = spawn_stack_with(Options {
        prospects: prospects_with_contracts(),
        ..options
    })
    .await;
    let org = Uuid::new_v4();
    stack.configure(org).await;
    stack.sim.push_fault(Fault::drip_ms(drip_ms));

    let started = std::time::Instant::now();
    let (success, log) = stack.sync_now(org, false).await;

    assert!(!success);
    assert_eq!(log.status, "FAILED");
    assert!(started.elapsed() < within, "took {:?}", started.elapsed());
    assert!(
        log.errors.iter().any(|e| e.contains(reason)),
        "{reason:?} not in {:?}",
        log.errors
    );
    assert_eq!(
        stack
            .commercial_count(&format!(
                "SELECT count(*) AS n FROM winleadplus_mappings WHERE organisation_id = '{org}'"
            ))
            .await,
        0
    );
    // The lease is free again: the next sync runs and imports everything.
    let (success, next) = stack.sync_now(org, false).await;
    assert!(success, "{next:?}");
    assert_eq!(next.created, 6);
    stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_finishes_is_cut_off_by_the_sync_deadline() {
    // One byte every 100 ms: never idle long enough for the read timeout, never done.
    sync_against_a_dripping_server(
        Options {
            max_duration_secs: 2,
            ..Options::default()
        },
        100,
        "the sync ran past its deadline of 2 s (SYNC_MAX_DURATION_SECS)",
        Duration::from_secs(15),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_goes_silent_is_cut_off_by_the_read_idle_timeout() {
    // One byte every 3 s: silent for longer than the 1 s read-idle timeout.
    sync_against_a_dripping_server(
        Options {
            read_idle_secs: 1,
            ..Options::default()
        },
        3_000,
        "timed out: no data for 1 s (WINLEADPLUS_READ_IDLE_SECS)",
        Duration::from_secs(15),
    )
    .await;
}

//! The sync end to end: first import, re-sync, changes, dry run, bad records, tenants,
//! concurrency — checked in both databases and on the wire.

use std::collections::HashSet;

use proto::clients::{ListClientsBaseRequest, PaginationRequest};
use proto::contrats::ListContratRequest;
use uuid::Uuid;

use crate::helpers::{counters, fixture, spawn_stack};

fn expected_contracts(prospects: &[serde_json::Value]) -> (usize, usize) {
    let mut refs = HashSet::new();
    let mut lines = 0;
    for p in prospects {
        if let Ok(m) = mapper::map_prospect(p) {
            for c in m.contrats {
                if refs.insert(c.reference.clone()) {
                    lines += c.lignes.len();
                }
            }
        }
    }
    (refs.len(), lines)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_sync_imports_every_prospect_as_a_client_with_its_contracts() {
    let prospects = fixture("prospects-sample-200.json");
    let (contracts, lines) = expected_contracts(&prospects);
    let invalid_ibans = prospects
        .iter()
        .filter(|p| mapper::map_prospect(p).is_ok_and(|m| m.client.iban.is_none()))
        .count() as i64;
    let stack = spawn_stack(prospects).await;
    let org = Uuid::new_v4();
    stack.configure(org).await;

    let (success, log) = stack.sync_now(org, false).await;

    assert!(success, "{log:?}");
    assert_eq!(log.status, "SUCCESS");
    assert_eq!(counters(&log), (200, 200, 0, 0, 0));
    assert!(!log.dry_run);
    let org_filter = format!("organisation_id = '{org}'");
    assert_eq!(stack.core_count(&format!("SELECT count(*) AS n FROM clientbases WHERE {org_filter} AND source = 'WinLeadPlus' AND external_source = 'WinLeadPlus'")).await, 200);
    // First prospect of the sample: Julien Haddad, whose IBAN fails mod-97 (null + warning),
    // address line 1 from adresse1.
    assert_eq!(
        stack
            .core_count(&format!(
                "SELECT count(*) AS n FROM clientbases c JOIN adresses a ON a.client_base_id = c.id \
                 WHERE c.{org_filter} AND c.external_id = '100000' AND c.nom = 'Haddad' AND c.prenom = 'Julien' \
                 AND c.iban IS NULL AND c.bic = 'PSSTFRPPXXX' AND c.mandat_sepa \
                 AND c.compte_code = 'WLP-100000' AND c.canal_acquisition = 'winleadplus:100000' AND c.statut = 'ACTIF' \
                 AND a.type = 'PRINCIPALE' AND a.ligne1 = '46 allée du Château' AND a.code_postal = '83000' AND a.ville = 'Toulon'"
            ))
            .await,
        1
    );
    assert_eq!(
        stack
            .core_count(&format!(
                "SELECT count(*) AS n FROM clientbases WHERE {org_filter} AND iban IS NULL"
            ))
            .await,
        invalid_ibans
    );
    assert!(invalid_ibans > 0, "the sample has invalid IBANs");
    assert!(
        log.warnings
            .iter()
            .any(|w| w.contains("IBAN") && w.starts_with("prospect ")),
        "{:?}",
        log.warnings
    );
    assert!(
        log.warnings
            .iter()
            .all(|w| !w.contains("FR1520041039498865147797724")),
        "no IBAN in clear in warnings"
    );
    assert_eq!(
        stack
            .commercial_count(&format!(
                "SELECT count(*) AS n FROM contrats WHERE {org_filter} AND source = 'WinLeadPlus'"
            ))
            .await,
        contracts as i64
    );
    assert_eq!(stack.commercial_count(&format!("SELECT count(*) AS n FROM lignes_contrat l JOIN contrats c ON c.id = l.contrat_id WHERE c.{org_filter}")).await, lines as i64);
    assert_eq!(
        stack
            .commercial_count(&format!(
                "SELECT count(*) AS n FROM winleadplus_mappings WHERE {org_filter}"
            ))
            .await,
        200
    );
    // Every contract points at the client of its prospect.
    let clients = stack
        .clients
        .clone()
        .list(ListClientsBaseRequest {
            organisation_id: org.to_string(),
            source: Some("WinLeadPlus".into()),
            pagination: Some(PaginationRequest {
                page: 1,
                limit: 100,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(clients.pagination.unwrap().total, 200);
    let listed = stack
        .contrats
        .clone()
        .list(ListContratRequest {
            organisation_id: org.to_string(),
            client_id: clients.clients[0].id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        listed
            .contrats
            .iter()
            .all(|c| c.client_id == clients.clients[0].id)
    );
    stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sync_of_unchanged_data_skips_everything_and_publishes_nothing() {
    let stack = spawn_stack(fixture("prospects-sample-200.json")).await;
    let org = Uuid::new_v4();
    stack.configure(org).await;
    stack.sync_now(org, false).await;
    let before = stack.published().await;
    assert!(before > 0);

    let (success, log) = stack.sync_now(org, false).await;

    assert!(success);
    assert_eq!(counters(&log), (200, 0, 0, 200, 0));
    assert_eq!(
        stack.published().await,
        before,
        "nothing published on an unchanged re-sync"
    );
    assert_eq!(
        stack
            .core_count(&format!(
                "SELECT count(*) AS n FROM clientbases WHERE organisation_id = '{org}'"
            ))
            .await,
        200
    );
    stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_prospects_are_updated_in_client_core() {
    let base = fixture("prospects-sample-200.json");
    let changed = fixture("prospects-sample-200-changed10.json");
    let differing: Vec<(i64, serde_json::Value)> = base
        .iter()
        .zip(&changed)
        .filter(|(a, b)| a != b)
        .map(|(_, b)| {
            (
                mapper::ProspectId::parse(&b["idProspect"]).unwrap().get(),
                b.clone(),
            )
        })
        .collect();
    let k = differing.len() as i32;
    assert!(k > 0);
    let stack = spawn_stack(base).await;
    let org = Uuid::new_v4();
    stack.configure(org).await;
    stack.sync_now(org, false).await;

    stack.sim.set_prospects(changed.clone());
    let (success, log) = stack.sync_now(org, false).await;

    assert!(success, "{log:?}");
    assert_eq!(counters(&log), (200, 0, k, 200 - k, 0));
    for (id, raw) in &differing {
        let m = mapper::map_prospect(raw).unwrap();
        let email = m.client.email.clone().map_or("IS NULL".to_owned(), |e| {
            format!("= '{}'", e.replace('\'', "''"))
        });
        let phone = m
            .client
            .telephone
            .clone()
            .map_or("IS NULL".to_owned(), |e| {
                format!("= '{}'", e.replace('\'', "''"))
            });
        stack
            .core_eventually(
                &format!(
                    "SELECT count(*) AS n FROM clientbases WHERE organisation_id = '{org}' AND external_id = '{id}' \
                     AND email {email} AND telephone {phone} AND source = 'WinLeadPlus' AND statut = 'ACTIF'"
                ),
                1,
            )
            .await;
    }
    let hashes = stack
        .commercial_count(&format!("SELECT count(DISTINCT source_version) AS n FROM winleadplus_mappings WHERE organisation_id = '{org}'"))
        .await;
    assert!(hashes >= 2, "updated mappings carry a newer source_version");
    // The changed prospects' contracts were upserted again: their lines replaced, not added.
    let (contracts, lines) = expected_contracts(&changed);
    assert_eq!(
        stack
            .commercial_count(&format!(
                "SELECT count(*) AS n FROM contrats WHERE organisation_id = '{org}'"
            ))
            .await,
        contracts as i64
    );
    assert_eq!(
        stack
            .commercial_count(&format!(
                "SELECT count(*) AS n FROM lignes_contrat l JOIN contrats c ON c.id = l.contrat_id WHERE c.organisation_id = '{org}'"
            ))
            .await,
        lines as i64
    );
    stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_counts_but_changes_nothing_anywhere() {
    let stack = spawn_stack(fixture("prospects-sample-200.json")).await;
    let org = Uuid::new_v4();
    stack.configure(org).await;

    let (success, log) = stack.sync_now(org, true).await;

    assert!(success);
    assert!(log.dry_run);
    assert_eq!(counters(&log), (200, 200, 0, 0, 0));
    assert_eq!(stack.published().await, 0);
    assert_eq!(
        stack
            .core_count("SELECT count(*) AS n FROM clientbases")
            .await,
        0
    );
    assert_eq!(
        stack
            .commercial_count("SELECT count(*) AS n FROM contrats")
            .await,
        0
    );
    assert_eq!(
        stack
            .commercial_count("SELECT count(*) AS n FROM winleadplus_mappings")
            .await,
        0
    );
    assert_eq!(
        stack
            .commercial_count(
                "SELECT count(*) AS n FROM winleadplus_configs WHERE last_sync_at IS NOT NULL"
            )
            .await,
        0
    );
    assert_eq!(
        stack
            .commercial_count("SELECT count(*) AS n FROM winleadplus_sync_logs WHERE dry_run")
            .await,
        1
    );
    stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_prospects_fail_alone_with_their_reason() {
    let stack = spawn_stack(fixture("prospects-edge.json")).await;
    let org = Uuid::new_v4();
    stack.configure(org).await;

    let (success, log) = stack.sync_now(org, false).await;

    assert!(success, "{log:?}");
    assert_eq!(counters(&log), (12, 5, 0, 0, 7));
    let errors = log.errors.join("\n");
    for needle in [
        "record 3",
        "abc",
        "12.5",
        "-4",
        "record 8",
        "prospect 1001: duplicate",
    ] {
        assert!(errors.contains(needle), "{needle} missing from {errors}");
    }
    assert!(
        !errors.contains("184037512345678") && !log.warnings.join(" ").contains("184037512345678"),
        "numss never shown"
    );
    assert_eq!(
        stack
            .core_count(&format!(
                "SELECT count(*) AS n FROM clientbases WHERE organisation_id = '{org}'"
            ))
            .await,
        5
    );
    assert_eq!(stack.core_count("SELECT count(*) AS n FROM clientbases WHERE external_id = '1001' AND iban = 'FR7630006000011234567890189' AND bic = 'AGRIFRPP' AND nom = 'Dupont'").await, 1);
    assert_eq!(stack.core_count("SELECT count(*) AS n FROM clientbases WHERE external_id = '1002' AND iban IS NULL AND prenom = 'INCONNU' AND commercial_id = 'c-12'").await, 1);
    assert_eq!(stack.core_count("SELECT count(*) AS n FROM clientbases WHERE external_id = '1003' AND nom = 'NulOctet' AND date_naissance IS NULL AND numss = '184037512345678'").await, 1);
    assert_eq!(stack.commercial_count("SELECT count(*) AS n FROM contrats WHERE reference = 'WLP-CONTRAT-501' AND montant = 29.90 AND date_signature = '2024-03-12'").await, 1);
    assert_eq!(stack.commercial_count("SELECT count(*) AS n FROM contrats WHERE reference = 'WLP-CONTRAT-601' AND montant = 1234.50 AND statut = 'EN_ATTENTE' AND fournisseur = 'ENGIE'").await, 1);
    assert_eq!(stack.commercial_count("SELECT count(*) AS n FROM contrats WHERE reference = 'WLP-CONTRAT-602' AND montant = 15 AND fournisseur = 'WinLeadPlus'").await, 1);
    assert_eq!(
        stack
            .commercial_count("SELECT count(*) AS n FROM contrats")
            .await,
        3,
        "the contract without id is not imported"
    );

    let (_, again) = stack.sync_now(org, false).await;
    assert_eq!(
        (
            again.total_prospects,
            again.created,
            again.updated,
            again.skipped,
            again.failed
        ),
        (12, 0, 0, 5, 7)
    );
    assert_eq!(
        stack
            .commercial_count("SELECT count(*) AS n FROM contrats")
            .await,
        3,
        "no duplicate contract on re-sync"
    );
    stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_organisations_with_the_same_prospect_ids_stay_separate() {
    let stack = spawn_stack(fixture("prospects-edge.json")).await;
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    stack.configure(a).await;
    stack.configure(b).await;

    let (_, log_a) = stack.sync_now(a, false).await;
    let (_, log_b) = stack.sync_now(b, false).await;

    assert_eq!(log_a.created, 5);
    assert_eq!(
        log_b.created, 5,
        "b's prospects are new to b even though a has the same ids"
    );
    for org in [a, b] {
        assert_eq!(
            stack
                .core_count(&format!(
                    "SELECT count(*) AS n FROM clientbases WHERE organisation_id = '{org}'"
                ))
                .await,
            5
        );
        assert_eq!(
            stack
                .commercial_count(&format!(
                    "SELECT count(*) AS n FROM contrats WHERE organisation_id = '{org}'"
                ))
                .await,
            3
        );
    }
    assert_eq!(
        stack
            .core_count(
                "SELECT count(DISTINCT id) AS n FROM clientbases WHERE external_id = '1001'"
            )
            .await,
        2
    );
    stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_sync_requests_run_one_sync() {
    let stack = spawn_stack(fixture("prospects-sample-200.json")).await;
    let org = Uuid::new_v4();
    stack.configure(org).await;
    stack.sim.push_fault(winleadplus_sim::Fault::delay_ms(500));

    let (first, second) = tokio::join!(stack.sync_now(org, false), stack.sync_now(org, false));

    let ids: HashSet<String> = [first.1.id.clone(), second.1.id.clone()].into();
    assert_eq!(ids.len(), 1, "both callers see the same run");
    assert_eq!(
        stack
            .commercial_count("SELECT count(*) AS n FROM winleadplus_sync_logs")
            .await,
        1
    );
    assert_eq!(
        stack
            .core_count("SELECT count(*) AS n FROM clientbases")
            .await,
        200
    );
    assert_eq!(stack.sim.stats().requests, 1);
    stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_create_batches_are_in_flight_while_client_core_is_slow() {
    use diesel_async::{AsyncConnection, RunQueryDsl};
    let stack = crate::helpers::spawn_stack_with(crate::helpers::Options {
        prospects: winleadplus_sim::generate(60, 12),
        batch_size: 20,
        ..crate::helpers::Options::default()
    })
    .await;
    let org = Uuid::new_v4();
    stack.configure(org).await;
    // client-core's inserts wait on this transaction's lock: its answers are held back.
    let mut holder = diesel_async::AsyncPgConnection::establish(stack.core_db.url())
        .await
        .unwrap();
    diesel::sql_query("BEGIN")
        .execute(&mut holder)
        .await
        .unwrap();
    diesel::sql_query("LOCK TABLE clientbases IN EXCLUSIVE MODE")
        .execute(&mut holder)
        .await
        .unwrap();
    let sync = {
        let mut sync = stack.sync.clone();
        tokio::spawn(async move {
            sync.sync_prospects(proto::winleadplus::SyncProspectsRequest {
                organisation_id: org.to_string(),
                dry_run: false,
                force_archive: false,
            })
            .await
        })
    };
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while stack.published().await < 2 {
        assert!(tokio::time::Instant::now() < deadline, "two requests sent");
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        stack.published().await,
        2,
        "the second batch is sent before the first is answered, the third waits"
    );

    diesel::sql_query("COMMIT")
        .execute(&mut holder)
        .await
        .unwrap();
    let log = sync.await.unwrap().unwrap().into_inner().sync_log.unwrap();
    assert_eq!(counters(&log), (60, 60, 0, 0, 0), "{log:?}");
    stack.cleanup().await;
}

//! Prospects removed from WinLeadPlus (issue #15): archived after a complete answer (clients
//! hidden, contracts `ARCHIVE`, mappings kept), never past the guard unless forced, never
//! after an incomplete fetch, never by a dry run; a linked manual client is unlinked, not
//! deleted; a prospect that comes back is restored; a CRM user's own Delete stays.

use std::time::Duration;

use proto::clients::{
    CreateClientBaseRequest, DeleteClientBaseRequest, GetClientBaseRequest, ListClientsBaseRequest,
    PaginationRequest,
};
use proto::tonic::Code;
use serde_json::Value;
use uuid::Uuid;
use winleadplus_sim::Fault;

use crate::helpers::{Stack, counters, fixture, spawn_stack};

/// The prospect id of a payload record.
fn id_of(prospect: &Value) -> i64 {
    mapper::map_prospect(prospect)
        .expect("a valid prospect")
        .external_id
        .get()
}

/// Removes every `step`-th prospect of `prospects` from the simulator, `count` of them;
/// returns their ids.
fn remove_every(stack: &Stack, prospects: &[Value], step: usize, count: usize) -> Vec<i64> {
    let removed: Vec<i64> = prospects
        .iter()
        .step_by(step)
        .take(count)
        .map(id_of)
        .collect();
    for id in &removed {
        assert!(stack.sim.remove_prospect(*id), "prospect {id} served");
    }
    removed
}

/// `'a','b',…` for an SQL `IN` list of external ids.
fn in_list(ids: &[i64]) -> String {
    ids.iter()
        .map(|id| format!("'{id}'"))
        .collect::<Vec<_>>()
        .join(",")
}

/// A sample of sync-service's `/metrics` whose line holds every one of `parts`.
fn metric(stack: &Stack, parts: &[&str]) -> u64 {
    line_value(&stack.sync_metrics.base().render(), parts)
}

/// A sample of client-core's `/metrics` whose line holds every one of `parts`.
fn core_metric(stack: &Stack, parts: &[&str]) -> u64 {
    line_value(&stack.core_metrics.base().render(), parts)
}

fn line_value(text: &str, parts: &[&str]) -> u64 {
    text.lines()
        .filter(|l| !l.starts_with('#') && parts.iter().all(|p| l.contains(p)))
        .find_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}

/// The organisation's clients that List returns (every page's total).
async fn listed(stack: &Stack, org: Uuid) -> i32 {
    stack
        .clients
        .clone()
        .list(ListClientsBaseRequest {
            organisation_id: org.to_string(),
            pagination: Some(PaginationRequest {
                page: 1,
                limit: 10,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .pagination
        .unwrap()
        .total
}

/// The client id client-core gave a prospect.
async fn client_of(stack: &Stack, org: Uuid, prospect: i64) -> String {
    let mut conn = {
        use diesel_async::AsyncConnection;
        diesel_async::AsyncPgConnection::establish(stack.commercial_db.url())
            .await
            .unwrap()
    };
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
    }
    use diesel_async::RunQueryDsl;
    let row: Row = diesel::sql_query(format!(
        "SELECT crm_client_id AS id FROM winleadplus_mappings \
         WHERE organisation_id = '{org}' AND winleadplus_prospect_id = {prospect}"
    ))
    .get_result(&mut conn)
    .await
    .unwrap();
    row.id.to_string()
}

/// Contracts of the organisation's mappings, archived (`true`) or not, with statut
/// `ARCHIVE` (`archive_statut`) or another one.
async fn contracts(stack: &Stack, org: Uuid, archived: bool, archive_statut: bool) -> i64 {
    stack
        .commercial_count(&format!(
            "SELECT count(*) AS n FROM contrats c JOIN winleadplus_mappings m \
               ON m.organisation_id = c.organisation_id AND c.id = ANY(m.crm_contrat_ids) \
             WHERE c.organisation_id = '{org}' AND (m.archived_at IS NOT NULL) = {archived} \
               AND (c.statut = 'ARCHIVE') = {archive_statut}"
        ))
        .await
}

async fn archived_mappings(stack: &Stack, org: Uuid) -> i64 {
    stack
        .commercial_count(&format!(
            "SELECT count(*) AS n FROM winleadplus_mappings \
             WHERE organisation_id = '{org}' AND archived_at IS NOT NULL"
        ))
        .await
}

async fn hidden_clients(stack: &Stack, org: Uuid) -> i64 {
    stack
        .core_count(&format!(
            "SELECT count(*) AS n FROM clientbases \
             WHERE organisation_id = '{org}' AND deleted_at IS NOT NULL"
        ))
        .await
}

/// A stack serving the 200-prospect sample, its organisation configured and synced once.
async fn synced_sample() -> (Stack, Uuid, Vec<Value>) {
    let prospects = fixture("prospects-sample-200.json");
    let stack = spawn_stack(prospects.clone()).await;
    let org = Uuid::new_v4();
    stack.configure(org).await;
    let (success, log) = stack.sync_now(org, false).await;
    assert!(success, "{log:?}");
    assert_eq!(counters(&log), (200, 200, 0, 0, 0));
    (stack, org, prospects)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prospects_removed_from_winleadplus_are_archived_hidden_and_their_contracts_archived() {
    let (stack, org, prospects) = synced_sample().await;
    let active_contracts = contracts(&stack, org, false, false).await;
    assert!(active_contracts > 0, "the sample has contracts");
    let removed = remove_every(&stack, &prospects, 20, 10);
    let removed_client = client_of(&stack, org, removed[0]).await;

    let (success, log) = stack.sync_now(org, false).await;

    assert!(success, "{log:?}");
    assert_eq!(log.archived, 10);
    assert_eq!(counters(&log), (190, 0, 0, 190, 0));
    // client-core hides exactly those, marked as archived by the import.
    let org_filter = format!("organisation_id = '{org}'");
    stack
        .core_eventually(
            &format!(
                "SELECT count(*) AS n FROM clientbases WHERE {org_filter} \
                 AND deleted_at IS NOT NULL AND archived_at IS NOT NULL AND external_id IN ({})",
                in_list(&removed)
            ),
            10,
        )
        .await;
    assert_eq!(hidden_clients(&stack, org).await, 10);
    assert_eq!(listed(&stack, org).await, 190);
    let got = stack
        .clients
        .clone()
        .get(GetClientBaseRequest {
            id: removed_client.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(got.code(), Code::NotFound);
    // Mappings kept, marked; their contracts ARCHIVE; the others untouched.
    assert_eq!(
        stack
            .commercial_count(&format!(
                "SELECT count(*) AS n FROM winleadplus_mappings WHERE {org_filter}"
            ))
            .await,
        200
    );
    assert_eq!(
        stack
            .commercial_count(&format!(
                "SELECT count(*) AS n FROM winleadplus_mappings WHERE {org_filter} \
                 AND archived_at IS NOT NULL AND winleadplus_prospect_id IN ({})",
                removed
                    .iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            ))
            .await,
        10
    );
    let archived_contracts = contracts(&stack, org, true, true).await;
    assert!(
        archived_contracts > 0,
        "the removed prospects had contracts"
    );
    assert_eq!(contracts(&stack, org, true, false).await, 0);
    assert_eq!(contracts(&stack, org, false, true).await, 0);
    assert_eq!(
        contracts(&stack, org, false, false).await + archived_contracts,
        active_contracts
    );
    assert_eq!(metric(&stack, &["sync_prospects_total", "archived"]), 10);

    // Once archived, they are not archived again, and nothing is published.
    let published = stack.published().await;
    let (success, again) = stack.sync_now(org, false).await;
    assert!(success, "{again:?}");
    assert_eq!(again.archived, 0);
    assert_eq!(stack.published().await, published);
    stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_ratio_nothing_is_archived_with_a_warning_unless_force_archive() {
    let (stack, org, prospects) = synced_sample().await;
    let published = stack.published().await;
    remove_every(&stack, &prospects, 3, 60);

    let (success, log) = stack.sync_now(org, false).await;

    assert!(success, "the guard does not fail the sync: {log:?}");
    assert_eq!(log.status, "SUCCESS");
    assert_eq!(log.archived, 0);
    assert!(
        log.warnings.iter().any(|w| w.contains("archive guard")
            && w.contains("60 of the 200")
            && w.contains("SYNC_MAX_ARCHIVE_RATIO")
            && w.contains("force_archive")),
        "{:?}",
        log.warnings
    );
    assert_eq!(
        metric(&stack, &["sync_archive_guard_total", "reason=\"ratio\""]),
        1
    );
    assert_eq!(archived_mappings(&stack, org).await, 0);
    assert_eq!(contracts(&stack, org, false, true).await, 0);
    assert_eq!(stack.published().await, published, "nothing published");
    assert_eq!(hidden_clients(&stack, org).await, 0);

    // force_archive bypasses the guard for that run.
    let (success, forced) = stack.sync_forced(org).await;
    assert!(success, "{forced:?}");
    assert_eq!(forced.archived, 60);
    assert_eq!(archived_mappings(&stack, org).await, 60);
    stack
        .core_eventually(
            &format!(
                "SELECT count(*) AS n FROM clientbases \
                 WHERE organisation_id = '{org}' AND deleted_at IS NOT NULL"
            ),
            60,
        )
        .await;
    assert_eq!(
        metric(&stack, &["sync_archive_guard_total", "reason=\"ratio\""]),
        1
    );
    stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_answer_archives_nothing_with_a_warning() {
    let (stack, org, _) = synced_sample().await;
    let published = stack.published().await;
    stack.sim.set_prospects(Vec::new());

    let (success, log) = stack.sync_now(org, false).await;

    assert!(success, "{log:?}");
    assert_eq!(log.archived, 0);
    assert!(
        log.warnings.iter().any(|w| w.contains("archive guard")
            && w.contains("WinLeadPlus answered no prospect while 200 are mapped")),
        "{:?}",
        log.warnings
    );
    assert_eq!(
        metric(&stack, &["sync_archive_guard_total", "reason=\"empty\""]),
        1
    );
    assert_eq!(archived_mappings(&stack, org).await, 0);
    assert_eq!(stack.published().await, published);
    assert_eq!(listed(&stack, org).await, 200);
    stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_answer_or_a_deadline_archives_nothing() {
    let (mut stack, org, prospects) = synced_sample().await;
    remove_every(&stack, &prospects, 20, 10);

    // The body is cut: what came before the cut is read, the fetch fails, nothing is gone.
    stack.sim.push_fault(Fault::truncate());
    let (success, log) = stack.sync_now(org, false).await;
    assert!(!success, "{log:?}");
    assert_eq!(log.archived, 0);
    assert_eq!(archived_mappings(&stack, org).await, 0);

    // The deadline passes while the answer drips in.
    stack.sync_config.max_duration_secs = 1;
    let keys = stack.sync_config.keys.clone();
    stack.restart_sync(keys).await;
    stack.sim.push_fault(Fault::drip_ms(50));
    let (success, log) = stack.sync_now(org, false).await;
    assert!(!success, "{log:?}");
    assert!(
        log.errors.iter().any(|e| e.contains("deadline")),
        "{:?}",
        log.errors
    );
    assert_eq!(log.archived, 0);
    assert_eq!(archived_mappings(&stack, org).await, 0);
    assert_eq!(contracts(&stack, org, false, true).await, 0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(hidden_clients(&stack, org).await, 0);
    stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_counts_the_archives_and_writes_nothing() {
    let (stack, org, prospects) = synced_sample().await;
    remove_every(&stack, &prospects, 20, 10);
    let published = stack.published().await;

    let (success, log) = stack.sync_now(org, true).await;

    assert!(success, "{log:?}");
    assert!(log.dry_run);
    assert_eq!(log.archived, 10);
    assert_eq!(stack.published().await, published, "nothing published");
    assert_eq!(archived_mappings(&stack, org).await, 0);
    assert_eq!(contracts(&stack, org, false, true).await, 0);
    assert_eq!(hidden_clients(&stack, org).await, 0);
    assert_eq!(
        stack
            .core_count(&format!(
                "SELECT count(*) AS n FROM clientbases \
                 WHERE organisation_id = '{org}' AND archived_at IS NOT NULL"
            ))
            .await,
        0
    );
    stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prospect_that_comes_back_is_restored_and_counted_updated() {
    let (stack, org, prospects) = synced_sample().await;
    let removed = remove_every(&stack, &prospects, 20, 10);
    let (success, log) = stack.sync_now(org, false).await;
    assert!(success && log.archived == 10, "{log:?}");
    let back = removed[0];
    let client = client_of(&stack, org, back).await;
    stack
        .core_eventually(
            &format!("SELECT count(*) AS n FROM clientbases WHERE id = '{client}' AND deleted_at IS NOT NULL"),
            1,
        )
        .await;
    let original = prospects.iter().find(|p| id_of(p) == back).unwrap().clone();
    let statuts: Vec<String> = mapper::map_prospect(&original)
        .unwrap()
        .contrats
        .iter()
        .map(|c| c.statut.clone())
        .collect();
    assert!(!statuts.is_empty(), "prospect {back} has contracts");

    // The same data as before it went: its hash is the one the mapping holds.
    stack.sim.upsert_prospects(vec![original]);
    let (success, log) = stack.sync_now(org, false).await;

    assert!(success, "{log:?}");
    assert_eq!(counters(&log), (191, 0, 1, 190, 0));
    assert_eq!(log.archived, 0);
    stack
        .core_eventually(
            &format!(
                "SELECT count(*) AS n FROM clientbases WHERE id = '{client}' \
                 AND deleted_at IS NULL AND archived_at IS NULL AND external_id = '{back}'"
            ),
            1,
        )
        .await;
    let got = stack
        .clients
        .clone()
        .get(GetClientBaseRequest { id: client })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.source.as_deref(), Some("WinLeadPlus"));
    assert_eq!(listed(&stack, org).await, 191);
    assert_eq!(
        stack
            .commercial_count(&format!(
                "SELECT count(*) AS n FROM winleadplus_mappings WHERE organisation_id = '{org}' \
                 AND winleadplus_prospect_id = {back} AND archived_at IS NULL"
            ))
            .await,
        1
    );
    // Its contracts take their statut from the data again.
    let mut expected = statuts;
    expected.sort();
    expected.dedup();
    assert_eq!(
        stack
            .commercial_count(&format!(
                "SELECT count(*) AS n FROM contrats c JOIN winleadplus_mappings m \
                   ON c.id = ANY(m.crm_contrat_ids) \
                 WHERE m.organisation_id = '{org}' AND m.winleadplus_prospect_id = {back} \
                   AND c.statut IN ({})",
                expected
                    .iter()
                    .map(|s| format!("'{s}'"))
                    .collect::<Vec<_>>()
                    .join(",")
            ))
            .await,
        stack
            .commercial_count(&format!(
                "SELECT coalesce(cardinality(crm_contrat_ids), 0)::bigint AS n FROM winleadplus_mappings \
                 WHERE organisation_id = '{org}' AND winleadplus_prospect_id = {back}"
            ))
            .await,
    );
    assert!(!expected.iter().any(|s| s == "ARCHIVE"));
    assert_eq!(archived_mappings(&stack, org).await, 9);
    stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_client_linked_to_a_removed_prospect_is_unlinked_not_deleted() {
    let prospects = fixture("prospects-sample-200.json");
    let stack = spawn_stack(prospects.clone()).await;
    let org = Uuid::new_v4();
    stack.configure(org).await;
    // Entered by hand before the first import, with the first prospect's phone and name,
    // and no source.
    let first = mapper::map_prospect(&prospects[0]).unwrap();
    let prospect = first.external_id.get();
    let manual = stack
        .clients
        .clone()
        .create(CreateClientBaseRequest {
            organisation_id: org.to_string(),
            nom: first.client.nom.clone(),
            prenom: "Saisi à la main".into(),
            telephone: first.client.telephone.clone().expect("a phone"),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .id;
    let (success, log) = stack.sync_now(org, false).await;
    assert!(success, "{log:?}");
    assert_eq!(client_of(&stack, org, prospect).await, manual, "linked");
    let linked = format!(
        "SELECT count(*) AS n FROM clientbases WHERE id = '{manual}' AND deleted_at IS NULL \
         AND external_id = '{prospect}' AND source = 'WinLeadPlus' AND archived_at IS NULL"
    );
    assert_eq!(stack.core_count(&linked).await, 1);

    assert!(stack.sim.remove_prospect(prospect));
    let (success, log) = stack.sync_now(org, false).await;

    assert!(success, "{log:?}");
    assert_eq!(log.archived, 1);
    // Unlinked, its source back to none, still visible; not deleted.
    stack
        .core_eventually(
            &format!(
                "SELECT count(*) AS n FROM clientbases WHERE id = '{manual}' AND deleted_at IS NULL \
                 AND external_source IS NULL AND external_id IS NULL AND source IS NULL \
                 AND archived_at IS NOT NULL"
            ),
            1,
        )
        .await;
    let got = stack
        .clients
        .clone()
        .get(GetClientBaseRequest { id: manual.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.prenom, "Saisi à la main");
    assert_eq!(got.source, None);
    assert_eq!(hidden_clients(&stack, org).await, 0);

    // The prospect comes back: the client, still unlinked, is linked again.
    stack.sim.upsert_prospects(vec![prospects[0].clone()]);
    let (success, log) = stack.sync_now(org, false).await;
    assert!(success, "{log:?}");
    assert_eq!(log.updated, 1);
    stack.core_eventually(&linked, 1).await;
    stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crm_users_delete_is_not_undone_when_its_prospect_comes_back() {
    let (stack, org, prospects) = synced_sample().await;
    let original = prospects[0].clone();
    let prospect = id_of(&original);
    let client = client_of(&stack, org, prospect).await;
    stack
        .clients
        .clone()
        .delete(DeleteClientBaseRequest { id: client.clone() })
        .await
        .unwrap();

    // Gone from WinLeadPlus, then back.
    assert!(stack.sim.remove_prospect(prospect));
    let (success, log) = stack.sync_now(org, false).await;
    assert!(success && log.archived == 1, "{log:?}");
    stack.sim.upsert_prospects(vec![original]);
    let (success, log) = stack.sync_now(org, false).await;
    assert!(success, "{log:?}");
    assert_eq!(log.updated, 1, "the restore is published");

    // client-core saw both (the archive and the restore) and left the client deleted.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while core_metric(
        &stack,
        &[
            "core_events_total",
            "kind=\"update\"",
            "outcome=\"ignored\"",
        ],
    ) < 2
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "client-core handles both events"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        stack
            .core_count(&format!(
                "SELECT count(*) AS n FROM clientbases WHERE id = '{client}' \
                 AND deleted_at IS NOT NULL AND archived_at IS NULL"
            ))
            .await,
        1
    );
    let got = stack
        .clients
        .clone()
        .get(GetClientBaseRequest { id: client })
        .await
        .unwrap_err();
    assert_eq!(got.code(), Code::NotFound);
    stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archive_published_but_not_recorded_is_not_counted_and_is_undone_when_the_prospect_is_back()
 {
    let (stack, org, prospects) = synced_sample().await;
    // The record of the archives is lost (as in a crash after the PubAcks): refused.
    stack
        .commercial_execute(
            "CREATE FUNCTION refuse_archive() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
               IF NEW.archived_at IS NOT NULL THEN RAISE EXCEPTION 'the record is lost'; END IF; \
               RETURN NEW; END $$",
        )
        .await;
    stack
        .commercial_execute(
            "CREATE TRIGGER refuse_archive BEFORE UPDATE ON winleadplus_mappings \
             FOR EACH ROW EXECUTE FUNCTION refuse_archive()",
        )
        .await;
    remove_every(&stack, &prospects, 20, 10);

    let (success, log) = stack.sync_now(org, false).await;

    assert!(!success, "{log:?}");
    assert_eq!(
        log.archived, 0,
        "nothing recorded, nothing counted: {log:?}"
    );
    assert_eq!(archived_mappings(&stack, org).await, 0);
    // client-core applied the archives it was sent.
    stack
        .core_eventually(
            &format!(
                "SELECT count(*) AS n FROM clientbases \
                 WHERE organisation_id = '{org}' AND archived_at IS NOT NULL"
            ),
            10,
        )
        .await;

    // The prospects are back, with the data last recorded: they are sent again and restored.
    stack
        .commercial_execute("DROP TRIGGER refuse_archive ON winleadplus_mappings")
        .await;
    stack.sim.set_prospects(prospects);
    let (success, log) = stack.sync_now(org, false).await;
    assert!(success, "{log:?}");
    assert_eq!((log.updated, log.archived), (10, 0), "{log:?}");
    stack
        .core_eventually(
            &format!(
                "SELECT count(*) AS n FROM clientbases \
                 WHERE organisation_id = '{org}' AND (archived_at IS NOT NULL OR deleted_at IS NOT NULL)"
            ),
            0,
        )
        .await;
    assert_eq!(listed(&stack, org).await, 200);
    stack.cleanup().await;
}

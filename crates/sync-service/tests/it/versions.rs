//! Updates are never lost to message ids or clocks: an A→B→A change within JetStream's
//! two-minute duplicate window lands back at A, and a client last written under a version
//! from a clock that ran an hour fast still takes the next change (versions are reserved in
//! crm_commercial above the previous one, not read off this replica's clock).

use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Stack, spawn_stack};

/// The `nom` client-core holds for the organisation's client of prospect `id`.
async fn nom_in_core(stack: &Stack, org: Uuid, id: &Value, nom: &str) {
    stack
        .core_eventually(
            &format!(
                "SELECT count(*) AS n FROM clientbases WHERE organisation_id = '{org}' \
                 AND external_id = '{id}' AND nom = '{nom}'"
            ),
            1,
        )
        .await;
}

fn renamed(prospects: &[Value], nom: &str) -> Vec<Value> {
    let mut out = prospects.to_vec();
    out[0]["nom"] = json!(nom);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_and_its_undo_within_the_duplicate_window_both_land() {
    let prospects = renamed(&winleadplus_sim::generate(3, 5), "Avant");
    let id = prospects[0]["idProspect"].clone();
    let stack = spawn_stack(renamed(&prospects, "Début")).await;
    let org = Uuid::new_v4();
    stack.configure(org).await;
    stack.sync_now(org, false).await;
    // A, as an update on JetStream: its message id is in the duplicate window from now on.
    stack.sim.set_prospects(prospects.clone());
    let (_, first) = stack.sync_now(org, false).await;
    assert_eq!(first.updated, 1, "{first:?}");
    nom_in_core(&stack, org, &id, "Avant").await;

    stack.sim.set_prospects(renamed(&prospects, "Après"));
    let (_, b) = stack.sync_now(org, false).await;
    assert_eq!(b.updated, 1, "{b:?}");
    nom_in_core(&stack, org, &id, "Après").await;

    // Back to the first data, seconds later: the same hash as the first publication.
    stack.sim.set_prospects(prospects.clone());
    let (_, a) = stack.sync_now(org, false).await;
    assert_eq!(a.updated, 1, "{a:?}");
    nom_in_core(&stack, org, &id, "Avant").await;

    // And it stays there: the next sync has nothing to do.
    let (_, again) = stack.sync_now(org, false).await;
    assert_eq!((again.updated, again.skipped), (0, 3), "{again:?}");
    stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_written_under_a_fast_clock_still_takes_the_next_change() {
    let prospects = renamed(&winleadplus_sim::generate(2, 6), "Avant");
    let id = prospects[0]["idProspect"].clone();
    let stack = spawn_stack(prospects.clone()).await;
    let org = Uuid::new_v4();
    stack.configure(org).await;
    stack.sync_now(org, false).await;
    nom_in_core(&stack, org, &id, "Avant").await;

    // As if a replica whose clock ran an hour fast had written both sides last.
    let ahead = chrono::Utc::now().timestamp_micros() + 3_600_000_000;
    stack
        .commercial_execute(&format!(
            "UPDATE winleadplus_mappings SET source_version = {ahead} WHERE organisation_id = '{org}'"
        ))
        .await;
    stack
        .core_execute(&format!(
            "UPDATE clientbases SET source_version = {ahead} WHERE organisation_id = '{org}'"
        ))
        .await;

    stack.sim.set_prospects(renamed(&prospects, "Après"));
    let (success, log) = stack.sync_now(org, false).await;
    assert!(success && log.updated == 1, "{log:?}");
    nom_in_core(&stack, org, &id, "Après").await;
    assert_eq!(
        stack
            .commercial_count(&format!(
                "SELECT count(*) AS n FROM winleadplus_mappings WHERE organisation_id = '{org}' \
                 AND winleadplus_prospect_id = {id} AND source_version > {ahead}"
            ))
            .await,
        1,
        "the mapping keeps the version it sent, above the fast one"
    );
    stack.cleanup().await;
}

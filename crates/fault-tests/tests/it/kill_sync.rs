//! `kill -9` of sync-service at random points of syncs, at least ten times: while it waits for
//! WinLeadPlus (the simulator delays its answer), and at random times of syncs of a few
//! thousand prospects in batches of 25 (so the kills fall between a publish and its record,
//! and inside recording transactions, among other points). Each time it is restarted; the
//! dead sync's lease is taken over once stale (`SYNC_LEASE_TIMEOUT_SECS=5`), and after a
//! final sync the state is exact.
//!
//! Two more tests make exactly the state the random one first ran into: a prospect published
//! and not recorded (the crash) that changes before its next sync, whether the change is a
//! replayed create or an undo of the published update; crm_core must end with the new data.

use std::time::{Duration, Instant};

use fault_tests::StackOptions;
use rand::Rng;
use uuid::Uuid;
use winleadplus_sim::Fault;

use crate::helpers::{commercial_count, converge, finish, seed, start, start_with_org};

/// Kills per run.
const KILLS: usize = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_service_killed_at_random_points_restarts_takes_the_lease_over_and_converges() {
    let (seed, mut rng) = seed("kill_sync");
    let started = Instant::now();
    let mut stack = start(StackOptions {
        label: "kill-sync".to_owned(),
        prospects: 2000,
        batch_size: 25,
        lease_timeout_secs: 5,
        seed,
        ..StackOptions::default()
    })
    .await;
    // Two organisations taking turns: one's dead lease goes stale while the other syncs.
    let orgs = [Uuid::new_v4(), Uuid::new_v4()];
    for org in orgs {
        stack.configure(org, 60).await.expect("configured");
    }

    let mut kills = 0;
    let mut round: u64 = 0;
    let mut count: u64 = 2000;
    let mut changed = false;
    while kills < KILLS {
        round += 1;
        assert!(round < 60, "only {kills} kills in {round} rounds");
        let org = orgs[usize::try_from(round % 2).unwrap()];
        stack.sim_admin.clear_faults().await.unwrap();
        // New prospects in every round (creates, whatever a kill left over).
        let new: Vec<serde_json::Value> = (count..count + 100)
            .map(|i| winleadplus_sim::prospect(seed, i))
            .collect();
        count += 100;
        stack.sim_admin.upsert(&new).await.unwrap();
        // Halfway, changes (updates in the remaining rounds), made while both organisations
        // have recorded everything they published: a prospect published and not recorded
        // must not change before its next sync (the two tests below make that state exactly).
        if kills == KILLS / 2 && !changed {
            for org in orgs {
                stack
                    .sync_until_success(org, Duration::from_secs(60))
                    .await
                    .unwrap();
            }
            let n = stack.change_recorded(&orgs, 0.4, seed).await.unwrap();
            eprintln!("round {round}: {n} recorded prospects changed");
            changed = true;
        }
        let (point, delay_ms) = if rng.random_bool(0.3) {
            stack
                .sim_admin
                .push_faults(&[Fault::delay_ms(1500)])
                .await
                .unwrap();
            ("fetch", rng.random_range(50..1400))
        } else {
            ("publish/record", rng.random_range(100..2500))
        };
        let call = {
            let client = stack.sync_client(0, org).await.unwrap();
            tokio::spawn(async move {
                let mut client = client;
                client
                    .sync_prospects(proto::winleadplus::SyncProspectsRequest {
                        organisation_id: org.to_string(),
                        dry_run: false,
                        ..Default::default()
                    })
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        if call.is_finished() {
            let log = call
                .await
                .unwrap()
                .expect("a sync-service that was not killed answers")
                .into_inner()
                .sync_log
                .unwrap();
            eprintln!(
                "round {round}: {org} answered {} before the kill at {delay_ms} ms",
                log.status
            );
            if log.status == "RUNNING" {
                // The dead holder's lease is not stale yet.
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            continue;
        }
        stack.syncs[0].kill().unwrap();
        kills += 1;
        eprintln!("kill {kills}: round {round}, {org}, during {point}, after {delay_ms} ms");
        assert!(
            call.await.unwrap().is_err(),
            "the call to a killed service fails"
        );
        stack.syncs[0]
            .restart()
            .await
            .expect("sync-service restarts");
    }

    let report = converge(&stack, &orgs).await;
    assert!(report.clients > 0);
    // Every killed sync's log was taken over and marked FAILED, none is left RUNNING (the
    // checker), and each organisation ended with a success.
    let failed = commercial_count(
        &stack,
        "SELECT count(*) AS n FROM winleadplus_sync_logs WHERE status = 'FAILED'",
    )
    .await;
    assert!(failed >= 1, "the dead syncs' logs are FAILED ({failed})");
    eprintln!(
        "{kills} kills, {failed} FAILED logs, {:?} in all",
        started.elapsed()
    );
    finish(stack).await;
}

/// The state a crash between client-core's create reply and sync-service's record leaves (a
/// client in crm_core, no mapping in crm_commercial), made exactly: a sync, then its mappings
/// deleted. When the prospects change before the next sync, that sync re-sends them as
/// creates with the new data, records the new hash, and crm_core must hold the new data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_replayed_with_changed_data_reaches_client_core() {
    let (stack, org) = start_with_org(
        StackOptions {
            label: "replayed-create".to_owned(),
            prospects: 40,
            ..StackOptions::default()
        },
        true,
    )
    .await;
    fault_tests::check::execute(
        stack.commercial_db.url(),
        &format!("DELETE FROM winleadplus_mappings WHERE organisation_id = '{org}'"),
    )
    .await
    .unwrap();
    let changed = stack.sim_admin.mutate(0.5, 7).await.unwrap();
    assert_eq!(changed.len(), 20);

    converge(&stack, &[org]).await;
    finish(stack).await;
}

/// The state a crash between the PubAck of an update and its record leaves (the update
/// applied in crm_core, its record never made), made by the database: a trigger refuses the
/// record of the new hashes, as if the process had died after the PubAcks. When the
/// prospects then go back to their previous data (an undo in WinLeadPlus), the next sync must
/// send them again, and crm_core must not keep the undone change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_published_and_not_recorded_then_undone_is_undone_in_client_core() {
    let seed = 42;
    let (stack, org) = start_with_org(
        StackOptions {
            label: "undone-update".to_owned(),
            prospects: 40,
            seed,
            ..StackOptions::default()
        },
        true,
    )
    .await;
    let url = stack.commercial_db.url();
    fault_tests::check::execute(
        url,
        "CREATE FUNCTION refuse_new_hash() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
           IF NEW.data_hash <> '' AND NEW.data_hash IS DISTINCT FROM OLD.data_hash THEN \
             RAISE EXCEPTION 'the record is lost'; \
           END IF; RETURN NEW; END $$",
    )
    .await
    .unwrap();
    fault_tests::check::execute(
        url,
        "CREATE TRIGGER refuse_new_hash BEFORE UPDATE ON winleadplus_mappings \
         FOR EACH ROW EXECUTE FUNCTION refuse_new_hash()",
    )
    .await
    .unwrap();
    let changed = stack.change_recorded(&[org], 0.5, 7).await.unwrap();
    assert!(changed > 0);
    let log = stack.sync_once(0, org).await.unwrap();
    assert_eq!(
        (log.updated, usize::try_from(log.failed).unwrap()),
        (0, changed),
        "published, then not recorded: {log:?}"
    );
    fault_tests::check::execute(url, "DROP TRIGGER refuse_new_hash ON winleadplus_mappings")
        .await
        .unwrap();
    // The undo.
    stack.sim_admin.generate(40, seed).await.unwrap();

    converge(&stack, &[org]).await;
    finish(stack).await;
}

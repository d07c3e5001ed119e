//! Configs and the other RPCs: SaveConfig, GetConfig, HasConfig, TestConnection,
//! GetSyncStatus, GetSyncLogs, the contracts service, and the scheduler.

use proto::contrats::{GetContratRequest, ListContratRequest};
use proto::tonic::Code;
use proto::winleadplus::{
    GetSyncStatusRequest, GetWinLeadPlusConfigRequest, ListWinLeadPlusSyncLogsRequest,
    SyncProspectsRequest, TestConnectionRequest, UpdateWinLeadPlusConfigRequest,
};
use uuid::Uuid;

use crate::helpers::{Options, SIM_TOKEN, fixture, spawn_stack, spawn_stack_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn save_config_creates_then_updates_and_never_returns_the_token() {
    let stack = spawn_stack(Vec::new()).await;
    let org = Uuid::new_v4();
    let mut sync = stack.sync.clone();

    let defaults = sync
        .get_config(GetWinLeadPlusConfigRequest {
            organisation_id: org.to_string(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(defaults.id, "");
    assert_eq!(defaults.sync_interval_minutes, 60);
    assert_eq!(defaults.has_api_token, Some(false));
    assert!(
        !sync
            .has_config(GetWinLeadPlusConfigRequest {
                organisation_id: org.to_string()
            })
            .await
            .unwrap()
            .into_inner()
            .enabled
    );

    let created = sync
        .save_config(UpdateWinLeadPlusConfigRequest {
            organisation_id: Some(org.to_string()),
            // An `.invalid` name (RFC 6761): the save's egress check never asks DNS.
            api_endpoint: Some("https://wlp.invalid".into()),
            api_token: Some("tok-SECRET-123".into()),
            sync_interval_minutes: Some(30),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.api_endpoint, "https://wlp.invalid/api/prospects");
    assert_eq!(created.has_api_token, Some(true));
    assert!(created.enabled);
    let updated = sync
        .save_config(UpdateWinLeadPlusConfigRequest {
            id: created.id.clone(),
            enabled: Some(false),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.sync_interval_minutes, 30, "absent fields are kept");
    assert_eq!(updated.has_api_token, Some(true), "an absent token is kept");
    assert!(!updated.enabled);

    let fetched = sync
        .get_config(GetWinLeadPlusConfigRequest {
            organisation_id: org.to_string(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!format!("{fetched:?}").contains("SECRET"));
    assert_eq!(
        stack.commercial_count("SELECT count(*) AS n FROM winleadplus_configs WHERE position('tok-SECRET' in encode(api_token_encrypted, 'escape')) > 0").await,
        0,
        "the token is encrypted at rest"
    );
    let cleared = sync
        .save_config(UpdateWinLeadPlusConfigRequest {
            id: created.id.clone(),
            api_token: Some(String::new()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(cleared.has_api_token, Some(false));
    stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_config_input_gets_a_clear_status() {
    let stack = spawn_stack(Vec::new()).await;
    let org = Uuid::new_v4().to_string();
    let mut sync = stack.sync.clone();
    let save = |r: UpdateWinLeadPlusConfigRequest| {
        let mut sync = sync.clone();
        async move { sync.save_config(r).await.unwrap_err() }
    };
    let cases = [
        (
            UpdateWinLeadPlusConfigRequest::default(),
            Code::InvalidArgument,
            "organisation_id",
        ),
        (
            UpdateWinLeadPlusConfigRequest {
                organisation_id: Some("acme".into()),
                ..Default::default()
            },
            Code::InvalidArgument,
            "UUID",
        ),
        (
            UpdateWinLeadPlusConfigRequest {
                organisation_id: Some(org.clone()),
                api_endpoint: Some("not a url".into()),
                ..Default::default()
            },
            Code::InvalidArgument,
            "api_endpoint",
        ),
        (
            UpdateWinLeadPlusConfigRequest {
                organisation_id: Some(org.clone()),
                sync_interval_minutes: Some(2),
                ..Default::default()
            },
            Code::InvalidArgument,
            "between 5 and 1440",
        ),
        (
            UpdateWinLeadPlusConfigRequest {
                id: Uuid::new_v4().to_string(),
                enabled: Some(true),
                ..Default::default()
            },
            Code::NotFound,
            "no WinLeadPlus config",
        ),
    ];
    for (request, code, needle) in cases {
        let status = save(request).await;
        assert_eq!(status.code(), code, "{status:?}");
        assert!(
            status.message().contains(needle),
            "{needle}: {}",
            status.message()
        );
    }
    let status = sync
        .sync_prospects(SyncProspectsRequest {
            organisation_id: org.clone(),
            dry_run: false,
            force_archive: false,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(status.message().contains("SaveConfig"));
    let status = sync
        .get_sync_logs(ListWinLeadPlusSyncLogsRequest {
            organisation_id: org,
            limit: Some(-1),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        stack
            .commercial_count("SELECT count(*) AS n FROM winleadplus_configs")
            .await,
        0
    );
    stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_connection_reports_status_and_keeps_the_stored_token_home() {
    let stack = spawn_stack(fixture("prospects-edge.json")).await;
    let org = Uuid::new_v4();
    stack.configure(org).await;
    let mut sync = stack.sync.clone();

    let ok = sync
        .test_connection(TestConnectionRequest {
            organisation_id: org.to_string(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(ok.success, "{ok:?}");
    assert_eq!(ok.http_status, 200);

    let bad = sync
        .test_connection(TestConnectionRequest {
            organisation_id: org.to_string(),
            api_endpoint: stack.sim.prospects_url(),
            api_token: Some("wrong".into()),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!bad.success);
    assert_eq!(bad.http_status, 401);
    assert!(bad.message.contains("token"), "{}", bad.message);

    let before = stack.sim.stats().requests;
    let status = sync
        .test_connection(TestConnectionRequest {
            organisation_id: org.to_string(),
            api_endpoint: "http://127.0.0.2:9/api/prospects".into(),
            api_token: None,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(stack.sim.stats().requests, before, "nothing sent");
    stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_status_and_contracts_are_readable_after_a_sync() {
    let stack = spawn_stack(fixture("prospects-edge.json")).await;
    let org = Uuid::new_v4();
    stack.configure(org).await;
    let (_, first) = stack.sync_now(org, false).await;
    let (_, second) = stack.sync_now(org, false).await;
    let mut sync = stack.sync.clone();

    let logs = sync
        .get_sync_logs(ListWinLeadPlusSyncLogsRequest {
            organisation_id: org.to_string(),
            limit: None,
        })
        .await
        .unwrap()
        .into_inner()
        .logs;
    assert_eq!(
        logs.iter().map(|l| l.id.clone()).collect::<Vec<_>>(),
        vec![second.id, first.id],
        "newest first"
    );
    assert!(
        logs.iter()
            .all(|l| l.finished_at.is_some() && l.duration_ms >= 0)
    );
    let one = sync
        .get_sync_logs(ListWinLeadPlusSyncLogsRequest {
            organisation_id: org.to_string(),
            limit: Some(1),
        })
        .await
        .unwrap()
        .into_inner()
        .logs;
    assert_eq!(one.len(), 1);
    let status = sync
        .get_sync_status(GetSyncStatusRequest {
            organisation_id: org.to_string(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!status.is_syncing);
    assert!(status.last_sync_at.is_some());

    let mut contrats = stack.contrats.clone();
    let list = contrats
        .list(ListContratRequest {
            organisation_id: org.to_string(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.pagination.unwrap().total, 3);
    let c501 = list
        .contrats
        .iter()
        .find(|c| c.reference == "WLP-CONTRAT-501")
        .unwrap();
    assert_eq!(c501.montant, 29.90);
    let details = contrats
        .get_with_details(GetContratRequest {
            id: c501.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(details.lignes.len(), 1);
    assert_eq!(details.lignes[0].nom, "Fibre 1G");
    let got = contrats
        .get(GetContratRequest {
            id: c501.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got, *c501);
    assert_eq!(
        contrats
            .get(GetContratRequest {
                id: Uuid::new_v4().to_string()
            })
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    assert_eq!(
        contrats
            .get(GetContratRequest { id: "x".into() })
            .await
            .unwrap_err()
            .code(),
        Code::InvalidArgument
    );
    stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduler_syncs_only_enabled_organisations_that_are_due() {
    let stack = spawn_stack_with(Options {
        prospects: fixture("prospects-edge.json"),
        scheduler: true,
        ..Options::default()
    })
    .await;
    let (due, recent, disabled) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    for org in [due, recent, disabled] {
        stack.configure(org).await;
    }
    stack.sync_now(recent, false).await;
    stack
        .sync
        .clone()
        .save_config(UpdateWinLeadPlusConfigRequest {
            organisation_id: Some(disabled.to_string()),
            enabled: Some(false),
            ..Default::default()
        })
        .await
        .unwrap();
    let scheduler = stack.scheduler.clone().unwrap();

    let tick = scheduler.run_once().await;

    assert_eq!(tick.synced, vec![due]);
    for (org, runs) in [(due, 1), (recent, 1), (disabled, 0)] {
        assert_eq!(
            stack.commercial_count(&format!("SELECT count(*) AS n FROM winleadplus_sync_logs WHERE organisation_id = '{org}'")).await,
            runs
        );
    }
    let again = scheduler.run_once().await;
    assert!(again.synced.is_empty(), "nothing is due right after");
    let _ = SIM_TOKEN;
    stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_syncs_in_a_row_keep_taking_the_lease() {
    // PostgreSQL switches a prepared statement to a generic plan after five executions; the
    // lease's ON CONFLICT must still find its partial unique index then.
    let stack = spawn_stack(fixture("prospects-edge.json")).await;
    let org = Uuid::new_v4();
    stack.configure(org).await;
    for i in 0..30 {
        let (success, log) = stack.sync_now(org, true).await;
        assert!(success, "sync {i}: {log:?}");
    }
    assert_eq!(
        stack
            .commercial_count(
                "SELECT count(*) AS n FROM winleadplus_sync_logs WHERE status = 'SUCCESS'"
            )
            .await,
        30
    );
    stack.cleanup().await;
}

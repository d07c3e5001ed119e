//! Tenancy of sync-service's gRPC API with real authentication (HS256 tokens): a caller sees
//! its organisations' configs, logs and contracts and nothing of another's. A foreign
//! organisation named in a request is PERMISSION_DENIED before anything is read, written or
//! sent to WinLeadPlus; a foreign config or contract addressed by id is NOT_FOUND with the
//! message of an id that does not exist. Every check looks at the database or the
//! simulator, not only at the status code.

use std::collections::BTreeSet;

use diesel::QueryableByName;
use diesel::sql_types::Text;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use proto::contrats::{
    CreateContratRequest, DeleteContratRequest, GetContratByReferenceRequest, GetContratRequest,
    ListContratRequest, UpdateContratRequest,
};
use proto::tonic::{Code, Request, Status};
use proto::winleadplus::{
    GetSyncStatusRequest, GetWinLeadPlusConfigRequest, ListWinLeadPlusSyncLogsRequest,
    SyncProspectsRequest, TestConnectionRequest, UpdateWinLeadPlusConfigRequest,
};
use serde_json::json;
use service_kit::auth::mint::{hs256_sign, hs256_token};
use uuid::Uuid;

use crate::helpers::{Clients, Options, SIM_TOKEN, Stack, fixture, spawn_stack_with};

const SECRET: &str = "tenancy-test-secret";

/// Three organisations configured and synced (`a` twice, so that its logs differ from
/// `b`'s); the caller under test is a member of `a` and `b`, never of `c`.
struct World {
    stack: Stack,
    a: Uuid,
    b: Uuid,
    c: Uuid,
}

impl World {
    async fn new() -> Self {
        let stack = spawn_stack_with(Options {
            prospects: fixture("prospects-edge.json"),
            auth_secret: Some(SECRET),
            ..Options::default()
        })
        .await;
        let (a, b, c) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        for org in [a, b, c, a] {
            stack.configure(org).await;
            let (success, log) = stack.sync_now(org, false).await;
            assert!(success, "{log:?}");
        }
        Self { stack, a, b, c }
    }

    /// Clients of a member of `a` and `b`.
    fn caller(&self) -> Clients {
        self.stack
            .with_token(Some(&self.stack.token(&[self.a, self.b])))
    }

    /// Ids of the organisation's contracts, from the database.
    async fn contract_ids(&self, org: Uuid) -> BTreeSet<String> {
        texts(
            &self.stack,
            &format!("SELECT id::text AS v FROM contrats WHERE organisation_id = '{org}'"),
        )
        .await
        .into_iter()
        .collect()
    }

    /// One contract of the organisation: (id, reference).
    async fn a_contract(&self, org: Uuid) -> (String, String) {
        let rows = texts(
            &self.stack,
            &format!(
                "SELECT id::text || ' ' || reference AS v FROM contrats \
                 WHERE organisation_id = '{org}' ORDER BY reference LIMIT 1"
            ),
        )
        .await;
        let (id, reference) = rows[0].split_once(' ').unwrap();
        (id.to_owned(), reference.to_owned())
    }

    /// The organisation's config id, from the database.
    async fn config_id(&self, org: Uuid) -> String {
        texts(
            &self.stack,
            &format!(
                "SELECT id::text AS v FROM winleadplus_configs WHERE organisation_id = '{org}'"
            ),
        )
        .await
        .remove(0)
    }

    /// Every column of the organisation's config, to see that nothing changed.
    async fn config_row(&self, org: Uuid) -> Vec<String> {
        texts(
            &self.stack,
            &format!(
                "SELECT concat_ws('|', id, organisation_id, api_endpoint, enabled, \
                   sync_interval_minutes, last_sync_at, created_at, updated_at, \
                   encode(api_token_encrypted, 'hex')) AS v \
                 FROM winleadplus_configs WHERE organisation_id = '{org}'"
            ),
        )
        .await
    }

    async fn log_count(&self, org: Uuid) -> i64 {
        self.stack
            .commercial_count(&format!(
                "SELECT count(*) AS n FROM winleadplus_sync_logs WHERE organisation_id = '{org}'"
            ))
            .await
    }
}

#[derive(QueryableByName)]
struct V {
    #[diesel(sql_type = Text)]
    v: String,
}

/// The one text column `v` of each row of `sql` on crm_commercial.
async fn texts(stack: &Stack, sql: &str) -> Vec<String> {
    let mut conn = AsyncPgConnection::establish(stack.commercial_db.url())
        .await
        .unwrap();
    let rows: Vec<V> = diesel::sql_query(sql).load(&mut conn).await.unwrap();
    rows.into_iter().map(|r| r.v).collect()
}

fn org(id: Uuid) -> GetWinLeadPlusConfigRequest {
    GetWinLeadPlusConfigRequest {
        organisation_id: id.to_string(),
    }
}

fn logs_of(id: Uuid) -> ListWinLeadPlusSyncLogsRequest {
    ListWinLeadPlusSyncLogsRequest {
        organisation_id: id.to_string(),
        limit: None,
    }
}

fn status_of(id: Uuid) -> GetSyncStatusRequest {
    GetSyncStatusRequest {
        organisation_id: id.to_string(),
    }
}

fn listing(id: Uuid) -> ListContratRequest {
    ListContratRequest {
        organisation_id: id.to_string(),
        ..Default::default()
    }
}

fn by_id(id: &str) -> GetContratRequest {
    GetContratRequest { id: id.to_owned() }
}

fn expect_code<T: std::fmt::Debug>(result: Result<T, Status>, code: Code, what: &str) -> Status {
    let status = result.expect_err(what);
    assert_eq!(status.code(), code, "{what}: {status:?}");
    status
}

/// A NOT_FOUND's message with the id it names blanked out, to compare two of them.
fn not_found_message(status: &Status, id: &str) -> String {
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    assert!(status.message().contains(id), "{status:?} names {id}");
    status.message().replace(id, "<id>")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_without_a_valid_token_is_unauthenticated_and_no_header_is_a_bypass() {
    let stack = spawn_stack_with(Options {
        auth_secret: Some(SECRET),
        ..Options::default()
    })
    .await;
    let (mine, other) = (Uuid::new_v4(), Uuid::new_v4());
    let save = UpdateWinLeadPlusConfigRequest {
        organisation_id: Some(mine.to_string()),
        enabled: Some(true),
        ..Default::default()
    };
    let forged = hs256_token(
        "another-secret",
        "mallory",
        &[mine],
        std::time::Duration::from_secs(600),
    )
    .unwrap();
    for token in [None, Some("not-a-jwt"), Some(forged.as_str())] {
        let mut clients = stack.with_token(token);
        let what = format!("token {token:?}");
        expect_code(
            clients.sync.save_config(save.clone()).await,
            Code::Unauthenticated,
            &what,
        );
        expect_code(
            clients.sync.get_config(org(mine)).await,
            Code::Unauthenticated,
            &what,
        );
        expect_code(
            clients
                .contrats
                .get(by_id(&Uuid::new_v4().to_string()))
                .await,
            Code::Unauthenticated,
            &what,
        );
        // Refused as unauthenticated before the read-only answer.
        expect_code(
            clients
                .contrats
                .create(CreateContratRequest::default())
                .await,
            Code::Unauthenticated,
            &what,
        );
    }
    assert_eq!(
        stack
            .commercial_count("SELECT count(*) AS n FROM winleadplus_configs")
            .await,
        0,
        "nothing saved without a valid token"
    );

    // The old services let `x-internal-service` through: here it grants nothing.
    fn internal<T>(message: T) -> Request<T> {
        let mut request = Request::new(message);
        request
            .metadata_mut()
            .insert("x-internal-service", "client-core".parse().unwrap());
        request
    }
    let mut anonymous = stack.with_token(None);
    expect_code(
        anonymous.sync.get_config(internal(org(mine))).await,
        Code::Unauthenticated,
        "x-internal-service without a token",
    );
    let mut member = stack.with_token(Some(&stack.token(&[mine])));
    expect_code(
        member
            .sync
            .save_config(internal(UpdateWinLeadPlusConfigRequest {
                organisation_id: Some(other.to_string()),
                enabled: Some(true),
                ..Default::default()
            }))
            .await,
        Code::PermissionDenied,
        "x-internal-service for a foreign organisation",
    );
    assert_eq!(
        stack
            .commercial_count("SELECT count(*) AS n FROM winleadplus_configs")
            .await,
        0
    );

    // An authenticated caller gets the read-only answer to writes of contracts.
    let read_only = [
        member
            .contrats
            .create(CreateContratRequest::default())
            .await
            .err(),
        member
            .contrats
            .update(UpdateContratRequest::default())
            .await
            .err(),
        member
            .contrats
            .delete(DeleteContratRequest::default())
            .await
            .map(|_| ())
            .err(),
    ];
    for status in read_only {
        let status = status.expect("contract writes are refused");
        assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
        assert_eq!(status.message(), sync_service::grpc::READ_ONLY_MESSAGE);
    }
    stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_organisation_in_a_request_is_refused_before_any_read_write_or_call() {
    let world = World::new().await;
    let (stack, c) = (&world.stack, world.c);
    let never = Uuid::new_v4(); // no data at all, nobody's
    let c_config = world.config_row(c).await;
    let c_logs = world.log_count(c).await;
    let configs = stack
        .commercial_count("SELECT count(*) AS n FROM winleadplus_configs")
        .await;
    let requests = stack.sim.stats().requests;
    let (_, c_reference) = world.a_contract(c).await;
    let Clients {
        mut sync,
        mut contrats,
    } = world.caller();

    for foreign in [c, never] {
        let id = foreign.to_string();
        let refusals: Vec<(&str, Result<(), Status>)> = vec![
            (
                "SyncProspects",
                sync.sync_prospects(SyncProspectsRequest {
                    organisation_id: id.clone(),
                    dry_run: false,
                    force_archive: false,
                })
                .await
                .map(drop),
            ),
            (
                "GetSyncStatus",
                sync.get_sync_status(status_of(foreign)).await.map(drop),
            ),
            (
                "GetSyncLogs",
                sync.get_sync_logs(logs_of(foreign)).await.map(drop),
            ),
            (
                // Endpoint and token given: only the tenancy check stands between this and
                // a request to the simulator.
                "TestConnection",
                sync.test_connection(TestConnectionRequest {
                    organisation_id: id.clone(),
                    api_endpoint: stack.sim.prospects_url(),
                    api_token: Some(SIM_TOKEN.into()),
                })
                .await
                .map(drop),
            ),
            ("GetConfig", sync.get_config(org(foreign)).await.map(drop)),
            (
                "SaveConfig",
                sync.save_config(UpdateWinLeadPlusConfigRequest {
                    organisation_id: Some(id.clone()),
                    enabled: Some(false),
                    sync_interval_minutes: Some(720),
                    api_token: Some(String::new()),
                    ..Default::default()
                })
                .await
                .map(drop),
            ),
            ("HasConfig", sync.has_config(org(foreign)).await.map(drop)),
            (
                "GetByReference",
                contrats
                    .get_by_reference(GetContratByReferenceRequest {
                        organisation_id: id.clone(),
                        reference: c_reference.clone(),
                    })
                    .await
                    .map(drop),
            ),
            ("List", contrats.list(listing(foreign)).await.map(drop)),
        ];
        for (rpc, result) in refusals {
            let status = expect_code(result, Code::PermissionDenied, rpc);
            assert!(
                status
                    .message()
                    .contains(&format!("you may not access organisation {id}")),
                "{rpc}: {}",
                status.message()
            );
        }
    }

    assert_eq!(world.config_row(c).await, c_config, "c's config unchanged");
    assert_eq!(
        world.log_count(c).await,
        c_logs,
        "no sync log written for c"
    );
    assert_eq!(world.log_count(never).await, 0, "no sync log written");
    assert_eq!(
        stack
            .commercial_count("SELECT count(*) AS n FROM winleadplus_configs")
            .await,
        configs,
        "no config created"
    );
    assert_eq!(
        stack.sim.stats().requests,
        requests,
        "nothing sent to WinLeadPlus"
    );

    // A caller whose token names no organisation can do nothing tenant-scoped.
    let mut nobody = stack.with_token(Some(&stack.token(&[])));
    let status = expect_code(
        nobody.sync.get_config(org(world.a)).await,
        Code::PermissionDenied,
        "no organisation: GetConfig",
    );
    assert!(
        status.message().contains("names no organisation"),
        "{status:?}"
    );
    expect_code(
        nobody.contrats.list(listing(world.a)).await,
        Code::PermissionDenied,
        "no organisation: List",
    );
    let (a_contract, _) = world.a_contract(world.a).await;
    expect_code(
        nobody.contrats.get(by_id(&a_contract)).await,
        Code::NotFound,
        "no organisation: Get",
    );
    world.stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_callers_organisations_are_served_and_only_with_their_own_rows() {
    let world = World::new().await;
    let (stack, a, b, c) = (&world.stack, world.a, world.b, world.c);
    let Clients {
        mut sync,
        mut contrats,
    } = world.caller();

    // GetSyncLogs: the organisation's logs, as stored, newest first.
    for org in [a, b] {
        let logs = sync
            .get_sync_logs(logs_of(org))
            .await
            .unwrap()
            .into_inner()
            .logs;
        let stored = texts(
            stack,
            &format!(
                "SELECT id::text AS v FROM winleadplus_sync_logs WHERE organisation_id = '{org}' \
                 ORDER BY started_at DESC, id DESC"
            ),
        )
        .await;
        assert_eq!(
            logs.iter().map(|l| l.id.clone()).collect::<Vec<_>>(),
            stored
        );
        assert!(logs.iter().all(|l| l.organisation_id == org.to_string()));
    }
    assert_eq!(world.log_count(a).await, 2);
    assert_eq!(world.log_count(b).await, 1);

    // GetSyncStatus: the organisation's last sync, as stored.
    for org in [a, b] {
        let status = sync
            .get_sync_status(status_of(org))
            .await
            .unwrap()
            .into_inner();
        let stored = texts(
            stack,
            &format!(
                "SELECT to_char(last_sync_at AT TIME ZONE 'UTC', \
                   'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS v \
                 FROM winleadplus_configs WHERE organisation_id = '{org}'"
            ),
        )
        .await;
        assert!(!status.is_syncing);
        assert_eq!(status.last_sync_at.as_deref(), Some(stored[0].as_str()));
    }

    // GetConfig, SaveConfig (by organisation and by id), HasConfig.
    for org in [a, b] {
        let config = sync.get_config(self::org(org)).await.unwrap().into_inner();
        assert_eq!(config.id, world.config_id(org).await);
        assert_eq!(config.organisation_id, org.to_string());
    }
    sync.save_config(UpdateWinLeadPlusConfigRequest {
        organisation_id: Some(b.to_string()),
        enabled: Some(false),
        ..Default::default()
    })
    .await
    .unwrap();
    let saved = sync
        .save_config(UpdateWinLeadPlusConfigRequest {
            id: world.config_id(a).await,
            sync_interval_minutes: Some(45),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(saved.sync_interval_minutes, 45);
    let stored = texts(
        stack,
        "SELECT organisation_id || ' ' || enabled || ' ' || sync_interval_minutes AS v \
         FROM winleadplus_configs ORDER BY organisation_id",
    )
    .await;
    let mut expected = vec![
        format!("{a} true 45"),
        format!("{b} false 60"),
        format!("{c} true 60"),
    ];
    expected.sort();
    assert_eq!(stored, expected);
    assert!(sync.has_config(org(a)).await.unwrap().into_inner().enabled);
    assert!(!sync.has_config(org(b)).await.unwrap().into_inner().enabled);

    // TestConnection and SyncProspects of an own organisation reach the simulator.
    let requests = stack.sim.stats().requests;
    let tested = sync
        .test_connection(TestConnectionRequest {
            organisation_id: a.to_string(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(tested.success, "{tested:?}");
    assert_eq!(stack.sim.stats().requests, requests + 1);
    let synced = sync
        .sync_prospects(SyncProspectsRequest {
            organisation_id: a.to_string(),
            dry_run: true,
            force_archive: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(synced.success, "{synced:?}");
    assert_eq!(world.log_count(a).await, 3);

    // List: each organisation's contracts, exactly; never c's.
    let c_contracts = world.contract_ids(c).await;
    assert!(!c_contracts.is_empty());
    for org in [a, b] {
        let listed = contrats.list(listing(org)).await.unwrap().into_inner();
        let ids: BTreeSet<String> = listed.contrats.iter().map(|k| k.id.clone()).collect();
        assert_eq!(ids, world.contract_ids(org).await);
        assert_eq!(
            listed.pagination.unwrap().total,
            i32::try_from(ids.len()).unwrap()
        );
        assert!(ids.is_disjoint(&c_contracts));
    }

    // GetByReference: the same reference names each organisation's own contract.
    let (a_id, reference) = world.a_contract(a).await;
    let (b_id, b_reference) = world.a_contract(b).await;
    assert_eq!(reference, b_reference, "both imported the same fixture");
    for (org, id) in [(a, &a_id), (b, &b_id)] {
        let found = contrats
            .get_by_reference(GetContratByReferenceRequest {
                organisation_id: org.to_string(),
                reference: reference.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(&found.id, id);
        assert_eq!(found.organisation_id, org.to_string());
    }

    // Get and GetWithDetails of an own contract.
    let got = contrats.get(by_id(&b_id)).await.unwrap().into_inner();
    assert_eq!(
        (got.id.as_str(), got.organisation_id),
        (b_id.as_str(), b.to_string())
    );
    let details = contrats
        .get_with_details(by_id(&a_id))
        .await
        .unwrap()
        .into_inner();
    let contrat = details.contrat.unwrap();
    assert_eq!(
        (contrat.id.as_str(), contrat.organisation_id),
        (a_id.as_str(), a.to_string())
    );

    // A Keycloak token naming its organisation as the group path `/orgs/<uuid>`.
    let exp = chrono::Utc::now().timestamp() + 600;
    let keycloak = hs256_sign(
        SECRET,
        &json!({ "sub": "kc-user", "exp": exp, "organisations": [format!("/orgs/{a}")] }),
    )
    .unwrap();
    let mut member = stack.with_token(Some(&keycloak));
    let config = member.sync.get_config(org(a)).await.unwrap().into_inner();
    assert_eq!(config.id, world.config_id(a).await);
    let listed = member.contrats.list(listing(a)).await.unwrap().into_inner();
    let ids: BTreeSet<String> = listed.contrats.into_iter().map(|k| k.id).collect();
    assert_eq!(ids, world.contract_ids(a).await);
    expect_code(
        member.sync.get_config(org(b)).await,
        Code::PermissionDenied,
        "group path token, other organisation",
    );
    world.stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_organisations_config_or_contract_by_id_is_not_found_like_a_missing_one() {
    let world = World::new().await;
    let (a, c) = (world.a, world.c);
    let Clients {
        mut sync,
        mut contrats,
    } = world.caller();
    let (c_contract, _) = world.a_contract(c).await;
    let missing = Uuid::new_v4().to_string();

    // Get and GetWithDetails.
    let foreign = contrats.get(by_id(&c_contract)).await.unwrap_err();
    let absent = contrats.get(by_id(&missing)).await.unwrap_err();
    assert_eq!(
        not_found_message(&foreign, &c_contract),
        not_found_message(&absent, &missing)
    );
    let foreign = contrats
        .get_with_details(by_id(&c_contract))
        .await
        .unwrap_err();
    let absent = contrats
        .get_with_details(by_id(&missing))
        .await
        .unwrap_err();
    assert_eq!(
        not_found_message(&foreign, &c_contract),
        not_found_message(&absent, &missing)
    );

    // SaveConfig by the id of c's config, alone or with one of the caller's organisations:
    // not found, and c's config untouched.
    let c_config_id = world.config_id(c).await;
    let c_config = world.config_row(c).await;
    let a_config = world.config_row(a).await;
    let change = |id: &str, organisation: Option<Uuid>| UpdateWinLeadPlusConfigRequest {
        id: id.to_owned(),
        organisation_id: organisation.map(|o| o.to_string()),
        api_endpoint: Some("https://elsewhere.invalid".into()),
        api_token: Some("stolen".into()),
        enabled: Some(false),
        sync_interval_minutes: Some(999),
    };
    let absent = sync.save_config(change(&missing, None)).await.unwrap_err();
    let absent = not_found_message(&absent, &missing);
    for organisation in [None, Some(a)] {
        let foreign = sync
            .save_config(change(&c_config_id, organisation))
            .await
            .unwrap_err();
        assert_eq!(
            not_found_message(&foreign, &c_config_id),
            absent,
            "{organisation:?}"
        );
    }
    assert_eq!(world.config_row(c).await, c_config, "c's config unchanged");
    assert_eq!(world.config_row(a).await, a_config, "a's config unchanged");
    world.stack.cleanup().await;
}

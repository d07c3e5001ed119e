//! Outbound tokens (ARCHITECTURE.md, "Outbound tokens"): a stored token is bound to its
//! organisation and its endpoint's origin, the fallback token only goes to the origin of
//! `WINLEADPLUS_API_URL`, keys rotate (`rotate_tokens`, what `cargo xtask rotate-tokens`
//! runs), and start-up refuses to run without a key while tokens are stored. Each test looks
//! at what the WinLeadPlus simulators received, not only at what the service answered.

use std::sync::Arc;

use proto::tonic::Code;
use proto::winleadplus::{TestConnectionRequest, UpdateWinLeadPlusConfigRequest};
use sync_service::crypto::{self, TokenCipher};
use sync_service::db::configs::ConfigStore;
use sync_service::keys::{EncryptionKey, KeyArgs, NamedKey};
use sync_service::rotate::rotate_tokens;
use uuid::Uuid;
use winleadplus_sim::{Sim, SimConfig, SimData};

use crate::helpers::{Options, SIM_TOKEN, Stack, fixture, spawn_stack, spawn_stack_with};

fn key(kid: &str, byte: u8) -> NamedKey {
    NamedKey {
        kid: kid.to_owned(),
        key: EncryptionKey::from_bytes([byte; 32]),
    }
}

/// A second WinLeadPlus on another port (another origin), expecting `token`.
async fn other_sim(token: &str) -> Sim {
    Sim::start(SimConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        token: token.into(),
        data: SimData::Prospects(fixture("prospects-edge.json")),
    })
    .await
    .unwrap()
}

fn origin(url: &str) -> String {
    url::Url::parse(url).unwrap().origin().ascii_serialization()
}

async fn save(stack: &Stack, r: UpdateWinLeadPlusConfigRequest) -> Option<bool> {
    stack
        .sync
        .clone()
        .save_config(r)
        .await
        .unwrap()
        .into_inner()
        .has_api_token
}

/// TestConnection with the stored (or fallback) token: the refusal it gets.
async fn test_stored(stack: &Stack, org: Uuid) -> proto::tonic::Status {
    stack
        .sync
        .clone()
        .test_connection(TestConnectionRequest {
            organisation_id: org.to_string(),
            ..Default::default()
        })
        .await
        .unwrap_err()
}

/// A sync that must fail: its errors joined.
async fn failing_sync(stack: &Stack, org: Uuid) -> String {
    let (success, log) = stack.sync_now(org, false).await;
    assert!(!success, "{log:?}");
    assert_eq!(log.status, "FAILED");
    log.errors.join(" | ")
}

fn store(stack: &Stack) -> ConfigStore {
    let pool = sync_service::db::pool(stack.commercial_db.url(), 2, Arc::new(|| {})).unwrap();
    ConfigStore::new(pool)
}

/// Copies `from`'s sealed token into `to`'s row, as someone with write access to the
/// database could.
async fn copy_token(stack: &Stack, from: Uuid, to: Uuid) {
    stack
        .commercial_execute(&format!(
            "UPDATE winleadplus_configs SET api_token_encrypted = \
               (SELECT api_token_encrypted FROM winleadplus_configs WHERE organisation_id = '{from}') \
             WHERE organisation_id = '{to}'"
        ))
        .await;
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stored_token_is_cleared_and_never_sent_when_the_endpoint_moves_to_another_origin() {
    let stack = spawn_stack(fixture("prospects-edge.json")).await;
    let other = other_sim("other-token").await;
    let org = Uuid::new_v4();
    stack.configure(org).await;
    let id = |org: Uuid| Some(org.to_string());

    // Another path on the same origin keeps the token, and it still opens there.
    let same_origin = format!("{}/v2/prospects", stack.sim.base_url());
    let kept = save(
        &stack,
        UpdateWinLeadPlusConfigRequest {
            organisation_id: id(org),
            api_endpoint: Some(same_origin),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(kept, Some(true), "a path change keeps the token");
    let back = save(
        &stack,
        UpdateWinLeadPlusConfigRequest {
            organisation_id: id(org),
            api_endpoint: Some(stack.sim.prospects_url()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(back, Some(true));
    let (success, log) = stack.sync_now(org, true).await;
    assert!(success, "{log:?}");

    // Another origin without a token: the stored one is cleared and the answer says so.
    let moved = save(
        &stack,
        UpdateWinLeadPlusConfigRequest {
            organisation_id: id(org),
            api_endpoint: Some(other.prospects_url()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(moved, Some(false), "the token does not follow the endpoint");
    assert_eq!(
        stack
            .commercial_count(&format!(
                "SELECT count(*) AS n FROM winleadplus_configs \
                 WHERE organisation_id = '{org}' AND api_token_encrypted IS NULL"
            ))
            .await,
        1
    );
    let errors = failing_sync(&stack, org).await;
    assert!(
        errors.contains("has no WinLeadPlus API token") && errors.contains("save an api_token"),
        "{errors}"
    );
    let status = test_stored(&stack, org).await;
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert_eq!(
        other.stats().requests,
        0,
        "nothing was sent to the new origin"
    );
    assert!(other.bearer_tokens().is_empty());

    // A new endpoint and a new token together: sealed for the new origin, sent there only.
    let both = save(
        &stack,
        UpdateWinLeadPlusConfigRequest {
            organisation_id: id(org),
            api_endpoint: Some(other.prospects_url()),
            api_token: Some("other-token".into()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(both, Some(true));
    let (success, log) = stack.sync_now(org, false).await;
    assert!(success, "{log:?}");
    let seen = other.bearer_tokens();
    assert!(
        !seen.is_empty() && seen.iter().all(|t| t == "other-token"),
        "{seen:?}"
    );
    assert!(
        stack.sim.bearer_tokens().iter().all(|t| t == SIM_TOKEN),
        "the first origin only ever saw its own token"
    );
    other.stop().await;
    stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fallback_token_is_only_sent_to_the_origin_of_winleadplus_api_url() {
    const FALLBACK: &str = "fallback-token";
    let home = other_sim(FALLBACK).await;
    let stack = spawn_stack_with(Options {
        prospects: fixture("prospects-edge.json"),
        fallback_token: Some(FALLBACK),
        api_url: Some(home.prospects_url()),
        ..Options::default()
    })
    .await;
    let (elsewhere, at_home) = (Uuid::new_v4(), Uuid::new_v4());
    for (org, endpoint) in [
        (elsewhere, stack.sim.prospects_url()),
        (at_home, home.prospects_url()),
    ] {
        let has = save(
            &stack,
            UpdateWinLeadPlusConfigRequest {
                organisation_id: Some(org.to_string()),
                api_endpoint: Some(endpoint),
                enabled: Some(true),
                ..Default::default()
            },
        )
        .await;
        assert_eq!(has, Some(false));
    }

    let errors = failing_sync(&stack, elsewhere).await;
    let expected = format!(
        "no API token for {}: the service's fallback token is only sent to {}; save an api_token",
        origin(&stack.sim.prospects_url()),
        origin(&home.prospects_url())
    );
    assert!(errors.contains(&expected), "{errors}");
    let status = test_stored(&stack, elsewhere).await;
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert!(status.message().contains(&expected), "{status:?}");
    assert_eq!(
        stack.sim.stats().requests,
        0,
        "nothing was sent to another origin"
    );
    assert!(stack.sim.bearer_tokens().is_empty());

    // At its own origin the fallback is used.
    let (success, log) = stack.sync_now(at_home, false).await;
    assert!(success, "{log:?}");
    let seen = home.bearer_tokens();
    assert!(
        !seen.is_empty() && seen.iter().all(|t| t == FALLBACK),
        "{seen:?}"
    );
    home.stop().await;
    stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_copied_into_another_organisations_row_does_not_open() {
    let stack = spawn_stack(fixture("prospects-edge.json")).await;
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    stack.configure(a).await;
    let has = save(
        &stack,
        UpdateWinLeadPlusConfigRequest {
            organisation_id: Some(b.to_string()),
            api_endpoint: Some(stack.sim.prospects_url()),
            api_token: Some("b-own-token".into()),
            enabled: Some(true),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(has, Some(true));
    copy_token(&stack, a, b).await;

    let errors = failing_sync(&stack, b).await;
    assert!(
        errors.contains(&format!("does not open for organisation {b}"))
            && errors.contains("save the api_token again"),
        "{errors}"
    );
    let status = test_stored(&stack, b).await;
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert!(status.message().contains("does not open"), "{status:?}");
    assert_eq!(
        stack.sim.stats().requests,
        0,
        "nothing was sent with the copied token"
    );

    let (success, log) = stack.sync_now(a, false).await;
    assert!(success, "A's own token still works: {log:?}");
    stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_rotate_and_old_format_tokens_are_converted() {
    let (k1, k2) = (key("k1", 1), key("k2", 2));
    let mut stack = spawn_stack_with(Options {
        prospects: fixture("prospects-edge.json"),
        keys: KeyArgs::list(vec![k1.clone()]),
        ..Options::default()
    })
    .await;
    let (a, legacy, broken) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    for org in [a, legacy, broken] {
        stack.configure(org).await;
    }
    // `legacy` holds a token as the service sealed it before tokens were bound; `broken`
    // holds A's token, which opens for no other organisation.
    let old = crypto::seal_legacy(&k1, SIM_TOKEN).unwrap();
    stack
        .commercial_execute(&format!(
            "UPDATE winleadplus_configs SET api_token_encrypted = decode('{}', 'hex') \
             WHERE organisation_id = '{legacy}'",
            hex(&old)
        ))
        .await;
    copy_token(&stack, a, broken).await;
    let errors = failing_sync(&stack, legacy).await;
    assert!(errors.contains("cargo xtask rotate-tokens"), "{errors}");

    // New key first; the old one still opens.
    let both = vec![k2.clone(), k1.clone()];
    stack.restart_sync(KeyArgs::list(both.clone())).await;
    let (success, log) = stack.sync_now(a, true).await;
    assert!(success, "k1 still opens: {log:?}");

    let configs = store(&stack);
    let before = configs.sealed_tokens().await.unwrap();
    let rotation = rotate_tokens(&configs, &TokenCipher::new(&both))
        .await
        .unwrap();
    assert_eq!(
        (
            rotation.resealed,
            rotation.current,
            rotation.changed_meanwhile
        ),
        (2, 0, 0),
        "{rotation:?}"
    );
    assert_eq!(
        rotation
            .failed
            .iter()
            .map(|(org, _)| *org)
            .collect::<Vec<_>>(),
        vec![broken]
    );
    assert!(
        rotation.failed[0].1.contains("does not open"),
        "{:?}",
        rotation.failed
    );
    for row in configs.sealed_tokens().await.unwrap() {
        let expected = if row.organisation_id == broken {
            "k1"
        } else {
            "k2"
        };
        assert_eq!(crypto::kid_of(&row.sealed), Some(expected));
    }
    let again = rotate_tokens(&configs, &TokenCipher::new(&both))
        .await
        .unwrap();
    assert_eq!((again.resealed, again.current), (0, 2), "{again:?}");

    // A row that changed since it was read is not overwritten.
    let stale = before.iter().find(|t| t.organisation_id == a).unwrap();
    assert!(!configs.replace_token(stale, b"whatever").await.unwrap());

    // The old key can go: k2 alone opens what was rotated.
    stack.restart_sync(KeyArgs::list(vec![k2])).await;
    for org in [a, legacy] {
        let (success, log) = stack.sync_now(org, false).await;
        assert!(success, "{org}: {log:?}");
    }
    assert!(stack.sim.bearer_tokens().iter().all(|t| t == SIM_TOKEN));
    stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_up_refuses_to_run_without_a_key_while_tokens_are_stored() {
    let stack = spawn_stack(Vec::new()).await;
    for _ in 0..2 {
        stack.configure(Uuid::new_v4()).await;
    }
    let mut config = stack.sync_config.clone();
    config.keys = KeyArgs::default();
    let e = match sync_service::App::build(config.clone()).await {
        Ok(_) => panic!("starts without a key"),
        Err(e) => format!("{e:#}"),
    };
    assert!(
        e.contains(
            "TOKEN_ENCRYPTION_KEYS is not set but 2 organisations have a stored WinLeadPlus token"
        ) && e.contains("TOKEN_ENCRYPTION_KEY"),
        "{e}"
    );
    assert!(!e.contains('\n'), "one line: {e}");

    // Tokens under a key id that is not configured: a warning, not a refusal.
    config.keys = KeyArgs::list(vec![key("k9", 9)]);
    assert!(sync_service::App::build(config).await.is_ok());
    stack.cleanup().await;
}

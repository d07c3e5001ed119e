//! `cargo xtask demo`: the product end to end in a minute. Starts the WinLeadPlus simulator
//! with generated prospects, client-core and sync-service; configures a demo organisation;
//! runs a first sync with a live progress bar, a second one (everything skipped), then
//! changes a share of the prospects and syncs again to show the updates reaching client-core;
//! then removes a few prospects from WinLeadPlus (they are archived, not deleted) and brings
//! one back (it is restored).

#![allow(clippy::print_stdout, reason = "a command-line task reports on stdout")]

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::Context;
use proto::clients::{ListClientsBaseRequest, PaginationRequest};
use proto::contrats::{GetContratRequest, ListContratRequest};
use proto::winleadplus::{
    GetSyncStatusRequest, SyncProspectsRequest, UpdateWinLeadPlusConfigRequest, WinLeadPlusSyncLog,
};
use uuid::Uuid;

use crate::stack::{SIM_TOKEN, Stack, StackOptions, prerequisites};

/// Options of the demo.
#[derive(Debug, clap::Args)]
pub(crate) struct DemoArgs {
    /// Prospects the simulator serves.
    #[arg(long, default_value_t = 2000)]
    prospects: usize,
    /// Share of prospects changed before the third sync.
    #[arg(long, default_value_t = 0.05)]
    change: f64,
    /// Seed of the generated data.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Share of prospects removed from WinLeadPlus before the fourth sync.
    #[arg(long, default_value_t = 0.03)]
    remove: f64,
}

pub(crate) async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let nats = prerequisites().await?;
    println!(
        "Starting winleadplus-sim ({} prospects), client-core and sync-service…",
        args.prospects
    );
    let stack = Stack::start(
        StackOptions {
            prospects: winleadplus_sim::generate(args.prospects, args.seed),
            batch_size: 500,
        },
        nats,
    )
    .await?;
    let result = scenario(&stack, &args).await;
    stack.stop().await?;
    result?;
    println!(
        "\nAll stopped. The imported clients stay in crm_core, the contracts in crm_commercial."
    );
    Ok(())
}

async fn scenario(stack: &Stack, args: &DemoArgs) -> anyhow::Result<()> {
    let org = stack.organisation;
    println!(
        "Demo organisation {org}; simulator at {}",
        stack.sim.prospects_url()
    );
    stack
        .sync
        .clone()
        .save_config(UpdateWinLeadPlusConfigRequest {
            organisation_id: Some(org.to_string()),
            api_endpoint: Some(stack.sim.prospects_url()),
            api_token: Some(SIM_TOKEN.to_owned()),
            enabled: Some(true),
            sync_interval_minutes: Some(60),
            ..Default::default()
        })
        .await
        .context("SaveConfig failed")?;

    let expected = i32::try_from(stack.sim.count()).unwrap_or(i32::MAX);
    let first =
        sync_with_progress(stack, org, "1. First sync: every prospect is new", expected).await?;
    summary(&first);
    show_clients(stack, org).await?;

    let second = sync_with_progress(
        stack,
        org,
        "2. Same data again: everything is skipped, nothing is published",
        expected,
    )
    .await?;
    summary(&second);

    let changed = stack.sim.mutate(args.change, args.seed + 1);
    let applied_before = stack.updates_applied();
    let title = format!(
        "3. {} prospects ({:.0} %) changed in WinLeadPlus: they are updated in client-core",
        changed.len(),
        args.change * 100.0
    );
    let third = sync_with_progress(stack, org, &title, expected).await?;
    summary(&third);
    let wanted = applied_before + u64::try_from(third.updated).unwrap_or(0);
    let deadline = Instant::now() + Duration::from_secs(30);
    while stack.updates_applied() < wanted && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "   client-core applied {} of {} updates",
        stack.updates_applied() - applied_before,
        third.updated
    );
    let (fourth, fifth) = archive_and_restore(stack, org, args).await?;
    if [&first, &second, &third, &fourth, &fifth]
        .iter()
        .any(|log| log.status != "SUCCESS")
    {
        anyhow::bail!("a sync did not succeed");
    }
    Ok(())
}

/// Steps 4 and 5: a share of the prospects removed from WinLeadPlus are archived (their
/// clients hidden, their contracts `ARCHIVE`), then one of them comes back and is restored.
async fn archive_and_restore(
    stack: &Stack,
    org: Uuid,
    args: &DemoArgs,
) -> anyhow::Result<(WinLeadPlusSyncLog, WinLeadPlusSyncLog)> {
    let before = stack.sim.prospects();
    let step = (1.0 / args.remove.clamp(0.001, 1.0)).round().max(1.0) as usize;
    let removed: Vec<serde_json::Value> = before.iter().step_by(step).cloned().collect();
    for p in &removed {
        if let Some(id) = prospect_id(p) {
            stack.sim.remove_prospect(id);
        }
    }
    let live_before = live_clients(stack, org).await?;
    let expected = i32::try_from(stack.sim.count()).unwrap_or(i32::MAX);
    let title = format!(
        "4. {} prospects ({:.0} %) removed from WinLeadPlus: they are archived, not deleted",
        removed.len(),
        args.remove * 100.0
    );
    let fourth = sync_with_progress(stack, org, &title, expected).await?;
    summary(&fourth);
    let wanted = live_before - i64::from(fourth.archived);
    let live = wait_for_live_clients(stack, org, wanted).await?;
    println!(
        "   clients visible in the CRM: {live_before} before, {live} after ({} archived: hidden, kept, contracts ARCHIVE)",
        fourth.archived
    );

    let back = removed
        .first()
        .cloned()
        .context("no prospect was removed")?;
    let back_id = prospect_id(&back).unwrap_or_default();
    stack.sim.upsert_prospects(vec![back]);
    let expected = i32::try_from(stack.sim.count()).unwrap_or(i32::MAX);
    let title = format!("5. Prospect {back_id} is back in WinLeadPlus: its client is restored");
    let fifth = sync_with_progress(stack, org, &title, expected).await?;
    summary(&fifth);
    let restored = wait_for_live_clients(stack, org, live + 1).await?;
    println!(
        "   clients visible in the CRM: {live} before, {restored} after (prospect {back_id} restored, counted as updated)"
    );
    Ok((fourth, fifth))
}

/// The `idProspect` of a generated prospect.
fn prospect_id(p: &serde_json::Value) -> Option<i64> {
    mapper::ProspectId::parse(p.get("idProspect")?)
        .ok()
        .map(mapper::ProspectId::get)
}

/// How many clients of the organisation the CRM lists (live ones).
async fn live_clients(stack: &Stack, org: Uuid) -> anyhow::Result<i64> {
    let page = stack
        .clients
        .clone()
        .list(ListClientsBaseRequest {
            organisation_id: org.to_string(),
            pagination: Some(PaginationRequest {
                page: 1,
                limit: 1,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .context("List failed")?
        .into_inner();
    Ok(i64::from(page.pagination.map_or(0, |p| p.total)))
}

/// Waits (at most 30 s) until client-core has applied the archives or restores, and returns
/// how many clients it lists then.
async fn wait_for_live_clients(stack: &Stack, org: Uuid, wanted: i64) -> anyhow::Result<i64> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let live = live_clients(stack, org).await?;
        if live == wanted || Instant::now() >= deadline {
            return Ok(live);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs a sync while drawing its progress from `GetSyncStatus` (the response is streamed,
/// so the service learns the total only at the end; the demo knows what the simulator holds).
async fn sync_with_progress(
    stack: &Stack,
    org: Uuid,
    title: &str,
    expected: i32,
) -> anyhow::Result<WinLeadPlusSyncLog> {
    println!("\n{title}");
    let mut sync = stack.sync.clone();
    let call = tokio::spawn(async move {
        sync.sync_prospects(SyncProspectsRequest {
            organisation_id: org.to_string(),
            dry_run: false,
            force_archive: false,
        })
        .await
    });
    let mut status_client = stack.sync.clone();
    let started = Instant::now();
    while !call.is_finished() {
        if let Ok(s) = status_client
            .get_sync_status(GetSyncStatusRequest {
                organisation_id: org.to_string(),
            })
            .await
        {
            let s = s.into_inner();
            if s.is_syncing {
                draw(s.processed, expected.max(s.total), started.elapsed());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let response = call
        .await
        .context("sync task")?
        .context("SyncProspects failed")?
        .into_inner();
    let log = response.sync_log.context("no sync log returned")?;
    draw(log.total_prospects, log.total_prospects, started.elapsed());
    println!();
    Ok(log)
}

fn draw(processed: i32, total: i32, elapsed: Duration) {
    let width = 40usize;
    let filled = if total > 0 {
        usize::try_from(i64::from(processed) * width as i64 / i64::from(total))
            .unwrap_or(width)
            .min(width)
    } else {
        0
    };
    print!(
        "\r   [{}{}] {processed:>7}/{total:<7} {:>6.1} s",
        "#".repeat(filled),
        " ".repeat(width - filled),
        elapsed.as_secs_f64()
    );
    let _flushed = std::io::stdout().flush();
}

fn summary(log: &WinLeadPlusSyncLog) {
    let secs = (log.duration_ms as f64 / 1000.0).max(0.001);
    println!(
        "   ┌──────────┬─────────┬─────────┬─────────┬────────┬──────────┬──────────┬──────────────┐"
    );
    println!(
        "   │ status   │ created │ updated │ skipped │ failed │ archived │ duration │ prospects/s  │"
    );
    println!(
        "   ├──────────┼─────────┼─────────┼─────────┼────────┼──────────┼──────────┼──────────────┤"
    );
    println!(
        "   │ {:<8} │ {:>7} │ {:>7} │ {:>7} │ {:>6} │ {:>8} │ {:>6.2} s │ {:>12.0} │",
        log.status,
        log.created,
        log.updated,
        log.skipped,
        log.failed,
        log.archived,
        secs,
        f64::from(log.total_prospects) / secs
    );
    println!(
        "   └──────────┴─────────┴─────────┴─────────┴────────┴──────────┴──────────┴──────────────┘"
    );
    if !log.errors.is_empty() {
        println!("   first error: {}", log.errors[0]);
    }
    if !log.warnings.is_empty() {
        println!(
            "   {} warnings, e.g. {}",
            log.warnings.len(),
            log.warnings[0]
        );
    }
}

async fn show_clients(stack: &Stack, org: Uuid) -> anyhow::Result<()> {
    let clients = stack
        .clients
        .clone()
        .list(ListClientsBaseRequest {
            organisation_id: org.to_string(),
            source: Some("WinLeadPlus".to_owned()),
            pagination: Some(PaginationRequest {
                page: 1,
                limit: 5,
                sort_by: "nom".to_owned(),
                sort_order: "asc".to_owned(),
            }),
            ..Default::default()
        })
        .await
        .context("List failed")?
        .into_inner();
    let total = clients.pagination.map_or(0, |p| p.total);
    println!("   A few of the {total} clients in client-core (source WinLeadPlus):");
    let first_client = clients.clients.first().map(|c| c.id.clone());
    for c in clients.clients {
        let contracts = stack
            .contrats
            .clone()
            .list(ListContratRequest {
                organisation_id: org.to_string(),
                client_id: c.id.clone(),
                ..Default::default()
            })
            .await
            .context("contrats.List failed")?
            .into_inner()
            .pagination
            .map_or(0, |p| p.total);
        println!(
            "     {:<26} {:<18} {:<12} source={:<12} contracts={contracts}",
            format!("{} {}", c.nom, c.prenom),
            c.telephone,
            c.compte_code,
            c.source.unwrap_or_default()
        );
    }
    if let Some(client_id) = first_client {
        show_contract(stack, org, client_id).await?;
    }
    Ok(())
}

/// One imported contract as the CRM's contract pages get it (`GetWithDetails`).
async fn show_contract(stack: &Stack, org: Uuid, client_id: String) -> anyhow::Result<()> {
    let mut contrats = stack.contrats.clone();
    let listed = contrats
        .list(ListContratRequest {
            organisation_id: org.to_string(),
            client_id,
            ..Default::default()
        })
        .await
        .context("contrats.List failed")?
        .into_inner();
    let Some(first) = listed.contrats.first() else {
        return Ok(());
    };
    let details = contrats
        .get_with_details(GetContratRequest {
            id: first.id.clone(),
        })
        .await
        .context("contrats.GetWithDetails failed")?
        .into_inner();
    let Some(c) = details.contrat else {
        return Ok(());
    };
    println!(
        "   Its contract {} \"{}\": {} {:.2} {}, {} line(s):",
        c.reference,
        c.titre,
        c.statut,
        c.montant,
        c.devise,
        details.lignes.len()
    );
    for l in details.lignes {
        println!(
            "     {} × {:<40} {:>9.2}  produit {}",
            l.quantite, l.nom, l.prix_unitaire, l.produit_id
        );
    }
    Ok(())
}

//! `cargo xtask dead-letters list|replay|purge`: what client-core gave up on (kept in
//! crm_core with payload and last error), sending it again once the cause is fixed, and
//! deleting what is past retention now rather than at client-core's next hourly purge.

#![allow(clippy::print_stdout, reason = "a command-line task reports on stdout")]

use anyhow::Context;
use clap::Subcommand;
use client_core::db::{self, DeadLetterStore};
use crm_db::Database;
use uuid::Uuid;

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Dead letters waiting for a replay (with --all, the replayed ones too).
    List {
        /// Include dead letters already replayed.
        #[arg(long)]
        all: bool,
    },
    /// Publish dead letters again on their subject (all pending ones, or those named).
    Replay {
        /// Ids to replay; none means every pending dead letter.
        ids: Vec<Uuid>,
    },
    /// Delete dead letters older than the retention, replayed or not.
    Purge {
        /// Days kept (client-core's own setting by default).
        #[arg(long, env = "CORE_DEAD_LETTER_RETENTION_DAYS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3650))]
        days: u32,
    },
}

pub(crate) async fn run(command: Command) -> anyhow::Result<()> {
    let pool = db::pool(
        &crate::database_url(Database::Core),
        2,
        std::sync::Arc::new(|| {}),
    )?;
    let store = DeadLetterStore::new(pool);
    match command {
        Command::List { all } => {
            let letters = store.list(all).await.context("cannot read dead letters")?;
            if letters.is_empty() {
                println!("no dead letters");
            }
            for l in letters {
                let state = l
                    .replayed_at
                    .map_or_else(|| "pending".to_owned(), |t| format!("replayed {t}"));
                println!(
                    "{}  {}  {}  attempts={}  {} bytes  {state}\n    last error: {}",
                    l.id,
                    l.created_at.format("%Y-%m-%d %H:%M:%S"),
                    l.subject,
                    l.attempts,
                    l.payload.len(),
                    l.last_error
                );
            }
        }
        Command::Purge { days } => {
            let purged = client_core::retention::purge_dead_letters(
                &store,
                chrono::Duration::days(i64::from(days)),
            )
            .await
            .context("cannot purge dead letters")?;
            println!("{purged} dead letters older than {days} days purged");
        }
        Command::Replay { ids } => {
            // Replays go out as client-core's NATS user may publish them (deploy/nats-server.conf).
            let nats = service_kit::nats::connect(&crate::stack::nats_args()?, "xtask").await?;
            let js = async_nats::jetstream::new(nats);
            let pending = store
                .list(false)
                .await
                .context("cannot read dead letters")?;
            let chosen: Vec<_> = pending
                .into_iter()
                .filter(|l| ids.is_empty() || ids.contains(&l.id))
                .collect();
            if chosen.is_empty() {
                println!("nothing to replay");
            }
            for l in chosen {
                client_core::nats::replay_dead_letter(&js, &store, l.id, &l.subject, l.payload)
                    .await?;
                println!("{}: replayed on {}", l.id, l.subject);
            }
        }
    }
    Ok(())
}

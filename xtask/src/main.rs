//! `cargo xtask <task>`: the project's own commands, written in Rust so they need nothing
//! but cargo (the rust-analyzer "xtask" pattern). One module per task; this file only
//! parses the command line and dispatches.

mod bench;
mod dead_letters;
mod demo;
mod migrate;
mod rotate_tokens;
mod soak;
mod stack;
mod token;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Project tasks.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// End-to-end throughput and memory against the hardware floor (release build).
    Bench(bench::BenchArgs),
    /// The release half of `bench` (run by `bench`).
    #[command(hide = true)]
    BenchRun(bench::BenchArgs),
    /// The product end to end: simulator, client-core, sync-service, three syncs.
    Demo(demo::DemoArgs),
    /// Create crm_core and crm_commercial if missing and apply pending migrations
    /// (URLs from CORE_DATABASE_URL and COMMERCIAL_DATABASE_URL).
    Migrate,
    /// Re-seal every stored WinLeadPlus token under the first key of TOKEN_ENCRYPTION_KEYS
    /// (and convert tokens of the old format); prints what it did.
    RotateTokens(rotate_tokens::RotateArgs),
    /// The product as processes for N minutes: rounds of random changes and faults (kills,
    /// SIGTERM, WinLeadPlus errors), the exact state checked and the RSS printed after each.
    Soak(soak::SoakArgs),
    /// Print an access token for the gRPC services (HS256, signed with AUTH_JWT_SECRET).
    Token(token::TokenArgs),
    /// List or replay the updates client-core gave up on.
    #[command(subcommand)]
    DeadLetters(dead_letters::Command),
}

#[tokio::main]
async fn main() -> ExitCode {
    service_kit::tls::install_default_provider();
    let cli = Cli::parse();
    let result = match cli.task {
        Task::Bench(args) => bench::run(&args),
        Task::BenchRun(args) => bench::run_release(args).await,
        Task::Demo(args) => demo::run(args).await,
        Task::Migrate => migrate::run().await,
        Task::RotateTokens(args) => rotate_tokens::run(args).await,
        Task::Soak(args) => soak::run(args).await,
        Task::Token(args) => token::run(&args),
        Task::DeadLetters(command) => dead_letters::run(command).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

use stack::database_url;

//! `cargo xtask migrate`: creates both databases if missing and applies what is pending,
//! printing what it did. Idempotent; one clear line and a non-zero exit when PostgreSQL
//! cannot be reached.

#![allow(clippy::print_stdout, reason = "a command-line task reports on stdout")]

use crm_db::Database;

pub(crate) async fn run() -> anyhow::Result<()> {
    for db in Database::ALL {
        let url = crate::database_url(db);
        let label = format!("crm_{}", db.name());
        if crm_db::ensure_database(&url).await? {
            println!("{label}: database created");
        }
        let applied = crm_db::run_pending(&url, db).await?;
        if applied.is_empty() {
            println!("{label}: up to date");
        }
        for name in applied {
            println!("{label}: applied {name}");
        }
    }
    Ok(())
}

//! `crm_commercial`, sync-service's database: WinLeadPlus configs, prospect mappings, sync
//! logs (the RUNNING one is the organisation's sync lease), and imported contracts.

pub mod schema;

use diesel_migrations::{EmbeddedMigrations, embed_migrations};

/// The migrations of `crm_commercial` (`migrations/commercial`), embedded at build time.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/commercial");

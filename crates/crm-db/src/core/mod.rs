//! `crm_core`, client-core's database: clients (`clientbases`), their addresses (`adresses`)
//! and the dead letters of the client update consumer.

pub mod functions;
pub mod schema;

use diesel_migrations::{EmbeddedMigrations, embed_migrations};

/// The migrations of `crm_core` (`migrations/core`), embedded at build time.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/core");

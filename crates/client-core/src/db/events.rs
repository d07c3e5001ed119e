//! Writes driven by NATS events: creating or linking imported clients, applying updates.
//! A batch is tried set-based first (`bulk.rs`); when it fails as a whole, its items are
//! replayed one by one through the same functions, each under its own savepoint, so one bad
//! item fails alone.

use diesel_async::AsyncConnection;
use uuid::Uuid;

use super::bulk;
use super::{DbError, DbPool};
use crate::events::{CreateCommand, UpdateCommand};

/// What a create did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreateOutcome {
    /// The CRM client of the external record.
    pub client_id: Uuid,
    /// True when this call created the client or linked an existing manual one; false when
    /// the record was already linked.
    pub created: bool,
}

/// What an update (or an archive, or a restore) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// The row now holds the new version (an archived client the import created is
    /// soft-deleted; a restored one is back and updated).
    Applied,
    /// An archive of a manual client the import had only linked: it was unlinked, not
    /// deleted, its `source` back to what it was before the link.
    Unlinked,
    /// The row already holds this version or a newer one.
    Stale,
    /// The client was deleted in the CRM (or is archived); updates no longer apply, and a
    /// restore never undoes a CRM user's own Delete.
    Deleted,
    /// The client is no longer linked to this record (a manual client unlinked by an
    /// archive, then linked to another record): left alone.
    NotLinked,
}

/// Why an update could not be applied (it will be retried, then dead-lettered).
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// No such client in that organisation.
    #[error("client {client_id} of organisation {organisation_id} not found")]
    UnknownClient {
        /// The client named by the event.
        client_id: Uuid,
        /// The organisation named by the event.
        organisation_id: Uuid,
    },
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for UpdateError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(e.into())
    }
}

/// Event-driven writes over the pool.
#[derive(Clone)]
pub struct EventStore {
    pool: DbPool,
}

impl EventStore {
    /// A store over this pool.
    pub fn new(pool: DbPool) -> Self {
        Self { pool }
    }

    /// Creates, finds or links the client of each command. The result has one entry per
    /// command, in order. The whole batch is tried set-based first (a handful of statements
    /// whatever its size); if that fails, it is replayed item by item, each under its own
    /// savepoint, so that one bad item fails alone and the others still go in. Both paths
    /// run the same statements, so they create and link alike.
    #[tracing::instrument(skip_all, fields(op = "create_batch", batch = commands.len()))]
    pub async fn create_batch(
        &self,
        commands: &[CreateCommand],
    ) -> Result<Vec<Result<CreateOutcome, String>>, DbError> {
        if commands.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.pool.get().await?;
        let set_based = conn
            .transaction::<_, diesel::result::Error, _>(async |conn| {
                bulk::create_all(conn, commands).await
            })
            .await;
        match set_based {
            Ok(outcomes) => return Ok(outcomes.into_iter().map(Ok).collect()),
            Err(e) => {
                tracing::warn!(error = %e, items = commands.len(), "bulk create failed; retrying item by item")
            }
        }
        let results = conn
            .transaction::<_, diesel::result::Error, _>(async |conn| {
                let mut results = Vec::with_capacity(commands.len());
                for command in commands {
                    let outcome = conn
                        .transaction::<_, diesel::result::Error, _>(async |conn| {
                            bulk::create_one(conn, command).await
                        })
                        .await;
                    results.push(outcome.map_err(|e| {
                        tracing::warn!(
                            external_id = %command.reference.external_id,
                            error = %e,
                            "client creation failed"
                        );
                        format!("cannot create client: {e}")
                    }));
                }
                Ok(results)
            })
            .await?;
        Ok(results)
    }

    /// Applies a batch of updates set-based (one transaction); one outcome per command, in
    /// order. `Err` when the batch as a whole failed: the caller then applies them one by
    /// one with [`EventStore::apply_update`] to isolate the culprit.
    #[tracing::instrument(skip_all, fields(op = "apply_updates", batch = commands.len()))]
    pub async fn apply_updates(
        &self,
        commands: &[UpdateCommand],
    ) -> Result<Vec<Result<UpdateOutcome, UpdateError>>, DbError> {
        if commands.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.pool.get().await?;
        Ok(conn
            .transaction::<_, diesel::result::Error, _>(async |conn| {
                bulk::update_all(conn, commands).await
            })
            .await?)
    }

    /// Applies one update, as [`EventStore::apply_updates`] would: if it is newer than the
    /// row; never touching `source`, `statut`, `id`.
    #[tracing::instrument(skip_all, fields(op = "apply_update"))]
    pub async fn apply_update(
        &self,
        command: &UpdateCommand,
    ) -> Result<UpdateOutcome, UpdateError> {
        let mut conn = self.pool.get().await.map_err(DbError::from)?;
        conn.transaction::<_, UpdateError, _>(async |conn| bulk::update_one(conn, command).await)
            .await
    }
}

//! Dead letters: events client-core gave up on, kept with their payload and last error so
//! an operator can list and replay them.

use chrono::{DateTime, Utc};
use crm_db::core::schema::dead_letters;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::models::DeadLetterRow;
use super::{DbError, DbPool};

/// A message that could not be applied.
pub type DeadLetter = DeadLetterRow;

/// Dead-letter queries over the pool.
#[derive(Clone)]
pub struct DeadLetterStore {
    pool: DbPool,
}

impl DeadLetterStore {
    /// A store over this pool.
    pub fn new(pool: DbPool) -> Self {
        Self { pool }
    }

    /// Stores a message given up on.
    #[tracing::instrument(skip_all, fields(op = "insert_dead_letter", attempts = attempts))]
    pub async fn insert(
        &self,
        subject: &str,
        payload: &[u8],
        last_error: &str,
        attempts: i32,
    ) -> Result<Uuid, DbError> {
        let mut conn = self.pool.get().await?;
        Ok(diesel::insert_into(dead_letters::table)
            .values((
                dead_letters::subject.eq(subject),
                dead_letters::payload.eq(payload),
                dead_letters::last_error.eq(last_error),
                dead_letters::attempts.eq(attempts),
            ))
            .returning(dead_letters::id)
            .get_result(&mut conn)
            .await?)
    }

    /// Dead letters not replayed yet, oldest first (all of them with `include_replayed`).
    #[tracing::instrument(skip_all, fields(op = "list_dead_letters", include_replayed = include_replayed))]
    pub async fn list(&self, include_replayed: bool) -> Result<Vec<DeadLetter>, DbError> {
        let mut conn = self.pool.get().await?;
        let mut q = dead_letters::table.into_boxed();
        if !include_replayed {
            q = q.filter(dead_letters::replayed_at.is_null());
        }
        Ok(
            q.order_by((dead_letters::created_at.asc(), dead_letters::id.asc()))
                .select(DeadLetterRow::as_select())
                .load(&mut conn)
                .await?,
        )
    }

    /// Deletes the dead letters stored before `cutoff`, replayed or not; how many went.
    #[tracing::instrument(skip_all, fields(op = "purge_dead_letters", %cutoff))]
    pub async fn purge_before(&self, cutoff: DateTime<Utc>) -> Result<usize, DbError> {
        let mut conn = self.pool.get().await?;
        Ok(
            diesel::delete(dead_letters::table.filter(dead_letters::created_at.lt(cutoff)))
                .execute(&mut conn)
                .await?,
        )
    }

    /// Marks a dead letter replayed; false if it was not pending.
    #[tracing::instrument(skip_all, fields(op = "mark_dead_letter_replayed", dead_letter = %id))]
    pub async fn mark_replayed(&self, id: Uuid) -> Result<bool, DbError> {
        let mut conn = self.pool.get().await?;
        let n = diesel::update(dead_letters::table)
            .filter(dead_letters::id.eq(id))
            .filter(dead_letters::replayed_at.is_null())
            .set(dead_letters::replayed_at.eq(Utc::now()))
            .execute(&mut conn)
            .await?;
        Ok(n == 1)
    }
}

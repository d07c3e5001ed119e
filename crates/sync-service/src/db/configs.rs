//! `winleadplus_configs`: one row per organisation. Reads and writes name their organisation
//! (a [`Tenant`]) or are limited to the caller's ([`Organisations`]); only the scheduler's
//! [`ConfigStore::due`] looks across organisations.

use chrono::{DateTime, Utc};
use crm_db::commercial::schema::winleadplus_configs as cfg;
use diesel::expression::BoxableExpression;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::Bool;
use diesel_async::{AsyncConnection, RunQueryDsl};
use uuid::Uuid;

use super::models::ConfigRow;
use super::{DbError, DbPool};
use crate::domain::SyncConfig;
use service_kit::auth::{Organisations, Tenant};

/// A change to a config: `None` keeps the current value.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = cfg, check_for_backend(diesel::pg::Pg))]
pub struct ConfigChange {
    pub api_endpoint: Option<String>,
    pub enabled: Option<bool>,
    pub sync_interval_minutes: Option<i32>,
    /// `Some(None)` clears the token.
    pub api_token_encrypted: Option<Option<Vec<u8>>>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// Which config a [`ConfigStore::save`] changes.
#[derive(Clone, Copy)]
pub enum SaveTarget<'a> {
    /// The organisation's config, created first (with this endpoint and the defaults) when
    /// it does not exist.
    Organisation {
        /// The organisation, already checked against the caller's.
        tenant: Tenant,
        /// The endpoint of a new config.
        default_endpoint: &'a str,
    },
    /// A config by id, when one of `organisations` owns it.
    Id {
        /// The caller's organisations.
        organisations: &'a Organisations,
        /// The config's id.
        id: Uuid,
    },
}

/// A config before and after a [`ConfigStore::save`].
#[derive(Debug, Clone)]
pub struct Saved {
    /// As it was read (under the lock).
    pub before: SyncConfig,
    /// As it was written.
    pub after: SyncConfig,
}

/// A config's sealed token and what it is bound to.
#[derive(Clone)]
pub struct SealedToken {
    /// The config's id.
    pub id: Uuid,
    /// Its organisation.
    pub organisation_id: Uuid,
    /// Its stored endpoint.
    pub api_endpoint: String,
    /// The token as stored.
    pub sealed: Vec<u8>,
}

/// Why a save's transaction rolled back.
enum SaveError<E> {
    Db(diesel::result::Error),
    Plan(E),
}

impl<E> From<diesel::result::Error> for SaveError<E> {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(e)
    }
}

/// Never synced, or synced at least `sync_interval_minutes` before `now`.
fn is_due(now: DateTime<Utc>) -> Box<dyn BoxableExpression<cfg::table, Pg, SqlType = Bool>> {
    Box::new(
        cfg::last_sync_at.is_null().or(diesel::dsl::sql::<Bool>(
            "last_sync_at + make_interval(mins => sync_interval_minutes) <= ",
        )
        .bind::<diesel::sql_types::Timestamptz, _>(now)),
    )
}

/// A config one of `organisations` owns (any config when the caller may see them all).
fn owned_by(
    organisations: &Organisations,
) -> Box<dyn BoxableExpression<cfg::table, Pg, SqlType = Bool>> {
    match organisations.scope() {
        Some(ids) => Box::new(cfg::organisation_id.eq_any(ids)),
        None => Box::new(true.into_sql::<Bool>()),
    }
}

/// Config queries over the pool.
#[derive(Clone)]
pub struct ConfigStore {
    pool: DbPool,
}

impl ConfigStore {
    /// A store over this pool.
    pub fn new(pool: DbPool) -> Self {
        Self { pool }
    }

    /// The config of an organisation.
    #[tracing::instrument(name = "db", skip_all, fields(op = "config_by_organisation"))]
    pub async fn by_organisation(&self, tenant: Tenant) -> Result<Option<SyncConfig>, DbError> {
        let mut conn = self.pool.get().await?;
        let row: Option<ConfigRow> = cfg::table
            .filter(cfg::organisation_id.eq(tenant.id()))
            .select(ConfigRow::as_select())
            .first(&mut conn)
            .await
            .optional()?;
        Ok(row.map(SyncConfig::from))
    }

    /// A config by its id, when one of `organisations` owns it: another organisation's
    /// config is `None`, exactly as one that does not exist.
    #[tracing::instrument(name = "db", skip_all, fields(op = "config_by_id"))]
    pub async fn by_id(
        &self,
        organisations: &Organisations,
        id: Uuid,
    ) -> Result<Option<SyncConfig>, DbError> {
        let mut conn = self.pool.get().await?;
        let row: Option<ConfigRow> = cfg::table
            .filter(cfg::id.eq(id))
            .filter(owned_by(organisations))
            .select(ConfigRow::as_select())
            .first(&mut conn)
            .await
            .optional()?;
        Ok(row.map(SyncConfig::from))
    }

    /// Applies the change `plan` makes of the config as it is, in one transaction that
    /// holds the row (`SELECT … FOR UPDATE`) from the read to the write: a decision taken on
    /// what the row holds (e.g. clearing a token when the endpoint moves to another origin)
    /// cannot be undone by a concurrent save. `None` when the target is not found (another
    /// organisation's config is left untouched, exactly as a missing one). An error of
    /// `plan` rolls everything back.
    #[tracing::instrument(name = "db", skip_all, fields(op = "save_config"))]
    pub async fn save<E>(
        &self,
        target: SaveTarget<'_>,
        plan: impl FnOnce(&SyncConfig) -> Result<ConfigChange, E> + Send,
    ) -> Result<Option<Saved>, E>
    where
        E: From<DbError> + Send,
    {
        let mut conn = self.pool.get().await.map_err(DbError::from)?;
        let outcome = conn
            .transaction::<_, SaveError<E>, _>(async |conn| {
                if let SaveTarget::Organisation {
                    tenant,
                    default_endpoint,
                } = target
                {
                    diesel::insert_into(cfg::table)
                        .values((
                            cfg::organisation_id.eq(tenant.id()),
                            cfg::api_endpoint.eq(default_endpoint),
                        ))
                        .on_conflict(cfg::organisation_id)
                        .do_nothing()
                        .execute(conn)
                        .await?;
                }
                let current: Option<ConfigRow> = match target {
                    SaveTarget::Organisation { tenant, .. } => {
                        cfg::table
                            .filter(cfg::organisation_id.eq(tenant.id()))
                            .select(ConfigRow::as_select())
                            .for_update()
                            .first(conn)
                            .await
                    }
                    SaveTarget::Id { organisations, id } => {
                        cfg::table
                            .filter(cfg::id.eq(id))
                            .filter(owned_by(organisations))
                            .select(ConfigRow::as_select())
                            .for_update()
                            .first(conn)
                            .await
                    }
                }
                .optional()?;
                let Some(current) = current else {
                    return Ok(None);
                };
                let before = SyncConfig::from(current);
                let mut change = plan(&before).map_err(SaveError::Plan)?;
                change.updated_at = Some(Utc::now());
                let row: ConfigRow = diesel::update(cfg::table.filter(cfg::id.eq(before.id)))
                    .set(&change)
                    .returning(ConfigRow::as_returning())
                    .get_result(conn)
                    .await?;
                Ok(Some(Saved {
                    before,
                    after: row.into(),
                }))
            })
            .await;
        match outcome {
            Ok(saved) => Ok(saved),
            Err(SaveError::Plan(e)) => Err(e),
            Err(SaveError::Db(e)) => Err(DbError::from(e).into()),
        }
    }

    /// Every config holding a sealed token (start-up's census, `rotate-tokens`).
    #[tracing::instrument(name = "db", skip_all, fields(op = "sealed_tokens"))]
    pub async fn sealed_tokens(&self) -> Result<Vec<SealedToken>, DbError> {
        let mut conn = self.pool.get().await?;
        let rows: Vec<(Uuid, Uuid, String, Option<Vec<u8>>)> = cfg::table
            .filter(cfg::api_token_encrypted.is_not_null())
            .order_by(cfg::organisation_id)
            .select((
                cfg::id,
                cfg::organisation_id,
                cfg::api_endpoint,
                cfg::api_token_encrypted,
            ))
            .load(&mut conn)
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, organisation_id, api_endpoint, sealed)| {
                Some(SealedToken {
                    id,
                    organisation_id,
                    api_endpoint,
                    sealed: sealed?,
                })
            })
            .collect())
    }

    /// Replaces a config's sealed token only if the row still holds `read` (compare and
    /// set): false when a save changed it meanwhile, which is then left as it is.
    #[tracing::instrument(name = "db", skip_all, fields(op = "replace_token"))]
    pub async fn replace_token(&self, read: &SealedToken, sealed: &[u8]) -> Result<bool, DbError> {
        let mut conn = self.pool.get().await?;
        let updated = diesel::update(
            cfg::table
                .filter(cfg::id.eq(read.id))
                .filter(cfg::api_token_encrypted.eq(&read.sealed)),
        )
        .set(cfg::api_token_encrypted.eq(sealed))
        .execute(&mut conn)
        .await?;
        Ok(updated == 1)
    }

    /// Enabled configs whose interval has elapsed since their last sync (or never synced).
    #[tracing::instrument(name = "db", skip_all, fields(op = "due_configs", due))]
    pub async fn due(&self, now: DateTime<Utc>) -> Result<Vec<SyncConfig>, DbError> {
        let mut conn = self.pool.get().await?;
        let rows: Vec<ConfigRow> = cfg::table
            .filter(cfg::enabled.eq(true))
            .filter(is_due(now))
            .order_by(cfg::last_sync_at.asc().nulls_first())
            .select(ConfigRow::as_select())
            .load(&mut conn)
            .await?;
        tracing::Span::current().record("due", rows.len());
        Ok(rows.into_iter().map(SyncConfig::from).collect())
    }

    /// Whether one organisation's config is enabled and due at `now`.
    #[tracing::instrument(name = "db", skip_all, fields(op = "is_due"))]
    pub async fn is_due(&self, tenant: Tenant, now: DateTime<Utc>) -> Result<bool, DbError> {
        let mut conn = self.pool.get().await?;
        let found: Option<Uuid> = cfg::table
            .filter(cfg::organisation_id.eq(tenant.id()))
            .filter(cfg::enabled.eq(true))
            .filter(is_due(now))
            .select(cfg::id)
            .first(&mut conn)
            .await
            .optional()?;
        Ok(found.is_some())
    }
}

/// Records that an organisation's sync finished now (the database's clock), on a connection:
/// the transaction that ends the run and releases its lease.
#[tracing::instrument(name = "db", skip_all, fields(op = "set_last_sync"))]
pub(crate) async fn set_last_sync_on(
    conn: &mut diesel_async::AsyncPgConnection,
    tenant: Tenant,
) -> Result<(), diesel::result::Error> {
    diesel::update(cfg::table.filter(cfg::organisation_id.eq(tenant.id())))
        .set(cfg::last_sync_at.eq(diesel::dsl::now))
        .execute(conn)
        .await?;
    Ok(())
}

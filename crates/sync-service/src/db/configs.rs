//! `winleadplus_configs`: one row per organisation. Reads and writes name their organisation
//! (a [`Tenant`]) or are limited to the caller's ([`Organisations`]); only the scheduler's
//! [`ConfigStore::due`] looks across organisations.

use chrono::{DateTime, Utc};
use crm_db::commercial::schema::winleadplus_configs as cfg;
use diesel::expression::BoxableExpression;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::Bool;
use diesel_async::RunQueryDsl;
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

    /// Applies a change to an organisation's config, creating it first (with `endpoint` and
    /// the defaults) when it does not exist. Safe under concurrent calls.
    #[tracing::instrument(name = "db", skip_all, fields(op = "save_config"))]
    pub async fn save_for_organisation(
        &self,
        tenant: Tenant,
        default_endpoint: &str,
        mut change: ConfigChange,
    ) -> Result<SyncConfig, DbError> {
        let organisation_id = tenant.id();
        let mut conn = self.pool.get().await?;
        diesel::insert_into(cfg::table)
            .values((
                cfg::organisation_id.eq(organisation_id),
                cfg::api_endpoint.eq(default_endpoint),
            ))
            .on_conflict(cfg::organisation_id)
            .do_nothing()
            .execute(&mut conn)
            .await?;
        change.updated_at = Some(Utc::now());
        let row: ConfigRow =
            diesel::update(cfg::table.filter(cfg::organisation_id.eq(organisation_id)))
                .set(&change)
                .returning(ConfigRow::as_returning())
                .get_result(&mut conn)
                .await?;
        Ok(row.into())
    }

    /// Applies a change to a config named by id; `None` when there is no such config among
    /// those of `organisations` (another organisation's is left untouched).
    #[tracing::instrument(name = "db", skip_all, fields(op = "save_config"))]
    pub async fn save_by_id(
        &self,
        organisations: &Organisations,
        id: Uuid,
        mut change: ConfigChange,
    ) -> Result<Option<SyncConfig>, DbError> {
        let mut conn = self.pool.get().await?;
        change.updated_at = Some(Utc::now());
        let target = cfg::table
            .filter(cfg::id.eq(id))
            .filter(owned_by(organisations));
        let row: Option<ConfigRow> = diesel::update(target)
            .set(&change)
            .returning(ConfigRow::as_returning())
            .get_result(&mut conn)
            .await
            .optional()?;
        Ok(row.map(SyncConfig::from))
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

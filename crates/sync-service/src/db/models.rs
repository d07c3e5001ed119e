//! Row types of crm_commercial, and the `sync_status` enum's mapping.

use std::io::Write;

use chrono::{DateTime, NaiveDate, Utc};
use crm_db::commercial::schema::sql_types::SyncStatus;
use crm_db::commercial::schema::{
    contrats, lignes_contrat, winleadplus_configs, winleadplus_sync_logs,
};
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::prelude::*;
use diesel::serialize::{self, IsNull, Output, ToSql};
use rust_decimal::Decimal;
use uuid::Uuid;

/// The state of a sync run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = SyncStatus)]
pub enum LogStatus {
    /// In progress; the organisation's lease.
    Running,
    /// Finished; every prospect was handled (some may have failed alone).
    Success,
    /// Stopped: the sync as a whole could not complete.
    Failed,
}

impl LogStatus {
    /// The wire and database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "RUNNING",
            Self::Success => "SUCCESS",
            Self::Failed => "FAILED",
        }
    }
}

impl ToSql<SyncStatus, Pg> for LogStatus {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        out.write_all(self.as_str().as_bytes())?;
        Ok(IsNull::No)
    }
}

impl FromSql<SyncStatus, Pg> for LogStatus {
    fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
        match bytes.as_bytes() {
            b"RUNNING" => Ok(Self::Running),
            b"SUCCESS" => Ok(Self::Success),
            b"FAILED" => Ok(Self::Failed),
            other => {
                Err(format!("unknown sync_status {:?}", String::from_utf8_lossy(other)).into())
            }
        }
    }
}

/// An organisation's WinLeadPlus config.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = winleadplus_configs, check_for_backend(Pg))]
pub struct ConfigRow {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub api_endpoint: String,
    pub api_token_encrypted: Option<Vec<u8>>,
    pub enabled: bool,
    pub sync_interval_minutes: i32,
    pub last_sync_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A sync run.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = winleadplus_sync_logs, check_for_backend(Pg))]
pub struct LogRow {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub status: LogStatus,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub heartbeat_at: DateTime<Utc>,
    pub total_prospects: i32,
    pub created: i32,
    pub updated: i32,
    pub skipped: i32,
    pub failed: i32,
    pub processed: i32,
    pub dry_run: bool,
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
    pub errors_dropped: i32,
    pub warnings_dropped: i32,
    pub message: Option<String>,
    pub duration_ms: Option<i64>,
}

/// An imported contract.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = contrats, check_for_backend(Pg))]
pub struct ContratRow {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub reference: String,
    pub external_id: Option<String>,
    pub client_id: Option<Uuid>,
    pub titre: String,
    pub statut: String,
    pub montant: Option<Decimal>,
    pub date_signature: Option<NaiveDate>,
    pub date_debut: Option<NaiveDate>,
    pub devise: String,
    pub frequence_facturation: Option<String>,
    pub fournisseur: Option<String>,
    pub commercial_id: Option<String>,
    pub notes: Option<String>,
    pub source: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A line of an imported contract.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = lignes_contrat, check_for_backend(Pg))]
pub struct LigneRow {
    pub id: Uuid,
    pub contrat_id: Uuid,
    pub position: i32,
    pub nom: String,
    pub prix_unitaire: Option<Decimal>,
    pub quantite: i32,
    pub categorie: Option<String>,
    pub offre_id: Option<String>,
    /// When the line was written: lines are replaced as a whole, so also its last change.
    pub created_at: DateTime<Utc>,
}

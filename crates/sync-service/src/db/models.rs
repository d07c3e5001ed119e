//! Row types of crm_commercial, the `sync_status` enum's mapping, and the one place each
//! row becomes its domain value (`crate::domain`): rows do not leave `db/`.

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

use crate::domain::{self, SyncLog, SyncStatus as Status};

/// [`Status`] as diesel reads and writes it (the domain type knows no diesel).
#[derive(Debug, Clone, Copy, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = SyncStatus)]
pub enum LogStatus {
    /// [`Status::Running`].
    Running,
    /// [`Status::Success`].
    Success,
    /// [`Status::Failed`].
    Failed,
}

impl From<Status> for LogStatus {
    fn from(s: Status) -> Self {
        match s {
            Status::Running => Self::Running,
            Status::Success => Self::Success,
            Status::Failed => Self::Failed,
        }
    }
}

impl From<LogStatus> for Status {
    fn from(s: LogStatus) -> Self {
        match s {
            LogStatus::Running => Self::Running,
            LogStatus::Success => Self::Success,
            LogStatus::Failed => Self::Failed,
        }
    }
}

impl ToSql<SyncStatus, Pg> for LogStatus {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        out.write_all(Status::from(*self).as_str().as_bytes())?;
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
    pub archived: i32,
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

impl From<ConfigRow> for domain::SyncConfig {
    fn from(r: ConfigRow) -> Self {
        Self {
            id: r.id,
            organisation_id: r.organisation_id,
            api_endpoint: r.api_endpoint,
            api_token_sealed: r.api_token_encrypted,
            enabled: r.enabled,
            sync_interval_minutes: r.sync_interval_minutes,
            last_sync_at: r.last_sync_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// The heartbeat stays behind: it is the lease's business, read only inside `db/`.
impl From<LogRow> for SyncLog {
    fn from(r: LogRow) -> Self {
        Self {
            id: r.id,
            organisation_id: r.organisation_id,
            status: r.status.into(),
            started_at: r.started_at,
            finished_at: r.finished_at,
            total_prospects: r.total_prospects,
            created: r.created,
            updated: r.updated,
            skipped: r.skipped,
            failed: r.failed,
            processed: r.processed,
            dry_run: r.dry_run,
            errors: r.errors,
            warnings: r.warnings,
            errors_dropped: r.errors_dropped,
            warnings_dropped: r.warnings_dropped,
            message: r.message,
            duration_ms: r.duration_ms,
            archived: r.archived,
        }
    }
}

impl From<ContratRow> for domain::Contrat {
    fn from(r: ContratRow) -> Self {
        Self {
            id: r.id,
            organisation_id: r.organisation_id,
            reference: r.reference,
            external_id: r.external_id,
            client_id: r.client_id,
            titre: r.titre,
            statut: r.statut,
            montant: r.montant,
            date_signature: r.date_signature,
            date_debut: r.date_debut,
            devise: r.devise,
            frequence_facturation: r.frequence_facturation,
            fournisseur: r.fournisseur,
            commercial_id: r.commercial_id,
            notes: r.notes,
            source: r.source,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

impl From<LigneRow> for domain::ContratLigne {
    fn from(r: LigneRow) -> Self {
        Self {
            id: r.id,
            contrat_id: r.contrat_id,
            position: r.position,
            nom: r.nom,
            prix_unitaire: r.prix_unitaire,
            quantite: r.quantite,
            categorie: r.categorie,
            offre_id: r.offre_id,
            created_at: r.created_at,
        }
    }
}

//! Domain values of sync-service and their rules: organisation ids, the WinLeadPlus
//! endpoint, the sync interval, the contract listing's order and the CRM product id of an
//! offer; and what the engine, the scheduler and the gRPC handlers read from the database
//! (an organisation's [`SyncConfig`], a run's [`SyncLog`], an imported [`Contrat`]), so that
//! no row type leaves `db/`, which converts its rows into these in one place.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::error::Error;

/// Smallest `sync_interval_minutes`.
pub const MIN_INTERVAL_MINUTES: i32 = 5;
/// Largest `sync_interval_minutes` (a day).
pub const MAX_INTERVAL_MINUTES: i32 = 1440;
/// `sync_interval_minutes` of a new config.
pub const DEFAULT_INTERVAL_MINUTES: i32 = 60;
/// The path of the prospects resource.
pub const PROSPECTS_PATH: &str = "/api/prospects";

/// Parses a required organisation id.
pub fn organisation_id(value: &str) -> Result<Uuid, Error> {
    parse_uuid("organisation_id", value)
}

/// Parses a required UUID field, naming it in the error ([`service_kit::ids`] holds the rule).
pub fn parse_uuid(field: &str, value: &str) -> Result<Uuid, Error> {
    Ok(service_kit::ids::parse_uuid(field, value)?)
}

/// Checks a sync interval.
pub fn interval(minutes: i32) -> Result<i32, Error> {
    if (MIN_INTERVAL_MINUTES..=MAX_INTERVAL_MINUTES).contains(&minutes) {
        Ok(minutes)
    } else {
        Err(Error::invalid(format!(
            "sync_interval_minutes must be between {MIN_INTERVAL_MINUTES} and {MAX_INTERVAL_MINUTES}, got {minutes}"
        )))
    }
}

/// Namespace of the product ids derived from WinLeadPlus offers. Fixed for good: changing it
/// would change every `produit_id` the CRM has already seen.
const PRODUIT_NAMESPACE: Uuid = Uuid::from_u128(0x0a2ebc5937da42bba2e5e75f74f12406);

/// The CRM product id of a WinLeadPlus offer: a UUID v5 of (organisation, offer id), so the
/// same offer is the same product on every read and every sync, and two organisations'
/// offers with the same id stay distinct products.
pub fn produit_id(organisation_id: Uuid, offre_id: &str) -> Uuid {
    Uuid::new_v5(
        &PRODUIT_NAMESPACE,
        format!("{organisation_id}/{offre_id}").as_bytes(),
    )
}

/// What `contrats.ContratService/List` can sort by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContratSort {
    /// Creation time (default).
    CreatedAt,
    /// Last change.
    UpdatedAt,
    /// `reference`.
    Reference,
    /// `titre`.
    Titre,
    /// `statut`.
    Statut,
    /// `montant` (unknown amounts last).
    Montant,
    /// `date_signature` (unknown dates last).
    DateSignature,
    /// `date_debut` (unknown dates last).
    DateDebut,
}

impl ContratSort {
    /// Parses `sort_by` (snake_case, or the frontend's camelCase); empty is the default.
    pub fn parse(value: &str) -> Result<Self, Error> {
        Ok(match value.trim() {
            "" | "created_at" | "createdAt" => Self::CreatedAt,
            "updated_at" | "updatedAt" => Self::UpdatedAt,
            "reference" => Self::Reference,
            "titre" => Self::Titre,
            "statut" => Self::Statut,
            "montant" => Self::Montant,
            "date_signature" | "dateSignature" => Self::DateSignature,
            "date_debut" | "dateDebut" => Self::DateDebut,
            other => {
                return Err(Error::invalid(format!(
                    "sort_by must be one of created_at, updated_at, reference, titre, statut, \
                     montant, date_signature, date_debut; got {other:?}"
                )));
            }
        })
    }
}

/// A WinLeadPlus prospects endpoint: an absolute http(s) URL whose path ends with
/// `/api/prospects` (appended when the configured URL has no path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint(url::Url);

impl Endpoint {
    /// Parses and normalizes an endpoint.
    pub fn parse(value: &str) -> Result<Self, Error> {
        let value = value.trim();
        let mut url = url::Url::parse(value).map_err(|e| {
            Error::invalid(format!("api_endpoint is not a valid URL ({e}): {value:?}"))
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Error::invalid(format!(
                "api_endpoint must be an http or https URL, got {value:?}"
            )));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(Error::invalid(format!(
                "api_endpoint has no host: {value:?}"
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Error::invalid(
                "api_endpoint must not carry credentials; use api_token",
            ));
        }
        if url.path() == "/" || url.path().is_empty() {
            url.set_path(PROSPECTS_PATH);
        }
        Ok(Self(url))
    }

    /// The URL as text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The URL.
    pub fn url(&self) -> &url::Url {
        &self.0
    }

    /// Whether both endpoints are served by the same origin (scheme, host, port): a stored
    /// token is only ever sent to the origin it was saved for.
    pub fn same_origin(&self, other: &Endpoint) -> bool {
        self.0.origin() == other.0.origin()
    }
}

/// An organisation's WinLeadPlus config, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncConfig {
    /// The config's id.
    pub id: Uuid,
    /// Its organisation (one config each).
    pub organisation_id: Uuid,
    /// The endpoint as saved (already normalized by [`Endpoint::parse`]).
    pub api_endpoint: String,
    /// The organisation's API token, sealed by `crypto::TokenCipher`; `None` uses the
    /// service's fallback token.
    pub api_token_sealed: Option<Vec<u8>>,
    /// Whether syncs may run.
    pub enabled: bool,
    /// Minutes between scheduled syncs.
    pub sync_interval_minutes: i32,
    /// When the last successful, non-dry-run sync ended.
    pub last_sync_at: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// The state of a sync run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncStatus {
    /// In progress; the organisation's lease.
    Running,
    /// Finished; every prospect was handled (some may have failed alone).
    Success,
    /// Stopped: the sync as a whole could not complete.
    Failed,
}

impl SyncStatus {
    /// The wire (and database) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "RUNNING",
            Self::Success => "SUCCESS",
            Self::Failed => "FAILED",
        }
    }
}

/// One sync run: its state, counters and bounded messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncLog {
    /// The run's id (the `sync_id` of its span).
    pub id: Uuid,
    /// The organisation synced.
    pub organisation_id: Uuid,
    /// Where the run is.
    pub status: SyncStatus,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended (`None` while running).
    pub finished_at: Option<DateTime<Utc>>,
    /// Prospects read so far.
    pub total_prospects: i32,
    /// Clients created.
    pub created: i32,
    /// Clients updated.
    pub updated: i32,
    /// Prospects unchanged since the last sync.
    pub skipped: i32,
    /// Prospects that failed alone.
    pub failed: i32,
    /// Prospects handled so far.
    pub processed: i32,
    /// Whether nothing was written outside the log.
    pub dry_run: bool,
    /// The first errors (bounded; see `errors_dropped`).
    pub errors: Vec<String>,
    /// The first warnings (bounded; see `warnings_dropped`).
    pub warnings: Vec<String>,
    /// Errors not kept.
    pub errors_dropped: i32,
    /// Warnings not kept.
    pub warnings_dropped: i32,
    /// Why the run failed as a whole.
    pub message: Option<String>,
    /// How long the run took (`None` while running).
    pub duration_ms: Option<i64>,
    /// Mapped prospects archived because WinLeadPlus no longer lists them (a dry run: that
    /// would be).
    pub archived: i32,
}

/// A contract imported from WinLeadPlus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contrat {
    /// Its id in the CRM.
    pub id: Uuid,
    /// Its organisation.
    pub organisation_id: Uuid,
    /// Unique within the organisation.
    pub reference: String,
    /// WinLeadPlus's id for it.
    pub external_id: Option<String>,
    /// The CRM client of its prospect.
    pub client_id: Option<Uuid>,
    /// Title.
    pub titre: String,
    /// Status, as WinLeadPlus names it.
    pub statut: String,
    /// Exact amount, when known.
    pub montant: Option<Decimal>,
    /// Signature date, when known.
    pub date_signature: Option<NaiveDate>,
    /// Start date, when known.
    pub date_debut: Option<NaiveDate>,
    /// Currency.
    pub devise: String,
    /// Billing frequency, when known.
    pub frequence_facturation: Option<String>,
    /// Supplier, when known.
    pub fournisseur: Option<String>,
    /// Sales rep, when known.
    pub commercial_id: Option<String>,
    /// Free notes.
    pub notes: Option<String>,
    /// Where it came from (`WinLeadPlus`).
    pub source: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A line of an imported contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContratLigne {
    /// Its id.
    pub id: Uuid,
    /// Its contract.
    pub contrat_id: Uuid,
    /// Its place in the contract, from 0.
    pub position: i32,
    /// Name.
    pub nom: String,
    /// Exact unit price, when known.
    pub prix_unitaire: Option<Decimal>,
    /// Quantity.
    pub quantite: i32,
    /// Category, when known.
    pub categorie: Option<String>,
    /// The WinLeadPlus offer (source of the CRM `produit_id`), when known.
    pub offre_id: Option<String>,
    /// When the line was written: lines are replaced as a whole, so also its last change.
    pub created_at: DateTime<Utc>,
}

/// A contract with its lines, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContratWithLignes {
    /// The contract.
    pub contrat: Contrat,
    /// Its lines.
    pub lignes: Vec<ContratLigne>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_produit_id_is_stable_per_organisation_and_offer() {
        let org = Uuid::from_u128(1);
        let other = Uuid::from_u128(2);
        assert_eq!(produit_id(org, "42"), produit_id(org, "42"));
        assert_ne!(produit_id(org, "42"), produit_id(org, "43"));
        assert_ne!(produit_id(org, "42"), produit_id(other, "42"));
        assert_eq!(produit_id(org, "42").get_version_num(), 5);
        // Pinned: a product id the CRM has stored must never change.
        assert_eq!(
            produit_id(org, "42").to_string(),
            "307dc291-706d-5885-bf72-fb220e74a52e"
        );
    }

    #[test]
    fn contract_sort_knows_its_columns_in_both_spellings() {
        assert_eq!(ContratSort::parse("").ok(), Some(ContratSort::CreatedAt));
        assert_eq!(
            ContratSort::parse("createdAt").ok(),
            Some(ContratSort::CreatedAt)
        );
        assert_eq!(
            ContratSort::parse("date_signature").ok(),
            Some(ContratSort::DateSignature)
        );
        assert_eq!(ContratSort::parse("titre").ok(), Some(ContratSort::Titre));
        assert!(ContratSort::parse("password").is_err());
    }

    #[test]
    fn an_endpoint_without_path_gets_the_prospects_path() {
        assert_eq!(
            Endpoint::parse("https://x.example").unwrap().as_str(),
            "https://x.example/api/prospects"
        );
        assert_eq!(
            Endpoint::parse(" http://127.0.0.1:8090/api/prospects ")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:8090/api/prospects"
        );
        assert_eq!(
            Endpoint::parse("https://x.example/v2/leads")
                .unwrap()
                .as_str(),
            "https://x.example/v2/leads"
        );
    }

    #[test]
    fn bad_endpoints_are_refused() {
        for bad in [
            "",
            "winleadplus.com",
            "ftp://x.example",
            "https://user:pw@x.example",
            "http://",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn origins_compare_scheme_host_and_port() {
        let a = Endpoint::parse("https://a.example/api/prospects").unwrap();
        assert!(a.same_origin(&Endpoint::parse("https://a.example/other").unwrap()));
        assert!(!a.same_origin(&Endpoint::parse("https://evil.example/api/prospects").unwrap()));
        assert!(!a.same_origin(&Endpoint::parse("http://a.example/api/prospects").unwrap()));
        assert!(!a.same_origin(&Endpoint::parse("https://a.example:8443/api/prospects").unwrap()));
    }

    #[test]
    fn the_interval_is_bounded() {
        assert!(interval(4).is_err());
        assert!(interval(1441).is_err());
        assert_eq!(interval(5).unwrap(), 5);
        assert_eq!(interval(1440).unwrap(), 1440);
    }
}

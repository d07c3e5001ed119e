//! Commands carried by the NATS events of sync-service, validated: a client to create (or
//! find) for an external record, and a newer version of an imported client's data.

use chrono::NaiveDate;
use uuid::Uuid;

use crate::domain::Phone;

/// Who a client is in its source system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalRef {
    /// The organisation the client belongs to.
    pub organisation_id: Uuid,
    /// The source system (`WinLeadPlus`).
    pub source: String,
    /// The record's id there (the prospect id).
    pub external_id: String,
}

/// The client fields a source system owns. Dates are parsed; texts are trimmed and within
/// the column limits; the phone carries its normalized form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceClient {
    pub type_client: String,
    pub nom: String,
    pub prenom: String,
    pub date_naissance: Option<NaiveDate>,
    pub compte_code: Option<String>,
    pub telephone: Option<Phone>,
    pub email: Option<String>,
    pub canal_acquisition: Option<String>,
    pub commercial_id: Option<String>,
    pub civilite: Option<String>,
    pub csp: Option<String>,
    pub regime_social: Option<String>,
    pub lieu_naissance: Option<String>,
    pub pays_naissance: Option<String>,
    pub etape_courante: Option<String>,
    pub statut_prospect: Option<String>,
    pub numss: Option<String>,
    pub is_politically_exposed: Option<bool>,
    pub gdpr_consent: Option<bool>,
    pub gdpr_consent_communications: Option<bool>,
    pub iban: Option<String>,
    pub bic: Option<String>,
    pub mandat_sepa: Option<bool>,
}

/// The principal address a source system gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceAddress {
    pub ligne1: Option<String>,
    pub ligne2: Option<String>,
    pub code_postal: Option<String>,
    pub ville: Option<String>,
    pub pays: Option<String>,
}

/// Create (or find, or link) the client of an external record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateCommand {
    /// The external record.
    pub reference: ExternalRef,
    /// Version of the data (clock-based, increasing).
    pub source_version: i64,
    /// The client's fields.
    pub client: SourceClient,
    /// The principal address, if the record has one.
    pub address: Option<SourceAddress>,
}

/// Apply a newer version of an external record to its imported client: new data, its
/// archive (the record vanished from its source) or its restore (it came back).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateCommand {
    /// The CRM client.
    pub client_id: Uuid,
    /// The external record (its organisation must own the client).
    pub reference: ExternalRef,
    /// Version of the change; applied only when newer than the row's.
    pub source_version: i64,
    /// What the change does.
    pub change: Change,
}

/// What an [`UpdateCommand`] does to its client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The record's data, whole. With `restore`, an archived client is first brought back
    /// (undeleted, or linked again when it was a manual client the archive unlinked).
    Data {
        /// The client's fields, whole.
        client: Box<SourceClient>,
        /// The principal address, if the record has one.
        address: Option<SourceAddress>,
        /// Whether the record came back after an archive.
        restore: bool,
    },
    /// The record vanished from its source: a client the import created is soft-deleted
    /// and marked archived; a manual client it only linked is unlinked, its `source` back to
    /// what it was before the link.
    Archive,
}

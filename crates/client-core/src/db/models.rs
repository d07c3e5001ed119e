//! Row types of crm_core, one struct per way a table is read or written.

use chrono::{DateTime, NaiveDate, Utc};
use crm_db::core::schema::{adresses, clientbases, dead_letters};
use diesel::prelude::*;
use uuid::Uuid;

/// A client as read from `clientbases`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = clientbases, check_for_backend(diesel::pg::Pg))]
pub struct ClientRow {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub type_client: String,
    pub nom: String,
    pub prenom: String,
    pub date_naissance: Option<NaiveDate>,
    pub compte_code: Option<String>,
    pub partenaire_id: Option<Uuid>,
    pub date_creation: DateTime<Utc>,
    pub telephone: Option<String>,
    pub email: Option<String>,
    pub statut: String,
    pub societe_id: Option<Uuid>,
    pub profession: Option<String>,
    pub iban: Option<String>,
    pub mandat_sepa: Option<bool>,
    pub kyc_status: Option<String>,
    pub gdpr_consent: Option<bool>,
    pub gdpr_consent_date: Option<DateTime<Utc>>,
    pub langue: Option<String>,
    pub has_conciergerie: bool,
    pub has_justi_plus: bool,
    pub has_wincash: bool,
    pub uuid_wincash: Option<Uuid>,
    pub uuid_justi_plus: Option<Uuid>,
    pub date_premiere_souscription: Option<NaiveDate>,
    pub canal_acquisition: Option<String>,
    pub source: Option<String>,
    pub commercial_id: Option<String>,
    pub bic: Option<String>,
    pub civilite: Option<String>,
    pub csp: Option<String>,
    pub regime_social: Option<String>,
    pub lieu_naissance: Option<String>,
    pub pays_naissance: Option<String>,
    pub etape_courante: Option<String>,
    pub is_politically_exposed: Option<bool>,
    pub numss: Option<String>,
    pub external_source: Option<String>,
    pub external_id: Option<String>,
    pub source_version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A new client. `None` lets the column take its default.
#[derive(Debug, Clone, Default, Insertable)]
#[diesel(table_name = clientbases, check_for_backend(diesel::pg::Pg))]
pub struct NewClientRow {
    pub organisation_id: Uuid,
    pub type_client: String,
    pub nom: String,
    pub prenom: String,
    pub date_naissance: Option<NaiveDate>,
    pub compte_code: Option<String>,
    pub partenaire_id: Option<Uuid>,
    pub telephone: Option<String>,
    pub telephone_normalized: Option<String>,
    pub email: Option<String>,
    pub statut: String,
    pub societe_id: Option<Uuid>,
    pub has_conciergerie: Option<bool>,
    pub has_justi_plus: Option<bool>,
    pub has_wincash: Option<bool>,
    pub uuid_wincash: Option<Uuid>,
    pub uuid_justi_plus: Option<Uuid>,
    pub date_premiere_souscription: Option<NaiveDate>,
    pub canal_acquisition: Option<String>,
    pub source: Option<String>,
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
    pub external_source: Option<String>,
    pub external_id: Option<String>,
    pub source_version: Option<i64>,
}

/// A partial change from the `Update` RPC: `None` leaves the column as it is.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = clientbases, check_for_backend(diesel::pg::Pg))]
pub struct ClientPatchRow {
    pub type_client: Option<String>,
    pub nom: Option<String>,
    pub prenom: Option<String>,
    pub date_naissance: Option<Option<NaiveDate>>,
    pub compte_code: Option<Option<String>>,
    pub partenaire_id: Option<Option<Uuid>>,
    pub telephone: Option<Option<String>>,
    pub telephone_normalized: Option<Option<String>>,
    pub email: Option<Option<String>>,
    pub statut: Option<String>,
    pub societe_id: Option<Option<Uuid>>,
    pub has_conciergerie: Option<bool>,
    pub has_justi_plus: Option<bool>,
    pub has_wincash: Option<bool>,
    pub uuid_wincash: Option<Option<Uuid>>,
    pub uuid_justi_plus: Option<Option<Uuid>>,
    pub date_premiere_souscription: Option<Option<NaiveDate>>,
    pub canal_acquisition: Option<Option<String>>,
    pub source: Option<Option<String>>,
    pub iban: Option<Option<String>>,
    pub mandat_sepa: Option<bool>,
    pub civilite: Option<Option<String>>,
    pub bic: Option<Option<String>>,
    pub csp: Option<Option<String>>,
    pub regime_social: Option<Option<String>>,
    pub lieu_naissance: Option<Option<String>>,
    pub pays_naissance: Option<Option<String>>,
    pub etape_courante: Option<Option<String>>,
    pub is_politically_exposed: Option<bool>,
    pub numss: Option<Option<String>>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// The WinLeadPlus-owned fields of a client, written whole by an update event: a field the
/// prospect no longer has becomes NULL. Never `source`, `statut` or `id`.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = clientbases, check_for_backend(diesel::pg::Pg), treat_none_as_null = true)]
pub struct SourceDataChangeset {
    pub type_client: String,
    pub nom: String,
    pub prenom: String,
    pub date_naissance: Option<NaiveDate>,
    pub compte_code: Option<String>,
    pub telephone: Option<String>,
    pub telephone_normalized: Option<String>,
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
    pub source_version: i64,
    pub updated_at: DateTime<Utc>,
}

/// An address as read from `adresses`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = adresses, check_for_backend(diesel::pg::Pg))]
pub struct AddressRow {
    pub id: Uuid,
    pub client_base_id: Uuid,
    pub ligne1: Option<String>,
    pub ligne2: Option<String>,
    pub code_postal: Option<String>,
    pub ville: Option<String>,
    pub pays: Option<String>,
    pub type_: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The principal address to write for a client.
#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = adresses, check_for_backend(diesel::pg::Pg), treat_none_as_null = true)]
pub struct PrincipalAddressRow {
    pub client_base_id: Uuid,
    pub ligne1: Option<String>,
    pub ligne2: Option<String>,
    pub code_postal: Option<String>,
    pub ville: Option<String>,
    pub pays: Option<String>,
    pub type_: String,
}

/// A dead letter as read from `dead_letters`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = dead_letters, check_for_backend(diesel::pg::Pg))]
pub struct DeadLetterRow {
    pub id: Uuid,
    pub subject: String,
    pub payload: Vec<u8>,
    pub last_error: String,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    pub replayed_at: Option<DateTime<Utc>>,
}

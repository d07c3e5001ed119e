//! The typed records a prospect maps to: what client-core writes to `clientbases` and
//! `adresses`, and what sync-service writes to `contrats` and `lignes_contrat`.
//!
//! Text fields are trimmed, free of NUL and within the column sizes of [`crate::limits`].
//! Columns the consumers own (`statut`, `source`, ids, organisation) are not here.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::id::ProspectId;

/// One prospect, mapped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MappedProspect {
    /// The WinLeadPlus `idProspect`.
    pub external_id: ProspectId,
    /// [`crate::data_hash`] of the raw prospect: equal hashes mean nothing to apply.
    pub data_hash: String,
    /// The CRM client.
    pub client: ClientRecord,
    /// The principal address, when line 1, postcode or city is known.
    pub address: Option<AddressRecord>,
    /// The contracts, in payload order (subscriptions' contracts first), unique by reference.
    pub contrats: Vec<ContratRecord>,
    /// What was dropped or changed while mapping, without a `prospect N:` prefix and without
    /// any sensitive value in clear.
    pub warnings: Vec<String>,
}

/// The client row (`clientbases`), except the columns the consumers set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClientRecord {
    /// Always `PARTICULIER`.
    pub type_client: String,
    /// Last name; `INCONNU` when missing.
    pub nom: String,
    /// First name; `INCONNU` when missing.
    pub prenom: String,
    /// Birth date, when readable.
    pub date_naissance: Option<NaiveDate>,
    /// `WLP-{idProspect}`.
    pub compte_code: String,
    /// Phone as entered (trimmed); see [`crate::normalize_phone`] for matching.
    pub telephone: Option<String>,
    /// E-mail as entered (trimmed).
    pub email: Option<String>,
    /// `winleadplus:{idProspect}`.
    pub canal_acquisition: String,
    /// Salesperson id: `commercialId`, else `commercial.id`, else `commercial_id`.
    pub commercial_id: Option<String>,
    /// Title (`M.`, `Mme`, …).
    pub civilite: Option<String>,
    /// Socio-professional category.
    pub csp: Option<String>,
    /// Social security regime.
    pub regime_social: Option<String>,
    /// Birth place.
    pub lieu_naissance: Option<String>,
    /// Birth country.
    pub pays_naissance: Option<String>,
    /// Sales funnel step.
    pub etape_courante: Option<String>,
    /// Prospect status in WinLeadPlus.
    pub statut_prospect: Option<String>,
    /// Social security number. Sensitive: never log it (see [`crate::mask::mask_numss`]).
    pub numss: Option<String>,
    /// Politically exposed person.
    pub is_politically_exposed: Option<bool>,
    /// `consentementRGPDTraitementDonnees`.
    pub gdpr_consent: Option<bool>,
    /// `consentementRGPDCommunicationsCommerciales`.
    pub gdpr_consent_communications: Option<bool>,
    /// IBAN, compact and upper-case, only when valid. Sensitive: see [`crate::mask::mask_iban`].
    pub iban: Option<String>,
    /// BIC, upper-case, 8 or 11 characters. Sensitive: see [`crate::mask::mask_bic`].
    pub bic: Option<String>,
    /// SEPA direct debit mandate signed.
    pub mandat_sepa: Option<bool>,
}

/// The principal address (`adresses`, type `PRINCIPALE`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddressRecord {
    /// Line 1, street number included.
    pub ligne1: Option<String>,
    /// Line 2.
    pub ligne2: Option<String>,
    /// Postcode, as text (leading zeros matter).
    pub code_postal: Option<String>,
    /// City.
    pub ville: Option<String>,
    /// Country; `FR` when missing.
    pub pays: String,
}

/// A contract (`contrats`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContratRecord {
    /// The WinLeadPlus contract id (`idContrat` or `id`).
    pub external_id: String,
    /// `WLP-CONTRAT-{id}`, unique per organisation.
    pub reference: String,
    /// Title; `Contrat {id}` when missing.
    pub titre: String,
    /// Status; `ACTIF` when missing.
    pub statut: String,
    /// Amount: the subscription's `totalAmount` for a nested contract, else its `montant`;
    /// rounded to cents, and only when `NUMERIC(14,2)` holds it.
    pub montant: Option<Decimal>,
    /// Signature date.
    pub date_signature: Option<NaiveDate>,
    /// Start date: the signature date, else the subscription date.
    pub date_debut: Option<NaiveDate>,
    /// Currency; `EUR` when missing.
    pub devise: String,
    /// Billing frequency (`MENSUELLE`, …).
    pub frequence_facturation: Option<String>,
    /// Supplier: the offer's `fournisseur`, else `WinLeadPlus`.
    pub fournisseur: String,
    /// Salesperson: the contract's, else the prospect's.
    pub commercial_id: Option<String>,
    /// Free-text notes.
    pub notes: Option<String>,
    /// The lines, replaced as a whole on every update.
    pub lignes: Vec<LigneRecord>,
}

/// A contract line (`lignes_contrat`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LigneRecord {
    /// Offer name; `Offre {offreId}` when missing.
    pub nom: String,
    /// Unit price (`prix_base` / `prixBase`).
    pub prix_unitaire: Option<Decimal>,
    /// `quantite` / `quantity` when it is a whole number that fits `INTEGER`, else 1.
    pub quantite: i32,
    /// Offer category.
    pub categorie: Option<String>,
    /// WinLeadPlus offer id.
    pub offre_id: Option<String>,
}

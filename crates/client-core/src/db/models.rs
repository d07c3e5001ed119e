//! Row types of crm_core, one struct per way a table is read or written, and the one list of
//! the client columns an import writes ([`ClientColumns`], [`CLIENT_COLUMNS`]).

use chrono::{DateTime, NaiveDate, Utc};
use crm_db::core::schema::{adresses, clientbases, dead_letters};
use diesel::prelude::*;
use uuid::Uuid;

use crate::domain::Phone;
use crate::events::SourceClient;

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

/// The client columns an import writes, whole, on create and on update — and the CRM's
/// `Create` too, for those it has. The one list of them: [`NewClientRow`] embeds it, and the
/// set-based statements of `bulk.rs` name and bind it through [`CLIENT_COLUMNS`]. In an
/// insert, `None` lets the column take its default.
#[derive(Debug, Clone, Insertable)]
#[cfg_attr(test, derive(Default))]
#[diesel(table_name = clientbases, check_for_backend(diesel::pg::Pg))]
pub struct ClientColumns {
    pub type_client: String,
    pub nom: String,
    pub prenom: String,
    pub date_naissance: Option<NaiveDate>,
    pub compte_code: Option<String>,
    /// `telephone` and `telephone_normalized`, from one [`Phone`].
    #[diesel(embed)]
    pub phone: PhoneColumns,
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

impl From<&SourceClient> for ClientColumns {
    fn from(c: &SourceClient) -> Self {
        // Destructured, so that a field added to one side and not the other does not compile.
        let SourceClient {
            type_client,
            nom,
            prenom,
            date_naissance,
            compte_code,
            telephone,
            email,
            canal_acquisition,
            commercial_id,
            civilite,
            csp,
            regime_social,
            lieu_naissance,
            pays_naissance,
            etape_courante,
            statut_prospect,
            numss,
            is_politically_exposed,
            gdpr_consent,
            gdpr_consent_communications,
            iban,
            bic,
            mandat_sepa,
        } = c;
        Self {
            type_client: type_client.clone(),
            nom: nom.clone(),
            prenom: prenom.clone(),
            date_naissance: *date_naissance,
            compte_code: compte_code.clone(),
            phone: PhoneColumns::of(telephone.as_ref()),
            email: email.clone(),
            canal_acquisition: canal_acquisition.clone(),
            commercial_id: commercial_id.clone(),
            civilite: civilite.clone(),
            csp: csp.clone(),
            regime_social: regime_social.clone(),
            lieu_naissance: lieu_naissance.clone(),
            pays_naissance: pays_naissance.clone(),
            etape_courante: etape_courante.clone(),
            statut_prospect: statut_prospect.clone(),
            numss: numss.clone(),
            is_politically_exposed: *is_politically_exposed,
            gdpr_consent: *gdpr_consent,
            gdpr_consent_communications: *gdpr_consent_communications,
            iban: iban.clone(),
            bic: bic.clone(),
            mandat_sepa: *mandat_sepa,
        }
    }
}

/// How the set-based statements read one column of [`ClientColumns`]: as an array of this
/// type, one element per row.
#[derive(Clone, Copy)]
pub(super) enum ColumnArray {
    /// A `text[]`.
    Text(fn(&ClientColumns) -> Option<&str>),
    /// A `date[]`.
    Date(fn(&ClientColumns) -> Option<NaiveDate>),
    /// A `bool[]`.
    Bool(fn(&ClientColumns) -> Option<bool>),
}

/// Every column of [`ClientColumns`], in its order, as `bulk.rs` names and binds them (a test
/// holds the two together).
pub(super) const CLIENT_COLUMNS: &[(&str, ColumnArray)] = &[
    ("type_client", ColumnArray::Text(|c| Some(&c.type_client))),
    ("nom", ColumnArray::Text(|c| Some(&c.nom))),
    ("prenom", ColumnArray::Text(|c| Some(&c.prenom))),
    ("date_naissance", ColumnArray::Date(|c| c.date_naissance)),
    (
        "compte_code",
        ColumnArray::Text(|c| c.compte_code.as_deref()),
    ),
    (
        "telephone",
        ColumnArray::Text(|c| c.phone.telephone.as_deref()),
    ),
    (
        "telephone_normalized",
        ColumnArray::Text(|c| c.phone.normalized()),
    ),
    ("email", ColumnArray::Text(|c| c.email.as_deref())),
    (
        "canal_acquisition",
        ColumnArray::Text(|c| c.canal_acquisition.as_deref()),
    ),
    (
        "commercial_id",
        ColumnArray::Text(|c| c.commercial_id.as_deref()),
    ),
    ("civilite", ColumnArray::Text(|c| c.civilite.as_deref())),
    ("csp", ColumnArray::Text(|c| c.csp.as_deref())),
    (
        "regime_social",
        ColumnArray::Text(|c| c.regime_social.as_deref()),
    ),
    (
        "lieu_naissance",
        ColumnArray::Text(|c| c.lieu_naissance.as_deref()),
    ),
    (
        "pays_naissance",
        ColumnArray::Text(|c| c.pays_naissance.as_deref()),
    ),
    (
        "etape_courante",
        ColumnArray::Text(|c| c.etape_courante.as_deref()),
    ),
    (
        "statut_prospect",
        ColumnArray::Text(|c| c.statut_prospect.as_deref()),
    ),
    ("numss", ColumnArray::Text(|c| c.numss.as_deref())),
    (
        "is_politically_exposed",
        ColumnArray::Bool(|c| c.is_politically_exposed),
    ),
    ("gdpr_consent", ColumnArray::Bool(|c| c.gdpr_consent)),
    (
        "gdpr_consent_communications",
        ColumnArray::Bool(|c| c.gdpr_consent_communications),
    ),
    ("iban", ColumnArray::Text(|c| c.iban.as_deref())),
    ("bic", ColumnArray::Text(|c| c.bic.as_deref())),
    ("mandat_sepa", ColumnArray::Bool(|c| c.mandat_sepa)),
];

/// `telephone` and `telephone_normalized`, built only from a [`Phone`]: the stored normalized
/// form is always the one of the stored number. `None` (no phone) makes both NULL.
#[derive(Debug, Clone, Default, PartialEq, Eq, Insertable, AsChangeset)]
#[diesel(table_name = clientbases, check_for_backend(diesel::pg::Pg), treat_none_as_null = true)]
pub struct PhoneColumns {
    telephone: Option<String>,
    telephone_normalized: Option<String>,
}

impl PhoneColumns {
    /// The columns of a phone, or of none.
    pub fn of(phone: Option<&Phone>) -> Self {
        Self {
            telephone: phone.map(|p| p.as_str().to_owned()),
            telephone_normalized: phone.and_then(Phone::normalized).map(str::to_owned),
        }
    }

    /// The normalized phone, which manual clients are matched on.
    pub fn normalized(&self) -> Option<&str> {
        self.telephone_normalized.as_deref()
    }
}

/// A client created in the CRM (the `Create` RPC). `None` lets the column take its default.
/// Its organisation is not here: [`ClientStore::create`](super::ClientStore::create) takes it
/// as a checked [`Tenant`](service_kit::auth::Tenant).
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = clientbases, check_for_backend(diesel::pg::Pg))]
pub struct NewClientRow {
    pub statut: String,
    pub source: Option<String>,
    pub partenaire_id: Option<Uuid>,
    pub societe_id: Option<Uuid>,
    pub has_conciergerie: Option<bool>,
    pub has_justi_plus: Option<bool>,
    pub has_wincash: Option<bool>,
    pub uuid_wincash: Option<Uuid>,
    pub uuid_justi_plus: Option<Uuid>,
    pub date_premiere_souscription: Option<NaiveDate>,
    /// The columns an import writes too.
    #[diesel(embed)]
    pub columns: ClientColumns,
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
    /// `Some` sets the phone (to none when it holds none).
    #[diesel(embed)]
    pub phone: Option<PhoneColumns>,
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

#[cfg(test)]
mod tests {
    use diesel::pg::Pg;

    use super::*;

    #[test]
    fn the_column_list_of_the_set_based_statements_is_the_struct_s_in_its_order() {
        let insert = diesel::insert_into(clientbases::table).values(ClientColumns::default());
        let sql = diesel::debug_query::<Pg, _>(&insert).to_string();
        let list = sql
            .split_once(") VALUES")
            .and_then(|(head, _)| head.split_once('('))
            .map(|(_, list)| list)
            .unwrap_or_default();
        let from_struct: Vec<&str> = list.split(", ").map(|c| c.trim_matches('"')).collect();
        let from_list: Vec<&str> = CLIENT_COLUMNS.iter().map(|(name, _)| *name).collect();
        assert_eq!(from_list, from_struct);
    }

    #[test]
    fn each_text_column_of_the_list_reads_its_own_field() {
        // Every text field holds its own column name, so a reader of the wrong field shows.
        let name = |n: &str| Some(n.to_owned());
        let columns = ClientColumns {
            type_client: "type_client".into(),
            nom: "nom".into(),
            prenom: "prenom".into(),
            compte_code: name("compte_code"),
            phone: PhoneColumns {
                telephone: name("telephone"),
                telephone_normalized: name("telephone_normalized"),
            },
            email: name("email"),
            canal_acquisition: name("canal_acquisition"),
            commercial_id: name("commercial_id"),
            civilite: name("civilite"),
            csp: name("csp"),
            regime_social: name("regime_social"),
            lieu_naissance: name("lieu_naissance"),
            pays_naissance: name("pays_naissance"),
            etape_courante: name("etape_courante"),
            statut_prospect: name("statut_prospect"),
            numss: name("numss"),
            iban: name("iban"),
            bic: name("bic"),
            ..ClientColumns::default()
        };
        for (column, array) in CLIENT_COLUMNS {
            if let ColumnArray::Text(read) = array {
                assert_eq!(read(&columns), Some(*column));
            }
        }
    }

    #[test]
    fn the_phone_columns_come_from_one_phone() {
        let phone = Phone::parse(Some("+33 6 12 34 56 78")).ok().flatten();
        let columns = PhoneColumns::of(phone.as_ref());
        assert_eq!(columns.telephone.as_deref(), Some("+33 6 12 34 56 78"));
        assert_eq!(columns.normalized(), Some("0612345678"));
        assert_eq!(PhoneColumns::of(None), PhoneColumns::default());
    }
}

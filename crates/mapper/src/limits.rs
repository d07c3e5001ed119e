//! The limits of the CRM columns the mapped records go to: text lengths, the range of
//! amounts, quantities and dates.
//!
//! This file and the SQL migrations are the one pair that must change together: [`COLUMNS`]
//! lists every bounded column (`VARCHAR`, `NUMERIC`, `INTEGER`, `BIGINT`, `DATE`) of
//! `clientbases`, `adresses`, `contrats` and `lignes_contrat`, and crm-db's
//! `limits_match_the_migrated_columns` test fails when the two disagree either way.
//!
//! The mapper truncates longer text (on a character boundary, counting characters as
//! PostgreSQL does) and drops an amount, quantity or date that its column cannot hold, with a
//! warning each, so an insert never fails on a value.

/// `clientbases.nom`.
pub const NOM: usize = 100;
/// `clientbases.prenom`.
pub const PRENOM: usize = 100;
/// `clientbases.email`.
pub const EMAIL: usize = 255;
/// `clientbases.telephone`.
pub const TELEPHONE: usize = 50;
/// `clientbases.civilite`.
pub const CIVILITE: usize = 20;
/// `clientbases.compte_code`.
pub const COMPTE_CODE: usize = 50;
/// `clientbases.canal_acquisition`.
pub const CANAL_ACQUISITION: usize = 100;
/// `clientbases.commercial_id` and `contrats.commercial_id`.
pub const COMMERCIAL_ID: usize = 100;
/// `clientbases.csp`.
pub const CSP: usize = 100;
/// `clientbases.regime_social`.
pub const REGIME_SOCIAL: usize = 100;
/// `clientbases.lieu_naissance`.
pub const LIEU_NAISSANCE: usize = 100;
/// `clientbases.pays_naissance`.
pub const PAYS_NAISSANCE: usize = 100;
/// `clientbases.etape_courante`.
pub const ETAPE_COURANTE: usize = 100;
/// `clientbases.statut_prospect`.
pub const STATUT_PROSPECT: usize = 50;
/// `clientbases.numss`.
pub const NUMSS: usize = 30;
/// `clientbases.iban` (the longest IBAN has 34 characters).
pub const IBAN: usize = 34;
/// `clientbases.bic`.
pub const BIC: usize = 11;
/// `adresses.ligne1` and `adresses.ligne2`.
pub const ADRESSE_LIGNE: usize = 255;
/// `adresses.code_postal`.
pub const CODE_POSTAL: usize = 20;
/// `adresses.ville`.
pub const VILLE: usize = 100;
/// `adresses.pays`.
pub const PAYS: usize = 100;
/// `contrats.reference`.
pub const CONTRAT_REFERENCE: usize = 100;
/// `contrats.titre`.
pub const CONTRAT_TITRE: usize = 255;
/// `contrats.statut`.
pub const CONTRAT_STATUT: usize = 50;
/// `contrats.devise`.
pub const DEVISE: usize = 10;
/// `contrats.frequence_facturation`.
pub const FREQUENCE_FACTURATION: usize = 50;
/// `contrats.fournisseur`.
pub const FOURNISSEUR: usize = 255;
/// `lignes_contrat.nom`.
pub const LIGNE_NOM: usize = 255;
/// `lignes_contrat.categorie`.
pub const CATEGORIE: usize = 100;
/// `lignes_contrat.offre_id`.
pub const OFFRE_ID: usize = 50;
/// External ids: `contrats.external_id`, the mapping's prospect id.
pub const EXTERNAL_ID: usize = 50;

/// `clientbases.type_client`.
pub const TYPE_CLIENT: usize = 50;
/// `clientbases.statut` (set by client-core).
pub const CLIENT_STATUT: usize = 50;
/// `clientbases.profession` (entered in the CRM).
pub const PROFESSION: usize = 100;
/// `clientbases.kyc_status` (entered in the CRM).
pub const KYC_STATUS: usize = 50;
/// `clientbases.langue` (entered in the CRM).
pub const LANGUE: usize = 20;
/// `clientbases.source`, `clientbases.external_source` and `contrats.source`.
pub const SOURCE: usize = 50;
/// `clientbases.telephone_normalized` (computed by client-core from the phone).
pub const TELEPHONE_NORMALIZED: usize = 50;
/// `adresses.type`.
pub const ADRESSE_TYPE: usize = 20;

/// Integer digits of `NUMERIC(14,2)`, the type of amounts and prices.
pub const MONEY_INTEGER_DIGITS: u32 = 12;
/// Decimals of `NUMERIC(14,2)`: values are rounded to this many.
pub const MONEY_SCALE: u32 = 2;
/// Earliest year a `DATE` column accepts from WinLeadPlus.
pub const YEAR_MIN: i32 = 1900;
/// Latest year a `DATE` column accepts from WinLeadPlus.
pub const YEAR_MAX: i32 = 2100;

/// The SQL type of a bounded column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `VARCHAR(n)`: at most `n` characters.
    Varchar(usize),
    /// `NUMERIC(precision, scale)`.
    Numeric {
        /// Total digits.
        precision: u32,
        /// Digits after the decimal point.
        scale: u32,
    },
    /// `INTEGER` (`i32`).
    Integer,
    /// `BIGINT` (`i64`).
    BigInt,
    /// `DATE`, within [`YEAR_MIN`]..=[`YEAR_MAX`] for values from WinLeadPlus.
    Date,
}

/// One bounded column of the CRM tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// The table.
    pub table: &'static str,
    /// The column.
    pub column: &'static str,
    /// Its type and bound.
    pub kind: Kind,
}

const fn varchar(table: &'static str, column: &'static str, n: usize) -> Column {
    of(table, column, Kind::Varchar(n))
}

const fn of(table: &'static str, column: &'static str, kind: Kind) -> Column {
    Column {
        table,
        column,
        kind,
    }
}

/// `NUMERIC(14,2)`.
const MONEY: Kind = Kind::Numeric {
    precision: MONEY_INTEGER_DIGITS + MONEY_SCALE,
    scale: MONEY_SCALE,
};

/// Every bounded column of `clientbases`, `adresses`, `contrats` and `lignes_contrat`, as the
/// migrations declare it. crm-db's tests compare it with the migrated database.
pub const COLUMNS: &[Column] = &[
    varchar("clientbases", "type_client", TYPE_CLIENT),
    varchar("clientbases", "nom", NOM),
    varchar("clientbases", "prenom", PRENOM),
    of("clientbases", "date_naissance", Kind::Date),
    varchar("clientbases", "compte_code", COMPTE_CODE),
    varchar("clientbases", "telephone", TELEPHONE),
    varchar("clientbases", "email", EMAIL),
    varchar("clientbases", "statut", CLIENT_STATUT),
    varchar("clientbases", "profession", PROFESSION),
    varchar("clientbases", "iban", IBAN),
    varchar("clientbases", "kyc_status", KYC_STATUS),
    varchar("clientbases", "langue", LANGUE),
    of("clientbases", "date_premiere_souscription", Kind::Date),
    varchar("clientbases", "canal_acquisition", CANAL_ACQUISITION),
    varchar("clientbases", "source", SOURCE),
    varchar("clientbases", "commercial_id", COMMERCIAL_ID),
    varchar("clientbases", "bic", BIC),
    varchar("clientbases", "civilite", CIVILITE),
    varchar("clientbases", "csp", CSP),
    varchar("clientbases", "regime_social", REGIME_SOCIAL),
    varchar("clientbases", "lieu_naissance", LIEU_NAISSANCE),
    varchar("clientbases", "pays_naissance", PAYS_NAISSANCE),
    varchar("clientbases", "etape_courante", ETAPE_COURANTE),
    varchar("clientbases", "numss", NUMSS),
    varchar("clientbases", "statut_prospect", STATUT_PROSPECT),
    varchar("clientbases", "telephone_normalized", TELEPHONE_NORMALIZED),
    varchar("clientbases", "external_source", SOURCE),
    varchar("clientbases", "external_id", EXTERNAL_ID),
    varchar("clientbases", "source_before_link", SOURCE),
    of("clientbases", "source_version", Kind::BigInt),
    varchar("adresses", "ligne1", ADRESSE_LIGNE),
    varchar("adresses", "ligne2", ADRESSE_LIGNE),
    varchar("adresses", "code_postal", CODE_POSTAL),
    varchar("adresses", "ville", VILLE),
    varchar("adresses", "pays", PAYS),
    varchar("adresses", "type", ADRESSE_TYPE),
    varchar("contrats", "reference", CONTRAT_REFERENCE),
    varchar("contrats", "external_id", EXTERNAL_ID),
    varchar("contrats", "titre", CONTRAT_TITRE),
    varchar("contrats", "statut", CONTRAT_STATUT),
    of("contrats", "montant", MONEY),
    of("contrats", "date_signature", Kind::Date),
    of("contrats", "date_debut", Kind::Date),
    varchar("contrats", "devise", DEVISE),
    varchar("contrats", "frequence_facturation", FREQUENCE_FACTURATION),
    varchar("contrats", "fournisseur", FOURNISSEUR),
    varchar("contrats", "commercial_id", COMMERCIAL_ID),
    varchar("contrats", "source", SOURCE),
    of("lignes_contrat", "position", Kind::Integer),
    varchar("lignes_contrat", "nom", LIGNE_NOM),
    of("lignes_contrat", "prix_unitaire", MONEY),
    of("lignes_contrat", "quantite", Kind::Integer),
    varchar("lignes_contrat", "categorie", CATEGORIE),
    varchar("lignes_contrat", "offre_id", OFFRE_ID),
];

/// `value` rounded to [`MONEY_SCALE`] decimals (half away from zero, as PostgreSQL rounds),
/// if `NUMERIC(14,2)` can hold it.
pub fn money(value: rust_decimal::Decimal) -> Option<rust_decimal::Decimal> {
    let rounded = value.round_dp_with_strategy(
        MONEY_SCALE,
        rust_decimal::RoundingStrategy::MidpointAwayFromZero,
    );
    let bound = rust_decimal::Decimal::from(10_i64.pow(MONEY_INTEGER_DIGITS));
    (rounded.abs() < bound).then_some(rounded)
}

/// Whether a `DATE` column accepts `date` from WinLeadPlus (years 1900 to 2100).
pub fn date_in_range(date: chrono::NaiveDate) -> bool {
    use chrono::Datelike;
    (YEAR_MIN..=YEAR_MAX).contains(&date.year())
}

/// The longest prefix of `s` with at most `max_chars` characters.
///
/// Counts `char`s, as PostgreSQL's `VARCHAR(n)` does, so it never splits a character.
pub fn truncate(s: &str, max_chars: usize) -> &str {
    match s.char_indices().nth(max_chars) {
        Some((end, _)) => s.get(..end).unwrap_or(s),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::str::FromStr;

    use rust_decimal::Decimal;

    use super::*;

    #[test]
    fn money_is_rounded_to_cents_and_bounded_to_twelve_integer_digits() {
        let cases = [
            ("29.90", Some("29.90")),
            ("0.005", Some("0.01")),
            ("-0.005", Some("-0.01")),
            ("1.234", Some("1.23")),
            ("999999999999.99", Some("999999999999.99")),
            ("-999999999999.99", Some("-999999999999.99")),
            ("999999999999.995", None),
            ("1000000000000", None),
            ("99999999999999999999.99", None),
        ];
        for (input, expected) in cases {
            let got = money(Decimal::from_str(input).unwrap());
            assert_eq!(
                got,
                expected.map(|e| Decimal::from_str(e).unwrap()),
                "{input}"
            );
        }
    }

    #[test]
    fn dates_are_accepted_from_1900_to_2100() {
        let d = |y| chrono::NaiveDate::from_ymd_opt(y, 6, 1).unwrap();
        assert!(date_in_range(d(1900)));
        assert!(date_in_range(d(2100)));
        assert!(!date_in_range(d(1899)));
        assert!(!date_in_range(d(2101)));
        assert!(!date_in_range(d(-5)));
        assert!(!date_in_range(d(10000)));
    }

    #[test]
    fn columns_are_listed_once() {
        for (i, a) in COLUMNS.iter().enumerate() {
            for b in &COLUMNS[i + 1..] {
                assert!(
                    (a.table, a.column) != (b.table, b.column),
                    "{}.{} listed twice",
                    a.table,
                    a.column
                );
            }
        }
    }

    #[test]
    fn truncate_counts_characters_not_bytes() {
        let cases = [
            ("", 3, ""),
            ("abc", 3, "abc"),
            ("abcd", 3, "abc"),
            ("éèà€", 2, "éè"),
            ("Zoë😀x", 4, "Zoë😀"),
            ("Zoë😀x", 3, "Zoë"),
            ("abc", 0, ""),
        ];
        for (input, max, expected) in cases {
            assert_eq!(truncate(input, max), expected, "{input:?} to {max}");
        }
    }
}

//! Column sizes, in characters, of the CRM tables the mapped records go to.
//!
//! The SQL migrations declare exactly these as `VARCHAR(N)`: change both together. The mapper
//! truncates longer values (on a character boundary, counting characters as PostgreSQL does)
//! and warns, so an insert never fails on length.

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
    use super::*;

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

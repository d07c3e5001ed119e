//! Contracts of a prospect and their lines.
//!
//! Two shapes coexist: contracts nested in subscriptions (`Souscription[i].contrats[j]`, one
//! line from the subscription's offer) and top-level `contrats[j]` (one line per top-level
//! `abonnements[]` item). A contract needs an id (`idContrat` or `id`); its reference
//! `WLP-CONTRAT-{id}` is unique within the prospect, the first occurrence winning.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::Value;

use crate::SOURCE;
use crate::limits;
use crate::prospect::commercial_id;
use crate::record::{ContratRecord, LigneRecord};
use crate::values::{Obj, Warnings, clean, kind};

/// Spellings of the subscriptions list.
const SOUSCRIPTION_KEYS: &[&str] = &[
    "Souscription",
    "souscription",
    "souscriptions",
    "Souscriptions",
];
/// Spellings of a contracts list, in a subscription or at the top level.
const CONTRAT_KEYS: &[&str] = &["contrats", "Contrats", "contrat", "Contrat"];
/// Keys of a contract id.
const CONTRAT_ID_KEYS: &[&str] = &["idContrat", "id"];
/// Keys of a unit price.
const PRIX_KEYS: &[&str] = &["prix_base", "prixBase"];
/// Keys of a line's quantity (not documented by WinLeadPlus; 1 when absent).
const QUANTITE_KEYS: &[&str] = &["quantite", "quantity"];
/// Quantity of a line that does not say.
const DEFAULT_QUANTITE: i32 = 1;
/// Status of a contract that does not say.
const DEFAULT_STATUT: &str = "ACTIF";
/// Currency of a contract that does not say.
const DEFAULT_DEVISE: &str = "EUR";

/// What a contract takes from where it sits.
#[derive(Debug, Default)]
struct Origin<'a> {
    /// The subscription's `totalAmount` (nested contracts only).
    total_amount: Option<Decimal>,
    /// The subscription's `dateSouscription` (nested contracts only).
    date_souscription: Option<NaiveDate>,
    /// The offer's `fournisseur` (nested contracts only).
    fournisseur: Option<String>,
    /// The lines every contract of this origin gets.
    lignes: &'a [LigneRecord],
}

/// All contracts of a prospect: subscriptions' contracts first, then top-level ones.
///
/// `prospect_commercial` is the prospect's salesperson, for contracts without their own.
pub(crate) fn map_contracts(
    p: Obj<'_, '_>,
    prospect_commercial: Option<&str>,
    w: &mut Warnings,
) -> Vec<ContratRecord> {
    let mut out = Vec::new();
    if let Some((key, subscriptions)) = p.list(w, SOUSCRIPTION_KEYS) {
        for (i, subscription) in subscriptions.iter().enumerate() {
            let path = format!("{key}[{i}]");
            let Value::Object(map) = subscription else {
                w.push(format_args!(
                    "{path}: expected an object, found {}; skipped",
                    kind(subscription)
                ));
                continue;
            };
            map_subscription(Obj::nested(map, &path), prospect_commercial, &mut out, w);
        }
    }
    if let Some((key, contracts)) = p.list(w, CONTRAT_KEYS).filter(|(_, list)| !list.is_empty()) {
        let lignes = abonnement_lines(p, w);
        let origin = Origin {
            lignes: &lignes,
            ..Origin::default()
        };
        for (j, contract) in contracts.iter().enumerate() {
            let at = Position {
                list: key,
                index: j,
                parent: "",
            };
            push_contract(&mut out, contract, at, &origin, prospect_commercial, w);
        }
    }
    out
}

/// The contracts of one subscription, with its amount, date and offer.
fn map_subscription(
    s: Obj<'_, '_>,
    prospect_commercial: Option<&str>,
    out: &mut Vec<ContratRecord>,
    w: &mut Warnings,
) {
    let Some((key, contracts)) = s.list(w, CONTRAT_KEYS).filter(|(_, list)| !list.is_empty())
    else {
        return;
    };
    let offre_path = format!("{}.offre", s.path());
    let offre = s
        .object(w, &["offre"])
        .map(|(_, map)| Obj::nested(map, &offre_path));
    let line = match offre {
        Some(offre) => {
            let offre_id = offre
                .text(w, &["offreId"], limits::OFFRE_ID)
                .or_else(|| s.text(w, &["offreId"], limits::OFFRE_ID));
            line(offre, offre_id, w)
        }
        // No offer: the subscription's offer id still names a line.
        None => s
            .text(w, &["offreId"], limits::OFFRE_ID)
            .map(|offre_id| LigneRecord {
                nom: format!("Offre {offre_id}"),
                prix_unitaire: None,
                quantite: DEFAULT_QUANTITE,
                categorie: None,
                offre_id: Some(offre_id),
            }),
    };
    let origin = Origin {
        total_amount: s.money(w, &["totalAmount"]),
        date_souscription: s.date(w, &["dateSouscription"]),
        fournisseur: offre.and_then(|o| o.text(w, &["fournisseur"], limits::FOURNISSEUR)),
        lignes: line.as_slice(),
    };
    for (j, contract) in contracts.iter().enumerate() {
        let at = Position {
            list: key,
            index: j,
            parent: s.path(),
        };
        push_contract(out, contract, at, &origin, prospect_commercial, w);
    }
}

/// Where a contract sits, for warnings: `Souscription[0].contrats[1]`.
#[derive(Debug, Clone, Copy)]
struct Position<'a> {
    parent: &'a str,
    list: &'a str,
    index: usize,
}

impl std::fmt::Display for Position<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.parent.is_empty() {
            write!(f, "{}.", self.parent)?;
        }
        write!(f, "{}[{}]", self.list, self.index)
    }
}

/// Maps one contract and appends it, unless it has no id or repeats a reference.
fn push_contract(
    out: &mut Vec<ContratRecord>,
    raw: &Value,
    at: Position<'_>,
    origin: &Origin<'_>,
    prospect_commercial: Option<&str>,
    w: &mut Warnings,
) {
    let Value::Object(map) = raw else {
        w.push(format_args!(
            "{at}: expected an object, found {}; skipped",
            kind(raw)
        ));
        return;
    };
    let c = Obj::root(map);
    let id = match contract_id(c) {
        Ok(id) => id,
        Err(problem) => {
            w.push(format_args!("{at}: {problem}; contract not imported"));
            return;
        }
    };
    let reference = format!("WLP-CONTRAT-{id}");
    if out.iter().any(|known| known.reference == reference) {
        w.push(format_args!(
            "{at}: duplicate reference {reference}; the first one is kept"
        ));
        return;
    }
    w.set_scope(format!("contrat {id}"));
    let date_signature = c.date(w, &["dateSignature", "date_signature"]);
    let record = ContratRecord {
        titre: c
            .text(w, &["titre"], limits::CONTRAT_TITRE)
            .unwrap_or_else(|| format!("Contrat {id}")),
        statut: c
            .text(w, &["statut"], limits::CONTRAT_STATUT)
            .unwrap_or_else(|| DEFAULT_STATUT.to_owned()),
        montant: origin.total_amount.or_else(|| c.money(w, &["montant"])),
        date_signature,
        date_debut: date_signature.or(origin.date_souscription),
        devise: c
            .text(w, &["devise"], limits::DEVISE)
            .unwrap_or_else(|| DEFAULT_DEVISE.to_owned()),
        frequence_facturation: c.text(
            w,
            &["frequenceFacturation", "frequence_facturation"],
            limits::FREQUENCE_FACTURATION,
        ),
        fournisseur: origin.fournisseur.as_deref().unwrap_or(SOURCE).to_owned(),
        commercial_id: commercial_id(c, w).or_else(|| prospect_commercial.map(str::to_owned)),
        notes: c.text(w, &["notes"], usize::MAX),
        lignes: origin.lignes.to_vec(),
        external_id: id,
        reference,
    };
    w.clear_scope();
    out.push(record);
}

/// The contract id as text: an integer or a non-blank string of at most
/// [`limits::EXTERNAL_ID`] characters. Never invented.
fn contract_id(c: Obj<'_, '_>) -> Result<String, String> {
    let Some((key, value)) = c.find(CONTRAT_ID_KEYS) else {
        return Err("no idContrat or id".to_owned());
    };
    let id = match value {
        Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
        Value::Number(n) => return Err(format!("{key} {n} is not an integer")),
        Value::String(s) => clean(s),
        other => return Err(format!("{key} is {}, not an id", kind(other))),
    };
    if id.chars().count() > limits::EXTERNAL_ID {
        return Err(format!(
            "{key} is longer than {} characters",
            limits::EXTERNAL_ID
        ));
    }
    Ok(id)
}

/// One line per top-level `abonnements[]` item, shared by every top-level contract.
fn abonnement_lines(p: Obj<'_, '_>, w: &mut Warnings) -> Vec<LigneRecord> {
    let Some((key, items)) = p.list(w, &["abonnements"]) else {
        return Vec::new();
    };
    let mut lines = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = format!("{key}[{i}]");
        let Value::Object(map) = item else {
            w.push(format_args!(
                "{path}: expected an object, found {}; no line",
                kind(item)
            ));
            continue;
        };
        let item = Obj::nested(map, &path);
        let offre_id = item.text(w, &["offreId"], limits::OFFRE_ID);
        lines.extend(line(item, offre_id, w));
    }
    lines
}

/// A line from an offer or subscription item; `None` (with a warning) without name nor offer id.
fn line(item: Obj<'_, '_>, offre_id: Option<String>, w: &mut Warnings) -> Option<LigneRecord> {
    let nom = match (item.text(w, &["nom"], limits::LIGNE_NOM), &offre_id) {
        (Some(nom), _) => nom,
        (None, Some(offre_id)) => format!("Offre {offre_id}"),
        (None, None) => {
            w.push(format_args!(
                "{}: no nom and no offreId; no line",
                item.path()
            ));
            return None;
        }
    };
    Some(LigneRecord {
        nom,
        prix_unitaire: item.money(w, PRIX_KEYS),
        quantite: item.quantity(w, QUANTITE_KEYS).unwrap_or(DEFAULT_QUANTITE),
        categorie: item.text(w, &["categorie"], limits::CATEGORIE),
        offre_id,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::str::FromStr;

    use serde_json::json;

    use super::*;
    use crate::map_prospect;
    use crate::record::MappedProspect;

    fn map(extra: Value) -> MappedProspect {
        let mut raw = json!({ "idProspect": 1, "commercialId": "prospect-rep" });
        if let (Some(target), Value::Object(fields)) = (raw.as_object_mut(), extra) {
            target.extend(fields);
        }
        map_prospect(&raw).expect("maps")
    }

    fn dec(s: &str) -> Option<Decimal> {
        Some(Decimal::from_str(s).unwrap())
    }

    fn date(s: &str) -> Option<NaiveDate> {
        NaiveDate::from_str(s).ok()
    }

    fn references(mapped: &MappedProspect) -> Vec<&str> {
        mapped
            .contrats
            .iter()
            .map(|c| c.reference.as_str())
            .collect()
    }

    #[test]
    fn a_nested_contract_takes_amount_date_supplier_and_line_from_its_subscription() {
        let mapped = map(json!({ "Souscription": [{
            "idSouscription": 70, "offreId": 3, "totalAmount": "1 234,50", "dateSouscription": "2024-01-15",
            "offre": { "offreId": 3, "nom": "Énergie Verte", "categorie": "ENERGIE", "prix_base": 1234.5,
                       "fournisseur": "ENGIE", "logo_url": "/l.png" },
            "contrats": [{ "id": 601, "statut": "EN_ATTENTE", "montant": 99, "date_signature": "2024-01-20" }],
        }]}));
        assert!(mapped.warnings.is_empty(), "{:?}", mapped.warnings);
        let expected = ContratRecord {
            external_id: "601".into(),
            reference: "WLP-CONTRAT-601".into(),
            titre: "Contrat 601".into(),
            statut: "EN_ATTENTE".into(),
            montant: dec("1234.50"),
            date_signature: date("2024-01-20"),
            date_debut: date("2024-01-20"),
            devise: "EUR".into(),
            frequence_facturation: None,
            fournisseur: "ENGIE".into(),
            commercial_id: Some("prospect-rep".into()),
            notes: None,
            lignes: vec![LigneRecord {
                nom: "Énergie Verte".into(),
                prix_unitaire: dec("1234.5"),
                quantite: 1,
                categorie: Some("ENERGIE".into()),
                offre_id: Some("3".into()),
            }],
        };
        assert_eq!(mapped.contrats, [expected]);
    }

    #[test]
    fn a_top_level_contract_gets_one_line_per_abonnement() {
        let mapped = map(json!({
            "contrats": [{
                "idContrat": 501, "titre": "Box Fibre", "statut": "ACTIF", "montant": "29,90",
                "dateSignature": "12/03/2024", "devise": "EUR", "frequenceFacturation": "MENSUELLE",
                "commercialId": "c-9", "notes": " note ",
            }],
            "abonnements": [
                { "offreId": 9, "nom": "Fibre 1G", "categorie": "INTERNET", "prix_base": "29.90" },
                { "offreId": 10, "prixBase": 5 },
            ],
        }));
        assert!(mapped.warnings.is_empty(), "{:?}", mapped.warnings);
        let expected = ContratRecord {
            external_id: "501".into(),
            reference: "WLP-CONTRAT-501".into(),
            titre: "Box Fibre".into(),
            statut: "ACTIF".into(),
            montant: dec("29.90"),
            date_signature: date("2024-03-12"),
            date_debut: date("2024-03-12"),
            devise: "EUR".into(),
            frequence_facturation: Some("MENSUELLE".into()),
            fournisseur: "WinLeadPlus".into(),
            commercial_id: Some("c-9".into()),
            notes: Some("note".into()),
            lignes: vec![
                LigneRecord {
                    nom: "Fibre 1G".into(),
                    prix_unitaire: dec("29.90"),
                    quantite: 1,
                    categorie: Some("INTERNET".into()),
                    offre_id: Some("9".into()),
                },
                LigneRecord {
                    nom: "Offre 10".into(),
                    prix_unitaire: dec("5"),
                    quantite: 1,
                    categorie: None,
                    offre_id: Some("10".into()),
                },
            ],
        };
        assert_eq!(mapped.contrats, [expected]);
    }

    #[test]
    fn values_their_columns_cannot_hold_are_dropped_with_a_warning_and_the_contract_kept() {
        let mapped = map(json!({
            "contrats": [{
                "idContrat": 12, "montant": "99999999999999999999.99",
                "dateSignature": "+12345-01-01",
            }, {
                "idContrat": 13, "montant": 12.345, "date_signature": "1899-12-31",
            }],
            "abonnements": [
                { "offreId": 1, "prix_base": 1e15, "quantite": 3_000_000_000_i64 },
                { "offreId": 2, "prix_base": "999999999999.99", "quantite": "2" },
                { "offreId": 3, "quantite": 1.5 },
            ],
        }));
        let [big, small] = &mapped.contrats[..] else {
            panic!("two contracts expected: {:?}", mapped.contrats);
        };
        assert_eq!((big.montant, big.date_signature), (None, None));
        assert_eq!((small.montant, small.date_signature), (dec("12.35"), None));
        let lines: Vec<_> = big
            .lignes
            .iter()
            .map(|l| (l.prix_unitaire, l.quantite))
            .collect();
        assert_eq!(lines, [(None, 1), (dec("999999999999.99"), 2), (None, 1)]);
        let expected = [
            "contrat 12: montant 99999999999999999999.99 out of range; not stored",
            "contrat 12: dateSignature: unreadable date \"+12345-01-01\"",
            "contrat 13: date_signature \"1899-12-31\" out of range; not stored",
        ];
        for warning in expected {
            assert!(
                mapped.warnings.iter().any(|w| w == warning),
                "{warning} not in {:?}",
                mapped.warnings
            );
        }
        for field in [
            "prix_base 1000000000000000",
            "quantite 3000000000",
            "quantite 1.5",
        ] {
            assert!(
                mapped.warnings.iter().any(|w| w.contains(field)),
                "{field} not in {:?}",
                mapped.warnings
            );
        }
    }

    #[test]
    fn every_spelling_of_subscriptions_and_their_contracts_is_understood() {
        for subscriptions in SOUSCRIPTION_KEYS {
            for contracts in CONTRAT_KEYS {
                let mapped = map(json!({ *subscriptions: [{ *contracts: [{ "idContrat": 7 }] }] }));
                assert_eq!(
                    references(&mapped),
                    ["WLP-CONTRAT-7"],
                    "{subscriptions}.{contracts}"
                );
            }
        }
    }

    #[test]
    fn top_level_contracts_accept_the_same_spellings() {
        for contracts in CONTRAT_KEYS {
            let mapped = map(json!({ *contracts: [{ "id": 8 }] }));
            assert_eq!(references(&mapped), ["WLP-CONTRAT-8"], "{contracts}");
        }
    }

    #[test]
    fn objects_instead_of_lists_count_as_one_element_lists() {
        let mapped = map(json!({
            "souscription": { "Contrat": { "idContrat": "602", "montant": 15 }, "offre": { "nom": "Mobile" } },
            "contrat": { "id": 9 },
        }));
        assert_eq!(references(&mapped), ["WLP-CONTRAT-602", "WLP-CONTRAT-9"]);
        assert_eq!(mapped.contrats[0].montant, dec("15"));
        assert_eq!(mapped.contrats[0].lignes[0].nom, "Mobile");
    }

    #[test]
    fn contract_ids_come_from_id_contrat_or_id_as_integer_or_text() {
        let cases = [
            (json!({ "idContrat": 5, "id": 6 }), Some("5")),
            (json!({ "idContrat": null, "id": 6 }), Some("6")),
            (json!({ "id": " A-12 " }), Some("A-12")),
            (json!({ "id": "0602" }), Some("0602")),
            (
                json!({ "idContrat": u64::MAX }),
                Some("18446744073709551615"),
            ),
            (json!({ "idContrat": 12.5 }), None),
            (json!({ "idContrat": true }), None),
            (json!({ "idContrat": "x".repeat(51) }), None),
            (json!({ "idContrat": "" }), None),
            (json!({ "titre": "sans id" }), None),
        ];
        for (contract, expected) in cases {
            let mapped = map(json!({ "contrats": [contract] }));
            let ids: Vec<&str> = mapped
                .contrats
                .iter()
                .map(|c| c.external_id.as_str())
                .collect();
            assert_eq!(ids.first().copied(), expected, "{contract}");
            assert_eq!(
                mapped.warnings.len(),
                usize::from(expected.is_none()),
                "{contract}"
            );
        }
    }

    #[test]
    fn a_contract_without_id_is_not_imported_and_warns_with_its_position() {
        let mapped =
            map(json!({ "Souscription": [{ "contrats": [{ "id": 1 }, { "titre": "sans id" }] }] }));
        assert_eq!(references(&mapped), ["WLP-CONTRAT-1"]);
        assert_eq!(
            mapped.warnings,
            ["Souscription[0].contrats[1]: no idContrat or id; contract not imported"]
        );
    }

    #[test]
    fn the_same_reference_twice_keeps_the_first_contract() {
        let mapped = map(json!({
            "Souscription": [{ "contrats": [{ "id": 1, "titre": "premier" }] }],
            "contrats": [{ "idContrat": "1", "titre": "second" }, { "idContrat": 2 }],
        }));
        assert_eq!(references(&mapped), ["WLP-CONTRAT-1", "WLP-CONTRAT-2"]);
        assert_eq!(mapped.contrats[0].titre, "premier");
        assert_eq!(
            mapped.warnings,
            ["contrats[0]: duplicate reference WLP-CONTRAT-1; the first one is kept"]
        );
    }

    #[test]
    fn defaults_fill_a_contract_that_only_has_an_id() {
        let mapped = map(json!({ "contrats": [{ "id": 3 }] }));
        let c = &mapped.contrats[0];
        assert_eq!(
            (
                c.titre.as_str(),
                c.statut.as_str(),
                c.devise.as_str(),
                c.fournisseur.as_str()
            ),
            ("Contrat 3", "ACTIF", "EUR", "WinLeadPlus")
        );
        assert_eq!(
            (c.montant, c.date_signature, c.date_debut),
            (None, None, None)
        );
        assert_eq!(c.commercial_id.as_deref(), Some("prospect-rep"));
        assert!(c.lignes.is_empty());
    }

    #[test]
    fn the_nested_amount_falls_back_to_the_contract_amount() {
        let cases = [
            (
                json!({ "totalAmount": 10 }),
                json!({ "id": 1, "montant": 20 }),
                dec("10"),
                0,
            ),
            (json!({}), json!({ "id": 1, "montant": 20 }), dec("20"), 0),
            (
                json!({ "totalAmount": "dix" }),
                json!({ "id": 1, "montant": "20,5" }),
                dec("20.5"),
                1,
            ),
            (json!({}), json!({ "id": 1, "montant": "vingt" }), None, 1),
        ];
        for (subscription, contract, expected, warnings) in cases {
            let mut subscription = subscription;
            subscription["contrats"] = json!([contract]);
            let mapped = map(json!({ "Souscription": [subscription] }));
            assert_eq!(mapped.contrats[0].montant, expected, "{subscription}");
            assert_eq!(mapped.warnings.len(), warnings, "{:?}", mapped.warnings);
        }
    }

    #[test]
    fn the_start_date_is_the_signature_date_else_the_subscription_date() {
        let cases = [
            (
                json!({ "id": 1, "dateSignature": "2024-02-01" }),
                date("2024-02-01"),
            ),
            (
                json!({ "id": 1, "date_signature": "2024-02-02" }),
                date("2024-02-02"),
            ),
            (json!({ "id": 1 }), date("2024-01-15")),
            (
                json!({ "id": 1, "dateSignature": "32/01/2024" }),
                date("2024-01-15"),
            ),
        ];
        for (contract, expected) in cases {
            let mapped = map(
                json!({ "Souscription": [{ "dateSouscription": "15/01/2024", "contrats": [contract] }] }),
            );
            assert_eq!(mapped.contrats[0].date_debut, expected, "{contract}");
        }
        let top = map(json!({ "contrats": [{ "id": 1 }], "dateSouscription": "2024-01-15" }));
        assert_eq!(top.contrats[0].date_debut, None);
    }

    #[test]
    fn the_contract_salesperson_wins_over_the_prospect_one() {
        let cases = [
            (json!({ "id": 1, "commercialId": "own" }), "own"),
            (json!({ "id": 1, "commercial_id": 44 }), "44"),
            (
                json!({ "id": 1, "commercial": { "id": "nested" } }),
                "nested",
            ),
            (json!({ "id": 1 }), "prospect-rep"),
        ];
        for (contract, expected) in cases {
            let mapped = map(json!({ "contrats": [contract] }));
            assert_eq!(
                mapped.contrats[0].commercial_id.as_deref(),
                Some(expected),
                "{contract}"
            );
        }
    }

    #[test]
    fn both_spellings_of_the_billing_frequency_and_price_are_read() {
        let mapped = map(json!({
            "contrats": [{ "id": 1, "frequence_facturation": "ANNUELLE" }],
            "abonnements": [{ "nom": "a", "prixBase": "1,5" }, { "nom": "b", "prix_base": 2, "prixBase": 3 }],
        }));
        let c = &mapped.contrats[0];
        assert_eq!(c.frequence_facturation.as_deref(), Some("ANNUELLE"));
        let prices: Vec<_> = c.lignes.iter().map(|l| l.prix_unitaire).collect();
        assert_eq!(prices, [dec("1.5"), dec("2")]);
    }

    #[test]
    fn lines_need_a_name_or_an_offer_id() {
        let mapped = map(json!({
            "contrats": [{ "id": 1 }],
            "abonnements": [{ "offreId": "X1" }, { "categorie": "SANTE" }, "texte", { "nom": "Nom" }],
        }));
        let names: Vec<&str> = mapped.contrats[0]
            .lignes
            .iter()
            .map(|l| l.nom.as_str())
            .collect();
        assert_eq!(names, ["Offre X1", "Nom"]);
        assert_eq!(
            mapped.warnings,
            [
                "abonnements[1]: no nom and no offreId; no line",
                "abonnements[2]: expected an object, found a string; no line",
            ]
        );
    }

    #[test]
    fn a_nested_line_takes_the_subscription_offer_id_when_the_offer_has_none() {
        let cases = [
            (
                json!({ "offreId": 3, "offre": { "prix_base": 2 }, "contrats": [{ "id": 1 }] }),
                Some("Offre 3"),
            ),
            (
                json!({ "offreId": 3, "contrats": [{ "id": 1 }] }),
                Some("Offre 3"),
            ),
            (
                json!({ "offre": { "offreId": 4, "nom": "N" }, "contrats": [{ "id": 1 }] }),
                Some("N"),
            ),
            (json!({ "contrats": [{ "id": 1 }] }), None),
        ];
        for (subscription, expected) in cases {
            let mapped = map(json!({ "Souscription": [subscription] }));
            let name = mapped.contrats[0].lignes.first().map(|l| l.nom.as_str());
            assert_eq!(name, expected, "{subscription}");
        }
    }

    #[test]
    fn abonnements_do_not_apply_to_nested_contracts() {
        let mapped = map(json!({
            "Souscription": [{ "offre": { "nom": "A" }, "contrats": [{ "id": 1 }] }],
            "abonnements": [{ "nom": "B" }, { "nom": "C" }],
        }));
        let names: Vec<&str> = mapped.contrats[0]
            .lignes
            .iter()
            .map(|l| l.nom.as_str())
            .collect();
        assert_eq!(names, ["A"]);
    }

    #[test]
    fn contract_warnings_name_the_contract() {
        let mapped = map(json!({ "contrats": [{
            "id": 77, "titre": "t".repeat(300), "dateSignature": "hier", "montant": [1],
        }]}));
        assert_eq!(
            mapped.warnings,
            [
                "contrat 77: dateSignature: unreadable date \"hier\"",
                "contrat 77: titre truncated to 255 characters",
                "contrat 77: montant: expected a number, found a list",
            ]
        );
        assert_eq!(
            mapped.contrats[0].titre.chars().count(),
            limits::CONTRAT_TITRE
        );
    }

    #[test]
    fn odd_shapes_are_skipped_with_warnings() {
        let mapped = map(json!({
            "Souscription": ["x", { "contrats": [] }, { "contrats": [null, 3] }],
            "contrats": "non",
        }));
        assert!(mapped.contrats.is_empty());
        assert_eq!(
            mapped.warnings,
            [
                "Souscription[0]: expected an object, found a string; skipped",
                "Souscription[2].contrats[0]: expected an object, found null; skipped",
                "Souscription[2].contrats[1]: expected an object, found a number; skipped",
                "contrats: expected a list, found a string",
            ]
        );
    }
}

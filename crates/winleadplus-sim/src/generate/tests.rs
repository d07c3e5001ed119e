//! Unit tests of the generator: determinism, valid and invalid IBANs, unique contract ids,
//! and that every key spelling and value shape of docs/WINLEADPLUS_API.md shows up.

use std::collections::{BTreeMap, HashSet};

use serde_json::Value;

use super::*;
use crate::checks::iban_passes_mod97;

/// The subscription keys and, inside them, the contract keys the API may use.
const SOUSCRIPTION_KEYS: [&str; 4] = [
    "Souscription",
    "souscription",
    "souscriptions",
    "Souscriptions",
];
const NESTED_CONTRACT_KEYS: [&str; 4] = ["contrats", "Contrats", "contrat", "Contrat"];

fn payment(p: &Value) -> Option<&serde_json::Map<String, Value>> {
    p.get("informationsPaiement")?.get(0)?.as_object()
}

fn iban(p: &Value) -> Option<&str> {
    let entry = payment(p)?;
    entry.get("iban").or_else(|| entry.get("IBAN"))?.as_str()
}

fn id(p: &Value) -> i64 {
    match &p["idProspect"] {
        Value::Number(n) => n.as_i64().unwrap(),
        Value::String(s) => s.parse().unwrap(),
        other => panic!("bad id {other}"),
    }
}

/// Every contract object of a prospect, nested or top-level.
fn contracts(p: &Value) -> Vec<&Value> {
    let mut out: Vec<&Value> = p["contrats"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    for key in SOUSCRIPTION_KEYS {
        for s in p.get(key).and_then(Value::as_array).into_iter().flatten() {
            for ckey in NESTED_CONTRACT_KEYS {
                out.extend(s.get(ckey).and_then(Value::as_array).into_iter().flatten());
            }
        }
    }
    out
}

/// Counts, over a data set, the spellings and shapes we promise to cover.
fn coverage(data: &[Value]) -> BTreeMap<String, usize> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut hit = |what: &str| *seen.entry(what.to_owned()).or_default() += 1;
    for p in data {
        let o = p.as_object().unwrap();
        for key in o.keys() {
            hit(key);
        }
        if let Some(c) = o.get("commercial").and_then(|c| c.get("id")) {
            assert!(c.is_string());
            hit("commercial.id");
        }
        for key in ["dateNaissance", "date_naissance"] {
            if let Some(d) = o.get(key).and_then(Value::as_str) {
                let form = if d.contains('/') {
                    "date:DD/MM/YYYY"
                } else if d.contains('T') {
                    "date:RFC3339"
                } else {
                    "date:YYYY-MM-DD"
                };
                hit(form);
            }
        }
        for key in ["codePostal", "code_postal"] {
            if o.get(key)
                .and_then(Value::as_str)
                .is_some_and(|c| c.starts_with('0'))
            {
                hit("postcode:leading-zero");
            }
        }
        if let Some(entry) = payment(p) {
            for key in entry.keys() {
                hit(&format!("informationsPaiement[0].{key}"));
            }
        }
        for key in SOUSCRIPTION_KEYS {
            for s in o.get(key).and_then(Value::as_array).into_iter().flatten() {
                if s.get("offre").is_some_and(Value::is_object) {
                    hit("souscription.offre");
                }
                for ckey in NESTED_CONTRACT_KEYS {
                    if s.get(ckey)
                        .is_some_and(|c| c.as_array().is_some_and(|a| !a.is_empty()))
                    {
                        hit(&format!("souscription.{ckey}"));
                    }
                }
            }
        }
        if o.get("contrats")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
        {
            hit("contrats:non-empty");
        }
        if o.get("abonnements")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
        {
            hit("abonnements:non-empty");
        }
        for line in o
            .get("abonnements")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for key in ["prix_base", "prixBase"] {
                if line.get(key).is_some() {
                    hit(&format!("abonnements.{key}"));
                }
            }
        }
        for c in contracts(p) {
            for key in [
                "idContrat",
                "id",
                "dateSignature",
                "date_signature",
                "frequenceFacturation",
                "frequence_facturation",
            ] {
                if c.get(key).is_some() {
                    hit(&format!("contrat.{key}"));
                }
            }
            if let Some(m) = c.get("montant").and_then(Value::as_str) {
                if m.contains(' ') {
                    hit("number:thousands-string");
                } else if m.contains(',') {
                    hit("number:comma-string");
                } else {
                    hit("number:dot-string");
                }
            }
        }
        if o["idProspect"].is_string() {
            hit("idProspect:string");
        }
    }
    seen
}

#[test]
fn the_same_seed_gives_the_same_data_and_another_seed_other_data() {
    let a = generate(300, 7);
    let b = generate(300, 7);
    let c = generate(300, 8);
    assert_eq!(a, b);
    assert_ne!(a, c);
    let differing = a.iter().zip(&c).filter(|(x, y)| x != y).count();
    assert!(differing > 290, "only {differing} prospects differ");
}

#[test]
fn a_prospect_depends_only_on_the_seed_and_its_index() {
    let all = generate(50, 42);
    for (i, p) in all.iter().enumerate() {
        assert_eq!(p, &prospect(42, i as u64));
        assert_eq!(id(p), FIRST_ID + i as i64);
    }
}

#[test]
fn every_prospect_has_a_valid_positive_id() {
    for p in generate(1000, 3) {
        assert!(id(&p) >= FIRST_ID);
    }
}

#[test]
fn ibans_meant_valid_pass_mod97_and_about_seven_percent_fail() {
    let data = generate(3000, 42);
    let (mut valid, mut invalid) = (0, 0);
    for p in &data {
        let Some(iban) = iban(p) else { continue };
        let compact: String = iban.split_whitespace().collect();
        assert_eq!(compact.len(), 27, "{iban}");
        assert!(compact.to_uppercase().starts_with("FR"), "{iban}");
        let meant = iban_meant_valid(42, id(p));
        assert_eq!(
            iban_passes_mod97(iban),
            meant,
            "prospect {} iban {iban}",
            id(p)
        );
        if meant {
            valid += 1;
        } else {
            invalid += 1;
        }
    }
    let share = f64::from(invalid) / f64::from(valid + invalid);
    assert!((0.05..=0.09).contains(&share), "invalid share {share}");
}

#[test]
fn bics_have_eight_or_eleven_characters() {
    for p in generate(500, 42) {
        if let Some(entry) = payment(&p) {
            let bic = entry
                .get("BIC")
                .or_else(|| entry.get("bic"))
                .and_then(Value::as_str)
                .unwrap();
            assert!(bic.len() == 8 || bic.len() == 11, "{bic}");
        }
    }
}

#[test]
fn social_security_numbers_carry_a_valid_key() {
    for p in generate(500, 42) {
        if let Some(numss) = p.get("numss").and_then(Value::as_str) {
            assert_eq!(numss.len(), 15, "{numss}");
            let body: u64 = numss[..13].parse().unwrap();
            let key: u64 = numss[13..].parse().unwrap();
            assert_eq!(key, 97 - body % 97, "{numss}");
        }
    }
}

#[test]
fn contract_ids_are_unique_across_the_data_set() {
    let data = generate(5000, 42);
    let mut ids = HashSet::new();
    let mut count = 0;
    for p in &data {
        for c in contracts(p) {
            let cid = c
                .get("idContrat")
                .or_else(|| c.get("id"))
                .and_then(Value::as_i64)
                .unwrap();
            assert!(ids.insert(cid), "contract id {cid} appears twice");
            count += 1;
        }
    }
    assert!(count > 5000, "only {count} contracts");
}

#[test]
fn every_key_spelling_and_shape_appears_in_500_prospects() {
    let seen = coverage(&generate(500, 42));
    let expected = [
        "dateNaissance",
        "date_naissance",
        "date:YYYY-MM-DD",
        "date:DD/MM/YYYY",
        "date:RFC3339",
        "adresse1",
        "adressePostaleLigne1",
        "adresse",
        "streetnumber",
        "adressePostaleLigne2",
        "codePostal",
        "code_postal",
        "postcode:leading-zero",
        "commercialId",
        "commercial.id",
        "commercial_id",
        "informationsPaiement[0].iban",
        "informationsPaiement[0].IBAN",
        "informationsPaiement[0].BIC",
        "informationsPaiement[0].bic",
        "informationsPaiement[0].mandatSepa",
        "informationsPaiement[0].mandat_sepa",
        "contrats:non-empty",
        "abonnements:non-empty",
        "abonnements.prix_base",
        "abonnements.prixBase",
        "Souscription",
        "souscription",
        "souscriptions",
        "Souscriptions",
        "souscription.offre",
        "souscription.contrats",
        "souscription.Contrats",
        "souscription.contrat",
        "souscription.Contrat",
        "contrat.idContrat",
        "contrat.id",
        "contrat.dateSignature",
        "contrat.date_signature",
        "contrat.frequenceFacturation",
        "contrat.frequence_facturation",
        "number:thousands-string",
        "number:comma-string",
        "number:dot-string",
        "idProspect:string",
        "email",
        "telephone",
        "civilite",
        "ville",
        "pays",
        "csp",
        "regimeSocial",
        "etapeCourante",
        "statutProspect",
        "lieuNaissance",
        "paysNaissance",
        "numss",
        "is_politically_exposed",
        "consentementRGPDTraitementDonnees",
        "consentementRGPDCommunicationsCommerciales",
        "createdAt",
    ];
    let missing: Vec<&str> = expected
        .iter()
        .copied()
        .filter(|k| !seen.contains_key(*k))
        .collect();
    assert!(
        missing.is_empty(),
        "never generated: {missing:?}\nseen: {seen:?}"
    );
}

#[test]
fn optional_fields_are_sometimes_missing() {
    let data = generate(500, 42);
    for key in [
        "email",
        "telephone",
        "numss",
        "pays",
        "informationsPaiement",
        "adressePostaleLigne2",
    ] {
        let missing = data.iter().filter(|p| p.get(key).is_none()).count();
        assert!(missing > 0, "{key} is never missing");
    }
}

#[test]
fn a_prospect_weighs_about_as_much_as_the_sample() {
    let data = generate(1000, 42);
    let total: usize = data
        .iter()
        .map(|p| serde_json::to_vec(p).unwrap().len())
        .sum();
    let average = total / data.len();
    assert!((1400..=2100).contains(&average), "average {average} bytes");
}

#[test]
fn thousands_are_grouped_the_french_way() {
    for (n, expected) in [
        (0, "0"),
        (999, "999"),
        (1234, "1 234"),
        (1_234_567, "1 234 567"),
    ] {
        assert_eq!(group_thousands(n), expected);
    }
}

#[test]
fn other_etape_never_returns_the_current_one() {
    let mut r = Rng::for_item(1, 1, 1);
    for _ in 0..200 {
        assert_ne!(other_etape(&mut r, Some("GAGNE")), "GAGNE");
    }
}

//! The prospect fixtures (`fixtures/` at the top of the repository) through the
//! public API: the edge cases give exactly the outcomes their README lists, and the generated
//! samples map without failures and change hash exactly where their data changed.

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::NaiveDate;
use mapper::{MappedProspect, PayloadMapper, RecordError};
use rust_decimal::Decimal;
use serde_json::Value;

/// Reads a fixture payload (a JSON array) from `fixtures/`.
fn fixture(name: &str) -> Vec<Value> {
    let path = format!("{}/../../fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {path}: {e}"))
}

/// Maps a payload record by record: the mapped prospects by id, and the failures.
fn map_payload(records: &[Value]) -> (BTreeMap<i64, MappedProspect>, Vec<RecordError>) {
    let mut mapper = PayloadMapper::new();
    let mut mapped = BTreeMap::new();
    let mut failed = Vec::new();
    for raw in records {
        match mapper.map_next(raw) {
            Ok(prospect) => {
                mapped.insert(prospect.external_id.get(), prospect);
            }
            Err(error) => failed.push(error),
        }
    }
    assert_eq!(mapper.records(), records.len());
    (mapped, failed)
}

fn dec(s: &str) -> Option<Decimal> {
    Some(Decimal::from_str(s).unwrap())
}

fn date(s: &str) -> Option<NaiveDate> {
    Some(NaiveDate::from_str(s).unwrap())
}

fn has_warning(prospect: &MappedProspect, needle: &str) -> bool {
    prospect.warnings.iter().any(|w| w.contains(needle))
}

/// Raw IBANs, BICs and social security numbers of a payload, compacted.
fn sensitive_values(records: &[Value]) -> Vec<String> {
    let mut values = Vec::new();
    for raw in records {
        let payments = raw.get("informationsPaiement").and_then(Value::as_array);
        let payment = payments.and_then(|p| p.first());
        let fields = [
            payment.and_then(|p| p.get("iban").or_else(|| p.get("IBAN"))),
            payment.and_then(|p| p.get("BIC").or_else(|| p.get("bic"))),
            raw.get("numss"),
        ];
        for text in fields.into_iter().flatten().filter_map(Value::as_str) {
            let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            if compact.len() > 4 {
                values.push(compact.to_uppercase());
                values.push(compact);
                values.push(text.to_owned());
            }
        }
    }
    values
}

fn assert_no_sensitive_value_in_warnings(
    records: &[Value],
    mapped: &BTreeMap<i64, MappedProspect>,
) {
    let sensitive = sensitive_values(records);
    assert!(!sensitive.is_empty());
    for prospect in mapped.values() {
        for warning in &prospect.warnings {
            for value in &sensitive {
                assert!(
                    !warning.contains(value.as_str()),
                    "warning {warning:?} leaks a sensitive value"
                );
            }
        }
    }
}

#[test]
fn the_edge_payload_maps_five_prospects_and_fails_seven_records() {
    let records = fixture("prospects-edge.json");
    assert_eq!(records.len(), 12);
    let (mapped, failed) = map_payload(&records);

    assert_eq!(
        mapped.keys().copied().collect::<Vec<_>>(),
        [1001, 1002, 1003, 1004, 1005]
    );
    let failures: Vec<(usize, String)> = failed.iter().map(|e| (e.record, e.to_string())).collect();
    let too_large = format!(
        "prospect {big}: invalid idProspect {big}: too large for a 64-bit integer",
        big = records[6]["idProspect"]
    );
    assert_eq!(
        failures,
        [
            (3, "record 3: missing idProspect".to_owned()),
            (
                4,
                "prospect abc: invalid idProspect \"abc\": not an integer".to_owned()
            ),
            (
                5,
                "prospect 12.5: invalid idProspect 12.5: not an integer".to_owned()
            ),
            (
                6,
                "prospect -4: invalid idProspect -4: not a positive integer".to_owned()
            ),
            (7, too_large),
            (8, "record 8: not a JSON object".to_owned()),
            (
                11,
                "prospect 1001: duplicate of record 1 in this payload (the first occurrence wins)"
                    .to_owned()
            ),
        ]
    );
    assert_no_sensitive_value_in_warnings(&records, &mapped);
}

#[test]
fn edge_prospect_1001_is_trimmed_with_valid_payment_and_a_top_level_contract() {
    let (mapped, _) = map_payload(&fixture("prospects-edge.json"));
    let p = &mapped[&1001];
    assert_eq!(p.client.nom, "Dupont");
    assert_eq!(p.client.prenom, "Marie");
    assert_eq!(
        p.client.iban.as_deref(),
        Some("FR7630006000011234567890189")
    );
    assert_eq!(p.client.bic.as_deref(), Some("AGRIFRPP"));
    assert_eq!(p.client.mandat_sepa, Some(true));
    assert_eq!(p.client.commercial_id.as_deref(), Some("c-77"));
    let address = p.address.as_ref().unwrap();
    assert_eq!(address.ligne1.as_deref(), Some("12 rue des Lilas"));
    assert_eq!(address.code_postal.as_deref(), Some("01000"));
    assert_eq!(address.pays, "FR");
    assert_eq!(p.contrats.len(), 1);
    let c = &p.contrats[0];
    assert_eq!(c.reference, "WLP-CONTRAT-501");
    assert_eq!(c.montant, dec("29.90"));
    assert_eq!(c.date_signature, date("2024-03-12"));
    assert_eq!(c.lignes.len(), 1);
    assert_eq!(c.lignes[0].nom, "Fibre 1G");
    assert_eq!(c.lignes[0].prix_unitaire, dec("29.90"));
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
}

#[test]
fn edge_prospect_1002_uses_the_newer_shape_and_drops_the_bad_iban_and_the_contract_without_id() {
    let (mapped, _) = map_payload(&fixture("prospects-edge.json"));
    let p = &mapped[&1002];
    assert_eq!(p.client.prenom, "INCONNU");
    assert_eq!(p.client.date_naissance, date("1990-07-01"));
    assert_eq!(p.client.commercial_id.as_deref(), Some("c-12"));
    assert_eq!(p.client.iban, None);
    assert!(
        has_warning(p, "IBAN FR76…0188 fails the mod-97 check"),
        "{:?}",
        p.warnings
    );
    assert_eq!(p.client.bic.as_deref(), Some("BNPAFRPPXXX"));
    assert_eq!(p.client.mandat_sepa, Some(false));
    let address = p.address.as_ref().unwrap();
    assert_eq!(address.ligne1.as_deref(), Some("5 rue de la Paix"));
    assert_eq!(address.ligne2.as_deref(), Some("Bât. B"));
    assert_eq!(address.code_postal.as_deref(), Some("75002"));
    assert_eq!(p.contrats.len(), 1);
    let c = &p.contrats[0];
    assert_eq!(c.reference, "WLP-CONTRAT-601");
    assert_eq!(c.montant, dec("1234.50"));
    assert_eq!(c.statut, "EN_ATTENTE");
    assert_eq!(c.fournisseur, "ENGIE");
    assert_eq!(c.date_signature, date("2024-01-20"));
    assert_eq!(c.date_debut, date("2024-01-20"));
    assert_eq!(c.commercial_id.as_deref(), Some("c-12"));
    assert_eq!(c.lignes.len(), 1);
    assert_eq!(c.lignes[0].nom, "Énergie Verte");
    assert_eq!(c.lignes[0].prix_unitaire, dec("1234.50"));
    assert!(has_warning(
        p,
        "Souscription[0].contrats[1]: no idContrat or id; contract not imported"
    ));
    assert_eq!(p.warnings.len(), 2, "{:?}", p.warnings);
}

#[test]
fn edge_prospect_1003_drops_nul_and_every_unreadable_value_with_warnings() {
    let (mapped, _) = map_payload(&fixture("prospects-edge.json"));
    let p = &mapped[&1003];
    assert_eq!(p.client.nom, "NulOctet");
    assert_eq!(p.client.prenom, "Zoë");
    assert_eq!(p.client.date_naissance, None);
    assert_eq!(p.client.is_politically_exposed, None);
    assert_eq!((&p.client.iban, &p.client.bic), (&None, &None));
    assert_eq!(p.client.numss.as_deref(), Some("184037512345678"));
    assert_eq!(
        p.warnings,
        [
            "dateNaissance: unreadable date \"31/02/1990\"",
            "is_politically_exposed: not a boolean \"oui\"",
            "IBAN FR… fails the mod-97 check; not stored",
            "BIC **** is not 8 or 11 letters or digits; not stored",
        ]
    );
    assert!(p.address.is_none());
    assert!(p.contrats.is_empty());
}

#[test]
fn edge_prospect_1004_understands_lower_case_souscriptions_and_capitalised_contrats() {
    let (mapped, _) = map_payload(&fixture("prospects-edge.json"));
    let p = &mapped[&1004];
    assert_eq!(p.client.nom, "Lévêque-Ærøskøbing");
    assert_eq!(p.contrats.len(), 1);
    let c = &p.contrats[0];
    assert_eq!(c.reference, "WLP-CONTRAT-602");
    assert_eq!(c.external_id, "602");
    assert_eq!(c.montant, dec("15"));
    assert_eq!(c.fournisseur, "WinLeadPlus");
    assert_eq!(
        c.lignes.iter().map(|l| l.nom.as_str()).collect::<Vec<_>>(),
        ["Mobile 100Go"]
    );
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
}

#[test]
fn edge_prospect_1005_is_truncated_and_has_no_contract_nor_payment_data() {
    let records = fixture("prospects-edge.json");
    let (mapped, _) = map_payload(&records);
    let p = &mapped[&1005];
    assert_eq!(p.client.nom.chars().count(), mapper::limits::NOM);
    assert_eq!(p.warnings, ["nom truncated to 100 characters"]);
    assert!(p.contrats.is_empty());
    assert_eq!(
        (&p.client.iban, &p.client.bic, p.client.mandat_sepa),
        (&None, &None, None)
    );

    let mut without_unknown_key = records[11].clone();
    without_unknown_key
        .as_object_mut()
        .unwrap()
        .remove("champInconnu");
    let remapped = mapper::map_prospect(&without_unknown_key).unwrap();
    assert_eq!(remapped.client, p.client);
    assert_ne!(remapped.data_hash, p.data_hash);
}

#[test]
fn mapping_the_edge_payload_twice_gives_the_same_hashes() {
    let records = fixture("prospects-edge.json");
    let (first, _) = map_payload(&records);
    let (second, _) = map_payload(&records);
    assert_eq!(first, second);
}

#[test]
fn the_samples_map_every_record_with_contracts() {
    for name in [
        "prospects-sample-200.json",
        "prospects-sample-200-changed10.json",
    ] {
        let records = fixture(name);
        let (mapped, failed) = map_payload(&records);
        assert!(failed.is_empty(), "{name}: {failed:?}");
        assert_eq!(mapped.len(), records.len(), "{name}");
        let contracts: usize = mapped.values().map(|p| p.contrats.len()).sum();
        assert!(contracts > 0, "{name}");
        let lines: usize = mapped
            .values()
            .flat_map(|p| &p.contrats)
            .map(|c| c.lignes.len())
            .sum();
        assert!(lines > 0, "{name}");
        assert!(mapped.values().any(|p| p.client.iban.is_some()), "{name}");
        assert!(mapped.values().all(|p| p.address.is_some()), "{name}");
        assert_no_sensitive_value_in_warnings(&records, &mapped);
    }
}

#[test]
fn the_changed_sample_differs_in_exactly_the_hashes_of_the_changed_prospects() {
    let base = fixture("prospects-sample-200.json");
    let changed = fixture("prospects-sample-200-changed10.json");
    let by_id = |records: &[Value]| -> BTreeMap<String, Value> {
        records
            .iter()
            .map(|r| (r["idProspect"].to_string().replace('"', ""), r.clone()))
            .collect()
    };
    let (base_raw, changed_raw) = (by_id(&base), by_id(&changed));
    assert_eq!(
        base_raw.keys().collect::<Vec<_>>(),
        changed_raw.keys().collect::<Vec<_>>()
    );
    let changed_ids: Vec<i64> = base_raw
        .iter()
        .filter(|(id, raw)| changed_raw[*id] != **raw)
        .map(|(id, _)| id.parse().unwrap())
        .collect();
    assert!(!changed_ids.is_empty());

    let (base_mapped, _) = map_payload(&base);
    let (changed_mapped, _) = map_payload(&changed);
    let rehashed: Vec<i64> = base_mapped
        .iter()
        .filter(|(id, p)| changed_mapped[*id].data_hash != p.data_hash)
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(rehashed, changed_ids);
}

//! Property tests: arbitrary JSON, with the known keys of a prospect in unexpected shapes,
//! never makes the mapper panic, and what it returns always respects the column limits.

use mapper::{MappedProspect, PayloadMapper, data_hash, limits, map_prospect};
use proptest::prelude::*;
use serde_json::{Map, Number, Value};

/// Keys the mapper reads, at any level, plus a few it does not.
const KEYS: &[&str] = &[
    "idProspect",
    "nom",
    "prenom",
    "email",
    "telephone",
    "civilite",
    "dateNaissance",
    "date_naissance",
    "adressePostaleLigne1",
    "adresse1",
    "adresse",
    "adressePostaleLigne2",
    "streetnumber",
    "codePostal",
    "code_postal",
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
    "commercialId",
    "commercial",
    "commercial_id",
    "id",
    "informationsPaiement",
    "iban",
    "IBAN",
    "BIC",
    "bic",
    "mandatSepa",
    "mandat_sepa",
    "contrats",
    "Contrats",
    "contrat",
    "Contrat",
    "abonnements",
    "offreId",
    "categorie",
    "prix_base",
    "prixBase",
    "Souscription",
    "souscription",
    "souscriptions",
    "Souscriptions",
    "idSouscription",
    "totalAmount",
    "dateSouscription",
    "offre",
    "fournisseur",
    "idContrat",
    "titre",
    "statut",
    "montant",
    "dateSignature",
    "date_signature",
    "devise",
    "frequenceFacturation",
    "frequence_facturation",
    "notes",
    "createdAt",
    "quantite",
    "quantity",
    "inconnu",
];

/// Strings that look like what the mapper parses, and some that almost do.
const TRICKY: &[&str] = &[
    "",
    " ",
    "\u{0}",
    "1001",
    " 42 ",
    "-4",
    "12.5",
    "1 234,50",
    "1\u{a0}234,50",
    "29,90",
    "1.234,56",
    "1,2,3",
    "abc",
    "99999999999999999999",
    "1990-07-01",
    "31/02/1990",
    "1990-07-01T00:00:00Z",
    "2024-13-45",
    "true",
    "false",
    "oui",
    "FR7630006000011234567890189",
    "fr76 3000 6000 0112 3456 7890 188",
    "AGRIFRPP",
    "XYZ",
    "+33 6 12 34 56 78",
    "Zoë😀",
    "é\u{0}è",
    "\u{202f}",
    "+",
    "e",
    "1e400",
    "99999999999999999999.99",
    "999999999999.995",
    "-999999999999.99",
    "0001-01-01",
    "+12345-01-01",
    "2999-12-31",
    "1899-12-31T23:59:59Z",
    "3000000000",
    "-0",
    "--1",
    ".",
    ",",
];

pub(crate) fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop::sample::select(TRICKY).prop_map(Value::from),
        ".{0,120}".prop_map(Value::String),
    ]
}

fn json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(5, 96, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..10)
                .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![4 => prop::sample::select(KEYS).prop_map(str::to_owned), 1 => "[a-zA-Z_]{0,8}"]
}

/// A prospect-shaped object: an id (usually valid) and known keys holding arbitrary JSON.
pub(crate) fn prospect() -> impl Strategy<Value = Value> {
    let id = prop_oneof![4 => (1..i64::MAX).prop_map(Value::from), 1 => leaf()];
    (id, prop::collection::vec((key(), json()), 0..16)).prop_map(|(id, fields)| {
        let mut map: Map<String, Value> = fields.into_iter().collect();
        map.insert("idProspect".to_owned(), id);
        Value::Object(map)
    })
}

fn assert_within_limits(p: &MappedProspect) {
    let within = |value: &str, max: usize, field: &str| {
        assert!(
            value.chars().count() <= max,
            "{field} longer than {max}: {value:?}"
        );
        assert!(!value.contains('\0'), "{field} contains NUL");
        assert_eq!(value.trim(), value, "{field} not trimmed");
        assert!(!value.is_empty(), "{field} empty");
    };
    let c = &p.client;
    within(&c.nom, limits::NOM, "nom");
    within(&c.prenom, limits::PRENOM, "prenom");
    within(&c.compte_code, limits::COMPTE_CODE, "compte_code");
    within(
        &c.canal_acquisition,
        limits::CANAL_ACQUISITION,
        "canal_acquisition",
    );
    let optional = [
        (&c.email, limits::EMAIL, "email"),
        (&c.telephone, limits::TELEPHONE, "telephone"),
        (&c.civilite, limits::CIVILITE, "civilite"),
        (&c.commercial_id, limits::COMMERCIAL_ID, "commercial_id"),
        (&c.csp, limits::CSP, "csp"),
        (&c.regime_social, limits::REGIME_SOCIAL, "regime_social"),
        (&c.lieu_naissance, limits::LIEU_NAISSANCE, "lieu_naissance"),
        (&c.pays_naissance, limits::PAYS_NAISSANCE, "pays_naissance"),
        (&c.etape_courante, limits::ETAPE_COURANTE, "etape_courante"),
        (
            &c.statut_prospect,
            limits::STATUT_PROSPECT,
            "statut_prospect",
        ),
        (&c.numss, limits::NUMSS, "numss"),
        (&c.iban, limits::IBAN, "iban"),
        (&c.bic, limits::BIC, "bic"),
    ];
    for (value, max, field) in optional {
        if let Some(value) = value {
            within(value, max, field);
        }
    }
    if let Some(a) = &p.address {
        for (value, max) in [
            (&a.ligne1, limits::ADRESSE_LIGNE),
            (&a.ligne2, limits::ADRESSE_LIGNE),
        ] {
            if let Some(value) = value {
                within(value, max, "adresse");
            }
        }
        within(&a.pays, limits::PAYS, "pays");
    }
    let mut references: Vec<&str> = Vec::new();
    for k in &p.contrats {
        within(&k.external_id, limits::EXTERNAL_ID, "external_id");
        within(&k.reference, limits::CONTRAT_REFERENCE, "reference");
        within(&k.titre, limits::CONTRAT_TITRE, "titre");
        within(&k.statut, limits::CONTRAT_STATUT, "statut");
        within(&k.devise, limits::DEVISE, "devise");
        within(&k.fournisseur, limits::FOURNISSEUR, "fournisseur");
        assert!(
            !references.contains(&k.reference.as_str()),
            "duplicate {}",
            k.reference
        );
        references.push(&k.reference);
        assert!(
            k.montant.is_none_or(|m| limits::money(m) == Some(m)),
            "montant {:?}",
            k.montant
        );
        for date in [k.date_signature, k.date_debut].into_iter().flatten() {
            assert!(limits::date_in_range(date), "{date}");
        }
        for l in &k.lignes {
            within(&l.nom, limits::LIGNE_NOM, "ligne nom");
            assert!(
                l.prix_unitaire.is_none_or(|m| limits::money(m) == Some(m)),
                "prix {:?}",
                l.prix_unitaire
            );
        }
    }
    if let Some(date) = c.date_naissance {
        assert!(limits::date_in_range(date), "{date}");
    }
    assert_eq!(p.data_hash.len(), 64);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_json_value_maps_or_fails_without_panicking(raw in json()) {
        if let Ok(p) = map_prospect(&raw) {
            assert_within_limits(&p);
        }
        let _hash = data_hash(&raw);
    }

    #[test]
    fn prospect_shaped_values_map_within_the_column_limits(raw in prospect()) {
        match map_prospect(&raw) {
            Ok(p) => {
                assert_within_limits(&p);
                prop_assert_eq!(&p.data_hash, &data_hash(&raw));
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

}

proptest! {
    // Each case maps up to a dozen records: fewer cases cover as many prospects.
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn a_payload_of_arbitrary_records_never_panics_and_numbers_every_record(
        records in prop::collection::vec(prop_oneof![3 => prospect(), 1 => json()], 0..12)
    ) {
        let mut mapper = PayloadMapper::new();
        for (i, raw) in records.iter().enumerate() {
            match mapper.map_next(raw) {
                Ok(p) => assert_within_limits(&p),
                Err(e) => prop_assert_eq!(e.record, i + 1),
            }
        }
        prop_assert_eq!(mapper.records(), records.len());
    }
}

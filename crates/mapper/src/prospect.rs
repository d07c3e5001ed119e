//! Mapping of one prospect: the client, its principal address and payment data. Contracts
//! are mapped in `contract.rs`.

use serde_json::{Map, Value};

use crate::contract::map_contracts;
use crate::error::MapError;
use crate::hash::data_hash;
use crate::id::ProspectId;
use crate::limits;
use crate::payment::{parse_bic, parse_iban};
use crate::record::{AddressRecord, ClientRecord, MappedProspect};
use crate::values::{Obj, Warnings, kind, limit};

/// The key of the prospect id.
pub(crate) const ID_KEY: &str = "idProspect";
/// `type_client` of every imported client.
const TYPE_CLIENT: &str = "PARTICULIER";
/// Stands for a missing last or first name.
const UNKNOWN_NAME: &str = "INCONNU";
/// Country of an address that does not say.
const DEFAULT_COUNTRY: &str = "FR";
/// Where the payment data sits, for warnings.
const PAYMENT_PATH: &str = "informationsPaiement[0]";

/// Maps one raw prospect to CRM records.
///
/// Fails only when the prospect cannot be identified (not an object, missing or invalid
/// `idProspect`); every other problem is a warning in the result. Never panics.
pub fn map_prospect(raw: &Value) -> Result<MappedProspect, MapError> {
    let map = raw.as_object().ok_or(MapError::NotAnObject)?;
    let id = ProspectId::parse(map.get(ID_KEY).unwrap_or(&Value::Null))?;
    Ok(map_identified(id, data_hash(raw), map))
}

/// Maps a prospect whose id is already read; `map` is `raw` as an object.
pub(crate) fn map_identified(
    id: ProspectId,
    data_hash: String,
    map: &Map<String, Value>,
) -> MappedProspect {
    let prospect = Obj::root(map);
    let mut w = Warnings::default();
    let client = map_client(id, prospect, &mut w);
    let address = map_address(prospect, &mut w);
    let contrats = map_contracts(prospect, client.commercial_id.as_deref(), &mut w);
    MappedProspect {
        external_id: id,
        data_hash,
        client,
        address,
        contrats,
        warnings: w.into_vec(),
    }
}

/// The salesperson id: `commercialId`, else `commercial.id`, else `commercial_id`.
pub(crate) fn commercial_id(o: Obj<'_, '_>, w: &mut Warnings) -> Option<String> {
    o.text(w, &["commercialId"], limits::COMMERCIAL_ID)
        .or_else(|| {
            let (_, commercial) = o.object(w, &["commercial"])?;
            Obj::nested(commercial, "commercial").text(w, &["id"], limits::COMMERCIAL_ID)
        })
        .or_else(|| o.text(w, &["commercial_id"], limits::COMMERCIAL_ID))
}

fn map_client(id: ProspectId, p: Obj<'_, '_>, w: &mut Warnings) -> ClientRecord {
    let unknown = || UNKNOWN_NAME.to_owned();
    let text = |w: &mut Warnings, key: &'static str, max| p.text(w, &[key], max);
    ClientRecord {
        type_client: TYPE_CLIENT.to_owned(),
        nom: text(w, "nom", limits::NOM).unwrap_or_else(unknown),
        prenom: text(w, "prenom", limits::PRENOM).unwrap_or_else(unknown),
        date_naissance: p.date(w, &["dateNaissance", "date_naissance"]),
        compte_code: format!("WLP-{id}"),
        telephone: text(w, "telephone", limits::TELEPHONE),
        email: text(w, "email", limits::EMAIL),
        canal_acquisition: format!("winleadplus:{id}"),
        commercial_id: commercial_id(p, w),
        civilite: text(w, "civilite", limits::CIVILITE),
        csp: text(w, "csp", limits::CSP),
        regime_social: text(w, "regimeSocial", limits::REGIME_SOCIAL),
        lieu_naissance: text(w, "lieuNaissance", limits::LIEU_NAISSANCE),
        pays_naissance: text(w, "paysNaissance", limits::PAYS_NAISSANCE),
        etape_courante: text(w, "etapeCourante", limits::ETAPE_COURANTE),
        statut_prospect: text(w, "statutProspect", limits::STATUT_PROSPECT),
        numss: text(w, "numss", limits::NUMSS),
        is_politically_exposed: p.boolean(w, &["is_politically_exposed"]),
        gdpr_consent: p.boolean(w, &["consentementRGPDTraitementDonnees"]),
        gdpr_consent_communications: p.boolean(w, &["consentementRGPDCommunicationsCommerciales"]),
        iban: None,
        bic: None,
        mandat_sepa: None,
    }
    .with_payment(p, w)
}

impl ClientRecord {
    /// Fills IBAN, BIC and mandate from `informationsPaiement[0]`.
    fn with_payment(mut self, p: Obj<'_, '_>, w: &mut Warnings) -> Self {
        let Some((_, items)) = p.list(w, &["informationsPaiement"]) else {
            return self;
        };
        let Some(first) = items.first() else {
            return self;
        };
        let Value::Object(map) = first else {
            w.push(format_args!(
                "{PAYMENT_PATH}: expected an object, found {}",
                kind(first)
            ));
            return self;
        };
        let payment = Obj::nested(map, PAYMENT_PATH);
        self.iban = iban(payment, w);
        self.bic = bic(payment, w);
        self.mandat_sepa = payment.boolean(w, &["mandatSepa", "mandat_sepa"]);
        self
    }
}

/// The IBAN, compact and upper-case, when it passes ISO 13616 (format and mod-97).
fn iban(payment: Obj<'_, '_>, w: &mut Warnings) -> Option<String> {
    let raw = payment_text(payment, w, &["iban", "IBAN"], "IBAN")?;
    parse_iban(raw)
        .map_err(|e| w.push(format_args!("IBAN {e}; not stored")))
        .ok()
}

/// The BIC, upper-case, when it is 8 or 11 letters or digits.
fn bic(payment: Obj<'_, '_>, w: &mut Warnings) -> Option<String> {
    let raw = payment_text(payment, w, &["BIC", "bic"], "BIC")?;
    parse_bic(raw)
        .map_err(|e| w.push(format_args!("BIC {e}; not stored")))
        .ok()
}

/// The text of a payment field; another kind of value is dropped with a warning.
fn payment_text<'v>(
    payment: Obj<'v, '_>,
    w: &mut Warnings,
    keys: &[&'static str],
    name: &str,
) -> Option<&'v str> {
    let (_, value) = payment.find(keys)?;
    match value {
        Value::String(raw) => Some(raw),
        other => {
            w.push(format_args!(
                "{name}: expected text, found {}; not stored",
                kind(other)
            ));
            None
        }
    }
}

/// The principal address, when line 1, postcode or city is known.
fn map_address(p: Obj<'_, '_>, w: &mut Warnings) -> Option<AddressRecord> {
    let street = p.text(
        w,
        &["adressePostaleLigne1", "adresse1", "adresse"],
        usize::MAX,
    );
    let ligne1 = street.map(|street| {
        let line = match p.text(w, &["streetnumber"], usize::MAX) {
            Some(number) if !starts_with_number(&street, &number) => format!("{number} {street}"),
            _ => street,
        };
        limit(w, "adresse ligne 1", line, limits::ADRESSE_LIGNE)
    });
    let code_postal = p.text(w, &["codePostal", "code_postal"], limits::CODE_POSTAL);
    let ville = p.text(w, &["ville"], limits::VILLE);
    if ligne1.is_none() && code_postal.is_none() && ville.is_none() {
        return None;
    }
    Some(AddressRecord {
        ligne1,
        ligne2: p.text(w, &["adressePostaleLigne2"], limits::ADRESSE_LIGNE),
        code_postal,
        ville,
        pays: p
            .text(w, &["pays"], limits::PAYS)
            .unwrap_or_else(|| DEFAULT_COUNTRY.to_owned()),
    })
}

/// Whether `street` already begins with the street `number` (`5 rue…`, `5bis rue…`, not `56 rue…`).
fn starts_with_number(street: &str, number: &str) -> bool {
    let same_start = street
        .get(..number.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(number));
    let rest = street.get(number.len()..).unwrap_or_default();
    same_start && !rest.starts_with(|c: char| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use chrono::NaiveDate;
    use serde_json::json;

    use super::*;

    fn map(raw: Value) -> MappedProspect {
        map_prospect(&raw).expect("maps")
    }

    /// Maps `{"idProspect": 1, <extra>}`.
    fn with(extra: Value) -> MappedProspect {
        let mut raw = json!({ "idProspect": 1 });
        if let (Some(target), Value::Object(fields)) = (raw.as_object_mut(), extra) {
            target.extend(fields);
        }
        map(raw)
    }

    #[test]
    fn a_prospect_that_is_not_an_object_or_has_no_valid_id_is_an_error() {
        let cases = [
            (json!("pas un objet"), MapError::NotAnObject),
            (json!([1]), MapError::NotAnObject),
            (json!({ "nom": "x" }), MapError::MissingId),
            (json!({ "idProspect": null }), MapError::MissingId),
            (
                json!({ "idProspect": "abc" }),
                MapError::InvalidId {
                    raw: "\"abc\"".into(),
                    reason: "not an integer",
                },
            ),
        ];
        for (raw, expected) in cases {
            assert_eq!(map_prospect(&raw), Err(expected), "{raw}");
        }
    }

    #[test]
    fn a_bare_prospect_gets_the_defaults() {
        let mapped = map(json!({ "idProspect": "42" }));
        assert_eq!(mapped.external_id.get(), 42);
        let c = &mapped.client;
        assert_eq!(c.type_client, "PARTICULIER");
        assert_eq!((c.nom.as_str(), c.prenom.as_str()), ("INCONNU", "INCONNU"));
        assert_eq!(c.compte_code, "WLP-42");
        assert_eq!(c.canal_acquisition, "winleadplus:42");
        assert_eq!(c.commercial_id, None);
        assert_eq!(c.iban, None);
        assert_eq!(mapped.address, None);
        assert!(mapped.contrats.is_empty());
        assert!(mapped.warnings.is_empty(), "{:?}", mapped.warnings);
        assert_eq!(mapped.data_hash, data_hash(&json!({ "idProspect": "42" })));
    }

    #[test]
    fn every_text_field_of_the_client_is_read_from_its_key() {
        type Getter = fn(&ClientRecord) -> Option<&str>;
        let cases: [(&str, Getter); 12] = [
            ("nom", |c| Some(&c.nom)),
            ("prenom", |c| Some(&c.prenom)),
            ("telephone", |c| c.telephone.as_deref()),
            ("email", |c| c.email.as_deref()),
            ("civilite", |c| c.civilite.as_deref()),
            ("csp", |c| c.csp.as_deref()),
            ("regimeSocial", |c| c.regime_social.as_deref()),
            ("lieuNaissance", |c| c.lieu_naissance.as_deref()),
            ("paysNaissance", |c| c.pays_naissance.as_deref()),
            ("etapeCourante", |c| c.etape_courante.as_deref()),
            ("statutProspect", |c| c.statut_prospect.as_deref()),
            ("numss", |c| c.numss.as_deref()),
        ];
        for (key, get) in cases {
            let mapped = with(json!({ key: "  valeur\u{0} " }));
            assert_eq!(get(&mapped.client), Some("valeur"), "{key}");
        }
    }

    #[test]
    fn empty_names_become_inconnu() {
        for blank in [json!(""), json!("   "), Value::Null, json!("\u{0}")] {
            let mapped = with(json!({ "nom": blank, "prenom": blank }));
            assert_eq!(
                (mapped.client.nom.as_str(), mapped.client.prenom.as_str()),
                ("INCONNU", "INCONNU")
            );
        }
    }

    #[test]
    fn numbers_and_booleans_in_text_fields_become_text() {
        let mapped = with(json!({ "nom": 12, "prenom": true, "codePostal": 1000 }));
        assert_eq!(mapped.client.nom, "12");
        assert_eq!(mapped.client.prenom, "true");
        assert_eq!(mapped.address.unwrap().code_postal.as_deref(), Some("1000"));
    }

    #[test]
    fn the_birth_date_is_read_from_both_spellings_and_warns_when_unreadable() {
        let date = NaiveDate::from_ymd_opt(1990, 7, 1);
        let cases = [
            (json!({ "dateNaissance": "1990-07-01" }), date, 0),
            (json!({ "date_naissance": "01/07/1990" }), date, 0),
            (json!({ "date_naissance": "1990-07-01T00:00:00Z" }), date, 0),
            (
                json!({ "dateNaissance": null, "date_naissance": "1990-07-01" }),
                date,
                0,
            ),
            (json!({ "dateNaissance": "31/02/1990" }), None, 1),
        ];
        for (extra, expected, warnings) in cases {
            let mapped = with(extra.clone());
            assert_eq!(mapped.client.date_naissance, expected, "{extra}");
            assert_eq!(mapped.warnings.len(), warnings, "{extra}");
        }
    }

    #[test]
    fn the_salesperson_comes_from_commercial_id_then_commercial_dot_id_then_commercial_underscore_id()
     {
        let cases = [
            (
                json!({ "commercialId": "a", "commercial": { "id": "b" }, "commercial_id": "c" }),
                Some("a"),
            ),
            (
                json!({ "commercial": { "id": "b" }, "commercial_id": "c" }),
                Some("b"),
            ),
            (
                json!({ "commercial": { "nom": "x" }, "commercial_id": "c" }),
                Some("c"),
            ),
            (json!({ "commercial_id": 17 }), Some("17")),
            (json!({ "commercial": { "id": 931 } }), Some("931")),
            (json!({ "commercialId": "  " }), None),
            (json!({}), None),
        ];
        for (extra, expected) in cases {
            assert_eq!(
                with(extra.clone()).client.commercial_id.as_deref(),
                expected,
                "{extra}"
            );
        }
    }

    #[test]
    fn booleans_of_the_client_are_read_and_bad_ones_warn() {
        let mapped = with(json!({
            "is_politically_exposed": "oui",
            "consentementRGPDTraitementDonnees": true,
            "consentementRGPDCommunicationsCommerciales": "false",
        }));
        assert_eq!(mapped.client.is_politically_exposed, None);
        assert_eq!(mapped.client.gdpr_consent, Some(true));
        assert_eq!(mapped.client.gdpr_consent_communications, Some(false));
        assert_eq!(
            mapped.warnings,
            ["is_politically_exposed: not a boolean \"oui\""]
        );
    }

    #[test]
    fn payment_data_comes_from_the_first_payment_entry_in_either_spelling() {
        let cases = [
            json!({ "iban": "fr76 3000 6000 0112 3456 7890 189", "BIC": "agrifrpp", "mandatSepa": true }),
            json!({ "IBAN": "FR7630006000011234567890189", "bic": " AGRIFRPP ", "mandat_sepa": "true" }),
            json!([{ "IBAN": "FR7630006000011234567890189", "bic": "AGRIFRPP", "mandat_sepa": true }, { "IBAN": "x" }]),
        ];
        for payment in cases {
            let payment = if payment.is_array() {
                payment
            } else {
                json!([payment])
            };
            let mapped = with(json!({ "informationsPaiement": payment }));
            let c = &mapped.client;
            assert_eq!(c.iban.as_deref(), Some("FR7630006000011234567890189"));
            assert_eq!(c.bic.as_deref(), Some("AGRIFRPP"));
            assert_eq!(c.mandat_sepa, Some(true));
            assert!(mapped.warnings.is_empty(), "{:?}", mapped.warnings);
        }
    }

    #[test]
    fn a_payment_object_instead_of_a_list_counts_as_the_first_entry() {
        let mapped =
            with(json!({ "informationsPaiement": { "bic": "BNPAFRPPXXX", "mandatSepa": false } }));
        assert_eq!(mapped.client.bic.as_deref(), Some("BNPAFRPPXXX"));
        assert_eq!(mapped.client.mandat_sepa, Some(false));
    }

    #[test]
    fn invalid_ibans_are_dropped_with_a_masked_warning() {
        let cases = [
            (
                "FR7630006000011234567890188",
                "IBAN FR76…0188 fails the mod-97 check; not stored",
            ),
            ("FR00 1234", "IBAN FR… fails the mod-97 check; not stored"),
            (
                "FR76-3000-6000",
                "IBAN FR76…6000 is not in IBAN format; not stored",
            ),
            (
                "FR76 3000 6000 0112 3456 7890 18",
                "IBAN FR76…9018 fails the mod-97 check; not stored",
            ),
            (
                "XX7630006000011234567890189",
                "IBAN XX76…0189 fails the mod-97 check; not stored",
            ),
            (
                "IBAN inconnu éé",
                "IBAN IBAN…NUÉÉ is not in IBAN format; not stored",
            ),
        ];
        for (iban, expected) in cases {
            let mapped = with(json!({ "informationsPaiement": [{ "iban": iban }] }));
            assert_eq!(mapped.client.iban, None, "{iban}");
            assert_eq!(mapped.warnings, [expected], "{iban}");
            let compact: String = iban.chars().filter(|c| !c.is_whitespace()).collect();
            assert!(!mapped.warnings[0].contains(&compact));
        }
    }

    #[test]
    fn valid_ibans_of_other_countries_are_kept() {
        let mapped =
            with(json!({ "informationsPaiement": [{ "iban": "DE44 5001 0517 5407 3249 31" }] }));
        assert_eq!(
            mapped.client.iban.as_deref(),
            Some("DE44500105175407324931")
        );
    }

    #[test]
    fn bics_must_be_8_or_11_letters_or_digits() {
        let cases = [
            (json!("agrifrpp"), Some("AGRIFRPP"), None),
            (json!("BNPAFRPPXXX"), Some("BNPAFRPPXXX"), None),
            (
                json!("XYZ"),
                None,
                Some("BIC **** is not 8 or 11 letters or digits; not stored"),
            ),
            (
                json!("AGRIFRPPX"),
                None,
                Some("BIC AGRI**** is not 8 or 11 letters or digits; not stored"),
            ),
            (
                json!("AGRI-RPP"),
                None,
                Some("BIC AGRI**** is not 8 or 11 letters or digits; not stored"),
            ),
            (
                json!("ÀGRIFRPP"),
                None,
                Some("BIC ÀGRI**** is not 8 or 11 letters or digits; not stored"),
            ),
            (
                json!(12345678),
                None,
                Some("BIC: expected text, found a number; not stored"),
            ),
        ];
        for (raw, expected, warning) in cases {
            let mapped = with(json!({ "informationsPaiement": [{ "BIC": raw }] }));
            assert_eq!(mapped.client.bic.as_deref(), expected, "{raw}");
            assert_eq!(
                mapped.warnings.first().map(String::as_str),
                warning,
                "{raw}"
            );
        }
    }

    #[test]
    fn empty_or_odd_payment_lists_give_no_payment_data() {
        let cases = [
            (json!([]), 0),
            (json!(null), 0),
            (json!(["x"]), 1),
            (json!("FR76"), 1),
            (json!([{ "iban": "", "BIC": null, "mandatSepa": null }]), 0),
        ];
        for (payment, warnings) in cases {
            let mapped = with(json!({ "informationsPaiement": payment }));
            let c = &mapped.client;
            assert_eq!(
                (&c.iban, &c.bic, c.mandat_sepa),
                (&None, &None, None),
                "{payment}"
            );
            assert_eq!(
                mapped.warnings.len(),
                warnings,
                "{payment}: {:?}",
                mapped.warnings
            );
        }
    }

    #[test]
    fn the_address_reads_every_spelling_of_line_1_and_the_postcode() {
        let cases = [
            (
                json!({ "adressePostaleLigne1": "1 a", "adresse1": "2 b", "adresse": "3 c" }),
                "1 a",
            ),
            (json!({ "adresse1": "2 b", "adresse": "3 c" }), "2 b"),
            (json!({ "adresse": "3 c" }), "3 c"),
        ];
        for (extra, expected) in cases {
            let address = with(extra.clone()).address.unwrap();
            assert_eq!(address.ligne1.as_deref(), Some(expected), "{extra}");
        }
        for key in ["codePostal", "code_postal"] {
            let address = with(json!({ key: "01000" })).address.unwrap();
            assert_eq!(address.code_postal.as_deref(), Some("01000"), "{key}");
            assert_eq!(address.ligne1, None);
        }
    }

    #[test]
    fn the_address_exists_only_with_line_1_postcode_or_city() {
        let cases = [
            (json!({ "ville": "Paris" }), true),
            (json!({ "codePostal": "75002" }), true),
            (json!({ "adresse1": "x" }), true),
            (
                json!({ "adressePostaleLigne2": "Bât. B", "pays": "BE", "streetnumber": "5" }),
                false,
            ),
            (json!({ "ville": "  ", "adresse1": "" }), false),
        ];
        for (extra, present) in cases {
            assert_eq!(with(extra.clone()).address.is_some(), present, "{extra}");
        }
    }

    #[test]
    fn the_country_defaults_to_fr() {
        assert_eq!(
            with(json!({ "ville": "Paris" })).address.unwrap().pays,
            "FR"
        );
        assert_eq!(
            with(json!({ "ville": "Liège", "pays": "BE" }))
                .address
                .unwrap()
                .pays,
            "BE"
        );
    }

    #[test]
    fn the_street_number_is_prefixed_unless_line_1_starts_with_it() {
        let cases = [
            (json!("5"), "rue de la Paix", "5 rue de la Paix"),
            (json!(5), "rue de la Paix", "5 rue de la Paix"),
            (json!("5"), "5 rue de la Paix", "5 rue de la Paix"),
            (json!("5"), "5, rue de la Paix", "5, rue de la Paix"),
            (json!("5bis"), "5BIS rue", "5BIS rue"),
            (json!("5"), "5bis rue", "5bis rue"),
            (json!("5"), "56 rue", "5 56 rue"),
            (json!(" "), "rue", "rue"),
            (json!("é"), "éa", "éa"),
            (json!("é"), "ab", "é ab"),
        ];
        for (number, street, expected) in cases {
            let address = with(json!({ "adresse1": street, "streetnumber": number }))
                .address
                .unwrap();
            assert_eq!(
                address.ligne1.as_deref(),
                Some(expected),
                "{number} + {street}"
            );
        }
    }

    #[test]
    fn over_long_values_are_truncated_with_a_warning_naming_the_field_only() {
        let long_nom = "É".repeat(limits::NOM + 5);
        let long_numss = "1".repeat(limits::NUMSS + 1);
        let long_line = "x".repeat(limits::ADRESSE_LIGNE);
        let mapped = with(json!({
            "nom": long_nom, "numss": long_numss, "adresse1": long_line, "streetnumber": "12",
        }));
        assert_eq!(mapped.client.nom, "É".repeat(limits::NOM));
        assert_eq!(
            mapped.client.numss.as_deref().map(str::len),
            Some(limits::NUMSS)
        );
        let ligne1 = mapped.address.unwrap().ligne1.unwrap();
        assert_eq!(ligne1.chars().count(), limits::ADRESSE_LIGNE);
        assert!(ligne1.starts_with("12 x"));
        assert_eq!(
            mapped.warnings,
            [
                "nom truncated to 100 characters",
                "numss truncated to 30 characters",
                "adresse ligne 1 truncated to 255 characters",
            ]
        );
    }

    #[test]
    fn text_fields_of_the_wrong_kind_are_ignored_with_a_warning() {
        let mapped = with(json!({ "email": ["a@b.c"], "adresse": { "rue": "x" } }));
        assert_eq!(mapped.client.email, None);
        assert_eq!(mapped.address, None);
        assert_eq!(
            mapped.warnings,
            [
                "email: expected text, found a list",
                "adresse: expected text, found an object"
            ]
        );
    }
}

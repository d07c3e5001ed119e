//! The wire contract of docs/WIRE_CONTRACT.md as a test, in the frontend's terms.
//!
//! [`CONTRACT`] holds, for every message of the packages the CRM frontend calls (`winleadplus`,
//! `clients`, `contrats`), every field the CRM numbers — number, name and type, as
//! docs/WIRE_CONTRACT.md lists them — and the fields we added. The test reads the descriptor
//! `protoc` built from `proto/` and fails when a CRM field is renumbered, retyped or renamed,
//! when a field of ours sits at or below the CRM's highest number of its message (where the
//! CRM's next field would land, or already is), when a field appears that the table does not
//! know, or when a message or RPC of the contract is missing. A second test encodes a few
//! messages with the generated code, so the Rust types are checked against the same numbers.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};

use prost::Message;
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, FileDescriptorSet};

use crate::{clients, contrats};

/// One message of the contract.
struct Contracted {
    /// Full name, `package.Message`.
    name: &'static str,
    /// The CRM's fields: `"number name type"`, the type as in a `.proto` file
    /// (`optional string`, `repeated .clients.Adresse`, …).
    crm: &'static [&'static str],
    /// Ours, in the same form.
    ours: &'static [&'static str],
    /// Where docs/WIRE_CONTRACT.md makes our numbers start (above the CRM's highest anyway).
    ours_from: Option<u32>,
}

const fn crm(name: &'static str, crm: &'static [&'static str]) -> Contracted {
    Contracted {
        name,
        crm,
        ours: &[],
        ours_from: None,
    }
}

/// Every message of docs/WIRE_CONTRACT.md's three frontend packages.
const CONTRACT: &[Contracted] = &[
    // --- winleadplus ---------------------------------------------------------------------
    crm(
        "winleadplus.WinLeadPlusConfig",
        &[
            "1 id string",
            "2 organisation_id string",
            "3 api_endpoint string",
            "4 enabled bool",
            "5 sync_interval_minutes int32",
            "6 last_sync_at optional string",
            "7 created_at string",
            "8 updated_at string",
            "9 has_api_token optional bool",
        ],
    ),
    crm(
        "winleadplus.UpdateWinLeadPlusConfigRequest",
        &[
            "1 id string",
            "2 api_endpoint optional string",
            "3 enabled optional bool",
            "4 sync_interval_minutes optional int32",
            "5 organisation_id optional string",
            "6 api_token optional string",
        ],
    ),
    crm(
        "winleadplus.CreateWinLeadPlusConfigRequest",
        &[
            "1 organisation_id string",
            "2 api_endpoint string",
            "3 enabled bool",
            "4 sync_interval_minutes int32",
        ],
    ),
    crm(
        "winleadplus.GetWinLeadPlusConfigRequest",
        &["1 organisation_id string"],
    ),
    crm(
        "winleadplus.HasWinLeadPlusConfigResponse",
        &["1 enabled bool"],
    ),
    crm(
        "winleadplus.WinLeadPlusMapping",
        &[
            "1 id string",
            "2 organisation_id string",
            "3 winleadplus_prospect_id string",
            "4 crm_client_id string",
            "5 crm_contrat_ids repeated string",
            "6 last_synced_at string",
        ],
    ),
    Contracted {
        name: "winleadplus.WinLeadPlusSyncLog",
        crm: &[
            "1 id string",
            "2 organisation_id string",
            "3 started_at string",
            "4 finished_at optional string",
            "5 status string",
            "6 total_prospects int32",
            "7 created int32",
            "8 updated int32",
            "9 skipped int32",
            "10 errors repeated string",
        ],
        ours: &[
            "11 failed int32",
            "12 dry_run bool",
            "13 warnings repeated string",
            "14 duration_ms int64",
            "15 archived int32",
        ],
        ours_from: None,
    },
    crm(
        "winleadplus.ListWinLeadPlusSyncLogsRequest",
        &["1 organisation_id string", "2 limit optional int32"],
    ),
    crm(
        "winleadplus.ListWinLeadPlusSyncLogsResponse",
        &["1 logs repeated .winleadplus.WinLeadPlusSyncLog"],
    ),
    Contracted {
        name: "winleadplus.SyncProspectsRequest",
        crm: &["1 organisation_id string", "2 dry_run bool"],
        ours: &["3 force_archive bool"],
        ours_from: None,
    },
    crm(
        "winleadplus.SyncProspectsResponse",
        &[
            "1 success bool",
            "2 sync_log .winleadplus.WinLeadPlusSyncLog",
        ],
    ),
    crm(
        "winleadplus.GetSyncStatusRequest",
        &["1 organisation_id string"],
    ),
    Contracted {
        name: "winleadplus.GetSyncStatusResponse",
        crm: &[
            "1 is_syncing bool",
            "2 current_sync_id optional string",
            "3 last_sync_at optional string",
        ],
        ours: &["4 processed int32", "5 total int32"],
        ours_from: None,
    },
    crm(
        "winleadplus.TestConnectionRequest",
        &[
            "1 organisation_id string",
            "2 api_endpoint string",
            "3 api_token optional string",
        ],
    ),
    Contracted {
        name: "winleadplus.TestConnectionResponse",
        crm: &["1 success bool", "2 message string"],
        ours: &["3 http_status int32", "4 latency_ms int64"],
        ours_from: None,
    },
    crm("winleadplus.Empty", &[]),
    // --- clients ---------------------------------------------------------------------------
    Contracted {
        name: "clients.ClientBase",
        crm: &[
            "1 id string",
            "2 organisation_id string",
            "3 type_client string",
            "4 nom string",
            "5 prenom string",
            "6 date_naissance string",
            "7 compte_code string",
            "8 partenaire_id string",
            "9 date_creation string",
            "10 telephone string",
            "11 email string",
            "12 statut string",
            "13 created_at string",
            "14 updated_at string",
            "15 adresses repeated .clients.Adresse",
            "16 societe_id optional string",
            "17 profession optional string",
            "18 iban optional string",
            "19 mandat_sepa optional bool",
            "20 kyc_status optional string",
            "21 gdpr_consent optional bool",
            "22 gdpr_consent_date optional string",
            "23 langue optional string",
            "24 has_conciergerie optional bool",
            "25 has_justi_plus optional bool",
            "26 has_wincash optional bool",
            "27 uuid_wincash optional string",
            "28 uuid_justi_plus optional string",
            "29 date_premiere_souscription optional string",
            "30 canal_acquisition optional string",
            "31 source optional string",
            // Read by the frontend since Feb 23, 2026.
            "32 civilite optional string",
            "33 bic optional string",
            "34 csp optional string",
            "35 regime_social optional string",
            "36 lieu_naissance optional string",
            "37 pays_naissance optional string",
            "38 etape_courante optional string",
            "39 is_politically_exposed optional bool",
            "40 numss optional string",
        ],
        ours: &["41 commercial_id optional string"],
        ours_from: Some(41),
    },
    crm(
        "clients.CreateClientBaseRequest",
        &[
            "1 organisation_id string",
            "2 type_client string",
            "3 nom string",
            "4 prenom string",
            "5 date_naissance string",
            "6 compte_code string",
            "7 partenaire_id string",
            "8 telephone string",
            "9 email string",
            "10 statut string",
            "11 societe_id optional string",
            "12 has_conciergerie optional bool",
            "13 has_justi_plus optional bool",
            "14 has_wincash optional bool",
            "15 uuid_wincash optional string",
            "16 uuid_justi_plus optional string",
            "17 date_premiere_souscription optional string",
            "18 canal_acquisition optional string",
            "19 source optional string",
            // Sent by the frontend's edit dialog since Feb 23, 2026.
            "20 iban optional string",
            "21 mandat_sepa optional bool",
            "22 civilite optional string",
            "23 bic optional string",
            "24 csp optional string",
            "25 regime_social optional string",
            "26 lieu_naissance optional string",
            "27 pays_naissance optional string",
            "28 etape_courante optional string",
            "29 is_politically_exposed optional bool",
            "30 numss optional string",
        ],
    ),
    crm(
        "clients.UpdateClientBaseRequest",
        &[
            "1 id string",
            "2 type_client optional string",
            "3 nom optional string",
            "4 prenom optional string",
            "5 date_naissance optional string",
            "6 compte_code optional string",
            "7 partenaire_id optional string",
            "8 telephone optional string",
            "9 email optional string",
            "10 statut optional string",
            "11 societe_id optional string",
            "12 has_conciergerie optional bool",
            "13 has_justi_plus optional bool",
            "14 has_wincash optional bool",
            "15 uuid_wincash optional string",
            "16 uuid_justi_plus optional string",
            "17 date_premiere_souscription optional string",
            "18 canal_acquisition optional string",
            "19 source optional string",
            "20 iban optional string",
            "21 mandat_sepa optional bool",
            "22 civilite optional string",
            "23 bic optional string",
            "24 csp optional string",
            "25 regime_social optional string",
            "26 lieu_naissance optional string",
            "27 pays_naissance optional string",
            "28 etape_courante optional string",
            "29 is_politically_exposed optional bool",
            "30 numss optional string",
        ],
    ),
    crm("clients.GetClientBaseRequest", &["1 id string"]),
    crm("clients.DeleteClientBaseRequest", &["1 id string"]),
    crm("clients.DeleteResponse", &["1 success bool"]),
    crm(
        "clients.ListClientsBaseRequest",
        &[
            "1 organisation_id string",
            "2 statut_id optional string",
            "3 societe_id optional string",
            "4 search optional string",
            "5 source optional string",
            "6 pagination .clients.PaginationRequest",
        ],
    ),
    crm(
        "clients.ListClientsBaseResponse",
        &[
            "1 clients repeated .clients.ClientBase",
            "2 pagination .clients.PaginationResponse",
        ],
    ),
    crm(
        "clients.PaginationRequest",
        &[
            "1 page int32",
            "2 limit int32",
            "3 sort_by string",
            "4 sort_order string",
        ],
    ),
    crm(
        "clients.PaginationResponse",
        &[
            "1 total int32",
            "2 page int32",
            "3 limit int32",
            "4 total_pages int32",
        ],
    ),
    crm(
        "clients.SearchClientRequest",
        &[
            "1 organisation_id string",
            "2 telephone string",
            "3 nom string",
        ],
    ),
    crm(
        "clients.SearchClientResponse",
        &["1 found bool", "2 client .clients.ClientBase"],
    ),
    crm(
        "clients.Adresse",
        &[
            "1 id string",
            "2 client_base_id string",
            "3 ligne1 string",
            "4 ligne2 string",
            "5 code_postal string",
            "6 ville string",
            "7 pays string",
            "8 type string",
            "9 created_at string",
            "10 updated_at string",
        ],
    ),
    // --- contrats --------------------------------------------------------------------------
    Contracted {
        name: "contrats.Contrat",
        crm: &[
            "1 id string",
            "2 organisation_id string",
            "3 reference string",
            "4 titre string",
            "5 description string",
            "6 type string",
            "7 statut string",
            "8 date_debut string",
            "9 date_fin string",
            "10 date_signature string",
            "11 montant double",
            "12 devise string",
            "13 frequence_facturation string",
            "14 document_url string",
            "15 fournisseur string",
            "16 client_id string",
            "17 commercial_id string",
            "18 societe_id string",
            "19 notes string",
            "20 created_at string",
            "21 updated_at string",
            "22 jour_prelevement optional int32",
            "23 prochaine_date_prelevement optional string",
        ],
        ours: &["30 source string", "31 external_id optional string"],
        ours_from: Some(30),
    },
    Contracted {
        name: "contrats.LigneContrat",
        crm: &[
            "1 id string",
            "2 contrat_id string",
            "3 produit_id string",
            "4 periode_facturation_id string",
            "5 quantite int32",
            "6 prix_unitaire double",
            "7 canal_vente string",
            "8 created_at string",
            "9 updated_at string",
        ],
        ours: &[
            "20 nom string",
            "21 categorie optional string",
            "22 offre_id optional string",
        ],
        ours_from: Some(20),
    },
    crm(
        "contrats.ContratWithDetails",
        &[
            "1 contrat .contrats.Contrat",
            "2 lignes repeated .contrats.LigneContrat",
            "3 historique repeated .contrats.HistoriqueStatutContrat",
        ],
    ),
    crm(
        "contrats.HistoriqueStatutContrat",
        &[
            "1 id string",
            "2 contrat_id string",
            "3 ancien_statut_id string",
            "4 nouveau_statut_id string",
            "5 date_changement string",
            "6 created_at string",
            "7 updated_at string",
        ],
    ),
    crm("contrats.GetContratRequest", &["1 id string"]),
    crm(
        "contrats.GetContratByReferenceRequest",
        &["1 organisation_id string", "2 reference string"],
    ),
    crm(
        "contrats.ListContratRequest",
        &[
            "1 organisation_id string",
            "2 client_id string",
            "3 commercial_id string",
            "4 societe_id string",
            "5 statut string",
            "6 search string",
            "7 pagination .contrats.Pagination",
        ],
    ),
    crm(
        "contrats.ListContratResponse",
        &[
            "1 contrats repeated .contrats.Contrat",
            "2 pagination .contrats.PaginationResult",
        ],
    ),
    crm(
        "contrats.Pagination",
        &[
            "1 page int32",
            "2 limit int32",
            "3 sort_by string",
            "4 sort_order string",
        ],
    ),
    crm(
        "contrats.PaginationResult",
        &[
            "1 total int32",
            "2 page int32",
            "3 limit int32",
            "4 total_pages int32",
        ],
    ),
    crm("contrats.DeleteResponse", &["1 success bool"]),
    crm("contrats.DeleteContratRequest", &["1 id string"]),
    crm(
        "contrats.CreateContratRequest",
        &[
            "1 organisation_id string",
            "2 reference string",
            "3 titre string",
            "4 description string",
            "5 type string",
            "6 statut string",
            "7 date_debut string",
            "8 date_fin string",
            "9 date_signature string",
            "10 montant double",
            "11 devise string",
            "12 frequence_facturation string",
            "13 document_url string",
            "14 fournisseur string",
            "15 client_id string",
            "16 commercial_id string",
            "17 societe_id string",
            "18 notes string",
            "19 jour_prelevement optional int32",
        ],
    ),
    crm(
        "contrats.UpdateContratRequest",
        &[
            "1 id string",
            "2 reference string",
            "3 titre string",
            "4 description string",
            "5 type string",
            "6 statut string",
            "7 date_debut string",
            "8 date_fin string",
            "9 date_signature string",
            "10 montant double",
            "11 devise string",
            "12 frequence_facturation string",
            "13 document_url string",
            "14 fournisseur string",
            "15 client_id string",
            "16 commercial_id string",
            "17 societe_id string",
            "18 notes string",
            "19 jour_prelevement optional int32",
        ],
    ),
];

/// Every RPC of the contract: `package.Service/Method request response`.
const RPCS: &[&str] = &[
    "winleadplus.WinLeadPlusSyncService/SyncProspects .winleadplus.SyncProspectsRequest .winleadplus.SyncProspectsResponse",
    "winleadplus.WinLeadPlusSyncService/GetSyncStatus .winleadplus.GetSyncStatusRequest .winleadplus.GetSyncStatusResponse",
    "winleadplus.WinLeadPlusSyncService/GetSyncLogs .winleadplus.ListWinLeadPlusSyncLogsRequest .winleadplus.ListWinLeadPlusSyncLogsResponse",
    "winleadplus.WinLeadPlusSyncService/TestConnection .winleadplus.TestConnectionRequest .winleadplus.TestConnectionResponse",
    "winleadplus.WinLeadPlusSyncService/GetConfig .winleadplus.GetWinLeadPlusConfigRequest .winleadplus.WinLeadPlusConfig",
    "winleadplus.WinLeadPlusSyncService/SaveConfig .winleadplus.UpdateWinLeadPlusConfigRequest .winleadplus.WinLeadPlusConfig",
    "winleadplus.WinLeadPlusSyncService/HasConfig .winleadplus.GetWinLeadPlusConfigRequest .winleadplus.HasWinLeadPlusConfigResponse",
    "clients.ClientBaseService/Create .clients.CreateClientBaseRequest .clients.ClientBase",
    "clients.ClientBaseService/Update .clients.UpdateClientBaseRequest .clients.ClientBase",
    "clients.ClientBaseService/Get .clients.GetClientBaseRequest .clients.ClientBase",
    "clients.ClientBaseService/List .clients.ListClientsBaseRequest .clients.ListClientsBaseResponse",
    "clients.ClientBaseService/Delete .clients.DeleteClientBaseRequest .clients.DeleteResponse",
    "clients.ClientBaseService/Search .clients.SearchClientRequest .clients.SearchClientResponse",
    "contrats.ContratService/Get .contrats.GetContratRequest .contrats.Contrat",
    "contrats.ContratService/GetByReference .contrats.GetContratByReferenceRequest .contrats.Contrat",
    "contrats.ContratService/List .contrats.ListContratRequest .contrats.ListContratResponse",
    "contrats.ContratService/GetWithDetails .contrats.GetContratRequest .contrats.ContratWithDetails",
    "contrats.ContratService/Create .contrats.CreateContratRequest .contrats.Contrat",
    "contrats.ContratService/Update .contrats.UpdateContratRequest .contrats.Contrat",
    "contrats.ContratService/Delete .contrats.DeleteContratRequest .contrats.DeleteResponse",
];

/// The packages the frontend calls: every message in them must be in [`CONTRACT`].
const FRONTEND_PACKAGES: &[&str] = &["winleadplus", "clients", "contrats"];

/// A field as the descriptor has it: (name, type as in a `.proto` file).
type Fields = BTreeMap<u32, (String, String)>;

fn descriptor() -> FileDescriptorSet {
    FileDescriptorSet::decode(crate::FILE_DESCRIPTOR_SET).unwrap()
}

/// Every message of the frontend's packages, by full name.
fn messages(set: &FileDescriptorSet) -> BTreeMap<String, Fields> {
    let mut out = BTreeMap::new();
    for file in &set.file {
        let package = file.package();
        if !FRONTEND_PACKAGES.contains(&package) {
            continue;
        }
        for message in &file.message_type {
            out.insert(format!("{package}.{}", message.name()), fields(message));
        }
    }
    out
}

fn fields(message: &DescriptorProto) -> Fields {
    message
        .field
        .iter()
        .map(|f| {
            let base = match f.r#type() {
                Type::Message | Type::Enum => f.type_name().to_owned(),
                Type::String => "string".to_owned(),
                Type::Bool => "bool".to_owned(),
                Type::Int32 => "int32".to_owned(),
                Type::Int64 => "int64".to_owned(),
                Type::Double => "double".to_owned(),
                other => format!("{other:?}"),
            };
            let ty = if f.label() == Label::Repeated {
                format!("repeated {base}")
            } else if f.proto3_optional() {
                format!("optional {base}")
            } else {
                base
            };
            (
                u32::try_from(f.number()).unwrap(),
                (f.name().to_owned(), ty),
            )
        })
        .collect()
}

/// `"number name type"` → (number, (name, type)).
fn parse(spec: &str) -> (u32, (String, String)) {
    let mut parts = spec.splitn(3, ' ');
    let number = parts.next().unwrap().parse().unwrap();
    let name = parts.next().unwrap().to_owned();
    let ty = parts.next().unwrap().to_owned();
    (number, (name, ty))
}

/// What is wrong with one message against its row of [`CONTRACT`] (nothing: empty).
fn problems(expected: &Contracted, actual: &Fields) -> Vec<String> {
    let name = expected.name;
    let mut out = Vec::new();
    let crm: Fields = expected.crm.iter().map(|s| parse(s)).collect();
    let ours: Fields = expected.ours.iter().map(|s| parse(s)).collect();
    for (number, field) in &crm {
        match actual.get(number) {
            Some(found) if found == field => {}
            Some((n, t)) => out.push(format!(
                "{name}: field {number} is `{t} {n}`, the CRM has `{} {}`",
                field.1, field.0
            )),
            None => out.push(format!(
                "{name}: the CRM's field {number} `{} {}` is missing",
                field.1, field.0
            )),
        }
    }
    let crm_max = crm.keys().max().copied().unwrap_or(0);
    let floor = expected.ours_from.unwrap_or(0).max(crm_max + 1);
    for (number, field) in &ours {
        if *number < floor {
            out.push(format!(
                "{name}: our field `{}` has number {number}; ours start at {floor} (the CRM's highest is {crm_max})",
                field.0
            ));
        }
        if actual.get(number) != Some(field) {
            out.push(format!(
                "{name}: our field {number} `{} {}` is not in the .proto as listed",
                field.1, field.0
            ));
        }
    }
    for (number, (n, t)) in actual {
        if !crm.contains_key(number) && !ours.contains_key(number) {
            out.push(format!(
                "{name}: field {number} `{t} {n}` is in neither the CRM's list nor ours: add it to CONTRACT (from {floor})"
            ));
        }
    }
    out
}

#[test]
fn every_message_of_the_frontend_packages_matches_proto_contract_md() {
    let actual = messages(&descriptor());
    let mut out = Vec::new();
    for expected in CONTRACT {
        match actual.get(expected.name) {
            Some(fields) => out.extend(problems(expected, fields)),
            None => out.push(format!("{}: message missing", expected.name)),
        }
    }
    let listed: BTreeSet<&str> = CONTRACT.iter().map(|m| m.name).collect();
    for name in actual.keys() {
        if !listed.contains(name.as_str()) {
            out.push(format!(
                "{name}: not in CONTRACT; the wire test must cover it"
            ));
        }
    }
    assert!(out.is_empty(), "wire contract broken:\n{}", out.join("\n"));
}

#[test]
fn every_rpc_of_the_contract_keeps_its_name_and_types() {
    let set = descriptor();
    let mut actual = BTreeSet::new();
    for file in &set.file {
        for service in &file.service {
            for method in &service.method {
                actual.insert(format!(
                    "{}.{}/{} {} {}",
                    file.package(),
                    service.name(),
                    method.name(),
                    method.input_type(),
                    method.output_type()
                ));
            }
        }
    }
    let missing: Vec<&&str> = RPCS.iter().filter(|r| !actual.contains(**r)).collect();
    assert!(missing.is_empty(), "RPCs missing or changed: {missing:#?}");
}

/// The checker itself: each way of breaking the contract is caught.
#[test]
fn the_checker_catches_a_clash_a_rename_a_retype_and_an_unknown_field() {
    let expected = Contracted {
        name: "t.M",
        crm: &["1 a string", "2 b optional bool"],
        ours: &["5 c string"],
        ours_from: Some(5),
    };
    let fields = |specs: &[&str]| -> Fields { specs.iter().map(|s| parse(s)).collect() };
    let good = fields(&["1 a string", "2 b optional bool", "5 c string"]);
    assert!(problems(&expected, &good).is_empty());
    let broken = [
        // Ours moved into the CRM's numbers.
        fields(&["1 a string", "2 c string", "5 b optional bool"]),
        // A CRM field renamed.
        fields(&["1 aa string", "2 b optional bool", "5 c string"]),
        // A CRM field retyped.
        fields(&["1 a string", "2 b bool", "5 c string"]),
        // A field nobody listed.
        fields(&[
            "1 a string",
            "2 b optional bool",
            "3 d string",
            "5 c string",
        ]),
    ];
    for actual in broken {
        assert!(!problems(&expected, &actual).is_empty(), "{actual:?}");
    }
    let too_low = Contracted {
        ours: &["2 c string"],
        ..expected
    };
    assert!(!problems(&too_low, &fields(&["1 a string", "2 c string"])).is_empty());
}

/// Field number and wire type of the first (only) field of an encoded message.
fn key_of<M: Message>(message: &M) -> (u64, u64) {
    let bytes = message.encode_to_vec();
    let key = prost::encoding::decode_varint(&mut bytes.as_slice()).unwrap();
    (key >> 3, key & 7)
}

#[test]
fn the_generated_code_encodes_at_the_contract_numbers() {
    // Wire types: 0 varint, 1 64-bit (double), 2 length-delimited.
    let cases = [
        (
            key_of(&clients::ClientBase {
                civilite: Some("M.".into()),
                ..Default::default()
            }),
            (32, 2),
        ),
        (
            key_of(&clients::ClientBase {
                is_politically_exposed: Some(true),
                ..Default::default()
            }),
            (39, 0),
        ),
        (
            key_of(&clients::ClientBase {
                commercial_id: Some("x".into()),
                ..Default::default()
            }),
            (41, 2),
        ),
        (
            key_of(&clients::UpdateClientBaseRequest {
                numss: Some(String::new()),
                ..Default::default()
            }),
            (30, 2),
        ),
        (
            key_of(&contrats::Contrat {
                montant: 1.5,
                ..Default::default()
            }),
            (11, 1),
        ),
        (
            key_of(&contrats::LigneContrat {
                prix_unitaire: 1.5,
                ..Default::default()
            }),
            (6, 1),
        ),
        (
            key_of(&contrats::Contrat {
                source: "WinLeadPlus".into(),
                ..Default::default()
            }),
            (30, 2),
        ),
    ];
    for (i, (actual, expected)) in cases.into_iter().enumerate() {
        assert_eq!(actual, expected, "case {i}");
    }
}

#[test]
fn services_keep_their_full_names() {
    assert_eq!(
        clients::client_base_service_server::SERVICE_NAME,
        "clients.ClientBaseService"
    );
    assert_eq!(
        crate::winleadplus::win_lead_plus_sync_service_server::SERVICE_NAME,
        "winleadplus.WinLeadPlusSyncService"
    );
    assert_eq!(
        contrats::contrat_service_server::SERVICE_NAME,
        "contrats.ContratService"
    );
}

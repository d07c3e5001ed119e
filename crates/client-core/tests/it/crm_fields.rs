//! The client fields the CRM frontend's edit dialog sends (Create/Update 20–30) and reads
//! back (ClientBase 32–40): stored, returned at the CRM's numbers, validated, cleared.

use proto::clients::{
    ClientBase, CreateClientBaseRequest, GetClientBaseRequest, UpdateClientBaseRequest,
};
use proto::prost::Message;
use proto::tonic::Code;
use uuid::Uuid;

use crate::helpers::{TestApp, spawn_app};

const IBAN: &str = "FR7630006000011234567890189";

fn full(org: Uuid) -> CreateClientBaseRequest {
    CreateClientBaseRequest {
        organisation_id: org.to_string(),
        nom: "Durand".into(),
        prenom: "Paul".into(),
        iban: Some("fr76 3000 6000 0112 3456 7890 189".into()),
        mandat_sepa: Some(true),
        civilite: Some("M.".into()),
        bic: Some("bnpafrpp".into()),
        csp: Some("Cadre".into()),
        regime_social: Some("Général".into()),
        lieu_naissance: Some("Lyon".into()),
        pays_naissance: Some("France".into()),
        etape_courante: Some("Signature".into()),
        is_politically_exposed: Some(false),
        numss: Some("185076912345678".into()),
        ..Default::default()
    }
}

/// What the frontend decodes: every top-level field of the encoded message, by number
/// (length-delimited values as text, varints as numbers).
fn wire_fields(message: &ClientBase) -> Vec<(u32, String)> {
    let bytes = message.encode_to_vec();
    let mut buf = bytes.as_slice();
    let mut out = Vec::new();
    while !buf.is_empty() {
        let key = proto::prost::encoding::decode_varint(&mut buf).unwrap();
        let (number, wire) = ((key >> 3) as u32, key & 7);
        match wire {
            0 => {
                let v = proto::prost::encoding::decode_varint(&mut buf).unwrap();
                out.push((number, v.to_string()));
            }
            2 => {
                let len = proto::prost::encoding::decode_varint(&mut buf).unwrap() as usize;
                let (value, rest) = buf.split_at(len);
                out.push((number, String::from_utf8_lossy(value).into_owned()));
                buf = rest;
            }
            other => panic!("unexpected wire type {other} for field {number}"),
        }
    }
    out
}

fn at(fields: &[(u32, String)], number: u32) -> Option<&str> {
    fields
        .iter()
        .find(|(n, _)| *n == number)
        .map(|(_, v)| v.as_str())
}

async fn get(app: &TestApp, id: &str) -> ClientBase {
    app.grpc
        .clone()
        .get(GetClientBaseRequest { id: id.to_owned() })
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fields_20_to_30_of_create_read_back_at_the_crm_numbers_32_to_40() {
    let app = spawn_app().await;
    let org = Uuid::new_v4();
    let created = app
        .grpc
        .clone()
        .create(full(org))
        .await
        .unwrap()
        .into_inner();

    let fetched = get(&app, &created.id).await;
    assert_eq!(fetched, created);
    let wire = wire_fields(&fetched);
    let expected = [
        (18, "FR7630006000011234567890189"),
        (19, "1"),
        (32, "M."),
        (33, "BNPAFRPP"),
        (34, "Cadre"),
        (35, "Général"),
        (36, "Lyon"),
        (37, "France"),
        (38, "Signature"),
        (39, "0"),
        (40, "185076912345678"),
    ];
    for (number, value) in expected {
        assert_eq!(at(&wire, number), Some(value), "field {number}");
    }
    // commercial_id is ours: absent here, and never at a CRM number.
    assert_eq!(at(&wire, 41), None);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM clientbases WHERE id = '{}' AND iban = '{IBAN}' AND mandat_sepa \
             AND civilite = 'M.' AND bic = 'BNPAFRPP' AND csp = 'Cadre' AND regime_social = 'Général' \
             AND lieu_naissance = 'Lyon' AND pays_naissance = 'France' AND etape_courante = 'Signature' \
             AND is_politically_exposed = false AND numss = '185076912345678'",
            created.id
        ))
        .await,
        1
    );
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_iban_or_bic_gets_invalid_argument_naming_the_field() {
    let app = spawn_app().await;
    let org = Uuid::new_v4();
    let mut grpc = app.grpc.clone();
    let cases: Vec<(CreateClientBaseRequest, &str)> = vec![
        (
            CreateClientBaseRequest {
                iban: Some("FR7630006000011234567890188".into()),
                ..full(org)
            },
            "iban",
        ),
        (
            CreateClientBaseRequest {
                iban: Some("not an iban".into()),
                ..full(org)
            },
            "iban",
        ),
        (
            CreateClientBaseRequest {
                bic: Some("BNPAFR".into()),
                ..full(org)
            },
            "bic",
        ),
        (
            CreateClientBaseRequest {
                bic: Some("BNPA-RPPXXX".into()),
                ..full(org)
            },
            "bic",
        ),
        (
            CreateClientBaseRequest {
                civilite: Some("x".repeat(21)),
                ..full(org)
            },
            "civilite",
        ),
        (
            CreateClientBaseRequest {
                numss: Some("1".repeat(31)),
                ..full(org)
            },
            "numss",
        ),
    ];
    for (request, field) in cases {
        let status = grpc.create(request).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{field}: {status:?}");
        assert!(
            status.message().starts_with(field),
            "{field}: {}",
            status.message()
        );
        // The refused number is masked: the message may end up in logs.
        assert!(
            !status.message().contains("1234567890"),
            "{}",
            status.message()
        );
    }

    let created = grpc.create(full(org)).await.unwrap().into_inner();
    let status = grpc
        .update(UpdateClientBaseRequest {
            id: created.id.clone(),
            iban: Some("FR0000000000000000000000000".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().starts_with("iban"), "{}", status.message());
    assert_eq!(app.count("SELECT count(*) AS n FROM clientbases").await, 1);
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_changes_present_fields_clears_empty_ones_and_keeps_absent_ones() {
    let app = spawn_app().await;
    let org = Uuid::new_v4();
    let mut grpc = app.grpc.clone();
    let created = grpc.create(full(org)).await.unwrap().into_inner();

    let updated = grpc
        .update(UpdateClientBaseRequest {
            id: created.id.clone(),
            civilite: Some("Mme".into()),
            bic: Some(String::new()),
            numss: Some(String::new()),
            iban: Some("DE89 3704 0044 0532 0130 00".into()),
            is_politically_exposed: Some(true),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();

    assert_eq!(updated.civilite.as_deref(), Some("Mme"));
    assert_eq!(updated.iban.as_deref(), Some("DE89370400440532013000"));
    assert_eq!(updated.is_politically_exposed, Some(true));
    // Cleared by an empty string.
    assert_eq!(updated.bic, None);
    assert_eq!(updated.numss, None);
    // Absent: kept.
    assert_eq!(updated.csp.as_deref(), Some("Cadre"));
    assert_eq!(updated.regime_social.as_deref(), Some("Général"));
    assert_eq!(updated.lieu_naissance.as_deref(), Some("Lyon"));
    assert_eq!(updated.pays_naissance.as_deref(), Some("France"));
    assert_eq!(updated.etape_courante.as_deref(), Some("Signature"));
    assert_eq!(updated.mandat_sepa, Some(true));
    assert_eq!(get(&app, &created.id).await, updated);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM clientbases WHERE id = '{}' AND bic IS NULL AND numss IS NULL \
             AND civilite = 'Mme' AND csp = 'Cadre' AND is_politically_exposed",
            created.id
        ))
        .await,
        1
    );
    app.cleanup().await;
}

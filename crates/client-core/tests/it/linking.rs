//! The linking rule, on both paths of a create batch: the set-based one, and the item-by-item
//! one it falls back to when the database refuses the batch. Both must link an incoming
//! record to the same manual client, and leave the same ones alone.

use diesel_async::RunQueryDsl;
use proto::clients::{CreateClientBaseRequest, DeleteClientBaseRequest};
use proto::events::ClientCreateResult;
use proto::events::client_create_result::Outcome;
use uuid::Uuid;

use crate::helpers::{TestApp, client_id, create_item, spawn_app};

/// A rule of the database that client-core does not know: it refuses one name, so that a
/// batch holding that name fails set-based and is replayed item by item.
const REFUSED: &str = "Refusé";

async fn manual(app: &TestApp, org: Uuid, nom: &str, telephone: &str) -> String {
    app.grpc
        .clone()
        .create(CreateClientBaseRequest {
            organisation_id: org.to_string(),
            nom: nom.into(),
            prenom: "Marie".into(),
            telephone: telephone.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .id
}

/// What became of an item: the manual client it was linked to, a new client, or an error.
#[derive(Debug, PartialEq)]
enum Became {
    Linked,
    New,
    Refused,
}

fn became(result: &ClientCreateResult, manual: &str) -> Became {
    match &result.outcome {
        Some(Outcome::ClientId(id)) if id == manual && result.created => Became::Linked,
        Some(Outcome::ClientId(id)) if id != manual && result.created => Became::New,
        Some(Outcome::Error(e)) if e.contains("test_refuses_a_name") => Became::Refused,
        other => panic!("item {}: unexpected {other:?}", result.external_id),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_set_based_and_the_item_by_item_paths_link_the_same_way() {
    let app = spawn_app().await;
    diesel::sql_query(format!(
        "ALTER TABLE clientbases ADD CONSTRAINT test_refuses_a_name CHECK (nom <> '{REFUSED}')"
    ))
    .execute(&mut app.conn().await)
    .await
    .unwrap();

    for item_by_item in [false, true] {
        let org = Uuid::new_v4();
        // Older than the live one and a perfect match, but deleted: never linked.
        let deleted = manual(&app, org, "Dupont", "06 12 34 56 78").await;
        app.grpc
            .clone()
            .delete(DeleteClientBaseRequest { id: deleted })
            .await
            .unwrap();
        let live = manual(&app, org, "DUPONT", "+33 6 12 34 56 78").await;
        // The items' phone is `06 12 34 56 78`: the same number, written differently.
        let mut items = vec![
            create_item(org, "1", "dupont", 1),
            create_item(org, "2", "Durand", 1),
            // The manual client is taken by the first record that matched it.
            create_item(org, "3", "Dupont", 1),
        ];
        if item_by_item {
            items.push(create_item(org, "4", REFUSED, 1));
        }

        let reply = app.create_batch(items).await;

        let outcomes: Vec<Became> = reply.results.iter().map(|r| became(r, &live)).collect();
        let mut expected = vec![Became::Linked, Became::New, Became::New];
        if item_by_item {
            expected.push(Became::Refused);
        }
        assert_eq!(outcomes, expected, "item by item: {item_by_item}");
        assert_eq!(
            app.count(&format!(
                "SELECT count(*) AS n FROM clientbases WHERE organisation_id = '{org}' AND deleted_at IS NULL"
            ))
            .await,
            3,
            "item by item: {item_by_item}"
        );
        assert_eq!(
            app.count(&format!(
                "SELECT count(*) AS n FROM clientbases WHERE id = '{live}' AND external_id = '1' \
                 AND source = 'WinLeadPlus' AND nom = 'DUPONT' AND telephone = '+33 6 12 34 56 78'"
            ))
            .await,
            1,
            "the linked client keeps its own data; item by item: {item_by_item}"
        );
        assert_eq!(client_id(&reply.results[0]), live);
    }
    app.cleanup().await;
}

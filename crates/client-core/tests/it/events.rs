//! The NATS side: create batches (request/reply) and updates (JetStream), with the data in
//! crm_core checked after each.

use std::time::Duration;

use proto::clients::{CreateClientBaseRequest, DeleteClientBaseRequest, GetClientBaseRequest};
use proto::events::client_create_result::Outcome;
use uuid::Uuid;

use crate::helpers::{client_id, create_item, spawn_app, spawn_app_with, update_event};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_batch_sent_twice_yields_the_same_ids_and_one_row_each() {
    let app = spawn_app().await;
    let org = Uuid::new_v4();
    let items = vec![
        create_item(org, "1001", "Dupont", 1),
        create_item(org, "1002", "Martin", 1),
    ];

    let first = app.create_batch(items.clone()).await;
    let second = app.create_batch(items).await;

    assert_eq!(first.results.len(), 2);
    assert!(first.results.iter().all(|r| r.created));
    assert!(second.results.iter().all(|r| !r.created));
    let ids: Vec<String> = first.results.iter().map(client_id).collect();
    assert_eq!(
        ids,
        second.results.iter().map(client_id).collect::<Vec<_>>()
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM clientbases WHERE organisation_id = '{org}'"
        ))
        .await,
        2
    );

    let mut grpc = app.grpc.clone();
    let client = grpc
        .get(GetClientBaseRequest { id: ids[0].clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(client.nom, "Dupont");
    assert_eq!(client.source.as_deref(), Some("WinLeadPlus"));
    assert_eq!(client.statut, "ACTIF");
    assert_eq!(client.compte_code, "WLP-1001");
    assert_eq!(client.iban.as_deref(), Some("FR7630006000011234567890189"));
    assert_eq!(client.date_naissance, "1984-03-12");
    assert_eq!(client.adresses.len(), 1);
    assert_eq!(client.adresses[0].r#type, "PRINCIPALE");
    assert_eq!(client.adresses[0].code_postal, "01000");
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM clientbases WHERE id = '{}' AND external_source = 'WinLeadPlus' \
             AND external_id = '1001' AND source_version = 1 AND telephone_normalized = '0612345678'",
            ids[0]
        ))
        .await,
        1
    );
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_item_fails_alone_with_its_reason() {
    let app = spawn_app().await;
    let org = Uuid::new_v4();
    let mut bad_org = create_item(org, "2", "Bad", 1);
    bad_org.organisation_id = "not-a-uuid".into();
    let mut no_name = create_item(org, "3", "", 1);
    no_name.data.as_mut().unwrap().nom = "   ".into();
    let mut too_long = create_item(org, "4", "Long", 1);
    too_long.data.as_mut().unwrap().email = Some(format!("{}@example.fr", "a".repeat(300)));

    let reply = app
        .create_batch(vec![
            create_item(org, "1", "Good", 1),
            bad_org,
            no_name,
            too_long,
            create_item(org, "5", "Good", 1),
        ])
        .await;

    let outcomes: Vec<_> = reply
        .results
        .iter()
        .map(|r| (r.external_id.as_str(), r.outcome.clone()))
        .collect();
    assert_eq!(outcomes.len(), 5);
    assert!(matches!(outcomes[0], ("1", Some(Outcome::ClientId(_)))));
    assert!(
        matches!(&outcomes[1], ("2", Some(Outcome::Error(e))) if e.contains("organisation_id"))
    );
    assert!(matches!(&outcomes[2], ("3", Some(Outcome::Error(e))) if e.contains("nom")));
    assert!(matches!(&outcomes[3], ("4", Some(Outcome::Error(e))) if e.contains("email")));
    assert!(matches!(outcomes[4], ("5", Some(Outcome::ClientId(_)))));
    assert_eq!(app.count("SELECT count(*) AS n FROM clientbases").await, 2);
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_garbage_batch_is_refused_with_a_message() {
    let app = spawn_app().await;
    let reply = app
        .nats
        .request(
            app.subject(proto::subjects::CLIENT_CREATE),
            vec![0xff, 0xff, 0xff].into(),
        )
        .await
        .unwrap();
    let reply =
        <proto::events::ClientCreateBatchReply as proto::prost::Message>::decode(reply.payload)
            .unwrap();
    assert!(reply.results.is_empty());
    assert!(reply.error.unwrap().contains("malformed"));
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_manual_client_with_the_same_phone_and_name_is_linked_not_duplicated() {
    let app = spawn_app().await;
    let org = Uuid::new_v4();
    let mut grpc = app.grpc.clone();
    let manual = grpc
        .create(CreateClientBaseRequest {
            organisation_id: org.to_string(),
            nom: "DUPONT".into(),
            prenom: "Marie".into(),
            telephone: "+33 6 12 34 56 78".into(),
            email: "manuel@example.fr".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(manual.source, None);

    let reply = app
        .create_batch(vec![create_item(org, "1001", "Dupont", 7)])
        .await;
    let again = app
        .create_batch(vec![create_item(org, "1001", "Dupont", 7)])
        .await;

    assert_eq!(client_id(&reply.results[0]), manual.id);
    assert!(reply.results[0].created);
    assert_eq!(client_id(&again.results[0]), manual.id);
    assert!(!again.results[0].created);
    assert_eq!(app.count("SELECT count(*) AS n FROM clientbases").await, 1);
    let linked = grpc
        .get(GetClientBaseRequest {
            id: manual.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(linked.source.as_deref(), Some("WinLeadPlus"));
    // The CRM's own data is kept.
    assert_eq!(linked.email, "manuel@example.fr");
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_update_is_applied_and_a_stale_one_ignored() {
    let app = spawn_app().await;
    let org = Uuid::new_v4();
    let reply = app
        .create_batch(vec![create_item(org, "1001", "Dupont", 10)])
        .await;
    let id = client_id(&reply.results[0]);
    let mut event = update_event(org, &id, "1001", "Dupont-Moretti", 20);
    event.address = Some(proto::events::AddressData {
        ligne1: Some("1 place Bellecour".into()),
        ligne2: None,
        code_postal: Some("69002".into()),
        ville: Some("Lyon".into()),
        pays: "FR".into(),
    });

    app.publish_update(&event).await;
    app.eventually(
        &format!("SELECT count(*) AS n FROM clientbases WHERE id = '{id}' AND source_version = 20"),
        1,
    )
    .await;
    app.publish_update(&update_event(org, &id, "1001", "Ancien", 15))
        .await;
    app.publish_update(&update_event(org, &id, "1001", "Dupont-Moretti", 21))
        .await;
    app.eventually(
        &format!("SELECT count(*) AS n FROM clientbases WHERE id = '{id}' AND source_version = 21"),
        1,
    )
    .await;

    let client = app
        .grpc
        .clone()
        .get(GetClientBaseRequest { id: id.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(client.nom, "Dupont-Moretti");
    assert_eq!(client.statut, "ACTIF");
    assert_eq!(client.source.as_deref(), Some("WinLeadPlus"));
    assert_eq!(client.adresses.len(), 1);
    assert_eq!(client.adresses[0].ville, "Lyon");
    let metrics = app.metrics();
    assert!(
        metrics.contains(r#"core_events_total{kind="update",outcome="applied"} 2"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"core_events_total{kind="update",outcome="ignored"} 1"#),
        "{metrics}"
    );
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_for_a_deleted_client_is_acknowledged_and_ignored() {
    let app = spawn_app().await;
    let org = Uuid::new_v4();
    let id = client_id(
        &app.create_batch(vec![create_item(org, "1", "Dupont", 1)])
            .await
            .results[0],
    );
    app.grpc
        .clone()
        .delete(DeleteClientBaseRequest { id: id.clone() })
        .await
        .unwrap();

    app.publish_update(&update_event(org, &id, "1", "Ressuscité", 2))
        .await;

    app.eventually(
        &format!("SELECT count(*) AS n FROM clientbases WHERE id = '{id}'"),
        1,
    )
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !app
        .metrics()
        .contains(r#"core_events_total{kind="update",outcome="ignored"} 1"#)
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "update not acknowledged"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(app.count(&format!("SELECT count(*) AS n FROM clientbases WHERE id = '{id}' AND nom = 'Dupont' AND deleted_at IS NOT NULL")).await, 1);
    assert_eq!(app.count("SELECT count(*) AS n FROM dead_letters").await, 0);
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_that_keeps_failing_becomes_a_dead_letter_after_the_retries() {
    // A budget of 1 s: retried after 200 ms and 400 ms, dead-lettered at the third failure
    // (the next wait, 800 ms, would end past the budget).
    let app = spawn_app_with(|c| c.retry_budget_secs = 1).await;
    let org = Uuid::new_v4();
    let id = client_id(
        &app.create_batch(vec![create_item(org, "1", "Dupont", 1)])
            .await
            .results[0],
    );

    app.publish_raw_update(b"definitely not protobuf \xff\xff".to_vec())
        .await;
    // A well-formed update for a client that does not exist in that organisation.
    app.publish_update(&update_event(Uuid::new_v4(), &id, "1", "Intrus", 5))
        .await;
    // And a good one after them, which must not be blocked.
    app.publish_update(&update_event(org, &id, "1", "Durand", 6))
        .await;

    app.eventually("SELECT count(*) AS n FROM dead_letters", 2)
        .await;
    app.eventually(
        &format!("SELECT count(*) AS n FROM clientbases WHERE id = '{id}' AND nom = 'Durand'"),
        1,
    )
    .await;
    // Undecodable: stored at its first delivery. A failure that might pass: retried first.
    assert_eq!(app.count("SELECT count(*) AS n FROM dead_letters WHERE last_error LIKE 'malformed ClientUpdated%' AND attempts = 1").await, 1);
    assert_eq!(
        app.count("SELECT count(*) AS n FROM dead_letters WHERE last_error LIKE '%not found%' AND attempts = 3")
            .await,
        1
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM dead_letters WHERE subject = '{}'",
            app.subject(proto::subjects::CLIENT_UPDATE)
        ))
        .await,
        2
    );

    // Replay: the operator fixes nothing here, so the poison message comes back as a dead letter.
    let store = client_core::db::DeadLetterStore::new(
        client_core::db::pool(app.db.url(), 1, std::sync::Arc::new(|| {})).unwrap(),
    );
    let pending = store.list(false).await.unwrap();
    assert_eq!(pending.len(), 2);
    for letter in pending {
        client_core::nats::replay_dead_letter(
            &app.js,
            &store,
            letter.id,
            &letter.subject,
            letter.payload,
        )
        .await
        .unwrap();
    }
    assert!(store.list(false).await.unwrap().len() <= 2);
    app.eventually(
        "SELECT count(*) AS n FROM dead_letters WHERE replayed_at IS NOT NULL",
        2,
    )
    .await;
    app.eventually(
        "SELECT count(*) AS n FROM dead_letters WHERE replayed_at IS NULL",
        2,
    )
    .await;
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_published_while_client_core_is_down_are_all_applied_once_after_restart() {
    let mut app = spawn_app().await;
    let org = Uuid::new_v4();
    let items: Vec<_> = (0..50)
        .map(|i| create_item(org, &i.to_string(), "Avant", 1))
        .collect();
    let ids: Vec<String> = app
        .create_batch(items)
        .await
        .results
        .iter()
        .map(client_id)
        .collect();
    app.stop().await;

    for (i, id) in ids.iter().enumerate() {
        app.publish_update(&update_event(org, id, &i.to_string(), "Après", 2))
            .await;
    }
    app.start().await;

    app.eventually(&format!("SELECT count(*) AS n FROM clientbases WHERE organisation_id = '{org}' AND nom = 'Après' AND source_version = 2"), 50).await;
    let metrics = app.stop().await;
    assert!(
        metrics.contains(r#"core_events_total{kind="update",outcome="applied"} 50"#),
        "{metrics}"
    );
    assert!(!metrics.contains(r#"outcome="ignored""#), "{metrics}");
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_in_the_middle_of_the_updates_loses_none() {
    let mut app = spawn_app_with(|c| c.update_batch = 20).await;
    let org = Uuid::new_v4();
    let n = 300;
    let items: Vec<_> = (0..n)
        .map(|i| create_item(org, &i.to_string(), "Avant", 1))
        .collect();
    let ids: Vec<String> = app
        .create_batch(items)
        .await
        .results
        .iter()
        .map(client_id)
        .collect();
    app.stop().await;
    for (i, id) in ids.iter().enumerate() {
        app.publish_update(&update_event(org, id, &i.to_string(), "Après", 2))
            .await;
    }

    app.start().await;
    // Stop as soon as some, not all, are applied.
    let sql = format!(
        "SELECT count(*) AS n FROM clientbases WHERE organisation_id = '{org}' AND source_version = 2"
    );
    while app.count(&sql).await == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let first = app.stop().await;
    let applied_first = app.count(&sql).await;
    app.start().await;
    app.eventually(&sql, n).await;
    let second = app.stop().await;

    let applied = |m: &str| -> i64 {
        m.lines()
            .find(|l| l.starts_with(r#"core_events_total{kind="update",outcome="applied"}"#))
            .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
            .unwrap_or(0)
    };
    assert_eq!(
        applied(&first),
        applied_first,
        "every update applied before the stop was acknowledged"
    );
    assert_eq!(
        applied(&first) + applied(&second),
        n,
        "each update applied exactly once"
    );
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_record_twice_in_one_batch_gets_one_client() {
    let app = spawn_app().await;
    let org = Uuid::new_v4();

    let reply = app
        .create_batch(vec![
            create_item(org, "7", "Premier", 1),
            create_item(org, "8", "Autre", 1),
            create_item(org, "7", "Second", 1),
        ])
        .await;

    assert_eq!(client_id(&reply.results[0]), client_id(&reply.results[2]));
    assert!(reply.results[0].created);
    assert!(!reply.results[2].created);
    assert_eq!(app.count("SELECT count(*) AS n FROM clientbases").await, 2);
    assert_eq!(
        app.count(
            "SELECT count(*) AS n FROM clientbases WHERE external_id = '7' AND nom = 'Premier'"
        )
        .await,
        1
    );
    assert_eq!(app.count("SELECT count(*) AS n FROM adresses").await, 2);
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_batch_is_served_while_another_waits_on_the_database() {
    use diesel_async::RunQueryDsl;
    let app = spawn_app().await;
    let org = Uuid::new_v4();
    let manual = app
        .grpc
        .clone()
        .create(CreateClientBaseRequest {
            organisation_id: org.to_string(),
            nom: "DUPONT".into(),
            prenom: "Marie".into(),
            telephone: "+33 6 12 34 56 78".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    // Another transaction holds the manual client's row: the batch that links it waits.
    let mut holder = app.conn().await;
    diesel::sql_query("BEGIN")
        .execute(&mut holder)
        .await
        .unwrap();
    diesel::sql_query(format!(
        "SELECT id FROM clientbases WHERE id = '{}' FOR UPDATE",
        manual.id
    ))
    .execute(&mut holder)
    .await
    .unwrap();
    let mut waiting = Box::pin(app.create_batch(vec![create_item(org, "1001", "Dupont", 7)]));
    tokio::select! {
        _ = &mut waiting => panic!("the linking batch should wait for the row"),
        () = tokio::time::sleep(Duration::from_millis(500)) => {}
    }

    let other = tokio::time::timeout(
        Duration::from_secs(5),
        app.create_batch(vec![create_item(org, "2002", "Martin", 7)]),
    )
    .await
    .expect("a second batch is answered while the first waits");
    assert!(other.results[0].created, "{other:?}");

    diesel::sql_query("COMMIT")
        .execute(&mut holder)
        .await
        .unwrap();
    let linked = waiting.await;
    assert_eq!(client_id(&linked.results[0]), manual.id);
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archive_and_a_restore_follow_the_version_guard_like_updates() {
    use proto::events::Lifecycle;
    let app = spawn_app().await;
    let org = Uuid::new_v4();
    let id = client_id(
        &app.create_batch(vec![create_item(org, "77", "Dupont", 10)])
            .await
            .results[0],
    );
    let archive = |version: i64| {
        let mut event = update_event(org, &id, "77", "", version);
        event.data = None;
        event.lifecycle = Lifecycle::Archive.into();
        event
    };
    let live = format!(
        "SELECT count(*) AS n FROM clientbases WHERE id = '{id}' AND deleted_at IS NULL AND archived_at IS NULL"
    );

    // An archive older than the row's data is stale: the client stays.
    app.publish_update(&archive(5)).await;
    // A newer one (no data: an archive carries none) hides it, marked archived.
    app.publish_update(&archive(20)).await;
    app.eventually(
        &format!(
            "SELECT count(*) AS n FROM clientbases WHERE id = '{id}' AND deleted_at IS NOT NULL \
             AND archived_at IS NOT NULL AND source_version = 20"
        ),
        1,
    )
    .await;
    let hidden = app
        .grpc
        .clone()
        .get(GetClientBaseRequest { id: id.clone() })
        .await
        .unwrap_err();
    assert_eq!(hidden.code(), proto::tonic::Code::NotFound);

    // A restore older than the archive is stale; a newer one brings it back with its data.
    let restore = |nom: &str, version: i64| {
        let mut event = update_event(org, &id, "77", nom, version);
        event.lifecycle = Lifecycle::Restore.into();
        event
    };
    app.publish_update(&restore("Trop-Tôt", 15)).await;
    app.publish_update(&restore("Revenu", 30)).await;
    app.eventually(&live, 1).await;
    let client = app
        .grpc
        .clone()
        .get(GetClientBaseRequest { id: id.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(client.nom, "Revenu");
    assert_eq!(client.source.as_deref(), Some("WinLeadPlus"));
    assert_eq!(app.count("SELECT count(*) AS n FROM dead_letters").await, 0);

    // An unknown lifecycle is not taken for an update: it is a dead letter at once.
    let mut unknown = update_event(org, &id, "77", "Inconnu", 40);
    unknown.lifecycle = 9;
    app.publish_update(&unknown).await;
    app.eventually("SELECT count(*) AS n FROM dead_letters", 1)
        .await;
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM clientbases WHERE id = '{id}' AND nom = 'Revenu'"
        ))
        .await,
        1
    );
    app.cleanup().await;
}

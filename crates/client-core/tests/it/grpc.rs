//! `clients.ClientBaseService`: every RPC, with good and bad input, checked against the data.

use proto::clients::{
    CreateClientBaseRequest, DeleteClientBaseRequest, GetClientBaseRequest, ListClientsBaseRequest,
    PaginationRequest, SearchClientRequest, UpdateClientBaseRequest,
};
use proto::tonic::Code;
use uuid::Uuid;

use crate::helpers::{TestApp, client_id, create_item, spawn_app};

fn manual(org: Uuid, nom: &str, prenom: &str) -> CreateClientBaseRequest {
    CreateClientBaseRequest {
        organisation_id: org.to_string(),
        nom: nom.into(),
        prenom: prenom.into(),
        email: format!("{}@example.fr", nom.to_lowercase()),
        telephone: "06 00 00 00 00".into(),
        ..Default::default()
    }
}

async fn create(app: &TestApp, r: CreateClientBaseRequest) -> proto::clients::ClientBase {
    app.grpc.clone().create(r).await.unwrap().into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_stores_a_manual_client_and_get_returns_it() {
    let app = spawn_app().await;
    let org = Uuid::new_v4();
    let mut request = manual(org, "Lévêque", "Zoë");
    request.date_naissance = "1990-07-01".into();
    request.has_wincash = Some(true);
    let created = create(&app, request).await;

    assert_eq!(created.statut, "ACTIF");
    assert_eq!(created.type_client, "PARTICULIER");
    assert_eq!(created.source, None);
    let fetched = app
        .grpc
        .clone()
        .get(GetClientBaseRequest {
            id: created.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(fetched, created);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM clientbases WHERE id = '{}' AND nom = 'Lévêque' AND has_wincash \
             AND date_naissance = '1990-07-01' AND telephone_normalized = '0600000000' AND external_id IS NULL",
            created.id
        ))
        .await,
        1
    );
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_invalid_argument_naming_the_field() {
    let app = spawn_app().await;
    let org = Uuid::new_v4();
    let mut grpc = app.grpc.clone();
    let cases: Vec<(CreateClientBaseRequest, &str)> = vec![
        (
            CreateClientBaseRequest {
                organisation_id: "acme".into(),
                ..manual(org, "A", "B")
            },
            "organisation_id",
        ),
        (
            CreateClientBaseRequest {
                organisation_id: String::new(),
                ..manual(org, "A", "B")
            },
            "organisation_id",
        ),
        (manual(org, "  ", "B"), "nom"),
        (manual(org, "A", ""), "prenom"),
        (
            CreateClientBaseRequest {
                email: "not-an-email".into(),
                ..manual(org, "A", "B")
            },
            "email",
        ),
        (
            CreateClientBaseRequest {
                date_naissance: "01/07/1990".into(),
                ..manual(org, "A", "B")
            },
            "date_naissance",
        ),
        (
            CreateClientBaseRequest {
                societe_id: Some("x".into()),
                ..manual(org, "A", "B")
            },
            "societe_id",
        ),
        (manual(org, &"N".repeat(101), "B"), "nom"),
    ];
    for (request, field) in cases {
        let status = grpc.create(request).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{field}: {status:?}");
        assert!(
            status.message().contains(field),
            "{field}: {}",
            status.message()
        );
    }
    assert_eq!(app.count("SELECT count(*) AS n FROM clientbases").await, 0);

    let status = grpc
        .get(GetClientBaseRequest { id: "42".into() })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let status = grpc
        .get(GetClientBaseRequest {
            id: Uuid::new_v4().to_string(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    let status = grpc
        .list(ListClientsBaseRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("organisation_id is required"));
    let status = grpc
        .list(ListClientsBaseRequest {
            organisation_id: org.to_string(),
            source: Some("Salesforce".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let status = grpc
        .search(SearchClientRequest {
            organisation_id: org.to_string(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_changes_only_the_fields_present() {
    let app = spawn_app().await;
    let org = Uuid::new_v4();
    let created = create(&app, manual(org, "Martin", "Paul")).await;
    let mut grpc = app.grpc.clone();

    let updated = grpc
        .update(UpdateClientBaseRequest {
            id: created.id.clone(),
            prenom: Some("Pierre".into()),
            telephone: Some("07 11 22 33 44".into()),
            email: Some(String::new()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();

    assert_eq!(updated.nom, "Martin");
    assert_eq!(updated.prenom, "Pierre");
    assert_eq!(updated.email, "");
    assert_eq!(updated.statut, "ACTIF");
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM clientbases WHERE id = '{}' AND telephone_normalized = '0711223344' AND email IS NULL",
            created.id
        ))
        .await,
        1
    );
    let status = grpc
        .update(UpdateClientBaseRequest {
            id: created.id.clone(),
            nom: Some(" ".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let status = grpc
        .update(UpdateClientBaseRequest {
            id: Uuid::new_v4().to_string(),
            nom: Some("X".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_source_of_an_imported_client_cannot_be_changed() {
    let app = spawn_app().await;
    let org = Uuid::new_v4();
    let id = client_id(
        &app.create_batch(vec![create_item(org, "9", "Dupont", 1)])
            .await
            .results[0],
    );
    let status = app
        .grpc
        .clone()
        .update(UpdateClientBaseRequest {
            id: id.clone(),
            source: Some("CRM".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM clientbases WHERE id = '{id}' AND source = 'WinLeadPlus'"
        ))
        .await,
        1
    );
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_filters_by_source_searches_without_accents_and_pages_stably() {
    let app = spawn_app().await;
    let org = Uuid::new_v4();
    let other_org = Uuid::new_v4();
    for i in 0..7 {
        create(&app, manual(org, &format!("Manuel{i}"), "Jean")).await;
    }
    create(&app, manual(org, "Lévêque", "François")).await;
    create(&app, manual(other_org, "Lévêque", "Autre")).await;
    let imported: Vec<_> = (0..4)
        .map(|i| create_item(org, &format!("{i}"), &format!("Importé{i}"), 1))
        .collect();
    app.create_batch(imported).await;
    let mut grpc = app.grpc.clone();
    let list = |source: Option<&str>, search: Option<&str>, page: i32, limit: i32| {
        ListClientsBaseRequest {
            organisation_id: org.to_string(),
            source: source.map(Into::into),
            search: search.map(Into::into),
            pagination: Some(PaginationRequest {
                page,
                limit,
                sort_by: "nom".into(),
                sort_order: "asc".into(),
            }),
            ..Default::default()
        }
    };

    let wlp = grpc
        .list(list(Some("WinLeadPlus"), None, 1, 50))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(wlp.pagination.unwrap().total, 4);
    assert!(
        wlp.clients
            .iter()
            .all(|c| c.source.as_deref() == Some("WinLeadPlus"))
    );
    let crm = grpc
        .list(list(Some("CRM"), None, 1, 50))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(crm.pagination.unwrap().total, 8);
    assert!(crm.clients.iter().all(|c| c.source.is_none()));

    let found = grpc
        .list(list(None, Some("LEVEQUE"), 1, 50))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        found.clients.len(),
        1,
        "search is accent- and case-insensitive and stays in the organisation"
    );
    assert_eq!(found.clients[0].prenom, "François");
    let by_mail = grpc
        .list(list(None, Some("manuel3@"), 1, 50))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_mail.clients.len(), 1);
    let by_wildcard = grpc
        .list(list(None, Some("%"), 1, 50))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_wildcard.clients.len(), 0, "LIKE wildcards are literal");

    let mut seen = Vec::new();
    for page in 1..=3 {
        let r = grpc
            .list(list(None, None, page, 5))
            .await
            .unwrap()
            .into_inner();
        let p = r.pagination.unwrap();
        assert_eq!((p.total, p.page, p.limit, p.total_pages), (12, page, 5, 3));
        seen.extend(r.clients.into_iter().map(|c| c.nom));
    }
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "sorted by nom");
    sorted.dedup();
    assert_eq!(sorted.len(), 12, "no client on two pages");
    let capped = grpc
        .list(list(None, None, 1, 10_000))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(capped.pagination.unwrap().limit, 100);
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_client_disappears_from_get_list_and_search() {
    let app = spawn_app().await;
    let org = Uuid::new_v4();
    let created = create(&app, manual(org, "Effacé", "Jean")).await;
    let mut grpc = app.grpc.clone();
    let search = SearchClientRequest {
        organisation_id: org.to_string(),
        telephone: "06 00 00 00 00".into(),
        nom: "effacé".into(),
    };
    assert!(
        grpc.search(search.clone())
            .await
            .unwrap()
            .into_inner()
            .found
    );

    let deleted = grpc
        .delete(DeleteClientBaseRequest {
            id: created.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();

    assert!(deleted.success);
    assert_eq!(
        grpc.get(GetClientBaseRequest {
            id: created.id.clone()
        })
        .await
        .unwrap_err()
        .code(),
        Code::NotFound
    );
    let listed = grpc
        .list(ListClientsBaseRequest {
            organisation_id: org.to_string(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.pagination.unwrap().total, 0);
    assert!(!grpc.search(search).await.unwrap().into_inner().found);
    assert_eq!(
        grpc.delete(DeleteClientBaseRequest {
            id: created.id.clone()
        })
        .await
        .unwrap_err()
        .code(),
        Code::NotFound
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM clientbases WHERE id = '{}' AND deleted_at IS NOT NULL",
            created.id
        ))
        .await,
        1
    );
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_finds_by_normalized_phone_and_or_name() {
    let app = spawn_app().await;
    let org = Uuid::new_v4();
    let mut request = manual(org, "Durand", "Luc");
    request.telephone = "06.12.34.56.78".into();
    let created = create(&app, request).await;
    let mut grpc = app.grpc.clone();
    let search = |telephone: &str, nom: &str| SearchClientRequest {
        organisation_id: org.to_string(),
        telephone: telephone.into(),
        nom: nom.into(),
    };

    for (telephone, nom) in [
        ("+33 6 12 34 56 78", ""),
        ("", "DURAND"),
        ("0612345678", "durand"),
    ] {
        let r = grpc
            .search(search(telephone, nom))
            .await
            .unwrap()
            .into_inner();
        assert!(r.found, "{telephone} / {nom}");
        assert_eq!(r.client.unwrap().id, created.id);
    }
    assert!(
        !grpc
            .search(search("0699999999", ""))
            .await
            .unwrap()
            .into_inner()
            .found
    );
    assert!(
        !grpc
            .search(search("0612345678", "Martin"))
            .await
            .unwrap()
            .into_inner()
            .found
    );
    app.cleanup().await;
}

//! Tenancy of `clients.ClientBaseService` with authentication on: every RPC is bounded by the
//! organisations of the caller's token. An organisation named in a request that is not the
//! caller's is PERMISSION_DENIED; a client of another organisation asked for by id is
//! NOT_FOUND with the message a missing one gets, so ids cannot be probed.

use std::time::Duration;

use proto::clients::{
    ClientBase, CreateClientBaseRequest, DeleteClientBaseRequest, GetClientBaseRequest,
    ListClientsBaseRequest, SearchClientRequest, UpdateClientBaseRequest,
};
use proto::tonic::{Code, Request, Status};
use service_kit::auth::{AuthConfig, mint};
use uuid::Uuid;

use crate::helpers::{TestApp, client_id, create_item, spawn_app_with};

const SECRET: &str = "client-core tenancy tests";

/// client-core accepting HS256 tokens signed with [`SECRET`].
async fn spawn_authenticating_app() -> TestApp {
    spawn_app_with(|config| {
        config.auth = AuthConfig {
            jwt_secret: Some(SECRET.into()),
            ..AuthConfig::default()
        };
    })
    .await
}

/// `message` as a member of exactly `organisations` sends it.
fn as_member<T>(organisations: &[Uuid], message: T) -> Request<T> {
    let token = mint::hs256_token(
        SECRET,
        "tenancy-test",
        organisations,
        Duration::from_secs(300),
    )
    .unwrap();
    with_token(&token, message)
}

/// `message` sent with `token` as its bearer token.
fn with_token<T>(token: &str, message: T) -> Request<T> {
    mint::Bearer::new(token)
        .unwrap()
        .authorize(Request::new(message))
}

fn manual(org: Uuid, nom: &str) -> CreateClientBaseRequest {
    CreateClientBaseRequest {
        organisation_id: org.to_string(),
        nom: nom.into(),
        prenom: "Marie".into(),
        telephone: "06 12 34 56 78".into(),
        iban: Some("FR7630006000011234567890189".into()),
        bic: Some("AGRIFRPP".into()),
        numss: Some("184037512345678".into()),
        ..Default::default()
    }
}

/// Creates a manual client as a member of its own organisation.
async fn create(app: &TestApp, org: Uuid, nom: &str) -> ClientBase {
    app.grpc
        .clone()
        .create(as_member(&[org], manual(org, nom)))
        .await
        .unwrap()
        .into_inner()
}

/// An `Update` of the client with this id.
type MakeUpdate = fn(&str) -> UpdateClientBaseRequest;

/// A NOT_FOUND's message with `id` written as `<id>`: what must not tell a foreign client
/// from a missing one.
fn not_found_shape(status: &Status, id: &str) -> (Code, String) {
    (status.code(), status.message().replace(id, "<id>"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_is_refused_in_an_organisation_that_is_not_the_callers() {
    let app = spawn_authenticating_app().await;
    let [mine, theirs] = [Uuid::new_v4(), Uuid::new_v4()];
    let mut grpc = app.grpc.clone();

    let foreign = grpc
        .create(as_member(&[mine], manual(theirs, "Intrus")))
        .await
        .unwrap_err();
    let no_organisation = grpc
        .create(as_member(&[], manual(mine, "Personne")))
        .await
        .unwrap_err();
    let own = grpc
        .create(as_member(&[mine], manual(mine, "Martin")))
        .await
        .unwrap()
        .into_inner();

    assert_eq!(foreign.code(), Code::PermissionDenied, "{foreign:?}");
    assert!(
        foreign.message().contains(&theirs.to_string()),
        "{}",
        foreign.message()
    );
    assert_eq!(
        no_organisation.code(),
        Code::PermissionDenied,
        "{no_organisation:?}"
    );
    assert_eq!(own.organisation_id, mine.to_string());
    assert_eq!(
        app.count("SELECT count(*) AS n FROM clientbases").await,
        1,
        "only the caller's own client is stored"
    );
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_update_and_delete_tell_another_organisations_client_from_no_missing_one() {
    let app = spawn_authenticating_app().await;
    let [mine, theirs] = [Uuid::new_v4(), Uuid::new_v4()];
    let foreign = create(&app, theirs, "Etranger").await.id;
    // An imported client too: its source cannot be changed, which must not show either.
    let imported = client_id(
        &app.create_batch(vec![create_item(theirs, "77", "Importé", 1)])
            .await
            .results[0],
    );
    let missing = Uuid::new_v4().to_string();
    let mut grpc = app.grpc.clone();

    for id in [&foreign, &imported] {
        let expected = not_found_shape(
            &grpc
                .get(as_member(
                    &[mine],
                    GetClientBaseRequest {
                        id: missing.clone(),
                    },
                ))
                .await
                .unwrap_err(),
            &missing,
        );
        assert_eq!(expected, (Code::NotFound, "client <id> not found".into()));

        let get = grpc
            .get(as_member(&[mine], GetClientBaseRequest { id: id.clone() }))
            .await
            .unwrap_err();
        assert_eq!(not_found_shape(&get, id), expected, "Get {id}");

        let updates: [(&str, MakeUpdate); 2] = [
            ("Update", |id| UpdateClientBaseRequest {
                id: id.into(),
                nom: Some("Volé".into()),
                iban: Some(String::new()),
                ..Default::default()
            }),
            ("Update of the source", |id| UpdateClientBaseRequest {
                id: id.into(),
                source: Some("CRM".into()),
                ..Default::default()
            }),
        ];
        for (rpc, request) in updates {
            let foreign_status = grpc
                .update(as_member(&[mine], request(id)))
                .await
                .unwrap_err();
            let missing_status = grpc
                .update(as_member(&[mine], request(&missing)))
                .await
                .unwrap_err();
            assert_eq!(
                not_found_shape(&foreign_status, id),
                not_found_shape(&missing_status, &missing),
                "{rpc} {id}"
            );
        }

        let delete = grpc
            .delete(as_member(
                &[mine],
                DeleteClientBaseRequest { id: id.clone() },
            ))
            .await
            .unwrap_err();
        let delete_missing = grpc
            .delete(as_member(
                &[mine],
                DeleteClientBaseRequest {
                    id: missing.clone(),
                },
            ))
            .await
            .unwrap_err();
        assert_eq!(
            not_found_shape(&delete, id),
            not_found_shape(&delete_missing, &missing),
            "Delete {id}"
        );
    }

    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM clientbases WHERE id IN ('{foreign}', '{imported}') \
             AND organisation_id = '{theirs}' AND deleted_at IS NULL AND nom <> 'Volé' \
             AND iban IS NOT NULL AND (source IS NULL) = (id = '{foreign}')"
        ))
        .await,
        2,
        "both clients are untouched"
    );
    // Their own organisation still reaches them, and a member of both does too.
    for caller in [&[theirs][..], &[mine, theirs]] {
        let got = grpc
            .get(as_member(
                caller,
                GetClientBaseRequest {
                    id: foreign.clone(),
                },
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(got.nom, "Etranger");
        assert_eq!(got.iban.as_deref(), Some("FR7630006000011234567890189"));
    }
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_and_delete_reach_the_callers_own_clients() {
    let app = spawn_authenticating_app().await;
    let [mine, theirs] = [Uuid::new_v4(), Uuid::new_v4()];
    let own = create(&app, mine, "Martin").await.id;
    let mut grpc = app.grpc.clone();

    let updated = grpc
        .update(as_member(
            &[theirs, mine],
            UpdateClientBaseRequest {
                id: own.clone(),
                nom: Some("Martin-Durand".into()),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let deleted = grpc
        .delete(as_member(
            &[mine],
            DeleteClientBaseRequest { id: own.clone() },
        ))
        .await
        .unwrap()
        .into_inner();

    assert_eq!(
        (updated.nom.as_str(), updated.organisation_id),
        ("Martin-Durand", mine.to_string()),
        "updated in place, in its organisation"
    );
    assert!(deleted.success);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM clientbases WHERE id = '{own}' AND deleted_at IS NOT NULL"
        ))
        .await,
        1
    );
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_and_search_are_refused_for_another_organisation_and_see_only_the_callers() {
    let app = spawn_authenticating_app().await;
    let [mine, theirs] = [Uuid::new_v4(), Uuid::new_v4()];
    // The same name and phone in both organisations.
    let own = create(&app, mine, "Dupont").await.id;
    let foreign = create(&app, theirs, "Dupont").await.id;
    let mut grpc = app.grpc.clone();
    let list = |org: Uuid| ListClientsBaseRequest {
        organisation_id: org.to_string(),
        ..Default::default()
    };
    let search = |org: Uuid| SearchClientRequest {
        organisation_id: org.to_string(),
        telephone: "0612345678".into(),
        nom: "dupont".into(),
    };

    let list_theirs = grpc
        .list(as_member(&[mine], list(theirs)))
        .await
        .unwrap_err();
    let search_theirs = grpc
        .search(as_member(&[mine], search(theirs)))
        .await
        .unwrap_err();
    let list_nothing = grpc.list(as_member(&[], list(mine))).await.unwrap_err();
    let search_nothing = grpc.search(as_member(&[], search(mine))).await.unwrap_err();
    let listed = grpc
        .list(as_member(&[mine], list(mine)))
        .await
        .unwrap()
        .into_inner();
    let found = grpc
        .search(as_member(&[mine], search(mine)))
        .await
        .unwrap()
        .into_inner();
    let listed_by_both = grpc
        .list(as_member(&[mine, theirs], list(theirs)))
        .await
        .unwrap()
        .into_inner();

    for status in [&list_theirs, &search_theirs, &list_nothing, &search_nothing] {
        assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    }
    let ids = |clients: &[ClientBase]| clients.iter().map(|c| c.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&listed.clients), vec![own.clone()]);
    assert_eq!(listed.pagination.unwrap().total, 1);
    assert_eq!(found.client.map(|c| c.id), Some(own));
    assert_eq!(ids(&listed_by_both.clients), vec![foreign]);
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_without_a_token_is_unauthenticated() {
    let app = spawn_authenticating_app().await;
    let org = Uuid::new_v4();
    let id = create(&app, org, "Martin").await.id;
    let mut grpc = app.grpc.clone();

    let statuses = [
        ("Create", grpc.create(manual(org, "Anonyme")).await.err()),
        (
            "Get",
            grpc.get(GetClientBaseRequest { id: id.clone() })
                .await
                .err(),
        ),
        (
            "Update",
            grpc.update(UpdateClientBaseRequest {
                id: id.clone(),
                nom: Some("Anonyme".into()),
                ..Default::default()
            })
            .await
            .err(),
        ),
        (
            "Delete",
            grpc.delete(DeleteClientBaseRequest { id: id.clone() })
                .await
                .err(),
        ),
        (
            "List",
            grpc.list(ListClientsBaseRequest {
                organisation_id: org.to_string(),
                ..Default::default()
            })
            .await
            .err(),
        ),
        (
            "Search",
            grpc.search(SearchClientRequest {
                organisation_id: org.to_string(),
                nom: "Martin".into(),
                ..Default::default()
            })
            .await
            .err(),
        ),
    ];

    for (rpc, status) in statuses {
        assert_eq!(
            status.map(|s| s.code()),
            Some(Code::Unauthenticated),
            "{rpc}"
        );
    }
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM clientbases WHERE id = '{id}' AND nom = 'Martin' \
             AND deleted_at IS NULL"
        ))
        .await,
        1
    );
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_expired_or_unsigned_tokens_and_a_bypass_header_get_nothing_health_is_open_and_a_group_path_names_an_organisation()
 {
    let app = spawn_authenticating_app().await;
    let org = Uuid::new_v4();
    let client = create(&app, org, "Dupont").await;
    let get = || GetClientBaseRequest {
        id: client.id.clone(),
    };

    // Signed with another secret; and the old services' bypass header with no token.
    let forged = mint::hs256_token("not the secret", "x", &[org], Duration::from_secs(60)).unwrap();
    let request = with_token(&forged, get());
    let status = app.grpc.clone().get(request).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    let mut request = Request::new(get());
    request
        .metadata_mut()
        .insert("x-internal-service", "client-core".parse().unwrap());
    let status = app.grpc.clone().get(request).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");

    // Expired beyond the 60 s leeway, and unsigned (`alg: none`).
    let expired = mint::hs256_sign(
        SECRET,
        &serde_json::json!({"sub": "x", "exp": 1_000_000_000u64, "organisations": [org.to_string()]}),
    )
    .unwrap();
    let unsigned = {
        use base64::Engine;
        let b64 = |v: serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
        };
        format!(
            "{}.{}.",
            b64(serde_json::json!({"alg": "none", "typ": "JWT"})),
            b64(
                serde_json::json!({"sub": "x", "exp": 4_102_444_800u64, "organisations": [org.to_string()]})
            )
        )
    };
    for (what, token) in [("expired", expired), ("alg none", unsigned)] {
        let request = with_token(&token, get());
        let status = app.grpc.clone().get(request).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{what}: {status:?}");
    }

    // Health checks need no token.
    let health = tonic_health::pb::health_client::HealthClient::new(app.channel.clone())
        .check(tonic_health::pb::HealthCheckRequest {
            service: "clients.ClientBaseService".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        health.status(),
        tonic_health::pb::health_check_response::ServingStatus::Serving
    );

    // Keycloak's group path `/orgs/<uuid>` counts as the organisation.
    let grouped = mint::hs256_sign(
        SECRET,
        &serde_json::json!({
            "sub": "keycloak-user",
            "exp": 4_102_444_800u64,
            "organisations": [format!("/orgs/{org}")],
        }),
    )
    .unwrap();
    let found = app
        .grpc
        .clone()
        .get(with_token(&grouped, get()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((found.id, found.nom), (client.id, "Dupont".to_owned()));
    app.cleanup().await;
}

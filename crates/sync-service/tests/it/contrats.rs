//! `contrats.ContratService` in the CRM's own terms: contracts imported by a real sync against
//! the simulator, read through Get, GetByReference, GetWithDetails and List (filters,
//! pagination), amounts as doubles equal to the stored decimals; writes refused.

use std::collections::{HashMap, HashSet};

use diesel::QueryableByName;
use diesel::sql_types::{Integer, Nullable, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use proto::contrats::{
    Contrat, CreateContratRequest, DeleteContratRequest, GetContratByReferenceRequest,
    GetContratRequest, ListContratRequest, ListContratResponse, Pagination, UpdateContratRequest,
};
use proto::tonic::Code;
use uuid::Uuid;

use crate::helpers::{Stack, fixture, spawn_stack};

#[derive(QueryableByName)]
struct StoredContrat {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    reference: String,
    #[diesel(sql_type = Nullable<Text>)]
    montant: Option<String>,
}

#[derive(QueryableByName)]
struct StoredLigne {
    #[diesel(sql_type = Text)]
    nom: String,
    #[diesel(sql_type = Nullable<Text>)]
    prix_unitaire: Option<String>,
    #[diesel(sql_type = Integer)]
    quantite: i32,
    #[diesel(sql_type = Nullable<Text>)]
    offre_id: Option<String>,
}

async fn commercial(stack: &Stack) -> AsyncPgConnection {
    AsyncPgConnection::establish(stack.commercial_db.url())
        .await
        .unwrap()
}

/// A stored decimal as the double the wire should carry.
fn double(text: Option<&str>) -> f64 {
    text.map_or(0.0, |t| t.parse().unwrap())
}

async fn synced(org: Uuid) -> Stack {
    let stack = spawn_stack(fixture("prospects-sample-200.json")).await;
    stack.configure(org).await;
    let (success, _) = stack.sync_now(org, false).await;
    assert!(success);
    stack
}

async fn list(stack: &Stack, request: ListContratRequest) -> ListContratResponse {
    stack
        .contrats
        .clone()
        .list(request)
        .await
        .unwrap()
        .into_inner()
}

fn listing(org: Uuid, page: i32, limit: i32) -> ListContratRequest {
    ListContratRequest {
        organisation_id: org.to_string(),
        pagination: Some(Pagination {
            page,
            limit,
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Every contract the filter matches, page after page.
async fn all_pages(stack: &Stack, mut request: ListContratRequest) -> Vec<Contrat> {
    let mut out = Vec::new();
    for page in 1.. {
        if let Some(p) = request.pagination.as_mut() {
            p.page = page;
        }
        let response = list(stack, request.clone()).await;
        let pagination = response.pagination.unwrap();
        out.extend(response.contrats);
        if page >= pagination.total_pages {
            break;
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_contract_reads_through_get_with_details_with_its_lines_as_doubles() {
    let org = Uuid::new_v4();
    let stack = synced(org).await;
    let mut conn = commercial(&stack).await;
    let stored: StoredContrat = diesel::sql_query(format!(
        "SELECT c.id::text AS id, c.reference::text AS reference, c.montant::text AS montant \
         FROM contrats c WHERE c.organisation_id = '{org}' AND c.montant IS NOT NULL \
           AND EXISTS (SELECT 1 FROM lignes_contrat l WHERE l.contrat_id = c.id \
                       AND l.offre_id IS NOT NULL AND l.prix_unitaire IS NOT NULL) \
         ORDER BY c.reference LIMIT 1"
    ))
    .get_result(&mut conn)
    .await
    .unwrap();
    let lines: Vec<StoredLigne> = diesel::sql_query(format!(
        "SELECT nom::text AS nom, prix_unitaire::text AS prix_unitaire, quantite, offre_id::text AS offre_id \
         FROM lignes_contrat WHERE contrat_id = '{}' ORDER BY position",
        stored.id
    ))
    .load(&mut conn)
    .await
    .unwrap();
    let mut contrats = stack.contrats.clone();

    let details = contrats
        .get_with_details(GetContratRequest {
            id: stored.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();

    let contrat = details.contrat.unwrap();
    assert_eq!(contrat.id, stored.id);
    assert_eq!(contrat.organisation_id, org.to_string());
    assert_eq!(contrat.reference, stored.reference);
    assert_eq!(contrat.montant, double(stored.montant.as_deref()));
    assert_eq!(contrat.source, "WinLeadPlus");
    assert_eq!(
        contrat.external_id.as_deref(),
        stored.reference.strip_prefix("WLP-CONTRAT-")
    );
    assert!(!contrat.titre.is_empty());
    assert!(Uuid::parse_str(&contrat.client_id).is_ok());
    assert!(details.historique.is_empty());
    assert_eq!(details.lignes.len(), lines.len());
    for (wire, row) in details.lignes.iter().zip(&lines) {
        assert_eq!(wire.contrat_id, stored.id);
        assert_eq!(wire.nom, row.nom);
        assert_eq!(wire.prix_unitaire, double(row.prix_unitaire.as_deref()));
        assert_eq!(wire.quantite, row.quantite);
        assert_eq!(wire.canal_vente, "WinLeadPlus");
        assert_eq!(wire.offre_id, row.offre_id);
        let expected_produit = row
            .offre_id
            .as_deref()
            .map(|o| sync_service::domain::produit_id(org, o).to_string())
            .unwrap_or_default();
        assert_eq!(wire.produit_id, expected_produit);
    }
    assert!(details.lignes.iter().any(|l| !l.produit_id.is_empty()));

    // Get and GetByReference return the same contract; another organisation does not see it.
    let got = contrats
        .get(GetContratRequest {
            id: stored.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got, contrat);
    let by_reference = contrats
        .get_by_reference(GetContratByReferenceRequest {
            organisation_id: org.to_string(),
            reference: stored.reference.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_reference, contrat);
    let elsewhere = contrats
        .get_by_reference(GetContratByReferenceRequest {
            organisation_id: Uuid::new_v4().to_string(),
            reference: stored.reference.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(elsewhere.code(), Code::NotFound);
    let missing = contrats
        .get_with_details(GetContratRequest {
            id: Uuid::new_v4().to_string(),
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);

    // Every contract's amount on the wire equals its stored decimal.
    let amounts: Vec<StoredContrat> = diesel::sql_query(format!(
        "SELECT id::text AS id, reference::text AS reference, montant::text AS montant \
         FROM contrats WHERE organisation_id = '{org}'"
    ))
    .load(&mut conn)
    .await
    .unwrap();
    let expected: HashMap<String, f64> = amounts
        .iter()
        .map(|c| (c.id.clone(), double(c.montant.as_deref())))
        .collect();
    let listed = all_pages(&stack, listing(org, 1, 100)).await;
    assert_eq!(listed.len(), expected.len());
    for c in &listed {
        assert_eq!(Some(&c.montant), expected.get(&c.id), "{}", c.reference);
    }
    drop(conn);
    stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_contrat_filters_and_paginates() {
    let org = Uuid::new_v4();
    let stack = synced(org).await;
    let total = stack
        .commercial_count(&format!(
            "SELECT count(*) AS n FROM contrats WHERE organisation_id = '{org}'"
        ))
        .await;
    assert!(total > 20, "the fixture has enough contracts to page");

    // Pages of 7: no overlap, nothing skipped, the right totals.
    let first = list(&stack, listing(org, 1, 7)).await;
    let pagination = first.pagination.unwrap();
    assert_eq!(
        (pagination.total, pagination.page, pagination.limit),
        (total as i32, 1, 7)
    );
    assert_eq!(pagination.total_pages, ((total + 6) / 7) as i32);
    let paged = all_pages(&stack, listing(org, 1, 7)).await;
    let ids: HashSet<&str> = paged.iter().map(|c| c.id.as_str()).collect();
    assert_eq!((paged.len(), ids.len()), (total as usize, total as usize));

    // Sorted by reference, ascending, as the database sorts it.
    let mut by_reference = listing(org, 1, 10);
    if let Some(p) = by_reference.pagination.as_mut() {
        p.sort_by = "reference".into();
        p.sort_order = "asc".into();
    }
    let page = list(&stack, by_reference).await.contrats;
    let references: Vec<&str> = page.iter().map(|c| c.reference.as_str()).collect();
    let mut sorted = references.clone();
    sorted.sort_unstable();
    assert_eq!(references, sorted);
    assert_eq!(references.len(), 10);

    // Each filter, checked against the database.
    let sample = &paged[0];
    let cases: Vec<(ListContratRequest, String)> = vec![
        (
            ListContratRequest {
                client_id: sample.client_id.clone(),
                ..listing(org, 1, 100)
            },
            format!("client_id = '{}'", sample.client_id),
        ),
        (
            ListContratRequest {
                commercial_id: sample.commercial_id.clone(),
                ..listing(org, 1, 100)
            },
            format!("commercial_id = '{}'", sample.commercial_id),
        ),
        (
            ListContratRequest {
                statut: "ACTIF".into(),
                ..listing(org, 1, 100)
            },
            "statut = 'ACTIF'".to_owned(),
        ),
        (
            ListContratRequest {
                search: "wlp-contrat-50000".into(),
                ..listing(org, 1, 100)
            },
            "(reference ILIKE '%wlp-contrat-50000%' OR titre ILIKE '%wlp-contrat-50000%')"
                .to_owned(),
        ),
        (
            ListContratRequest {
                search: "TOTALENERGIES".into(),
                statut: "ACTIF".into(),
                ..listing(org, 1, 100)
            },
            "(reference ILIKE '%totalenergies%' OR titre ILIKE '%totalenergies%') AND statut = 'ACTIF'"
                .to_owned(),
        ),
        (
            // Empty strings are no filter.
            ListContratRequest {
                client_id: String::new(),
                commercial_id: String::new(),
                statut: String::new(),
                search: "  ".into(),
                ..listing(org, 1, 100)
            },
            "true".to_owned(),
        ),
    ];
    for (request, condition) in cases {
        let expected = stack
            .commercial_count(&format!(
                "SELECT count(*) AS n FROM contrats WHERE organisation_id = '{org}' AND {condition}"
            ))
            .await;
        let found = all_pages(&stack, request).await;
        assert_eq!(found.len() as i64, expected, "{condition}");
        assert!(expected > 0, "{condition} matches something");
    }
    let searched = all_pages(
        &stack,
        ListContratRequest {
            search: "totalenergies".into(),
            ..listing(org, 1, 100)
        },
    )
    .await;
    assert!(
        searched
            .iter()
            .all(|c| c.titre.to_lowercase().contains("totalenergies")
                || c.reference.to_lowercase().contains("totalenergies"))
    );

    // Imported contracts have no company; another organisation has none of them.
    let societe = ListContratRequest {
        societe_id: Uuid::new_v4().to_string(),
        ..listing(org, 1, 100)
    };
    assert_eq!(list(&stack, societe).await.pagination.unwrap().total, 0);
    let other = list(&stack, listing(Uuid::new_v4(), 1, 100)).await;
    assert_eq!(other.pagination.unwrap().total, 0);

    // Malformed input names what is wrong.
    let mut contrats = stack.contrats.clone();
    let bad: Vec<(ListContratRequest, &str)> = vec![
        (
            ListContratRequest {
                client_id: "x".into(),
                ..listing(org, 1, 10)
            },
            "client_id",
        ),
        (
            ListContratRequest {
                organisation_id: String::new(),
                ..listing(org, 1, 10)
            },
            "organisation_id",
        ),
        (listing(org, -1, 10), "page"),
    ];
    for (request, field) in bad {
        let status = contrats.list(request).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{field}");
        assert!(status.message().contains(field), "{}", status.message());
    }
    let mut bad_sort = listing(org, 1, 10);
    if let Some(p) = bad_sort.pagination.as_mut() {
        p.sort_by = "password".into();
    }
    assert_eq!(
        contrats.list(bad_sort).await.unwrap_err().code(),
        Code::InvalidArgument
    );
    stack.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_update_and_delete_answer_failed_precondition() {
    let stack = spawn_stack(Vec::new()).await;
    let org = Uuid::new_v4();
    let mut contrats = stack.contrats.clone();

    let create = contrats
        .create(CreateContratRequest {
            organisation_id: org.to_string(),
            reference: "CRM-1".into(),
            titre: "Manual".into(),
            montant: 10.0,
            ..Default::default()
        })
        .await
        .unwrap_err();
    let update = contrats
        .update(UpdateContratRequest {
            id: Uuid::new_v4().to_string(),
            titre: "Changed".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    let delete = contrats
        .delete(DeleteContratRequest {
            id: Uuid::new_v4().to_string(),
        })
        .await
        .unwrap_err();

    for status in [create, update, delete] {
        assert_eq!(status.code(), Code::FailedPrecondition);
        assert_eq!(
            status.message(),
            "contracts imported from WinLeadPlus are read-only; change them in WinLeadPlus"
        );
    }
    assert_eq!(
        stack
            .commercial_count("SELECT count(*) AS n FROM contrats")
            .await,
        0
    );
    stack.cleanup().await;
}

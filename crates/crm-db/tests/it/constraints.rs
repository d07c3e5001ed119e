//! The unique indexes and checks that the services rely on for idempotency and leases bite.

use crm_db::Database;
use crm_db::testing::TestDatabase;

use crate::helpers::{assert_violates, connect, count, exec};

const ORG_A: &str = "00000000-0000-0000-0000-00000000000a";
const ORG_B: &str = "00000000-0000-0000-0000-00000000000b";

#[tokio::test]
async fn at_most_one_running_sync_per_organisation() {
    let database = TestDatabase::new(Database::Commercial).await;
    let mut conn = connect(database.url()).await;
    let insert = |org: &str, status: &str| {
        format!(
            "INSERT INTO winleadplus_sync_logs (organisation_id, status) VALUES ('{org}', '{status}')"
        )
    };

    exec(&mut conn, &insert(ORG_A, "RUNNING")).await.unwrap();
    assert_violates(
        exec(&mut conn, &insert(ORG_A, "RUNNING")).await,
        "unique",
        "winleadplus_sync_logs_one_running_key",
    );
    // Other organisations and finished logs are not limited.
    exec(&mut conn, &insert(ORG_B, "RUNNING")).await.unwrap();
    exec(&mut conn, &insert(ORG_A, "SUCCESS")).await.unwrap();
    exec(&mut conn, &insert(ORG_A, "FAILED")).await.unwrap();
    // Once the running one finishes, a new one may start.
    exec(
        &mut conn,
        &format!(
            "UPDATE winleadplus_sync_logs SET status = 'FAILED' \
             WHERE organisation_id = '{ORG_A}' AND status = 'RUNNING'"
        ),
    )
    .await
    .unwrap();
    exec(&mut conn, &insert(ORG_A, "RUNNING")).await.unwrap();

    drop(conn);
    database.cleanup().await.unwrap();
}

#[tokio::test]
async fn one_mapping_per_organisation_and_prospect() {
    let database = TestDatabase::new(Database::Commercial).await;
    let mut conn = connect(database.url()).await;
    let insert = |org: &str, prospect: i64| {
        format!(
            "INSERT INTO winleadplus_mappings \
               (organisation_id, winleadplus_prospect_id, crm_client_id, data_hash, last_synced_at) \
             VALUES ('{org}', {prospect}, gen_random_uuid(), 'h', now())"
        )
    };

    exec(&mut conn, &insert(ORG_A, 42)).await.unwrap();
    assert_violates(
        exec(&mut conn, &insert(ORG_A, 42)).await,
        "unique",
        "winleadplus_mappings_prospect_key",
    );
    exec(&mut conn, &insert(ORG_B, 42)).await.unwrap();
    exec(&mut conn, &insert(ORG_A, 43)).await.unwrap();
    let defaults = count(
        &mut conn,
        "SELECT count(*) FROM winleadplus_mappings \
         WHERE crm_contrat_ids = '{}' AND source_version = 0",
    )
    .await;
    assert_eq!(defaults, 3);

    drop(conn);
    database.cleanup().await.unwrap();
}

#[tokio::test]
async fn one_principal_address_per_client_and_addresses_go_with_their_client() {
    let database = TestDatabase::new(Database::Core).await;
    let mut conn = connect(database.url()).await;
    exec(
        &mut conn,
        &format!(
            "INSERT INTO clientbases (id, organisation_id, type_client, nom, prenom, statut) \
             VALUES ('00000000-0000-0000-0000-000000000001', '{ORG_A}', 'PARTICULIER', 'Dupont', 'Jean', 'ACTIF')"
        ),
    )
    .await
    .unwrap();
    let insert = |kind: &str| {
        format!(
            "INSERT INTO adresses (client_base_id, ligne1, type) \
             VALUES ('00000000-0000-0000-0000-000000000001', '1 rue de la Paix', '{kind}')"
        )
    };

    exec(&mut conn, &insert("PRINCIPALE")).await.unwrap();
    assert_violates(
        exec(&mut conn, &insert("PRINCIPALE")).await,
        "unique",
        "adresses_one_principale_key",
    );
    exec(&mut conn, &insert("SECONDAIRE")).await.unwrap();
    exec(&mut conn, &insert("SECONDAIRE")).await.unwrap();
    assert_violates(
        exec(
            &mut conn,
            "INSERT INTO adresses (client_base_id, type) VALUES (gen_random_uuid(), 'PRINCIPALE')",
        )
        .await,
        "foreign key",
        "adresses_client_base_id_fkey",
    );

    exec(&mut conn, "DELETE FROM clientbases").await.unwrap();
    assert_eq!(count(&mut conn, "SELECT count(*) FROM adresses").await, 0);

    drop(conn);
    database.cleanup().await.unwrap();
}

#[tokio::test]
async fn one_client_per_organisation_source_and_external_id() {
    let database = TestDatabase::new(Database::Core).await;
    let mut conn = connect(database.url()).await;
    let insert = |org: &str, source: &str, id: &str| {
        format!(
            "INSERT INTO clientbases \
               (organisation_id, type_client, nom, prenom, statut, external_source, external_id) \
             VALUES ('{org}', 'PARTICULIER', 'Dupont', 'Jean', 'ACTIF', {source}, {id})"
        )
    };

    exec(&mut conn, &insert(ORG_A, "'WinLeadPlus'", "'42'"))
        .await
        .unwrap();
    assert_violates(
        exec(&mut conn, &insert(ORG_A, "'WinLeadPlus'", "'42'")).await,
        "unique",
        "clientbases_external_ref_key",
    );
    exec(&mut conn, &insert(ORG_B, "'WinLeadPlus'", "'42'"))
        .await
        .unwrap();
    exec(&mut conn, &insert(ORG_A, "'Other'", "'42'"))
        .await
        .unwrap();
    // Clients created in the CRM have no external reference, as many as you like.
    exec(&mut conn, &insert(ORG_A, "NULL", "NULL"))
        .await
        .unwrap();
    exec(&mut conn, &insert(ORG_A, "NULL", "NULL"))
        .await
        .unwrap();
    // Half a reference is refused.
    assert_violates(
        exec(&mut conn, &insert(ORG_A, "'WinLeadPlus'", "NULL")).await,
        "check",
        "clientbases_external_ref_complete",
    );
    assert_violates(
        exec(&mut conn, &insert(ORG_A, "NULL", "'43'")).await,
        "check",
        "clientbases_external_ref_complete",
    );

    drop(conn);
    database.cleanup().await.unwrap();
}

#[tokio::test]
async fn contract_references_are_unique_per_organisation_and_lines_go_with_their_contract() {
    let database = TestDatabase::new(Database::Commercial).await;
    let mut conn = connect(database.url()).await;
    let insert = |org: &str, reference: &str| {
        format!(
            "INSERT INTO contrats (organisation_id, reference, titre, statut, devise, source) \
             VALUES ('{org}', '{reference}', 'Contrat 7', 'ACTIF', 'EUR', 'WinLeadPlus')"
        )
    };

    exec(&mut conn, &insert(ORG_A, "WLP-CONTRAT-7"))
        .await
        .unwrap();
    assert_violates(
        exec(&mut conn, &insert(ORG_A, "WLP-CONTRAT-7")).await,
        "unique",
        "contrats_reference_key",
    );
    exec(&mut conn, &insert(ORG_B, "WLP-CONTRAT-7"))
        .await
        .unwrap();

    exec(
        &mut conn,
        &format!(
            "INSERT INTO lignes_contrat (contrat_id, position, nom, prix_unitaire) \
             SELECT id, 0, 'Offre 1', 29.90 FROM contrats WHERE organisation_id = '{ORG_A}'"
        ),
    )
    .await
    .unwrap();
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) FROM lignes_contrat WHERE quantite = 1"
        )
        .await,
        1
    );
    exec(
        &mut conn,
        &format!("DELETE FROM contrats WHERE organisation_id = '{ORG_A}'"),
    )
    .await
    .unwrap();
    assert_eq!(
        count(&mut conn, "SELECT count(*) FROM lignes_contrat").await,
        0
    );

    drop(conn);
    database.cleanup().await.unwrap();
}

#[tokio::test]
async fn sync_interval_stays_between_5_minutes_and_a_day() {
    let database = TestDatabase::new(Database::Commercial).await;
    let mut conn = connect(database.url()).await;
    let insert = |org: &str, minutes: i32| {
        format!(
            "INSERT INTO winleadplus_configs (organisation_id, api_endpoint, sync_interval_minutes) \
             VALUES ('{org}', 'https://x.example/api/prospects', {minutes})"
        )
    };

    for minutes in [2, 4, 1441] {
        assert_violates(
            exec(&mut conn, &insert(ORG_A, minutes)).await,
            "check",
            "winleadplus_configs_sync_interval_range",
        );
    }
    exec(&mut conn, &insert(ORG_A, 5)).await.unwrap();
    exec(&mut conn, &insert(ORG_B, 1440)).await.unwrap();
    // One config per organisation.
    assert_violates(
        exec(&mut conn, &insert(ORG_A, 60)).await,
        "unique",
        "winleadplus_configs_organisation_id_key",
    );
    // Defaults: enabled, hourly.
    exec(
        &mut conn,
        "INSERT INTO winleadplus_configs (organisation_id, api_endpoint) \
         VALUES (gen_random_uuid(), 'https://x.example')",
    )
    .await
    .unwrap();
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) FROM winleadplus_configs WHERE enabled AND sync_interval_minutes = 60"
        )
        .await,
        1
    );

    drop(conn);
    database.cleanup().await.unwrap();
}

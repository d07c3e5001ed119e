//! The client search expression is case- and accent-insensitive, and its trigram index (per
//! organisation) serves it; the matching index serves phone + name lookups.

use crm_db::Database;
use crm_db::core::functions::{clientbase_search_text, f_unaccent};
use crm_db::core::schema::clientbases;
use crm_db::testing::TestDatabase;
use diesel::{QueryDsl, QueryableByName, TextExpressionMethods};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::helpers::{connect, exec};

async fn search(conn: &mut AsyncPgConnection, term: &str) -> Vec<String> {
    let pattern = format!("%{}%", term.to_lowercase());
    clientbases::table
        .filter(
            clientbase_search_text(
                clientbases::nom,
                clientbases::prenom,
                clientbases::email,
                clientbases::telephone,
            )
            .like(f_unaccent(pattern)),
        )
        .select(clientbases::nom)
        .order(clientbases::nom)
        .load(conn)
        .await
        .unwrap()
}

#[derive(QueryableByName)]
struct Plan {
    #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
    line: String,
}

async fn plan(conn: &mut AsyncPgConnection, query: &str) -> String {
    exec(conn, "SET enable_seqscan = off").await.unwrap();
    let lines = diesel::sql_query(format!("EXPLAIN {query}"))
        .load::<Plan>(conn)
        .await
        .unwrap();
    lines
        .into_iter()
        .map(|l| l.line)
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn search_ignores_case_and_accents_and_uses_the_trigram_index() {
    let database = TestDatabase::new(Database::Core).await;
    let mut conn = connect(database.url()).await;
    exec(
        &mut conn,
        "INSERT INTO clientbases (organisation_id, type_client, nom, prenom, statut, email, telephone)
         VALUES (gen_random_uuid(), 'PARTICULIER', 'Lefèvre', 'Élodie', 'ACTIF', 'elo@exemple.fr', '06 12 34 56 78'),
                (gen_random_uuid(), 'PARTICULIER', 'Martin', 'Jean', 'ACTIF', NULL, NULL),
                (gen_random_uuid(), 'PARTICULIER', 'Muller', 'Zoé', 'ACTIF', 'ZOE@EXEMPLE.FR', '+33 7 00 00 00 00')",
    )
    .await
    .unwrap();

    assert_eq!(search(&mut conn, "ELODIE").await, ["Lefèvre"]);
    assert_eq!(search(&mut conn, "lefevre").await, ["Lefèvre"]);
    assert_eq!(search(&mut conn, "Zoé").await, ["Muller"]);
    assert_eq!(search(&mut conn, "exemple.fr").await, ["Lefèvre", "Muller"]);
    assert_eq!(search(&mut conn, "34 56").await, ["Lefèvre"]);
    assert_eq!(search(&mut conn, "jean").await, ["Martin"]);
    assert!(search(&mut conn, "dupont").await.is_empty());

    // An organisation of 5,000 clients: its rows alone are too many to read for one name.
    exec(
        &mut conn,
        "INSERT INTO clientbases (organisation_id, type_client, nom, prenom, statut)
         SELECT '00000000-0000-4000-8000-000000000001', 'PARTICULIER', 'Client' || i, 'Prénom', 'ACTIF'
           FROM generate_series(1, 5000) AS i",
    )
    .await
    .unwrap();
    exec(&mut conn, "ANALYZE clientbases").await.unwrap();
    let plan = plan(
        &mut conn,
        "SELECT id FROM clientbases
          WHERE organisation_id = '00000000-0000-4000-8000-000000000001' AND deleted_at IS NULL
            AND clientbase_search_text(nom, prenom, email, telephone) LIKE f_unaccent(lower('%elodie%'))",
    )
    .await;
    // One index scan serves both the organisation and the term.
    assert!(
        plan.contains("Bitmap Index Scan on clientbases_org_search_trgm_idx"),
        "{plan}"
    );
    assert!(!plan.contains("BitmapAnd"), "{plan}");

    drop(conn);
    database.cleanup().await.unwrap();
}

#[tokio::test]
async fn matching_by_phone_and_name_uses_its_index() {
    let database = TestDatabase::new(Database::Core).await;
    let mut conn = connect(database.url()).await;
    let plan = plan(
        &mut conn,
        "SELECT id FROM clientbases
          WHERE organisation_id = gen_random_uuid() AND telephone_normalized = '0612345678'
            AND lower(nom) = lower('Dupont')",
    )
    .await;
    assert!(plan.contains("clientbases_match_idx"), "{plan}");

    drop(conn);
    database.cleanup().await.unwrap();
}

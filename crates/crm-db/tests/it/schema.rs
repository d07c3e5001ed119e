//! `schema.rs` stays in step with the migrations: every `table!` has the migrated table's
//! columns in the same order, and every migrated table has a `table!`.

use crm_db::Database;
use crm_db::testing::TestDatabase;
use diesel::pg::Pg;
use diesel::query_builder::QueryFragment;
use diesel::{ExpressionMethods, QueryDsl};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::helpers::{connect, names};

/// The columns a `SELECT t.a, t.b FROM t` selects, in order.
fn selected_columns(query: &impl QueryFragment<Pg>) -> Vec<String> {
    let sql = diesel::debug_query::<Pg, _>(query).to_string();
    let list = sql
        .strip_prefix("SELECT ")
        .and_then(|rest| rest.split(" FROM ").next())
        .unwrap_or_else(|| panic!("unexpected query: {sql}"));
    list.split(", ")
        .map(|column| {
            column
                .rsplit('.')
                .next()
                .unwrap()
                .trim_matches('"')
                .to_owned()
        })
        .collect()
}

/// Every listed `table!` of a schema module, as (name, columns in order).
macro_rules! schema_tables {
    ($schema:path; $($table:ident),+ $(,)?) => {{
        use $schema as schema;
        vec![$((
            stringify!($table).to_owned(),
            selected_columns(&schema::$table::table.select(schema::$table::all_columns)),
        )),+]
    }};
}

async fn database_columns(conn: &mut AsyncPgConnection, table: &str) -> Vec<String> {
    names(
        conn,
        &format!(
            "SELECT column_name::text AS name FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name = '{table}' ORDER BY ordinal_position"
        ),
    )
    .await
}

async fn database_tables(conn: &mut AsyncPgConnection) -> Vec<String> {
    names(
        conn,
        "SELECT table_name::text AS name FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE' \
           AND table_name <> '__diesel_schema_migrations' ORDER BY 1",
    )
    .await
}

async fn check(db: Database, mut tables: Vec<(String, Vec<String>)>) {
    let database = TestDatabase::new(db).await;
    let mut conn = connect(database.url()).await;

    for (table, columns) in &tables {
        assert_eq!(
            &database_columns(&mut conn, table).await,
            columns,
            "columns of {table}: database (left) vs schema.rs (right)"
        );
    }
    tables.sort();
    let declared: Vec<String> = tables.into_iter().map(|(name, _)| name).collect();
    assert_eq!(
        database_tables(&mut conn).await,
        declared,
        "tables: database (left) vs schema.rs (right)"
    );

    drop(conn);
    database.cleanup().await.unwrap();
}

#[tokio::test]
async fn core_schema_matches_database() {
    check(
        Database::Core,
        schema_tables!(crm_db::core::schema; adresses, clientbases, dead_letters),
    )
    .await;
}

#[tokio::test]
async fn commercial_schema_matches_database() {
    check(
        Database::Commercial,
        schema_tables!(
            crm_db::commercial::schema;
            contrats,
            lignes_contrat,
            winleadplus_configs,
            winleadplus_mappings,
            winleadplus_sync_logs,
        ),
    )
    .await;
}

#[test]
fn selected_columns_reads_a_select_list() {
    let tables = schema_tables!(crm_db::core::schema; adresses);
    assert_eq!(tables[0].0, "adresses");
    assert_eq!(tables[0].1[..3], ["id", "client_base_id", "ligne1"]);
    assert_eq!(tables[0].1[7], "type");
}

/// The declared types round-trip through typed queries, and the joins compile and run.
#[tokio::test]
async fn typed_queries_round_trip_and_joins_work() {
    use crm_db::commercial::schema::{contrats, lignes_contrat, winleadplus_mappings as m};
    use crm_db::core::schema::{adresses, clientbases};

    let commercial = TestDatabase::new(Database::Commercial).await;
    let mut conn = connect(commercial.url()).await;
    let org = uuid::Uuid::new_v4();
    let contract_ids = vec![uuid::Uuid::new_v4(), uuid::Uuid::new_v4()];
    diesel::insert_into(m::table)
        .values((
            m::organisation_id.eq(org),
            m::winleadplus_prospect_id.eq(i64::MAX),
            m::crm_client_id.eq(uuid::Uuid::new_v4()),
            m::crm_contrat_ids.eq(&contract_ids),
            m::data_hash.eq("a".repeat(64)),
            m::last_synced_at.eq(diesel::dsl::now),
        ))
        .execute(&mut conn)
        .await
        .unwrap();
    let (prospect, stored): (i64, Vec<uuid::Uuid>) = m::table
        .filter(m::organisation_id.eq(org))
        .select((m::winleadplus_prospect_id, m::crm_contrat_ids))
        .first(&mut conn)
        .await
        .unwrap();
    assert_eq!((prospect, stored), (i64::MAX, contract_ids));

    let lines: i64 = contrats::table
        .inner_join(lignes_contrat::table)
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(lines, 0);
    drop(conn);
    commercial.cleanup().await.unwrap();

    let core = TestDatabase::new(Database::Core).await;
    let mut conn = connect(core.url()).await;
    let client_id: uuid::Uuid = diesel::insert_into(clientbases::table)
        .values((
            clientbases::organisation_id.eq(org),
            clientbases::type_client.eq("PARTICULIER"),
            clientbases::nom.eq("Dupont"),
            clientbases::prenom.eq("Jean"),
            clientbases::statut.eq("ACTIF"),
        ))
        .returning(clientbases::id)
        .get_result(&mut conn)
        .await
        .unwrap();
    diesel::insert_into(adresses::table)
        .values((
            adresses::client_base_id.eq(client_id),
            adresses::ville.eq("Lyon"),
            adresses::type_.eq("PRINCIPALE"),
        ))
        .execute(&mut conn)
        .await
        .unwrap();
    let found: Vec<(String, Option<String>)> = clientbases::table
        .inner_join(adresses::table)
        .filter(adresses::type_.eq("PRINCIPALE"))
        .select((clientbases::nom, adresses::ville))
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(found, [("Dupont".to_owned(), Some("Lyon".to_owned()))]);
    drop(conn);
    core.cleanup().await.unwrap();
}

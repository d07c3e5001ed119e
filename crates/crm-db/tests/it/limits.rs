//! `mapper::limits` and the migrations are one pair: every bounded column (`VARCHAR`,
//! `NUMERIC`, `INTEGER`, `BIGINT`, `DATE`) of the tables the mapped records go to has its
//! limit in `limits::COLUMNS`, and every limit there matches a migrated column.

use std::collections::BTreeSet;

use crm_db::Database;
use crm_db::testing::TestDatabase;
use diesel::QueryableByName;
use diesel::sql_types::{Integer, Nullable, Text};
use diesel_async::RunQueryDsl;
use mapper::limits::{COLUMNS, Kind};

use crate::helpers::connect;

/// The tables the mapped records go to, by database.
const TABLES: [(Database, &[&str]); 2] = [
    (Database::Core, &["clientbases", "adresses"]),
    (Database::Commercial, &["contrats", "lignes_contrat"]),
];

#[derive(QueryableByName)]
struct ColumnRow {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Nullable<Integer>)]
    length: Option<i32>,
    #[diesel(sql_type = Nullable<Integer>)]
    precision: Option<i32>,
    #[diesel(sql_type = Nullable<Integer>)]
    scale: Option<i32>,
}

/// `table.column kind`, the form both sides are compared in.
fn describe(table: &str, column: &str, kind: Kind) -> String {
    format!("{table}.{column} {kind:?}")
}

async fn migrated_columns() -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (database, tables) in TABLES {
        let db = TestDatabase::new(database).await;
        let mut conn = connect(db.url()).await;
        let list = tables
            .iter()
            .map(|t| format!("'{t}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let rows: Vec<ColumnRow> = diesel::sql_query(format!(
            "SELECT table_name::text, column_name::text, data_type::text, \
               character_maximum_length::integer AS length, numeric_precision::integer AS precision, \
               numeric_scale::integer AS scale \
             FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name IN ({list}) \
               AND data_type IN ('character varying', 'numeric', 'integer', 'bigint', 'date')"
        ))
        .load(&mut conn)
        .await
        .unwrap();
        for row in rows {
            let kind = match (row.data_type.as_str(), row.length, row.precision, row.scale) {
                ("character varying", Some(n), _, _) => Kind::Varchar(usize::try_from(n).unwrap()),
                ("numeric", _, Some(p), Some(s)) => Kind::Numeric {
                    precision: u32::try_from(p).unwrap(),
                    scale: u32::try_from(s).unwrap(),
                },
                ("integer", ..) => Kind::Integer,
                ("bigint", ..) => Kind::BigInt,
                ("date", ..) => Kind::Date,
                (other, ..) => panic!(
                    "{}.{}: {other} without a bound (VARCHAR without length?)",
                    row.table_name, row.column_name
                ),
            };
            found.insert(describe(&row.table_name, &row.column_name, kind));
        }
        drop(conn);
        db.cleanup().await.unwrap();
    }
    found
}

#[tokio::test]
async fn limits_match_the_migrated_columns() {
    let migrated = migrated_columns().await;
    let declared: BTreeSet<String> = COLUMNS
        .iter()
        .map(|c| describe(c.table, c.column, c.kind))
        .collect();
    let missing: Vec<&String> = migrated.difference(&declared).collect();
    let stale: Vec<&String> = declared.difference(&migrated).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "mapper/src/limits.rs and the migrations disagree.\n\
         migrated but not in limits::COLUMNS: {missing:#?}\n\
         in limits::COLUMNS but not migrated: {stale:#?}"
    );
}

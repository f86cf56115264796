//! The two backends' schemas agree with each other and with `schema.rs`:
//! the same tables, the same columns (name, nullability, common type) and
//! the same indexes, after migrating fresh databases.

use std::collections::{BTreeMap, BTreeSet};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Text};
use livecredit::config::DatabaseUrl;
use livecredit::db::Db;

use crate::helpers::{postgres_admin_url, PgDatabase};

/// A column as both backends can describe it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Column {
    /// `text`, `int`, `bigint`, `bool`, `double`, `date`, `timestamp`; on
    /// SQLite a plain `INTEGER` is `int*` (64-bit storage either way).
    kind: String,
    nullable: bool,
}

/// An index: its table, whether it is unique, its columns in order, and
/// whether it is partial.
type Index = (String, bool, Vec<String>, bool);

#[derive(Debug, Default)]
struct Schema {
    tables: BTreeMap<String, BTreeMap<String, Column>>,
    indexes: BTreeMap<String, Index>,
}

fn common_type(declared: &str) -> String {
    let d = declared.to_ascii_lowercase();
    match d.as_str() {
        "text" | "character varying" => "text",
        "integer" | "int" | "int4" => "int",
        "bigint" | "int8" => "bigint",
        "boolean" | "bool" => "bool",
        "real" | "double" | "double precision" | "float8" => "double",
        "date" => "date",
        "timestamp" | "timestamp without time zone" => "timestamp",
        other => other,
    }
    .to_owned()
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct SqliteColumn {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Integer)]
    not_null: i32,
    #[diesel(sql_type = Integer)]
    pk: i32,
}

#[derive(QueryableByName)]
struct SqliteIndex {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Integer)]
    is_unique: i32,
    #[diesel(sql_type = Text)]
    origin: String,
    #[diesel(sql_type = Integer)]
    partial: i32,
}

fn sqlite_schema(conn: &mut SqliteConnection) -> Schema {
    let mut schema = Schema::default();
    let tables: Vec<Name> = diesel::sql_query(
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '__diesel%' ORDER BY name",
    )
    .load(conn)
    .unwrap();
    for table in tables.into_iter().map(|t| t.name) {
        let columns: Vec<SqliteColumn> = diesel::sql_query(format!(
            "SELECT name, type AS kind, \"notnull\" AS not_null, pk FROM pragma_table_info('{table}')"
        ))
        .load(conn)
        .unwrap();
        let cols = columns
            .into_iter()
            .map(|c| {
                let kind = match common_type(&c.kind).as_str() {
                    "int" => "int*".to_owned(),
                    other => other.to_owned(),
                };
                (
                    c.name,
                    Column {
                        kind,
                        nullable: c.not_null == 0 && c.pk == 0,
                    },
                )
            })
            .collect();
        schema.tables.insert(table.clone(), cols);
        let indexes: Vec<SqliteIndex> = diesel::sql_query(format!(
            "SELECT name, \"unique\" AS is_unique, origin, partial FROM pragma_index_list('{table}')"
        ))
        .load(conn)
        .unwrap();
        for index in indexes.into_iter().filter(|i| i.origin != "pk") {
            let columns: Vec<Name> = diesel::sql_query(format!(
                "SELECT name FROM pragma_index_info('{}') ORDER BY seqno",
                index.name
            ))
            .load(conn)
            .unwrap();
            schema.indexes.insert(
                index.name,
                (
                    table.clone(),
                    index.is_unique == 1,
                    columns.into_iter().map(|c| c.name).collect(),
                    index.partial == 1,
                ),
            );
        }
    }
    schema
}

#[derive(QueryableByName)]
struct PgColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Text)]
    is_nullable: String,
}

#[derive(QueryableByName)]
struct PgIndex {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    index_name: String,
    #[diesel(sql_type = Bool)]
    is_unique: bool,
    #[diesel(sql_type = Nullable<Text>)]
    predicate: Option<String>,
    #[diesel(sql_type = BigInt)]
    key_count: i64,
    #[diesel(sql_type = Text)]
    definition: String,
}

fn pg_schema(conn: &mut PgConnection) -> Schema {
    let mut schema = Schema::default();
    let columns: Vec<PgColumn> = diesel::sql_query(
        "SELECT c.table_name::text AS table_name, c.column_name::text AS column_name, \
                c.data_type::text AS data_type, c.is_nullable::text AS is_nullable \
         FROM information_schema.columns c \
         JOIN information_schema.tables t USING (table_schema, table_name) \
         WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' \
           AND c.table_name NOT LIKE '\\_\\_diesel%'",
    )
    .load(conn)
    .unwrap();
    for c in columns {
        schema.tables.entry(c.table_name).or_default().insert(
            c.column_name,
            Column {
                kind: common_type(&c.data_type),
                nullable: c.is_nullable == "YES",
            },
        );
    }
    let indexes: Vec<PgIndex> = diesel::sql_query(
        "SELECT t.relname::text AS table_name, i.relname::text AS index_name, \
                ix.indisunique AS is_unique, pg_get_expr(ix.indpred, ix.indrelid) AS predicate, \
                ix.indnkeyatts::bigint AS key_count, pg_get_indexdef(ix.indexrelid) AS definition \
         FROM pg_index ix \
         JOIN pg_class i ON i.oid = ix.indexrelid \
         JOIN pg_class t ON t.oid = ix.indrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE n.nspname = 'public' AND NOT ix.indisprimary \
           AND t.relname NOT LIKE '\\_\\_diesel%'",
    )
    .load(conn)
    .unwrap();
    for index in indexes {
        // The key columns, from the definition's column list `(a, b)`, then
        // those of `INCLUDE (c)`: SQLite has no INCLUDE, so its migrations
        // append such columns to the key and the two compare equal.
        let list = |after: &str| -> Vec<String> {
            index
                .definition
                .split_once(after)
                .and_then(|(_, rest)| rest.split_once(')'))
                .map(|(cols, _)| {
                    cols.split(',')
                        .map(|c| c.trim().trim_matches('"').to_owned())
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut columns = list(" (");
        assert_eq!(
            columns.len() as i64,
            index.key_count,
            "{}",
            index.definition
        );
        columns.extend(list("INCLUDE ("));
        schema.indexes.insert(
            index.index_name,
            (
                index.table_name,
                index.is_unique,
                columns,
                index.predicate.is_some(),
            ),
        );
    }
    schema
}

/// `schema.rs` as the tables and columns it declares.
fn declared_schema() -> BTreeMap<String, BTreeMap<String, Column>> {
    let text = include_str!("../../src/db/schema.rs");
    let mut tables = BTreeMap::new();
    let mut current: Option<(String, BTreeMap<String, Column>)> = None;
    for line in text.lines().map(str::trim) {
        if let Some(head) = line.strip_suffix('{').map(str::trim) {
            if let Some((name, _)) = head.split_once(' ').filter(|_| head.contains('(')) {
                current = Some((name.to_owned(), BTreeMap::new()));
                continue;
            }
        }
        if let Some((column, kind)) = line.trim_end_matches(',').split_once(" -> ") {
            if let Some((_, columns)) = current.as_mut() {
                let (nullable, kind) = match kind.strip_prefix("Nullable<") {
                    Some(inner) => (true, inner.trim_end_matches('>')),
                    None => (false, kind),
                };
                let kind = match kind {
                    "Text" => "text",
                    "Integer" => "int",
                    "BigInt" => "bigint",
                    "Bool" => "bool",
                    "Double" => "double",
                    "Date" => "date",
                    "Timestamp" => "timestamp",
                    other => panic!("schema.rs uses {other}, which the backends do not share"),
                };
                columns.insert(
                    column.to_owned(),
                    Column {
                        kind: kind.to_owned(),
                        nullable,
                    },
                );
            }
        }
        if line == "}" {
            if let Some((name, columns)) = current.take() {
                tables.insert(name, columns);
            }
        }
    }
    tables
}

/// Whether a SQLite column's type (`int*` for INTEGER) is the declared one.
fn same_kind(sqlite: &str, declared: &str) -> bool {
    sqlite == declared || (sqlite == "int*" && (declared == "int" || declared == "bigint"))
}

#[test]
fn both_backends_agree_with_each_other_and_with_schema_rs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("schema.db");
    let db = Db::open(&DatabaseUrl::Sqlite(path.clone()), 1).unwrap();
    db.migrate().unwrap();
    let mut sqlite_conn = SqliteConnection::establish(&path.to_string_lossy()).unwrap();
    let sqlite = sqlite_schema(&mut sqlite_conn);

    let declared = declared_schema();
    assert!(declared.len() > 20, "schema.rs was not read: {declared:?}");
    assert_eq!(
        sqlite.tables.keys().collect::<BTreeSet<_>>(),
        declared.keys().collect::<BTreeSet<_>>(),
        "SQLite tables against schema.rs"
    );
    for (table, columns) in &declared {
        let stored = &sqlite.tables[table];
        assert_eq!(
            stored.keys().collect::<BTreeSet<_>>(),
            columns.keys().collect::<BTreeSet<_>>(),
            "SQLite columns of {table} against schema.rs"
        );
        for (name, column) in columns {
            let s = &stored[name];
            assert!(
                same_kind(&s.kind, &column.kind) && s.nullable == column.nullable,
                "SQLite {table}.{name} is {s:?}, schema.rs says {column:?}"
            );
        }
    }

    let Some(admin) = postgres_admin_url() else {
        return;
    };
    let pg_db = PgDatabase::create(&admin);
    Db::open(&DatabaseUrl::Postgres(pg_db.url.clone()), 1)
        .unwrap()
        .migrate()
        .unwrap();
    let mut pg_conn = PgConnection::establish(&pg_db.url).unwrap();
    let pg = pg_schema(&mut pg_conn);
    assert_eq!(
        pg.tables.keys().collect::<BTreeSet<_>>(),
        declared.keys().collect::<BTreeSet<_>>(),
        "PostgreSQL tables against schema.rs"
    );
    for (table, columns) in &declared {
        assert_eq!(&pg.tables[table], columns, "PostgreSQL columns of {table}");
    }
    assert_eq!(
        sqlite.indexes, pg.indexes,
        "the indexes of the two backends (name → table, unique, columns, partial)"
    );
}

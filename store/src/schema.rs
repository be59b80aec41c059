//! Schema and migrations, rendered from the table registry ([`crate::tables`]).
//!
//! Migrations are numbered, applied in order at start, and recorded in `schema_migrations`. Every
//! statement is idempotent (`IF NOT EXISTS`), so a migration interrupted half-way, or run by two
//! processes at once, is simply run again. Every statement runs on ClickHouse 18.16 and on modern
//! servers (tests run them on both): no TTL, codecs, LowCardinality, DateTime64 or skip indexes here;
//! those go in version-gated migrations when they are needed.
//!
//! Migration `n` is: every column added by `n` to an older table (`ALTER … ADD COLUMN … AFTER`),
//! then every table created by `n` in registry order, each followed by the views that feed it.

use crate::tables::{self, MIGRATIONS, Table, View};

/// One schema migration.
#[derive(Debug, Clone)]
pub struct Migration {
    /// Increasing version number.
    pub version: u32,
    /// Short name, stored with the version.
    pub name: &'static str,
    /// The statements, in order, for the given database.
    pub statements: Vec<Statement>,
}

/// One statement of a migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The SQL.
    pub sql: String,
    /// `(table, column)` when the statement adds that column: 18.16 has no `ADD COLUMN IF NOT
    /// EXISTS`, so the runner skips the statement when the column is there (a migration
    /// interrupted after its `ALTER` then runs again cleanly).
    pub adds_column: Option<(&'static str, &'static str)>,
}

impl From<String> for Statement {
    fn from(sql: String) -> Self {
        Statement {
            sql,
            adds_column: None,
        }
    }
}

/// The statement that creates the database itself (run before any migration).
pub fn create_database(db: &str) -> String {
    format!("CREATE DATABASE IF NOT EXISTS `{db}`")
}

/// The table recording which migrations ran (version 0 of the registry).
pub fn create_migrations_table(db: &str) -> String {
    create_table(db, &tables::schema_migrations(), 0)
}

/// `CREATE TABLE IF NOT EXISTS` for `table` with the columns it had after migration `version`.
pub fn create_table(db: &str, table: &Table, version: u32) -> String {
    let columns = table
        .columns
        .iter()
        .filter(|c| c.since <= version)
        .map(|c| format!("    `{}` {}", c.name, c.ty))
        .collect::<Vec<_>>()
        .join(",\n");
    let mut sql = format!(
        "CREATE TABLE IF NOT EXISTS `{db}`.{} (\n{columns}\n) ENGINE = {}({})",
        table.name,
        table.engine.family(),
        table.engine.args()
    );
    if let Some(p) = &table.partition_by {
        sql.push_str(&format!("\nPARTITION BY {p}"));
    }
    sql.push_str(&format!("\nORDER BY {}", table.order_by));
    if !table.settings.is_empty() {
        let s: Vec<String> = table
            .settings
            .iter()
            .map(|(k, v)| format!("{k} = {v}"))
            .collect();
        sql.push_str(&format!("\nSETTINGS {}", s.join(", ")));
    }
    sql
}

/// `CREATE MATERIALIZED VIEW IF NOT EXISTS` for `view`, writing into `to`.
pub fn create_view(db: &str, view: &View, to: &str) -> String {
    format!(
        "CREATE MATERIALIZED VIEW IF NOT EXISTS `{db}`.{} TO `{db}`.{to} AS\n{}",
        view.name,
        view.select
            .replace("{from}", &format!("`{db}`.{}", view.from))
    )
}

/// All migrations, oldest first.
pub fn migrations(db: &str) -> Vec<Migration> {
    let all = tables::tables();
    MIGRATIONS
        .iter()
        .map(|&(version, name)| {
            let mut statements = Vec::new();
            for t in all.iter().filter(|t| t.since < version) {
                for (i, c) in t.columns.iter().enumerate() {
                    if c.since == version {
                        let after = i.checked_sub(1).map(|j| t.columns[j].name);
                        statements.push(add_column(db, t.name, c.name, c.ty, after));
                    }
                }
            }
            for t in all.iter().filter(|t| t.since == version) {
                statements.push(create_table(db, t, version).into());
                for v in &t.views {
                    statements.push(create_view(db, v, t.name).into());
                }
            }
            Migration {
                version,
                name,
                statements,
            }
        })
        .collect()
}

/// `ALTER TABLE … ADD COLUMN …`, marked as adding `(table, column)` (see
/// [`Statement::adds_column`]).
fn add_column(
    db: &str,
    table: &'static str,
    column: &'static str,
    ty: &str,
    after: Option<&str>,
) -> Statement {
    let place = match after {
        Some(a) => format!(" AFTER `{a}`"),
        None => String::new(),
    };
    Statement {
        sql: format!("ALTER TABLE `{db}`.{table} ADD COLUMN `{column}` {ty}{place}"),
        adds_column: Some((table, column)),
    }
}

/// The statements that turn on insert deduplication for non-replicated tables (modern servers
/// only: 18.16 has no such setting; run after every migration, idempotent), by table.
pub fn dedup_window(db: &str) -> Vec<(&'static str, String)> {
    tables::tables()
        .iter()
        .filter(|t| t.deduplicates())
        .map(|t| {
            (
                t.name,
                format!(
                    "ALTER TABLE `{db}`.{} MODIFY SETTING non_replicated_deduplication_window = 1000",
                    t.name
                ),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn added_columns_are_recognized() {
        let stmt = add_column(
            "db",
            "occurrences",
            "stack_hash",
            "UInt64",
            Some("stacktrace"),
        );
        assert_eq!(stmt.adds_column, Some(("occurrences", "stack_hash")));
        assert_eq!(
            Statement::from("ALTER TABLE `db`.t MODIFY SETTING x = 1".to_string()).adds_column,
            None
        );
        let m2 = &migrations("db")[1].statements;
        assert_eq!(m2[0].adds_column, Some(("occurrences", "stack_hash")));
        assert!(m2[0].sql.ends_with("AFTER `stacktrace`"), "{}", m2[0].sql);
        assert_eq!(m2[1].adds_column, None);
        assert!(
            migrations("db")[0]
                .statements
                .iter()
                .all(|s| s.adds_column.is_none())
        );
    }

    #[test]
    fn migration_one_creates_tables_then_their_views() {
        let m1: Vec<String> = migrations("db")[0]
            .statements
            .iter()
            .map(|s| s.sql.lines().next().unwrap_or_default().to_string())
            .collect();
        assert_eq!(m1.len(), 15);
        assert!(m1[0].starts_with("CREATE TABLE IF NOT EXISTS `db`.occurrences"));
        assert!(m1[2].starts_with(
            "CREATE MATERIALIZED VIEW IF NOT EXISTS `db`.issues_minute_mv TO `db`.issues_minute"
        ));
        assert!(!migrations("db")[0].statements[0].sql.contains("stack_hash"));
    }
}

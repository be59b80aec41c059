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
//!
//! **On a cluster** ([`Cluster`]) the same registry renders differently (the shape Sentry's Snuba,
//! SigNoz, Uptrace and PostHog use): every table is `<table>_local`, the replicated variant of its
//! engine (`Replicated…MergeTree('/clickhouse/tables/{shard}/<db>/<table>', '{replica}')`,
//! created `ON CLUSTER` the replicated cluster), and under the table's own name a `Distributed`
//! table over it, sharded by [`Table::shard_key`] — so queries, the Grafana dashboards and ad-hoc
//! SQL do not change. Views read and write the local tables. `schema_migrations` is one table
//! replicated to every node. Distributed tables and views take their DDL `ON CLUSTER` the DDL
//! cluster (every node its own shard): 18.16 refuses it over a replicated one. Columns are added
//! to the local table, then to the Distributed one.

use crate::Cluster;
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
    pub adds_column: Option<(String, &'static str)>,
}

impl From<String> for Statement {
    fn from(sql: String) -> Self {
        Statement {
            sql,
            adds_column: None,
        }
    }
}

fn on_cluster(name: Option<&str>) -> String {
    name.map(|n| format!(" ON CLUSTER {n}")).unwrap_or_default()
}

/// The statement that creates the database itself (run before any migration).
pub fn create_database(db: &str, cluster: Option<&Cluster>) -> String {
    format!(
        "CREATE DATABASE IF NOT EXISTS `{db}`{}",
        on_cluster(cluster.map(|c| c.ddl.as_str()))
    )
}

/// The table recording which migrations ran (version 0 of the registry); on a cluster, one table
/// replicated to every node.
pub fn create_migrations_table(db: &str, cluster: Option<&Cluster>) -> String {
    let t = tables::schema_migrations();
    match cluster {
        None => create_table(db, &t, 0),
        Some(c) => render_table(
            db,
            &t,
            0,
            t.name,
            &replicated(&t, &format!("/clickhouse/tables/all/{db}/{}", t.name)),
            Some(&c.name),
        ),
    }
}

/// `CREATE TABLE IF NOT EXISTS` for `table` with the columns it had after migration `version`.
pub fn create_table(db: &str, table: &Table, version: u32) -> String {
    render_table(
        db,
        table,
        version,
        table.name,
        &format!("{}({})", table.engine.family(), table.engine.args()),
        None,
    )
}

/// The replicated engine of `table`, its replicas registered under `path`.
fn replicated(table: &Table, path: &str) -> String {
    let args = table.engine.args();
    format!(
        "Replicated{}('{path}', '{{replica}}'{})",
        table.engine.family(),
        if args.is_empty() {
            String::new()
        } else {
            format!(", {args}")
        }
    )
}

fn columns(table: &Table, version: u32) -> String {
    table
        .columns
        .iter()
        .filter(|c| c.since <= version)
        .map(|c| format!("    `{}` {}", c.name, c.ty))
        .collect::<Vec<_>>()
        .join(",\n")
}

fn render_table(
    db: &str,
    table: &Table,
    version: u32,
    name: &str,
    engine: &str,
    cluster: Option<&str>,
) -> String {
    let mut sql = format!(
        "CREATE TABLE IF NOT EXISTS `{db}`.{name}{} (\n{}\n) ENGINE = {engine}",
        on_cluster(cluster),
        columns(table, version)
    );
    if let Some(p) = &table.partition_by {
        sql.push_str(&format!("\nPARTITION BY {p}"));
    }
    sql.push_str(&format!("\nORDER BY {}", table.order_by));
    let mut settings: Vec<String> = table
        .settings
        .iter()
        .map(|(k, v)| format!("{k} = {v}"))
        .collect();
    // Replicated tables drop a replayed block by themselves within this many recent blocks (100
    // by default: with several collectors, a few seconds).
    if engine.starts_with("Replicated") && table.deduplicates() {
        settings.push("replicated_deduplication_window = 1000".into());
    }
    if !settings.is_empty() {
        sql.push_str(&format!("\nSETTINGS {}", settings.join(", ")));
    }
    sql
}

/// The local name of a table on a cluster.
pub fn local(name: &str) -> String {
    format!("{name}_local")
}

/// The statements that create `table` (with its columns after migration `version`): one table on
/// a single server; on a cluster the replicated local table, then the Distributed one.
pub fn create_tables(
    db: &str,
    table: &Table,
    version: u32,
    cluster: Option<&Cluster>,
) -> Vec<String> {
    let Some(c) = cluster else {
        return vec![create_table(db, table, version)];
    };
    let local_name = local(table.name);
    vec![
        render_table(
            db,
            table,
            version,
            &local_name,
            &replicated(
                table,
                &format!("/clickhouse/tables/{{shard}}/{db}/{}", table.name),
            ),
            Some(&c.name),
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS `{db}`.{}{} (\n{}\n) ENGINE = Distributed({}, `{db}`, {local_name}, {})",
            table.name,
            on_cluster(Some(&c.ddl)),
            columns(table, version),
            c.name,
            table.shard_key
        ),
    ]
}

/// `CREATE MATERIALIZED VIEW IF NOT EXISTS` for `view`, writing into `to`.
pub fn create_view(db: &str, view: &View, to: &str) -> String {
    create_view_on(db, view, to, None)
}

/// [`create_view`], on a cluster reading and writing the local tables.
pub fn create_view_on(db: &str, view: &View, to: &str, cluster: Option<&Cluster>) -> String {
    let (from, to) = match cluster {
        None => (view.from.to_string(), to.to_string()),
        Some(_) => (local(view.from), local(to)),
    };
    format!(
        "CREATE MATERIALIZED VIEW IF NOT EXISTS `{db}`.{}{} TO `{db}`.{to} AS\n{}",
        view.name,
        on_cluster(cluster.map(|c| c.ddl.as_str())),
        view.select.replace("{from}", &format!("`{db}`.{from}"))
    )
}

/// All migrations, oldest first, for one server (`None`) or a cluster.
pub fn migrations(db: &str, cluster: Option<&Cluster>) -> Vec<Migration> {
    let all = tables::tables();
    MIGRATIONS
        .iter()
        .map(|&(version, name)| {
            let mut statements = Vec::new();
            for t in all.iter().filter(|t| t.since < version) {
                for (i, c) in t.columns.iter().enumerate() {
                    if c.since == version {
                        let after = i.checked_sub(1).map(|j| t.columns[j].name);
                        match cluster {
                            None => {
                                statements.push(add_column(db, t.name, c.name, c.ty, after, None))
                            }
                            Some(cl) => {
                                statements.push(add_column(
                                    db,
                                    &local(t.name),
                                    c.name,
                                    c.ty,
                                    after,
                                    Some(&cl.name),
                                ));
                                statements.push(add_column(
                                    db,
                                    t.name,
                                    c.name,
                                    c.ty,
                                    after,
                                    Some(&cl.ddl),
                                ));
                            }
                        }
                    }
                }
            }
            for t in all.iter().filter(|t| t.since == version) {
                for sql in create_tables(db, t, version, cluster) {
                    statements.push(sql.into());
                }
                for v in &t.views {
                    statements.push(create_view_on(db, v, t.name, cluster).into());
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
    table: &str,
    column: &'static str,
    ty: &str,
    after: Option<&str>,
    cluster: Option<&str>,
) -> Statement {
    let place = match after {
        Some(a) => format!(" AFTER `{a}`"),
        None => String::new(),
    };
    Statement {
        sql: format!(
            "ALTER TABLE `{db}`.{table}{} ADD COLUMN `{column}` {ty}{place}",
            on_cluster(cluster)
        ),
        adds_column: Some((table.to_string(), column)),
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
            None,
        );
        assert_eq!(
            stmt.adds_column,
            Some(("occurrences".to_string(), "stack_hash"))
        );
        assert_eq!(
            Statement::from("ALTER TABLE `db`.t MODIFY SETTING x = 1".to_string()).adds_column,
            None
        );
        let m2 = &migrations("db", None)[1].statements;
        assert_eq!(
            m2[0].adds_column,
            Some(("occurrences".to_string(), "stack_hash"))
        );
        assert!(m2[0].sql.ends_with("AFTER `stacktrace`"), "{}", m2[0].sql);
        assert_eq!(m2[1].adds_column, None);
        assert!(
            migrations("db", None)[0]
                .statements
                .iter()
                .all(|s| s.adds_column.is_none())
        );
    }

    #[test]
    fn migration_one_creates_tables_then_their_views() {
        let m1: Vec<String> = migrations("db", None)[0]
            .statements
            .iter()
            .map(|s| s.sql.lines().next().unwrap_or_default().to_string())
            .collect();
        assert_eq!(m1.len(), 15);
        assert!(m1[0].starts_with("CREATE TABLE IF NOT EXISTS `db`.occurrences"));
        assert!(m1[2].starts_with(
            "CREATE MATERIALIZED VIEW IF NOT EXISTS `db`.issues_minute_mv TO `db`.issues_minute"
        ));
        assert!(
            !migrations("db", None)[0].statements[0]
                .sql
                .contains("stack_hash")
        );
    }
}

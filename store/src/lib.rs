//! Everything ClickHouse: schema and migrations, row types, the write-ahead spool and the writer
//! that drains it in batches, read queries, and the embedded local server.
//!
//! This is the only crate that writes SQL. Every statement it emits runs on ClickHouse 18.16 (what
//! Debian installs, used by the tests) and on modern servers (23.x–26.x); [`catalog`] lists them all
//! so a test can run each one on both. The `clickhouse` crate runs with validation off (18.16 lacks
//! `RowBinaryWithNamesAndTypes`), so row structs are checked against `DESCRIBE TABLE` by a test.

pub mod alerts;
pub mod cluster;
pub mod embedded;
mod error;
pub mod queries;
pub mod rowbinary;
pub mod rows;
pub mod schema;
pub mod spool;
pub mod tables;
pub mod testing;
pub mod writer;

use std::time::Duration;

pub use error::StoreError;
pub use rows::{
    AlertDeliveryRow, AlertLeaseRow, IssueStateRow, OccurrenceRow, RequestCountRow, StackTraceRow,
};

/// A ClickHouse cluster Faultline's tables live on (see [`schema`]: replicated local tables,
/// Distributed tables under the plain names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    /// The cluster of the servers' `remote_servers` holding the replicated tables (shards of
    /// replicas, `internal_replication` true).
    pub name: String,
    /// A cluster listing every node as its own shard, for the DDL ClickHouse 18.16 refuses
    /// `ON CLUSTER` over a replicated cluster (Distributed tables, views); the main one otherwise.
    pub ddl: String,
}

/// How to reach ClickHouse.
#[derive(Debug, Clone, Default)]
pub struct StoreConfig {
    /// HTTP URL of the server, e.g. `http://127.0.0.1:8123`.
    pub url: String,
    /// Database holding Faultline's tables.
    pub database: String,
    /// User name (empty: the server's default user).
    pub user: String,
    /// Password (never logged).
    pub password: String,
    /// The cluster, when the tables live on one; `None`: one server.
    pub cluster: Option<Cluster>,
}

/// A handle on Faultline's ClickHouse database. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    client: clickhouse::Client,
    database: String,
    cluster: Option<std::sync::Arc<Cluster>>,
    /// `host:port` of the server this store talks to (a node, on a cluster).
    node: std::sync::Arc<str>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("database", &self.database)
            .finish()
    }
}

/// Result of [`Store::ping`].
#[derive(Debug, Clone)]
pub struct ServerInfo {
    /// `SELECT version()`.
    pub version: String,
    /// Server uptime in seconds.
    pub uptime_seconds: u64,
}

impl ServerInfo {
    /// Whether a replayed insert is dropped whole by the server, its views' rows included
    /// (`insert_deduplication_token`, ClickHouse 22.2 and later). On older servers a replay
    /// inserts only the occurrences not already stored (see `writer::dedup`).
    pub fn dedups_replays(&self) -> bool {
        writer::supports_dedup_token(&self.version)
    }
}

impl Store {
    /// Builds a client; does not connect yet.
    pub fn new(cfg: &StoreConfig) -> Self {
        let mut client = clickhouse::Client::default()
            .with_url(&cfg.url)
            .with_validation(false);
        if !cfg.user.is_empty() {
            client = client.with_user(&cfg.user);
        }
        if !cfg.password.is_empty() {
            client = client.with_password(&cfg.password);
        }
        Store {
            client,
            database: cfg.database.clone(),
            cluster: cfg.cluster.clone().map(std::sync::Arc::new),
            node: std::sync::Arc::from(
                cfg.url
                    .split("://")
                    .nth(1)
                    .unwrap_or(&cfg.url)
                    .split('/')
                    .next()
                    .unwrap_or(""),
            ),
        }
    }

    /// `host:port` of the server this store talks to (on a cluster, the node writes go through).
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Name of the database.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// The cluster the tables live on, if any.
    pub fn cluster(&self) -> Option<&Cluster> {
        self.cluster.as_deref()
    }

    pub(crate) fn client(&self) -> &clickhouse::Client {
        &self.client
    }

    /// `SELECT version(), uptime()` under a timeout.
    pub async fn ping(&self, timeout: Duration) -> Result<ServerInfo, StoreError> {
        let q = self.client.query("SELECT version(), toUInt64(uptime())");
        match tokio::time::timeout(timeout, q.fetch_one::<(String, u64)>()).await {
            Ok(Ok((version, uptime_seconds))) => Ok(ServerInfo {
                version,
                uptime_seconds,
            }),
            Ok(Err(e)) => Err(e.into()),
            Err(_) => Err(StoreError::Unavailable(format!(
                "no answer within {} ms",
                timeout.as_millis()
            ))),
        }
    }

    /// Waits until the server answers, up to `total`.
    pub async fn wait_until_up(&self, total: Duration) -> Result<ServerInfo, StoreError> {
        let deadline = tokio::time::Instant::now() + total;
        loop {
            match self.ping(Duration::from_secs(2)).await {
                Ok(info) => return Ok(info),
                Err(e) if tokio::time::Instant::now() >= deadline => return Err(e),
                Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        }
    }

    /// Creates the database and applies every migration not yet recorded. Idempotent.
    pub async fn migrate(&self) -> Result<Vec<u32>, StoreError> {
        let db = &self.database;
        let cluster = self.cluster();
        self.exec(&schema::create_database(db, cluster)).await?;
        self.exec(&schema::create_migrations_table(db, cluster))
            .await?;
        let done: Vec<u32> = self
            .client
            .query(&format!(
                "SELECT DISTINCT version FROM `{db}`.schema_migrations"
            ))
            .fetch_all::<u32>()
            .await?;
        let mut applied = Vec::new();
        for m in schema::migrations(db, cluster) {
            if done.contains(&m.version) {
                continue;
            }
            for stmt in &m.statements {
                if let Some((table, column)) = &stmt.adds_column
                    && self.column_exists(table, column).await?
                {
                    continue;
                }
                self.exec(&stmt.sql).await?;
            }
            self.client
                .query(&format!(
                    "INSERT INTO `{db}`.schema_migrations (version, name, applied_at) VALUES (?, ?, now())"
                ))
                .bind(m.version)
                .bind(m.name)
                .execute()
                .await?;
            tracing::info!(version = m.version, name = m.name, "applied migration");
            applied.push(m.version);
        }
        let info = self.ping(Duration::from_secs(10)).await?;
        // Replicated tables deduplicate replayed blocks by themselves (their window is set at
        // creation); single servers need the setting, where it exists.
        if cluster.is_none() && writer::supports_dedup_token(&info.version) {
            for (_, stmt) in schema::dedup_window(db) {
                self.exec(&stmt).await?;
            }
        }
        Ok(applied)
    }

    async fn column_exists(&self, table: &str, column: &str) -> Result<bool, StoreError> {
        let n: u64 = self
            .client
            .query(
                "SELECT count() FROM system.columns WHERE database = ? AND table = ? AND name = ?",
            )
            .bind(&self.database)
            .bind(table)
            .bind(column)
            .fetch_one()
            .await?;
        Ok(n > 0)
    }

    /// Whether all of Faultline's tables exist.
    pub async fn tables_exist(&self) -> Result<bool, StoreError> {
        let n: u64 = self
            .client
            .query("SELECT count() FROM system.tables WHERE database = ? AND has(?, name)")
            .bind(&self.database)
            .bind(tables::names())
            .fetch_one()
            .await?;
        Ok(n as usize == tables::names().len())
    }

    async fn exec(&self, sql: &str) -> Result<(), StoreError> {
        self.client.query(sql).execute().await.map_err(|e| {
            let e = StoreError::from(e);
            tracing::error!(error = %e, "statement failed");
            e
        })
    }
}

/// Every statement the store can emit (DDL and read queries with sample arguments), named, for
/// the portability tests that run them on 18.16 and on a modern engine.
pub fn catalog(db: &str) -> Vec<(String, String)> {
    let mut out = vec![
        (
            "create_database".to_string(),
            schema::create_database(db, None),
        ),
        (
            "create_migrations_table".to_string(),
            schema::create_migrations_table(db, None),
        ),
    ];
    for m in schema::migrations(db, None) {
        for (i, s) in m.statements.into_iter().enumerate() {
            out.push((format!("migration_{}_{}", m.version, i), s.sql));
        }
    }
    // Modern servers only (names start with `modern_`; the 18.16 test skips them).
    for (t, stmt) in schema::dedup_window(db) {
        out.push((format!("modern_dedup_window_{t}"), stmt));
    }
    out.extend(queries::catalog(db));
    out.extend(alerts::catalog(db));
    out
}

//! What `/health/db` says of a cluster: how many nodes answer, whether ZooKeeper does, and the
//! state of this database's replicas on every node that answers.

use clickhouse::Row;
use serde::Deserialize;

use crate::{Store, StoreError};

/// A cluster's health, as seen from the node Faultline talks to.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ClusterHealth {
    /// The cluster's name.
    pub cluster: String,
    /// Nodes in the DDL cluster (every node).
    pub nodes: u64,
    /// Nodes that answered.
    pub nodes_answering: u64,
    /// Whether ZooKeeper answered this node.
    pub zookeeper: bool,
    /// Replicas of this database's tables, on the nodes that answered.
    pub replicas: u64,
    /// Of them, read-only (no ZooKeeper session: inserts refused).
    pub replicas_read_only: u64,
    /// The largest replication delay, seconds.
    pub max_delay_seconds: u64,
    /// Entries waiting in the replication queues.
    pub queue: u64,
}

#[derive(Debug, Row, Deserialize)]
struct Replicas {
    replicas: u64,
    read_only: u64,
    delay: u64,
    queue: u64,
}

impl ClusterHealth {
    /// Whether anything is wrong: a node silent, ZooKeeper gone, a replica read-only or a
    /// minute behind.
    pub fn degraded(&self) -> bool {
        self.nodes_answering < self.nodes
            || !self.zookeeper
            || self.replicas_read_only > 0
            || self.max_delay_seconds > 60
    }
}

impl Store {
    /// The cluster's health (`None` on a single server).
    pub async fn cluster_health(&self) -> Result<Option<ClusterHealth>, StoreError> {
        let Some(c) = self.cluster() else {
            return Ok(None);
        };
        let nodes: u64 = self
            .client()
            .query("SELECT count() FROM system.clusters WHERE cluster = ?")
            .bind(&c.ddl)
            .fetch_one()
            .await?;
        // One row per node that answers (every node is its own shard in the DDL cluster).
        let answering: u64 = self
            .client()
            .clone()
            .with_setting("skip_unavailable_shards", "1")
            .query(&format!(
                "SELECT count() FROM cluster({}, system.one)",
                c.ddl
            ))
            .fetch_one()
            .await
            .unwrap_or(0);
        let zookeeper = self
            .client()
            .query("SELECT count() FROM system.zookeeper WHERE path = '/'")
            .fetch_one::<u64>()
            .await
            .is_ok();
        let r: Replicas = self
            .client()
            .clone()
            .with_setting("skip_unavailable_shards", "1")
            .query(&format!(
                "SELECT count() AS replicas, toUInt64(countIf(is_readonly OR is_session_expired)) AS read_only, \
                 toUInt64(max(absolute_delay)) AS delay, toUInt64(sum(queue_size)) AS queue \
                 FROM cluster({}, system.replicas) WHERE database = ?",
                c.ddl
            ))
            .bind(self.database())
            .fetch_one()
            .await
            .unwrap_or(Replicas {
                replicas: 0,
                read_only: 0,
                delay: 0,
                queue: 0,
            });
        Ok(Some(ClusterHealth {
            cluster: c.name.clone(),
            nodes,
            nodes_answering: answering,
            zookeeper,
            replicas: r.replicas,
            replicas_read_only: r.read_only,
            max_delay_seconds: r.delay,
            queue: r.queue,
        }))
    }
}

/// What [`Store::convert_to_cluster`] moved.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Conversion {
    /// Tables moved, with the partitions attached to their replicated local table.
    pub tables: Vec<(String, usize)>,
    /// Rows of `occurrences` moved.
    pub occurrences: u64,
}

#[derive(Debug, Row, Deserialize)]
struct Part {
    partition: String,
}

impl Store {
    /// Moves a single-server installation of this database, on the node this store talks to,
    /// onto the cluster: renames every table to `<t>_old` and drops the views, runs the cluster
    /// migrations, attaches every partition of the old tables to the new local tables (hard links;
    /// the node's shard replicas fetch them; rollups move as states), then drops the old tables.
    /// The old data stays on this node's shard, which is correct: reads merge across shards.
    /// Stop the collectors first. Refused when the database is not a single-server one.
    pub async fn convert_to_cluster(&self) -> Result<Conversion, StoreError> {
        if self.cluster().is_none() {
            return Err(StoreError::Local(
                "converting needs the cluster settings (FAULTLINE_CLICKHOUSE_CLUSTER)".into(),
            ));
        }
        let db = self.database().to_string();
        let plain = crate::Store {
            client: self.client().clone(),
            database: db.clone(),
            cluster: None,
            node: self.node.clone(),
        };
        // Bring the single server's schema up to date first, so old and new tables are alike.
        plain.migrate().await?;
        let engines: Vec<(String, String)> = self
            .client()
            .query("SELECT name, engine FROM system.tables WHERE database = ?")
            .bind(&db)
            .fetch_all()
            .await?;
        if engines
            .iter()
            .any(|(_, e)| e.starts_with("Replicated") || e == "Distributed")
        {
            return Err(StoreError::Local(format!(
                "database {db} already holds cluster tables: nothing to convert"
            )));
        }
        // Every table of the registry, `schema_migrations` first.
        let tables: Vec<crate::tables::Table> = crate::tables::tables();
        for t in &tables {
            for v in &t.views {
                self.client()
                    .query(&format!("DROP TABLE IF EXISTS `{db}`.{}", v.name))
                    .execute()
                    .await?;
            }
        }
        for t in &tables {
            self.client()
                .query(&format!(
                    "RENAME TABLE `{db}`.{0} TO `{db}`.{0}_old",
                    t.name
                ))
                .execute()
                .await?;
        }
        self.migrate().await?;
        let mut out = Conversion::default();
        for t in tables.iter().filter(|t| t.name != "schema_migrations") {
            let parts: Vec<Part> = self
                .client()
                .query("SELECT DISTINCT partition FROM system.parts WHERE active AND database = ? AND table = ?")
                .bind(&db)
                .bind(format!("{}_old", t.name))
                .fetch_all()
                .await?;
            for p in &parts {
                // Day partitions are digits; an unpartitioned table's one partition is `tuple()`.
                let expr = if p.partition.chars().all(|c| c.is_ascii_digit()) {
                    p.partition.clone()
                } else {
                    "tuple()".to_string()
                };
                // One part per partition first: 18.16 cannot attach two parts with identical
                // contents in one go (their block ids collide in ZooKeeper).
                self.client()
                    .query(&format!(
                        "OPTIMIZE TABLE `{db}`.{}_old PARTITION {expr} FINAL",
                        t.name
                    ))
                    .execute()
                    .await?;
                self.client()
                    .query(&format!(
                        "ALTER TABLE `{db}`.{} ATTACH PARTITION {expr} FROM `{db}`.{}_old",
                        crate::schema::local(t.name),
                        t.name
                    ))
                    .execute()
                    .await?;
            }
            if t.name == "occurrences" {
                out.occurrences = self
                    .client()
                    .query(&format!("SELECT count() FROM `{db}`.occurrences_old"))
                    .fetch_one()
                    .await?;
            }
            out.tables.push((t.name.to_string(), parts.len()));
        }
        for t in &tables {
            self.client()
                .query(&format!("DROP TABLE IF EXISTS `{db}`.{}_old", t.name))
                .execute()
                .await?;
        }
        Ok(out)
    }
}

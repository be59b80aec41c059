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

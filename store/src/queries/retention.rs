//! Retention's reads: the day partitions of the daily tables older than a cutoff (on a cluster,
//! of their local tables on every shard), and dropping them.

use clickhouse::Row;
use serde::{Deserialize, Serialize};

use super::{Arg, Sql, show};
use crate::{Store, StoreError};

/// Partitions older than a day, per daily table.
#[derive(Debug, Clone, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct PartitionInfo {
    /// Table.
    pub table: String,
    /// Partition id (`YYYYMMDD`).
    pub partition: String,
    /// Rows in it.
    pub rows: u64,
}

/// Day partitions before `before_day` of the daily tables; on a cluster, of their local tables on
/// every shard (`cluster()` reads one replica per shard), named without `_local`.
fn old_partitions_sql(db: &str, before_day: u32, cluster: Option<&str>) -> Sql {
    let daily: Vec<String> = crate::tables::daily()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut sql = Sql::default();
    match cluster {
        None => {
            sql.arg("SELECT table, partition, toUInt64(sum(rows)) AS r FROM system.parts WHERE active AND database = ?", Arg::Str(db.to_string()))
                .arg(" AND has(?, table)", Arg::Strs(daily));
        }
        Some(c) => {
            // `cluster()` takes the cluster's name as an identifier; names are checked at start.
            sql.push(&format!("SELECT replaceRegexpOne(table, '_local$', '') AS base_table, partition, toUInt64(sum(rows)) AS r FROM cluster({c}, system.parts) WHERE active"))
                .arg(" AND database = ?", Arg::Str(db.to_string()))
                .arg(
                    " AND has(?, table)",
                    Arg::Strs(daily.iter().map(|t| crate::schema::local(t)).collect()),
                );
        }
    }
    let name = if cluster.is_some() {
        "base_table"
    } else {
        "table"
    };
    sql.arg(" AND toUInt32OrZero(partition) < ?", Arg::U32(before_day))
        .push(&format!(
            " GROUP BY {name}, partition ORDER BY {name}, partition"
        ));
    sql
}

impl Store {
    /// Drops every daily partition older than `before_day` (`YYYYMMDD`) and returns what it dropped.
    pub async fn drop_partitions_before(
        &self,
        before_day: u32,
    ) -> Result<Vec<PartitionInfo>, StoreError> {
        let cluster = self.cluster().map(|c| c.name.clone());
        let parts: Vec<PartitionInfo> =
            old_partitions_sql(self.database(), before_day, cluster.as_deref())
                .fetch_all(self)
                .await?;
        for p in &parts {
            // Partition ids are digits only (checked), so they are safe to splice.
            if !p.partition.chars().all(|c| c.is_ascii_digit()) {
                continue;
            }
            // On a cluster: the local table, on every node (a replica drops for its shard).
            let sql = match &cluster {
                None => format!(
                    "ALTER TABLE `{}`.`{}` DROP PARTITION {}",
                    self.database(),
                    p.table,
                    p.partition
                ),
                Some(c) => format!(
                    "ALTER TABLE `{}`.`{}` ON CLUSTER {c} DROP PARTITION {}",
                    self.database(),
                    crate::schema::local(&p.table),
                    p.partition
                ),
            };
            self.client().query(&sql).execute().await?;
        }
        Ok(parts)
    }
}

/// The queries of this module with sample arguments.
pub(super) fn catalog(db: &str) -> Vec<(String, String)> {
    vec![(
        "old_partitions".into(),
        show(old_partitions_sql(db, 20_250_101, None)),
    )]
}

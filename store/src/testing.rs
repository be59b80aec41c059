//! Helpers for tests that need a real ClickHouse server (used by every crate's integration tests).
//!
//! The server is `FAULTLINE_TEST_CLICKHOUSE_URL` when set (as `scripts/test.sh` does), otherwise
//! the one `scripts/clickhouse.sh start` starts or finds. Each call gets a fresh database, so tests
//! run in parallel without seeing each other's rows; every such name starts with [`DB_PREFIX`],
//! and `scripts/test.sh` drops those an earlier run left before it runs the tests.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::{Store, StoreConfig};

/// URL of the test server, starting one with `scripts/clickhouse.sh` if needed.
pub fn server_url() -> String {
    if let Ok(url) = std::env::var("FAULTLINE_TEST_CLICKHOUSE_URL")
        && !url.is_empty()
    {
        return url;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/clickhouse.sh");
    let out = std::process::Command::new("bash")
        .arg(script)
        .arg("start")
        .output()
        .expect("run scripts/clickhouse.sh start");
    assert!(
        out.status.success(),
        "scripts/clickhouse.sh start failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// What every test database's name starts with.
pub const DB_PREFIX: &str = "ftest_";

/// A unique database name for one test.
pub fn unique_database(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{DB_PREFIX}{prefix}_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        nanos
    )
}

/// Store configuration for a fresh database on the test server.
pub fn config(prefix: &str) -> StoreConfig {
    StoreConfig {
        url: server_url(),
        database: unique_database(prefix),
        user: String::new(),
        password: String::new(),
        cluster: None,
    }
}

/// A migrated store on a fresh database.
pub async fn store(prefix: &str) -> Store {
    let store = Store::new(&config(prefix));
    store
        .wait_until_up(Duration::from_secs(30))
        .await
        .expect("test ClickHouse answers");
    store.migrate().await.expect("migrations apply");
    store
}

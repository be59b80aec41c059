//! The store against a real ClickHouse server.

use std::time::Duration;

use faultline_store::rows::{OCCURRENCE_COLUMNS, REQUEST_COLUMNS, STACKTRACE_COLUMNS};
use faultline_store::writer::{Batch, Writer, WriterConfig};
use faultline_store::{OccurrenceRow, RequestCountRow, StackTraceRow, Store, StoreConfig, testing};
use tokio_util::sync::CancellationToken;

fn occurrence(project: &str, fp: &str, ts: u32, i: usize) -> OccurrenceRow {
    OccurrenceRow {
        event_id: format!("ev-{fp}-{i}"),
        project: project.into(),
        fingerprint: fp.into(),
        grouping_version: 1,
        timestamp: ts,
        received_at: ts + 1,
        source: "webhook".into(),
        service: "api".into(),
        environment: "prod".into(),
        release: "1.2.3".into(),
        exception_type: "ValueError".into(),
        message: format!("bad value {i} 'quoted' \\ back\nslash ünïcode"),
        stacktrace: "Traceback (most recent call last):\n  File \"x.py\", line 1".into(),
        stack_hash: 0,
        culprit: "x in f".into(),
        severity: "critical".into(),
        http_status: 500,
        http_method: "GET".into(),
        http_route: "/users/{id}".into(),
        url: "https://example.com/users/1?x=1".into(),
        trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
        span_id: "b7ad6b7169203331".into(),
        attr_keys: vec!["a".into(), "b".into()],
        attr_values: vec!["1".into(), "two".into()],
    }
}

async fn describe(store: &Store, table: &str) -> Vec<(String, String)> {
    let sql = format!(
        "SELECT name, type FROM system.columns WHERE database = '{}' AND table = '{table}' FORMAT TabSeparated",
        store.database()
    );
    exec(&sql)
        .await
        .lines()
        .map(|l| {
            let (n, t) = l.split_once('\t').expect("two columns");
            (n.to_string(), t.replace("\\'", "'"))
        })
        .collect()
}

#[tokio::test]
async fn row_structs_match_tables() {
    let store = testing::store("t_rows").await;
    use clickhouse::Row;
    for (table, cols, names) in [
        (
            "occurrences",
            OCCURRENCE_COLUMNS,
            <OccurrenceRow>::COLUMN_NAMES,
        ),
        (
            "requests_minute",
            REQUEST_COLUMNS,
            RequestCountRow::COLUMN_NAMES,
        ),
        (
            "stacktraces",
            STACKTRACE_COLUMNS,
            StackTraceRow::COLUMN_NAMES,
        ),
        (
            "alert_deliveries",
            faultline_store::rows::ALERT_DELIVERY_COLUMNS,
            faultline_store::AlertDeliveryRow::COLUMN_NAMES,
        ),
        (
            "alert_leases",
            faultline_store::rows::ALERT_LEASE_COLUMNS,
            faultline_store::AlertLeaseRow::COLUMN_NAMES,
        ),
    ] {
        let want: Vec<(String, String)> = cols
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect();
        let got = describe(&store, table).await;
        assert_eq!(got, want, "{table}: DESCRIBE differs from the column list");
        let struct_names: Vec<&str> = names.to_vec();
        let list_names: Vec<&str> = cols.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            struct_names, list_names,
            "{table}: row struct differs from the column list"
        );
    }
}

#[tokio::test]
async fn every_registered_table_has_its_declared_columns() {
    let store = testing::store("t_registry").await;
    for t in faultline_store::tables::tables() {
        let want: Vec<(String, String)> = t
            .columns
            .iter()
            .map(|c| (c.name.to_string(), c.ty.to_string()))
            .collect();
        assert_eq!(describe(&store, t.name).await, want, "{}", t.name);
    }
}

#[tokio::test]
async fn migrations_are_idempotent_and_recorded() {
    let store = testing::store("t_migr").await;
    assert!(store.tables_exist().await.expect("tables"));
    // A second run applies nothing and fails nothing.
    assert!(store.migrate().await.expect("again").is_empty());
}

#[tokio::test]
async fn rows_round_trip_and_roll_up() {
    let store = testing::store("t_round").await;
    let ts = 1_760_000_040u32; // a whole minute
    let rows: Vec<_> = (0..5)
        .map(|i| occurrence("shop", "fp1", ts + i as u32 * 30, i))
        .collect();
    store.insert_occurrences(&rows).await.expect("insert");
    let mut back = store
        .occurrences("shop", Some("fp1"), 10)
        .await
        .expect("read");
    back.reverse();
    assert_eq!(back, rows, "every field survives the round trip");
    let totals = store.issue_totals(Some("shop"), &[]).await.expect("totals");
    assert_eq!(totals.len(), 1);
    assert_eq!(totals[0].count, 5);
    assert_eq!(totals[0].first_seen, ts);
    assert_eq!(totals[0].last_seen, ts + 120);
    assert_eq!(totals[0].exception_type, "ValueError");
    assert!(
        totals[0].message.starts_with("bad value 4"),
        "latest message: {}",
        totals[0].message
    );
    // Windows: whole hours from the hour rollup, edges from the minute rollup; same answers.
    use faultline_store::queries::{Dims, Window};
    let dims = Dims {
        project: Some("shop".into()),
        ..Dims::default()
    };
    for (from, to, want) in [
        (ts - 7200, ts + 7200, 5),
        (ts, ts + 60, 2),
        (ts + 60, ts + 121, 2),
        (ts + 60, ts + 180, 3),
        (ts - 86_400 * 3, ts + 86_400 * 3, 5),
        (ts + 180, ts + 86_400, 0),
    ] {
        let got: u64 = store
            .issues_in_window(&dims, Window::new(from, to))
            .await
            .expect("window")
            .iter()
            .map(|i| i.count)
            .sum();
        assert_eq!(got, want, "window {from}..{to}");
    }
    assert_eq!(store.count_occurrences("other").await.expect("count"), 0);
}

/// A writer on `store` with its spool in a temporary directory (kept while the handle lives).
fn spawn_writer(
    store: &Store,
) -> (
    Writer,
    tokio::task::JoinHandle<()>,
    CancellationToken,
    tempfile::TempDir,
) {
    let token = CancellationToken::new();
    let spool = tempfile::tempdir().expect("tempdir");
    let (writer, task) = Writer::spawn(
        store.clone(),
        WriterConfig::new(spool.path()),
        token.clone(),
    )
    .expect("spool");
    (writer, task, token, spool)
}

#[tokio::test]
async fn writer_batches_many_jobs_and_sums_requests() {
    let store = testing::store("t_writer").await;
    let (writer, task, token, _spool) = spawn_writer(&store);
    let mut handles = Vec::new();
    for j in 0..20 {
        let w = writer.clone();
        handles.push(tokio::spawn(async move {
            let batch = Batch {
                occurrences: (0..10)
                    .map(|i| occurrence("p", &format!("fp{}", j % 3), 1_760_000_000, j * 10 + i))
                    .collect(),
                requests: vec![RequestCountRow {
                    project: "p".into(),
                    service: "api".into(),
                    environment: "prod".into(),
                    minute: 1_760_000_040,
                    requests: 3,
                    failed: 1,
                }],
                ..Batch::default()
            };
            w.write(batch).await
        }));
    }
    for h in handles {
        h.await.expect("join").expect("write acknowledged");
    }
    // Acknowledged = on disk; the drainer inserts shortly after.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while store.count_occurrences("p").await.expect("count") < 200 {
        assert!(tokio::time::Instant::now() < deadline, "not drained");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(store.count_occurrences("p").await.expect("count"), 200);
    // Spooled as hand-written RowBinary, read back by the clickhouse crate: every field intact.
    let mut back = store.occurrences("p", None, 500).await.expect("rows");
    back.sort_by(|a, b| a.event_id.cmp(&b.event_id));
    let mut sent: Vec<OccurrenceRow> = (0..20)
        .flat_map(|j| {
            (0..10)
                .map(move |i| occurrence("p", &format!("fp{}", j % 3), 1_760_000_000, j * 10 + i))
        })
        .collect();
    sent.sort_by(|a, b| a.event_id.cmp(&b.event_id));
    assert_eq!(back, sent);
    assert!(writer.spool().oldest_age_ms().is_none(), "spool drained");
    let totals = store.request_totals("p").await.expect("totals");
    assert_eq!(totals.len(), 1);
    assert_eq!((totals[0].requests, totals[0].failed), (60, 20));
    assert!(
        writer
            .stats()
            .batches
            .load(std::sync::atomic::Ordering::Relaxed)
            < 20,
        "jobs were merged"
    );
    token.cancel();
    task.await.expect("writer stops");
}

#[tokio::test]
async fn writer_acknowledges_into_the_spool_while_clickhouse_is_down() {
    // A port nothing listens on.
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    drop(l);
    let store = Store::new(&StoreConfig {
        url: format!("http://127.0.0.1:{port}"),
        database: "nowhere".into(),
        user: String::new(),
        password: String::new(),
        cluster: None,
    });
    let (writer, task, token, _spool) = spawn_writer(&store);
    writer
        .write(Batch {
            occurrences: vec![occurrence("p", "f", 1_760_000_000, 0)],
            ..Batch::default()
        })
        .await
        .expect("acknowledged once on disk");
    assert!(writer.spool().bytes() > 0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        writer.spool().oldest_age_ms().is_some(),
        "still waiting for ClickHouse"
    );
    token.cancel();
    task.await.expect("drainer stops while ClickHouse is down");
}

#[tokio::test]
async fn catalog_statements_run_on_this_server() {
    // Every statement the store can emit, on a fresh database: DDL first, then reads.
    let cfg = testing::config("t_catalog");
    let url = cfg.url.clone();
    let client = reqwest::Client::new();
    let mut dump = String::new();
    for (name, sql) in faultline_store::catalog(&cfg.database) {
        if name.starts_with("modern_") {
            continue;
        }
        let resp = client
            .post(&url)
            .body(sql.clone())
            .send()
            .await
            .expect("send");
        let status = resp.status();
        let text = resp.text().await.expect("text");
        assert!(
            status.is_success(),
            "{name} failed on this server: {text}\n{sql}"
        );
        dump.push_str(&format!("-- {name}\n{sql};\n\n"));
    }
    // Leave the statements for the modern-engine check (scripts/check_sql_modern.py).
    let out = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/sql-catalog.json");
    let stmts: Vec<(String, String)> = faultline_store::catalog("faultline");
    std::fs::write(out, serde_json::to_string_pretty(&stmts).expect("json"))
        .expect("write catalog");
}

/// Runs one statement on the test server.
async fn exec(sql: &str) -> String {
    let resp = reqwest::Client::new()
        .post(testing::server_url())
        .body(sql.to_string())
        .send()
        .await
        .expect("send");
    let ok = resp.status().is_success();
    let text = resp.text().await.expect("text");
    assert!(ok, "{sql}: {text}");
    text
}

#[tokio::test]
async fn an_old_schema_is_upgraded_in_place() {
    // A database as migration 1 left it, with a row in it; then today's migrate.
    let cfg = testing::config("t_upgrade");
    let db = cfg.database.clone();
    exec(&faultline_store::schema::create_database(&db, None)).await;
    exec(&faultline_store::schema::create_migrations_table(&db, None)).await;
    for stmt in &faultline_store::schema::migrations(&db, None)[0].statements {
        exec(&stmt.sql).await;
    }
    exec(&format!(
        "INSERT INTO `{db}`.schema_migrations (version, name, applied_at) VALUES (1, 'initial', now())"
    ))
    .await;
    let store = Store::new(&cfg);
    let before = describe(&store, "occurrences").await;
    assert!(!before.iter().any(|(n, _)| n == "stack_hash"));
    exec(&format!(
        "INSERT INTO `{db}`.occurrences (event_id, project, fingerprint, timestamp, stacktrace) VALUES ('old', 'p', 'f', 1760000000, 'inline trace')"
    ))
    .await;
    assert_eq!(store.migrate().await.expect("upgrade"), vec![2, 3, 4]);
    assert!(store.tables_exist().await.expect("tables"));
    let after = describe(&store, "occurrences").await;
    let want: Vec<(String, String)> = OCCURRENCE_COLUMNS
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
    assert_eq!(after, want, "upgraded table equals a fresh one");
    // The old row still reads, its trace inline.
    let rows = store.occurrences("p", None, 10).await.expect("rows");
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].stacktrace.as_str(), rows[0].stack_hash),
        ("inline trace", 0)
    );
    assert!(store.migrate().await.expect("again").is_empty());
}

#[tokio::test]
async fn each_stack_trace_is_stored_once_a_day_and_read_back_in_full() {
    let store = testing::store("t_stacks").await;
    let (writer, task, token, _spool) = spawn_writer(&store);
    let text =
        "Traceback (most recent call last):\n  File \"app.py\", line 9, in handler\nKeyError: 'x'";
    let day1 = 1_760_000_000u32;
    let day2 = day1 + 86_400;
    // Five requests one after the other, two days, one trace; plus one occurrence without a trace.
    for (j, ts) in [day1, day1, day1, day2, day2].into_iter().enumerate() {
        let occurrences = (0..10)
            .map(|i| {
                let mut o = occurrence("p", "fp", ts + i as u32, j * 10 + i);
                o.stacktrace = text.to_string();
                o.stack_hash = 42;
                o
            })
            .collect();
        writer
            .write(Batch {
                occurrences,
                ..Batch::default()
            })
            .await
            .expect("written");
    }
    let mut bare = occurrence("p", "bare", day1, 99);
    bare.stacktrace.clear();
    writer
        .write(Batch {
            occurrences: vec![bare],
            ..Batch::default()
        })
        .await
        .expect("written");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while writer.spool().oldest_age_ms().is_some()
        || store.count_occurrences("p").await.expect("count") < 51
    {
        assert!(tokio::time::Instant::now() < deadline, "not drained");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let db = store.database().to_string();
    // One text per day, none inline.
    assert_eq!(
        exec(&format!("SELECT day, stack_hash, stacktrace = '{}' FROM `{db}`.stacktraces ORDER BY day FORMAT TabSeparated", text.replace('\'', "\\'").replace('\n', "\\n"))).await,
        "2025-10-09\t42\t1\n2025-10-10\t42\t1\n"
    );
    assert_eq!(
        exec(&format!(
            "SELECT countIf(stacktrace != '') FROM `{db}`.occurrences"
        ))
        .await
        .trim(),
        "0"
    );
    // Readers see the whole text.
    let rows = store.occurrences("p", Some("fp"), 100).await.expect("rows");
    assert_eq!(rows.len(), 50);
    assert!(
        rows.iter()
            .all(|r| r.stacktrace == text && r.stack_hash == 42)
    );
    let latest = store
        .latest_occurrence("p", "fp", day2)
        .await
        .expect("latest")
        .expect("one");
    assert_eq!(latest.stacktrace, text);
    let bare = store
        .occurrences("p", Some("bare"), 10)
        .await
        .expect("bare");
    assert_eq!((bare[0].stacktrace.as_str(), bare[0].stack_hash), ("", 0));
    token.cancel();
    task.await.expect("writer stops");
}

/// Every table and view of a database, with its `DESCRIBE` and `SHOW CREATE` (the database
/// name replaced by `{db}`).
async fn schema_of(db: &str) -> Vec<(String, String, String)> {
    let names = exec(&format!(
        "SELECT name FROM system.tables WHERE database = '{db}' ORDER BY name FORMAT TabSeparated"
    ))
    .await;
    let mut out = Vec::new();
    for name in names.lines() {
        let describe = exec(&format!("DESCRIBE TABLE `{db}`.{name} FORMAT TabSeparated")).await;
        let create = exec(&format!(
            "SHOW CREATE TABLE `{db}`.{name} FORMAT TabSeparated"
        ))
        .await;
        out.push((name.to_string(), describe, create.replace(db, "{db}")));
    }
    out
}

#[tokio::test]
async fn the_registry_creates_what_migrations_1_and_2_created() {
    // The SQL of `schema_migrations` and migrations 1–2 as hand-written before the table registry, on one database;
    // the registry's migrations on another: every table and view equal, column by column.
    let old = testing::config("t_reg_old").database;
    let new = testing::config("t_reg_new");
    let fixture = include_str!("data/migrations_1_2.sql");
    exec(&format!("DROP DATABASE IF EXISTS `{old}`")).await;
    exec(&format!("DROP DATABASE IF EXISTS `{}`", new.database)).await;
    exec(&format!("CREATE DATABASE `{old}`")).await;
    let mut statements = 0;
    for sql in fixture
        .split(";\n\n")
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        exec(&sql.replace("{db}", &old)).await;
        statements += 1;
    }
    assert_eq!(statements, 18, "the fixture is whole");
    Store::new(&new).migrate().await.expect("migrate");
    let before = schema_of(&old).await;
    // Later migrations' tables (3: alerting) are not in the fixture.
    let after: Vec<_> = schema_of(&new.database)
        .await
        .into_iter()
        .filter(|t| before.iter().any(|b| b.0 == t.0))
        .collect();
    assert_eq!(
        before.iter().map(|t| &t.0).collect::<Vec<_>>(),
        after.iter().map(|t| &t.0).collect::<Vec<_>>(),
        "the same tables and views"
    );
    let registry: Vec<_> = faultline_store::tables::tables()
        .into_iter()
        .filter(|t| t.since <= 2)
        .collect();
    let views: usize = registry.iter().map(|t| t.views.len()).sum();
    assert_eq!(before.len(), registry.len() + views, "every table and view");
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(b.1, a.1, "{}: DESCRIBE differs", b.0);
        assert_eq!(b.2, a.2, "{}: SHOW CREATE differs", b.0);
    }
}

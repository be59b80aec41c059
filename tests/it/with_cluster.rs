//! Cluster mode on a real ClickHouse cluster: `scripts/cluster.sh` (a ZooKeeper and four
//! ClickHouse 18.16 nodes, 2 shards × 2 replicas; `scripts/test.sh` starts it and passes the nodes'
//! URLs in `FAULTLINE_TEST_CLUSTER_URLS`: n1, n2 = shard 1, n3, n4 = shard 2).
//!
//! The cluster is shared: the tests take turns (a lock), since one of them stops nodes.
//! - `two_collectors_on_a_sharded_replicated_cluster`: two `faultline serve` on one database
//!   through different nodes, migrating at once; events sent to both; either API sees every
//!   occurrence with exact counts; every issue on exactly one shard and on both of its replicas;
//!   identical request-count batches all counted; retention drops a day on every node.
//! - `alerts_fire_once_across_collectors`: two collectors through different shards, one alert
//!   per new issue (one leader).
//! - `failures_under_load_lose_nothing`: under continuous load, a replica stopped and restarted
//!   (it catches up), ZooKeeper stopped (inserts refused, acknowledged from the spool, resumed
//!   after), the node Faultline writes through stopped (the spool absorbs); every acknowledged
//!   occurrence stored exactly once.

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use faultline_store::{Cluster, Store};
use serde_json::json;

use crate::common::{Server, start_with, test_config};

fn urls() -> Vec<String> {
    let v = std::env::var("FAULTLINE_TEST_CLUSTER_URLS").expect(
        "FAULTLINE_TEST_CLUSTER_URLS: the nodes' URLs (bash scripts/cluster.sh start prints them)",
    );
    v.split(',').map(|s| s.trim().to_string()).collect()
}

/// Drops a test database on every node.
async fn drop_database(node: &str, db: &str) {
    let _ = sql(
        node,
        &format!("DROP DATABASE IF EXISTS `{db}` ON CLUSTER fl_nodes"),
    )
    .await;
}

/// `faultline migrate --cluster-convert` on `db` through `node`, as an operator runs it.
fn convert(node: &str, db: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(["migrate", "--cluster-convert"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("FAULTLINE_CLICKHOUSE_URL", node)
        .env("FAULTLINE_CLICKHOUSE_DATABASE", db)
        .env("FAULTLINE_CLICKHOUSE_CLUSTER", "fl")
        .env("FAULTLINE_CLICKHOUSE_DDL_CLUSTER", "fl_nodes")
        .output()
        .expect("faultline migrate --cluster-convert")
}

/// The tests take turns on the one cluster.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// `scripts/cluster.sh stop-node|start-node NAME`.
fn node(action: &str, name: &str) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/cluster.sh");
    let out = Command::new("bash")
        .args([script, action, name])
        .output()
        .expect("scripts/cluster.sh");
    assert!(
        out.status.success(),
        "cluster.sh {action} {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn cluster() -> Cluster {
    Cluster {
        name: "fl".into(),
        ddl: "fl_nodes".into(),
    }
}

async fn sql(url: &str, q: &str) -> String {
    let r = reqwest::Client::new()
        .post(url)
        .body(q.to_string())
        .send()
        .await
        .expect("send");
    let ok = r.status().is_success();
    let text = r.text().await.expect("text");
    assert!(ok, "{q}: {text}");
    text.trim().to_string()
}

/// A serve process writing through `node`.
async fn serve(node: &str, database: &str, tag: &str) -> Server {
    serve_with(node, database, tag, "", |_| {}).await
}

/// [`serve`] with `projects` and a last change to the configuration.
async fn serve_with(
    node: &str,
    database: &str,
    tag: &str,
    projects: &str,
    change: impl FnOnce(&mut faultline::config::Config),
) -> Server {
    let (mut cfg, mut sc) = test_config(projects);
    cfg.clickhouse_url = node.to_string();
    cfg.clickhouse_database = database.to_string();
    cfg.clickhouse_cluster = "fl".into();
    cfg.clickhouse_ddl_cluster = "fl_nodes".into();
    cfg.data_dir = std::env::temp_dir().join(format!("faultline-{database}-{tag}"));
    let _ = std::fs::remove_dir_all(&cfg.data_dir);
    sc.url = node.to_string();
    sc.database = database.to_string();
    sc.cluster = Some(cluster());
    change(&mut cfg);
    start_with(cfg, &sc).await
}

async fn send(s: &Server, class: &str, i: usize) {
    let body = json!({"message": format!("failure {i}"), "exception_class": class,
        "service": "shop", "http_status": 500,
        "stack_trace": format!("#0 /app/src/{class}.php(3): run()\n#1 /app/src/Kernel.php(9): handle()\n#2 {{main}}")});
    let r = reqwest::Client::new()
        .post(format!("{}/webhook/error/dev", s.http))
        .json(&body)
        .send()
        .await
        .expect("webhook");
    assert_eq!(r.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_collectors_on_a_sharded_replicated_cluster() {
    let _turn = TURN.lock().await;
    let nodes = urls();
    assert_eq!(nodes.len(), 4, "{nodes:?}");
    let db = faultline_store::testing::config("cluster").database;
    // Two processes on one database through nodes of different shards, migrating at once.
    let (a, b) = tokio::join!(serve(&nodes[0], &db, "a"), serve(&nodes[2], &db, "b"));
    for n in &nodes {
        let tables = sql(
            n,
            &format!("SELECT count() FROM system.tables WHERE database = '{db}' AND engine LIKE 'Replicated%'"),
        )
        .await;
        assert_eq!(
            tables,
            faultline_store::tables::names().len().to_string(),
            "{n}"
        );
        // The last migration's record reaches the other replicas by replication (eventually:
        // CI once read `[2,1,3]` on a node right after both processes had migrated).
        let q = format!("SELECT groupUniqArray(version) FROM `{db}`.schema_migrations");
        let versions = sql_until(n, &q, |v| v.contains('4')).await;
        assert!(versions.contains('4'), "{n}: {versions}");
        // Migration 2's ADD COLUMN reached the local and the Distributed table on every node.
        let added = sql(
            n,
            &format!("SELECT count() FROM system.columns WHERE database = '{db}' AND name = 'stack_hash' AND table IN ('occurrences', 'occurrences_local')"),
        )
        .await;
        assert_eq!(added, "2", "{n}");
    }

    // 40 issues, 5 occurrences each, half through each process.
    let classes: Vec<String> = (0..40).map(|i| format!("Failure{i:02}")).collect();
    let mut sent = 0;
    for (i, class) in classes.iter().enumerate() {
        for k in 0..5 {
            let s = if (i + k) % 2 == 0 { &a } else { &b };
            send(s, class, i * 5 + k).await;
            sent += 1;
        }
    }
    let store = Store::new(&faultline_store::StoreConfig {
        url: nodes[1].clone(),
        database: db.clone(),
        cluster: Some(cluster()),
        ..Default::default()
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let n = store.count_occurrences("default").await.expect("count");
        let drained = [&a, &b].iter().all(|s| {
            s.running
                .spool
                .as_ref()
                .is_none_or(|sp| sp.oldest_age_ms().is_none())
        });
        if n >= sent && drained {
            assert_eq!(n, sent, "no occurrence twice");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "stored {n} of {sent}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Either API: every issue, exact counts (rollups through Distributed tables).
    for s in [&a, &b] {
        let list = crate::common::issues(s, "limit=500").await;
        let data = list["data"].as_array().expect("data");
        assert_eq!(data.len(), 40, "{list}");
        assert!(
            data.iter()
                .all(|i| i["total_count"] == 5 && i["count"] == 5),
            "{list}"
        );
    }

    // Every issue on exactly one shard, on both of its replicas.
    let fps = |n: &str| {
        let q = format!(
            "SELECT fingerprint, count() FROM `{db}`.occurrences_local GROUP BY fingerprint ORDER BY fingerprint FORMAT TSV"
        );
        let n = n.to_string();
        async move { sql(&n, &q).await }
    };
    let (s1a, s1b, s2a, s2b) = tokio::join!(
        fps(&nodes[0]),
        fps(&nodes[1]),
        fps(&nodes[2]),
        fps(&nodes[3])
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let (mut s1b, mut s2b) = (s1b, s2b);
    while (s1a != s1b || s2a != s2b) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        s1b = fps(&nodes[1]).await;
        s2b = fps(&nodes[3]).await;
    }
    assert_eq!(s1a, s1b, "replicas of shard 1 agree");
    assert_eq!(s2a, s2b, "replicas of shard 2 agree");
    let set = |t: &str| -> Vec<(String, u64)> {
        t.lines()
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (f, n) = l.split_once('\t').expect("tsv");
                (f.to_string(), n.parse().expect("n"))
            })
            .collect()
    };
    let (shard1, shard2) = (set(&s1a), set(&s2a));
    assert!(
        !shard1.is_empty() && !shard2.is_empty(),
        "both shards hold issues"
    );
    assert_eq!(shard1.len() + shard2.len(), 40);
    assert!(
        shard1
            .iter()
            .all(|(f, _)| shard2.iter().all(|(g, _)| f != g)),
        "no issue on both shards"
    );
    assert!(shard1.iter().chain(&shard2).all(|(_, n)| *n == 5));

    // Identical request-count batches (two drains in one minute) are all counted.
    let minute = faultline_collector::event::now_secs() / 60 * 60;
    let row = faultline_store::RequestCountRow {
        project: "default".into(),
        service: "edge".into(),
        environment: "prod".into(),
        minute,
        requests: 7,
        failed: 1,
    };
    for _ in 0..3 {
        store
            .insert_request_counts(std::slice::from_ref(&row))
            .await
            .expect("counts");
    }
    // Read on the other replica of the shard: it catches up by replication (eventually).
    let q = format!("SELECT sum(requests) FROM `{db}`.requests_minute WHERE service = 'edge'");
    let total = sql_until(&nodes[3], &q, |t| t == "21").await;
    assert_eq!(total, "21", "three identical batches of 7");

    // Retention: a day's partitions dropped on every node.
    let old_day = minute - 40 * 86_400;
    store
        .insert_occurrences(&[faultline_store::OccurrenceRow {
            event_id: "old".into(),
            project: "default".into(),
            fingerprint: "old-issue".into(),
            grouping_version: 2,
            timestamp: old_day,
            received_at: old_day,
            ..Default::default()
        }])
        .await
        .expect("old occurrence");
    let dropped: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/api/v1/cleanup", a.api))
        .json(&json!({"retention_days": 30}))
        .send()
        .await
        .expect("cleanup")
        .json()
        .await
        .expect("json");
    assert_eq!(dropped["occurrences_dropped"], 1, "{dropped}");
    for n in &nodes {
        let left = sql(
            n,
            &format!("SELECT count() FROM `{db}`.occurrences_local WHERE event_id = 'old'"),
        )
        .await;
        assert_eq!(left, "0", "{n}");
    }
    a.running.shutdown().await;
    b.running.shutdown().await;
    drop_database(&nodes[0], &db).await;
}

/// The answer of `q` on `url` once `done` says so, or the last one after 20 s (replicas catch up
/// eventually).
async fn sql_until(url: &str, q: &str, done: impl Fn(&str) -> bool) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut answer = sql(url, q).await;
    while !done(&answer) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        answer = sql(url, q).await;
    }
    answer
}

/// Waits until `count(occurrences)` and `uniqExact(event_id)` through `url` reach `n`.
async fn wait_stored(url: &str, db: &str, n: usize, s: &Server) -> (u64, u64) {
    let q = format!("SELECT count(), uniqExact(event_id) FROM `{db}`.occurrences FORMAT TSV");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let got = sql(url, &q).await;
        let (c, u) = got.split_once('\t').expect("tsv");
        let (c, u): (u64, u64) = (c.parse().expect("n"), u.parse().expect("n"));
        let drained = s
            .running
            .spool
            .as_ref()
            .is_none_or(|sp| sp.oldest_age_ms().is_none());
        if (c as usize >= n && drained) || tokio::time::Instant::now() > deadline {
            return (c, u);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_under_load_lose_nothing() {
    let _turn = TURN.lock().await;
    let nodes = urls();
    let db = faultline_store::testing::config("cluster_faults").database;
    let s = serve(&nodes[0], &db, "faults").await;
    let load = crate::with_clickhouse::faults::Load::start(
        Arc::new(Mutex::new(s.http.clone())),
        2,
        "cluster",
    );
    let pause = |secs| tokio::time::sleep(Duration::from_secs(secs));
    pause(2).await;

    let db_health = |api: String| async move {
        let v: serde_json::Value = reqwest::get(format!("{api}/health/db"))
            .await
            .expect("health/db")
            .json()
            .await
            .expect("json");
        v
    };
    let h = db_health(s.api.clone()).await;
    assert_eq!(h["cluster"]["nodes"], 4, "{h}");
    assert_eq!(h["cluster"]["nodes_answering"], 4, "{h}");
    assert_eq!(h["cluster"]["zookeeper"], true, "{h}");

    // A replica of shard 1 (not the one written through) stops and comes back.
    node("stop-node", "n2");
    pause(3).await;
    let h = db_health(s.api.clone()).await;
    assert_eq!(h["status"], "degraded", "a node is down: {h}");
    assert_eq!(h["cluster"]["nodes_answering"], 3, "{h}");
    node("start-node", "n2");

    // ZooKeeper stops: replicated tables turn read-only, inserts fail (242) and are retried;
    // clients are still acknowledged from the spool.
    let before = load.acked_so_far();
    node("stop-node", "zk");
    pause(6).await;
    let during_zk = load.acked_so_far() - before;
    let h = db_health(s.api.clone()).await;
    assert_eq!(h["status"], "degraded", "ZooKeeper is down: {h}");
    assert_eq!(h["cluster"]["zookeeper"], false, "{h}");
    node("start-node", "zk");

    // The node Faultline writes through stops: the spool absorbs.
    pause(2).await;
    let before = load.acked_so_far();
    node("stop-node", "n1");
    pause(5).await;
    let during_node = load.acked_so_far() - before;
    node("start-node", "n1");
    pause(2).await;
    let (acked, refused) = load.finish().await;
    assert!(
        during_zk > 20,
        "acknowledged while ZooKeeper was down: {during_zk}"
    );
    assert!(
        during_node > 20,
        "acknowledged while the node was down: {during_node}"
    );

    let (count, distinct) = wait_stored(&nodes[0], &db, acked.len(), &s).await;
    assert_eq!(count, distinct, "no occurrence stored twice");
    assert_eq!(
        count as usize,
        acked.len(),
        "every acknowledged occurrence stored (refused {refused})"
    );
    // The restarted replica caught up with its shard.
    let local = |n: String| {
        let q = format!("SELECT count() FROM `{db}`.occurrences_local");
        async move { sql(&n, &q).await }
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (a, b) = tokio::join!(local(nodes[0].clone()), local(nodes[1].clone()));
        if a == b {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "n2 did not catch up: {a} vs {b}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // Insert errors, counted by the node they went to.
    let metrics = reqwest::get(format!("{}/metrics", s.api))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let node_addr = nodes[0].trim_start_matches("http://");
    let errors: u64 = metrics
        .lines()
        .find_map(|l| {
            l.strip_prefix(&format!(
                "faultline_insert_errors_total{{node=\"{node_addr}\"}} "
            ))
        })
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    assert!(errors > 0, "insert errors through {node_addr}:\n{metrics}");
    // No failure of the cluster is taken for bad data (rows set aside in spool/rejected).
    assert!(
        metrics
            .lines()
            .any(|l| l == "faultline_storage_rejected_rows_total 0"),
        "{metrics}"
    );
    println!(
        "cluster faults: acked={} during_zookeeper_outage={during_zk} during_node_outage={during_node} refused={refused} stored={count}",
        acked.len()
    );
    s.running.shutdown().await;
    // ClickHouse 18.16's DDL worker can stop for good after a ZooKeeper session expired ("DDL
    // task … should be processed, but it was already processed according to ZK"), which leaves
    // ON CLUSTER DDL waiting on that node until it restarts. Restart every node so the cluster
    // is whole for the next test (README, Cluster: the same advice for operators).
    for n in ["n1", "n2", "n3", "n4"] {
        node("stop-node", n);
        node("start-node", n);
    }
    drop_database(&nodes[0], &db).await;
}

/// The same events into a single server and into the cluster: the API and every Grafana query
/// give the same answers (the queries read the Distributed tables under the same names).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_answers_as_a_single_server() {
    let _turn = TURN.lock().await;
    let nodes = urls();
    let db = faultline_store::testing::config("cluster_same").database;
    let c = serve(&nodes[0], &db, "same").await;
    let single = crate::common::start("").await;
    let now = faultline_collector::event::now_secs();
    let http = reqwest::Client::new();
    let mut sent = 0u64;
    for i in 0..30u32 {
        for k in 0..(1 + i % 4) {
            let ts = now - 600 - (i * 7919 + k * 3571) % (3 * 86_400);
            let t = time::OffsetDateTime::from_unix_timestamp(i64::from(ts))
                .expect("ts")
                .format(&time::format_description::well_known::Rfc3339)
                .expect("fmt");
            let (svc, env, status) = [
                ("api", "prod", 500),
                ("web", "staging", 404),
                ("worker", "prod", 0),
            ][(i % 3) as usize];
            let body = json!({"event_id": format!("ev-{i}-{k}"), "message": format!("failure {i}"),
                "exception_class": format!("Failure{i:02}"), "service": svc, "environment": env,
                "release": format!("1.{}", i % 2), "http_status": status, "timestamp": t,
                "request": {"route": format!("/r/{}", i % 5), "url": format!("https://x.example/r/{}", i % 5)},
                "stack_trace": format!("#0 /app/src/{svc}.php(10): run{i}()\n#1 {{main}}")});
            for s in [&c, &single] {
                let r = http
                    .post(format!("{}/webhook/error/dev", s.http))
                    .json(&body)
                    .send()
                    .await
                    .expect("webhook");
                assert_eq!(r.status(), 200);
            }
            sent += 1;
        }
    }
    crate::common::wait_count(&single, "default", sent).await;
    wait_stored(&nodes[1], &db, sent as usize, &c).await;

    // The API, path by path (the latest occurrence's ingest time is each server's own).
    let get = |base: String, path: String| async move {
        let mut v: serde_json::Value = reqwest::get(format!("{base}{path}"))
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        if let Some(latest) = v.get_mut("latest").and_then(|l| l.as_object_mut()) {
            latest.remove("received_at");
        }
        v
    };
    let list = get(
        single.api.clone(),
        "/api/v1/errors?limit=500&sort=count".into(),
    )
    .await;
    let mut paths: Vec<String> = [
        "/api/v1/errors?limit=500&sort=count",
        "/api/v1/errors?since=1d&sort=first_seen&order=asc",
        "/api/v1/errors?http_status=404&since=7d",
        "/api/v1/metrics?period=7d",
        "/api/v1/top-errors?period=7d",
        "/api/v1/frequent-404s?period=7d",
        "/api/v1/error-rate?step=1h",
        "/api/v1/projects",
        "/api/v1/projects/default/facets?days=7",
    ]
    .iter()
    .map(|p| p.to_string())
    .collect();
    for issue in list["data"].as_array().expect("data").iter().take(5) {
        paths.push(format!(
            "/api/v1/errors/{}?project=default",
            issue["fingerprint"].as_str().expect("fp")
        ));
    }
    for p in &paths {
        let (a, b) = tokio::join!(
            get(single.api.clone(), p.clone()),
            get(c.api.clone(), p.clone())
        );
        assert_eq!(a, b, "{p}");
    }

    // Every Grafana panel and variable query.
    let (from, to) = (now - 7 * 86_400, now);
    let mut vars: std::collections::HashMap<&str, Vec<String>> = std::collections::HashMap::new();
    vars.insert("project", vec!["default".into()]);
    let run = |url: String, db: String, q: String| async move {
        let r = reqwest::Client::new()
            .post(format!("{url}/?database={db}"))
            .body(format!("{q}\nFORMAT JSONCompact"))
            .send()
            .await
            .expect("send");
        let ok = r.status().is_success();
        let text = r.text().await.expect("text");
        assert!(ok, "{text}\n{q}");
        let v: serde_json::Value = serde_json::from_str(&text).expect("json");
        let mut rows: Vec<String> = v["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|r| r.to_string())
            .collect();
        rows.sort();
        rows
    };
    let single_url = faultline_store::testing::server_url();
    let single_db = single.store.database().to_string();
    let mut compared = 0;
    for (name, text) in crate::grafana::DASHBOARDS {
        let d = crate::grafana::parse(name, text);
        // Variables first, in order: "All" of each is every option its query returns.
        for v in d["templating"]["list"].as_array().expect("list") {
            if v["type"] != "query" {
                continue;
            }
            let vname = v["name"].as_str().expect("name");
            let q =
                crate::grafana::expand(v["query"].as_str().expect("query"), from, to, 3600, &vars);
            let rows = run(single_url.clone(), single_db.clone(), q).await;
            let options: Vec<String> = rows
                .iter()
                .filter_map(|r| {
                    let v: serde_json::Value = serde_json::from_str(r).ok()?;
                    v.get(0)?.as_str().map(String::from)
                })
                .collect();
            if vname != "project" && !options.is_empty() {
                let leaked: &'static str = Box::leak(vname.to_string().into_boxed_str());
                vars.insert(leaked, options);
            }
        }
        for (label, q, _) in crate::grafana::queries(&d) {
            let q = crate::grafana::expand(&q, from, to, 3600, &vars);
            if q.contains('$') {
                continue; // a variable-dependent query this dataset does not fill
            }
            let (a, b) = tokio::join!(
                run(single_url.clone(), single_db.clone(), q.clone()),
                run(nodes[1].clone(), db.clone(), q.clone())
            );
            assert_eq!(a, b, "{name} {label}\n{q}");
            compared += 1;
        }
    }
    assert!(compared > 10, "{compared} Grafana queries compared");
    // And every read statement of the store's catalog runs on the cluster's tables.
    let mut ran = 0;
    for (name, q) in faultline_store::catalog(&db) {
        if name.starts_with("migration_")
            || name.starts_with("modern_")
            || name.starts_with("create_")
        {
            continue;
        }
        sql(&nodes[1], &q).await;
        ran += 1;
    }
    assert!(ran > 30, "{ran} catalog statements");
    println!(
        "cluster vs single server: {} API paths and {compared} Grafana queries alike",
        paths.len()
    );
    c.running.shutdown().await;
    single.running.shutdown().await;
    drop_database(&nodes[0], &db).await;
}

/// `faultline migrate --cluster-convert`: a single-server installation on one node moves onto the
/// cluster, its occurrences, rollups and triage state kept, and new events add to them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_server_moves_onto_the_cluster() {
    let _turn = TURN.lock().await;
    let nodes = urls();
    let db = faultline_store::testing::config("cluster_convert").database;
    // A single-server installation on n1.
    let (mut cfg, mut sc) = test_config("");
    cfg.clickhouse_url = nodes[0].clone();
    cfg.clickhouse_database = db.clone();
    cfg.data_dir = std::env::temp_dir().join(format!("faultline-{db}-single"));
    sc.url = nodes[0].clone();
    sc.database = db.clone();
    let single = start_with(cfg, &sc).await;
    for i in 0..30 {
        send(&single, &format!("Old{:02}", i % 6), i).await;
    }
    crate::common::wait_count(&single, "default", 30).await;
    let list = crate::common::issues(&single, "limit=50&sort=type").await;
    let resolved = list["data"][0]["fingerprint"]
        .as_str()
        .expect("fp")
        .to_string();
    let r = reqwest::Client::new()
        .put(format!(
            "{}/api/v1/errors/{resolved}/status?project=default",
            single.api
        ))
        .json(&json!({"status": "resolved", "by": "ops"}))
        .send()
        .await
        .expect("resolve");
    assert_eq!(r.status(), 200);
    single.running.shutdown().await;

    // The real command.
    let out = convert(&nodes[0], &db);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("30 occurrences"), "{text}");
    // Again: refused, nothing to convert.
    let again = convert(&nodes[0], &db);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds cluster tables"));

    // Through a node of the other shard: everything there, the triage state too.
    let c = serve(&nodes[2], &db, "converted").await;
    let list = crate::common::issues(&c, "limit=50").await;
    let data = list["data"].as_array().expect("data");
    assert_eq!(data.len(), 6, "{list}");
    assert_eq!(
        data.iter()
            .map(|i| i["total_count"].as_u64().expect("n"))
            .sum::<u64>(),
        30,
        "{list}"
    );
    let one = data
        .iter()
        .find(|i| i["fingerprint"] == resolved.as_str())
        .expect("the resolved issue");
    assert_eq!(one["status"], "resolved", "{one}");
    // New events add to the moved ones; the other replica of the old node's shard has them.
    for i in 30..40 {
        send(&c, &format!("Old{:02}", i % 6), i).await;
    }
    wait_stored(&nodes[1], &db, 40, &c).await;
    let store = Store::new(&faultline_store::StoreConfig {
        url: nodes[3].clone(),
        database: db.clone(),
        cluster: Some(cluster()),
        ..Default::default()
    });
    assert_eq!(store.count_occurrences("default").await.expect("count"), 40);
    let q = format!("SELECT count() FROM `{db}`.occurrences_local");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (a, b) = tokio::join!(sql(&nodes[0], &q), sql(&nodes[1], &q));
        if a == b {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "n2 did not fetch the moved parts: {a} vs {b}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    c.running.shutdown().await;
    drop_database(&nodes[0], &db).await;
}

/// Two collectors through nodes of different shards, each evaluating alerts: every new issue is
/// alerted once (one leader, its lease in a replicated, sharded table).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_fire_once_across_collectors() {
    use crate::with_clickhouse::alerts::{
        PROJECTS, Receiver, leaders, rule, send, webhook_channel,
    };
    let _turn = TURN.lock().await;
    let nodes = urls();
    let db = faultline_store::testing::config("cluster_alerts").database;
    let (rx, url) = Receiver::start(&[]).await;
    let alerts = |cfg: &mut faultline::config::Config| {
        cfg.alerts = faultline_alerts::config::AlertsConfig {
            channels: vec![webhook_channel("hook", &url)],
            rules: vec![rule("new issues", "new_issue", &["hook"])],
            retry_for: None,
        };
        cfg.public_url = "https://faultline.example".into();
    };
    let (s1, s2) = tokio::join!(
        serve_with(&nodes[0], &db, "alerts-1", PROJECTS, alerts),
        serve_with(&nodes[2], &db, "alerts-2", PROJECTS, alerts)
    );
    let classes = ["Alpha", "Beta", "Gamma", "Delta", "Epsilon", "Zeta"];
    for (i, class) in classes.iter().enumerate() {
        send(if i % 2 == 0 { &s1 } else { &s2 }, class).await;
    }
    rx.wait_delivered("new_issue", classes.len()).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        rx.delivered("new_issue").len(),
        classes.len(),
        "one alert per issue across both collectors"
    );
    let leaders = leaders(&[&s1, &s2]).await;
    assert_eq!(leaders, 1);
    s1.running.shutdown().await;
    s2.running.shutdown().await;
    drop_database(&nodes[0], &db).await;
}

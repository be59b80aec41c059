//! The grouping upgrade on a real server and ClickHouse: an issue created by grouping v1 keeps
//! its new occurrences (stored under the v1 fingerprint, `grouping_version` 1), a new bug gets a
//! v2 fingerprint, and with the transition off the old issue is not looked for.

use std::time::Duration;

use faultline_collector::fingerprint::{GroupingInput, Stack, fingerprint, fingerprint_v1};
use faultline_store::{OccurrenceRow, Store};

use crate::common::{start_with, test_config, wait_count};

const TRACE: &str = "Traceback (most recent call last):\n  File \"/srv/app/main.py\", line 3, in <module>\n    run()\n  File \"/srv/app/shop/views.py\", line 12, in checkout\n    cart.add(sku)\n  File \"/srv/app/shop/cart.py\", line 9, in add\n    self.items[sku] += 1\nKeyError: 'sku-1'";

fn input(trace: &str) -> GroupingInput<'_> {
    GroupingInput {
        project: "default",
        service: "shop",
        exception_type: "KeyError",
        message: "'sku-1'",
        stack: Stack::Text(trace),
        ..GroupingInput::default()
    }
}

async fn transition_issues(s: &crate::common::Server) -> u64 {
    crate::common::metric(s, "faultline_grouping_transition_issues")
        .await
        .unwrap_or(0)
}

async fn send(http: &str, trace: &str) -> serde_json::Value {
    reqwest::Client::new()
        .post(format!("{http}/webhook/error/dev"))
        .json(
            &serde_json::json!({"message": "'sku-1'", "exception_class": "KeyError",
            "stack_trace": trace, "service": "shop"}),
        )
        .send()
        .await
        .expect("webhook")
        .json()
        .await
        .expect("ack")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issues_of_the_old_version_keep_their_occurrences() {
    let (cfg, sc) = test_config("");
    let store = Store::new(&sc);
    store.migrate().await.expect("migrate");
    // An issue as grouping v1 created it before the upgrade.
    let v1 = fingerprint_v1(&input(TRACE));
    let v2 = fingerprint(&input(TRACE)).fingerprint;
    assert_ne!(v1, v2);
    let now = faultline_collector::event::now_secs();
    store
        .insert_occurrences(&[OccurrenceRow {
            event_id: "before-upgrade".into(),
            project: "default".into(),
            fingerprint: v1.clone(),
            grouping_version: 1,
            timestamp: now - 3600,
            received_at: now - 3600,
            service: "shop".into(),
            exception_type: "KeyError".into(),
            message: "'sku-1'".into(),
            ..OccurrenceRow::default()
        }])
        .await
        .expect("old occurrence");

    let s = start_with(cfg, &sc).await;
    // The transition has read the known issues.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while transition_issues(&s).await < 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "known issues not loaded"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The same bug: the old issue, as version 1.
    let ack = send(&s.http, TRACE).await;
    assert_eq!(ack["fingerprint"], v1.as_str(), "{ack}");
    // A new bug: v2.
    let other = TRACE.replace("in add", "in remove");
    let ack = send(&s.http, &other).await;
    assert_eq!(
        ack["fingerprint"],
        fingerprint(&input(&other)).fingerprint.as_str()
    );
    wait_count(&s, "default", 3).await;
    let rows = s
        .store
        .occurrences("default", None, 10)
        .await
        .expect("rows");
    let mut versions: Vec<(String, u8)> = rows
        .iter()
        .map(|r| (r.fingerprint.clone(), r.grouping_version))
        .collect();
    versions.sort();
    let mut want = vec![
        (v1.clone(), 1),
        (v1.clone(), 1),
        (fingerprint(&input(&other)).fingerprint, 2),
    ];
    want.sort();
    assert_eq!(versions, want);
    // One issue for the old bug in the API, with both occurrences.
    let issue = crate::common::api_json(&s, &format!("/api/v1/errors/{v1}")).await;
    assert_eq!(issue["total_count"], 2, "{issue}");
    s.running.shutdown().await;

    // With the transition off, the same bug gets its v2 fingerprint.
    let (mut cfg, _) = test_config("");
    cfg.clickhouse_database = sc.database.clone();
    cfg.data_dir = std::env::temp_dir().join(format!("faultline-{}-off", sc.database));
    cfg.grouping_transition_days = 0;
    let s = start_with(cfg, &sc).await;
    assert_eq!(send(&s.http, TRACE).await["fingerprint"], v2.as_str());
    assert_eq!(transition_issues(&s).await, 0);
    s.running.shutdown().await;
}

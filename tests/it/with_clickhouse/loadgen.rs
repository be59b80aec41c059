//! `faultline loadgen` against a real server: every protocol's requests are acknowledged and
//! every event arrives (what `bench/ingest.sh` counts on).

use faultline::loadgen::{Args, Protocol, run};

use crate::common::{start, wait_count};

fn args(protocol: Protocol, endpoint: &str, batch: usize) -> Args {
    Args {
        protocol,
        endpoint: Some(endpoint.to_string()),
        token: "dev".into(),
        count: Some(40),
        duration: None,
        rate: None,
        concurrency: 4,
        batch,
        spans_per_error: 1,
        sentry_project_id: 1,
        quiet: true,
        print_sentry_events: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_protocol_is_acknowledged_and_stored() {
    // Development mode: any token, project `default`.
    let s = start("").await;
    let mut sent = 0;
    for (protocol, batch) in [
        (Protocol::Grpc, 10),
        (Protocol::HttpProto, 10),
        (Protocol::HttpJson, 10),
        (Protocol::Webhook, 10),
        (Protocol::Webhook, 1),
        (Protocol::Sentry, 1),
    ] {
        let endpoint = if protocol == Protocol::Grpc {
            &s.grpc
        } else {
            &s.http
        };
        let report = run(args(protocol, endpoint, batch))
            .await
            .expect("load runs");
        assert_eq!(
            (report.acked, report.rejected),
            (40, 0),
            "{protocol:?} with {batch} per request"
        );
        sent += 40;
        wait_count(&s, "default", sent).await;
    }
    // Requests nobody answers are counted as rejected, not acknowledged.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}", l.local_addr().expect("addr"))
    };
    let mut unanswered = args(Protocol::Sentry, &closed, 1);
    unanswered.count = Some(3);
    let report = run(unanswered).await.expect("load runs");
    assert_eq!((report.acked, report.rejected), (0, 3));
    // A base URL the HTTP senders cannot use is refused before anything is sent.
    let err = run(args(Protocol::Webhook, "https://127.0.0.1:1", 1))
        .await
        .expect_err("https is refused");
    assert!(err.to_string().contains("http://"), "{err}");
}

//! The write-ahead spool on a real file system: durability before acknowledgement, group commit,
//! order, confirmation, bounds, and recovery after a crash (torn tail, range in flight).

#![allow(missing_docs)]

use std::io::Write;

use faultline_store::spool::{Pos, Spool, SpoolConfig, SpoolError};

fn config(dir: &std::path::Path, max_bytes: u64, segment_bytes: u64) -> SpoolConfig {
    SpoolConfig {
        dir: dir.to_path_buf(),
        max_bytes,
        segment_bytes,
    }
}

fn payloads(spool: &Spool) -> Vec<Vec<u8>> {
    spool
        .read(usize::MAX, usize::MAX)
        .expect("read")
        .into_iter()
        .map(|r| r.payload)
        .collect()
}

#[tokio::test]
async fn concurrent_appends_share_fsyncs_and_read_back_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spool = Spool::open(config(dir.path(), 1 << 30, 1 << 20)).expect("open");
    let mut tasks = Vec::new();
    for i in 0..200u32 {
        let s = spool.clone();
        tasks.push(tokio::spawn(async move {
            s.append(format!("batch {i}").into_bytes()).await
        }));
    }
    for t in tasks {
        t.await.expect("join").expect("durable");
    }
    let (commits, records) = spool.commit_counts();
    assert_eq!(records, 200);
    assert!(
        commits < 200,
        "group commit: {commits} fsyncs for 200 appends"
    );
    let mut got: Vec<String> = payloads(&spool)
        .into_iter()
        .map(|p| String::from_utf8(p).expect("utf8"))
        .collect();
    got.sort();
    let mut want: Vec<String> = (0..200).map(|i| format!("batch {i}")).collect();
    want.sort();
    assert_eq!(got, want);
}

#[tokio::test]
async fn unconfirmed_records_survive_a_restart_and_confirmed_segments_are_deleted() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Small segments so that the records span several files.
    let spool = Spool::open(config(dir.path(), 1 << 30, 4096)).expect("open");
    for i in 0..100u32 {
        spool.append(vec![i as u8; 500]).await.expect("append");
    }
    let first = spool.read(40, usize::MAX).expect("read");
    assert_eq!(first.len(), 40);
    let upto = first.last().expect("some").next;
    spool.confirm(upto).expect("confirm");
    let segments = |d: &std::path::Path| {
        std::fs::read_dir(d)
            .expect("dir")
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".seg"))
            })
            .count()
    };
    let before = segments(dir.path());
    drop(spool);

    let spool = Spool::open(config(dir.path(), 1 << 30, 4096)).expect("reopen");
    let rest = payloads(&spool);
    assert_eq!(rest.len(), 60, "exactly the unconfirmed records come back");
    assert_eq!(rest[0], vec![40u8; 500]);
    assert!(
        before < 100 * 516 / 4096 + 2,
        "confirmed segments were deleted"
    );
}

#[tokio::test]
async fn confirmed_to_the_end_of_a_segment_still_reports_the_records_left() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spool = Spool::open(config(dir.path(), 1 << 30, 4096)).expect("open");
    for i in 0..20u32 {
        spool.append(vec![i as u8; 500]).await.expect("append");
    }
    let all = spool.read(usize::MAX, usize::MAX).expect("read");
    // The last record of the first segment: its end is the end of that file.
    let i = all
        .windows(2)
        .position(|w| w[1].pos.segment != w[0].pos.segment)
        .expect("records span segments");
    spool.confirm(all[i].next).expect("confirm");
    assert!(
        spool.oldest_age_ms().is_some(),
        "{} records are left in the next segment",
        all.len() - i - 1
    );
    spool
        .confirm(all.last().expect("some").next)
        .expect("confirm all");
    assert_eq!(spool.oldest_age_ms(), None);
}

#[tokio::test]
async fn a_torn_last_record_is_cut_and_everything_before_it_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let spool = Spool::open(config(dir.path(), 1 << 30, 1 << 20)).expect("open");
        for i in 0..5u8 {
            spool.append(vec![i; 100]).await.expect("append");
        }
    }
    // A crash in the middle of an append leaves half a record at the end of the segment.
    let seg = std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(Result::ok)
        .find(|e| e.file_name().to_string_lossy().ends_with(".seg"))
        .expect("segment")
        .path();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&seg)
        .expect("open segment");
    f.write_all(&[200, 0, 0, 0, 1, 2, 3]).expect("torn write");
    drop(f);

    let spool = Spool::open(config(dir.path(), 1 << 30, 1 << 20)).expect("reopen");
    let got = payloads(&spool);
    assert_eq!(got.len(), 5);
    assert_eq!(got[4], vec![4u8; 100]);
    // And appending goes on after the cut.
    spool.append(b"after".to_vec()).await.expect("append");
    assert_eq!(payloads(&spool), vec![b"after".to_vec()]);
}

#[tokio::test]
async fn a_full_spool_refuses_at_once_and_takes_again_after_confirming() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spool = Spool::open(config(dir.path(), 2000, 1000)).expect("open");
    let mut accepted = 0;
    let err = loop {
        match spool.append(vec![7u8; 300]).await {
            Ok(()) => accepted += 1,
            Err(e) => break e,
        }
    };
    assert!(matches!(err, SpoolError::Full { .. }), "{err}");
    assert!(accepted >= 5, "{accepted}");
    assert!(spool.bytes() <= 2000);
    // Draining frees room.
    let all = spool.read(usize::MAX, usize::MAX).expect("read");
    assert_eq!(all.len(), accepted);
    spool
        .confirm(all.last().expect("some").next)
        .expect("confirm");
    spool.append(vec![1u8; 300]).await.expect("room again");
}

#[test]
fn append_then_answers_once_from_the_committer_after_the_fsync_or_at_once_when_refused() {
    use std::sync::mpsc;
    let dir = tempfile::tempdir().expect("tempdir");
    let spool = Spool::open(config(dir.path(), 2000, 1 << 20)).expect("open");
    let caller = std::thread::current().id();
    let (tx, rx) = mpsc::channel();
    // From plain threads (as ingest jobs call it): no runtime needed.
    let mut threads = Vec::new();
    for i in 0..4u8 {
        let (s, tx) = (spool.clone(), tx.clone());
        threads.push(std::thread::spawn(move || {
            let expected = s.expect();
            let on = std::thread::current().id();
            s.append_then(
                vec![i; 100],
                Some(expected),
                Box::new(move |r| {
                    let _ = tx.send((i, r, std::thread::current().id() != on));
                }),
            );
        }));
    }
    for t in threads {
        t.join().expect("thread");
    }
    let mut answers: Vec<(u8, Result<(), SpoolError>, bool)> =
        (0..4).map(|_| rx.recv().expect("answered")).collect();
    answers.sort_by_key(|a| a.0);
    for (i, r, elsewhere) in &answers {
        assert!(r.is_ok(), "append {i}: {r:?}");
        assert!(
            elsewhere,
            "append {i} was answered on the committer's thread"
        );
    }
    // Durable when answered: read back whole.
    let mut back = payloads(&spool);
    back.sort();
    assert_eq!(back, (0..4u8).map(|i| vec![i; 100]).collect::<Vec<_>>());
    // Full: refused at once, on the caller's thread, exactly once; nothing written.
    let bytes = spool.bytes();
    let (tx, rx) = mpsc::channel();
    spool.append_then(
        vec![9; 5000],
        None,
        Box::new(move |r| {
            let _ = tx.send((r, std::thread::current().id()));
        }),
    );
    let (r, on) = rx.recv().expect("answered");
    assert!(matches!(r, Err(SpoolError::Full { .. })), "{r:?}");
    assert_eq!(on, caller);
    assert!(
        rx.recv_timeout(std::time::Duration::from_millis(200))
            .is_err()
    );
    assert_eq!(spool.bytes(), bytes);
}

#[tokio::test]
async fn the_range_in_flight_at_a_crash_is_replayed_as_the_same_range() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (from, to) = {
        let spool = Spool::open(config(dir.path(), 1 << 30, 1 << 20)).expect("open");
        for i in 0..10u8 {
            spool.append(vec![i; 10]).await.expect("append");
        }
        let recs = spool.read(4, usize::MAX).expect("read");
        let (from, to) = (recs[0].pos, recs[3].next);
        spool.begin(from, to).expect("begin");
        // Crash: neither confirmed nor ended.
        (from, to)
    };
    let spool = Spool::open(config(dir.path(), 1 << 30, 1 << 20)).expect("reopen");
    assert_eq!(spool.inflight(), Some((from, to)));
    let replay = spool.read_range(from, to).expect("range");
    assert_eq!(
        replay.iter().map(|r| r.payload[0]).collect::<Vec<_>>(),
        vec![0, 1, 2, 3]
    );
    spool.confirm(to).expect("confirm");
    assert_eq!(spool.inflight(), None);
    let rest = payloads(&spool);
    assert_eq!(
        rest.iter().map(|p| p[0]).collect::<Vec<_>>(),
        vec![4, 5, 6, 7, 8, 9]
    );
    assert!(spool.oldest_age_ms().is_some());
    spool
        .confirm(Pos {
            segment: to.segment,
            offset: to.offset + 6 * 26,
        })
        .expect("confirm all");
    assert_eq!(spool.oldest_age_ms(), None);
}

#[tokio::test]
async fn records_of_any_size_read_back_in_order_whatever_the_read_limits() {
    // Records are cut out of reads of a few hundred KiB: sizes around and past that, records
    // cut by a read's end, and limits of records and bytes must not lose, repeat or reorder one.
    let dir = tempfile::tempdir().expect("tempdir");
    let open = || Spool::open(config(dir.path(), 1 << 30, 4 << 20)).expect("open");
    let spool = open();
    let sizes = [
        0usize, 1, 15, 16, 17, 1000, 100_000, 262_128, 262_144, 300_000, 5, 700_000, 3, 2_000,
    ];
    let mut want = Vec::new();
    for round in 0..3u8 {
        for (i, &n) in sizes.iter().enumerate() {
            let p: Vec<u8> = (0..n).map(|j| (j as u8) ^ (i as u8) ^ round).collect();
            spool.append(p.clone()).await.expect("durable");
            want.push(p);
        }
    }
    drop(spool);
    for (max_records, max_bytes) in [
        (usize::MAX, usize::MAX),
        (1, usize::MAX),
        (3, 1),
        (256, 200_000),
    ] {
        // Nothing is confirmed: a reopened spool reads from the first record.
        let spool = open();
        let mut got = Vec::new();
        loop {
            let more = spool.read(max_records, max_bytes).expect("read");
            if more.is_empty() {
                break;
            }
            assert!(more.len() <= max_records);
            for w in more.windows(2) {
                let next_segment = w[1].pos.segment > w[0].pos.segment && w[1].pos.offset == 0;
                assert!(w[0].next == w[1].pos || next_segment, "{w:?} do not follow");
            }
            got.extend(more.into_iter().map(|r| r.payload));
        }
        assert_eq!(got.len(), want.len(), "limits {max_records}/{max_bytes}");
        assert!(
            got == want,
            "limits {max_records}/{max_bytes}: payloads differ"
        );
    }
}

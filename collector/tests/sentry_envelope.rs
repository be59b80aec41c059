//! Any envelope a Sentry SDK's serializer writes is read back item by item: sentry-python's
//! (`Item.serialize_into`: every item with its `length`, a newline after each payload) and
//! @sentry/node's (no `length`, the payload up to the next newline, so only payloads without
//! one), with payloads of arbitrary bytes, known and unknown item types, and a final newline or
//! none.

use faultline_collector::sentry::envelope::{self, ItemType};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Item {
    kind: String,
    payload: Vec<u8>,
    with_length: bool,
}

fn item() -> impl Strategy<Value = Item> {
    let kind = prop_oneof![
        Just("event".to_string()),
        Just("transaction".to_string()),
        Just("client_report".to_string()),
        Just("attachment".to_string()),
        Just("session".to_string()),
        "[a-z_]{1,12}",
    ];
    (
        kind,
        prop::collection::vec(any::<u8>(), 0..200),
        any::<bool>(),
    )
        .prop_map(|(kind, payload, length)| {
            // Without a length, a payload ends at its first newline (that is the format).
            let with_length = length || payload.contains(&b'\n');
            Item {
                kind,
                payload,
                with_length,
            }
        })
}

fn serialize(event_id: Option<&str>, items: &[Item], final_newline: bool) -> Vec<u8> {
    let mut out = match event_id {
        Some(id) => format!(r#"{{"event_id":"{id}","sent_at":"2026-12-06T04:33:53.833810Z"}}"#),
        None => "{}".to_string(),
    }
    .into_bytes();
    for it in items {
        out.push(b'\n');
        let header = if it.with_length {
            format!(
                r#"{{"type":"{}","content_type":"application/json","length":{}}}"#,
                it.kind,
                it.payload.len()
            )
        } else {
            format!(r#"{{"type":"{}"}}"#, it.kind)
        };
        out.extend_from_slice(header.as_bytes());
        out.push(b'\n');
        out.extend_from_slice(&it.payload);
    }
    if final_newline {
        out.push(b'\n');
    }
    out
}

proptest! {
    #[test]
    fn what_sdks_serialize_is_read_back(
        items in prop::collection::vec(item(), 0..6),
        event_id in proptest::option::of("[0-9a-f]{32}"),
        final_newline in any::<bool>(),
    ) {
        let body = serialize(event_id.as_deref(), &items, final_newline);
        let (header, read) = envelope::parse(&body).expect("header");
        prop_assert_eq!(header.event_id, event_id);
        let read: Vec<_> = read.collect::<Result<_, _>>().expect("items");
        // A length-less empty payload at the very end without a newline is indistinguishable
        // from a trailing newline: the SDKs never write one (an empty event is not sent).
        let expected: Vec<&Item> = items.iter().collect();
        prop_assert_eq!(read.len(), expected.len(), "{:?}", String::from_utf8_lossy(&body));
        for (got, want) in read.iter().zip(expected) {
            prop_assert_eq!(got.kind.as_str(), want.kind.as_str());
            prop_assert_eq!(got.payload, &want.payload[..]);
            let known = matches!(got.kind, ItemType::Event | ItemType::Transaction | ItemType::ClientReport);
            prop_assert_eq!(known, ["event", "transaction", "client_report"].contains(&want.kind.as_str()));
        }
    }
}

/// The envelopes sentry-python 2.76 really wrote read back as the SDK's own parser reads them.
#[test]
fn sentry_python_envelopes_read_back() {
    for name in ["python_chained", "python_logging", "python_fingerprint"] {
        let path = format!(
            "{}/tests/data/sentry/{name}.envelope",
            env!("CARGO_MANIFEST_DIR")
        );
        let body = std::fs::read(&path).expect("golden");
        let (header, items) = envelope::parse(&body).expect("header");
        assert!(header.event_id.is_some_and(|id| id.len() == 32), "{name}");
        let items: Vec<_> = items.collect::<Result<_, _>>().expect("items");
        assert_eq!(items.len(), 1, "{name}");
        assert_eq!(items[0].kind, ItemType::Event);
        serde_json::from_slice::<serde_json::Value>(items[0].payload).expect("event JSON");
    }
}

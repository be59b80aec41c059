//! Parsed frames of every stack-trace format, as snapshots (`tests/snapshots/`), and the
//! fingerprint's invariance under what must not split an issue (proptest).

use faultline_collector::fingerprint::{
    GroupingInput, Stack, fingerprint, mask_message, parse_stacktrace,
};
use proptest::prelude::*;

macro_rules! trace {
    ($name:literal) => {
        ($name, include_str!(concat!("data/traces/", $name, ".txt")))
    };
}

const TRACES: &[(&str, &str)] = &[
    trace!("python_chained"),
    trace!("java"),
    trace!("node_v8"),
    trace!("js_firefox"),
    trace!("go_panic"),
    trace!("php_otel"),
    trace!("php_trace_as_string"),
    trace!("ruby"),
    trace!("dotnet"),
    trace!("rust_panic"),
    trace!("unknown"),
];

/// One line per frame: `in-app? module :: function`, per exception segment (outermost first).
fn render(text: &str) -> String {
    let mut out = String::new();
    for (i, seg) in parse_stacktrace(text).iter().enumerate() {
        out.push_str(&format!(
            "segment {i}: {}\n",
            seg.exception_type.as_deref().unwrap_or("-")
        ));
        for f in &seg.frames {
            out.push_str(&format!(
                "  {} {} :: {}\n",
                if f.in_app { "app " } else { "lib " },
                f.module,
                f.function
            ));
        }
    }
    out
}

#[test]
fn frames_of_every_format() {
    for (name, text) in TRACES {
        insta::assert_snapshot!(format!("frames_{name}"), render(text));
    }
}

fn fp(message: &str, stacktrace: &str) -> String {
    fingerprint(&GroupingInput {
        project: "p",
        service: "s",
        exception_type: "E",
        message,
        stack: Stack::Text(stacktrace),
        client_fingerprint: None,
        config: None,
    })
    .fingerprint
}

/// Shifts every line number in a trace by `delta` (Python `line N`, `file:N:M`, `(File.java:N)`,
/// `file(N)`, `.go:N`).
fn shift_lines(text: &str, delta: u32) -> String {
    let re = regex::Regex::new(r"(line |\.\w+:|\.php\()(\d+)").expect("regex");
    re.replace_all(text, |c: &regex::Captures| {
        format!("{}{}", &c[1], c[2].parse::<u32>().unwrap_or(0) + delta)
    })
    .into_owned()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn line_shifts_do_not_change_the_fingerprint(idx in 0..TRACES.len() - 1, delta in 1u32..500) {
        let (_, text) = TRACES[idx];
        prop_assert_eq!(fp("m", text), fp("m", &shift_lines(text, delta)));
    }

    #[test]
    fn deploy_paths_do_not_change_the_fingerprint(idx in 0..TRACES.len() - 1, release in "[a-z0-9]{1,12}") {
        let (_, text) = TRACES[idx];
        let moved = text
            .replace("/srv/", &format!("/opt/deploy/{release}/"))
            .replace("/releases/", &format!("/releases/{release}-"))
            .replace("/src/app/", &format!("/home/runner/work/{release}/app/"));
        prop_assert_eq!(fp("m", text), fp("m", &moved));
    }

    #[test]
    fn values_in_messages_do_not_change_the_fallback(
        id in 0u64..1_000_000_000,
        user in "[a-z]{1,8}",
        ip in (0u8..=255, 0u8..=255, 0u8..=255, 0u8..=255),
        uuid in "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        ms in 1u32..100_000,
    ) {
        let a = format!("user {id} <{user}@example.com> from {}.{}.{}.{} request {uuid} took {ms}ms, key '{user}'", ip.0, ip.1, ip.2, ip.3);
        let b = "user 1 <x@example.com> from 10.0.0.1 request 00000000-0000-0000-0000-000000000000 took 5ms, key 'x'";
        prop_assert_eq!(mask_message(&a), mask_message(b));
        prop_assert_eq!(fp(&a, ""), fp(b, ""));
    }
}

#[test]
fn different_bugs_stay_apart() {
    // Same message and type, other raise site: two issues.
    let a = include_str!("data/traces/node_v8.txt");
    let b = a.replace("routes/users.js", "routes/orders.js");
    assert_ne!(fp("m", a), fp("m", &b));
    // Unknown formats fall back to the masked message, without panicking.
    assert_eq!(
        fp("user 1 failed", "garbage\nmore"),
        fp("user 2 failed", "garbage\nother")
    );
}

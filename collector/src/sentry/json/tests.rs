use super::*;

#[test]
fn texts_are_borrowed_unless_escaped_and_values_read_as_serde_json_reads_them() {
    let payload = br#"{"a": "plain", "b": "esc\"aped", "n": [1, -2, 2.5, 18446744073709551615],
                      "t": true, "z": null, "o": {"k": "v"}, "a": "last"}"#;
    let arena = Bump::new();
    let j = Json::parse(payload, &arena).expect("parses");
    let in_payload = |t: &str| payload.as_ptr_range().contains(&t.as_ptr());
    assert_eq!(j.get("a"), Some(&Json::String("last")));
    assert!(in_payload(j["a"].as_str().expect("text")), "borrowed");
    assert_eq!(j["b"].as_str(), Some("esc\"aped"));
    assert!(
        !in_payload(j["b"].as_str().expect("text")),
        "unescaped into the arena"
    );
    let n = j["n"].as_array().expect("array");
    assert_eq!(n[0].as_u64(), Some(1));
    assert_eq!(n[1].as_u64(), None);
    assert_eq!(n[2].as_f64(), Some(2.5));
    assert_eq!(n[3].as_u64(), Some(u64::MAX));
    assert_eq!(j["t"].as_bool(), Some(true));
    assert!(j["z"].is_null() && j["missing"].is_null());
    assert_eq!(j.pointer("/o/k").and_then(Json::as_str), Some("v"));
    assert_eq!(j.pointer("/n/2").and_then(Json::as_f64), Some(2.5));
    assert_eq!(j["o"].to_string(), r#"{"k":"v"}"#);
    // The same as serde_json's value, member for member.
    let v: serde_json::Value = serde_json::from_slice(payload).expect("parses");
    assert_eq!(Json::from_value(&v, &arena)["n"], j["n"]);
}

#[test]
fn what_is_never_kept_is_not_built_and_the_rest_is() {
    let payload = br#"{"breadcrumbs": {"values": [{"message": "x"}]}, "extra": {"vars": 1},
        "exception": {"values": [{"stacktrace": {"frames": [
            {"function": "f", "vars": {"big": "..."}, "pre_context": ["a"], "context_line": "b"}]}}]}}"#;
    let arena = Bump::new();
    let j = Json::parse(payload, &arena).expect("parses");
    assert!(j.get("breadcrumbs").is_none());
    assert_eq!(j.pointer("/extra/vars").and_then(Json::as_u64), Some(1));
    let frame = j
        .pointer("/exception/values/0/stacktrace/frames/0")
        .expect("frame");
    assert_eq!(frame["function"].as_str(), Some("f"));
    assert_eq!(frame["context_line"].as_str(), Some("b"));
    assert!(frame.get("vars").is_none() && frame.get("pre_context").is_none());
}

#[test]
fn malformed_json_and_trailing_bytes_are_errors() {
    let arena = Bump::new();
    assert!(Json::parse(b"{\"a\": ", &arena).is_err());
    assert!(Json::parse(b"{} {}", &arena).is_err());
    assert!(Json::parse(b"[1, 2] x", &arena).is_err());
    assert_eq!(
        Json::parse(b" 7 ", &arena).expect("a number").as_u64(),
        Some(7)
    );
}

/// Whether serde_json reads `text` as JSON (the reference the reader agrees with).
fn serde_reads(text: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(text).is_ok()
}

#[test]
fn what_serde_json_refuses_is_refused_with_its_place() {
    let arena = Bump::new();
    let refused: [(&[u8], &str); 20] = [
        (b"", "EOF while parsing a value at line 1 column 1"),
        (b"{\"a\":1,}", "key must be a string at line 1 column 8"),
        (b"[1,]", "expected value at line 1 column 4"),
        (b"[1 2]", "expected `,` or `]` at line 1 column 4"),
        (b"{\"a\" 1}", "expected `:` at line 1 column 6"),
        (b"{\n  \"a\": tru}", "expected ident at line 2 column 8"),
        (b"01", "invalid number"),
        (b"-", "invalid number"),
        (b"1.", "invalid number"),
        (b"1e", "invalid number"),
        (b"1e400", "number out of range"),
        (b"\"a\x01b\"", "control character"),
        (b"\"\\x\"", "invalid escape"),
        (b"\"\\ud800\"", "lone leading surrogate"),
        (b"\"\\ud800\\u0041\"", "lone leading surrogate"),
        (b"\"\\udc00\"", "unexpected end of hex escape"),
        (b"\"\\u12\"", "invalid escape"),
        (b"\"abc", "EOF while parsing a string"),
        (b"\xff", "invalid UTF-8 at line 1 column 1"),
        (b"{} x", "trailing characters at line 1 column 4"),
    ];
    for (text, message) in refused {
        let e = Json::parse(text, &arena).expect_err("refused");
        assert!(
            e.to_string().contains(message),
            "{:?}: {e}",
            String::from_utf8_lossy(text)
        );
        assert!(!serde_reads(text), "serde_json reads {text:?}");
    }
    let read: [&[u8]; 8] = [
        b"-0",
        b"0.5e-3",
        b"1E+2",
        b"\"\\ud83d\\ude00 \\u00e9 \\/\\b\\f\\n\\r\\t\"",
        b"\"\x7f\xc3\xa9\"",
        b" [ ] ",
        b"{ }",
        b"18446744073709551616",
    ];
    for text in read {
        assert!(Json::parse(text, &arena).is_ok(), "{text:?}");
        assert!(serde_reads(text), "{text:?}");
    }
    let j = Json::parse(
        b"[\"\\ud83d\\ude00 \\u00e9\", -0, 18446744073709551616]",
        &arena,
    )
    .expect("parses");
    assert_eq!(j.pointer("/0").and_then(Json::as_str), Some("😀 é"));
    let minus_zero = j.pointer("/1").and_then(Json::as_f64).expect("a float");
    assert!(minus_zero == 0.0 && minus_zero.is_sign_negative());
    assert_eq!(
        j.pointer("/2").and_then(Json::as_f64),
        Some(18446744073709551616.0)
    );
}

#[test]
fn nesting_stops_where_serde_jsons_does() {
    let arena = Bump::new();
    for depth in [1, 126, 127, 128, 5000] {
        let text = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let ours = Json::parse(text.as_bytes(), &arena);
        assert_eq!(ours.is_ok(), serde_reads(text.as_bytes()), "depth {depth}");
        assert_eq!(ours.is_ok(), depth <= MAX_DEPTH as usize, "depth {depth}");
        // Skipped values are checked to the same depth.
        let skipped = format!("{{\"breadcrumbs\": {text}}}");
        assert_eq!(
            Json::parse(skipped.as_bytes(), &arena).is_ok(),
            serde_reads(skipped.as_bytes()),
            "skipped, depth {depth}"
        );
    }
}

mod agreement {
    use proptest::prelude::*;
    use serde_json::Value;

    use super::*;

    /// Any JSON value; keys of at most three characters, so none is one the reader skips.
    fn value() -> impl Strategy<Value = Value> {
        let text = "[a-z\"\\\\/\u{0}-\u{1f}\u{7f}é€😀 ]{0,12}";
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<u64>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            text.prop_map(Value::String),
        ];
        leaf.prop_recursive(6, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec(("[a-z\"\\\\é]{0,3}", inner), 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Texts near JSON: tokens of it in any order, with stray bytes.
    fn near_json() -> impl Strategy<Value = Vec<u8>> {
        let token = prop_oneof![
            Just(&b"{"[..]),
            Just(&b"}"[..]),
            Just(&b"["[..]),
            Just(&b"]"[..]),
            Just(&b","[..]),
            Just(&b":"[..]),
            Just(&b" "[..]),
            Just(&b"\"k\""[..]),
            Just(&b"\"\\u00e9\\n\""[..]),
            Just(&b"\"\\ud83d\""[..]),
            Just(&b"\\"[..]),
            Just(&b"\""[..]),
            Just(&b"-"[..]),
            Just(&b"0"[..]),
            Just(&b"12"[..]),
            Just(&b".5"[..]),
            Just(&b"e-7"[..]),
            Just(&b"true"[..]),
            Just(&b"nul"[..]),
            Just(&b"\x01"[..]),
            Just(&b"\xc3\xa9"[..]),
            Just(&b"\xc3"[..]),
        ];
        prop::collection::vec(token, 0..24).prop_map(|t| t.concat())
    }

    proptest! {
        #[test]
        fn any_json_serde_json_writes_is_read_back_as_the_same_value(v in value(), pretty in any::<bool>()) {
            let text = match pretty {
                true => serde_json::to_string_pretty(&v),
                false => serde_json::to_string(&v),
            }.expect("serializes");
            let arena = Bump::new();
            let ours = Json::parse(text.as_bytes(), &arena).expect("parses");
            prop_assert_eq!(ours, Json::from_value(&v, &arena));
        }

        #[test]
        fn near_json_is_read_exactly_when_serde_json_reads_it(text in near_json()) {
            let arena = Bump::new();
            let ours = Json::parse(&text, &arena);
            prop_assert_eq!(ours.is_ok(), serde_reads(&text), "{:?}: {:?}", String::from_utf8_lossy(&text), ours);
            if let Ok(v) = ours {
                let theirs: Value = serde_json::from_slice(&text).expect("serde_json reads it");
                prop_assert_eq!(v, Json::from_value(&theirs, &arena));
            }
        }
    }
}

//! The message, with its variable parts masked: what grouping hashes when an occurrence has no
//! usable stack trace.

/// Masks the variable parts of a message: e-mails, URLs' query strings, UUIDs, hex, IPs, dates,
/// durations, numbers and quoted values.
pub fn mask_message(msg: &str) -> String {
    let m = msg.trim();
    let m = re!(r"[\w.+-]+@[\w-]+(\.[\w-]+)+").replace_all(m, "<email>");
    let m = re!(r#"(\b[a-z][a-z0-9+.-]*://[^\s?#"']*)(\?[^\s"']*)?"#).replace_all(&m, "$1");
    let m = re!(r"(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
        .replace_all(&m, "<uuid>");
    let m = re!(r"\b\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?")
        .replace_all(&m, "<date>");
    let m = re!(r"\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b").replace_all(&m, "<ip>");
    let m = re!(r"(?i)\b0x[0-9a-f]+\b").replace_all(&m, "<hex>");
    // Long hex runs (hashes, ids); all-digit runs are numbers, masked below.
    let m = re!(r"(?i)\b[0-9a-f]{8,}\b").replace_all(&m, |c: &regex::Captures| {
        if c[0].bytes().any(|b| b.is_ascii_alphabetic()) {
            "<hex>".to_string()
        } else {
            c[0].to_string()
        }
    });
    let m = re!(r#""[^"]*"|'[^']*'|`[^`]*`"#).replace_all(&m, "<str>");
    let m = re!(r"(?i)\b\d+(\.\d+)?(ns|us|µs|ms|s|m|h|d)\b").replace_all(&m, "<duration>");
    let m = re!(r"[-+]?\b\d+(\.\d+)?\b").replace_all(&m, "<num>");
    m.into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_variable_parts() {
        assert_eq!(
            mask_message(
                "user 42 <a@b.io> at 10.0.0.1:5432 id=550e8400-e29b-41d4-a716-446655440000 took 35ms"
            ),
            "user <num> <<email>> at <ip> id=<uuid> took <duration>"
        );
        assert_eq!(
            mask_message("GET https://x.io/a?b=1 failed: 'abc'"),
            "GET https://x.io/a failed: <str>"
        );
    }
}

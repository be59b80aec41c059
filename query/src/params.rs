//! Parsing of query parameters: durations, time windows, comma lists, cursors. Pure functions.

use base64::Engine;
use faultline_store::queries::Window;
use serde::{Serialize, de::DeserializeOwned};

use crate::error::QueryError;

/// Seconds in `N` + unit (`s`, `m`, `h`, `d`), e.g. `7d`, `24h`, `5m`, `60s`.
pub fn parse_duration(name: &str, s: &str) -> Result<u32, QueryError> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u32 = num.parse().map_err(|_| {
        QueryError::param(
            name,
            format!("{s:?} is not a duration such as 7d, 24h, 5m or 60s"),
        )
    })?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(QueryError::param(
                name,
                format!("{s:?} is not a duration such as 7d, 24h, 5m or 60s"),
            ));
        }
    };
    if n == 0 || n > 3650 * 86_400 / mult {
        return Err(QueryError::param(name, format!("{s:?} is out of range")));
    }
    Ok(n * mult)
}

/// Seconds since the epoch of an RFC 3339 time.
pub fn parse_time(name: &str, s: &str) -> Result<u32, QueryError> {
    let s = s.trim();
    // A bare date (what a browser's date field sends) is that day's start, UTC.
    let day = time::macros::format_description!("[year]-[month]-[day]");
    let t = match time::Date::parse(s, &day) {
        Ok(d) => d.midnight().assume_utc(),
        Err(_) => time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
            .map_err(|e| {
                QueryError::param(
                    name,
                    format!("{s:?} is not an RFC 3339 time or a YYYY-MM-DD date ({e})"),
                )
            })?,
    };
    u32::try_from(t.unix_timestamp())
        .map_err(|_| QueryError::param(name, format!("{s:?} is out of range")))
}

/// RFC 3339 (UTC) of seconds since the epoch.
pub fn rfc3339(secs: u32) -> String {
    time::OffsetDateTime::from_unix_timestamp(i64::from(secs))
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// The end of the current minute: windows that end "now" include the minute in progress.
pub fn now_end(now: u32) -> u32 {
    now - now % 60 + 60
}

/// The window named by `since` or `from`/`to`; `default_since` (seconds) when none is given,
/// all time when that is `None`.
pub fn window(
    since: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
    default_since: Option<u32>,
    now: u32,
) -> Result<Window, QueryError> {
    if since.is_some() && (from.is_some() || to.is_some()) {
        return Err(QueryError::param(
            "since",
            "give either `since` or `from`/`to`, not both",
        ));
    }
    let end = match to {
        Some(t) => parse_time("to", t)?,
        None => now_end(now),
    };
    let start = match (since, from) {
        (Some(s), _) => now_end(now).saturating_sub(parse_duration("since", s)?),
        (None, Some(f)) => parse_time("from", f)?,
        (None, None) => default_since
            .map(|d| now_end(now).saturating_sub(d))
            .unwrap_or(0),
    };
    if start >= end {
        return Err(QueryError::param("from", "must be before `to`"));
    }
    Ok(Window::new(start, end))
}

/// A comma-separated list of strings (empty items dropped).
pub fn list(s: Option<&str>) -> Vec<String> {
    s.map(|s| {
        s.split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(String::from)
            .collect()
    })
    .unwrap_or_default()
}

/// A comma-separated list of HTTP statuses.
pub fn status_list(name: &str, s: Option<&str>) -> Result<Vec<u16>, QueryError> {
    list(s)
        .iter()
        .map(|x| match x.parse::<u16>() {
            Ok(n) if (100..=599).contains(&n) => Ok(n),
            _ => Err(QueryError::param(
                name,
                format!("{x:?} is not an HTTP status"),
            )),
        })
        .collect()
}

/// A limit between 1 and `max`, `default` when absent.
pub fn limit(v: Option<u32>, default: u32, max: u32) -> Result<u32, QueryError> {
    match v {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(n) => Err(QueryError::param(
            "limit",
            format!("must be between 1 and {max}, got {n}"),
        )),
    }
}

/// Encodes a cursor as opaque URL-safe text.
pub fn encode_cursor<T: Serialize>(c: &T) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(c).unwrap_or_default())
}

/// Decodes a cursor made by [`encode_cursor`].
pub fn decode_cursor<T: DeserializeOwned>(s: &str) -> Result<T, QueryError> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim())
        .map_err(|_| QueryError::param("cursor", "is not a cursor returned by this API"))?;
    serde_json::from_slice(&bytes)
        .map_err(|_| QueryError::param("cursor", "is not a cursor returned by this API"))
}

/// `YYYYMMDD` of a time.
pub fn yyyymmdd(secs: u32) -> u32 {
    let d = time::OffsetDateTime::from_unix_timestamp(i64::from(secs))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    d.year() as u32 * 10_000 + u8::from(d.month()) as u32 * 100 + d.day() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("since", "7d").expect("ok"), 7 * 86_400);
        assert_eq!(parse_duration("since", "24h").expect("ok"), 86_400);
        assert_eq!(parse_duration("step", "5m").expect("ok"), 300);
        for bad in ["", "d", "7", "7w", "-1d", "0h", "99999d"] {
            let e = parse_duration("since", bad).expect_err(bad);
            assert!(e.to_string().contains("`since`"), "{e}");
        }
    }

    #[test]
    fn windows() {
        let now = 1_760_000_030;
        let w = window(Some("1h"), None, None, None, now).expect("ok");
        assert_eq!((w.from, w.to), (1_760_000_040 - 3600, 1_760_000_040));
        let w = window(
            None,
            Some("2025-01-01T00:00:00Z"),
            Some("2025-01-02T00:00:30+00:00"),
            None,
            now,
        )
        .expect("ok");
        assert_eq!((w.from, w.to), (1_735_689_600, 1_735_776_000));
        assert!(window(Some("1h"), Some("2025-01-01T00:00:00Z"), None, None, now).is_err());
        assert!(
            window(
                None,
                Some("2025-01-02T00:00:00Z"),
                Some("2025-01-01T00:00:00Z"),
                None,
                now
            )
            .is_err()
        );
        assert_eq!(window(None, None, None, None, now).expect("ok").from, 0);
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = ("a".to_string(), 3u32);
        let s = encode_cursor(&c);
        assert_eq!(decode_cursor::<(String, u32)>(&s).expect("ok"), c);
        assert!(decode_cursor::<(String, u32)>("!!!").is_err());
    }

    #[test]
    fn days() {
        assert_eq!(yyyymmdd(1_735_689_600), 20_250_101);
    }
}

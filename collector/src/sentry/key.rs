//! Where a Sentry SDK puts the DSN's public key: `X-Sentry-Auth: Sentry sentry_key=…, …`
//! (sentry-python), `Authorization: Sentry …`, `?sentry_key=…` in the query string (the
//! JavaScript SDKs), or the envelope header's `dsn` (tunnels). Relay's order; any one is enough,
//! and several that disagree are refused (401) rather than one picked.

use http::{HeaderMap, HeaderName, header};

use crate::error::IngestError;

/// `sentry_key` from a `Sentry k=v, k=v` header value.
fn from_header_value(v: &str) -> Option<&str> {
    let v = v.trim();
    let (scheme, pairs) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("sentry") {
        return None;
    }
    pairs.split(',').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k.trim() == "sentry_key").then(|| v.trim())
    })
}

/// `sentry_key` from a query string.
fn from_query(query: &str) -> Option<&str> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == "sentry_key").then_some(v)
    })
}

/// The public key and project id of a DSN (`http://KEY[:SECRET]@host[:port][/path]/ID`).
pub fn dsn_parts(dsn: &str) -> Option<(&str, &str)> {
    let (_, rest) = dsn.trim().split_once("://")?;
    let (userinfo, location) = rest.split_once('@')?;
    let key = userinfo.split(':').next().filter(|k| !k.is_empty())?;
    let id = location.trim_end_matches('/').rsplit('/').next()?;
    Some((key, id))
}

/// `X-Sentry-Auth`, parsed once.
const X_SENTRY_AUTH: HeaderName = HeaderName::from_static("x-sentry-auth");

/// The key the request's headers or query string carry (`None`: none of them does; the envelope
/// header may still). Several that disagree: 401.
pub fn from_request<'a>(
    headers: &'a HeaderMap,
    query: Option<&'a str>,
) -> Result<Option<&'a str>, IngestError> {
    let header = |name: &HeaderName| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(from_header_value)
            .collect::<Vec<_>>()
    };
    let mut keys = header(&X_SENTRY_AUTH);
    keys.extend(header(&header::AUTHORIZATION));
    keys.extend(query.and_then(from_query));
    match keys.split_first() {
        None => Ok(None),
        Some((first, rest)) if rest.iter().all(|k| k == first) => Ok(Some(first)),
        Some(_) => Err(IngestError::Unauthenticated(
            "several different keys in one request (X-Sentry-Auth, Authorization, ?sentry_key=)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().expect("header value"));
        }
        h
    }

    #[test]
    fn every_place_a_key_can_be() {
        let python = headers(&[(
            "x-sentry-auth",
            "Sentry sentry_key=abc123, sentry_version=7, sentry_client=sentry.python/2.76.0",
        )]);
        assert_eq!(from_request(&python, None).ok(), Some(Some("abc123")));
        let authz = headers(&[("authorization", "sentry sentry_version=7,sentry_key=k_2")]);
        assert_eq!(from_request(&authz, None).ok(), Some(Some("k_2")));
        let none = HeaderMap::new();
        let js =
            "sentry_version=7&sentry_key=abc123&sentry_client=sentry.javascript.node%2F11.12.0";
        assert_eq!(from_request(&none, Some(js)).ok(), Some(Some("abc123")));
        assert_eq!(
            from_request(&python, Some(js)).ok(),
            Some(Some("abc123")),
            "agreeing"
        );
        assert!(from_request(&python, Some("sentry_key=other")).is_err());
        let bearer = headers(&[("authorization", "Bearer abc123")]);
        assert_eq!(from_request(&bearer, Some("x=1")).ok(), Some(None));
        assert_eq!(
            dsn_parts("http://abc123@127.0.0.1:4318/42"),
            Some(("abc123", "42"))
        );
        assert_eq!(
            dsn_parts("https://abc:secret@sentry.example/prefix/7/"),
            Some(("abc", "7"))
        );
        assert_eq!(dsn_parts("no dsn"), None);
    }
}

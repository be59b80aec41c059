//! Who may use the screen, and proof that a form came from it.
//!
//! - With `FAULTLINE_API_KEYS` set, the login page asks for an API key; the session cookie
//!   (`faultline_session`: HttpOnly, SameSite=Strict, Path=/ui) holds when it was issued and an
//!   HMAC-SHA256 of that time keyed by the API key. A request's session is valid while some
//!   configured key verifies it and it is under [`SESSION_DAYS`] old, so removing a key from the
//!   configuration ends its sessions, and restarts keep them. Without API keys the screen is open,
//!   like the API.
//! - Every form that changes something carries a CSRF token (an HMAC of the session, or of this
//!   process's secret when the screen is open) and is refused unless the token matches and the
//!   `Origin` (or `Referer`) names this host.
//! - Every answer carries a strict Content-Security-Policy (only this origin's CSS and script, no
//!   inline script, no frames), `nosniff`, `Referrer-Policy: same-origin`.

use axum::http::{HeaderMap, HeaderValue, header};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The session cookie's name.
pub const COOKIE: &str = "faultline_session";
/// How long a session lasts.
pub const SESSION_DAYS: u64 = 30;

/// The Content-Security-Policy of every page.
pub const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

fn mac(key: &[u8], data: &[u8]) -> String {
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(data);
            const_hex::encode(m.finalize().into_bytes())
        }
        Err(_) => String::new(), // HMAC takes keys of any length
    }
}

fn now_secs() -> u64 {
    u64::from(faultline_query::now_secs())
}

/// Access to the screen.
#[derive(Clone)]
pub struct Access {
    keys: Vec<Vec<u8>>,
    /// This process's secret (CSRF tokens when the screen is open).
    secret: [u8; 32],
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access")
            .field("keys", &self.keys.len())
            .finish_non_exhaustive()
    }
}

impl Access {
    /// Access by these API keys (none: open).
    pub fn new(keys: &[String]) -> Access {
        let mut secret = [0u8; 32];
        secret[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        secret[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        Access {
            keys: keys.iter().map(|k| k.as_bytes().to_vec()).collect(),
            secret,
        }
    }

    /// Whether a login is needed at all.
    pub fn is_open(&self) -> bool {
        self.keys.is_empty()
    }

    /// The session cookie's value for a correct API key, `None` for a wrong one.
    pub fn login(&self, key: &str) -> Option<String> {
        let mut ok = false;
        for k in &self.keys {
            ok |= bool::from(k.as_slice().ct_eq(key.as_bytes()));
        }
        if !ok {
            return None;
        }
        let issued = now_secs().to_string();
        Some(format!(
            "{issued}.{}",
            mac(key.as_bytes(), issued.as_bytes())
        ))
    }

    /// The session a request carries, when valid (`Some("")` when the screen is open).
    pub fn session(&self, headers: &HeaderMap) -> Option<String> {
        if self.is_open() {
            return Some(String::new());
        }
        let value = cookie(headers, COOKIE)?;
        let (issued, sig) = value.split_once('.')?;
        let at: u64 = issued.parse().ok()?;
        if now_secs().saturating_sub(at) > SESSION_DAYS * 86_400 {
            return None;
        }
        let mut ok = false;
        for k in &self.keys {
            ok |= bool::from(mac(k, issued.as_bytes()).as_bytes().ct_eq(sig.as_bytes()));
        }
        ok.then(|| value.to_string())
    }

    /// The CSRF token of a session.
    pub fn csrf(&self, session: &str) -> String {
        mac(&self.secret_for(session), b"csrf")
    }

    fn secret_for(&self, session: &str) -> Vec<u8> {
        if session.is_empty() {
            self.secret.to_vec()
        } else {
            session.as_bytes().to_vec()
        }
    }

    /// Whether a state-changing request is genuine: its token matches its session's and its
    /// `Origin` (or, without one, `Referer`) is this host.
    pub fn form_ok(&self, headers: &HeaderMap, session: &str, token: &str) -> bool {
        let expected = self.csrf(session);
        let token_ok = bool::from(expected.as_bytes().ct_eq(token.as_bytes()));
        token_ok && same_origin(headers)
    }
}

/// A cookie's value.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Whether `Origin` (or `Referer`) names the `Host` the request came to. Browsers send `Origin`
/// on every POST; a request with neither is not from a browser form and is refused.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let from = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let rest = from
        .strip_prefix("http://")
        .or_else(|| from.strip_prefix("https://"))
        .unwrap_or("");
    let authority = rest.split('/').next().unwrap_or("");
    !authority.is_empty() && authority.eq_ignore_ascii_case(host)
}

/// The `Set-Cookie` of a session (`value` empty: the cookie removed).
pub fn set_cookie(value: &str) -> HeaderValue {
    let text = if value.is_empty() {
        format!("{COOKIE}=; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=0")
    } else {
        format!(
            "{COOKIE}={value}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age={}",
            SESSION_DAYS * 86_400
        )
    };
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The headers every page carries.
pub fn harden(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_cookie(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("other=1; {COOKIE}={value}")).expect("header"),
        );
        h
    }

    #[test]
    fn sessions_hold_while_their_key_is_configured() {
        let access = Access::new(&["key-one".into(), "key-two".into()]);
        assert!(access.login("wrong").is_none());
        let s = access.login("key-two").expect("a session");
        assert_eq!(
            access.session(&with_cookie(&s)).as_deref(),
            Some(s.as_str())
        );
        // Another process with the same keys: still valid (nothing kept in memory).
        assert!(
            Access::new(&["key-two".into()])
                .session(&with_cookie(&s))
                .is_some()
        );
        // The key removed: the session ends.
        assert!(
            Access::new(&["key-one".into()])
                .session(&with_cookie(&s))
                .is_none()
        );
        // Forged or old.
        let (at, sig) = s.split_once('.').expect("two parts");
        assert!(
            access
                .session(&with_cookie(&format!(
                    "{}.{sig}",
                    at.parse::<u64>().expect("n") + 1
                )))
                .is_none()
        );
        let old = "1000.".to_string() + &mac(b"key-one", b"1000");
        assert!(access.session(&with_cookie(&old)).is_none());
    }

    #[test]
    fn forms_need_the_token_and_this_origin() {
        let access = Access::new(&[]);
        let token = access.csrf("");
        let mut h = HeaderMap::new();
        h.insert(
            header::HOST,
            HeaderValue::from_static("faultline.example:8080"),
        );
        assert!(!access.form_ok(&h, "", &token), "no Origin");
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(!access.form_ok(&h, "", &token));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://faultline.example:8080"),
        );
        assert!(access.form_ok(&h, "", &token));
        assert!(!access.form_ok(&h, "", "forged"));
        assert_ne!(access.csrf("a.b"), access.csrf("a.c"));
    }
}

//! Ingest authentication: tokens name projects.
//!
//! With `FAULTLINE_PROJECTS=name:token,...` set, every OTLP request needs `authorization: Bearer
//! <token>` or `x-faultline-token: <token>`, and the webhook takes the token in its path. Tokens are
//! compared in constant time and never logged. With no projects configured, Faultline runs in
//! development mode: everything goes to project `default`.

use subtle::ConstantTimeEq;

use crate::error::IngestError;

/// Project used in development mode.
pub const DEFAULT_PROJECT: &str = "default";

/// One configured project: its name, ingest token and numeric Sentry id.
#[derive(Clone, PartialEq, Eq)]
pub struct Project {
    /// Name, as stored with every occurrence.
    pub name: String,
    /// Ingest token (never logged). It is also the Sentry DSN's public key, which the JavaScript
    /// SDK only accepts made of `[A-Za-z0-9_]`.
    pub token: String,
    /// The project id of its Sentry DSN (`http://{token}@{host}:4318/{id}`): given as
    /// `name:token:id`, else its 1-based place in the list.
    pub sentry_id: u64,
}

impl Project {
    /// Whether every Sentry SDK accepts the token as a DSN key (the JavaScript SDK refuses
    /// characters outside `[A-Za-z0-9_]`).
    pub fn token_fits_a_dsn(&self) -> bool {
        self.token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    }
}

/// The configured projects (`FAULTLINE_PROJECTS`), parsed once at load from
/// `name:token[:id],…`: names and ids unique, tokens at least 8 characters, ids positive
/// integers (default: the entry's 1-based place). Empty means development mode. `Debug` shows
/// names only.
#[derive(Clone, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct Projects(pub Vec<Project>);

impl std::fmt::Debug for Projects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|p| p.name.as_str()))
            .finish()
    }
}

impl std::str::FromStr for Projects {
    type Err = String;

    fn from_str(spec: &str) -> Result<Self, String> {
        let mut projects: Vec<Project> = Vec::new();
        for (place, item) in spec
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .enumerate()
        {
            let (name, rest) = item.split_once(':').ok_or_else(|| {
                format!(
                    "project entry {:?} is not name:token or name:token:id",
                    item.split(':').next().unwrap_or("")
                )
            })?;
            let name = name.trim();
            let (token, sentry_id) = match rest.split_once(':') {
                None => (rest.trim(), place as u64 + 1),
                Some((token, id)) => {
                    let id = id
                        .trim()
                        .parse::<u64>()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| {
                            format!("the Sentry id of project {name:?} is not a positive integer")
                        })?;
                    (token.trim(), id)
                }
            };
            if name.is_empty() || token.is_empty() {
                return Err(format!(
                    "project entry for {name:?} has an empty name or token"
                ));
            }
            if token.len() < 8 {
                return Err(format!(
                    "the token of project {name:?} is shorter than 8 characters"
                ));
            }
            if projects.iter().any(|p| p.name == name) {
                return Err(format!("project {name:?} is listed twice"));
            }
            if let Some(other) = projects.iter().find(|p| p.sentry_id == sentry_id) {
                return Err(format!(
                    "projects {:?} and {name:?} have the same Sentry id {sentry_id}",
                    other.name
                ));
            }
            projects.push(Project {
                name: name.to_string(),
                token: token.to_string(),
                sentry_id,
            });
        }
        Ok(Projects(projects))
    }
}

impl TryFrom<String> for Projects {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<Projects> for String {
    fn from(p: Projects) -> String {
        p.0.iter()
            .map(|p| format!("{}:{}:{}", p.name, p.token, p.sentry_id))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Known projects and their tokens.
#[derive(Clone, Default)]
pub struct Auth {
    /// Name, token, Sentry id.
    projects: Vec<(String, Vec<u8>, u64)>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.projects.iter().map(|(n, ..)| n.as_str()).collect();
        f.debug_struct("Auth").field("projects", &names).finish()
    }
}

impl Auth {
    /// Authentication for `projects` (none: development mode).
    pub fn new(projects: &Projects) -> Self {
        Auth {
            projects: (projects.0.iter())
                .map(|p| (p.name.clone(), p.token.as_bytes().to_vec(), p.sentry_id))
                .collect(),
        }
    }

    /// Parses `name:token,name:token` ([`Projects`]). Empty means development mode.
    pub fn parse(spec: &str) -> Result<Self, String> {
        spec.parse().map(|p| Auth::new(&p))
    }

    /// Whether no project is configured (everything goes to [`DEFAULT_PROJECT`]).
    pub fn is_dev_mode(&self) -> bool {
        self.projects.is_empty()
    }

    /// Names of the configured projects.
    pub fn project_names(&self) -> impl Iterator<Item = &str> {
        self.projects.iter().map(|(n, ..)| n.as_str())
    }

    /// Each project's name and Sentry id (for the DSNs the banner prints; tokens stay inside).
    pub fn sentry_ids(&self) -> impl Iterator<Item = (&str, u64)> {
        self.projects.iter().map(|(n, _, id)| (n.as_str(), *id))
    }

    /// The project a Sentry SDK's key belongs to, for a request to Sentry project `sentry_id`.
    /// No key: 401. An unknown key, or the key of another project: 403. Keys are compared in
    /// constant time, against every project. Development mode takes any key (or none).
    pub fn project_for_sentry(
        &self,
        key: Option<&str>,
        sentry_id: u64,
    ) -> Result<String, IngestError> {
        if self.is_dev_mode() {
            return Ok(DEFAULT_PROJECT.to_string());
        }
        let key = key.filter(|k| !k.is_empty()).ok_or(IngestError::Unauthenticated(
            "missing authorization information: give the DSN's key (X-Sentry-Auth: Sentry sentry_key=…, or ?sentry_key=…)",
        ))?;
        let mut found: Option<(&str, u64)> = None;
        for (name, t, id) in &self.projects {
            if bool::from(t.as_slice().ct_eq(key.as_bytes())) {
                found = Some((name, *id));
            }
        }
        match found {
            Some((name, id)) if id == sentry_id => Ok(name.to_string()),
            Some(_) => Err(IngestError::Forbidden(format!(
                "this key does not belong to Sentry project {sentry_id}: check the DSN"
            ))),
            None => Err(IngestError::Forbidden(
                "unknown key: check the DSN".to_string(),
            )),
        }
    }

    /// The project a token belongs to.
    pub fn project_for(&self, token: Option<&str>) -> Result<String, IngestError> {
        if self.is_dev_mode() {
            return Ok(DEFAULT_PROJECT.to_string());
        }
        let token = token
            .filter(|t| !t.is_empty())
            .ok_or(IngestError::Unauthenticated(
                "missing token: send `authorization: Bearer <token>` or `x-faultline-token`",
            ))?;
        // Compare against every project, without stopping early.
        let mut found: Option<&str> = None;
        for (name, t, _) in &self.projects {
            if bool::from(t.as_slice().ct_eq(token.as_bytes())) {
                found = Some(name);
            }
        }
        found
            .map(str::to_string)
            .ok_or(IngestError::Unauthenticated("unknown token"))
    }

    /// Token from `authorization: Bearer ...` or `x-faultline-token`, from HTTP headers.
    pub fn token_from_headers(headers: &http::HeaderMap) -> Option<&str> {
        if let Some(v) = headers
            .get("x-faultline-token")
            .and_then(|v| v.to_str().ok())
        {
            return Some(v.trim());
        }
        let v = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
        let (scheme, rest) = v.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_authenticates() {
        let a = Auth::parse("shop:shop-token-1, blog:blog-token-2").expect("valid");
        assert!(!a.is_dev_mode());
        assert_eq!(a.project_for(Some("blog-token-2")).expect("ok"), "blog");
        assert!(a.project_for(Some("blog-token-3")).is_err());
        assert!(a.project_for(None).is_err());
        assert!(Auth::parse("shop").is_err());
        assert!(Auth::parse("shop:short").is_err());
        assert!(Auth::parse("a:12345678,a:abcdefgh").is_err());
        assert_eq!(
            Auth::parse("").expect("dev").project_for(None).expect("ok"),
            DEFAULT_PROJECT
        );
    }

    #[test]
    fn projects_get_sentry_ids_given_or_by_place() {
        let p: Projects = "shop:shop_token_1:42, blog:blog-token-2, wiki:wiki_token_3"
            .parse()
            .expect("valid");
        let ids: Vec<(&str, u64)> = p.0.iter().map(|p| (p.name.as_str(), p.sentry_id)).collect();
        assert_eq!(ids, [("shop", 42), ("blog", 2), ("wiki", 3)]);
        assert!(p.0[0].token_fits_a_dsn());
        assert!(
            !p.0[1].token_fits_a_dsn(),
            "a dash is refused by the JS SDK"
        );
        // Round trip through the configuration text.
        assert_eq!(String::from(p.clone()).parse::<Projects>(), Ok(p));
        for (bad, says) in [
            ("shop:shop_token_1:0", "positive integer"),
            ("shop:shop_token_1:x", "positive integer"),
            ("shop:shop_token_1:2,blog:blog_token_2", "same Sentry id 2"),
        ] {
            let e = bad.parse::<Projects>().expect_err(bad);
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn reads_both_headers() {
        let mut h = http::HeaderMap::new();
        h.insert("authorization", "Bearer abc".parse().expect("hv"));
        assert_eq!(Auth::token_from_headers(&h), Some("abc"));
        h.insert("x-faultline-token", "xyz".parse().expect("hv"));
        assert_eq!(Auth::token_from_headers(&h), Some("xyz"));
    }
}

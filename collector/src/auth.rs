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

/// One configured project: its name and ingest token.
#[derive(Clone, PartialEq, Eq)]
pub struct Project {
    /// Name, as stored with every occurrence.
    pub name: String,
    /// Ingest token (never logged).
    pub token: String,
}

/// The configured projects (`FAULTLINE_PROJECTS`), parsed once at load from
/// `name:token,name:token`: names unique, tokens at least 8 characters. Empty means development
/// mode. `Debug` shows names only.
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
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (name, token) = item.split_once(':').ok_or_else(|| {
                format!(
                    "project entry {:?} is not name:token",
                    item.split(':').next().unwrap_or("")
                )
            })?;
            let (name, token) = (name.trim(), token.trim());
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
            projects.push(Project {
                name: name.to_string(),
                token: token.to_string(),
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
            .map(|p| format!("{}:{}", p.name, p.token))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Known projects and their tokens.
#[derive(Clone, Default)]
pub struct Auth {
    projects: Vec<(String, Vec<u8>)>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.projects.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Auth").field("projects", &names).finish()
    }
}

impl Auth {
    /// Authentication for `projects` (none: development mode).
    pub fn new(projects: &Projects) -> Self {
        Auth {
            projects: (projects.0.iter())
                .map(|p| (p.name.clone(), p.token.as_bytes().to_vec()))
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
        self.projects.iter().map(|(n, _)| n.as_str())
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
        for (name, t) in &self.projects {
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
    fn reads_both_headers() {
        let mut h = http::HeaderMap::new();
        h.insert("authorization", "Bearer abc".parse().expect("hv"));
        assert_eq!(Auth::token_from_headers(&h), Some("abc"));
        h.insert("x-faultline-token", "xyz".parse().expect("hv"));
        assert_eq!(Auth::token_from_headers(&h), Some("xyz"));
    }
}

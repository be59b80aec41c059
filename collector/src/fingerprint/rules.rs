//! A project's grouping configuration (`[grouping.<project>]`): in-app overrides (applied by
//! [`super::in_app`]) and fingerprint rules — conditions as globs, the first matching rule gives
//! the fingerprint.

use super::{Frame, GroupingInput};

/// A project's grouping configuration (`[grouping.<project>]` in the configuration file).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct GroupingConfig {
    /// Frames whose module starts with one of these are the application's own (in-app).
    pub in_app_include: Vec<String>,
    /// Frames whose module starts with one of these are not in-app (wins over include).
    pub in_app_exclude: Vec<String>,
    /// Fingerprint rules, tried in order; the first that matches decides.
    pub rules: Vec<FingerprintRule>,
}

/// "Occurrences matching this get that fingerprint." Every condition given must hold; patterns
/// are case-sensitive globs where `*` matches any run of characters.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct FingerprintRule {
    /// Glob on the exception type.
    pub exception_type: Option<String>,
    /// Glob on the message.
    pub message: Option<String>,
    /// Glob on the module of any in-app frame of the root cause.
    pub module: Option<String>,
    /// Glob on the function of any in-app frame of the root cause.
    pub function: Option<String>,
    /// Glob on the service.
    pub service: Option<String>,
    /// The fingerprint to give; `{{ default }}` stands for the one Faultline would compute.
    pub fingerprint: String,
}

/// `*` matches any run of characters; everything else matches itself.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first)
        || !text[first.len()..].ends_with(last)
        || text.len() < first.len() + last.len()
    {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

impl GroupingConfig {
    /// Checks the rules (every rule needs a fingerprint and at least one condition).
    pub fn validate(&self) -> Result<(), String> {
        for (i, r) in self.rules.iter().enumerate() {
            if r.fingerprint.trim().is_empty() {
                return Err(format!("rule {}: `fingerprint` is empty", i + 1));
            }
            if r.exception_type.is_none()
                && r.message.is_none()
                && r.module.is_none()
                && r.function.is_none()
                && r.service.is_none()
            {
                return Err(format!(
                    "rule {}: give at least one of exception_type, message, module, function, service",
                    i + 1
                ));
            }
        }
        Ok(())
    }

    pub(super) fn rule_for(
        &self,
        input: &GroupingInput<'_>,
        frames: &[&Frame<'_>],
    ) -> Option<&FingerprintRule> {
        let m =
            |pat: &Option<String>, text: &str| pat.as_deref().is_none_or(|p| glob_match(p, text));
        self.rules.iter().find(|r| {
            m(&r.exception_type, input.exception_type)
                && m(&r.message, input.message)
                && m(&r.service, input.service)
                && (r.module.is_none() || frames.iter().any(|f| m(&r.module, &f.module)))
                && (r.function.is_none() || frames.iter().any(|f| m(&r.function, &f.function)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("Timeout*", "TimeoutError"));
        assert!(glob_match("*Error", "TimeoutError"));
        assert!(glob_match("a*c*e", "abcde"));
        assert!(!glob_match("a*c*e", "abde"));
        assert!(glob_match("exact", "exact") && !glob_match("exact", "exactly"));
        assert!(!glob_match("ab*ba", "aba"));
    }
}

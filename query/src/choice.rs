//! Query parameters with a closed set of values (`sort`, `order`, `status`, `severity`) as enums,
//! parsed once by serde when the query string is read. An unknown value is a 400 naming the
//! parameter and its choices (`parameter `sort`: "size" is not one of count, last_seen, …`); the
//! handlers only ever see the enums.

use serde::{Deserialize, Deserializer, de};

use crate::status::Status;

/// A closed set of values of one query parameter.
pub trait Choice: Sized + Copy + PartialEq + 'static {
    /// The parameter's name, for error texts.
    const PARAM: &'static str;
    /// Every value and its text.
    const CHOICES: &'static [(&'static str, Self)];

    /// The value named `s`, or the parameter's 400 text.
    fn parse(s: &str) -> Result<Self, String> {
        Self::CHOICES
            .iter()
            .find(|(t, _)| *t == s)
            .map(|(_, v)| *v)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::CHOICES.iter().map(|(t, _)| *t).collect();
                let choices = match names.as_slice() {
                    [a, b] => format!("{a} or {b}"),
                    _ => format!("one of {}", names.join(", ")),
                };
                format!("parameter `{}`: {s:?} is not {choices}", Self::PARAM)
            })
    }

    /// The value's text.
    fn as_str(self) -> &'static str {
        Self::CHOICES
            .iter()
            .find(|(_, v)| *v == self)
            .map_or("", |(t, _)| *t)
    }
}

/// Deserializes a [`Choice`] from its text.
pub fn one<'de, D: Deserializer<'de>, T: Choice>(d: D) -> Result<Option<T>, D::Error> {
    let s = Option::<String>::deserialize(d)?;
    s.map(|s| T::parse(&s).map_err(de::Error::custom))
        .transpose()
}

/// Deserializes a comma list of [`Choice`]s (items trimmed, empty ones dropped).
pub fn list<'de, D: Deserializer<'de>, T: Choice>(d: D) -> Result<Vec<T>, D::Error> {
    let s = Option::<String>::deserialize(d)?.unwrap_or_default();
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(|x| T::parse(x).map_err(de::Error::custom))
        .collect()
}

/// What `GET /api/v1/errors` sorts by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Sort {
    /// Occurrences in the window.
    Count,
    /// Last occurrence, all time (the default).
    #[default]
    LastSeen,
    /// First occurrence, all time.
    FirstSeen,
    /// Exception type, case-insensitive.
    Type,
}

impl Choice for Sort {
    const PARAM: &'static str = "sort";
    const CHOICES: &'static [(&'static str, Self)] = &[
        ("count", Sort::Count),
        ("last_seen", Sort::LastSeen),
        ("first_seen", Sort::FirstSeen),
        ("type", Sort::Type),
    ];
}

/// Sort direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Order {
    /// Smallest first.
    Asc,
    /// Largest first (the default).
    #[default]
    Desc,
}

impl Choice for Order {
    const PARAM: &'static str = "order";
    const CHOICES: &'static [(&'static str, Self)] = &[("asc", Order::Asc), ("desc", Order::Desc)];
}

impl Choice for Status {
    const PARAM: &'static str = "status";
    const CHOICES: &'static [(&'static str, Self)] = &[
        ("open", Status::Open),
        ("resolved", Status::Resolved),
        ("ignored", Status::Ignored),
        ("regressed", Status::Regressed),
    ];
}

/// Severity by seed 004 §6, as stored with every occurrence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// 4xx client noise (404 and the like).
    Low,
    /// Handled problems.
    Medium,
    /// Authorization and validation failures.
    High,
    /// 5xx and crashes.
    Critical,
}

impl Choice for Severity {
    const PARAM: &'static str = "severity";
    const CHOICES: &'static [(&'static str, Self)] = &[
        ("low", Severity::Low),
        ("medium", Severity::Medium),
        ("high", Severity::High),
        ("critical", Severity::Critical),
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_round_trip_and_unknown_values_name_the_parameter() {
        for (t, v) in Sort::CHOICES {
            assert_eq!(Sort::parse(t), Ok(*v));
            assert_eq!(v.as_str(), *t);
        }
        assert_eq!(
            Sort::parse("size").expect_err("unknown"),
            "parameter `sort`: \"size\" is not one of count, last_seen, first_seen, type"
        );
        assert_eq!(
            Order::parse("up").expect_err("unknown"),
            "parameter `order`: \"up\" is not asc or desc"
        );
        assert_eq!(
            Status::parse("closed").expect_err("unknown"),
            "parameter `status`: \"closed\" is not one of open, resolved, ignored, regressed"
        );
        assert_eq!(
            Severity::parse("fatal").expect_err("unknown"),
            "parameter `severity`: \"fatal\" is not one of low, medium, high, critical"
        );
    }
}

//! Limits applied to what is accepted: per-project rate limits (token buckets) and per-occurrence
//! sizes (attributes, message and stack-trace length — cut with a marker, never rejected).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use std::borrow::Cow;

use crate::error::IngestError;
use crate::event::{Row, Text};

/// Appended to a value that was cut.
pub const TRUNCATED: &str = "…[truncated]";

/// Per-occurrence size limits.
#[derive(Debug, Clone, Copy)]
pub struct FieldLimits {
    /// Attributes kept per occurrence.
    pub max_attributes: usize,
    /// Longest message, bytes.
    pub max_message_bytes: usize,
    /// Longest stack trace, bytes.
    pub max_stacktrace_bytes: usize,
}

impl Default for FieldLimits {
    fn default() -> Self {
        FieldLimits {
            max_attributes: 128,
            max_message_bytes: 8 << 10,
            max_stacktrace_bytes: 64 << 10,
        }
    }
}

/// Cuts `s` to at most `max` bytes (on a char boundary), marker included.
pub fn truncate(s: &mut String, max: usize) -> bool {
    if s.len() <= max {
        return false;
    }
    let mut cut = max.saturating_sub(TRUNCATED.len());
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    s.truncate(cut);
    s.push_str(TRUNCATED);
    true
}

/// [`truncate`] for a borrowed text: copied only when it is cut.
pub fn truncate_text(s: &mut Text<'_>, max: usize) -> bool {
    s.len() > max && truncate(s.to_mut(), max)
}

impl FieldLimits {
    /// Applies the limits to a row (after grouping, so a cut never changes the fingerprint).
    pub fn apply(&self, row: &mut Row<'_>) {
        truncate_text(&mut row.stacktrace, self.max_stacktrace_bytes);
        self.apply_but_stacktrace(row);
    }

    /// [`apply`](Self::apply) without the stack trace (which ingest cuts once per distinct trace).
    pub fn apply_but_stacktrace(&self, row: &mut Row<'_>) {
        truncate_text(&mut row.message, self.max_message_bytes);
        for v in &mut row.attr_values {
            truncate_text(v, self.max_message_bytes);
        }
        let n = row.attr_keys.len().min(row.attr_values.len());
        if n > self.max_attributes {
            let keep = self.max_attributes.saturating_sub(1);
            row.attr_keys.truncate(keep);
            row.attr_values.truncate(keep);
            row.attr_keys
                .push(Cow::Borrowed("faultline.dropped_attributes"));
            row.attr_values.push((n - keep).to_string().into());
        }
    }
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// One project's rate: occurrences per second and burst.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Sustained occurrences per second.
    pub per_second: u32,
    /// Occurrences that may arrive at once.
    pub burst: u32,
}

/// Rates per project (`FAULTLINE_RATE_LIMITS`), parsed once at load from
/// `project=per_second[:burst],...` (burst defaults to one second's worth).
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct Rates(pub Vec<(String, Rate)>);

impl std::str::FromStr for Rates {
    type Err = String;

    fn from_str(spec: &str) -> Result<Self, String> {
        let mut rates: Vec<(String, Rate)> = Vec::new();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (project, rate) = item
                .split_once('=')
                .ok_or_else(|| format!("`{item}`: expected project=per_second[:burst]"))?;
            let (per, burst) = match rate.split_once(':') {
                Some((p, b)) => (p, Some(b)),
                None => (rate, None),
            };
            let per_second: u32 = per
                .trim()
                .parse()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| format!("`{item}`: rate must be a whole number above 0"))?;
            let burst: u32 = match burst {
                Some(b) => b
                    .trim()
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| format!("`{item}`: burst must be a whole number above 0"))?,
                None => per_second,
            };
            let project = project.trim().to_string();
            rates.retain(|(p, _)| *p != project);
            rates.push((project, Rate { per_second, burst }));
        }
        Ok(Rates(rates))
    }
}

impl TryFrom<String> for Rates {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<Rates> for String {
    fn from(r: Rates) -> String {
        r.0.iter()
            .map(|(p, r)| format!("{p}={}:{}", r.per_second, r.burst))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Token buckets per project, from [`Rates`].
#[derive(Debug, Default)]
pub struct RateLimits {
    rates: HashMap<String, (Rate, Mutex<Bucket>)>,
}

impl RateLimits {
    /// Token buckets for `rates`, full.
    pub fn new(rates: &Rates) -> RateLimits {
        let now = Instant::now();
        let rates = (rates.0.iter())
            .map(|(project, rate)| {
                let bucket = Bucket {
                    tokens: rate.burst as f64,
                    at: now,
                };
                (project.clone(), (*rate, Mutex::new(bucket)))
            })
            .collect();
        RateLimits { rates }
    }

    /// Parses `shop=1000,blog=50:200` ([`Rates`]).
    pub fn parse(spec: &str) -> Result<RateLimits, String> {
        spec.parse().map(|r| RateLimits::new(&r))
    }

    /// The rate of `project`, if it has one.
    pub fn rate(&self, project: &str) -> Option<Rate> {
        self.rates.get(project).map(|(r, _)| *r)
    }

    /// Takes `n` occurrences from `project`'s bucket. A request larger than the burst passes when
    /// the bucket is full and leaves it in debt, so large batches are slowed, never locked out.
    pub fn take(&self, project: &str, n: u64) -> Result<(), IngestError> {
        let Some((rate, bucket)) = self.rates.get(project) else {
            return Ok(());
        };
        if n == 0 {
            return Ok(());
        }
        let mut b = bucket.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let per = rate.per_second as f64;
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * per).min(rate.burst as f64);
        b.at = now;
        let need = (n as f64).min(rate.burst as f64);
        if b.tokens >= need {
            b.tokens -= n as f64;
            return Ok(());
        }
        let retry_after = ((need - b.tokens) / per).ceil().clamp(1.0, 60.0) as u32;
        Err(IngestError::RateLimited {
            project: project.to_string(),
            per_second: rate.per_second,
            retry_after,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_keeps_char_boundaries_and_marks_the_cut() {
        let mut s = "é".repeat(100);
        assert!(truncate(&mut s, 51));
        assert!(s.len() <= 51 && s.ends_with(TRUNCATED));
        let mut short = "ok".to_string();
        assert!(!truncate(&mut short, 51));
        assert_eq!(short, "ok");
        let mut borrowed = Cow::Borrowed("ok");
        assert!(!truncate_text(&mut borrowed, 2));
        assert!(
            matches!(borrowed, Cow::Borrowed("ok")),
            "not copied when not cut"
        );
        assert!(truncate_text(&mut borrowed, 1));
    }

    #[test]
    fn attributes_beyond_the_limit_are_counted_not_kept() {
        let mut row = Row {
            attr_keys: (0..10).map(|i| format!("k{i}").into()).collect(),
            attr_values: (0..10).map(|i| format!("v{i}").into()).collect(),
            ..Default::default()
        };
        FieldLimits {
            max_attributes: 4,
            ..Default::default()
        }
        .apply(&mut row);
        assert_eq!(row.attr_keys.len(), 4);
        assert_eq!(row.attr_keys[3], "faultline.dropped_attributes");
        assert_eq!(row.attr_values[3], "7");
    }

    #[test]
    fn buckets_refuse_over_the_rate_and_name_a_wait() {
        let r = RateLimits::parse("shop=10:20, blog=5").expect("parse");
        assert_eq!(
            r.rate("shop"),
            Some(Rate {
                per_second: 10,
                burst: 20
            })
        );
        assert!(r.take("shop", 15).is_ok());
        match r.take("shop", 15) {
            Err(IngestError::RateLimited { retry_after, .. }) => assert!(retry_after >= 1),
            other => panic!("{other:?}"),
        }
        assert!(r.take("other", 1_000_000).is_ok(), "no limit configured");
        assert!(RateLimits::parse("shop").is_err());
        assert!(RateLimits::parse("shop=0").is_err());
        assert!(RateLimits::parse("shop=5:x").is_err());
    }
}

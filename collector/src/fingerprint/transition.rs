//! The upgrade from grouping v1 to v2 without splitting issues (README, Grouping): the issues
//! that exist when a new version starts (their fingerprints, loaded from the store and refreshed)
//! keep their occurrences — an occurrence whose v2 fingerprint names no known issue but whose v1
//! fingerprint does is stored under the v1 one, with `grouping_version` 1. New bugs get v2. The
//! set only holds issues seen within the transition period, so v1 fades out by itself.

use std::collections::HashSet;
use std::hash::Hasher;
use std::sync::{Arc, RwLock};

use twox_hash::XxHash3_64;

use super::{GROUPING_VERSION, Grouping, GroupingInput, fingerprint_v1};

/// The fingerprints of known issues, as 64-bit hashes of `(project, fingerprint)`.
#[derive(Debug, Default)]
pub struct Transition {
    known: RwLock<Arc<HashSet<u64>>>,
}

fn key(project: &str, fingerprint: &str) -> u64 {
    let mut h = XxHash3_64::new();
    h.write(project.as_bytes());
    h.write(&[0x1f]);
    h.write(fingerprint.as_bytes());
    h.finish()
}

impl Transition {
    /// Replaces the known issues.
    pub fn replace<'a>(&self, issues: impl IntoIterator<Item = (&'a str, &'a str)>) {
        let set: HashSet<u64> = issues.into_iter().map(|(p, f)| key(p, f)).collect();
        *self.known.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(set);
    }

    /// How many issues are known.
    pub fn len(&self) -> usize {
        self.known.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether no issue is known (nothing to keep).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `fingerprint` names a known issue of `project`.
    pub fn knows(&self, project: &str, fingerprint: &str) -> bool {
        self.known
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&key(project, fingerprint))
    }

    /// `g` (computed for `input` by the current version), or the v1 grouping when that names a
    /// known issue and `g` does not.
    pub fn keep(&self, input: &GroupingInput<'_>, g: Grouping) -> Grouping {
        if g.version != GROUPING_VERSION
            || self.is_empty()
            || self.knows(input.project, &g.fingerprint)
        {
            return g;
        }
        let old = fingerprint_v1(input);
        if self.knows(input.project, &old) {
            Grouping {
                fingerprint: old,
                culprit: g.culprit,
                version: 1,
            }
        } else {
            g
        }
    }
}

/// `/metrics`: `faultline_grouping_transition_issues`, the issues currently kept by the
/// transition's older fingerprints (0 before the first read, or when it is off).
#[derive(Debug)]
pub struct TransitionMetrics(pub Arc<Transition>);

impl prometheus_client::collector::Collector for TransitionMetrics {
    fn encode(
        &self,
        mut encoder: prometheus_client::encoding::DescriptorEncoder,
    ) -> Result<(), std::fmt::Error> {
        use prometheus_client::encoding::EncodeMetric;
        let g = encoder.encode_descriptor(
            "grouping_transition_issues",
            "Known issues whose occurrences keep an older grouping version's fingerprint.",
            None,
            prometheus_client::metrics::MetricType::Gauge,
        )?;
        prometheus_client::metrics::gauge::ConstGauge::new(self.0.len() as i64).encode(g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::{Stack, fingerprint};

    #[test]
    fn old_issues_keep_their_occurrences_and_new_bugs_get_v2() {
        let trace = "Traceback (most recent call last):\n  File \"/srv/app/main.py\", line 3, in <module>\n    run()\n  File \"/srv/app/shop/cart.py\", line 9, in add\n    items[sku] += 1\nKeyError: 'sku'";
        let input = GroupingInput {
            project: "shop",
            service: "api",
            exception_type: "KeyError",
            message: "'sku'",
            stack: Stack::Text(trace),
            ..GroupingInput::default()
        };
        let v2 = fingerprint(&input);
        let v1 = fingerprint_v1(&input);
        assert_ne!(v1, v2.fingerprint, "the versions hash differently");
        let t = Arc::new(Transition::default());
        // Nothing known: v2.
        assert_eq!(t.keep(&input, v2.clone()), v2);
        // The v1 issue exists: it keeps the occurrence, as version 1.
        t.replace([("shop", v1.as_str())]);
        let kept = t.keep(&input, v2.clone());
        assert_eq!((kept.fingerprint.as_str(), kept.version), (v1.as_str(), 1));
        // Only in another project: v2.
        t.replace([("blog", v1.as_str())]);
        assert_eq!(t.keep(&input, v2.clone()), v2);
        // Both known (an upgraded process already created the v2 issue): v2.
        t.replace([("shop", v1.as_str()), ("shop", v2.fingerprint.as_str())]);
        assert_eq!(t.keep(&input, v2.clone()), v2);
    }
}

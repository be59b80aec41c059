//! `faultline fingerprint`: JSON lines in the grouping-corpus format on standard input (`id`,
//! `service`, `exception_type`, `message`, `stacktrace`; optional `project`, `fingerprint`) →
//! `{"id": ..., "fingerprint": ...}` lines, computed by the very function ingest uses. With
//! `--score`, lines that carry the true `group` (and optionally `lang`) are scored against it
//! with B-cubed precision, recall and F1 ([`bcubed`]), overall and per language, on standard
//! error: the evaluation tool for grouping changes, kept out of the product code.

use std::io::{BufRead, Write};

use std::collections::HashMap;

use faultline_collector::fingerprint::{
    Explanation, GroupingConfig, GroupingInput, Stack, explain,
};

/// What [`run`] writes per event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// `{"id", "fingerprint"}` lines.
    Json,
    /// Which exception and frames counted and why, as text ([`render_explanation`]).
    Explain,
}

/// An explanation as text: the fingerprint and its basis, the exception chosen and why, then
/// every frame of it, innermost first, `+` when counted.
pub fn render_explanation(id: &str, fingerprint: &str, e: &Explanation) -> String {
    let mut out = format!(
        "{id}  {fingerprint}  (grouping v{}, by {})\n",
        e.version, e.basis
    );
    if let Some((i, n, why)) = e.exception {
        out.push_str(&format!(
            "  exception {}: {} of {n} in the chain, {why}\n",
            e.exception_type,
            i + 1
        ));
    } else if !e.exception_type.is_empty() {
        out.push_str(&format!(
            "  exception {}: no stack trace\n",
            e.exception_type
        ));
    }
    for f in &e.frames {
        out.push_str(&format!(
            "  {} {} in {}  [{}{}]\n",
            if f.note.counted() { '+' } else { '-' },
            f.module,
            f.function,
            if f.in_app { "app, " } else { "" },
            f.note.as_str()
        ));
    }
    if let Some(m) = &e.message {
        out.push_str(&format!("  message (masked): {m}\n"));
    }
    out
}

/// Reads events from `input`, writes predictions to `output`, with the projects' grouping
/// configuration (as ingest does). Returns how many lines were read, and the labelled lines
/// (true group, language, predicted fingerprint) for [`score`].
pub fn run(
    input: impl BufRead,
    mut output: impl Write,
    grouping: &HashMap<String, GroupingConfig>,
    mode: Output,
) -> anyhow::Result<(usize, Vec<Labelled>)> {
    let mut n = 0;
    let mut labelled = Vec::new();
    for (i, line) in input.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(&line)
            .map_err(|e| anyhow::anyhow!("line {}: invalid JSON: {e}", i + 1))?;
        let s = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("");
        let project = if s("project").is_empty() {
            faultline_collector::auth::DEFAULT_PROJECT
        } else {
            s("project")
        };
        let (g, why) = explain(&GroupingInput {
            project,
            service: s("service"),
            exception_type: s("exception_type"),
            message: s("message"),
            stack: Stack::Text(s("stacktrace")),
            client_fingerprint: v.get("fingerprint").and_then(|x| x.as_str()),
            config: grouping.get(project),
        });
        match mode {
            Output::Json => writeln!(
                output,
                "{}",
                serde_json::json!({"id": v.get("id").cloned().unwrap_or_default(), "fingerprint": g.fingerprint})
            )?,
            Output::Explain => writeln!(
                output,
                "{}",
                render_explanation(s("id"), &g.fingerprint, &why)
            )?,
        }
        if let Some(group) = v.get("group").and_then(|x| x.as_str()) {
            labelled.push(Labelled {
                group: group.to_string(),
                lang: s("lang").to_string(),
                fingerprint: g.fingerprint,
            });
        }
        n += 1;
    }
    Ok((n, labelled))
}

/// One input line with its true group, as [`run`] saw it.
#[derive(Debug, Clone)]
pub struct Labelled {
    /// The true group.
    pub group: String,
    /// The language, empty when not given.
    pub lang: String,
    /// The predicted fingerprint.
    pub fingerprint: String,
}

/// Writes the B-cubed scores of `labelled`, one line per language, then the overall line
/// `corpus: bcubed_precision=… bcubed_recall=… bcubed_f1=…`. Returns the overall F1.
pub fn score(labelled: &[Labelled], mut out: impl Write) -> std::io::Result<f64> {
    let mut langs: Vec<&str> = labelled.iter().map(|l| l.lang.as_str()).collect();
    langs.sort_unstable();
    langs.dedup();
    let scored = |pick: &dyn Fn(&Labelled) -> bool| {
        let (truth, pred): (Vec<&str>, Vec<&str>) = labelled
            .iter()
            .filter(|l| pick(l))
            .map(|l| (l.group.as_str(), l.fingerprint.as_str()))
            .unzip();
        bcubed(&truth, &pred)
    };
    if langs.len() > 1 {
        for lang in langs {
            let (p, r, f1) = scored(&|l| l.lang == lang);
            writeln!(out, "{lang:8} P={p:.4} R={r:.4} F1={f1:.4}")?;
        }
    }
    let (p, r, f1) = scored(&|_| true);
    let groups: std::collections::HashSet<&str> =
        labelled.iter().map(|l| l.fingerprint.as_str()).collect();
    let truths: std::collections::HashSet<&str> =
        labelled.iter().map(|l| l.group.as_str()).collect();
    writeln!(
        out,
        "predicted groups: {} (true: {})",
        groups.len(),
        truths.len()
    )?;
    writeln!(
        out,
        "corpus: bcubed_precision={p:.4} bcubed_recall={r:.4} bcubed_f1={f1:.4}"
    )?;
    Ok(f1)
}

/// B-cubed precision, recall and F1 of a predicted grouping against the true one (per item,
/// averaged), the measure of the grouping corpus. `truth[i]` and `pred[i]` label item `i`.
pub fn bcubed(truth: &[&str], pred: &[&str]) -> (f64, f64, f64) {
    let n = truth.len().min(pred.len());
    if n == 0 {
        return (0.0, 0.0, 0.0);
    }
    let mut by_pred: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut true_size: HashMap<&str, usize> = HashMap::new();
    for i in 0..n {
        by_pred.entry(pred[i]).or_default().push(i);
        *true_size.entry(truth[i]).or_default() += 1;
    }
    let (mut p, mut r) = (0.0, 0.0);
    for i in 0..n {
        let same_pred = &by_pred[pred[i]];
        let both = same_pred.iter().filter(|&&j| truth[j] == truth[i]).count() as f64;
        p += both / same_pred.len() as f64;
        r += both / true_size[truth[i]] as f64;
    }
    let (p, r) = (p / n as f64, r / n as f64);
    let f1 = if p + r > 0.0 {
        2.0 * p * r / (p + r)
    } else {
        0.0
    };
    (p, r, f1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bcubed_scores() {
        assert_eq!(bcubed(&["a", "a", "b"], &["x", "x", "y"]).2, 1.0);
        let (p, r, _) = bcubed(&["a", "a", "b"], &["x", "x", "x"]);
        assert!((p - 5.0 / 9.0).abs() < 1e-9 && r == 1.0);
        let (p, r, _) = bcubed(&["a", "a"], &["x", "y"]);
        assert!(p == 1.0 && (r - 0.5).abs() < 1e-9);
    }
}

//! `faultline fingerprint`: JSON lines in the grouping-corpus format on standard input (`id`,
//! `service`, `exception_type`, `message`, `stacktrace`; optional `project`, `fingerprint`) →
//! `{"id": ..., "fingerprint": ...}` lines, computed by the very function ingest uses.

use std::io::{BufRead, Write};

use std::collections::HashMap;

use faultline_collector::fingerprint::{GroupingConfig, GroupingInput, fingerprint};

/// Reads events from `input`, writes predictions to `output`, with the projects' grouping
/// configuration (as ingest does). Returns how many lines were read.
pub fn run(
    input: impl BufRead,
    mut output: impl Write,
    grouping: &HashMap<String, GroupingConfig>,
) -> anyhow::Result<usize> {
    let mut n = 0;
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
        let g = fingerprint(&GroupingInput {
            project,
            service: s("service"),
            exception_type: s("exception_type"),
            message: s("message"),
            stacktrace: s("stacktrace"),
            client_fingerprint: v.get("fingerprint").and_then(|x| x.as_str()),
            config: grouping.get(project),
        });
        writeln!(
            output,
            "{}",
            serde_json::json!({"id": v.get("id").cloned().unwrap_or_default(), "fingerprint": g.fingerprint})
        )?;
        n += 1;
    }
    Ok(n)
}

//! `faultline check`, for cron and CI (seed 001's `monitor.py`): one line saying what was found,
//! and an exit code a shell can test.
//!
//! - `check health --url URL`: 0 when `URL/health/ready` answers 200; 1 when it answers
//!   anything else (not ready, degraded); 2 when it cannot be asked.
//! - `check errors --url URL --project P --hours H --threshold N [--api-key K]`: 1 when the
//!   project had more than N occurrences in the last H hours (printing the count and the top
//!   issues), 0 otherwise, 2 when it cannot be asked.

use std::time::Duration;

use clap::{Args, Subcommand};
use serde::Deserialize;

/// What to check.
#[derive(Debug, Subcommand)]
pub enum Check {
    /// Exit 0 when Faultline is ready (`/health/ready` is 200), 1 when not, 2 when unreachable.
    Health {
        /// Faultline's API address (e.g. http://localhost:8080).
        #[arg(long)]
        url: String,
    },
    /// Exit 1 when a project had more than `threshold` occurrences in the last `hours`.
    Errors(ErrorsArgs),
}

/// `check errors`.
#[derive(Debug, Args)]
pub struct ErrorsArgs {
    /// Faultline's API address (e.g. http://localhost:8080).
    #[arg(long)]
    pub url: String,
    /// An API key (when the API requires one; also read from FAULTLINE_API_KEY).
    #[arg(long, env = "FAULTLINE_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// The project.
    #[arg(long)]
    pub project: String,
    /// The window, in hours, ending now.
    #[arg(long, default_value_t = 1)]
    pub hours: u32,
    /// More occurrences than this: exit 1.
    #[arg(long)]
    pub threshold: u64,
}

/// What a check concluded: the exit code and the line to print.
#[derive(Debug, PartialEq, Eq)]
pub struct Verdict {
    /// 0 fine, 1 found, 2 could not ask.
    pub code: i32,
    /// One line (and the top issues for `errors`).
    pub text: String,
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap_or_default()
}

/// Runs a check.
pub async fn run(check: &Check) -> Verdict {
    match check {
        Check::Health { url } => health(url).await,
        Check::Errors(a) => errors(a).await,
    }
}

/// An answer's status and the start of its body.
async fn answer(r: reqwest::Response) -> (u16, String) {
    let status = r.status().as_u16();
    let body: String = (r.text().await.unwrap_or_default().chars())
        .take(300)
        .collect();
    (status, body)
}

async fn health(url: &str) -> Verdict {
    let target = format!("{}/health/ready", url.trim_end_matches('/'));
    match client().get(&target).send().await {
        Ok(r) if r.status().is_success() => Verdict {
            code: 0,
            text: format!("ready: {target} answered {}", r.status().as_u16()),
        },
        Ok(r) => {
            let (status, body) = answer(r).await;
            Verdict {
                code: 1,
                text: format!("not ready: {target} answered {status}: {}", body.trim()),
            }
        }
        Err(e) => Verdict {
            code: 2,
            text: format!("cannot ask {target}: {}", e.without_url()),
        },
    }
}

#[derive(Deserialize)]
struct Page {
    data: Vec<Item>,
    next_cursor: Option<String>,
}

#[derive(Deserialize)]
struct Item {
    fingerprint: String,
    exception_type: String,
    message: String,
    count: u64,
}

async fn errors(a: &ErrorsArgs) -> Verdict {
    let base = format!("{}/api/v1/errors", a.url.trim_end_matches('/'));
    let http = client();
    let mut items: Vec<Item> = Vec::new();
    let mut cursor: Option<String> = None;
    // Every page (500 issues each), at most 100 pages.
    for _ in 0..100 {
        let mut query = vec![
            ("project", a.project.clone()),
            ("since", format!("{}h", a.hours)),
            ("sort", "count".into()),
            ("limit", "500".into()),
        ];
        if let Some(c) = &cursor {
            query.push(("cursor", c.clone()));
        }
        let mut req = http.get(&base).query(&query);
        if let Some(k) = &a.api_key {
            req = req.bearer_auth(k);
        }
        let page = match req.send().await {
            Ok(r) if r.status().is_success() => match r.json::<Page>().await {
                Ok(p) => p,
                Err(e) => {
                    return Verdict {
                        code: 2,
                        text: format!("cannot read the answer of {base}: {e}"),
                    };
                }
            },
            Ok(r) => {
                let (status, body) = answer(r).await;
                return Verdict {
                    code: 2,
                    text: format!("cannot ask {base}: HTTP {status}: {}", body.trim()),
                };
            }
            Err(e) => {
                return Verdict {
                    code: 2,
                    text: format!("cannot ask {base}: {}", e.without_url()),
                };
            }
        };
        items.extend(page.data);
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    verdict(a, items)
}

fn verdict(a: &ErrorsArgs, mut items: Vec<Item>) -> Verdict {
    let total: u64 = items.iter().map(|i| i.count).sum();
    let head = format!(
        "{total} errors in project {:?} in the last {}h ({} issues; threshold {})",
        a.project,
        a.hours,
        items.len(),
        a.threshold
    );
    if total <= a.threshold {
        return Verdict {
            code: 0,
            text: format!("ok: {head}"),
        };
    }
    items.sort_by_key(|i| std::cmp::Reverse(i.count));
    let mut text = format!("too many: {head}");
    for i in items.iter().take(5) {
        let message: String = i
            .message
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(120)
            .collect();
        text.push_str(&format!(
            "\n  {:>6}  {}: {}  ({})",
            i.count, i.exception_type, message, i.fingerprint
        ));
    }
    Verdict { code: 1, text }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verdict_counts_every_issue_and_names_the_top_ones() {
        let a = ErrorsArgs {
            url: String::new(),
            api_key: None,
            project: "shop".into(),
            hours: 1,
            threshold: 10,
        };
        let item = |fp: &str, n| Item {
            fingerprint: fp.into(),
            exception_type: "KeyError".into(),
            message: "'card'\nmore".into(),
            count: n,
        };
        let ok = verdict(&a, vec![item("a", 4), item("b", 6)]);
        assert_eq!(ok.code, 0, "{}", ok.text);
        let over = verdict(&a, vec![item("a", 4), item("b", 7)]);
        assert_eq!(over.code, 1);
        assert!(
            over.text
                .starts_with("too many: 11 errors in project \"shop\" in the last 1h")
        );
        assert!(
            over.text.contains("\n       7  KeyError: 'card'  (b)"),
            "{}",
            over.text
        );
    }
}

//! Configuration: loaded once at start from an optional TOML file (`FAULTLINE_CONFIG`) plus the
//! environment (`FAULTLINE_<FIELD>` overrides the file's `field`), then validated. The environment
//! is passed in as a map, so tests never touch the process environment.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use faultline_collector::auth::Projects;
use faultline_collector::limits::Rates;
use serde::{Deserialize, Serialize};

/// A comma-separated list (`a, b,c`), parsed once at load: items trimmed, empty ones dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub struct List(pub Vec<String>);

impl From<String> for List {
    fn from(s: String) -> Self {
        List(
            s.split(',')
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(String::from)
                .collect(),
        )
    }
}

impl From<&str> for List {
    fn from(s: &str) -> Self {
        List::from(s.to_string())
    }
}

impl From<List> for String {
    fn from(l: List) -> String {
        l.0.join(",")
    }
}

/// Every setting. Field `x` is `FAULTLINE_X` in the environment.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// ClickHouse HTTP URL. Empty: start a local `clickhouse-server` with its data under `data_dir`.
    pub clickhouse_url: String,
    /// Database holding Faultline's tables.
    pub clickhouse_database: String,
    /// ClickHouse user (empty: the server's default).
    pub clickhouse_user: String,
    /// ClickHouse password (never logged).
    pub clickhouse_password: String,
    /// A cluster of the servers' `remote_servers` to keep the tables on (replicated local tables,
    /// Distributed tables under the plain names); empty: one server.
    pub clickhouse_cluster: String,
    /// A cluster listing every node as its own shard, for DDL on Distributed tables and views
    /// (ClickHouse 18.16 refuses it over a replicated cluster); empty: `clickhouse_cluster`.
    pub clickhouse_ddl_cluster: String,
    /// Where local state lives (the embedded ClickHouse's data).
    pub data_dir: PathBuf,
    /// Projects and their ingest tokens, `name:token,name:token`. Empty: development mode, every
    /// occurrence goes to project `default` without authentication.
    pub projects: Projects,
    /// API keys for `/api/v1`, comma-separated. Empty: the API is open.
    pub api_keys: List,
    /// OTLP/gRPC listen address.
    pub otlp_grpc_addr: String,
    /// OTLP/HTTP and webhook listen address.
    pub http_addr: String,
    /// REST API listen address.
    pub api_addr: String,
    /// Largest request body accepted, in bytes (HTTP and gRPC).
    pub max_body_bytes: usize,
    /// Largest request body after gzip decompression, in bytes.
    pub max_decompressed_bytes: usize,
    /// Most requests decoded, grouped and encoded at once (the rest wait their turn). 0: half the
    /// cores, at least one, leaving the others to ClickHouse beside Faultline; raise it when
    /// ClickHouse runs elsewhere.
    pub ingest_jobs: usize,
    /// Writer: flush when this many occurrences are pending.
    pub batch_max_rows: usize,
    /// Writer: flush when the oldest pending request is this old, in milliseconds (1 s: about one
    /// insert per second per table, as ClickHouse advises; 200 ms cost ClickHouse three times the
    /// CPU per event under one-event requests, `bench/RESULTS.md` 2026-12-06).
    pub batch_max_age_ms: u64,
    /// Disk spool under `data_dir/spool`: largest size in bytes; beyond it new data gets 503 /
    /// UNAVAILABLE with Retry-After (default 1 GiB).
    pub spool_max_bytes: u64,
    /// Attributes kept per occurrence; the rest are dropped (counted in the attribute
    /// `faultline.dropped_attributes`).
    pub max_attributes: usize,
    /// Longest message kept, in bytes; longer ones are cut with a `…[truncated]` marker.
    pub max_message_bytes: usize,
    /// Longest stack trace kept, in bytes; longer ones are cut with a `…[truncated]` marker.
    pub max_stacktrace_bytes: usize,
    /// Rate limits per project: `project=occurrences_per_second[:burst]`, comma-separated. Over
    /// the limit: HTTP 429 / gRPC RESOURCE_EXHAUSTED with Retry-After.
    pub rate_limits: Rates,
    /// Scrub personal data before storing (values of secret-looking keys, card numbers).
    pub scrub_pii: bool,
    /// Also zero the last octet of IPv4 addresses (last 80 bits of IPv6) in stored values.
    pub anonymize_ip: bool,
    /// Extra key fragments whose values are scrubbed, comma-separated (all projects).
    pub scrub_extra_fields: List,
    /// Keys never scrubbed, comma-separated (all projects).
    pub scrub_safe_fields: List,
    /// Shared secret of Sentry's outgoing webhooks (`/sentry/webhook/{token}`): when set, a
    /// delivery without a valid `Sentry-Hook-Signature` is refused (never logged).
    pub sentry_hook_secret: String,
    /// Sentry project slugs whose webhook deliveries are accepted, comma-separated; empty: all.
    pub sentry_hook_projects: List,
    /// Shutdown: how long to wait for in-flight batches to be written, in seconds.
    pub shutdown_timeout_secs: u64,
    /// Shutdown: how long to keep serving with readiness 503 before closing the listeners, so load
    /// balancers stop sending traffic first, in seconds.
    pub shutdown_drain_secs: u64,
    /// Requests slower than this are logged as warnings, in milliseconds.
    pub slow_request_ms: u64,
    /// Name of this deployment, shown by `/health`.
    pub environment: String,
    /// Log format: `text` or `json`.
    pub log_format: String,
    /// Grouping per project (file only): `[grouping.<project>]` with `in_app_include`,
    /// `in_app_exclude` and `[[grouping.<project>.rules]]` (see README.md, Grouping).
    pub grouping:
        std::collections::HashMap<String, faultline_collector::fingerprint::GroupingConfig>,
    /// Scrubbing per project (file only): `[scrubbing.<project>]` with `extra_fields` and
    /// `safe_fields`, added to the global lists for that project.
    pub scrubbing: std::collections::HashMap<String, faultline_collector::scrub::ScrubOverrides>,
    /// Faultline's address as users reach it, for links in alerts (default: the API address).
    pub public_url: String,
    /// Grouping's upgrade transition: issues seen within this many days keep their occurrences
    /// under their older-version fingerprint (0: off).
    pub grouping_transition_days: u64,
    /// A trace viewer's URL with `{trace_id}` in it (Grafana Tempo, Jaeger): the triage screen
    /// links each occurrence's trace id there. Empty: no links.
    pub trace_url: String,
    /// Alerting (file only): `[[alerts.channels]]` and `[[alerts.rules]]` (see README.md,
    /// Alerts).
    pub alerts: faultline_alerts::AlertsConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            clickhouse_url: String::new(),
            clickhouse_database: "faultline".into(),
            clickhouse_user: String::new(),
            clickhouse_password: String::new(),
            clickhouse_cluster: String::new(),
            clickhouse_ddl_cluster: String::new(),
            data_dir: PathBuf::from("./data"),
            projects: Projects::default(),
            api_keys: List::default(),
            otlp_grpc_addr: "0.0.0.0:4317".into(),
            http_addr: "0.0.0.0:4318".into(),
            api_addr: "0.0.0.0:8080".into(),
            max_body_bytes: 16 << 20,
            max_decompressed_bytes: 64 << 20,
            ingest_jobs: 0,
            batch_max_rows: 50_000,
            batch_max_age_ms: 1000,
            spool_max_bytes: 1 << 30,
            max_attributes: 128,
            max_message_bytes: 8 << 10,
            max_stacktrace_bytes: 64 << 10,
            rate_limits: Rates::default(),
            scrub_pii: true,
            anonymize_ip: false,
            scrub_extra_fields: List::default(),
            scrub_safe_fields: List::default(),
            sentry_hook_secret: String::new(),
            sentry_hook_projects: List::default(),
            shutdown_timeout_secs: 20,
            shutdown_drain_secs: 0,
            slow_request_ms: 1000,
            environment: "production".into(),
            log_format: "text".into(),
            grouping: Default::default(),
            scrubbing: Default::default(),
            public_url: String::new(),
            trace_url: String::new(),
            grouping_transition_days: 90,
            alerts: Default::default(),
        }
    }
}

impl std::fmt::Debug for Config {
    /// Secrets (password, project tokens, API keys) are never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |s: &str| if s.is_empty() { "" } else { "<redacted>" };
        let keys = if self.api_keys.0.is_empty() {
            ""
        } else {
            "<redacted>"
        };
        f.debug_struct("Config")
            .field("clickhouse_url", &self.clickhouse_url)
            .field("clickhouse_database", &self.clickhouse_database)
            .field("clickhouse_user", &self.clickhouse_user)
            .field("clickhouse_password", &redacted(&self.clickhouse_password))
            .field("clickhouse_cluster", &self.clickhouse_cluster)
            .field("clickhouse_ddl_cluster", &self.clickhouse_ddl_cluster)
            .field("data_dir", &self.data_dir)
            .field("projects", &self.projects)
            .field("api_keys", &keys)
            .field("sentry_hook_secret", &redacted(&self.sentry_hook_secret))
            .field("sentry_hook_projects", &self.sentry_hook_projects.0)
            .field("otlp_grpc_addr", &self.otlp_grpc_addr)
            .field("http_addr", &self.http_addr)
            .field("api_addr", &self.api_addr)
            .field("grouping", &self.grouping.keys().collect::<Vec<_>>())
            .field("alerts", &self.alerts)
            .finish_non_exhaustive()
    }
}

/// Environment variables with this prefix are not settings (test harness knobs).
const IGNORED_PREFIXES: &[&str] = &["FAULTLINE_TEST_", "FAULTLINE_CONFIG"];

impl Config {
    /// Loads the file named by `FAULTLINE_CONFIG` (if any), applies `FAULTLINE_*` variables, validates.
    pub fn load(env: &HashMap<String, String>) -> anyhow::Result<Config> {
        let mut table = match env.get("FAULTLINE_CONFIG").filter(|p| !p.is_empty()) {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading config file {path}"))?;
                let file: Config =
                    toml::from_str(&text).with_context(|| format!("config file {path}"))?;
                toml::Table::try_from(file)?
            }
            None => toml::Table::try_from(Config::default())?,
        };
        let mut keys: Vec<&String> = env.keys().filter(|k| k.starts_with("FAULTLINE_")).collect();
        keys.sort();
        for key in keys {
            if IGNORED_PREFIXES.iter().any(|p| key.starts_with(p)) {
                continue;
            }
            let field = key["FAULTLINE_".len()..].to_ascii_lowercase();
            let value = &env[key];
            let slot = table
                .get_mut(&field)
                .with_context(|| format!("unknown setting {key} (see README.md, Configuration)"))?;
            *slot = match slot {
                toml::Value::Integer(_) => toml::Value::Integer(
                    value
                        .trim()
                        .parse()
                        .with_context(|| format!("{key} must be a whole number, got {value:?}"))?,
                ),
                toml::Value::Boolean(_) => {
                    toml::Value::Boolean(match value.trim().to_ascii_lowercase().as_str() {
                        "1" | "true" | "yes" | "on" => true,
                        "0" | "false" | "no" | "off" => false,
                        _ => bail!("{key} must be true or false, got {value:?}"),
                    })
                }
                _ => toml::Value::String(value.clone()),
            };
        }
        let cfg: Config = table.try_into().context("configuration")?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks every value that can be checked before start.
    pub fn validate(&self) -> anyhow::Result<()> {
        for (name, addr) in [
            ("otlp_grpc_addr", &self.otlp_grpc_addr),
            ("http_addr", &self.http_addr),
            ("api_addr", &self.api_addr),
        ] {
            addr.parse::<SocketAddr>().with_context(|| {
                format!("{name}: {addr:?} is not an address such as 0.0.0.0:4317")
            })?;
        }
        if !self.clickhouse_url.is_empty()
            && !self.clickhouse_url.starts_with("http://")
            && !self.clickhouse_url.starts_with("https://")
        {
            bail!("clickhouse_url must start with http:// or https://");
        }
        if self.clickhouse_database.is_empty()
            || !self
                .clickhouse_database
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            bail!("clickhouse_database must be letters, digits and underscores");
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            bail!("log_format must be text or json, got {:?}", self.log_format);
        }
        if self.batch_max_rows == 0 || self.max_body_bytes == 0 || self.spool_max_bytes < (1 << 20)
        {
            bail!(
                "batch_max_rows and max_body_bytes must be above 0, spool_max_bytes at least 1 MiB"
            );
        }
        if self.max_message_bytes < 64 || self.max_stacktrace_bytes < 64 {
            bail!("max_message_bytes and max_stacktrace_bytes must be at least 64");
        }
        for (project, g) in &self.grouping {
            g.validate()
                .map_err(|e| anyhow::anyhow!("grouping.{project}: {e}"))?;
        }
        if self.max_decompressed_bytes < self.max_body_bytes {
            bail!("max_decompressed_bytes must be at least max_body_bytes");
        }
        let url = &self.public_url;
        if !(url.is_empty() || url.starts_with("http://") || url.starts_with("https://")) {
            bail!(
                "public_url must start with http:// or https://, got {:?}",
                self.public_url
            );
        }
        for (key, name) in [
            ("clickhouse_cluster", &self.clickhouse_cluster),
            ("clickhouse_ddl_cluster", &self.clickhouse_ddl_cluster),
        ] {
            if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                bail!("{key} must be a cluster name of letters, digits and _, got {name:?}");
            }
        }
        if !self.clickhouse_ddl_cluster.is_empty() && self.clickhouse_cluster.is_empty() {
            bail!("clickhouse_ddl_cluster needs clickhouse_cluster");
        }
        if !self.clickhouse_cluster.is_empty() && self.clickhouse_url.is_empty() {
            bail!(
                "clickhouse_cluster needs clickhouse_url (a node of the cluster): the embedded ClickHouse is a single server"
            );
        }
        let t = &self.trace_url;
        if !t.is_empty()
            && !((t.starts_with("http://") || t.starts_with("https://"))
                && t.contains("{trace_id}"))
        {
            bail!(
                "trace_url must be an http(s) URL containing {{trace_id}}, got {:?}",
                self.trace_url
            );
        }
        self.alerts.validate().map_err(|e| anyhow::anyhow!(e))?;
        Ok(())
    }

    /// How to reach ClickHouse (the cluster, when one is configured).
    pub fn store_config(&self, url: &str) -> faultline_store::StoreConfig {
        faultline_store::StoreConfig {
            url: url.to_string(),
            database: self.clickhouse_database.clone(),
            user: self.clickhouse_user.clone(),
            password: self.clickhouse_password.clone(),
            cluster: (!self.clickhouse_cluster.is_empty()).then(|| faultline_store::Cluster {
                name: self.clickhouse_cluster.clone(),
                ddl: if self.clickhouse_ddl_cluster.is_empty() {
                    self.clickhouse_cluster.clone()
                } else {
                    self.clickhouse_ddl_cluster.clone()
                },
            }),
        }
    }

    /// Faultline's address as users reach it: `public_url`, else the API address (a wildcard
    /// address read as `localhost`).
    pub fn public_url(&self) -> String {
        if !self.public_url.is_empty() {
            return self.public_url.trim_end_matches('/').to_string();
        }
        match self.api_addr.parse::<SocketAddr>() {
            Ok(a) if a.ip().is_unspecified() => format!("http://localhost:{}", a.port()),
            Ok(a) => format!("http://{a}"),
            Err(_) => format!("http://{}", self.api_addr),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_and_overrides() {
        let c = Config::load(&env(&[])).expect("defaults are valid");
        assert_eq!(c.http_addr, "0.0.0.0:4318");
        let c = Config::load(&env(&[
            ("FAULTLINE_HTTP_ADDR", "127.0.0.1:9999"),
            ("FAULTLINE_BATCH_MAX_ROWS", "10"),
            ("PATH", "/bin"),
        ]))
        .expect("valid");
        assert_eq!(
            (c.http_addr.as_str(), c.batch_max_rows),
            ("127.0.0.1:9999", 10)
        );
    }

    #[test]
    fn bad_values_are_named() {
        let e = Config::load(&env(&[("FAULTLINE_HTTP_ADRR", "x")])).expect_err("typo");
        assert!(format!("{e:#}").contains("FAULTLINE_HTTP_ADRR"));
        let e = Config::load(&env(&[("FAULTLINE_BATCH_MAX_ROWS", "many")])).expect_err("number");
        assert!(format!("{e:#}").contains("whole number"));
        let e = Config::load(&env(&[("FAULTLINE_PROJECTS", "shop")])).expect_err("projects");
        assert!(format!("{e:#}").contains("name:token"));
        let e = Config::load(&env(&[("FAULTLINE_API_ADDR", "localhost")])).expect_err("addr");
        assert!(format!("{e:#}").contains("api_addr"));
    }

    #[test]
    fn grouping_rules_from_the_file() {
        let dir = std::env::temp_dir().join(format!("faultline-grp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("g.toml");
        std::fs::write(
            &path,
            "[grouping.shop]\nin_app_include = [\"com.shop.\"]\n[[grouping.shop.rules]]\nexception_type = \"Timeout*\"\nfingerprint = \"timeouts\"\n",
        )
        .expect("write");
        let c = Config::load(&env(&[("FAULTLINE_CONFIG", path.to_str().expect("utf8"))]))
            .expect("valid");
        assert_eq!(c.grouping["shop"].rules[0].fingerprint, "timeouts");
        std::fs::write(&path, "[[grouping.shop.rules]]\nfingerprint = \"x\"\n").expect("write");
        let e = Config::load(&env(&[("FAULTLINE_CONFIG", path.to_str().expect("utf8"))]))
            .expect_err("no condition");
        assert!(format!("{e:#}").contains("grouping.shop"), "{e:#}");
        std::fs::write(&path, "[grouping.shop]\nin_app = [\"x\"]\n").expect("write");
        assert!(
            Config::load(&env(&[("FAULTLINE_CONFIG", path.to_str().expect("utf8"))])).is_err(),
            "unknown keys are refused"
        );
    }

    #[test]
    fn scrubbing_per_project_limits_and_booleans() {
        let dir = std::env::temp_dir().join(format!("faultline-scrub-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("s.toml");
        std::fs::write(
            &path,
            "rate_limits = \"shop=100:200\"\n[scrubbing.shop]\nextra_fields = [\"ssn\"]\nsafe_fields = [\"token_count\"]\n",
        )
        .expect("write");
        let c = Config::load(&env(&[
            ("FAULTLINE_CONFIG", path.to_str().expect("utf8")),
            ("FAULTLINE_ANONYMIZE_IP", "yes"),
            ("FAULTLINE_SPOOL_MAX_BYTES", "2097152"),
        ]))
        .expect("valid");
        assert_eq!(c.scrubbing["shop"].extra_fields, vec!["ssn"]);
        assert!(c.anonymize_ip && c.scrub_pii);
        assert_eq!(c.spool_max_bytes, 2 << 20);
        for (k, v, needle) in [
            ("FAULTLINE_SCRUB_PII", "maybe", "true or false"),
            ("FAULTLINE_RATE_LIMITS", "shop=fast", "rate_limits"),
            ("FAULTLINE_SPOOL_MAX_BYTES", "1000", "spool_max_bytes"),
        ] {
            let e = Config::load(&env(&[(k, v)])).expect_err(k);
            assert!(format!("{e:#}").contains(needle), "{k}: {e:#}");
        }
    }

    #[test]
    fn lists_are_parsed_once_at_load() {
        let c = Config::load(&env(&[
            ("FAULTLINE_API_KEYS", " key-one-123456 , key-two-123456,,"),
            ("FAULTLINE_SCRUB_EXTRA_FIELDS", "ssn, iban"),
            ("FAULTLINE_PROJECTS", "shop:shop-token-1,blog:blog-token-2"),
            ("FAULTLINE_RATE_LIMITS", "shop=10,shop=20:40"),
        ]))
        .expect("valid");
        assert_eq!(c.api_keys.0, ["key-one-123456", "key-two-123456"]);
        assert_eq!(c.scrub_extra_fields.0, ["ssn", "iban"]);
        assert!(c.scrub_safe_fields.0.is_empty());
        let names: Vec<&str> = c.projects.0.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["shop", "blog"]);
        assert_eq!(c.projects.0[1].token, "blog-token-2");
        // The last entry of a project wins.
        assert_eq!(c.rate_limits.0.len(), 1);
        assert_eq!(
            (c.rate_limits.0[0].1.per_second, c.rate_limits.0[0].1.burst),
            (20, 40)
        );
    }

    #[test]
    fn debug_hides_secrets() {
        let c = Config::load(&env(&[
            ("FAULTLINE_PROJECTS", "shop:very-secret-token"),
            ("FAULTLINE_CLICKHOUSE_PASSWORD", "pw-123"),
            ("FAULTLINE_API_KEYS", "api-key-secret"),
        ]))
        .expect("valid");
        let shown = format!("{c:?}");
        assert!(shown.contains("shop"), "{shown}");
        assert!(
            !shown.contains("very-secret-token")
                && !shown.contains("pw-123")
                && !shown.contains("api-key-secret"),
            "{shown}"
        );
    }

    #[test]
    fn file_then_environment() {
        let dir = std::env::temp_dir().join(format!("faultline-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("f.toml");
        std::fs::write(&path, "api_addr = \"127.0.0.1:1\"\nbatch_max_rows = 7\n").expect("write");
        let c = Config::load(&env(&[
            ("FAULTLINE_CONFIG", path.to_str().expect("utf8")),
            ("FAULTLINE_BATCH_MAX_ROWS", "8"),
        ]))
        .expect("valid");
        assert_eq!((c.api_addr.as_str(), c.batch_max_rows), ("127.0.0.1:1", 8));
        std::fs::write(&path, "nonsense = 1\n").expect("write");
        assert!(Config::load(&env(&[("FAULTLINE_CONFIG", path.to_str().expect("utf8"))])).is_err());
    }
}

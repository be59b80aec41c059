//! Tests that need a ClickHouse server (`FAULTLINE_TEST_CLICKHOUSE_URL`, or the embedded one
//! `scripts/test.sh` starts): each starts a real `faultline serve` on port 0 on its own database.

pub(crate) mod alerts;
mod api;
mod e2e;
pub(crate) mod faults;
mod fingerprint_cli;
mod grafana_queries;
mod grouping_upgrade;
mod health;
mod loadgen;
mod python_sdk;
mod sentry;
mod sentry_sdks;
mod ui;
mod ui_browser;

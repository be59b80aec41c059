//! Faultline's integration tests, one binary (one link): the modules at the top run without a
//! server; [`with_clickhouse`] holds every test that needs a real ClickHouse.

mod common;
mod fingerprint_cli;
mod grafana;
mod grouping_corpus;
mod with_clickhouse;
mod with_cluster;

//! The `faultline` binary's library half: configuration, the `serve` wiring, `/metrics`, and the
//! `fingerprint` and `loadgen` commands. `main.rs` only parses the command line, sets up logging and signals.

pub mod check;
pub mod config;
pub mod fingerprint_cmd;
pub mod loadgen;
pub mod metrics;
pub mod serve;

//! hsmdrill's integration tests: one test binary (linked once), one module
//! per area, and [`support`] for what they share (starting `hsmdrill serve`,
//! a raw HTTP/1.1 client, outside programs, the seeded proptest runner and
//! generator, the example world, temporary folders). The Gherkin features run apart, in
//! `tests/features.rs` (cucumber's own `main`).
//!
//! Run one area with a filter on the module path, e.g.
//! `cargo test --test integration -- dsl::` or `-- runbooks::r5`; the long
//! runs are ignored and named by their filter
//! (`cargo test --release --test integration -- --ignored soak::`).
//!
//! One process runs every module at once: nothing here may change what
//! other tests see process-wide. The working folder is the crate root (set
//! once, [`support::at_root`]); temporary folders come from `tempfile`; no
//! test sets an environment variable of its own process.
//!
//! - `cli`: the `hsmdrill` command line (run, check, init, serve flags);
//! - `clients`: boto3 and the aws CLI against a real `hsmdrill serve`;
//! - `concurrency`: the engine under many threads;
//! - `crash`: `serve --state` survives `kill -9` (and its trail, `crash/trail.rs`);
//! - `dsl`: the runbook language and its diagnostics (`tests/runbook-errors/`);
//! - `fuzz_regressions`: the crashes the fuzzers found, replayed;
//! - `gherkin`: lowering `.feature` files, the step catalog, the harness;
//! - `html_report`: the HTML report of the shipped suite, as text and in headless Chromium;
//! - `key_management`: `AWS_KMS` keys, tags, policies, grants, rotation,
//!   through boto3 and the aws CLI; the operations table of `docs/fidelity.md`;
//! - `model`: the model-based test of the engine;
//! - `reference`: answers against the AWS service models;
//! - `regions`: accounts and Regions apart, `CopyBackupToRegion`, with boto3 and the aws CLI;
//! - `remote`: shipped runbooks against a server give the same snapshots;
//! - `robustness`: property tests of every decoder;
//! - `runbooks`: R1–R9 of `docs/runbooks.md` on the engine API;
//! - `runner`: the one scenario runner;
//! - `scenarios`: every shipped scenario and its snapshot;
//! - `sdk`: the AWS SDKs for Rust against the server;
//! - `secrets`: no key material or password leaves the engine;
//! - `server`: `hsmdrill serve` over raw HTTP/1.1;
//! - `sigv4`: Signature Version 4 against AWS's own test suite;
//! - `soak`: the server under control-plane churn;
//! - `wire`: property tests of the wire protocols through the router;
//! - `world`: world files and their errors.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::unwrap_in_result,
    reason = "a test fails by panicking"
)]

mod support;

mod assertions;
mod cli;
mod clients;
mod concurrency;
mod console;
mod crash;
mod dsl;
mod fuzz_regressions;
mod gherkin;
mod html_report;
mod key_management;
mod model;
mod pki;
mod reference;
mod regions;
mod remote;
mod robustness;
mod runbooks;
mod runner;
mod scenarios;
mod sdk;
mod secrets;
mod server;
mod sigv4;
mod soak;
mod wire;
mod world;

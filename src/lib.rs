//! hsmdrill rehearses AWS KMS custom key store (AWS CloudHSM key store)
//! incidents on an embedded engine, before they happen for real.
//!
//! # Layout
//!
//! Data flows one way: the scenario front ends build steps, one runner
//! executes them against a [`scenario::target::Target`] (the embedded
//! engine, or a running server through [`remote`]), and the server exposes
//! the same engine to the AWS SDKs and CLI:
//!
//! ```text
//!  .runbook (pest) ──────────────────────────┐
//!  .feature (gherkin) ─► phrase catalog ─────┴─► step IR ──► runner ──► Target ──► Engine ◄── server (HTTP)
//!                                                              │           └─► remote (HTTP) ──┘
//!                                                              └──► snapshots of every DescribeCustomKeyStores response
//! ```
//!
//! - [`engine`]: the embedded AWS. `engine::kms` (custom key stores and their
//!   connection state machine, KMS keys of both origins, `AWS_CLOUDHSM` and
//!   `AWS_KMS`, and their derived key state, key management in
//!   `engine::kms::manage` (tags, policies, grants, rotation), the ciphertext
//!   blob and the data plane), `engine::cloudhsm` (clusters, HSMs,
//!   users and lockout, key material, backups and lineage, the cluster PKI
//!   (`cloudhsm::pki`: CSRs, certificates and their checks), PKCS #11 session
//!   pools, the CloudHSM v2 API and the CloudHSM CLI), `engine::clock`
//!   (virtual time), `engine::ids` (seeded ids), `engine::trail` (CloudTrail),
//!   `engine::network` and `engine::faults` (injected incidents),
//!   `engine::world` (YAML world files), `engine::cloud` (one engine per
//!   account and Region on one clock, and `CopyBackupToRegion` between
//!   them), `engine::tracked` and `engine::persist` (which entities changed,
//!   and the engine as rows, for `serve --state`) and `engine::dispatch` (operation name + JSON in, JSON or AWS
//!   error out: the door every front end uses).
//! - [`scenario`]: the step IR (`ir`), the narrow interface to what the
//!   runner drives (`target`), the one runner loop (`runner`, split by step
//!   kind), what a run produced (`outcome`), snapshots (`snapshot`) and the
//!   diagnostic layout shared by parsers, runner and reports (`diagnostic`).
//! - [`dsl`]: the runbook language (`runbook.pest`), parsed, checked against
//!   the engine's operations and the world, and lowered to the IR.
//! - [`gherkin`]: `.feature` files, each step translated through one phrase
//!   catalog into what [`dsl`] lowers, run with the `cucumber` crate on the
//!   one runner or by `hsmdrill run` like runbooks.
//! - [`remote`]: the runner's `Target` over HTTP, so every runbook and
//!   feature runs against `hsmdrill serve` unchanged (`run --endpoint`).
//! - [`suite`]: `hsmdrill run` and `check` as a library: discovery, `--tag`
//!   expressions, `--partition`, running many, and the pretty / JSON /
//!   JUnit / HTML reports.
//! - [`server`]: `hsmdrill serve`, the engine behind the AWS wire protocols
//!   (KMS and CloudHSM v2 in JSON 1.1 and CBOR, CloudTrail, SigV4), the
//!   `/_hsmdrill/` control API and `--state` durability (an SQLite state
//!   file written a transaction per acknowledged change, `server::store`).
//! - [`shell`]: `hsmdrill cloudhsm-cli`, the CloudHSM CLI REPL against an
//!   embedded world or a server.
//! - `main.rs`: the `hsmdrill` command line (clap), a thin shell over the
//!   above.
//!
//! # Layers
//!
//! Each layer uses only the layers below it; nothing points back up:
//!
//! ```text
//! 5  main.rs, shell          the command line: run, check, steps, serve, cloudhsm-cli
//! 4  suite, server           many files, tags, reports; the HTTP adapter and its state
//! 3  dsl, gherkin, remote    front ends: .runbook and .feature to the IR; the IR against a server
//! 2  scenario                IR, the one runner loop over a Target, outcomes, snapshots
//! 1  engine                  the embedded AWS: no I/O, no knowledge of anything above
//! ```
//!
//! Within a layer, modules do not use each other, except `gherkin` → `dsl`
//! (phrases build the DSL's typed AST) and `main` → `shell`. A unit test
//! (`src/layers.rs`) reads every source file and fails on any path that
//! breaks this table.

#![warn(missing_docs)]

pub mod dsl;
pub mod engine;
pub mod gherkin;
#[cfg(test)]
mod layers;
pub mod remote;
pub mod scenario;
pub mod server;
pub mod shell;
pub mod suite;

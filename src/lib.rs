//! hsmdrill rehearses AWS KMS custom key store (AWS CloudHSM key store)
//! incidents on an embedded engine, before they happen for real.
//!
//! # Layout
//!
//! Data flows one way: scenario front ends build steps, one runner executes
//! them against the engine, and (next) a server exposes the same engine to
//! the AWS SDKs and CLI:
//!
//! ```text
//!  .runbook (pest) ──────────────────────────┐
//!  .feature (gherkin) ─► phrase catalog ─────┴─► step IR ──► runner ──► Target ──► Engine
//!                        (runbook statements)                  │
//!                                                              └──► snapshots of every DescribeCustomKeyStores response
//! ```
//!
//! - [`engine`]: the embedded AWS. `engine::kms` (custom key stores and their
//!   connection state machine, KMS keys and their derived key state, the
//!   ciphertext blob and the data plane), `engine::cloudhsm` (clusters, HSMs,
//!   users and lockout, key material, backups and lineage, PKCS #11 session
//!   pools, the CloudHSM v2 API and the CloudHSM CLI), `engine::clock`
//!   (virtual time), `engine::ids` (seeded ids), `engine::trail` (CloudTrail),
//!   `engine::network` and `engine::faults` (injected incidents),
//!   `engine::world` (YAML world files), `engine::persist` and
//!   `engine::journal` (the engine and its trail as files, for `serve
//!   --state`) and `engine::dispatch` (operation name + JSON in, JSON or AWS
//!   error out: the door every front end uses).
//! - [`scenario`]: the step IR (`ir`), the narrow interface to what the
//!   runner drives (`target`), the one runner (`runner`), snapshots
//!   (`snapshot`), diagnostics shared by parser and runner (`diagnostic`),
//!   suites of files with tags and partitions (`suite`, `tags`) and the
//!   pretty / JSON / JUnit reports (`report`).
//! - [`dsl`]: the runbook language (`runbook.pest`), parsed, checked against
//!   the engine's operations and the world, and lowered to the IR.
//! - [`gherkin`]: `.feature` files, each step translated through one phrase
//!   catalog into runbook statements that [`dsl`] lowers (spans mapped back
//!   to the feature), run with the `cucumber` crate on the one runner or by
//!   `hsmdrill run` like runbooks.
//!
//! The engine imports nothing from front ends; a unit test checks it.

#![warn(missing_docs)]

pub mod dsl;
pub mod engine;
pub mod gherkin;
pub mod remote;
pub mod scenario;
pub mod server;
pub mod shell;
pub mod suite;

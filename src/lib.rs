//! hsmdrill rehearses AWS KMS custom key store (AWS CloudHSM key store)
//! incidents on an embedded engine, before they happen for real.
//!
//! # Layout
//!
//! Data flows one way: scenario front ends build steps, one runner executes
//! them against the engine, and a server exposes the same engine to the AWS
//! SDKs and CLI. Today the crate holds the foundation:
//!
//! - [`engine`]: the embedded AWS. `engine::kms` (custom key stores and their
//!   connection state machine, KMS keys and their derived key state, the
//!   ciphertext blob and the data plane), `engine::cloudhsm` (clusters, HSMs,
//!   users and lockout, key material, backups and lineage, PKCS #11 session
//!   pools, the CloudHSM v2 API and the CloudHSM CLI), `engine::clock`
//!   (virtual time), `engine::ids` (seeded ids), `engine::trail` (CloudTrail),
//!   `engine::network` and `engine::faults` (injected incidents),
//!   `engine::world` (YAML world files) and `engine::dispatch` (operation name
//!   + JSON in, JSON or AWS error out: the door every front end uses).
//! - [`demo`]: the built-in R5 drill that `hsmdrill run` plays for now.
//!
//! The engine imports nothing from front ends; a unit test checks it.

#![warn(missing_docs)]

pub mod demo;
pub mod dsl;
pub mod engine;
pub mod scenario;

//! AWS CloudHSM: clusters, HSMs, users, key material, backups, the PKCS #11
//! session pools, the CloudHSM v2 management API and the CloudHSM CLI.
//!
//! The model files (`cluster.rs`, `users.rs`, `keys.rs`, `backup.rs`,
//! `pkcs11.rs`) hold state and its transitions; `pki/` makes the clusters'
//! keys, certificates and CSRs and judges the ones callers send; `ops.rs`
//! implements the CloudHSM v2 operations on the engine with the typed
//! shapes of `api.rs`; `cli.rs` turns CloudHSM CLI command lines into the
//! CLI's JSON envelopes.

pub mod api;
pub mod backup;
pub mod cli;
pub mod cluster;
pub mod keys;
mod ops;
pub mod pkcs11;
pub mod pki;
pub mod users;

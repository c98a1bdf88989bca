//! `AWS_KMS` keys and key management (tags, key policies, grants,
//! rotation, UpdateAlias, UpdateKeyDescription):
//!
//! - `clients`: boto3 and the aws CLI, unchanged, against `hsmdrill serve`
//!   (`tests/clients/*key_management*`);
//! - `operations`: every operation of the service models is implemented or
//!   answers its "not supported" error, and `docs/fidelity.md`'s operations
//!   table says which.

mod clients;
mod operations;

//! KMS keys in a CloudHSM key store. Their `KeyState` machine is
//! [`crate::engine::machines::key`], re-exported here.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::engine::clock::Timestamp;
pub use crate::engine::machines::key::{KeyState, KeyStatus};

/// A KMS key in a CloudHSM key store.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Key {
    /// The key id (a UUID). The ids are shared (`Arc<str>`) because every
    /// cryptographic call hands them to its CloudTrail event.
    pub id: Arc<str>,
    /// `arn:aws:kms:<region>:<account>:key/<id>`.
    pub arn: Arc<str>,
    /// Description.
    pub description: String,
    /// When it was created.
    pub creation_date: Timestamp,
    /// What its owner asked for.
    pub status: KeyStatus,
    /// Its custom key store.
    pub store_id: Arc<str>,
    /// The CloudHSM key's `id` attribute (hex).
    pub backing_key_id: Arc<str>,
    /// The CloudHSM key's handle when KMS created it.
    pub key_handle: u64,
}

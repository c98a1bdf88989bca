//! The CloudHSM key store. Its connection state machine is
//! [`crate::engine::machines::connection`] (re-exported here).

use serde::{Deserialize, Serialize};

use crate::engine::clock::Timestamp;
pub use crate::engine::machines::connection::{ConnectionErrorCode, ConnectionState};

/// A CloudHSM key store.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct KeyStore {
    /// `cks-…`.
    pub id: String,
    /// Unique in the account and Region.
    pub name: String,
    /// The associated cluster.
    pub cluster_id: String,
    /// The trust anchor given at creation.
    pub trust_anchor: String,
    /// What KMS believes the `kmsuser` password is (rotated on connect).
    pub password: String,
    /// Connection state.
    pub state: ConnectionState,
    /// When it was created.
    pub creation_date: Timestamp,
}

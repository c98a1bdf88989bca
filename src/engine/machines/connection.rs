//! The key store's connection: `ConnectionStateType` and `ConnectionErrorCode`
//! of reference/aws-models/kms-service-2.json (docs/fidelity.md F2).
//!
//! ```text
//!  DISCONNECTED ──connect──► CONNECTING ──clock──► CONNECTED ──disconnect──► DISCONNECTING ──clock──► DISCONNECTED
//!        ▲                        │  └──clock (a cause)──► FAILED ──disconnect──────────────────────────────┘
//!        └────────────────────────┴──disconnect (abandons the attempt)
//! ```
//!
//! Connect returns at once; the attempt is judged when the clock passes its
//! end, against the world as it is then (`judge` of [`ConnectionState::on_clock`],
//! `kms::store_ops::judge_connect`; docs/fidelity.md I9). `ConnectionErrorCode`
//! exists only on a failed store, so it lives in the `Failed` variant.
#![deny(clippy::wildcard_enum_match_arm)]

use serde::{Deserialize, Serialize};

use super::{wire_names, Transition};
use crate::engine::clock::Timestamp;
use crate::engine::error::{Error, ErrorKind, Result};

/// `ConnectionErrorCodeType` in reference/aws-models/kms-service-2.json, CloudHSM
/// values (the XKS-only values never arise for a CloudHSM key store).
#[derive(Clone, Copy, Debug, Deserialize, Eq, Ord, PartialEq, PartialOrd, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConnectionErrorCode {
    /// "KMS could not complete the request due to an internal error."
    InternalError,
    /// "Network errors are preventing KMS from connecting."
    NetworkErrors,
    /// "KMS cannot find the CloudHSM cluster with the specified cluster ID."
    ClusterNotFound,
    /// "The associated CloudHSM cluster does not contain any active HSMs."
    InsufficientCloudhsmHsms,
    /// "One or more private subnets … does not have any available private IP addresses."
    InsufficientFreeAddressesInSubnet,
    /// "The KeyStorePassword … does not match the current password of the kmsuser."
    InvalidCredentials,
    /// "A private subnet associated with the CloudHSM cluster was deleted."
    SubnetNotFound,
    /// "The kmsuser … is locked out."
    UserLockedOut,
    /// "The kmsuser … is logged into the associated CloudHSM cluster."
    UserLoggedIn,
    /// "KMS cannot find a kmsuser CU account in the associated CloudHSM cluster."
    UserNotFound,
}

impl ConnectionErrorCode {
    /// Every CloudHSM value.
    pub const ALL: &'static [ConnectionErrorCode] = &[
        ConnectionErrorCode::InternalError,
        ConnectionErrorCode::NetworkErrors,
        ConnectionErrorCode::ClusterNotFound,
        ConnectionErrorCode::InsufficientCloudhsmHsms,
        ConnectionErrorCode::InsufficientFreeAddressesInSubnet,
        ConnectionErrorCode::InvalidCredentials,
        ConnectionErrorCode::SubnetNotFound,
        ConnectionErrorCode::UserLockedOut,
        ConnectionErrorCode::UserLoggedIn,
        ConnectionErrorCode::UserNotFound,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionErrorCode::InternalError => "INTERNAL_ERROR",
            ConnectionErrorCode::NetworkErrors => "NETWORK_ERRORS",
            ConnectionErrorCode::ClusterNotFound => "CLUSTER_NOT_FOUND",
            ConnectionErrorCode::InsufficientCloudhsmHsms => "INSUFFICIENT_CLOUDHSM_HSMS",
            ConnectionErrorCode::InsufficientFreeAddressesInSubnet => {
                "INSUFFICIENT_FREE_ADDRESSES_IN_SUBNET"
            }
            ConnectionErrorCode::InvalidCredentials => "INVALID_CREDENTIALS",
            ConnectionErrorCode::SubnetNotFound => "SUBNET_NOT_FOUND",
            ConnectionErrorCode::UserLockedOut => "USER_LOCKED_OUT",
            ConnectionErrorCode::UserLoggedIn => "USER_LOGGED_IN",
            ConnectionErrorCode::UserNotFound => "USER_NOT_FOUND",
        }
    }
}

/// `ConnectionStateType` in reference/aws-models/kms-service-2.json (same order).
#[derive(Clone, Copy, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub enum ConnectionState {
    /// Connected; KMS is logged in as `kmsuser`.
    Connected,
    /// A connect attempt is under way.
    Connecting {
        /// When the attempt is judged.
        completes_at: Timestamp,
    },
    /// The last connect attempt failed.
    Failed {
        /// Why.
        code: ConnectionErrorCode,
    },
    /// Never connected, or disconnected on purpose.
    Disconnected,
    /// Disconnecting.
    Disconnecting {
        /// When the store is disconnected.
        completes_at: Timestamp,
    },
}

wire_names!(ConnectionState {
    (Connected) => "CONNECTED",
    (Connecting { .. }) => "CONNECTING",
    (Failed { .. }) => "FAILED",
    (Disconnected) => "DISCONNECTED",
    (Disconnecting { .. }) => "DISCONNECTING",
});

impl ConnectionState {
    /// The error code, present only when `FAILED`.
    pub fn error_code(self) -> Option<ConnectionErrorCode> {
        match self {
            ConnectionState::Failed { code } => Some(code),
            ConnectionState::Connected
            | ConnectionState::Connecting { .. }
            | ConnectionState::Disconnected
            | ConnectionState::Disconnecting { .. } => None,
        }
    }

    //= reference/aws-models/kms-service-2.json#CustomKeyStoreInvalidStateException
    //# You requested the ConnectCustomKeyStore operation on a custom key store
    //# with a ConnectionState of DISCONNECTING or FAILED. This operation is
    //# valid for all other ConnectionState values.
    /// ConnectCustomKeyStore (after the synchronous configuration checks):
    /// "ConnectCustomKeyStore is valid in every state except DISCONNECTING
    /// and FAILED"; from DISCONNECTED the store is CONNECTING until the clock
    /// judges the attempt (docs/fidelity.md F2, I15).
    pub fn on_connect(self, completes_at: Timestamp, id: &str) -> Result<Transition<Self>> {
        match self {
            ConnectionState::Disconnected => {
                Ok(Transition::To(ConnectionState::Connecting { completes_at }))
            }
            ConnectionState::Connecting { .. } | ConnectionState::Connected => {
                Ok(Transition::Unchanged)
            }
            // R3: a FAILED store cannot be connected; disconnect it first.
            ConnectionState::Disconnecting { .. } | ConnectionState::Failed { .. } => {
                Err(self.invalid_state(id, "ConnectCustomKeyStore"))
            }
        }
    }

    //= reference/aws-models/kms-service-2.json#CustomKeyStoreInvalidStateException
    //# You requested the DisconnectCustomKeyStore operation on a custom key
    //# store with a ConnectionState of DISCONNECTING or DISCONNECTED.
    /// DisconnectCustomKeyStore: "valid in CONNECTED, CONNECTING and FAILED"
    /// (docs/fidelity.md F2). `completes_at == now` disconnects at once
    /// (docs/fidelity.md I15).
    pub fn on_disconnect(
        self,
        now: Timestamp,
        completes_at: Timestamp,
        id: &str,
    ) -> Result<Transition<Self>> {
        match self {
            ConnectionState::Connected
            | ConnectionState::Connecting { .. }
            | ConnectionState::Failed { .. } => Ok(Transition::To(if completes_at <= now {
                ConnectionState::Disconnected
            } else {
                ConnectionState::Disconnecting { completes_at }
            })),
            ConnectionState::Disconnected | ConnectionState::Disconnecting { .. } => {
                Err(self.invalid_state(id, "DisconnectCustomKeyStore"))
            }
        }
    }

    /// The clock reached `now`. A due connect attempt is judged by `judge`
    /// against the world as it is then, and ends CONNECTED or FAILED with the
    /// cause's `ConnectionErrorCode` (docs/fidelity.md F2 "the store is
    /// CONNECTING until it is CONNECTED or FAILED", I9); a due disconnect ends
    /// DISCONNECTED. `judge` is called only for a due attempt, and does the
    /// connect's effects (login, password rotation, network interfaces).
    pub fn on_clock(
        self,
        now: Timestamp,
        judge: impl FnOnce() -> Option<ConnectionErrorCode>,
    ) -> Transition<Self> {
        match self {
            ConnectionState::Connecting { completes_at } if completes_at <= now => {
                Transition::To(match judge() {
                    None => ConnectionState::Connected,
                    Some(code) => ConnectionState::Failed { code },
                })
            }
            ConnectionState::Disconnecting { completes_at } if completes_at <= now => {
                Transition::To(ConnectionState::Disconnected)
            }
            ConnectionState::Connecting { .. }
            | ConnectionState::Disconnecting { .. }
            | ConnectionState::Connected
            | ConnectionState::Failed { .. }
            | ConnectionState::Disconnected => Transition::Unchanged,
        }
    }

    /// When the state completes by itself, if it does.
    pub fn completes_at(self) -> Option<Timestamp> {
        match self {
            ConnectionState::Connecting { completes_at }
            | ConnectionState::Disconnecting { completes_at } => Some(completes_at),
            ConnectionState::Connected
            | ConnectionState::Failed { .. }
            | ConnectionState::Disconnected => None,
        }
    }

    /// `CustomKeyStoreInvalidStateException` for `operation` in this state.
    pub fn invalid_state(self, id: &str, operation: &str) -> Error {
        Error::new(
            ErrorKind::CustomKeyStoreInvalidState,
            format!(
                "{operation} is not valid for custom key store {id} while its ConnectionState is {}.",
                self.as_str()
            ),
        )
    }

    /// Requires `DISCONNECTED` (Update of password or cluster, Delete).
    pub fn require_disconnected(self, id: &str, operation: &str) -> Result<()> {
        self.require(ConnectionState::Disconnected, id, operation)
    }

    /// Requires `CONNECTED` (CreateKey, GenerateRandom with a key store).
    pub fn require_connected(self, id: &str, operation: &str) -> Result<()> {
        self.require(ConnectionState::Connected, id, operation)
    }

    /// Requires `wanted`, a state without data: any other is
    /// `CustomKeyStoreInvalidStateException`.
    fn require(self, wanted: ConnectionState, id: &str, operation: &str) -> Result<()> {
        if self == wanted {
            Ok(())
        } else {
            Err(self.invalid_state(id, operation))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::machines::matrix::{cell, fallible, name};

    /// One representative of every state, for the transition matrix.
    fn every_state() -> Vec<ConnectionState> {
        let t = Timestamp::from_millis(10);
        vec![
            ConnectionState::Connected,
            ConnectionState::Connecting { completes_at: t },
            ConnectionState::Failed {
                code: ConnectionErrorCode::UserLockedOut,
            },
            ConnectionState::Disconnected,
            ConnectionState::Disconnecting { completes_at: t },
        ]
    }

    fn show(r: Result<Transition<ConnectionState>>) -> String {
        fallible(r, name)
    }

    /// The state x event matrix, reviewed as a snapshot: a change to any
    /// transition shows up in the diff.
    #[test]
    fn transition_matrix() {
        let now = Timestamp::from_millis(10);
        let later = Timestamp::from_millis(20);
        let mut out = String::new();
        for s in every_state() {
            let clock_ok = cell(s.on_clock(now, || None), name);
            let clock_fail = cell(
                s.on_clock(now, || Some(ConnectionErrorCode::NetworkErrors)),
                name,
            );
            out.push_str(&format!(
                "{:<13} on_connect: {:<44} on_disconnect(now): {:<44} on_disconnect(later): {:<44} on_clock(ok): {:<16} on_clock(fail): {}\n",
                s.as_str(),
                show(s.on_connect(later, "cks")),
                show(s.on_disconnect(now, now, "cks")),
                show(s.on_disconnect(now, later, "cks")),
                clock_ok,
                clock_fail,
            ));
        }
        insta::assert_snapshot!(out);
    }

    fn t(ms: i64) -> Timestamp {
        Timestamp::from_millis(ms)
    }

    #[test]
    fn connect_on_failed_store_is_custom_key_store_invalid_state() {
        let s = ConnectionState::Failed {
            code: ConnectionErrorCode::UserLockedOut,
        };
        let e = s.on_connect(t(1), "cks-1").unwrap_err();
        assert_eq!(e.aws_name(), "CustomKeyStoreInvalidStateException");
    }

    #[test]
    fn connecting_completes_with_the_judged_outcome() {
        let Transition::To(s) = ConnectionState::Disconnected
            .on_connect(t(10), "c")
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(s.on_clock(t(9), || None), Transition::Unchanged);
        assert_eq!(
            s.on_clock(t(10), || Some(ConnectionErrorCode::InvalidCredentials)),
            Transition::To(ConnectionState::Failed {
                code: ConnectionErrorCode::InvalidCredentials
            })
        );
    }

    #[test]
    fn disconnect_from_disconnected_is_invalid() {
        assert!(ConnectionState::Disconnected
            .on_disconnect(t(0), t(0), "c")
            .is_err());
        assert_eq!(
            ConnectionState::Connected
                .on_disconnect(t(0), t(0), "c")
                .unwrap(),
            Transition::To(ConnectionState::Disconnected)
        );
    }
}

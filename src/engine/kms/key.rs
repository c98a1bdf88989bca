//! KMS keys in a CloudHSM key store and their `KeyState`.
//!
//! R1: what DescribeKey shows is *derived*. The key stores what its owner
//! asked for ([`KeyStatus`]: enabled, disabled, pending deletion); the key
//! store's connection decides whether that is visible. While the store is not
//! `CONNECTED` every key that is not pending deletion reads `Unavailable`, and
//! Enable/Disable on such a key change only the stored status, so "the
//! request takes effect when the key becomes usable".
#![deny(clippy::wildcard_enum_match_arm)]

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::engine::clock::Timestamp;
use crate::engine::cloudhsm::cluster::Transition;
use crate::engine::error::{Error, ErrorKind, Result};

/// `KeyState` in reference/aws-models/kms-service-2.json (same order).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum KeyState {
    /// Multi-Region only; never in a custom key store.
    Creating,
    /// Usable.
    Enabled,
    /// Disabled by its owner.
    Disabled,
    /// Scheduled for deletion.
    PendingDeletion,
    /// Imported material only; never in a CloudHSM key store.
    PendingImport,
    /// Multi-Region only; never in a custom key store.
    PendingReplicaDeletion,
    /// Its custom key store is not connected (R1).
    Unavailable,
    /// Multi-Region only; never in a custom key store.
    Updating,
}

impl KeyState {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Creating => "Creating",
            KeyState::Enabled => "Enabled",
            KeyState::Disabled => "Disabled",
            KeyState::PendingDeletion => "PendingDeletion",
            KeyState::PendingImport => "PendingImport",
            KeyState::PendingReplicaDeletion => "PendingReplicaDeletion",
            KeyState::Unavailable => "Unavailable",
            KeyState::Updating => "Updating",
        }
    }

    /// Every wire name, in model order.
    pub const NAMES: &'static [&'static str] = &[
        "Creating",
        "Enabled",
        "Disabled",
        "PendingDeletion",
        "PendingImport",
        "PendingReplicaDeletion",
        "Unavailable",
        "Updating",
    ];
}

/// What the key's owner asked for, independent of the store's connection.
#[derive(Clone, Copy, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub enum KeyStatus {
    /// EnableKey (or just created).
    Enabled,
    /// DisableKey or CancelKeyDeletion.
    Disabled,
    /// ScheduleKeyDeletion.
    PendingDeletion {
        /// End of the waiting period.
        deletion_date: Timestamp,
        /// 7–30 days.
        window_days: u32,
    },
}

impl KeyStatus {
    /// R1: the state DescribeKey shows, given whether the store is connected.
    pub fn visible(self, store_connected: bool) -> KeyState {
        match self {
            // R1: "A key scheduled for deletion stays PendingDeletion even
            // while the store is disconnected".
            KeyStatus::PendingDeletion { .. } => KeyState::PendingDeletion,
            KeyStatus::Enabled | KeyStatus::Disabled if !store_connected => KeyState::Unavailable,
            KeyStatus::Enabled => KeyState::Enabled,
            KeyStatus::Disabled => KeyState::Disabled,
        }
    }

    /// EnableKey. R1: on an Unavailable key this succeeds and is deferred,
    /// which storing it does by construction.
    pub fn on_enable(self, arn: &str) -> Result<Transition<Self>> {
        match self {
            KeyStatus::Enabled => Ok(Transition::Unchanged),
            KeyStatus::Disabled => Ok(Transition::To(KeyStatus::Enabled)),
            KeyStatus::PendingDeletion { .. } => Err(pending_deletion(arn)),
        }
    }

    /// DisableKey.
    pub fn on_disable(self, arn: &str) -> Result<Transition<Self>> {
        match self {
            KeyStatus::Disabled => Ok(Transition::Unchanged),
            KeyStatus::Enabled => Ok(Transition::To(KeyStatus::Disabled)),
            KeyStatus::PendingDeletion { .. } => Err(pending_deletion(arn)),
        }
    }

    /// ScheduleKeyDeletion (window already validated).
    pub fn on_schedule_deletion(
        self,
        arn: &str,
        deletion_date: Timestamp,
        window_days: u32,
    ) -> Result<Transition<Self>> {
        match self {
            KeyStatus::Enabled | KeyStatus::Disabled => {
                Ok(Transition::To(KeyStatus::PendingDeletion {
                    deletion_date,
                    window_days,
                }))
            }
            KeyStatus::PendingDeletion { .. } => Err(pending_deletion(arn)),
        }
    }

    /// CancelKeyDeletion: the key comes back `Disabled`.
    pub fn on_cancel_deletion(self, arn: &str) -> Result<Transition<Self>> {
        match self {
            KeyStatus::PendingDeletion { .. } => Ok(Transition::To(KeyStatus::Disabled)),
            KeyStatus::Enabled | KeyStatus::Disabled => Err(Error::new(
                ErrorKind::KmsInvalidState,
                format!("{arn} is not pending deletion."),
            )),
        }
    }
}

fn pending_deletion(arn: &str) -> Error {
    Error::new(
        ErrorKind::KmsInvalidState,
        format!("{arn} is pending deletion."),
    )
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unavailable_while_disconnected_except_pending_deletion() {
        assert_eq!(KeyStatus::Enabled.visible(false), KeyState::Unavailable);
        assert_eq!(KeyStatus::Disabled.visible(false), KeyState::Unavailable);
        let p = KeyStatus::PendingDeletion {
            deletion_date: Timestamp::from_millis(0),
            window_days: 7,
        };
        assert_eq!(p.visible(false), KeyState::PendingDeletion);
        assert_eq!(KeyStatus::Disabled.visible(true), KeyState::Disabled);
    }

    #[test]
    fn cancel_deletion_leaves_the_key_disabled() {
        let p = KeyStatus::PendingDeletion {
            deletion_date: Timestamp::from_millis(0),
            window_days: 7,
        };
        assert_eq!(
            p.on_cancel_deletion("arn").unwrap(),
            Transition::To(KeyStatus::Disabled)
        );
        assert_eq!(
            KeyStatus::Enabled
                .on_cancel_deletion("arn")
                .unwrap_err()
                .message(),
            "arn is not pending deletion."
        );
    }
}

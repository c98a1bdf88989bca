//! `KeyState` of reference/aws-models/kms-service-2.json for a key in a
//! CloudHSM key store (docs/fidelity.md F3).
//!
//! R1: what DescribeKey shows is *derived*. The key stores what its owner
//! asked for ([`KeyStatus`]: enabled, disabled, pending deletion); the key
//! store's connection decides whether that is visible. While the store is not
//! `CONNECTED` every key that is not pending deletion reads `Unavailable`, and
//! Enable/Disable on such a key change only the stored status, so "the
//! request takes effect when the key becomes usable".
//!
//! ```text
//!  Enabled ◄──EnableKey / DisableKey──► Disabled
//!     └──ScheduleKeyDeletion──► PendingDeletion ◄──┘
//!                                 │ └──CancelKeyDeletion──► Disabled
//!                                 └──clock (end of the waiting period)──► (deleted)
//! ```
//!
//! R7: a key in a CloudHSM key store also has its material, in the store's
//! cluster ([`Material`]). Once the material is deleted from the cluster the
//! key "eventually" reads `Unavailable` (docs/fidelity.md F25), after the
//! world's `timing.key_material_unavailable_seconds` (I53); when the material
//! is back (the store updated to a cluster restored from a backup that holds
//! it) the key reads its stored status again.
//!
//! ```text
//!  Present ──material gone──► Missing{at} ──clock (at)──► Gone
//!     ▲                          │                        │
//!     └──────material back───────┴────────────────────────┘
//! ```
#![deny(clippy::wildcard_enum_match_arm)]

use serde::{Deserialize, Serialize};

use super::{wire_names, Timed, Transition};
use crate::engine::clock::Timestamp;
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

wire_names!(KeyState {
    (Creating) => "Creating",
    (Enabled) => "Enabled",
    (Disabled) => "Disabled",
    (PendingDeletion) => "PendingDeletion",
    (PendingImport) => "PendingImport",
    (PendingReplicaDeletion) => "PendingReplicaDeletion",
    (Unavailable) => "Unavailable",
    (Updating) => "Updating",
});

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
    /// R1: the state DescribeKey shows, given whether the store is connected:
    /// "While its store is disconnected … every key that is not
    /// PendingDeletion reads Unavailable" (docs/fidelity.md F3).
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

    /// EnableKey. R1: "EnableKey and DisableKey on an Unavailable key succeed
    /// without changing its state; the change takes effect when the key
    /// becomes available" (docs/fidelity.md F3), which storing the status
    /// does by construction. Refused while PendingDeletion (F3's table).
    pub fn on_enable(self, arn: &str) -> Result<Transition<Self>> {
        match self {
            KeyStatus::Enabled => Ok(Transition::Unchanged),
            KeyStatus::Disabled => Ok(Transition::To(KeyStatus::Enabled)),
            KeyStatus::PendingDeletion { .. } => Err(pending_deletion(arn)),
        }
    }

    /// DisableKey: as EnableKey (docs/fidelity.md F3).
    pub fn on_disable(self, arn: &str) -> Result<Transition<Self>> {
        match self {
            KeyStatus::Disabled => Ok(Transition::Unchanged),
            KeyStatus::Enabled => Ok(Transition::To(KeyStatus::Disabled)),
            KeyStatus::PendingDeletion { .. } => Err(pending_deletion(arn)),
        }
    }

    /// ScheduleKeyDeletion (window already validated): "ScheduleKeyDeletion
    /// works on an Unavailable key" (docs/fidelity.md F3); refused when
    /// already PendingDeletion (F3's table).
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

    /// CancelKeyDeletion: "CancelKeyDeletion returns a key to Disabled"
    /// (docs/fidelity.md F3; while disconnected it then reads Unavailable,
    /// I5); any other key "is not pending deletion" (F3's table).
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

/// R7: whether a CloudHSM key store key's material is in its store's
/// cluster, as KMS comes to see it (docs/fidelity.md F25, I53).
#[derive(Clone, Copy, Debug, Default, Deserialize, Eq, PartialEq, Serialize)]
pub enum Material {
    /// In the cluster (or KMS cannot tell: the cluster is gone, R2).
    #[default]
    Present,
    /// Deleted from the cluster; the key still reads its stored status
    /// until `unavailable_at`.
    Missing {
        /// When the key starts to read `Unavailable`.
        unavailable_at: Timestamp,
    },
    /// Deleted long enough ago: the key reads `Unavailable`.
    Gone,
}

impl Material {
    /// KMS looked for the material in the store's cluster at `at` and found
    /// it (`present`) or not. "If you delete the key material … the key
    /// state of the KMS key eventually changes to Unavailable"
    /// (docs/fidelity.md F25); when it is back, "the KMS key … is usable
    /// again" with its previous state (R7's recovery, F25). `delay` is the
    /// world's `timing.key_material_unavailable_seconds` (I53).
    pub fn on_observed(
        self,
        present: bool,
        at: Timestamp,
        delay: std::time::Duration,
    ) -> Transition<Self> {
        match (self, present) {
            (Material::Present, true) | (Material::Missing { .. } | Material::Gone, false) => {
                Transition::Unchanged
            }
            (Material::Present, false) => Transition::To(
                Material::Missing {
                    unavailable_at: at.plus(delay),
                }
                .settled(at),
            ),
            (Material::Missing { .. } | Material::Gone, true) => Transition::To(Material::Present),
        }
    }

    /// Whether the key reads `Unavailable` for want of its material.
    pub fn is_gone(self) -> bool {
        match self {
            Material::Gone => true,
            Material::Present | Material::Missing { .. } => false,
        }
    }
}

impl Timed for Material {
    /// "Eventually" (docs/fidelity.md F25): at the end of the world's delay
    /// (I53).
    fn due(self) -> Option<(Timestamp, Transition<Self>)> {
        match self {
            Material::Missing { unavailable_at } => {
                Some((unavailable_at, Transition::To(Material::Gone)))
            }
            Material::Present | Material::Gone => None,
        }
    }
}

/// How a key-management operation treats the key's state, from the "Key
/// states" table of the KMS Developer Guide (docs/fidelity.md F15).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Management {
    /// Works in every state: GetKeyPolicy, ListKeyPolicies,
    /// ListResourceTags, ListGrants, RetireGrant, RevokeGrant,
    /// GetKeyRotationStatus, ListKeyRotations, PutKeyPolicy.
    AnyState,
    /// Refused while PendingDeletion: TagResource, UntagResource,
    /// UpdateKeyDescription, CreateAlias and UpdateAlias (target key).
    NotPendingDeletion,
    /// Refused while Disabled (`DisabledException`) or PendingDeletion:
    /// CreateGrant, EnableKeyRotation, DisableKeyRotation,
    /// RotateKeyOnDemand.
    NotDisabled,
}

impl KeyStatus {
    /// A key-management operation under `rule`: never a transition, only
    /// allowed or refused by the state DescribeKey shows (an `Unavailable`
    /// key can be managed: "You can view and manage unavailable KMS keys",
    /// docs/fidelity.md F15).
    pub fn on_manage(self, rule: Management, store_connected: bool, arn: &str) -> Result<()> {
        let state = self.visible(store_connected);
        match (rule, state) {
            (Management::AnyState, _) => Ok(()),
            (
                Management::NotPendingDeletion | Management::NotDisabled,
                KeyState::PendingDeletion,
            ) => Err(pending_deletion(arn)),
            (Management::NotDisabled, KeyState::Disabled) => Err(Error::new(
                ErrorKind::Disabled,
                format!("{arn} is disabled."),
            )),
            (
                Management::NotPendingDeletion | Management::NotDisabled,
                KeyState::Enabled
                | KeyState::Disabled
                | KeyState::Unavailable
                | KeyState::Creating
                | KeyState::PendingImport
                | KeyState::PendingReplicaDeletion
                | KeyState::Updating,
            ) => Ok(()),
        }
    }
}

impl Timed for KeyStatus {
    /// "After the waiting period" KMS deletes the key (docs/fidelity.md F7's
    /// `DeleteKey` event; design R6), so the key ends.
    fn due(self) -> Option<(Timestamp, Transition<Self>)> {
        match self {
            KeyStatus::PendingDeletion { deletion_date, .. } => {
                Some((deletion_date, Transition::End))
            }
            KeyStatus::Enabled | KeyStatus::Disabled => None,
        }
    }
}

fn pending_deletion(arn: &str) -> Error {
    Error::new(
        ErrorKind::KmsInvalidState,
        format!("{arn} is pending deletion."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::machines::matrix::{cell, fallible, matrix, BEFORE, DUE};

    fn name(s: &KeyStatus) -> String {
        s.visible(true).as_str().to_owned()
    }

    /// The state x event matrix, reviewed as a snapshot. A row is a stored
    /// status and what DescribeKey shows of it while the store is connected
    /// and disconnected.
    #[test]
    fn transition_matrix() {
        let states = [
            KeyStatus::Enabled,
            KeyStatus::Disabled,
            KeyStatus::PendingDeletion {
                deletion_date: DUE,
                window_days: 7,
            },
        ];
        let label = |s: KeyStatus| {
            format!(
                "{} (disconnected: {})",
                s.visible(true).as_str(),
                s.visible(false).as_str()
            )
        };
        insta::assert_snapshot!(matrix(
            &states,
            label,
            &[
                ("on_enable", &|s| fallible(s.on_enable("arn"), name)),
                ("on_disable", &|s| fallible(s.on_disable("arn"), name)),
                ("on_schedule_deletion", &|s| {
                    fallible(s.on_schedule_deletion("arn", DUE, 7), name)
                }),
                ("on_cancel_deletion", &|s| {
                    fallible(s.on_cancel_deletion("arn"), name)
                }),
                ("on_manage(not_pending_deletion)", &|s| {
                    fallible(
                        s.on_manage(Management::NotPendingDeletion, true, "arn")
                            .map(|()| Transition::Unchanged),
                        name,
                    )
                }),
                ("on_manage(not_disabled)", &|s| {
                    fallible(
                        s.on_manage(Management::NotDisabled, true, "arn")
                            .map(|()| Transition::Unchanged),
                        name,
                    )
                }),
                ("on_clock(before)", &|s| cell(s.on_clock(BEFORE), name)),
                ("on_clock(due)", &|s| cell(s.on_clock(DUE), name)),
            ],
        ));
    }

    fn material_name(m: &Material) -> String {
        match m {
            Material::Present => "Present".into(),
            Material::Missing { .. } => "Missing".into(),
            Material::Gone => "Gone".into(),
        }
    }

    /// R7's material machine, reviewed as a snapshot.
    #[test]
    fn material_transition_matrix() {
        let delay = std::time::Duration::from_millis(10);
        let states = [
            Material::Present,
            Material::Missing {
                unavailable_at: DUE,
            },
            Material::Gone,
        ];
        insta::assert_snapshot!(matrix(
            &states,
            |m| material_name(&m),
            &[
                ("on_observed(present)", &|m| {
                    cell(
                        m.on_observed(true, Timestamp::from_millis(0), delay),
                        material_name,
                    )
                }),
                ("on_observed(missing)", &|m| {
                    cell(
                        m.on_observed(false, Timestamp::from_millis(0), delay),
                        material_name,
                    )
                }),
                ("on_clock(before)", &|m| cell(
                    m.on_clock(BEFORE),
                    material_name
                )),
                ("on_clock(due)", &|m| cell(m.on_clock(DUE), material_name)),
            ],
        ));
    }

    #[test]
    fn missing_material_turns_gone_after_the_delay_and_back_when_present() {
        let delay = std::time::Duration::from_secs(300);
        let t0 = Timestamp::from_millis(1_000);
        let Transition::To(m) = Material::Present.on_observed(false, t0, delay) else {
            panic!("material missing must start the delay");
        };
        assert_eq!(m.completes_at(), Some(t0.plus(delay)));
        assert!(!m.is_gone());
        assert_eq!(m.on_clock(t0.plus(delay)), Transition::To(Material::Gone));
        assert_eq!(
            Material::Gone.on_observed(true, t0, delay),
            Transition::To(Material::Present)
        );
        // A zero delay: gone at once.
        assert_eq!(
            Material::Present.on_observed(false, t0, std::time::Duration::ZERO),
            Transition::To(Material::Gone)
        );
    }

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

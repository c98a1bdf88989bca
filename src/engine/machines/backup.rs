//! `BackupState` of reference/aws-models/cloudhsmv2-service-2.json
//! (docs/fidelity.md F5).
//!
//! ```text
//!  CREATE_IN_PROGRESS ──clock──► READY ──DeleteBackup──► PENDING_DELETION ──clock (7 days)──► DELETED
//!                                  ▲──────RestoreBackup──────────┘
//! ```
#![deny(clippy::wildcard_enum_match_arm)]

use serde::{Deserialize, Serialize};

use super::{wire_names, Timed, Transition};
use crate::engine::clock::Timestamp;
use crate::engine::error::{Error, ErrorKind, Result};

/// `BackupState` in reference/aws-models/cloudhsmv2-service-2.json (same order).

#[derive(Clone, Copy, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub enum BackupState {
    /// Being taken.
    CreateInProgress {
        /// When it is ready.
        completes_at: Timestamp,
    },
    /// Usable for CreateCluster.
    Ready,
    /// Gone for good.
    Deleted,
    /// DeleteBackup was called; RestoreBackup can still save it.
    PendingDeletion {
        /// When it becomes `DELETED`.
        deletes_at: Timestamp,
    },
}

wire_names!(BackupState {
    (CreateInProgress { .. }) => "CREATE_IN_PROGRESS",
    (Ready) => "READY",
    (Deleted) => "DELETED",
    (PendingDeletion { .. }) => "PENDING_DELETION",
});

impl BackupState {
    /// DeleteBackup: "A deleted backup can be restored (RestoreBackup) for 7
    /// days" (docs/fidelity.md F5), so it is PENDING_DELETION until then.
    pub fn on_delete(self, deletes_at: Timestamp) -> Result<Transition<Self>> {
        match self {
            BackupState::Ready => Ok(Transition::To(BackupState::PendingDeletion { deletes_at })),
            BackupState::CreateInProgress { .. }
            | BackupState::Deleted
            | BackupState::PendingDeletion { .. } => Err(Error::new(
                ErrorKind::CloudHsmInvalidRequest,
                format!(
                    "The backup cannot be deleted while it is {}.",
                    self.as_str()
                ),
            )),
        }
    }

    /// RestoreBackup: a PENDING_DELETION backup is READY again
    /// (docs/fidelity.md F5).
    pub fn on_restore(self) -> Result<Transition<Self>> {
        match self {
            BackupState::PendingDeletion { .. } => Ok(Transition::To(BackupState::Ready)),
            BackupState::CreateInProgress { .. } | BackupState::Ready | BackupState::Deleted => {
                Err(Error::new(
                    ErrorKind::CloudHsmInvalidRequest,
                    format!(
                        "Only a backup in PENDING_DELETION can be restored; this one is {}.",
                        self.as_str()
                    ),
                ))
            }
        }
    }
}

impl Timed for BackupState {
    /// A backup being taken is READY; one pending deletion for seven days is
    /// DELETED (docs/fidelity.md F5, I15).
    fn due(self) -> Option<(Timestamp, Transition<Self>)> {
        match self {
            BackupState::CreateInProgress { completes_at } => {
                Some((completes_at, Transition::To(BackupState::Ready)))
            }
            BackupState::PendingDeletion { deletes_at } => {
                Some((deletes_at, Transition::To(BackupState::Deleted)))
            }
            BackupState::Ready | BackupState::Deleted => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::machines::matrix::{cell, fallible, matrix, name, BEFORE, DUE, LATER};

    /// The state x event matrix, reviewed as a snapshot.
    #[test]
    fn transition_matrix() {
        let states = [
            BackupState::CreateInProgress { completes_at: DUE },
            BackupState::Ready,
            BackupState::Deleted,
            BackupState::PendingDeletion { deletes_at: DUE },
        ];
        insta::assert_snapshot!(matrix(
            &states,
            |s| name(&s),
            &[
                ("on_delete", &|s| fallible(s.on_delete(LATER), name)),
                ("on_restore", &|s| fallible(s.on_restore(), name)),
                ("on_clock(before)", &|s| cell(s.on_clock(BEFORE), name)),
                ("on_clock(due)", &|s| cell(s.on_clock(DUE), name)),
            ],
        ));
    }

    #[test]
    fn delete_then_restore_then_clock() {
        let t = Timestamp::from_millis(5);
        let Transition::To(s) = BackupState::Ready.on_delete(t).unwrap() else {
            panic!()
        };
        assert_eq!(s.on_restore().unwrap(), Transition::To(BackupState::Ready));
        assert_eq!(s.on_clock(t), Transition::To(BackupState::Deleted));
        assert!(BackupState::Deleted.on_restore().is_err());
    }
}

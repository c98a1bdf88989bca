//! CloudHSM backups: point-in-time copies of a cluster's users and key
//! material, with the `BackupState` machine of the model.
//!
//! A backup remembers the cluster certificate of its source, so a cluster
//! created from it (CreateCluster with `SourceBackupId`) shares backup
//! history with the source cluster: R7's recovery path. Backups are never
//! cleaned by KMS key deletion (R6), so deleted key material survives in them.
#![deny(clippy::wildcard_enum_match_arm)]

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::cluster::{Certificates, Transition};
use super::keys::KeyStoreOfCluster;
use super::users::Users;
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

impl BackupState {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            BackupState::CreateInProgress { .. } => "CREATE_IN_PROGRESS",
            BackupState::Ready => "READY",
            BackupState::Deleted => "DELETED",
            BackupState::PendingDeletion { .. } => "PENDING_DELETION",
        }
    }

    /// Every wire name, in model order.
    pub const NAMES: &'static [&'static str] =
        &["CREATE_IN_PROGRESS", "READY", "DELETED", "PENDING_DELETION"];

    /// DeleteBackup: the backup stays restorable for seven days.
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

    /// RestoreBackup.
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

    /// The clock reached `now`.
    pub fn on_clock(self, now: Timestamp) -> Transition<Self> {
        match self {
            BackupState::CreateInProgress { completes_at } if completes_at <= now => {
                Transition::To(BackupState::Ready)
            }
            BackupState::PendingDeletion { deletes_at } if deletes_at <= now => {
                Transition::To(BackupState::Deleted)
            }
            BackupState::CreateInProgress { .. }
            | BackupState::PendingDeletion { .. }
            | BackupState::Ready
            | BackupState::Deleted => Transition::Unchanged,
        }
    }

    /// When the state completes by itself, if it does.
    pub fn completes_at(self) -> Option<Timestamp> {
        match self {
            BackupState::CreateInProgress { completes_at } => Some(completes_at),
            BackupState::PendingDeletion { deletes_at } => Some(deletes_at),
            BackupState::Ready | BackupState::Deleted => None,
        }
    }
}

/// What a backup holds: everything a cluster made from it starts with.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct BackupContents {
    /// Users (with their passwords and lockout state at backup time).
    pub users: Users,
    /// Key material.
    pub keys: KeyStoreOfCluster,
    /// Certificates: the lineage.
    pub certificates: Certificates,
    /// The trust anchor.
    pub trust_anchor: Option<String>,
}

/// A backup.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Backup {
    /// `backup-…`.
    pub id: String,
    /// State.
    pub state: BackupState,
    /// The cluster it was taken of.
    pub cluster_id: String,
    /// When it was taken.
    pub create_timestamp: Timestamp,
    /// When deletion was requested.
    pub delete_timestamp: Option<Timestamp>,
    /// The backup the source cluster was made from, if any.
    pub source_backup: Option<String>,
    /// `hsm1.medium` / `hsm2m.medium`.
    pub hsm_type: String,
    /// `FIPS` / `NON_FIPS`.
    pub mode: String,
    /// Kept forever regardless of the retention policy.
    pub never_expires: bool,
    /// The copy of the cluster.
    pub contents: Arc<BackupContents>,
}

#[cfg(test)]
mod tests {
    use super::*;

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

//! CloudHSM backups: point-in-time copies of a cluster's users and key
//! material. Their `BackupState` machine is
//! [`crate::engine::machines::backup`], re-exported here.
//!
//! A backup remembers the cluster certificate of its source, so a cluster
//! created from it (CreateCluster with `SourceBackupId`) shares backup
//! history with the source cluster: R7's recovery path. Backups are never
//! cleaned by KMS key deletion (R6), so deleted key material survives in them.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::cluster::Certificates;
use super::keys::KeyStoreOfCluster;
use super::users::Users;
use crate::engine::clock::Timestamp;

pub use crate::engine::machines::BackupState;

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
    /// Where this backup was copied from (`CopyBackupToRegion`); `None` for
    /// a backup taken in its own Region. Left out of state files when
    /// `None`, so those stay as they were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copied_from: Option<CopySource>,
}

impl Backup {
    /// What DescribeBackups shows as `SourceBackup` (and its
    /// `sourceBackupIds` filter matches): the backup a copy was copied
    /// from, else the backup the source cluster was made from.
    pub fn shown_source_backup(&self) -> Option<&str> {
        match &self.copied_from {
            Some(c) => Some(&c.backup),
            None => self.source_backup.as_deref(),
        }
    }
}

/// The source of a backup copied from another Region: what DescribeBackups
/// shows as `SourceRegion`, `SourceBackup`, `SourceCluster` and
/// `CopyTimestamp`.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct CopySource {
    /// The Region of the source backup.
    pub region: String,
    /// The source backup's id.
    pub backup: String,
    /// The cluster the source backup was taken of.
    pub cluster: String,
    /// When the copy was made.
    pub copied_at: Timestamp,
}

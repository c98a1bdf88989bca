//! `CopyBackupToRegion`: a CloudHSM backup copied into another Region of the
//! same account, the first step of a cross-Region recovery.
//!
//! The one operation that reads one partition and writes another, so it
//! lives with the [`Cloud`] rather than in an engine. The copy is a new
//! backup in the destination partition (its id drawn from that partition's
//! seeded ids) holding the *same* contents as the source: users, key
//! material and the cluster certificates that make its lineage, so a cluster
//! created from the copy (`CreateCluster` with `SourceBackupId` in the
//! destination Region) shares backup history with the source cluster and
//! its keys decrypt what the source's keys encrypted. AWS says
//! (docs/fidelity.md F22, the CloudHSM API reference's `CopyBackupToRegion`
//! and `DestinationBackup` pages) that the response's `CreateTimestamp` is
//! the source backup's, and that the copy is found with DescribeBackups in
//! the destination Region through its `SourceBackup`. The copy starts
//! `CREATE_IN_PROGRESS` and becomes `READY` after the world's
//! `timing.backup_seconds` on the shared clock (docs/fidelity.md I45).

use serde_json::Value;

use super::super::cloudhsm::api::Tag;
use super::super::cloudhsm::backup::{Backup, BackupState, CopySource};
use super::super::config::Timing;
use super::super::error::{Error, ErrorKind, Result};
use super::super::ids::IdKind;
use super::super::machines::Timed;
use super::super::shapes::shapes;
use super::{regions, Cloud, Partition};
use crate::engine::Engine;

/// The operation's AWS name.
pub(super) const OPERATION: &str = "CopyBackupToRegion";

shapes! {
    /// `CopyBackupToRegionRequest`.
    CopyBackupToRegionRequest {
        /// Required: the Region to copy to.
        destination_region?: String,
        /// Required: the backup to copy.
        backup_id?: String,
        /// Tags for the copy (not kept: backups carry no tags here).
        tag_list?: Vec<Tag>,
    }

    /// `CopyBackupToRegionResponse`.
    CopyBackupToRegionResponse {
        /// The copy.
        destination_backup: DestinationBackup,
    }

    /// `DestinationBackup`.
    DestinationBackup {
        /// The source backup's creation time, epoch seconds.
        create_timestamp: f64,
        /// The source backup's Region.
        source_region: String,
        /// The source backup's id.
        source_backup: String,
        /// The source backup's cluster.
        source_cluster: String,
    }
}

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::CloudHsmInvalidRequest, message)
}

impl Cloud {
    /// `CopyBackupToRegion` called in `source`'s partition.
    pub(super) fn copy_backup_to_region(&self, source: &Engine, input: Value) -> Result<Value> {
        let input = if input.is_null() {
            Value::Object(Default::default())
        } else {
            input
        };
        let req: CopyBackupToRegionRequest = serde_json::from_value(input)
            .map_err(|e| Error::new(ErrorKind::Serialization, e.to_string()))?;
        let region = req
            .destination_region
            .as_deref()
            .ok_or_else(|| Error::missing("DestinationRegion"))?;
        let backup_id = req
            .backup_id
            .as_deref()
            .ok_or_else(|| Error::missing("BackupId"))?;
        if let Some(tags) = &req.tag_list {
            if tags.is_empty() || tags.len() > 50 {
                return Err(invalid("TagList must hold 1 to 50 tags.".into()));
            }
        }
        let from = Partition::of(source);
        // docs/fidelity.md I46: an unknown Region and the backup's own
        // Region are invalid requests.
        if !regions::is_known(region) {
            return Err(invalid(format!(
                "Destination region {region} is not a valid AWS Region."
            )));
        }
        if region == from.region {
            return Err(invalid(format!(
                "Backup {backup_id} is already in {region}; the destination region must be another region."
            )));
        }
        let backup = source
            .with_state(|st| st.backups.get(backup_id).cloned())
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::CloudHsmResourceNotFound,
                    format!("Backup {backup_id} not found."),
                )
            })?;
        if backup.state != BackupState::Ready {
            return Err(invalid(format!(
                "Backup {backup_id} is {} and cannot be copied; only a READY backup can.",
                backup.state.as_str()
            )));
        }
        let to = Partition::new(&from.account, region);
        let dest = self
            .engine(&to)
            .ok_or_else(|| invalid(format!("Destination region {region} cannot be served.")))?;
        let now = self.now();
        let ready_at = now.plus(Timing::secs(dest.config().timing.backup_seconds));
        let copied_from = CopySource {
            region: from.region.clone(),
            backup: backup.id.clone(),
            cluster: backup.cluster_id.clone(),
            copied_at: now,
        };
        dest.mutate_state(|st| {
            let id = st.ids.id(IdKind::Backup);
            st.backups.insert(
                id.clone(),
                Backup {
                    id,
                    state: BackupState::CreateInProgress {
                        completes_at: ready_at,
                    }
                    .settled(now),
                    cluster_id: backup.cluster_id.clone(),
                    create_timestamp: backup.create_timestamp,
                    delete_timestamp: None,
                    source_backup: backup.source_backup.clone(),
                    hsm_type: backup.hsm_type.clone(),
                    mode: backup.mode.clone(),
                    never_expires: backup.never_expires,
                    contents: backup.contents.clone(),
                    copied_from: Some(copied_from),
                },
            );
        });
        let out = CopyBackupToRegionResponse {
            destination_backup: DestinationBackup {
                create_timestamp: backup.create_timestamp.as_epoch_seconds(),
                source_region: from.region,
                source_backup: backup.id,
                source_cluster: backup.cluster_id,
            },
        };
        serde_json::to_value(out).map_err(|e| Error::new(ErrorKind::KmsInternal, e.to_string()))
    }
}

//! `ClusterState` of reference/aws-models/cloudhsmv2-service-2.json: a
//! cluster's life from CreateCluster to DeleteCluster (docs/fidelity.md F5).
//!
//! ```text
//!  CREATE_IN_PROGRESS ──clock──► UNINITIALIZED ──InitializeCluster──► INITIALIZE_IN_PROGRESS ──clock──► INITIALIZED
//!        └──clock (from a backup)──► ACTIVE ◄──────────────────────── cluster activate ─────────────────────┘
//!  UNINITIALIZED | INITIALIZED | ACTIVE | DEGRADED ──DeleteCluster──► DELETE_IN_PROGRESS ──clock──► DELETED
//!  ACTIVE ──an HSM DEGRADED──► DEGRADED ──no HSM DEGRADED──► ACTIVE
//! ```
//!
//! `DEGRADED` follows the cluster's HSMs: an `ACTIVE` cluster with a
//! degraded HSM (a fault, `machines/hsm.rs`) reads `DEGRADED` until no HSM
//! is (repaired or deleted). AWS documents the state, not its cause; KMS
//! uses a `DEGRADED` cluster as an `ACTIVE` one through its active HSMs
//! (docs/fidelity.md I56).
#![deny(clippy::wildcard_enum_match_arm)]

use serde::{Deserialize, Serialize};

use super::{wire_names, Timed, Transition};
use crate::engine::clock::Timestamp;
use crate::engine::error::{Error, ErrorKind, Result};

/// `ClusterState` in reference/aws-models/cloudhsmv2-service-2.json (same order).

#[derive(Clone, Copy, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub enum ClusterState {
    /// CreateCluster was called; `from_backup` clusters come up `ACTIVE`.
    CreateInProgress {
        /// When creation completes.
        completes_at: Timestamp,
        /// Made from a backup (already initialized and activated).
        from_backup: bool,
    },
    /// Created; needs InitializeCluster.
    Uninitialized,
    /// InitializeCluster was called.
    InitializeInProgress {
        /// When initialization completes.
        completes_at: Timestamp,
    },
    /// Initialized; needs `cluster activate` in the CloudHSM CLI.
    Initialized,
    /// Usable.
    Active,
    /// Not entered by hsmdrill; listed for completeness of the model.
    UpdateInProgress,
    /// Not entered by hsmdrill; listed for completeness of the model.
    ModifyInProgress,
    /// Not entered by hsmdrill; listed for completeness of the model.
    RollbackInProgress,
    /// DeleteCluster was called.
    DeleteInProgress {
        /// When deletion completes.
        completes_at: Timestamp,
    },
    /// Deleted; still listed by DescribeClusters.
    Deleted,
    /// Active with an HSM `DEGRADED` (docs/fidelity.md I56).
    Degraded,
}

wire_names!(ClusterState {
    (CreateInProgress { .. }) => "CREATE_IN_PROGRESS",
    (Uninitialized) => "UNINITIALIZED",
    (InitializeInProgress { .. }) => "INITIALIZE_IN_PROGRESS",
    (Initialized) => "INITIALIZED",
    (Active) => "ACTIVE",
    (UpdateInProgress) => "UPDATE_IN_PROGRESS",
    (ModifyInProgress) => "MODIFY_IN_PROGRESS",
    (RollbackInProgress) => "ROLLBACK_IN_PROGRESS",
    (DeleteInProgress { .. }) => "DELETE_IN_PROGRESS",
    (Deleted) => "DELETED",
    (Degraded) => "DEGRADED",
});

impl ClusterState {
    /// InitializeCluster: "The cluster must be in the UNINITIALIZED state";
    /// "InitializeCluster → INITIALIZED" (docs/fidelity.md F5), by way of
    /// INITIALIZE_IN_PROGRESS while the clock runs (docs/fidelity.md I15).
    pub fn on_initialize(self, completes_at: Timestamp) -> Result<Transition<Self>> {
        match self {
            ClusterState::Uninitialized => Ok(Transition::To(ClusterState::InitializeInProgress {
                completes_at,
            })),
            ClusterState::CreateInProgress { .. }
            | ClusterState::InitializeInProgress { .. }
            | ClusterState::Initialized
            | ClusterState::Active
            | ClusterState::UpdateInProgress
            | ClusterState::ModifyInProgress
            | ClusterState::RollbackInProgress
            | ClusterState::DeleteInProgress { .. }
            | ClusterState::Deleted
            | ClusterState::Degraded => Err(Error::new(
                ErrorKind::CloudHsmInvalidRequest,
                format!(
                    "The cluster must be in the UNINITIALIZED state to be initialized; it is {}.",
                    self.as_str()
                ),
            )),
        }
    }

    /// `cluster activate` in the CloudHSM CLI: "`cluster activate` in the
    /// CloudHSM CLI → ACTIVE" (docs/fidelity.md F5). The refusals are the
    /// CLI's own strings (docs/fidelity.md I7).
    pub fn on_activate(self) -> std::result::Result<Transition<Self>, &'static str> {
        match self {
            ClusterState::Initialized => Ok(Transition::To(ClusterState::Active)),
            ClusterState::Active => Err("Cluster is already activated"),
            ClusterState::CreateInProgress { .. }
            | ClusterState::Uninitialized
            | ClusterState::InitializeInProgress { .. }
            | ClusterState::UpdateInProgress
            | ClusterState::ModifyInProgress
            | ClusterState::RollbackInProgress
            | ClusterState::DeleteInProgress { .. }
            | ClusterState::Deleted
            | ClusterState::Degraded => {
                Err("Cluster must be initialized before it can be activated")
            }
        }
    }

    /// DeleteCluster: "A cluster can be deleted only once all its HSMs are"
    /// (docs/fidelity.md F5; checked by the caller, which knows the HSMs).
    pub fn on_delete(self, completes_at: Timestamp) -> Result<Transition<Self>> {
        match self {
            ClusterState::Uninitialized
            | ClusterState::Initialized
            | ClusterState::Active
            | ClusterState::Degraded => Ok(Transition::To(ClusterState::DeleteInProgress {
                completes_at,
            })),
            ClusterState::DeleteInProgress { .. } => Ok(Transition::Unchanged),
            ClusterState::CreateInProgress { .. }
            | ClusterState::InitializeInProgress { .. }
            | ClusterState::UpdateInProgress
            | ClusterState::ModifyInProgress
            | ClusterState::RollbackInProgress
            | ClusterState::Deleted => Err(Error::new(
                ErrorKind::CloudHsmInvalidRequest,
                format!(
                    "The cluster cannot be deleted while it is {}.",
                    self.as_str()
                ),
            )),
        }
    }
}

impl ClusterState {
    /// An HSM of the cluster degraded (`any_degraded`) or the last degraded
    /// one was repaired or deleted: an `ACTIVE` cluster reads `DEGRADED`
    /// while one of its HSMs does, and `ACTIVE` again after (the model's
    /// `ClusterState`; the cause is inferred, docs/fidelity.md I56). A
    /// cluster in any other state keeps it: its life cycle comes first.
    pub fn on_hsm_health(self, any_degraded: bool) -> Transition<Self> {
        match (self, any_degraded) {
            (ClusterState::Active, true) => Transition::To(ClusterState::Degraded),
            (ClusterState::Degraded, false) => Transition::To(ClusterState::Active),
            (ClusterState::Active, false)
            | (ClusterState::Degraded, true)
            | (
                ClusterState::CreateInProgress { .. }
                | ClusterState::Uninitialized
                | ClusterState::InitializeInProgress { .. }
                | ClusterState::Initialized
                | ClusterState::UpdateInProgress
                | ClusterState::ModifyInProgress
                | ClusterState::RollbackInProgress
                | ClusterState::DeleteInProgress { .. }
                | ClusterState::Deleted,
                _,
            ) => Transition::Unchanged,
        }
    }

    /// Whether KMS can use the cluster for a key store: `ACTIVE`, or
    /// `DEGRADED` through its active HSMs (docs/fidelity.md I56); any other
    /// state is CloudHsmClusterNotActiveException.
    pub fn serves_kms(self) -> bool {
        match self {
            ClusterState::Active | ClusterState::Degraded => true,
            ClusterState::CreateInProgress { .. }
            | ClusterState::Uninitialized
            | ClusterState::InitializeInProgress { .. }
            | ClusterState::Initialized
            | ClusterState::UpdateInProgress
            | ClusterState::ModifyInProgress
            | ClusterState::RollbackInProgress
            | ClusterState::DeleteInProgress { .. }
            | ClusterState::Deleted => false,
        }
    }
}

impl Timed for ClusterState {
    /// "A new cluster goes CREATE_IN_PROGRESS → UNINITIALIZED"
    /// (docs/fidelity.md F5), or ACTIVE when made from a backup
    /// (docs/fidelity.md I16); initialization and deletion finish.
    fn due(self) -> Option<(Timestamp, Transition<Self>)> {
        let (at, next) = match self {
            ClusterState::CreateInProgress {
                completes_at,
                from_backup,
            } => (
                completes_at,
                if from_backup {
                    ClusterState::Active
                } else {
                    ClusterState::Uninitialized
                },
            ),
            ClusterState::InitializeInProgress { completes_at } => {
                (completes_at, ClusterState::Initialized)
            }
            ClusterState::DeleteInProgress { completes_at } => {
                (completes_at, ClusterState::Deleted)
            }
            ClusterState::Uninitialized
            | ClusterState::Initialized
            | ClusterState::Active
            | ClusterState::UpdateInProgress
            | ClusterState::ModifyInProgress
            | ClusterState::RollbackInProgress
            | ClusterState::Deleted
            | ClusterState::Degraded => return None,
        };
        Some((at, Transition::To(next)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::machines::matrix::{cell, fallible, matrix, name, BEFORE, DUE, LATER};

    /// One representative of every state, in model order.
    fn every_state() -> Vec<ClusterState> {
        let t = DUE;
        vec![
            ClusterState::CreateInProgress {
                completes_at: t,
                from_backup: false,
            },
            ClusterState::CreateInProgress {
                completes_at: t,
                from_backup: true,
            },
            ClusterState::Uninitialized,
            ClusterState::InitializeInProgress { completes_at: t },
            ClusterState::Initialized,
            ClusterState::Active,
            ClusterState::UpdateInProgress,
            ClusterState::ModifyInProgress,
            ClusterState::RollbackInProgress,
            ClusterState::DeleteInProgress { completes_at: t },
            ClusterState::Deleted,
            ClusterState::Degraded,
        ]
    }

    /// The state x event matrix, reviewed as a snapshot.
    #[test]
    fn transition_matrix() {
        let label = |s: ClusterState| {
            let from_backup = matches!(
                s,
                ClusterState::CreateInProgress {
                    from_backup: true,
                    ..
                }
            );
            if from_backup {
                format!("{} (from backup)", s.as_str())
            } else {
                s.as_str().to_owned()
            }
        };
        let activate = |s: ClusterState| match s.on_activate() {
            Ok(t) => cell(t, name),
            Err(message) => format!("Err({message})"),
        };
        insta::assert_snapshot!(matrix(
            &every_state(),
            label,
            &[
                ("on_initialize", &|s| fallible(s.on_initialize(LATER), name)),
                ("on_activate", &activate),
                ("on_delete", &|s| fallible(s.on_delete(LATER), name)),
                ("on_hsm_health(degraded)", &|s| cell(
                    s.on_hsm_health(true),
                    name
                )),
                ("on_hsm_health(healthy)", &|s| cell(
                    s.on_hsm_health(false),
                    name
                )),
                ("on_clock(before)", &|s| cell(s.on_clock(BEFORE), name)),
                ("on_clock(due)", &|s| cell(s.on_clock(DUE), name)),
            ],
        ));
    }

    #[test]
    fn cluster_lifecycle() {
        let t = Timestamp::from_millis(10);
        let s = ClusterState::CreateInProgress {
            completes_at: t,
            from_backup: false,
        };
        assert_eq!(s.on_clock(Timestamp::from_millis(9)), Transition::Unchanged);
        assert_eq!(s.on_clock(t), Transition::To(ClusterState::Uninitialized));
        let Transition::To(s) = ClusterState::Uninitialized.on_initialize(t).unwrap() else {
            panic!()
        };
        assert_eq!(s.on_clock(t), Transition::To(ClusterState::Initialized));
        assert_eq!(
            ClusterState::Initialized.on_activate(),
            Ok(Transition::To(ClusterState::Active))
        );
        assert!(ClusterState::Active.on_initialize(t).is_err());
    }

    #[test]
    fn degraded_follows_the_hsms_of_an_active_cluster() {
        assert_eq!(
            ClusterState::Active.on_hsm_health(true),
            Transition::To(ClusterState::Degraded)
        );
        assert_eq!(
            ClusterState::Degraded.on_hsm_health(false),
            Transition::To(ClusterState::Active)
        );
        assert_eq!(
            ClusterState::Uninitialized.on_hsm_health(true),
            Transition::Unchanged
        );
        assert!(ClusterState::Degraded.serves_kms());
        assert!(!ClusterState::Initialized.serves_kms());
    }

    #[test]
    fn names_follow_the_model_order() {
        assert_eq!(ClusterState::NAMES.len(), 11);
        assert_eq!(ClusterState::Active.as_str(), "ACTIVE");
    }
}

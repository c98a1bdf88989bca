//! `HsmState` of reference/aws-models/cloudhsmv2-service-2.json: one HSM
//! from CreateHsm to DeleteHsm (docs/fidelity.md F5).
//!
//! ```text
//!  CREATE_IN_PROGRESS ──clock──► ACTIVE ──DeleteHsm──► DELETE_IN_PROGRESS ──clock──► DELETED (dropped from the cluster)
//!                                 ▲  │                        ▲
//!                  repair (fault) │  │ degrade (fault)        │ DeleteHsm
//!                                 │  ▼                        │
//!                                DEGRADED ────────────────────┘
//! ```
//!
//! `DEGRADED` is in the model's `HsmState` but AWS documents no cause nor
//! effect: hsmdrill enters it only by a fault (`degrade hsm …`), and a
//! degraded HSM is not used (docs/fidelity.md I56).
#![deny(clippy::wildcard_enum_match_arm)]

use serde::{Deserialize, Serialize};

use super::{wire_names, Timed, Transition};
use crate::engine::clock::Timestamp;
use crate::engine::error::{Error, ErrorKind, Result};

/// `HsmState` in reference/aws-models/cloudhsmv2-service-2.json (same order).

#[derive(Clone, Copy, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub enum HsmState {
    /// CreateHsm was called.
    CreateInProgress {
        /// When the HSM becomes active.
        completes_at: Timestamp,
    },
    /// Serving requests.
    Active,
    /// Not working properly, by a fault (docs/fidelity.md I56): not one of
    /// the cluster's active HSMs (KMS's sessions and crypto, the two HSMs a
    /// key store needs) until repaired.
    Degraded,
    /// DeleteHsm was called.
    DeleteInProgress {
        /// When the HSM is gone.
        completes_at: Timestamp,
    },
    /// Gone (dropped from the cluster's list).
    Deleted,
}

wire_names!(HsmState {
    (CreateInProgress { .. }) => "CREATE_IN_PROGRESS",
    (Active) => "ACTIVE",
    (Degraded) => "DEGRADED",
    (DeleteInProgress { .. }) => "DELETE_IN_PROGRESS",
    (Deleted) => "DELETED",
});

impl HsmState {
    /// DeleteHsm: the HSM is DELETE_IN_PROGRESS, then DELETED (the model's
    /// `HsmState`, docs/fidelity.md F5); deleting one already going is a
    /// no-op.
    pub fn on_delete(self, completes_at: Timestamp) -> Transition<Self> {
        match self {
            HsmState::CreateInProgress { .. } | HsmState::Active | HsmState::Degraded => {
                Transition::To(HsmState::DeleteInProgress { completes_at })
            }
            HsmState::DeleteInProgress { .. } | HsmState::Deleted => Transition::Unchanged,
        }
    }
}

impl HsmState {
    /// The `degrade hsm` fault: an `ACTIVE` HSM stops working properly and
    /// reads `DEGRADED` (the model's `HsmState`; what it means for KMS is
    /// inferred, docs/fidelity.md I56). Only an active HSM can degrade.
    pub fn on_degrade(self) -> Result<Transition<Self>> {
        match self {
            HsmState::Active => Ok(Transition::To(HsmState::Degraded)),
            HsmState::Degraded => Ok(Transition::Unchanged),
            HsmState::CreateInProgress { .. }
            | HsmState::DeleteInProgress { .. }
            | HsmState::Deleted => Err(not_active(self, "degraded")),
        }
    }

    /// The `repair hsm` fault: a `DEGRADED` HSM is `ACTIVE` again
    /// (docs/fidelity.md I56).
    pub fn on_repair(self) -> Result<Transition<Self>> {
        match self {
            HsmState::Degraded => Ok(Transition::To(HsmState::Active)),
            HsmState::Active => Ok(Transition::Unchanged),
            HsmState::CreateInProgress { .. }
            | HsmState::DeleteInProgress { .. }
            | HsmState::Deleted => Err(not_active(self, "repaired")),
        }
    }
}

fn not_active(s: HsmState, what: &str) -> Error {
    Error::new(
        ErrorKind::CloudHsmInvalidRequest,
        format!(
            "Only an ACTIVE or DEGRADED HSM can be {what}; this one is {}.",
            s.as_str()
        ),
    )
}

impl Timed for HsmState {
    /// A new HSM becomes ACTIVE, a deleted one DELETED (docs/fidelity.md
    /// F5; how long each takes: I15).
    fn due(self) -> Option<(Timestamp, Transition<Self>)> {
        match self {
            HsmState::CreateInProgress { completes_at } => {
                Some((completes_at, Transition::To(HsmState::Active)))
            }
            HsmState::DeleteInProgress { completes_at } => {
                Some((completes_at, Transition::To(HsmState::Deleted)))
            }
            HsmState::Active | HsmState::Degraded | HsmState::Deleted => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::machines::matrix::{cell, fallible, matrix, name, BEFORE, DUE, LATER};

    #[test]
    fn names_follow_the_model_order() {
        assert_eq!(HsmState::NAMES.len(), 5);
        assert_eq!(HsmState::NAMES[1], "ACTIVE");
    }

    /// The state x event matrix, reviewed as a snapshot.
    #[test]
    fn transition_matrix() {
        let states = [
            HsmState::CreateInProgress { completes_at: DUE },
            HsmState::Active,
            HsmState::Degraded,
            HsmState::DeleteInProgress { completes_at: DUE },
            HsmState::Deleted,
        ];
        insta::assert_snapshot!(matrix(
            &states,
            |s| name(&s),
            &[
                ("on_delete", &|s| cell(s.on_delete(LATER), name)),
                ("on_degrade", &|s| fallible(s.on_degrade(), name)),
                ("on_repair", &|s| fallible(s.on_repair(), name)),
                ("on_clock(before)", &|s| cell(s.on_clock(BEFORE), name)),
                ("on_clock(due)", &|s| cell(s.on_clock(DUE), name)),
            ],
        ));
    }

    #[test]
    fn degrade_and_repair() {
        assert_eq!(
            HsmState::Active.on_degrade().unwrap(),
            Transition::To(HsmState::Degraded)
        );
        assert_eq!(
            HsmState::Degraded.on_repair().unwrap(),
            Transition::To(HsmState::Active)
        );
        assert!(HsmState::CreateInProgress { completes_at: DUE }
            .on_degrade()
            .is_err());
        assert!(HsmState::Deleted.on_repair().is_err());
    }
}

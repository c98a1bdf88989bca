//! A CloudHSM user's login lockout (docs/fidelity.md F5, I10, I11).
//!
//! ```text
//!  Open{0} ──wrong password──► Open{1} … Open{4} ──wrong password──► Locked
//!     ▲  └───────────── right password (from any Open) ◄───────┘        │
//!     └────────────────────── password change ◄─────────────────────────┘
//! ```
//!
//! Who is logged in where (and the checks a login makes before the password,
//! such as "this session is already logged in") is `cloudhsm::users`.
#![deny(clippy::wildcard_enum_match_arm)]

use serde::{Deserialize, Serialize};

use super::Transition;

/// After this many wrong passwords in a row a user is locked
/// ("If you exceed five incorrect login attempts, your account is locked
/// out", CloudHSM User Guide, cloudhsm_cli-login).
pub const MAX_FAILED_LOGINS: u32 = 5;

/// The lockout state machine of one user.
#[derive(Clone, Copy, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub enum Lockout {
    /// Can log in; `failures` wrong passwords in a row so far.
    Open {
        /// Consecutive failed logins.
        failures: u32,
    },
    /// Five wrong passwords in a row; only a password change unlocks.
    Locked,
}

impl Lockout {
    /// A wrong password was given: "After five failed logins with a wrong
    /// password, CloudHSM locks the user" (docs/fidelity.md F5). KMS's own
    /// failed logins count (I10), and so do wrong passwords while KMS holds
    /// the login (I11).
    pub fn on_failed_login(self) -> Transition<Self> {
        match self {
            Lockout::Open { failures } if failures + 1 >= MAX_FAILED_LOGINS => {
                Transition::To(Lockout::Locked)
            }
            Lockout::Open { failures } => Transition::To(Lockout::Open {
                failures: failures + 1,
            }),
            Lockout::Locked => Transition::Unchanged,
        }
    }

    /// The right password was given: the count of failures "in a row" starts
    /// again (docs/fidelity.md F5). A locked user never gets this far; the
    /// login is refused before the password is checked.
    pub fn on_login(self) -> Transition<Self> {
        match self {
            Lockout::Open { failures: 0 } | Lockout::Locked => Transition::Unchanged,
            Lockout::Open { .. } => Transition::To(Lockout::Open { failures: 0 }),
        }
    }

    /// A new password: "only a password change (by an admin, `user
    /// change-password`) unlocks it" (docs/fidelity.md F5, R5). KMS rotating
    /// `kmsuser`'s password on connect is a password change too (F2).
    pub fn on_password_change(self) -> Transition<Self> {
        match self {
            Lockout::Open { failures: 0 } => Transition::Unchanged,
            Lockout::Open { .. } | Lockout::Locked => Transition::To(Lockout::Open { failures: 0 }),
        }
    }

    /// Whether the user is locked out.
    pub fn is_locked(self) -> bool {
        match self {
            Lockout::Open { .. } => false,
            Lockout::Locked => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::machines::matrix::{cell, matrix};

    fn name(s: &Lockout) -> String {
        format!("{s:?}")
    }

    /// The state x event matrix, reviewed as a snapshot.
    #[test]
    fn transition_matrix() {
        let states = [
            Lockout::Open { failures: 0 },
            Lockout::Open { failures: 1 },
            Lockout::Open {
                failures: MAX_FAILED_LOGINS - 1,
            },
            Lockout::Locked,
        ];
        insta::assert_snapshot!(matrix(
            &states,
            |s| name(&s),
            &[
                ("on_failed_login", &|s| cell(s.on_failed_login(), name)),
                ("on_login", &|s| cell(s.on_login(), name)),
                ("on_password_change", &|s| cell(
                    s.on_password_change(),
                    name
                )),
            ],
        ));
    }
}

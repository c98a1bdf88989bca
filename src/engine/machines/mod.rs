//! Every state machine of the emulated AWS, one file each, and nothing else.
//!
//! | Machine | AWS enum | File | Facts |
//! |---|---|---|---|
//! | key store connection | `ConnectionStateType` | `connection.rs` | docs/fidelity.md F2, I9, I15 |
//! | KMS key | `KeyState` | `key.rs` | docs/fidelity.md F3, I5, F25, I53 |
//! | CloudHSM cluster | `ClusterState` | `cluster.rs` | docs/fidelity.md F5, I16, I56 |
//! | HSM | `HsmState` | `hsm.rs` | docs/fidelity.md F5, I56 |
//! | backup | `BackupState` | `backup.rs` | docs/fidelity.md F5 |
//! | CloudHSM user login | (lockout) | `user.rs` | docs/fidelity.md F5, I10, I11 |
//!
//! Each transition is a method named after its trigger (`on_connect`,
//! `on_clock`, …) with an exhaustive match, so a new state or event cannot be
//! forgotten, and a doc comment naming the AWS sentence that justifies it. A
//! method only decides the next state; the operations (`kms/*_ops.rs`,
//! `cloudhsm/ops.rs`, the CloudHSM CLI) and the clock (`schedule.rs`) apply it
//! with its effects (logins, network interfaces, trail events), each effect in
//! one place. Each machine's state × event table is an insta snapshot beside
//! it (`snapshots/`): a change to any transition shows up in review.
//!
//! A state's AWS wire name is spelled once, in the `wire_names!` list that
//! makes both its `as_str` and its `NAMES`. A machine whose states end by themselves
//! says when and how once, in [`Timed::due`]; its `on_clock` and
//! `completes_at` follow (the key store connection, whose end is judged
//! against the world, has its own).

pub mod backup;
pub mod cluster;
pub mod connection;
pub mod hsm;
pub mod key;
pub mod user;

pub use backup::BackupState;
pub use cluster::ClusterState;
pub use connection::{ConnectionErrorCode, ConnectionState};
pub use hsm::HsmState;
pub use key::{KeyState, KeyStatus, Material};
pub use user::Lockout;

use crate::engine::clock::Timestamp;

/// Writes a state enum's `as_str` (its AWS wire name) and `NAMES` (every
/// wire name, in the model's order) from one list of
/// `(Variant [{ .. }]) => "WIRE_NAME"`, in the model's order.
macro_rules! wire_names {
    ($state:ident { $( ($($variant:tt)*) => $name:literal ),* $(,)? }) => {
        impl $state {
            /// The wire name.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( $state::$($variant)* => $name, )*
                }
            }

            /// Every wire name, in model order (checked against the model by
            /// a test).
            pub const NAMES: &'static [&'static str] = &[$($name),*];
        }

        #[cfg(test)]
        impl $crate::engine::machines::matrix::Named for $state {
            fn name(&self) -> String {
                self.as_str().to_owned()
            }
        }
    };
}

pub(crate) use wire_names;

/// The outcome of an event on a state machine.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Transition<S> {
    /// Move to this state.
    To(S),
    /// Valid, nothing to do.
    Unchanged,
    /// The thing the machine describes ends: its record is removed (a KMS key
    /// at the end of its waiting period).
    End,
}

impl<S> Transition<S> {
    /// Moves `state` on. `Unchanged` and `End` leave it as it is: the owner
    /// of a record that ends removes it, with the effects of its end.
    pub fn apply(self, state: &mut S) {
        match self {
            Transition::To(next) => *state = next,
            Transition::Unchanged | Transition::End => {}
        }
    }
}

/// A machine some of whose states end by themselves when the clock reaches
/// an instant they carry (`CREATE_IN_PROGRESS`, `PENDING_DELETION`, …).
pub trait Timed: Copy {
    /// A timed state's end: when it is due and the transition it then
    /// takes; `None` for a state that waits for an event.
    fn due(self) -> Option<(Timestamp, Transition<Self>)>;

    /// The clock reached `now`: a due state takes its transition, any other
    /// is unchanged.
    fn on_clock(self, now: Timestamp) -> Transition<Self> {
        match self.due() {
            Some((at, next)) if at <= now => next,
            Some(_) | None => Transition::Unchanged,
        }
    }

    /// When the state ends by itself, if it does.
    fn completes_at(self) -> Option<Timestamp> {
        self.due().map(|(at, _)| at)
    }

    /// The state an event just moved to, taken on through its end at once
    /// when that is already due (a duration of zero seconds).
    fn settled(self, now: Timestamp) -> Self {
        match self.on_clock(now) {
            Transition::To(next) => next,
            Transition::Unchanged | Transition::End => self,
        }
    }
}

#[cfg(test)]
pub(crate) mod matrix {
    //! The state × event tables the snapshots show.

    use super::Transition;
    use crate::engine::clock::Timestamp;
    use crate::engine::error::Result;

    /// Before a timed state is due.
    pub(crate) const BEFORE: Timestamp = Timestamp::from_millis(9);
    /// When a timed state of the tables is due.
    pub(crate) const DUE: Timestamp = Timestamp::from_millis(10);
    /// When a timed state an event starts is due.
    pub(crate) const LATER: Timestamp = Timestamp::from_millis(20);

    /// A state shown by its wire name.
    pub(crate) trait Named {
        /// The wire name, for the tables.
        fn name(&self) -> String;
    }

    /// The wire name of `s`, as the tables show states.
    pub(crate) fn name<S: Named>(s: &S) -> String {
        s.name()
    }

    /// An event of a table: its name and the cell it gives for a state.
    pub(crate) type Event<'a, S> = (&'a str, &'a dyn Fn(S) -> String);

    /// The table of `events` on every state of `states`, each row labelled
    /// by `label`.
    pub(crate) fn matrix<S: Copy>(
        states: &[S],
        label: impl Fn(S) -> String,
        events: &[Event<'_, S>],
    ) -> String {
        let rows: Vec<(String, Vec<(&str, String)>)> = states
            .iter()
            .map(|&s| {
                let cells = events.iter().map(|(name, f)| (*name, f(s))).collect();
                (label(s), cells)
            })
            .collect();
        table(&rows)
    }

    /// One cell: a transition, shown by the next state's wire name.
    pub(crate) fn cell<S>(t: Transition<S>, name: impl Fn(&S) -> String) -> String {
        match t {
            Transition::To(s) => format!("-> {}", name(&s)),
            Transition::Unchanged => "unchanged".into(),
            Transition::End => "end".into(),
        }
    }

    /// One cell of an event that can be refused.
    pub(crate) fn fallible<S>(r: Result<Transition<S>>, name: impl Fn(&S) -> String) -> String {
        match r {
            Ok(t) => cell(t, name),
            Err(e) => format!("Err({})", e.aws_name()),
        }
    }

    /// Rows of `(state, [(event, cell)])` as an aligned text table, one
    /// state a line.
    pub(crate) fn table(rows: &[(String, Vec<(&str, String)>)]) -> String {
        let state_width = rows.iter().map(|(s, _)| s.len()).max().unwrap_or(0);
        let columns = rows.first().map_or(0, |(_, cells)| cells.len());
        let widths: Vec<usize> = (0..columns)
            .map(|i| {
                rows.iter()
                    .filter_map(|(_, cells)| cells.get(i))
                    .map(|(event, cell)| event.len() + 2 + cell.len())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for (state, cells) in rows {
            let mut line = format!("{state:<state_width$}");
            for (i, (event, cell)) in cells.iter().enumerate() {
                let text = format!("{event}: {cell}");
                let width = widths.get(i).copied().unwrap_or(0);
                line.push_str(&format!("  {text:<width$}"));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

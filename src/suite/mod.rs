//! A suite: the runbooks and features under some paths, the scenarios a
//! run selects from them, and what running each one gave (its outcome and
//! its snapshot). A `.feature` is lowered by [`crate::gherkin`] to the same
//! IR a `.runbook` is, and from there on nothing tells them apart.
//!
//! This is the library half of `hsmdrill run` and `hsmdrill check`; the
//! binary only parses arguments and prints what [`report`] makes of
//! a [`SuiteResult`]. The steps, in order:
//!
//! 1. [`discover`]: every `.runbook` and `.feature` under the given paths
//!    (recursively, sorted, `snapshots/` folders skipped; a path may name
//!    one file).
//! 2. [`load_all`]: read and parse (or lower) each file. A file that does not parse is
//!    kept with its diagnostics: `run` reports it as failed, `check` prints
//!    them.
//! 3. [`select`]: the scenarios in order (file, then position), filtered by
//!    the `--tag` expression, then sliced by `--partition K/N`.
//! 4. [`run_suite`]: run each selected scenario on its own engine (or
//!    against `--endpoint`) with the one runner, and compare (or, with
//!    `--accept`, write) its snapshot.
//!
//! Problems with the input itself (a path that does not exist, a file that
//! cannot be read, a bad tag expression or partition, a tag no scenario
//! has) are [`SuiteError`]s: the binary prints them on one line each and
//! exits with status 2.

//! The files, by concern:
//!
//! - `files.rs`: discovery and loading ([`discover`], [`load_all`]).
//! - `tags.rs`: `--tag` expressions ([`TagExpr`]).
//! - `select.rs`: [`Options`], [`Partition`] and [`select`].
//! - `run.rs`: [`run_suite`] and what it gives ([`SuiteResult`]).
//! - `report/`: the pretty, JSON, JUnit and HTML reports (`report/html.rs`,
//!   its timeline in `report/html/timeline.rs`), and what `check` and
//!   `steps` print.
//!
//! This is layer 4 (see the crate docs): it knows every front end
//! ([`crate::dsl`], [`crate::gherkin`], [`crate::remote`]) and the
//! scenario layer; nothing below imports it.

mod files;
mod run;
mod select;

pub mod report;
pub mod tags;

use std::io;
use std::path::{Path, PathBuf};

pub use files::{discover, is_feature, load, load_all, Found, Loaded};
pub use run::{run_suite, Run, ScenarioResult, Snapshot, SuiteResult};
pub use select::{select, Options, Partition, Selected};
pub use tags::{TagError, TagExpr};

/// Where `hsmdrill run` and `hsmdrill check` look without a path (with
/// [`DEFAULT_FEATURES`] when that folder exists).
pub const DEFAULT_PATH: &str = "scenarios";

/// The features folder `hsmdrill run` and `hsmdrill check` also look in
/// without a path, when it exists.
pub const DEFAULT_FEATURES: &str = "features";

/// The extension of runbook files.
pub const RUNBOOK_EXTENSION: &str = "runbook";

/// The paths `run` and `check` use when given none: `scenarios/`, and
/// `features/` when it exists.
pub fn default_paths() -> Vec<PathBuf> {
    let mut paths = vec![PathBuf::from(DEFAULT_PATH)];
    if Path::new(DEFAULT_FEATURES).is_dir() {
        paths.push(PathBuf::from(DEFAULT_FEATURES));
    }
    paths
}

/// A problem with the input of a run: bad paths, unreadable files, bad
/// options. Each is one line, shown after `error: `.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    /// A path on the command line does not exist.
    #[error("{}: no such file or directory", .0.display())]
    NotFound(PathBuf),
    /// A file or folder could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A file on the command line is not a `.runbook` or a `.feature`.
    #[error("{}: not a .runbook or .feature file", .0.display())]
    NotRunbook(PathBuf),
    /// The paths hold no runbook and no feature at all.
    #[error("no .runbook file and no .feature file under {0}")]
    NoRunbooks(String),
    /// `--tag` does not parse.
    #[error(transparent)]
    Tag(#[from] TagError),
    /// `--tag` selects nothing.
    #[error("no scenario matches tag expression `{expression}`{}", unknown_note(.unknown))]
    NoMatch {
        /// The expression as given.
        expression: String,
        /// Tags it asks for that no scenario has.
        unknown: Vec<String>,
    },
    /// `--partition` is not `K/N` with 1 ≤ K ≤ N.
    #[error("bad --partition `{text}`: {problem} (write K/N with 1 <= K <= N, e.g. 2/4)")]
    Partition {
        /// The value as given.
        text: String,
        /// What is wrong with it.
        problem: String,
    },
}

fn unknown_note(unknown: &[String]) -> String {
    match unknown {
        [] => String::new(),
        tags => format!(
            " (no scenario is tagged {})",
            tags.iter()
                .map(|t| format!("@{t}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_match_names_unknown_tags() {
        let e = SuiteError::NoMatch {
            expression: "@R5 or @nope".into(),
            unknown: vec!["nope".into()],
        };
        assert_eq!(
            e.to_string(),
            "no scenario matches tag expression `@R5 or @nope` (no scenario is tagged @nope)"
        );
    }
}

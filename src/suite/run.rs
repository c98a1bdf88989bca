//! Running the selected scenarios, each on its own target with the one
//! runner, and settling each one's snapshot.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use super::{select, Loaded, Options, SuiteError};
use crate::remote::RemoteTarget;
use crate::scenario::diagnostic::Diagnostic;
use crate::scenario::ir::Scenario;
use crate::scenario::outcome::Outcome;
use crate::scenario::runner;
use crate::scenario::snapshot::{self, Check};

/// What became of a scenario's snapshot.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum Snapshot {
    /// Same as the stored one.
    Matches,
    /// Written with `--accept` (new or changed).
    Accepted {
        /// The `.snap` file.
        path: String,
    },
    /// None stored yet (a failure; run with `--accept`).
    Missing {
        /// Where it would be.
        path: String,
    },
    /// Different from the stored one (a failure).
    Differs {
        /// The `.snap` file.
        path: String,
        /// A unified diff, stored to this run.
        diff: String,
    },
    /// Could not be read or written (a failure).
    Unusable {
        /// The `.snap` file.
        path: String,
        /// Why.
        error: String,
    },
    /// Not compared, because the scenario failed before its end.
    NotChecked,
}

impl Snapshot {
    /// Whether the snapshot lets the scenario pass.
    pub fn ok(&self) -> bool {
        match self {
            Snapshot::Matches | Snapshot::Accepted { .. } | Snapshot::NotChecked => true,
            Snapshot::Missing { .. } | Snapshot::Differs { .. } | Snapshot::Unusable { .. } => {
                false
            }
        }
    }
}

/// What a selected item gave.
#[derive(Clone, Debug)]
pub enum Run {
    /// The scenario ran.
    Ran {
        /// What the runner saw.
        outcome: Box<Outcome>,
        /// How many top-level steps the scenario has.
        total_steps: usize,
        /// Its snapshot.
        snapshot: Snapshot,
    },
    /// The file does not parse; nothing ran.
    Unparsed {
        /// Every error in it.
        diagnostics: Vec<Diagnostic>,
    },
}

/// One line of the report: a scenario (or an unparsable file) and what
/// happened.
#[derive(Clone, Debug)]
pub struct ScenarioResult {
    /// The file.
    pub path: PathBuf,
    /// How reports name the file.
    pub name: String,
    /// The file's text, for snippets.
    pub source: Arc<str>,
    /// What happened.
    pub run: Run,
}

impl ScenarioResult {
    /// Every step held and the snapshot is as stored (or accepted).
    pub fn passed(&self) -> bool {
        match &self.run {
            Run::Ran {
                outcome, snapshot, ..
            } => outcome.passed() && snapshot.ok(),
            Run::Unparsed { .. } => false,
        }
    }

    /// The scenario's title, or `None` for a file that does not parse.
    pub fn scenario(&self) -> Option<&str> {
        match &self.run {
            Run::Ran { outcome, .. } => Some(&outcome.scenario),
            Run::Unparsed { .. } => None,
        }
    }
}

/// Everything a run gave, in the order run.
#[derive(Clone, Debug, Default)]
pub struct SuiteResult {
    /// One per selected item.
    pub results: Vec<ScenarioResult>,
}

impl SuiteResult {
    /// How many passed.
    pub fn passed(&self) -> usize {
        self.results.iter().filter(|r| r.passed()).count()
    }

    /// How many failed.
    pub fn failed(&self) -> usize {
        self.results.len() - self.passed()
    }

    /// How many snapshots `--accept` wrote.
    pub fn accepted(&self) -> usize {
        self.results
            .iter()
            .filter(|r| {
                matches!(
                    r.run,
                    Run::Ran {
                        snapshot: Snapshot::Accepted { .. },
                        ..
                    }
                )
            })
            .count()
    }
}

/// Selects (see [`select`]) and runs scenarios, calling `each` with every
/// result as soon as it is known (for progress lines).
pub fn run_suite(
    files: &[Loaded],
    options: &Options,
    mut each: impl FnMut(&ScenarioResult),
) -> Result<SuiteResult, SuiteError> {
    let selected = select(files, options)?;
    let mut suite = SuiteResult::default();
    for sel in selected {
        let Some(file) = files.get(sel.file) else {
            continue;
        };
        let run = match (&file.parsed, sel.scenario) {
            (Ok(parsed), Some(s)) => match parsed.scenarios.get(s) {
                Some(scenario) => run_one(scenario, &file.path, options),
                None => continue,
            },
            (Err(diagnostics), _) => Run::Unparsed {
                diagnostics: diagnostics.clone(),
            },
            (Ok(_), None) => continue,
        };
        let result = ScenarioResult {
            path: file.path.clone(),
            name: file.name.clone(),
            source: file.source.clone(),
            run,
        };
        each(&result);
        suite.results.push(result);
    }
    Ok(suite)
}

/// Runs one scenario and settles its snapshot (only when every step held:
/// a failed scenario's record is cut short, so comparing it says nothing).
fn run_one(scenario: &Scenario, path: &Path, options: &Options) -> Run {
    let accept = options.accept;
    let outcome = match &options.endpoint {
        Some(endpoint) => runner::run_on(scenario, path, |w| RemoteTarget::open(endpoint, w)),
        None => runner::run(scenario, path),
    };
    let snap = snapshot::path(path, &outcome.scenario)
        .display()
        .to_string();
    let snapshot = if outcome.passed() {
        match snapshot::check(&outcome, path, accept) {
            Ok(Check::Matches) => Snapshot::Matches,
            Ok(Check::Written) => Snapshot::Accepted { path: snap },
            Ok(Check::Missing) => Snapshot::Missing { path: snap },
            Ok(Check::Differs(diff)) => Snapshot::Differs { path: snap, diff },
            Err(e) => Snapshot::Unusable {
                path: snap,
                error: e.to_string(),
            },
        }
    } else {
        Snapshot::NotChecked
    };
    Run::Ran {
        total_steps: scenario.steps.len(),
        outcome: Box::new(outcome),
        snapshot,
    }
}

//! A suite: the runbooks and features under some paths, the scenarios a
//! run selects from them, and what running each one gave (its outcome and
//! its snapshot). A `.feature` is lowered by [`crate::gherkin`] to the same
//! IR a `.runbook` is, and from there on nothing tells them apart.
//!
//! This is the library half of `hsmdrill run` and `hsmdrill check`; the
//! binary only parses arguments and prints what [`super::report`] makes of
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
//! 4. [`run_suite`]: run each selected scenario on its own engine with the
//!    one runner, and compare (or, with `--accept`, write) its snapshot.
//!
//! Problems with the input itself (a path that does not exist, a file that
//! cannot be read, a bad tag expression or partition, a tag no scenario
//! has) are [`SuiteError`]s: the binary prints them on one line each and
//! exits with status 2.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use serde::Serialize;

use super::diagnostic::Diagnostic;
use super::ir::ScenarioFile;
use super::runner::{self, Outcome};
use super::snapshot::{self, Check};
use super::tags::{TagError, TagExpr};
use crate::{dsl, gherkin};

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

/// A runbook or feature file found by [`discover`].
#[derive(Clone, Debug, Eq, Ord, PartialEq, PartialOrd)]
pub struct Found {
    /// The path to open (the folder given joined with the file's place
    /// under it, or the file as given).
    pub path: PathBuf,
    /// How reports name it: relative to the folder given, or the path as
    /// given for a file.
    pub name: String,
}

/// Every `.runbook` and `.feature` under `paths`: folders are walked recursively (sorted,
/// `snapshots/` skipped, symbolic links to folders not followed), a file is
/// taken as it is. The result is sorted by path, without duplicates.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<Found>, SuiteError> {
    let mut found = Vec::new();
    for root in paths {
        let meta = match fs::metadata(root) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(SuiteError::NotFound(root.clone()))
            }
            Err(source) => {
                return Err(SuiteError::Io {
                    path: root.clone(),
                    source,
                })
            }
        };
        if meta.is_dir() {
            walk(root, root, &mut found)?;
        } else if is_runbook(root) {
            found.push(Found {
                path: root.clone(),
                name: root.display().to_string(),
            });
        } else {
            return Err(SuiteError::NotRunbook(root.clone()));
        }
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    found.dedup_by(|a, b| a.path == b.path);
    if found.is_empty() {
        let all = paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        return Err(SuiteError::NoRunbooks(all));
    }
    Ok(found)
}

fn is_runbook(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e == RUNBOOK_EXTENSION || e == gherkin::FEATURE_EXTENSION)
}

/// Whether a file is a Gherkin feature (else a runbook).
pub fn is_feature(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e == gherkin::FEATURE_EXTENSION)
}

fn walk(root: &Path, dir: &Path, found: &mut Vec<Found>) -> Result<(), SuiteError> {
    let io_error = |source| SuiteError::Io {
        path: dir.to_owned(),
        source,
    };
    let mut entries = fs::read_dir(dir)
        .map_err(io_error)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(io_error)?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let kind = entry.file_type().map_err(io_error)?;
        if kind.is_dir() {
            if entry.file_name() != "snapshots" {
                walk(root, &path, found)?;
            }
        } else if is_runbook(&path) && (kind.is_file() || path.is_file()) {
            let name = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .display()
                .to_string();
            found.push(Found { path, name });
        }
    }
    Ok(())
}

/// A runbook or feature file read and parsed.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// Where it is.
    pub path: PathBuf,
    /// How reports name it (see [`Found::name`]).
    pub name: String,
    /// Its text, for the snippets of diagnostics.
    pub source: Arc<str>,
    /// Its scenarios, or every error the parser found.
    pub parsed: Result<ScenarioFile, Vec<Diagnostic>>,
}

impl Loaded {
    /// How many scenarios the file holds (none if it does not parse).
    pub fn scenario_count(&self) -> usize {
        self.parsed.as_ref().map_or(0, |f| f.scenarios.len())
    }

    /// Its parse errors (none if it parses).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        self.parsed.as_ref().err().map_or(&[], Vec::as_slice)
    }
}

/// Reads and parses one runbook (or lowers one feature). Only a file that
/// cannot be read is an error; parse errors are kept in [`Loaded::parsed`].
pub fn load(found: &Found) -> Result<Loaded, SuiteError> {
    let source = fs::read_to_string(&found.path).map_err(|source| SuiteError::Io {
        path: found.path.clone(),
        source,
    })?;
    Ok(Loaded {
        path: found.path.clone(),
        name: found.name.clone(),
        parsed: if is_feature(&found.path) {
            gherkin::lower_str(&source, &found.path)
        } else {
            dsl::parse_str(&source, &found.path)
        },
        source: source.into(),
    })
}

/// Reads and parses every file; on failure, every file that could not be
/// read.
pub fn load_all(found: &[Found]) -> Result<Vec<Loaded>, Vec<SuiteError>> {
    let (ok, errors): (Vec<_>, Vec<_>) = found.iter().map(load).partition(Result::is_ok);
    if errors.is_empty() {
        Ok(ok.into_iter().filter_map(Result::ok).collect())
    } else {
        Err(errors.into_iter().filter_map(Result::err).collect())
    }
}

/// `--partition K/N`: the K-th (1-based) of N slices of the selected
/// scenarios, taking every N-th one (`index % N == K - 1`).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Partition {
    /// K, 1-based.
    pub index: usize,
    /// N.
    pub count: usize,
}

impl Partition {
    /// Whether the `i`-th (0-based) selected scenario is in this slice.
    pub fn holds(&self, i: usize) -> bool {
        i % self.count == self.index - 1
    }
}

impl FromStr for Partition {
    type Err = SuiteError;

    fn from_str(text: &str) -> Result<Self, SuiteError> {
        let error = |problem: &str| SuiteError::Partition {
            text: text.to_owned(),
            problem: problem.to_owned(),
        };
        let (k, n) = text.split_once('/').ok_or_else(|| error("expected K/N"))?;
        let k: usize = k
            .trim()
            .parse()
            .map_err(|_| error("K is not a whole number"))?;
        let n: usize = n
            .trim()
            .parse()
            .map_err(|_| error("N is not a whole number"))?;
        if n == 0 {
            return Err(error("N must be at least 1"));
        }
        if k == 0 || k > n {
            return Err(error("K must be between 1 and N"));
        }
        Ok(Partition { index: k, count: n })
    }
}

/// How to select and run scenarios.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `--tag`: the expression as written, and parsed.
    pub tags: Option<(String, TagExpr)>,
    /// `--partition K/N`.
    pub partition: Option<Partition>,
    /// `--accept`: write new and changed snapshots.
    pub accept: bool,
    /// `--endpoint`: run against this `hsmdrill serve` instead of an
    /// embedded engine.
    pub endpoint: Option<crate::remote::Endpoint>,
}

impl Options {
    /// Options from the command line's texts, checked.
    pub fn new(
        tags: Option<&str>,
        partition: Option<&str>,
        accept: bool,
    ) -> Result<Options, SuiteError> {
        Ok(Options {
            tags: tags
                .map(|t| TagExpr::parse(t).map(|e| (t.to_owned(), e)))
                .transpose()?,
            partition: partition.map(str::parse).transpose()?,
            accept,
            endpoint: None,
        })
    }

    /// The same options, running against a server.
    pub fn with_endpoint(mut self, endpoint: crate::remote::Endpoint) -> Options {
        self.endpoint = Some(endpoint);
        self
    }
}

/// One selected item: a scenario of a file, or a file that does not parse
/// (`scenario: None`), which a run reports as one failure.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Selected {
    /// Index into the loaded files.
    pub file: usize,
    /// Index of the scenario in its file.
    pub scenario: Option<usize>,
}

/// The scenarios to run, in order (file, then position): those the tag
/// expression selects, then the partition's slice of them. A file that does
/// not parse is always selected (its tags are unknown) and takes one place
/// in the order.
///
/// When every file parses, a tag expression that selects no scenario, or
/// that asks for a tag no scenario has (outside a `not`), is an error: it
/// is almost always a typo, and a run of nothing would pass.
pub fn select(files: &[Loaded], options: &Options) -> Result<Vec<Selected>, SuiteError> {
    let mut all = Vec::new();
    for (f, file) in files.iter().enumerate() {
        match &file.parsed {
            Ok(parsed) => {
                for (s, scenario) in parsed.scenarios.iter().enumerate() {
                    let keep = options
                        .tags
                        .as_ref()
                        .is_none_or(|(_, e)| e.matches(&scenario.tags));
                    if keep {
                        all.push(Selected {
                            file: f,
                            scenario: Some(s),
                        });
                    }
                }
            }
            Err(_) => all.push(Selected {
                file: f,
                scenario: None,
            }),
        }
    }
    if let Some((text, expr)) = &options.tags {
        let all_parse = files.iter().all(|f| f.parsed.is_ok());
        let has = |tag: &str| {
            files.iter().any(|f| {
                f.parsed
                    .as_ref()
                    .is_ok_and(|p| p.scenarios.iter().any(|s| s.tags.iter().any(|t| t == tag)))
            })
        };
        let unknown: Vec<String> = expr
            .wanted_tags()
            .into_iter()
            .filter(|t| !has(t))
            .map(str::to_owned)
            .collect();
        if all_parse && (all.is_empty() || !unknown.is_empty()) {
            return Err(SuiteError::NoMatch {
                expression: text.clone(),
                unknown,
            });
        }
    }
    if let Some(p) = options.partition {
        all = all
            .into_iter()
            .enumerate()
            .filter(|(i, _)| p.holds(*i))
            .map(|(_, s)| s)
            .collect();
    }
    Ok(all)
}

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
fn run_one(scenario: &super::ir::Scenario, path: &Path, options: &Options) -> Run {
    let accept = options.accept;
    let outcome = match &options.endpoint {
        Some(endpoint) => crate::remote::run(scenario, path, endpoint),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_take_every_nth() {
        let p: Partition = "2/3".parse().unwrap();
        let picked: Vec<usize> = (0..8).filter(|i| p.holds(*i)).collect();
        assert_eq!(picked, vec![1, 4, 7]);
        for bad in ["3/2", "0/2", "1/0", "a/2", "2", "1/b", ""] {
            let e = bad.parse::<Partition>().unwrap_err();
            assert!(e.to_string().starts_with("bad --partition"), "{bad}: {e}");
        }
    }

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

    #[test]
    fn discovery_reports_missing_paths() {
        let e = discover(&[PathBuf::from("surely/not/here")]).unwrap_err();
        assert_eq!(e.to_string(), "surely/not/here: no such file or directory");
    }
}

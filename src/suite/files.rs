//! Finding the runbooks and features under some paths, and reading and
//! parsing (or lowering) each one.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{SuiteError, RUNBOOK_EXTENSION};
use crate::scenario::diagnostic::Diagnostic;
use crate::scenario::ir::ScenarioFile;
use crate::{dsl, gherkin};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_reports_missing_paths() {
        let e = discover(&[PathBuf::from("surely/not/here")]).unwrap_err();
        assert_eq!(e.to_string(), "surely/not/here: no such file or directory");
    }
}

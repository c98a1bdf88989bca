//! From a `.feature` to the step IR, through the runbook front end.
//!
//! Each scenario becomes one generated runbook: a `runbook` line, then, for
//! each step (Background steps first), the statements its phrase stands for
//! ([`super::translate`]). [`crate::dsl::parse_str`] parses, checks and
//! lowers that runbook with the feature's path (so `the world "…"` resolves
//! beside the feature), and every span it produced, in the IR and in its
//! diagnostics, is mapped back from the generated line to the Gherkin step
//! ([`super::remap`]). A step that matches no phrase is reported at its line
//! and nothing is parsed for its scenario.

use std::path::Path;
use std::sync::Arc;

use super::catalog::{translate, TranslateError};
use super::feature::{plan, Lines, Planned};
use super::remap::{Map, Origin};
use crate::dsl;
use crate::scenario::diagnostic::Diagnostic;
use crate::scenario::ir::{Scenario, ScenarioFile, Span};

/// Reads and lowers a feature file. A file that cannot be read gives one
/// diagnostic at its line 1, column 1.
pub fn lower_file(path: &Path) -> Result<ScenarioFile, Vec<Diagnostic>> {
    match std::fs::read_to_string(path) {
        Ok(source) => lower_str(&source, path),
        Err(e) => Err(vec![Diagnostic::new(
            Span {
                file: Arc::from(path.display().to_string()),
                line: 1,
                column: 1,
                offset: 0,
                len: 0,
            },
            format!("cannot read the feature: {e}"),
        )]),
    }
}

/// Lowers the text of a feature file; `path` names it in spans and is where
/// world paths are resolved from. Returns every mistake of every scenario.
pub fn lower_str(source: &str, path: &Path) -> Result<ScenarioFile, Vec<Diagnostic>> {
    let lines = Lines::new(source, path);
    let planned = plan(&lines)?;
    let mut errors = duplicate_names(&planned);
    let mut scenarios = Vec::new();
    for p in &planned {
        match lower_planned(p, &lines, path, Undefined::Error) {
            Ok(s) => scenarios.push(s),
            Err(d) => errors.extend(d),
        }
    }
    if errors.is_empty() {
        Ok(ScenarioFile {
            path: path.to_path_buf(),
            scenarios,
        })
    } else {
        Err(errors)
    }
}

/// Lowers the scenario cucumber knows by `key` (its `(line, column)`), for
/// the cucumber hooks: `None` if the feature has no such scenario. A step
/// that matches no phrase is left out, for cucumber to report as undefined
/// when it gets there (the steps before it run).
pub(crate) fn lower_scenario(
    source: &str,
    path: &Path,
    key: (usize, usize),
) -> Option<Result<Scenario, Vec<Diagnostic>>> {
    let lines = Lines::new(source, path);
    let planned = match plan(&lines) {
        Ok(p) => p,
        Err(d) => return Some(Err(d)),
    };
    let p = planned.iter().find(|p| p.key == key)?;
    Some(lower_planned(p, &lines, path, Undefined::Skip))
}

/// What to do with a step that matches no phrase.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum Undefined {
    /// Report it (`hsmdrill check`, `hsmdrill run`).
    Error,
    /// Leave it out (cucumber reports it).
    Skip,
}

/// Two scenarios of a file with one name would share a snapshot.
fn duplicate_names(planned: &[Planned]) -> Vec<Diagnostic> {
    let mut errors = Vec::new();
    for (i, p) in planned.iter().enumerate() {
        if let Some(first) = planned[..i].iter().find(|q| q.name == p.name) {
            errors.push(
                Diagnostic::new(
                    p.span.clone(),
                    format!("another scenario of this feature is named `{}`", p.name),
                )
                .with_note(format!(
                    "note: the first is at line {}; scenarios are snapshotted by name, so names must differ",
                    first.span.line
                )),
            );
        }
    }
    errors
}

fn lower_planned(
    p: &Planned,
    lines: &Lines<'_>,
    path: &Path,
    undefined: Undefined,
) -> Result<Scenario, Vec<Diagnostic>> {
    let mut text = String::from("runbook \"scenario\"\n");
    let mut origins = vec![Origin::Header];
    let mut statements = Vec::with_capacity(p.steps.len());
    let mut errors = Vec::new();
    let mut store = None;
    for (i, step) in p.steps.iter().enumerate() {
        match translate(
            &step.value,
            step.table.as_deref(),
            step.docstring.as_deref(),
            &mut store,
        ) {
            Ok(written) => {
                let doc: Vec<&str> = step
                    .docstring
                    .as_deref()
                    .map_or(Vec::new(), |d| d.split('\n').collect());
                let mut cursor = 0;
                for line in written.iter().flat_map(|s| s.split('\n')) {
                    text.push_str(line);
                    text.push('\n');
                    // A line copied from the doc string maps to its own
                    // line in the file; any other to the step.
                    let copied = (!line.trim().is_empty())
                        .then(|| (cursor..doc.len()).find(|j| doc[*j].trim() == line.trim()))
                        .flatten();
                    origins.push(
                        match copied.and_then(|j| step.doc_lines.get(j).map(|l| (j, *l))) {
                            Some((j, file_line)) => {
                                cursor = j + 1;
                                Origin::Doc {
                                    step: i,
                                    line: file_line,
                                }
                            }
                            None => Origin::Step(i),
                        },
                    );
                }
                statements.push(written);
            }
            Err(TranslateError::Undefined { .. }) if undefined == Undefined::Skip => {
                statements.push(Vec::new());
            }
            Err(TranslateError::Undefined { help }) => {
                let mut d = Diagnostic::new(
                    step.span.clone(),
                    format!("no step matches \"{}\"", step.value.trim()),
                )
                .with_label("undefined step");
                if let Some(h) = help {
                    d = d.with_note(format!("help: {h}"));
                }
                errors.push(d.with_note("note: `hsmdrill steps` lists every phrase"));
                statements.push(Vec::new());
            }
            Err(TranslateError::Invalid { message }) => {
                errors.push(Diagnostic::new(step.span.clone(), message));
                statements.push(Vec::new());
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let map = Map {
        lines,
        generated: &text,
        origins: &origins,
        planned: p,
        statements: &statements,
    };
    match dsl::parse_str(&text, path) {
        Ok(file) => {
            let Some(mut scenario) = file.scenarios.into_iter().next() else {
                return Err(vec![Diagnostic::new(
                    p.span.clone(),
                    "internal error: the generated runbook holds no scenario",
                )]);
            };
            map.steps(&mut scenario.steps);
            scenario.name = p.name.clone();
            scenario.tags = p.tags.clone();
            scenario.span = p.span.clone();
            Ok(scenario)
        }
        Err(diags) => Err(diags.into_iter().map(|d| map.diagnostic(d)).collect()),
    }
}

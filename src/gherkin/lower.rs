//! From a `.feature` to the step IR, through the runbook's syntax tree.
//!
//! Each scenario becomes one runbook tree: for each step (Background steps
//! first), the statements its phrase builds ([`super::translate`]), with
//! spans at the words of the feature. The runbook front end's checks and
//! lowering then take the tree as they take a parsed `.runbook`, with the
//! feature as the source (so `the world "…"` resolves beside the feature,
//! and a diagnostic points at the offending word of the step). A step that
//! matches no phrase is reported at its line and nothing is checked for
//! its scenario.

use std::path::Path;
use std::sync::Arc;

use super::args::{Arg, Doc, Table};
use super::feature::{plan, Lines, Planned, PlannedStep};
use super::translate::{translate_at, At, Cx, Failure};
use crate::dsl::ast::Runbook;
use crate::dsl::source::{self, Source};
use crate::dsl::{check, lower};
use crate::scenario::diagnostic::Diagnostic;
use crate::scenario::ir::{Scenario, ScenarioFile};

/// Reads and lowers a feature file. A file that cannot be read gives one
/// diagnostic at its line 1, column 1.
pub fn lower_file(path: &Path) -> Result<ScenarioFile, Vec<Diagnostic>> {
    lower_str(&source::read(path, "feature")?, path)
}

/// Lowers the text of a feature file; `path` names it in spans and is where
/// world paths are resolved from. Returns every mistake of every scenario.
pub fn lower_str(source: &str, path: &Path) -> Result<ScenarioFile, Vec<Diagnostic>> {
    let lines = Lines::new(source, path);
    let src = Source::new(source, Arc::from(path.display().to_string()));
    let planned = plan(&lines)?;
    let mut errors = duplicate_names(&planned);
    let mut scenarios = Vec::new();
    for p in &planned {
        match lower_planned(p, &src, path, Undefined::Error) {
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
    let src = Source::new(source, Arc::from(path.display().to_string()));
    let planned = match plan(&lines) {
        Ok(p) => p,
        Err(d) => return Some(Err(d)),
    };
    let p = planned.iter().find(|p| p.key == key)?;
    Some(lower_planned(p, &src, path, Undefined::Skip))
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
    src: &Source<'_>,
    path: &Path,
    undefined: Undefined,
) -> Result<Scenario, Vec<Diagnostic>> {
    let mut items = Vec::new();
    let mut errors = Vec::new();
    let mut store = None;
    // The lines of each translated step, and the statements it stands for.
    let mut stands_for: Vec<(&PlannedStep, &'static str)> = Vec::new();
    for step in &p.steps {
        let table = step.table.as_ref().map(|rows| table(src, step, rows));
        let doc = step.docstring.as_deref().map(|text| doc(src, step, text));
        let text = step.text();
        let cx = Cx {
            src,
            step: &step.span,
            text: &text,
        };
        let at = At {
            text: step.value.trim(),
            at: step.value_at,
            whole: step.span.clone(),
            table: table.as_ref(),
            doc: doc.as_ref(),
        };
        match translate_at(&cx, &at, &mut store) {
            Ok((phrase, its)) => {
                stands_for.push((step, phrase.help));
                items.extend(its);
            }
            Err(Failure::Undefined(_)) if undefined == Undefined::Skip => {}
            Err(Failure::Undefined(d) | Failure::Invalid(d)) => errors.push(d),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let runbook = Runbook {
        title: p.name.clone(),
        tags: p.tags.clone(),
        span: p.span.clone(),
        items,
    };
    let dir = path.parent().unwrap_or(Path::new(""));
    let errors = check::check(std::slice::from_ref(&runbook), src, dir);
    if !errors.is_empty() {
        return Err(errors
            .into_iter()
            .map(|d| with_phrase(d, &stands_for))
            .collect());
    }
    lower::lower(vec![runbook], path)
        .scenarios
        .into_iter()
        .next()
        .ok_or_else(|| {
            vec![Diagnostic::new(
                p.span.clone(),
                "internal error: the scenario lowered to nothing",
            )]
        })
}

/// A note saying which statements the step of the diagnostic stands for.
fn with_phrase(d: Diagnostic, stands_for: &[(&PlannedStep, &'static str)]) -> Diagnostic {
    let line = d.span.line;
    let step = stands_for.iter().find(|(s, _)| {
        s.span.line == line || s.table_lines.contains(&line) || s.doc_lines.contains(&line)
    });
    match step {
        Some((s, help)) => d.with_note(format!("note: `{}` stands for `{help}`", s.text())),
        None => d,
    }
}

/// A step's table, each cell where it is written.
fn table(src: &Source<'_>, step: &PlannedStep, rows: &[Vec<String>]) -> Table {
    Table {
        rows: rows
            .iter()
            .enumerate()
            .map(|(r, row)| {
                row.iter()
                    .enumerate()
                    .map(|(c, cell)| {
                        let span = step
                            .cells
                            .get(r)
                            .and_then(|cells| cells.get(c))
                            .cloned()
                            .unwrap_or_else(|| step.span.clone());
                        Arg::at(src, cell.clone(), span)
                    })
                    .collect()
            })
            .collect(),
    }
}

/// A step's doc string, and whether the file holds each of its lines
/// verbatim after the delimiter's indentation.
fn doc<'a>(src: &Source<'_>, step: &'a PlannedStep, text: &'a str) -> Doc<'a> {
    let file_line = |n: usize| src.line_text(src.line_start(n));
    let doc_lines: Vec<&str> = text.lines().collect();
    let indent = doc_lines
        .iter()
        .zip(&step.doc_lines)
        .find(|(d, _)| !d.trim().is_empty())
        .map_or(0, |(d, n)| file_line(*n).len().saturating_sub(d.len()));
    let verbatim = doc_lines.len() == step.doc_lines.len()
        && doc_lines.iter().zip(&step.doc_lines).all(|(d, n)| {
            let l = file_line(*n);
            l.strip_suffix(d)
                .is_some_and(|before| before.trim().is_empty())
        });
    let in_place = match (verbatim, step.doc_lines.first(), step.doc_lines.last()) {
        (true, Some(first), Some(last)) => {
            let start = src.line_start(*first);
            let end = src.line_start(*last) + file_line(*last).len();
            Some((start, end))
        }
        _ => None,
    };
    Doc {
        text,
        lines: &step.doc_lines,
        in_place,
        indent,
    }
}

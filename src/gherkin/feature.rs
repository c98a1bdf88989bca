//! Reading a `.feature` file into the scenarios to lower: parsed with the
//! `gherkin` crate cucumber uses (`cucumber::gherkin`), Background steps
//! put before each scenario's (the feature's, then the rule's), Scenario
//! Outlines expanded into one scenario per Examples row, and every step
//! located in the file (line, column, byte offset) for the spans.
//!
//! Each scenario carries the key cucumber knows it by (the position
//! cucumber gives an expanded outline row: the Examples line plus the row's
//! index plus 2), so the cucumber hooks find the same scenario this module
//! lowers.

use std::path::Path;
use std::sync::{Arc, LazyLock};

use cucumber::gherkin::{self as g, GherkinEnv};
use regex::Regex;

use crate::scenario::diagnostic::Diagnostic;
use crate::scenario::ir::Span;

/// A scenario to lower, with its steps in the order they run.
#[derive(Clone, Debug)]
pub(crate) struct Planned {
    /// Cucumber's position of the scenario: `(line, column)`.
    pub key: (usize, usize),
    /// Its name (an outline row's name says which row).
    pub name: String,
    /// Feature, rule, scenario and examples tags, without `@`.
    pub tags: Vec<String>,
    /// The scenario line, or the Examples row.
    pub span: Span,
    /// Background steps, then the scenario's.
    pub steps: Vec<PlannedStep>,
}

/// A step to translate.
#[derive(Clone, Debug)]
pub(crate) struct PlannedStep {
    /// `Given`, `When`, `Then`, `And`, `But`, `*`.
    pub keyword: String,
    /// The text after the keyword (an outline's `<name>`s filled in).
    pub value: String,
    /// Its data table.
    pub table: Option<Vec<Vec<String>>>,
    /// The line in the file of each table row.
    pub table_lines: Vec<usize>,
    /// Where each cell of each row is written (its text, trimmed).
    pub cells: Vec<Vec<Span>>,
    /// Its doc string: the lines between the delimiters, indentation removed.
    pub docstring: Option<String>,
    /// The line in the file of each doc string line.
    pub doc_lines: Vec<usize>,
    /// The step's line, from its keyword to the end.
    pub span: Span,
    /// The offset in the file of `value` (trimmed), when the line holds it
    /// verbatim.
    pub value_at: Option<usize>,
}

impl PlannedStep {
    /// The step as reports show it: keyword and text.
    pub fn text(&self) -> String {
        format!("{} {}", self.keyword.trim(), self.value.trim())
    }
}

/// The lines of a source file, to make spans.
pub(crate) struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
    file: Arc<str>,
}

impl<'a> Lines<'a> {
    pub fn new(text: &'a str, path: &Path) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines {
            text,
            starts,
            file: Arc::from(path.display().to_string()),
        }
    }

    /// The 1-based line `n`, without its line break (empty past the end).
    pub fn get(&self, n: usize) -> &'a str {
        let Some(start) = n.checked_sub(1).and_then(|i| self.starts.get(i)) else {
            return "";
        };
        let end = self.starts.get(n).copied().unwrap_or(self.text.len());
        self.text
            .get(*start..end)
            .unwrap_or("")
            .trim_end_matches(['\n', '\r'])
    }

    /// How many lines there are.
    pub fn count(&self) -> usize {
        self.starts.len()
    }

    /// The span of line `n` from its first non-blank character to its end.
    pub fn span(&self, n: usize) -> Span {
        let line = self.get(n);
        let indent = line.len() - line.trim_start().len();
        self.at(n, indent, line.trim().len())
    }

    /// The span of `len` bytes from byte `at` of line `n`.
    pub fn at(&self, n: usize, at: usize, len: usize) -> Span {
        let line = self.get(n);
        let start = n
            .checked_sub(1)
            .and_then(|i| self.starts.get(i))
            .copied()
            .unwrap_or(0);
        Span {
            file: self.file.clone(),
            line: n.max(1),
            column: line.get(..at).map_or(0, |s| s.chars().count()) + 1,
            offset: start + at,
            len,
        }
    }
}

/// Parses a feature and lists its scenarios, outlines expanded.
pub(crate) fn plan(lines: &Lines<'_>) -> Result<Vec<Planned>, Vec<Diagnostic>> {
    let feature = g::Feature::parse(lines.text, GherkinEnv::default())
        .map_err(|e| vec![parse_error(lines, &e.to_string())])?;
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let background = |b: &Option<g::Background>| -> Vec<g::Step> {
        b.as_ref().map(|b| b.steps.clone()).unwrap_or_default()
    };
    let mut groups: Vec<(Option<&g::Rule>, &g::Scenario)> =
        feature.scenarios.iter().map(|s| (None, s)).collect();
    for rule in &feature.rules {
        groups.extend(rule.scenarios.iter().map(|s| (Some(rule), s)));
    }
    // Cucumber runs the feature's scenarios, then each rule's.
    for (rule, scenario) in groups {
        let mut before = background(&feature.background);
        before.extend(rule.map(|r| background(&r.background)).unwrap_or_default());
        let mut tags = feature.tags.clone();
        tags.extend(rule.map(|r| r.tags.clone()).unwrap_or_default());
        tags.extend(scenario.tags.iter().cloned());
        let located =
            |steps: &[g::Step], row: Option<&Row<'_>>| -> Result<Vec<PlannedStep>, Diagnostic> {
                steps.iter().map(|s| locate(lines, s, row)).collect()
            };
        if scenario.examples.is_empty() {
            let steps = located(&before, None).and_then(|mut b| {
                b.extend(located(&scenario.steps, None)?);
                Ok(b)
            });
            match steps {
                Ok(steps) => out.push(Planned {
                    key: (scenario.position.line, scenario.position.col),
                    name: scenario.name.trim().to_owned(),
                    tags: dedup(tags),
                    span: lines.span(scenario.position.line),
                    steps,
                }),
                Err(d) => errors.push(d),
            }
            continue;
        }
        for examples in &scenario.examples {
            let Some((header, rows)) = examples.table.as_ref().and_then(|t| t.rows.split_first())
            else {
                continue;
            };
            for (id, values) in rows.iter().enumerate() {
                let row = Row { header, values };
                let row_line = table_row_line(lines, examples.position.line, id + 1);
                let named = if TEMPLATE.is_match(&scenario.name) {
                    row.fill(&scenario.name)
                } else {
                    Ok(format!(
                        "{} ({})",
                        scenario.name.trim(),
                        values.first().map_or("", String::as_str)
                    ))
                };
                let steps = located(&before, None).and_then(|mut b| {
                    b.extend(located(&scenario.steps, Some(&row))?);
                    Ok(b)
                });
                let mut row_tags = tags.clone();
                row_tags.extend(examples.tags.iter().cloned());
                match (named, steps) {
                    (Ok(name), Ok(steps)) => out.push(Planned {
                        key: (examples.position.line + id + 2, examples.position.col),
                        name: name.trim().to_owned(),
                        tags: dedup(row_tags),
                        span: lines.span(row_line),
                        steps,
                    }),
                    (Err(name), _) => errors.push(Diagnostic::new(
                        lines.span(scenario.position.line),
                        format!("the Examples have no column `<{name}>`"),
                    )),
                    (_, Err(d)) => errors.push(d),
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// An Examples row: its header and its values.
struct Row<'a> {
    header: &'a [String],
    values: &'a [String],
}

/// `<name>` in an outline, as cucumber matches it.
static TEMPLATE: LazyLock<Regex> = LazyLock::new(template);

#[expect(
    clippy::expect_used,
    reason = "a constant regex, compiled by every test"
)]
fn template() -> Regex {
    Regex::new(r"<([^>\s](?:[^>\s]?|[^>\t\n\r\v\f]*[^>\s]))>").expect("a valid regex")
}

impl Row<'_> {
    /// The text with every `<name>` replaced by the row's value; `Err` names
    /// a `<name>` the row has no column for.
    fn fill(&self, text: &str) -> Result<String, String> {
        let mut missing = None;
        let filled = TEMPLATE.replace_all(text, |c: &regex::Captures<'_>| {
            let name = c.get(1).map_or("", |m| m.as_str());
            match self.header.iter().position(|h| h == name) {
                Some(i) => self.values.get(i).cloned().unwrap_or_default(),
                None => {
                    missing = Some(name.to_owned());
                    String::new()
                }
            }
        });
        match missing {
            Some(name) => Err(name),
            None => Ok(filled.into_owned()),
        }
    }
}

/// A step with its place in the file, an outline row's values filled in.
fn locate(
    lines: &Lines<'_>,
    step: &g::Step,
    row: Option<&Row<'_>>,
) -> Result<PlannedStep, Diagnostic> {
    let span = lines.span(step.position.line);
    let fill = |text: &str| -> Result<String, Diagnostic> {
        match row {
            None => Ok(text.to_owned()),
            Some(r) => r.fill(text).map_err(|name| {
                Diagnostic::new(
                    span.clone(),
                    format!("the Examples have no column `<{name}>`"),
                )
            }),
        }
    };
    let value = fill(&step.value)?;
    let table = step
        .table
        .as_ref()
        .map(|t| {
            t.rows
                .iter()
                .map(|r| r.iter().map(|c| fill(c)).collect::<Result<Vec<_>, _>>())
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let table_lines = step.table.as_ref().map_or(Vec::new(), |t| {
        (0..t.rows.len())
            .map(|i| table_row_line(lines, t.position.line, i))
            .collect()
    });
    let cells = table_lines.iter().map(|n| cell_spans(lines, *n)).collect();
    let value_at = {
        let line = lines.get(step.position.line);
        let indent = line.len() - line.trim_start().len();
        let from = indent + step.keyword.trim_end().len();
        line.get(from..)
            .and_then(|rest| rest.find(value.trim()))
            .map(|j| span.offset - indent + from + j)
    };
    let (docstring, doc_lines) = match &step.docstring {
        None => (None, Vec::new()),
        Some(raw) => {
            let body = doc_body(raw);
            let first = doc_first_line(lines, step.position.line);
            let doc_lines = (0..body.lines().count()).map(|i| first + i).collect();
            (Some(fill(&body)?), doc_lines)
        }
    };
    Ok(PlannedStep {
        keyword: step.keyword.clone(),
        value,
        table,
        table_lines,
        cells,
        docstring,
        doc_lines,
        span,
        value_at,
    })
}

/// The lines of a doc string as the gherkin crate gives it (everything
/// after the opening delimiter, dedented), without the rest of the opening
/// line and the blank before the closing delimiter.
fn doc_body(raw: &str) -> String {
    let mut lines: Vec<&str> = raw.split('\n').collect();
    if !lines.is_empty() {
        lines.remove(0);
    }
    if lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    lines.join("\n")
}

/// The file line of a step's first doc string line: the one after the
/// opening delimiter.
fn doc_first_line(lines: &Lines<'_>, step_line: usize) -> usize {
    (step_line + 1..=lines.count())
        .find(|n| {
            let t = lines.get(*n).trim_start();
            t.starts_with("\"\"\"") || t.starts_with("```")
        })
        .map_or(step_line, |n| n + 1)
}

/// The file line of row `index` (0 = header) of the table under line
/// `from`, skipping blank lines and comments.
fn table_row_line(lines: &Lines<'_>, from: usize, index: usize) -> usize {
    (from..=lines.count())
        .filter(|n| lines.get(*n).trim_start().starts_with('|'))
        .nth(index)
        .unwrap_or(from)
}

/// The span of each cell of the table row on line `n`: its text between
/// unescaped `|`s, trimmed.
fn cell_spans(lines: &Lines<'_>, n: usize) -> Vec<Span> {
    let line = lines.get(n);
    let mut spans = Vec::new();
    let mut start = None;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '|' => {
                if let Some(s) = start {
                    let cell = line.get(s..i).unwrap_or("");
                    let lead = cell.len() - cell.trim_start().len();
                    spans.push(lines.at(n, s + lead, cell.trim().len()));
                }
                start = Some(i + 1);
            }
            _ => {}
        }
    }
    spans
}

/// A gherkin parse error (`Error at L:C: {…}`) at its place.
fn parse_error(lines: &Lines<'_>, text: &str) -> Diagnostic {
    let place = text
        .strip_prefix("Error at ")
        .and_then(|rest| rest.split_once(": "));
    let (line, col, expected) = match place {
        Some((at, expected)) => {
            let mut parts = at.split(':').map(|p| p.parse::<usize>().unwrap_or(1));
            (
                parts.next().unwrap_or(1),
                parts.next().unwrap_or(1),
                expected.to_owned(),
            )
        }
        None => (1, 1, text.to_owned()),
    };
    let line = line.clamp(1, lines.count());
    let at = lines
        .get(line)
        .char_indices()
        .nth(col.saturating_sub(1))
        .map_or(0, |(i, _)| i);
    Diagnostic::new(lines.at(line, at, 0), "this is not a valid Gherkin feature").with_note(
        format!("note: the gherkin parser expected one of {expected}"),
    )
}

fn dedup(tags: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in tags {
        if !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

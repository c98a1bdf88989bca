//! Spans from the generated runbook back to the feature file.
//!
//! Every line of a scenario's generated runbook has an [`Origin`]: the
//! `runbook` line stands for the scenario, a line copied from a doc string
//! for that line of the file, any other line for the Gherkin step it was
//! written for. An IR step gets its Gherkin step's span and text (keyword
//! included), inside blocks too. A diagnostic keeps its message and points
//! at the same text in the feature when the text is there (an unknown key
//! store name, a member of a table row), else at the whole step; a note says
//! which runbook statement the step stood for.

use super::feature::{Lines, Planned};
use crate::scenario::diagnostic::Diagnostic;
use crate::scenario::ir::{Control, Span, Step, StepKind};

/// Where a generated line came from.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) enum Origin {
    /// The `runbook` line: the scenario.
    Header,
    /// Written for the `i`-th step.
    Step(usize),
    /// Copied from a line of the step's doc string.
    Doc {
        /// The step.
        step: usize,
        /// The doc string line's line in the file.
        line: usize,
    },
}

/// What maps a generated runbook back to its feature.
pub(crate) struct Map<'a> {
    pub lines: &'a Lines<'a>,
    pub generated: &'a str,
    /// One per generated line.
    pub origins: &'a [Origin],
    pub planned: &'a Planned,
    /// The statements written for each step.
    pub statements: &'a [Vec<String>],
}

impl Map<'_> {
    fn origin(&self, line: usize) -> Origin {
        line.checked_sub(1)
            .and_then(|i| self.origins.get(i))
            .copied()
            .unwrap_or(Origin::Header)
    }

    /// Gives every step (and every step of a block) its Gherkin step's span
    /// and text.
    pub fn steps(&self, steps: &mut [Step]) {
        for step in steps {
            match self.origin(step.span.line) {
                Origin::Step(i) | Origin::Doc { step: i, .. } => {
                    if let Some(g) = self.planned.steps.get(i) {
                        step.span = g.span.clone();
                        step.text = g.text();
                    }
                }
                Origin::Header => {
                    step.span = self.planned.span.clone();
                }
            }
            if let StepKind::Control(c) = &mut step.kind {
                let body = match c {
                    Control::Repeat { body, .. }
                    | Control::Retry { body, .. }
                    | Control::Burst { body, .. } => body,
                };
                self.steps(body);
            }
        }
    }

    /// The diagnostic, at the place in the feature it is about.
    pub fn diagnostic(&self, mut d: Diagnostic) -> Diagnostic {
        let offending = self.offending(&d.span);
        let (span, step) = match self.origin(d.span.line) {
            Origin::Header => (self.planned.span.clone(), None),
            Origin::Step(i) => {
                let step = self.planned.steps.get(i);
                let whole = step.map_or_else(|| self.planned.span.clone(), |s| s.span.clone());
                // The text may be in the step's line or in a table row.
                let rows = step.map_or(&[][..], |s| s.table_lines.as_slice());
                let found = self.find(&whole, offending).or_else(|| {
                    rows.iter()
                        .find_map(|l| self.find(&self.lines.span(*l), offending))
                });
                (found.unwrap_or(whole), Some(i))
            }
            Origin::Doc { step, line } => {
                let whole = self.lines.span(line);
                (self.find(&whole, offending).unwrap_or(whole), Some(step))
            }
        };
        d.span = span;
        if let (Some(i), Some(g)) = (step, step.and_then(|i| self.planned.steps.get(i))) {
            let written: Vec<&str> = self
                .statements
                .get(i)
                .into_iter()
                .flatten()
                .filter_map(|s| s.lines().next())
                .collect();
            if !written.is_empty() {
                d = d.with_note(format!(
                    "note: `{}` stands for `{}`",
                    g.text(),
                    written.join("; ")
                ));
            }
        }
        d
    }

    /// The generated text a span covers, on its first line.
    fn offending(&self, span: &Span) -> &str {
        let end = span
            .offset
            .saturating_add(span.len)
            .min(self.generated.len());
        self.generated
            .get(span.offset..end)
            .and_then(|t| t.split('\n').next())
            .map_or("", str::trim)
    }

    /// The first occurrence of `text` in the line of `within`, from its
    /// column on.
    fn find(&self, within: &Span, text: &str) -> Option<Span> {
        if text.is_empty() {
            return None;
        }
        let line = self.lines.get(within.line);
        let from = line
            .char_indices()
            .nth(within.column.saturating_sub(1))
            .map_or(line.len(), |(i, _)| i);
        let at = line.get(from..)?.find(text)? + from;
        Some(self.lines.at(within.line, at, text.len()))
    }
}

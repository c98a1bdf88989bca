//! What running a scenario produced ([`Outcome`]): the steps that ran
//! (each with what kind of step it was, the virtual clock before and after
//! it, and a [`Sample`] of the world after it), the failure if any, and
//! every DescribeCustomKeyStores response seen;
//! and a failed step rendered in the one diagnostic layout
//! ([`Failure::render`]), which the suite's reports and the cucumber steps
//! of features both show.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::diagnostic::Diagnostic;
use super::ir::{Action, Control, Span, StepKind};
use super::sample::Sample;
use super::snapshot;

/// What running one scenario produced.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    /// The scenario's file.
    pub file: String,
    /// Its title.
    pub scenario: String,
    /// Its tags.
    pub tags: Vec<String>,
    /// Where it starts.
    pub span: Span,
    /// Each top-level step that ran, in order.
    pub steps: Vec<StepRecord>,
    /// Why it failed, if it did.
    pub failure: Option<Failure>,
    /// Every DescribeCustomKeyStores response seen, with its step.
    pub describes: Vec<Recorded>,
}

impl Outcome {
    /// Whether every step held.
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

/// One step that ran.
#[derive(Clone, Debug, Serialize)]
pub struct StepRecord {
    /// Where it is.
    pub span: Span,
    /// Its text.
    pub text: String,
    /// Whether it held.
    pub passed: bool,
    /// What kind of step it was, for the timeline's markers.
    pub mark: Mark,
    /// The virtual clock when it started, in milliseconds since the Unix
    /// epoch (`None`: the target cannot say).
    pub start: Option<i64>,
    /// The virtual clock when it ended.
    pub end: Option<i64>,
    /// How many DescribeCustomKeyStores responses had been recorded (in
    /// [`Outcome::describes`]) when it ended: those past the previous
    /// step's count were caused by this step.
    pub describes: usize,
    /// The world after it (`None`: the target cannot say, or the world
    /// never loaded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<Sample>,
}

/// What kind of step a [`StepRecord`] is, as the timeline marks it.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Mark {
    /// The world's setup.
    Setup,
    /// A KMS or CloudHSM v2 operation.
    Call {
        /// Its AWS name.
        operation: String,
    },
    /// A CloudHSM CLI line.
    Cli,
    /// An injected fault.
    Fault,
    /// `wait` or `settle`.
    Clock,
    /// An expectation.
    Expect,
    /// A capture.
    Capture,
    /// A burst, with its tally (filled in once it has run).
    Burst {
        /// Copies whose every step held.
        succeeded: u32,
        /// Copies that failed, by exception.
        failed: BTreeMap<String, u32>,
    },
    /// `repeat`, `retry` or `in region`.
    Control,
}

impl Mark {
    /// The mark of a step of this kind (a burst's tally still empty).
    pub fn of(kind: &StepKind) -> Mark {
        match kind {
            StepKind::Setup(_) => Mark::Setup,
            StepKind::Action(Action::Call { operation, .. }) => Mark::Call {
                operation: operation.clone(),
            },
            StepKind::Action(Action::Cli { .. }) => Mark::Cli,
            StepKind::Action(Action::Fault(_)) => Mark::Fault,
            StepKind::Action(Action::Wait(_) | Action::Settle) => Mark::Clock,
            StepKind::Expect(_) => Mark::Expect,
            StepKind::Capture(_) => Mark::Capture,
            StepKind::Control(Control::Burst { .. }) => Mark::Burst {
                succeeded: 0,
                failed: BTreeMap::new(),
            },
            StepKind::Control(
                Control::Repeat { .. } | Control::Retry { .. } | Control::InRegion { .. },
            ) => Mark::Control,
        }
    }
}

/// A failed step: where, what was expected, what happened.
#[derive(Clone, Debug, Serialize)]
pub struct Failure {
    /// The step.
    pub span: Span,
    /// Its text.
    pub step: String,
    /// What the step expected.
    pub expected: String,
    /// What happened.
    pub actual: String,
    /// The DescribeCustomKeyStores entry of the store involved, as it stood
    /// when the step failed.
    pub store: Option<Value>,
}

/// A DescribeCustomKeyStores response and the step that caused it.
#[derive(Clone, Debug, Serialize)]
pub struct Recorded {
    /// The step's line in its file.
    pub line: usize,
    /// The step's text.
    pub step: String,
    /// The step as the IR says it, whichever front end wrote it: what the
    /// snapshot shows, so a `.runbook` and a `.feature` that do the same
    /// thing snapshot the same bytes.
    pub canonical: String,
    /// The response, or the error.
    pub response: Result<Value, (String, String)>,
}

impl Failure {
    /// This failure in the diagnostic layout: `error: this step did not
    /// hold`, its `file:line:col`, its line underlined (given the file's
    /// text), `expected:`, `actual:` and the DescribeCustomKeyStores entry
    /// of the store involved.
    pub fn render(&self, source: Option<&str>) -> String {
        // Notes are printed after `{pad} = `; the store's JSON continues
        // under the note's text.
        let pad = " ".repeat(self.span.line.to_string().len() + 3);
        let mut d = Diagnostic::new(self.span.clone(), "this step did not hold")
            .with_note(format!("expected: {}", self.expected))
            .with_note(format!("actual:   {}", self.actual));
        if let Some(store) = &self.store {
            let name = store["CustomKeyStoreName"].as_str().unwrap_or("the store");
            let body = snapshot::aws_cli_json(store).replace('\n', &format!("\n{pad}"));
            d = d.with_note(format!(
                "note: {name} in DescribeCustomKeyStores:\n{pad}{body}"
            ));
        }
        d.render(source)
    }
}

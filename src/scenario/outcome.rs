//! What running a scenario produced ([`Outcome`]): the steps that ran,
//! the failure if any, and every DescribeCustomKeyStores response seen;
//! and a failed step rendered in the one diagnostic layout
//! ([`Failure::render`]), which the suite's reports and the cucumber steps
//! of features both show.

use serde::Serialize;
use serde_json::Value;

use super::diagnostic::Diagnostic;
use super::ir::Span;
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

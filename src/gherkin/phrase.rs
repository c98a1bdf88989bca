//! What a phrase is: its human form, its regex, what the step may carry
//! besides its text, and the builder that turns the step's arguments into
//! statements of the runbook's syntax tree ([`crate::dsl::ast`]).
//!
//! The types every other module of the catalog shares live here, below
//! them all, so `phrases/`, `catalog.rs`, `suggest.rs` and `translate.rs`
//! depend on this file and never on each other in a circle.

use regex::Regex;

use super::args::{Args, Built};
use super::params::Param;
use crate::scenario::diagnostic::Diagnostic;

/// One phrase of the catalog.
#[derive(Clone, Debug)]
pub struct Phrase {
    /// Its human form, as `hsmdrill steps` and `docs/gherkin-steps.md` show
    /// it: `"S"` is a double-quoted argument, `{n}` a whole number, `{STATE}`
    /// an AWS enum value, and so on.
    pub pattern: &'static str,
    /// The anchored regex cucumber matches a step's text (without its
    /// keyword) against, one capture group per placeholder.
    pub regex: Regex,
    /// The runbook statement(s) it stands for, and what it takes besides its
    /// text (a data table, a doc string).
    pub help: &'static str,
    /// A step it matches, for the documentation and the tests.
    pub example: &'static str,
    /// The regex with enum placeholders relaxed to any word, to explain why
    /// a step with a misspelt value matches nothing.
    pub(crate) loose: Regex,
    /// The placeholder of each capture group.
    pub(crate) params: Vec<Param>,
    /// What the step may carry besides its text.
    pub(crate) takes: Takes,
    /// Builds the statements.
    pub(crate) build: Build,
}

/// Builds the statements a phrase stands for, or says what does not fit,
/// at the argument that does not.
pub(crate) type Build = fn(&mut Args<'_, '_>) -> Result<Built, Diagnostic>;

/// What a step may carry besides its text.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) enum Takes {
    /// Nothing.
    Nothing,
    /// A data table.
    Table,
    /// A doc string.
    DocString,
    /// A data table or a doc string.
    TableOrDocString,
    /// Whatever the phrase it wraps takes (`I repeat 3 times: PHRASE`).
    Passed,
}

impl Takes {
    /// Whether a step with (or without) a table and a doc string fits.
    pub(crate) fn check(self, pattern: &str, table: bool, doc: bool) -> Result<(), String> {
        let what = match (self, table, doc) {
            (_, true, true) => "a data table or a doc string, not both",
            (Takes::Nothing, true, false) => "no data table",
            (Takes::Nothing, false, true) => "no doc string",
            (Takes::Table, false, true) => "a data table, not a doc string",
            (Takes::Table, false, false) => "a data table",
            (Takes::DocString, true, false) => "a doc string, not a data table",
            (Takes::DocString, false, false) => "a doc string",
            (Takes::TableOrDocString, false, false) => "a data table or a doc string",
            (Takes::Nothing, false, false)
            | (Takes::Table, true, false)
            | (Takes::DocString, false, true)
            | (Takes::TableOrDocString, _, _)
            | (Takes::Passed, _, _) => return Ok(()),
        };
        Err(format!("`{pattern}` takes {what}"))
    }
}

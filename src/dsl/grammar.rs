//! The pest parser of `runbook.pest` and its [`Rule`]s, apart from the code
//! that walks them, so that the words for rules (`words.rs`) and the parser
//! (`parser/`) both depend on the grammar and not on each other.

/// The pest parser of `runbook.pest`.
#[derive(pest_derive::Parser)]
#[grammar = "dsl/runbook.pest"]
pub(crate) struct RunbookParser;

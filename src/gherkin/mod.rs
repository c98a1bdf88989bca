//! Gherkin `.feature` files on the same step IR and the same runner as
//! runbooks. `docs/gherkin-steps.md` is the phrase catalog; `hsmdrill steps`
//! lists it.
//!
//! The Gherkin front end only translates: each phrase builds the statements
//! of the runbook language it stands for as the runbook's syntax tree
//! ([`crate::dsl`]'s `ast`), with the span of every argument in the feature,
//! and the runbook front end checks and lowers that tree as it does a parsed
//! runbook. So a phrase can do no more and no less than the statements it
//! stands for, a `.feature` and a `.runbook` that say the same thing produce
//! the same IR and the same DescribeCustomKeyStores snapshots, and a mistake
//! is reported at the offending word of the step. No runbook text is written
//! or parsed again.
//!
//! The modules, each depending only on those above it:
//!
//! - `params.rs`: placeholders (`"S"`, `{n}`, `{STATE}`, …) and their
//!   regexes; the AWS enums are alternations of the engine's own lists, so
//!   a misspelt value matches nothing and the step is undefined.
//! - `args.rs`: a step's arguments where they are written, and the syntax
//!   tree pieces made of them (tokens, typed values, paths, `call` inputs).
//! - `phrase.rs`: what a phrase is ([`Phrase`]) and what its builder makes.
//! - `phrases/`: the phrases and the statements each builds.
//! - `catalog.rs`: the phrases compiled ([`catalog`]); `suggest.rs`: what
//!   an undefined step probably meant; `translate.rs`: a step to statements
//!   ([`translate`]).
//! - `feature.rs`: a `.feature` parsed with cucumber's `gherkin` crate,
//!   Backgrounds prepended, Scenario Outlines expanded (one scenario per
//!   Examples row, named `<outline> (<first value>)` unless the name holds a
//!   `<column>`), tags gathered from feature, rule, scenario and examples,
//!   every step, table cell and doc string line located in the file.
//! - `lower.rs`: each scenario's statements checked and lowered by the
//!   runbook front end ([`lower_file`], [`lower_str`]).
//! - `drill.rs`: the cucumber side ([`cucumber()`], [`run`]): the catalog
//!   registered once, a `before` hook that lowers the scenario and starts a
//!   [`crate::scenario::runner::Session`], one step function that executes
//!   the IR steps of its line, an `after` hook that checks the snapshot.
//! - `harness.rs`: the `tests/features.rs` harness ([`harness::main`]):
//!   cucumber's command line (`--tags`, `--name`, …) with libtest's options
//!   accepted, so `cargo test -- --test-threads=16` still runs the features.
//!
//! ```
//! use std::path::Path;
//!
//! let feature = "\
//! Feature: smoke
//!   Scenario: waiting
//!     Given pending work settles
//!     When I wait 2 seconds
//! ";
//! let file = hsmdrill::gherkin::lower_str(feature, Path::new("smoke.feature")).unwrap();
//! let steps = &file.scenarios[0].steps;
//! assert_eq!(steps.len(), 2);
//! assert_eq!(steps[1].span.line, 4);
//! assert_eq!(steps[1].text, "When I wait 2 seconds");
//! ```

mod args;
mod catalog;
mod drill;
mod feature;
pub mod harness;
mod lower;
mod params;
mod phrase;
mod phrases;
mod suggest;
mod translate;

pub use catalog::catalog;
pub use drill::{
    cucumber, cucumber_filter, run, run_with, Drill, DrillCucumber, DrillWriter, Opts, Summary,
};
pub use lower::{lower_file, lower_str};
pub use phrase::Phrase;
pub use translate::{translate, TranslateError};

/// The extension of feature files.
pub const FEATURE_EXTENSION: &str = "feature";

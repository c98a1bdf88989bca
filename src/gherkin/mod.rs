//! Gherkin `.feature` files on the same step IR and the same runner as
//! runbooks. `docs/gherkin-steps.md` is the phrase catalog; `hsmdrill steps`
//! lists it.
//!
//! The Gherkin front end only translates: each phrase stands for one or more
//! statements of the runbook language ([`translate`]), and the runbook front
//! end ([`crate::dsl`]) parses, checks and lowers them, so a phrase can do no
//! more and no less than the statements it stands for, and a `.feature` and
//! a `.runbook` that say the same thing produce the same IR and the same
//! DescribeCustomKeyStores snapshots.
//!
//! - `params.rs`: placeholders (`"S"`, `{n}`, `{STATE}`, …) and their
//!   regexes; the AWS enums are alternations of the engine's own lists, so
//!   a misspelt value matches nothing and the step is undefined.
//! - `phrases.rs`: the phrases and the statements each writes; `text.rs`
//!   writes arguments as runbook text (quoted, typed). `catalog.rs`
//!   compiles them ([`catalog`]) and translates a step ([`translate`]);
//!   `suggest.rs` says what an undefined step probably meant.
//! - `feature.rs`: a `.feature` parsed with cucumber's `gherkin` crate,
//!   Backgrounds prepended, Scenario Outlines expanded (one scenario per
//!   Examples row, named `<outline> (<first value>)` unless the name holds a
//!   `<column>`), tags gathered from feature, rule, scenario and examples.
//! - `lower.rs` + `remap.rs`: one generated runbook per scenario, parsed by
//!   [`crate::dsl::parse_str`], every IR span and every diagnostic mapped
//!   back to the Gherkin step's line ([`lower_file`], [`lower_str`]).
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

mod catalog;
mod drill;
mod feature;
pub mod harness;
mod lower;
mod params;
mod phrases;
mod remap;
mod suggest;
mod text;

pub use catalog::{catalog, translate, Phrase, TranslateError};
pub use drill::{
    cucumber, cucumber_filter, run, run_with, Drill, DrillCucumber, DrillWriter, Opts, Summary,
};
pub use lower::{lower_file, lower_str};

/// The extension of feature files.
pub const FEATURE_EXTENSION: &str = "feature";

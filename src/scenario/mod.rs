//! Scenarios (layer 2): the step IR every front end lowers to, the one
//! runner that executes it against a [`target::Target`], the snapshots of
//! every DescribeCustomKeyStores response, and the outcome of a run. It
//! imports only [`crate::engine`]; suites of files, tags and reports are
//! the `suite` module (layer 4), above the front ends.
//!
//! - `ir.rs`: the vocabulary (steps with spans: setup, action, expectation,
//!   capture, control).
//! - `target.rs`: the narrow interface the runner drives (an operation name
//!   and JSON in, a response or an AWS error out, plus CLI lines, faults and
//!   the clock), implemented for the embedded engine; `remote` implements
//!   it for a running server.
//! - `runner/`: executes a scenario, records every DescribeCustomKeyStores
//!   response with the step that caused it, and says precisely what failed.
//! - `outcome.rs`: what a run produced, and a failed step rendered.
//! - `sample.rs`: the world's state after each step (stores, keys,
//!   clusters, `kmsuser`), for the HTML report's timeline.
//! - `snapshot.rs`: where snapshots live, how they are named and rendered.
//! - `diagnostic.rs`: the one error layout (`file:line:col`, the line,
//!   a caret), shared by parsers, the runner and reports.

pub mod diagnostic;
pub mod ir;
pub mod outcome;
pub mod runner;
pub mod sample;
pub mod snapshot;
pub mod target;

//! Scenarios: the step IR every front end lowers to, the one runner that
//! executes it against an engine, the snapshots of every
//! DescribeCustomKeyStores response, and the reports.
//!
//! - `ir.rs`: the vocabulary (steps with spans: setup, action, expectation,
//!   capture, control).
//! - `target.rs`: the narrow interface the runner drives (an operation name
//!   and JSON in, a response or an AWS error out, plus CLI lines, faults and
//!   the clock), implemented for the embedded engine.
//! - `runner.rs`: executes a scenario, records every DescribeCustomKeyStores
//!   response with the step that caused it, and says precisely what failed.
//! - `snapshot.rs`: where snapshots live, how they are named and rendered.
//! - `report.rs`: pretty, JSON and JUnit output.

pub mod diagnostic;
pub mod ir;
pub mod report;
pub mod runner;
pub mod snapshot;
pub mod suite;
pub mod tags;
pub mod target;

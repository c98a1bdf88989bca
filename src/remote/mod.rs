//! Driving a running `hsmdrill serve` instead of an embedded engine (a
//! front end, layer 3: it imports the scenario layer and the engine's
//! operation names, nothing above).
//!
//! - `http.rs`: a minimal blocking HTTP/1.1 client for loopback endpoints.
//! - `target.rs`: [`RemoteTarget`], the runner's [`Target`] over the AWS
//!   wire protocols and the control API, so every runbook and feature runs
//!   against a server unchanged (`hsmdrill run --endpoint URL`).
//!
//! [`Target`]: crate::scenario::target::Target

pub mod http;
pub mod target;

pub use http::Endpoint;
pub use target::RemoteTarget;

use std::path::Path;

use crate::scenario::ir::Scenario;
use crate::scenario::outcome::Outcome;
use crate::scenario::runner;

/// Runs a scenario against the server at `endpoint` with the one runner
/// loop ([`runner::run_on`]): the server is reset to the scenario's world
/// (an empty one without a setup step) on a virtual clock first.
pub fn run(scenario: &Scenario, file: &Path, endpoint: &Endpoint) -> Outcome {
    runner::run_on(scenario, file, |world| RemoteTarget::open(endpoint, world))
}

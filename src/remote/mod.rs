//! Driving a running `hsmdrill serve` instead of an embedded engine.
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
use std::sync::Arc;

use crate::scenario::ir::{Scenario, Setup, Step, StepKind};
use crate::scenario::runner::{Outcome, Session};
use crate::scenario::target::Target;

/// Runs a scenario against the server at `endpoint`: the server is reset to
/// the scenario's world (an empty one without a setup step) on a virtual
/// clock, then the steps run through the one runner.
pub fn run(scenario: &Scenario, file: &Path, endpoint: &Endpoint) -> Outcome {
    let (setup, rest) = match scenario.steps.split_first() {
        Some((
            first @ Step {
                kind: StepKind::Setup(_),
                ..
            },
            rest,
        )) => (Some(first), rest),
        Some(_) | None => (None, &scenario.steps[..]),
    };
    let yaml = match setup.map(|s| &s.kind) {
        Some(StepKind::Setup(Setup::World { path })) => std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the world file {}: {e}", path.display())),
        Some(StepKind::Setup(Setup::WorldYaml { yaml })) => Ok(yaml.clone()),
        Some(_) | None => Ok("{}".to_owned()),
    };
    let target = yaml.and_then(|y| {
        RemoteTarget::reset(endpoint.clone(), &y).map(|t| Arc::new(t) as Arc<dyn Target>)
    });
    let mut session = Session::on_target(scenario, file, setup, target);
    for step in rest {
        if session.execute(step).is_err() {
            break;
        }
    }
    session.finish()
}

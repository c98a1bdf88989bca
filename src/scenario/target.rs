//! The narrow interface between the runner and what it drives.
//!
//! The runner never touches an engine directly: it sends an operation name
//! with JSON input and gets a response or an AWS error back, runs CloudHSM
//! CLI lines, injects faults, moves the clock and reads the trail, all
//! through [`Target`]. [`EngineTarget`] implements it for the embedded
//! engine; a remote endpoint can implement it later and every scenario runs
//! against it unchanged.

use std::time::Duration;

use serde_json::Value;

use super::ir::Fault;
use crate::engine::Engine;

/// An AWS error as a client sees it: exception name and message.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct AwsError {
    /// `__type`, e.g. `KMSInvalidStateException`.
    pub exception: String,
    /// `message`.
    pub message: String,
}

impl From<crate::engine::Error> for AwsError {
    fn from(e: crate::engine::Error) -> Self {
        AwsError {
            exception: e.aws_name().to_owned(),
            message: e.message().to_owned(),
        }
    }
}

/// What the runner drives.
pub trait Target: Send + Sync {
    /// A KMS or CloudHSM v2 operation by its AWS name.
    fn call(&self, operation: &str, input: Value) -> Result<Value, AwsError>;
    /// A CloudHSM CLI line in a named CLI session; the CLI's JSON envelope.
    fn cli(&self, cluster: &str, session: &str, line: &str) -> Value;
    /// An injected incident; a response for those that have one (a backup).
    fn fault(&self, fault: &Fault) -> Result<Value, AwsError>;
    /// Lets `d` of virtual time pass.
    fn wait(&self, d: Duration);
    /// Lets pending work finish.
    fn settle(&self);
    /// CloudTrail events with this name, oldest first.
    fn trail(&self, event: &str) -> Vec<Value>;
    /// Opens a window in which calls happen at once (a burst).
    fn begin_burst(&self);
    /// Moves the clock to `offset` after the start of the burst.
    fn burst_clock(&self, offset: Duration);
    /// Closes the burst window.
    fn end_burst(&self);
}

/// The embedded engine as a [`Target`].
#[derive(Debug)]
pub struct EngineTarget {
    engine: Engine,
    burst_start: parking_lot::Mutex<Option<crate::engine::Timestamp>>,
}

impl EngineTarget {
    /// Drives `engine`.
    pub fn new(engine: Engine) -> Self {
        Self {
            engine,
            burst_start: parking_lot::Mutex::new(None),
        }
    }

    /// The engine driven.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

impl Target for EngineTarget {
    fn call(&self, operation: &str, input: Value) -> Result<Value, AwsError> {
        self.engine.call(operation, input).map_err(AwsError::from)
    }

    fn cli(&self, cluster: &str, session: &str, line: &str) -> Value {
        self.engine.cloudhsm_cli(cluster, session, line)
    }

    fn fault(&self, fault: &Fault) -> Result<Value, AwsError> {
        self.engine.apply_fault(fault).map_err(AwsError::from)
    }

    fn wait(&self, d: Duration) {
        self.engine.advance(d);
    }

    fn settle(&self) {
        self.engine.settle();
    }

    fn trail(&self, event: &str) -> Vec<Value> {
        self.engine.trail_events(Some(event))
    }

    fn begin_burst(&self) {
        *self.burst_start.lock() = Some(self.engine.now());
        self.engine.begin_simultaneous();
    }

    fn burst_clock(&self, offset: Duration) {
        if let Some(start) = *self.burst_start.lock() {
            self.engine.clock().advance_to(start.plus(offset));
        }
    }

    fn end_burst(&self) {
        self.engine.end_simultaneous();
        *self.burst_start.lock() = None;
    }
}

//! The narrow interface between the runner and what it drives.
//!
//! The runner never touches an engine directly: it sends an operation name
//! with JSON input and gets a response or an AWS error back, runs CloudHSM
//! CLI lines, injects faults, moves the clock and reads the trail, all
//! through [`Target`]. [`EngineTarget`] implements it for the embedded
//! engine and `remote::RemoteTarget` for a running `hsmdrill serve`, so
//! every scenario runs against either unchanged. Each opens a scenario's
//! [`World`] its own way (a fresh engine, or a reset server).
//!
//! [`BurstWindow`] is the one bookkeeping of a burst on an engine (when it
//! started, so a copy's clock offset lands on the right instant): the
//! embedded target and the server's control API both use it.

use std::path::Path;
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::Value;

use super::ir::{Fault, Setup, Step, StepKind};
use crate::engine::{world, Engine, EngineConfig, Timestamp};

/// The world a scenario's setup step gives, for a target to open.
#[derive(Clone, Copy, Debug)]
pub enum World<'a> {
    /// No setup step: an empty world.
    Empty,
    /// A YAML world file.
    File(&'a Path),
    /// A YAML world written in the scenario itself, with the scenario's
    /// file (for error messages).
    Yaml {
        /// The YAML text.
        yaml: &'a str,
        /// The scenario's file.
        origin: &'a Path,
    },
}

impl<'a> World<'a> {
    /// The world of `setup` (the first step of a scenario in `file`, if it
    /// is a setup step); `Err` if the step given is not a setup step.
    pub fn of(setup: Option<&'a Step>, file: &'a Path) -> Result<World<'a>, String> {
        match setup.map(|s| &s.kind) {
            None => Ok(World::Empty),
            Some(StepKind::Setup(Setup::World { path })) => Ok(World::File(path)),
            Some(StepKind::Setup(Setup::WorldYaml { yaml })) => {
                Ok(World::Yaml { yaml, origin: file })
            }
            Some(
                StepKind::Action(_)
                | StepKind::Expect(_)
                | StepKind::Capture(_)
                | StepKind::Control(_),
            ) => Err("the first step is not a setup step".into()),
        }
    }
}

/// When the open burst window of an engine started (see
/// [`Engine::begin_simultaneous`]).
#[derive(Debug, Default)]
pub struct BurstWindow {
    start: Mutex<Option<Timestamp>>,
}

impl BurstWindow {
    /// Opens a window in which `engine`'s calls happen at once.
    pub fn begin(&self, engine: &Engine) {
        *self.start.lock() = Some(engine.now());
        engine.begin_simultaneous();
    }

    /// Moves `engine`'s clock to `offset` after the start of the window (no
    /// window open: nothing).
    pub fn clock(&self, engine: &Engine, offset: Duration) {
        if let Some(start) = *self.start.lock() {
            engine.clock().advance_to(start.plus(offset));
        }
    }

    /// Closes the window.
    pub fn end(&self, engine: &Engine) {
        engine.end_simultaneous();
        *self.start.lock() = None;
    }
}

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
    /// A CloudHSM CLI line in a named CLI session, with what is typed at its
    /// password prompts; the CLI's JSON envelope.
    fn cli(&self, cluster: &str, session: &str, line: &str, answers: &[String]) -> Value;
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
    burst: BurstWindow,
}

impl EngineTarget {
    /// Drives `engine`.
    pub fn new(engine: Engine) -> Self {
        Self {
            engine,
            burst: BurstWindow::default(),
        }
    }

    /// Drives a fresh engine built from `world`.
    pub fn open(world: World<'_>) -> Result<EngineTarget, String> {
        let engine = match world {
            World::Empty => Ok(Engine::new(EngineConfig::default())),
            World::File(path) => world::load_file(path).map_err(|e| e.to_string()),
            World::Yaml { yaml, origin } => {
                world::load_str(yaml, &origin.display().to_string()).map_err(|e| e.to_string())
            }
        };
        engine.map(EngineTarget::new)
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

    fn cli(&self, cluster: &str, session: &str, line: &str, answers: &[String]) -> Value {
        self.engine
            .cloudhsm_cli_answered(cluster, session, line, answers)
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
        self.burst.begin(&self.engine);
    }

    fn burst_clock(&self, offset: Duration) {
        self.burst.clock(&self.engine, offset);
    }

    fn end_burst(&self) {
        self.burst.end(&self.engine);
    }
}

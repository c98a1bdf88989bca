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
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::Value;

use super::ir::{Fault, Setup, Step, StepKind};
use super::sample::Sample;
use crate::engine::cloud::{Cloud, Partition};
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
    /// The clock's now, in milliseconds since the Unix epoch (`None`: the
    /// target cannot say).
    fn now(&self) -> Option<i64>;
    /// The world's seed, which retry jitter derives from (0 when the target
    /// cannot say).
    fn seed(&self) -> u64 {
        0
    }
    /// CloudTrail events with this name, oldest first.
    fn trail(&self, event: &str) -> Vec<Value>;
    /// Opens a window in which calls happen at once (a burst).
    fn begin_burst(&self);
    /// Moves the clock to `offset` after the start of the burst.
    fn burst_clock(&self, offset: Duration);
    /// Closes the burst window.
    fn end_burst(&self);
    /// The Region later steps act in; `None` for the world's own.
    fn region(&self) -> Option<String>;
    /// Makes later steps act in `region` of the world's account (`None`:
    /// the world's own Region). An unknown Region is an error.
    fn set_region(&self, region: Option<&str>) -> Result<(), AwsError>;
    /// The world's state now, for the report's timeline, read without a
    /// call (so without a trail event); `None` when the target cannot say
    /// that way (a running server).
    fn sample(&self) -> Option<Sample> {
        None
    }
}

/// The error of a Region no partition can be in.
pub fn unknown_region(region: &str) -> AwsError {
    AwsError {
        exception: "ValidationException".into(),
        message: format!("{region} is not an AWS Region hsmdrill knows."),
    }
}

/// The embedded world (every account and Region of it) as a [`Target`].
#[derive(Debug)]
pub struct EngineTarget {
    cloud: Cloud,
    /// The Region steps act in (`None`: the world's own).
    region: Mutex<Option<String>>,
    burst: BurstWindow,
}

impl EngineTarget {
    /// Drives `engine` (and the Regions its world may grow).
    pub fn new(engine: Engine) -> Self {
        Self::of_cloud(Cloud::new(engine))
    }

    /// Drives every partition of `cloud`.
    pub fn of_cloud(cloud: Cloud) -> Self {
        Self {
            cloud,
            region: Mutex::new(None),
            burst: BurstWindow::default(),
        }
    }

    /// Drives a fresh world built from `world`.
    pub fn open(world: World<'_>) -> Result<EngineTarget, String> {
        let cloud = match world {
            World::Empty => Ok(Cloud::new(Engine::new(EngineConfig::default()))),
            World::File(path) => world::load_cloud_file(path).map_err(|e| e.to_string()),
            World::Yaml { yaml, origin } => {
                world::load_cloud_str(yaml, &origin.display().to_string())
                    .map_err(|e| e.to_string())
            }
        };
        cloud.map(EngineTarget::of_cloud)
    }

    /// The world's own account and Region's engine.
    pub fn engine(&self) -> &Engine {
        self.cloud.default_engine()
    }

    /// Every account and Region driven.
    pub fn cloud(&self) -> &Cloud {
        &self.cloud
    }

    /// The partition steps act in now.
    fn partition(&self) -> Partition {
        let default = self.cloud.default_partition();
        match &*self.region.lock() {
            Some(region) => Partition::new(default.account, region.clone()),
            None => default,
        }
    }

    /// The engine of the partition steps act in now.
    fn current(&self) -> Arc<Engine> {
        self.cloud
            .engine(&self.partition())
            .unwrap_or_else(|| self.cloud.default_engine().clone())
    }
}

impl Target for EngineTarget {
    fn call(&self, operation: &str, input: Value) -> Result<Value, AwsError> {
        self.cloud
            .call(&self.partition(), operation, input)
            .map_err(AwsError::from)
    }

    fn cli(&self, cluster: &str, session: &str, line: &str, answers: &[String]) -> Value {
        self.current()
            .cloudhsm_cli_answered(cluster, session, line, answers)
    }

    fn fault(&self, fault: &Fault) -> Result<Value, AwsError> {
        self.current().apply_fault(fault).map_err(AwsError::from)
    }

    fn wait(&self, d: Duration) {
        self.cloud.advance(d);
    }

    fn settle(&self) {
        self.cloud.settle();
    }

    fn now(&self) -> Option<i64> {
        Some(self.cloud.now().as_millis())
    }

    fn seed(&self) -> u64 {
        self.cloud.default_engine().config().seed
    }

    fn trail(&self, event: &str) -> Vec<Value> {
        self.current().trail_events(Some(event))
    }

    fn begin_burst(&self) {
        self.burst.begin(&self.current());
    }

    fn burst_clock(&self, offset: Duration) {
        self.burst.clock(&self.current(), offset);
    }

    fn end_burst(&self) {
        self.burst.end(&self.current());
    }

    fn region(&self) -> Option<String> {
        self.region.lock().clone()
    }

    fn sample(&self) -> Option<Sample> {
        Some(Sample::of(self.cloud.default_engine()))
    }

    fn set_region(&self, region: Option<&str>) -> Result<(), AwsError> {
        let default = self.cloud.default_partition();
        if let Some(r) = region {
            if self
                .cloud
                .engine(&Partition::new(default.account, r))
                .is_none()
            {
                return Err(unknown_region(r));
            }
        }
        *self.region.lock() = region.map(str::to_owned);
        Ok(())
    }
}

//! The one runner: executes a scenario's steps against a [`Target`] and says
//! precisely what held and what did not.
//!
//! A scenario runs on its own target (a fresh engine from its world) inside
//! a single-threaded tokio runtime whose clock is paused, so that a burst's
//! copies run as tasks on *virtual* time: a retry's backoff is a tokio
//! sleep, tokio jumps to the next wake-up when every task is waiting, and the
//! engine's clock follows. The outcome of a burst (how many succeeded, how
//! many failed with which exception) is then a function of the scenario,
//! not of thread timing.
//!
//! Rules the runner applies:
//! - A failed expectation stops the scenario.
//! - An action that fails (an AWS error, a CloudHSM CLI envelope with a
//!   non-zero `error_code`, a fault that cannot be applied) stops it too,
//!   unless the next step expects that error (`expect error …`,
//!   `expect cli error`).
//! - Every DescribeCustomKeyStores response the runner sees, whether a step
//!   called it or an expectation on a key store did, is recorded with the
//!   step that caused it; the snapshot is made from that record.
//! - After the setup, a variable named after every key store of the world
//!   holds its id (`$ExampleKeyStore`).
//!
//! The loop and the session are here; each kind of step has its file:
//! `action.rs`, `expect.rs` (expectations and captures), `control.rs`
//! (repeat, retry, burst) and `vars.rs` (variables and paths).

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path as FsPath;
use std::pin::Pin;
use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::{json, Value};

mod action;
mod control;
mod expect;
mod vars;

pub use vars::lookup;

use super::ir::{Expect, Scenario, Span, Step, StepKind};
use super::outcome::{Failure, Mark, Outcome, Recorded, StepRecord};
use super::target::{AwsError, EngineTarget, Target, World};

/// Runs `scenario` from `file` on a fresh embedded engine built from its
/// setup step (an empty world without one).
pub fn run(scenario: &Scenario, file: &FsPath) -> Outcome {
    run_on(scenario, file, EngineTarget::open)
}

/// Runs `scenario` from `file` on the target `open` makes of its world:
/// the one loop, whatever the target (a failure to open is reported at
/// the setup step).
pub fn run_on<T: Target + 'static>(
    scenario: &Scenario,
    file: &FsPath,
    open: impl FnOnce(World<'_>) -> Result<T, String>,
) -> Outcome {
    let (setup, rest) = scenario.split_setup();
    let target = World::of(setup, file)
        .and_then(open)
        .map(|t| Arc::new(t) as Arc<dyn Target>);
    let mut session = Session::on_target(scenario, file, setup, target);
    for step in rest {
        if session.execute(step).is_err() {
            break;
        }
    }
    session.finish()
}

/// A scenario being run one step at a time: what both front ends drive.
/// The runbook runner feeds it a whole list; the Gherkin steps feed it the
/// IR of one phrase at a time.
///
/// A failed action does not fail at once: the session keeps it pending, and
/// the next step either expects that error (and the scenario goes on) or
/// does not (and the scenario fails at the action's span). A pending
/// failure left at the end fails the scenario too.
pub struct Session {
    ctx: Option<Ctx>,
    runtime: Option<tokio::runtime::Runtime>,
    outcome: Outcome,
    describes: Arc<Mutex<Vec<Recorded>>>,
    pending: Option<Box<StepFailure>>,
}

impl Session {
    /// Starts a scenario: builds the world from `setup` (an empty world
    /// without one) on the embedded engine.
    pub fn start(scenario: &Scenario, file: &FsPath, setup: Option<&Step>) -> Session {
        let target = World::of(setup, file)
            .and_then(EngineTarget::open)
            .map(|t| Arc::new(t) as Arc<dyn Target>);
        Session::on_target(scenario, file, setup, target)
    }

    /// Starts a scenario on a target built by the caller (`Err`: why it
    /// could not be built, reported at the setup step).
    pub fn on_target(
        scenario: &Scenario,
        file: &FsPath,
        setup: Option<&Step>,
        target: Result<Arc<dyn Target>, String>,
    ) -> Session {
        let mut outcome = Outcome {
            file: file.display().to_string(),
            scenario: scenario.name.clone(),
            tags: scenario.tags.clone(),
            span: scenario.span.clone(),
            steps: Vec::new(),
            failure: None,
            describes: Vec::new(),
        };
        let describes = Arc::new(Mutex::new(Vec::new()));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .map_err(|e| format!("cannot start the tokio runtime: {e}"));
        let ready = target.and_then(|t| runtime.map(|r| (t, r)));
        let (ctx, runtime) = match ready {
            Ok((target, runtime)) => {
                let mut ctx = Ctx {
                    target,
                    vars: BTreeMap::new(),
                    last: Last::Nothing,
                    last_from: String::new(),
                    copy: 0,
                    describes: describes.clone(),
                    burst: None,
                };
                ctx.bind_store_names();
                (Some(ctx), Some(runtime))
            }
            Err(message) => {
                let (span, text) = match setup {
                    Some(s) => (s.span.clone(), s.text.clone()),
                    None => (scenario.span.clone(), scenario.name.clone()),
                };
                outcome.failure = Some(Failure {
                    span,
                    step: text,
                    expected: "a world that loads".into(),
                    actual: message,
                    store: None,
                });
                (None, None)
            }
        };
        if let Some(s) = setup {
            let now = ctx.as_ref().and_then(|c| c.target.now());
            outcome.steps.push(StepRecord {
                span: s.span.clone(),
                text: s.text.clone(),
                passed: ctx.is_some(),
                mark: Mark::Setup,
                start: now,
                end: now,
                describes: 0,
                state: ctx.as_ref().and_then(|c| c.target.sample()),
            });
        }
        Session {
            ctx,
            runtime,
            outcome,
            describes,
            pending: None,
        }
    }

    /// Runs one top-level step. `Err` carries the scenario's failure: this
    /// step's, or a pending failed action's that this step did not expect.
    pub fn execute(&mut self, step: &Step) -> Result<(), Box<Failure>> {
        if let Some(f) = &self.outcome.failure {
            return Err(Box::new(f.clone()));
        }
        let (Some(ctx), Some(runtime)) = (self.ctx.as_mut(), self.runtime.as_ref()) else {
            return Err(self.fail_with(StepFailure {
                span: step.span.clone(),
                step: step.text.clone(),
                expected: "a running scenario".into(),
                actual: "the scenario could not start".into(),
                exception: None,
                store_ref: None,
            }));
        };
        if let Some(pending) = self.pending.take() {
            let expects_error = matches!(
                step.kind,
                StepKind::Expect(
                    Expect::Error { .. } | Expect::AnyError { .. } | Expect::CliError { .. }
                )
            );
            if !expects_error {
                if let Some(last) = self.outcome.steps.last_mut() {
                    last.passed = false;
                }
                return Err(self.fail_with(*pending));
            }
        }
        let start = ctx.target.now();
        let r = runtime.block_on(async {
            match &step.kind {
                StepKind::Action(a) => {
                    ctx.action(step, a).await?;
                    // Whether a failed action was expected is for the next
                    // step to say.
                    Ok(ctx.check_action_outcome(step, None).err())
                }
                StepKind::Setup(_)
                | StepKind::Expect(_)
                | StepKind::Capture(_)
                | StepKind::Control(_) => ctx.step(step, None).await.map(|()| None),
            }
        });
        let mark = match (Mark::of(&step.kind), &ctx.last) {
            (Mark::Burst { .. }, Last::Response(tally)) => Mark::Burst {
                succeeded: tally["Succeeded"]
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .unwrap_or(0),
                failed: serde_json::from_value(tally["Failed"].clone()).unwrap_or_default(),
            },
            (mark, _) => mark,
        };
        self.outcome.steps.push(StepRecord {
            span: step.span.clone(),
            text: step.text.clone(),
            passed: r.is_ok(),
            mark,
            start,
            end: ctx.target.now(),
            describes: self.describes.lock().len(),
            state: ctx.target.sample(),
        });
        match r {
            Ok(pending) => {
                self.pending = pending;
                Ok(())
            }
            Err(f) => Err(self.fail_with(*f)),
        }
    }

    /// Whether the scenario has failed so far.
    pub fn failed(&self) -> bool {
        self.outcome.failure.is_some()
    }

    /// Ends the scenario: a failed action nobody expected fails it.
    pub fn finish(mut self) -> Outcome {
        if let Some(pending) = self.pending.take() {
            if self.outcome.failure.is_none() {
                if let Some(last) = self.outcome.steps.last_mut() {
                    last.passed = false;
                }
                self.fail_with(*pending);
            }
        }
        self.outcome.describes = std::mem::take(&mut *self.describes.lock());
        self.outcome
    }

    fn fail_with(&mut self, f: StepFailure) -> Box<Failure> {
        let store = self
            .ctx
            .as_ref()
            .and_then(|ctx| ctx.store_involved(&f.store_ref));
        let failure = Failure {
            span: f.span,
            step: f.step,
            expected: f.expected,
            actual: f.actual,
            store,
        };
        self.outcome.failure = Some(failure.clone());
        Box::new(failure)
    }
}

/// A step that did not hold, before the report adds the store's entry.
#[derive(Clone, Debug)]
struct StepFailure {
    span: Span,
    step: String,
    expected: String,
    actual: String,
    /// The exception of a failed action (a burst tallies by it).
    exception: Option<String>,
    /// The store the step is about, if any.
    store_ref: Option<String>,
}

/// The result of the last action.
#[derive(Clone, Debug)]
enum Last {
    Nothing,
    Response(Value),
    Error(AwsError),
    Cli(Value),
}

/// The running state of one scenario (or one copy of a burst).
#[derive(Clone)]
struct Ctx {
    target: Arc<dyn Target>,
    vars: BTreeMap<String, Value>,
    last: Last,
    /// What gave the last response, for messages (`DescribeKey response`).
    last_from: String,
    /// Which copy of the enclosing bursts this is (0 outside a burst), so
    /// that copies draw different retry jitter.
    copy: u64,
    describes: Arc<Mutex<Vec<Recorded>>>,
    /// Inside a burst copy: when the burst started, on tokio's clock.
    burst: Option<tokio::time::Instant>,
}

type StepFuture<'a> = Pin<Box<dyn Future<Output = Result<(), Box<StepFailure>>> + Send + 'a>>;

impl Ctx {
    fn bind_store_names(&mut self) {
        if let Ok(v) = self.target.call("DescribeCustomKeyStores", json!({})) {
            for s in v["CustomKeyStores"].as_array().into_iter().flatten() {
                if let (Some(name), Some(id)) = (
                    s["CustomKeyStoreName"].as_str(),
                    s["CustomKeyStoreId"].as_str(),
                ) {
                    self.vars.insert(name.to_owned(), json!(id));
                }
            }
        }
    }

    fn fail(
        step: &Step,
        expected: impl Into<String>,
        actual: impl Into<String>,
    ) -> Box<StepFailure> {
        Box::new(StepFailure {
            span: step.span.clone(),
            step: step.text.clone(),
            expected: expected.into(),
            actual: actual.into(),
            exception: None,
            store_ref: None,
        })
    }

    /// Runs a block of steps in order.
    fn steps<'a>(&'a mut self, steps: &'a [Step]) -> StepFuture<'a> {
        Box::pin(async move {
            for (i, step) in steps.iter().enumerate() {
                self.step(step, steps.get(i + 1)).await?;
            }
            Ok(())
        })
    }

    /// Runs one step; `next` decides whether a failed action is expected.
    fn step<'a>(&'a mut self, step: &'a Step, next: Option<&'a Step>) -> StepFuture<'a> {
        Box::pin(async move {
            match &step.kind {
                StepKind::Setup(_) => Err(Self::fail(
                    step,
                    "the world to be set up once, before any other step",
                    "a second setup step",
                )),
                StepKind::Action(a) => {
                    self.action(step, a).await?;
                    self.check_action_outcome(step, next)
                }
                StepKind::Expect(e) => self.expect(step, e),
                StepKind::Capture(c) => self.capture(step, c),
                StepKind::Control(c) => self.control(step, c).await,
            }
        })
    }
}

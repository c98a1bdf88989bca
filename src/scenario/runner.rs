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

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path as FsPath;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use parking_lot::Mutex;
use serde_json::{json, Value};

use super::ir::{
    Action, Capture, Comparison, Control, Expect, Path, Scenario, Segment, Span, Step, StepKind,
    Subject,
};
use super::outcome::{Failure, Outcome, Recorded, StepRecord};
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
            outcome.steps.push(StepRecord {
                span: s.span.clone(),
                text: s.text.clone(),
                passed: ctx.is_some(),
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
        self.outcome.steps.push(StepRecord {
            span: step.span.clone(),
            text: step.text.clone(),
            passed: r.is_ok(),
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

    async fn sleep(&mut self, d: Duration) {
        match self.burst {
            Some(start) => {
                tokio::time::sleep(d).await;
                self.target.burst_clock(start.elapsed());
            }
            None => self.target.wait(d),
        }
    }

    async fn action(&mut self, step: &Step, a: &Action) -> Result<(), Box<StepFailure>> {
        let sub = |ctx: &Ctx, v: &str| {
            ctx.subst_str(v)
                .map_err(|e| Self::fail(step, "defined variables", e))
        };
        match a {
            Action::Call { operation, input } => {
                let input = self
                    .subst(input)
                    .map_err(|e| Self::fail(step, "defined variables", e))?;
                let r = self.target.call(operation, input.clone());
                if operation == "DescribeCustomKeyStores" {
                    self.record(step, &r);
                }
                // A store made or renamed by the scenario gets its variable
                // too, so `connect NewStore` works like a world's store.
                if r.is_ok()
                    && matches!(
                        operation.as_str(),
                        "CreateCustomKeyStore" | "UpdateCustomKeyStore"
                    )
                {
                    self.bind_store_names();
                }
                self.last = match r {
                    Ok(v) => Last::Response(v),
                    Err(e) => Last::Error(e),
                };
            }
            Action::Cli {
                cluster,
                session,
                line,
            } => {
                let cluster = sub(self, cluster)?;
                let line = sub(self, line)?;
                self.last = Last::Cli(self.target.cli(&cluster, session, &line));
            }
            Action::Fault(f) => {
                let f = self
                    .subst_fault(f)
                    .map_err(|e| Self::fail(step, "defined variables", e))?;
                self.last = match self.target.fault(&f) {
                    Ok(v) => Last::Response(v),
                    Err(e) => Last::Error(e),
                };
            }
            Action::Wait(d) => {
                self.sleep(*d).await;
                self.last = Last::Response(json!({}));
            }
            Action::Settle => {
                self.target.settle();
                self.last = Last::Response(json!({}));
            }
        }
        Ok(())
    }

    /// A failed action stops the scenario unless the next step expects it.
    fn check_action_outcome(
        &self,
        step: &Step,
        next: Option<&Step>,
    ) -> Result<(), Box<StepFailure>> {
        let expects_error = matches!(
            next.map(|n| &n.kind),
            Some(StepKind::Expect(
                Expect::Error { .. } | Expect::AnyError { .. } | Expect::CliError { .. }
            ))
        );
        match &self.last {
            Last::Error(e) if !expects_error => Err(Box::new(StepFailure {
                exception: Some(e.exception.clone()),
                ..*Self::fail(step, "success", format!("{}: {}", e.exception, e.message))
            })),
            Last::Cli(env) if !expects_error && env["error_code"] != json!(0) => {
                Err(Box::new(StepFailure {
                    exception: Some("CloudHsmCliError".into()),
                    ..*Self::fail(step, "error_code 0", env.to_string())
                }))
            }
            Last::Error(_) | Last::Cli(_) | Last::Response(_) | Last::Nothing => Ok(()),
        }
    }

    /// `expect error`: the last action failed with `exception` (any AWS
    /// exception for `None`), its message containing `message`.
    fn expect_error(
        &self,
        step: &Step,
        exception: Option<&String>,
        message: Option<&str>,
    ) -> Result<(), Box<StepFailure>> {
        let name = exception.map_or("an AWS error", String::as_str);
        let want = match message {
            Some(m) => format!("{name} with a message containing {m:?}"),
            None => name.to_owned(),
        };
        match &self.last {
            Last::Error(e)
                if exception.is_none_or(|x| e.exception == *x)
                    && message.is_none_or(|m| e.message.contains(m)) =>
            {
                Ok(())
            }
            Last::Error(e) => Err(Self::fail(
                step,
                want,
                format!("{}: {}", e.exception, e.message),
            )),
            Last::Response(v) | Last::Cli(v) => {
                Err(Self::fail(step, want, format!("success: {}", show(v))))
            }
            Last::Nothing => Err(Self::fail(step, want, "no action has run yet")),
        }
    }

    fn record(&self, step: &Step, r: &Result<Value, AwsError>) {
        self.describes.lock().push(Recorded {
            line: step.span.line,
            step: step.text.clone(),
            canonical: step.kind.canonical(),
            response: r
                .clone()
                .map_err(|e| (e.exception.clone(), e.message.clone())),
        });
    }

    /// The value a subject stands for right now.
    fn subject(&self, step: &Step, s: &Subject) -> Result<Value, Box<StepFailure>> {
        match s {
            Subject::Last => match &self.last {
                Last::Response(v) | Last::Cli(v) => Ok(v.clone()),
                Last::Error(e) => Err(Self::fail(
                    step,
                    "a response from the last action",
                    format!("it failed with {}: {}", e.exception, e.message),
                )),
                Last::Nothing => Err(Self::fail(
                    step,
                    "a response from the last action",
                    "no action has run yet",
                )),
            },
            Subject::Store(r) => {
                let r = self
                    .subst_str(r)
                    .map_err(|e| Self::fail(step, "defined variables", e))?;
                let input = if r.starts_with("cks-") {
                    json!({"CustomKeyStoreId": r})
                } else {
                    json!({"CustomKeyStoreName": r})
                };
                let resp = self.target.call("DescribeCustomKeyStores", input);
                self.record(step, &resp);
                match resp {
                    Ok(v) => Ok(v["CustomKeyStores"][0].clone()),
                    Err(e) => Err(Box::new(StepFailure {
                        store_ref: Some(r.clone()),
                        ..*Self::fail(
                            step,
                            format!("key store {r} to exist"),
                            format!("{}: {}", e.exception, e.message),
                        )
                    })),
                }
            }
            Subject::Key(k) => {
                let k = self
                    .subst_str(k)
                    .map_err(|e| Self::fail(step, "defined variables", e))?;
                self.target
                    .call("DescribeKey", json!({"KeyId": k}))
                    .map(|v| v["KeyMetadata"].clone())
                    .map_err(|e| {
                        Self::fail(
                            step,
                            format!("key {k} to exist"),
                            format!("{}: {}", e.exception, e.message),
                        )
                    })
            }
            Subject::Trail(event) => self.target.trail(event).pop().ok_or_else(|| {
                Self::fail(
                    step,
                    format!("a {event} event in the trail"),
                    format!("no {event} event"),
                )
            }),
        }
    }

    fn expect(&mut self, step: &Step, e: &Expect) -> Result<(), Box<StepFailure>> {
        match e {
            Expect::Field {
                subject,
                path,
                comparison,
                value,
            } => {
                let store_ref = match subject {
                    Subject::Store(r) => self.subst_str(r).ok(),
                    Subject::Last | Subject::Key(_) | Subject::Trail(_) => None,
                };
                let whole = self.subject(step, subject)?;
                let actual = lookup(&whole, path);
                let expected = self
                    .subst(value)
                    .map_err(|e| Self::fail(step, "defined variables", e))?;
                let (ok, want) = match comparison {
                    Comparison::Equals => (
                        actual.as_ref().is_some_and(|a| same(a, &expected)),
                        format!("{path} == {}", show(&expected)),
                    ),
                    Comparison::NotEquals => (
                        !actual.as_ref().is_some_and(|a| same(a, &expected)),
                        format!("{path} != {}", show(&expected)),
                    ),
                    Comparison::Contains => (
                        actual
                            .as_ref()
                            .is_some_and(|a| text(a).contains(&text(&expected))),
                        format!("{path} contains {}", show(&expected)),
                    ),
                    Comparison::Absent => (
                        actual.as_ref().is_none_or(Value::is_null),
                        format!("{path} is absent"),
                    ),
                    Comparison::Present => (
                        actual.as_ref().is_some_and(|v| !v.is_null()),
                        format!("{path} is present"),
                    ),
                };
                if ok {
                    Ok(())
                } else {
                    Err(Box::new(StepFailure {
                        store_ref,
                        ..*Self::fail(
                            step,
                            want,
                            match actual {
                                Some(a) => format!("{path} is {}", show(&a)),
                                None => format!("{path} is absent"),
                            },
                        )
                    }))
                }
            }
            Expect::Success => match &self.last {
                Last::Error(e) => Err(Self::fail(
                    step,
                    "success",
                    format!("{}: {}", e.exception, e.message),
                )),
                Last::Cli(env) if env["error_code"] != json!(0) => {
                    Err(Self::fail(step, "error_code 0", env.to_string()))
                }
                Last::Cli(_) | Last::Response(_) | Last::Nothing => Ok(()),
            },
            Expect::Error { exception, message } => {
                self.expect_error(step, Some(exception), message.as_deref())
            }
            Expect::AnyError { message } => self.expect_error(step, None, message.as_deref()),
            Expect::CliError { message } => {
                let want = match message {
                    Some(m) => format!("a CloudHSM CLI error containing {m:?}"),
                    None => "a CloudHSM CLI error".into(),
                };
                match &self.last {
                    Last::Cli(env)
                        if env["error_code"] != json!(0)
                            && message
                                .as_ref()
                                .is_none_or(|m| text(&env["data"]).contains(m.as_str())) =>
                    {
                        Ok(())
                    }
                    Last::Cli(env) => Err(Self::fail(step, want, env.to_string())),
                    Last::Error(e) => Err(Self::fail(
                        step,
                        want,
                        format!("{}: {}", e.exception, e.message),
                    )),
                    Last::Response(_) | Last::Nothing => {
                        Err(Self::fail(step, want, "the last action was not a CLI line"))
                    }
                }
            }
            Expect::Trail { event, fields } => {
                let mut wanted = Vec::new();
                for (p, v) in fields {
                    let v = self
                        .subst(v)
                        .map_err(|e| Self::fail(step, "defined variables", e))?;
                    wanted.push((p, v));
                }
                let events = self.target.trail(event);
                let matches = |e: &Value| {
                    wanted
                        .iter()
                        .all(|(p, v)| lookup(e, p).is_some_and(|a| same(&a, v)))
                };
                if events.iter().any(matches) {
                    return Ok(());
                }
                let want = wanted
                    .iter()
                    .map(|(p, v)| format!("{p} == {}", show(v)))
                    .collect::<Vec<_>>()
                    .join(", ");
                let actual = match events.last() {
                    None => format!("no {event} event in the trail"),
                    Some(e) => wanted
                        .iter()
                        .map(|(p, _)| match lookup(e, p) {
                            Some(a) => format!("{p} is {}", show(&a)),
                            None => format!("{p} is absent"),
                        })
                        .collect::<Vec<_>>()
                        .join(", "),
                };
                Err(Self::fail(
                    step,
                    format!("a {event} event with {want}"),
                    actual,
                ))
            }
            Expect::Decrypt {
                ciphertext,
                context,
                plaintext,
            } => {
                let blob = self
                    .subst_str(ciphertext)
                    .map_err(|e| Self::fail(step, "defined variables", e))?;
                let mut input = json!({"CiphertextBlob": blob});
                let context = self
                    .subst(context)
                    .map_err(|e| Self::fail(step, "defined variables", e))?;
                if context.as_object().is_some_and(|m| !m.is_empty()) {
                    input["EncryptionContext"] = context;
                }
                let want = format!("decrypts to {plaintext:?}");
                match self.target.call("Decrypt", input) {
                    Ok(v) => {
                        let got = v["Plaintext"]
                            .as_str()
                            .and_then(|p| STANDARD.decode(p).ok())
                            .unwrap_or_default();
                        if got == plaintext.as_bytes() {
                            Ok(())
                        } else {
                            Err(Self::fail(
                                step,
                                want,
                                format!("decrypts to {:?}", String::from_utf8_lossy(&got)),
                            ))
                        }
                    }
                    Err(e) => Err(Self::fail(
                        step,
                        want,
                        format!("{}: {}", e.exception, e.message),
                    )),
                }
            }
        }
    }

    fn capture(&mut self, step: &Step, c: &Capture) -> Result<(), Box<StepFailure>> {
        let whole = self.subject(step, &c.subject)?;
        let v = lookup(&whole, &c.path).ok_or_else(|| {
            Self::fail(
                step,
                format!("{} to be present", c.path),
                format!("{} is absent in {}", c.path, show(&whole)),
            )
        })?;
        self.vars.insert(c.name.clone(), v);
        Ok(())
    }

    async fn control(&mut self, step: &Step, c: &Control) -> Result<(), Box<StepFailure>> {
        match c {
            Control::Repeat { times, body } => {
                for _ in 0..*times {
                    self.steps(body).await?;
                }
                Ok(())
            }
            Control::Retry {
                attempts,
                base,
                body,
            } => {
                let mut delay = *base;
                let mut attempt = 1;
                loop {
                    match self.steps(body).await {
                        Ok(()) => return Ok(()),
                        Err(f) if attempt >= *attempts => {
                            return Err(Box::new(StepFailure {
                                actual: format!("{} (after {attempt} attempts)", f.actual),
                                ..*f
                            }))
                        }
                        Err(_) => {
                            self.sleep(delay).await;
                            delay = delay.saturating_mul(2);
                            attempt += 1;
                        }
                    }
                }
            }
            Control::Burst { count, body } => {
                self.target.begin_burst();
                let start = tokio::time::Instant::now();
                let body: Arc<[Step]> = body.clone().into();
                let mut tasks = Vec::new();
                for _ in 0..*count {
                    let mut copy = self.clone();
                    copy.burst = Some(start);
                    copy.last = Last::Nothing;
                    let body = body.clone();
                    tasks.push(tokio::spawn(async move {
                        copy.steps(&body)
                            .await
                            .map_err(|f| f.exception.unwrap_or_else(|| "ExpectationFailed".into()))
                    }));
                }
                let mut succeeded = 0u32;
                let mut failed: BTreeMap<String, u32> = BTreeMap::new();
                for t in tasks {
                    match t.await {
                        Ok(Ok(())) => succeeded += 1,
                        Ok(Err(exception)) => *failed.entry(exception).or_default() += 1,
                        Err(join) => *failed.entry(format!("TaskFailed: {join}")).or_default() += 1,
                    }
                }
                self.target.end_burst();
                self.last = Last::Response(json!({"Succeeded": succeeded, "Failed": failed}));
                let _ = step;
                Ok(())
            }
        }
    }

    /// The entry of the store a failed step was about (or the only store),
    /// read fresh; not recorded in the snapshot.
    fn store_involved(&self, store_ref: &Option<String>) -> Option<Value> {
        let all = self
            .target
            .call("DescribeCustomKeyStores", json!({}))
            .ok()?;
        let stores = all["CustomKeyStores"].as_array()?;
        match store_ref {
            Some(r) => stores
                .iter()
                .find(|s| s["CustomKeyStoreId"] == json!(r) || s["CustomKeyStoreName"] == json!(r))
                .cloned(),
            None if stores.len() == 1 => stores.first().cloned(),
            None => None,
        }
    }

    fn subst_fault(&self, f: &super::ir::Fault) -> Result<super::ir::Fault, String> {
        use super::ir::Fault;
        let s = |v: &String| self.subst_str(v);
        Ok(match f {
            Fault::Network { cluster, condition } => Fault::Network {
                cluster: s(cluster)?,
                condition: *condition,
            },
            Fault::SecurityGroup { cluster, ok } => Fault::SecurityGroup {
                cluster: s(cluster)?,
                ok: *ok,
            },
            Fault::DeleteHsm { cluster, hsm } => Fault::DeleteHsm {
                cluster: s(cluster)?,
                hsm: hsm.as_ref().map(s).transpose()?,
            },
            Fault::DeleteCluster { cluster } => Fault::DeleteCluster {
                cluster: s(cluster)?,
            },
            Fault::DeleteSubnet { subnet } => Fault::DeleteSubnet { subnet: s(subnet)? },
            Fault::FreeAddresses { subnet, count } => Fault::FreeAddresses {
                subnet: s(subnet)?,
                count: *count,
            },
            Fault::ExhaustSessions { cluster } => Fault::ExhaustSessions {
                cluster: s(cluster)?,
            },
            Fault::ReleaseSessions { cluster } => Fault::ReleaseSessions {
                cluster: s(cluster)?,
            },
            Fault::InternalErrors { cluster, count } => Fault::InternalErrors {
                cluster: s(cluster)?,
                count: *count,
            },
            Fault::Backup { cluster } => Fault::Backup {
                cluster: s(cluster)?,
            },
        })
    }

    /// Substitutes variables in every string of a JSON value.
    fn subst(&self, v: &Value) -> Result<Value, String> {
        Ok(match v {
            Value::String(s) => match whole_var(s) {
                Some(name) => self
                    .vars
                    .get(name)
                    .cloned()
                    .ok_or_else(|| format!("undefined variable `${name}`"))?,
                None => Value::String(self.subst_str(s)?),
            },
            Value::Array(a) => {
                Value::Array(a.iter().map(|x| self.subst(x)).collect::<Result<_, _>>()?)
            }
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, x)| Ok((k.clone(), self.subst(x)?)))
                    .collect::<Result<_, String>>()?,
            ),
            Value::Null | Value::Bool(_) | Value::Number(_) => v.clone(),
        })
    }

    /// Substitutes `$name`, `${name}` and `$$` in text.
    fn subst_str(&self, s: &str) -> Result<String, String> {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            if let Some(r) = after.strip_prefix('$') {
                out.push('$');
                rest = r;
                continue;
            }
            let (name, r) = if let Some(inner) = after.strip_prefix('{') {
                match inner.find('}') {
                    Some(j) => (&inner[..j], &inner[j + 1..]),
                    None => return Err(format!("unterminated `${{` in {s:?}")),
                }
            } else {
                let n = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..n], &after[n..])
            };
            if name.is_empty() {
                out.push('$');
                rest = after;
                continue;
            }
            let v = self
                .vars
                .get(name)
                .ok_or_else(|| format!("undefined variable `${name}`"))?;
            out.push_str(&text(v));
            rest = r;
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// `$name` or `${name}` standing alone.
fn whole_var(s: &str) -> Option<&str> {
    let name = s
        .strip_prefix("${")
        .and_then(|r| r.strip_suffix('}'))
        .or_else(|| s.strip_prefix('$'))?;
    (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then_some(name)
}

/// Follows a path; a string holding JSON on the way is parsed and entered.
/// An explicit `null` is returned as such (`== null` holds); `is absent`
/// treats it like a missing member, as AWS omits empty members.
pub fn lookup(v: &Value, path: &Path) -> Option<Value> {
    let mut cur = v.clone();
    for seg in &path.0 {
        if let Value::String(s) = &cur {
            if let Ok(parsed) = serde_json::from_str::<Value>(s) {
                cur = parsed;
            }
        }
        cur = match (seg, &cur) {
            (Segment::Field(f), Value::Object(m)) => m.get(f)?.clone(),
            (Segment::Index(i), Value::Array(a)) => a.get(*i)?.clone(),
            (Segment::Field(_) | Segment::Index(_), _) => return None,
        };
    }
    Some(cur)
}

/// Equal, treating `7` and `"7"` (and `true` / `"true"`) alike, since a
/// runbook writes bare words.
fn same(actual: &Value, expected: &Value) -> bool {
    actual == expected
        || match (actual, expected) {
            (Value::String(a), other) | (other, Value::String(a)) => {
                matches!(other, Value::Number(_) | Value::Bool(_))
                    && a.as_str() == other.to_string().as_str()
            }
            _ => false,
        }
}

/// A value as text: strings bare, the rest as JSON.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A value for a message: strings bare, long values cut.
fn show(v: &Value) -> String {
    let s = text(v);
    if s.chars().count() > 200 {
        format!("{}…", s.chars().take(200).collect::<String>())
    } else {
        s
    }
}

//! Running a scenario as `hsmdrill run` does, on a [`Recorder`]: a target
//! around `EngineTarget` that keeps every request and every response,
//! error, CLI envelope and trail lookup, and harvests the engine's secrets
//! before and after each step; and the trail as `LookupEvents` pages.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hsmdrill::engine::cloud::Cloud;
use hsmdrill::engine::{world, Engine, EngineConfig};
use hsmdrill::scenario::ir::{Fault, Scenario, Setup, Step, StepKind};
use hsmdrill::scenario::outcome::Outcome;
use hsmdrill::scenario::runner::Session;
use hsmdrill::scenario::snapshot::{self, Check};
use hsmdrill::scenario::target::{AwsError, EngineTarget, Target};
use hsmdrill::suite::Snapshot;
use serde_json::{json, Value};

use super::harvest::Secrets;

/// What a scenario sent and got back, and every secret its engine held.
#[derive(Default)]
pub(super) struct Log {
    /// Requests as sent (operation and JSON input, CLI lines, faults).
    pub(super) requests: Vec<String>,
    /// Responses and errors: (what, text).
    pub(super) texts: Vec<(String, String)>,
    pub(super) secrets: Secrets,
}

/// `EngineTarget`, recording everything that passes through it.
pub(super) struct Recorder {
    pub(super) inner: EngineTarget,
    pub(super) log: Mutex<Log>,
}

impl Recorder {
    pub(super) fn new(cloud: Cloud) -> Recorder {
        let r = Recorder {
            inner: EngineTarget::of_cloud(cloud),
            log: Mutex::new(Log::default()),
        };
        r.harvest();
        r
    }

    pub(super) fn engine(&self) -> &Engine {
        self.inner.engine()
    }

    /// Adds the secrets the engine holds now, in every account and Region.
    pub(super) fn harvest(&self) {
        for engine in self.inner.cloud().partitions() {
            let now = Secrets::of(&engine);
            self.log.lock().unwrap().secrets.merge(now);
        }
    }

    pub(super) fn sent(&self, request: String) {
        self.log.lock().unwrap().requests.push(request);
    }

    pub(super) fn got(&self, what: String, text: String) {
        self.log.lock().unwrap().texts.push((what, text));
    }

    pub(super) fn got_result(&self, what: &str, r: &Result<Value, AwsError>) {
        match r {
            Ok(v) => self.got(format!("{what} response"), v.to_string()),
            Err(e) => self.got(
                format!("{what} error"),
                format!("{}: {}", e.exception, e.message),
            ),
        }
    }
}

impl Target for Recorder {
    fn call(&self, operation: &str, input: Value) -> Result<Value, AwsError> {
        self.harvest();
        self.sent(format!("{operation} {input}"));
        let r = self.inner.call(operation, input);
        self.harvest();
        self.got_result(operation, &r);
        r
    }

    fn cli(&self, cluster: &str, session: &str, line: &str, answers: &[String]) -> Value {
        self.harvest();
        self.sent(line.to_owned());
        for a in answers {
            self.sent(a.clone());
        }
        let envelope = self.inner.cli(cluster, session, line, answers);
        self.harvest();
        self.got(format!("CloudHSM CLI `{line}`"), envelope.to_string());
        envelope
    }

    fn fault(&self, fault: &Fault) -> Result<Value, AwsError> {
        self.harvest();
        self.sent(format!("{fault:?}"));
        let r = self.inner.fault(fault);
        self.harvest();
        self.got_result("fault", &r);
        r
    }

    fn wait(&self, d: Duration) {
        self.harvest();
        self.inner.wait(d);
        self.harvest();
    }

    fn settle(&self) {
        self.harvest();
        self.inner.settle();
        self.harvest();
    }

    fn now(&self) -> Option<i64> {
        self.inner.now()
    }

    fn seed(&self) -> u64 {
        self.inner.seed()
    }

    fn trail(&self, event: &str) -> Vec<Value> {
        let events = self.inner.trail(event);
        for e in &events {
            self.got(format!("trail lookup of {event}"), e.to_string());
        }
        events
    }

    fn begin_burst(&self) {
        self.inner.begin_burst();
    }

    fn burst_clock(&self, offset: Duration) {
        self.inner.burst_clock(offset);
    }

    fn region(&self) -> Option<String> {
        self.inner.region()
    }

    fn set_region(&self, region: Option<&str>) -> Result<(), AwsError> {
        self.inner.set_region(region)
    }

    fn end_burst(&self) {
        self.inner.end_burst();
    }
}

/// The whole trail as CloudTrail `LookupEvents` pages (newest first, 50 a
/// page, `CloudTrailEvent` as a JSON string), as `hsmdrill serve` answers.
pub(super) fn lookup_events_pages(engine: &Engine) -> Vec<String> {
    let mut events = engine.trail_events(None);
    events.reverse();
    events
        .chunks(50)
        .map(|page| {
            json!({"Events": page.iter().map(|e| json!({
                "EventId": e["eventID"],
                "EventName": e["eventName"],
                "ReadOnly": e["readOnly"].to_string(),
                "EventSource": e["eventSource"],
                "Username": e["userIdentity"]["userName"],
                "Resources": e["resources"],
                "CloudTrailEvent": e.to_string(),
            })).collect::<Vec<_>>()})
            .to_string()
        })
        .collect()
}

/// The world a scenario's setup builds (as `Session::start` builds it).
pub(super) fn engine_for(setup: Option<&Step>, file: &Path) -> Cloud {
    match setup.map(|s| &s.kind) {
        None => Cloud::new(Engine::new(EngineConfig::default())),
        Some(StepKind::Setup(Setup::World { path })) => world::load_cloud_file(path)
            .unwrap_or_else(|e| panic!("{}: the world does not load: {e}", file.display())),
        Some(StepKind::Setup(Setup::WorldYaml { yaml })) => {
            world::load_cloud_str(yaml, &file.display().to_string())
                .unwrap_or_else(|e| panic!("{}: the world does not load: {e}", file.display()))
        }
        Some(other) => panic!("{}: not a setup step: {other:?}", file.display()),
    }
}

/// Runs a scenario as `runner::run` does, on a recording target.
pub(super) fn run_recorded(scenario: &Scenario, file: &Path) -> (Outcome, Arc<Recorder>) {
    let (setup, rest) = match scenario.steps.split_first() {
        Some((first, rest)) if matches!(first.kind, StepKind::Setup(_)) => (Some(first), rest),
        Some(_) | None => (None, &scenario.steps[..]),
    };
    let recorder = Arc::new(Recorder::new(engine_for(setup, file)));
    let target: Arc<dyn Target> = recorder.clone();
    let mut session = Session::on_target(scenario, file, setup, Ok(target));
    for step in rest {
        if session.execute(step).is_err() {
            break;
        }
    }
    (session.finish(), recorder)
}

/// The snapshot result `hsmdrill run` would report.
pub(super) fn snapshot_result(outcome: &Outcome, file: &Path) -> Snapshot {
    let path = snapshot::path(file, &outcome.scenario)
        .display()
        .to_string();
    if !outcome.passed() {
        return Snapshot::NotChecked;
    }
    match snapshot::check(outcome, file, false) {
        Ok(Check::Matches) => Snapshot::Matches,
        Ok(Check::Written) => Snapshot::Accepted { path },
        Ok(Check::Missing) => Snapshot::Missing { path },
        Ok(Check::Differs(diff)) => Snapshot::Differs { path, diff },
        Err(e) => Snapshot::Unusable {
            path,
            error: e.to_string(),
        },
    }
}

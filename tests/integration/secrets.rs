//! Secrets never leak: key material and CloudHSM / `kmsuser` passwords
//! appear in nothing a scenario suite or a server produces.
//!
//! **Secrets.** Every AES key's 32 raw bytes (in every cluster and every
//! backup, read through `KeyMaterial::raw_bytes_for_leak_tests`), every
//! CloudHSM user's password in every cluster and backup, and every key
//! store's `KeyStorePassword` (which Connect rotates to a secret only the
//! engine knows). They are collected from the engine before and after every
//! operation the runner drives, so material that R6 / R7 scenarios delete,
//! and clusters they replace, are known before they go.
//!
//! **Encodings.** Key material is searched as its raw bytes (in the byte
//! form of the text), lower- and upper-case hex, standard and URL-safe
//! base64 with and without padding, the same base64 when the key sits at
//! byte offset 0, 1 or 2 (mod 3) inside a longer base64 blob (the part of
//! the encoding that depends on the key alone), and as a decimal byte list
//! (`[1, 2, …]` and `[1,2,…]`). A password is searched as itself.
//!
//! **Texts.**
//! - `no_secret_leaks_from_the_shipped_suite`: every shipped runbook and
//!   feature (found with `suite::discover`, as `hsmdrill run` finds them)
//!   runs through a recording [`Target`] wrapped around `EngineTarget`,
//!   which keeps every response (success bodies, CloudHSM CLI envelopes,
//!   fault responses, trail lookups) and every error (`exception: message`).
//!   After each scenario its whole trail is rendered as CloudTrail
//!   `LookupEvents` returns it, and its pretty, JSON and JUnit reports and its
//!   DescribeCustomKeyStores snapshot are rendered. Then the committed
//!   `*.snap` files under `scenarios/` and `features/`, and the stdout and
//!   stderr of the built binary's `run scenarios features` in each format.
//! - `no_secret_leaks_from_a_served_engine`: `hsmdrill serve --state` on the
//!   example world, driven over HTTP through a disconnect, a password reset
//!   in the CloudHSM CLI, a Connect (which rotates `kmsuser`'s password), a
//!   CreateKey, an Encrypt, failing UpdateCustomKeyStore and
//!   CreateCustomKeyStore calls (wrong state, passwords too short, too long
//!   or not a string), a misspelt CLI flag carrying a password, CloudHSM v2
//!   and CloudTrail lookups; the
//!   secrets are read back from the state file (which must be mode 0600),
//!   and every HTTP response (head and body) and the server's stdout and
//!   stderr are scanned.
//!
//! **Which passwords may appear where.** No response, error message, trail
//! event, snapshot response, server answer or server log may hold any
//! password, not even one the caller sent. A report, or a snapshot's header
//! and step lines, may hold a password the scenario itself wrote (in a
//! request it sent, or in its file: titles and step texts are shown); for
//! the binary's pretty and JUnit reports, only one in a scenario title.
//!
//! **Self-checks.** `the_scanner_finds_a_planted_secret_in_every_encoding`
//! plants a key and a password in each encoding and checks they are found
//! (and that nothing is found where nothing was planted). And after each
//! scenario the engine's own state file (`Engine::snapshot_json`, which
//! legitimately holds every secret, as base64 and plain text) must show
//! every secret of the engine to the scanner: a scanner or a harvest that
//! missed secrets would fail there, not pass silently.
//!
//! The figures (how many secrets, texts and bytes) are printed with
//! `eprintln!` (`cargo test --test integration -- secrets:: --nocapture`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use hsmdrill::engine::cloudhsm::keys::KeyStoreOfCluster;
use hsmdrill::engine::cloudhsm::users::Users;
use hsmdrill::engine::{world, Engine, EngineConfig};
use hsmdrill::scenario::ir::{Fault, Scenario, Setup, Step, StepKind};
use hsmdrill::scenario::outcome::Outcome;
use hsmdrill::scenario::runner::Session;
use hsmdrill::scenario::snapshot::{self, Check};
use hsmdrill::scenario::target::{AwsError, EngineTarget, Target};
use hsmdrill::suite::report;
use hsmdrill::suite::{self, Run, ScenarioResult, Snapshot, SuiteResult};
use regex::bytes::{Regex, RegexBuilder};
use serde_json::{json, Value};

use crate::support::hsmdrill;
use crate::support::http::{request, Response};
use crate::support::serve::ServeProcess;

// ---------------------------------------------------------------------------
// Secrets

/// Secrets and where each was first seen.
#[derive(Clone, Debug, Default)]
struct Secrets {
    /// Raw AES keys.
    materials: BTreeMap<[u8; 32], String>,
    /// Passwords (users' and key stores').
    passwords: BTreeMap<String, String>,
}

impl Secrets {
    /// Every secret the engine holds right now.
    fn of(engine: &Engine) -> Secrets {
        let mut s = Secrets::default();
        engine.with_state(|st| {
            for c in st.clusters.values() {
                s.add_keys(&c.keys, &c.id);
                s.add_users(&c.users, &c.id);
            }
            for b in st.backups.values() {
                s.add_keys(&b.contents.keys, &b.id);
                s.add_users(&b.contents.users, &b.id);
            }
            for k in st.stores.values() {
                s.add_password(&k.password, || format!("KeyStorePassword of {}", k.id));
            }
        });
        s
    }

    fn add_keys(&mut self, keys: &KeyStoreOfCluster, whose: &str) {
        for k in keys.iter() {
            self.materials
                .entry(*k.material.raw_bytes_for_leak_tests())
                .or_insert_with(|| format!("material of key {} in {whose}", k.reference_hex()));
        }
    }

    fn add_users(&mut self, users: &Users, whose: &str) {
        for u in users.iter() {
            if let Some(p) = &u.password {
                self.add_password(p, || format!("password of {} in {whose}", u.username));
            }
        }
    }

    fn add_password(&mut self, p: &str, origin: impl FnOnce() -> String) {
        if !p.is_empty() {
            self.passwords.entry(p.to_owned()).or_insert_with(origin);
        }
    }

    fn merge(&mut self, other: Secrets) {
        for (k, v) in other.materials {
            self.materials.entry(k).or_insert(v);
        }
        for (k, v) in other.passwords {
            self.passwords.entry(k).or_insert(v);
        }
    }

    /// The secrets of a state file: every `material` member (base64 of 32
    /// bytes) and every `password` member, wherever they are.
    fn of_state_file(v: &Value, path: &str, into: &mut Secrets) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    let here = format!("{path}.{k}");
                    match (k.as_str(), x) {
                        ("material", Value::String(b64)) => {
                            let raw: [u8; 32] = STANDARD
                                .decode(b64)
                                .expect("material is base64")
                                .try_into()
                                .expect("material is 32 bytes");
                            into.materials.entry(raw).or_insert(here);
                        }
                        ("password", Value::String(p)) => into.add_password(p, || here),
                        _ => Secrets::of_state_file(x, &here, into),
                    }
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    Secrets::of_state_file(x, &format!("{path}[{i}]"), into);
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {}
        }
    }
}

/// Every form of a key that must not appear, with its name.
fn material_encodings(raw: &[u8; 32]) -> Vec<(String, Vec<u8>)> {
    let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    let mut out = vec![
        ("raw bytes".to_owned(), raw.to_vec()),
        ("lowercase hex".to_owned(), hex.clone().into_bytes()),
        ("uppercase hex".to_owned(), hex.to_uppercase().into_bytes()),
        ("base64".to_owned(), STANDARD.encode(raw).into_bytes()),
        (
            "base64 without padding".to_owned(),
            STANDARD_NO_PAD.encode(raw).into_bytes(),
        ),
        (
            "URL-safe base64".to_owned(),
            URL_SAFE.encode(raw).into_bytes(),
        ),
        (
            "URL-safe base64 without padding".to_owned(),
            URL_SAFE_NO_PAD.encode(raw).into_bytes(),
        ),
        (
            "decimal byte list".to_owned(),
            format!("{raw:?}").into_bytes(),
        ),
        (
            "JSON byte array".to_owned(),
            serde_json::to_string(&raw.to_vec()).unwrap().into_bytes(),
        ),
    ];
    // Inside a longer base64 text the key's encoding depends on where it
    // starts (mod 3). Each group of four characters encodes three bytes:
    // keep the groups made of the key's bytes alone (30 or more of its 32).
    for shift in 0..=2 {
        let mut shifted = vec![0u8; shift];
        shifted.extend_from_slice(raw);
        let first = if shift == 0 { 0 } else { 4 };
        let whole_groups = shifted.len() / 3 * 4;
        for (name, engine) in [
            ("base64", STANDARD_NO_PAD),
            ("URL-safe base64", URL_SAFE_NO_PAD),
        ] {
            let text = engine.encode(&shifted);
            out.push((
                format!("{name} at byte offset {shift} (mod 3) of a longer blob"),
                text.as_bytes()[first..whole_groups].to_vec(),
            ));
        }
    }
    out
}

// ---------------------------------------------------------------------------
// The scanner

/// Finds any of a set of secrets, in any encoding, in one pass over a text
/// (a byte regex of literals, i.e. Aho-Corasick, built optimized).
struct Scanner {
    regex: Option<Regex>,
    /// Needle → what it is ("key material (…) as base64").
    names: HashMap<Vec<u8>, String>,
}

/// One secret found in one text.
#[derive(Debug)]
struct Hit {
    what: String,
    context: String,
}

impl Scanner {
    /// Every material and every password of `secrets` but those in `skip`.
    fn new(secrets: &Secrets, skip: &BTreeSet<String>) -> Scanner {
        let mut names = HashMap::new();
        for (raw, origin) in &secrets.materials {
            for (encoding, needle) in material_encodings(raw) {
                names
                    .entry(needle)
                    .or_insert_with(|| format!("key material ({origin}) as {encoding}"));
            }
        }
        for (p, origin) in &secrets.passwords {
            if !skip.contains(p) {
                names
                    .entry(p.as_bytes().to_vec())
                    .or_insert_with(|| format!("password ({origin})"));
            }
        }
        let mut needles: Vec<&Vec<u8>> = names.keys().collect();
        // Longest first, so a padded base64 is named rather than its prefix.
        needles.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        let pattern = needles
            .iter()
            .map(|n| n.iter().map(|b| format!("\\x{b:02x}")).collect::<String>())
            .collect::<Vec<_>>()
            .join("|");
        let regex = (!needles.is_empty()).then(|| {
            RegexBuilder::new(&pattern)
                .unicode(false)
                .size_limit(1 << 30)
                .dfa_size_limit(1 << 30)
                .build()
                .unwrap()
        });
        Scanner { regex, names }
    }

    /// How many byte strings it looks for.
    fn needles(&self) -> usize {
        self.names.len()
    }

    /// Every secret in `text`, with the text around it (the secret itself
    /// masked).
    fn scan(&self, text: &[u8]) -> Vec<Hit> {
        let Some(regex) = &self.regex else {
            return Vec::new();
        };
        regex
            .find_iter(text)
            .map(|m| {
                let before = &text[m.start().saturating_sub(60)..m.start()];
                let after = &text[m.end()..(m.end() + 60).min(text.len())];
                Hit {
                    what: self.names[m.as_bytes()].clone(),
                    context: format!(
                        "…{}«SECRET»{}…",
                        String::from_utf8_lossy(before),
                        String::from_utf8_lossy(after)
                    ),
                }
            })
            .collect()
    }
}

/// Totals for the figures.
#[derive(Default)]
struct Tally {
    texts: usize,
    bytes: usize,
    leaks: Vec<String>,
}

impl Tally {
    /// Scans one text; every hit is a leak.
    fn check(&mut self, scanner: &Scanner, place: &str, text: &[u8]) {
        self.texts += 1;
        self.bytes += text.len();
        for hit in scanner.scan(text) {
            self.leaks
                .push(format!("{place}: {} in {}", hit.what, hit.context));
        }
    }
}

// ---------------------------------------------------------------------------
// The recording target

/// What a scenario sent and got back, and every secret its engine held.
#[derive(Default)]
struct Log {
    /// Requests as sent (operation and JSON input, CLI lines, faults).
    requests: Vec<String>,
    /// Responses and errors: (what, text).
    texts: Vec<(String, String)>,
    secrets: Secrets,
}

/// `EngineTarget`, recording everything that passes through it.
struct Recorder {
    inner: EngineTarget,
    log: Mutex<Log>,
}

impl Recorder {
    fn new(engine: Engine) -> Recorder {
        let r = Recorder {
            inner: EngineTarget::new(engine),
            log: Mutex::new(Log::default()),
        };
        r.harvest();
        r
    }

    fn engine(&self) -> &Engine {
        self.inner.engine()
    }

    /// Adds the secrets the engine holds now.
    fn harvest(&self) {
        let now = Secrets::of(self.engine());
        self.log.lock().unwrap().secrets.merge(now);
    }

    fn sent(&self, request: String) {
        self.log.lock().unwrap().requests.push(request);
    }

    fn got(&self, what: String, text: String) {
        self.log.lock().unwrap().texts.push((what, text));
    }

    fn got_result(&self, what: &str, r: &Result<Value, AwsError>) {
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

    fn cli(&self, cluster: &str, session: &str, line: &str) -> Value {
        self.harvest();
        self.sent(line.to_owned());
        let envelope = self.inner.cli(cluster, session, line);
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

    fn end_burst(&self) {
        self.inner.end_burst();
    }
}

/// The whole trail as CloudTrail `LookupEvents` pages (newest first, 50 a
/// page, `CloudTrailEvent` as a JSON string), as `hsmdrill serve` answers.
fn lookup_events_pages(engine: &Engine) -> Vec<String> {
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

// ---------------------------------------------------------------------------
// Running a scenario

/// The engine a scenario's setup builds (as `Session::start` builds it).
fn engine_for(setup: Option<&Step>, file: &Path) -> Engine {
    match setup.map(|s| &s.kind) {
        None => Engine::new(EngineConfig::default()),
        Some(StepKind::Setup(Setup::World { path })) => world::load_file(path)
            .unwrap_or_else(|e| panic!("{}: the world does not load: {e}", file.display())),
        Some(StepKind::Setup(Setup::WorldYaml { yaml })) => {
            world::load_str(yaml, &file.display().to_string())
                .unwrap_or_else(|e| panic!("{}: the world does not load: {e}", file.display()))
        }
        Some(other) => panic!("{}: not a setup step: {other:?}", file.display()),
    }
}

/// Runs a scenario as `runner::run` does, on a recording target.
fn run_recorded(scenario: &Scenario, file: &Path) -> (Outcome, Arc<Recorder>) {
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
fn snapshot_result(outcome: &Outcome, file: &Path) -> Snapshot {
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

/// The passwords among `secrets` that appear in any of `texts`.
fn written(secrets: &Secrets, texts: &[String]) -> BTreeSet<String> {
    secrets
        .passwords
        .keys()
        .filter(|p| texts.iter().any(|t| t.contains(p.as_str())))
        .cloned()
        .collect()
}

/// The reports of one result, in every format.
fn reports(result: &ScenarioResult) -> Vec<(&'static str, String)> {
    let one = SuiteResult {
        results: vec![result.clone()],
    };
    vec![
        ("pretty report", report::pretty(&one)),
        ("JSON report", report::json(&one).unwrap()),
        ("JUnit report", report::junit(&one)),
    ]
}

/// Scans the lines of a snapshot: `# step` lines and the header may show
/// passwords the scenario wrote (`lenient`), the responses none (`strict`).
fn check_snapshot_text(
    tally: &mut Tally,
    place: &str,
    text: &str,
    strict: &Scanner,
    lenient: &Scanner,
) {
    let (header, body) = match text
        .strip_prefix("---\n")
        .and_then(|t| t.split_once("\n---\n"))
    {
        Some((h, b)) => (h, b),
        None => ("", text),
    };
    tally.check(lenient, &format!("{place} (header)"), header.as_bytes());
    let (steps, responses): (Vec<&str>, Vec<&str>) =
        body.lines().partition(|l| l.starts_with("# "));
    tally.check(
        lenient,
        &format!("{place} (step lines)"),
        steps.join("\n").as_bytes(),
    );
    tally.check(
        strict,
        &format!("{place} (responses)"),
        responses.join("\n").as_bytes(),
    );
}

// ---------------------------------------------------------------------------
// The tests

#[test]
fn the_scanner_finds_a_planted_secret_in_every_encoding() {
    // Bytes above 0x7f and 0xfb..0xff (base64 `+` `/` `-` `_`) included.
    let raw: [u8; 32] = std::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(200));
    let other: [u8; 32] = std::array::from_fn(|i| (i as u8).wrapping_mul(11).wrapping_add(3));
    let mut secrets = Secrets::default();
    secrets.materials.insert(raw, "planted".into());
    secrets
        .passwords
        .insert("plantedPass123".into(), "planted".into());
    let scanner = Scanner::new(&secrets, &BTreeSet::new());
    let encodings = material_encodings(&raw);
    assert_eq!(encodings.len(), 15);
    for (name, needle) in &encodings {
        let mut text = b"{\"Message\": \"something ".to_vec();
        text.extend_from_slice(needle);
        text.extend_from_slice(b" and more\"}");
        let hits = scanner.scan(&text);
        assert!(!hits.is_empty(), "a planted key as {name} was not found");
        assert!(hits[0].what.contains("key material (planted)"), "{hits:?}");
    }
    // Inside a longer base64 blob at every alignment, in both alphabets.
    for prefix in 0..3 {
        for engine in [STANDARD, URL_SAFE] {
            let mut blob = vec![0x5au8; prefix];
            blob.extend_from_slice(&raw);
            blob.extend_from_slice(b"tail bytes");
            let text = format!("\"CiphertextBlob\":\"{}\"", engine.encode(&blob));
            assert!(
                !scanner.scan(text.as_bytes()).is_empty(),
                "a key at offset {prefix} of a base64 blob was not found"
            );
        }
    }
    // A password anywhere: a JSON member, a log line, a message.
    for text in [
        r#"{"KeyStorePassword":"plantedPass123"}"#,
        "2024-01-01 login kmsuser plantedPass123 ok",
        "Value 'plantedPass123' at 'keyStorePassword'",
    ] {
        let hits = scanner.scan(text.as_bytes());
        assert_eq!(hits.len(), 1, "{text}");
        assert!(hits[0].what.starts_with("password (planted)"));
        assert!(!hits[0].context.contains("plantedPass123"));
    }
    // Nothing where nothing was planted: another key, a prefix of the
    // password, an empty text.
    for (_, needle) in material_encodings(&other) {
        assert!(scanner.scan(&needle).is_empty());
    }
    assert!(scanner.scan(b"plantedPass12 plantedpass123").is_empty());
    assert!(scanner.scan(b"").is_empty());
    // A skipped password is not looked for; the key still is.
    let skip = BTreeSet::from(["plantedPass123".to_owned()]);
    let lenient = Scanner::new(&secrets, &skip);
    assert!(lenient.scan(b"plantedPass123").is_empty());
    assert!(!lenient.scan(STANDARD.encode(raw).as_bytes()).is_empty());
    // And a tally counts every hit as a leak.
    let mut tally = Tally::default();
    tally.check(&scanner, "planted", b"x plantedPass123 y");
    assert_eq!(tally.leaks.len(), 1);
}

/// Every key in a cluster right now (backups left out).
fn materials_in_clusters(engine: &Engine) -> BTreeSet<[u8; 32]> {
    engine.with_state(|st| {
        st.clusters
            .values()
            .flat_map(|c| c.keys.iter())
            .map(|k| *k.material.raw_bytes_for_leak_tests())
            .collect()
    })
}

/// Whether a password looks like one Connect made (32 letters or digits,
/// `IdGen::secret_password`); callers leave out those a person wrote.
fn is_engine_made(p: &str) -> bool {
    p.len() == 32 && p.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// What the suite run gives the process-level checks.
struct SuiteSecrets {
    /// Every secret of every scenario.
    all: Secrets,
    /// Passwords some scenario wrote (in a request or in its file).
    written: BTreeSet<String>,
    /// Passwords in some scenario's title.
    in_titles: BTreeSet<String>,
}

#[test]
fn no_secret_leaks_from_the_shipped_suite() {
    let started = Instant::now();
    crate::support::at_root();
    let found = suite::discover(&[PathBuf::from("scenarios"), PathBuf::from("features")]).unwrap();
    let loaded = suite::load_all(&found).unwrap_or_else(|e| panic!("cannot read: {e:?}"));

    let mut tally = Tally::default();
    let mut all = Secrets::default();
    let mut in_titles = BTreeSet::new();
    let mut titles = Vec::new();
    let mut results = Vec::new();
    let mut failed = Vec::new();
    // Snapshot file → what its scenario wrote (requests, source file).
    let mut own_texts_by_snapshot: BTreeMap<PathBuf, Vec<String>> = BTreeMap::new();
    let (mut scenarios, mut deleted) = (0usize, 0usize);

    for file in &loaded {
        let parsed = file
            .parsed
            .as_ref()
            .unwrap_or_else(|d| panic!("{} does not parse: {d:?}", file.path.display()));
        for scenario in &parsed.scenarios {
            scenarios += 1;
            titles.push(scenario.name.clone());
            let place = format!("{} › {}", file.name, scenario.name);
            let (outcome, recorder) = run_recorded(scenario, &file.path);
            recorder.harvest();
            let now = Secrets::of(recorder.engine());
            let state_file = recorder.engine().snapshot_json().unwrap();
            let trail = lookup_events_pages(recorder.engine());
            let log = std::mem::take(&mut *recorder.log.lock().unwrap());
            if let Some(f) = &outcome.failure {
                failed.push(format!("{place}: {}: {}", f.span, f.actual));
            }
            let snapshot = snapshot_result(&outcome, &file.path);
            if !snapshot.ok() {
                failed.push(format!("{place}: snapshot {snapshot:?}"));
            }

            let secrets = log.secrets;
            // What the scenario itself wrote: its requests and its file.
            let mut own_texts = log.requests.clone();
            own_texts.push(file.source.to_string());
            let wrote = written(&secrets, &own_texts);
            // Material deleted from its cluster (or whose cluster went) before
            // the end: known only because it was collected on the way.
            let in_clusters = materials_in_clusters(recorder.engine());
            deleted += secrets
                .materials
                .keys()
                .filter(|m| !in_clusters.contains(*m))
                .count();
            let strict = Scanner::new(&secrets, &BTreeSet::new());
            let lenient = Scanner::new(&secrets, &wrote);

            // The positive control: the engine's own state file holds every
            // secret the engine holds now (keys as base64, passwords as they
            // are), so the scanner must find each of them there.
            let control = Scanner::new(&now, &BTreeSet::new());
            let seen: BTreeSet<String> = control
                .scan(&state_file)
                .into_iter()
                .map(|h| h.what)
                .collect();
            let expected = now
                .materials
                .values()
                .map(|o| format!("key material ({o}) as base64"))
                .chain(now.passwords.values().map(|o| format!("password ({o})")));
            for e in expected {
                assert!(
                    seen.contains(&e),
                    "{place}: the scanner does not find {e} in the engine's state file: {seen:?}"
                );
            }

            // Responses, errors and trail events: no secret at all.
            for (what, text) in &log.texts {
                tally.check(&strict, &format!("{place}: {what}"), text.as_bytes());
            }
            for page in &trail {
                tally.check(&strict, &format!("{place}: LookupEvents"), page.as_bytes());
            }
            // Reports and the snapshot: passwords the scenario wrote may show
            // in step texts and titles.
            let result = ScenarioResult {
                path: file.path.clone(),
                name: file.name.clone(),
                source: file.source.clone(),
                run: Run::Ran {
                    outcome: Box::new(outcome.clone()),
                    total_steps: scenario.steps.len(),
                    snapshot,
                },
            };
            for (what, text) in reports(&result) {
                tally.check(&lenient, &format!("{place}: {what}"), text.as_bytes());
            }
            check_snapshot_text(
                &mut tally,
                &format!("{place}: snapshot"),
                &snapshot::render(&outcome),
                &strict,
                &lenient,
            );

            own_texts_by_snapshot.insert(snapshot::path(&file.path, &scenario.name), own_texts);
            all.merge(secrets);
            results.push(result);
        }
    }
    assert!(
        failed.is_empty(),
        "the shipped suite must pass through the recording target (a failure here \
         means the recorder changed behaviour, or the suite is red):\n{}",
        failed.join("\n")
    );
    let all_own_texts: Vec<String> = own_texts_by_snapshot.values().flatten().cloned().collect();
    let all_written = written(&all, &all_own_texts);
    for t in &titles {
        for p in all.passwords.keys() {
            if t.contains(p.as_str()) {
                in_titles.insert(p.clone());
            }
        }
    }

    // The whole suite's reports, as `hsmdrill run` writes them.
    let suite_result = SuiteResult { results };
    let lenient_all = Scanner::new(&all, &all_written);
    for (what, text) in [
        ("suite pretty report", report::pretty(&suite_result)),
        ("suite JSON report", report::json(&suite_result).unwrap()),
        ("suite JUnit report", report::junit(&suite_result)),
    ] {
        tally.check(&lenient_all, what, text.as_bytes());
    }

    // The committed snapshots: no password of any world or runbook in a
    // response; in a step line or the header, only one the scenario wrote.
    let passwords_only = Secrets {
        materials: BTreeMap::new(),
        passwords: all.passwords.clone(),
    };
    let strict_passwords = Scanner::new(&passwords_only, &BTreeSet::new());
    let mut snap_files = Vec::new();
    for dir in ["scenarios", "features"] {
        collect_snaps(Path::new(dir), &mut snap_files);
    }
    assert!(!snap_files.is_empty());
    let mut orphans = 0;
    for path in &snap_files {
        let text = fs::read_to_string(path).unwrap();
        // A snapshot no scenario makes (left behind by a rename) may show
        // what any scenario wrote.
        let skip = match own_texts_by_snapshot.get(path) {
            Some(own) => written(&all, own),
            None => {
                orphans += 1;
                all_written.clone()
            }
        };
        let lenient = Scanner::new(&passwords_only, &skip);
        check_snapshot_text(
            &mut tally,
            &path.display().to_string(),
            &text,
            &strict_passwords,
            &lenient,
        );
    }

    let rotated = all
        .passwords
        .keys()
        .filter(|p| is_engine_made(p) && !all_written.contains(*p))
        .count();
    let figures = SuiteSecrets {
        all,
        written: all_written,
        in_titles,
    };
    let binary_texts = check_binary_runs(&figures, &mut tally);

    eprintln!(
        "secrets: {scenarios} scenarios in {} files held {} key materials ({deleted} gone \
         from their cluster before their scenario ended) and {} passwords ({rotated} made by \
         connects, {} written in the scenarios themselves): {} byte strings in all encodings",
        loaded.len(),
        figures.all.materials.len(),
        figures.all.passwords.len(),
        figures.written.len(),
        lenient_all.needles(),
    );
    eprintln!(
        "secrets: scanned {} texts ({} bytes) for them: responses, errors, trail events, \
         reports, snapshots, {} committed .snap files ({orphans} made by no scenario) and \
         {binary_texts} outputs of the binary; {} leaks; {:.1} s",
        tally.texts,
        tally.bytes,
        snap_files.len(),
        tally.leaks.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        tally.leaks.is_empty(),
        "{} secrets leaked:\n{}",
        tally.leaks.len(),
        tally.leaks.join("\n")
    );
    assert!(
        deleted > 0,
        "R6/R7 delete key material: the harvest must have seen some before it went"
    );
    assert!(rotated > 0, "connects rotate kmsuser's password");
}

fn collect_snaps(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect_snaps(&p, out);
        } else if p.extension().is_some_and(|e| e == "snap") {
            out.push(p);
        }
    }
}

/// `hsmdrill run scenarios features` in every format: stdout and stderr
/// hold no password but those a scenario wrote (the JSON report shows step
/// texts) or, for the pretty and JUnit reports, has in its title. Returns
/// how many outputs were scanned.
fn check_binary_runs(secrets: &SuiteSecrets, tally: &mut Tally) -> usize {
    let passwords_only = Secrets {
        materials: BTreeMap::new(),
        passwords: secrets.all.passwords.clone(),
    };
    let mut scanned = 0;
    for (format, skip) in [
        ("json", &secrets.written),
        ("pretty", &secrets.in_titles),
        ("junit", &secrets.in_titles),
    ] {
        let out = hsmdrill()
            .args(["run", "scenarios", "features", "--format", format])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "hsmdrill run --format {format} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let scanner = Scanner::new(&passwords_only, skip);
        tally.check(
            &scanner,
            &format!("hsmdrill run --format {format}: stdout"),
            &out.stdout,
        );
        tally.check(
            &scanner,
            &format!("hsmdrill run --format {format}: stderr"),
            &out.stderr,
        );
        scanned += 2;
    }
    scanned
}

// ---------------------------------------------------------------------------
// The server

/// A `hsmdrill serve` child on the example world with `--state`.
fn served(state: &Path) -> ServeProcess {
    let world = crate::support::example_world();
    ServeProcess::start([
        "--connect-seconds".as_ref(),
        "1".as_ref(),
        "--world".as_ref(),
        world.as_os_str(),
        "--state".as_ref(),
        state.as_os_str(),
    ])
}

/// Drives a server and keeps every answer.
struct Client {
    addr: SocketAddr,
    /// (what, head + body).
    answers: Vec<(String, Vec<u8>)>,
}

impl Client {
    fn post(&mut self, what: &str, path: &str, target: Option<&str>, body: &Value) -> (u16, Value) {
        let mut headers = vec![("Content-Type", "application/x-amz-json-1.1")];
        if let Some(t) = target {
            headers.push(("X-Amz-Target", t));
        }
        let Response {
            status, head, body, ..
        } = request(
            self.addr,
            "POST",
            path,
            &headers,
            body.to_string().as_bytes(),
        )
        .unwrap();
        let mut text = head.into_bytes();
        text.extend_from_slice(b"\r\n\r\n");
        text.extend_from_slice(&body);
        self.answers.push((what.to_owned(), text));
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    fn kms(&mut self, op: &str, input: Value) -> (u16, Value) {
        self.post(op, "/", Some(&format!("TrentService.{op}")), &input)
    }

    fn ok(&mut self, op: &str, input: Value) -> Value {
        let (status, v) = self.kms(op, input);
        assert_eq!(status, 200, "{op}: {v}");
        v
    }

    fn fails(&mut self, op: &str, input: Value, exception: &str) {
        let (status, v) = self.kms(op, input);
        assert_eq!(status, 400, "{op}: {v}");
        assert_eq!(v["__type"], json!(exception), "{op}: {v}");
    }

    fn cli(&mut self, session: &str, command: &str) -> Value {
        let (status, v) = self.post(
            &format!("CloudHSM CLI `{command}`"),
            "/_hsmdrill/cloudhsm-cli",
            None,
            &json!({"ClusterId": CLUSTER, "Session": session, "Command": command}),
        );
        assert_eq!(status, 200, "{command}: {v}");
        v
    }
}

const STORE: &str = "cks-1234567890abcdef0";
const CLUSTER: &str = "cluster-1a23b4cdefg";

#[test]
fn no_secret_leaks_from_a_served_engine() {
    let dir = crate::support::temp_dir("secrets");
    let state = dir.path().join("state.json");
    let server = served(&state);
    let mut c = Client {
        addr: server.addr(),
        answers: Vec::new(),
    };
    // Every password this test sends, and the world's: none may come back
    // in an answer.
    let mut sent: Vec<String> = ["adminPassword1", "kmsPassword1", "serverPass123"]
        .map(String::from)
        .to_vec();

    c.ok("DescribeCustomKeyStores", json!({}));
    c.ok(
        "DisconnectCustomKeyStore",
        json!({"CustomKeyStoreId": STORE}),
    );
    let login = c.cli(
        "admin",
        "login --username admin --role admin --password adminPassword1",
    );
    assert_eq!(login["error_code"], json!(0), "{login}");
    c.cli(
        "admin",
        "user change-password --username kmsuser --role crypto-user --password serverPass123",
    );
    c.cli("admin", "user list");
    c.cli("admin", "logout");
    c.cli(
        "kms",
        "login --username kmsuser --role crypto-user --password serverPass123",
    );
    c.cli("kms", "logout");
    c.ok(
        "UpdateCustomKeyStore",
        json!({"CustomKeyStoreId": STORE, "KeyStorePassword": "serverPass123"}),
    );
    // Connect rotates kmsuser's password to a secret only the engine knows.
    c.ok("ConnectCustomKeyStore", json!({"CustomKeyStoreId": STORE}));
    c.post("settle", "/_hsmdrill/clock/settle", None, &json!({}));
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let d = c.ok(
            "DescribeCustomKeyStores",
            json!({"CustomKeyStoreId": STORE}),
        );
        if d["CustomKeyStores"][0]["ConnectionState"] == json!("CONNECTED") {
            break;
        }
        assert!(Instant::now() < deadline, "the store did not connect: {d}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let key = c.ok(
        "CreateKey",
        json!({"CustomKeyStoreId": STORE, "Origin": "AWS_CLOUDHSM", "Description": "leak test"}),
    )["KeyMetadata"]["KeyId"]
        .as_str()
        .unwrap()
        .to_owned();
    let blob = c.ok(
        "Encrypt",
        json!({"KeyId": key, "Plaintext": STANDARD.encode("hello")}),
    )["CiphertextBlob"]
        .clone();
    c.ok("Decrypt", json!({"CiphertextBlob": blob}));
    c.ok(
        "GenerateDataKey",
        json!({"KeyId": key, "KeySpec": "AES_256"}),
    );

    // Failing calls with passwords in them: the messages (and the trail)
    // must not repeat them.
    let failing: [(&str, Value, &str); 6] = [
        (
            "UpdateCustomKeyStore",
            json!({"CustomKeyStoreId": STORE, "KeyStorePassword": "connectedPass1"}),
            "CustomKeyStoreInvalidStateException",
        ),
        (
            "UpdateCustomKeyStore",
            json!({"CustomKeyStoreId": STORE, "KeyStorePassword": "short1"}),
            "ValidationException",
        ),
        (
            "UpdateCustomKeyStore",
            json!({"CustomKeyStoreId": STORE, "KeyStorePassword": "tooLongPassword0123456789abcdefgh"}),
            "ValidationException",
        ),
        (
            "CreateCustomKeyStore",
            json!({"CustomKeyStoreName": "Another", "CloudHsmClusterId": CLUSTER,
                   "TrustAnchorCertificate": "not a certificate", "KeyStorePassword": "createPass123"}),
            "CloudHsmClusterInUseException",
        ),
        (
            "CreateCustomKeyStore",
            json!({"CustomKeyStoreName": "Another", "CloudHsmClusterId": CLUSTER,
                   "TrustAnchorCertificate": "not a certificate", "KeyStorePassword": "short2"}),
            "ValidationException",
        ),
        // An all-digit password written without quotes: a JSON number.
        (
            "UpdateCustomKeyStore",
            json!({"CustomKeyStoreId": STORE, "KeyStorePassword": 73519264081u64}),
            "SerializationException",
        ),
    ];
    for (op, input, exception) in failing {
        sent.push(match &input["KeyStorePassword"] {
            Value::String(p) => p.clone(),
            other => other.to_string(),
        });
        c.fails(op, input, exception);
    }
    // The operator's password stopped working at the connect; changing it
    // while KMS is logged in is refused.
    let old = c.cli(
        "kms2",
        "login --username kmsuser --role crypto-user --password serverPass123",
    );
    assert_ne!(old["error_code"], json!(0), "{old}");
    c.cli(
        "admin2",
        "login --username admin --role admin --password adminPassword1",
    );
    let refused = c.cli(
        "admin2",
        "user change-password --username kmsuser --role crypto-user --password changePass123",
    );
    assert_ne!(refused["error_code"], json!(0), "{refused}");
    sent.push("changePass123".into());
    // A misspelt flag with its value inline.
    let typo = c.cli(
        "kms3",
        "login --username kmsuser --role crypto-user --pasword=typoPass123",
    );
    assert_ne!(typo["error_code"], json!(0), "{typo}");
    sent.push("typoPass123".into());

    // CloudHSM v2 (backups hold the material) and CloudTrail.
    c.post(
        "DescribeClusters",
        "/",
        Some("BaldrApiService.DescribeClusters"),
        &json!({}),
    );
    c.post(
        "DescribeBackups",
        "/",
        Some("BaldrApiService.DescribeBackups"),
        &json!({}),
    );
    let mut token = Value::Null;
    let mut events = 0;
    loop {
        let mut input = json!({"MaxResults": 50});
        if !token.is_null() {
            input["NextToken"] = token.clone();
        }
        let (status, page) = c.post(
            "LookupEvents",
            "/",
            Some("com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"),
            &input,
        );
        assert_eq!(status, 200, "{page}");
        events += page["Events"].as_array().map_or(0, Vec::len);
        token = page["NextToken"].clone();
        if token.is_null() {
            break;
        }
    }
    assert!(events > 10, "the trail holds the calls: {events}");
    let Response { head, body, .. } =
        request(c.addr, "GET", "/_hsmdrill/health", &[], b"").unwrap();
    c.answers
        .push(("health".into(), [head.into_bytes(), body].concat()));

    // The state file holds the secrets, and only its owner may read it.
    let bytes = fs::read(&state).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&state).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the state file holds secrets: mode {mode:o}");
    }
    let mut secrets = Secrets::default();
    Secrets::of_state_file(
        &serde_json::from_slice(&bytes).unwrap(),
        "state",
        &mut secrets,
    );
    let rotated = secrets
        .passwords
        .keys()
        .filter(|p| is_engine_made(p) && !sent.contains(p))
        .count();
    assert!(
        secrets.materials.len() >= 2,
        "the state file holds the world's key and the new one"
    );
    assert!(rotated >= 1, "the connect rotated kmsuser's password");
    for p in &sent {
        secrets
            .passwords
            .entry(p.clone())
            .or_insert_with(|| "sent in a request".into());
    }

    let (stdout, stderr) = server.stop();
    assert!(stdout.contains("shut down"), "{stdout}{stderr}");
    let scanner = Scanner::new(&secrets, &BTreeSet::new());
    let mut tally = Tally::default();
    for (what, text) in &c.answers {
        tally.check(&scanner, &format!("hsmdrill serve: {what}"), text);
    }
    tally.check(&scanner, "hsmdrill serve: stdout", stdout.as_bytes());
    tally.check(&scanner, "hsmdrill serve: stderr", stderr.as_bytes());
    // The positive control: the scanner sees the secrets in the state file.
    assert!(
        scanner.scan(&bytes).len() >= secrets.materials.len() + rotated,
        "the scanner must find the state file's secrets in it"
    );
    drop(dir);
    eprintln!(
        "secrets: hsmdrill serve: {} key materials and {} passwords ({rotated} rotated, {} sent) \
         looked for in {} answers, stdout and stderr ({} bytes, {events} trail events); {} leaks",
        secrets.materials.len(),
        secrets.passwords.len(),
        sent.len(),
        c.answers.len(),
        tally.bytes,
        tally.leaks.len()
    );
    assert!(
        tally.leaks.is_empty(),
        "{} secrets leaked:\n{}",
        tally.leaks.len(),
        tally.leaks.join("\n")
    );
}

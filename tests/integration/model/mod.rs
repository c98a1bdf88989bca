//! Model-based property test of the engine: random sequences of up to 40
//! steps run against the example world (`scenarios/worlds/example.yaml`, with
//! a random world seed) and, side by side, against a small reference model of
//! R1–R9.
//!
//! Steps: connect, disconnect and update (password, name, cluster) of the
//! custom key store, and CreateCustomKeyStore/DeleteCustomKeyStore where
//! they are refused (or repeat the store); CreateKey; Encrypt,
//! GenerateDataKey, Decrypt (of ciphertexts made earlier in the sequence),
//! ReEncrypt and GenerateRandom; Enable/Disable; Schedule/CancelKeyDeletion;
//! clock advances (past connect durations, HSM creation, deletion windows,
//! daily backups) and `settle`; CloudHSM CLI admin logins, `kmsuser`
//! password changes, good and bad `kmsuser` logins (five lock it), `key
//! delete` of a key's material, logouts; CreateHsm (up to the quota of 28),
//! DeleteHsm and DeleteCluster; backups taken, deleted, restored
//! (RestoreBackup) and clusters made from them (CreateCluster with
//! SourceBackupId); network faults (blocked, flaky, security group, KMS
//! internal errors, exhausted PKCS #11 sessions, a subnet out of addresses,
//! a destroyed cluster). A few runbook repairs (R5, R6/R8/R9, R7) come as
//! whole sub-sequences so they are reached often.
//!
//! Every step's outcome (success, or the exception name; a CLI line's
//! success or failure) must be the one the model predicts, and after every
//! step:
//! - every ciphertext decrypts (to its plaintext) exactly when its key is
//!   usable (KeyState `Enabled`, store `CONNECTED`) and its material is in the
//!   store's cluster with an active HSM, a free PKCS #11 session, a reachable
//!   network and `kmsuser` not locked out, both as observed through the
//!   engine and as the model predicts; otherwise the error is the model's;
//! - DescribeKey's KeyState follows R1 (`Unavailable` while the store is not
//!   CONNECTED unless `PendingDeletion`) and R7 (`Unavailable` too once the
//!   key's material has been missing from the store's cluster for
//!   `timing.key_material_unavailable_seconds`, docs/fidelity.md I53);
//! - DescribeCustomKeyStores carries `ConnectionErrorCode` exactly when
//!   ConnectionState is `FAILED`, and state and code are the model's;
//! - clusters, HSMs, backups and `kmsuser`'s lockout are the model's;
//! - no call panics, and every error is one of the operation's exceptions in
//!   `reference/aws-models/*-service-2.json` (or a common one).
//!
//! At the end of a sequence the trail's `DeleteKey` events must report the
//! model's `backingKeysDeletionStatus` (R6), and the same world seed and
//! sequence replayed on a fresh engine must give byte-identical responses
//! and trail (ciphertext and plaintext blobs, which use random nonces and
//! data keys, redacted).
//!
//! By default 48 sequences from a fixed proptest seed. More:
//! `HSMDRILL_MODEL_CASES=2000 cargo test --test integration -- model:: --nocapture`;
//! another fixed stream: `HSMDRILL_MODEL_SEED=<u64>`; how often each outcome
//! was reached: `HSMDRILL_MODEL_COVERAGE=1`. The figures (sequences, steps,
//! calls, decrypt checks, time) are printed at the end.
//!
//! Layout: this file holds the constants, the figures, the data every
//! other file works on (the reference model's state and a [`Run`]) and the
//! property; `reference.rs` and `clock.rs` how the reference model answers
//! and moves; `actions.rs` the steps and how they are drawn; `run.rs` a
//! sequence run on the engine and the model side by side, whose steps are
//! in `store_steps.rs`, `key_steps.rs`, `cloudhsm_steps.rs` and
//! `clock_and_faults.rs`, and whose checks after every step are in
//! `invariants.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use base64::engine::general_purpose::STANDARD as B64;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use serde_json::Value;

use hsmdrill::engine::Engine;

use crate::support::{CLOUDHSM_MODEL, EXAMPLE_WORLD, KMS_MODEL};

use actions::{actions, Action};
use run::fail;

mod actions;
mod clock;
mod clock_and_faults;
mod cloudhsm_steps;
mod invariants;
mod key_steps;
mod reference;
mod run;
mod store_steps;

const STORE: &str = "cks-1234567890abcdef0";
const KEY_ARN_PREFIX: &str = "arn:aws:kms:us-west-2:111122223333:key/";
const ADMIN_LOGIN: &str = "login --username admin --role admin --password adminPassword1";
/// A cluster id no cluster has (UpdateCustomKeyStore to it).
const BOGUS_CLUSTER: &str = "cluster-234567abcdefgh";
/// An HSM id no HSM has.
const BOGUS_HSM: &str = "hsm-234567abcdefg";

/// Default number of sequences.
const DEFAULT_CASES: u32 = 48;
/// Longest sequence.
const MAX_STEPS: usize = 40;
/// Ciphertexts kept for the decrypt checks (the oldest is dropped).
const MAX_CIPHERTEXTS: usize = 10;

/// Passwords the sequences use. `user change-password` sets one of the
/// first three; the last is never `kmsuser`'s password.
const PASSWORDS: [&str; 4] = [
    "kmsPassword1",
    "rotatedPass1",
    "rotatedPass2",
    "wrongPass99",
];
const WRONG: usize = 3;
const ZONES: [&str; 3] = ["us-west-2a", "us-west-2b", "us-west-2c"];

// The engine's default timings (checked against the engine's config).
const SECOND: i64 = 1000;
const DAY: i64 = 86_400 * SECOND;
const CONNECT_MS: i64 = 2 * SECOND;
const CLUSTER_CREATE_MS: i64 = 60 * SECOND;
const CLUSTER_DELETE_MS: i64 = 60 * SECOND;
const HSM_CREATE_MS: i64 = 60 * SECOND;
const BACKUP_MS: i64 = 60 * SECOND;
const BACKUP_INTERVAL_MS: i64 = DAY;
const BACKUP_PENDING_MS: i64 = 7 * DAY;
const MAX_HSMS_PER_CLUSTER: usize = 28;
/// Deleted key material until the key reads Unavailable (docs/fidelity.md
/// I53).
const MATERIAL_UNAVAILABLE_MS: i64 = 300 * SECOND;

// Exception names the model predicts.
const NOT_FOUND: &str = "NotFoundException";
const INVALID_STATE: &str = "KMSInvalidStateException";
const DISABLED: &str = "DisabledException";
const KMS_INTERNAL: &str = "KMSInternalException";
const INVALID_CIPHERTEXT: &str = "InvalidCiphertextException";
const VALIDATION: &str = "ValidationException";
const STORE_STATE: &str = "CustomKeyStoreInvalidStateException";
const NOT_ACTIVE: &str = "CloudHsmClusterNotActiveException";
const INVALID_CONFIG: &str = "CloudHsmClusterInvalidConfigurationException";
const CLUSTER_NOT_FOUND: &str = "CloudHsmClusterNotFoundException";
const HSM_NOT_FOUND: &str = "CloudHsmResourceNotFoundException";
const HSM_INVALID: &str = "CloudHsmInvalidRequestException";

/// What the model predicts for a call: success, or the exception name.
type Expect = Result<(), &'static str>;

// ---------------------------------------------------------------------------
// Figures for the summary line

static SEQUENCES: AtomicUsize = AtomicUsize::new(0);
static STEPS: AtomicUsize = AtomicUsize::new(0);
static CALLS: AtomicUsize = AtomicUsize::new(0);
static DECRYPT_CHECKS: AtomicUsize = AtomicUsize::new(0);
static DECRYPTED: AtomicUsize = AtomicUsize::new(0);

/// How often each outcome was seen (`Op -> result`, `store STATE[/CODE]`,
/// `key STATE`), to show what the sequences reach.
fn coverage() -> &'static Mutex<BTreeMap<String, usize>> {
    static SEEN: OnceLock<Mutex<BTreeMap<String, usize>>> = OnceLock::new();
    SEEN.get_or_init(|| Mutex::new(BTreeMap::new()))
}

fn seen(what: String) {
    *coverage().lock().unwrap().entry(what).or_insert(0) += 1;
}

// ---------------------------------------------------------------------------
// Each operation's exceptions, from the service models

fn modelled_errors() -> &'static BTreeMap<String, BTreeSet<String>> {
    static ERRORS: OnceLock<BTreeMap<String, BTreeSet<String>>> = OnceLock::new();
    ERRORS.get_or_init(|| {
        let mut out = BTreeMap::new();
        for path in [KMS_MODEL, CLOUDHSM_MODEL] {
            let text = std::fs::read_to_string(path)
                .unwrap_or_else(|e| panic!("cannot read the service model {path}: {e}"));
            let model: Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
            for (op, shape) in model["operations"].as_object().unwrap() {
                let errors: BTreeSet<String> = shape["errors"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|e| e["shape"].as_str().unwrap().to_owned())
                            .collect()
                    })
                    .unwrap_or_default();
                out.insert(op.clone(), errors);
            }
        }
        out
    })
}

/// The errors any AWS JSON service may return without modelling them (as in
/// robustness.rs).
const COMMON_ERRORS: &[&str] = &[
    "ValidationException",
    "SerializationException",
    "ThrottlingException",
    "UnknownOperationException",
];

type TestResult = Result<(), TestCaseError>;

// ---------------------------------------------------------------------------
// The reference model's state (its behaviour: `reference.rs`, `clock.rs`)

#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum Pw {
    /// One of [`PASSWORDS`].
    Known(usize),
    /// A secret KMS rotated to on connect; equal secrets are the same one.
    Secret(u32),
}

#[derive(Clone, Debug)]
struct MUser {
    pw: Pw,
    failures: u32,
    locked: bool,
}

#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum Conn {
    Disconnected,
    Connecting(i64),
    Connected,
    Failed(&'static str),
}

#[derive(Clone, Debug)]
struct MStore {
    name: &'static str,
    trust_anchor: String,
    cluster: usize,
    pw: Pw,
    conn: Conn,
}

#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum CState {
    Creating(i64),
    Active,
    /// DeleteCluster until the instant.
    Deleting(i64),
    Deleted,
}

#[derive(Clone, Debug)]
struct MHsm {
    id: String,
    az: String,
    subnet: String,
    /// `Some(t)` while being created (until `t`).
    ready_at: Option<i64>,
    /// Every PKCS #11 session held by ExhaustSessions.
    exhausted: bool,
}

#[derive(Clone, Debug)]
struct MCluster {
    id: String,
    state: CState,
    hsms: Vec<MHsm>,
    /// Availability Zone → subnet.
    subnets: BTreeMap<String, String>,
    kmsuser: MUser,
    /// KMS key ids whose backing key is in the cluster.
    material: BTreeSet<String>,
    /// KMS logged in as `kmsuser` (the store's session).
    kms_login: bool,
    /// CLI session `ops` logged in as admin.
    ops_admin: bool,
    /// CLI session `ku` logged in as `kmsuser`.
    ku_kmsuser: bool,
    blocked: bool,
    flaky: u32,
    sg_ok: bool,
    internal_errors: u32,
    next_backup: i64,
}

#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum BState {
    Creating(i64),
    Ready,
    PendingDeletion(i64),
    Deleted,
}

#[derive(Clone, Debug)]
struct MBackup {
    /// Learned from the response or from DescribeBackups.
    id: Option<String>,
    cluster: usize,
    created: i64,
    state: BState,
    material: BTreeSet<String>,
    kmsuser: MUser,
}

#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum KStatus {
    Enabled,
    Disabled,
    Pending(i64),
}

#[derive(Clone, Debug)]
struct MKey {
    id: String,
    status: KStatus,
    deleted: bool,
    /// R7: since when the key's material is missing from the store's
    /// cluster (docs/fidelity.md F25, I53); `None` while it is there.
    missing_since: Option<i64>,
}

#[derive(Clone, Debug)]
struct Ct {
    blob: String,
    plaintext: Vec<u8>,
    key: usize,
    context: Value,
}

/// Due work, in the engine's tie-break order (time, kind, id).
#[derive(Clone, Debug, Eq, Ord, PartialEq, PartialOrd)]
enum Work {
    Cluster(String, usize),
    Hsm(String, String, usize, usize),
    Backup(usize),
    DailyBackup(String, usize),
    Store,
    KeyDeletion(String, usize),
}

#[derive(Clone, Debug)]
struct Model {
    now: i64,
    store: MStore,
    clusters: Vec<MCluster>,
    backups: Vec<MBackup>,
    keys: Vec<MKey>,
    /// Subnet → free addresses.
    free: BTreeMap<String, u32>,
    cts: Vec<Ct>,
    secrets: u32,
    /// R6: each key deleted at the end of its waiting period, with whether
    /// its material was deleted from the cluster.
    deletions: Vec<(String, &'static str)>,
}

/// A sequence run on the engine and the model side by side (`run.rs`).
struct Run {
    e: Engine,
    m: Model,
    transcript: Vec<String>,
    /// The step being run (numbers plaintexts and contexts).
    step: usize,
    calls: usize,
    decrypt_checks: usize,
    decrypted: usize,
    /// Whether the invariants are being checked (not a step).
    checking: bool,
    /// Whether to count outcomes (the first of the two runs).
    record: bool,
}

// ---------------------------------------------------------------------------
// The property

fn cases() -> u32 {
    std::env::var("HSMDRILL_MODEL_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(DEFAULT_CASES)
}

fn rng() -> TestRng {
    match std::env::var("HSMDRILL_MODEL_SEED")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
    {
        Some(seed) => {
            let mut bytes = [0u8; 32];
            bytes[..8].copy_from_slice(&seed.to_le_bytes());
            TestRng::from_seed(RngAlgorithm::ChaCha, &bytes)
        }
        None => TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    }
}

fn first_difference(a: &[String], b: &[String]) -> Option<usize> {
    (0..a.len().max(b.len())).find(|&i| a.get(i) != b.get(i))
}

fn check_sequence(world_seed: u64, actions: &[Action]) -> TestResult {
    let mut first = Run::new(world_seed);
    first.record = true;
    let first = first.play(actions)?;
    let second = Run::new(world_seed).play(actions)?;
    if let Some(i) = first_difference(&first.transcript, &second.transcript) {
        return Err(fail(format!(
            "replaying world seed {world_seed} gave a different response at line {i}:\n  first:  {:?}\n  second: {:?}",
            first.transcript.get(i),
            second.transcript.get(i)
        )));
    }
    SEQUENCES.fetch_add(1, Ordering::Relaxed);
    STEPS.fetch_add(actions.len(), Ordering::Relaxed);
    CALLS.fetch_add(first.calls + second.calls, Ordering::Relaxed);
    DECRYPT_CHECKS.fetch_add(first.decrypt_checks, Ordering::Relaxed);
    DECRYPTED.fetch_add(first.decrypted, Ordering::Relaxed);
    Ok(())
}

fn run_property<S>(cases: u32, strategy: S, test: impl Fn(S::Value) -> TestResult)
where
    S: Strategy,
    S::Value: Debug,
{
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(config, rng());
    if let Err(e) = runner.run(&strategy, test) {
        panic!("{e}");
    }
}

#[test]
fn random_sequences_agree_with_the_model_and_keep_the_invariants() {
    let started = Instant::now();
    let cases = cases();
    run_property(cases, (0u64..1000, actions()), |(seed, actions)| {
        check_sequence(seed, &actions)
    });
    eprintln!(
        "model: {} sequences, {} steps, {} engine calls, {} decrypt checks ({} decrypted) in {:.1?}",
        SEQUENCES.load(Ordering::Relaxed),
        STEPS.load(Ordering::Relaxed),
        CALLS.load(Ordering::Relaxed),
        DECRYPT_CHECKS.load(Ordering::Relaxed),
        DECRYPTED.load(Ordering::Relaxed),
        started.elapsed()
    );
    if std::env::var_os("HSMDRILL_MODEL_COVERAGE").is_some() {
        for (what, n) in coverage().lock().unwrap().iter() {
            eprintln!("{n:>8}  {what}");
        }
    }
}

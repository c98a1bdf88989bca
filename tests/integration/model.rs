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
//!   CONNECTED unless `PendingDeletion`);
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

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use serde_json::{json, Value};

use hsmdrill::engine::cloudhsm::users::{Lockout, SessionId, User};
use hsmdrill::engine::faults::Fault;
use hsmdrill::engine::kms::KMSUSER;
use hsmdrill::engine::network::NetworkCondition;
use hsmdrill::engine::{world, Engine, Error, ErrorKind};

use crate::support::{CLOUDHSM_MODEL, EXAMPLE_WORLD, KMS_MODEL};

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

// ---------------------------------------------------------------------------
// The reference model

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

impl MUser {
    fn failed_login(&mut self) {
        if !self.locked {
            self.failures += 1;
            if self.failures >= 5 {
                self.locked = true;
                self.failures = 0;
            }
        }
    }

    fn set_password(&mut self, pw: Pw) {
        self.pw = pw;
        self.failures = 0;
        self.locked = false;
    }
}

#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum Conn {
    Disconnected,
    Connecting(i64),
    Connected,
    Failed(&'static str),
}

impl Conn {
    fn name(self) -> &'static str {
        match self {
            Conn::Disconnected => "DISCONNECTED",
            Conn::Connecting(_) => "CONNECTING",
            Conn::Connected => "CONNECTED",
            Conn::Failed(_) => "FAILED",
        }
    }
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

impl MHsm {
    fn active(&self) -> bool {
        self.ready_at.is_none()
    }
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

impl MCluster {
    /// One call across the network path (a flaky link fails and heals).
    fn cross(&mut self) -> bool {
        if self.blocked {
            return false;
        }
        if self.flaky == 0 {
            return true;
        }
        self.flaky -= 1;
        false
    }

    fn exists(&self) -> bool {
        matches!(self.state, CState::Creating(_) | CState::Active)
    }

    fn active_hsms(&self) -> impl Iterator<Item = &MHsm> {
        self.hsms.iter().filter(|h| h.active())
    }

    fn active_zones(&self) -> usize {
        self.active_hsms()
            .map(|h| h.az.as_str())
            .collect::<BTreeSet<_>>()
            .len()
    }

    fn state_name(&self) -> &'static str {
        match self.state {
            CState::Creating(_) => "CREATE_IN_PROGRESS",
            CState::Active => "ACTIVE",
            CState::Deleting(_) => "DELETE_IN_PROGRESS",
            CState::Deleted => "DELETED",
        }
    }
}

#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum BState {
    Creating(i64),
    Ready,
    PendingDeletion(i64),
    Deleted,
}

impl BState {
    fn name(self) -> &'static str {
        match self {
            BState::Creating(_) => "CREATE_IN_PROGRESS",
            BState::Ready => "READY",
            BState::PendingDeletion(_) => "PENDING_DELETION",
            BState::Deleted => "DELETED",
        }
    }
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
}

impl MKey {
    fn arn(&self) -> String {
        format!("{KEY_ARN_PREFIX}{}", self.id)
    }
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

impl Model {
    /// The model of the world as loaded, read once from the engine.
    fn observe_initial(e: &Engine) -> Model {
        e.with_state(|st| {
            let mut secrets: Vec<String> = Vec::new();
            let mut pw = |p: &Option<String>| -> Pw {
                let p = p.clone().expect("a password");
                match PASSWORDS.iter().position(|k| *k == p) {
                    Some(i) => Pw::Known(i),
                    None => {
                        let n = secrets.iter().position(|s| *s == p).unwrap_or_else(|| {
                            secrets.push(p.clone());
                            secrets.len() - 1
                        });
                        Pw::Secret(u32::try_from(n).unwrap())
                    }
                }
            };
            let mut user = |u: Option<&User>| -> MUser {
                let u = u.expect("kmsuser");
                let (failures, locked) = match u.lockout {
                    Lockout::Open { failures } => (failures, false),
                    Lockout::Locked => (0, true),
                };
                MUser {
                    pw: pw(&u.password),
                    failures,
                    locked,
                }
            };
            let key_of_label = |l: &str| l.strip_prefix(KEY_ARN_PREFIX).unwrap().to_owned();
            let cluster_ids: Vec<String> = st.clusters.keys().cloned().collect();
            let clusters: Vec<MCluster> = st
                .clusters
                .values()
                .map(|c| {
                    assert_eq!(c.state.as_str(), "ACTIVE");
                    MCluster {
                        id: c.id.clone(),
                        state: CState::Active,
                        hsms: c
                            .hsms
                            .iter()
                            .map(|h| {
                                assert_eq!(h.state.as_str(), "ACTIVE");
                                MHsm {
                                    id: h.id.clone(),
                                    az: h.availability_zone.clone(),
                                    subnet: h.subnet_id.clone(),
                                    ready_at: None,
                                    exhausted: false,
                                }
                            })
                            .collect(),
                        subnets: c.subnet_mapping.clone(),
                        kmsuser: user(c.users.get(KMSUSER)),
                        material: c.keys.iter().map(|k| key_of_label(&k.label)).collect(),
                        kms_login: c
                            .users
                            .logged_in(&SessionId::Kms(STORE.to_owned()))
                            .is_some(),
                        ops_admin: false,
                        ku_kmsuser: false,
                        blocked: false,
                        flaky: 0,
                        sg_ok: c.security_group_ok,
                        internal_errors: c.internal_errors,
                        next_backup: c.next_backup_at.as_millis(),
                    }
                })
                .collect();
            let backups = st
                .backups
                .values()
                .map(|b| {
                    assert_eq!(b.state.as_str(), "READY");
                    MBackup {
                        id: Some(b.id.clone()),
                        cluster: cluster_ids.iter().position(|c| *c == b.cluster_id).unwrap(),
                        created: b.create_timestamp.as_millis(),
                        state: BState::Ready,
                        material: b
                            .contents
                            .keys
                            .iter()
                            .map(|k| key_of_label(&k.label))
                            .collect(),
                        kmsuser: user(b.contents.users.get(KMSUSER)),
                    }
                })
                .collect();
            let keys = st
                .keys
                .values()
                .map(|k| MKey {
                    id: k.id.to_string(),
                    status: KStatus::Enabled,
                    deleted: false,
                })
                .collect();
            let s = &st.stores[STORE];
            assert_eq!(s.state.as_str(), "CONNECTED");
            let store = MStore {
                name: "ExampleKeyStore",
                trust_anchor: s.trust_anchor.clone(),
                cluster: cluster_ids.iter().position(|c| *c == s.cluster_id).unwrap(),
                pw: pw(&Some(s.password.clone())),
                conn: Conn::Connected,
            };
            Model {
                now: e.now().as_millis(),
                store,
                clusters,
                backups,
                keys,
                free: st
                    .subnets
                    .iter()
                    .map(|(id, s)| (id.clone(), s.free_addresses))
                    .collect(),
                cts: Vec::new(),
                secrets: u32::try_from(secrets.len()).unwrap(),
                deletions: Vec::new(),
            }
        })
    }

    fn store_cluster(&mut self) -> &mut MCluster {
        &mut self.clusters[self.store.cluster]
    }

    fn take_address(&mut self, subnet: &str) -> bool {
        match self.free.get_mut(subnet) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            Some(_) | None => false,
        }
    }

    fn release_address(&mut self, subnet: &str) {
        if let Some(n) = self.free.get_mut(subnet) {
            *n = n.saturating_add(1);
        }
    }

    /// What DescribeKey shows (R1).
    fn visible(&self, k: usize) -> &'static str {
        match self.keys[k].status {
            KStatus::Pending(_) => "PendingDeletion",
            KStatus::Enabled | KStatus::Disabled if self.store.conn != Conn::Connected => {
                "Unavailable"
            }
            KStatus::Enabled => "Enabled",
            KStatus::Disabled => "Disabled",
        }
    }

    /// A cryptographic operation with key `k` (R1, R2, R4, R7), consuming a
    /// crossing of the network path where the engine makes one.
    fn crypto(&mut self, k: usize) -> Expect {
        let key = &self.keys[k];
        if key.deleted {
            return Err(NOT_FOUND);
        }
        let connected = self.store.conn == Conn::Connected;
        match key.status {
            KStatus::Pending(_) => return Err(INVALID_STATE),
            KStatus::Enabled | KStatus::Disabled if !connected => return Err(INVALID_STATE),
            KStatus::Disabled => return Err(DISABLED),
            KStatus::Enabled => {}
        }
        let id = key.id.clone();
        let c = self.store_cluster();
        if !c.exists() || !c.sg_ok || !c.cross() || c.kmsuser.locked {
            return Err(INVALID_STATE);
        }
        if c.active_hsms().next().is_none() || !c.material.contains(&id) {
            return Err(INVALID_STATE);
        }
        if c.active_hsms().all(|h| h.exhausted) {
            return Err(KMS_INTERNAL);
        }
        Ok(())
    }

    /// Pending work; `transitional_only` as `Engine::settle` counts it.
    fn pending(&self, transitional_only: bool) -> Vec<(i64, Work)> {
        let mut out = Vec::new();
        for (ci, c) in self.clusters.iter().enumerate() {
            if let CState::Creating(t) | CState::Deleting(t) = c.state {
                out.push((t, Work::Cluster(c.id.clone(), ci)));
            }
            for (hi, h) in c.hsms.iter().enumerate() {
                if let Some(t) = h.ready_at {
                    out.push((t, Work::Hsm(c.id.clone(), h.id.clone(), ci, hi)));
                }
            }
            if !transitional_only && c.state == CState::Active {
                out.push((c.next_backup, Work::DailyBackup(c.id.clone(), ci)));
            }
        }
        for (bi, b) in self.backups.iter().enumerate() {
            match b.state {
                BState::Creating(t) => out.push((t, Work::Backup(bi))),
                BState::PendingDeletion(t) if !transitional_only => {
                    out.push((t, Work::Backup(bi)));
                }
                BState::PendingDeletion(_) | BState::Ready | BState::Deleted => {}
            }
        }
        if let Conn::Connecting(t) = self.store.conn {
            out.push((t, Work::Store));
        }
        if !transitional_only {
            for (ki, k) in self.keys.iter().enumerate() {
                if let (KStatus::Pending(t), false) = (k.status, k.deleted) {
                    out.push((t, Work::KeyDeletion(k.id.clone(), ki)));
                }
            }
        }
        out
    }

    fn catch_up(&mut self) {
        while let Some((at, work)) = self
            .pending(false)
            .into_iter()
            .filter(|(t, _)| *t <= self.now)
            .min()
        {
            self.work(at, work);
        }
    }

    fn advance(&mut self, ms: i64) {
        self.now += ms;
        self.catch_up();
    }

    /// `Engine::settle`; returns how far the clock moved.
    fn settle(&mut self) -> i64 {
        let start = self.now;
        loop {
            self.catch_up();
            match self.pending(true).into_iter().map(|(t, _)| t).min() {
                Some(t) if t > self.now => self.now = t,
                Some(_) | None => break,
            }
        }
        self.now - start
    }

    fn work(&mut self, at: i64, work: Work) {
        match work {
            Work::Cluster(_, ci) => {
                let c = &mut self.clusters[ci];
                if let CState::Deleting(_) = c.state {
                    c.state = CState::Deleted;
                    c.kms_login = false;
                    c.ops_admin = false;
                    c.ku_kmsuser = false;
                } else {
                    c.state = CState::Active;
                    c.next_backup = at + BACKUP_INTERVAL_MS;
                }
            }
            Work::Hsm(_, _, ci, hi) => self.clusters[ci].hsms[hi].ready_at = None,
            Work::Backup(bi) => {
                let b = &mut self.backups[bi];
                b.state = match b.state {
                    BState::Creating(_) => BState::Ready,
                    BState::PendingDeletion(_) | BState::Ready | BState::Deleted => BState::Deleted,
                };
            }
            Work::DailyBackup(_, ci) => {
                if self.clusters[ci].active_hsms().next().is_some() {
                    self.take_backup(ci, at);
                }
                self.clusters[ci].next_backup = at + BACKUP_INTERVAL_MS;
            }
            Work::Store => {
                self.store.conn = match self.judge_connect() {
                    None => Conn::Connected,
                    Some(code) => Conn::Failed(code),
                };
            }
            Work::KeyDeletion(_, ki) => self.delete_key(ki),
        }
    }

    fn take_backup(&mut self, ci: usize, at: i64) {
        let c = &self.clusters[ci];
        self.backups.push(MBackup {
            id: None,
            cluster: ci,
            created: at,
            state: BState::Creating(at + BACKUP_MS),
            material: c.material.clone(),
            kmsuser: c.kmsuser.clone(),
        });
    }

    /// R3/R5/R9: the connect attempt judged when its time is up.
    fn judge_connect(&mut self) -> Option<&'static str> {
        let store_pw = self.store.pw;
        let ci = self.store.cluster;
        let c = &mut self.clusters[ci];
        if !c.exists() {
            return Some("CLUSTER_NOT_FOUND");
        }
        if c.internal_errors > 0 {
            c.internal_errors -= 1;
            return Some("INTERNAL_ERROR");
        }
        if c.active_hsms().next().is_none() {
            return Some("INSUFFICIENT_CLOUDHSM_HSMS");
        }
        let subnets: Vec<String> = c.subnets.values().cloned().collect();
        if subnets.iter().any(|s| self.free.get(s) == Some(&0)) {
            return Some("INSUFFICIENT_FREE_ADDRESSES_IN_SUBNET");
        }
        let c = &mut self.clusters[ci];
        if !c.sg_ok || !c.cross() {
            return Some("NETWORK_ERRORS");
        }
        if c.kmsuser.locked {
            return Some("USER_LOCKED_OUT");
        }
        if c.ku_kmsuser {
            return Some("USER_LOGGED_IN");
        }
        if !c.kms_login {
            if c.kmsuser.pw != store_pw {
                c.kmsuser.failed_login();
                return Some("INVALID_CREDENTIALS");
            }
            c.kms_login = true;
            c.kmsuser.failures = 0;
        }
        let secret = Pw::Secret(self.secrets);
        self.secrets += 1;
        self.clusters[ci].kmsuser.set_password(secret);
        self.store.pw = secret;
        for s in &subnets {
            self.take_address(s);
        }
        None
    }

    /// R6: the end of the waiting period.
    fn delete_key(&mut self, ki: usize) {
        self.keys[ki].deleted = true;
        let id = self.keys[ki].id.clone();
        let connected = self.store.conn == Conn::Connected;
        let c = self.store_cluster();
        let deleted = connected
            && c.exists()
            && c.sg_ok
            && c.cross()
            && c.active_hsms().next().is_some()
            && c.kms_login
            && !c.kmsuser.locked
            && c.material.remove(&id);
        let status = if deleted { "SUCCESS" } else { "FAILURE" };
        self.deletions.push((id, status));
    }
}

// ---------------------------------------------------------------------------
// Steps

#[derive(Clone, Copy, Debug)]
enum Target {
    /// The store's cluster.
    Store,
    /// The cluster made last.
    Newest,
    /// Any cluster.
    Any(Index),
}

#[derive(Clone, Copy, Debug)]
enum Session {
    Ops,
    Ku,
}

impl Session {
    fn name(self) -> &'static str {
        match self {
            Session::Ops => "ops",
            Session::Ku => "ku",
        }
    }
}

#[derive(Clone, Debug)]
enum Action {
    Connect,
    Disconnect,
    /// UpdateCustomKeyStore KeyStorePassword.
    UpdatePassword(usize),
    /// UpdateCustomKeyStore NewCustomKeyStoreName.
    Rename(bool),
    /// UpdateCustomKeyStore CloudHsmClusterId (`None`: an unknown cluster).
    UpdateCluster(Option<Target>),
    /// CreateCustomKeyStore with the store's name (or another), a cluster
    /// and a password: refused (every cluster shares the store's backup
    /// history), or the store's own id when it repeats the store.
    CreateStore(bool, Target, usize),
    /// DeleteCustomKeyStore while it is refused (skipped when it would
    /// succeed).
    DeleteStore,
    CreateKey,
    /// Encrypt by key id (or ARN).
    Encrypt(Index, bool),
    GenerateDataKey(Index),
    /// Decrypt (with a wrong encryption context).
    Decrypt(Index, bool),
    /// ReEncrypt a ciphertext to a key.
    ReEncrypt(Index, Index),
    /// GenerateRandom in the store's cluster.
    GenerateRandom,
    Enable(Index),
    Disable(Index),
    Schedule(Index, i64),
    Cancel(Index),
    /// Seconds.
    Advance(u64),
    Settle,
    CliAdminLogin,
    CliLogout(Session),
    /// Admin `user change-password` for kmsuser.
    CliChangePassword(usize),
    /// `login` as kmsuser with its password (true) or a wrong one.
    CliKmsuserLogin(bool),
    /// That many logins as kmsuser with a wrong password.
    CliBadLogins(u32),
    /// `key delete` of a key's material as kmsuser.
    CliDeleteMaterial(Index),
    CreateHsm(Target, usize),
    DeleteHsm(Target, Index),
    TakeBackup(Target),
    DeleteBackup(Index),
    RestoreBackup(Index),
    ClusterFromBackup(Index),
    Network(Target, NetworkCondition),
    SecurityGroup(Target, bool),
    InternalErrors(Target, u32),
    ExhaustSessions(Target),
    ReleaseSessions(Target),
    DestroyCluster(Target),
    /// DeleteCluster (the CloudHSM v2 API).
    DeleteCluster(Target),
    /// Free addresses of the original cluster's subnet in zone a or b.
    FreeAddresses(usize, u32),
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        6 => Just(Target::Store),
        2 => Just(Target::Newest),
        1 => any::<Index>().prop_map(Target::Any),
    ]
}

fn advance_seconds() -> impl Strategy<Value = u64> {
    prop_oneof![
        3 => Just(1u64),
        4 => Just(2),
        2 => Just(3),
        3 => Just(60),
        2 => Just(61),
        1 => Just(3600),
        2 => Just(86_400),
        1 => Just(7 * 86_400 + 1),
        1 => Just(8 * 86_400),
        1 => Just(31 * 86_400),
    ]
}

fn action() -> BoxedStrategy<Action> {
    use Action::*;
    let days = prop_oneof![12 => 7i64..=30, 1 => Just(6i64), 1 => Just(31i64)];
    let network = prop_oneof![
        2 => Just(NetworkCondition::Blocked),
        3 => Just(NetworkCondition::Ok),
        2 => (1u32..4).prop_map(NetworkCondition::Flaky),
    ];
    prop_oneof![
        6 => Just(Connect),
        2 => Just(Disconnect),
        2 => (0..PASSWORDS.len()).prop_map(UpdatePassword),
        1 => any::<bool>().prop_map(Rename),
        1 => prop::option::weighted(0.8, target()).prop_map(UpdateCluster),
        1 => (prop::bool::weighted(0.7), target(), 0..PASSWORDS.len())
            .prop_map(|(same, t, p)| CreateStore(same, t, p)),
        1 => Just(DeleteStore),
        4 => Just(CreateKey),
        8 => (any::<Index>(), any::<bool>()).prop_map(|(k, arn)| Encrypt(k, arn)),
        3 => any::<Index>().prop_map(GenerateDataKey),
        3 => (any::<Index>(), prop::bool::weighted(0.2)).prop_map(|(c, w)| Decrypt(c, w)),
        2 => (any::<Index>(), any::<Index>()).prop_map(|(c, k)| ReEncrypt(c, k)),
        2 => Just(GenerateRandom),
        2 => any::<Index>().prop_map(Enable),
        2 => any::<Index>().prop_map(Disable),
        1 => (any::<Index>(), days).prop_map(|(k, d)| Schedule(k, d)),
        2 => any::<Index>().prop_map(Cancel),
        6 => advance_seconds().prop_map(Advance),
        4 => Just(Settle),
        2 => Just(CliAdminLogin),
        1 => prop_oneof![Just(Session::Ops), Just(Session::Ku)].prop_map(CliLogout),
        2 => (0..WRONG).prop_map(CliChangePassword),
        2 => any::<bool>().prop_map(CliKmsuserLogin),
        2 => (1u32..=5).prop_map(CliBadLogins),
        1 => any::<Index>().prop_map(CliDeleteMaterial),
        2 => (target(), 0..ZONES.len()).prop_map(|(t, z)| CreateHsm(t, z)),
        2 => (target(), any::<Index>()).prop_map(|(t, h)| DeleteHsm(t, h)),
        2 => target().prop_map(TakeBackup),
        1 => any::<Index>().prop_map(DeleteBackup),
        1 => any::<Index>().prop_map(RestoreBackup),
        1 => any::<Index>().prop_map(ClusterFromBackup),
        2 => (target(), network).prop_map(|(t, n)| Network(t, n)),
        1 => (target(), any::<bool>()).prop_map(|(t, ok)| SecurityGroup(t, ok)),
        1 => (target(), 1u32..3).prop_map(|(t, n)| InternalErrors(t, n)),
        1 => target().prop_map(ExhaustSessions),
        1 => target().prop_map(ReleaseSessions),
        1 => target().prop_map(DestroyCluster),
        1 => target().prop_map(DeleteCluster),
        1 => (0usize..2, prop_oneof![Just(0u32), Just(250u32)])
            .prop_map(|(z, n)| FreeAddresses(z, n)),
    ]
    .boxed()
}

/// R5: disconnect, reset kmsuser's password, tell KMS, reconnect.
fn repair_kmsuser(p: usize) -> Vec<Action> {
    use Action::*;
    vec![
        Disconnect,
        CliAdminLogin,
        CliChangePassword(p),
        CliLogout(Session::Ops),
        UpdatePassword(p),
        CreateStore(true, Target::Store, p),
        Connect,
        Settle,
    ]
}

/// R6/R8/R9: log in as kmsuser, delete a key's material, log out, reconnect.
fn delete_material(k: Index, p: usize) -> Vec<Action> {
    use Action::*;
    vec![
        Disconnect,
        CliAdminLogin,
        CliChangePassword(p),
        CliLogout(Session::Ops),
        CliKmsuserLogin(true),
        CliDeleteMaterial(k),
        CliLogout(Session::Ku),
        UpdatePassword(p),
        Connect,
        Settle,
    ]
}

/// R9: a kmsuser CLI session left logged in makes the reconnect fail.
fn forget_logout(p: usize) -> Vec<Action> {
    use Action::*;
    vec![
        Disconnect,
        CliAdminLogin,
        CliChangePassword(p),
        CliLogout(Session::Ops),
        CliKmsuserLogin(true),
        UpdatePassword(p),
        Connect,
        Settle,
    ]
}

/// R2/R3: every HSM of the store's cluster removed.
fn remove_hsms(h: Index, k: Index) -> Vec<Action> {
    use Action::*;
    vec![
        DeleteHsm(Target::Store, h),
        DeleteHsm(Target::Store, h),
        Encrypt(k, false),
        Disconnect,
        Connect,
        Settle,
    ]
}

/// HSMs added to the store's cluster until CloudHSM's quota of 28 per
/// cluster refuses one.
fn fill_cluster(z: usize) -> Vec<Action> {
    vec![Action::CreateHsm(Target::Store, z); MAX_HSMS_PER_CLUSTER - 1]
}

/// R7: a cluster from a backup, two HSMs, the store moved to it.
fn recover_from_backup(b: Index) -> Vec<Action> {
    use Action::*;
    vec![
        ClusterFromBackup(b),
        Settle,
        CreateHsm(Target::Newest, 0),
        CreateHsm(Target::Newest, 1),
        Settle,
        Disconnect,
        UpdateCluster(Some(Target::Newest)),
        Connect,
        Settle,
    ]
}

fn actions() -> impl Strategy<Value = Vec<Action>> {
    let chunk = prop_oneof![
        240 => action().prop_map(|a| vec![a]),
        16 => Just(vec![Action::Connect, Action::Settle]),
        4 => (0..WRONG).prop_map(forget_logout),
        4 => (any::<Index>(), any::<Index>()).prop_map(|(h, k)| remove_hsms(h, k)),
        8 => (0..WRONG).prop_map(repair_kmsuser),
        8 => (any::<Index>(), 0..WRONG).prop_map(|(k, p)| delete_material(k, p)),
        8 => any::<Index>().prop_map(recover_from_backup),
        1 => (0usize..2).prop_map(fill_cluster),
        8 => (any::<Index>(), 7i64..=30).prop_map(|(k, d)| {
            vec![
                Action::Schedule(k, d),
                Action::Advance(u64::try_from(d).unwrap() * 86_400 + 1),
            ]
        }),
        4 => Just(vec![Action::CliBadLogins(5), Action::Connect, Action::Settle]),
    ];
    prop::collection::vec(chunk, 8..=40)
        .prop_map(|chunks| chunks.into_iter().flatten().take(MAX_STEPS).collect())
}

// ---------------------------------------------------------------------------
// Running a sequence

/// Replaces ciphertext and plaintext blobs (random nonces, random data keys).
fn redact(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let v = if k == "CiphertextBlob" || k == "Plaintext" {
                        json!("<blob>")
                    } else {
                        redact(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(redact).collect()),
        other => other.clone(),
    }
}

fn fail(msg: String) -> TestCaseError {
    TestCaseError::fail(msg)
}

fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

fn millis(seconds: &Value) -> i64 {
    (seconds.as_f64().unwrap() * 1000.0).round() as i64
}

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

impl Run {
    fn new(world_seed: u64) -> Run {
        let text = std::fs::read_to_string(EXAMPLE_WORLD).unwrap();
        let seeded = text.replacen("\nseed: 1 ", &format!("\nseed: {world_seed} "), 1);
        assert!(
            seeded.contains(&format!("\nseed: {world_seed} ")),
            "the example world's seed line moved"
        );
        let e = world::load_str(&seeded, "example.yaml").unwrap();
        let t = &e.config().timing;
        let ms = |s: u64| i64::try_from(s).unwrap() * SECOND;
        assert_eq!(ms(t.connect_seconds), CONNECT_MS);
        assert_eq!(t.disconnect_seconds, 0);
        assert_eq!(t.hsm_delete_seconds, 0);
        assert_eq!(ms(t.cluster_create_seconds), CLUSTER_CREATE_MS);
        assert_eq!(ms(t.cluster_delete_seconds), CLUSTER_DELETE_MS);
        assert_eq!(ms(t.hsm_create_seconds), HSM_CREATE_MS);
        assert_eq!(ms(t.backup_seconds), BACKUP_MS);
        assert_eq!(ms(t.backup_interval_seconds), BACKUP_INTERVAL_MS);
        assert_eq!(ms(t.backup_pending_deletion_seconds), BACKUP_PENDING_MS);
        assert!(e.config().key_store_request_quota.is_none());
        let m = Model::observe_initial(&e);
        Run {
            e,
            m,
            transcript: Vec::new(),
            step: 0,
            calls: 0,
            decrypt_checks: 0,
            decrypted: 0,
            checking: false,
            record: false,
        }
    }

    fn note(&mut self, line: String) {
        self.transcript.push(line);
    }

    fn guard<T>(&self, what: &str, f: impl FnOnce() -> T) -> Result<T, TestCaseError> {
        catch_unwind(AssertUnwindSafe(f)).map_err(|p| {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            fail(format!("step {}: {what} panicked: {msg}", self.step))
        })
    }

    /// One AWS call: recorded, and its error checked against the
    /// operation's modelled exceptions.
    fn call(&mut self, op: &str, input: Value) -> Result<Result<Value, Error>, TestCaseError> {
        self.calls += 1;
        let r = self.guard(op, || self.e.call(op, input.clone()))?;
        let shown = match &r {
            Ok(v) => redact(v).to_string(),
            Err(err) => err.to_string(),
        };
        self.note(format!("{op} {} -> {shown}", redact(&input)));
        if let Err(err) = &r {
            let name = err.aws_name();
            let modelled = modelled_errors()
                .get(op)
                .ok_or_else(|| fail(format!("{op} is not an operation of the models")))?;
            if !modelled.contains(name) && !COMMON_ERRORS.contains(&name) {
                return Err(fail(format!(
                    "step {}: {op} {input} raised {err}, which is not among its modelled exceptions {modelled:?}",
                    self.step
                )));
            }
            if ErrorKind::from_aws_name(name) != Some(err.kind()) || err.message().is_empty() {
                return Err(fail(format!(
                    "step {}: {op}: malformed error {err:?}",
                    self.step
                )));
            }
        }
        Ok(r)
    }

    /// A call whose outcome the model predicts.
    fn expect(
        &mut self,
        op: &str,
        input: Value,
        want: Expect,
    ) -> Result<Option<Value>, TestCaseError> {
        let r = self.call(op, input.clone())?;
        let got = r.as_ref().map(|_| ()).map_err(|e| e.aws_name());
        if got != want {
            return Err(fail(format!(
                "step {}: {op} {input}: the model expects {want:?}, the engine answered {}",
                self.step,
                match &r {
                    Ok(v) => format!("{v}"),
                    Err(e) => format!("{e}"),
                }
            )));
        }
        if self.record {
            let outcome = match &r {
                Ok(_) => "ok",
                Err(e) => e.aws_name(),
            };
            let phase = if self.checking { "check " } else { "" };
            seen(format!("{phase}{op} -> {outcome}"));
        }
        Ok(r.ok())
    }

    /// A fault through `Engine::apply_fault`.
    fn fault(&mut self, fault: Fault, want: Expect) -> Result<Value, TestCaseError> {
        self.calls += 1;
        let r = self.guard("apply_fault", || self.e.apply_fault(&fault))?;
        self.note(format!(
            "fault {fault:?} -> {}",
            match &r {
                Ok(v) => v.to_string(),
                Err(e) => e.to_string(),
            }
        ));
        let got = r.as_ref().map(|_| ()).map_err(|e| e.aws_name());
        if self.record {
            let name = format!("{fault:?}");
            let name = name.split([' ', '{']).next().unwrap_or_default();
            seen(format!("fault {name} -> {}", got.err().unwrap_or("ok")));
        }
        if got != want {
            return Err(fail(format!(
                "step {}: fault {fault:?}: the model expects {want:?}, the engine answered {r:?}",
                self.step
            )));
        }
        Ok(r.unwrap_or(Value::Null))
    }

    /// A CloudHSM CLI line; `want` is whether it succeeds.
    fn cli(&mut self, ci: usize, session: Session, line: &str, want: bool) -> TestResult {
        self.calls += 1;
        let cluster = self.m.clusters[ci].id.clone();
        let out = self.guard("cloudhsm_cli", || {
            self.e.cloudhsm_cli(&cluster, session.name(), line)
        })?;
        self.note(format!("cli {cluster} {} {line} -> {out}", session.name()));
        let code = &out["error_code"];
        if !(code.is_i64() && out.get("data").is_some()) {
            return Err(fail(format!(
                "step {}: {line}: not a CLI envelope: {out}",
                self.step
            )));
        }
        if self.record && !self.checking {
            let verb: Vec<&str> = line.split(' ').take(2).collect();
            let outcome = if *code == json!(0) { "ok" } else { "error" };
            seen(format!("cli {} -> {outcome}", verb.join(" ")));
        }
        if (*code == json!(0)) != want {
            return Err(fail(format!(
                "step {}: cli {line} on {cluster}: the model expects success={want}, the CLI answered {out}",
                self.step
            )));
        }
        Ok(())
    }

    fn resolve(&self, t: Target) -> usize {
        match t {
            Target::Store => self.m.store.cluster,
            Target::Newest => self.m.clusters.len() - 1,
            Target::Any(i) => i.index(self.m.clusters.len()),
        }
    }

    fn key_index(&self, i: Index) -> usize {
        i.index(self.m.keys.len())
    }

    fn context(&self) -> Value {
        json!({"step": self.step.to_string()})
    }

    fn push_ct(&mut self, blob: &Value, plaintext: Vec<u8>, key: usize, context: Value) {
        if self.m.cts.len() >= MAX_CIPHERTEXTS {
            self.m.cts.remove(0);
        }
        self.m.cts.push(Ct {
            blob: blob.as_str().unwrap().to_owned(),
            plaintext,
            key,
            context,
        });
    }

    fn play(mut self, actions: &[Action]) -> Result<Run, TestCaseError> {
        self.check()?;
        for (n, a) in actions.iter().enumerate() {
            self.step = n + 1;
            self.note(format!("# step {} {a:?} at {}", self.step, self.m.now));
            self.act(a)?;
            self.check()?;
        }
        let trail = self.guard("trail_events", || self.e.trail_events(None))?;
        // R6: the DeleteKey service events report the material's deletion.
        let deletions: Vec<(String, String)> = trail
            .iter()
            .filter(|e| e["eventName"] == json!("DeleteKey"))
            .map(|e| {
                let data = &e["additionalEventData"];
                let status: Value =
                    serde_json::from_str(data["backingKeysDeletionStatus"].as_str().unwrap())
                        .unwrap();
                let arn = e["resources"][0]["ARN"].as_str().unwrap();
                (
                    arn.strip_prefix(KEY_ARN_PREFIX).unwrap().to_owned(),
                    status[0]["deletionStatus"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let want: Vec<(String, String)> = self
            .m
            .deletions
            .iter()
            .map(|(k, s)| (k.clone(), (*s).to_owned()))
            .collect();
        if self.record {
            for (_, status) in &deletions {
                seen(format!("trail DeleteKey {status}"));
            }
        }
        prop_assert_eq!(
            deletions,
            want,
            "DeleteKey events (backingKeysDeletionStatus)"
        );
        for event in trail {
            let line = redact(&event).to_string();
            self.note(line);
        }
        Ok(self)
    }

    // -----------------------------------------------------------------------
    // One step

    fn act(&mut self, a: &Action) -> TestResult {
        let id = json!({"CustomKeyStoreId": STORE});
        match *a {
            Action::Connect => {
                let want = match self.m.store.conn {
                    Conn::Disconnected => {
                        let c = &self.m.clusters[self.m.store.cluster];
                        if c.exists() && c.state != CState::Active {
                            Err(NOT_ACTIVE)
                        } else if c.exists() && !c.sg_ok {
                            Err(INVALID_CONFIG)
                        } else {
                            Ok(())
                        }
                    }
                    Conn::Connecting(_) | Conn::Connected => Ok(()),
                    Conn::Failed(_) => Err(STORE_STATE),
                };
                self.expect("ConnectCustomKeyStore", id, want)?;
                if want.is_ok() && self.m.store.conn == Conn::Disconnected {
                    self.m.store.conn = Conn::Connecting(self.m.now + CONNECT_MS);
                }
            }
            Action::Disconnect => {
                let was = self.m.store.conn;
                let want = match was {
                    Conn::Disconnected => Err(STORE_STATE),
                    Conn::Connecting(_) | Conn::Connected | Conn::Failed(_) => Ok(()),
                };
                self.expect("DisconnectCustomKeyStore", id, want)?;
                if want.is_ok() {
                    self.m.store.conn = Conn::Disconnected;
                    let c = self.m.store_cluster();
                    c.kms_login = false;
                    let subnets: Vec<String> = c.subnets.values().cloned().collect();
                    if was == Conn::Connected {
                        for s in subnets {
                            self.m.release_address(&s);
                        }
                    }
                }
            }
            Action::UpdatePassword(p) => {
                let want = match self.m.store.conn {
                    Conn::Disconnected => Ok(()),
                    Conn::Connecting(_) | Conn::Connected | Conn::Failed(_) => Err(STORE_STATE),
                };
                self.expect(
                    "UpdateCustomKeyStore",
                    json!({"CustomKeyStoreId": STORE, "KeyStorePassword": PASSWORDS[p]}),
                    want,
                )?;
                if want.is_ok() {
                    self.m.store.pw = Pw::Known(p);
                }
            }
            Action::Rename(b) => {
                let name = if b {
                    "RenamedKeyStore"
                } else {
                    "ExampleKeyStore"
                };
                let want = match self.m.store.conn {
                    Conn::Disconnected | Conn::Connected => Ok(()),
                    Conn::Connecting(_) | Conn::Failed(_) => Err(STORE_STATE),
                };
                self.expect(
                    "UpdateCustomKeyStore",
                    json!({"CustomKeyStoreId": STORE, "NewCustomKeyStoreName": name}),
                    want,
                )?;
                if want.is_ok() {
                    self.m.store.name = name;
                }
            }
            Action::UpdateCluster(t) => {
                let ci = t.map(|t| self.resolve(t));
                let cluster_id = match ci {
                    Some(ci) => self.m.clusters[ci].id.clone(),
                    None => BOGUS_CLUSTER.to_owned(),
                };
                let want = if self.m.store.conn != Conn::Disconnected {
                    Err(STORE_STATE)
                } else {
                    match ci.map(|ci| &self.m.clusters[ci]) {
                        None => Err(CLUSTER_NOT_FOUND),
                        Some(c) if !c.exists() => Err(CLUSTER_NOT_FOUND),
                        // Every cluster here shares the example cluster's
                        // backup history, so none is unrelated.
                        Some(c) if c.state != CState::Active => Err(NOT_ACTIVE),
                        Some(c) if !c.sg_ok || c.active_zones() < 2 => Err(INVALID_CONFIG),
                        Some(_) => Ok(()),
                    }
                };
                self.expect(
                    "UpdateCustomKeyStore",
                    json!({"CustomKeyStoreId": STORE, "CloudHsmClusterId": cluster_id}),
                    want,
                )?;
                if let (Ok(()), Some(ci)) = (want, ci) {
                    self.m.store.cluster = ci;
                }
            }
            Action::CreateStore(same_name, t, p) => {
                let ci = self.resolve(t);
                let name = if same_name {
                    self.m.store.name
                } else {
                    "AnotherKeyStore"
                };
                let c = &self.m.clusters[ci];
                let want = if same_name
                    && ci == self.m.store.cluster
                    && self.m.store.pw == Pw::Known(p)
                    && self.m.store.conn == Conn::Disconnected
                {
                    // Create-keystore: the same properties as an existing
                    // disconnected store give its id.
                    Ok(())
                } else if same_name {
                    Err("CustomKeyStoreNameInUseException")
                } else if !c.exists() {
                    Err(CLUSTER_NOT_FOUND)
                } else {
                    Err("CloudHsmClusterInUseException")
                };
                let input = json!({
                    "CustomKeyStoreName": name,
                    "CloudHsmClusterId": c.id,
                    "TrustAnchorCertificate": self.m.store.trust_anchor,
                    "KeyStorePassword": PASSWORDS[p],
                });
                if let Some(v) = self.expect("CreateCustomKeyStore", input, want)? {
                    prop_assert_eq!(&v["CustomKeyStoreId"], &json!(STORE));
                }
            }
            Action::DeleteStore => {
                let want = if self.m.store.conn != Conn::Disconnected {
                    Err(STORE_STATE)
                } else if self.m.keys.iter().any(|k| !k.deleted) {
                    Err("CustomKeyStoreHasCMKsException")
                } else {
                    self.note("DeleteCustomKeyStore skipped: it would succeed".into());
                    return Ok(());
                };
                self.expect("DeleteCustomKeyStore", id, want)?;
            }
            Action::CreateKey => {
                let want = if self.m.store.conn != Conn::Connected {
                    Err(STORE_STATE)
                } else {
                    let c = self.m.store_cluster();
                    if !c.exists() {
                        Err(KMS_INTERNAL)
                    } else if c.state != CState::Active {
                        Err(NOT_ACTIVE)
                    } else if !c.sg_ok || c.active_zones() < 2 {
                        Err(INVALID_CONFIG)
                    } else if !c.cross() {
                        Err(KMS_INTERNAL)
                    } else {
                        Ok(())
                    }
                };
                let input = json!({
                    "Origin": "AWS_CLOUDHSM",
                    "CustomKeyStoreId": STORE,
                    "Description": format!("model step {}", self.step),
                });
                let r = self.expect("CreateKey", input, want)?;
                if let Some(v) = r {
                    let meta = &v["KeyMetadata"];
                    if meta["KeyState"] != json!("Enabled") || meta["Enabled"] != json!(true) {
                        return Err(fail(format!("step {}: CreateKey gave {v}", self.step)));
                    }
                    let key_id = meta["KeyId"].as_str().unwrap().to_owned();
                    self.m.store_cluster().material.insert(key_id.clone());
                    self.m.keys.push(MKey {
                        id: key_id,
                        status: KStatus::Enabled,
                        deleted: false,
                    });
                }
            }
            Action::Encrypt(k, by_arn) => {
                let k = self.key_index(k);
                let key = &self.m.keys[k];
                let key_id = if by_arn { key.arn() } else { key.id.clone() };
                let plaintext = format!("plaintext of step {}", self.step).into_bytes();
                let context = self.context();
                let want = self.m.crypto(k);
                let input = json!({"KeyId": key_id, "Plaintext": b64(&plaintext), "EncryptionContext": context});
                if let Some(v) = self.expect("Encrypt", input, want)? {
                    self.push_ct(&v["CiphertextBlob"], plaintext, k, context);
                }
            }
            Action::GenerateDataKey(k) => {
                let k = self.key_index(k);
                let context = self.context();
                let want = self.m.crypto(k);
                let input = json!({"KeyId": self.m.keys[k].id, "NumberOfBytes": 32, "EncryptionContext": context});
                if let Some(v) = self.expect("GenerateDataKey", input, want)? {
                    let plaintext = B64.decode(v["Plaintext"].as_str().unwrap()).unwrap();
                    prop_assert_eq!(plaintext.len(), 32);
                    self.push_ct(&v["CiphertextBlob"], plaintext, k, context);
                }
            }
            Action::Decrypt(c, wrong_context) => {
                if self.m.cts.is_empty() {
                    self.note("no ciphertext yet".into());
                    return Ok(());
                }
                let ct = self.m.cts[c.index(self.m.cts.len())].clone();
                // The context is checked last, when the AES work fails.
                let want = match self.m.crypto(ct.key) {
                    Ok(()) if wrong_context => Err(INVALID_CIPHERTEXT),
                    other => other,
                };
                let context = if wrong_context {
                    json!({"step": "another"})
                } else {
                    ct.context.clone()
                };
                let input = json!({"CiphertextBlob": ct.blob, "EncryptionContext": context});
                if let Some(v) = self.expect("Decrypt", input, want)? {
                    prop_assert_eq!(&v["Plaintext"], &json!(b64(&ct.plaintext)));
                }
            }
            Action::ReEncrypt(c, k) => {
                if self.m.cts.is_empty() {
                    self.note("no ciphertext yet".into());
                    return Ok(());
                }
                let ct = self.m.cts[c.index(self.m.cts.len())].clone();
                let dest = self.key_index(k);
                let want = self.m.crypto(ct.key).and_then(|()| self.m.crypto(dest));
                let context = self.context();
                let input = json!({
                    "CiphertextBlob": ct.blob,
                    "SourceEncryptionContext": ct.context,
                    "DestinationKeyId": self.m.keys[dest].id,
                    "DestinationEncryptionContext": context,
                });
                if let Some(v) = self.expect("ReEncrypt", input, want)? {
                    self.push_ct(&v["CiphertextBlob"], ct.plaintext, dest, context);
                }
            }
            Action::GenerateRandom => {
                let want = if self.m.store.conn != Conn::Connected {
                    Err(STORE_STATE)
                } else {
                    // Unreachable, no active HSM, or no free session.
                    let c = self.m.store_cluster();
                    let reachable = c.exists() && c.sg_ok && c.cross();
                    if reachable && c.active_hsms().any(|h| !h.exhausted) {
                        Ok(())
                    } else {
                        Err(KMS_INTERNAL)
                    }
                };
                let input = json!({"NumberOfBytes": 16, "CustomKeyStoreId": STORE});
                if let Some(v) = self.expect("GenerateRandom", input, want)? {
                    let bytes = B64.decode(v["Plaintext"].as_str().unwrap()).unwrap();
                    prop_assert_eq!(bytes.len(), 16);
                }
            }
            Action::Enable(k) | Action::Disable(k) => {
                let enable = matches!(a, Action::Enable(_));
                let k = self.key_index(k);
                let key = &self.m.keys[k];
                let want = match (key.deleted, key.status) {
                    (true, _) => Err(NOT_FOUND),
                    (false, KStatus::Pending(_)) => Err(INVALID_STATE),
                    (false, KStatus::Enabled | KStatus::Disabled) => Ok(()),
                };
                let op = if enable { "EnableKey" } else { "DisableKey" };
                self.expect(op, json!({"KeyId": key.id}), want)?;
                if want.is_ok() {
                    self.m.keys[k].status = if enable {
                        KStatus::Enabled
                    } else {
                        KStatus::Disabled
                    };
                }
            }
            Action::Schedule(k, days) => {
                let k = self.key_index(k);
                let key = &self.m.keys[k];
                let want = if !(7..=30).contains(&days) {
                    Err(VALIDATION)
                } else {
                    match (key.deleted, key.status) {
                        (true, _) => Err(NOT_FOUND),
                        (false, KStatus::Pending(_)) => Err(INVALID_STATE),
                        (false, KStatus::Enabled | KStatus::Disabled) => Ok(()),
                    }
                };
                let input = json!({"KeyId": key.id, "PendingWindowInDays": days});
                if let Some(v) = self.expect("ScheduleKeyDeletion", input, want)? {
                    let at = self.m.now + days * DAY;
                    prop_assert_eq!(millis(&v["DeletionDate"]), at);
                    prop_assert_eq!(&v["KeyState"], &json!("PendingDeletion"));
                    prop_assert_eq!(&v["KeyId"], &json!(self.m.keys[k].arn()));
                    self.m.keys[k].status = KStatus::Pending(at);
                }
            }
            Action::Cancel(k) => {
                let k = self.key_index(k);
                let key = &self.m.keys[k];
                let want = match (key.deleted, key.status) {
                    (true, _) => Err(NOT_FOUND),
                    (false, KStatus::Pending(_)) => Ok(()),
                    (false, KStatus::Enabled | KStatus::Disabled) => Err(INVALID_STATE),
                };
                self.expect("CancelKeyDeletion", json!({"KeyId": key.id}), want)?;
                if want.is_ok() {
                    self.m.keys[k].status = KStatus::Disabled;
                }
            }
            Action::Advance(seconds) => {
                self.guard("advance", || self.e.advance(Duration::from_secs(seconds)))?;
                self.m.advance(i64::try_from(seconds).unwrap() * SECOND);
                self.note(format!(
                    "advanced {seconds} s to {}",
                    self.e.now().as_millis()
                ));
            }
            Action::Settle => {
                let moved = self.guard("settle", || self.e.settle())?;
                let want = self.m.settle();
                self.note(format!("settled {moved:?}"));
                prop_assert_eq!(
                    i64::try_from(moved.as_millis()).unwrap(),
                    want,
                    "step {}: settle moved the clock by {:?}",
                    self.step,
                    moved
                );
            }
            Action::CliAdminLogin => {
                let ci = self.m.store.cluster;
                let c = &self.m.clusters[ci];
                let want = c.exists() && !c.ops_admin;
                self.cli(ci, Session::Ops, ADMIN_LOGIN, want)?;
                if want {
                    self.m.clusters[ci].ops_admin = true;
                }
            }
            Action::CliLogout(s) => {
                let ci = self.m.store.cluster;
                let c = &mut self.m.clusters[ci];
                let logged_in = match s {
                    Session::Ops => &mut c.ops_admin,
                    Session::Ku => &mut c.ku_kmsuser,
                };
                let want = c.state == CState::Active && *logged_in;
                if want {
                    *logged_in = false;
                }
                self.cli(ci, s, "logout", want)?;
            }
            Action::CliChangePassword(p) => {
                let ci = self.m.store.cluster;
                let c = &mut self.m.clusters[ci];
                let want =
                    c.state == CState::Active && c.ops_admin && !c.kms_login && !c.ku_kmsuser;
                if want {
                    c.kmsuser.set_password(Pw::Known(p));
                }
                let line = format!(
                    "user change-password --username kmsuser --role crypto-user --password {}",
                    PASSWORDS[p]
                );
                self.cli(ci, Session::Ops, &line, want)?;
            }
            Action::CliKmsuserLogin(good) => {
                let ci = self.m.store.cluster;
                let p = match (good, self.m.clusters[ci].kmsuser.pw) {
                    (true, Pw::Known(p)) => p,
                    (true, Pw::Secret(_)) => 0,
                    (false, _) => WRONG,
                };
                self.kmsuser_login(ci, p)?;
            }
            Action::CliBadLogins(n) => {
                let ci = self.m.store.cluster;
                for _ in 0..n {
                    self.kmsuser_login(ci, WRONG)?;
                }
            }
            Action::CliDeleteMaterial(k) => {
                let ci = self.m.store.cluster;
                let k = self.key_index(k);
                let key_id = self.m.keys[k].id.clone();
                let c = &mut self.m.clusters[ci];
                let want =
                    c.state == CState::Active && c.ku_kmsuser && c.material.contains(&key_id);
                if want {
                    c.material.remove(&key_id);
                }
                let line = format!("key delete --filter attr.label={}", self.m.keys[k].arn());
                self.cli(ci, Session::Ku, &line, want)?;
            }
            Action::CreateHsm(t, z) => {
                let ci = self.resolve(t);
                let az = ZONES[z];
                let c = &self.m.clusters[ci];
                let subnet = c.subnets.get(az).cloned();
                // Still being created, 28 HSMs already, no subnet in the
                // zone, or no free address in it.
                let invalid = matches!(c.state, CState::Creating(_))
                    || c.hsms.len() >= MAX_HSMS_PER_CLUSTER
                    || subnet
                        .as_ref()
                        .is_none_or(|s| self.m.free.get(s) == Some(&0));
                let want = if !c.exists() {
                    Err(HSM_NOT_FOUND)
                } else if invalid {
                    Err(HSM_INVALID)
                } else {
                    Ok(())
                };
                let input = json!({"ClusterId": c.id, "AvailabilityZone": az});
                if let Some(v) = self.expect("CreateHsm", input, want)? {
                    let subnet = subnet.unwrap();
                    self.m.take_address(&subnet);
                    let hsm = &v["Hsm"];
                    prop_assert_eq!(&hsm["State"], &json!("CREATE_IN_PROGRESS"));
                    prop_assert_eq!(&hsm["SubnetId"], &json!(subnet));
                    let ready_at = self.m.now + HSM_CREATE_MS;
                    self.m.clusters[ci].hsms.push(MHsm {
                        id: hsm["HsmId"].as_str().unwrap().to_owned(),
                        az: az.to_owned(),
                        subnet,
                        ready_at: Some(ready_at),
                        exhausted: false,
                    });
                }
            }
            Action::DeleteHsm(t, h) => {
                let ci = self.resolve(t);
                let c = &self.m.clusters[ci];
                let hi = (!c.hsms.is_empty()).then(|| h.index(c.hsms.len()));
                let hsm_id = hi.map_or(BOGUS_HSM.to_owned(), |hi| c.hsms[hi].id.clone());
                let want = if c.exists() && hi.is_some() {
                    Ok(())
                } else {
                    Err(HSM_NOT_FOUND)
                };
                let input = json!({"ClusterId": c.id, "HsmId": hsm_id});
                if let Some(v) = self.expect("DeleteHsm", input, want)? {
                    prop_assert_eq!(&v["HsmId"], &json!(hsm_id));
                    let gone = self.m.clusters[ci].hsms.remove(hi.unwrap());
                    self.m.release_address(&gone.subnet);
                }
            }
            Action::TakeBackup(t) => {
                let ci = self.resolve(t);
                let c = &self.m.clusters[ci];
                let want = if !c.exists() {
                    Err(HSM_NOT_FOUND)
                } else if c.active_hsms().next().is_none() {
                    Err(HSM_INVALID)
                } else {
                    Ok(())
                };
                let cluster = c.id.clone();
                let out = self.fault(Fault::Backup { cluster }, want)?;
                if want.is_ok() {
                    self.m.take_backup(ci, self.m.now);
                    let b = self.m.backups.last_mut().unwrap();
                    b.id = Some(out["BackupId"].as_str().unwrap().to_owned());
                }
            }
            Action::DeleteBackup(b) | Action::RestoreBackup(b) => {
                let delete = matches!(a, Action::DeleteBackup(_));
                let bi = b.index(self.m.backups.len());
                let backup = &self.m.backups[bi];
                let want = match (delete, backup.state) {
                    (true, BState::Ready) | (false, BState::PendingDeletion(_)) => Ok(()),
                    (_, _) => Err(HSM_INVALID),
                };
                let op = if delete {
                    "DeleteBackup"
                } else {
                    "RestoreBackup"
                };
                let input = json!({"BackupId": backup.id.clone().unwrap()});
                if let Some(v) = self.expect(op, input, want)? {
                    let state = if delete {
                        BState::PendingDeletion(self.m.now + BACKUP_PENDING_MS)
                    } else {
                        BState::Ready
                    };
                    prop_assert_eq!(&v["Backup"]["BackupState"], &json!(state.name()));
                    self.m.backups[bi].state = state;
                }
            }
            Action::ClusterFromBackup(b) => {
                let bi = b.index(self.m.backups.len());
                let backup = self.m.backups[bi].clone();
                let original = self.m.clusters[0].subnets.clone();
                let want = if backup.state == BState::Ready {
                    Ok(())
                } else {
                    Err(HSM_INVALID)
                };
                let input = json!({
                    "HsmType": "hsm2m.medium",
                    "SubnetIds": original.values().collect::<Vec<_>>(),
                    "SourceBackupId": backup.id,
                });
                if let Some(v) = self.expect("CreateCluster", input, want)? {
                    let cluster = &v["Cluster"];
                    prop_assert_eq!(&cluster["State"], &json!("CREATE_IN_PROGRESS"));
                    prop_assert_eq!(&cluster["SourceBackupId"], &json!(backup.id));
                    let now = self.m.now;
                    self.m.clusters.push(MCluster {
                        id: cluster["ClusterId"].as_str().unwrap().to_owned(),
                        state: CState::Creating(now + CLUSTER_CREATE_MS),
                        hsms: Vec::new(),
                        subnets: original,
                        kmsuser: backup.kmsuser.clone(),
                        material: backup.material.clone(),
                        kms_login: false,
                        ops_admin: false,
                        ku_kmsuser: false,
                        blocked: false,
                        flaky: 0,
                        sg_ok: true,
                        internal_errors: 0,
                        next_backup: now + BACKUP_INTERVAL_MS,
                    });
                }
            }
            Action::Network(t, condition) => {
                let ci = self.resolve(t);
                let cluster = self.m.clusters[ci].id.clone();
                let want = self.live(ci);
                self.fault(Fault::Network { cluster, condition }, want)?;
                if want.is_ok() {
                    let c = &mut self.m.clusters[ci];
                    match condition {
                        NetworkCondition::Ok => {
                            c.blocked = false;
                            c.flaky = 0;
                        }
                        NetworkCondition::Blocked => c.blocked = true,
                        NetworkCondition::Flaky(n) => {
                            c.blocked = false;
                            c.flaky = n;
                        }
                    }
                }
            }
            Action::SecurityGroup(t, ok) => {
                let ci = self.resolve(t);
                let cluster = self.m.clusters[ci].id.clone();
                let want = self.live(ci);
                self.fault(Fault::SecurityGroup { cluster, ok }, want)?;
                if want.is_ok() {
                    self.m.clusters[ci].sg_ok = ok;
                }
            }
            Action::InternalErrors(t, count) => {
                let ci = self.resolve(t);
                let cluster = self.m.clusters[ci].id.clone();
                let want = self.live(ci);
                self.fault(Fault::InternalErrors { cluster, count }, want)?;
                if want.is_ok() {
                    self.m.clusters[ci].internal_errors = count;
                }
            }
            Action::ExhaustSessions(t) | Action::ReleaseSessions(t) => {
                let exhaust = matches!(a, Action::ExhaustSessions(_));
                let ci = self.resolve(t);
                let cluster = self.m.clusters[ci].id.clone();
                let want = self.live(ci);
                let fault = if exhaust {
                    Fault::ExhaustSessions { cluster }
                } else {
                    Fault::ReleaseSessions { cluster }
                };
                self.fault(fault, want)?;
                if want.is_ok() {
                    for h in &mut self.m.clusters[ci].hsms {
                        h.exhausted = exhaust;
                    }
                }
            }
            Action::DestroyCluster(t) => {
                let ci = self.resolve(t);
                let cluster = self.m.clusters[ci].id.clone();
                let want = self.live(ci);
                self.fault(Fault::DeleteCluster { cluster }, want)?;
                if want.is_ok() {
                    let c = &mut self.m.clusters[ci];
                    let hsms = std::mem::take(&mut c.hsms);
                    c.kms_login = false;
                    c.ops_admin = false;
                    c.ku_kmsuser = false;
                    c.state = CState::Deleted;
                    for h in hsms {
                        self.m.release_address(&h.subnet);
                    }
                }
            }
            Action::DeleteCluster(t) => {
                let ci = self.resolve(t);
                let c = &self.m.clusters[ci];
                let want = if !c.exists() {
                    Err(HSM_NOT_FOUND)
                } else if !c.hsms.is_empty() || c.state != CState::Active {
                    Err(HSM_INVALID)
                } else {
                    Ok(())
                };
                let input = json!({"ClusterId": c.id});
                if let Some(v) = self.expect("DeleteCluster", input, want)? {
                    prop_assert_eq!(&v["Cluster"]["State"], &json!("DELETE_IN_PROGRESS"));
                    self.m.clusters[ci].state = CState::Deleting(self.m.now + CLUSTER_DELETE_MS);
                }
            }
            Action::FreeAddresses(z, count) => {
                let subnet = self.m.clusters[0].subnets[ZONES[z]].clone();
                self.fault(
                    Fault::FreeAddresses {
                        subnet: subnet.clone(),
                        count,
                    },
                    Ok(()),
                )?;
                self.m.free.insert(subnet, count);
            }
        }
        Ok(())
    }

    fn live(&self, ci: usize) -> Expect {
        if self.m.clusters[ci].exists() {
            Ok(())
        } else {
            Err(HSM_NOT_FOUND)
        }
    }

    /// `login` as kmsuser in CLI session `ku` with password `p`.
    fn kmsuser_login(&mut self, ci: usize, p: usize) -> TestResult {
        let c = &mut self.m.clusters[ci];
        let want = if !c.exists() || c.ku_kmsuser || c.kmsuser.locked {
            false
        } else if c.kmsuser.pw != Pw::Known(p) {
            c.kmsuser.failed_login();
            false
        } else if c.kms_login {
            // R8: nobody logs in as kmsuser while KMS is.
            false
        } else {
            c.kmsuser.failures = 0;
            c.ku_kmsuser = true;
            true
        };
        let line = format!(
            "login --username kmsuser --role crypto-user --password {}",
            PASSWORDS[p]
        );
        self.cli(ci, Session::Ku, &line, want)
    }

    // -----------------------------------------------------------------------
    // The invariants, after every step

    fn check(&mut self) -> TestResult {
        self.checking = true;
        let store_state = self.check_store()?;
        let key_states = self.check_keys()?;
        self.check_clusters()?;
        self.check_backups()?;
        self.check_users()?;
        self.check_ciphertexts(&store_state, &key_states)?;
        self.checking = false;
        Ok(())
    }

    /// DescribeCustomKeyStores: the model's state; `ConnectionErrorCode`
    /// exactly when `FAILED`.
    fn check_store(&mut self) -> Result<String, TestCaseError> {
        let v = self
            .expect("DescribeCustomKeyStores", json!({}), Ok(()))?
            .unwrap();
        let stores = v["CustomKeyStores"].as_array().unwrap();
        prop_assert_eq!(stores.len(), 1);
        let s = &stores[0];
        let state = s["ConnectionState"].as_str().unwrap().to_owned();
        let code = s.get("ConnectionErrorCode");
        prop_assert_eq!(
            code.is_some(),
            state == "FAILED",
            "step {}: ConnectionErrorCode {:?} with ConnectionState {}",
            self.step,
            code,
            state
        );
        let want_code = match self.m.store.conn {
            Conn::Failed(c) => Some(json!(c)),
            Conn::Disconnected | Conn::Connecting(_) | Conn::Connected => None,
        };
        prop_assert_eq!(
            (state.as_str(), code.cloned()),
            (self.m.store.conn.name(), want_code),
            "step {}: the store is not as the model has it",
            self.step
        );
        prop_assert_eq!(
            &s["CloudHsmClusterId"],
            &json!(self.m.clusters[self.m.store.cluster].id)
        );
        prop_assert_eq!(&s["CustomKeyStoreName"], &json!(self.m.store.name));
        if self.record {
            match code {
                Some(c) => seen(format!("store FAILED/{}", c.as_str().unwrap())),
                None => seen(format!("store {state}")),
            }
        }
        Ok(state)
    }

    /// DescribeKey of every key: R1, and the model's state.
    fn check_keys(&mut self) -> Result<Vec<Option<String>>, TestCaseError> {
        let mut states = Vec::new();
        for k in 0..self.m.keys.len() {
            let key = self.m.keys[k].clone();
            let want = if key.deleted { Err(NOT_FOUND) } else { Ok(()) };
            let r = self.expect("DescribeKey", json!({"KeyId": key.id}), want)?;
            let Some(v) = r else {
                states.push(None);
                continue;
            };
            let meta = &v["KeyMetadata"];
            let state = meta["KeyState"].as_str().unwrap().to_owned();
            // R1, from the runbook's words.
            let r1 = match key.status {
                KStatus::Pending(_) => "PendingDeletion",
                _ if self.m.store.conn != Conn::Connected => "Unavailable",
                KStatus::Enabled => "Enabled",
                KStatus::Disabled => "Disabled",
            };
            prop_assert_eq!(r1, self.m.visible(k));
            prop_assert_eq!(
                state.as_str(),
                r1,
                "step {}: key {} with the store {}",
                self.step,
                key.id,
                self.m.store.conn.name()
            );
            prop_assert_eq!(&meta["Enabled"], &json!(state == "Enabled"));
            match key.status {
                KStatus::Pending(at) => prop_assert_eq!(millis(&meta["DeletionDate"]), at),
                KStatus::Enabled | KStatus::Disabled => {
                    prop_assert!(meta.get("DeletionDate").is_none(), "{}", meta);
                }
            }
            if self.record {
                seen(format!("key {state}"));
            }
            states.push(Some(state));
        }
        Ok(states)
    }

    /// DescribeClusters (every page): cluster and HSM states.
    fn check_clusters(&mut self) -> TestResult {
        let mut seen: BTreeMap<String, Value> = BTreeMap::new();
        let mut token: Option<String> = None;
        loop {
            let mut input = json!({});
            if let Some(t) = &token {
                input["NextToken"] = json!(t);
            }
            let v = self.expect("DescribeClusters", input, Ok(()))?.unwrap();
            for c in v["Clusters"].as_array().unwrap() {
                seen.insert(c["ClusterId"].as_str().unwrap().to_owned(), c.clone());
            }
            match v.get("NextToken").and_then(Value::as_str) {
                Some(t) => token = Some(t.to_owned()),
                None => break,
            }
        }
        prop_assert_eq!(seen.len(), self.m.clusters.len());
        for c in &self.m.clusters {
            let got = seen
                .get(&c.id)
                .ok_or_else(|| fail(format!("cluster {} is not described", c.id)))?;
            prop_assert_eq!(&got["State"], &json!(c.state_name()), "cluster {}", c.id);
            let hsms: Vec<(String, String)> = got["Hsms"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| {
                    (
                        h["HsmId"].as_str().unwrap().to_owned(),
                        h["State"].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
            let want: Vec<(String, String)> = c
                .hsms
                .iter()
                .map(|h| {
                    let s = if h.active() {
                        "ACTIVE"
                    } else {
                        "CREATE_IN_PROGRESS"
                    };
                    (h.id.clone(), s.to_owned())
                })
                .collect();
            prop_assert_eq!(hsms, want, "step {}: HSMs of {}", self.step, c.id);
        }
        Ok(())
    }

    /// DescribeBackups (every page): learns the ids of backups taken on the
    /// clock and compares states.
    fn check_backups(&mut self) -> TestResult {
        let mut seen: Vec<Value> = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut input = json!({"SortAscending": true});
            if let Some(t) = &token {
                input["NextToken"] = json!(t);
            }
            let v = self.expect("DescribeBackups", input, Ok(()))?.unwrap();
            seen.extend(v["Backups"].as_array().unwrap().iter().cloned());
            match v.get("NextToken").and_then(Value::as_str) {
                Some(t) => token = Some(t.to_owned()),
                None => break,
            }
        }
        prop_assert_eq!(
            seen.len(),
            self.m.backups.len(),
            "step {}: backups {:?}",
            self.step,
            seen.iter().map(|b| &b["BackupId"]).collect::<Vec<_>>()
        );
        let by_id: BTreeMap<&str, &Value> = seen
            .iter()
            .map(|b| (b["BackupId"].as_str().unwrap(), b))
            .collect();
        for i in 0..self.m.backups.len() {
            if self.m.backups[i].id.is_none() {
                let b = &self.m.backups[i];
                let cluster = &self.m.clusters[b.cluster].id;
                let known: BTreeSet<&str> = self
                    .m
                    .backups
                    .iter()
                    .filter_map(|b| b.id.as_deref())
                    .collect();
                let found: Vec<&Value> = seen
                    .iter()
                    .filter(|v| {
                        v["ClusterId"] == json!(cluster)
                            && millis(&v["CreateTimestamp"]) == b.created
                            && !known.contains(v["BackupId"].as_str().unwrap())
                    })
                    .collect();
                prop_assert_eq!(
                    found.len(),
                    1,
                    "step {}: backup of {} at {}",
                    self.step,
                    cluster,
                    b.created
                );
                self.m.backups[i].id = Some(found[0]["BackupId"].as_str().unwrap().to_owned());
            }
            let b = &self.m.backups[i];
            let id = b.id.as_deref().unwrap();
            let got = by_id
                .get(id)
                .ok_or_else(|| fail(format!("backup {id} is not described")))?;
            prop_assert_eq!(&got["BackupState"], &json!(b.state.name()), "backup {}", id);
            prop_assert_eq!(&got["ClusterId"], &json!(self.m.clusters[b.cluster].id));
        }
        Ok(())
    }

    /// `user list` in every live cluster: kmsuser's lockout (R5).
    fn check_users(&mut self) -> TestResult {
        for ci in 0..self.m.clusters.len() {
            if !self.m.clusters[ci].exists() {
                continue;
            }
            self.calls += 1;
            let cluster = self.m.clusters[ci].id.clone();
            let out = self.guard("cloudhsm_cli", || {
                self.e.cloudhsm_cli(&cluster, "check", "user list")
            })?;
            self.note(format!("cli {cluster} user list -> {out}"));
            let users = out["data"]["users"].as_array().unwrap();
            let kmsuser = users
                .iter()
                .find(|u| u["username"] == json!(KMSUSER))
                .unwrap();
            let locked = if self.m.clusters[ci].kmsuser.locked {
                "true"
            } else {
                "false"
            };
            prop_assert_eq!(
                &kmsuser["locked"],
                &json!(locked),
                "step {}: kmsuser in {}",
                self.step,
                cluster
            );
        }
        Ok(())
    }

    /// Whether, as the engine shows it, `key` can be used for cryptography
    /// now: KeyState Enabled, store CONNECTED, its material in the store's
    /// cluster, an active HSM with a free session, a reachable network and
    /// kmsuser not locked out.
    fn observed_usable(&self, key_state: Option<&str>, store_state: &str, key_id: &str) -> bool {
        if key_state != Some("Enabled") || store_state != "CONNECTED" {
            return false;
        }
        self.e.with_state(|st| {
            let Some(store) = st.stores.get(STORE) else {
                return false;
            };
            let Some(key) = st.keys.get(key_id) else {
                return false;
            };
            let Some(c) = st.clusters.get(&store.cluster_id).filter(|c| c.exists()) else {
                return false;
            };
            let material = c.keys.by_id(&key.backing_key_id).is_some();
            let free_session = c.active_hsms().any(|h| h.pool.in_use() < h.pool.capacity());
            let reachable = c.security_group_ok && c.link.condition() == NetworkCondition::Ok;
            let locked = c.users.get(KMSUSER).is_some_and(|u| u.lockout.is_locked());
            material && free_session && reachable && !locked
        })
    }

    /// Every ciphertext decrypts exactly when its key is usable.
    fn check_ciphertexts(
        &mut self,
        store_state: &str,
        key_states: &[Option<String>],
    ) -> TestResult {
        for i in 0..self.m.cts.len() {
            let ct = self.m.cts[i].clone();
            let key_id = self.m.keys[ct.key].id.clone();
            let observed =
                self.observed_usable(key_states[ct.key].as_deref(), store_state, &key_id);
            let want = self.m.crypto(ct.key);
            let input = json!({"CiphertextBlob": ct.blob, "EncryptionContext": ct.context});
            let r = self.expect("Decrypt", input, want)?;
            self.decrypt_checks += 1;
            prop_assert_eq!(
                r.is_some(),
                observed,
                "step {}: ciphertext of key {} decrypts: {:?}, but the key is{} usable",
                self.step,
                key_id,
                r,
                if observed { "" } else { " not" }
            );
            if let Some(v) = r {
                self.decrypted += 1;
                prop_assert_eq!(&v["Plaintext"], &json!(b64(&ct.plaintext)));
                prop_assert_eq!(&v["KeyId"], &json!(self.m.keys[ct.key].arn()));
            }
        }
        Ok(())
    }
}

type TestResult = Result<(), TestCaseError>;

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

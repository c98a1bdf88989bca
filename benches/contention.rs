//! Encrypt under PKCS #11 session contention: N concurrent tasks (OS
//! threads, each a client sending 64-byte Encrypts back to back) through one
//! engine, for three pool shapes (HSMs × sessions per HSM) and an emulated
//! HSM latency of 0 and 1 ms, against the physical limit.
//!
//! Per group `contention/hsms={h},sessions={s},latency_us={l}` and task
//! count, these benches; criterion's iteration is one *successful*
//! operation, so its throughput line is the goodput:
//! - `tasks={n}/limit`, the baseline: the same tasks doing the same work on
//!   ideal hardware. With a latency, an ideal pool of the same capacity (a
//!   call blocks until a session is free and never fails) held for the
//!   latency, then a raw `ring` seal; without one, only the raw seal (the
//!   CPU is the limit: a session held for a microsecond is not).
//! - `tasks={n}/engine`: `Engine::encrypt`, no retry: successful calls per
//!   second, the fraction failing with the PKCS #11 `KMSInternalException`,
//!   p50/p99 latency of a call (rejections included).
//! - `tasks={n}/retry`: the same with the client retry policy of the AWS
//!   SDKs ([`Backoff`]): goodput, p50/p99 of an operation with its retries.
//!
//! The tasks claim operations from one counter until the run's budget is
//! spent, so all N stay busy to the end; a run lasts at least ~50 ms, and
//! its time runs from the first operation's start to the last one's end.
//! The machine is shared, so every `engine`/`retry` run is *paired* with a
//! `limit` run of the same budget just before it, and the ratios reported
//! are the medians of those pairs. The first run of each retry bench is
//! audited: every operation succeeded exactly once and its ciphertext
//! decrypts to its own plaintext (no lost or duplicated operation); a
//! watchdog fails the bench if a run does not finish (deadlock).
//!
//! Group `reject/latency_us={l}`: one rejected call (every session held)
//! against one successful call, single-threaded.
//!
//! The extra metrics are printed at the end and written to
//! `target/hsmdrill-bench/contention.{csv,md}`, with the goodput plot
//! `contention-goodput.svg` (committed as `docs/benchmarks-goodput.svg`).
//!
//! To explore a fix, `HSMDRILL_BENCH_SESSION_WAIT_US=N` makes the engine's
//! calls wait up to N µs for a session (`pkcs11.session_wait_micros`)
//! instead of failing at once; the reports then go to
//! `contention-wait{N}.*`.

// A bench aborts on a broken setup or a failed audit; there is no caller to
// hand errors to.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::Ratio;
use criterion::{Criterion, SamplingMode, Throughput};
use hsmdrill::engine::kms::api::{DecryptRequest, EncryptRequest};
use hsmdrill::engine::{Engine, Error, ErrorKind};
use ring::aead::LessSafeKey;

/// HSMs × sessions per HSM.
const SHAPES: [Shape; 3] = [
    Shape {
        hsms: 1,
        sessions: 16,
    },
    Shape {
        hsms: 2,
        sessions: 16,
    },
    Shape {
        hsms: 2,
        sessions: 1024,
    },
];
/// Emulated HSM latency per operation.
const LATENCIES_US: [u64; 2] = [0, 1000];
/// Concurrent tasks.
const TASKS: [usize; 5] = [1, 16, 64, 256, 1024];
/// Plaintext per Encrypt (a data key's order).
const PLAINTEXT_LEN: usize = 64;
/// The shortest run, so that starting 1024 threads does not dominate it.
const MIN_RUN: Duration = Duration::from_millis(50);
/// A run that has not finished after this long is a deadlock.
const WATCHDOG: Duration = Duration::from_secs(120);
/// Stack of each task thread (1024 of them on a small machine).
const STACK: usize = 256 * 1024;

fn main() {
    let mut c = common::criterion();
    let metrics = RefCell::new(BTreeMap::new());
    for shape in SHAPES {
        for latency_us in LATENCIES_US {
            contention(&mut c, shape, latency_us, &metrics);
        }
    }
    reject(&mut c);
    c.final_summary();
    if !common::quick_mode() {
        report(&metrics.borrow());
        common::ratio_report(
            "reject.md",
            "Cost of a rejected call (every PKCS #11 session held) against a successful one",
            &LATENCIES_US.map(|l| Ratio {
                label: if l == 0 {
                    "rejected ÷ ok, latency 0"
                } else {
                    "rejected ÷ ok, latency 1 ms"
                },
                id: format!("reject/latency_us={l}/rejected"),
                baseline: format!("reject/latency_us={l}/ok"),
                target: Some(0.2),
            }),
        );
    }
}

#[derive(Clone, Copy, Debug, Eq, Ord, PartialEq, PartialOrd)]
struct Shape {
    hsms: usize,
    sessions: usize,
}

impl Shape {
    fn capacity(self) -> usize {
        self.hsms * self.sessions
    }
}

#[derive(Clone, Copy, Debug, Eq, Ord, PartialEq, PartialOrd)]
enum Mode {
    Limit,
    Engine,
    Retry,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Limit => "limit",
            Mode::Engine => "engine",
            Mode::Retry => "retry",
        }
    }
}

/// One bench: shape, latency, tasks, mode.
type Key = (Shape, u64, usize, Mode);

/// What a bench measured over all its runs.
#[derive(Debug, Default)]
struct Metric {
    tally: Tally,
    /// Goodput ÷ the paired limit run's, per run.
    paired: Vec<f64>,
}

impl Metric {
    fn paired_ratio(&self) -> Option<f64> {
        common::median(&mut self.paired.clone())
    }
}

/// What the runs of one group share.
struct Setup {
    engine: Arc<Engine>,
    /// The ideal pool (with a latency only).
    ideal: Option<Arc<IdealPool>>,
    raw: Arc<LessSafeKey>,
    latency: Duration,
    capacity: usize,
}

fn contention(
    c: &mut Criterion,
    shape: Shape,
    latency_us: u64,
    metrics: &RefCell<BTreeMap<Key, Metric>>,
) {
    let setup = Setup {
        engine: Arc::new(common::engine(
            shape.hsms,
            shape.sessions,
            latency_us,
            session_wait_us(),
        )),
        ideal: (latency_us > 0).then(|| Arc::new(IdealPool::new(shape.capacity()))),
        raw: Arc::new(common::raw_key()),
        latency: Duration::from_micros(latency_us),
        capacity: shape.capacity(),
    };
    let mut g = c.benchmark_group(format!(
        "contention/hsms={},sessions={},latency_us={latency_us}",
        shape.hsms, shape.sessions
    ));
    g.sampling_mode(SamplingMode::Flat);
    g.throughput(Throughput::Elements(1));
    for tasks in TASKS {
        for mode in [Mode::Limit, Mode::Engine, Mode::Retry] {
            g.bench_function(format!("tasks={tasks}/{}", mode.name()), |b| {
                b.iter_custom(|iters| {
                    let budget = budget(&setup, tasks, iters);
                    let key = (shape, latency_us, tasks, mode);
                    let audit = mode == Mode::Retry && !metrics.borrow().contains_key(&key);
                    let limit = (mode != Mode::Limit)
                        .then(|| run(&setup, Mode::Limit, tasks, budget, false));
                    let t = run(&setup, mode, tasks, budget, audit);
                    let mut m = metrics.borrow_mut();
                    let m = m.entry(key).or_default();
                    if let Some(limit) = limit {
                        m.paired.push(t.goodput() / limit.goodput());
                    }
                    m.tally.add(&t);
                    let scaled = t.elapsed.as_secs_f64() * iters as f64 / t.ok.max(1) as f64;
                    Duration::from_secs_f64(scaled)
                })
            });
        }
    }
    g.finish();
}

/// `HSMDRILL_BENCH_SESSION_WAIT_US`, 0 by default.
fn session_wait_us() -> u64 {
    std::env::var("HSMDRILL_BENCH_SESSION_WAIT_US")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// `contention` or `contention-wait{N}`: where the reports go.
fn report_name() -> String {
    match session_wait_us() {
        0 => "contention".to_owned(),
        w => format!("contention-wait{w}"),
    }
}

/// Operations in a run: what criterion asks for, but at least enough for
/// [`MIN_RUN`] at the expected rate and two per task.
fn budget(setup: &Setup, tasks: usize, iters: u64) -> u64 {
    let rate = if setup.latency.is_zero() {
        1e6
    } else {
        (tasks.min(setup.capacity) as f64 / setup.latency.as_secs_f64()).min(2e5)
    };
    let min = ((rate * MIN_RUN.as_secs_f64()) as u64).max(2 * tasks as u64);
    iters.max(min)
}

/// The counts and latencies of one or more runs.
#[derive(Clone, Debug, Default)]
struct Tally {
    calls: u64,
    ok: u64,
    rejected: u64,
    lost: u64,
    elapsed: Duration,
    hist: Histogram,
}

impl Tally {
    fn add(&mut self, o: &Tally) {
        self.calls += o.calls;
        self.ok += o.ok;
        self.rejected += o.rejected;
        self.lost += o.lost;
        self.elapsed += o.elapsed;
        self.hist.merge(&o.hist);
    }

    fn goodput(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn failed_fraction(&self) -> f64 {
        self.rejected as f64 / self.calls.max(1) as f64
    }
}

/// What one task did.
struct TaskResult {
    tally: Tally,
    /// When its first operation started and its last one ended.
    span: Option<(Instant, Instant)>,
    /// (operation, ciphertext) of each success, when audited.
    blobs: Vec<(u64, Vec<u8>)>,
}

/// `tasks` threads doing `budget` operations in `mode` between them.
fn run(setup: &Setup, mode: Mode, tasks: usize, budget: u64, audit: bool) -> Tally {
    let barrier = Arc::new(Barrier::new(tasks));
    let next = Arc::new(AtomicU64::new(0));
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let engine = setup.engine.clone();
    let handles: Vec<_> = (0..tasks)
        .map(|task| {
            let barrier = barrier.clone();
            let next = next.clone();
            let done = done_tx.clone();
            let engine = engine.clone();
            let ideal = setup.ideal.clone();
            let raw = setup.raw.clone();
            let latency = setup.latency;
            thread::Builder::new()
                .stack_size(STACK)
                .spawn(move || {
                    barrier.wait();
                    let work = Work {
                        engine: &engine,
                        ideal: ideal.as_deref(),
                        raw: &raw,
                        latency,
                        mode,
                        audit,
                    };
                    let r = work.task(task, &next, budget);
                    let _ = done.send(());
                    r
                })
                .expect("spawn a task thread")
        })
        .collect();
    drop(done_tx);
    let watch = Instant::now();
    for _ in 0..tasks {
        let left = WATCHDOG.saturating_sub(watch.elapsed());
        if done_rx.recv_timeout(left).is_err() {
            panic!("deadlock: {mode:?} with {tasks} tasks has not finished after {WATCHDOG:?}");
        }
    }
    let mut total = Tally::default();
    let mut span: Option<(Instant, Instant)> = None;
    let mut blobs = Vec::new();
    for h in handles {
        let r = h.join().expect("a task thread panicked");
        total.add(&r.tally);
        if let Some((a, b)) = r.span {
            span = Some(span.map_or((a, b), |(x, y)| (x.min(a), y.max(b))));
        }
        blobs.extend(r.blobs);
    }
    total.elapsed = span.map_or(Duration::ZERO, |(a, b)| b - a);
    if audit {
        audit_run(&engine, budget, &total, blobs);
    }
    total
}

/// What a task thread works with.
struct Work<'a> {
    engine: &'a Engine,
    ideal: Option<&'a IdealPool>,
    raw: &'a LessSafeKey,
    latency: Duration,
    mode: Mode,
    audit: bool,
}

impl Work<'_> {
    /// Claims operations from `next` until `budget` is spent.
    fn task(&self, task: usize, next: &AtomicU64, budget: u64) -> TaskResult {
        let mut t = Tally::default();
        let mut blobs = Vec::new();
        let mut span: Option<(Instant, Instant)> = None;
        let mut req = EncryptRequest {
            key_id: Some(common::KEY_ID.into()),
            plaintext: Some(vec![0x5a; PLAINTEXT_LEN]),
            ..Default::default()
        };
        let mut backoff = Backoff::new(task as u64);
        loop {
            let op = next.fetch_add(1, Ordering::Relaxed);
            if op >= budget {
                break;
            }
            let plaintext = req.plaintext.as_mut().expect("set above");
            plaintext[..8].copy_from_slice(&op.to_le_bytes());
            let start = Instant::now();
            match self.mode {
                Mode::Limit => {
                    let slot = self.ideal.map(IdealPool::acquire);
                    if !self.latency.is_zero() {
                        thread::sleep(self.latency);
                    }
                    black_box(common::raw_seal(self.raw, plaintext));
                    drop(slot);
                    t.calls += 1;
                    t.ok += 1;
                }
                Mode::Engine => {
                    t.calls += 1;
                    match self.engine.encrypt(&req) {
                        Ok(r) => {
                            black_box(r);
                            t.ok += 1;
                        }
                        Err(e) if is_pkcs11(&e) => t.rejected += 1,
                        Err(e) => panic!("unexpected Encrypt error: {e}"),
                    }
                }
                Mode::Retry => {
                    let mut attempt = 0;
                    loop {
                        t.calls += 1;
                        match self.engine.encrypt(&req) {
                            Ok(r) => {
                                t.ok += 1;
                                if self.audit {
                                    blobs.push((op, r.ciphertext_blob));
                                }
                                break;
                            }
                            Err(e) if is_pkcs11(&e) => {
                                t.rejected += 1;
                                if attempt >= Backoff::MAX_ATTEMPTS {
                                    t.lost += 1;
                                    break;
                                }
                                thread::sleep(backoff.delay(attempt));
                                attempt += 1;
                            }
                            Err(e) => panic!("unexpected Encrypt error: {e}"),
                        }
                    }
                }
            }
            let end = Instant::now();
            t.hist.add(end - start);
            span = Some(span.map_or((start, end), |(a, _)| (a, end)));
        }
        TaskResult {
            tally: t,
            span,
            blobs,
        }
    }
}

/// Every operation succeeded once, and each ciphertext opens to its own
/// plaintext.
fn audit_run(engine: &Arc<Engine>, budget: u64, total: &Tally, blobs: Vec<(u64, Vec<u8>)>) {
    assert_eq!(total.lost, 0, "operations lost after retries");
    assert_eq!(total.ok, budget, "successes ≠ operations");
    let ids: HashSet<u64> = blobs.iter().map(|(op, _)| *op).collect();
    assert_eq!(
        ids.len() as u64,
        budget,
        "a duplicated or missing operation"
    );
    assert!(
        ids.iter().all(|op| *op < budget),
        "an operation never issued"
    );
    let blobs = Arc::new(blobs);
    let workers = 64.min(blobs.len().max(1));
    let handles: Vec<_> = (0..workers)
        .map(|w| {
            let blobs = blobs.clone();
            let engine = engine.clone();
            thread::Builder::new()
                .stack_size(STACK)
                .spawn(move || {
                    let mut backoff = Backoff::new(w as u64 + 1_000_000);
                    for (op, blob) in blobs.iter().skip(w).step_by(workers) {
                        let req = DecryptRequest {
                            ciphertext_blob: Some(blob.clone()),
                            ..Default::default()
                        };
                        let mut attempt = 0;
                        let plaintext = loop {
                            match engine.decrypt(&req) {
                                Ok(r) => break r.plaintext,
                                Err(e) if is_pkcs11(&e) && attempt < Backoff::MAX_ATTEMPTS => {
                                    thread::sleep(backoff.delay(attempt));
                                    attempt += 1;
                                }
                                Err(e) => panic!("audit Decrypt failed: {e}"),
                            }
                        };
                        assert_eq!(plaintext.len(), PLAINTEXT_LEN);
                        assert_eq!(plaintext[..8], op.to_le_bytes(), "crossed ciphertexts");
                    }
                })
                .expect("spawn an audit thread")
        })
        .collect();
    for h in handles {
        h.join().expect("an audit thread panicked");
    }
}

fn is_pkcs11(e: &Error) -> bool {
    e.kind() == ErrorKind::KmsInternal && e.message().contains("PKCS #11")
}

/// The physical limit of a pool: `capacity` sessions, a call blocks until
/// one is free and never fails.
struct IdealPool {
    capacity: usize,
    in_use: Mutex<usize>,
    freed: Condvar,
}

struct Slot<'a>(&'a IdealPool);

impl IdealPool {
    fn new(capacity: usize) -> Self {
        Self {
            capacity,
            in_use: Mutex::new(0),
            freed: Condvar::new(),
        }
    }

    fn acquire(&self) -> Slot<'_> {
        let mut n = self.in_use.lock().unwrap_or_else(|e| e.into_inner());
        while *n >= self.capacity {
            n = self.freed.wait(n).unwrap_or_else(|e| e.into_inner());
        }
        *n += 1;
        Slot(self)
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut n = self.0.in_use.lock().unwrap_or_else(|e| e.into_inner());
        *n -= 1;
        drop(n);
        self.0.freed.notify_one();
    }
}

/// The AWS SDKs' standard retry policy, exponential backoff with full
/// jitter: before retry `i` (0-based) sleep a uniform random time in
/// `[0, min(MAX, BASE × 2^i))`. The SDKs' 1 s base and 20 s cap are scaled
/// by 1/1000 to the emulated HSM (1 ms and 20 ms), and attempts are not
/// capped at 3: the drill's contract is that no operation is lost, so a
/// caller retries until it succeeds ([`Backoff::MAX_ATTEMPTS`] only bounds
/// a broken run, which then counts the operation as lost).
struct Backoff {
    state: u64,
}

impl Backoff {
    const BASE: Duration = Duration::from_millis(1);
    const MAX: Duration = Duration::from_millis(20);
    const MAX_ATTEMPTS: u32 = 10_000;

    fn new(seed: u64) -> Self {
        Self {
            state: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
        }
    }

    fn delay(&mut self, attempt: u32) -> Duration {
        let ceiling = Self::BASE
            .saturating_mul(1u32 << attempt.min(20))
            .min(Self::MAX);
        // xorshift64*: uniform enough for jitter.
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        let r = self.state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
        ceiling.mul_f64(r as f64 / (1u64 << 53) as f64)
    }
}

/// Log-linear latency histogram in nanoseconds: 16 buckets per power of two
/// (about 6% resolution).
#[derive(Clone, Debug, Default)]
struct Histogram {
    counts: Vec<u64>,
}

impl Histogram {
    fn bucket(ns: u64) -> usize {
        if ns < 32 {
            return ns as usize;
        }
        let e = 63 - u64::from(ns.leading_zeros());
        (32 + (e - 5) * 16 + ((ns >> (e - 4)) & 15)) as usize
    }

    /// The middle of bucket `i`, in nanoseconds.
    fn value(i: usize) -> f64 {
        if i < 32 {
            return i as f64;
        }
        let e = (i - 32) / 16 + 5;
        let sub = ((i - 32) % 16) as f64;
        let low = (1u64 << e) as f64 * (1.0 + sub / 16.0);
        low + (1u64 << e) as f64 / 32.0
    }

    fn add(&mut self, d: Duration) {
        let i = Self::bucket(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        if self.counts.len() <= i {
            self.counts.resize(i + 1, 0);
        }
        self.counts[i] += 1;
    }

    fn merge(&mut self, o: &Histogram) {
        if self.counts.len() < o.counts.len() {
            self.counts.resize(o.counts.len(), 0);
        }
        for (a, b) in self.counts.iter_mut().zip(&o.counts) {
            *a += b;
        }
    }

    /// The `q` quantile in nanoseconds.
    fn quantile(&self, q: f64) -> f64 {
        let total: u64 = self.counts.iter().sum();
        if total == 0 {
            return f64::NAN;
        }
        let rank = ((total as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Self::value(i);
            }
        }
        f64::NAN
    }
}

/// One rejected call (every session of both HSMs held by the "exhaust
/// sessions" fault) against one successful call, single-threaded.
fn reject(c: &mut Criterion) {
    for latency_us in LATENCIES_US {
        let ok_engine = common::engine(2, 16, latency_us, 0);
        let full_engine = common::engine(2, 16, latency_us, 0);
        full_engine
            .exhaust_sessions(common::CLUSTER_ID)
            .expect("exhaust sessions");
        let req = EncryptRequest {
            key_id: Some(common::KEY_ID.into()),
            plaintext: Some(vec![0x5a; PLAINTEXT_LEN]),
            ..Default::default()
        };
        assert!(full_engine.encrypt(&req).is_err_and(|e| is_pkcs11(&e)));
        let group_name = format!("reject/latency_us={latency_us}");
        let mut g = c.benchmark_group(&group_name);
        let id = format!("{group_name}/ok");
        let rejected_id = format!("{group_name}/rejected");
        g.bench_function("ok", |b| {
            b.iter_custom(|n| {
                // Paired with as many rejected calls just before (cheap).
                common::paired(
                    &id,
                    n,
                    || ok_engine.encrypt(&req).expect("Encrypt"),
                    &rejected_id,
                    || {
                        full_engine
                            .encrypt(&req)
                            .expect_err("every session is held")
                    },
                )
            })
        });
        let id = format!("{group_name}/rejected");
        g.bench_function("rejected", |b| {
            b.iter_custom(|n| {
                common::timed(&id, n, || {
                    full_engine
                        .encrypt(&req)
                        .expect_err("every session is held")
                })
            })
        });
        g.finish();
    }
}

fn latency_label(l: u64) -> String {
    if l == 0 {
        "0".to_owned()
    } else {
        format!("{} ms", l / 1000)
    }
}

/// The metrics table (Markdown and CSV) and the goodput plot.
fn report(metrics: &BTreeMap<Key, Metric>) {
    if metrics.is_empty() {
        return;
    }
    let mut csv = String::from(
        "hsms,sessions,latency_us,tasks,mode,calls,ok,rejected,lost,seconds,goodput_per_s,paired_ratio_to_limit,failed_fraction,p50_us,p99_us\n",
    );
    for ((shape, l, n, mode), m) in metrics {
        let t = &m.tally;
        let _ = writeln!(
            csv,
            "{},{},{l},{n},{},{},{},{},{},{:.6},{:.1},{},{:.4},{:.2},{:.2}",
            shape.hsms,
            shape.sessions,
            mode.name(),
            t.calls,
            t.ok,
            t.rejected,
            t.lost,
            t.elapsed.as_secs_f64(),
            t.goodput(),
            m.paired_ratio()
                .map_or(String::new(), |r| format!("{r:.3}")),
            t.failed_fraction(),
            t.hist.quantile(0.5) / 1e3,
            t.hist.quantile(0.99) / 1e3,
        );
    }
    common::write_report(&format!("{}.csv", report_name()), &csv);

    let mut md = String::new();
    let _ = writeln!(
        md,
        "### Contention: goodput and latency against the limit (session wait {} µs)\n",
        session_wait_us()
    );
    let _ = writeln!(
        md,
        "Ratios are medians of paired runs (the limit run just before each engine run). \
         At latency 0 the `norm.` column divides by the same ratio at 1 task, removing the \
         single-call overhead that `encrypt.rs` measures, so what is left is the cost of \
         concurrency (pool, locks).\n"
    );
    let _ = writeln!(
        md,
        "| pool | latency | tasks | limit ops/s | engine ok/s | engine ÷ limit | norm. | failed | call p50 / p99 | retry goodput | retry ÷ limit | norm. | op p50 / p99 | attempts/op | verdict |"
    );
    let _ = writeln!(
        md,
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    );
    for shape in SHAPES {
        for l in LATENCIES_US {
            let get = |n, m| metrics.get(&(shape, l, n, m));
            let ratio1 = |m| get(1, m).and_then(Metric::paired_ratio);
            for n in TASKS {
                let (Some(lim), Some(eng), Some(ret)) = (
                    get(n, Mode::Limit),
                    get(n, Mode::Engine),
                    get(n, Mode::Retry),
                ) else {
                    continue;
                };
                let er = eng.paired_ratio().unwrap_or(f64::NAN);
                let rr = ret.paired_ratio().unwrap_or(f64::NAN);
                let (en, rn) = if l == 0 {
                    (
                        er / ratio1(Mode::Engine).unwrap_or(f64::NAN),
                        rr / ratio1(Mode::Retry).unwrap_or(f64::NAN),
                    )
                } else {
                    (er, rr)
                };
                let saturated = n > shape.capacity();
                let verdict = if saturated {
                    let ok = rn >= 0.8 && ret.tally.lost == 0;
                    format!(
                        "saturated: retry ≥ 0.8× {}",
                        if ok { "met" } else { "**missed**" }
                    )
                } else {
                    let ok = en >= 0.9 && eng.tally.rejected == 0;
                    format!(
                        "unsaturated: ≥ 0.9× {}",
                        if ok { "met" } else { "**missed**" }
                    )
                };
                let norm = |x: f64| {
                    if l == 0 {
                        format!("{x:.2}")
                    } else {
                        "—".to_owned()
                    }
                };
                let _ = writeln!(
                    md,
                    "| {}×{} | {} | {n} | {:.0} | {:.0} | {er:.2} | {} | {:.1}% | {} / {} | {:.0} | {rr:.2} | {} | {} / {} | {:.2} | {verdict} |",
                    shape.hsms,
                    shape.sessions,
                    latency_label(l),
                    lim.tally.goodput(),
                    eng.tally.goodput(),
                    norm(en),
                    eng.tally.failed_fraction() * 100.0,
                    common::human_ns(eng.tally.hist.quantile(0.5)),
                    common::human_ns(eng.tally.hist.quantile(0.99)),
                    ret.tally.goodput(),
                    norm(rn),
                    common::human_ns(ret.tally.hist.quantile(0.5)),
                    common::human_ns(ret.tally.hist.quantile(0.99)),
                    ret.tally.calls as f64 / ret.tally.ok.max(1) as f64,
                );
            }
        }
    }
    println!("\n{md}");
    common::write_report(&format!("{}.md", report_name()), &md);
    common::write_report(&format!("{}-goodput.svg", report_name()), &plot(metrics));
}

/// Goodput (log scale) against tasks (log scale), one panel per latency:
/// per pool shape the engine with retries (solid) and the limit (dashed).
fn plot(metrics: &BTreeMap<Key, Metric>) -> String {
    const W: f64 = 460.0;
    const H: f64 = 340.0;
    const LEFT: f64 = 70.0;
    const TOP: f64 = 50.0;
    const PW: f64 = 360.0;
    const PH: f64 = 240.0;
    let colors = ["#1f77b4", "#d62728", "#2ca02c"];
    // Each panel its own decades of goodput.
    let range = |l: u64| {
        let g: Vec<f64> = metrics
            .iter()
            .filter(|((_, ml, _, _), m)| *ml == l && m.tally.goodput() > 0.0)
            .map(|(_, m)| m.tally.goodput())
            .collect();
        let lo = g.iter().copied().fold(f64::MAX, f64::min).max(1.0);
        let hi = g.iter().copied().fold(1.0, f64::max);
        let y0 = lo.log10().floor();
        (y0, hi.log10().ceil().max(y0 + 1.0))
    };
    let x = |n: usize| LEFT + PW * (n as f64).log2() / 10.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" font-family="sans-serif" font-size="12">"#,
        W * 2.0,
        H + 50.0
    );
    let _ = writeln!(
        s,
        r#"<rect width="100%" height="100%" fill="white"/><text x="{W}" y="18" text-anchor="middle" font-size="14">Encrypt goodput (successful calls/s) against concurrent tasks, per pool shape</text><text x="{W}" y="34" text-anchor="middle">solid: engine with SDK retries · dashed: physical limit of the same tasks and pool</text>"#,
    );
    for (panel, l) in LATENCIES_US.iter().enumerate() {
        let dx = panel as f64 * W;
        let (y0, y1) = range(*l);
        let y = |g: f64| TOP + PH * (1.0 - (g.max(1.0).log10() - y0) / (y1 - y0));
        let _ = writeln!(s, r#"<g transform="translate({dx},0)">"#);
        let _ = writeln!(
            s,
            r##"<rect x="{LEFT}" y="{TOP}" width="{PW}" height="{PH}" fill="none" stroke="#444"/><text x="{}" y="{}" text-anchor="middle">HSM latency {}</text>"##,
            LEFT + PW / 2.0,
            TOP - 4.0,
            latency_label(*l)
        );
        for n in TASKS {
            let _ = writeln!(
                s,
                r##"<line x1="{0}" y1="{TOP}" x2="{0}" y2="{1}" stroke="#ddd"/><text x="{0}" y="{2}" text-anchor="middle">{n}</text>"##,
                x(n),
                TOP + PH,
                TOP + PH + 16.0
            );
        }
        let mut e = y0 as i32;
        while f64::from(e) <= y1 {
            let yy = (y(10f64.powi(e)) * 10.0).round() / 10.0;
            let _ = writeln!(
                s,
                r##"<line x1="{LEFT}" y1="{yy}" x2="{}" y2="{yy}" stroke="#ddd"/><text x="{}" y="{}" text-anchor="end">1e{e}</text>"##,
                LEFT + PW,
                LEFT - 6.0,
                yy + 4.0
            );
            e += 1;
        }
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">concurrent tasks</text><text transform="translate(18,{}) rotate(-90)" text-anchor="middle">successful Encrypts per second</text>"#,
            LEFT + PW / 2.0,
            TOP + PH + 32.0,
            TOP + PH / 2.0
        );
        for (i, shape) in SHAPES.iter().enumerate() {
            for (mode, dash) in [
                (Mode::Retry, ""),
                (Mode::Limit, r#" stroke-dasharray="6,4""#),
            ] {
                let pts: Vec<(f64, f64)> = TASKS
                    .iter()
                    .filter_map(|n| metrics.get(&(*shape, *l, *n, mode)).map(|m| (n, m)))
                    .map(|(n, m)| (x(*n), y(m.tally.goodput())))
                    .collect();
                if pts.is_empty() {
                    continue;
                }
                for (px, py) in &pts {
                    let _ = writeln!(
                        s,
                        r#"<circle cx="{px:.1}" cy="{py:.1}" r="2.5" fill="{}"/>"#,
                        colors[i]
                    );
                }
                let pts: Vec<String> = pts.iter().map(|(a, b)| format!("{a:.1},{b:.1}")).collect();
                let _ = writeln!(
                    s,
                    r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="2"{dash}/>"#,
                    pts.join(" "),
                    colors[i]
                );
            }
            let ly = TOP + PH + 50.0;
            let lx = LEFT + i as f64 * 125.0 - 40.0;
            let _ = writeln!(
                s,
                r#"<line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="{}" stroke-width="2"/><text x="{}" y="{}">{} HSM × {} sessions</text>"#,
                lx + 18.0,
                colors[i],
                lx + 22.0,
                ly + 4.0,
                shape.hsms,
                shape.sessions
            );
        }
        let _ = writeln!(s, "</g>");
    }
    let _ = writeln!(s, "</svg>");
    s
}

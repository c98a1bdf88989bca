//! What the benches share: the criterion defaults, the worlds they run on,
//! and a record of every measured figure, so each bench can print (and
//! write under `target/hsmdrill-bench/`) its results as ratios to the
//! baseline measured in the same run.
//!
//! Each bench includes this module with `mod common;`; not every bench uses
//! every item.

#![allow(dead_code)]

pub mod http;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::Criterion;
use hsmdrill::engine::{world, Engine};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};

/// The example world's key (scenarios/worlds/example.yaml).
pub const KEY_ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";

/// The example world's cluster.
pub const CLUSTER_ID: &str = "cluster-1a23b4cdefg";

/// Short defaults (the machine is shared: ratios, not absolute figures,
/// are what the benches report); the command line overrides them, e.g.
/// `cargo bench -- --measurement-time 5`.
pub fn criterion() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(10)
        .configure_from_args()
}

/// Whether criterion runs each bench once (`cargo bench -- --test`) or only
/// lists them: the side reports are then not written.
pub fn quick_mode() -> bool {
    std::env::args().any(|a| a == "--test" || a == "--list")
}

/// The example world with its pool shape: `hsms` HSMs (1 or 2) of
/// `sessions` PKCS #11 sessions each, each operation holding its session
/// for `latency_us`, a call waiting at most `wait_us` for one.
pub fn world_yaml(hsms: usize, sessions: usize, latency_us: u64, wait_us: u64) -> String {
    let zones = ["us-west-2a", "us-west-2b"];
    let hsm_list = zones[..hsms.clamp(1, 2)].join(", ");
    format!(
        r#"seed: 1
account: "111122223333"
region: us-west-2
pkcs11: {{sessions_per_hsm: {sessions}, hsm_latency_micros: {latency_us}, session_wait_micros: {wait_us}}}
clusters:
  - id: {CLUSTER_ID}
    availability_zones: [us-west-2a, us-west-2b]
    hsms: [{hsm_list}]
custom_key_stores:
  - id: cks-1234567890abcdef0
    name: ExampleKeyStore
    cluster: {CLUSTER_ID}
    connected: true
keys:
  - id: {KEY_ID}
    store: ExampleKeyStore
    aliases: [alias/app]
"#
    )
}

/// An engine on the world [`world_yaml`] describes (virtual clock; outside
/// a burst window its session pools work in real time).
pub fn engine(hsms: usize, sessions: usize, latency_us: u64, wait_us: u64) -> Engine {
    let yaml = world_yaml(hsms, sessions, latency_us, wait_us);
    world::load_str(&yaml, "bench-world.yaml").expect("the bench world loads")
}

/// Where the side reports go: `$CARGO_TARGET_DIR/hsmdrill-bench` (or
/// `target/hsmdrill-bench` in the package).
pub fn out_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("hsmdrill-bench")
}

/// Writes `text` to `out_dir()/name` and says where.
pub fn write_report(name: &str, text: &str) {
    let dir = out_dir();
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("cannot create {}: {e}", dir.display());
        return;
    }
    let path = dir.join(name);
    match std::fs::write(&path, text) {
        Ok(()) => println!("wrote {}", path.display()),
        Err(e) => eprintln!("cannot write {}: {e}", path.display()),
    }
}

/// Total iterations and time measured per bench id, over every call of the
/// routine (warm-up included: the largest calls dominate the sums).
static TIMES: Mutex<BTreeMap<String, (u64, Duration)>> = Mutex::new(BTreeMap::new());

/// Adds `iters` iterations taking `elapsed` to bench `id`.
pub fn record(id: &str, iters: u64, elapsed: Duration) {
    let mut t = TIMES.lock().unwrap_or_else(|e| e.into_inner());
    let e = t.entry(id.to_owned()).or_insert((0, Duration::ZERO));
    e.0 += iters;
    e.1 += elapsed;
}

/// Mean time per iteration of bench `id`, in nanoseconds.
pub fn mean_ns(id: &str) -> Option<f64> {
    let t = TIMES.lock().unwrap_or_else(|e| e.into_inner());
    t.get(id)
        .filter(|(n, _)| *n > 0)
        .map(|(n, d)| d.as_secs_f64() * 1e9 / *n as f64)
}

/// Runs `f` `iters` times and records the time under `id`: the body of an
/// `iter_custom` for a plain single-threaded bench.
pub fn timed<T>(id: &str, iters: u64, mut f: impl FnMut() -> T) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        std::hint::black_box(f());
    }
    let elapsed = start.elapsed();
    record(id, iters, elapsed);
    elapsed
}

/// Paired runs: for (id, other id), the time of each run of `id` and of the
/// run of the other just before it.
type Pairs = BTreeMap<(String, String), Vec<(Duration, Duration)>>;

static PAIRS: Mutex<Pairs> = Mutex::new(BTreeMap::new());

/// Runs `other` `iters` times, then `f` `iters` times (recorded under `id`
/// like [`timed`]), and keeps both times as a pair: on a shared machine the
/// ratio of two runs made back to back is steadier than the ratio of two
/// means taken seconds apart. Returns the time of `f`.
pub fn paired<T, U>(
    id: &str,
    iters: u64,
    f: impl FnMut() -> T,
    other_id: &str,
    mut other: impl FnMut() -> U,
) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        std::hint::black_box(other());
    }
    let other_time = start.elapsed();
    let time = timed(id, iters, f);
    record_pair(id, other_id, time, other_time);
    time
}

/// Keeps the times of a run of `id` and of a run of `other_id` made just
/// before it with the same work.
pub fn record_pair(id: &str, other_id: &str, time: Duration, other_time: Duration) {
    let mut p = PAIRS.lock().unwrap_or_else(|e| e.into_inner());
    p.entry((id.to_owned(), other_id.to_owned()))
        .or_default()
        .push((time, other_time));
}

/// The median over paired runs of time(`id`) ÷ time(`baseline`).
pub fn paired_ratio(id: &str, baseline: &str) -> Option<f64> {
    let p = PAIRS.lock().unwrap_or_else(|e| e.into_inner());
    let mut ratios: Vec<f64> = match (
        p.get(&(id.to_owned(), baseline.to_owned())),
        p.get(&(baseline.to_owned(), id.to_owned())),
    ) {
        (Some(v), _) => v
            .iter()
            .map(|(a, b)| a.as_secs_f64() / b.as_secs_f64().max(1e-12))
            .collect(),
        (None, Some(v)) => v
            .iter()
            .map(|(b, a)| a.as_secs_f64() / b.as_secs_f64().max(1e-12))
            .collect(),
        (None, None) => return None,
    };
    median(&mut ratios)
}

/// One line of a ratio table: `id` against `baseline`, and the target the
/// ratio must stay under (if any).
pub struct Ratio<'a> {
    /// What it shows.
    pub label: &'a str,
    /// The measured bench.
    pub id: String,
    /// Its baseline in the same group.
    pub baseline: String,
    /// The largest acceptable ratio.
    pub target: Option<f64>,
}

/// A Markdown table of time ratios (bench ÷ baseline), printed and written
/// to `out_dir()/name`: the ratio of the mean times, and the median ratio
/// of paired runs when the bench made them, which decides the verdict.
/// Benches that did not run (filtered out) are left out.
pub fn ratio_report(name: &str, title: &str, rows: &[Ratio<'_>]) {
    let mut out = String::new();
    let _ = writeln!(out, "### {title}\n");
    let _ = writeln!(
        out,
        "| figure | bench | baseline | bench time | baseline time | ratio of means | paired ratio | target | verdict |"
    );
    let _ = writeln!(out, "|---|---|---|---:|---:|---:|---:|---:|---|");
    let mut any = false;
    for r in rows {
        let (Some(a), Some(b)) = (mean_ns(&r.id), mean_ns(&r.baseline)) else {
            continue;
        };
        any = true;
        let means = a / b;
        let pair = paired_ratio(&r.id, &r.baseline);
        let ratio = pair.unwrap_or(means);
        let (target, verdict) = match r.target {
            Some(t) if ratio <= t => (format!("≤ {t}"), "met"),
            Some(t) => (format!("≤ {t}"), "**missed**"),
            None => ("—".to_owned(), "—"),
        };
        let _ = writeln!(
            out,
            "| {} | `{}` | `{}` | {} | {} | {means:.2}× | {} | {target} | {verdict} |",
            r.label,
            r.id,
            r.baseline,
            human_ns(a),
            human_ns(b),
            pair.map_or("—".to_owned(), |p| format!("{p:.2}×")),
        );
    }
    if any && !quick_mode() {
        println!("\n{out}");
        write_report(name, &out);
    }
}

/// `1.23 µs` and the like.
pub fn human_ns(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.3} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.3} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.3} µs", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}

/// The median of `v` (sorted in place), or `None` when it is empty.
pub fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    })
}

/// The physical baseline's key: AES-256-GCM built once.
pub fn raw_key() -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[0x42; 32]).expect("a 32-byte key"))
}

/// Raw seal into a fresh buffer (as any API returning a new ciphertext
/// does), with a given nonce and no additional data.
pub fn raw_seal(key: &LessSafeKey, plaintext: &[u8]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(plaintext.len() + AES_256_GCM.tag_len());
    buf.extend_from_slice(plaintext);
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key([7; NONCE_LEN]),
        Aad::empty(),
        &mut buf,
    )
    .expect("seal");
    buf
}

/// Raw open into a fresh buffer (as Decrypt returns one).
pub fn raw_open(key: &LessSafeKey, sealed: &[u8]) -> Vec<u8> {
    let mut buf = sealed.to_vec();
    let len = key
        .open_in_place(
            Nonce::assume_unique_for_key([7; NONCE_LEN]),
            Aad::empty(),
            &mut buf,
        )
        .expect("open")
        .len();
    buf.truncate(len);
    buf
}

//! The scenario front end: runbook parse throughput on a large generated
//! file, against a lexical floor, and the time to run the shipped suite
//! (`scenarios/` and `features/`) end to end, per file and per scenario,
//! against a minimal scenario.
//!
//! `cargo bench --bench scenarios`; the ratios and the per-scenario table
//! are printed at the end and written to `target/hsmdrill-bench/`.

// A bench aborts on a broken setup; there is no caller to hand errors to.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use hsmdrill::dsl;
use hsmdrill::scenario::ir::Scenario;
use hsmdrill::scenario::runner;
use hsmdrill::suite;

/// Copies of the shipped runbooks in the generated file (about 2 MB).
const COPIES: usize = 20;

/// The smallest useful scenario: load the example world, check one thing.
const BASELINE: &str = r#"runbook "baseline: load the example world and check one thing"
  world "worlds/example.yaml"
  expect ExampleKeyStore.ConnectionState == CONNECTED
"#;

fn main() {
    let mut c = common::criterion();
    parse(&mut c);
    let per_scenario = RefCell::new(BTreeMap::new());
    run(&mut c, &per_scenario);
    c.final_summary();
    if !common::quick_mode() {
        report(&per_scenario.borrow());
    }
}

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

/// Every shipped runbook, `copies` times, each runbook renamed so that
/// titles stay unique. Placed in `scenarios/` so world paths resolve.
fn generated(copies: usize) -> String {
    let mut files: Vec<PathBuf> = std::fs::read_dir(scenarios_dir())
        .expect("scenarios/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "runbook"))
        .collect();
    files.sort();
    let texts: Vec<String> = files
        .iter()
        .map(|p| std::fs::read_to_string(p).expect("a runbook"))
        .collect();
    let mut out = String::new();
    for i in 0..copies {
        for t in &texts {
            for line in t.lines() {
                match line.strip_prefix("runbook \"") {
                    Some(rest) => {
                        let _ = writeln!(out, "runbook \"copy {i}: {rest}");
                    }
                    None => {
                        out.push_str(line);
                        out.push('\n');
                    }
                }
            }
            out.push('\n');
        }
    }
    out
}

/// The lexical floor: every line split into whitespace-separated words.
fn scan(text: &str) -> usize {
    text.lines().map(|l| l.split_whitespace().count()).sum()
}

fn parse(c: &mut Criterion) {
    let text = generated(COPIES);
    let path = scenarios_dir().join("bench-generated.runbook");
    let parsed = dsl::parse_str(&text, &path).expect("the generated file parses");
    let count = parsed.scenarios.len();
    let group_name = format!("scenarios/parse/runbooks={count}");
    let mut g = c.benchmark_group(&group_name);
    g.throughput(Throughput::Bytes(text.len() as u64));
    let id = format!("{group_name}/scan");
    g.bench_function("scan", |b| {
        b.iter_custom(|n| common::timed(&id, n, || scan(black_box(&text))))
    });
    let id = format!("{group_name}/parse");
    g.bench_function("parse", |b| {
        b.iter_custom(|n| {
            common::timed(&id, n, || {
                dsl::parse_str(black_box(&text), &path).expect("the generated file parses")
            })
        })
    });
    g.finish();
    if !common::quick_mode() {
        if let (Some(scan_ns), Some(parse_ns)) = (
            common::mean_ns(&format!("{group_name}/scan")),
            common::mean_ns(&format!("{group_name}/parse")),
        ) {
            let mb = text.len() as f64 / 1e6;
            let md = format!(
                "### Runbook parse throughput\n\n\
                 | file | runbooks | scan | parse | parse ÷ scan |\n|---|---:|---:|---:|---:|\n\
                 | {mb:.2} MB generated ({COPIES} copies of the shipped runbooks) | {count} | {:.0} MB/s | {:.1} MB/s | {:.0}× |\n",
                mb / (scan_ns / 1e9),
                mb / (parse_ns / 1e9),
                parse_ns / scan_ns,
            );
            println!("\n{md}");
            common::write_report("parse.md", &md);
        }
    }
}

/// A shipped file and its scenarios.
struct File {
    name: String,
    path: PathBuf,
    scenarios: Vec<Scenario>,
}

fn shipped() -> Vec<File> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = vec![root.join(suite::DEFAULT_PATH)];
    if root.join(suite::DEFAULT_FEATURES).is_dir() {
        paths.push(root.join(suite::DEFAULT_FEATURES));
    }
    let found = suite::discover(&paths).expect("the shipped suite");
    let loaded = suite::load_all(&found).expect("the shipped suite reads");
    loaded
        .into_iter()
        .filter_map(|l| match l.parsed {
            Ok(parsed) => Some(File {
                name: l.name,
                path: l.path,
                scenarios: parsed.scenarios,
            }),
            Err(d) => {
                eprintln!(
                    "warning: {} does not parse ({} errors); skipped",
                    l.name,
                    d.len()
                );
                None
            }
        })
        .collect()
}

/// Runs a scenario; a failure is reported (the suite's tests catch it), not
/// timed as if it were a success.
fn run_one(s: &Scenario, path: &Path, warned: &mut bool) {
    let outcome = runner::run(s, path);
    if !outcome.passed() && !*warned {
        *warned = true;
        eprintln!(
            "warning: scenario {:?} of {} fails; its time is not representative",
            s.name,
            path.display()
        );
    }
    black_box(outcome);
}

fn run(c: &mut Criterion, per_scenario: &RefCell<BTreeMap<String, (u64, Duration)>>) {
    let files = shipped();
    let total: usize = files.iter().map(|f| f.scenarios.len()).sum();
    let base_path = scenarios_dir().join("bench-baseline.runbook");
    let base = dsl::parse_str(BASELINE, &base_path).expect("the baseline parses");
    let base = base.scenarios.first().expect("one scenario").clone();
    let mut g = c.benchmark_group("scenarios/run");
    g.throughput(Throughput::Elements(1));
    let mut warned = false;
    g.bench_function("baseline", |b| {
        b.iter_custom(|n| {
            common::timed("scenarios/run/baseline", n, || {
                run_one(&base, &base_path, &mut warned)
            })
        })
    });
    // The whole suite; each scenario's time is kept for the table.
    g.throughput(Throughput::Elements(total as u64));
    g.bench_function(format!("suite/scenarios={total}"), |b| {
        b.iter_custom(|n| {
            let mut elapsed = Duration::ZERO;
            for _ in 0..n {
                for f in &files {
                    for s in &f.scenarios {
                        let start = Instant::now();
                        run_one(s, &f.path, &mut warned);
                        let d = start.elapsed();
                        elapsed += d;
                        let mut m = per_scenario.borrow_mut();
                        let e = m
                            .entry(format!("{}: {}", f.name, s.name))
                            .or_insert((0, Duration::ZERO));
                        e.0 += 1;
                        e.1 += d;
                    }
                }
            }
            common::record("scenarios/run/suite", n, elapsed);
            elapsed
        })
    });
    g.finish();
}

fn report(per_scenario: &BTreeMap<String, (u64, Duration)>) {
    let Some(base) = common::mean_ns("scenarios/run/baseline") else {
        return;
    };
    let Some(suite_ns) = common::mean_ns("scenarios/run/suite") else {
        return;
    };
    let n = per_scenario.len().max(1);
    let mut md = String::new();
    let _ = writeln!(md, "### Shipped suite, end to end\n");
    let _ = writeln!(
        md,
        "| figure | time | ÷ baseline scenario |\n|---|---:|---:|\n| baseline scenario (load the example world, one expect) | {} | 1.00× |\n| whole suite ({n} scenarios) | {} | {:.1}× |\n| mean per scenario | {} | {:.2}× |\n",
        common::human_ns(base),
        common::human_ns(suite_ns),
        suite_ns / base,
        common::human_ns(suite_ns / n as f64),
        suite_ns / n as f64 / base,
    );
    let mut rows: Vec<(f64, &String)> = per_scenario
        .iter()
        .map(|(k, (c, d))| (d.as_secs_f64() * 1e9 / (*c).max(1) as f64, k))
        .collect();
    rows.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut csv = String::from("scenario,mean_ns,ratio_to_baseline\n");
    for (ns, k) in &rows {
        let _ = writeln!(csv, "\"{}\",{ns:.0},{:.3}", k.replace('"', "'"), ns / base);
    }
    let _ = writeln!(md, "Slowest scenarios (all {n} in `scenarios.csv`):\n");
    let _ = writeln!(md, "| scenario | time | ÷ baseline |\n|---|---:|---:|");
    for (ns, k) in rows.iter().take(10) {
        let _ = writeln!(
            md,
            "| {k} | {} | {:.1}× |",
            common::human_ns(*ns),
            ns / base
        );
    }
    println!("\n{md}");
    common::write_report("scenarios.md", &md);
    common::write_report("scenarios.csv", &csv);
}

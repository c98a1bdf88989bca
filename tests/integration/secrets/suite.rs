//! `no_secret_leaks_from_the_shipped_suite`: every shipped scenario run
//! through the recording target; its responses, errors, trail, reports and
//! snapshot scanned; then the committed `.snap` files and the built
//! binary's output in every format.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use hsmdrill::engine::Engine;
use hsmdrill::scenario::snapshot;
use hsmdrill::suite::report;
use hsmdrill::suite::{self, Run, ScenarioResult, SuiteResult};

use crate::support::hsmdrill;

use super::harvest::{is_engine_made, Secrets};
use super::recorder::{lookup_events_pages, run_recorded, snapshot_result};
use super::scanner::{Scanner, Tally};

/// The passwords among `secrets` that appear in any of `texts`.
fn written(secrets: &Secrets, texts: &[String]) -> BTreeSet<String> {
    secrets
        .passwords
        .keys()
        .filter(|p| texts.iter().any(|t| t.contains(p.as_str())))
        .cloned()
        .collect()
}

/// The reports of a suite's results, in every format.
fn reports(results: &SuiteResult) -> [(&'static str, String); 4] {
    [
        ("pretty report", report::pretty(results)),
        ("JSON report", report::json(results).unwrap()),
        ("JUnit report", report::junit(results)),
        ("HTML report", report::html(results)),
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
            // What the state file of `serve --state` holds of the engine:
            // its rows, as JSON.
            let rows = recorder.engine().rows().unwrap();
            let state_file: Vec<u8> = rows
                .entities
                .iter()
                .map(|(_, _, json)| json)
                .chain(rows.materials.iter().map(|(_, json)| json))
                .flat_map(|json| json.bytes().chain(*b"\n"))
                .collect();
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
            let one = SuiteResult {
                results: vec![result.clone()],
            };
            for (what, text) in reports(&one) {
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
    for (what, text) in reports(&suite_result) {
        tally.check(&lenient_all, &format!("suite {what}"), text.as_bytes());
    }

    // The committed snapshots: no password of any world or runbook in a
    // response; in a step line or the header, only one the scenario wrote.
    let passwords_only = all.passwords_only();
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
    tally.assert_no_leaks();
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
    let passwords_only = secrets.all.passwords_only();
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

//! Every shipped scenario (`scenarios/**/*.runbook`) through the one runner,
//! with its DescribeCustomKeyStores snapshot checked by insta.
//!
//! A failing step fails the test with the rendered failure; a changed
//! response fails on its snapshot and leaves a `.snap.new` for
//! `cargo insta review` (or accept with `hsmdrill run --accept`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use hsmdrill::dsl;
use hsmdrill::scenario::{runner, snapshot};

/// The shipped runbooks, found as `hsmdrill run` finds them.
fn runbooks(dir: &Path, out: &mut Vec<PathBuf>) {
    let found = hsmdrill::suite::discover(&[dir.to_path_buf()]).unwrap();
    out.extend(
        found
            .into_iter()
            .map(|f| f.path)
            .filter(|p| p.extension().is_some_and(|e| e == "runbook")),
    );
}

#[test]
fn every_shipped_scenario_passes_and_matches_its_snapshot() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::env::set_current_dir(root).unwrap();
    let mut files = Vec::new();
    runbooks(Path::new("scenarios"), &mut files);
    assert!(
        files.len() >= 9,
        "expected the R1–R9 runbooks, found {files:?}"
    );
    let mut failures = Vec::new();
    let mut count = 0;
    for file in &files {
        let parsed = match dsl::parse_file(file) {
            Ok(p) => p,
            Err(diags) => {
                let source = std::fs::read_to_string(file).unwrap_or_default();
                failures.push(hsmdrill::scenario::diagnostic::render_all(&diags, &source));
                continue;
            }
        };
        for scenario in &parsed.scenarios {
            count += 1;
            let outcome = runner::run(scenario, file);
            match &outcome.failure {
                Some(f) => failures.push(format!(
                    "{} › {}\n  at {}: {}\n  expected: {}\n  actual:   {}",
                    file.display(),
                    scenario.name,
                    f.span,
                    f.step,
                    f.expected,
                    f.actual
                )),
                None => snapshot::assert_with_insta(&outcome, file),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {count} scenarios failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

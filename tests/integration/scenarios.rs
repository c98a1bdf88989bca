//! Every shipped scenario (`scenarios/**/*.runbook`) through the one runner,
//! with its DescribeCustomKeyStores snapshot checked by insta.
//!
//! A failing step fails the test with the rendered failure; a changed
//! response fails on its snapshot and leaves a `.snap.new` for
//! `cargo insta review` (or accept with `hsmdrill run --accept`).

use std::path::Path;

use hsmdrill::dsl;
use hsmdrill::scenario::{runner, snapshot};

#[test]
fn every_shipped_scenario_passes_and_matches_its_snapshot() {
    crate::support::at_root();
    let files = crate::support::runbooks(Path::new("scenarios"));
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

//! Every Gherkin feature (`features/**/*.feature`) run with the `cucumber`
//! crate on hsmdrill's one runner: the catalog registered once by
//! `hsmdrill::gherkin::cucumber`, each scenario lowered to the same IR a
//! runbook gives, each step run through a `runner::Session`.
//!
//! A plain `main` (`harness = false`): cucumber prints its own report. The
//! run fails on any failed, skipped or undefined step, a file that does not
//! parse, or a DescribeCustomKeyStores snapshot that differs from
//! `features/snapshots/` (insta: a new or changed one is left as `.snap.new`
//! for `cargo insta review`; `INSTA_UPDATE=always cargo test --test features`
//! or `hsmdrill run --accept features/` writes them).
//!
//! The command line is cucumber's (`hsmdrill::gherkin::harness`):
//! `cargo test --test features -- --tags '@R5 and not @slow'`,
//! `-- --name REGEX`, `-- --fail-fast`, `-- --help`; libtest's arguments,
//! which `cargo test` passes to every test binary, are accepted too.

use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    if let Err(e) = std::env::set_current_dir(root) {
        eprintln!("error: cannot enter {}: {e}", root.display());
        return ExitCode::from(hsmdrill::gherkin::harness::USAGE);
    }
    let dir = Path::new("features");
    let mut files = Vec::new();
    features(dir, &mut files);
    if files.is_empty() {
        eprintln!("error: no .feature file under {}", dir.display());
        return ExitCode::from(hsmdrill::gherkin::harness::USAGE);
    }
    ExitCode::from(hsmdrill::gherkin::harness::main(
        std::env::args_os(),
        dir,
        io::stdout(),
        &mut io::stderr(),
    ))
}

/// The `.feature` files under a folder, recursively (none if it is
/// missing).
fn features(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
        if path.is_dir() {
            features(&path, out);
        } else if path.extension().is_some_and(|e| e == "feature") {
            out.push(path);
        }
    }
}

//! The features test harness (`tests/features.rs`, `harness = false`):
//! cucumber's own command line, with libtest's options accepted.
//!
//! `cargo test --test features -- --tags '@R5 and not @slow'` (or
//! `--name REGEX`, `--concurrency N`, `--fail-fast`, `--help`, …) works as
//! cucumber documents. `cargo test` also passes its libtest arguments to
//! every test binary, this one included (`cargo test -- --test-threads=16`,
//! `cargo test some_test`), so libtest's options are accepted too
//! ([`Libtest`]): a positional filter, `--exact` and `--skip` select
//! scenarios by name as libtest selects tests, `--list` lists the selected
//! scenarios without running them, `--ignored` runs none (no scenario is
//! ignored), and the rest (`--test-threads`, `--nocapture`, `--format`, …)
//! change nothing. Any other argument is an error, as with libtest.
//!
//! [`main`] returns the exit status: 0 when every selected scenario
//! passed, 1 when one failed (a failed, skipped or undefined step, a
//! snapshot that differs), 2 for invalid input: a file that does not
//! parse, a bad argument, or a `--tags` or `--name` that selects no
//! scenario (a CI job that runs nothing would pass). The same statuses as
//! `hsmdrill run`.

use std::ffi::OsString;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use clap::{CommandFactory as _, FromArgMatches as _};
use cucumber::parser::Parser as _;
use cucumber::writer::Coloring;
use futures::StreamExt as _;

use super::drill::{cucumber_filter, run_with, Opts};

/// Exit status: every selected scenario passed.
pub const PASSED: u8 = 0;
/// Exit status: a scenario failed.
pub const FAILED: u8 = 1;
/// Exit status: a file that does not parse, a bad argument, or a filter
/// that selects nothing.
pub const USAGE: u8 = 2;

/// The end of `--help`.
const AFTER_HELP: &str = "\
libtest's other options (--test-threads, --nocapture, --format, ...) are accepted and change nothing.

Exit status: 0 every selected scenario passed; 1 a scenario failed (a failed, skipped or undefined \
step, a snapshot that differs); 2 invalid input (a file that does not parse, a bad argument, or a \
--tags or --name that selects no scenario).";

/// libtest's options, which `cargo test` passes to every test binary.
/// Only the selection ones mean something for features.
#[derive(Clone, Debug, Default, clap::Args)]
#[group(skip)]
pub struct Libtest {
    /// libtest filters: run only the scenarios whose name contains one of
    /// them (`cargo test NAME` passes NAME to every test binary).
    #[arg(value_name = "FILTER")]
    pub filters: Vec<String>,
    /// libtest: a FILTER or --skip must equal the scenario's name.
    #[arg(long)]
    pub exact: bool,
    /// libtest: skip the scenarios whose name contains FILTER.
    #[arg(long, value_name = "FILTER")]
    pub skip: Vec<String>,
    /// libtest: list the selected scenarios instead of running them.
    #[arg(long)]
    pub list: bool,
    /// libtest: run only ignored tests (no scenario is, so none runs).
    #[arg(long)]
    pub ignored: bool,
    /// Accepted for libtest; changes nothing.
    #[arg(long, hide = true)]
    pub include_ignored: bool,
    /// Accepted for libtest; changes nothing.
    #[arg(long, value_name = "N", hide = true)]
    pub test_threads: Option<usize>,
    /// Accepted for libtest; changes nothing.
    #[arg(long, visible_alias = "no-capture", hide = true)]
    pub nocapture: bool,
    /// Accepted for libtest; changes nothing.
    #[arg(long, hide = true)]
    pub show_output: bool,
    /// Accepted for libtest; changes nothing.
    #[arg(short, long, hide = true)]
    pub quiet: bool,
    /// Accepted for libtest; changes nothing.
    #[arg(long, value_name = "FORMAT", hide = true)]
    pub format: Option<String>,
    /// Accepted for libtest; changes nothing.
    #[arg(short = 'Z', value_name = "FLAG", hide = true)]
    pub unstable: Vec<String>,
    /// Accepted for libtest; changes nothing.
    #[arg(long, value_name = "PATH", hide = true)]
    pub logfile: Option<String>,
    /// Accepted for libtest; changes nothing.
    #[arg(long, hide = true)]
    pub report_time: bool,
    /// Accepted for libtest; changes nothing.
    #[arg(long, hide = true)]
    pub ensure_time: bool,
    /// Accepted for libtest; changes nothing.
    #[arg(long, hide = true)]
    pub shuffle: bool,
    /// Accepted for libtest; changes nothing.
    #[arg(long, value_name = "SEED", hide = true)]
    pub shuffle_seed: Option<u64>,
    /// Accepted for libtest; changes nothing.
    #[arg(long, hide = true)]
    pub force_run_in_process: bool,
    /// Accepted for libtest; changes nothing.
    #[arg(long, hide = true)]
    pub exclude_should_panic: bool,
    /// Accepted for libtest; changes nothing.
    #[arg(long, hide = true)]
    pub test: bool,
    /// Accepted for libtest; changes nothing.
    #[arg(long, hide = true)]
    pub bench: bool,
}

impl Libtest {
    /// Whether libtest's filters select a scenario of this name.
    pub fn selects(&self, name: &str) -> bool {
        let hit = |filter: &String| {
            if self.exact {
                name == filter
            } else {
                name.contains(filter.as_str())
            }
        };
        (self.filters.is_empty() || self.filters.iter().any(hit)) && !self.skip.iter().any(hit)
    }
}

/// The harness's command line: cucumber's, with [`Libtest`]'s options.
pub type HarnessOpts = Opts<Libtest>;

/// Runs the harness with `args` (the program name first) on the features
/// under `path`: cucumber's report and `--help` to `out`, errors to `err`.
/// Returns the exit status ([`PASSED`], [`FAILED`] or [`USAGE`]).
pub fn main<Out: Write + 'static>(
    args: impl IntoIterator<Item = OsString>,
    path: &Path,
    mut out: Out,
    err: &mut dyn Write,
) -> u8 {
    let parsed = HarnessOpts::command()
        .about("Runs hsmdrill's Gherkin features with cucumber, on hsmdrill's runner.")
        .long_about(None)
        .after_help(AFTER_HELP)
        .try_get_matches_from(args)
        .and_then(|m| HarnessOpts::from_arg_matches(&m).map(|opts| (m, opts)));
    let (matches, mut opts) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            let to: &mut dyn Write = if e.use_stderr() { err } else { &mut out };
            let _ = write!(to, "{}", e.render());
            return u8::try_from(e.exit_code()).unwrap_or(USAGE);
        }
    };
    let libtest = std::mem::take(&mut opts.custom);
    // The filter as written, for the message when it selects nothing.
    let asked = ["name", "tags"].into_iter().find_map(|id| {
        let mut raw = matches.try_get_raw(id).ok().flatten()?;
        let text = raw.next()?.to_string_lossy();
        Some(format!("--{id} `{text}`"))
    });
    if libtest.list {
        return list(path, &opts, &libtest, asked.as_deref(), &mut out, err);
    }
    if libtest.ignored {
        let _ = writeln!(out, "features: no scenario is ignored, none ran");
        return PASSED;
    }
    // Counts the scenarios cucumber's own filter selects: `run_with` asks
    // the libtest filter only about those.
    let selected = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&selected);
    let summary = run_with(path, out, Coloring::Auto, opts, move |_, _, scenario| {
        counted.fetch_add(1, Ordering::Relaxed);
        libtest.selects(&scenario.name)
    });
    if summary.parsing_errors == 0 && selected.load(Ordering::Relaxed) == 0 {
        if let Some(filter) = asked {
            let _ = writeln!(
                err,
                "error: {filter} selects no scenario under {}",
                path.display()
            );
            return USAGE;
        }
    }
    let _ = writeln!(
        err,
        "features: {} passed, {} failed",
        summary.passed_scenarios, summary.failed_scenarios
    );
    if summary.passed() {
        PASSED
    } else if summary.parsing_errors > 0 {
        let _ = writeln!(
            err,
            "error: {} feature files do not parse (invalid input)",
            summary.parsing_errors
        );
        USAGE
    } else {
        let _ = writeln!(
            err,
            "error: {} failed steps (skipped and undefined included), {} skipped, {} parse errors, {} failed hooks (snapshots)",
            summary.failed_steps,
            summary.skipped_steps,
            summary.parsing_errors,
            summary.hook_errors
        );
        FAILED
    }
}

/// `--list`: the selected scenarios, one `NAME: test` line each (libtest's
/// format), parsed as cucumber parses them (outlines expanded).
fn list(
    path: &Path,
    opts: &HarnessOpts,
    libtest: &Libtest,
    asked: Option<&str>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let own = cucumber_filter(opts.re_filter.clone(), opts.tags_filter.clone());
    let parsed = cucumber::parser::Basic::new().parse(path, opts.parser.clone());
    let features = futures::executor::block_on(parsed.collect::<Vec<_>>());
    let mut status = PASSED;
    let mut count = 0;
    for feature in features {
        let feature = match feature {
            Ok(f) => f,
            Err(e) => {
                let _ = writeln!(err, "error: {e}");
                status = USAGE;
                continue;
            }
        };
        let scenarios = feature.scenarios.iter().map(|s| (None, s)).chain(
            feature
                .rules
                .iter()
                .flat_map(|r| r.scenarios.iter().map(move |s| (Some(r), s))),
        );
        for (rule, scenario) in scenarios {
            if !libtest.ignored && own(&feature, rule, scenario) && libtest.selects(&scenario.name)
            {
                let _ = writeln!(out, "{}: test", scenario.name);
                count += 1;
            }
        }
    }
    if libtest.format.as_deref() != Some("terse") {
        let _ = writeln!(out, "\n{count} tests, 0 benchmarks");
    }
    if let (0, Some(filter)) = (count, asked) {
        let _ = writeln!(
            err,
            "error: {filter} selects no scenario under {}",
            path.display()
        );
        return USAGE;
    }
    status
}

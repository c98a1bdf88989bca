//! The `hsmdrill` command line: a thin shell over the library.
//!
//! `run` and `check` find runbooks, parse and run them with
//! `scenario::suite`, and print what `scenario::report` makes of the
//! results; `steps` prints the DSL catalog. Exit status: 0 when everything
//! passed, 1 when a scenario failed (or, for `check`, a file has errors), 2
//! for a problem with the input (a bad path, an unreadable file, a bad
//! option), always reported on one `error: …` line.

use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use hsmdrill::dsl;
use hsmdrill::scenario::report;
use hsmdrill::scenario::suite::{self, Loaded, Options, SuiteError};

/// Rehearse AWS KMS custom key store (CloudHSM key store) incidents.
#[derive(Debug, Parser)]
#[command(name = "hsmdrill", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run runbooks on the embedded engine and check their snapshots.
    Run {
        /// Runbook files or folders (searched recursively for `.runbook`).
        #[arg(default_value = suite::DEFAULT_PATH)]
        paths: Vec<PathBuf>,
        /// Only scenarios whose tags match, e.g. `@R5 or @R7`,
        /// `(@a or @b) and not @slow`.
        #[arg(long, value_name = "EXPR")]
        tag: Option<String>,
        /// Report format.
        #[arg(long, value_enum, default_value_t = Format::Pretty)]
        format: Format,
        /// Write the report to FILE instead of standard output.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Write new and changed snapshots.
        #[arg(long)]
        accept: bool,
        /// Run only the K-th of N slices of the scenarios (1-based).
        #[arg(long, value_name = "K/N")]
        partition: Option<String>,
    },
    /// Parse and validate runbooks without running them.
    Check {
        /// Runbook files or folders (searched recursively for `.runbook`).
        #[arg(default_value = suite::DEFAULT_PATH)]
        paths: Vec<PathBuf>,
    },
    /// List the statements a runbook can use.
    Steps,
}

/// How `run` reports.
#[derive(Clone, Copy, Debug, Eq, PartialEq, ValueEnum)]
enum Format {
    /// Progress lines, failures in the diagnostic layout, a summary.
    Pretty,
    /// An array of outcomes.
    Json,
    /// JUnit XML, for CI.
    Junit,
}

/// Exit status for a problem with the input.
const USAGE: u8 = 2;

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Run {
            paths,
            tag,
            format,
            output,
            accept,
            partition,
        } => Options::new(tag.as_deref(), partition.as_deref(), accept)
            .map_err(|e| vec![e.to_string()])
            .and_then(|options| run(&paths, &options, format, output)),
        Command::Check { paths } => check(&paths),
        Command::Steps => {
            let help = dsl::catalog().iter().map(|s| (s.syntax, s.help));
            print(&mut io::stdout(), &report::catalog(help));
            Ok(ExitCode::SUCCESS)
        }
    };
    result.unwrap_or_else(|errors| {
        for e in errors {
            eprintln!("error: {e}");
        }
        ExitCode::from(USAGE)
    })
}

/// The lines of a usage or input problem.
type Problems = Vec<String>;

fn run(
    paths: &[PathBuf],
    options: &Options,
    format: Format,
    output: Option<PathBuf>,
) -> Result<ExitCode, Problems> {
    // Open the output first: a run should not end in "cannot write".
    let mut file = output
        .as_ref()
        .map(|p| File::create(p).map_err(|e| vec![format!("cannot write {}: {e}", p.display())]))
        .transpose()?;
    let files = load(paths)?;
    // Progress goes where people look: standard output, unless a JSON or
    // JUnit report is going there.
    let mut live: Box<dyn Write> = if format != Format::Pretty && file.is_none() {
        Box::new(io::stderr())
    } else {
        Box::new(io::stdout())
    };
    let results = suite::run_suite(&files, options, |r| {
        print(&mut live, &format!("{}\n", report::progress(r)));
    })
    .map_err(|e| vec![e.to_string()])?;
    print(&mut live, &report::details(&results));
    let text = match format {
        Format::Pretty => report::pretty(&results),
        Format::Json => report::json(&results).map_err(|e| vec![e.to_string()])?,
        Format::Junit => report::junit(&results),
    };
    match (&mut file, output) {
        (Some(f), Some(path)) => f
            .write_all(text.as_bytes())
            .and_then(|()| f.flush())
            .map_err(|e| vec![format!("cannot write {}: {e}", path.display())])?,
        (None, _) if format != Format::Pretty => print(&mut io::stdout(), &text),
        _ => {}
    }
    Ok(if results.failed() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn check(paths: &[PathBuf]) -> Result<ExitCode, Problems> {
    let files = load(paths)?;
    print(&mut io::stdout(), &report::check(&files));
    Ok(if files.iter().all(|f| f.parsed.is_ok()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn load(paths: &[PathBuf]) -> Result<Vec<Loaded>, Problems> {
    let found = suite::discover(paths).map_err(|e| vec![e.to_string()])?;
    suite::load_all(&found).map_err(|es| es.iter().map(SuiteError::to_string).collect())
}

/// Writes without panicking when the reader has gone (`| head`).
fn print(out: &mut dyn Write, text: &str) {
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

//! The `hsmdrill` command line: a thin shell over the library.
//!
//! `run` and `check` find runbooks and Gherkin features, parse (or lower)
//! and run them with `suite`, and print what `suite::report`
//! makes of the results (on the embedded engine, or with `--endpoint`
//! against a running server); `steps` prints the DSL catalog, then the
//! Gherkin phrases; `serve` runs the server; `cloudhsm-cli` is the CloudHSM
//! CLI. Exit statuses are [`EXIT_STATUS`]: 0 when everything passed, 1
//! when a scenario failed, 2 for invalid input (a file that does not parse
//! or check, a bad option, a path that cannot be read, a `--tag` that
//! selects nothing); a problem that stops a command before it runs
//! anything is one `error: …` line.

use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use hsmdrill::remote::Endpoint;
use hsmdrill::server::{check_bind, serve, Credentials, ServeOptions};
use hsmdrill::suite::report;
use hsmdrill::suite::{self, Loaded, Options, SuiteError};
use hsmdrill::{dsl, gherkin, shell};

/// The end of `--help`: what each exit status means, the same for every
/// command.
const EXIT_STATUS: &str = "\
Exit status:
  0  everything passed (run: every selected scenario; check: every file is valid)
  1  a scenario failed (run), or the command failed (cloudhsm-cli)
  2  invalid input: a runbook or feature that does not parse or check (run still runs the
     others), a bad option, a path that does not exist or cannot be read, a --tag that selects
     no scenario, a server that cannot start; invalid input wins over a failed scenario";

/// Exit status: everything passed.
const PASSED: u8 = 0;
/// Exit status: a scenario (or a cloudhsm-cli command) failed.
const FAILED: u8 = 1;
/// Exit status: invalid input. clap exits with it too, for a bad option.
const USAGE: u8 = 2;

/// Rehearse AWS KMS custom key store (CloudHSM key store) incidents.
#[derive(Debug, Parser)]
#[command(name = "hsmdrill", version, about, after_help = EXIT_STATUS)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run runbooks and features on the embedded engine and check their snapshots.
    #[command(after_help = EXIT_STATUS)]
    Run {
        /// Runbook or feature files, or folders (searched recursively for
        /// `.runbook` and `.feature`) [default: scenarios/, and features/ if
        /// it exists]
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
        /// Run against a running `hsmdrill serve` (http://HOST:PORT) instead
        /// of an embedded engine.
        #[arg(long, value_name = "URL")]
        endpoint: Option<String>,
    },
    /// Serve the engine over the AWS wire protocols for the SDKs and the aws CLI.
    #[command(after_help = EXIT_STATUS)]
    Serve {
        /// Port to listen on (0 picks a free one).
        #[arg(long, default_value_t = 4599)]
        port: u16,
        /// Address to bind; one that is not loopback needs --allow-remote.
        #[arg(long, default_value = "127.0.0.1")]
        bind: std::net::IpAddr,
        /// Allow --bind to name an address other hosts can reach.
        #[arg(long)]
        allow_remote: bool,
        /// A world file to start from.
        #[arg(long, value_name = "FILE")]
        world: Option<PathBuf>,
        /// Keep every acknowledged change in FILE (mode 0600: it holds key
        /// material) and restore from it on start.
        #[arg(long, value_name = "FILE")]
        state: Option<PathBuf>,
        /// Accept only requests signed (SigV4) with this key.
        #[arg(long, value_name = "ACCESS_KEY:SECRET")]
        auth: Option<String>,
        /// Seconds a connect attempt takes.
        #[arg(long, default_value_t = 2)]
        connect_seconds: u64,
    },
    /// The CloudHSM CLI (Client SDK 5) against a world or a running server.
    #[command(name = "cloudhsm-cli", after_help = EXIT_STATUS)]
    CloudhsmCli {
        /// A running `hsmdrill serve` (http://HOST:PORT).
        #[arg(long, value_name = "URL", conflicts_with = "world")]
        endpoint: Option<String>,
        /// A world file to run on instead.
        #[arg(long, value_name = "FILE")]
        world: Option<PathBuf>,
        /// The cluster.
        #[arg(long, value_name = "ID")]
        cluster_id: String,
        /// `interactive`, or one command (logs in from CLOUDHSM_ROLE and
        /// CLOUDHSM_PIN=user:password first). Without --password, login,
        /// user create, user change-password and cluster activate prompt
        /// for it (Enter password:, Confirm password:) and read it from
        /// standard input, without echo on a terminal.
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<String>,
    },
    /// Parse and validate runbooks and features without running them.
    #[command(after_help = EXIT_STATUS)]
    Check {
        /// Runbook or feature files, or folders (searched recursively for
        /// `.runbook` and `.feature`) [default: scenarios/, and features/ if
        /// it exists]
        paths: Vec<PathBuf>,
    },
    /// List the statements a runbook can use, then the Gherkin phrases.
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
    /// One self-contained HTML page with a timeline per scenario.
    Html,
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Run {
            paths,
            tag,
            format,
            output,
            accept,
            partition,
            endpoint,
        } => Options::new(tag.as_deref(), partition.as_deref(), accept)
            .map_err(|e| vec![e.to_string()])
            .and_then(|options| match endpoint {
                Some(url) => Endpoint::parse(&url)
                    .map(|e| options.with_endpoint(e))
                    .map_err(|e| vec![e]),
                None => Ok(options),
            })
            .and_then(|options| run(&paths, &options, format, output)),
        Command::Serve {
            port,
            bind,
            allow_remote,
            world,
            state,
            auth,
            connect_seconds,
        } => {
            let auth = match auth.as_deref().map(Credentials::parse).transpose() {
                Ok(a) => a,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(USAGE);
                }
            };
            if let Err(e) = check_bind(bind, allow_remote) {
                eprintln!("error: {e}");
                return ExitCode::from(USAGE);
            }
            serve(ServeOptions {
                bind,
                port,
                world,
                connect_seconds,
                state_file: state,
                auth,
            })
            .map(|()| ExitCode::from(PASSED))
            .map_err(|e| vec![e])
        }
        Command::CloudhsmCli {
            endpoint,
            world,
            cluster_id,
            command,
        } => cloudhsm_cli(endpoint, world, &cluster_id, &command),
        Command::Check { paths } => check(&paths),
        Command::Steps => {
            let statements = dsl::catalog().iter().map(|s| (s.syntax, s.help));
            let phrases = gherkin::catalog().iter().map(|p| (p.pattern, p.help));
            print(&mut io::stdout(), &report::steps(statements, phrases));
            Ok(ExitCode::from(PASSED))
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
    // Progress goes where people look: standard output, unless a JSON,
    // JUnit or HTML report is going there.
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
    let unparsed = results
        .results
        .iter()
        .any(|r| matches!(r.run, suite::Run::Unparsed { .. }));
    let text = match format {
        Format::Pretty => report::pretty(&results),
        Format::Json => report::json(&results).map_err(|e| vec![e.to_string()])?,
        Format::Junit => report::junit(&results),
        Format::Html => report::html(&results),
    };
    match (&mut file, output) {
        (Some(f), Some(path)) => f
            .write_all(text.as_bytes())
            .and_then(|()| f.flush())
            .map_err(|e| vec![format!("cannot write {}: {e}", path.display())])?,
        (None, _) if format != Format::Pretty => print(&mut io::stdout(), &text),
        _ => {}
    }
    Ok(ExitCode::from(if unparsed {
        USAGE
    } else if results.failed() == 0 {
        PASSED
    } else {
        FAILED
    }))
}

fn cloudhsm_cli(
    endpoint: Option<String>,
    world: Option<PathBuf>,
    cluster: &str,
    command: &[String],
) -> Result<ExitCode, Problems> {
    let backend = match (endpoint, world) {
        (Some(url), _) => shell::Backend::Remote(Endpoint::parse(&url).map_err(|e| vec![e])?),
        (None, Some(path)) => shell::Backend::Embedded(Box::new(
            hsmdrill::engine::world::load_file(&path).map_err(|e| vec![e.to_string()])?,
        )),
        (None, None) => return Err(vec!["give --endpoint URL or --world FILE".into()]),
    };
    // Passwords typed at a terminal are not echoed; piped, they are lines.
    let echo = if io::stdin().is_terminal() {
        shell::Echo::Off
    } else {
        shell::Echo::Lines
    };
    let ok = if command.len() == 1 && command[0] == "interactive" {
        let stdin = io::stdin();
        shell::interactive(&backend, cluster, stdin.lock(), io::stdout(), echo)
            .map_err(|e| vec![e.to_string()])?
    } else {
        let role = std::env::var("CLOUDHSM_ROLE").ok();
        let pin = std::env::var("CLOUDHSM_PIN").ok();
        let line = command.join(" ");
        let answers = shell::single_answers(&line, io::stdin().lock(), io::stderr(), echo)
            .map_err(|e| vec![e.to_string()])?;
        let v = shell::single(
            &backend,
            cluster,
            &line,
            &answers,
            role.as_deref(),
            pin.as_deref(),
        );
        print(&mut io::stdout(), &format!("{}\n", shell::show(&v)));
        v["error_code"] == 0
    };
    Ok(ExitCode::from(if ok { PASSED } else { FAILED }))
}

fn check(paths: &[PathBuf]) -> Result<ExitCode, Problems> {
    let files = load(paths)?;
    print(&mut io::stdout(), &report::check(&files));
    Ok(ExitCode::from(if files.iter().all(|f| f.parsed.is_ok()) {
        PASSED
    } else {
        USAGE
    }))
}

fn load(paths: &[PathBuf]) -> Result<Vec<Loaded>, Problems> {
    let defaults;
    let paths = if paths.is_empty() {
        defaults = suite::default_paths();
        &defaults
    } else {
        paths
    };
    let found = suite::discover(paths).map_err(|e| vec![e.to_string()])?;
    suite::load_all(&found).map_err(|es| es.iter().map(SuiteError::to_string).collect())
}

/// Writes without panicking when the reader has gone (`| head`).
fn print(out: &mut dyn Write, text: &str) {
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

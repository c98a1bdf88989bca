//! The `hsmdrill` command line: a thin shell over the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use hsmdrill::demo;
use hsmdrill::engine::world;

/// Rehearse AWS KMS custom key store (CloudHSM key store) incidents.
#[derive(Debug, Parser)]
#[command(name = "hsmdrill", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the built-in R5 drill (kmsuser locked out, repaired, reconnected)
    /// on the embedded engine and report what happened.
    Run {
        /// A world file to run on instead of the built-in example world.
        #[arg(long)]
        world: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run { world: path } => {
            let engine = match path {
                Some(p) => world::load_file(&p),
                None => world::load_str(demo::EXAMPLE_WORLD, "scenarios/worlds/example.yaml"),
            };
            let engine = match engine {
                Ok(e) => e,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            match demo::run_r5(&engine, std::io::stdout().lock()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

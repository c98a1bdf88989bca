//! Every shipped runbook run against a live `hsmdrill serve` (over the AWS
//! wire protocols and the control API) passes and gives the same snapshot
//! bytes as the embedded run.

use std::path::Path;

use hsmdrill::dsl;
use hsmdrill::engine::{Engine, EngineConfig};
use hsmdrill::remote::{self, Endpoint};
use hsmdrill::scenario::snapshot::{self, Check};
use hsmdrill::server::ServerState;

use crate::support::serve::InProcessServer;

/// `hsmdrill serve` in this process on an empty engine (each runbook loads
/// its own world), and its endpoint; the working folder is the crate root,
/// where the runbooks' paths start.
fn serve() -> (InProcessServer, Endpoint) {
    crate::support::at_root();
    let server =
        InProcessServer::start(ServerState::new(Engine::new(EngineConfig::default()), None));
    let endpoint = Endpoint::parse(&server.url()).unwrap();
    (server, endpoint)
}

#[test]
fn shipped_runbooks_give_the_same_results_and_snapshots_against_a_server() {
    let (server, endpoint) = serve();

    let files = crate::support::runbooks(Path::new("scenarios"));
    assert!(files.len() >= 9);
    let mut failures = Vec::new();
    let mut count = 0;
    for file in &files {
        let parsed = dsl::parse_file(file).unwrap_or_else(|d| panic!("{}: {d:?}", file.display()));
        for scenario in &parsed.scenarios {
            count += 1;
            let outcome = remote::run(scenario, file, &endpoint);
            if let Some(f) = &outcome.failure {
                failures.push(format!(
                    "{} › {}: at {}: expected {}, actual {}",
                    file.display(),
                    scenario.name,
                    f.span,
                    f.expected,
                    f.actual
                ));
                continue;
            }
            match snapshot::check(&outcome, file, false).unwrap() {
                Check::Matches => {}
                other => failures.push(format!(
                    "{} › {}: snapshot {other:?}",
                    file.display(),
                    scenario.name
                )),
            }
        }
    }
    drop(server);
    assert!(
        failures.is_empty(),
        "{} of {count} scenarios differ against the server:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A bare `=> error` holds after an AWS error that came over the wire, and
/// fails after a success, as on the embedded engine.
#[test]
fn a_bare_error_outcome_holds_against_a_server() {
    let (server, endpoint) = serve();
    let file = Path::new("scenarios/remote-bare-error.runbook");
    let outcome = |statements: &str| {
        let src = format!("runbook \"bare\"\nworld \"worlds/example.yaml\"\n{statements}\n");
        let parsed = dsl::parse_str(&src, file).unwrap_or_else(|d| panic!("{d:?}"));
        remote::run(&parsed.scenarios[0], file, &endpoint)
    };

    let passed = outcome(
        "disconnect ExampleKeyStore\nsettle\n\
         call Encrypt { KeyId: \"alias/app\", Plaintext: \"aGk=\" } => error\n\
         encrypt \"hi\" with alias/app => error \"is unavailable\"",
    );
    let failed = outcome("call ListKeys => error");
    drop(server);

    assert!(passed.passed(), "{:?}", passed.failure);
    let f = failed.failure.expect("a success is not an error");
    assert_eq!((f.span.line, f.expected.as_str()), (3, "an AWS error"));
    assert!(f.actual.starts_with("success: "), "{}", f.actual);
}

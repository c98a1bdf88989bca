//! Helpers shared by the integration tests (`crate::support`): the paths
//! they use (the crate root, the example world, the `hsmdrill` binary),
//! temporary folders, a seeded proptest runner, `hsmdrill serve` as a child
//! process or in this process ([`serve`]), the raw HTTP/1.1 client
//! ([`http`]), the seeded generator of the long runs ([`rng`]), outside
//! programs ([`programs`]), and what the fuzz crate shares with the tests
//! (`fuzz/src/` includes these files by `#[path]`): the exception names an
//! answer may carry ([`exceptions`]), and signing with the official SigV4
//! signer and the oracle for changed requests ([`signing`]).

pub mod browser;
pub mod exceptions;
pub mod http;
pub mod programs;
mod repo;
pub mod rng;
pub mod serve;
pub mod signing;

pub use repo::*;

use std::fmt::Debug;

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// The SDK's credentials type, as [`signing`] asks of the module that
/// includes it.
use aws_sdk_kms::config::Credentials as SdkCredentials;

/// Runs a property over `cases` generated values; panics with proptest's
/// (shrunk) report on the first failure.
pub fn check<S>(cases: u32, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S: Strategy,
    S::Value: Debug,
{
    // PROPTEST_CASES overrides the count, for a longer hunt by hand.
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(cases);
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    // A fixed seed keeps CI deterministic; PROPTEST_CASES (a hunt by hand)
    // also draws fresh randomness.
    let mut runner = if std::env::var_os("PROPTEST_CASES").is_some() {
        TestRunner::new(config)
    } else {
        TestRunner::new_with_rng(
            config,
            proptest::test_runner::TestRng::deterministic_rng(
                proptest::test_runner::RngAlgorithm::ChaCha,
            ),
        )
    };
    if let Err(e) = runner.run(&strategy, test) {
        panic!("{e}");
    }
}

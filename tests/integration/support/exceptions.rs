//! The exception names an answer of `hsmdrill serve` may carry: the wire
//! property tests (`tests/integration/wire.rs`, `sigv4.rs`) and the fuzz
//! targets (`fuzz/src/lib.rs`, a crate of its own, includes this file by
//! `#[path]`) accept the same ones. It names no crate but `hsmdrill`.

/// The exceptions the server adds to the engine's: the protocol's own, and
/// CloudTrail LookupEvents'.
pub const SERVER_EXCEPTIONS: &[&str] = &[
    "UnknownOperationException",
    "SerializationException",
    "RequestEntityTooLargeException",
    "InternalFailure",
    "InvalidLookupAttributesException",
    "InvalidNextTokenException",
    "InvalidMaxResultsException",
];

/// The exceptions the SigV4 verifier of `serve --auth` answers with.
pub const AUTH_ERRORS: &[&str] = &[
    "MissingAuthenticationTokenException",
    "IncompleteSignatureException",
    "InvalidSignatureException",
    "UnrecognizedClientException",
];

/// Whether an answer of a server without `--auth` may carry this
/// exception: the engine's, and the ones the server adds.
pub fn known_exception(name: &str) -> bool {
    hsmdrill::engine::ErrorKind::from_aws_name(name).is_some() || SERVER_EXCEPTIONS.contains(&name)
}

//! Signing with the official signer (`aws-sigv4`, the one the Rust SDK
//! uses), for the targets that run the server with `--auth`: the key the
//! server accepts, a request as the targets build it, and where the
//! specification and the official signer agree.
//!
//! The request type, its signing and changing, and the oracle that says
//! whether a changed request is still the same request to SigV4 (then the
//! server must serve it) or not (then it must refuse it) are the SigV4
//! tests' own: `tests/integration/support/signing.rs`, included here by
//! `#[path]`, so that the tests and the fuzz targets judge the verifier by
//! the same rule.

pub use crate::exceptions::AUTH_ERRORS;
pub use signing::{amz_date, has_malformed_escape, must_refuse, AuthChange, Wire};

/// The SDK's credentials type, as `signing` asks of the module that
/// includes it.
use aws_credential_types::Credentials as SdkCredentials;

#[path = "../../tests/integration/support/signing.rs"]
mod signing;

/// The key the `--auth` targets start the server with.
pub const ACCESS_KEY: &str = "AKIDFUZZ";
/// Its secret.
pub const SECRET: &str = "fuzzSecret/K7MDENG+bPxRfiCYEXAMPLEKEY";

/// What the server's `--auth` is given.
pub fn credentials() -> hsmdrill::server::Credentials {
    hsmdrill::server::Credentials {
        access_key: ACCESS_KEY.into(),
        secret: SECRET.into(),
    }
}

/// A `POST` as the targets build it (a target, lower-case header names, a
/// body), for KMS in us-west-2.
pub fn post(target: Vec<u8>, headers: Vec<(String, Vec<u8>)>, body: Vec<u8>) -> Wire {
    Wire {
        method: "POST".into(),
        target,
        headers,
        body,
        region: "us-west-2".into(),
        service: "kms".into(),
    }
}

impl Wire {
    /// Every byte a one-byte change may land on: the target, then each
    /// header value, then the body. Returns the changed request and what
    /// the change did to the `authorization` header, if it hit it.
    pub fn change(&self, at: usize, xor: u8) -> Option<(Wire, Option<AuthChange>)> {
        let total = self.target.len()
            + self.headers.iter().map(|(_, v)| v.len()).sum::<usize>()
            + self.body.len();
        if total == 0 {
            return None;
        }
        let mut at = at % total;
        let mut out = self.clone();
        if at < out.target.len() {
            signing::flip(&mut out.target, at, xor);
            return Some((out, None));
        }
        at -= out.target.len();
        for (name, value) in &mut out.headers {
            if at < value.len() {
                let what = signing::flip(value, at, xor);
                let is_auth = name == "authorization";
                return Some((out, is_auth.then_some(what)));
            }
            at -= value.len();
        }
        signing::flip(&mut out.body, at, xor);
        Some((out, None))
    }
}

/// Whether the official signer and the server must agree on `plain`: no
/// `%` that starts no escape (the server refuses it, the signer encodes
/// it), no `+` in the query (the Rust signer reads a space, the
/// specification and the server a plus sign), a query whose escapes decode
/// to UTF-8 (the Rust signer replaces what is not), and no
/// `x-amz-content-sha256` other than the body's (the server checks it).
pub fn signer_agrees(plain: &Wire) -> bool {
    let query = plain.split_target().1;
    let decodes_to_utf8 = query
        .split(|b| *b == b'&')
        .flat_map(|p| p.splitn(2, |b| *b == b'='))
        .all(|part| {
            let decoded: Vec<u8> = percent_encoding::percent_decode(part).collect();
            std::str::from_utf8(&decoded).is_ok()
        });
    let body_hash: String = ring::digest::digest(&ring::digest::SHA256, &plain.body)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    !has_malformed_escape(&plain.target)
        && !query.contains(&b'+')
        && decodes_to_utf8
        && plain
            .headers
            .iter()
            .filter(|(k, _)| k == "x-amz-content-sha256")
            .all(|(_, v)| v == body_hash.as_bytes())
}

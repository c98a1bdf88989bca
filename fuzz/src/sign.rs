//! Signing with the official signer (`aws-sigv4`, the one the Rust SDK
//! uses), for the targets that run the server with `--auth`: the key the
//! server accepts, a request as the targets build it, its signature, and
//! the oracle that says whether a changed request is still the same request
//! to SigV4 (then the server must serve it) or not (then it must refuse it).

use std::time::SystemTime;

use aws_credential_types::Credentials as AwsCredentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Request, Uri};

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

/// The exceptions the verifier answers with.
pub const AUTH_ERRORS: &[&str] = &[
    "MissingAuthenticationTokenException",
    "IncompleteSignatureException",
    "InvalidSignatureException",
    "UnrecognizedClientException",
];

/// A `POST` as the targets build it, every part as bytes (a target, lower
/// case header names, a body), before and after signing.
#[derive(Clone, Debug)]
pub struct Plain {
    /// Path and query, as on the request line.
    pub target: Vec<u8>,
    /// (lower-case name, value), in order.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Plain {
    /// The request, or None if the HTTP layer would not carry it (a target
    /// that is no origin-form URI, a header name or value it refuses).
    pub fn to_request(&self) -> Option<Request<Body>> {
        let target = std::str::from_utf8(&self.target).ok()?;
        if !target.starts_with('/') || target.contains('#') {
            return None;
        }
        let mut request = Request::post(Uri::try_from(target).ok()?);
        for (name, value) in &self.headers {
            request = request.header(
                HeaderName::from_bytes(name.as_bytes()).ok()?,
                HeaderValue::from_bytes(value).ok()?,
            );
        }
        request.body(Body::from(self.body.clone())).ok()
    }

    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_slice())
    }

    /// The `Authorization` header `aws-sigv4` makes at `time` over the
    /// headers named in `names` (all but `x-amz-date` and `authorization`
    /// if None), or None if it cannot sign that: a target the HTTP layer
    /// would not carry, or a value to sign that is not UTF-8. With `names`
    /// None, a header with any value that is not UTF-8 is left unsigned.
    pub fn official_authorization(
        &self,
        time: SystemTime,
        names: Option<&[String]>,
    ) -> Option<String> {
        self.to_request()?;
        let target = std::str::from_utf8(&self.target).ok()?;
        let mut headers = Vec::new();
        for (name, value) in &self.headers {
            if name == "x-amz-date" || name == "authorization" {
                continue;
            }
            match names {
                Some(names) if !names.contains(name) => continue,
                Some(_) => headers.push((name.as_str(), std::str::from_utf8(value).ok()?)),
                None => {
                    let all_utf8 = self
                        .headers
                        .iter()
                        .filter(|(k, _)| k == name)
                        .all(|(_, v)| std::str::from_utf8(v).is_ok());
                    if all_utf8 {
                        headers.push((name.as_str(), std::str::from_utf8(value).ok()?));
                    }
                }
            }
        }
        // The signer needs a host; the HTTP layer always has one.
        if !headers.iter().any(|(k, _)| *k == "host") {
            return None;
        }
        let identity = AwsCredentials::new(ACCESS_KEY, SECRET, None, None, "fuzz").into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("us-west-2")
            .name("kms")
            .time(time)
            .settings(SigningSettings::default())
            .build()
            .ok()?
            .into();
        let signable = SignableRequest::new(
            "POST",
            target,
            headers.into_iter(),
            SignableBody::Bytes(&self.body),
        )
        .ok()?;
        let (instructions, _) = sign(signable, &params).ok()?.into_parts();
        let (headers, _) = instructions.into_parts();
        headers
            .iter()
            .find(|h| h.name() == "authorization")
            .map(|h| h.value().to_owned())
    }

    /// Signed with `aws-sigv4` at `time` (a `host` added if there is none;
    /// any `x-amz-date` and `authorization` replaced), or None if it cannot
    /// be signed.
    pub fn signed(&self, time: SystemTime) -> Option<Plain> {
        let mut out = self.clone();
        out.headers
            .retain(|(k, _)| k != "x-amz-date" && k != "authorization");
        if out.header("host").is_none() {
            out.headers
                .insert(0, ("host".into(), b"localhost".to_vec()));
        }
        let authorization = out.official_authorization(time, None)?;
        out.headers
            .push(("x-amz-date".into(), amz_date(time).into_bytes()));
        out.headers
            .push(("authorization".into(), authorization.into_bytes()));
        Some(out)
    }

    /// The names in its `Authorization` header's `SignedHeaders`.
    pub fn signed_names(&self) -> Vec<String> {
        let auth =
            String::from_utf8_lossy(self.header("authorization").unwrap_or_default()).into_owned();
        auth.split([',', ' '])
            .find_map(|p| p.strip_prefix("SignedHeaders="))
            .map(|h| h.split(';').map(str::to_owned).collect())
            .unwrap_or_default()
    }

    /// Every byte a one-byte change may land on: the target, then each
    /// header value, then the body. Returns the changed request and, for a
    /// change to the `authorization` header, (old byte, new byte, whether
    /// the byte lies among its `key=value` pairs).
    pub fn change(&self, at: usize, xor: u8) -> Option<(Plain, Option<(u8, u8, bool)>)> {
        let total = self.target.len()
            + self.headers.iter().map(|(_, v)| v.len()).sum::<usize>()
            + self.body.len();
        if total == 0 {
            return None;
        }
        let mut at = at % total;
        let mut out = self.clone();
        let xor = xor.max(1);
        let flip = |bytes: &mut Vec<u8>, i: usize| -> (u8, u8, bool) {
            let among_pairs = bytes.get(..i).is_some_and(|b| b.contains(&b' '));
            let old = bytes[i];
            bytes[i] ^= xor;
            (old, bytes[i], among_pairs)
        };
        if at < out.target.len() {
            flip(&mut out.target, at);
            return Some((out, None));
        }
        at -= out.target.len();
        for (name, value) in &mut out.headers {
            if at < value.len() {
                let what = flip(value, at);
                let is_auth = name == "authorization";
                return Some((out, is_auth.then_some(what)));
            }
            at -= value.len();
        }
        flip(&mut out.body, at);
        Some((out, None))
    }
}

/// What the server must do with `changed`, a one-byte change of `original`
/// (signed at `time`): Some(true) refuse it, Some(false) serve it (the
/// official signer signs it exactly as the original: the same request to
/// SigV4), None either (the HTTP layer would not carry it).
pub fn must_refuse(
    original: &Plain,
    changed: &Plain,
    auth_change: Option<(u8, u8, bool)>,
    time: SystemTime,
) -> Option<bool> {
    changed.to_request()?;
    // The server refuses a `%` that starts no escape anywhere in the
    // target; the signers do not decode the path and cannot judge that.
    if has_malformed_escape(&changed.target) {
        return Some(true);
    }
    if let Some((old, new, among_pairs)) = auth_change {
        // The header is not signed; only a separator between its pairs may
        // become the other separator.
        let separator = |b: u8| b == b',' || b == b' ';
        return Some(!(among_pairs && separator(old) && separator(new)));
    }
    if changed.header("x-amz-date") != original.header("x-amz-date") {
        return Some(true);
    }
    let names = original.signed_names();
    Some(match changed.official_authorization(time, Some(&names)) {
        Some(a) => Some(a.as_bytes()) != original.header("authorization"),
        // A signed value that is no longer UTF-8: its bytes are signed as
        // they are, so it is not the original's.
        None => true,
    })
}

/// Whether the official signer and the server must agree on `plain`: no
/// `%` that starts no escape (the server refuses it, the signer encodes
/// it), no `+` in the query (the Rust signer reads a space, the
/// specification and the server a plus sign), a query whose escapes decode
/// to UTF-8 (the Rust signer replaces what is not), and no
/// `x-amz-content-sha256` other than the body's (the server checks it).
pub fn signer_agrees(plain: &Plain) -> bool {
    let query = match plain.target.iter().position(|b| *b == b'?') {
        Some(at) => &plain.target[at + 1..],
        None => &[][..],
    };
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

/// A `%` not followed by two hex digits.
pub fn has_malformed_escape(target: &[u8]) -> bool {
    target.iter().enumerate().any(|(i, b)| {
        *b == b'%'
            && !(target.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && target.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    })
}

/// `YYYYMMDDTHHMMSSZ`.
pub fn amz_date(t: SystemTime) -> String {
    time::OffsetDateTime::from(t)
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .unwrap_or_default()
}

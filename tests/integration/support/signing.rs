//! Requests as bytes, signed by the official signer (`aws-sigv4`, the one
//! the Rust SDK uses) and changed one byte at a time, and the oracle that
//! says whether a changed request is still the same request to SigV4 (then
//! the server must serve it) or not (then it must refuse it).
//!
//! The SigV4 properties (`tests/integration/sigv4.rs`) and the `--auth` fuzz
//! targets judge the verifier by this one rule: the fuzz crate, a workspace
//! of its own, includes this file by `#[path]` (`fuzz/src/sign.rs`). So it
//! names no crate but those both depend on, and the module that includes it
//! names the SDK's credentials type `SdkCredentials` (each crate reaches it
//! by its own path).

use std::time::SystemTime;

use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Request, Uri};
use hsmdrill::server::Credentials;

use super::SdkCredentials;

/// A request as the properties and the fuzz targets build, sign and change
/// it: everything as bytes, so a change may make it something no HTTP
/// client would send.
#[derive(Clone, Debug)]
pub struct Wire {
    /// The method.
    pub method: String,
    /// Path and query, `?` between them, as on the request line.
    pub target: Vec<u8>,
    /// (lower-case name, value), in order; `x-amz-date` and `authorization`
    /// last once signed.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The body.
    pub body: Vec<u8>,
    /// The region it is signed for.
    pub region: String,
    /// The service it is signed for.
    pub service: String,
}

/// What a one-byte change did to an `authorization` header: the old byte,
/// the new one, and whether the header had a space before that point (that
/// is, the byte lies among the `key=value` pairs, not in the algorithm).
pub type AuthChange = (u8, u8, bool);

impl Wire {
    /// (path, query).
    pub fn split_target(&self) -> (&[u8], &[u8]) {
        match self.target.iter().position(|b| *b == b'?') {
            Some(at) => (&self.target[..at], &self.target[at + 1..]),
            None => (&self.target[..], &b""[..]),
        }
    }

    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_slice())
    }

    /// The request, or None if the HTTP layer would not carry it: a target
    /// that is no origin-form URI (only `/path?query` reaches a handler,
    /// and a fragment never reaches a server), or what [`Wire::http_request`]
    /// refuses.
    pub fn to_request(&self) -> Option<Request<Body>> {
        let target = std::str::from_utf8(&self.target).ok()?;
        if !target.starts_with('/') || target.contains('#') {
            return None;
        }
        self.http_request()
    }

    /// The request as `http` builds it, whatever the form of its target,
    /// or None if `http` refuses it (a method, target, header name or
    /// value).
    pub fn http_request(&self) -> Option<Request<Body>> {
        let mut request = Request::builder()
            .method(self.method.as_str())
            .uri(Uri::try_from(self.target.as_slice()).ok()?);
        for (name, value) in &self.headers {
            request = request.header(
                HeaderName::from_bytes(name.as_bytes()).ok()?,
                HeaderValue::from_bytes(value).ok()?,
            );
        }
        request.body(Body::from(self.body.clone())).ok()
    }

    /// The `Authorization` header `aws-sigv4` makes with `key` at `time`
    /// over the headers named in `names` (all but `x-amz-date` and
    /// `authorization` if None), or None if it cannot sign that: a request
    /// the HTTP layer would not carry, a value to sign that is not UTF-8,
    /// no `host`. With `names` None, a header with any value that is not
    /// UTF-8 is left unsigned.
    pub fn official_authorization(
        &self,
        key: &Credentials,
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
        let identity = SdkCredentials::new(
            key.access_key.as_str(),
            key.secret.as_str(),
            None,
            None,
            "hsmdrill-tests",
        )
        .into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(&self.service)
            .time(time)
            .settings(SigningSettings::default())
            .build()
            .ok()?
            .into();
        let signable = SignableRequest::new(
            &self.method,
            target,
            headers.into_iter(),
            SignableBody::Bytes(&self.body),
        )
        .ok()?;
        // A panic of the signer is its own bug, not the verifier's: say so.
        let signed =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sign(signable, &params)));
        let Ok(signed) = signed else {
            panic!("aws-sigv4 panicked signing {target:?}");
        };
        let (instructions, _) = signed.ok()?.into_parts();
        let (headers, _) = instructions.into_parts();
        headers
            .iter()
            .find(|h| h.name() == "authorization")
            .map(|h| h.value().to_owned())
    }

    /// Signed with `aws-sigv4` with `key` at `time`, as the SDK sends it: a
    /// `host` added first if there is none, any `x-amz-date` and
    /// `authorization` replaced by new ones after the other headers; or None
    /// if it cannot be signed.
    pub fn signed(&self, key: &Credentials, time: SystemTime) -> Option<Wire> {
        let mut out = self.clone();
        out.headers
            .retain(|(k, _)| k != "x-amz-date" && k != "authorization");
        if out.header("host").is_none() {
            out.headers
                .insert(0, ("host".into(), b"localhost".to_vec()));
        }
        let authorization = out.official_authorization(key, time, None)?;
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
}

/// XORs byte `i` of `bytes` with `xor` (1 for 0, so the byte always
/// changes); says what that did, should `bytes` be an `authorization`
/// header.
pub fn flip(bytes: &mut [u8], i: usize, xor: u8) -> AuthChange {
    let among_pairs = bytes[..i].contains(&b' ');
    let old = bytes[i];
    bytes[i] ^= xor.max(1);
    (old, bytes[i], among_pairs)
}

/// What the server must do with `changed`, a one-byte change of `original`
/// (signed with `key` at `time`): Some(true) refuse it, Some(false) serve
/// it, None either.
///
/// The official signer is the judge: if it signs the changed request
/// exactly as the original (over the headers the original signed), the two
/// are the same request to SigV4 (a `%2f` made `%2F` in the query, a `.`
/// segment made `/` in the path); otherwise the signature no longer covers
/// it. The `authorization` header is not signed: a change there must be
/// refused, except turning one separator between its `key=value` pairs (a
/// comma or a space) into the other. None: the change made something the
/// HTTP layer never hands over (a target that is no origin-form URI, a
/// header value with a control byte), so either answer will do, as long as
/// the verifier gives one.
pub fn must_refuse(
    original: &Wire,
    changed: &Wire,
    auth_change: Option<AuthChange>,
    key: &Credentials,
    time: SystemTime,
) -> Option<bool> {
    changed.to_request()?;
    // The server refuses a `%` that starts no escape anywhere in the target,
    // even in a segment that normalization drops; the signers, which do not
    // decode the path, cannot judge those.
    if has_malformed_escape(&changed.target) {
        return Some(true);
    }
    if let Some((old, new, among_pairs)) = auth_change {
        let separator = |b: u8| b == b',' || b == b' ';
        return Some(!(among_pairs && separator(old) && separator(new)));
    }
    if changed.header("x-amz-date") != original.header("x-amz-date") {
        return Some(true);
    }
    let names = original.signed_names();
    Some(
        match changed.official_authorization(key, time, Some(&names)) {
            Some(a) => Some(a.as_bytes()) != original.header("authorization"),
            // A signed value that is no longer UTF-8: its bytes are signed
            // as they are, so it cannot equal the original's.
            None => true,
        },
    )
}

/// Whether `target` holds a `%` not followed by two hex digits.
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

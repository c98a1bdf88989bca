//! The canonical request of Signature Version 4, byte for byte as the
//! specification builds it for every service but S3
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html>),
//! and as AWS's own test suite (`tests/sigv4/`) checks it:
//!
//! ```text
//! <method>\n<canonical URI>\n<canonical query>\n<canonical headers>\n<signed headers>\n<payload hash>
//! ```
//!
//! Everything here works on bytes: the request line and header values may
//! hold any byte the HTTP layer lets through (raw UTF-8, obs-text), and none
//! of them may make the verifier panic. A percent sign that does not start
//! a two-digit hex escape, in the path or the query, is refused with
//! `IncompleteSignatureException`: the request cannot be canonicalized, so no
//! signature can match it, and decoding it leniently would let two different
//! requests share one canonical form.

use percent_encoding::{percent_decode, percent_encode, AsciiSet, NON_ALPHANUMERIC};
use ring::digest;

use super::{hex, SignedRequest, BAD_SIGNATURE};
use crate::server::protocol::WireError;

/// The canonical request of `req` for the `SignedHeaders` list of its
/// `Authorization` header (`host;x-amz-date;…`, as the client wrote it).
/// The payload hash is always the body's own.
pub fn canonical_request(
    req: &SignedRequest<'_>,
    signed_headers: &str,
) -> Result<Vec<u8>, WireError> {
    let mut out = Vec::with_capacity(256 + req.path.len() + req.query.len());
    out.extend_from_slice(req.method.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_uri(req.path)?.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_query(req.query)?.as_bytes());
    out.push(b'\n');
    for name in signed_headers.split(';') {
        let mut values = req.headers.iter().filter(|(k, _)| *k == name).peekable();
        // A header the client says it signed but did not send: no signature
        // over this request can be right.
        if values.peek().is_none() {
            return Err(WireError::client(
                "InvalidSignatureException",
                BAD_SIGNATURE,
            ));
        }
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        // Repeated headers are joined with commas, in the order received
        // (the suite's `get-header-value-order`).
        for (i, (_, value)) in values.enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(&canonical_header_value(value));
        }
        out.push(b'\n');
    }
    out.push(b'\n');
    out.extend_from_slice(signed_headers.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(payload_hash(req.body).as_bytes());
    Ok(out)
}

/// The string to sign: the algorithm, the request date, the credential
/// scope (`20150830/us-east-1/service/aws4_request`) and the canonical
/// request's SHA-256.
pub fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &[u8]) -> String {
    format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex(digest::digest(&digest::SHA256, canonical_request).as_ref())
    )
}

/// The body's SHA-256 in lowercase hex.
pub(super) fn payload_hash(body: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, body).as_ref())
}

/// Every byte but the unreserved characters of RFC 3986 is encoded, in
/// uppercase hex.
const QUERY_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
/// The same, keeping the slashes between path segments.
const PATH_SET: &AsciiSet = &QUERY_SET.remove(b'/');

/// The path as it came on the wire (already percent-encoded once by the
/// client), with dot segments and empty segments removed, then encoded once
/// more: the specification's "each path segment URI-encoded twice" for
/// every service but S3. `%3D` on the wire is `%253D` here (smithy-rs's
/// `double-encode-path` case); a raw `ሴ` (the suite's `get-utf8`) is
/// `%E1%88%B4`.
fn canonical_uri(path: &[u8]) -> Result<String, WireError> {
    // The HTTP layer hands over `/…` (or nothing, which is `/`); anything
    // else names no resource AWS would sign for.
    if !path.is_empty() && !path.starts_with(b"/") {
        return Err(WireError::client(
            "IncompleteSignatureException",
            format!(
                "The URI path must be absolute (start with '/'), got '{}'.",
                String::from_utf8_lossy(path)
            ),
        ));
    }
    check_escapes(path)?;
    Ok(percent_encode(&normalize_path(path), PATH_SET).to_string())
}

/// RFC 3986's remove_dot_segments, also dropping empty segments (AWS
/// services collapse `//`, the suite's `get-slashes-normalized`); a path
/// that ended in a slash, `/.` or `/..` keeps its trailing slash.
fn normalize_path(path: &[u8]) -> Vec<u8> {
    let mut segments: Vec<&[u8]> = Vec::new();
    for segment in path.split(|b| *b == b'/') {
        match segment {
            b"" | b"." => {}
            b".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    let mut out = Vec::with_capacity(path.len() + 1);
    for segment in &segments {
        out.push(b'/');
        out.extend_from_slice(segment);
    }
    let trailing_slash = path.ends_with(b"/") || path.ends_with(b"/.") || path.ends_with(b"/..");
    if out.is_empty() || (trailing_slash && !out.ends_with(b"/")) {
        out.push(b'/');
    }
    out
}

/// Parameters split on `&` (empty ones dropped) and each at its first `=`
/// (none: an empty value), each name and value percent-decoded and encoded
/// again with uppercase hex, then sorted by name and by value. `+` is a
/// plus sign, not a space (the specification; the CRT signer agrees).
fn canonical_query(query: &[u8]) -> Result<String, WireError> {
    let mut params = Vec::new();
    for param in query.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let (name, value) = match param.iter().position(|b| *b == b'=') {
            Some(at) => (param.get(..at), param.get(at + 1..)),
            None => (Some(param), None),
        };
        let encode = |part: Option<&[u8]>| -> Result<String, WireError> {
            let part = part.unwrap_or_default();
            check_escapes(part)?;
            let decoded: Vec<u8> = percent_decode(part).collect();
            Ok(percent_encode(&decoded, QUERY_SET).to_string())
        };
        params.push((encode(name)?, encode(value)?));
    }
    params.sort();
    let mut out = String::new();
    for (i, (name, value)) in params.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(name);
        out.push('=');
        out.push_str(value);
    }
    Ok(out)
}

/// Refuses a `%` that is not followed by two hex digits, with the messages
/// AWS's signature check gives.
fn check_escapes(s: &[u8]) -> Result<(), WireError> {
    let mut rest = s;
    while let Some(at) = rest.iter().position(|b| *b == b'%') {
        let after = rest.get(at + 1..).unwrap_or_default();
        match after {
            [a, b, ..] if a.is_ascii_hexdigit() && b.is_ascii_hexdigit() => {}
            [_, _, ..] => {
                let shown: String = String::from_utf8_lossy(after).chars().take(2).collect();
                return Err(WireError::client(
                    "IncompleteSignatureException",
                    format!("Illegal hex character in escape % pattern: %{shown}"),
                ));
            }
            _ => {
                return Err(WireError::client(
                    "IncompleteSignatureException",
                    "Incomplete trailing escape % sequence",
                ))
            }
        }
        rest = after;
    }
    Ok(())
}

/// Leading and trailing spaces trimmed and runs of spaces made one, as the
/// specification says ("a   b   c" is "a b c", the suite's
/// `get-header-value-trim`); other bytes, tabs included, are kept as they
/// are, as the Rust SDK's and the CRT's signers sign them (botocore also
/// folds tabs; no header those clients send to these services holds one:
/// docs/fidelity.md I26).
fn canonical_header_value(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    for word in value.split(|b| *b == b' ').filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(b' ');
        }
        out.extend_from_slice(word);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each `(input, canonical form)` through `f`.
    fn check(f: fn(&[u8]) -> Result<String, WireError>, cases: &[(&[u8], &str)]) {
        for (input, want) in cases {
            let got = f(input).unwrap();
            assert_eq!(got, *want, "{:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn paths_are_normalized_then_encoded_a_second_time() {
        check(
            canonical_uri,
            &[
                (b"", "/"),
                (b"/", "/"),
                (b"//", "/"),
                (b"//example//", "/example/"),
                (b"/./example", "/example"),
                (b"/example1/example2/../..", "/"),
                (b"/a/b/.", "/a/b/"),
                (b"/a/b/..", "/a/"),
                (b"/../a", "/a"),
                (b"/example space/", "/example%20space/"),
                ("/ሴ".as_bytes(), "/%E1%88%B4"),
                (b"/a%3Db", "/a%253Db"),
                (b"/a%3db", "/a%253db"),
                (b"/%2E%2E/x", "/%252E%252E/x"),
                (b"/\xff", "/%FF"),
            ],
        );
        assert_eq!(
            canonical_uri(b"a/b").unwrap_err().message,
            "The URI path must be absolute (start with '/'), got 'a/b'."
        );
    }

    #[test]
    fn queries_are_decoded_encoded_and_sorted() {
        check(
            canonical_query,
            &[
                (b"", ""),
                (b"&&", ""),
                (b"b=2&a=1", "a=1&b=2"),
                (b"a=2&a=1", "a=1&a=2"),
                (
                    b"Param-3=Value3&Param=Value2&%E1%88%B4=Value1",
                    "%E1%88%B4=Value1&Param=Value2&Param-3=Value3",
                ),
                ("ሴ=bar".as_bytes(), "%E1%88%B4=bar"),
                (b"a", "a="),
                (b"=v", "=v"),
                (b"a=b=c", "a=b%3Dc"),
                (b"a=%7e%2f", "a=~%2F"),
                (b"a=b+c d", "a=b%2Bc%20d"),
                (b"a=%ff", "a=%FF"),
            ],
        );
    }

    #[test]
    fn a_percent_that_starts_no_escape_is_refused_never_sliced() {
        for (bad, message) in [
            (&b"%"[..], "Incomplete trailing escape % sequence"),
            (b"a%4", "Incomplete trailing escape % sequence"),
            (b"%zz", "Illegal hex character in escape % pattern: %zz"),
            (b"%4g", "Illegal hex character in escape % pattern: %4g"),
            (
                "%a\u{e9}".as_bytes(),
                "Illegal hex character in escape % pattern: %a\u{e9}",
            ),
            (
                b"%\xc3\xa9",
                "Illegal hex character in escape % pattern: %\u{e9}",
            ),
            (
                b"%\xff\xfe",
                "Illegal hex character in escape % pattern: %\u{fffd}\u{fffd}",
            ),
            (b"%41%", "Incomplete trailing escape % sequence"),
        ] {
            let path = [b"/".as_slice(), bad].concat();
            for e in [
                canonical_query(bad).unwrap_err(),
                canonical_uri(&path).unwrap_err(),
            ] {
                assert_eq!(e.name, "IncompleteSignatureException", "{bad:?}");
                assert_eq!(e.message, message, "{bad:?}");
            }
        }
    }

    #[test]
    fn header_values_lose_only_extra_spaces() {
        let v = |s: &[u8]| String::from_utf8(canonical_header_value(s)).unwrap();
        assert_eq!(v(b"  \"a   b   c\"  "), "\"a b c\"");
        assert_eq!(v(b"value1"), "value1");
        assert_eq!(v(b"a\tb"), "a\tb");
        assert_eq!(v(b""), "");
        assert_eq!(v(b"   "), "");
    }
}

//! `--auth ACCESS_KEY:SECRET`: AWS Signature Version 4 on the AWS routes.
//!
//! With `--auth`, a request to an AWS route must be signed with that key,
//! as the SDKs and the `aws` CLI sign it: `Authorization: AWS4-HMAC-SHA256
//! Credential=<key>/<date>/<region>/<service>/aws4_request,
//! SignedHeaders=…, Signature=…` over the canonical request. An unknown or
//! missing key is `UnrecognizedClientException`; a wrong signature
//! `InvalidSignatureException`, with the messages AWS sends. Without
//! `--auth` any credentials are accepted, as local emulators do. The control
//! API is never signed (curl cannot sign).

use ring::{digest, hmac};

use super::protocol::WireError;

/// The one key the server accepts.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Credentials {
    /// The access key id.
    pub access_key: String,
    /// The secret access key.
    pub secret: String,
}

impl Credentials {
    /// `ACCESS_KEY:SECRET`.
    pub fn parse(s: &str) -> Result<Credentials, String> {
        match s.split_once(':') {
            Some((k, v)) if !k.is_empty() && !v.is_empty() => Ok(Credentials {
                access_key: k.to_owned(),
                secret: v.to_owned(),
            }),
            Some(_) | None => Err(format!("--auth expects ACCESS_KEY:SECRET, got {s:?}")),
        }
    }
}

const UNRECOGNIZED: &str = "The security token included in the request is invalid.";
const BAD_SIGNATURE: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

/// What a signature is checked against.
pub struct SignedRequest<'a> {
    /// `POST`.
    pub method: &'a str,
    /// The path, e.g. `/`.
    pub path: &'a str,
    /// The raw query string (without `?`).
    pub query: &'a str,
    /// Headers as (lower-case name, value), repeated names allowed.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: &'a [u8],
}

/// Checks a request's SigV4 signature against `creds`.
pub fn verify(creds: &Credentials, req: &SignedRequest<'_>) -> Result<(), WireError> {
    let unrecognized = || WireError::client("UnrecognizedClientException", UNRECOGNIZED);
    let bad = || WireError::client("InvalidSignatureException", BAD_SIGNATURE);
    let header = |name: &str| {
        req.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let auth = header("authorization").ok_or_else(unrecognized)?;
    let rest = auth.strip_prefix("AWS4-HMAC-SHA256").ok_or_else(bad)?;
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',') {
        match part.trim().split_once('=') {
            Some(("Credential", v)) => credential = Some(v),
            Some(("SignedHeaders", v)) => signed_headers = Some(v),
            Some(("Signature", v)) => signature = Some(v),
            Some(_) | None => {}
        }
    }
    let (credential, signed_headers, signature) = match (credential, signed_headers, signature) {
        (Some(c), Some(h), Some(s)) => (c, h, s),
        _ => return Err(bad()),
    };
    let mut scope = credential.splitn(2, '/');
    let key = scope.next().unwrap_or_default();
    let scope = scope.next().ok_or_else(bad)?;
    if key != creds.access_key {
        return Err(unrecognized());
    }
    let parts: Vec<&str> = scope.split('/').collect();
    let [date, region, service, "aws4_request"] = parts.as_slice() else {
        return Err(bad());
    };
    let amz_date = header("x-amz-date").ok_or_else(bad)?;

    let mut canonical_headers = String::new();
    for name in signed_headers.split(';') {
        let values: Vec<String> = req
            .headers
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        if values.is_empty() {
            return Err(bad());
        }
        canonical_headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    let payload_hash = match header("x-amz-content-sha256") {
        Some(h) if h != "UNSIGNED-PAYLOAD" => h.to_owned(),
        Some(_) | None => hex(digest::digest(&digest::SHA256, req.body).as_ref()),
    };
    let canonical_request = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        canonical_uri(req.path),
        canonical_query(req.query),
        canonical_headers,
        signed_headers,
        payload_hash
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex(digest::digest(&digest::SHA256, canonical_request.as_bytes()).as_ref())
    );
    let k_date = sign(format!("AWS4{}", creds.secret).as_bytes(), date.as_bytes());
    let k_region = sign(&k_date, region.as_bytes());
    let k_service = sign(&k_region, service.as_bytes());
    let k_signing = sign(&k_service, b"aws4_request");
    // hmac::verify compares in constant time.
    let provided = unhex(signature).ok_or_else(bad)?;
    hmac::verify(
        &hmac::Key::new(hmac::HMAC_SHA256, &k_signing),
        string_to_sign.as_bytes(),
        &provided,
    )
    .map_err(|_| bad())
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

fn sign(key: &[u8], data: &[u8]) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data)
        .as_ref()
        .to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// RFC 3986 encoding of everything but unreserved characters.
fn encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'.' | b'~')
            || (keep_slash && b == b'/')
        {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn canonical_uri(path: &str) -> String {
    if path.is_empty() {
        "/".into()
    } else {
        encode(&percent_decode(path), true)
    }
}

fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                encode(&percent_decode(k), false),
                encode(&percent_decode(v), false),
            )
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The AWS Signature Version 4 test suite's `get-vanilla` case
    /// (credentials AKIDEXAMPLE / wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY).
    #[test]
    fn aws_test_suite_get_vanilla() {
        let creds = Credentials {
            access_key: "AKIDEXAMPLE".into(),
            secret: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
        };
        let auth = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
        let req = |auth: &str| SignedRequest {
            method: "GET",
            path: "/",
            query: "",
            headers: vec![
                ("host".into(), "example.amazonaws.com".into()),
                ("x-amz-date".into(), "20150830T123600Z".into()),
                ("authorization".into(), auth.into()),
            ],
            body: b"",
        };
        assert!(verify(&creds, &req(auth)).is_ok());
        let tampered = auth.replace("5fa00fa3", "5fa00fa4");
        assert_eq!(
            verify(&creds, &req(&tampered)).unwrap_err().name,
            "InvalidSignatureException"
        );
        let other_key = auth.replace("Credential=AKIDEXAMPLE", "Credential=AKIDOTHER");
        assert_eq!(
            verify(&creds, &req(&other_key)).unwrap_err().name,
            "UnrecognizedClientException"
        );
    }
}

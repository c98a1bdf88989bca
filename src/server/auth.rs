//! `--auth ACCESS_KEY:SECRET`: AWS Signature Version 4 on the AWS routes.
//!
//! With `--auth`, a request to an AWS route must be signed with that key,
//! as the SDKs and the `aws` CLI sign it: `Authorization: AWS4-HMAC-SHA256
//! Credential=<key>/<date>/<region>/<service>/aws4_request,
//! SignedHeaders=…, Signature=…` over the canonical request. No
//! `Authorization` header is `MissingAuthenticationTokenException`; an
//! unknown key is `UnrecognizedClientException`; a wrong signature, a body
//! that does not match its signed hash, or an `X-Amz-Date` more than 15
//! minutes from the server's clock is `InvalidSignatureException`, with the
//! messages AWS sends. Without
//! `--auth` any credentials are accepted, as local emulators do. The control
//! API is never signed (curl cannot sign).

use std::time::{SystemTime, UNIX_EPOCH};

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
    /// When the server received it (the real time: clients sign with theirs,
    /// whatever the engine's clock says).
    pub now: SystemTime,
}

/// How far `X-Amz-Date` may be from the server's clock, as AWS allows.
const MAX_SKEW_SECONDS: i64 = 15 * 60;

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
    // kms-semantics.md does not cover authentication; AWS JSON services
    // answer an unsigned request this way (docs/fidelity.md).
    let auth = header("authorization").ok_or_else(|| {
        WireError::client(
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        )
    })?;
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
    let signed_at = parse_amz_date(amz_date).ok_or_else(bad)?;
    check_skew(amz_date, signed_at, req.now)?;
    if !amz_date.starts_with(date) {
        return Err(WireError::client(
            "InvalidSignatureException",
            format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{date}' != '{}', from '{amz_date}'.",
                amz_date.get(..8).unwrap_or(amz_date)
            ),
        ));
    }

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
    // The body's own hash, always: a signed `x-amz-content-sha256` that
    // does not match the body would otherwise let a changed body through.
    let payload_hash = hex(digest::digest(&digest::SHA256, req.body).as_ref());
    if let Some(h) = header("x-amz-content-sha256") {
        if !h.eq_ignore_ascii_case(&payload_hash) {
            return Err(bad());
        }
    }
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

/// `YYYYMMDDTHHMMSSZ` as seconds since the Unix epoch.
fn parse_amz_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (y, m, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (hh, mm, ss) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    Some(days_from_civil(y, m, d) * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Seconds since the Unix epoch as `YYYYMMDDTHHMMSSZ`.
fn format_amz_date(t: i64) -> String {
    let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// AWS refuses a signature dated more than 15 minutes from its clock, with
/// these messages.
fn check_skew(amz_date: &str, signed_at: i64, now: SystemTime) -> Result<(), WireError> {
    let now = match now.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(_) => 0,
    };
    let (earliest, latest) = (now - MAX_SKEW_SECONDS, now + MAX_SKEW_SECONDS);
    let message = if signed_at < earliest {
        format!(
            "Signature expired: {amz_date} is now earlier than {} ({} - 15 min.)",
            format_amz_date(earliest),
            format_amz_date(now)
        )
    } else if signed_at > latest {
        format!(
            "Signature not yet current: {amz_date} is still later than {} ({} + 15 min.)",
            format_amz_date(latest),
            format_amz_date(now)
        )
    } else {
        return Ok(());
    };
    Err(WireError::client("InvalidSignatureException", message))
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
            now: at("20150830T123600Z"),
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

    fn at(amz_date: &str) -> SystemTime {
        let secs = parse_amz_date(amz_date).unwrap();
        UNIX_EPOCH + std::time::Duration::from_secs(u64::try_from(secs).unwrap())
    }

    #[test]
    fn amz_dates_round_trip_through_the_calendar() {
        for d in [
            "19700101T000000Z",
            "20000229T235959Z",
            "20150830T123600Z",
            "21000301T010203Z",
        ] {
            assert_eq!(format_amz_date(parse_amz_date(d).unwrap()), d);
        }
        assert_eq!(parse_amz_date("20150830T123600Z"), Some(1_440_938_160));
        for bad in [
            "2015-08-30T12:36:00Z",
            "20151330T123600Z",
            "2015083OT123600Z",
            "",
        ] {
            assert_eq!(parse_amz_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_date_more_than_15_minutes_off_is_refused_as_aws_does() {
        let signed = parse_amz_date("20150830T123600Z").unwrap();
        let late = at("20150830T125200Z");
        let e = check_skew("20150830T123600Z", signed, late).unwrap_err();
        assert_eq!(e.name, "InvalidSignatureException");
        assert_eq!(
            e.message,
            "Signature expired: 20150830T123600Z is now earlier than 20150830T123700Z (20150830T125200Z - 15 min.)"
        );
        let early = at("20150830T122000Z");
        let e = check_skew("20150830T123600Z", signed, early).unwrap_err();
        assert_eq!(
            e.message,
            "Signature not yet current: 20150830T123600Z is still later than 20150830T123500Z (20150830T122000Z + 15 min.)"
        );
        assert!(check_skew("20150830T123600Z", signed, at("20150830T125100Z")).is_ok());
        assert!(check_skew("20150830T123600Z", signed, at("20150830T122100Z")).is_ok());
    }
}

//! `--auth ACCESS_KEY:SECRET`: AWS Signature Version 4 on the AWS routes.
//!
//! With `--auth`, a request to an AWS route must be signed with that key,
//! as the SDKs and the `aws` CLI sign it: `Authorization: AWS4-HMAC-SHA256
//! Credential=<key>/<date>/<region>/<service>/aws4_request,
//! SignedHeaders=…, Signature=…` over the canonical request
//! (`canonical.rs`: the specification for every service but S3, checked
//! against AWS's own test suite in `tests/integration/sigv4.rs`). Without `--auth` any
//! credentials are accepted, as local emulators do. The control API is never
//! signed (curl cannot sign).
//!
//! What a request gets (all status 400, with the messages AWS sends;
//! docs/server.md has the table):
//! - no `Authorization` header: `MissingAuthenticationTokenException`;
//! - an `Authorization` header that is not `AWS4-HMAC-SHA256` with
//!   `Credential`, `SignedHeaders` and `Signature`, no `X-Amz-Date`, a date
//!   that is not ISO 8601 basic, a credential that is not five
//!   slash-separated parts, or a path or query with a `%` that starts no
//!   escape: `IncompleteSignatureException`;
//! - a key other than `--auth`'s: `UnrecognizedClientException`;
//! - a wrong signature, a changed request, a body that is not its
//!   `X-Amz-Content-Sha256`, an unsigned `Host`, a scope that does not end in
//!   `aws4_request` or is not of the request's date, or an `X-Amz-Date` more
//!   than 15 minutes from the server's clock: `InvalidSignatureException`.
//!
//! The request reaches this module as the bytes the HTTP layer received;
//! nothing here indexes or slices past what it checked (the server module
//! denies `clippy::indexing_slicing` and `clippy::string_slice`), so no
//! request can make the verifier panic and drop the connection.

mod canonical;

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use ring::{digest, hmac};

use super::protocol::WireError;

pub use canonical::{canonical_request, string_to_sign};

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
const INCOMPLETE: &str = "IncompleteSignatureException";
const INVALID: &str = "InvalidSignatureException";

/// What a signature is checked against: the request as received.
#[derive(Clone, Debug)]
pub struct SignedRequest<'a> {
    /// `POST`.
    pub method: &'a str,
    /// The path as it came on the wire (percent-encoded), e.g. `/`.
    pub path: &'a [u8],
    /// The raw query string (without `?`), empty if there is none.
    pub query: &'a [u8],
    /// Headers as (lower-case name, value bytes), in the order received;
    /// repeated names allowed.
    pub headers: Vec<(&'a str, &'a [u8])>,
    /// The body.
    pub body: &'a [u8],
    /// When the server received it (the real time: clients sign with theirs,
    /// whatever the engine's clock says).
    pub now: SystemTime,
}

impl SignedRequest<'_> {
    /// The first value of header `name` (lower case).
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| *v)
    }
}

/// How far `X-Amz-Date` may be from the server's clock, as AWS allows.
const MAX_SKEW_SECONDS: i64 = 15 * 60;

/// Checks a request's SigV4 signature against `creds`.
pub fn verify(creds: &Credentials, req: &SignedRequest<'_>) -> Result<(), WireError> {
    let bad = || WireError::client(INVALID, BAD_SIGNATURE);
    // AWS JSON services answer an unsigned request this way
    // (docs/fidelity.md I26).
    let raw = req.header("authorization").ok_or_else(|| {
        WireError::client(
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        )
    })?;
    // The header is never part of what is signed, so reading bytes that are
    // not UTF-8 as U+FFFD lets nothing through: such a key, scope or
    // signature matches no real one.
    let text = String::from_utf8_lossy(raw);
    let amz_date = req.header("x-amz-date").map(String::from_utf8_lossy);
    let auth = Authorization::parse(&text, raw, amz_date.is_some())?;
    let amz_date = amz_date.unwrap_or_default();

    let parts: Vec<&str> = auth.credential.split('/').collect();
    let [key, date, region, service, terminator] = parts.as_slice() else {
        return Err(WireError::client(
            INCOMPLETE,
            format!(
                "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{}'",
                auth.credential
            ),
        ));
    };
    if *key != creds.access_key {
        return Err(WireError::client(
            "UnrecognizedClientException",
            UNRECOGNIZED,
        ));
    }
    if *terminator != "aws4_request" {
        return Err(WireError::client(
            INVALID,
            format!("Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'."),
        ));
    }
    let signed_at = parse_amz_date(&amz_date).ok_or_else(|| {
        WireError::client(
            INCOMPLETE,
            format!("Date must be in ISO-8601 'basic format'. Got '{amz_date}'. See http://en.wikipedia.org/wiki/ISO_8601"),
        )
    })?;
    check_skew(&amz_date, signed_at, req.now)?;
    if !amz_date.starts_with(date) || date.len() != 8 {
        return Err(WireError::client(
            INVALID,
            format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{date}' != '{}', from '{amz_date}'.",
                amz_date.get(..8).unwrap_or(&amz_date)
            ),
        ));
    }
    if !auth.signed_headers.split(';').any(|h| h == "host") {
        return Err(WireError::client(
            INVALID,
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        ));
    }
    // The body's own hash, always: a signed `x-amz-content-sha256` that
    // does not match the body would otherwise let a changed body through.
    if let Some(h) = req.header("x-amz-content-sha256") {
        if h != canonical::payload_hash(req.body).as_bytes() {
            return Err(bad());
        }
    }
    // AWS compares the hex strings: an uppercase or short signature is no
    // match, whatever bytes it decodes to.
    let provided = unhex_lower(auth.signature).ok_or_else(bad)?;

    let canonical_request = canonical_request(req, auth.signed_headers)?;
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let string_to_sign = string_to_sign(&amz_date, &scope, &canonical_request);
    let k_date = sign(format!("AWS4{}", creds.secret).as_bytes(), date.as_bytes());
    let k_region = sign(&k_date, region.as_bytes());
    let k_service = sign(&k_region, service.as_bytes());
    let k_signing = sign(&k_service, b"aws4_request");
    // hmac::verify compares in constant time.
    hmac::verify(
        &hmac::Key::new(hmac::HMAC_SHA256, &k_signing),
        string_to_sign.as_bytes(),
        &provided,
    )
    .map_err(|_| bad())
}

/// The parts of an `Authorization` header that signing uses.
struct Authorization<'a> {
    credential: &'a str,
    signed_headers: &'a str,
    signature: &'a str,
}

impl<'a> Authorization<'a> {
    /// Splits `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`
    /// (`raw` is the header's bytes, for the messages) as AWS does: the
    /// algorithm up to the first space, then `key=value` pairs separated by
    /// commas or spaces. AWS's messages name the header only by its SHA-256
    /// (base64), never echo it.
    fn parse(text: &'a str, raw: &[u8], has_date: bool) -> Result<Self, WireError> {
        let hashed = base64::engine::general_purpose::STANDARD
            .encode(digest::digest(&digest::SHA256, raw).as_ref());
        let (algorithm, rest) = text.split_once(' ').unwrap_or((text, ""));
        let (mut credential, mut signed_headers, mut signature) = (None, None, None);
        for pair in rest.split([',', ' ']).filter(|p| !p.is_empty()) {
            let Some((key, value)) = pair.split_once('=') else {
                return Err(WireError::client(
                    INCOMPLETE,
                    format!("Invalid key=value pair (missing equal-sign) in Authorization header (hashed with SHA-256 and encoded with Base64): '{hashed}'."),
                ));
            };
            let slot = match key {
                "Credential" => &mut credential,
                "SignedHeaders" => &mut signed_headers,
                "Signature" => &mut signature,
                _ => continue,
            };
            slot.get_or_insert(value);
        }
        let parts = (credential, signed_headers, signature);
        let (Some(credential), Some(signed_headers), Some(signature)) = parts else {
            return Err(Self::incomplete(parts, has_date, &hashed));
        };
        if !has_date {
            return Err(Self::incomplete(parts, has_date, &hashed));
        }
        if algorithm != "AWS4-HMAC-SHA256" {
            return Err(WireError::client(
                INCOMPLETE,
                format!("Unsupported AWS 'algorithm': '{algorithm}'"),
            ));
        }
        Ok(Self {
            credential,
            signed_headers,
            signature,
        })
    }

    /// AWS's one message for every missing part, in its order.
    fn incomplete(
        (credential, signed_headers, signature): (Option<&str>, Option<&str>, Option<&str>),
        has_date: bool,
        hashed: &str,
    ) -> WireError {
        let mut missing = String::new();
        for (name, part) in [
            ("Credential", credential),
            ("Signature", signature),
            ("SignedHeaders", signed_headers),
        ] {
            if part.is_none() {
                missing.push_str(&format!(
                    "Authorization header requires '{name}' parameter. "
                ));
            }
        }
        if !has_date {
            missing.push_str("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ");
        }
        WireError::client(
            INCOMPLETE,
            format!(
                "{missing}(Hashed with SHA-256 and encoded with Base64) Authorization={hashed}"
            ),
        )
    }
}

/// `YYYYMMDDTHHMMSSZ` as seconds since the Unix epoch.
fn parse_amz_date(s: &str) -> Option<i64> {
    time::PrimitiveDateTime::parse(s, AMZ_DATE)
        .ok()
        .map(|t| t.assume_utc().unix_timestamp())
}

/// `X-Amz-Date`'s ISO 8601 basic format.
const AMZ_DATE: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");

/// Seconds since the Unix epoch as `YYYYMMDDTHHMMSSZ` (for messages; an
/// instant outside the calendar's range, which no clock gives, prints as
/// the number).
fn format_amz_date(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| d.format(AMZ_DATE).ok())
        .unwrap_or_else(|| t.to_string())
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

/// A signature as AWS writes it, 64 lowercase hex digits, as its 32 bytes.
fn unhex_lower(s: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    if s.len() != 64 {
        return None;
    }
    s.as_bytes()
        .chunks(2)
        .map(|pair| match pair {
            [hi, lo] => Some(digit(*hi)? << 4 | digit(*lo)?),
            _ => None,
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    const VANILLA: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";

    fn example() -> Credentials {
        Credentials {
            access_key: "AKIDEXAMPLE".into(),
            secret: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
        }
    }

    /// The suite's `get-vanilla` request with `authorization` (none if
    /// empty) and `x-amz-date` (none if empty).
    fn vanilla<'a>(authorization: &'a str, amz_date: &'a str) -> SignedRequest<'a> {
        let mut headers: Vec<(&str, &[u8])> = vec![("host", b"example.amazonaws.com")];
        if !amz_date.is_empty() {
            headers.push(("x-amz-date", amz_date.as_bytes()));
        }
        if !authorization.is_empty() {
            headers.push(("authorization", authorization.as_bytes()));
        }
        SignedRequest {
            method: "GET",
            path: b"/",
            query: b"",
            headers,
            body: b"",
            now: at("20150830T123600Z"),
        }
    }

    fn refusal(authorization: &str, amz_date: &str) -> (String, String) {
        let e = verify(&example(), &vanilla(authorization, amz_date)).unwrap_err();
        assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST);
        (e.name, e.message)
    }

    /// The AWS Signature Version 4 test suite's `get-vanilla` case
    /// (credentials AKIDEXAMPLE / wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY);
    /// `tests/integration/sigv4.rs` runs the whole suite.
    #[test]
    fn aws_test_suite_get_vanilla() {
        assert!(verify(&example(), &vanilla(VANILLA, "20150830T123600Z")).is_ok());
        let tampered = VANILLA.replace("5fa00fa3", "5fa00fa4");
        assert_eq!(
            refusal(&tampered, "20150830T123600Z").0,
            "InvalidSignatureException"
        );
        let other_key = VANILLA.replace("Credential=AKIDEXAMPLE", "Credential=AKIDOTHER");
        assert_eq!(
            refusal(&other_key, "20150830T123600Z"),
            ("UnrecognizedClientException".into(), UNRECOGNIZED.into())
        );
        // AWS compares hex strings: the same bytes in uppercase are no match.
        let upper = VANILLA.replace("5fa00fa3", "5FA00FA3");
        assert_eq!(
            refusal(&upper, "20150830T123600Z"),
            ("InvalidSignatureException".into(), BAD_SIGNATURE.into())
        );
    }

    #[test]
    fn a_malformed_authorization_header_is_an_incomplete_signature_with_aws_messages() {
        let date = "20150830T123600Z";
        let hashed = |h: &str| {
            base64::engine::general_purpose::STANDARD
                .encode(digest::digest(&digest::SHA256, h.as_bytes()).as_ref())
        };
        assert_eq!(
            refusal("", date),
            (
                "MissingAuthenticationTokenException".into(),
                "Missing Authentication Token".into()
            )
        );
        let bearer = "Bearer abc.def";
        assert_eq!(
            refusal(bearer, date),
            (
                INCOMPLETE.into(),
                format!("Invalid key=value pair (missing equal-sign) in Authorization header (hashed with SHA-256 and encoded with Base64): '{}'.", hashed(bearer))
            )
        );
        let basic = "Basic Og==";
        assert_eq!(
            refusal(basic, ""),
            (
                INCOMPLETE.into(),
                format!("Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. (Hashed with SHA-256 and encoded with Base64) Authorization={}", hashed(basic))
            )
        );
        let no_signature = VANILLA.split(", Signature").next().unwrap();
        assert_eq!(
            refusal(no_signature, date),
            (
                INCOMPLETE.into(),
                format!("Authorization header requires 'Signature' parameter. (Hashed with SHA-256 and encoded with Base64) Authorization={}", hashed(no_signature))
            )
        );
        assert_eq!(
            refusal(VANILLA, ""),
            (
                INCOMPLETE.into(),
                format!("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. (Hashed with SHA-256 and encoded with Base64) Authorization={}", hashed(VANILLA))
            )
        );
        let sha512 = VANILLA.replace("SHA256", "SHA512");
        assert_eq!(
            refusal(&sha512, date),
            (
                INCOMPLETE.into(),
                "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512'".into()
            )
        );
        let four = VANILLA.replace("/us-east-1", "");
        assert_eq!(
            refusal(&four, date),
            (
                INCOMPLETE.into(),
                "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'AKIDEXAMPLE/20150830/service/aws4_request'".into()
            )
        );
        assert_eq!(
            refusal(VANILLA, "2015-08-30T12:36:00Z"),
            (
                INCOMPLETE.into(),
                "Date must be in ISO-8601 'basic format'. Got '2015-08-30T12:36:00Z'. See http://en.wikipedia.org/wiki/ISO_8601".into()
            )
        );
        // Bytes that are not UTF-8 are refused like any other wrong value.
        let mut raw = VANILLA.as_bytes().to_vec();
        raw.insert(35, 0xff);
        let mut req = vanilla("", date);
        req.headers.push(("authorization", &raw));
        assert_eq!(
            verify(&example(), &req).unwrap_err().name,
            "UnrecognizedClientException"
        );
    }

    #[test]
    fn a_scope_or_signed_header_list_aws_would_refuse_is_an_invalid_signature() {
        let date = "20150830T123600Z";
        assert_eq!(
            refusal(&VANILLA.replace("/aws4_request", "/aws4_reques"), date),
            (
                INVALID.into(),
                "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws4_reques'.".into()
            )
        );
        assert_eq!(
            refusal(
                &VANILLA.replace("SignedHeaders=host;", "SignedHeaders="),
                date
            ),
            (
                INVALID.into(),
                "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".into()
            )
        );
        assert_eq!(
            refusal(&VANILLA.replace("/20150830/", "/20150831/"), date),
            (
                INVALID.into(),
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20150831' != '20150830', from '20150830T123600Z'.".into()
            )
        );
        // Signed but not sent.
        assert_eq!(
            refusal(&VANILLA.replace("host;", "host;my-header;"), date),
            (INVALID.into(), BAD_SIGNATURE.into())
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

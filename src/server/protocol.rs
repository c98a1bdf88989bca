//! The AWS wire protocols the server speaks: AWS JSON 1.1 (KMS, CloudHSM v2,
//! CloudTrail) and Smithy RPC v2 CBOR (CloudHSM v2), and how an AWS error is
//! written in each.
//!
//! Errors carry the exception name in `__type` and in the
//! `x-amzn-ErrorType` header, and a message member named as the service's
//! model names it (`message` for KMS, `Message` for CloudHSM v2). Client
//! faults are HTTP 400, server faults (`"fault": true` in the model) 500.

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::engine::error::Service;
use crate::engine::{Error, ErrorKind};

/// `Content-Type` of AWS JSON 1.1.
pub const JSON_1_1: &str = "application/x-amz-json-1.1";
/// `Content-Type` of Smithy RPC v2 CBOR.
pub const CBOR: &str = "application/cbor";

/// Which protocol a request came in, so the answer goes back in it.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Protocol {
    /// AWS JSON 1.1 (`X-Amz-Target`).
    Json,
    /// Smithy RPC v2 CBOR (`/service/<Service>/operation/<Op>`).
    Cbor,
}

/// An error as the server answers it.
#[derive(Clone, Debug)]
pub struct WireError {
    /// HTTP status.
    pub status: StatusCode,
    /// `__type`.
    pub name: String,
    /// The message.
    pub message: String,
    /// `message` (KMS, common) or `Message` (CloudHSM v2).
    pub message_member: &'static str,
}

impl WireError {
    /// A client error (400) that is no engine error: a bad request.
    pub fn client(name: &str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            name: name.to_owned(),
            message: message.into(),
            message_member: "message",
        }
    }

    /// With another HTTP status.
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// The response in `protocol`.
    pub fn into_response_in(self, protocol: Protocol) -> Response {
        let mut headers = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(&self.name) {
            headers.insert(HeaderName::from_static("x-amzn-errortype"), v);
        }
        let body = json!({"__type": self.name, self.message_member: self.message});
        match protocol {
            Protocol::Json => {
                headers.insert(
                    axum::http::header::CONTENT_TYPE,
                    HeaderValue::from_static(JSON_1_1),
                );
                (self.status, headers, body.to_string()).into_response()
            }
            Protocol::Cbor => {
                headers.insert(
                    axum::http::header::CONTENT_TYPE,
                    HeaderValue::from_static(CBOR),
                );
                headers.insert(
                    HeaderName::from_static("smithy-protocol"),
                    HeaderValue::from_static("rpc-v2-cbor"),
                );
                let bytes = super::cbor::encode(&body).unwrap_or_default();
                (self.status, headers, bytes).into_response()
            }
        }
    }
}

impl From<Error> for WireError {
    fn from(e: Error) -> Self {
        let kind = e.kind();
        Self {
            status: status_of(kind),
            name: kind.aws_name().to_owned(),
            message: e.message().to_owned(),
            message_member: match kind.service() {
                Service::CloudHsmV2 => "Message",
                Service::Kms | Service::Common => "message",
            },
        }
    }
}

/// 500 for server faults, 400 for everything else (docs/fidelity.md I1):
/// clients dispatch on `__type`, and the live KMS sends 400 for
/// KMSInvalidStateException (docs/fidelity.md F1).
pub fn status_of(kind: ErrorKind) -> StatusCode {
    if kind.is_server_fault() {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::BAD_REQUEST
    }
}

/// A successful AWS JSON 1.1 answer.
pub fn json_ok(v: &Value) -> Response {
    (
        StatusCode::OK,
        [(axum::http::header::CONTENT_TYPE, JSON_1_1)],
        json_bytes(v),
    )
        .into_response()
}

/// `v` as compact JSON, byte for byte what `serde_json` writes. A string
/// with nothing to escape (every blob: base64 has no quote, backslash or
/// control character) is checked in one vectorized pass and copied whole;
/// `serde_json` checks it byte by byte, which was the server's largest own
/// cost on a 4 KiB Encrypt (BENCHMARKS.md, issue 16).
pub fn json_bytes(v: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write_json(&mut out, v);
    out
}

fn write_json(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::String(s) => write_json_str(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json(out, item);
            }
            out.push(b']');
        }
        Value::Object(members) => {
            out.push(b'{');
            for (i, (name, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json_str(out, name);
                out.push(b':');
                write_json(out, item);
            }
            out.push(b'}');
        }
        // Writing a scalar to a Vec cannot fail.
        Value::Null | Value::Bool(_) | Value::Number(_) => {
            let _ = serde_json::to_writer(&mut *out, v);
        }
    }
}

fn write_json_str(out: &mut Vec<u8>, s: &str) {
    // No early exit, so that the compiler vectorizes the loop.
    let needs_escape = s.bytes().fold(false, |any, b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if needs_escape {
        let _ = serde_json::to_writer(&mut *out, s);
    } else {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_bytes_are_what_serde_json_writes() {
        let blob = "QUJD+/".repeat(1000);
        for v in [
            serde_json::json!({"CiphertextBlob": blob, "KeyId": "arn:aws:kms:us-west-2:111122223333:key/1", "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}),
            serde_json::json!({"a\"b": ["x\\y", "tab\there", "\u{1}", "é✓\u{7f}", "/"], "n": [1, -2.5, 1e300, null, true, false], "o": {}, "e": []}),
            serde_json::json!("plain"),
            serde_json::json!(null),
        ] {
            assert_eq!(json_bytes(&v), serde_json::to_vec(&v).unwrap(), "{v}");
        }
    }
}

//! `hsmdrill serve --auth`: a request the KMS SDK signed with the right
//! secret is served, and every forgery (a wrong secret, a body changed
//! after signing, no signature, a clock too far off) is refused with the
//! exception and message AWS gives; fourteen minutes of skew are tolerated.

use std::time::{Duration, SystemTime};

use aws_sdk_kms as kms;

use hsmdrill::server::Credentials;
use kms::operation::encrypt::{EncryptError, EncryptOutput};
use kms::primitives::Blob;

use super::{Server, KEY_ARN};

/// Changes a signed request just before it is sent, as an attacker on the
/// path (or a broken proxy) would.
#[derive(Debug)]
enum Tamper {
    /// One byte of the plaintext in the body (same length, so
    /// Content-Length still holds).
    Body,
    /// No `Authorization` header.
    Unsigned,
}

impl kms::config::Intercept for Tamper {
    fn name(&self) -> &'static str {
        "Tamper"
    }

    fn modify_before_transmit(
        &self,
        ctx: &mut kms::config::interceptors::BeforeTransmitInterceptorContextMut<'_>,
        _: &kms::config::RuntimeComponents,
        _: &mut kms::config::ConfigBag,
    ) -> Result<(), kms::error::BoxError> {
        let req = ctx.request_mut();
        match self {
            Tamper::Body => {
                let mut body = req.body().bytes().expect("a buffered body").to_vec();
                // `QUFBQS…` is the base64 of the plaintext `AAAA …`.
                let at = body
                    .iter()
                    .position(|b| *b == b'Q')
                    .expect("a 'Q' to change");
                body[at] = b'R';
                *req.body_mut() = body.into();
            }
            Tamper::Unsigned => {
                req.headers_mut().remove("authorization");
            }
        }
        Ok(())
    }
}

/// A KMS client of a server with `--auth AKIDDRILL:drillSecret`, signing
/// with `secret`, its clock `skew_minutes` away from the real one (ahead
/// when positive), and `tamper`.
fn signed_kms(
    server: &Server,
    secret: &str,
    skew_minutes: i64,
    tamper: Option<Tamper>,
) -> kms::Client {
    let http = aws_smithy_http_client::Builder::new().build_http();
    let mut config = sdk_config!(kms, server.0.url(), http).credentials_provider(
        kms::config::Credentials::new("AKIDDRILL", secret, None, None, "test"),
    );
    if skew_minutes != 0 {
        let by = Duration::from_secs(skew_minutes.unsigned_abs() * 60);
        let now = SystemTime::now();
        let then = if skew_minutes > 0 { now + by } else { now - by };
        config = config.time_source(aws_smithy_async::time::StaticTimeSource::new(then));
    }
    if let Some(t) = tamper {
        config = config.interceptor(t);
    }
    kms::Client::from_conf(config.build())
}

/// An Encrypt of `AAAA signed drill` by `client`.
async fn encrypt(
    client: &kms::Client,
) -> Result<EncryptOutput, kms::error::SdkError<EncryptError>> {
    client
        .encrypt()
        .key_id(KEY_ARN)
        .plaintext(Blob::new(b"AAAA signed drill".to_vec()))
        .send()
        .await
}

#[tokio::test]
async fn sigv4_a_signed_sdk_request_passes_and_every_forgery_is_refused_as_aws_does() {
    let server = Server::start_with(Some(Credentials {
        access_key: "AKIDDRILL".into(),
        secret: "drillSecret".into(),
    }));

    // Signed right: served, and the ciphertext decrypts.
    let good = signed_kms(&server, "drillSecret", 0, None);
    let out = encrypt(&good).await.expect("a signed Encrypt");
    let back = good
        .decrypt()
        .ciphertext_blob(out.ciphertext_blob.unwrap())
        .send()
        .await
        .expect("a signed Decrypt");
    assert_eq!(back.plaintext.unwrap().as_ref(), b"AAAA signed drill");

    // Each forgery: the client that sends it, the exception and what its
    // message must be.
    type Message = fn(&str) -> bool;
    let forgeries: [(&str, kms::Client, &str, Message); 5] = [
        (
            "a wrong secret",
            signed_kms(&server, "wrongSecret", 0, None),
            "InvalidSignatureException",
            |m| m.starts_with("The request signature we calculated does not match"),
        ),
        (
            "a body changed after signing",
            signed_kms(&server, "drillSecret", 0, Some(Tamper::Body)),
            "InvalidSignatureException",
            |_| true,
        ),
        (
            "no signature at all",
            signed_kms(&server, "drillSecret", 0, Some(Tamper::Unsigned)),
            "MissingAuthenticationTokenException",
            |m| m == "Missing Authentication Token",
        ),
        (
            "a clock 16 minutes behind",
            signed_kms(&server, "drillSecret", -16, None),
            "InvalidSignatureException",
            |m| m.starts_with("Signature expired: ") && m.ends_with(" - 15 min.)"),
        ),
        (
            "a clock 16 minutes ahead",
            signed_kms(&server, "drillSecret", 16, None),
            "InvalidSignatureException",
            |m| m.starts_with("Signature not yet current: "),
        ),
    ];
    for (forgery, client, code, message) in forgeries {
        let e = encrypt(&client)
            .await
            .expect_err(&format!("{forgery}: refused"));
        let meta = e
            .as_service_error()
            .map(|s| s.meta().clone())
            .unwrap_or_else(|| panic!("{forgery}: a service error expected, got {e:?}"));
        assert_eq!(meta.code(), Some(code), "{forgery}: {meta:?}");
        let text = meta.message().unwrap_or_default();
        assert!(message(text), "{forgery}: {text}");
    }

    // Fourteen minutes off is within AWS's tolerance.
    encrypt(&signed_kms(&server, "drillSecret", -14, None))
        .await
        .expect("14 minutes of skew is tolerated");
}

//! The engine's one error type: an AWS exception name plus a message.
//!
//! Every failure the engine reports is an [`Error`] whose [`ErrorKind`] mirrors
//! an exception shape of `reference/aws-models/kms-service-2.json` or
//! `reference/aws-models/cloudhsmv2-service-2.json` (or one of the unmodeled common
//! errors every AWS JSON service may return: `ValidationException`,
//! `SerializationException`, `ThrottlingException`,
//! `UnknownOperationException`). [`ErrorKind::aws_name`] is the only place a
//! wire name is spelled; `Display` renders `"{aws_name}: {message}"` once, and
//! front ends print or serialize from these two parts.

use std::borrow::Cow;
use std::fmt;

/// An AWS error: what kind, and the message AWS would send with it.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Error {
    kind: ErrorKind,
    message: Cow<'static, str>,
}

/// Which service's error shape an [`ErrorKind`] belongs to; it decides the
/// message member (`message` for KMS, `Message` for CloudHSM v2).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Service {
    /// AWS KMS (`TrentService`).
    Kms,
    /// AWS CloudHSM v2 (`BaldrApiService`).
    CloudHsmV2,
    /// Errors any AWS JSON service may return.
    Common,
}

macro_rules! error_kinds {
    ($( $(#[$doc:meta])* $variant:ident => $name:literal, $service:ident, $fault:literal; )*) => {
        /// An AWS exception, one variant per exception shape hsmdrill raises.
        #[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
        pub enum ErrorKind {
            $( $(#[$doc])* $variant, )*
        }

        impl ErrorKind {
            /// Every kind, in declaration order (the reference test walks it).
            pub const ALL: &'static [ErrorKind] = &[$(ErrorKind::$variant,)*];

            /// The exception name on the wire (`__type`, `x-amzn-ErrorType`).
            pub fn aws_name(self) -> &'static str {
                match self { $( ErrorKind::$variant => $name, )* }
            }

            /// The service whose model defines this exception.
            pub fn service(self) -> Service {
                match self { $( ErrorKind::$variant => Service::$service, )* }
            }

            /// Whether AWS marks it a server fault (`"fault": true`, HTTP 5xx).
            pub fn is_server_fault(self) -> bool {
                match self { $( ErrorKind::$variant => $fault, )* }
            }

            /// The kind with this wire name, if hsmdrill knows it.
            pub fn from_aws_name(name: &str) -> Option<ErrorKind> {
                match name { $( $name => Some(ErrorKind::$variant), )* _ => None }
            }
        }
    };
}

error_kinds! {
    /// The request names a CloudHSM cluster already tied to a key store, or
    /// one that shares backup history with it.
    CloudHsmClusterInUse => "CloudHsmClusterInUseException", Kms, false;
    /// The cluster does not meet the key store requirements (subnets in two
    /// AZs, security group rules, active HSMs).
    CloudHsmClusterInvalidConfiguration => "CloudHsmClusterInvalidConfigurationException", Kms, false;
    /// The cluster is not `ACTIVE`.
    CloudHsmClusterNotActive => "CloudHsmClusterNotActiveException", Kms, false;
    /// No cluster with that id.
    CloudHsmClusterNotFound => "CloudHsmClusterNotFoundException", Kms, false;
    /// The cluster is not the original one or one sharing its backup history.
    CloudHsmClusterNotRelated => "CloudHsmClusterNotRelatedException", Kms, false;
    /// The key store still holds KMS keys.
    CustomKeyStoreHasCMKs => "CustomKeyStoreHasCMKsException", Kms, false;
    /// The operation is not valid in the key store's `ConnectionState`.
    CustomKeyStoreInvalidState => "CustomKeyStoreInvalidStateException", Kms, false;
    /// The key store name is already taken.
    CustomKeyStoreNameInUse => "CustomKeyStoreNameInUseException", Kms, false;
    /// No key store with that id or name.
    CustomKeyStoreNotFound => "CustomKeyStoreNotFoundException", Kms, false;
    /// The key is disabled.
    Disabled => "DisabledException", Kms, false;
    /// `DryRun` was set and the request would have succeeded.
    DryRunOperation => "DryRunOperationException", Kms, false;
    /// The trust anchor is not the cluster's `customerCA.crt`.
    IncorrectTrustAnchor => "IncorrectTrustAnchorException", Kms, false;
    /// The ciphertext was made under another KMS key than the one named.
    IncorrectKey => "IncorrectKeyException", Kms, false;
    /// An alias name that is malformed or reserved.
    InvalidAliasName => "InvalidAliasNameException", Kms, false;
    /// An ARN that is not valid.
    InvalidArn => "InvalidArnException", Kms, false;
    /// The ciphertext or its encryption context is not valid.
    InvalidCiphertext => "InvalidCiphertextException", Kms, false;
    /// The key's usage does not permit the operation.
    InvalidKeyUsage => "InvalidKeyUsageException", Kms, false;
    /// A grant id that names no grant of the key.
    InvalidGrantId => "InvalidGrantIdException", Kms, false;
    /// A grant token hsmdrill did not issue.
    InvalidGrantToken => "InvalidGrantTokenException", Kms, false;
    /// A key policy that is not a JSON policy document.
    MalformedPolicyDocument => "MalformedPolicyDocumentException", Kms, false;
    /// A tag that breaks the tag rules (reserved `aws:` prefix, a key twice).
    Tag => "TagException", Kms, false;
    /// A `Marker` that no earlier response handed out.
    InvalidMarker => "InvalidMarkerException", Kms, false;
    /// An alias that already exists.
    AlreadyExists => "AlreadyExistsException", Kms, false;
    /// KMS failed internally (and PKCS #11 session exhaustion, R2).
    KmsInternal => "KMSInternalException", Kms, true;
    /// The key's state does not permit the operation (R2, R4).
    KmsInvalidState => "KMSInvalidStateException", Kms, false;
    /// A quota was exceeded (custom key stores per account, …).
    LimitExceeded => "LimitExceededException", Kms, false;
    /// No such key or alias.
    NotFound => "NotFoundException", Kms, false;
    /// The request is valid but not supported for this kind of key or store.
    UnsupportedOperation => "UnsupportedOperationException", Kms, false;
    /// The caller may not do this (CloudHSM v2).
    CloudHsmAccessDenied => "CloudHsmAccessDeniedException", CloudHsmV2, false;
    /// CloudHSM failed internally.
    CloudHsmInternalFailure => "CloudHsmInternalFailureException", CloudHsmV2, true;
    /// The request is not valid in the resource's current state (CloudHSM v2).
    CloudHsmInvalidRequest => "CloudHsmInvalidRequestException", CloudHsmV2, false;
    /// A CloudHSM quota was exceeded.
    CloudHsmResourceLimitExceeded => "CloudHsmResourceLimitExceededException", CloudHsmV2, false;
    /// No such cluster, HSM or backup.
    CloudHsmResourceNotFound => "CloudHsmResourceNotFoundException", CloudHsmV2, false;
    /// A CloudHSM service error.
    CloudHsmService => "CloudHsmServiceException", CloudHsmV2, false;
    /// A request member violates its model constraint.
    Validation => "ValidationException", Common, false;
    /// The body could not be read as the operation's input shape.
    Serialization => "SerializationException", Common, false;
    /// Too many requests (the CloudHSM key store request quota).
    Throttling => "ThrottlingException", Common, false;
    /// No operation of that name.
    UnknownOperation => "UnknownOperationException", Common, false;
}

impl Error {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// What kind of AWS error this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The exception name on the wire.
    pub fn aws_name(&self) -> &'static str {
        self.kind.aws_name()
    }

    /// The message AWS would send.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The message, shared: a static message is not copied.
    pub fn message_cow(&self) -> Cow<'static, str> {
        self.message.clone()
    }

    /// A `ValidationException` in the form AWS uses for model constraints:
    /// `1 validation error detected: Value '…' at 'field' failed to satisfy
    /// constraint: …`.
    pub fn validation(field: &str, value: impl fmt::Display, constraint: &str) -> Self {
        Self::new(
            ErrorKind::Validation,
            format!(
                "1 validation error detected: Value '{value}' at '{}' failed to satisfy constraint: {constraint}",
                lower_first(field)
            ),
        )
    }

    /// A `ValidationException` for a member the model marks `sensitive`
    /// (`KeyStorePassword`): AWS leaves the value out
    /// (`Value at 'keyStorePassword' failed to satisfy constraint: …`).
    /// Echoing it would hand a password back to the caller and write it
    /// into CloudTrail's `errorMessage` (found by `tests/integration/secrets.rs`).
    pub fn validation_of_sensitive(field: &str, constraint: &str) -> Self {
        Self::new(
            ErrorKind::Validation,
            format!(
                "1 validation error detected: Value at '{}' failed to satisfy constraint: {constraint}",
                lower_first(field)
            ),
        )
    }

    /// A `ValidationException` for a required member that is missing.
    pub fn missing(field: &str) -> Self {
        Self::new(
            ErrorKind::Validation,
            format!(
                "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
                lower_first(field)
            ),
        )
    }
}

/// AWS names members in validation messages in camel case (`keyId`).
fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.aws_name(), self.message)
    }
}

impl std::error::Error for Error {}

/// Results of engine operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_name_then_message() {
        let e = Error::new(ErrorKind::KmsInvalidState, "x is unavailable.");
        assert_eq!(e.to_string(), "KMSInvalidStateException: x is unavailable.");
    }

    #[test]
    fn names_round_trip() {
        for k in ErrorKind::ALL {
            assert_eq!(ErrorKind::from_aws_name(k.aws_name()), Some(*k));
        }
    }

    #[test]
    fn validation_messages_use_camel_case_members() {
        assert_eq!(
            Error::missing("KeyId").message(),
            "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null"
        );
        // A sensitive member's value is left out, as AWS does.
        let e = Error::validation_of_sensitive("KeyStorePassword", "Member must not be blank");
        assert_eq!(
            e.message(),
            "1 validation error detected: Value at 'keyStorePassword' failed to satisfy constraint: Member must not be blank"
        );
    }
}

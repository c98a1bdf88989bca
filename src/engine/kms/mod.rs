//! AWS KMS, as far as CloudHSM key stores go, with the `AWS_KMS` keys
//! beside them that keep working while a store is disconnected.
//!
//! - `keystore.rs`: the custom key store and its connection state machine;
//!   `store_ops.rs`: Create/Connect/Disconnect/Update/Delete/Describe.
//! - `key.rs`: KMS keys (in a store, or `AWS_KMS`) and their derived
//!   `KeyState`; `key_ops.rs`:
//!   CreateKey, DescribeKey, ListKeys, aliases, Enable/Disable, deletion.
//! - `crypto.rs`: the ciphertext blob and AES-256-GCM; `crypto_ops.rs`: the
//!   data plane (Encrypt, Decrypt, ReEncrypt, GenerateDataKey*,
//!   GenerateRandom), which checks the R2/R4 preconditions, takes a PKCS #11
//!   session and does AES outside the engine's lock.
//! - `manage/`: tags, key policies, grants, rotation, UpdateAlias and
//!   UpdateKeyDescription, for keys of both origins.
//! - `api.rs`: the typed requests and responses in AWS member names.
//!
//! Every call is recorded in the trail here, as CloudTrail would (R6).

pub mod api;
pub mod crypto;
mod crypto_ops;
pub mod key;
mod key_ops;
pub mod keystore;
pub mod manage;
pub(crate) mod resolved;
mod store_ops;

use serde_json::Value;

use super::error::{Error, ErrorKind, Result};
use super::state::State;
use super::trail::{EventDetail, EventType, JsonDetail};
use super::Engine;
use key::Key;

/// The crypto user KMS logs in as (R5, R8).
pub const KMSUSER: &str = "kmsuser";

/// R4, first message: the network path to the cluster is broken.
pub const CANNOT_COMMUNICATE: &str = "KMS cannot communicate with your CloudHSM cluster. This might be a transient network issue. If you see this error repeatedly, verify that the Network ACLs and the security group rules for the VPC of your AWS CloudHSM cluster are correct.";

/// R4, second message: `kmsuser` is locked out.
pub const KMSUSER_LOCKED_OUT: &str = "KMS cannot communicate with your AWS CloudHSM cluster because the kmsuser is locked out. If you see this error repeatedly, disconnect the AWS CloudHSM key store and reset the kmsuser account password. Update the kmsuser password for the custom key store and try the request again.";

/// R4: whether `kmsuser` is locked out in `cluster`. KMS's session is then
/// of no use: crypto, CreateKey and GenerateRandom in the store fail with
/// [`KMSUSER_LOCKED_OUT`] (docs/fidelity.md I54).
pub(crate) fn kmsuser_locked(cluster: &super::cloudhsm::cluster::Cluster) -> bool {
    cluster
        .users
        .get(KMSUSER)
        .is_some_and(|u| u.lockout.is_locked())
}

/// R2: the cluster has no free PKCS #11 session.
pub const NO_PKCS11_SESSIONS: &str = "KMS could not complete the request because the AWS CloudHSM cluster associated with the custom key store has no free PKCS #11 sessions. This usually happens during a large burst of traffic. Back off and retry the request.";

/// What a successful call adds to its CloudTrail event:
/// `responseElements`, `additionalEventData` and the ARNs of its
/// `resources`.
type Recorded = (Value, Value, Vec<String>);

/// Adds `member` to a call's `requestParameters` when the request has it.
fn add_present(params: &mut Value, member: &str, value: Option<impl serde::Serialize>) {
    if let Some(v) = value {
        params[member] = serde_json::json!(v);
    }
}

/// What a call whose event has no response elements, additional data or
/// resources records.
fn nothing_recorded<T>(_: &T) -> Recorded {
    (Value::Null, Value::Null, vec![])
}

impl Engine {
    /// Runs a control-plane call as every one runs: the clock caught up
    /// first, then `run`, then the call recorded in the trail as `name` with
    /// `request_parameters` and, on success, what `recorded` makes of the
    /// answer.
    fn audited<T>(
        &self,
        name: &'static str,
        request_parameters: Value,
        run: impl FnOnce() -> Result<T>,
        recorded: impl FnOnce(&T) -> Recorded,
    ) -> Result<T> {
        self.catch_up();
        let result = run();
        self.audit(name, request_parameters, result.as_ref().map(recorded));
        result
    }

    /// A control-plane call on the one key its `KeyId` names that records
    /// only its request parameters: `run` gets the id once it is checked.
    fn on_key<T>(
        &self,
        name: &'static str,
        request_parameters: Value,
        key_id: &Option<String>,
        run: impl FnOnce(&str) -> Result<T>,
    ) -> Result<T> {
        self.audited(
            name,
            request_parameters,
            || run(required("KeyId", key_id, 1, 2048)?),
            nothing_recorded,
        )
    }

    /// Records a control-plane call in the trail.
    fn audit(
        &self,
        name: &'static str,
        request_parameters: Value,
        outcome: std::result::Result<Recorded, &Error>,
    ) {
        let now = self.clock.now();
        match outcome {
            Ok((response_elements, additional_event_data, resources)) => self.trail.record(
                now,
                name,
                EventType::ApiCall,
                EventDetail::Json(Box::new(JsonDetail {
                    request_parameters,
                    response_elements,
                    additional_event_data,
                    resources,
                })),
                None,
            ),
            Err(e) => self.trail.record(
                now,
                name,
                EventType::ApiCall,
                EventDetail::Bare {
                    request_parameters: Box::new(request_parameters),
                },
                Some((e.aws_name(), e.message_cow())),
            ),
        }
    }

    /// Finds a key by key id, key ARN, alias name or alias ARN.
    fn resolve_key<'s>(&self, st: &'s State, key_id: &str) -> Result<&'s Key> {
        let not_found = |what: String| Error::new(ErrorKind::NotFound, what);
        let local = match key_id.strip_prefix("arn:") {
            None => key_id,
            Some(_) => {
                // `arn:aws:kms:<region>:<account>:`, matched piece by piece
                // (no string built per call: clients often name keys by ARN).
                let rest = key_id
                    .strip_prefix("arn:aws:kms:")
                    .and_then(|r| r.strip_prefix(self.config.region.as_str()))
                    .and_then(|r| r.strip_prefix(':'))
                    .and_then(|r| r.strip_prefix(self.config.account.as_str()))
                    .and_then(|r| r.strip_prefix(':'));
                match rest {
                    Some(rest) if rest.starts_with("alias/") => rest,
                    Some(rest) => match rest.strip_prefix("key/") {
                        Some(id) => id,
                        None => return Err(not_found(format!("Invalid arn {key_id}"))),
                    },
                    None => return Err(not_found(format!("Invalid arn {key_id}"))),
                }
            }
        };
        if local.starts_with("alias/") {
            return st
                .aliases
                .get(local)
                .and_then(|a| st.keys.get(&a.target_key_id))
                .ok_or_else(|| {
                    not_found(format!("Alias {} is not found.", self.alias_arn(local)))
                });
        }
        if !is_uuid(local) {
            return Err(not_found(format!("Invalid keyId '{key_id}'")));
        }
        st.keys
            .get(local)
            .ok_or_else(|| not_found(format!("Key '{}' does not exist", self.key_arn(local))))
    }
}

/// Whether `s` is shaped like a KMS key id.
fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Checks a required string member and its length constraint.
fn required<'a>(field: &str, value: &'a Option<String>, min: usize, max: usize) -> Result<&'a str> {
    let v = value.as_deref().ok_or_else(|| Error::missing(field))?;
    check_len(field, v, min, max)?;
    Ok(v)
}

/// String members the KMS model marks `"sensitive": true` that are checked
/// here. Their values never appear in an error message: AWS leaves them out,
/// and an echoed `KeyStorePassword` would leak a password to the caller and
/// into CloudTrail (`tests/integration/secrets.rs`).
const SENSITIVE_MEMBERS: &[&str] = &["KeyStorePassword"];

/// Checks an optional string member's length constraint.
fn check_len(field: &str, v: &str, min: usize, max: usize) -> Result<()> {
    // A UTF-8 string has between a quarter and all of its bytes as
    // characters: when both bounds fit, there is nothing to count (a key id
    // on every data-plane call).
    if v.len() <= max && v.len().div_ceil(4) >= min {
        return Ok(());
    }
    let n = v.chars().count();
    let invalid = |constraint: String| {
        if SENSITIVE_MEMBERS.contains(&field) {
            Error::validation_of_sensitive(field, &constraint)
        } else {
            Error::validation(field, v, &constraint)
        }
    };
    if n < min {
        return Err(invalid(format!(
            "Member must have length greater than or equal to {min}"
        )));
    }
    if n > max {
        return Err(invalid(format!(
            "Member must have length less than or equal to {max}"
        )));
    }
    Ok(())
}

/// Checks an enum member against its model values.
fn check_enum(field: &str, v: &str, values: &[&str]) -> Result<()> {
    if values.contains(&v) {
        Ok(())
    } else {
        Err(Error::validation(
            field,
            v,
            &format!(
                "Member must satisfy enum value set: [{}]",
                values.join(", ")
            ),
        ))
    }
}

/// Checks an integer member's range.
fn check_range(field: &str, v: i64, min: i64, max: i64) -> Result<()> {
    if v < min {
        Err(Error::validation(
            field,
            v,
            &format!("Member must have value greater than or equal to {min}"),
        ))
    } else if v > max {
        Err(Error::validation(
            field,
            v,
            &format!("Member must have value less than or equal to {max}"),
        ))
    } else {
        Ok(())
    }
}

/// `EncryptionAlgorithmSpec` values.
const ENCRYPTION_ALGORITHMS: &[&str] = &[
    "SYMMETRIC_DEFAULT",
    "RSAES_OAEP_SHA_1",
    "RSAES_OAEP_SHA_256",
    "SM2PKE",
];

/// Paging over a sorted list with `Limit` 1–1000: `(page, next_marker)`.
/// Markers are the id of the first entry of the next page.
fn page<T: Clone>(
    items: &[(String, T)],
    limit: Option<i64>,
    marker: Option<&str>,
    default_limit: i64,
) -> Result<(Vec<T>, Option<String>)> {
    page_within(items, limit, marker, default_limit, 1000)
}

/// [`page`] for an operation whose `Limit` goes up to `max` (its model
/// says 1–1000, its documentation fewer: ListResourceTags 50, ListGrants
/// 100).
fn page_within<T: Clone>(
    items: &[(String, T)],
    limit: Option<i64>,
    marker: Option<&str>,
    default_limit: i64,
    max: i64,
) -> Result<(Vec<T>, Option<String>)> {
    let limit = limit.unwrap_or(default_limit);
    check_range("Limit", limit, 1, max)?;
    if let Some(m) = marker {
        check_len("Marker", m, 1, 1024)?;
    }
    let start = match marker {
        None => 0,
        Some(m) => items.iter().position(|(id, _)| id == m).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidMarker,
                "The request was rejected because the marker that specifies where pagination should next begin is not valid.",
            )
        })?,
    };
    let limit = usize::try_from(limit).unwrap_or(1000);
    let end = (start + limit).min(items.len());
    let next = items.get(end).map(|(id, _)| id.clone());
    Ok((
        items[start..end].iter().map(|(_, t)| t.clone()).collect(),
        next,
    ))
}

#[cfg(test)]
mod tests {
    use super::check_len;

    /// Lengths are characters, as the KMS model counts them; the byte
    /// bounds that skip the count never decide a length on their own.
    #[test]
    fn a_length_is_counted_in_characters() {
        let clef = "\u{1d11e}"; // four bytes, one character
        assert!(check_len("KeyId", &clef.repeat(2048), 1, 2048).is_ok());
        let e = check_len("KeyId", &clef.repeat(2049), 1, 2048).unwrap_err();
        assert_eq!(e.aws_name(), "ValidationException");
        assert!(e
            .message_cow()
            .ends_with("Member must have length less than or equal to 2048"));
        assert!(check_len("KeyId", "", 1, 2048).is_err());
        assert!(
            check_len("KeyId", "é", 2, 8).is_err(),
            "two bytes, one character"
        );
        assert!(check_len("KeyId", "éé", 2, 8).is_ok());
        assert!(check_len("KeyId", &"a".repeat(2049), 1, 2048).is_err());
    }
}

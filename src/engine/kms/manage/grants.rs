//! Grants: CreateGrant, ListGrants, ListRetirableGrants, RetireGrant,
//! RevokeGrant, and the `GrantTokens` check of the operations that take
//! them (docs/fidelity.md F18). Grants are kept and listed; hsmdrill
//! authorizes nothing, so a grant never allows or denies a call
//! (docs/fidelity.md I40).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::json;

use super::shapes::{
    CreateGrantRequest, CreateGrantResponse, GrantListEntry, ListGrantsRequest, ListGrantsResponse,
    ListRetirableGrantsRequest, RetireGrantRequest, RevokeGrantRequest,
};
use crate::engine::error::{Error, ErrorKind, Result};
use crate::engine::kms::api::Empty;
use crate::engine::kms::key::{Grant, Key};
use crate::engine::kms::{check_enum, check_len, nothing_recorded, page_within, required};
use crate::engine::machines::key::Management;
use crate::engine::Engine;

/// `GrantOperation` in reference/aws-models/kms-service-2.json.
const GRANT_OPERATIONS: &[&str] = &[
    "Decrypt",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "ReEncryptFrom",
    "ReEncryptTo",
    "Sign",
    "Verify",
    "GetPublicKey",
    "CreateGrant",
    "RetireGrant",
    "DescribeKey",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GenerateMac",
    "VerifyMac",
    "DeriveSharedSecret",
    "Encapsulate",
    "Decapsulate",
];

/// What every token hsmdrill issues starts with, before base64.
const TOKEN_PREFIX: &str = "hsmdrill-grant:";

const DRY_RUN: &str = "The request would have succeeded, but the DryRun option is set.";

/// The token of a grant: the key and grant ids, so RetireGrant can find
/// the grant from the token alone (docs/fidelity.md I40).
fn token(key_id: &str, grant_id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{TOKEN_PREFIX}{key_id}:{grant_id}"))
}

/// The key and grant ids a token names, if hsmdrill issued it.
fn parse_token(token: &str) -> Option<(String, String)> {
    let bytes = URL_SAFE_NO_PAD.decode(token.as_bytes()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (key, grant) = text.strip_prefix(TOKEN_PREFIX)?.split_once(':')?;
    Some((key.to_owned(), grant.to_owned()))
}

fn invalid_token() -> Error {
    Error::new(
        ErrorKind::InvalidGrantToken,
        "The grant token is not valid.",
    )
}

/// Checks a request's `GrantTokens`: at most 10, each 1–8192 characters
/// and issued by hsmdrill's CreateGrant (docs/fidelity.md I40).
pub(crate) fn check_grant_tokens(tokens: Option<&[String]>) -> Result<()> {
    let Some(tokens) = tokens else { return Ok(()) };
    if tokens.len() > 10 {
        return Err(Error::validation(
            "GrantTokens",
            format!("{tokens:?}"),
            "Member must have length less than or equal to 10",
        ));
    }
    for (i, t) in tokens.iter().enumerate() {
        check_len(&format!("GrantTokens.{}.member", i + 1), t, 1, 8192)?;
        if parse_token(t).is_none() {
            return Err(invalid_token());
        }
    }
    Ok(())
}

/// Checks a principal member: 1–256 of `[\w+=,.@:/-]`.
fn check_principal(member: &str, p: &str) -> Result<()> {
    check_len(member, p, 1, 256)?;
    let ok = p
        .chars()
        .all(|c| c.is_alphanumeric() || "_+=,.@:/-".contains(c));
    if !ok {
        return Err(Error::validation(
            member,
            p,
            "Member must satisfy regular expression pattern: ^[\\w+=,.@:/-]+$",
        ));
    }
    Ok(())
}

/// A grant id is 1–128 characters; a well-formed one hsmdrill never issued
/// is `NotFoundException` (docs/fidelity.md I40).
fn check_grant_id(id: &str) -> Result<()> {
    check_len("GrantId", id, 1, 128)?;
    if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::new(
            ErrorKind::InvalidGrantId,
            format!("Grant ID {id} is not valid."),
        ));
    }
    Ok(())
}

fn grant_not_found(id: &str) -> Error {
    Error::new(ErrorKind::NotFound, format!("Grant ID {id} not found."))
}

impl Engine {
    fn grant_entry(&self, key: &Key, g: &Grant) -> GrantListEntry {
        GrantListEntry {
            key_id: key.arn.to_string(),
            grant_id: g.id.clone(),
            name: g.name.clone(),
            creation_date: g.creation_date.as_epoch_seconds(),
            grantee_principal: g.grantee_principal.clone(),
            retiring_principal: g.retiring_principal.clone(),
            issuing_account: format!("arn:aws:iam::{}:root", self.config.account),
            operations: g.operations.clone(),
            constraints: g.constraints.clone(),
        }
    }

    /// CreateGrant. A second CreateGrant with the same `Name` and the same
    /// grant gets the same grant id and token back (docs/fidelity.md F18).
    pub fn create_grant(&self, req: &CreateGrantRequest) -> Result<CreateGrantResponse> {
        self.on_key(
            "CreateGrant",
            json!({
                "keyId": req.key_id,
                "granteePrincipal": req.grantee_principal,
                "retiringPrincipal": req.retiring_principal,
                "operations": req.operations,
                "name": req.name,
            }),
            &req.key_id,
            |key_id| {
                let operations = req
                    .operations
                    .as_deref()
                    .ok_or_else(|| Error::missing("Operations"))?;
                if operations.is_empty() {
                    return Err(Error::validation(
                        "Operations",
                        "[]",
                        "Member must have length greater than or equal to 1",
                    ));
                }
                for op in operations {
                    check_enum("Operations", op, GRANT_OPERATIONS)?;
                }
                if req.grantee_service_principal.is_some()
                    || req.retiring_service_principal.is_some()
                {
                    return Err(Error::new(
                        ErrorKind::UnsupportedOperation,
                        "Grants to AWS service principals are not supported by hsmdrill.",
                    ));
                }
                let grantee = required("GranteePrincipal", &req.grantee_principal, 1, 256)?;
                check_principal("GranteePrincipal", grantee)?;
                if let Some(r) = &req.retiring_principal {
                    check_principal("RetiringPrincipal", r)?;
                }
                if let Some(n) = &req.name {
                    check_len("Name", n, 1, 256)?;
                    if !n.bytes().all(|b| {
                        b.is_ascii_alphanumeric() || matches!(b, b':' | b'/' | b'_' | b'-')
                    }) {
                        return Err(Error::validation(
                            "Name",
                            n,
                            "Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$",
                        ));
                    }
                }
                check_grant_tokens(req.grant_tokens.as_deref())?;
                let now = self.clock.now();
                let mut st = self.state.write();
                let grant_id = st.ids.grant_id();
                let dry_run = req.dry_run == Some(true);
                let grant = Grant {
                    id: grant_id,
                    name: req.name.clone(),
                    creation_date: now,
                    grantee_principal: Some(grantee.to_owned()),
                    retiring_principal: req.retiring_principal.clone(),
                    operations: operations.to_vec(),
                    constraints: req.constraints.clone(),
                };
                self.managed(&mut st, key_id, Management::NotDisabled, |key| {
                    if dry_run {
                        return Err(Error::new(ErrorKind::DryRunOperation, DRY_RUN));
                    }
                    let same = key.grants.values().find(|g| {
                        g.name.is_some()
                            && g.name == grant.name
                            && g.grantee_principal == grant.grantee_principal
                            && g.retiring_principal == grant.retiring_principal
                            && g.operations == grant.operations
                            && g.constraints == grant.constraints
                    });
                    let id = match same {
                        Some(g) => g.id.clone(),
                        None => {
                            let id = grant.id.clone();
                            key.grants.insert(id.clone(), grant);
                            id
                        }
                    };
                    Ok(CreateGrantResponse {
                        grant_token: token(&key.id, &id),
                        grant_id: id,
                    })
                })
            },
        )
    }

    /// ListGrants of one key, by grant id; `Limit` 1–100, default 50.
    pub fn list_grants(&self, req: &ListGrantsRequest) -> Result<ListGrantsResponse> {
        self.on_key(
            "ListGrants",
            json!({"keyId": req.key_id}),
            &req.key_id,
            |key_id| {
                if let Some(id) = &req.grant_id {
                    check_len("GrantId", id, 1, 128)?;
                }
                if let Some(p) = &req.grantee_principal {
                    check_principal("GranteePrincipal", p)?;
                }
                self.read_key(key_id, |_, key| {
                    let entries: Vec<(String, GrantListEntry)> = key
                        .grants
                        .values()
                        .filter(|g| req.grant_id.as_ref().is_none_or(|id| *id == g.id))
                        .filter(|g| {
                            req.grantee_principal
                                .as_ref()
                                .is_none_or(|p| g.grantee_principal.as_ref() == Some(p))
                        })
                        .filter(|_| req.grantee_service_principal.is_none())
                        .map(|g| (g.id.clone(), self.grant_entry(key, g)))
                        .collect();
                    let (grants, next) =
                        page_within(&entries, req.limit, req.marker.as_deref(), 50, 100)?;
                    Ok(ListGrantsResponse {
                        grants,
                        truncated: next.is_some(),
                        next_marker: next,
                    })
                })
            },
        )
    }

    /// ListRetirableGrants: the grants of every key whose retiring
    /// principal is the one given, by key id then grant id.
    pub fn list_retirable_grants(
        &self,
        req: &ListRetirableGrantsRequest,
    ) -> Result<ListGrantsResponse> {
        self.audited(
            "ListRetirableGrants",
            json!({"retiringPrincipal": req.retiring_principal}),
            || {
                let principal = required("RetiringPrincipal", &req.retiring_principal, 1, 256)?;
                check_principal("RetiringPrincipal", principal)?;
                let st = self.state.read();
                let entries: Vec<(String, GrantListEntry)> = st
                    .keys
                    .values()
                    .flat_map(|k| k.grants.values().map(move |g| (k, g)))
                    .filter(|(_, g)| g.retiring_principal.as_deref() == Some(principal))
                    .map(|(k, g)| (format!("{}/{}", k.id, g.id), self.grant_entry(k, g)))
                    .collect();
                let (grants, next) =
                    page_within(&entries, req.limit, req.marker.as_deref(), 50, 100)?;
                Ok(ListGrantsResponse {
                    grants,
                    truncated: next.is_some(),
                    next_marker: next,
                })
            },
            nothing_recorded,
        )
    }

    /// RetireGrant, by `GrantToken` or by `KeyId` and `GrantId`.
    pub fn retire_grant(&self, req: &RetireGrantRequest) -> Result<Empty> {
        self.audited(
            "RetireGrant",
            json!({"keyId": req.key_id, "grantId": req.grant_id}),
            || {
                let (key_id, grant_id) = match (&req.grant_token, &req.key_id, &req.grant_id) {
                    (Some(t), _, _) => {
                        check_len("GrantToken", t, 1, 8192)?;
                        parse_token(t).ok_or_else(invalid_token)?
                    }
                    (None, Some(k), Some(g)) => {
                        check_len("KeyId", k, 1, 2048)?;
                        check_grant_id(g)?;
                        (k.clone(), g.clone())
                    }
                    // docs/fidelity.md I40: neither way of naming the grant.
                    (None, _, _) => {
                        return Err(Error::new(
                            ErrorKind::Validation,
                            "Either GrantToken, or both KeyId and GrantId, must be specified.",
                        ))
                    }
                };
                self.remove_grant(&key_id, &grant_id, req.dry_run == Some(true))
            },
            nothing_recorded,
        )
    }

    /// RevokeGrant.
    pub fn revoke_grant(&self, req: &RevokeGrantRequest) -> Result<Empty> {
        self.on_key(
            "RevokeGrant",
            json!({"keyId": req.key_id, "grantId": req.grant_id}),
            &req.key_id,
            |key_id| {
                let grant_id = required("GrantId", &req.grant_id, 1, 128)?;
                check_grant_id(grant_id)?;
                self.remove_grant(key_id, grant_id, req.dry_run == Some(true))
            },
        )
    }

    /// Deletes a grant of a key in any state.
    fn remove_grant(&self, key_id: &str, grant_id: &str, dry_run: bool) -> Result<Empty> {
        self.manage_key(key_id, Management::AnyState, |key| {
            if !key.grants.contains_key(grant_id) {
                return Err(grant_not_found(grant_id));
            }
            if dry_run {
                return Err(Error::new(ErrorKind::DryRunOperation, DRY_RUN));
            }
            key.grants.remove(grant_id);
            Ok(Empty {})
        })
    }
}

//! Key policies: the default policy KMS writes, GetKeyPolicy,
//! PutKeyPolicy, ListKeyPolicies (docs/fidelity.md F17). A key has one
//! policy, named `default`. hsmdrill keeps it and gives it back; it never
//! evaluates it, as it evaluates no IAM policy (docs/fidelity.md I39).

use serde_json::{json, Value};

use super::shapes::{
    GetKeyPolicyRequest, GetKeyPolicyResponse, KeyListRequest, ListKeyPoliciesResponse,
    PutKeyPolicyRequest,
};
use crate::engine::error::{Error, ErrorKind, Result};
use crate::engine::kms::api::Empty;
use crate::engine::kms::{check_len, page};
use crate::engine::machines::key::Management;
use crate::engine::Engine;

/// The one policy name (docs/fidelity.md F17).
const DEFAULT: &str = "default";

/// Policies are at most 32 KB (docs/fidelity.md F17), although the model
/// allows 131072 characters.
const MAX_POLICY_BYTES: usize = 32 * 1024;

/// Checks a policy document as hsmdrill can without evaluating it: within
/// the size limit, and a JSON object (docs/fidelity.md I39).
pub(crate) fn checked_policy(policy: &str) -> Result<&str> {
    check_len("Policy", policy, 1, 131_072)?;
    let malformed = |why: &str| {
        Error::new(
            ErrorKind::MalformedPolicyDocument,
            format!("The policy is not syntactically correct: {why}"),
        )
    };
    if policy.len() > MAX_POLICY_BYTES {
        return Err(malformed(
            "a key policy document can be at most 32 kilobytes.",
        ));
    }
    match serde_json::from_str::<Value>(policy) {
        Ok(Value::Object(m)) if m.contains_key("Statement") => Ok(policy),
        Ok(Value::Object(_)) => Err(malformed("it has no Statement.")),
        Ok(_) => Err(malformed("it is not a JSON object.")),
        Err(_) => Err(malformed("it is not valid JSON.")),
    }
}

/// Checks a `PolicyName`: `default` is the only one (docs/fidelity.md F17).
fn check_policy_name(name: Option<&str>) -> Result<()> {
    let Some(name) = name else { return Ok(()) };
    check_len("PolicyName", name, 1, 128)?;
    if name != DEFAULT {
        // docs/fidelity.md I39: the exception for another name.
        return Err(Error::new(
            ErrorKind::NotFound,
            format!("No such policy exists: {name}. The only valid value is default."),
        ));
    }
    Ok(())
}

impl Engine {
    /// The key policy KMS gives a key created without one: it lets the
    /// account's IAM policies allow every KMS action on the key, written
    /// as GetKeyPolicy returns it (docs/fidelity.md F17).
    pub(crate) fn default_key_policy(&self) -> String {
        format!(
            "{{\n  \"Version\" : \"2012-10-17\",\n  \"Id\" : \"key-default-1\",\n  \"Statement\" : [ {{\n    \"Sid\" : \"Enable IAM User Permissions\",\n    \"Effect\" : \"Allow\",\n    \"Principal\" : {{\n      \"AWS\" : \"arn:aws:iam::{}:root\"\n    }},\n    \"Action\" : \"kms:*\",\n    \"Resource\" : \"*\"\n  }} ]\n}}",
            self.config.account
        )
    }

    /// GetKeyPolicy; `PolicyName` defaults to `default`. Works in every
    /// key state.
    pub fn get_key_policy(&self, req: &GetKeyPolicyRequest) -> Result<GetKeyPolicyResponse> {
        let name = req.policy_name.as_deref();
        let params = json!({"keyId": req.key_id, "policyName": name.unwrap_or(DEFAULT)});
        self.on_key("GetKeyPolicy", params, &req.key_id, |key_id| {
            check_policy_name(name)?;
            self.read_key(key_id, |_, key| {
                Ok(GetKeyPolicyResponse {
                    policy: key.policy.clone(),
                    policy_name: DEFAULT.into(),
                })
            })
        })
    }

    /// PutKeyPolicy: replaces the key's policy.
    pub fn put_key_policy(&self, req: &PutKeyPolicyRequest) -> Result<Empty> {
        let name = req.policy_name.as_deref();
        let params = json!({"keyId": req.key_id, "policyName": name.unwrap_or(DEFAULT), "policy": req.policy});
        self.on_key("PutKeyPolicy", params, &req.key_id, |key_id| {
            check_policy_name(name)?;
            let policy = req
                .policy
                .as_deref()
                .ok_or_else(|| Error::missing("Policy"))?;
            let policy = checked_policy(policy)?;
            self.manage_key(key_id, Management::AnyState, |key| {
                key.policy = policy.to_owned();
                Ok(Empty {})
            })
        })
    }

    /// ListKeyPolicies: `["default"]`.
    pub fn list_key_policies(&self, req: &KeyListRequest) -> Result<ListKeyPoliciesResponse> {
        self.on_key(
            "ListKeyPolicies",
            json!({"keyId": req.key_id}),
            &req.key_id,
            |key_id| {
                self.read_key(key_id, |_, _| Ok(()))?;
                let names = [(DEFAULT.to_owned(), DEFAULT.to_owned())];
                let (policy_names, next) = page(&names, req.limit, req.marker.as_deref(), 100)?;
                Ok(ListKeyPoliciesResponse {
                    policy_names,
                    truncated: next.is_some(),
                    next_marker: next,
                })
            },
        )
    }
}

//! The requests and responses of the key-management operations, in the
//! member names of `reference/aws-models/kms-service-2.json`.

use crate::engine::kms::api::Tag;
use crate::engine::shapes::shapes;

shapes! {
    /// `TagResourceRequest`.
    TagResourceRequest {
        /// Required.
        key_id?: String,
        /// Required.
        tags?: Vec<Tag>,
    }
    /// `UntagResourceRequest`.
    UntagResourceRequest {
        /// Required.
        key_id?: String,
        /// Required.
        tag_keys?: Vec<String>,
    }
    /// `ListResourceTagsRequest`, `ListKeyPoliciesRequest`.
    KeyListRequest {
        /// Required.
        key_id?: String,
        /// 1–50 (tags) or 1–1000 (policies).
        limit?: i64,
        /// From a previous `NextMarker`.
        marker?: String,
    }
    /// `ListResourceTagsResponse`.
    ListResourceTagsResponse {
        /// The tags, by tag key.
        tags: Vec<Tag>,
        /// Next page.
        next_marker?: String,
        /// More pages?
        truncated: bool,
    }
    /// `GetKeyPolicyRequest`.
    GetKeyPolicyRequest {
        /// Required.
        key_id?: String,
        /// `default` (the default).
        policy_name?: String,
    }
    /// `GetKeyPolicyResponse`.
    GetKeyPolicyResponse {
        /// The policy document.
        policy: String,
        /// `default`.
        policy_name: String,
    }
    /// `PutKeyPolicyRequest`.
    PutKeyPolicyRequest {
        /// Required.
        key_id?: String,
        /// `default` (the default).
        policy_name?: String,
        /// Required.
        policy?: String,
        /// Accepted; hsmdrill runs no lockout check.
        bypass_policy_lockout_safety_check?: bool,
    }
    /// `ListKeyPoliciesResponse`.
    ListKeyPoliciesResponse {
        /// `["default"]`.
        policy_names: Vec<String>,
        /// Next page.
        next_marker?: String,
        /// More pages?
        truncated: bool,
    }
    /// `EnableKeyRotationRequest`.
    EnableKeyRotationRequest {
        /// Required.
        key_id?: String,
        /// 90–2560, default 365.
        rotation_period_in_days?: i64,
    }
    /// `GetKeyRotationStatusResponse`.
    GetKeyRotationStatusResponse {
        /// Whether automatic rotation is on.
        key_rotation_enabled: bool,
        /// Key ARN.
        key_id: String,
        /// When enabled.
        rotation_period_in_days?: u32,
        /// When enabled: epoch seconds.
        next_rotation_date?: f64,
        /// While an on-demand rotation runs (never: it completes at once).
        on_demand_rotation_start_date?: f64,
    }
    /// `ListKeyRotationsRequest`.
    ListKeyRotationsRequest {
        /// Required.
        key_id?: String,
        /// `ALL_KEY_MATERIAL` or `ROTATIONS_ONLY` (default).
        include_key_material?: String,
        /// 1–1000, default 100.
        limit?: i64,
        /// From a previous `NextMarker`.
        marker?: String,
    }
    /// `ListKeyRotationsResponse`.
    ListKeyRotationsResponse {
        /// The rotations, oldest first.
        rotations: Vec<RotationsListEntry>,
        /// Next page.
        next_marker?: String,
        /// More pages?
        truncated: bool,
    }
    /// `RotationsListEntry`.
    RotationsListEntry {
        /// Key ARN.
        key_id: String,
        /// The material made by the rotation.
        key_material_id: String,
        /// Epoch seconds.
        rotation_date?: f64,
        /// `AUTOMATIC` or `ON_DEMAND`.
        rotation_type?: String,
    }
    /// `CreateGrantRequest`.
    CreateGrantRequest {
        /// Required.
        key_id?: String,
        /// Who may use the grant.
        grantee_principal?: String,
        /// Who may retire it.
        retiring_principal?: String,
        /// Required, at least one.
        operations?: Vec<String>,
        /// Kept, not evaluated.
        constraints?: serde_json::Value,
        /// Checked for form.
        grant_tokens?: Vec<String>,
        /// A name; a second grant of the same name and shape is the same grant.
        name?: String,
        /// Check only.
        dry_run?: bool,
        /// A service grantee (refused: docs/fidelity.md I40).
        grantee_service_principal?: String,
        /// A service retiree (refused: docs/fidelity.md I40).
        retiring_service_principal?: String,
    }
    /// `CreateGrantResponse`.
    CreateGrantResponse {
        /// The token.
        grant_token: String,
        /// The id.
        grant_id: String,
    }
    /// `ListGrantsRequest`.
    ListGrantsRequest {
        /// 1–100, default 50.
        limit?: i64,
        /// From a previous `NextMarker`.
        marker?: String,
        /// Required.
        key_id?: String,
        /// Only this grant.
        grant_id?: String,
        /// Only this grantee.
        grantee_principal?: String,
        /// Only this service grantee.
        grantee_service_principal?: String,
    }
    /// `ListRetirableGrantsRequest`.
    ListRetirableGrantsRequest {
        /// 1–100, default 50.
        limit?: i64,
        /// From a previous `NextMarker`.
        marker?: String,
        /// Required (or the service one).
        retiring_principal?: String,
        /// A service retiree.
        retiring_service_principal?: String,
    }
    /// `ListGrantsResponse`.
    ListGrantsResponse {
        /// The grants.
        grants: Vec<GrantListEntry>,
        /// Next page.
        next_marker?: String,
        /// More pages?
        truncated: bool,
    }
    /// `GrantListEntry`.
    GrantListEntry {
        /// Key id.
        key_id: String,
        /// Grant id.
        grant_id: String,
        /// Name, if given.
        name?: String,
        /// Epoch seconds.
        creation_date: f64,
        /// Grantee.
        grantee_principal?: String,
        /// Retiree.
        retiring_principal?: String,
        /// The account.
        issuing_account: String,
        /// Operations.
        operations: Vec<String>,
        /// As given.
        constraints?: serde_json::Value,
    }
    /// `RetireGrantRequest`.
    RetireGrantRequest {
        /// The token, or KeyId with GrantId.
        grant_token?: String,
        /// The key.
        key_id?: String,
        /// The grant.
        grant_id?: String,
        /// Check only.
        dry_run?: bool,
    }
    /// `RevokeGrantRequest`.
    RevokeGrantRequest {
        /// Required.
        key_id?: String,
        /// Required.
        grant_id?: String,
        /// Check only.
        dry_run?: bool,
    }
    /// `UpdateKeyDescriptionRequest`.
    UpdateKeyDescriptionRequest {
        /// Required.
        key_id?: String,
        /// Required, 0–8192 characters.
        description?: String,
    }
}

//! The one entry point every front end uses: an AWS operation name and its
//! JSON input in, JSON output or an AWS error out.
//!
//! [`Operation`] is the typed list of what the engine implements, matched
//! once from the wire name (an unknown name is a value, not a panic);
//! [`Engine::call`] reads the input into the operation's request struct,
//! runs it, and writes the response with AWS member names.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::error::{Error, ErrorKind, Result};
use super::Engine;

/// The service an operation belongs to (its `X-Amz-Target` prefix).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Api {
    /// KMS: `TrentService`.
    Kms,
    /// CloudHSM v2: `BaldrApiService`.
    CloudHsmV2,
}

macro_rules! operations {
    ($( $api:ident : $($op:ident => $method:ident),* ; )*) => {
        /// Every operation the engine implements, by AWS name.
        #[derive(Clone, Copy, Debug, Eq, PartialEq)]
        pub enum Operation {
            $( $( #[doc = concat!("`", stringify!($op), "`.")] $op, )* )*
        }

        impl Operation {
            /// Every operation.
            pub const ALL: &'static [Operation] = &[$( $(Operation::$op,)* )*];

            /// The AWS operation name.
            pub fn name(self) -> &'static str {
                match self { $( $(Operation::$op => stringify!($op),)* )* }
            }

            /// The service it belongs to.
            pub fn api(self) -> Api {
                match self { $( $(Operation::$op => Api::$api,)* )* }
            }

            /// The operation with this AWS name.
            pub fn from_name(name: &str) -> Option<Operation> {
                match name { $( $(stringify!($op) => Some(Operation::$op),)* )* _ => None }
            }
        }

        impl Engine {
            /// Runs a typed operation: reads its request from `i`, calls the
            /// engine's method of that operation, writes its response.
            pub fn run(&self, op: Operation, i: Value) -> Result<Value> {
                match op { $( $(Operation::$op => output(self.$method(&input(i)?)),)* )* }
            }
        }
    };
}

// Each operation with the engine method that runs it.
operations! {
    Kms:
        CreateCustomKeyStore => create_custom_key_store,
        ConnectCustomKeyStore => connect_custom_key_store,
        DisconnectCustomKeyStore => disconnect_custom_key_store,
        UpdateCustomKeyStore => update_custom_key_store,
        DeleteCustomKeyStore => delete_custom_key_store,
        DescribeCustomKeyStores => describe_custom_key_stores,
        CreateKey => create_key,
        DescribeKey => describe_key,
        ListKeys => list_keys,
        CreateAlias => create_alias,
        DeleteAlias => delete_alias,
        ListAliases => list_aliases,
        EnableKey => enable_key,
        DisableKey => disable_key,
        ScheduleKeyDeletion => schedule_key_deletion,
        CancelKeyDeletion => cancel_key_deletion,
        Encrypt => encrypt,
        Decrypt => decrypt,
        ReEncrypt => re_encrypt,
        GenerateDataKey => generate_data_key,
        GenerateDataKeyWithoutPlaintext => generate_data_key_without_plaintext,
        GenerateRandom => generate_random,
        UpdateAlias => update_alias,
        UpdateKeyDescription => update_key_description,
        TagResource => tag_resource,
        UntagResource => untag_resource,
        ListResourceTags => list_resource_tags,
        GetKeyPolicy => get_key_policy,
        PutKeyPolicy => put_key_policy,
        ListKeyPolicies => list_key_policies,
        EnableKeyRotation => enable_key_rotation,
        DisableKeyRotation => disable_key_rotation,
        GetKeyRotationStatus => get_key_rotation_status,
        RotateKeyOnDemand => rotate_key_on_demand,
        ListKeyRotations => list_key_rotations,
        CreateGrant => create_grant,
        ListGrants => list_grants,
        ListRetirableGrants => list_retirable_grants,
        RetireGrant => retire_grant,
        RevokeGrant => revoke_grant;
    CloudHsmV2:
        CreateCluster => create_cluster,
        InitializeCluster => initialize_cluster,
        DescribeClusters => describe_clusters,
        DeleteCluster => delete_cluster,
        CreateHsm => create_hsm,
        DeleteHsm => delete_hsm,
        DescribeBackups => describe_backups,
        DeleteBackup => delete_backup,
        RestoreBackup => restore_backup;
}

/// The operations of the service models that hsmdrill answers with the
/// error each service documents for a request it does not support
/// (docs/fidelity.md I42, and the operations table there): KMS
/// `UnsupportedOperationException`, CloudHSM v2
/// `CloudHsmInvalidRequestException`. Every other model operation is an
/// [`Operation`].
pub const NOT_SUPPORTED: &[(Api, &str)] = &[
    (Api::Kms, "Decapsulate"),
    (Api::Kms, "DeleteImportedKeyMaterial"),
    (Api::Kms, "DeriveSharedSecret"),
    (Api::Kms, "Encapsulate"),
    (Api::Kms, "GenerateDataKeyPair"),
    (Api::Kms, "GenerateDataKeyPairWithoutPlaintext"),
    (Api::Kms, "GenerateMac"),
    (Api::Kms, "GetKeyLastUsage"),
    (Api::Kms, "GetParametersForImport"),
    (Api::Kms, "GetPublicKey"),
    (Api::Kms, "ImportKeyMaterial"),
    (Api::Kms, "ReplicateKey"),
    (Api::Kms, "Sign"),
    (Api::Kms, "UpdatePrimaryRegion"),
    (Api::Kms, "Verify"),
    (Api::Kms, "VerifyMac"),
    (Api::CloudHsmV2, "DeleteResourcePolicy"),
    (Api::CloudHsmV2, "GetResourcePolicy"),
    (Api::CloudHsmV2, "ListTags"),
    (Api::CloudHsmV2, "ModifyBackupAttributes"),
    (Api::CloudHsmV2, "ModifyCluster"),
    (Api::CloudHsmV2, "PutResourcePolicy"),
    (Api::CloudHsmV2, "TagResource"),
    (Api::CloudHsmV2, "UntagResource"),
];

impl Operation {
    /// The input members of the operation in the AWS model, for front ends
    /// that check a scenario before running it (a test compares this list
    /// with `reference/aws-models/*.json`).
    pub fn input_members(self) -> &'static [&'static str] {
        match self {
            Operation::CreateCustomKeyStore => &[
                "CustomKeyStoreName",
                "CloudHsmClusterId",
                "TrustAnchorCertificate",
                "KeyStorePassword",
                "CustomKeyStoreType",
                "XksProxyUriEndpoint",
                "XksProxyUriPath",
                "XksProxyVpcEndpointServiceName",
                "XksProxyVpcEndpointServiceOwner",
                "XksProxyAuthenticationCredential",
                "XksProxyConnectivity",
            ],
            Operation::UpdateCustomKeyStore => &[
                "CustomKeyStoreId",
                "NewCustomKeyStoreName",
                "KeyStorePassword",
                "CloudHsmClusterId",
                "XksProxyUriEndpoint",
                "XksProxyUriPath",
                "XksProxyVpcEndpointServiceName",
                "XksProxyVpcEndpointServiceOwner",
                "XksProxyAuthenticationCredential",
                "XksProxyConnectivity",
            ],
            Operation::ConnectCustomKeyStore
            | Operation::DisconnectCustomKeyStore
            | Operation::DeleteCustomKeyStore => &["CustomKeyStoreId"],
            Operation::DescribeCustomKeyStores => {
                &["CustomKeyStoreId", "CustomKeyStoreName", "Limit", "Marker"]
            }
            Operation::CreateKey => &[
                "Policy",
                "Description",
                "KeyUsage",
                "CustomerMasterKeySpec",
                "KeySpec",
                "Origin",
                "CustomKeyStoreId",
                "BypassPolicyLockoutSafetyCheck",
                "Tags",
                "MultiRegion",
                "XksKeyId",
            ],
            Operation::DescribeKey => &["KeyId", "GrantTokens"],
            Operation::ListKeys => &["Limit", "Marker", "ResourceOwners"],
            Operation::CreateAlias | Operation::UpdateAlias => &["AliasName", "TargetKeyId"],
            Operation::UpdateKeyDescription => &["KeyId", "Description"],
            Operation::TagResource => &["KeyId", "Tags"],
            Operation::UntagResource => &["KeyId", "TagKeys"],
            Operation::ListResourceTags | Operation::ListKeyPolicies => {
                &["KeyId", "Limit", "Marker"]
            }
            Operation::GetKeyPolicy => &["KeyId", "PolicyName"],
            Operation::PutKeyPolicy => &[
                "KeyId",
                "PolicyName",
                "Policy",
                "BypassPolicyLockoutSafetyCheck",
            ],
            Operation::EnableKeyRotation => &["KeyId", "RotationPeriodInDays"],
            Operation::DisableKeyRotation
            | Operation::GetKeyRotationStatus
            | Operation::RotateKeyOnDemand => &["KeyId"],
            Operation::ListKeyRotations => &["KeyId", "IncludeKeyMaterial", "Limit", "Marker"],
            Operation::CreateGrant => &[
                "KeyId",
                "GranteePrincipal",
                "RetiringPrincipal",
                "Operations",
                "Constraints",
                "GrantTokens",
                "Name",
                "DryRun",
                "GranteeServicePrincipal",
                "RetiringServicePrincipal",
            ],
            Operation::ListGrants => &[
                "Limit",
                "Marker",
                "KeyId",
                "GrantId",
                "GranteePrincipal",
                "GranteeServicePrincipal",
            ],
            Operation::ListRetirableGrants => &[
                "Limit",
                "Marker",
                "RetiringPrincipal",
                "RetiringServicePrincipal",
            ],
            Operation::RetireGrant => &["GrantToken", "KeyId", "GrantId", "DryRun"],
            Operation::RevokeGrant => &["KeyId", "GrantId", "DryRun"],
            Operation::DeleteAlias => &["AliasName"],
            Operation::ListAliases => &["KeyId", "Limit", "Marker"],
            Operation::ScheduleKeyDeletion => &["KeyId", "PendingWindowInDays"],
            Operation::EnableKey | Operation::DisableKey | Operation::CancelKeyDeletion => {
                &["KeyId"]
            }
            Operation::Encrypt => &[
                "KeyId",
                "Plaintext",
                "EncryptionContext",
                "GrantTokens",
                "EncryptionAlgorithm",
                "DryRun",
            ],
            Operation::Decrypt => &[
                "CiphertextBlob",
                "EncryptionContext",
                "GrantTokens",
                "KeyId",
                "EncryptionAlgorithm",
                "Recipient",
                "DryRun",
                "DryRunModifiers",
            ],
            Operation::ReEncrypt => &[
                "CiphertextBlob",
                "SourceEncryptionContext",
                "SourceKeyId",
                "DestinationKeyId",
                "DestinationEncryptionContext",
                "SourceEncryptionAlgorithm",
                "DestinationEncryptionAlgorithm",
                "GrantTokens",
                "DryRun",
                "DryRunModifiers",
            ],
            Operation::GenerateDataKey => &[
                "KeyId",
                "EncryptionContext",
                "NumberOfBytes",
                "KeySpec",
                "GrantTokens",
                "Recipient",
                "DryRun",
            ],
            Operation::GenerateDataKeyWithoutPlaintext => &[
                "KeyId",
                "EncryptionContext",
                "KeySpec",
                "NumberOfBytes",
                "GrantTokens",
                "DryRun",
            ],
            Operation::GenerateRandom => &["NumberOfBytes", "CustomKeyStoreId", "Recipient"],
            Operation::CreateCluster => &[
                "BackupRetentionPolicy",
                "HsmType",
                "SourceBackupId",
                "SubnetIds",
                "NetworkType",
                "TagList",
                "Mode",
            ],
            Operation::InitializeCluster => &["ClusterId", "SignedCert", "TrustAnchor"],
            Operation::DescribeClusters => &["Filters", "NextToken", "MaxResults"],
            Operation::DeleteCluster => &["ClusterId"],
            Operation::CreateHsm => &["ClusterId", "AvailabilityZone", "IpAddress"],
            Operation::DeleteHsm => &["ClusterId", "HsmId", "EniId", "EniIp"],
            Operation::DescribeBackups => &[
                "NextToken",
                "MaxResults",
                "Filters",
                "Shared",
                "SortAscending",
            ],
            Operation::DeleteBackup | Operation::RestoreBackup => &["BackupId"],
        }
    }
}

/// Reads an operation's input; `null` counts as `{}`, as for operations
/// without input members.
fn input<T: DeserializeOwned>(v: Value) -> Result<T> {
    let v = if v.is_null() {
        Value::Object(Default::default())
    } else {
        v
    };
    if !v.is_object() {
        return Err(Error::new(
            ErrorKind::Serialization,
            "The request body must be a JSON object.",
        ));
    }
    serde_json::from_value(v).map_err(|e| {
        let msg = e.to_string();
        match msg
            .strip_prefix("missing field `")
            .and_then(|r| r.split('`').next())
        {
            Some(field) => Error::missing(field),
            None => Error::new(ErrorKind::Serialization, without_rejected_value(&msg)),
        }
    })
}

/// serde names the scalar it rejected (``invalid type: integer `12345678`,
/// expected a string``), and the member may be a `KeyStorePassword` written
/// without quotes (an all-digit password is a valid one): leave the value
/// out, as AWS leaves out the values of sensitive members. Found by
/// `tests/integration/secrets.rs`.
fn without_rejected_value(msg: &str) -> String {
    let redacted = msg.strip_prefix("invalid type: ").and_then(|_| {
        let (head, rest) = msg.split_once(" `")?;
        let (_, tail) = rest.split_once('`')?;
        Some(format!("{head}{tail}"))
    });
    redacted.unwrap_or_else(|| msg.to_owned())
}

fn output<T: Serialize>(r: Result<T>) -> Result<Value> {
    let v = r?;
    serde_json::to_value(v).map_err(|e| Error::new(ErrorKind::KmsInternal, e.to_string()))
}

impl Engine {
    /// Runs an operation of either service by its AWS name. A model
    /// operation hsmdrill does not support gets its service's "not
    /// supported" error (KMS first, for the names both services use).
    pub fn call(&self, operation: &str, input: Value) -> Result<Value> {
        match Operation::from_name(operation) {
            Some(op) => self.run(op, input),
            None => Err([Api::Kms, Api::CloudHsmV2]
                .into_iter()
                .find_map(|api| not_supported(api, operation))
                .unwrap_or_else(|| unknown(operation))),
        }
    }

    /// Runs an operation that must belong to `api` (the server's target
    /// prefix decides it).
    pub fn call_api(&self, api: Api, operation: &str, input: Value) -> Result<Value> {
        match Operation::from_name(operation) {
            Some(op) if op.api() == api => self.run(op, input),
            Some(_) | None => {
                Err(not_supported(api, operation).unwrap_or_else(|| unknown(operation)))
            }
        }
    }
}

/// The error for a model operation of `api` that hsmdrill does not
/// support (docs/fidelity.md I42), or `None` if it is not one.
pub fn not_supported(api: Api, operation: &str) -> Option<Error> {
    NOT_SUPPORTED
        .iter()
        .find(|(a, name)| *a == api && *name == operation)
        .map(|(api, name)| match api {
            Api::Kms => Error::new(
                ErrorKind::UnsupportedOperation,
                format!("{name} is not supported by hsmdrill."),
            ),
            Api::CloudHsmV2 => Error::new(
                ErrorKind::CloudHsmInvalidRequest,
                format!("{name} is not supported by hsmdrill."),
            ),
        })
}

fn unknown(operation: &str) -> Error {
    Error::new(
        ErrorKind::UnknownOperation,
        format!("Operation {operation} is not supported by hsmdrill."),
    )
}

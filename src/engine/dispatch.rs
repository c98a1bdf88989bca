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
    ($( $api:ident : $($op:ident),* ; )*) => {
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
    };
}

operations! {
    Kms: CreateCustomKeyStore, ConnectCustomKeyStore, DisconnectCustomKeyStore,
        UpdateCustomKeyStore, DeleteCustomKeyStore, DescribeCustomKeyStores,
        CreateKey, DescribeKey, ListKeys, CreateAlias, DeleteAlias, ListAliases,
        EnableKey, DisableKey, ScheduleKeyDeletion, CancelKeyDeletion,
        Encrypt, Decrypt, ReEncrypt, GenerateDataKey, GenerateDataKeyWithoutPlaintext,
        GenerateRandom;
    CloudHsmV2: CreateCluster, InitializeCluster, DescribeClusters, DeleteCluster,
        CreateHsm, DeleteHsm, DescribeBackups, DeleteBackup, RestoreBackup;
}

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
            Operation::ConnectCustomKeyStore => &["CustomKeyStoreId"],
            Operation::DisconnectCustomKeyStore => &["CustomKeyStoreId"],
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
            Operation::DeleteCustomKeyStore => &["CustomKeyStoreId"],
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
            Operation::CreateAlias => &["AliasName", "TargetKeyId"],
            Operation::DeleteAlias => &["AliasName"],
            Operation::ListAliases => &["KeyId", "Limit", "Marker"],
            Operation::EnableKey => &["KeyId"],
            Operation::DisableKey => &["KeyId"],
            Operation::ScheduleKeyDeletion => &["KeyId", "PendingWindowInDays"],
            Operation::CancelKeyDeletion => &["KeyId"],
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
            Operation::DeleteBackup => &["BackupId"],
            Operation::RestoreBackup => &["BackupId"],
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
    /// Runs an operation of either service by its AWS name.
    pub fn call(&self, operation: &str, input: Value) -> Result<Value> {
        match Operation::from_name(operation) {
            Some(op) => self.run(op, input),
            None => Err(unknown(operation)),
        }
    }

    /// Runs an operation that must belong to `api` (the server's target
    /// prefix decides it).
    pub fn call_api(&self, api: Api, operation: &str, input: Value) -> Result<Value> {
        match Operation::from_name(operation) {
            Some(op) if op.api() == api => self.run(op, input),
            Some(_) | None => Err(unknown(operation)),
        }
    }

    /// Runs a typed operation.
    pub fn run(&self, op: Operation, i: Value) -> Result<Value> {
        match op {
            Operation::CreateCustomKeyStore => output(self.create_custom_key_store(&input(i)?)),
            Operation::ConnectCustomKeyStore => output(self.connect_custom_key_store(&input(i)?)),
            Operation::DisconnectCustomKeyStore => {
                output(self.disconnect_custom_key_store(&input(i)?))
            }
            Operation::UpdateCustomKeyStore => output(self.update_custom_key_store(&input(i)?)),
            Operation::DeleteCustomKeyStore => output(self.delete_custom_key_store(&input(i)?)),
            Operation::DescribeCustomKeyStores => {
                output(self.describe_custom_key_stores(&input(i)?))
            }
            Operation::CreateKey => output(self.create_key(&input(i)?)),
            Operation::DescribeKey => output(self.describe_key(&input(i)?)),
            Operation::ListKeys => output(self.list_keys(&input(i)?)),
            Operation::CreateAlias => output(self.create_alias(&input(i)?)),
            Operation::DeleteAlias => output(self.delete_alias(&input(i)?)),
            Operation::ListAliases => output(self.list_aliases(&input(i)?)),
            Operation::EnableKey => output(self.enable_key(&input(i)?)),
            Operation::DisableKey => output(self.disable_key(&input(i)?)),
            Operation::ScheduleKeyDeletion => output(self.schedule_key_deletion(&input(i)?)),
            Operation::CancelKeyDeletion => output(self.cancel_key_deletion(&input(i)?)),
            Operation::Encrypt => output(self.encrypt(&input(i)?)),
            Operation::Decrypt => output(self.decrypt(&input(i)?)),
            Operation::ReEncrypt => output(self.re_encrypt(&input(i)?)),
            Operation::GenerateDataKey => output(self.generate_data_key(&input(i)?)),
            Operation::GenerateDataKeyWithoutPlaintext => {
                output(self.generate_data_key_without_plaintext(&input(i)?))
            }
            Operation::GenerateRandom => output(self.generate_random(&input(i)?)),
            Operation::CreateCluster => output(self.create_cluster(&input(i)?)),
            Operation::InitializeCluster => output(self.initialize_cluster(&input(i)?)),
            Operation::DescribeClusters => output(self.describe_clusters(&input(i)?)),
            Operation::DeleteCluster => output(self.delete_cluster(&input(i)?)),
            Operation::CreateHsm => output(self.create_hsm(&input(i)?)),
            Operation::DeleteHsm => output(self.delete_hsm(&input(i)?)),
            Operation::DescribeBackups => output(self.describe_backups(&input(i)?)),
            Operation::DeleteBackup => output(self.delete_backup(&input(i)?)),
            Operation::RestoreBackup => output(self.restore_backup(&input(i)?)),
        }
    }
}

fn unknown(operation: &str) -> Error {
    Error::new(
        ErrorKind::UnknownOperation,
        format!("Operation {operation} is not supported by hsmdrill."),
    )
}

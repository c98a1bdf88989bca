//! CloudHSM v2 requests and responses with the member names of
//! `reference/aws-models/cloudhsmv2-service-2.json`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::cluster::Certificates;

/// `Tag`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    /// Key.
    pub key: String,
    /// Value.
    pub value: String,
}

/// `BackupRetentionPolicy`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BackupRetentionPolicy {
    /// `DAYS`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    /// 7–379.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// `CreateClusterRequest`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateClusterRequest {
    /// Retention.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup_retention_policy: Option<BackupRetentionPolicy>,
    /// Required: `hsm1.medium` / `hsm2m.medium`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hsm_type: Option<String>,
    /// Restore from this backup.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_backup_id: Option<String>,
    /// Required: one subnet per Availability Zone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnet_ids: Option<Vec<String>>,
    /// `IPV4` / `DUALSTACK`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_type: Option<String>,
    /// Tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag_list: Option<Vec<Tag>>,
    /// `FIPS` / `NON_FIPS`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
}

/// Output holding one cluster (CreateCluster, DeleteCluster).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ClusterResponse {
    /// The cluster.
    pub cluster: ClusterShape,
}

/// `Cluster`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ClusterShape {
    /// `DEFAULT`.
    pub backup_policy: String,
    /// Retention.
    pub backup_retention_policy: BackupRetentionPolicy,
    /// Id.
    pub cluster_id: String,
    /// Epoch seconds.
    pub create_timestamp: f64,
    /// HSMs.
    pub hsms: Vec<HsmShape>,
    /// HSM type.
    pub hsm_type: String,
    /// Source backup.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_backup_id: Option<String>,
    /// Security group.
    pub security_group: String,
    /// State.
    pub state: String,
    /// A human description of the state.
    pub state_message: String,
    /// AZ → subnet.
    pub subnet_mapping: BTreeMap<String, String>,
    /// VPC.
    pub vpc_id: String,
    /// `IPV4`.
    pub network_type: String,
    /// Certificates.
    #[serde(skip_deserializing)]
    pub certificates: Certificates,
    /// `FIPS` / `NON_FIPS`.
    pub mode: String,
}

/// `Hsm`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct HsmShape {
    /// AZ.
    pub availability_zone: String,
    /// Cluster.
    pub cluster_id: String,
    /// Subnet.
    pub subnet_id: String,
    /// ENI.
    pub eni_id: String,
    /// ENI address.
    pub eni_ip: String,
    /// Id.
    pub hsm_id: String,
    /// Type.
    pub hsm_type: String,
    /// State.
    pub state: String,
    /// A human description of the state.
    pub state_message: String,
}

/// `InitializeClusterRequest`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InitializeClusterRequest {
    /// Required.
    pub cluster_id: Option<String>,
    /// Required: the signed CSR.
    pub signed_cert: Option<String>,
    /// Required: `customerCA.crt`.
    pub trust_anchor: Option<String>,
}

/// `InitializeClusterResponse`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InitializeClusterResponse {
    /// State.
    pub state: String,
    /// Message.
    pub state_message: String,
}

/// `DescribeClustersRequest` / `DescribeBackupsRequest`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeRequest {
    /// Filter name → values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filters: Option<BTreeMap<String, Vec<String>>>,
    /// From a previous response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    /// Page size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_results: Option<i64>,
    /// DescribeBackups: oldest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort_ascending: Option<bool>,
    /// DescribeBackups: shared backups (none here).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shared: Option<bool>,
}

/// `DescribeClustersResponse`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeClustersResponse {
    /// Clusters.
    pub clusters: Vec<ClusterShape>,
    /// More.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// `ClusterId` only (DeleteCluster).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ClusterIdRequest {
    /// Required.
    pub cluster_id: Option<String>,
}

/// `CreateHsmRequest`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateHsmRequest {
    /// Required.
    pub cluster_id: Option<String>,
    /// Required.
    pub availability_zone: Option<String>,
    /// Optional address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
}

/// `CreateHsmResponse`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateHsmResponse {
    /// The HSM.
    pub hsm: HsmShape,
}

/// `DeleteHsmRequest`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteHsmRequest {
    /// Required.
    pub cluster_id: Option<String>,
    /// One of these three.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hsm_id: Option<String>,
    /// One of these three.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eni_id: Option<String>,
    /// One of these three.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eni_ip: Option<String>,
}

/// `DeleteHsmResponse`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteHsmResponse {
    /// Id.
    pub hsm_id: String,
}

/// `BackupId` only (DeleteBackup, RestoreBackup).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BackupIdRequest {
    /// Required.
    pub backup_id: Option<String>,
}

/// Output holding one backup.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BackupResponse {
    /// The backup.
    pub backup: BackupShape,
}

/// `Backup`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BackupShape {
    /// Id.
    pub backup_id: String,
    /// ARN.
    pub backup_arn: String,
    /// State.
    pub backup_state: String,
    /// Source cluster.
    pub cluster_id: String,
    /// Epoch seconds.
    pub create_timestamp: f64,
    /// Kept forever.
    pub never_expires: bool,
    /// The backup the source cluster came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_backup: Option<String>,
    /// When deletion was requested.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete_timestamp: Option<f64>,
    /// HSM type.
    pub hsm_type: String,
    /// Mode.
    pub mode: String,
}

/// `DescribeBackupsResponse`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeBackupsResponse {
    /// Backups.
    pub backups: Vec<BackupShape>,
    /// More.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

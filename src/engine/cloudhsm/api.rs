//! CloudHSM v2 requests and responses with the member names of
//! `reference/aws-models/cloudhsmv2-service-2.json`.

use std::collections::BTreeMap;

use super::cluster::Certificates;
use crate::engine::shapes::shapes;

shapes! {
    /// `Tag`.
    Tag {
        /// Key.
        key: String,
        /// Value.
        value: String,
    }

    /// `BackupRetentionPolicy`.
    BackupRetentionPolicy {
        /// `DAYS`.
        r#type?: String,
        /// 7–379.
        value?: String,
    }

    /// `CreateClusterRequest`.
    CreateClusterRequest {
        /// Retention.
        backup_retention_policy?: BackupRetentionPolicy,
        /// Required: `hsm1.medium` / `hsm2m.medium`.
        hsm_type?: String,
        /// Restore from this backup.
        source_backup_id?: String,
        /// Required: one subnet per Availability Zone.
        subnet_ids?: Vec<String>,
        /// `IPV4` / `DUALSTACK`.
        network_type?: String,
        /// Tags.
        tag_list?: Vec<Tag>,
        /// `FIPS` / `NON_FIPS`.
        mode?: String,
    }

    /// Output holding one cluster (CreateCluster, DeleteCluster).
    ClusterResponse {
        /// The cluster.
        cluster: ClusterShape,
    }

    /// `Cluster`.
    ClusterShape {
        /// `DEFAULT`.
        backup_policy: String,
        /// Retention.
        backup_retention_policy: BackupRetentionPolicy,
        /// Id.
        cluster_id: String,
        /// Epoch seconds.
        create_timestamp: f64,
        /// HSMs.
        hsms: Vec<HsmShape>,
        /// HSM type.
        hsm_type: String,
        /// Source backup.
        source_backup_id?: String,
        /// Security group.
        security_group: String,
        /// State.
        state: String,
        /// A human description of the state.
        state_message: String,
        /// AZ → subnet.
        subnet_mapping: BTreeMap<String, String>,
        /// VPC.
        vpc_id: String,
        /// `IPV4`.
        network_type: String,
        /// Certificates.
        #[serde(skip_deserializing)]
        certificates: Certificates,
        /// `FIPS` / `NON_FIPS`.
        mode: String,
    }

    /// `Hsm`.
    HsmShape {
        /// AZ.
        availability_zone: String,
        /// Cluster.
        cluster_id: String,
        /// Subnet.
        subnet_id: String,
        /// ENI.
        eni_id: String,
        /// ENI address.
        eni_ip: String,
        /// Id.
        hsm_id: String,
        /// Type.
        hsm_type: String,
        /// State.
        state: String,
        /// A human description of the state.
        state_message: String,
    }

    /// `InitializeClusterRequest`.
    InitializeClusterRequest {
        /// Required.
        cluster_id?: String,
        /// Required: the signed CSR.
        signed_cert?: String,
        /// Required: `customerCA.crt`.
        trust_anchor?: String,
    }

    /// `InitializeClusterResponse`.
    InitializeClusterResponse {
        /// State.
        state: String,
        /// Message.
        state_message: String,
    }

    /// `DescribeClustersRequest` / `DescribeBackupsRequest`.
    DescribeRequest {
        /// Filter name → values.
        filters?: BTreeMap<String, Vec<String>>,
        /// From a previous response.
        next_token?: String,
        /// Page size.
        max_results?: i64,
        /// DescribeBackups: oldest first.
        sort_ascending?: bool,
        /// DescribeBackups: shared backups (none here).
        shared?: bool,
    }

    /// `DescribeClustersResponse`.
    DescribeClustersResponse {
        /// Clusters.
        clusters: Vec<ClusterShape>,
        /// More.
        next_token?: String,
    }

    /// `ClusterId` only (DeleteCluster).
    ClusterIdRequest {
        /// Required.
        cluster_id?: String,
    }

    /// `CreateHsmRequest`.
    CreateHsmRequest {
        /// Required.
        cluster_id?: String,
        /// Required.
        availability_zone?: String,
        /// Optional address.
        ip_address?: String,
    }

    /// `CreateHsmResponse`.
    CreateHsmResponse {
        /// The HSM.
        hsm: HsmShape,
    }

    /// `DeleteHsmRequest`.
    DeleteHsmRequest {
        /// Required.
        cluster_id?: String,
        /// One of these three.
        hsm_id?: String,
        /// One of these three.
        eni_id?: String,
        /// One of these three.
        eni_ip?: String,
    }

    /// `DeleteHsmResponse`.
    DeleteHsmResponse {
        /// Id.
        hsm_id: String,
    }

    /// `BackupId` only (DeleteBackup, RestoreBackup).
    BackupIdRequest {
        /// Required.
        backup_id?: String,
    }

    /// Output holding one backup.
    BackupResponse {
        /// The backup.
        backup: BackupShape,
    }

    /// `Backup`.
    BackupShape {
        /// Id.
        backup_id: String,
        /// ARN.
        backup_arn: String,
        /// State.
        backup_state: String,
        /// Source cluster.
        cluster_id: String,
        /// Epoch seconds.
        create_timestamp: f64,
        /// Kept forever.
        never_expires: bool,
        /// The backup the source cluster came from; for a copy, the backup
        /// it was copied from.
        source_backup?: String,
        /// For a copy: the Region of the backup it was copied from.
        source_region?: String,
        /// For a copy: the cluster of the backup it was copied from.
        source_cluster?: String,
        /// For a copy: when it was copied, epoch seconds.
        copy_timestamp?: f64,
        /// When deletion was requested.
        delete_timestamp?: f64,
        /// HSM type.
        hsm_type: String,
        /// Mode.
        mode: String,
    }

    /// `DescribeBackupsResponse`.
    DescribeBackupsResponse {
        /// Backups.
        backups: Vec<BackupShape>,
        /// More.
        next_token?: String,
    }
}

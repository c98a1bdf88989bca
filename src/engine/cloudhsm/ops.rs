//! The CloudHSM v2 management operations on the engine: CreateCluster
//! (fresh, or from a backup), InitializeCluster, DescribeClusters,
//! DeleteCluster, CreateHsm, DeleteHsm, DescribeBackups, DeleteBackup,
//! RestoreBackup, and a backup taken on demand.
//!
//! The real lifecycle holds: CreateCluster → `UNINITIALIZED`; CreateHsm;
//! InitializeCluster(SignedCert, TrustAnchor) → `INITIALIZED`; `cluster
//! activate` in the CloudHSM CLI → `ACTIVE`. A cluster made from a backup
//! comes up `ACTIVE` with the backup's users, keys and certificates, so it is
//! related to its source for UpdateCustomKeyStore (R7).

use std::collections::BTreeMap;

use super::api::{
    BackupIdRequest, BackupResponse, BackupRetentionPolicy, BackupShape, ClusterIdRequest,
    ClusterResponse, ClusterShape, CreateClusterRequest, CreateHsmRequest, CreateHsmResponse,
    DeleteHsmRequest, DeleteHsmResponse, DescribeBackupsResponse, DescribeClustersResponse,
    DescribeRequest, HsmShape, InitializeClusterRequest, InitializeClusterResponse,
};
use super::backup::{Backup, BackupState};
use super::cluster::{Cluster, ClusterState, Hsm, HsmState};
use super::pki;
use super::users::{Role, User};
use crate::engine::config::Timing;
use crate::engine::error::{Error, ErrorKind, Result};
use crate::engine::ids::IdKind;
use crate::engine::machines::{Timed, Transition};
use crate::engine::state::{State, Subnet};
use crate::engine::Engine;

/// HSMs per cluster (CloudHSM quota, not adjustable).
const MAX_HSMS_PER_CLUSTER: usize = 28;

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::CloudHsmInvalidRequest, message.into())
}

fn not_found(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::CloudHsmResourceNotFound, message.into())
}

fn need<'a>(field: &str, v: &'a Option<String>) -> Result<&'a str> {
    v.as_deref().ok_or_else(|| Error::missing(field))
}

impl Engine {
    /// CreateCluster. Subnet ids are accepted as given and spread over the
    /// Region's Availability Zones in order; with `SourceBackupId` the
    /// cluster is restored from that backup.
    pub fn create_cluster(&self, req: &CreateClusterRequest) -> Result<ClusterResponse> {
        self.catch_up();
        let hsm_type = need("HsmType", &req.hsm_type)?;
        if !matches!(hsm_type, "hsm1.medium" | "hsm2m.medium") {
            return Err(invalid(format!(
                "HsmType {hsm_type} is not supported; use hsm1.medium or hsm2m.medium."
            )));
        }
        let subnet_ids = req
            .subnet_ids
            .as_ref()
            .ok_or_else(|| Error::missing("SubnetIds"))?;
        if subnet_ids.is_empty() || subnet_ids.len() > 10 {
            return Err(invalid("SubnetIds must list 1 to 10 subnets."));
        }
        if let Some(m) = &req.mode {
            if !matches!(m.as_str(), "FIPS" | "NON_FIPS") {
                return Err(invalid(format!(
                    "Mode {m} is not valid; use FIPS or NON_FIPS."
                )));
            }
        }
        let mut st = self.state.write();
        let now = self.clock.now();
        let zones = self.config.availability_zones();
        let mut mapping = BTreeMap::new();
        for (i, sid) in subnet_ids.iter().enumerate() {
            if !sid.starts_with("subnet-") {
                return Err(invalid(format!("Subnet id {sid} is not valid.")));
            }
            let octet = u32::try_from(st.subnets.len()).unwrap_or(0) + 1;
            let subnet = st.subnets.entry(sid.clone()).or_insert_with(|| Subnet {
                id: sid.clone(),
                availability_zone: zones[i % zones.len()].clone(),
                free_addresses: 250,
                next_host: 10,
                octet,
            });
            if mapping
                .insert(subnet.availability_zone.clone(), sid.clone())
                .is_some()
            {
                return Err(invalid(format!(
                    "Subnets must be in different Availability Zones; two are in {}.",
                    subnet.availability_zone
                )));
            }
        }
        let source = match &req.source_backup_id {
            None => None,
            Some(b) => {
                let backup = st
                    .backups
                    .get(b)
                    .ok_or_else(|| not_found(format!("Backup {b} not found.")))?;
                if backup.state != BackupState::Ready {
                    return Err(invalid(format!(
                        "Backup {b} is {} and cannot be used to create a cluster.",
                        backup.state.as_str()
                    )));
                }
                Some(backup.clone())
            }
        };
        let id = st.ids.id(IdKind::Cluster);
        let vpc = st.ids.id(IdKind::Vpc);
        let sg = st.ids.id(IdKind::SecurityGroup);
        let completes_at = now.plus(Timing::secs(self.config.timing.cluster_create_seconds));
        let mut cluster = Cluster::new(
            id.clone(),
            ClusterState::CreateInProgress {
                completes_at,
                from_backup: source.is_some(),
            },
            vpc,
            sg,
            mapping,
            now,
            now.plus(Timing::secs(self.config.timing.backup_interval_seconds)),
        );
        cluster.hsm_type = hsm_type.to_owned();
        cluster.mode = req.mode.clone().unwrap_or_else(|| "FIPS".into());
        // A fresh cluster has no certificates yet: the CSR comes with its
        // first HSM (Cluster::on_hsm_active).
        if let Some(b) = source {
            cluster.source_backup_id = Some(b.id.clone());
            cluster.users = b.contents.users.clone();
            cluster.keys = b.contents.keys.clone();
            cluster.certificates = b.contents.certificates.clone();
            cluster.trust_anchor = b.contents.trust_anchor.clone();
        }
        cluster.state = cluster.state.settled(now);
        let shape = self.cluster_shape(&cluster);
        st.clusters.insert(id, cluster);
        self.reschedule(&st);
        Ok(ClusterResponse { cluster: shape })
    }

    /// InitializeCluster: records the signed cluster certificate (the backup
    /// lineage) and the trust anchor CreateCustomKeyStore must match.
    pub fn initialize_cluster(
        &self,
        req: &InitializeClusterRequest,
    ) -> Result<InitializeClusterResponse> {
        self.catch_up();
        let id = need("ClusterId", &req.cluster_id)?;
        let signed = need("SignedCert", &req.signed_cert)?;
        let anchor = need("TrustAnchor", &req.trust_anchor)?;
        let mut st = self.state.write();
        let now = self.clock.now();
        let cluster = cluster_with_active_hsm(&mut st, id, || {
            format!(
                "Cluster {id} has no active HSM; create an HSM before initializing the cluster."
            )
        })?;
        let completes_at = now.plus(Timing::secs(self.config.timing.cluster_initialize_seconds));
        let transition = cluster.state.on_initialize(completes_at)?;
        // The certificates are judged before anything changes: a refusal
        // leaves the cluster UNINITIALIZED with its CSR (docs/fidelity.md
        // F12).
        pki::check_initialization(
            id,
            cluster.certificates.cluster_csr.as_deref(),
            signed,
            anchor,
        )?;
        if let Transition::To(s) = transition {
            cluster.state = s.settled(now);
        }
        // "The CSR exists only when the cluster's state is UNINITIALIZED"
        // (CloudHSM model, Certificates.ClusterCsr).
        cluster.certificates.cluster_csr = None;
        cluster.certificates.cluster_certificate = Some(signed.to_owned());
        cluster.trust_anchor = Some(anchor.to_owned());
        // The precrypto officer: `cluster activate` sets its password.
        cluster.users.insert(User::new("admin", Role::Admin, None));
        cluster
            .users
            .insert(User::new("app_user", Role::Appliance, None));
        let state = cluster.state;
        self.reschedule(&st);
        Ok(InitializeClusterResponse {
            state: state.as_str().into(),
            state_message: state_message(state),
        })
    }

    /// DescribeClusters with the `clusterIds`, `vpcIds` and `states` filters.
    pub fn describe_clusters(&self, req: &DescribeRequest) -> Result<DescribeClustersResponse> {
        self.catch_up();
        let st = self.state.read();
        let mut clusters = filtered(req, CLUSTER_FILTERS, st.clusters.values())?;
        clusters.sort_by(|a, b| (a.create_timestamp, &a.id).cmp(&(b.create_timestamp, &b.id)));
        let (clusters, next_token) = token_page(&clusters, req, 25, |c| self.cluster_shape(c))?;
        Ok(DescribeClustersResponse {
            clusters,
            next_token,
        })
    }

    /// DeleteCluster: every HSM must be deleted first. Backups stay.
    pub fn delete_cluster(&self, req: &ClusterIdRequest) -> Result<ClusterResponse> {
        self.catch_up();
        let id = need("ClusterId", &req.cluster_id)?;
        let mut st = self.state.write();
        let now = self.clock.now();
        let seconds = self.config.timing.cluster_delete_seconds;
        let cluster = live_cluster_mut(&mut st, id)?;
        if !cluster.hsms.is_empty() {
            return Err(invalid(format!(
                "Cluster {id} still contains HSMs; delete them before deleting the cluster."
            )));
        }
        if let Transition::To(s) = cluster.state.on_delete(now.plus(Timing::secs(seconds)))? {
            let s = s.settled(now);
            cluster.state = s;
            if s == ClusterState::Deleted {
                cluster.users.clear_logins();
            }
        }
        let shape = self.cluster_shape(cluster);
        self.reschedule(&st);
        Ok(ClusterResponse { cluster: shape })
    }

    /// CreateHsm in one of the cluster's Availability Zones.
    pub fn create_hsm(&self, req: &CreateHsmRequest) -> Result<CreateHsmResponse> {
        self.catch_up();
        let id = need("ClusterId", &req.cluster_id)?;
        let az = need("AvailabilityZone", &req.availability_zone)?;
        let mut st = self.state.write();
        let now = self.clock.now();
        let State {
            clusters,
            subnets,
            ids,
            ..
        } = &mut *st;
        let cluster = clusters
            .get_mut(id)
            .filter(|c| c.exists())
            .ok_or_else(|| not_found(format!("Cluster {id} not found.")))?;
        if matches!(cluster.state, ClusterState::CreateInProgress { .. }) {
            return Err(invalid(format!("Cluster {id} is still being created.")));
        }
        // The quota is not adjustable; CreateHsm's modelled exceptions have
        // no limit error (CloudHsmResourceLimitExceededException belongs to
        // TagResource), so it is an invalid request.
        if cluster.hsms.len() >= MAX_HSMS_PER_CLUSTER {
            return Err(invalid(format!(
                "Cluster {id} already has the maximum of {MAX_HSMS_PER_CLUSTER} HSMs."
            )));
        }
        let subnet_id = cluster.subnet_mapping.get(az).cloned().ok_or_else(|| {
            invalid(format!(
                "Cluster {id} has no subnet in Availability Zone {az}."
            ))
        })?;
        let subnet = subnets
            .get_mut(&subnet_id)
            .ok_or_else(|| not_found(format!("Subnet {subnet_id} not found.")))?;
        let ip = match &req.ip_address {
            Some(ip) if subnet.free_addresses > 0 => {
                subnet.free_addresses -= 1;
                ip.clone()
            }
            Some(_) | None => subnet
                .take_address()
                .ok_or_else(|| invalid(format!("Subnet {subnet_id} has no free IP address.")))?,
        };
        let state = HsmState::CreateInProgress {
            completes_at: now.plus(Timing::secs(self.config.timing.hsm_create_seconds)),
        }
        .settled(now);
        let hsm = Hsm::new(
            ids.id(IdKind::Hsm),
            az.to_owned(),
            subnet_id,
            ids.id(IdKind::Eni),
            ip,
            state,
            self.config.pkcs11.sessions_per_hsm,
        );
        let shape = hsm_shape(cluster, &hsm);
        cluster.hsms.push(hsm);
        cluster.on_hsm_active(self.config.seed)?;
        self.reschedule(&st);
        Ok(CreateHsmResponse { hsm: shape })
    }

    /// DeleteHsm by `HsmId`, `EniId` or `EniIp`.
    pub fn delete_hsm(&self, req: &DeleteHsmRequest) -> Result<DeleteHsmResponse> {
        self.catch_up();
        let id = need("ClusterId", &req.cluster_id)?;
        if req.hsm_id.is_none() && req.eni_id.is_none() && req.eni_ip.is_none() {
            return Err(invalid("Specify one of HsmId, EniId or EniIp."));
        }
        let mut st = self.state.write();
        let now = self.clock.now();
        let seconds = self.config.timing.hsm_delete_seconds;
        let State {
            clusters, subnets, ..
        } = &mut *st;
        let cluster = clusters
            .get_mut(id)
            .filter(|c| c.exists())
            .ok_or_else(|| not_found(format!("Cluster {id} not found.")))?;
        let pos = cluster
            .hsms
            .iter()
            .position(|h| {
                req.hsm_id.as_ref().is_some_and(|x| *x == h.id)
                    || req.eni_id.as_ref().is_some_and(|x| *x == h.eni_id)
                    || req.eni_ip.as_ref().is_some_and(|x| *x == h.eni_ip)
            })
            .ok_or_else(|| not_found(format!("No such HSM in cluster {id}.")))?;
        let hsm_id = cluster.hsms[pos].id.clone();
        if let Transition::To(s) = cluster.hsms[pos]
            .state
            .on_delete(now.plus(Timing::secs(seconds)))
        {
            let s = s.settled(now);
            if s == HsmState::Deleted {
                let h = cluster.hsms.remove(pos);
                if let Some(sn) = subnets.get_mut(&h.subnet_id) {
                    sn.release_address();
                }
            } else {
                cluster.hsms[pos].state = s;
            }
            cluster.sync_health();
        }
        self.reschedule(&st);
        Ok(DeleteHsmResponse { hsm_id })
    }

    /// DescribeBackups with the `backupIds`, `sourceBackupIds`, `clusterIds`,
    /// `states` and `neverExpires` filters.
    pub fn describe_backups(&self, req: &DescribeRequest) -> Result<DescribeBackupsResponse> {
        self.catch_up();
        let st = self.state.read();
        let mut backups = filtered(req, BACKUP_FILTERS, st.backups.values())?;
        backups.sort_by(|a, b| (a.create_timestamp, &a.id).cmp(&(b.create_timestamp, &b.id)));
        if req.sort_ascending != Some(true) {
            backups.reverse();
        }
        let (backups, next_token) = token_page(&backups, req, 100, |b| self.backup_shape(b))?;
        Ok(DescribeBackupsResponse {
            backups,
            next_token,
        })
    }

    /// DeleteBackup: `PENDING_DELETION` for seven days, then `DELETED`.
    pub fn delete_backup(&self, req: &BackupIdRequest) -> Result<BackupResponse> {
        self.change_backup(req, |b, at| b.on_delete(at), true)
    }

    /// RestoreBackup: a backup pending deletion becomes `READY` again.
    pub fn restore_backup(&self, req: &BackupIdRequest) -> Result<BackupResponse> {
        self.change_backup(req, |b, _| b.on_restore(), false)
    }

    fn change_backup(
        &self,
        req: &BackupIdRequest,
        event: impl FnOnce(BackupState, crate::engine::Timestamp) -> Result<Transition<BackupState>>,
        deleting: bool,
    ) -> Result<BackupResponse> {
        self.catch_up();
        let id = need("BackupId", &req.backup_id)?;
        let mut st = self.state.write();
        let now = self.clock.now();
        let at = now.plus(Timing::secs(
            self.config.timing.backup_pending_deletion_seconds,
        ));
        let backup = st
            .backups
            .get_mut(id)
            .ok_or_else(|| not_found(format!("Backup {id} not found.")))?;
        if let Transition::To(s) = event(backup.state, at)? {
            backup.state = s;
            backup.delete_timestamp = deleting.then_some(now);
        }
        let shape = self.backup_shape(backup);
        self.reschedule(&st);
        Ok(BackupResponse { backup: shape })
    }

    /// Takes a backup of a cluster now, as CloudHSM's daily backup or a
    /// backup after adding an HSM would. The cluster needs an active HSM.
    pub fn take_backup(&self, cluster_id: &str) -> Result<String> {
        self.catch_up();
        let mut st = self.state.write();
        let now = self.clock.now();
        cluster_with_active_hsm(&mut st, cluster_id, || {
            format!("Cluster {cluster_id} has no active HSM to take a backup from.")
        })?;
        let id = self
            .take_backup_locked(&mut st, cluster_id, now)
            .ok_or_else(|| not_found(format!("Cluster {cluster_id} not found.")))?;
        self.reschedule(&st);
        Ok(id)
    }

    fn cluster_shape(&self, c: &Cluster) -> ClusterShape {
        ClusterShape {
            backup_policy: "DEFAULT".into(),
            backup_retention_policy: BackupRetentionPolicy {
                r#type: Some("DAYS".into()),
                value: Some(c.backup_retention_days.to_string()),
            },
            cluster_id: c.id.clone(),
            create_timestamp: c.create_timestamp.as_epoch_seconds(),
            hsms: c.hsms.iter().map(|h| hsm_shape(c, h)).collect(),
            hsm_type: c.hsm_type.clone(),
            source_backup_id: c.source_backup_id.clone(),
            security_group: c.security_group.clone(),
            state: c.state.as_str().into(),
            state_message: state_message(c.state),
            subnet_mapping: c.subnet_mapping.clone(),
            vpc_id: c.vpc_id.clone(),
            network_type: "IPV4".into(),
            certificates: c.certificates.clone(),
            mode: c.mode.clone(),
        }
    }

    fn backup_shape(&self, b: &Backup) -> BackupShape {
        BackupShape {
            backup_id: b.id.clone(),
            backup_arn: format!(
                "arn:aws:cloudhsm:{}:{}:backup/{}",
                self.config.region, self.config.account, b.id
            ),
            backup_state: b.state.as_str().into(),
            cluster_id: b.cluster_id.clone(),
            create_timestamp: b.create_timestamp.as_epoch_seconds(),
            never_expires: b.never_expires,
            source_backup: b.shown_source_backup().map(str::to_owned),
            source_region: b.copied_from.as_ref().map(|c| c.region.clone()),
            source_cluster: b.copied_from.as_ref().map(|c| c.cluster.clone()),
            copy_timestamp: b
                .copied_from
                .as_ref()
                .map(|c| c.copied_at.as_epoch_seconds()),
            delete_timestamp: b.delete_timestamp.map(|t| t.as_epoch_seconds()),
            hsm_type: b.hsm_type.clone(),
            mode: b.mode.clone(),
        }
    }
}

fn live_cluster_mut<'s>(st: &'s mut State, id: &str) -> Result<&'s mut Cluster> {
    st.clusters
        .get_mut(id)
        .filter(|c| c.exists())
        .ok_or_else(|| not_found(format!("Cluster {id} not found.")))
}

/// A cluster that exists and has an active HSM to work on; `lacking` says
/// why not when it has none.
fn cluster_with_active_hsm<'s>(
    st: &'s mut State,
    id: &str,
    lacking: impl FnOnce() -> String,
) -> Result<&'s mut Cluster> {
    let cluster = live_cluster_mut(st, id)?;
    if cluster.active_hsms().next().is_none() {
        return Err(invalid(lacking()));
    }
    Ok(cluster)
}

fn hsm_shape(c: &Cluster, h: &Hsm) -> HsmShape {
    HsmShape {
        availability_zone: h.availability_zone.clone(),
        cluster_id: c.id.clone(),
        subnet_id: h.subnet_id.clone(),
        eni_id: h.eni_id.clone(),
        eni_ip: h.eni_ip.clone(),
        hsm_id: h.id.clone(),
        hsm_type: c.hsm_type.clone(),
        state: h.state.as_str().into(),
        state_message: match h.state {
            HsmState::CreateInProgress { .. } => "HSM is being created.".into(),
            HsmState::Active => "HSM is active.".into(),
            HsmState::Degraded => "HSM is degraded.".into(),
            HsmState::DeleteInProgress { .. } => "HSM is being deleted.".into(),
            HsmState::Deleted => "HSM is deleted.".into(),
        },
    }
}

fn state_message(s: ClusterState) -> String {
    match s {
        ClusterState::CreateInProgress { .. } => "Cluster is being created.",
        ClusterState::Uninitialized => "Cluster is uninitialized.",
        ClusterState::InitializeInProgress { .. } => "Cluster is being initialized.",
        ClusterState::Initialized => "Cluster is initialized; activate it with the CloudHSM CLI.",
        ClusterState::Active => "Cluster is active.",
        ClusterState::UpdateInProgress => "Cluster is being updated.",
        ClusterState::ModifyInProgress => "Cluster is being modified.",
        ClusterState::RollbackInProgress => "Cluster is rolling back.",
        ClusterState::DeleteInProgress { .. } => "Cluster is being deleted.",
        ClusterState::Deleted => "Cluster is deleted.",
        ClusterState::Degraded => "Cluster is degraded.",
    }
    .into()
}

/// A filter of a Describe operation: its name and the value of an item it
/// compares with the filter's values.
type Filter<T> = (&'static str, fn(&T) -> &str);

/// DescribeClusters' filters.
const CLUSTER_FILTERS: &[Filter<Cluster>] = &[
    ("clusterIds", |c| &c.id),
    ("vpcIds", |c| &c.vpc_id),
    ("states", |c| c.state.as_str()),
];

/// DescribeBackups' filters.
const BACKUP_FILTERS: &[Filter<Backup>] = &[
    ("backupIds", |b| &b.id),
    ("sourceBackupIds", |b| b.shown_source_backup().unwrap_or("")),
    ("clusterIds", |b| &b.cluster_id),
    ("states", |b| b.state.as_str()),
    ("neverExpires", |b| {
        if b.never_expires {
            "true"
        } else {
            "false"
        }
    }),
];

/// The items a Describe request's `Filters` keep: those that match one of
/// the values of every filter given. A filter not among `filters` is an
/// invalid request.
fn filtered<'a, T>(
    req: &DescribeRequest,
    filters: &[Filter<T>],
    items: impl Iterator<Item = &'a T>,
) -> Result<Vec<&'a T>> {
    let given = req.filters.clone().unwrap_or_default();
    if let Some(k) = given.keys().find(|k| !filters.iter().any(|(n, _)| n == k)) {
        let names: Vec<&str> = filters.iter().map(|(n, _)| *n).collect();
        let (last, rest) = names.split_last().unwrap_or((&"", &[]));
        return Err(invalid(format!(
            "Invalid filter {k}; valid filters are {} and {last}.",
            rest.join(", ")
        )));
    }
    let keeps = |item: &T| {
        filters.iter().all(|(name, value)| {
            given
                .get(*name)
                .is_none_or(|vs| vs.iter().any(|v| v == value(item)))
        })
    };
    Ok(items.filter(|item| keeps(item)).collect())
}

/// The page of `items` a Describe request asks for (`MaxResults`, at most
/// `max_allowed`, from `NextToken`, which is the index of the next item as
/// text), each item made a shape: the page and the next page's token.
fn token_page<T, S>(
    items: &[T],
    req: &DescribeRequest,
    max_allowed: i64,
    shape: impl Fn(&T) -> S,
) -> Result<(Vec<S>, Option<String>)> {
    let max = req.max_results.unwrap_or(max_allowed);
    if !(1..=max_allowed).contains(&max) {
        return Err(invalid(format!(
            "MaxResults must be between 1 and {max_allowed}."
        )));
    }
    let start = match req.next_token.as_deref() {
        None => 0,
        Some(t) => t
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= items.len())
            .ok_or_else(|| invalid(format!("NextToken {t} is not valid.")))?,
    };
    let end = (start + usize::try_from(max).unwrap_or(1)).min(items.len());
    let next = (end < items.len()).then(|| end.to_string());
    let page = items.get(start..end).unwrap_or(&[]);
    Ok((page.iter().map(shape).collect(), next))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::engine::world::example;

    /// Regression (found by tests/integration/model.rs): the 29th HSM of a cluster was
    /// refused with CloudHsmResourceLimitExceededException, which is not
    /// among CreateHsm's exceptions in the CloudHSM v2 model.
    #[test]
    fn create_hsm_beyond_28_per_cluster_is_an_invalid_request() {
        let e = example();
        let create = || {
            e.call(
                "CreateHsm",
                json!({"ClusterId": "cluster-1a23b4cdefg", "AvailabilityZone": "us-west-2a"}),
            )
        };
        // The example cluster has two HSMs.
        for _ in 2..super::MAX_HSMS_PER_CLUSTER {
            create().unwrap();
        }
        let err = create().unwrap_err();
        assert_eq!(err.aws_name(), "CloudHsmInvalidRequestException", "{err}");
        assert!(err.message().contains("maximum of 28 HSMs"), "{err}");
    }

    #[test]
    fn an_unknown_filter_is_refused_with_the_valid_ones() {
        let e = example();
        for (operation, valid) in [
            ("DescribeClusters", "clusterIds, vpcIds and states"),
            (
                "DescribeBackups",
                "backupIds, sourceBackupIds, clusterIds, states and neverExpires",
            ),
        ] {
            let err = e
                .call(operation, json!({"Filters": {"colour": ["red"]}}))
                .unwrap_err();
            assert_eq!(
                err.aws_name(),
                "CloudHsmInvalidRequestException",
                "{operation}"
            );
            assert_eq!(
                err.message(),
                format!("Invalid filter colour; valid filters are {valid}."),
                "{operation}"
            );
        }
    }
}

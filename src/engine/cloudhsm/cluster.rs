//! CloudHSM clusters and their HSMs. Their state machines (`ClusterState`,
//! `HsmState`) are in [`crate::engine::machines`], re-exported here.
//!
//! A cluster owns what is replicated across its HSMs (users, key material),
//! its network placement (one private subnet per Availability Zone, a
//! security group), its certificates (the cluster certificate is the backup
//! lineage: clusters made from backups of one another share it) and the
//! [`Link`] that carries KMS traffic to it. States that take time carry the
//! virtual instant at which they complete; `on_clock` finishes them.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::keys::KeyStoreOfCluster;
use super::pkcs11::SessionPool;
use super::pki::{self, HsmIdentity};
use super::users::Users;
use crate::engine::clock::Timestamp;
use crate::engine::network::Link;

pub use crate::engine::machines::{ClusterState, HsmState};

/// One HSM of a cluster. Its session pool is persisted as its capacity and
/// rebuilt empty on load.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Hsm {
    /// `hsm-…`.
    pub id: String,
    /// The Availability Zone.
    pub availability_zone: String,
    /// The subnet it sits in.
    pub subnet_id: String,
    /// Its network interface.
    pub eni_id: String,
    /// The interface's address.
    pub eni_ip: String,
    /// State.
    pub state: HsmState,
    /// Its PKCS #11 sessions.
    #[serde(rename = "sessions", with = "pool_capacity")]
    pub pool: Arc<SessionPool>,
}

/// A session pool as persisted: its capacity (the sessions in use are
/// runtime only).
mod pool_capacity {
    use std::sync::Arc;

    use serde::{Deserialize, Deserializer, Serializer};

    use super::SessionPool;

    pub(super) fn serialize<S: Serializer>(
        pool: &Arc<SessionPool>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_u64(pool.capacity() as u64)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Arc<SessionPool>, D::Error> {
        let capacity = usize::deserialize(d)?;
        Ok(SessionPool::new(capacity))
    }
}

/// A cluster's keys as its own record holds them: the next reference only
/// (the keys are rows of their own; `engine::persist` puts them back).
mod keys_apart {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::KeyStoreOfCluster;

    #[derive(Deserialize, Serialize)]
    struct NextReference {
        next_reference: u64,
    }

    pub(super) fn serialize<S: Serializer>(
        keys: &KeyStoreOfCluster,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        NextReference {
            next_reference: keys.next_reference(),
        }
        .serialize(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<KeyStoreOfCluster, D::Error> {
        let n = NextReference::deserialize(d)?;
        Ok(KeyStoreOfCluster::from_parts(
            Default::default(),
            n.next_reference,
        ))
    }
}

impl Hsm {
    /// An HSM with a fresh session pool of `sessions`.
    pub fn new(
        id: String,
        availability_zone: String,
        subnet_id: String,
        eni_id: String,
        eni_ip: String,
        state: HsmState,
        sessions: usize,
    ) -> Hsm {
        Hsm {
            id,
            availability_zone,
            subnet_id,
            eni_id,
            eni_ip,
            state,
            pool: SessionPool::new(sessions),
        }
    }
}

/// The certificates of a cluster (`Certificates` in the model, in its
/// member order), PEM text. Real ones: see [`super::pki`].
#[derive(Clone, Debug, Default, Deserialize, Eq, PartialEq, Serialize)]
#[serde(default)]
pub struct Certificates {
    /// The CSR of the cluster's first HSM, to sign before InitializeCluster;
    /// only while the cluster is `UNINITIALIZED` (docs/fidelity.md F11).
    #[serde(rename = "ClusterCsr", skip_serializing_if = "Option::is_none")]
    pub cluster_csr: Option<String>,
    /// The HSM certificate, issued by the HSM's hardware.
    #[serde(rename = "HsmCertificate", skip_serializing_if = "Option::is_none")]
    pub hsm_certificate: Option<String>,
    /// The hardware certificate AWS issued.
    #[serde(
        rename = "AwsHardwareCertificate",
        skip_serializing_if = "Option::is_none"
    )]
    pub aws_hardware_certificate: Option<String>,
    /// The hardware certificate the manufacturer issued.
    #[serde(
        rename = "ManufacturerHardwareCertificate",
        skip_serializing_if = "Option::is_none"
    )]
    pub manufacturer_hardware_certificate: Option<String>,
    /// The signed cluster certificate: the backup lineage. Clusters made from
    /// backups of one another share it, and that is part of what "related"
    /// means for UpdateCustomKeyStore.
    #[serde(rename = "ClusterCertificate", skip_serializing_if = "Option::is_none")]
    pub cluster_certificate: Option<String>,
}

impl Certificates {
    /// The certificates of an HSM identity, with its CSR.
    pub fn of_identity(id: HsmIdentity) -> Certificates {
        Certificates {
            cluster_csr: Some(id.csr),
            hsm_certificate: Some(id.hsm_certificate),
            aws_hardware_certificate: Some(id.aws_hardware_certificate),
            manufacturer_hardware_certificate: Some(id.manufacturer_hardware_certificate),
            cluster_certificate: None,
        }
    }
}

/// A cluster. Not `Clone`: it holds live PKCS #11 sessions; backups copy
/// the parts that a backup holds. Persisted without the sessions an
/// "exhaust sessions" fault holds (a restart releases them).
#[derive(Debug, Deserialize, Serialize)]
pub struct Cluster {
    /// `cluster-…`.
    pub id: String,
    /// State.
    pub state: ClusterState,
    /// `hsm1.medium` or `hsm2m.medium`.
    pub hsm_type: String,
    /// `FIPS` or `NON_FIPS`.
    pub mode: String,
    /// The VPC.
    pub vpc_id: String,
    /// `sg-…`: the cluster security group `cloudhsm-cluster-<id>-sg`.
    pub security_group: String,
    /// Whether the security group still allows TCP 2223–2225 to itself.
    pub security_group_ok: bool,
    /// Availability Zone → subnet id.
    pub subnet_mapping: BTreeMap<String, String>,
    /// Certificates.
    pub certificates: Certificates,
    /// The trust anchor given at InitializeCluster (`customerCA.crt`).
    pub trust_anchor: Option<String>,
    /// The backup it was made from.
    pub source_backup_id: Option<String>,
    /// When it was created.
    pub create_timestamp: Timestamp,
    /// Backup retention in days.
    pub backup_retention_days: u32,
    /// HSMs (deleted ones are dropped).
    pub hsms: Vec<Hsm>,
    /// Users.
    pub users: Users,
    /// Key material. Persisted apart from the cluster, one row per key
    /// (`engine::persist`): the cluster's own record carries only the next
    /// key reference, so adding a key does not rewrite every other.
    #[serde(with = "keys_apart")]
    pub keys: KeyStoreOfCluster,
    /// The network path from KMS.
    pub link: Arc<Link>,
    /// The next automatic daily backup.
    pub next_backup_at: Timestamp,
    /// The next N connect attempts to this cluster hit a KMS internal error
    /// (the INTERNAL_ERROR fault).
    pub internal_errors: u32,
    /// Sessions held by an "exhaust sessions" fault (not persisted).
    #[serde(skip)]
    pub held_sessions: Vec<super::pkcs11::Session>,
}

impl Cluster {
    /// A cluster with no HSMs, users or keys yet; defaults follow a new
    /// CloudHSM cluster (`hsm2m.medium`, `FIPS`, 90-day backup retention).
    pub fn new(
        id: String,
        state: ClusterState,
        vpc_id: String,
        security_group: String,
        subnet_mapping: BTreeMap<String, String>,
        create_timestamp: Timestamp,
        next_backup_at: Timestamp,
    ) -> Cluster {
        Cluster {
            id,
            state,
            hsm_type: "hsm2m.medium".into(),
            mode: "FIPS".into(),
            vpc_id,
            security_group,
            security_group_ok: true,
            subnet_mapping,
            certificates: Certificates::default(),
            trust_anchor: None,
            source_backup_id: None,
            create_timestamp,
            backup_retention_days: 90,
            hsms: Vec::new(),
            users: Users::default(),
            keys: KeyStoreOfCluster::default(),
            link: Arc::new(Link::default()),
            next_backup_at,
            internal_errors: 0,
            held_sessions: Vec::new(),
        }
    }

    /// HSMs in state `ACTIVE`.
    pub fn active_hsms(&self) -> impl Iterator<Item = &Hsm> {
        self.hsms.iter().filter(|h| h.state == HsmState::Active)
    }

    /// An HSM changed state: the cluster reads `DEGRADED` while one of its
    /// HSMs does ([`ClusterState::on_hsm_health`]).
    pub fn sync_health(&mut self) {
        let degraded = self.hsms.iter().any(|h| h.state == HsmState::Degraded);
        self.state.on_hsm_health(degraded).apply(&mut self.state);
    }

    /// Availability Zones with at least one active HSM.
    pub fn active_hsm_zones(&self) -> usize {
        let mut zones: Vec<&str> = self
            .active_hsms()
            .map(|h| h.availability_zone.as_str())
            .collect();
        zones.sort_unstable();
        zones.dedup();
        zones.len()
    }

    /// The cluster's first HSM makes its key pair and the CSR over it once
    /// it is active and the cluster `UNINITIALIZED` ("a certificate signing
    /// request (CSR) that is generated by the cluster's first HSM",
    /// docs/fidelity.md F11). A cluster restored from a backup has the
    /// backup's certificates already.
    pub fn on_hsm_active(&mut self, seed: u64) -> crate::engine::error::Result<()> {
        let has_identity = self.certificates.cluster_csr.is_some()
            || self.certificates.cluster_certificate.is_some();
        if self.state != ClusterState::Uninitialized
            || has_identity
            || self.active_hsms().next().is_none()
        {
            return Ok(());
        }
        self.certificates = Certificates::of_identity(pki::hsm_identity(seed, &self.id)?);
        Ok(())
    }

    /// Whether the cluster exists for KMS (not being deleted, not deleted).
    pub fn exists(&self) -> bool {
        !matches!(
            self.state,
            ClusterState::Deleted | ClusterState::DeleteInProgress { .. }
        )
    }
}

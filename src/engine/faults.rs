//! What AWS has no API for: the incidents a drill injects, and the
//! CloudHSM CLI.
//!
//! Each fault is a plain change to the world that a real incident would
//! make: an egress rule that drops KMS traffic, a deleted subnet, a subnet
//! out of addresses, a burst that holds every PKCS #11 session, a KMS-side
//! internal error on the next connects, a cluster torn down with its HSMs,
//! an HSM degraded (docs/fidelity.md I56).
//! What follows from them (ConnectionErrorCodes, exceptions) is the
//! engine's ordinary behaviour.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::cloudhsm::cli;
use super::cloudhsm::cluster::{Cluster, HsmState};
use super::cloudhsm::pki::{self, SignedCsr};
use super::error::{Error, ErrorKind, Result};
use super::network::NetworkCondition;
use super::state::State;
use super::Engine;

/// An injected incident, as scenarios (where every id may be a `$variable`
/// until the runner substitutes it) and the server's control API name it.
#[derive(Clone, Debug, Deserialize, PartialEq, Serialize)]
pub enum Fault {
    /// Set the network path between KMS and a cluster.
    Network {
        /// Cluster id.
        cluster: String,
        /// Blocked, healthy, or flaky for N calls.
        condition: NetworkCondition,
    },
    /// Break (`ok: false`) or mend the cluster security group rule.
    SecurityGroup {
        /// Cluster id.
        cluster: String,
        /// Whether the rule allows TCP 2223–2225.
        ok: bool,
    },
    /// Delete one HSM (`hsm: Some`) or every HSM of the cluster.
    DeleteHsm {
        /// Cluster id.
        cluster: String,
        /// The HSM id, or all.
        hsm: Option<String>,
    },
    /// An `ACTIVE` HSM (`hsm: Some`) or every active HSM of the cluster
    /// reads `DEGRADED` and is not used; the cluster reads `DEGRADED`
    /// (docs/fidelity.md I56).
    DegradeHsm {
        /// Cluster id.
        cluster: String,
        /// The HSM id, or all.
        hsm: Option<String>,
    },
    /// A `DEGRADED` HSM (`hsm: Some`) or every degraded HSM of the cluster
    /// is `ACTIVE` again; the cluster too once none is degraded.
    RepairHsm {
        /// Cluster id.
        cluster: String,
        /// The HSM id, or all.
        hsm: Option<String>,
    },
    /// Delete a key from the cluster, material and all, as a crypto user
    /// holding `kmsuser`'s password could with `key delete` (R7): KMS finds
    /// the backing key of its KMS key gone.
    DeleteKeyMaterial {
        /// Cluster id.
        cluster: String,
        /// The key's `id` attribute (hex, with or without `0x`): a KMS
        /// key's backing key id.
        key: String,
    },
    /// Delete the cluster with all its HSMs.
    DeleteCluster {
        /// Cluster id.
        cluster: String,
    },
    /// Delete a subnet.
    DeleteSubnet {
        /// Subnet id.
        subnet: String,
    },
    /// Set a subnet's free addresses.
    FreeAddresses {
        /// Subnet id.
        subnet: String,
        /// How many.
        count: u32,
    },
    /// Hold every PKCS #11 session of the cluster's HSMs.
    ExhaustSessions {
        /// Cluster id.
        cluster: String,
    },
    /// Let go of the held sessions.
    ReleaseSessions {
        /// Cluster id.
        cluster: String,
    },
    /// The next `count` connect attempts to the cluster hit a KMS internal
    /// error.
    InternalErrors {
        /// Cluster id.
        cluster: String,
        /// How many attempts.
        count: u32,
    },
    /// Take a backup of the cluster now; the response is `{"BackupId": …}`.
    Backup {
        /// Cluster id.
        cluster: String,
    },
    /// Not an incident: the customer's part of initializing a cluster. Sign
    /// the cluster's CSR with the world's drill CA for that cluster; the
    /// response is `{"SignedCert": …, "TrustAnchor": …}`, what
    /// InitializeCluster takes (docs/fidelity.md I35).
    SignCsr {
        /// Cluster id.
        cluster: String,
    },
}

fn no_cluster(id: &str) -> Error {
    Error::new(
        ErrorKind::CloudHsmResourceNotFound,
        format!("Cluster {id} not found."),
    )
}

fn no_subnet(id: &str) -> Error {
    Error::new(
        ErrorKind::CloudHsmResourceNotFound,
        format!("Subnet {id} not found."),
    )
}

impl Engine {
    fn with_cluster<T>(&self, id: &str, f: impl FnOnce(&mut Cluster) -> T) -> Result<T> {
        self.mutate_state(|st: &mut State| {
            st.clusters
                .get_mut(id)
                .filter(|c| c.exists())
                .map(f)
                .ok_or_else(|| no_cluster(id))
        })
    }

    /// Sets the network path between KMS and a cluster (R4).
    pub fn set_network(&self, cluster_id: &str, condition: NetworkCondition) -> Result<()> {
        self.with_cluster(cluster_id, |c| c.link.set(condition))
    }

    /// The network path's condition now.
    pub fn network(&self, cluster_id: &str) -> Result<NetworkCondition> {
        self.with_cluster(cluster_id, |c| c.link.condition())
    }

    /// Breaks (or mends) the cluster security group's TCP 2223–2225 rule.
    pub fn set_security_group_ok(&self, cluster_id: &str, ok: bool) -> Result<()> {
        self.with_cluster(cluster_id, |c| c.security_group_ok = ok)
    }

    /// The next `n` connect attempts to this cluster fail with
    /// `INTERNAL_ERROR`.
    pub fn inject_internal_errors(&self, cluster_id: &str, n: u32) -> Result<()> {
        self.with_cluster(cluster_id, |c| c.internal_errors = n)
    }

    /// Deletes a subnet from the VPC (`SUBNET_NOT_FOUND` on connect).
    pub fn delete_subnet(&self, subnet_id: &str) -> Result<()> {
        self.mutate_state(|st| {
            st.subnets
                .remove(subnet_id)
                .map(|_| ())
                .ok_or_else(|| no_subnet(subnet_id))
        })
    }

    /// Sets a subnet's free addresses
    /// (`INSUFFICIENT_FREE_ADDRESSES_IN_SUBNET` at 0).
    pub fn set_free_addresses(&self, subnet_id: &str, free: u32) -> Result<()> {
        self.mutate_state(|st| {
            st.subnets
                .get_mut(subnet_id)
                .map(|s| s.free_addresses = free)
                .ok_or_else(|| no_subnet(subnet_id))
        })
    }

    /// Holds every free PKCS #11 session of every HSM of the cluster until
    /// [`Engine::release_sessions`]: a burst that never ends (R2). Returns
    /// how many sessions were taken.
    pub fn exhaust_sessions(&self, cluster_id: &str) -> Result<usize> {
        self.with_cluster(cluster_id, |c| {
            let mut held = Vec::new();
            for h in &c.hsms {
                held.extend(h.pool.hold(h.pool.capacity()));
            }
            let n = held.len();
            c.held_sessions.extend(held);
            n
        })
    }

    /// Lets go of the sessions held by [`Engine::exhaust_sessions`].
    pub fn release_sessions(&self, cluster_id: &str) -> Result<()> {
        self.with_cluster(cluster_id, |c| c.held_sessions.clear())
    }

    /// Deletes every HSM of the cluster and then the cluster, at once: the
    /// cluster is gone (R2, R7). Its backups stay.
    pub fn destroy_cluster(&self, cluster_id: &str) -> Result<()> {
        self.mutate_state(|st| {
            let State {
                clusters, subnets, ..
            } = st;
            let c = clusters
                .get_mut(cluster_id)
                .filter(|c| c.exists())
                .ok_or_else(|| no_cluster(cluster_id))?;
            for h in c.hsms.drain(..) {
                if let Some(s) = subnets.get_mut(&h.subnet_id) {
                    s.release_address();
                }
            }
            c.held_sessions.clear();
            c.users.clear_logins();
            c.state = super::cloudhsm::cluster::ClusterState::Deleted;
            Ok(())
        })
    }

    /// Degrades (`degrade`) or repairs one HSM of the cluster, or all of
    /// them (`hsm: None`: every active HSM, or every degraded one), then
    /// lets the cluster's state follow (docs/fidelity.md I56). An unknown
    /// HSM is CloudHsmResourceNotFoundException; one being created or
    /// deleted CloudHsmInvalidRequestException.
    pub fn set_hsm_degraded(
        &self,
        cluster_id: &str,
        hsm: Option<&str>,
        degrade: bool,
    ) -> Result<()> {
        self.mutate_state(|st| {
            let c = st
                .clusters
                .get_mut(cluster_id)
                .filter(|c| c.exists())
                .ok_or_else(|| no_cluster(cluster_id))?;
            let event = |s: HsmState| {
                if degrade {
                    s.on_degrade()
                } else {
                    s.on_repair()
                }
            };
            match hsm {
                Some(id) => {
                    let h = c.hsms.iter_mut().find(|h| h.id == id).ok_or_else(|| {
                        Error::new(
                            ErrorKind::CloudHsmResourceNotFound,
                            format!("No such HSM {id} in cluster {cluster_id}."),
                        )
                    })?;
                    event(h.state)?.apply(&mut h.state);
                }
                None => {
                    let from = if degrade {
                        HsmState::Active
                    } else {
                        HsmState::Degraded
                    };
                    for h in c.hsms.iter_mut().filter(|h| h.state == from) {
                        event(h.state)?.apply(&mut h.state);
                    }
                }
            }
            c.sync_health();
            Ok(())
        })
    }

    /// Signs the CSR of an `UNINITIALIZED` cluster with its drill CA.
    pub fn sign_cluster_csr(&self, cluster_id: &str) -> Result<SignedCsr> {
        let csr = self
            .with_state(|st| {
                st.clusters
                    .get(cluster_id)
                    .filter(|c| c.exists())
                    .map(|c| c.certificates.cluster_csr.clone())
            })
            .ok_or_else(|| no_cluster(cluster_id))?
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::CloudHsmInvalidRequest,
                    format!("Cluster {cluster_id} has no CSR to sign: it needs an active HSM and must be UNINITIALIZED."),
                )
            })?;
        pki::sign_with_drill_ca(self.config.seed, cluster_id, &csr)
    }

    /// Deletes the key whose `id` attribute is `key` from the cluster (R7).
    pub fn delete_key_material(&self, cluster_id: &str, key: &str) -> Result<()> {
        let hex = key
            .strip_prefix("0x")
            .or_else(|| key.strip_prefix("0X"))
            .unwrap_or(key);
        self.with_cluster(cluster_id, |c| {
            let reference = c.keys.by_id(hex).map(|k| k.reference);
            reference.and_then(|r| c.keys.remove(r))
        })?
        .map(drop)
        .ok_or_else(|| {
            Error::new(
                ErrorKind::CloudHsmResourceNotFound,
                format!("Cluster {cluster_id} has no key with id 0x{hex}."),
            )
        })
    }

    /// Applies a [`Fault`]; a backup answers `{"BackupId": …}`, exhausting
    /// sessions `{"HeldSessions": n}`, the rest `{}`.
    pub fn apply_fault(&self, fault: &Fault) -> Result<Value> {
        let done = |r: Result<()>| r.map(|()| json!({}));
        match fault {
            Fault::Network { cluster, condition } => done(self.set_network(cluster, *condition)),
            Fault::SecurityGroup { cluster, ok } => done(self.set_security_group_ok(cluster, *ok)),
            Fault::DeleteHsm { cluster, hsm } => {
                let hsms: Vec<String> = match hsm {
                    Some(h) => vec![h.clone()],
                    None => self
                        .with_state(|st| {
                            st.clusters
                                .get(cluster)
                                .map(|c| c.hsms.iter().map(|h| h.id.clone()).collect())
                        })
                        .ok_or_else(|| no_cluster(cluster))?,
                };
                for h in hsms {
                    self.call("DeleteHsm", json!({"ClusterId": cluster, "HsmId": h}))?;
                }
                Ok(json!({}))
            }
            Fault::DeleteKeyMaterial { cluster, key } => {
                done(self.delete_key_material(cluster, key))
            }
            Fault::DeleteCluster { cluster } => done(self.destroy_cluster(cluster)),
            Fault::DegradeHsm { cluster, hsm } => {
                done(self.set_hsm_degraded(cluster, hsm.as_deref(), true))
            }
            Fault::RepairHsm { cluster, hsm } => {
                done(self.set_hsm_degraded(cluster, hsm.as_deref(), false))
            }
            Fault::DeleteSubnet { subnet } => done(self.delete_subnet(subnet)),
            Fault::FreeAddresses { subnet, count } => done(self.set_free_addresses(subnet, *count)),
            Fault::ExhaustSessions { cluster } => self
                .exhaust_sessions(cluster)
                .map(|n| json!({"HeldSessions": n})),
            Fault::ReleaseSessions { cluster } => done(self.release_sessions(cluster)),
            Fault::InternalErrors { cluster, count } => {
                done(self.inject_internal_errors(cluster, *count))
            }
            Fault::Backup { cluster } => {
                self.take_backup(cluster).map(|id| json!({"BackupId": id}))
            }
            Fault::SignCsr { cluster } => self
                .sign_cluster_csr(cluster)
                .map(|s| json!({"SignedCert": s.signed_cert, "TrustAnchor": s.trust_anchor})),
        }
    }

    /// Runs one CloudHSM CLI command line in the named CLI session against a
    /// cluster and returns the CLI's JSON envelope.
    pub fn cloudhsm_cli(&self, cluster_id: &str, session: &str, line: &str) -> Value {
        self.cloudhsm_cli_answered(cluster_id, session, line, &[])
    }

    /// [`Engine::cloudhsm_cli`] with `answers` typed at the line's password
    /// prompts ([`cli::prompts`]).
    pub fn cloudhsm_cli_answered(
        &self,
        cluster_id: &str,
        session: &str,
        line: &str,
        answers: &[String],
    ) -> Value {
        let out = self.mutate_state(|st| {
            let ids = &mut st.ids;
            st.clusters
                .get_mut(cluster_id)
                .filter(|c| c.exists())
                .map(|c| cli::run(c, ids, session, line, answers))
        });
        out.unwrap_or_else(
            || json!({"error_code": 1, "data": format!("Cluster {cluster_id} not found")}),
        )
    }
}

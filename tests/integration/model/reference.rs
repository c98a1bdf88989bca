//! The reference model of R1–R9 (its state is declared in `mod.rs`): the
//! world read once from the engine as loaded (the store, clusters with
//! their HSMs and users, backups, keys), the small rules its parts follow,
//! and what it predicts for a cryptographic operation. How it moves with
//! the clock is in `clock.rs`.

use std::collections::BTreeSet;

use hsmdrill::engine::cloudhsm::users::{Lockout, SessionId, User};
use hsmdrill::engine::kms::KMSUSER;
use hsmdrill::engine::Engine;

use super::{
    BState, CState, Conn, Expect, KStatus, MBackup, MCluster, MHsm, MKey, MStore, MUser, Model, Pw,
    DISABLED, HSM_INVALID, HSM_NOT_FOUND, INVALID_STATE, KEY_ARN_PREFIX, KMS_INTERNAL,
    MATERIAL_UNAVAILABLE_MS, NOT_FOUND, PASSWORDS, STORE,
};

impl MUser {
    pub(super) fn failed_login(&mut self) {
        if !self.locked {
            self.failures += 1;
            if self.failures >= 5 {
                self.locked = true;
                self.failures = 0;
            }
        }
    }

    pub(super) fn set_password(&mut self, pw: Pw) {
        self.pw = pw;
        self.failures = 0;
        self.locked = false;
    }
}

impl Conn {
    pub(super) fn name(self) -> &'static str {
        match self {
            Conn::Disconnected => "DISCONNECTED",
            Conn::Connecting(_) => "CONNECTING",
            Conn::Connected => "CONNECTED",
            Conn::Failed(_) => "FAILED",
        }
    }
}

impl MHsm {
    pub(super) fn active(&self) -> bool {
        self.ready_at.is_none()
    }
}

impl MCluster {
    /// One call across the network path (a flaky link fails and heals).
    pub(super) fn cross(&mut self) -> bool {
        if self.blocked {
            return false;
        }
        if self.flaky == 0 {
            return true;
        }
        self.flaky -= 1;
        false
    }

    /// Every session logged out (the cluster is gone).
    pub(super) fn log_everyone_out(&mut self) {
        self.kms_login = false;
        self.ops_admin = false;
        self.ku_kmsuser = false;
    }

    /// CloudHSM's answer to a request about the cluster: not found once it
    /// is gone, else an invalid request when `invalid`.
    pub(super) fn expect_cloudhsm(&self, invalid: bool) -> Expect {
        if !self.exists() {
            Err(HSM_NOT_FOUND)
        } else if invalid {
            Err(HSM_INVALID)
        } else {
            Ok(())
        }
    }

    pub(super) fn exists(&self) -> bool {
        matches!(self.state, CState::Creating(_) | CState::Active)
    }

    pub(super) fn active_hsms(&self) -> impl Iterator<Item = &MHsm> {
        self.hsms.iter().filter(|h| h.active())
    }

    pub(super) fn active_zones(&self) -> usize {
        self.active_hsms()
            .map(|h| h.az.as_str())
            .collect::<BTreeSet<_>>()
            .len()
    }

    pub(super) fn state_name(&self) -> &'static str {
        match self.state {
            CState::Creating(_) => "CREATE_IN_PROGRESS",
            CState::Active => "ACTIVE",
            CState::Deleting(_) => "DELETE_IN_PROGRESS",
            CState::Deleted => "DELETED",
        }
    }
}

impl BState {
    pub(super) fn name(self) -> &'static str {
        match self {
            BState::Creating(_) => "CREATE_IN_PROGRESS",
            BState::Ready => "READY",
            BState::PendingDeletion(_) => "PENDING_DELETION",
            BState::Deleted => "DELETED",
        }
    }
}

impl MKey {
    pub(super) fn arn(&self) -> String {
        format!("{KEY_ARN_PREFIX}{}", self.id)
    }

    /// KMS's answer to a change of the key's state: EnableKey, DisableKey
    /// and ScheduleKeyDeletion (`pending_deletion` false) need a key that
    /// is not pending deletion, CancelKeyDeletion (true) one that is.
    pub(super) fn state_change(&self, pending_deletion: bool) -> Expect {
        let pending = match (self.deleted, self.status) {
            (true, _) => return Err(NOT_FOUND),
            (false, KStatus::Pending(_)) => true,
            (false, KStatus::Enabled | KStatus::Disabled) => false,
        };
        if pending == pending_deletion {
            Ok(())
        } else {
            Err(INVALID_STATE)
        }
    }
}

impl Model {
    /// The model of the world as loaded, read once from the engine.
    pub(super) fn observe_initial(e: &Engine) -> Model {
        e.with_state(|st| {
            let mut secrets: Vec<String> = Vec::new();
            let mut pw = |p: &Option<String>| -> Pw {
                let p = p.clone().expect("a password");
                match PASSWORDS.iter().position(|k| *k == p) {
                    Some(i) => Pw::Known(i),
                    None => {
                        let n = secrets.iter().position(|s| *s == p).unwrap_or_else(|| {
                            secrets.push(p.clone());
                            secrets.len() - 1
                        });
                        Pw::Secret(u32::try_from(n).unwrap())
                    }
                }
            };
            let mut user = |u: Option<&User>| -> MUser {
                let u = u.expect("kmsuser");
                let (failures, locked) = match u.lockout {
                    Lockout::Open { failures } => (failures, false),
                    Lockout::Locked => (0, true),
                };
                MUser {
                    pw: pw(&u.password),
                    failures,
                    locked,
                }
            };
            let key_of_label = |l: &str| l.strip_prefix(KEY_ARN_PREFIX).unwrap().to_owned();
            let cluster_ids: Vec<String> = st.clusters.keys().cloned().collect();
            let clusters: Vec<MCluster> = st
                .clusters
                .values()
                .map(|c| {
                    assert_eq!(c.state.as_str(), "ACTIVE");
                    MCluster {
                        id: c.id.clone(),
                        state: CState::Active,
                        hsms: c
                            .hsms
                            .iter()
                            .map(|h| {
                                assert_eq!(h.state.as_str(), "ACTIVE");
                                MHsm {
                                    id: h.id.clone(),
                                    az: h.availability_zone.clone(),
                                    subnet: h.subnet_id.clone(),
                                    ready_at: None,
                                    exhausted: false,
                                }
                            })
                            .collect(),
                        subnets: c.subnet_mapping.clone(),
                        kmsuser: user(c.users.get(KMSUSER)),
                        material: c.keys.iter().map(|k| key_of_label(&k.label)).collect(),
                        kms_login: c
                            .users
                            .logged_in(&SessionId::Kms(STORE.to_owned()))
                            .is_some(),
                        ops_admin: false,
                        ku_kmsuser: false,
                        blocked: false,
                        flaky: 0,
                        sg_ok: c.security_group_ok,
                        internal_errors: c.internal_errors,
                        next_backup: c.next_backup_at.as_millis(),
                    }
                })
                .collect();
            let backups = st
                .backups
                .values()
                .map(|b| {
                    assert_eq!(b.state.as_str(), "READY");
                    MBackup {
                        id: Some(b.id.clone()),
                        cluster: cluster_ids.iter().position(|c| *c == b.cluster_id).unwrap(),
                        created: b.create_timestamp.as_millis(),
                        state: BState::Ready,
                        material: b
                            .contents
                            .keys
                            .iter()
                            .map(|k| key_of_label(&k.label))
                            .collect(),
                        kmsuser: user(b.contents.users.get(KMSUSER)),
                    }
                })
                .collect();
            let keys = st
                .keys
                .values()
                .map(|k| MKey {
                    id: k.id.to_string(),
                    status: KStatus::Enabled,
                    deleted: false,
                    missing_since: None,
                })
                .collect();
            let s = &st.stores[STORE];
            assert_eq!(s.state.as_str(), "CONNECTED");
            let store = MStore {
                name: "ExampleKeyStore",
                trust_anchor: s.trust_anchor.clone(),
                cluster: cluster_ids.iter().position(|c| *c == s.cluster_id).unwrap(),
                pw: pw(&Some(s.password.clone())),
                conn: Conn::Connected,
            };
            Model {
                now: e.now().as_millis(),
                store,
                clusters,
                backups,
                keys,
                free: st
                    .subnets
                    .iter()
                    .map(|(id, s)| (id.clone(), s.free_addresses))
                    .collect(),
                cts: Vec::new(),
                secrets: u32::try_from(secrets.len()).unwrap(),
                deletions: Vec::new(),
            }
        })
    }

    pub(super) fn store_cluster(&mut self) -> &mut MCluster {
        &mut self.clusters[self.store.cluster]
    }

    pub(super) fn take_address(&mut self, subnet: &str) -> bool {
        match self.free.get_mut(subnet) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            Some(_) | None => false,
        }
    }

    pub(super) fn release_address(&mut self, subnet: &str) {
        if let Some(n) = self.free.get_mut(subnet) {
            *n = n.saturating_add(1);
        }
    }

    /// R7: KMS looks for each key's material in the store's cluster after
    /// every call; a key whose material went missing starts its delay then,
    /// and one whose material is back ends it (docs/fidelity.md I53). A
    /// store whose cluster is gone tells KMS nothing.
    pub(super) fn observe_material(&mut self) {
        let now = self.now;
        let c = &self.clusters[self.store.cluster];
        for k in &mut self.keys {
            let present = !c.exists() || c.material.contains(&k.id);
            k.missing_since = match (present, k.missing_since) {
                (true, _) => None,
                (false, None) => Some(now),
                (false, Some(t)) => Some(t),
            };
        }
    }

    /// Whether key `k`'s material has been missing long enough to read
    /// Unavailable (docs/fidelity.md F25, I53).
    pub(super) fn material_gone(&self, k: usize) -> bool {
        self.keys[k]
            .missing_since
            .is_some_and(|t| self.now >= t + MATERIAL_UNAVAILABLE_MS)
    }

    /// What DescribeKey shows (R1, and R7 for material gone).
    pub(super) fn visible(&self, k: usize) -> &'static str {
        match self.keys[k].status {
            KStatus::Pending(_) => "PendingDeletion",
            KStatus::Enabled | KStatus::Disabled
                if self.store.conn != Conn::Connected || self.material_gone(k) =>
            {
                "Unavailable"
            }
            KStatus::Enabled => "Enabled",
            KStatus::Disabled => "Disabled",
        }
    }

    /// A cryptographic operation with key `k` (R1, R2, R4, R7), consuming a
    /// crossing of the network path where the engine makes one.
    pub(super) fn crypto(&mut self, k: usize) -> Expect {
        if self.keys[k].deleted {
            return Err(NOT_FOUND);
        }
        let available = self.store.conn == Conn::Connected && !self.material_gone(k);
        let key = &self.keys[k];
        match key.status {
            KStatus::Pending(_) => return Err(INVALID_STATE),
            KStatus::Enabled | KStatus::Disabled if !available => return Err(INVALID_STATE),
            KStatus::Disabled => return Err(DISABLED),
            KStatus::Enabled => {}
        }
        let id = key.id.clone();
        let c = self.store_cluster();
        if !c.exists() || !c.sg_ok || !c.cross() || c.kmsuser.locked {
            return Err(INVALID_STATE);
        }
        if c.active_hsms().next().is_none() || !c.material.contains(&id) {
            return Err(INVALID_STATE);
        }
        if c.active_hsms().all(|h| h.exhausted) {
            return Err(KMS_INTERNAL);
        }
        Ok(())
    }
}

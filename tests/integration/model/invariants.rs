//! The invariants, checked after every step: the store as
//! DescribeCustomKeyStores shows it (ConnectionErrorCode exactly when
//! FAILED), every key's KeyState (R1), clusters and their HSMs, backups,
//! `kmsuser`'s lockout in every live cluster, and every ciphertext
//! decrypting exactly when its key is usable, as observed through the
//! engine and as the model predicts.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{json, Value};

use hsmdrill::engine::kms::KMSUSER;
use hsmdrill::engine::network::NetworkCondition;

use super::run::{b64, fail, millis};
use super::Run;
use super::{seen, TestResult, NOT_FOUND, STORE};
use super::{Conn, KStatus};

impl Run {
    pub(super) fn check(&mut self) -> TestResult {
        self.checking = true;
        let store_state = self.check_store()?;
        let key_states = self.check_keys()?;
        self.check_clusters()?;
        self.check_backups()?;
        self.check_users()?;
        self.check_ciphertexts(&store_state, &key_states)?;
        self.checking = false;
        Ok(())
    }

    /// DescribeCustomKeyStores: the model's state; `ConnectionErrorCode`
    /// exactly when `FAILED`.
    pub(super) fn check_store(&mut self) -> Result<String, TestCaseError> {
        let v = self
            .expect("DescribeCustomKeyStores", json!({}), Ok(()))?
            .unwrap();
        let stores = v["CustomKeyStores"].as_array().unwrap();
        prop_assert_eq!(stores.len(), 1);
        let s = &stores[0];
        let state = s["ConnectionState"].as_str().unwrap().to_owned();
        let code = s.get("ConnectionErrorCode");
        prop_assert_eq!(
            code.is_some(),
            state == "FAILED",
            "step {}: ConnectionErrorCode {:?} with ConnectionState {}",
            self.step,
            code,
            state
        );
        let want_code = match self.m.store.conn {
            Conn::Failed(c) => Some(json!(c)),
            Conn::Disconnected | Conn::Connecting(_) | Conn::Connected => None,
        };
        prop_assert_eq!(
            (state.as_str(), code.cloned()),
            (self.m.store.conn.name(), want_code),
            "step {}: the store is not as the model has it",
            self.step
        );
        prop_assert_eq!(
            &s["CloudHsmClusterId"],
            &json!(self.m.clusters[self.m.store.cluster].id)
        );
        prop_assert_eq!(&s["CustomKeyStoreName"], &json!(self.m.store.name));
        if self.record {
            match code {
                Some(c) => seen(format!("store FAILED/{}", c.as_str().unwrap())),
                None => seen(format!("store {state}")),
            }
        }
        Ok(state)
    }

    /// DescribeKey of every key: R1, and the model's state.
    pub(super) fn check_keys(&mut self) -> Result<Vec<Option<String>>, TestCaseError> {
        let mut states = Vec::new();
        for k in 0..self.m.keys.len() {
            let key = self.m.keys[k].clone();
            let want = if key.deleted { Err(NOT_FOUND) } else { Ok(()) };
            let r = self.expect("DescribeKey", json!({"KeyId": key.id}), want)?;
            let Some(v) = r else {
                states.push(None);
                continue;
            };
            let meta = &v["KeyMetadata"];
            let state = meta["KeyState"].as_str().unwrap().to_owned();
            // R1, from the runbook's words.
            let r1 = match key.status {
                KStatus::Pending(_) => "PendingDeletion",
                _ if self.m.store.conn != Conn::Connected => "Unavailable",
                // R7: material deleted long enough ago (F25, I53).
                _ if self.m.material_gone(k) => "Unavailable",
                KStatus::Enabled => "Enabled",
                KStatus::Disabled => "Disabled",
            };
            prop_assert_eq!(r1, self.m.visible(k));
            prop_assert_eq!(
                state.as_str(),
                r1,
                "step {}: key {} with the store {}",
                self.step,
                key.id,
                self.m.store.conn.name()
            );
            prop_assert_eq!(&meta["Enabled"], &json!(state == "Enabled"));
            match key.status {
                KStatus::Pending(at) => prop_assert_eq!(millis(&meta["DeletionDate"]), at),
                KStatus::Enabled | KStatus::Disabled => {
                    prop_assert!(meta.get("DeletionDate").is_none(), "{}", meta);
                }
            }
            if self.record {
                seen(format!("key {state}"));
            }
            states.push(Some(state));
        }
        Ok(states)
    }

    /// Every page of `op`: `input`, then `input` with each NextToken; the
    /// `member` lists of all the pages, in order.
    fn every_page(
        &mut self,
        op: &str,
        mut input: Value,
        member: &str,
    ) -> Result<Vec<Value>, TestCaseError> {
        let mut all = Vec::new();
        loop {
            let v = self.expect(op, input.clone(), Ok(()))?.unwrap();
            all.extend(v[member].as_array().unwrap().iter().cloned());
            match v.get("NextToken").and_then(Value::as_str) {
                Some(t) => input["NextToken"] = json!(t),
                None => return Ok(all),
            }
        }
    }

    /// DescribeClusters (every page): cluster and HSM states.
    pub(super) fn check_clusters(&mut self) -> TestResult {
        let seen: BTreeMap<String, Value> = self
            .every_page("DescribeClusters", json!({}), "Clusters")?
            .into_iter()
            .map(|c| (c["ClusterId"].as_str().unwrap().to_owned(), c))
            .collect();
        prop_assert_eq!(seen.len(), self.m.clusters.len());
        for c in &self.m.clusters {
            let got = seen
                .get(&c.id)
                .ok_or_else(|| fail(format!("cluster {} is not described", c.id)))?;
            prop_assert_eq!(&got["State"], &json!(c.state_name()), "cluster {}", c.id);
            let hsms: Vec<(String, String)> = got["Hsms"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| {
                    (
                        h["HsmId"].as_str().unwrap().to_owned(),
                        h["State"].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
            let want: Vec<(String, String)> = c
                .hsms
                .iter()
                .map(|h| {
                    let s = if h.active() {
                        "ACTIVE"
                    } else {
                        "CREATE_IN_PROGRESS"
                    };
                    (h.id.clone(), s.to_owned())
                })
                .collect();
            prop_assert_eq!(hsms, want, "step {}: HSMs of {}", self.step, c.id);
        }
        Ok(())
    }

    /// DescribeBackups (every page): learns the ids of backups taken on the
    /// clock and compares states.
    pub(super) fn check_backups(&mut self) -> TestResult {
        let seen = self.every_page("DescribeBackups", json!({"SortAscending": true}), "Backups")?;
        prop_assert_eq!(
            seen.len(),
            self.m.backups.len(),
            "step {}: backups {:?}",
            self.step,
            seen.iter().map(|b| &b["BackupId"]).collect::<Vec<_>>()
        );
        let by_id: BTreeMap<&str, &Value> = seen
            .iter()
            .map(|b| (b["BackupId"].as_str().unwrap(), b))
            .collect();
        for i in 0..self.m.backups.len() {
            if self.m.backups[i].id.is_none() {
                let b = &self.m.backups[i];
                let cluster = &self.m.clusters[b.cluster].id;
                let known: BTreeSet<&str> = self
                    .m
                    .backups
                    .iter()
                    .filter_map(|b| b.id.as_deref())
                    .collect();
                let found: Vec<&Value> = seen
                    .iter()
                    .filter(|v| {
                        v["ClusterId"] == json!(cluster)
                            && millis(&v["CreateTimestamp"]) == b.created
                            && !known.contains(v["BackupId"].as_str().unwrap())
                    })
                    .collect();
                prop_assert_eq!(
                    found.len(),
                    1,
                    "step {}: backup of {} at {}",
                    self.step,
                    cluster,
                    b.created
                );
                self.m.backups[i].id = Some(found[0]["BackupId"].as_str().unwrap().to_owned());
            }
            let b = &self.m.backups[i];
            let id = b.id.as_deref().unwrap();
            let got = by_id
                .get(id)
                .ok_or_else(|| fail(format!("backup {id} is not described")))?;
            prop_assert_eq!(&got["BackupState"], &json!(b.state.name()), "backup {}", id);
            prop_assert_eq!(&got["ClusterId"], &json!(self.m.clusters[b.cluster].id));
        }
        Ok(())
    }

    /// `user list` in every live cluster: kmsuser's lockout (R5).
    pub(super) fn check_users(&mut self) -> TestResult {
        for ci in 0..self.m.clusters.len() {
            if !self.m.clusters[ci].exists() {
                continue;
            }
            self.calls += 1;
            let cluster = self.m.clusters[ci].id.clone();
            let out = self.guard("cloudhsm_cli", || {
                self.e.cloudhsm_cli(&cluster, "check", "user list")
            })?;
            self.note(format!("cli {cluster} user list -> {out}"));
            let users = out["data"]["users"].as_array().unwrap();
            let kmsuser = users
                .iter()
                .find(|u| u["username"] == json!(KMSUSER))
                .unwrap();
            let locked = if self.m.clusters[ci].kmsuser.locked {
                "true"
            } else {
                "false"
            };
            prop_assert_eq!(
                &kmsuser["locked"],
                &json!(locked),
                "step {}: kmsuser in {}",
                self.step,
                cluster
            );
        }
        Ok(())
    }

    /// Whether, as the engine shows it, `key` can be used for cryptography
    /// now: KeyState Enabled, store CONNECTED, its material in the store's
    /// cluster, an active HSM with a free session, a reachable network and
    /// kmsuser not locked out.
    pub(super) fn observed_usable(
        &self,
        key_state: Option<&str>,
        store_state: &str,
        key_id: &str,
    ) -> bool {
        if key_state != Some("Enabled") || store_state != "CONNECTED" {
            return false;
        }
        self.e.with_state(|st| {
            let Some(store) = st.stores.get(STORE) else {
                return false;
            };
            let Some(key) = st.keys.get(key_id) else {
                return false;
            };
            let Some(c) = st.clusters.get(&store.cluster_id).filter(|c| c.exists()) else {
                return false;
            };
            let material = key
                .store()
                .is_some_and(|b| c.keys.by_id(&b.backing_key_id).is_some());
            let free_session = c.active_hsms().any(|h| h.pool.in_use() < h.pool.capacity());
            let reachable = c.security_group_ok && c.link.condition() == NetworkCondition::Ok;
            let locked = c.users.get(KMSUSER).is_some_and(|u| u.lockout.is_locked());
            material && free_session && reachable && !locked
        })
    }

    /// Every ciphertext decrypts exactly when its key is usable.
    pub(super) fn check_ciphertexts(
        &mut self,
        store_state: &str,
        key_states: &[Option<String>],
    ) -> TestResult {
        for i in 0..self.m.cts.len() {
            let ct = self.m.cts[i].clone();
            let key_id = self.m.keys[ct.key].id.clone();
            let observed =
                self.observed_usable(key_states[ct.key].as_deref(), store_state, &key_id);
            let want = self.m.crypto(ct.key);
            let input = json!({"CiphertextBlob": ct.blob, "EncryptionContext": ct.context});
            let r = self.expect("Decrypt", input, want)?;
            self.decrypt_checks += 1;
            prop_assert_eq!(
                r.is_some(),
                observed,
                "step {}: ciphertext of key {} decrypts: {:?}, but the key is{} usable",
                self.step,
                key_id,
                r,
                if observed { "" } else { " not" }
            );
            if let Some(v) = r {
                self.decrypted += 1;
                prop_assert_eq!(&v["Plaintext"], &json!(b64(&ct.plaintext)));
                prop_assert_eq!(&v["KeyId"], &json!(self.m.keys[ct.key].arn()));
            }
        }
        Ok(())
    }
}

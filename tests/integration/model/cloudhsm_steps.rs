//! The CloudHSM steps: CloudHSM CLI lines (admin login, logouts,
//! `kmsuser`'s password change and logins, `key delete`) and the CloudHSM
//! v2 API (CreateHsm, DeleteHsm, backups taken, deleted and restored, a
//! cluster from a backup, DeleteCluster), with the model's prediction of
//! each.

use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::json;

use hsmdrill::engine::faults::Fault;

use super::actions::{Session, Target};
use super::Run;
use super::{BState, CState, MCluster, MHsm, Pw};
use super::{
    TestResult, ADMIN_LOGIN, BACKUP_INTERVAL_MS, BACKUP_PENDING_MS, BOGUS_HSM, CLUSTER_CREATE_MS,
    CLUSTER_DELETE_MS, HSM_CREATE_MS, HSM_INVALID, HSM_NOT_FOUND, MAX_HSMS_PER_CLUSTER, PASSWORDS,
    WRONG, ZONES,
};

impl Run {
    pub(super) fn cli_admin_login(&mut self) -> TestResult {
        let ci = self.m.store.cluster;
        let c = &self.m.clusters[ci];
        let want = c.exists() && !c.ops_admin;
        self.cli(ci, Session::Ops, ADMIN_LOGIN, want)?;
        if want {
            self.m.clusters[ci].ops_admin = true;
        }
        Ok(())
    }

    pub(super) fn cli_logout(&mut self, s: Session) -> TestResult {
        let ci = self.m.store.cluster;
        let c = &mut self.m.clusters[ci];
        let logged_in = match s {
            Session::Ops => &mut c.ops_admin,
            Session::Ku => &mut c.ku_kmsuser,
        };
        let want = c.state == CState::Active && *logged_in;
        if want {
            *logged_in = false;
        }
        self.cli(ci, s, "logout", want)?;
        Ok(())
    }

    pub(super) fn cli_change_password(&mut self, p: usize) -> TestResult {
        let ci = self.m.store.cluster;
        let c = &mut self.m.clusters[ci];
        let want = c.state == CState::Active && c.ops_admin && !c.kms_login && !c.ku_kmsuser;
        if want {
            c.kmsuser.set_password(Pw::Known(p));
        }
        let line = format!(
            "user change-password --username kmsuser --role crypto-user --password {}",
            PASSWORDS[p]
        );
        self.cli(ci, Session::Ops, &line, want)?;
        Ok(())
    }

    pub(super) fn cli_kmsuser_login(&mut self, good: bool) -> TestResult {
        let ci = self.m.store.cluster;
        let p = match (good, self.m.clusters[ci].kmsuser.pw) {
            (true, Pw::Known(p)) => p,
            (true, Pw::Secret(_)) => 0,
            (false, _) => WRONG,
        };
        self.kmsuser_login(ci, p)?;
        Ok(())
    }

    pub(super) fn cli_bad_logins(&mut self, n: u32) -> TestResult {
        let ci = self.m.store.cluster;
        for _ in 0..n {
            self.kmsuser_login(ci, WRONG)?;
        }
        Ok(())
    }

    pub(super) fn cli_delete_material(&mut self, k: Index) -> TestResult {
        let ci = self.m.store.cluster;
        let k = self.key_index(k);
        let key_id = self.m.keys[k].id.clone();
        let c = &mut self.m.clusters[ci];
        let want = c.state == CState::Active && c.ku_kmsuser && c.material.contains(&key_id);
        if want {
            c.material.remove(&key_id);
        }
        let line = format!("key delete --filter attr.label={}", self.m.keys[k].arn());
        self.cli(ci, Session::Ku, &line, want)?;
        Ok(())
    }

    /// `login` as kmsuser in CLI session `ku` with password `p`.
    fn kmsuser_login(&mut self, ci: usize, p: usize) -> TestResult {
        let c = &mut self.m.clusters[ci];
        let want = if !c.exists() || c.ku_kmsuser || c.kmsuser.locked {
            false
        } else if c.kmsuser.pw != Pw::Known(p) {
            c.kmsuser.failed_login();
            false
        } else if c.kms_login {
            // R8: nobody logs in as kmsuser while KMS is.
            false
        } else {
            c.kmsuser.failures = 0;
            c.ku_kmsuser = true;
            true
        };
        let line = format!(
            "login --username kmsuser --role crypto-user --password {}",
            PASSWORDS[p]
        );
        self.cli(ci, Session::Ku, &line, want)
    }

    pub(super) fn create_hsm(&mut self, t: Target, z: usize) -> TestResult {
        let ci = self.resolve(t);
        let az = ZONES[z];
        let c = &self.m.clusters[ci];
        let subnet = c.subnets.get(az).cloned();
        // Still being created, 28 HSMs already, no subnet in the
        // zone, or no free address in it.
        let invalid = matches!(c.state, CState::Creating(_))
            || c.hsms.len() >= MAX_HSMS_PER_CLUSTER
            || subnet
                .as_ref()
                .is_none_or(|s| self.m.free.get(s) == Some(&0));
        let want = c.expect_cloudhsm(invalid);
        let input = json!({"ClusterId": c.id, "AvailabilityZone": az});
        if let Some(v) = self.expect("CreateHsm", input, want)? {
            let subnet = subnet.unwrap();
            self.m.take_address(&subnet);
            let hsm = &v["Hsm"];
            prop_assert_eq!(&hsm["State"], &json!("CREATE_IN_PROGRESS"));
            prop_assert_eq!(&hsm["SubnetId"], &json!(subnet));
            let ready_at = self.m.now + HSM_CREATE_MS;
            self.m.clusters[ci].hsms.push(MHsm {
                id: hsm["HsmId"].as_str().unwrap().to_owned(),
                az: az.to_owned(),
                subnet,
                ready_at: Some(ready_at),
                exhausted: false,
            });
        }
        Ok(())
    }

    pub(super) fn delete_hsm(&mut self, t: Target, h: Index) -> TestResult {
        let ci = self.resolve(t);
        let c = &self.m.clusters[ci];
        let hi = (!c.hsms.is_empty()).then(|| h.index(c.hsms.len()));
        let hsm_id = hi.map_or(BOGUS_HSM.to_owned(), |hi| c.hsms[hi].id.clone());
        let want = if c.exists() && hi.is_some() {
            Ok(())
        } else {
            Err(HSM_NOT_FOUND)
        };
        let input = json!({"ClusterId": c.id, "HsmId": hsm_id});
        if let Some(v) = self.expect("DeleteHsm", input, want)? {
            prop_assert_eq!(&v["HsmId"], &json!(hsm_id));
            let gone = self.m.clusters[ci].hsms.remove(hi.unwrap());
            self.m.release_address(&gone.subnet);
        }
        Ok(())
    }

    pub(super) fn take_backup(&mut self, t: Target) -> TestResult {
        let ci = self.resolve(t);
        let c = &self.m.clusters[ci];
        let want = c.expect_cloudhsm(c.active_hsms().next().is_none());
        let cluster = c.id.clone();
        let out = self.fault(Fault::Backup { cluster }, want)?;
        if want.is_ok() {
            self.m.take_backup(ci, self.m.now);
            let b = self.m.backups.last_mut().unwrap();
            b.id = Some(out["BackupId"].as_str().unwrap().to_owned());
        }
        Ok(())
    }

    pub(super) fn delete_or_restore_backup(&mut self, b: Index, delete: bool) -> TestResult {
        let bi = b.index(self.m.backups.len());
        let backup = &self.m.backups[bi];
        let want = match (delete, backup.state) {
            (true, BState::Ready) | (false, BState::PendingDeletion(_)) => Ok(()),
            (_, _) => Err(HSM_INVALID),
        };
        let op = if delete {
            "DeleteBackup"
        } else {
            "RestoreBackup"
        };
        let input = json!({"BackupId": backup.id.clone().unwrap()});
        if let Some(v) = self.expect(op, input, want)? {
            let state = if delete {
                BState::PendingDeletion(self.m.now + BACKUP_PENDING_MS)
            } else {
                BState::Ready
            };
            prop_assert_eq!(&v["Backup"]["BackupState"], &json!(state.name()));
            self.m.backups[bi].state = state;
        }
        Ok(())
    }

    pub(super) fn cluster_from_backup(&mut self, b: Index) -> TestResult {
        let bi = b.index(self.m.backups.len());
        let backup = self.m.backups[bi].clone();
        let original = self.m.clusters[0].subnets.clone();
        let want = if backup.state == BState::Ready {
            Ok(())
        } else {
            Err(HSM_INVALID)
        };
        let input = json!({
            "HsmType": "hsm2m.medium",
            "SubnetIds": original.values().collect::<Vec<_>>(),
            "SourceBackupId": backup.id,
        });
        if let Some(v) = self.expect("CreateCluster", input, want)? {
            let cluster = &v["Cluster"];
            prop_assert_eq!(&cluster["State"], &json!("CREATE_IN_PROGRESS"));
            prop_assert_eq!(&cluster["SourceBackupId"], &json!(backup.id));
            let now = self.m.now;
            self.m.clusters.push(MCluster {
                id: cluster["ClusterId"].as_str().unwrap().to_owned(),
                state: CState::Creating(now + CLUSTER_CREATE_MS),
                hsms: Vec::new(),
                subnets: original,
                kmsuser: backup.kmsuser.clone(),
                material: backup.material.clone(),
                kms_login: false,
                ops_admin: false,
                ku_kmsuser: false,
                blocked: false,
                flaky: 0,
                sg_ok: true,
                internal_errors: 0,
                next_backup: now + BACKUP_INTERVAL_MS,
            });
        }
        Ok(())
    }

    pub(super) fn delete_cluster(&mut self, t: Target) -> TestResult {
        let ci = self.resolve(t);
        let c = &self.m.clusters[ci];
        let want = c.expect_cloudhsm(!c.hsms.is_empty() || c.state != CState::Active);
        let input = json!({"ClusterId": c.id});
        if let Some(v) = self.expect("DeleteCluster", input, want)? {
            prop_assert_eq!(&v["Cluster"]["State"], &json!("DELETE_IN_PROGRESS"));
            self.m.clusters[ci].state = CState::Deleting(self.m.now + CLUSTER_DELETE_MS);
        }
        Ok(())
    }
}

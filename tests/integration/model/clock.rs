//! The reference model on the clock: the work that falls due (clusters and
//! HSMs made or deleted, backups taken daily and finished or purged, the
//! store's connect attempt judged, keys deleted at the end of their
//! waiting period) in the engine's order, and `Engine::settle`'s twin.

use super::{BState, CState, Conn, KStatus, MBackup, Model, Pw, Work};
use super::{BACKUP_INTERVAL_MS, BACKUP_MS};

impl Model {
    /// Pending work; `transitional_only` as `Engine::settle` counts it.
    pub(super) fn pending(&self, transitional_only: bool) -> Vec<(i64, Work)> {
        let mut out = Vec::new();
        for (ci, c) in self.clusters.iter().enumerate() {
            if let CState::Creating(t) | CState::Deleting(t) = c.state {
                out.push((t, Work::Cluster(c.id.clone(), ci)));
            }
            for (hi, h) in c.hsms.iter().enumerate() {
                if let Some(t) = h.ready_at {
                    out.push((t, Work::Hsm(c.id.clone(), h.id.clone(), ci, hi)));
                }
            }
            if !transitional_only && c.state == CState::Active {
                out.push((c.next_backup, Work::DailyBackup(c.id.clone(), ci)));
            }
        }
        for (bi, b) in self.backups.iter().enumerate() {
            match b.state {
                BState::Creating(t) => out.push((t, Work::Backup(bi))),
                BState::PendingDeletion(t) if !transitional_only => {
                    out.push((t, Work::Backup(bi)));
                }
                BState::PendingDeletion(_) | BState::Ready | BState::Deleted => {}
            }
        }
        if let Conn::Connecting(t) = self.store.conn {
            out.push((t, Work::Store));
        }
        if !transitional_only {
            for (ki, k) in self.keys.iter().enumerate() {
                if let (KStatus::Pending(t), false) = (k.status, k.deleted) {
                    out.push((t, Work::KeyDeletion(k.id.clone(), ki)));
                }
            }
        }
        out
    }

    pub(super) fn catch_up(&mut self) {
        while let Some((at, work)) = self
            .pending(false)
            .into_iter()
            .filter(|(t, _)| *t <= self.now)
            .min()
        {
            self.work(at, work);
        }
    }

    pub(super) fn advance(&mut self, ms: i64) {
        self.now += ms;
        self.catch_up();
    }

    /// `Engine::settle`; returns how far the clock moved.
    pub(super) fn settle(&mut self) -> i64 {
        let start = self.now;
        loop {
            self.catch_up();
            match self.pending(true).into_iter().map(|(t, _)| t).min() {
                Some(t) if t > self.now => self.now = t,
                Some(_) | None => break,
            }
        }
        self.now - start
    }

    pub(super) fn work(&mut self, at: i64, work: Work) {
        match work {
            Work::Cluster(_, ci) => {
                let c = &mut self.clusters[ci];
                if let CState::Deleting(_) = c.state {
                    c.state = CState::Deleted;
                    c.log_everyone_out();
                } else {
                    c.state = CState::Active;
                    c.next_backup = at + BACKUP_INTERVAL_MS;
                }
            }
            Work::Hsm(_, _, ci, hi) => self.clusters[ci].hsms[hi].ready_at = None,
            Work::Backup(bi) => {
                let b = &mut self.backups[bi];
                b.state = match b.state {
                    BState::Creating(_) => BState::Ready,
                    BState::PendingDeletion(_) | BState::Ready | BState::Deleted => BState::Deleted,
                };
            }
            Work::DailyBackup(_, ci) => {
                if self.clusters[ci].active_hsms().next().is_some() {
                    self.take_backup(ci, at);
                }
                self.clusters[ci].next_backup = at + BACKUP_INTERVAL_MS;
            }
            Work::Store => {
                self.store.conn = match self.judge_connect() {
                    None => Conn::Connected,
                    Some(code) => Conn::Failed(code),
                };
            }
            Work::KeyDeletion(_, ki) => self.delete_key(ki),
        }
    }

    pub(super) fn take_backup(&mut self, ci: usize, at: i64) {
        let c = &self.clusters[ci];
        self.backups.push(MBackup {
            id: None,
            cluster: ci,
            created: at,
            state: BState::Creating(at + BACKUP_MS),
            material: c.material.clone(),
            kmsuser: c.kmsuser.clone(),
        });
    }

    /// R3/R5/R9: the connect attempt judged when its time is up.
    pub(super) fn judge_connect(&mut self) -> Option<&'static str> {
        let store_pw = self.store.pw;
        let ci = self.store.cluster;
        let c = &mut self.clusters[ci];
        if !c.exists() {
            return Some("CLUSTER_NOT_FOUND");
        }
        if c.internal_errors > 0 {
            c.internal_errors -= 1;
            return Some("INTERNAL_ERROR");
        }
        if c.active_hsms().next().is_none() {
            return Some("INSUFFICIENT_CLOUDHSM_HSMS");
        }
        let subnets: Vec<String> = c.subnets.values().cloned().collect();
        if subnets.iter().any(|s| self.free.get(s) == Some(&0)) {
            return Some("INSUFFICIENT_FREE_ADDRESSES_IN_SUBNET");
        }
        let c = &mut self.clusters[ci];
        if !c.sg_ok || !c.cross() {
            return Some("NETWORK_ERRORS");
        }
        if c.kmsuser.locked {
            return Some("USER_LOCKED_OUT");
        }
        if c.ku_kmsuser {
            return Some("USER_LOGGED_IN");
        }
        if !c.kms_login {
            if c.kmsuser.pw != store_pw {
                c.kmsuser.failed_login();
                return Some("INVALID_CREDENTIALS");
            }
            c.kms_login = true;
            c.kmsuser.failures = 0;
        }
        let secret = Pw::Secret(self.secrets);
        self.secrets += 1;
        self.clusters[ci].kmsuser.set_password(secret);
        self.store.pw = secret;
        for s in &subnets {
            self.take_address(s);
        }
        None
    }

    /// R6: the end of the waiting period.
    pub(super) fn delete_key(&mut self, ki: usize) {
        self.keys[ki].deleted = true;
        let id = self.keys[ki].id.clone();
        let connected = self.store.conn == Conn::Connected;
        let c = self.store_cluster();
        let deleted = connected
            && c.exists()
            && c.sg_ok
            && c.cross()
            && c.active_hsms().next().is_some()
            && c.kms_login
            && !c.kmsuser.locked
            && c.material.remove(&id);
        let status = if deleted { "SUCCESS" } else { "FAILURE" };
        self.deletions.push((id, status));
    }
}

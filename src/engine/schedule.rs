//! Work that falls due on the clock, done in time order.
//!
//! Nothing runs in the background: states that take time carry the instant
//! they complete, and [`Engine::catch_up`] (called at the start of every
//! operation, and by `advance`/`settle`) does every piece of work whose
//! instant has passed, earliest first, each at its own instant. Ties are
//! broken by kind and id, so the outcome is a function of the steps alone.
//!
//! Every piece of work is the `on_clock` transition of its machine
//! (`machines/`), applied here with its effects; nothing here decides a
//! state by itself.
//!
//! Catching up also looks for the material of every key in a CloudHSM key
//! store (R7, [`Material`](super::machines::Material)): a deletion in the
//! cluster (a CLI `key delete`) or a store moved to a cluster without it
//! starts the key's delay to `Unavailable` at the previous catch-up, the
//! instant of the call that made the change; material that is back ends it.

use std::sync::atomic::Ordering;

use super::clock::Timestamp;
use super::cloudhsm::backup::{Backup, BackupContents, BackupState};
use super::cloudhsm::cluster::{ClusterState, HsmState};
use super::config::Timing;
use super::ids::IdKind;
use super::kms::key::{KeyOrigin, KeyStatus, StoreBacking};
use super::machines::{Timed, Transition};
use super::state::State;
use super::Engine;

/// One piece of due work. The variant order is the tie-break order.
#[derive(Clone, Debug, Eq, Ord, PartialEq, PartialOrd)]
enum Work {
    Cluster(String),
    Hsm(String, String),
    Backup(String),
    DailyBackup(String),
    Store(String),
    KeyDeletion(String),
    KeyRotation(String),
    KeyMaterial(String),
}

/// Every pending piece of work with its instant.
fn pending(st: &State, transitional_only: bool) -> Vec<(Timestamp, Work)> {
    let mut out = Vec::new();
    for (id, c) in &st.clusters {
        if let Some(t) = c.state.completes_at() {
            out.push((t, Work::Cluster(id.clone())));
        }
        for h in &c.hsms {
            if let Some(t) = h.state.completes_at() {
                out.push((t, Work::Hsm(id.clone(), h.id.clone())));
            }
        }
        // A DEGRADED cluster keeps its daily backups (docs/fidelity.md I56).
        if !transitional_only && c.state.serves_kms() {
            out.push((c.next_backup_at, Work::DailyBackup(id.clone())));
        }
    }
    for (id, b) in &st.backups {
        match b.state {
            BackupState::CreateInProgress { completes_at } => {
                out.push((completes_at, Work::Backup(id.clone())));
            }
            BackupState::PendingDeletion { deletes_at } if !transitional_only => {
                out.push((deletes_at, Work::Backup(id.clone())));
            }
            BackupState::PendingDeletion { .. } | BackupState::Ready | BackupState::Deleted => {}
        }
    }
    for (id, s) in &st.stores {
        if let Some(t) = s.state.completes_at() {
            out.push((t, Work::Store(id.clone())));
        }
    }
    if !transitional_only {
        for (id, k) in &st.keys {
            if let Some(t) = k.status.completes_at() {
                out.push((t, Work::KeyDeletion(id.clone())));
            }
            if let Some(t) = k.store().and_then(|b| b.material_in_cluster.completes_at()) {
                out.push((t, Work::KeyMaterial(id.clone())));
            }
            // Automatic rotation of an enabled AWS_KMS key; a disabled key
            // or one pending deletion waits (docs/fidelity.md F19).
            if let (KeyOrigin::AwsKms(m), KeyStatus::Enabled) = (&k.origin, k.status) {
                if let Some(r) = m.rotation {
                    out.push((r.next, Work::KeyRotation(id.clone())));
                }
            }
        }
    }
    out
}

/// R7: whether the material of a CloudHSM key store key is in its store's
/// cluster. A store or cluster that is gone tells KMS nothing about the
/// material (it cannot reach the cluster at all, R2): present, as far as the
/// key's state goes (docs/fidelity.md I53).
fn material_present(st: &State, b: &StoreBacking) -> bool {
    let Some(store) = st.stores.get(&*b.store_id) else {
        return true;
    };
    match st.clusters.get(&store.cluster_id).filter(|c| c.exists()) {
        Some(c) => c.keys.by_id(&b.backing_key_id).is_some(),
        None => true,
    }
}

/// What R7's news depends on besides each key's own backing: which cluster
/// each store uses, whether each cluster exists, and the stamps of each
/// cluster's index of key ids ([`KeyStoreOfCluster::stamps`]). Keys
/// themselves make no news: a key KMS adds to a store has its material
/// made in the cluster by the same call and starts `Present`, and a key
/// removed is not looked at. Material can only vanish by leaving an index
/// (a removal stamp), a cluster that stops existing or a store moved to
/// another cluster; it can only come back by entering an index, which
/// matters only while some key's material is missing: so the additions
/// count only then, and a world that grows by CreateKey is not looked at
/// key by key after each one.
///
/// [`KeyStoreOfCluster::stamps`]: super::cloudhsm::keys::KeyStoreOfCluster::stamps
#[derive(Debug, Eq, PartialEq)]
pub(super) struct MaterialInputs {
    /// Each store's cluster, in store order.
    stores: Vec<(String, String)>,
    /// Each cluster: whether it exists and its index's removal stamp, and
    /// its addition stamp when additions count (else 0).
    clusters: Vec<(String, bool, u64, u64)>,
    /// Whether some key's material was missing, so that material entering
    /// an index may be news.
    additions_count: bool,
}

impl MaterialInputs {
    /// The inputs of `st`, looked at whole.
    #[cfg(test)]
    fn of(st: &State) -> Self {
        Self::with(st, material_look(st).1)
    }

    /// The inputs of `st`, where a look found some material missing (or
    /// not).
    fn with(st: &State, additions_count: bool) -> Self {
        MaterialInputs {
            stores: st
                .stores
                .iter()
                .map(|(id, s)| (id.clone(), s.cluster_id.clone()))
                .collect(),
            clusters: st
                .clusters
                .iter()
                .map(|(id, c)| {
                    let (removed, added) = c.keys.stamps();
                    let added = if additions_count { added } else { 0 };
                    (id.clone(), c.exists(), removed, added)
                })
                .collect(),
            additions_count,
        }
    }

    /// Whether `st` depends on the same (so a look would find nothing).
    fn unchanged_in(&self, st: &State) -> bool {
        *self == Self::with(st, self.additions_count)
    }
}

/// The keys whose material KMS would see differently now, with what it sees.
fn material_news(st: &State) -> Vec<(String, bool)> {
    material_look(st).0
}

/// [`material_news`], and whether some key's material is missing, in one
/// pass over the keys.
fn material_look(st: &State) -> (Vec<(String, bool)>, bool) {
    let mut missing = false;
    let news = st
        .keys
        .iter()
        .filter_map(|(id, k)| {
            let b = k.store()?;
            let present = material_present(st, b);
            missing |= !present;
            // News is what the machine would move on (the instant and the
            // delay do not decide whether it moves).
            let moves = b.material_in_cluster.on_observed(
                present,
                Timestamp::from_millis(0),
                std::time::Duration::ZERO,
            );
            (moves != Transition::Unchanged).then(|| (id.clone(), present))
        })
        .collect();
    (news, missing)
}

/// The earliest instant at which transitional work completes.
pub(super) fn next_transitional(st: &State) -> Option<Timestamp> {
    pending(st, true).into_iter().map(|(t, _)| t).min()
}

impl Engine {
    /// Does all work due by now.
    pub(crate) fn catch_up(&self) -> Timestamp {
        let now = self.clock.now();
        if now.as_millis() < self.next_due.load(Ordering::Acquire) && self.no_material_news() {
            self.last_seen.store(now.as_millis(), Ordering::Release);
            return now;
        }
        let mut st = self.state.write();
        self.catch_up_locked(&mut st, now);
        now
    }

    /// Whether no key's material would look different to KMS now. Only a
    /// change to the state can make news, so once a look finds none, calls
    /// skip the look until the state's write count moves (every data-plane
    /// call asks, and a look visits every key); and a write that left what
    /// presence depends on as it was ([`MaterialInputs`]) made none either,
    /// so a world built by one CreateKey after another costs no look per
    /// key.
    fn no_material_news(&self) -> bool {
        // Without the lock first: a count equal to the one a look found
        // nothing at means no write lock was handed out since (a writer
        // counts before it changes anything).
        if self.material_unchanged_at.load(Ordering::Acquire) == self.state.writes() {
            return true;
        }
        let st = self.state.read();
        // Stable while `st` is held: no write lock can be taken meanwhile.
        let writes = self.state.writes();
        if self.material_unchanged_at.load(Ordering::Acquire) == writes {
            return true;
        }
        let mut last = self.material_inputs.lock();
        if let Some(inputs) = last.as_ref() {
            if inputs.unchanged_in(&st) {
                self.material_unchanged_at.store(writes, Ordering::Release);
                return true;
            }
        }
        let (news, missing) = material_look(&st);
        let none = news.is_empty();
        if none {
            *last = Some(MaterialInputs::with(&st, missing));
            self.material_unchanged_at.store(writes, Ordering::Release);
        }
        none
    }

    /// Does all work due by `now` on a state already locked for writing, and
    /// recomputes when work is next due.
    pub(crate) fn catch_up_locked(&self, st: &mut State, now: Timestamp) {
        let since = self.last_seen.swap(now.as_millis(), Ordering::AcqRel);
        self.observe_material(st, Timestamp::from_millis(since.min(now.as_millis())));
        // Each piece of work can create or move others (a daily backup
        // schedules the next), so take the earliest one at a time.
        let mut last = None;
        while let Some((at, work)) = pending(st, false)
            .into_iter()
            .filter(|(t, _)| *t <= now)
            .min()
        {
            // Every piece of work removes or moves itself; should one ever
            // fail to, stop rather than spin.
            if last.as_ref() == Some(&(at, work.clone())) {
                break;
            }
            last = Some((at, work.clone()));
            self.do_work(st, at, work);
        }
        self.reschedule(st);
    }

    /// R7: KMS sees each key's material as it is now, as from `since` (the
    /// previous catch-up: the change was made by a call after it). The
    /// transition is the key's [`Material`](super::machines::Material) machine's.
    fn observe_material(&self, st: &mut State, since: Timestamp) {
        let delay = Timing::secs(self.config.timing.key_material_unavailable_seconds);
        for (id, present) in material_news(st) {
            if let Some(KeyOrigin::AwsCloudHsm(b)) = st.keys.get_mut(&id).map(|k| &mut k.origin) {
                b.material_in_cluster
                    .on_observed(present, since, delay)
                    .apply(&mut b.material_in_cluster);
            }
        }
    }

    /// Called after a control-plane change that may have created work.
    pub(crate) fn reschedule(&self, st: &State) {
        let next = pending(st, false)
            .into_iter()
            .map(|(t, _)| t.as_millis())
            .min()
            .unwrap_or(i64::MAX);
        self.next_due.store(next, Ordering::Release);
    }

    fn do_work(&self, st: &mut State, at: Timestamp, work: Work) {
        match work {
            Work::Cluster(id) => {
                if let Some(c) = st.clusters.get_mut(&id) {
                    if let Transition::To(s) = c.state.on_clock(at) {
                        c.state = s;
                        if s == ClusterState::Deleted {
                            c.users.clear_logins();
                            c.held_sessions.clear();
                        }
                        if s == ClusterState::Active {
                            c.next_backup_at =
                                at.plus(Timing::secs(self.config.timing.backup_interval_seconds));
                        }
                    }
                }
            }
            Work::Hsm(cluster_id, hsm_id) => {
                let Some(c) = st.clusters.get_mut(&cluster_id) else {
                    return;
                };
                let Some(pos) = c.hsms.iter().position(|h| h.id == hsm_id) else {
                    return;
                };
                if let Transition::To(s) = c.hsms[pos].state.on_clock(at) {
                    if s == HsmState::Deleted {
                        let h = c.hsms.remove(pos);
                        if let Some(sn) = st.subnets.get_mut(&h.subnet_id) {
                            sn.release_address();
                        }
                    } else {
                        c.hsms[pos].state = s;
                        // A failure here is a bug in building certificates;
                        // the cluster then shows no CSR, as before its HSM.
                        let _ = c.on_hsm_active(self.config.seed);
                    }
                    c.sync_health();
                }
            }
            Work::Backup(id) => {
                if let Some(b) = st.backups.get_mut(&id) {
                    b.state.on_clock(at).apply(&mut b.state);
                }
            }
            Work::DailyBackup(cluster_id) => {
                let interval = Timing::secs(self.config.timing.backup_interval_seconds);
                let has_hsm = st
                    .clusters
                    .get(&cluster_id)
                    .is_some_and(|c| c.active_hsms().next().is_some());
                if has_hsm {
                    self.take_backup_locked(st, &cluster_id, at);
                }
                if let Some(c) = st.clusters.get_mut(&cluster_id) {
                    c.next_backup_at = at.plus(interval.max(std::time::Duration::from_secs(1)));
                }
            }
            Work::Store(id) => {
                let Some(state) = st.stores.get(&id).map(|s| s.state) else {
                    return;
                };
                // The store's own clock transition; a due connect attempt is
                // judged (with the connect's effects) only when it is due.
                let next = state.on_clock(at, || self.judge_connect(st, &id));
                if let Some(s) = st.stores.get_mut(&id) {
                    next.apply(&mut s.state);
                }
            }
            Work::KeyRotation(key_id) => self.rotate_on_schedule(st, &key_id, at),
            Work::KeyMaterial(key_id) => {
                if let Some(KeyOrigin::AwsCloudHsm(b)) =
                    st.keys.get_mut(&key_id).map(|k| &mut k.origin)
                {
                    b.material_in_cluster
                        .on_clock(at)
                        .apply(&mut b.material_in_cluster);
                }
            }
            Work::KeyDeletion(key_id) => {
                let Some(status) = st.keys.get(&key_id).map(|k| k.status) else {
                    return;
                };
                match status.on_clock(at) {
                    Transition::End => self.delete_key_at_end_of_window(st, &key_id, at),
                    next @ (Transition::To(_) | Transition::Unchanged) => {
                        if let Some(k) = st.keys.get_mut(&key_id) {
                            next.apply(&mut k.status);
                        }
                    }
                }
            }
        }
    }

    /// Takes a backup of a cluster now (at `at`); returns its id.
    pub(crate) fn take_backup_locked(
        &self,
        st: &mut State,
        cluster_id: &str,
        at: Timestamp,
    ) -> Option<String> {
        let c = st.clusters.get(cluster_id)?;
        let contents = BackupContents {
            users: {
                let mut u = c.users.clone();
                u.clear_logins();
                u
            },
            keys: c.keys.clone(),
            certificates: c.certificates.clone(),
            trust_anchor: c.trust_anchor.clone(),
        };
        let state = BackupState::CreateInProgress {
            completes_at: at.plus(Timing::secs(self.config.timing.backup_seconds)),
        }
        .settled(at);
        let source_backup = c.source_backup_id.clone();
        let hsm_type = c.hsm_type.clone();
        let mode = c.mode.clone();
        let id = st.ids.id(IdKind::Backup);
        st.backups.insert(
            id.clone(),
            Backup {
                id: id.clone(),
                state,
                cluster_id: cluster_id.to_owned(),
                create_timestamp: at,
                delete_timestamp: None,
                source_backup,
                hsm_type,
                mode,
                never_expires: false,
                contents: std::sync::Arc::new(contents),
                copied_from: None,
            },
        );
        Some(id)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::MaterialInputs;
    use crate::engine::world::example;

    const CLUSTER: &str = "cluster-1a23b4cdefg";
    const STORE: &str = "cks-1234567890abcdef0";

    /// A CreateKey leaves what R7's look depends on as it was (so a world
    /// built key by key is not looked at key by key), while each change
    /// that can make material vanish or come back does not; and the look,
    /// when it is made, still finds the news.
    #[test]
    fn only_what_can_move_material_calls_for_a_look_at_every_key() {
        let e = example();
        let create = |e: &crate::engine::Engine| {
            e.call(
                "CreateKey",
                json!({"Origin": "AWS_CLOUDHSM", "CustomKeyStoreId": STORE}),
            )
            .unwrap()["KeyMetadata"]["KeyId"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        let inputs = e.with_state(MaterialInputs::of);
        let key = create(&e);
        create(&e);
        assert!(e.with_state(|st| inputs.unchanged_in(st)), "CreateKey");
        let backing = e.with_state(|st| st.keys[&key].store().unwrap().backing_key_id.to_string());
        e.delete_key_material(CLUSTER, &backing).unwrap();
        assert!(
            !e.with_state(|st| inputs.unchanged_in(st)),
            "material left the cluster"
        );
        // The call after the deletion looks, and its key goes Unavailable
        // once the delay has passed.
        e.call("DescribeKey", json!({"KeyId": key})).unwrap();
        let missing = e.with_state(MaterialInputs::of);
        assert!(missing.additions_count, "some material is missing");
        // While it is, material entering a cluster may be news: a CreateKey
        // calls for a look.
        create(&e);
        assert!(
            !e.with_state(|st| missing.unchanged_in(st)),
            "added while missing"
        );
        e.advance(std::time::Duration::from_secs(24 * 3600));
        let state = e.call("DescribeKey", json!({"KeyId": key})).unwrap()["KeyMetadata"]
            ["KeyState"]
            .clone();
        assert_eq!(state, "Unavailable");
    }
}

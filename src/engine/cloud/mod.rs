//! Several accounts and Regions: one [`Engine`] per partition, on one clock.
//!
//! An [`Engine`] is one AWS account in one Region: its key stores, keys,
//! aliases, clusters, backups and CloudTrail trail are that partition's, and
//! every ARN it prints carries its `config.account` and `config.region`.
//! AWS keeps these apart (a key in `us-west-2` does not exist for an
//! `eu-west-1` client; CloudTrail records per account and Region), so a
//! [`Cloud`] holds one engine per [`Partition`] rather than one engine with
//! a partition column in every map: the engine's operations, state machines
//! and snapshots stay exactly as they are, and isolation is by
//! construction.
//!
//! How partitions meet:
//!
//! - **One clock.** Every partition's engine holds a clone of the same
//!   [`Clock`], so time is the same everywhere. Each engine does its due work
//!   lazily at its next call (each piece at its own instant, see
//!   `schedule.rs`); [`Cloud::advance`] and [`Cloud::settle`] also catch up
//!   every partition, so a drill that waits sees every Region move.
//! - **Lazily created.** A partition other than the default one comes into
//!   being the first time a request names it, empty, with a seed derived
//!   from the world's seed, its account and its Region ([`derived_seed`]):
//!   the same requests always give the same ids, and partitions never share
//!   ids by accident. The *default* partition (the world's own `account` and
//!   `region`) keeps the world's seed unchanged, so a single-Region world
//!   gives byte for byte what it gave before partitions existed.
//! - **Accounts by access key.** A world maps access key ids to accounts
//!   ([`Cloud::account_for`]); a key it does not map uses the default
//!   account, so unsigned requests and any credentials keep working as
//!   before.
//! - **Cross-partition operations** live here, not in an engine:
//!   `CopyBackupToRegion` (`copy.rs`) reads a backup in one partition and
//!   writes its copy into another. [`Cloud::call`] routes every other
//!   operation to the partition's engine unchanged.
//!
//! `persist.rs` builds a cloud back from its partitions' rows (the state
//! file of `hsmdrill serve --state`).

mod copy;
pub mod persist;
pub mod regions;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;
use serde_json::Value;

use super::clock::{Clock, Timestamp};
use super::dispatch::Api;
use super::error::{Error, ErrorKind, Result};
use super::ids::IdGen;
use super::Engine;

/// One AWS account in one Region.
#[derive(Clone, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub struct Partition {
    /// The 12-digit account id.
    pub account: String,
    /// The Region name (`us-west-2`).
    pub region: String,
}

impl Partition {
    /// The partition of `account` in `region`.
    pub fn new(account: impl Into<String>, region: impl Into<String>) -> Self {
        Self {
            account: account.into(),
            region: region.into(),
        }
    }

    /// The partition an engine serves.
    pub fn of(engine: &Engine) -> Self {
        Self::new(&engine.config().account, &engine.config().region)
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "account {} in {}", self.account, self.region)
    }
}

/// The operations of the cloud rather than of one engine (they span
/// partitions), each with its input members in the AWS model, for front
/// ends that check a scenario before running it. All are CloudHSM v2's.
pub const OPERATIONS: &[(&str, &[&str])] = &[(
    copy::OPERATION,
    &["DestinationRegion", "BackupId", "TagList"],
)];

/// The input members of a cloud operation (see [`OPERATIONS`]).
pub fn operation_members(name: &str) -> Option<&'static [&'static str]> {
    OPERATIONS
        .iter()
        .find(|(op, _)| *op == name)
        .map(|(_, members)| *members)
}

/// Whether `account` is an AWS account id: 12 digits.
pub fn is_account_id(account: &str) -> bool {
    account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())
}

/// The seed of a partition other than the default one: the world's seed
/// mixed with the partition's account and Region (FNV-1a over
/// `account/region`, then one splitmix64 step), so each partition draws its
/// own ids, the same ones every run.
pub fn derived_seed(base: u64, partition: &Partition) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in partition
        .account
        .bytes()
        .chain(std::iter::once(b'/'))
        .chain(partition.region.bytes())
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    IdGen::new(base ^ h).next_u64()
}

impl From<Engine> for Cloud {
    fn from(engine: Engine) -> Self {
        Cloud::new(engine)
    }
}

/// Every partition of a world, on one clock.
#[derive(Debug)]
pub struct Cloud {
    clock: Clock,
    default: Arc<Engine>,
    others: RwLock<BTreeMap<Partition, Arc<Engine>>>,
    /// Access key id → account.
    access_keys: BTreeMap<String, String>,
}

impl Cloud {
    /// A cloud whose default partition is `engine` (and its clock everyone's).
    pub fn new(engine: Engine) -> Self {
        Self {
            clock: engine.clock().clone(),
            default: Arc::new(engine),
            others: RwLock::new(BTreeMap::new()),
            access_keys: BTreeMap::new(),
        }
    }

    /// The same cloud with these further partitions (each on this cloud's
    /// clock: build them with [`Cloud::fresh_engine`] or from this clock).
    pub fn with_partitions(self, engines: impl IntoIterator<Item = Engine>) -> Self {
        {
            let mut others = self.others.write();
            for e in engines {
                others.insert(Partition::of(&e), Arc::new(e));
            }
        }
        self
    }

    /// The same cloud with access key ids mapped to accounts.
    pub fn with_access_keys(mut self, keys: BTreeMap<String, String>) -> Self {
        self.access_keys = keys;
        self
    }

    /// The same cloud with connect attempts taking `seconds` in every
    /// partition, and in those created later (`hsmdrill serve
    /// --connect-seconds`). Call it before sharing the cloud.
    pub fn with_connect_seconds(mut self, seconds: Option<u64>) -> Self {
        let Some(s) = seconds else {
            return self;
        };
        let engines = std::iter::once(&mut self.default).chain(self.others.get_mut().values_mut());
        for engine in engines {
            if let Some(e) = Arc::get_mut(engine) {
                e.config.timing.connect_seconds = s;
            }
        }
        self
    }

    /// The access key id → account map.
    pub fn access_keys(&self) -> &BTreeMap<String, String> {
        &self.access_keys
    }

    /// The clock every partition reads.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The current instant.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The world's own account and Region.
    pub fn default_partition(&self) -> Partition {
        Partition::of(&self.default)
    }

    /// The default partition's engine.
    pub fn default_engine(&self) -> &Arc<Engine> {
        &self.default
    }

    /// The account of an access key id: the world's mapping, else the
    /// default account.
    pub fn account_for(&self, access_key: Option<&str>) -> String {
        access_key
            .and_then(|k| self.access_keys.get(k))
            .cloned()
            .unwrap_or_else(|| self.default.config().account.clone())
    }

    /// An empty engine for `partition`: the default partition's settings,
    /// the partition's account and Region, a seed derived from the world's,
    /// on this cloud's clock.
    pub fn fresh_engine(&self, partition: &Partition) -> Engine {
        let mut config = self.default.config().clone();
        config.seed = derived_seed(config.seed, partition);
        config.account.clone_from(&partition.account);
        config.region.clone_from(&partition.region);
        Engine::with_clock(config, self.clock.clone())
    }

    /// The engine of `partition`, created empty on first use; `None` if its
    /// Region is not one AWS has ([`regions::is_known`]) or its account is
    /// not 12 digits.
    pub fn engine(&self, partition: &Partition) -> Option<Arc<Engine>> {
        if *partition == self.default_partition() {
            return Some(self.default.clone());
        }
        if !regions::is_known(&partition.region) || !is_account_id(&partition.account) {
            return None;
        }
        if let Some(e) = self.others.read().get(partition) {
            return Some(e.clone());
        }
        let mut others = self.others.write();
        let engine = others
            .entry(partition.clone())
            .or_insert_with(|| Arc::new(self.fresh_engine(partition)));
        Some(engine.clone())
    }

    /// The engine of `partition` if it exists already (never creates one).
    pub fn existing(&self, partition: &Partition) -> Option<Arc<Engine>> {
        if *partition == self.default_partition() {
            return Some(self.default.clone());
        }
        self.others.read().get(partition).cloned()
    }

    /// Every partition that exists, the default one first, then the others
    /// in (account, Region) order.
    pub fn partitions(&self) -> Vec<Arc<Engine>> {
        let mut out = vec![self.default.clone()];
        out.extend(self.others.read().values().cloned());
        out
    }

    /// Runs an operation by its AWS name in `partition`: cross-partition
    /// operations here, every other in the partition's engine.
    pub fn call(&self, partition: &Partition, operation: &str, input: Value) -> Result<Value> {
        let engine = self.engine_or_error(partition)?;
        match operation {
            copy::OPERATION => self.copy_backup_to_region(&engine, input),
            _ => engine.call(operation, input),
        }
    }

    /// [`Cloud::call`] for an operation that must belong to `api`.
    pub fn call_api(
        &self,
        partition: &Partition,
        api: Api,
        operation: &str,
        input: Value,
    ) -> Result<Value> {
        let engine = self.engine_or_error(partition)?;
        match (api, operation) {
            (Api::CloudHsmV2, copy::OPERATION) => self.copy_backup_to_region(&engine, input),
            _ => engine.call_api(api, operation, input),
        }
    }

    /// The partition's engine, or a `ValidationException` naming what is
    /// wrong with it. (The server refuses an unknown Region before this, as
    /// AWS does, with `InvalidSignatureException`: docs/fidelity.md F21.)
    fn engine_or_error(&self, partition: &Partition) -> Result<Arc<Engine>> {
        self.engine(partition).ok_or_else(|| {
            Error::new(
                ErrorKind::Validation,
                format!(
                    "{} is not a partition hsmdrill can serve: expected a 12-digit account and an AWS Region such as us-west-2.",
                    partition
                ),
            )
        })
    }

    /// Moves the clock forward by `d` and does the work that falls due in
    /// every partition.
    pub fn advance(&self, d: Duration) {
        self.clock.advance(d);
        for e in self.partitions() {
            e.catch_up();
        }
    }

    /// Moves the clock until no partition has transitional work pending
    /// (see [`Engine::settle`]) and returns how far it moved.
    pub fn settle(&self) -> Duration {
        let start = self.clock.now();
        // Settling one partition moves the shared clock, which may make
        // work fall due in another (a daily backup starts): go round until
        // a whole round moves nothing. Each round settles at least one
        // pending piece of work, and there are finitely many.
        for _ in 0..1000 {
            let moved: Duration = self.partitions().iter().map(|e| e.settle()).sum();
            if moved.is_zero() {
                break;
            }
        }
        let moved = self.clock.now().as_millis() - start.as_millis();
        Duration::from_millis(u64::try_from(moved).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::EngineConfig;

    #[test]
    fn partitions_are_created_once_with_their_own_seed_and_shared_time() {
        let cloud = Cloud::new(Engine::new(EngineConfig::default()));
        let eu = Partition::new("111122223333", "eu-west-1");
        let a = cloud.engine(&eu).unwrap();
        let b = cloud.engine(&eu).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(a.config().region, "eu-west-1");
        assert_ne!(a.config().seed, cloud.default_engine().config().seed);
        assert_eq!(
            a.config().seed,
            derived_seed(0, &Partition::new("111122223333", "eu-west-1"))
        );
        cloud.advance(Duration::from_secs(5));
        assert_eq!(a.now(), cloud.default_engine().now());
        assert!(cloud
            .engine(&Partition::new("111122223333", "xx-nowhere-1"))
            .is_none());
        assert!(cloud.engine(&Partition::new("1234", "eu-west-1")).is_none());
    }
}

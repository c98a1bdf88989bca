//! How an engine is set up: account, Region, seed, timings, pool sizes and
//! quotas. World files (`world.rs`) fill this in; defaults follow AWS.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Everything about an engine that is not state.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineConfig {
    /// Seeds every id the engine makes up.
    pub seed: u64,
    /// The AWS account (`111122223333`, the page's example).
    pub account: String,
    /// The Region (`us-west-2`, the page's example).
    pub region: String,
    /// How long things take on the virtual clock.
    pub timing: Timing,
    /// PKCS #11 sessions.
    pub pkcs11: Pkcs11Config,
    /// Cryptographic operations per second per key store; `None` disables
    /// the quota (AWS: 1,800, not adjustable).
    pub key_store_request_quota: Option<u32>,
    /// Custom key stores per account and Region (AWS: 10).
    pub max_custom_key_stores: usize,
    /// Events the trail keeps before dropping the oldest.
    pub trail_capacity: usize,
    /// Whether a connect attempt KMS makes with a wrong kmsuser password
    /// counts toward kmsuser's five-try lockout, like a CLI login does
    /// (AWS does not say; docs/fidelity.md I10, I55). Default: it counts.
    pub kms_failed_logins_count: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            account: "111122223333".into(),
            region: "us-west-2".into(),
            timing: Timing::default(),
            pkcs11: Pkcs11Config::default(),
            key_store_request_quota: None,
            max_custom_key_stores: 10,
            trail_capacity: 100_000,
            kms_failed_logins_count: true,
        }
    }
}

impl EngineConfig {
    /// The Region's Availability Zones, in order (`us-west-2a`, `b`, `c`, `d`).
    pub fn availability_zones(&self) -> Vec<String> {
        ["a", "b", "c", "d"]
            .iter()
            .map(|z| format!("{}{z}", self.region))
            .collect()
    }
}

/// Durations on the virtual clock, in seconds.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Timing {
    /// A connect attempt (AWS: "up to 20 minutes"; R9: it takes time).
    pub connect_seconds: u64,
    /// A disconnect; 0 disconnects at once (never shows `DISCONNECTING`).
    pub disconnect_seconds: u64,
    /// CreateCluster until `UNINITIALIZED` (or `ACTIVE` from a backup).
    pub cluster_create_seconds: u64,
    /// InitializeCluster until `INITIALIZED`.
    pub cluster_initialize_seconds: u64,
    /// DeleteCluster until `DELETED`.
    pub cluster_delete_seconds: u64,
    /// CreateHsm until the HSM is `ACTIVE`.
    pub hsm_create_seconds: u64,
    /// DeleteHsm until the HSM is gone.
    pub hsm_delete_seconds: u64,
    /// A backup until `READY`.
    pub backup_seconds: u64,
    /// Between automatic backups of an active cluster (AWS: daily).
    pub backup_interval_seconds: u64,
    /// DeleteBackup until `DELETED` (AWS: 7 days).
    pub backup_pending_deletion_seconds: u64,
    /// From the deletion of a KMS key's material in its cluster until the
    /// key reads `Unavailable` (AWS: "eventually"; docs/fidelity.md I53).
    pub key_material_unavailable_seconds: u64,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            connect_seconds: 2,
            disconnect_seconds: 0,
            cluster_create_seconds: 60,
            cluster_initialize_seconds: 60,
            cluster_delete_seconds: 60,
            hsm_create_seconds: 60,
            hsm_delete_seconds: 0,
            backup_seconds: 60,
            backup_interval_seconds: 86_400,
            backup_pending_deletion_seconds: 7 * 86_400,
            key_material_unavailable_seconds: 300,
        }
    }
}

impl Timing {
    /// `seconds` as a duration.
    pub fn secs(seconds: u64) -> Duration {
        Duration::from_secs(seconds)
    }
}

/// The PKCS #11 session pool of each HSM.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Pkcs11Config {
    /// Sessions per HSM (CloudHSM: 1,024 per application).
    pub sessions_per_hsm: usize,
    /// How long the HSM works on one operation while holding a session, in
    /// microseconds of real time.
    pub hsm_latency_micros: u64,
    /// How long a request waits for a free session before failing, in
    /// microseconds of real time.
    pub session_wait_micros: u64,
}

impl Default for Pkcs11Config {
    fn default() -> Self {
        Self {
            sessions_per_hsm: 1024,
            hsm_latency_micros: 0,
            session_wait_micros: 0,
        }
    }
}

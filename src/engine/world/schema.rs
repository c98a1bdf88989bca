//! The world file's schema (what serde reads), its defaults, and the checks
//! on identifiers.

use super::*;

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct WorldDoc {
    pub(super) seed: Option<u64>,
    pub(super) account: Option<String>,
    pub(super) region: Option<String>,
    pub(super) timing: Option<Timing>,
    pub(super) pkcs11: Option<Pkcs11Config>,
    pub(super) key_store_request_quota: Option<u32>,
    pub(super) max_custom_key_stores: Option<usize>,
    pub(super) trail_capacity: Option<usize>,
    pub(super) kms_failed_logins_count: Option<bool>,
    #[serde(default)]
    pub(super) subnets: Vec<SubnetDoc>,
    #[serde(default)]
    pub(super) clusters: Vec<ClusterDoc>,
    #[serde(default)]
    pub(super) custom_key_stores: Vec<StoreDoc>,
    #[serde(default)]
    pub(super) keys: Vec<KeyDoc>,
    /// Accounts other than the world's own, with the access keys that act
    /// as them.
    #[serde(default)]
    pub(super) accounts: Vec<AccountDoc>,
    /// Further partitions (another Region, or another account), each with
    /// its own subnets, clusters, key stores and keys.
    #[serde(default)]
    pub(super) regions: Vec<RegionDoc>,
}

/// `accounts[i]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AccountDoc {
    pub(super) id: String,
    #[serde(default)]
    pub(super) access_keys: Vec<String>,
}

/// `regions[i]`: a partition and what it starts with.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RegionDoc {
    pub(super) region: String,
    pub(super) account: Option<String>,
    #[serde(default)]
    pub(super) subnets: Vec<SubnetDoc>,
    #[serde(default)]
    pub(super) clusters: Vec<ClusterDoc>,
    #[serde(default)]
    pub(super) custom_key_stores: Vec<StoreDoc>,
    #[serde(default)]
    pub(super) keys: Vec<KeyDoc>,
}

/// The origins a world file can give a key.
#[derive(Clone, Copy, Debug, Deserialize, Eq, PartialEq)]
pub(super) enum KeyOriginDoc {
    #[serde(rename = "AWS_CLOUDHSM")]
    AwsCloudHsm,
    #[serde(rename = "AWS_KMS")]
    AwsKms,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SubnetDoc {
    pub(super) id: String,
    pub(super) availability_zone: String,
    pub(super) free_addresses: Option<u32>,
}

#[derive(Clone, Copy, Debug, Deserialize, Eq, PartialEq)]
pub(super) enum ClusterStateDoc {
    #[serde(rename = "UNINITIALIZED")]
    Uninitialized,
    #[serde(rename = "INITIALIZED")]
    Initialized,
    #[serde(rename = "ACTIVE")]
    Active,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ClusterDoc {
    pub(super) id: Option<String>,
    pub(super) state: Option<ClusterStateDoc>,
    pub(super) hsm_type: Option<String>,
    pub(super) availability_zones: Option<Vec<String>>,
    pub(super) subnets: Option<BTreeMap<String, String>>,
    pub(super) hsms: Option<Vec<String>>,
    pub(super) trust_anchor: Option<String>,
    pub(super) users: Option<Vec<UserDoc>>,
    #[serde(default)]
    pub(super) backups: Vec<String>,
}

#[derive(Clone, Copy, Debug, Deserialize, Eq, PartialEq)]
pub(super) enum RoleDoc {
    #[serde(rename = "admin")]
    Admin,
    #[serde(rename = "crypto-user")]
    CryptoUser,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UserDoc {
    pub(super) username: String,
    pub(super) role: RoleDoc,
    pub(super) password: Option<String>,
    #[serde(default)]
    pub(super) locked: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StoreDoc {
    pub(super) id: Option<String>,
    pub(super) name: String,
    pub(super) cluster: Option<String>,
    pub(super) password: Option<String>,
    #[serde(default)]
    pub(super) connected: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct KeyDoc {
    pub(super) id: Option<String>,
    /// `AWS_CLOUDHSM` (the default: a key in `store`) or `AWS_KMS`.
    pub(super) origin: Option<KeyOriginDoc>,
    pub(super) store: Option<String>,
    #[serde(default)]
    pub(super) description: String,
    pub(super) enabled: Option<bool>,
    #[serde(default)]
    pub(super) aliases: Vec<String>,
}

// ---------------------------------------------------------------------------
// Defaults

/// Free addresses of a subnet the file does not describe.
pub(super) const DEFAULT_FREE_ADDRESSES: u32 = 250;
/// The users of a cluster whose file entry has none.
pub(super) const DEFAULT_ADMIN_PASSWORD: &str = "adminPassword1";
/// `kmsuser`'s password when the file does not say.
pub(super) const DEFAULT_KMSUSER_PASSWORD: &str = "kmsPassword1";
/// The HSM types CloudHSM offers.
pub(super) const HSM_TYPES: &[&str] = &["hsm1.medium", "hsm2m.medium"];

// ---------------------------------------------------------------------------
// Checks on identifiers

/// `prefix` followed by `len` ASCII alphanumerics.
///
/// The CloudHSM v2 model says `cluster-[2-7a-zA-Z]{11,16}` and
/// `backup-[2-7a-zA-Z]{11,16}`, but the troubleshooting page's own examples
/// (`cluster-1a23b4cdefg`, `backup-9g87f6edcba`) have digits outside `2-7`;
/// world files accept every ASCII digit so the page's ids can be used as
/// they are.
pub(super) fn is_aws_id(s: &str, prefix: &str, len: std::ops::RangeInclusive<usize>) -> bool {
    s.strip_prefix(prefix).is_some_and(|rest| {
        len.contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

pub(super) fn is_cluster_id(s: &str) -> bool {
    is_aws_id(s, "cluster-", 11..=16)
}

pub(super) fn is_backup_id(s: &str) -> bool {
    is_aws_id(s, "backup-", 11..=16)
}

pub(super) fn is_subnet_id(s: &str) -> bool {
    is_aws_id(s, "subnet-", 8..=17)
}

pub(super) fn is_store_id(s: &str) -> bool {
    is_aws_id(s, "cks-", 1..=60)
}

/// A key id as KMS makes them: a UUID in lowercase hex. Uppercase would load
/// and encrypt, but the ciphertext blob stores the id as 16 bytes and gives
/// it back in lowercase, so its ciphertexts would never decrypt.
pub(super) fn is_key_id(s: &str) -> bool {
    let lower_hex = |g: &str| g.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && lower_hex(g))
}

/// Why an alias name is not valid, if it is not (KMS `AliasNameType`).
pub(super) fn alias_problem(name: &str) -> Option<&'static str> {
    if !name.starts_with("alias/") || name.len() == "alias/".len() {
        return Some("an alias name is `alias/` followed by a name, as `alias/app`");
    }
    if name.starts_with("alias/aws/") {
        return Some("names beginning with `alias/aws/` are reserved for AWS managed keys");
    }
    if name.len() > 256 {
        return Some("an alias name has at most 256 characters");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'/' | b'_' | b'-'))
    {
        return Some("an alias name has only letters, digits and `:/_-`");
    }
    None
}

/// An `a, b or c` list of back-quoted items.
pub(super) fn one_of<S: AsRef<str>>(items: &[S]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("`{}`", s.as_ref())).collect();
    match quoted.split_last() {
        None => "(none)".into(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

//! Seeded identifiers: everything a response shows that AWS would make up.
//!
//! A world has a seed; [`IdGen`] turns it into `cks-…`, `cluster-…`,
//! `backup-…`, `hsm-…`, key UUIDs, key handles and request ids, so the same
//! scenario prints the same ids every run. Key material and nonces never come
//! from here (see `kms::crypto`).

/// The alphabet of CloudHSM ids: `[2-7a-z]` (RFC 4648 base32, lower case),
/// which matches the models' `cluster-[2-7a-zA-Z]{11,16}` patterns.
const BASE32: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";

/// Lower-case hex digits.
const HEX: &[u8] = b"0123456789abcdef";

/// The made-up ids of things the engine creates.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum IdKind {
    /// A custom key store: `cks-` + 17 hex digits, as `cks-1234567890abcdef0`.
    CustomKeyStore,
    /// A CloudHSM cluster: `cluster-` + 11 base32 characters, as
    /// `cluster-1a23b4cdefg`'s shape.
    Cluster,
    /// A CloudHSM backup: `backup-` + 11 base32 characters.
    Backup,
    /// An HSM: `hsm-` + 11 base32 characters.
    Hsm,
    /// An HSM's network interface: `eni-` + 17 hex digits.
    Eni,
    /// A cluster's security group: `sg-` + 17 hex digits.
    SecurityGroup,
    /// A cluster's VPC: `vpc-` + 17 hex digits.
    Vpc,
    /// A subnet: `subnet-` + 17 hex digits.
    Subnet,
}

impl IdKind {
    /// The prefix, the alphabet of what follows it, and how many characters
    /// follow it.
    const fn shape(self) -> (&'static str, &'static [u8], usize) {
        match self {
            IdKind::CustomKeyStore => ("cks-", HEX, 17),
            IdKind::Cluster => ("cluster-", BASE32, 11),
            IdKind::Backup => ("backup-", BASE32, 11),
            IdKind::Hsm => ("hsm-", BASE32, 11),
            IdKind::Eni => ("eni-", HEX, 17),
            IdKind::SecurityGroup => ("sg-", HEX, 17),
            IdKind::Vpc => ("vpc-", HEX, 17),
            IdKind::Subnet => ("subnet-", HEX, 17),
        }
    }
}

/// A deterministic id generator (splitmix64 over the world's seed). Its
/// position is persisted with the state, so ids stay unique after a restart.
#[derive(Clone, Debug, serde::Deserialize, serde::Serialize)]
pub struct IdGen {
    state: u64,
}

impl IdGen {
    /// A generator for a world with this seed.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64 pseudo-random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.state)
    }

    /// `n` characters of `alphabet`, one draw each.
    fn chars(&mut self, alphabet: &[u8], n: usize) -> String {
        (0..n)
            .map(|_| char::from(alphabet[(self.next_u64() % alphabet.len() as u64) as usize]))
            .collect()
    }

    /// A new id of this kind.
    pub fn id(&mut self, kind: IdKind) -> String {
        let (prefix, alphabet, n) = kind.shape();
        format!("{prefix}{}", self.chars(alphabet, n))
    }

    /// A random-looking (version 4 shaped) UUID, as KMS key ids are.
    pub fn uuid(&mut self) -> String {
        uuid_from(self.next_u64(), self.next_u64())
    }

    /// A backing key id: the CloudHSM key's `id` attribute, in hex without
    /// `0x`. The real format is unconfirmed (docs/fidelity.md I8); a
    /// 16-byte value keeps the `attr.id=0x…` filters of R6 realistic.
    pub fn backing_key_id(&mut self) -> String {
        self.chars(HEX, 32)
    }

    /// A `KeyMaterialId` of an `AWS_KMS` key: 64 hex digits, as KMS
    /// shows them.
    pub fn key_material_id(&mut self) -> String {
        self.chars(HEX, 64)
    }

    /// A grant id: 64 hex digits, as KMS shows them.
    pub fn grant_id(&mut self) -> String {
        self.chars(HEX, 64)
    }

    /// A secret the engine keeps to itself (the rotated `kmsuser` password):
    /// 32 alphanumeric characters, which CloudHSM accepts.
    pub fn secret_password(&mut self) -> String {
        const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        self.chars(ALNUM, 32)
    }
}

/// splitmix64's output function.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A UUID-shaped string from two 64-bit values.
fn uuid_from(a: u64, b: u64) -> String {
    let a = (a & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000;
    let b = (b & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xFFFF,
        a & 0xFFFF,
        b >> 48,
        b & 0xFFFF_FFFF_FFFF
    )
}

/// 64 bits from the system's random source, for what must differ between
/// runs and never shows in a response: a trail's name in a state file, the
/// event-id seed of a trail restored without its events.
pub fn random_u64() -> Option<u64> {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 8];
    ring::rand::SystemRandom::new().fill(&mut b).ok()?;
    Some(u64::from_le_bytes(b))
}

/// Request ids for events on the data plane, drawn without a lock: the `n`th
/// event id of a world with this seed.
pub fn event_uuid(seed: u64, n: u64) -> String {
    let a = mix(seed ^ n.wrapping_mul(0xA24B_AED4_963E_E407));
    let b = mix(a ^ 0x9FB2_1C65_1E98_DF25);
    uuid_from(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_ids() {
        let mut a = IdGen::new(7);
        let mut b = IdGen::new(7);
        for kind in [IdKind::CustomKeyStore, IdKind::Cluster] {
            assert_eq!(a.id(kind), b.id(kind), "{kind:?}");
        }
        assert_ne!(IdGen::new(8).uuid(), IdGen::new(7).uuid());
    }

    #[test]
    fn ids_have_aws_shapes() {
        let mut g = IdGen::new(1);
        let cks = g.id(IdKind::CustomKeyStore);
        assert_eq!(cks.len(), 21);
        assert!(cks.starts_with("cks-"));
        let cluster = g.id(IdKind::Cluster);
        assert_eq!(cluster.len(), 19);
        assert!(cluster[8..]
            .bytes()
            .all(|c| c.is_ascii_lowercase() || (b'2'..=b'7').contains(&c)));
        let uuid = g.uuid();
        assert_eq!(uuid.len(), 36);
        assert_eq!(&uuid[14..15], "4");
    }
}

//! The steps a sequence is made of ([`Action`]), how proptest draws them
//! (weighted so every outcome is reached), and the runbook repairs (R5,
//! R6/R8/R9, R2/R3, R7) that come as whole sub-sequences.

use proptest::prelude::*;
use proptest::sample::Index;

use hsmdrill::engine::network::NetworkCondition;

use super::{MAX_HSMS_PER_CLUSTER, MAX_STEPS, PASSWORDS, WRONG, ZONES};

#[derive(Clone, Copy, Debug)]
pub(super) enum Target {
    /// The store's cluster.
    Store,
    /// The cluster made last.
    Newest,
    /// Any cluster.
    Any(Index),
}

#[derive(Clone, Copy, Debug)]
pub(super) enum Session {
    Ops,
    Ku,
}

impl Session {
    pub(super) fn name(self) -> &'static str {
        match self {
            Session::Ops => "ops",
            Session::Ku => "ku",
        }
    }
}

#[derive(Clone, Debug)]
pub(super) enum Action {
    Connect,
    Disconnect,
    /// UpdateCustomKeyStore KeyStorePassword.
    UpdatePassword(usize),
    /// UpdateCustomKeyStore NewCustomKeyStoreName.
    Rename(bool),
    /// UpdateCustomKeyStore CloudHsmClusterId (`None`: an unknown cluster).
    UpdateCluster(Option<Target>),
    /// CreateCustomKeyStore with the store's name (or another), a cluster
    /// and a password: refused (every cluster shares the store's backup
    /// history), or the store's own id when it repeats the store.
    CreateStore(bool, Target, usize),
    /// DeleteCustomKeyStore while it is refused (skipped when it would
    /// succeed).
    DeleteStore,
    CreateKey,
    /// Encrypt by key id (or ARN).
    Encrypt(Index, bool),
    GenerateDataKey(Index),
    /// Decrypt (with a wrong encryption context).
    Decrypt(Index, bool),
    /// ReEncrypt a ciphertext to a key.
    ReEncrypt(Index, Index),
    /// GenerateRandom in the store's cluster.
    GenerateRandom,
    Enable(Index),
    Disable(Index),
    Schedule(Index, i64),
    Cancel(Index),
    /// Seconds.
    Advance(u64),
    Settle,
    CliAdminLogin,
    CliLogout(Session),
    /// Admin `user change-password` for kmsuser.
    CliChangePassword(usize),
    /// `login` as kmsuser with its password (true) or a wrong one.
    CliKmsuserLogin(bool),
    /// That many logins as kmsuser with a wrong password.
    CliBadLogins(u32),
    /// `key delete` of a key's material as kmsuser.
    CliDeleteMaterial(Index),
    CreateHsm(Target, usize),
    DeleteHsm(Target, Index),
    TakeBackup(Target),
    DeleteBackup(Index),
    RestoreBackup(Index),
    ClusterFromBackup(Index),
    Network(Target, NetworkCondition),
    SecurityGroup(Target, bool),
    InternalErrors(Target, u32),
    ExhaustSessions(Target),
    ReleaseSessions(Target),
    DestroyCluster(Target),
    /// DeleteCluster (the CloudHSM v2 API).
    DeleteCluster(Target),
    /// Free addresses of the original cluster's subnet in zone a or b.
    FreeAddresses(usize, u32),
}

pub(super) fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        6 => Just(Target::Store),
        2 => Just(Target::Newest),
        1 => any::<Index>().prop_map(Target::Any),
    ]
}

pub(super) fn advance_seconds() -> impl Strategy<Value = u64> {
    prop_oneof![
        3 => Just(1u64),
        4 => Just(2),
        2 => Just(3),
        3 => Just(60),
        2 => Just(61),
        1 => Just(3600),
        2 => Just(86_400),
        1 => Just(7 * 86_400 + 1),
        1 => Just(8 * 86_400),
        1 => Just(31 * 86_400),
    ]
}

pub(super) fn action() -> BoxedStrategy<Action> {
    use Action::*;
    let days = prop_oneof![12 => 7i64..=30, 1 => Just(6i64), 1 => Just(31i64)];
    let network = prop_oneof![
        2 => Just(NetworkCondition::Blocked),
        3 => Just(NetworkCondition::Ok),
        2 => (1u32..4).prop_map(NetworkCondition::Flaky),
    ];
    prop_oneof![
        6 => Just(Connect),
        2 => Just(Disconnect),
        2 => (0..PASSWORDS.len()).prop_map(UpdatePassword),
        1 => any::<bool>().prop_map(Rename),
        1 => prop::option::weighted(0.8, target()).prop_map(UpdateCluster),
        1 => (prop::bool::weighted(0.7), target(), 0..PASSWORDS.len())
            .prop_map(|(same, t, p)| CreateStore(same, t, p)),
        1 => Just(DeleteStore),
        4 => Just(CreateKey),
        8 => (any::<Index>(), any::<bool>()).prop_map(|(k, arn)| Encrypt(k, arn)),
        3 => any::<Index>().prop_map(GenerateDataKey),
        3 => (any::<Index>(), prop::bool::weighted(0.2)).prop_map(|(c, w)| Decrypt(c, w)),
        2 => (any::<Index>(), any::<Index>()).prop_map(|(c, k)| ReEncrypt(c, k)),
        2 => Just(GenerateRandom),
        2 => any::<Index>().prop_map(Enable),
        2 => any::<Index>().prop_map(Disable),
        1 => (any::<Index>(), days).prop_map(|(k, d)| Schedule(k, d)),
        2 => any::<Index>().prop_map(Cancel),
        6 => advance_seconds().prop_map(Advance),
        4 => Just(Settle),
        2 => Just(CliAdminLogin),
        1 => prop_oneof![Just(Session::Ops), Just(Session::Ku)].prop_map(CliLogout),
        2 => (0..WRONG).prop_map(CliChangePassword),
        2 => any::<bool>().prop_map(CliKmsuserLogin),
        2 => (1u32..=5).prop_map(CliBadLogins),
        1 => any::<Index>().prop_map(CliDeleteMaterial),
        2 => (target(), 0..ZONES.len()).prop_map(|(t, z)| CreateHsm(t, z)),
        2 => (target(), any::<Index>()).prop_map(|(t, h)| DeleteHsm(t, h)),
        2 => target().prop_map(TakeBackup),
        1 => any::<Index>().prop_map(DeleteBackup),
        1 => any::<Index>().prop_map(RestoreBackup),
        1 => any::<Index>().prop_map(ClusterFromBackup),
        2 => (target(), network).prop_map(|(t, n)| Network(t, n)),
        1 => (target(), any::<bool>()).prop_map(|(t, ok)| SecurityGroup(t, ok)),
        1 => (target(), 1u32..3).prop_map(|(t, n)| InternalErrors(t, n)),
        1 => target().prop_map(ExhaustSessions),
        1 => target().prop_map(ReleaseSessions),
        1 => target().prop_map(DestroyCluster),
        1 => target().prop_map(DeleteCluster),
        1 => (0usize..2, prop_oneof![Just(0u32), Just(250u32)])
            .prop_map(|(z, n)| FreeAddresses(z, n)),
    ]
    .boxed()
}

/// How the kmsuser repairs begin: disconnect, and as the admin set
/// kmsuser's password to `p`.
fn disconnect_and_reset_password(p: usize) -> [Action; 4] {
    use Action::*;
    [
        Disconnect,
        CliAdminLogin,
        CliChangePassword(p),
        CliLogout(Session::Ops),
    ]
}

/// How they end: tell KMS the password `p`, reconnect.
fn reconnect_with(p: usize) -> [Action; 3] {
    use Action::*;
    [UpdatePassword(p), Connect, Settle]
}

/// R5: disconnect, reset kmsuser's password, tell KMS (and repeat the
/// store's CreateCustomKeyStore), reconnect.
pub(super) fn repair_kmsuser(p: usize) -> Vec<Action> {
    use Action::*;
    [
        &disconnect_and_reset_password(p)[..],
        &[
            UpdatePassword(p),
            CreateStore(true, Target::Store, p),
            Connect,
            Settle,
        ],
    ]
    .concat()
}

/// R6/R8/R9: log in as kmsuser, delete a key's material, log out, reconnect.
pub(super) fn delete_material(k: Index, p: usize) -> Vec<Action> {
    use Action::*;
    [
        &disconnect_and_reset_password(p)[..],
        &[
            CliKmsuserLogin(true),
            CliDeleteMaterial(k),
            CliLogout(Session::Ku),
        ],
        &reconnect_with(p),
    ]
    .concat()
}

/// R9: a kmsuser CLI session left logged in makes the reconnect fail.
pub(super) fn forget_logout(p: usize) -> Vec<Action> {
    [
        &disconnect_and_reset_password(p)[..],
        &[Action::CliKmsuserLogin(true)],
        &reconnect_with(p),
    ]
    .concat()
}

/// R2/R3: every HSM of the store's cluster removed.
pub(super) fn remove_hsms(h: Index, k: Index) -> Vec<Action> {
    use Action::*;
    vec![
        DeleteHsm(Target::Store, h),
        DeleteHsm(Target::Store, h),
        Encrypt(k, false),
        Disconnect,
        Connect,
        Settle,
    ]
}

/// HSMs added to the store's cluster until CloudHSM's quota of 28 per
/// cluster refuses one.
pub(super) fn fill_cluster(z: usize) -> Vec<Action> {
    vec![Action::CreateHsm(Target::Store, z); MAX_HSMS_PER_CLUSTER - 1]
}

/// R7: a cluster from a backup, two HSMs, the store moved to it.
pub(super) fn recover_from_backup(b: Index) -> Vec<Action> {
    use Action::*;
    vec![
        ClusterFromBackup(b),
        Settle,
        CreateHsm(Target::Newest, 0),
        CreateHsm(Target::Newest, 1),
        Settle,
        Disconnect,
        UpdateCluster(Some(Target::Newest)),
        Connect,
        Settle,
    ]
}

pub(super) fn actions() -> impl Strategy<Value = Vec<Action>> {
    let chunk = prop_oneof![
        240 => action().prop_map(|a| vec![a]),
        16 => Just(vec![Action::Connect, Action::Settle]),
        4 => (0..WRONG).prop_map(forget_logout),
        4 => (any::<Index>(), any::<Index>()).prop_map(|(h, k)| remove_hsms(h, k)),
        8 => (0..WRONG).prop_map(repair_kmsuser),
        8 => (any::<Index>(), 0..WRONG).prop_map(|(k, p)| delete_material(k, p)),
        8 => any::<Index>().prop_map(recover_from_backup),
        1 => (0usize..2).prop_map(fill_cluster),
        8 => (any::<Index>(), 7i64..=30).prop_map(|(k, d)| {
            vec![
                Action::Schedule(k, d),
                Action::Advance(u64::try_from(d).unwrap() * 86_400 + 1),
            ]
        }),
        4 => Just(vec![Action::CliBadLogins(5), Action::Connect, Action::Settle]),
    ];
    prop::collection::vec(chunk, 8..=40)
        .prop_map(|chunks| chunks.into_iter().flatten().take(MAX_STEPS).collect())
}

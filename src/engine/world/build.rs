//! Building the engine's state from a parsed world file, section by section
//! (subnets, clusters, custom key stores, keys, backups), drawing every
//! made-up identifier from the seeded generator in a fixed order.

use super::*;

pub(super) struct Builder<'a> {
    pub(super) engine: &'a Engine,
    pub(super) cx: &'a Ctx<'a>,
    /// Where the items built sit in the file: empty at the top level,
    /// `regions[i].` for a further partition.
    pub(super) at: &'a str,
}

impl Builder<'_> {
    fn err(&self, path: impl Into<String>, message: impl Into<String>) -> WorldError {
        self.cx.err(format!("{}{}", self.at, path.into()), message)
    }

    pub(super) fn build(&self, st: &mut State, doc: &WorldDoc) -> Result<(), WorldError> {
        for (i, s) in doc.subnets.iter().enumerate() {
            self.subnet(st, s, &format!("subnets[{i}]"))?;
        }
        let mut cluster_ids = Vec::new();
        for (i, c) in doc.clusters.iter().enumerate() {
            cluster_ids.push(self.cluster(st, c, &format!("clusters[{i}]"))?);
        }
        let max = self.engine.config().max_custom_key_stores;
        if doc.custom_key_stores.len() > max {
            return Err(self.err(
                format!("custom_key_stores[{max}]"),
                format!(
                    "too many custom key stores: expected at most {max} (max_custom_key_stores)"
                ),
            ));
        }
        for (i, s) in doc.custom_key_stores.iter().enumerate() {
            self.store(st, s, &format!("custom_key_stores[{i}]"))?;
        }
        for (i, k) in doc.keys.iter().enumerate() {
            self.key(st, k, &format!("keys[{i}]"))?;
        }
        for (i, (c, cluster_id)) in doc.clusters.iter().zip(&cluster_ids).enumerate() {
            for (j, b) in c.backups.iter().enumerate() {
                self.backup(st, c, cluster_id, b, &format!("clusters[{i}].backups[{j}]"))?;
            }
        }
        Ok(())
    }

    /// Checks that `az` is one of the Region's zones.
    fn zone(&self, az: &str, path: &str) -> Result<(), WorldError> {
        let zones = self.engine.config().availability_zones();
        if zones.iter().any(|z| z == az) {
            Ok(())
        } else {
            Err(self.err(
                path,
                format!(
                    "unknown Availability Zone `{az}`: expected one of the Region's, {}",
                    one_of(&zones)
                ),
            ))
        }
    }

    fn insert_subnet(st: &mut State, id: &str, az: &str, free: u32) {
        let octet = u32::try_from(st.subnets.len()).unwrap_or(u32::MAX) % 256;
        st.subnets.insert(
            id.to_owned(),
            Subnet {
                id: id.to_owned(),
                availability_zone: az.to_owned(),
                free_addresses: free,
                // AWS keeps the first four addresses of a subnet: hand out .4 on.
                next_host: 3,
                octet,
            },
        );
    }

    fn subnet(&self, st: &mut State, s: &SubnetDoc, path: &str) -> Result<(), WorldError> {
        if !is_subnet_id(&s.id) {
            return Err(self.err(
                format!("{path}.id"),
                format!(
                    "`{}` is not a subnet id: expected `subnet-` and 8 to 17 letters or digits",
                    s.id
                ),
            ));
        }
        if st.subnets.contains_key(&s.id) {
            return Err(self.err(
                format!("{path}.id"),
                format!("duplicate subnet `{}`: expected each subnet once", s.id),
            ));
        }
        self.zone(&s.availability_zone, &format!("{path}.availability_zone"))?;
        Self::insert_subnet(
            st,
            &s.id,
            &s.availability_zone,
            s.free_addresses.unwrap_or(DEFAULT_FREE_ADDRESSES),
        );
        Ok(())
    }

    /// Availability Zone → subnet id for a cluster, creating the subnets the
    /// file does not list.
    fn subnet_mapping(
        &self,
        st: &mut State,
        c: &ClusterDoc,
        path: &str,
    ) -> Result<BTreeMap<String, String>, WorldError> {
        let mut mapping = BTreeMap::new();
        if let Some(given) = &c.subnets {
            if given.is_empty() {
                return Err(self.err(
                    format!("{path}.subnets"),
                    "a cluster needs at least one subnet: expected `Availability Zone: subnet id` entries",
                ));
            }
            for (az, id) in given {
                let p = format!("{path}.subnets.{az}");
                self.zone(az, &p)?;
                if !is_subnet_id(id) {
                    return Err(self.err(
                        p,
                        format!("`{id}` is not a subnet id: expected `subnet-` and 8 to 17 letters or digits"),
                    ));
                }
                match st.subnets.get(id) {
                    Some(s) if s.availability_zone != *az => {
                        return Err(self.err(
                            p,
                            format!(
                                "subnet `{id}` is in `{}` (under `subnets`): expected a subnet in `{az}`",
                                s.availability_zone
                            ),
                        ));
                    }
                    Some(_) => {}
                    None => Self::insert_subnet(st, id, az, DEFAULT_FREE_ADDRESSES),
                }
                if mapping.values().any(|v| v == id) {
                    return Err(self.err(
                        p,
                        format!("subnet `{id}` is given for two zones: expected one subnet per Availability Zone"),
                    ));
                }
                mapping.insert(az.clone(), id.clone());
            }
            if let Some(zones) = &c.availability_zones {
                let listed: BTreeSet<&String> = zones.iter().collect();
                let mapped: BTreeSet<&String> = given.keys().collect();
                if listed != mapped {
                    return Err(self.err(
                        format!("{path}.availability_zones"),
                        format!(
                            "the zones do not match the keys of `subnets`: expected {} (or leave `availability_zones` out)",
                            one_of(&given.keys().collect::<Vec<_>>())
                        ),
                    ));
                }
            }
            return Ok(mapping);
        }
        let zones = match &c.availability_zones {
            Some(z) => z.clone(),
            None => self
                .engine
                .config()
                .availability_zones()
                .into_iter()
                .take(2)
                .collect(),
        };
        if zones.is_empty() {
            return Err(self.err(
                format!("{path}.availability_zones"),
                "a cluster needs at least one Availability Zone: expected a list such as [us-west-2a, us-west-2b]",
            ));
        }
        for (j, az) in zones.iter().enumerate() {
            let p = format!("{path}.availability_zones[{j}]");
            self.zone(az, &p)?;
            if mapping.contains_key(az) {
                return Err(self.err(
                    p,
                    format!("`{az}` is listed twice: expected each Availability Zone once"),
                ));
            }
            let id = st.ids.id(IdKind::Subnet);
            Self::insert_subnet(st, &id, az, DEFAULT_FREE_ADDRESSES);
            mapping.insert(az.clone(), id);
        }
        Ok(mapping)
    }

    fn users(
        &self,
        c: &ClusterDoc,
        state: ClusterStateDoc,
        path: &str,
    ) -> Result<Vec<User>, WorldError> {
        let open = Lockout::Open { failures: 0 };
        let docs = match (state, &c.users) {
            (ClusterStateDoc::Uninitialized, None) => return Ok(Vec::new()),
            (ClusterStateDoc::Uninitialized, Some(u)) if u.is_empty() => return Ok(Vec::new()),
            (ClusterStateDoc::Uninitialized, Some(_)) => {
                return Err(self.err(
                    format!("{path}.users"),
                    "an UNINITIALIZED cluster has no users yet: expected no `users` (or state INITIALIZED or ACTIVE)",
                ));
            }
            // Before `cluster activate` the admin has no password.
            (ClusterStateDoc::Initialized, None) => {
                return Ok(vec![User {
                    username: "admin".into(),
                    role: Role::Admin,
                    password: None,
                    lockout: open,
                }]);
            }
            (ClusterStateDoc::Active, None) => {
                return Ok(vec![
                    User {
                        username: "admin".into(),
                        role: Role::Admin,
                        password: Some(DEFAULT_ADMIN_PASSWORD.into()),
                        lockout: open,
                    },
                    User {
                        username: KMSUSER.into(),
                        role: Role::CryptoUser,
                        password: Some(DEFAULT_KMSUSER_PASSWORD.into()),
                        lockout: open,
                    },
                ]);
            }
            (ClusterStateDoc::Initialized | ClusterStateDoc::Active, Some(u)) => u,
        };
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for (j, u) in docs.iter().enumerate() {
            let p = format!("{path}.users[{j}]");
            if !users::is_valid_username(&u.username) {
                return Err(self.err(
                    format!("{p}.username"),
                    format!(
                        "`{}` is not a CloudHSM username: expected 1 to 31 letters, digits or `_`",
                        u.username
                    ),
                ));
            }
            if !seen.insert(u.username.to_ascii_lowercase()) {
                return Err(self.err(
                    format!("{p}.username"),
                    format!(
                        "duplicate user `{}`: expected each username once (names ignore case)",
                        u.username
                    ),
                ));
            }
            match (&u.password, state) {
                (Some(pw), _) if !users::is_valid_password(pw) => {
                    return Err(self.err(
                        format!("{p}.password"),
                        "not a CloudHSM password: expected 7 to 32 letters or digits, no special characters",
                    ));
                }
                (None, ClusterStateDoc::Active) => {
                    return Err(self.err(
                        p,
                        "missing `password`: every user of an ACTIVE cluster has one (7 to 32 letters or digits)",
                    ));
                }
                (Some(_) | None, _) => {}
            }
            out.push(User {
                username: u.username.clone(),
                role: match u.role {
                    RoleDoc::Admin => Role::Admin,
                    RoleDoc::CryptoUser => Role::CryptoUser,
                },
                password: u.password.clone(),
                lockout: if u.locked { Lockout::Locked } else { open },
            });
        }
        Ok(out)
    }

    /// Builds one cluster; returns its id.
    fn cluster(&self, st: &mut State, c: &ClusterDoc, path: &str) -> Result<String, WorldError> {
        let config = self.engine.config();
        let id = match &c.id {
            Some(id) if !is_cluster_id(id) => {
                return Err(self.err(
                    format!("{path}.id"),
                    format!("`{id}` is not a cluster id: expected `cluster-` and 11 to 16 letters or digits, as `cluster-1a23b4cdefg`"),
                ));
            }
            Some(id) => id.clone(),
            None => st.ids.id(IdKind::Cluster),
        };
        if st.clusters.contains_key(&id) {
            return Err(self.err(
                format!("{path}.id"),
                format!("duplicate cluster `{id}`: expected each cluster id once"),
            ));
        }
        let state_doc = c.state.unwrap_or(ClusterStateDoc::Active);
        let state = match state_doc {
            ClusterStateDoc::Uninitialized => ClusterState::Uninitialized,
            ClusterStateDoc::Initialized => ClusterState::Initialized,
            ClusterStateDoc::Active => ClusterState::Active,
        };
        if let Some(t) = &c.hsm_type {
            if !HSM_TYPES.contains(&t.as_str()) {
                return Err(self.err(
                    format!("{path}.hsm_type"),
                    format!("unknown HSM type `{t}`: expected {}", one_of(HSM_TYPES)),
                ));
            }
        }
        if c.trust_anchor.is_some() && state_doc == ClusterStateDoc::Uninitialized {
            return Err(self.err(
                format!("{path}.trust_anchor"),
                "an UNINITIALIZED cluster has no trust anchor yet (InitializeCluster gives it one): expected no `trust_anchor`",
            ));
        }
        if let Some(t) = &c.trust_anchor {
            if !pki::is_ca_certificate(t) {
                return Err(self.err(
                    format!("{path}.trust_anchor"),
                    "not a CA certificate: expected the PEM text of the customer CA certificate (basicConstraints CA:TRUE), or leave it out for the world's drill CA",
                ));
            }
        }
        let users = self.users(c, state_doc, path)?;

        let vpc = st.ids.id(IdKind::Vpc);
        let security_group = st.ids.id(IdKind::SecurityGroup);
        let mapping = self.subnet_mapping(st, c, path)?;
        let hsm_zones: Vec<String> = match &c.hsms {
            Some(z) => z.clone(),
            None => mapping.keys().cloned().collect(),
        };
        let mut hsms = Vec::new();
        for (j, az) in hsm_zones.iter().enumerate() {
            let p = format!("{path}.hsms[{j}]");
            let Some(subnet_id) = mapping.get(az) else {
                return Err(self.err(
                    p,
                    format!(
                        "`{az}` is not one of the cluster's Availability Zones: expected {}",
                        one_of(&mapping.keys().collect::<Vec<_>>())
                    ),
                ));
            };
            let Some(ip) = st.subnets.get_mut(subnet_id).and_then(Subnet::take_address) else {
                return Err(self.err(
                    p,
                    format!("subnet `{subnet_id}` has no free address for this HSM: expected a subnet with `free_addresses` left"),
                ));
            };
            let hsm_id = st.ids.id(IdKind::Hsm);
            let eni_id = st.ids.id(IdKind::Eni);
            hsms.push(Hsm::new(
                hsm_id,
                az.clone(),
                subnet_id.clone(),
                eni_id,
                ip,
                HsmState::Active,
                config.pkcs11.sessions_per_hsm,
            ));
        }

        let mut cluster = Cluster::new(
            id.clone(),
            state,
            vpc,
            security_group,
            mapping,
            EPOCH,
            EPOCH.plus(Timing::secs(config.timing.backup_interval_seconds)),
        );
        if let Some(t) = &c.hsm_type {
            cluster.hsm_type = t.clone();
        }
        for u in users {
            cluster.users.insert(u);
        }
        cluster.hsms = hsms;
        self.certificates(&mut cluster, state_doc, c, path)?;
        st.clusters.insert(id.clone(), cluster);
        Ok(id)
    }

    /// A cluster's certificates as CloudHSM would have left them: none
    /// before an HSM; the first HSM's identity and CSR while
    /// `UNINITIALIZED`; once initialized, the CSR signed by the drill CA,
    /// whose certificate is the trust anchor (docs/fidelity.md I35). A
    /// `trust_anchor` in the file replaces the drill CA's certificate as
    /// given (the world has no key of it to sign with).
    fn certificates(
        &self,
        cluster: &mut Cluster,
        state: ClusterStateDoc,
        c: &ClusterDoc,
        path: &str,
    ) -> Result<(), WorldError> {
        let seed = self.engine.config().seed;
        let failed = |e: crate::engine::Error| self.err(path, e.message().to_owned());
        if state == ClusterStateDoc::Uninitialized {
            return cluster.on_hsm_active(seed).map_err(failed);
        }
        let identity = pki::hsm_identity(seed, &cluster.id).map_err(failed)?;
        let signed = pki::sign_with_drill_ca(seed, &cluster.id, &identity.csr).map_err(failed)?;
        cluster.certificates = Certificates::of_identity(identity);
        cluster.certificates.cluster_csr = None;
        cluster.certificates.cluster_certificate = Some(signed.signed_cert);
        cluster.trust_anchor = Some(c.trust_anchor.clone().unwrap_or(signed.trust_anchor));
        Ok(())
    }

    fn store(&self, st: &mut State, s: &StoreDoc, path: &str) -> Result<(), WorldError> {
        let id = match &s.id {
            Some(id) if !is_store_id(id) => {
                return Err(self.err(
                    format!("{path}.id"),
                    format!("`{id}` is not a custom key store id: expected `cks-` and letters or digits, as `cks-1234567890abcdef0`"),
                ));
            }
            Some(id) => id.clone(),
            None => st.ids.id(IdKind::CustomKeyStore),
        };
        if st.stores.contains_key(&id) {
            return Err(self.err(
                format!("{path}.id"),
                format!("duplicate custom key store `{id}`: expected each id once"),
            ));
        }
        if s.name.is_empty() || s.name.chars().count() > 256 {
            return Err(self.err(
                format!("{path}.name"),
                "a custom key store name has 1 to 256 characters",
            ));
        }
        if st.stores.values().any(|o| o.name == s.name) {
            return Err(self.err(
                format!("{path}.name"),
                format!("duplicate custom key store name `{}`: expected names unique in the account and Region", s.name),
            ));
        }
        let cluster_ids: Vec<&String> = st.clusters.keys().collect();
        let cluster_id = match &s.cluster {
            Some(c) if st.clusters.contains_key(c) => c.clone(),
            Some(c) => {
                return Err(self.err(
                    format!("{path}.cluster"),
                    format!(
                        "unknown cluster `{c}`: expected the id of a cluster under `clusters`, {}",
                        one_of(&cluster_ids)
                    ),
                ));
            }
            None => match cluster_ids.as_slice() {
                [only] => (*only).clone(),
                _ => {
                    return Err(self.err(
                        path,
                        format!(
                            "missing `cluster`: expected the id of a cluster under `clusters`, {}",
                            one_of(&cluster_ids)
                        ),
                    ));
                }
            },
        };
        if let Some(other) = st.stores.values().find(|o| o.cluster_id == cluster_id) {
            return Err(self.err(
                format!("{path}.cluster"),
                format!(
                    "cluster `{cluster_id}` already backs custom key store `{}`: expected a cluster of its own (CloudHsmClusterInUseException)",
                    other.name
                ),
            ));
        }
        let Some(cluster) = st.clusters.get_mut(&cluster_id) else {
            return Err(self.err(format!("{path}.cluster"), "unknown cluster"));
        };
        let Some(trust_anchor) = cluster.trust_anchor.clone() else {
            return Err(self.err(
                format!("{path}.cluster"),
                format!("cluster `{cluster_id}` is UNINITIALIZED: expected an initialized cluster (one with a trust anchor)"),
            ));
        };
        let kms_password = cluster
            .users
            .get(KMSUSER)
            .filter(|u| u.role == Role::CryptoUser)
            .and_then(|u| u.password.clone());
        let password_path = if s.password.is_some() {
            format!("{path}.password")
        } else {
            format!("{path}.connected")
        };
        let password = match (&s.password, kms_password) {
            (Some(p), _) => p.clone(),
            (None, Some(p)) => p,
            (None, None) => {
                return Err(self.err(
                    path,
                    format!("missing `password`: cluster `{cluster_id}` has no crypto user `kmsuser` with a password to take it from"),
                ));
            }
        };
        if !users::is_valid_password(&password) {
            return Err(self.err(
                format!("{path}.password"),
                "not a kmsuser password: expected 7 to 32 letters or digits",
            ));
        }
        if s.connected && cluster.state != ClusterState::Active {
            return Err(self.err(
                format!("{path}.connected"),
                format!(
                    "cluster `{cluster_id}` is {}: a connected store needs an ACTIVE cluster",
                    cluster.state.as_str()
                ),
            ));
        }
        let store = KeyStore {
            id: id.clone(),
            name: s.name.clone(),
            cluster_id: cluster_id.clone(),
            trust_anchor,
            password,
            state: ConnectionState::Disconnected,
            creation_date: EPOCH,
        };
        st.stores.insert(id.clone(), store);
        if s.connected {
            self.connect(st, &id, &cluster_id, path, &password_path)?;
        }
        Ok(())
    }

    /// `connected: true`: the store is connected the way
    /// ConnectCustomKeyStore would leave it, through the same transitions
    /// and the same judgement of the attempt (docs/fidelity.md F2, I9), with
    /// the clock standing still: KMS logged in as `kmsuser`, its password
    /// rotated, a network interface in each of the cluster's subnets.
    fn connect(
        &self,
        st: &mut State,
        id: &str,
        cluster_id: &str,
        path: &str,
        password_path: &str,
    ) -> Result<(), WorldError> {
        let connected = format!("{path}.connected");
        let Some(state) = st.stores.get(id).map(|s| s.state) else {
            return Err(self.err(path, "unknown custom key store"));
        };
        let mut next = state;
        state
            .on_connect(EPOCH, id)
            .map_err(|e| self.err(connected.as_str(), e.message()))?
            .apply(&mut next);
        let judged = next.on_clock(EPOCH, || self.engine.judge_connect(st, id));
        judged.apply(&mut next);
        let Some(code) = next.error_code() else {
            if let Some(store) = st.stores.get_mut(id) {
                store.state = next;
            }
            return Ok(());
        };
        let (at, why) = match code {
            ConnectionErrorCode::InsufficientCloudhsmHsms => (
                connected,
                format!("cluster `{cluster_id}` has no HSM: a connected store needs at least one (`hsms`)"),
            ),
            ConnectionErrorCode::UserNotFound => (
                password_path.to_owned(),
                format!("cluster `{cluster_id}` has no crypto user `kmsuser`: a connected store needs one (add it to the cluster's `users`)"),
            ),
            ConnectionErrorCode::InvalidCredentials => (
                password_path.to_owned(),
                format!("the store's password does not match the password of `kmsuser` in cluster `{cluster_id}`: expected kmsuser's password (or leave `password` out)"),
            ),
            ConnectionErrorCode::UserLockedOut => (
                password_path.to_owned(),
                format!("`kmsuser` is locked in cluster `{cluster_id}`: a connected store needs it unlocked (`locked: false`)"),
            ),
            ConnectionErrorCode::UserLoggedIn => (
                password_path.to_owned(),
                format!("`kmsuser` is already logged in to cluster `{cluster_id}`"),
            ),
            ConnectionErrorCode::InsufficientFreeAddressesInSubnet
            | ConnectionErrorCode::SubnetNotFound => {
                let subnet_id = st
                    .clusters
                    .get(cluster_id)
                    .and_then(|c| {
                        c.subnet_mapping.values().find(|s| {
                            st.subnets.get(*s).is_none_or(|s| s.free_addresses == 0)
                        })
                    })
                    .cloned()
                    .unwrap_or_default();
                (
                    connected,
                    format!("subnet `{subnet_id}` has no free address for KMS's network interface: expected one free address in each of the cluster's subnets"),
                )
            }
            ConnectionErrorCode::InternalError
            | ConnectionErrorCode::NetworkErrors
            | ConnectionErrorCode::ClusterNotFound => (
                connected,
                format!(
                    "cluster `{cluster_id}` cannot be connected: {}",
                    code.as_str()
                ),
            ),
        };
        Err(self.err(at, why))
    }

    fn key(&self, st: &mut State, k: &KeyDoc, path: &str) -> Result<(), WorldError> {
        let id = match &k.id {
            Some(id) if !is_key_id(id) => {
                return Err(self.err(
                    format!("{path}.id"),
                    format!("`{id}` is not a key id: expected a UUID in lowercase hex, as `1234abcd-12ab-34cd-56ef-1234567890ab`"),
                ));
            }
            Some(id) => id.clone(),
            None => st.ids.uuid(),
        };
        if st.keys.contains_key(&id) {
            return Err(self.err(
                format!("{path}.id"),
                format!("duplicate key `{id}`: expected each key id once"),
            ));
        }
        if k.origin == Some(KeyOriginDoc::AwsKms) {
            return self.kms_key(st, k, id, path);
        }
        let names: Vec<&String> = st.stores.values().map(|s| &s.name).collect();
        let store = match &k.store {
            Some(r) => st.stores.values().find(|s| s.id == *r || s.name == *r),
            None if st.stores.len() == 1 => st.stores.values().next(),
            None => None,
        };
        let Some(store) = store else {
            let (p, what) = match &k.store {
                Some(r) => (
                    format!("{path}.store"),
                    format!("unknown custom key store `{r}`"),
                ),
                None => (path.to_owned(), "missing `store`".to_owned()),
            };
            return Err(self.err(
                p,
                format!(
                    "{what}: expected the name or id of a store under `custom_key_stores`, {}",
                    one_of(&names)
                ),
            ));
        };
        let store_id = store.id.clone();
        let cluster_id = store.cluster_id.clone();
        let aliases = self.key_details(st, k, path)?;
        let Some(cluster) = st.clusters.get_mut(&cluster_id) else {
            return Err(self.err(
                format!("{path}.store"),
                format!("unknown cluster `{cluster_id}`"),
            ));
        };
        if cluster.state != ClusterState::Active {
            return Err(self.err(
                format!("{path}.store"),
                format!(
                    "the store's cluster `{cluster_id}` is {}: key material needs an ACTIVE cluster",
                    cluster.state.as_str()
                ),
            ));
        }
        self.engine
            .install_key(st, &store_id, id.clone(), k.description.clone(), status(k))
            .map_err(|e| self.err(path, e.message()))?;
        add_aliases(st, aliases, &id);
        Ok(())
    }

    /// A key with `origin: AWS_KMS`: material KMS keeps, no store
    /// (docs/fidelity.md F14).
    fn kms_key(
        &self,
        st: &mut State,
        k: &KeyDoc,
        id: String,
        path: &str,
    ) -> Result<(), WorldError> {
        if let Some(store) = &k.store {
            return Err(self.err(
                format!("{path}.store"),
                format!("an AWS_KMS key is in no custom key store: expected no `store` (got `{store}`), or `origin: AWS_CLOUDHSM`"),
            ));
        }
        let aliases = self.key_details(st, k, path)?;
        self.engine
            .install_kms_key(st, id.clone(), k.description.clone(), status(k))
            .map_err(|e| self.err(path, e.message()))?;
        add_aliases(st, aliases, &id);
        Ok(())
    }

    /// Checks a key's description and alias names; returns the aliases.
    fn key_details(&self, st: &State, k: &KeyDoc, path: &str) -> Result<Vec<String>, WorldError> {
        if k.description.chars().count() > 8192 {
            return Err(self.err(
                format!("{path}.description"),
                "a key description has at most 8192 characters",
            ));
        }
        let mut aliases = Vec::new();
        for (j, a) in k.aliases.iter().enumerate() {
            let p = format!("{path}.aliases[{j}]");
            if let Some(problem) = alias_problem(a) {
                return Err(self.err(p, format!("`{a}` is not a valid alias name: {problem}")));
            }
            if st.aliases.contains_key(a) || aliases.contains(a) {
                return Err(self.err(
                    p,
                    format!("duplicate alias `{a}`: expected alias names unique in the account and Region"),
                ));
            }
            aliases.push(a.clone());
        }
        Ok(aliases)
    }

    /// Takes a backup of cluster `cluster_id` (the keys exist by now) and
    /// files it under the id the file gives, `READY`.
    fn backup(
        &self,
        st: &mut State,
        c: &ClusterDoc,
        cluster_id: &str,
        backup_id: &str,
        path: &str,
    ) -> Result<(), WorldError> {
        if !is_backup_id(backup_id) {
            return Err(self.err(
                path,
                format!("`{backup_id}` is not a backup id: expected `backup-` and 11 to 16 letters or digits, as `backup-9g87f6edcba`"),
            ));
        }
        if st.backups.contains_key(backup_id) {
            return Err(self.err(
                path,
                format!("duplicate backup `{backup_id}`: expected each backup id once"),
            ));
        }
        if c.state.unwrap_or(ClusterStateDoc::Active) != ClusterStateDoc::Active {
            return Err(self.err(
                path,
                "only an ACTIVE cluster is backed up: expected no `backups`",
            ));
        }
        let Some(seeded) = self.engine.take_backup_locked(st, cluster_id, EPOCH) else {
            return Err(self.err(path, format!("unknown cluster `{cluster_id}`")));
        };
        let Some(mut backup) = st.backups.remove(&seeded) else {
            return Err(self.err(path, "the backup was not recorded"));
        };
        backup.id = backup_id.to_owned();
        backup.state = BackupState::Ready;
        st.backups.insert(backup_id.to_owned(), backup);
        Ok(())
    }
}

/// The status a key's `enabled` asks for.
fn status(k: &KeyDoc) -> KeyStatus {
    if k.enabled.unwrap_or(true) {
        KeyStatus::Enabled
    } else {
        KeyStatus::Disabled
    }
}

/// Points each alias of `names` at key `id`.
fn add_aliases(st: &mut State, names: Vec<String>, id: &str) {
    for name in names {
        st.aliases.insert(
            name.clone(),
            Alias {
                name,
                target_key_id: id.to_owned(),
                creation_date: EPOCH,
                last_updated_date: EPOCH,
            },
        );
    }
}

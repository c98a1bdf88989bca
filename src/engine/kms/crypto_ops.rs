//! The data plane: Encrypt, Decrypt, ReEncrypt, GenerateDataKey,
//! GenerateDataKeyWithoutPlaintext and GenerateRandom.
//!
//! Each call resolves its key under the engine's *shared* lock into a
//! [`Resolved`] (the built AES key, and for a key in a key store the
//! session pools of its cluster's active HSMs), checking the R2/R4
//! preconditions on the way, and lets go of the lock. It then takes a
//! PKCS #11 session of one of the HSMs, each tried once from the next in
//! turn before it waits on one (failing with `KMSInternalException` when
//! none is free within the configured wait), holds it for the emulated HSM
//! latency, and does the AES work with the prebuilt key. A successful
//! resolution is kept for the thread's next calls until the state changes
//! (`resolved.rs`), so a call naming the same key again checks only what
//! does not depend on the state.

use std::borrow::Cow;
use std::cell::Cell;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use ring::rand::{SecureRandom, SystemRandom};
use serde_json::json;

use super::api::{
    DecryptRequest, DecryptResponse, EncryptRequest, EncryptResponse, EncryptionContext,
    GenerateDataKeyRequest, GenerateDataKeyResponse, GenerateRandomRequest, GenerateRandomResponse,
    ReEncryptRequest, ReEncryptResponse,
};
use super::crypto;
use super::key::{Key, KeyOrigin, KeyStatus};
use super::manage::grants::check_grant_tokens;
use super::resolved::{self, Resolved, ResolvedStore};
use super::store_ops::find_store;
use super::{
    add_present, check_enum, check_len, check_range, nothing_recorded, required,
    ENCRYPTION_ALGORITHMS,
};
use crate::engine::cloudhsm::pkcs11::{Session, SessionPool};
use crate::engine::error::{Error, ErrorKind, Result};
use crate::engine::state::State;
use crate::engine::trail::{CryptoDetail, CryptoKey, DataKeyLength, EventDetail, EventType};
use crate::engine::Engine;

/// A key resolved for one cryptographic operation, holding no lock (shared
/// with this thread's cache).
type Usable = Arc<Resolved>;

thread_local! {
    /// The HSM this thread tries first for its next session: each thread
    /// goes round the HSMs on its own, so that spreading the load costs no
    /// write to memory other threads share.
    static NEXT_HSM: Cell<usize> = const { Cell::new(0) };
}

const DRY_RUN: &str = "The request would have succeeded, but the DryRun option is set.";

impl Engine {
    /// Encrypt up to 4096 bytes under a key in a CloudHSM key store.
    pub fn encrypt(&self, req: &EncryptRequest) -> Result<EncryptResponse> {
        self.crypto_call(
            "Encrypt",
            req.key_id.as_deref(),
            Some(&req.encryption_context),
            |detail| {
                let key_id = required("KeyId", &req.key_id, 1, 2048)?;
                let plaintext = required_blob("Plaintext", &req.plaintext)?;
                check_grant_tokens(req.grant_tokens.as_deref())?;
                check_blob("Plaintext", plaintext, 4096)?;
                check_algorithm("EncryptionAlgorithm", req.encryption_algorithm.as_deref())?;
                let u = self.usable(key_id, None, detail)?;
                if req.dry_run == Some(true) {
                    return Err(Error::new(ErrorKind::DryRunOperation, DRY_RUN));
                }
                let blob = self.seal_on_hsm(&u, &req.encryption_context, plaintext)?;
                Ok(EncryptResponse {
                    ciphertext_blob: blob,
                    key_id: u.key.key_arn.clone(),
                    encryption_algorithm: Cow::Borrowed("SYMMETRIC_DEFAULT"),
                })
            },
        )
    }

    /// Decrypt a blob; `KeyId` is optional because the blob names its key.
    pub fn decrypt(&self, req: &DecryptRequest) -> Result<DecryptResponse> {
        self.crypto_call(
            "Decrypt",
            req.key_id.as_deref(),
            Some(&req.encryption_context),
            |detail| {
                let blob = required_blob("CiphertextBlob", &req.ciphertext_blob)?;
                check_algorithm("EncryptionAlgorithm", req.encryption_algorithm.as_deref())?;
                check_grant_tokens(req.grant_tokens.as_deref())?;
                let (plaintext, u) = self.open_blob(
                    blob,
                    req.key_id.as_deref(),
                    &req.encryption_context,
                    req.dry_run == Some(true),
                    detail,
                )?;
                Ok(DecryptResponse {
                    key_id: u.key.key_arn.clone(),
                    plaintext,
                    encryption_algorithm: Cow::Borrowed("SYMMETRIC_DEFAULT"),
                })
            },
        )
    }

    /// Decrypts under the source key and encrypts under the destination key.
    pub fn re_encrypt(&self, req: &ReEncryptRequest) -> Result<ReEncryptResponse> {
        self.crypto_call(
            "ReEncrypt",
            req.destination_key_id.as_deref(),
            None,
            |detail| {
                let dest = required("DestinationKeyId", &req.destination_key_id, 1, 2048)?;
                let blob = required_blob("CiphertextBlob", &req.ciphertext_blob)?;
                check_grant_tokens(req.grant_tokens.as_deref())?;
                check_algorithm(
                    "SourceEncryptionAlgorithm",
                    req.source_encryption_algorithm.as_deref(),
                )?;
                check_algorithm(
                    "DestinationEncryptionAlgorithm",
                    req.destination_encryption_algorithm.as_deref(),
                )?;
                let mut source_detail = None;
                let dry_run = req.dry_run == Some(true);
                let (plaintext, source) = self.open_blob(
                    blob,
                    req.source_key_id.as_deref(),
                    &req.source_encryption_context,
                    dry_run,
                    &mut source_detail,
                )?;
                let u = self.usable(dest, None, detail)?;
                let blob = self.seal_on_hsm(&u, &req.destination_encryption_context, &plaintext)?;
                Ok(ReEncryptResponse {
                    ciphertext_blob: blob,
                    source_key_id: source.key.key_arn.clone(),
                    key_id: u.key.key_arn.clone(),
                    source_encryption_algorithm: Cow::Borrowed("SYMMETRIC_DEFAULT"),
                    destination_encryption_algorithm: Cow::Borrowed("SYMMETRIC_DEFAULT"),
                })
            },
        )
    }

    /// GenerateDataKey: a random data key, in plaintext and encrypted.
    pub fn generate_data_key(
        &self,
        req: &GenerateDataKeyRequest,
    ) -> Result<GenerateDataKeyResponse> {
        self.generate_data_key_as("GenerateDataKey", req, true)
    }

    /// GenerateDataKeyWithoutPlaintext: only the encrypted data key.
    pub fn generate_data_key_without_plaintext(
        &self,
        req: &GenerateDataKeyRequest,
    ) -> Result<GenerateDataKeyResponse> {
        self.generate_data_key_as("GenerateDataKeyWithoutPlaintext", req, false)
    }

    fn generate_data_key_as(
        &self,
        name: &'static str,
        req: &GenerateDataKeyRequest,
        with_plaintext: bool,
    ) -> Result<GenerateDataKeyResponse> {
        self.crypto_call(
            name,
            req.key_id.as_deref(),
            Some(&req.encryption_context),
            |detail| {
                let key_id = required("KeyId", &req.key_id, 1, 2048)?;
                check_grant_tokens(req.grant_tokens.as_deref())?;
                let len = match (req.number_of_bytes, req.key_spec.as_deref()) {
                    (Some(n), None) => {
                        check_range("NumberOfBytes", n, 1, 1024)?;
                        usize::try_from(n).unwrap_or(32)
                    }
                    (None, Some(spec)) => {
                        check_enum("KeySpec", spec, &["AES_256", "AES_128"])?;
                        if spec == "AES_128" {
                            16
                        } else {
                            32
                        }
                    }
                    (Some(_), Some(_)) | (None, None) => {
                        return Err(Error::new(
                            ErrorKind::Validation,
                            "Please specify either number of bytes or key spec, but not both.",
                        ))
                    }
                };
                let u = self.usable(key_id, None, detail);
                if let Some(d) = detail.as_mut() {
                    d.data_key = Some(match (&req.key_spec, req.number_of_bytes) {
                        // Checked above: one of the two.
                        (Some(spec), _) if spec == "AES_128" => {
                            DataKeyLength::KeySpec(Cow::Borrowed("AES_128"))
                        }
                        (Some(_), _) => DataKeyLength::KeySpec(Cow::Borrowed("AES_256")),
                        (None, n) => DataKeyLength::NumberOfBytes(n.unwrap_or_default()),
                    });
                }
                let u = u?;
                if req.dry_run == Some(true) {
                    return Err(Error::new(ErrorKind::DryRunOperation, DRY_RUN));
                }
                let mut data_key = vec![0u8; len];
                crypto::fill_random(&mut data_key)?;
                let blob = self.seal_on_hsm(&u, &req.encryption_context, &data_key)?;
                Ok(GenerateDataKeyResponse {
                    ciphertext_blob: blob,
                    plaintext: with_plaintext.then_some(data_key),
                    key_id: u.key.key_arn.clone(),
                })
            },
        )
    }

    /// GenerateRandom; with `CustomKeyStoreId` the bytes come from the
    /// store's cluster, which must be connected.
    pub fn generate_random(&self, req: &GenerateRandomRequest) -> Result<GenerateRandomResponse> {
        let mut params = json!({"numberOfBytes": req.number_of_bytes});
        add_present(
            &mut params,
            "customKeyStoreId",
            req.custom_key_store_id.as_ref(),
        );
        self.audited(
            "GenerateRandom",
            params,
            || {
                let n = req
                    .number_of_bytes
                    .ok_or_else(|| Error::missing("NumberOfBytes"))?;
                check_range("NumberOfBytes", n, 1, 1024)?;
                let mut bytes = vec![0u8; usize::try_from(n).unwrap_or(1)];
                let fill = |b: &mut [u8]| {
                    SystemRandom::new().fill(b).map_err(|_| {
                        Error::new(ErrorKind::KmsInternal, "The random source failed.")
                    })
                };
                match &req.custom_key_store_id {
                    None => fill(&mut bytes)?,
                    Some(id) => {
                        check_len("CustomKeyStoreId", id, 1, 64)?;
                        let pools = {
                            let st = self.state.read();
                            let store = find_store(&st, id)?;
                            store.state.require_connected(id, "GenerateRandom")?;
                            let cluster = st
                                .clusters
                                .get(&store.cluster_id)
                                .filter(|c| c.exists() && c.security_group_ok && c.link.cross())
                                .ok_or_else(|| {
                                    Error::new(ErrorKind::KmsInternal, super::CANNOT_COMMUNICATE)
                                })?;
                            // R4: random bytes from the cluster need
                            // kmsuser's session; the exception from
                            // GenerateRandom's list (docs/fidelity.md I54).
                            if super::kmsuser_locked(cluster) {
                                return Err(Error::new(
                                    ErrorKind::CustomKeyStoreInvalidState,
                                    super::KMSUSER_LOCKED_OUT,
                                ));
                            }
                            cluster
                                .active_hsms()
                                .map(|h| h.pool.clone())
                                .collect::<Vec<_>>()
                        };
                        // No active HSM: KMS cannot reach the cluster. Not
                        // `session`'s KMSInvalidStateException, which is not
                        // among GenerateRandom's exceptions.
                        if pools.is_empty() {
                            return Err(Error::new(
                                ErrorKind::KmsInternal,
                                super::CANNOT_COMMUNICATE,
                            ));
                        }
                        match self.simultaneous_window() {
                            Some(window) => self.admit_virtual(window, &pools)?,
                            None => {
                                let _session = self.session(&pools)?;
                                self.hsm_latency();
                            }
                        }
                        fill(&mut bytes)?;
                    }
                }
                Ok(GenerateRandomResponse { plaintext: bytes })
            },
            nothing_recorded,
        )
    }

    /// Parses a blob, checks the optional key id against it, and opens it.
    fn open_blob(
        &self,
        blob: &[u8],
        key_id: Option<&str>,
        context: &EncryptionContext,
        dry_run: bool,
        detail: &mut Option<CryptoDetail>,
    ) -> Result<(Vec<u8>, Usable)> {
        check_blob("CiphertextBlob", blob, 6144)?;
        let header = crypto::parse(blob)?;
        // A key this thread resolved since the state last changed passed
        // every check below (it exists, so the blob names a key of this
        // account).
        let cached = match key_id {
            None => resolved::cached(self.instance, self.state.writes(), &header.key_id, true),
            Some(_) => None,
        };
        // One read of the state for the check and the resolution.
        let u = if let Some(r) = cached {
            self.admit(r, detail)?
        } else {
            // A blob naming a key this account never had is garbage to it
            // (as a blob from another Region or account is to AWS); one
            // naming a key deleted after its waiting period gets
            // NotFoundException from the lookup below (docs/fidelity.md I18).
            let st = self.state.read();
            // A `KeyId` naming no key here (another Region's key ARN among
            // them) is NotFoundException before the blob is looked at, as
            // AWS answers a key ARN of the wrong Region (docs/fidelity.md
            // F20).
            if let Some(named) = key_id {
                self.resolve_key(&st, named)?;
            }
            if !st.keys.contains_key(&header.key_id)
                && !st.deleted_keys.contains_key(&header.key_id)
            {
                return Err(Error::new(
                    ErrorKind::InvalidCiphertext,
                    "The ciphertext refers to a KMS key that does not exist in this account and Region.",
                ));
            }
            self.usable_in(&st, &header.key_id, key_id, key_id.is_none(), detail)?
        };
        if dry_run {
            return Err(Error::new(ErrorKind::DryRunOperation, DRY_RUN));
        }
        // The blob's own backing key decides which material opens it: after
        // R7's recovery the store points at a new cluster that holds the
        // same material under the same id.
        // An AWS_KMS key's ciphertext names the material version that made
        // it, which may predate a rotation.
        let older = u.versions.iter().find(|v| *v.id == *header.backing_key_id);
        let material = if *u.key.backing_key_id == *header.backing_key_id {
            u.material.clone()
        } else if let Some(v) = older {
            v.material.clone()
        } else {
            return Err(Error::new(
                ErrorKind::InvalidCiphertext,
                "The ciphertext refers to key material that does not belong to its KMS key.",
            ));
        };
        let plaintext = self.on_hsm(&u, |_| {
            crypto::open(material.aead(), &header, blob, context)
        })??;
        Ok((plaintext, u))
    }

    /// Resolves `key_id` for a cryptographic operation and checks every
    /// precondition of R2 and R4. `named` is a `KeyId` the caller gave
    /// alongside a blob (Decrypt), which must identify the same key.
    fn usable(
        &self,
        key_id: &str,
        named: Option<&str>,
        detail: &mut Option<CryptoDetail>,
    ) -> Result<Usable> {
        if named.is_none() {
            if let Some(r) = resolved::cached(self.instance, self.state.writes(), key_id, false) {
                return self.admit(r, detail);
            }
        }
        self.usable_in(&self.state.read(), key_id, named, false, detail)
    }

    /// A key this thread resolved since the state last changed: only what
    /// does not depend on the state is checked again, in the order
    /// [`Self::usable_in`] checks it (the store's quota, then the network
    /// path), then a session is taken if one is free.
    fn admit(&self, r: Arc<Resolved>, detail: &mut Option<CryptoDetail>) -> Result<Usable> {
        *detail = Some(CryptoDetail::of(r.key.clone()));
        if let Some(s) = &r.store {
            self.check_quota(&s.store_id)?;
            if !s.link.cross() {
                return Err(Error::new(
                    ErrorKind::KmsInvalidState,
                    super::CANNOT_COMMUNICATE,
                ));
            }
        }
        Ok(r)
    }

    /// [`Self::usable`] on a state the caller has already read. `by_blob`:
    /// `key_id` was read from a blob and the call named no key, so its
    /// event records the key's ARN, as the guide's Decrypt example shows it
    /// (docs/fidelity.md F26).
    fn usable_in(
        &self,
        st: &State,
        key_id: &str,
        named: Option<&str>,
        by_blob: bool,
        detail: &mut Option<CryptoDetail>,
    ) -> Result<Usable> {
        let key = self.resolve_key(st, key_id)?;
        if let Some(n) = named {
            check_len("KeyId", n, 1, 2048)?;
            let other = self.resolve_key(st, n)?;
            if other.id != key.id {
                return Err(Error::new(
                    ErrorKind::IncorrectKey,
                    "The key ID in the request does not identify a KMS key that can perform this operation.",
                ));
            }
        }
        // The id as the caller gave it; most callers give the key id or ARN,
        // which the key already holds.
        let given = named.unwrap_or(key_id);
        let same = |id: &Arc<str>| (given == &**id).then(|| id.clone());
        let given = same(&key.id)
            .or_else(|| same(&key.arn))
            .unwrap_or_else(|| Arc::from(given));
        let recorded_id = if by_blob {
            key.arn.clone()
        } else {
            given.clone()
        };
        let b = match &key.origin {
            KeyOrigin::AwsCloudHsm(b) => b,
            KeyOrigin::AwsKms(m) => {
                // docs/fidelity.md F14: an AWS_KMS key needs no key store,
                // so a disconnected store never stops it.
                let current = m.current().ok_or_else(|| unavailable(&key.arn))?;
                let recorded = Arc::new(CryptoKey {
                    key_id: recorded_id,
                    key_arn: key.arn.clone(),
                    custom_key_store_id: None,
                    backing_key_id: current.id.clone(),
                    key_handle: 0,
                });
                *detail = Some(CryptoDetail::of(recorded.clone()));
                self.check_key_usable(st, key, true)?;
                return Ok(self.resolved(
                    named,
                    Resolved {
                        given,
                        by_blob,
                        key: recorded,
                        names: crypto::Names::new(&key.id, &current.id),
                        material: current.material.clone(),
                        versions: m.versions.clone(),
                        store: None,
                    },
                ));
            }
        };
        let store = find_store(st, &b.store_id)?;
        let recorded = Arc::new(CryptoKey {
            key_id: recorded_id,
            key_arn: key.arn.clone(),
            custom_key_store_id: Some(b.store_id.clone()),
            backing_key_id: b.backing_key_id.clone(),
            key_handle: b.key_handle,
        });
        *detail = Some(CryptoDetail::of(recorded.clone()));
        self.check_key_usable(st, key, self.key_available(st, key))?;
        self.check_quota(&b.store_id)?;
        let cannot_communicate =
            || Error::new(ErrorKind::KmsInvalidState, super::CANNOT_COMMUNICATE);
        let cluster = st
            .clusters
            .get(&store.cluster_id)
            .filter(|c| c.exists())
            .ok_or_else(cannot_communicate)?;
        if !cluster.security_group_ok || !cluster.link.cross() {
            return Err(cannot_communicate());
        }
        if super::kmsuser_locked(cluster) {
            return Err(Error::new(
                ErrorKind::KmsInvalidState,
                super::KMSUSER_LOCKED_OUT,
            ));
        }
        let pools: Vec<Arc<SessionPool>> = cluster.active_hsms().map(|h| h.pool.clone()).collect();
        if pools.is_empty() {
            // R2: "crypto needs at least one active HSM". Which message AWS
            // sends is not documented; KMS cannot reach any HSM.
            return Err(cannot_communicate());
        }
        // R7: the material was deleted from the cluster.
        let material = cluster
            .keys
            .by_id(&b.backing_key_id)
            .map(|k| k.material.clone())
            .ok_or_else(|| unavailable(&key.arn))?;
        Ok(self.resolved(
            named,
            Resolved {
                given,
                by_blob,
                key: recorded,
                names: crypto::Names::new(&key.id, &b.backing_key_id),
                material,
                versions: Vec::new(),
                store: Some(ResolvedStore {
                    store_id: b.store_id.clone(),
                    link: cluster.link.clone(),
                    pools,
                }),
            },
        ))
    }

    /// A resolution that passed every check of the state, kept for this
    /// thread's next calls that name the key the same way (not when the call
    /// also named a key to compare, which is checked every time). The
    /// caller holds the state's read lock, so the write count is the one
    /// the checks saw.
    fn resolved(&self, named: Option<&str>, r: Resolved) -> Usable {
        let r = Arc::new(r);
        if named.is_none() {
            resolved::remember(self.instance, self.state.writes(), r.clone());
        }
        r
    }

    /// R1/R2: the key's own state.
    fn check_key_usable(&self, _st: &State, key: &Key, connected: bool) -> Result<()> {
        match key.status {
            // docs/fidelity.md I2: DisabledException or
            // KMSInvalidStateException; KMSInvalidStateException chosen.
            KeyStatus::PendingDeletion { .. } => Err(Error::new(
                ErrorKind::KmsInvalidState,
                format!("{} is pending deletion.", key.arn),
            )),
            KeyStatus::Enabled | KeyStatus::Disabled if !connected => Err(unavailable(&key.arn)),
            KeyStatus::Disabled => Err(Error::new(
                ErrorKind::Disabled,
                format!("{} is disabled.", key.arn),
            )),
            KeyStatus::Enabled => Ok(()),
        }
    }

    /// The optional CloudHSM key store request quota, per one-second window
    /// of the engine's clock.
    fn check_quota(&self, store_id: &str) -> Result<()> {
        let Some(quota) = self.config.key_store_request_quota else {
            return Ok(());
        };
        let second = self.clock.now().as_millis().div_euclid(1000);
        let mut windows = self.quota_windows.lock();
        let entry = windows.entry(store_id.to_owned()).or_insert((second, 0));
        if entry.0 != second {
            *entry = (second, 0);
        }
        if entry.1 >= quota {
            return Err(Error::new(
                ErrorKind::Throttling,
                "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.",
            ));
        }
        entry.1 += 1;
        Ok(())
    }

    /// A PKCS #11 session from one of `pools`, trying each HSM once before
    /// waiting on one of them.
    fn session<'p>(&self, pools: &'p [Arc<SessionPool>]) -> Result<Session<&'p SessionPool>> {
        let n = pools.len();
        if n == 0 {
            return Err(Error::new(
                ErrorKind::KmsInvalidState,
                super::CANNOT_COMMUNICATE,
            ));
        }
        let start = NEXT_HSM.with(|next| {
            let start = next.get();
            next.set(start.wrapping_add(1));
            start
        });
        for i in 0..n {
            if let Some(s) = pools[(start.wrapping_add(i)) % n].try_acquire() {
                return Ok(s);
            }
        }
        let wait = Duration::from_micros(self.config.pkcs11.session_wait_micros);
        if !wait.is_zero() {
            if let Some(s) = pools[start % n].acquire(wait) {
                return Ok(s);
            }
        }
        Err(Error::new(
            ErrorKind::KmsInternal,
            super::NO_PKCS11_SESSIONS,
        ))
    }

    fn hsm_latency(&self) {
        let latency = self.config.pkcs11.hsm_latency_micros;
        if latency > 0 {
            std::thread::sleep(Duration::from_micros(latency));
        }
    }

    /// Encrypts under the key on one of its HSMs.
    fn seal_on_hsm(
        &self,
        u: &Resolved,
        context: &EncryptionContext,
        plaintext: &[u8],
    ) -> Result<Vec<u8>> {
        self.on_hsm(u, |r| {
            crypto::seal(r.material.aead(), &r.names, context, plaintext)
        })?
    }

    /// Runs `f` while holding a session of one of the key's HSMs, and lets
    /// the session go after it (a ReEncrypt's source session is not held
    /// while its destination waits for one).
    fn on_hsm<T>(&self, r: &Resolved, f: impl FnOnce(&Resolved) -> T) -> Result<T> {
        let Some(s) = &r.store else {
            // An AWS_KMS key: KMS's own HSMs.
            return Ok(f(r));
        };
        if let Some(window) = self.simultaneous_window() {
            self.admit_virtual(window, &s.pools)?;
            return Ok(f(r));
        }
        let _session = self.session(&s.pools)?;
        self.hsm_latency();
        Ok(f(r))
    }

    /// Inside a simultaneous window on a virtual clock: a session in
    /// virtual time, trying each HSM once (see `SessionPool::admit_virtual`).
    fn admit_virtual(&self, window: u64, pools: &[Arc<SessionPool>]) -> Result<()> {
        let now = self.clock.now().as_millis().saturating_mul(1000);
        let latency = i64::try_from(self.config.pkcs11.hsm_latency_micros).unwrap_or(i64::MAX);
        let wait = i64::try_from(self.config.pkcs11.session_wait_micros).unwrap_or(i64::MAX);
        let n = pools.len();
        let start = self.round_robin.fetch_add(1, Ordering::Relaxed);
        if (0..n).any(|i| pools[(start + i) % n].admit_virtual(window, now, latency, wait)) {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::KmsInternal,
                super::NO_PKCS11_SESSIONS,
            ))
        }
    }

    /// Runs a data-plane call as every one runs: the clock caught up first,
    /// then `run`, which notes what it learnt of the key in `detail`, then
    /// the call recorded in the trail (by `key_id` alone when it learnt
    /// nothing), with the request's encryption context if it has one
    /// (ReEncrypt's two contexts are not recorded).
    fn crypto_call<T>(
        &self,
        name: &'static str,
        key_id: Option<&str>,
        context: Option<&EncryptionContext>,
        run: impl FnOnce(&mut Option<CryptoDetail>) -> Result<T>,
    ) -> Result<T> {
        let now = self.catch_up();
        let mut detail = None;
        let result = run(&mut detail);
        if let (Some(d), Some(c)) = (detail.as_mut(), context.filter(|c| !c.is_empty())) {
            d.encryption_context = Some(Arc::new(c.clone()));
        }
        let error = result
            .as_ref()
            .err()
            .map(|e| (e.aws_name(), e.message_cow()));
        let detail = match detail {
            Some(d) => EventDetail::Crypto(d),
            None => EventDetail::Bare {
                request_parameters: Box::new(json!({"keyId": key_id})),
            },
        };
        self.trail
            .record(now, name, EventType::ApiCall, detail, error);
        result
    }
}

fn unavailable(arn: &str) -> Error {
    Error::new(ErrorKind::KmsInvalidState, format!("{arn} is unavailable."))
}

/// A blob member the call cannot do without.
fn required_blob<'a>(field: &str, value: &'a Option<Vec<u8>>) -> Result<&'a [u8]> {
    value.as_deref().ok_or_else(|| Error::missing(field))
}

fn check_blob(field: &str, b: &[u8], max: usize) -> Result<()> {
    if b.is_empty() {
        return Err(Error::validation(
            field,
            "java.nio.HeapByteBuffer[pos=0 lim=0 cap=0]",
            "Member must have length greater than or equal to 1",
        ));
    }
    if b.len() > max {
        return Err(Error::validation(
            field,
            format!("java.nio.HeapByteBuffer[pos=0 lim={0} cap={0}]", b.len()),
            &format!("Member must have length less than or equal to {max}"),
        ));
    }
    Ok(())
}

fn check_algorithm(field: &str, a: Option<&str>) -> Result<()> {
    let Some(a) = a else { return Ok(()) };
    check_enum(field, a, ENCRYPTION_ALGORITHMS)?;
    if a != "SYMMETRIC_DEFAULT" {
        return Err(Error::new(
            ErrorKind::InvalidKeyUsage,
            format!("The encryption algorithm {a} is not supported by this KMS key; symmetric encryption KMS keys support SYMMETRIC_DEFAULT only."),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::engine::world::example;

    /// Regression (found by tests/integration/model.rs): GenerateRandom in a connected
    /// store whose cluster had no active HSM raised KMSInvalidStateException,
    /// which is not among GenerateRandom's exceptions in the KMS model.
    #[test]
    fn generate_random_without_an_active_hsm_is_kms_internal() {
        let e = example();
        let hsms: Vec<String> = e.with_state(|st| {
            st.clusters["cluster-1a23b4cdefg"]
                .hsms
                .iter()
                .map(|h| h.id.clone())
                .collect()
        });
        for h in hsms {
            e.call(
                "DeleteHsm",
                json!({"ClusterId": "cluster-1a23b4cdefg", "HsmId": h}),
            )
            .unwrap();
        }
        let err = e
            .call(
                "GenerateRandom",
                json!({"NumberOfBytes": 16, "CustomKeyStoreId": "cks-1234567890abcdef0"}),
            )
            .unwrap_err();
        assert_eq!(err.aws_name(), "KMSInternalException", "{err}");
        assert_eq!(err.message(), super::super::CANNOT_COMMUNICATE);
    }

    /// A key resolved once is served from this thread's cache until the
    /// state changes: each change below must be seen by the very next call.
    #[test]
    fn the_resolved_key_cache_never_outlives_a_change() {
        let e = example();
        let encrypt = |e: &crate::engine::Engine| {
            e.call(
                "Encrypt",
                json!({"KeyId": "alias/app", "Plaintext": "aGk="}),
            )
        };
        let err = |e: &crate::engine::Engine| match encrypt(e) {
            Ok(v) => panic!("Encrypt succeeded: {v}"),
            Err(err) => (err.aws_name(), err.message().to_owned()),
        };
        // Twice: the second call is served from the cache.
        encrypt(&e).unwrap();
        encrypt(&e).unwrap();
        e.call("DisableKey", json!({"KeyId": "alias/app"})).unwrap();
        assert_eq!(err(&e).0, "DisabledException");
        e.call("EnableKey", json!({"KeyId": "alias/app"})).unwrap();
        encrypt(&e).unwrap();
        e.set_network(
            "cluster-1a23b4cdefg",
            crate::engine::NetworkCondition::Flaky(1),
        )
        .unwrap();
        // The next call spends the flaky link's one failure, then it heals.
        assert_eq!(err(&e).1, super::super::CANNOT_COMMUNICATE);
        encrypt(&e).unwrap();
        encrypt(&e).unwrap();
        let held = e.exhaust_sessions("cluster-1a23b4cdefg").unwrap();
        assert!(held > 0);
        assert_eq!(err(&e).0, "KMSInternalException");
        e.release_sessions("cluster-1a23b4cdefg").unwrap();
        encrypt(&e).unwrap();
        let backing = e.with_state(|st| {
            st.keys["1234abcd-12ab-34cd-56ef-1234567890ab"]
                .store()
                .map(|b| b.backing_key_id.to_string())
                .unwrap_or_default()
        });
        e.delete_key_material("cluster-1a23b4cdefg", &backing)
            .unwrap();
        let (name, message) = err(&e);
        assert_eq!(name, "KMSInvalidStateException");
        assert!(message.ends_with("is unavailable."), "{message}");
    }
}

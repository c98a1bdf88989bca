//! Key management: what KMS keeps about a key besides its material and
//! state, for keys of both origins.
//!
//! - `tags.rs`: TagResource, UntagResource, ListResourceTags, and the tag
//!   rules CreateKey shares.
//! - `policy.rs`: the default key policy, GetKeyPolicy, PutKeyPolicy,
//!   ListKeyPolicies. Policies are kept, never evaluated.
//! - `grants.rs`: CreateGrant, ListGrants, ListRetirableGrants,
//!   RetireGrant, RevokeGrant, and the grant-token check the
//!   cryptographic operations share. Grants are kept, never evaluated.
//! - `rotation.rs`: Enable/DisableKeyRotation, GetKeyRotationStatus,
//!   RotateKeyOnDemand, ListKeyRotations, and automatic rotation on the
//!   clock (`AWS_KMS` keys only).
//! - `update.rs`: UpdateAlias and UpdateKeyDescription.
//! - `shapes.rs`: their requests and responses.
//!
//! Each operation resolves its key through `Engine::managed`, which
//! asks the key's state machine (`machines/key.rs`, `on_manage`) whether
//! the key's state allows it, and records the call in the trail like
//! every control-plane call (`kms/mod.rs`, `audited`).

pub(crate) mod grants;
pub(crate) mod policy;
mod rotation;
pub mod shapes;
pub(crate) mod tags;
mod update;

use crate::engine::error::{Error, ErrorKind, Result};
use crate::engine::kms::key::{Key, KeyState};
use crate::engine::kms::keystore::ConnectionState;
use crate::engine::machines::key::Management;
use crate::engine::state::State;
use crate::engine::Engine;

impl Engine {
    /// The `KeyState` DescribeKey would show for `key` in `st`, for readers
    /// that look at the state without a call (and so without a trail
    /// event), such as the scenario layer's per-step samples.
    pub fn key_state(&self, st: &State, key: &Key) -> KeyState {
        key.status.visible(self.key_available(st, key))
    }

    /// Whether `key` is available as far as its store goes: an `AWS_KMS`
    /// key always is; a key in a key store while the store is `CONNECTED`
    /// and its material has not been gone from the cluster for the world's
    /// delay (R7, docs/fidelity.md F25, I53). An unavailable key reads
    /// `Unavailable`.
    pub(crate) fn key_available(&self, st: &State, key: &Key) -> bool {
        key.store().is_none_or(|b| {
            !b.material_in_cluster.is_gone()
                && st
                    .stores
                    .get(&*b.store_id)
                    .is_some_and(|s| s.state == ConnectionState::Connected)
        })
    }

    /// Resolves `key_id` in `st`, checks that the key's state allows an
    /// operation under `rule`, and hands the key to `f` to change.
    pub(crate) fn managed<T>(
        &self,
        st: &mut State,
        key_id: &str,
        rule: Management,
        f: impl FnOnce(&mut Key) -> Result<T>,
    ) -> Result<T> {
        let key = self.resolve_key(st, key_id)?;
        let available = self.key_available(st, key);
        key.status.on_manage(rule, available, &key.arn)?;
        let id = key.id.clone();
        let key = st
            .keys
            .get_mut(&*id)
            .ok_or_else(|| Error::new(ErrorKind::KmsInternal, "key vanished"))?;
        f(key)
    }

    /// [`Engine::managed`] under the state's write lock, for a change
    /// that touches nothing but the key.
    pub(crate) fn manage_key<T>(
        &self,
        key_id: &str,
        rule: Management,
        f: impl FnOnce(&mut Key) -> Result<T>,
    ) -> Result<T> {
        self.managed(&mut self.state.write(), key_id, rule, f)
    }

    /// Resolves `key_id` under the state's read lock, in every key state,
    /// and hands the key (and the state it is in) to `f` to read.
    pub(crate) fn read_key<T>(
        &self,
        key_id: &str,
        f: impl FnOnce(&State, &Key) -> Result<T>,
    ) -> Result<T> {
        let st = self.state.read();
        f(&st, self.resolve_key(&st, key_id)?)
    }
}

#[cfg(test)]
mod tests;

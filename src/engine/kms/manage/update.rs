//! UpdateAlias and UpdateKeyDescription (docs/fidelity.md F15 for the key
//! states they refuse).

use serde_json::json;

use super::shapes::UpdateKeyDescriptionRequest;
use crate::engine::error::{Error, ErrorKind, Result};
use crate::engine::kms::api::{AliasRequest, Empty};
use crate::engine::kms::{check_len, nothing_recorded, required};
use crate::engine::machines::key::Management;
use crate::engine::Engine;

impl Engine {
    /// UpdateAlias: points an existing alias at another key, which must
    /// not be pending deletion.
    pub fn update_alias(&self, req: &AliasRequest) -> Result<Empty> {
        self.audited(
            "UpdateAlias",
            json!({"aliasName": req.alias_name, "targetKeyId": req.target_key_id}),
            || {
                let name = required("AliasName", &req.alias_name, 1, 256)?;
                let target = required("TargetKeyId", &req.target_key_id, 1, 2048)?;
                super::super::key_ops::check_alias_name(name)?;
                if target.contains("alias/") {
                    return Err(Error::new(
                        ErrorKind::Validation,
                        "TargetKeyId must be a key ID or key ARN, not an alias.",
                    ));
                }
                let mut st = self.state.write();
                if !st.aliases.contains_key(name) {
                    return Err(Error::new(
                        ErrorKind::NotFound,
                        format!("Alias {} is not found.", self.alias_arn(name)),
                    ));
                }
                let key_id =
                    self.managed(&mut st, target, Management::NotPendingDeletion, |k| {
                        Ok(k.id.to_string())
                    })?;
                let now = self.clock.now();
                if let Some(a) = st.aliases.get_mut(name) {
                    a.target_key_id = key_id;
                    a.last_updated_date = now;
                }
                Ok(Empty {})
            },
            nothing_recorded,
        )
    }

    /// UpdateKeyDescription: 0–8192 characters; not while pending deletion.
    pub fn update_key_description(&self, req: &UpdateKeyDescriptionRequest) -> Result<Empty> {
        self.on_key(
            "UpdateKeyDescription",
            json!({"keyId": req.key_id, "description": req.description}),
            &req.key_id,
            |key_id| {
                let description = req
                    .description
                    .as_deref()
                    .ok_or_else(|| Error::missing("Description"))?;
                check_len("Description", description, 0, 8192)?;
                self.manage_key(key_id, Management::NotPendingDeletion, |k| {
                    k.description = description.to_owned();
                    Ok(Empty {})
                })
            },
        )
    }
}

//! The KMS key steps: CreateKey in the store; Encrypt, GenerateDataKey,
//! Decrypt (of ciphertexts made earlier, with a wrong context now and
//! then), ReEncrypt and GenerateRandom; Enable/DisableKey and
//! Schedule/CancelKeyDeletion. Each outcome is the model's.

use base64::Engine as _;
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::json;

use super::run::{b64, fail, millis};
use super::Run;
use super::{CState, Conn, Ct, KStatus, MKey};
use super::{
    TestResult, B64, DAY, INVALID_CIPHERTEXT, INVALID_CONFIG, KMS_INTERNAL, NOT_ACTIVE, STORE,
    STORE_STATE, VALIDATION,
};

impl Run {
    pub(super) fn create_key(&mut self) -> TestResult {
        let want = if self.m.store.conn != Conn::Connected {
            Err(STORE_STATE)
        } else {
            let c = self.m.store_cluster();
            if !c.exists() {
                Err(KMS_INTERNAL)
            } else if c.state != CState::Active {
                Err(NOT_ACTIVE)
            } else if !c.sg_ok || c.active_zones() < 2 {
                Err(INVALID_CONFIG)
            } else if !c.cross() {
                Err(KMS_INTERNAL)
            } else if c.kmsuser.locked {
                // R4: kmsuser's session is of no use (docs/fidelity.md I54).
                Err(STORE_STATE)
            } else {
                Ok(())
            }
        };
        let input = json!({
            "Origin": "AWS_CLOUDHSM",
            "CustomKeyStoreId": STORE,
            "Description": format!("model step {}", self.step),
        });
        let r = self.expect("CreateKey", input, want)?;
        if let Some(v) = r {
            let meta = &v["KeyMetadata"];
            if meta["KeyState"] != json!("Enabled") || meta["Enabled"] != json!(true) {
                return Err(fail(format!("step {}: CreateKey gave {v}", self.step)));
            }
            let key_id = meta["KeyId"].as_str().unwrap().to_owned();
            self.m.store_cluster().material.insert(key_id.clone());
            self.m.keys.push(MKey {
                id: key_id,
                status: KStatus::Enabled,
                deleted: false,
                missing_since: None,
            });
        }
        Ok(())
    }

    pub(super) fn encrypt(&mut self, k: Index, by_arn: bool) -> TestResult {
        let k = self.key_index(k);
        let key = &self.m.keys[k];
        let key_id = if by_arn { key.arn() } else { key.id.clone() };
        let plaintext = format!("plaintext of step {}", self.step).into_bytes();
        let context = self.context();
        let want = self.m.crypto(k);
        let input =
            json!({"KeyId": key_id, "Plaintext": b64(&plaintext), "EncryptionContext": context});
        if let Some(v) = self.expect("Encrypt", input, want)? {
            self.push_ct(&v["CiphertextBlob"], plaintext, k, context);
        }
        Ok(())
    }

    pub(super) fn generate_data_key(&mut self, k: Index) -> TestResult {
        let k = self.key_index(k);
        let context = self.context();
        let want = self.m.crypto(k);
        let input =
            json!({"KeyId": self.m.keys[k].id, "NumberOfBytes": 32, "EncryptionContext": context});
        if let Some(v) = self.expect("GenerateDataKey", input, want)? {
            let plaintext = B64.decode(v["Plaintext"].as_str().unwrap()).unwrap();
            prop_assert_eq!(plaintext.len(), 32);
            self.push_ct(&v["CiphertextBlob"], plaintext, k, context);
        }
        Ok(())
    }

    /// One of the ciphertexts made earlier in the sequence, if any.
    fn earlier_ciphertext(&mut self, c: Index) -> Option<Ct> {
        if self.m.cts.is_empty() {
            self.note("no ciphertext yet".into());
            return None;
        }
        Some(self.m.cts[c.index(self.m.cts.len())].clone())
    }

    pub(super) fn decrypt(&mut self, c: Index, wrong_context: bool) -> TestResult {
        let Some(ct) = self.earlier_ciphertext(c) else {
            return Ok(());
        };
        // The context is checked last, when the AES work fails.
        let want = match self.m.crypto(ct.key) {
            Ok(()) if wrong_context => Err(INVALID_CIPHERTEXT),
            other => other,
        };
        let context = if wrong_context {
            json!({"step": "another"})
        } else {
            ct.context.clone()
        };
        let input = json!({"CiphertextBlob": ct.blob, "EncryptionContext": context});
        if let Some(v) = self.expect("Decrypt", input, want)? {
            prop_assert_eq!(&v["Plaintext"], &json!(b64(&ct.plaintext)));
        }
        Ok(())
    }

    pub(super) fn re_encrypt(&mut self, c: Index, k: Index) -> TestResult {
        let Some(ct) = self.earlier_ciphertext(c) else {
            return Ok(());
        };
        let dest = self.key_index(k);
        let want = self.m.crypto(ct.key).and_then(|()| self.m.crypto(dest));
        let context = self.context();
        let input = json!({
            "CiphertextBlob": ct.blob,
            "SourceEncryptionContext": ct.context,
            "DestinationKeyId": self.m.keys[dest].id,
            "DestinationEncryptionContext": context,
        });
        if let Some(v) = self.expect("ReEncrypt", input, want)? {
            self.push_ct(&v["CiphertextBlob"], ct.plaintext, dest, context);
        }
        Ok(())
    }

    pub(super) fn generate_random(&mut self) -> TestResult {
        let want = if self.m.store.conn != Conn::Connected {
            Err(STORE_STATE)
        } else {
            // Unreachable, no active HSM, or no free session.
            let c = self.m.store_cluster();
            let reachable = c.exists() && c.sg_ok && c.cross();
            if reachable && c.kmsuser.locked {
                // R4: kmsuser's session is of no use (docs/fidelity.md I54).
                Err(STORE_STATE)
            } else if reachable && c.active_hsms().any(|h| !h.exhausted) {
                Ok(())
            } else {
                Err(KMS_INTERNAL)
            }
        };
        let input = json!({"NumberOfBytes": 16, "CustomKeyStoreId": STORE});
        if let Some(v) = self.expect("GenerateRandom", input, want)? {
            let bytes = B64.decode(v["Plaintext"].as_str().unwrap()).unwrap();
            prop_assert_eq!(bytes.len(), 16);
        }
        Ok(())
    }

    pub(super) fn enable_or_disable(&mut self, k: Index, enable: bool) -> TestResult {
        let k = self.key_index(k);
        let key = &self.m.keys[k];
        let want = key.state_change(false);
        let op = if enable { "EnableKey" } else { "DisableKey" };
        self.expect(op, json!({"KeyId": key.id}), want)?;
        if want.is_ok() {
            self.m.keys[k].status = if enable {
                KStatus::Enabled
            } else {
                KStatus::Disabled
            };
        }
        Ok(())
    }

    pub(super) fn schedule_deletion(&mut self, k: Index, days: i64) -> TestResult {
        let k = self.key_index(k);
        let key = &self.m.keys[k];
        let want = if !(7..=30).contains(&days) {
            Err(VALIDATION)
        } else {
            key.state_change(false)
        };
        let input = json!({"KeyId": key.id, "PendingWindowInDays": days});
        if let Some(v) = self.expect("ScheduleKeyDeletion", input, want)? {
            let at = self.m.now + days * DAY;
            prop_assert_eq!(millis(&v["DeletionDate"]), at);
            prop_assert_eq!(&v["KeyState"], &json!("PendingDeletion"));
            prop_assert_eq!(&v["KeyId"], &json!(self.m.keys[k].arn()));
            self.m.keys[k].status = KStatus::Pending(at);
        }
        Ok(())
    }

    pub(super) fn cancel_deletion(&mut self, k: Index) -> TestResult {
        let k = self.key_index(k);
        let key = &self.m.keys[k];
        let want = key.state_change(true);
        self.expect("CancelKeyDeletion", json!({"KeyId": key.id}), want)?;
        if want.is_ok() {
            self.m.keys[k].status = KStatus::Disabled;
        }
        Ok(())
    }
}

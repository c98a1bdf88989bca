//! The key store steps: Connect, Disconnect, UpdateCustomKeyStore
//! (password, name, cluster), CreateCustomKeyStore and
//! DeleteCustomKeyStore where they are refused, each with the outcome the
//! model predicts and the model changed as the engine should have.

use proptest::prelude::*;
use serde_json::json;

use super::actions::Target;
use super::Run;
use super::{CState, Conn, Pw};
use super::{
    TestResult, BOGUS_CLUSTER, CLUSTER_NOT_FOUND, CONNECT_MS, INVALID_CONFIG, NOT_ACTIVE,
    PASSWORDS, STORE, STORE_STATE,
};

impl Run {
    pub(super) fn connect(&mut self) -> TestResult {
        let id = json!({"CustomKeyStoreId": STORE});
        let want = match self.m.store.conn {
            Conn::Disconnected => {
                let c = &self.m.clusters[self.m.store.cluster];
                if c.exists() && c.state != CState::Active {
                    Err(NOT_ACTIVE)
                } else if c.exists() && !c.sg_ok {
                    Err(INVALID_CONFIG)
                } else {
                    Ok(())
                }
            }
            Conn::Connecting(_) | Conn::Connected => Ok(()),
            Conn::Failed(_) => Err(STORE_STATE),
        };
        self.expect("ConnectCustomKeyStore", id, want)?;
        if want.is_ok() && self.m.store.conn == Conn::Disconnected {
            self.m.store.conn = Conn::Connecting(self.m.now + CONNECT_MS);
        }
        Ok(())
    }

    pub(super) fn disconnect(&mut self) -> TestResult {
        let id = json!({"CustomKeyStoreId": STORE});
        let was = self.m.store.conn;
        let want = match was {
            Conn::Disconnected => Err(STORE_STATE),
            Conn::Connecting(_) | Conn::Connected | Conn::Failed(_) => Ok(()),
        };
        self.expect("DisconnectCustomKeyStore", id, want)?;
        if want.is_ok() {
            self.m.store.conn = Conn::Disconnected;
            let c = self.m.store_cluster();
            c.kms_login = false;
            let subnets: Vec<String> = c.subnets.values().cloned().collect();
            if was == Conn::Connected {
                for s in subnets {
                    self.m.release_address(&s);
                }
            }
        }
        Ok(())
    }

    pub(super) fn update_password(&mut self, p: usize) -> TestResult {
        let want = match self.m.store.conn {
            Conn::Disconnected => Ok(()),
            Conn::Connecting(_) | Conn::Connected | Conn::Failed(_) => Err(STORE_STATE),
        };
        self.expect(
            "UpdateCustomKeyStore",
            json!({"CustomKeyStoreId": STORE, "KeyStorePassword": PASSWORDS[p]}),
            want,
        )?;
        if want.is_ok() {
            self.m.store.pw = Pw::Known(p);
        }
        Ok(())
    }

    pub(super) fn rename(&mut self, b: bool) -> TestResult {
        let name = if b {
            "RenamedKeyStore"
        } else {
            "ExampleKeyStore"
        };
        let want = match self.m.store.conn {
            Conn::Disconnected | Conn::Connected => Ok(()),
            Conn::Connecting(_) | Conn::Failed(_) => Err(STORE_STATE),
        };
        self.expect(
            "UpdateCustomKeyStore",
            json!({"CustomKeyStoreId": STORE, "NewCustomKeyStoreName": name}),
            want,
        )?;
        if want.is_ok() {
            self.m.store.name = name;
        }
        Ok(())
    }

    pub(super) fn update_cluster(&mut self, t: Option<Target>) -> TestResult {
        let ci = t.map(|t| self.resolve(t));
        let cluster_id = match ci {
            Some(ci) => self.m.clusters[ci].id.clone(),
            None => BOGUS_CLUSTER.to_owned(),
        };
        let want = if self.m.store.conn != Conn::Disconnected {
            Err(STORE_STATE)
        } else {
            match ci.map(|ci| &self.m.clusters[ci]) {
                None => Err(CLUSTER_NOT_FOUND),
                Some(c) if !c.exists() => Err(CLUSTER_NOT_FOUND),
                // Every cluster here shares the example cluster's
                // backup history, so none is unrelated.
                Some(c) if c.state != CState::Active => Err(NOT_ACTIVE),
                Some(c) if !c.sg_ok || c.active_zones() < 2 => Err(INVALID_CONFIG),
                Some(_) => Ok(()),
            }
        };
        self.expect(
            "UpdateCustomKeyStore",
            json!({"CustomKeyStoreId": STORE, "CloudHsmClusterId": cluster_id}),
            want,
        )?;
        if let (Ok(()), Some(ci)) = (want, ci) {
            self.m.store.cluster = ci;
        }
        Ok(())
    }

    pub(super) fn create_store(&mut self, same_name: bool, t: Target, p: usize) -> TestResult {
        let ci = self.resolve(t);
        let name = if same_name {
            self.m.store.name
        } else {
            "AnotherKeyStore"
        };
        let c = &self.m.clusters[ci];
        let want = if same_name
            && ci == self.m.store.cluster
            && self.m.store.pw == Pw::Known(p)
            && self.m.store.conn == Conn::Disconnected
        {
            // Create-keystore: the same properties as an existing
            // disconnected store give its id.
            Ok(())
        } else if same_name {
            Err("CustomKeyStoreNameInUseException")
        } else if !c.exists() {
            Err(CLUSTER_NOT_FOUND)
        } else {
            Err("CloudHsmClusterInUseException")
        };
        let input = json!({
            "CustomKeyStoreName": name,
            "CloudHsmClusterId": c.id,
            "TrustAnchorCertificate": self.m.store.trust_anchor,
            "KeyStorePassword": PASSWORDS[p],
        });
        if let Some(v) = self.expect("CreateCustomKeyStore", input, want)? {
            prop_assert_eq!(&v["CustomKeyStoreId"], &json!(STORE));
        }
        Ok(())
    }

    pub(super) fn delete_store(&mut self) -> TestResult {
        let id = json!({"CustomKeyStoreId": STORE});
        let want = if self.m.store.conn != Conn::Disconnected {
            Err(STORE_STATE)
        } else if self.m.keys.iter().any(|k| !k.deleted) {
            Err("CustomKeyStoreHasCMKsException")
        } else {
            self.note("DeleteCustomKeyStore skipped: it would succeed".into());
            return Ok(());
        };
        self.expect("DeleteCustomKeyStore", id, want)?;
        Ok(())
    }
}

//! Running a sequence: a [`Run`] is the engine and the model side by side,
//! with the transcript the replay must reproduce. Every call is recorded
//! and its error checked against the operation's modelled exceptions; a
//! call, fault or CLI line whose outcome differs from the model's fails the
//! sequence. [`Run::act`] sends each step to its method (`store_steps.rs`,
//! `key_steps.rs`, `cloudhsm_steps.rs`, `clock_and_faults.rs`); the checks
//! after every step are in `invariants.rs`.

use std::panic::{catch_unwind, AssertUnwindSafe};

use base64::Engine as _;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::TestCaseError;
use serde_json::{json, Value};

use hsmdrill::engine::faults::Fault;
use hsmdrill::engine::{world, Error, ErrorKind};

use super::actions::{Action, Session, Target};
use super::{
    modelled_errors, seen, Expect, TestResult, B64, BACKUP_INTERVAL_MS, BACKUP_MS,
    BACKUP_PENDING_MS, CLUSTER_CREATE_MS, CLUSTER_DELETE_MS, COMMON_ERRORS, CONNECT_MS,
    EXAMPLE_WORLD, HSM_CREATE_MS, KEY_ARN_PREFIX, MATERIAL_UNAVAILABLE_MS, MAX_CIPHERTEXTS, SECOND,
};
use super::{Ct, Model, Run};

/// Replaces ciphertext and plaintext blobs (random nonces, random data keys).
pub(super) fn redact(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let v = if k == "CiphertextBlob" || k == "Plaintext" {
                        json!("<blob>")
                    } else {
                        redact(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(redact).collect()),
        other => other.clone(),
    }
}

pub(super) fn fail(msg: String) -> TestCaseError {
    TestCaseError::fail(msg)
}

pub(super) fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

pub(super) fn millis(seconds: &Value) -> i64 {
    (seconds.as_f64().unwrap() * 1000.0).round() as i64
}

impl Run {
    pub(super) fn new(world_seed: u64) -> Run {
        let text = std::fs::read_to_string(EXAMPLE_WORLD).unwrap();
        let seeded = text.replacen("\nseed: 1 ", &format!("\nseed: {world_seed} "), 1);
        assert!(
            seeded.contains(&format!("\nseed: {world_seed} ")),
            "the example world's seed line moved"
        );
        let e = world::load_str(&seeded, "example.yaml").unwrap();
        let t = &e.config().timing;
        let ms = |s: u64| i64::try_from(s).unwrap() * SECOND;
        assert_eq!(ms(t.connect_seconds), CONNECT_MS);
        assert_eq!(t.disconnect_seconds, 0);
        assert_eq!(t.hsm_delete_seconds, 0);
        assert_eq!(ms(t.cluster_create_seconds), CLUSTER_CREATE_MS);
        assert_eq!(ms(t.cluster_delete_seconds), CLUSTER_DELETE_MS);
        assert_eq!(ms(t.hsm_create_seconds), HSM_CREATE_MS);
        assert_eq!(ms(t.backup_seconds), BACKUP_MS);
        assert_eq!(ms(t.backup_interval_seconds), BACKUP_INTERVAL_MS);
        assert_eq!(ms(t.backup_pending_deletion_seconds), BACKUP_PENDING_MS);
        assert_eq!(
            ms(t.key_material_unavailable_seconds),
            MATERIAL_UNAVAILABLE_MS
        );
        assert!(e.config().key_store_request_quota.is_none());
        let m = Model::observe_initial(&e);
        Run {
            e,
            m,
            transcript: Vec::new(),
            step: 0,
            calls: 0,
            decrypt_checks: 0,
            decrypted: 0,
            checking: false,
            record: false,
        }
    }

    pub(super) fn note(&mut self, line: String) {
        self.transcript.push(line);
    }

    pub(super) fn guard<T>(&self, what: &str, f: impl FnOnce() -> T) -> Result<T, TestCaseError> {
        catch_unwind(AssertUnwindSafe(f)).map_err(|p| {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            fail(format!("step {}: {what} panicked: {msg}", self.step))
        })
    }

    /// One AWS call: recorded, and its error checked against the
    /// operation's modelled exceptions.
    pub(super) fn call(
        &mut self,
        op: &str,
        input: Value,
    ) -> Result<Result<Value, Error>, TestCaseError> {
        self.calls += 1;
        let r = self.guard(op, || self.e.call(op, input.clone()))?;
        let shown = match &r {
            Ok(v) => redact(v).to_string(),
            Err(err) => err.to_string(),
        };
        self.note(format!("{op} {} -> {shown}", redact(&input)));
        if let Err(err) = &r {
            let name = err.aws_name();
            let modelled = modelled_errors()
                .get(op)
                .ok_or_else(|| fail(format!("{op} is not an operation of the models")))?;
            if !modelled.contains(name) && !COMMON_ERRORS.contains(&name) {
                return Err(fail(format!(
                    "step {}: {op} {input} raised {err}, which is not among its modelled exceptions {modelled:?}",
                    self.step
                )));
            }
            if ErrorKind::from_aws_name(name) != Some(err.kind()) || err.message().is_empty() {
                return Err(fail(format!(
                    "step {}: {op}: malformed error {err:?}",
                    self.step
                )));
            }
        }
        Ok(r)
    }

    /// A call whose outcome the model predicts.
    pub(super) fn expect(
        &mut self,
        op: &str,
        input: Value,
        want: Expect,
    ) -> Result<Option<Value>, TestCaseError> {
        let r = self.call(op, input.clone())?;
        let got = r.as_ref().map(|_| ()).map_err(|e| e.aws_name());
        if got != want {
            return Err(fail(format!(
                "step {}: {op} {input}: the model expects {want:?}, the engine answered {}",
                self.step,
                match &r {
                    Ok(v) => format!("{v}"),
                    Err(e) => format!("{e}"),
                }
            )));
        }
        if self.record {
            let outcome = match &r {
                Ok(_) => "ok",
                Err(e) => e.aws_name(),
            };
            let phase = if self.checking { "check " } else { "" };
            seen(format!("{phase}{op} -> {outcome}"));
        }
        Ok(r.ok())
    }

    /// A fault through `Engine::apply_fault`.
    pub(super) fn fault(&mut self, fault: Fault, want: Expect) -> Result<Value, TestCaseError> {
        self.calls += 1;
        let r = self.guard("apply_fault", || self.e.apply_fault(&fault))?;
        self.note(format!(
            "fault {fault:?} -> {}",
            match &r {
                Ok(v) => v.to_string(),
                Err(e) => e.to_string(),
            }
        ));
        let got = r.as_ref().map(|_| ()).map_err(|e| e.aws_name());
        if self.record {
            let name = format!("{fault:?}");
            let name = name.split([' ', '{']).next().unwrap_or_default();
            seen(format!("fault {name} -> {}", got.err().unwrap_or("ok")));
        }
        if got != want {
            return Err(fail(format!(
                "step {}: fault {fault:?}: the model expects {want:?}, the engine answered {r:?}",
                self.step
            )));
        }
        Ok(r.unwrap_or(Value::Null))
    }

    /// A CloudHSM CLI line; `want` is whether it succeeds.
    pub(super) fn cli(
        &mut self,
        ci: usize,
        session: Session,
        line: &str,
        want: bool,
    ) -> TestResult {
        self.calls += 1;
        let cluster = self.m.clusters[ci].id.clone();
        let out = self.guard("cloudhsm_cli", || {
            self.e.cloudhsm_cli(&cluster, session.name(), line)
        })?;
        self.note(format!("cli {cluster} {} {line} -> {out}", session.name()));
        let code = &out["error_code"];
        if !(code.is_i64() && out.get("data").is_some()) {
            return Err(fail(format!(
                "step {}: {line}: not a CLI envelope: {out}",
                self.step
            )));
        }
        if self.record && !self.checking {
            let verb: Vec<&str> = line.split(' ').take(2).collect();
            let outcome = if *code == json!(0) { "ok" } else { "error" };
            seen(format!("cli {} -> {outcome}", verb.join(" ")));
        }
        if (*code == json!(0)) != want {
            return Err(fail(format!(
                "step {}: cli {line} on {cluster}: the model expects success={want}, the CLI answered {out}",
                self.step
            )));
        }
        Ok(())
    }

    pub(super) fn resolve(&self, t: Target) -> usize {
        match t {
            Target::Store => self.m.store.cluster,
            Target::Newest => self.m.clusters.len() - 1,
            Target::Any(i) => i.index(self.m.clusters.len()),
        }
    }

    pub(super) fn key_index(&self, i: Index) -> usize {
        i.index(self.m.keys.len())
    }

    pub(super) fn context(&self) -> Value {
        json!({"step": self.step.to_string()})
    }

    pub(super) fn push_ct(&mut self, blob: &Value, plaintext: Vec<u8>, key: usize, context: Value) {
        if self.m.cts.len() >= MAX_CIPHERTEXTS {
            self.m.cts.remove(0);
        }
        self.m.cts.push(Ct {
            blob: blob.as_str().unwrap().to_owned(),
            plaintext,
            key,
            context,
        });
    }

    pub(super) fn play(mut self, actions: &[Action]) -> Result<Run, TestCaseError> {
        self.check()?;
        for (n, a) in actions.iter().enumerate() {
            self.step = n + 1;
            self.note(format!("# step {} {a:?} at {}", self.step, self.m.now));
            self.act(a)?;
            self.m.observe_material();
            self.check()?;
        }
        let trail = self.guard("trail_events", || self.e.trail_events(None))?;
        // R6: the DeleteKey service events report the material's deletion.
        let deletions: Vec<(String, String)> = trail
            .iter()
            .filter(|e| e["eventName"] == json!("DeleteKey"))
            .map(|e| {
                let data = &e["additionalEventData"];
                let status: Value =
                    serde_json::from_str(data["backingKeysDeletionStatus"].as_str().unwrap())
                        .unwrap();
                let arn = e["resources"][0]["ARN"].as_str().unwrap();
                (
                    arn.strip_prefix(KEY_ARN_PREFIX).unwrap().to_owned(),
                    status[0]["deletionStatus"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let want: Vec<(String, String)> = self
            .m
            .deletions
            .iter()
            .map(|(k, s)| (k.clone(), (*s).to_owned()))
            .collect();
        if self.record {
            for (_, status) in &deletions {
                seen(format!("trail DeleteKey {status}"));
            }
        }
        prop_assert_eq!(
            deletions,
            want,
            "DeleteKey events (backingKeysDeletionStatus)"
        );
        for event in trail {
            let line = redact(&event).to_string();
            self.note(line);
        }
        Ok(self)
    }

    /// One step, by the method of its operation (the `*_steps.rs` files
    /// and `clock_and_faults.rs`).
    pub(super) fn act(&mut self, a: &Action) -> TestResult {
        match *a {
            Action::Connect => self.connect(),
            Action::Disconnect => self.disconnect(),
            Action::UpdatePassword(p) => self.update_password(p),
            Action::Rename(b) => self.rename(b),
            Action::UpdateCluster(t) => self.update_cluster(t),
            Action::CreateStore(same_name, t, p) => self.create_store(same_name, t, p),
            Action::DeleteStore => self.delete_store(),
            Action::CreateKey => self.create_key(),
            Action::Encrypt(k, by_arn) => self.encrypt(k, by_arn),
            Action::GenerateDataKey(k) => self.generate_data_key(k),
            Action::Decrypt(c, wrong_context) => self.decrypt(c, wrong_context),
            Action::ReEncrypt(c, k) => self.re_encrypt(c, k),
            Action::GenerateRandom => self.generate_random(),
            Action::Enable(k) => self.enable_or_disable(k, true),
            Action::Disable(k) => self.enable_or_disable(k, false),
            Action::Schedule(k, days) => self.schedule_deletion(k, days),
            Action::Cancel(k) => self.cancel_deletion(k),
            Action::Advance(seconds) => self.advance(seconds),
            Action::Settle => self.settle(),
            Action::CliAdminLogin => self.cli_admin_login(),
            Action::CliLogout(s) => self.cli_logout(s),
            Action::CliChangePassword(p) => self.cli_change_password(p),
            Action::CliKmsuserLogin(good) => self.cli_kmsuser_login(good),
            Action::CliBadLogins(n) => self.cli_bad_logins(n),
            Action::CliDeleteMaterial(k) => self.cli_delete_material(k),
            Action::CreateHsm(t, z) => self.create_hsm(t, z),
            Action::DeleteHsm(t, h) => self.delete_hsm(t, h),
            Action::TakeBackup(t) => self.take_backup(t),
            Action::DeleteBackup(b) => self.delete_or_restore_backup(b, true),
            Action::RestoreBackup(b) => self.delete_or_restore_backup(b, false),
            Action::ClusterFromBackup(b) => self.cluster_from_backup(b),
            Action::Network(t, condition) => self.network(t, condition),
            Action::SecurityGroup(t, ok) => self.security_group(t, ok),
            Action::InternalErrors(t, count) => self.internal_errors(t, count),
            Action::ExhaustSessions(t) => self.exhaust_sessions(t, true),
            Action::ReleaseSessions(t) => self.exhaust_sessions(t, false),
            Action::DestroyCluster(t) => self.destroy_cluster(t),
            Action::DeleteCluster(t) => self.delete_cluster(t),
            Action::FreeAddresses(z, count) => self.free_addresses(z, count),
        }
    }
}

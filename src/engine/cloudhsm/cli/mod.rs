//! The CloudHSM CLI (Client SDK 5) emulator: the operator's side of R5–R9.
//!
//! Runbooks R5–R9 repair a custom key store by hand in the CloudHSM CLI:
//! log in as `admin`, `user change-password` for `kmsuser`, log in as
//! `kmsuser`, `key list` / `key delete --filter attr.id="0x…"`, `logout`.
//! [`run`] takes one such command line, exactly as an operator would type it
//! at the `aws-cloudhsm >` prompt, and answers with the JSON envelope the real
//! CLI prints (docs/fidelity.md F6).
//!
//! The CLI owns no state of its own. Users, passwords, lockouts and logins
//! are the cluster's [`Users`](super::users::Users): a CLI connection is the
//! login session `SessionId::Cli(name)`, side by side with the sessions KMS
//! holds while a key store is connected, so "kmsuser is logged in" conflicts
//! arise in one place. Keys are the cluster's
//! [`KeyStoreOfCluster`](super::keys::KeyStoreOfCluster), and `cluster
//! activate` drives [`ClusterState::on_activate`].
//!
//! Where `--password` is left out the real CLI prompts for it (`Enter
//! password:`, and `Confirm password:` for a new password). Prompting is the
//! caller's business, since only it has a terminal: [`prompts`] says what a
//! line would ask, the caller asks, and [`run`] takes the answers beside the
//! line (docs/fidelity.md F23). Error strings are hsmdrill's own: the real
//! ones are unconfirmed (docs/fidelity.md I7).
//!
//! This file dispatches a parsed line and holds the checks every command
//! shares (an active cluster, who is logged in); `parse.rs` reads the line
//! (tokens, command table, flags); `cluster.rs`, `user.rs` and `key.rs` are
//! the command groups.
#![deny(clippy::wildcard_enum_match_arm)]

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

mod cluster;
mod key;
mod parse;
mod user;

use self::cluster::{cluster_activate, login};
use self::key::{key_delete, key_generate_aes, key_list, key_share};
use self::parse::*;
use self::user::{user_change_password, user_create, user_delete, user_list};
use super::cluster::{Cluster, ClusterState};
use super::keys::HsmKey;
use super::users::{self, LoginError, PasswordChangeError, Role, SessionId, User};
use crate::engine::ids::IdGen;

pub use self::parse::{CONFIRM_PASSWORD, ENTER_PASSWORD};

/// The `error_code` of every failure. The only documented non-zero code is
/// `1` (the quorum example); per-error codes of the real CLI are unconfirmed
/// (docs/fidelity.md I7), so hsmdrill does not invent distinctions.
const FAILURE_CODE: i64 = 1;

/// `--max-items` when none is given ("[default: 10]" in `help key list`).
const DEFAULT_MAX_ITEMS: usize = 10;

/// What a command answers: the `data` of a success, or the failure message.
type Outcome = Result<Value, String>;

/// The prompts the real CLI shows before it runs `line`, in order: `Enter
/// password:` for a `login` without `--password`; that and `Confirm
/// password:` for `cluster activate`, `user create` and `user change-password`
/// without it; none for anything else, including a line that does not parse
/// (its error is [`run`]'s to report).
pub fn prompts(line: &str) -> &'static [&'static str] {
    tokenize(line)
        .ok()
        .and_then(|tokens| {
            let (spec, rest) = find_spec(&tokens).ok()?;
            parse_flags(spec, rest).ok().map(|args| args.prompts())
        })
        .unwrap_or(&[])
}

/// Runs one CloudHSM CLI command line in CLI session `session` against
/// `cluster`, with `answers` typed at the line's [`prompts`], and returns the
/// JSON envelope the real CLI prints: `{"error_code": 0, "data": ...}` on
/// success, `{"error_code": <non-zero>, "data": "<message>"}` on failure.
/// `ids` seeds the material of keys the line makes.
pub fn run(
    cluster: &mut Cluster,
    ids: &mut IdGen,
    session: &str,
    line: &str,
    answers: &[String],
) -> Value {
    let outcome =
        tokenize(line).and_then(|tokens| execute(cluster, ids, session, &tokens, answers));
    // `json!` inserts in source order and the crate enables `preserve_order`,
    // so the envelope prints `error_code` first, as the real CLI does.
    match outcome {
        Ok(data) => json!({ "error_code": 0, "data": data }),
        Err(message) => json!({ "error_code": FAILURE_CODE, "data": message }),
    }
}

fn execute(
    cluster: &mut Cluster,
    ids: &mut IdGen,
    session: &str,
    tokens: &[String],
    answers: &[String],
) -> Outcome {
    let (spec, rest) = find_spec(tokens)?;
    let mut args = parse_flags(spec, rest)?;
    // No answers is "not prompted" (a non-interactive caller), which the
    // command reports when it needs the password; answers to prompts the
    // line does not make are the caller's mistake.
    let asked = args.prompts();
    if !answers.is_empty() && answers.len() != asked.len() {
        return Err(format!(
            "'{}' asks {} password prompt(s) here, but {} answer(s) were given",
            spec.words.join(" "),
            asked.len(),
            answers.len()
        ));
    }
    args.answers = answers.to_vec();
    if let Some(id) = args.one(&CLUSTER_ID) {
        if id != cluster.id {
            return Err(format!(
                "Unknown cluster id '{id}': this CLI session is connected to cluster '{}'",
                cluster.id
            ));
        }
    }
    if needs_active_cluster(spec.command) {
        require_active(cluster.state)?;
    }
    let sid = SessionId::Cli(session.to_owned());
    match spec.command {
        Command::ClusterActivate => cluster_activate(cluster, &args),
        Command::Login => login(cluster, sid, &args),
        Command::Logout => match cluster.users.logout(&sid) {
            Some(_) => Ok(json!("Logout successful")),
            None => Err("No user is logged in on this session".into()),
        },
        Command::UserList => Ok(user_list(cluster)),
        Command::UserCreate => user_create(cluster, &sid, &args),
        Command::UserDelete => user_delete(cluster, &sid, &args),
        Command::UserChangePassword => user_change_password(cluster, &sid, &args),
        Command::KeyList => key_list(cluster, &sid, &args),
        Command::KeyDelete => key_delete(cluster, &sid, &args),
        Command::KeyGenerateSymmetricAes => key_generate_aes(cluster, ids, &sid, &args),
        Command::KeyShare => key_share(cluster, &sid, &args, true),
        Command::KeyUnshare => key_share(cluster, &sid, &args, false),
    }
}

/// Whether a command needs an `ACTIVE` cluster. `user list` needs no login
/// (CHUG cloudhsm_cli-user-list) and `login` is left to the user model in any
/// state, so both answer on any cluster; `cluster activate` checks its own
/// state through `on_activate`.
fn needs_active_cluster(command: Command) -> bool {
    match command {
        Command::ClusterActivate | Command::Login | Command::UserList => false,
        Command::Logout
        | Command::UserCreate
        | Command::UserDelete
        | Command::UserChangePassword
        | Command::KeyList
        | Command::KeyDelete
        | Command::KeyGenerateSymmetricAes
        | Command::KeyShare
        | Command::KeyUnshare => true,
    }
}

fn require_active(state: ClusterState) -> Result<(), String> {
    match state {
        // A DEGRADED cluster works through its active HSMs
        // (docs/fidelity.md I56).
        ClusterState::Active | ClusterState::Degraded => Ok(()),
        ClusterState::Initialized => {
            Err("The cluster is not activated yet; run 'cluster activate' first".into())
        }
        ClusterState::CreateInProgress { .. }
        | ClusterState::Uninitialized
        | ClusterState::InitializeInProgress { .. }
        | ClusterState::UpdateInProgress
        | ClusterState::ModifyInProgress
        | ClusterState::RollbackInProgress
        | ClusterState::DeleteInProgress { .. }
        | ClusterState::Deleted => Err(format!(
            "The cluster is not usable: its state is {}, it must be ACTIVE",
            state.as_str()
        )),
    }
}

/// The name and role logged in on `sid`.
fn current_user(cluster: &Cluster, sid: &SessionId) -> Result<(String, Role), String> {
    cluster
        .users
        .logged_in(sid)
        .map(|u| (u.username.clone(), u.role))
        .ok_or_else(|| "No user is logged in on this session; run 'login' first".to_owned())
}

/// The crypto user logged in on `sid`: key commands are theirs alone
/// (CHUG cloudhsm_cli-key-generate-symmetric-aes, -key-share, -key-delete).
/// `what` names the refused work: "delete keys".
fn require_crypto_user(cluster: &Cluster, sid: &SessionId, what: &str) -> Result<String, String> {
    let (name, role) = current_user(cluster, sid)?;
    match role {
        Role::CryptoUser => Ok(name),
        Role::Admin | Role::Appliance => Err(format!(
            "Only a crypto user can {what}; '{name}' is logged in as {}",
            role.as_str()
        )),
    }
}

fn require_admin(cluster: &Cluster, sid: &SessionId) -> Result<String, String> {
    let (name, role) = current_user(cluster, sid)?;
    match role {
        Role::Admin => Ok(name),
        Role::CryptoUser | Role::Appliance => Err(format!(
            "This command requires an admin; '{name}' is logged in as {}",
            role.as_str()
        )),
    }
}

#[cfg(test)]
mod tests;

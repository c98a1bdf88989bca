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
//! There is no interactive prompt, so `--password` is required wherever the
//! real CLI would prompt for it. Error strings are hsmdrill's own: the real
//! ones are unconfirmed (docs/fidelity.md I7).
#![deny(clippy::wildcard_enum_match_arm)]

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::cluster::{Cluster, ClusterState};
use super::keys::HsmKey;
use super::users::{self, Lockout, LoginError, PasswordChangeError, Role, SessionId, User};

/// The `error_code` of every failure. The only documented non-zero code is
/// `1` (the quorum example); per-error codes of the real CLI are unconfirmed
/// (docs/fidelity.md I7), so hsmdrill does not invent distinctions.
const FAILURE_CODE: i64 = 1;

/// `--max-items` when none is given ("[default: 10]" in `help key list`).
const DEFAULT_MAX_ITEMS: usize = 10;

/// What a command answers: the `data` of a success, or the failure message.
type Outcome = Result<Value, String>;

/// Runs one CloudHSM CLI command line in CLI session `session` against `cluster` and returns the JSON envelope
/// the real CLI prints: `{"error_code": 0, "data": ...}` on success, `{"error_code": <non-zero>, "data": "<message>"}` on failure.
pub fn run(cluster: &mut Cluster, session: &str, line: &str) -> Value {
    let outcome = tokenize(line).and_then(|tokens| execute(cluster, session, &tokens));
    // `json!` inserts in source order and the crate enables `preserve_order`,
    // so the envelope prints `error_code` first, as the real CLI does.
    match outcome {
        Ok(data) => json!({ "error_code": 0, "data": data }),
        Err(message) => json!({ "error_code": FAILURE_CODE, "data": message }),
    }
}

// ---------------------------------------------------------------------------
// Tokenizing

/// Splits a line the way a POSIX shell would: whitespace separates words,
/// `'…'` is literal, `"…"` honours `\"`, `\\`, `\$` and `` \` ``, and a
/// backslash outside quotes escapes the next character. Quoted pieces join the
/// word around them, so `attr.label="arn:aws:kms:…"` is one word, as in the
/// KMS guide's examples.
fn tokenize(line: &str) -> Result<Vec<String>, String> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    // A word can be empty yet present (`""`), so track it apart from `word`.
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(ch) => word.push(ch),
                        None => {
                            return Err("unterminated single quote (') in the command line".into())
                        }
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(esc @ ('"' | '\\' | '$' | '`')) => word.push(esc),
                            Some('\n') => {}
                            Some(other) => {
                                word.push('\\');
                                word.push(other);
                            }
                            None => {
                                return Err(
                                    "unterminated double quote (\") in the command line".into()
                                )
                            }
                        },
                        Some(ch) => word.push(ch),
                        None => {
                            return Err("unterminated double quote (\") in the command line".into())
                        }
                    }
                }
            }
            '\\' => match chars.next() {
                // Backslash-newline is a line continuation: it joins, adds nothing.
                Some('\n') => {}
                Some(ch) => {
                    in_word = true;
                    word.push(ch);
                }
                None => {
                    return Err("the command line ends with an unfinished backslash escape".into())
                }
            },
            ws if ws.is_whitespace() => {
                if in_word {
                    tokens.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            other => {
                in_word = true;
                word.push(other);
            }
        }
    }
    if in_word {
        tokens.push(word);
    }
    Ok(tokens)
}

// ---------------------------------------------------------------------------
// Command table and flag parsing

/// The commands hsmdrill emulates.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum Command {
    ClusterActivate,
    Login,
    Logout,
    UserList,
    UserCreate,
    UserDelete,
    UserChangePassword,
    KeyList,
    KeyDelete,
}

/// How many values a flag takes.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum Arity {
    /// Exactly one (`--username alice` or `--username=alice`), at most once.
    One,
    /// One or more words up to the next flag (`--filter a b`); may repeat.
    Many,
    /// None (`-v`, `--verbose`).
    Switch,
}

/// One flag a command accepts.
#[derive(Debug)]
struct Flag {
    long: &'static str,
    short: Option<&'static str>,
    arity: Arity,
    /// The placeholder clap prints (`<USERNAME>`).
    value_name: &'static str,
}

const USERNAME: Flag = Flag {
    long: "username",
    short: None,
    arity: Arity::One,
    value_name: "USERNAME",
};
const ROLE: Flag = Flag {
    long: "role",
    short: None,
    arity: Arity::One,
    value_name: "ROLE",
};
const PASSWORD: Flag = Flag {
    long: "password",
    short: None,
    arity: Arity::One,
    value_name: "PASSWORD",
};
const CLUSTER_ID: Flag = Flag {
    long: "cluster-id",
    short: None,
    arity: Arity::One,
    value_name: "CLUSTER_ID",
};
const FILTER: Flag = Flag {
    long: "filter",
    short: None,
    arity: Arity::Many,
    value_name: "FILTER",
};
const MAX_ITEMS: Flag = Flag {
    long: "max-items",
    short: None,
    arity: Arity::One,
    value_name: "MAX_ITEMS",
};
const STARTING_TOKEN: Flag = Flag {
    long: "starting-token",
    short: None,
    arity: Arity::One,
    value_name: "STARTING_TOKEN",
};
const VERBOSE: Flag = Flag {
    long: "verbose",
    short: Some("v"),
    arity: Arity::Switch,
    value_name: "",
};

/// A command: the words that name it, its flags, and its usage line.
#[derive(Debug)]
struct Spec {
    command: Command,
    words: &'static [&'static str],
    flags: &'static [Flag],
    /// Client SDK 5 syntax, except that `--password` is shown as required
    /// because hsmdrill cannot prompt for it.
    usage: &'static str,
}

const SPECS: &[Spec] = &[
    Spec {
        command: Command::ClusterActivate,
        words: &["cluster", "activate"],
        flags: &[PASSWORD, CLUSTER_ID],
        usage: "cluster activate --password <PASSWORD> [--cluster-id <CLUSTER_ID>]",
    },
    Spec {
        command: Command::Login,
        words: &["login"],
        flags: &[USERNAME, ROLE, PASSWORD, CLUSTER_ID],
        usage: "login --username <USERNAME> --role <ROLE> --password <PASSWORD> [--cluster-id <CLUSTER_ID>]",
    },
    Spec {
        command: Command::Logout,
        words: &["logout"],
        flags: &[CLUSTER_ID],
        usage: "logout [--cluster-id <CLUSTER_ID>]",
    },
    Spec {
        command: Command::UserList,
        words: &["user", "list"],
        flags: &[CLUSTER_ID],
        usage: "user list [--cluster-id <CLUSTER_ID>]",
    },
    Spec {
        command: Command::UserCreate,
        words: &["user", "create"],
        flags: &[USERNAME, ROLE, PASSWORD, CLUSTER_ID],
        usage: "user create --username <USERNAME> --role <ROLE> --password <PASSWORD> [--cluster-id <CLUSTER_ID>]",
    },
    Spec {
        command: Command::UserDelete,
        words: &["user", "delete"],
        flags: &[USERNAME, ROLE, CLUSTER_ID],
        usage: "user delete --username <USERNAME> --role <ROLE> [--cluster-id <CLUSTER_ID>]",
    },
    Spec {
        command: Command::UserChangePassword,
        words: &["user", "change-password"],
        flags: &[USERNAME, ROLE, PASSWORD, CLUSTER_ID],
        usage: "user change-password --username <USERNAME> --role <ROLE> --password <PASSWORD> [--cluster-id <CLUSTER_ID>]",
    },
    Spec {
        command: Command::KeyList,
        words: &["key", "list"],
        flags: &[FILTER, MAX_ITEMS, STARTING_TOKEN, VERBOSE, CLUSTER_ID],
        usage: "key list [--filter <FILTER>...] [--max-items <MAX_ITEMS>] [--starting-token <STARTING_TOKEN>] [-v|--verbose] [--cluster-id <CLUSTER_ID>]",
    },
    Spec {
        command: Command::KeyDelete,
        words: &["key", "delete"],
        flags: &[FILTER, CLUSTER_ID],
        usage: "key delete --filter <FILTER>... [--cluster-id <CLUSTER_ID>]",
    },
];

/// "cluster activate, login, logout, …" for messages that list commands.
fn command_names() -> String {
    let names: Vec<String> = SPECS.iter().map(|s| s.words.join(" ")).collect();
    format!("{}, help", names.join(", "))
}

/// Every usage line, for `help`.
fn all_usages() -> String {
    let usages: Vec<&str> = SPECS.iter().map(|s| s.usage).collect();
    format!("commands: {}", usages.join("; "))
}

/// Finds the command named by the first words of `tokens`; returns it and the
/// words after its name.
fn find_spec(tokens: &[String]) -> Result<(&'static Spec, &[String]), String> {
    let Some(first) = tokens.first() else {
        return Err(format!(
            "no command given; expected one of: {}",
            command_names()
        ));
    };
    if matches!(first.as_str(), "help" | "--help" | "-h") {
        // `help key list` → that command's usage; bare `help` → all of them.
        // It is answered as a failure because it runs nothing (the real CLI
        // prints plain text, not an envelope), so a scripted drill cannot
        // mistake it for a step that succeeded.
        let rest = tokens.get(1..).unwrap_or(&[]);
        return Err(match SPECS.iter().find(|s| names(s, rest)) {
            Some(spec) => format!("usage: {}", spec.usage),
            None => all_usages(),
        });
    }
    if let Some(spec) = SPECS.iter().find(|s| names(s, tokens)) {
        return Ok((spec, tokens.get(spec.words.len()..).unwrap_or(&[])));
    }
    let subcommands: Vec<&str> = SPECS
        .iter()
        .filter(|s| s.words.len() == 2 && s.words.first() == Some(&first.as_str()))
        .filter_map(|s| s.words.get(1).copied())
        .collect();
    if subcommands.is_empty() {
        return Err(format!(
            "unrecognized command '{first}'; expected one of: {}",
            command_names()
        ));
    }
    Err(match tokens.get(1) {
        Some(sub) => format!(
            "unrecognized subcommand '{sub}' for '{first}'; expected one of: {}",
            subcommands.join(", ")
        ),
        None => format!(
            "'{first}' needs a subcommand; expected one of: {}",
            subcommands.join(", ")
        ),
    })
}

/// Whether `tokens` start with the words naming `spec`.
fn names(spec: &Spec, tokens: &[String]) -> bool {
    tokens.len() >= spec.words.len() && spec.words.iter().zip(tokens).all(|(w, t)| w == t)
}

/// Parsed flags, by long name; a switch maps to no values.
#[derive(Debug, Default)]
struct Args {
    values: BTreeMap<&'static str, Vec<String>>,
}

impl Args {
    fn one(&self, flag: &Flag) -> Option<&str> {
        self.values
            .get(flag.long)
            .and_then(|v| v.first())
            .map(String::as_str)
    }

    fn many(&self, flag: &Flag) -> &[String] {
        self.values.get(flag.long).map(Vec::as_slice).unwrap_or(&[])
    }

    fn has(&self, flag: &Flag) -> bool {
        self.values.contains_key(flag.long)
    }
}

/// A word in flag position: `--x`, `-x` (a lone `-` is a plain word).
fn looks_like_flag(word: &str) -> bool {
    word.len() > 1 && word.starts_with('-')
}

/// The clap-style display of a flag: `--username <USERNAME>`.
fn flag_display(flag: &Flag) -> String {
    match flag.arity {
        Arity::One => format!("--{} <{}>", flag.long, flag.value_name),
        Arity::Many => format!("--{} <{}>...", flag.long, flag.value_name),
        Arity::Switch => match flag.short {
            Some(s) => format!("-{s}|--{}", flag.long),
            None => format!("--{}", flag.long),
        },
    }
}

/// Parses the words after the command name against the command's flags.
fn parse_flags(spec: &Spec, words: &[String]) -> Result<Args, String> {
    let mut args = Args::default();
    let mut i = 0;
    while let Some(word) = words.get(i) {
        i += 1;
        if word == "--help" || word == "-h" {
            return Err(format!("usage: {}", spec.usage));
        }
        let (flag, inline) = if let Some(rest) = word.strip_prefix("--") {
            let (name, inline) = match rest.split_once('=') {
                Some((n, v)) => (n, Some(v.to_owned())),
                None => (rest, None),
            };
            (spec.flags.iter().find(|f| f.long == name), inline)
        } else if looks_like_flag(word) {
            let short = word.get(1..).unwrap_or("");
            (spec.flags.iter().find(|f| f.short == Some(short)), None)
        } else {
            return Err(format!(
                "unexpected argument '{word}' for '{}'; usage: {}",
                spec.words.join(" "),
                spec.usage
            ));
        };
        let Some(flag) = flag else {
            let expected: Vec<String> = spec.flags.iter().map(flag_display).collect();
            // Name the flag, not its inline value: `--pasword=<PASSWORD>`
            // would otherwise echo a password (found by tests/secrets.rs).
            let shown = word.split_once('=').map_or(word.as_str(), |(name, _)| name);
            return Err(format!(
                "unexpected argument '{shown}' for '{}'; expected flags: {}",
                spec.words.join(" "),
                expected.join(", ")
            ));
        };
        match flag.arity {
            Arity::Switch => {
                if inline.is_some() {
                    return Err(format!("'{}' takes no value", flag_display(flag)));
                }
                if args.has(flag) {
                    return Err(format!(
                        "the argument '{}' cannot be used more than once",
                        flag_display(flag)
                    ));
                }
                args.values.insert(flag.long, Vec::new());
            }
            Arity::One => {
                if args.has(flag) {
                    return Err(format!(
                        "the argument '{}' cannot be used more than once",
                        flag_display(flag)
                    ));
                }
                let value = match inline {
                    Some(v) => v,
                    None => match words.get(i) {
                        Some(v) if !looks_like_flag(v) => {
                            i += 1;
                            v.clone()
                        }
                        Some(_) | None => {
                            return Err(format!(
                                "a value is required for '{}' but none was supplied",
                                flag_display(flag)
                            ))
                        }
                    },
                };
                args.values.insert(flag.long, vec![value]);
            }
            Arity::Many => {
                let mut values: Vec<String> = inline.into_iter().collect();
                while let Some(v) = words.get(i) {
                    if looks_like_flag(v) {
                        break;
                    }
                    values.push(v.clone());
                    i += 1;
                }
                if values.is_empty() {
                    return Err(format!(
                        "a value is required for '{}' but none was supplied",
                        flag_display(flag)
                    ));
                }
                args.values.entry(flag.long).or_default().extend(values);
            }
        }
    }
    Ok(args)
}

/// A flag the command cannot run without.
fn required<'a>(spec: &Spec, args: &'a Args, flag: &Flag) -> Result<&'a str, String> {
    args.one(flag).ok_or_else(|| {
        format!(
            "the required argument '{}' was not provided; usage: {}",
            flag_display(flag),
            spec.usage
        )
    })
}

/// `--password`, which the real CLI would prompt for when omitted.
fn password(args: &Args) -> Result<&str, String> {
    args.one(&PASSWORD).ok_or_else(|| {
        "password required in non-interactive mode: pass --password <PASSWORD> (hsmdrill cannot prompt)"
            .to_owned()
    })
}

/// `--role`: `admin` or `crypto-user`, case-sensitive.
fn parse_role(value: &str) -> Result<Role, String> {
    Role::parse(value).ok_or_else(|| {
        format!("invalid value '{value}' for '--role <ROLE>'; expected one of: admin, crypto-user")
    })
}

const INVALID_PASSWORD: &str =
    "Invalid password: it must be 7 to 32 alphanumeric characters (no special characters)";

// ---------------------------------------------------------------------------
// Dispatch

fn execute(cluster: &mut Cluster, session: &str, tokens: &[String]) -> Outcome {
    let (spec, rest) = find_spec(tokens)?;
    let args = parse_flags(spec, rest)?;
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
        Command::Login => login(cluster, sid, spec, &args),
        Command::Logout => match cluster.users.logout(&sid) {
            Some(_) => Ok(json!("Logout successful")),
            None => Err("No user is logged in on this session".into()),
        },
        Command::UserList => Ok(user_list(cluster)),
        Command::UserCreate => user_create(cluster, &sid, spec, &args),
        Command::UserDelete => user_delete(cluster, &sid, spec, &args),
        Command::UserChangePassword => user_change_password(cluster, &sid, spec, &args),
        Command::KeyList => key_list(cluster, &sid, &args),
        Command::KeyDelete => key_delete(cluster, &sid, spec, &args),
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
        | Command::KeyDelete => true,
    }
}

fn require_active(state: ClusterState) -> Result<(), String> {
    match state {
        ClusterState::Active => Ok(()),
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
        | ClusterState::Deleted
        | ClusterState::Degraded => Err(format!(
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

// ---------------------------------------------------------------------------
// cluster and session commands

fn cluster_activate(cluster: &mut Cluster, args: &Args) -> Outcome {
    let next = cluster.state.on_activate().map_err(str::to_owned)?;
    let password = password(args)?;
    if !users::is_valid_password(password) {
        return Err(INVALID_PASSWORD.into());
    }
    // Activation gives the initial admin its password; a world file may have
    // left the admin out, so create it rather than fail.
    if cluster.users.get("admin").is_some() {
        cluster.users.set_password("admin", password);
    } else {
        cluster.users.insert(User {
            username: "admin".into(),
            role: Role::Admin,
            password: Some(password.to_owned()),
            lockout: Lockout::Open { failures: 0 },
        });
    }
    next.apply(&mut cluster.state);
    Ok(json!("Cluster activation successful"))
}

fn login(cluster: &mut Cluster, sid: SessionId, spec: &Spec, args: &Args) -> Outcome {
    let username = required(spec, args, &USERNAME)?;
    let role = parse_role(required(spec, args, &ROLE)?)?;
    let password = password(args)?;
    // The admin of a cluster not yet activated has no password. Users::login
    // would count every try against the lockout; refuse without counting.
    if cluster
        .users
        .get(username)
        .is_some_and(|u| u.role == role && u.password.is_none())
    {
        return Err(format!(
            "User '{username}' has no password yet; run 'cluster activate' first"
        ));
    }
    match cluster.users.login(sid, username, role, password) {
        Ok(user) => Ok(json!({ "username": user.username, "role": user.role.as_str() })),
        Err(e) => Err(login_error(e).into()),
    }
}

fn login_error(e: LoginError) -> &'static str {
    match e {
        LoginError::UserNotFound => "User not found",
        LoginError::Locked => "User is locked out. Contact an admin to reset the password",
        LoginError::InvalidCredentials => "Invalid username or password",
        LoginError::SessionAlreadyLoggedIn => "User already logged in on this session",
        LoginError::UserLoggedInElsewhere => "User is already logged in",
    }
}

// ---------------------------------------------------------------------------
// user commands

fn user_list(cluster: &Cluster) -> Value {
    let users: Vec<Value> = cluster
        .users
        .iter()
        .map(|u| {
            json!({
                "username": u.username,
                "role": u.role.as_str(),
                // A string, not a boolean, in the documented output.
                "locked": if u.lockout.is_locked() { "true" } else { "false" },
                "mfa": [],
                "cluster-coverage": "full",
            })
        })
        .collect();
    json!({ "users": users })
}

fn user_create(cluster: &mut Cluster, sid: &SessionId, spec: &Spec, args: &Args) -> Outcome {
    require_admin(cluster, sid)?;
    let username = required(spec, args, &USERNAME)?;
    let role = parse_role(required(spec, args, &ROLE)?)?;
    let password = password(args)?;
    if !users::is_valid_username(username) {
        return Err(format!(
            "Invalid username '{username}': it must be 1 to 31 characters, letters, digits or '_'"
        ));
    }
    if !users::is_valid_password(password) {
        return Err(INVALID_PASSWORD.into());
    }
    if let Some(existing) = cluster.users.get(username) {
        // Usernames are case-insensitive, so `Alice` collides with `alice`.
        return Err(format!("User '{}' already exists", existing.username));
    }
    cluster.users.insert(User {
        username: username.to_owned(),
        role,
        password: Some(password.to_owned()),
        lockout: Lockout::Open { failures: 0 },
    });
    Ok(json!({ "username": username, "role": role.as_str() }))
}

fn user_delete(cluster: &mut Cluster, sid: &SessionId, spec: &Spec, args: &Args) -> Outcome {
    let me = require_admin(cluster, sid)?;
    let username = required(spec, args, &USERNAME)?;
    let role = parse_role(required(spec, args, &ROLE)?)?;
    let stored = match cluster.users.get(username) {
        Some(u) if u.role == role => u.username.clone(),
        Some(_) | None => return Err("User not found".into()),
    };
    if stored.eq_ignore_ascii_case(&me) {
        return Err("Cannot delete the user logged in on this session".into());
    }
    if cluster.keys.owned_by(&stored) {
        return Err(format!(
            "Cannot delete user '{stored}': it owns keys; delete its keys first"
        ));
    }
    if cluster.users.sessions_of(&stored).next().is_some() {
        return Err(format!(
            "Cannot delete user '{stored}': it is logged in (log it out, or disconnect the custom key store if KMS is logged in as it)"
        ));
    }
    cluster.users.remove(&stored);
    Ok(json!({ "username": stored, "role": role.as_str() }))
}

fn user_change_password(
    cluster: &mut Cluster,
    sid: &SessionId,
    spec: &Spec,
    args: &Args,
) -> Outcome {
    // Checked first so that "not logged in" is not reported as a permission
    // problem by the model.
    current_user(cluster, sid)?;
    let username = required(spec, args, &USERNAME)?;
    let role = parse_role(required(spec, args, &ROLE)?)?;
    let password = password(args)?;
    cluster
        .users
        .change_password(sid, username, role, password)
        .map_err(|e| password_change_error(e).to_owned())?;
    let stored = cluster
        .users
        .get(username)
        .map(|u| u.username.clone())
        .unwrap_or_else(|| username.to_owned());
    Ok(json!({ "username": stored, "role": role.as_str() }))
}

fn password_change_error(e: PasswordChangeError) -> &'static str {
    match e {
        PasswordChangeError::UserNotFound => "User not found",
        PasswordChangeError::NotPermitted => {
            "Only an admin or the user itself can change this user's password"
        }
        PasswordChangeError::UserLoggedIn => {
            "Cannot change the password of a user who is logged in; log the user out first (disconnect the custom key store if KMS is logged in as it)"
        }
        PasswordChangeError::InvalidPassword => INVALID_PASSWORD,
    }
}

// ---------------------------------------------------------------------------
// key commands

/// How an attribute prints in verbose output and compares in a filter.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum AttrKind {
    /// A string compared exactly (`label`, `class`, `key-type`).
    Text,
    /// `0x` + hex, compared case-insensitively (`id`).
    Hex,
    /// A JSON boolean; `true`/`false` in any case in a filter.
    Flag,
    /// A JSON number, compared numerically.
    Number,
}

/// The attributes hsmdrill keys have, in the order verbose output prints them.
/// It mirrors `HsmKey::attribute` (a test keeps the two in step), because the
/// model offers no list of names and a filter must reject unknown ones even
/// when there are no keys to ask.
const ATTRIBUTES: &[(&str, AttrKind)] = &[
    ("key-type", AttrKind::Text),
    ("label", AttrKind::Text),
    ("id", AttrKind::Hex),
    ("class", AttrKind::Text),
    ("encrypt", AttrKind::Flag),
    ("decrypt", AttrKind::Flag),
    ("wrap", AttrKind::Flag),
    ("unwrap", AttrKind::Flag),
    ("sign", AttrKind::Flag),
    ("verify", AttrKind::Flag),
    ("derive", AttrKind::Flag),
    ("token", AttrKind::Flag),
    ("private", AttrKind::Flag),
    ("sensitive", AttrKind::Flag),
    ("always-sensitive", AttrKind::Flag),
    ("extractable", AttrKind::Flag),
    ("never-extractable", AttrKind::Flag),
    ("local", AttrKind::Flag),
    ("modifiable", AttrKind::Flag),
    ("copyable", AttrKind::Flag),
    ("destroyable", AttrKind::Flag),
    ("trusted", AttrKind::Flag),
    ("wrap-with-trusted", AttrKind::Flag),
    ("size", AttrKind::Number),
];

/// One `--filter` word.
#[derive(Debug)]
enum Filter {
    Reference(u64),
    Attribute {
        name: &'static str,
        kind: AttrKind,
        value: String,
    },
}

fn parse_filter(word: &str) -> Result<Filter, String> {
    let expected = "expected key-reference=0x<HEX> or attr.<NAME>=<VALUE>";
    let Some((lhs, value)) = word.split_once('=') else {
        return Err(format!("invalid filter '{word}': {expected}"));
    };
    if lhs == "key-reference" {
        let digits = value
            .strip_prefix("0x")
            .or_else(|| value.strip_prefix("0X"))
            .unwrap_or(value);
        return u64::from_str_radix(digits, 16)
            .map(Filter::Reference)
            .map_err(|_| {
                format!("invalid key-reference '{value}': expected 0x followed by hex digits")
            });
    }
    let Some(name) = lhs.strip_prefix("attr.") else {
        return Err(format!("invalid filter '{word}': {expected}"));
    };
    match ATTRIBUTES.iter().find(|(n, _)| *n == name) {
        Some(&(name, kind)) => Ok(Filter::Attribute {
            name,
            kind,
            value: value.to_owned(),
        }),
        None => {
            let known: Vec<&str> = ATTRIBUTES.iter().map(|(n, _)| *n).collect();
            Err(format!(
                "unknown key attribute '{name}' in filter '{word}'; known attributes: {}",
                known.join(", ")
            ))
        }
    }
}

fn parse_filters(words: &[String]) -> Result<Vec<Filter>, String> {
    words.iter().map(|w| parse_filter(w)).collect()
}

impl Filter {
    fn matches(&self, key: &HsmKey) -> bool {
        match self {
            Filter::Reference(r) => key.reference == *r,
            Filter::Attribute { name, kind, value } => {
                let Some(actual) = key.attribute(name) else {
                    return false;
                };
                match kind {
                    AttrKind::Text => actual == *value,
                    // R6: `attr.id="0x<backing-key-id>"`; without `0x` it
                    // does not match, which is the pitfall the runbook warns of.
                    AttrKind::Hex | AttrKind::Flag => actual.eq_ignore_ascii_case(value),
                    AttrKind::Number => match (actual.parse::<u64>(), value.parse::<u64>()) {
                        (Ok(a), Ok(b)) => a == b,
                        (Ok(_) | Err(_), Ok(_) | Err(_)) => false,
                    },
                }
            }
        }
    }
}

/// Keys the user may see: an admin sees every key, a crypto user the keys it
/// owns or that are shared with it. (All hsmdrill keys are secret keys, so
/// there are no public keys that everyone sees.)
fn visible(key: &HsmKey, username: &str, role: Role) -> bool {
    match role {
        Role::Admin => true,
        Role::CryptoUser => {
            key.owner.eq_ignore_ascii_case(username)
                || key
                    .shared_users
                    .iter()
                    .any(|u| u.eq_ignore_ascii_case(username))
        }
        // The appliance user cannot log in through the CLI (Role::parse
        // refuses it); if it somehow were, it holds no keys.
        Role::Appliance => false,
    }
}

fn matching_keys<'a>(
    cluster: &'a Cluster,
    username: &str,
    role: Role,
    filters: &[Filter],
) -> Vec<&'a HsmKey> {
    cluster
        .keys
        .iter()
        .filter(|k| visible(k, username, role) && filters.iter().all(|f| f.matches(k)))
        .collect()
}

fn key_list(cluster: &Cluster, sid: &SessionId, args: &Args) -> Outcome {
    let (username, role) = current_user(cluster, sid)?;
    let filters = parse_filters(args.many(&FILTER))?;
    let max_items = match args.one(&MAX_ITEMS) {
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n > 0 => n,
            Ok(_) | Err(_) => {
                return Err(format!(
                    "invalid value '{v}' for '--max-items <MAX_ITEMS>': expected a positive integer"
                ))
            }
        },
        None => DEFAULT_MAX_ITEMS,
    };
    // The token is the index of the first key to return: what this emulator
    // handed out as `next_token`.
    let start = match args.one(&STARTING_TOKEN) {
        Some(v) => v.parse::<usize>().map_err(|_| {
            format!("invalid value '{v}' for '--starting-token <STARTING_TOKEN>': not a token from an earlier key list")
        })?,
        None => 0,
    };
    let verbose = args.has(&VERBOSE);
    let matched = matching_keys(cluster, &username, role, &filters);
    let total = matched.len();
    let page: Vec<Value> = matched
        .iter()
        .skip(start)
        .take(max_items)
        .map(|k| {
            if verbose {
                key_verbose(k)
            } else {
                key_brief(k)
            }
        })
        .collect();
    let mut data = Map::new();
    data.insert("matched_keys".into(), json!(page));
    data.insert("total_key_count".into(), json!(total));
    data.insert("returned_key_count".into(), json!(page.len()));
    let end = start.saturating_add(max_items);
    if end < total {
        data.insert("next_token".into(), json!(end.to_string()));
    }
    Ok(Value::Object(data))
}

fn key_brief(key: &HsmKey) -> Value {
    json!({
        "key-reference": key.reference_hex(),
        "attributes": { "label": key.label },
    })
}

fn key_verbose(key: &HsmKey) -> Value {
    let mut attributes = Map::new();
    for &(name, kind) in ATTRIBUTES {
        let Some(value) = key.attribute(name) else {
            continue;
        };
        let json_value = match kind {
            AttrKind::Text | AttrKind::Hex => Value::String(value),
            AttrKind::Flag => Value::Bool(value.eq_ignore_ascii_case("true")),
            AttrKind::Number => match value.parse::<u64>() {
                Ok(n) => json!(n),
                Err(_) => Value::String(value),
            },
        };
        attributes.insert(name.to_owned(), json_value);
    }
    let shared: Vec<Value> = key
        .shared_users
        .iter()
        .map(|u| json!({ "username": u, "key-coverage": "full" }))
        .collect();
    json!({
        "key-reference": key.reference_hex(),
        "key-info": {
            "key-owners": [{ "username": key.owner, "key-coverage": "full" }],
            "shared-users": shared,
            "key-quorum-values": {
                "manage-key-quorum-value": 0,
                "use-key-quorum-value": 0,
            },
            "cluster-coverage": "full",
        },
        "attributes": attributes,
    })
}

/// R7: "Only a crypto user that owns a key can delete it"; a user the key is
/// shared with sees it but may not delete it.
fn check_owner(key: &HsmKey, username: &str) -> Result<(), String> {
    if key.owner.eq_ignore_ascii_case(username) {
        Ok(())
    } else {
        Err(format!(
            "Only the key owner can delete this key: it is owned by '{}' and only shared with '{username}'",
            key.owner
        ))
    }
}

fn key_delete(cluster: &mut Cluster, sid: &SessionId, spec: &Spec, args: &Args) -> Outcome {
    let (username, role) = current_user(cluster, sid)?;
    match role {
        Role::CryptoUser => {}
        Role::Admin | Role::Appliance => {
            return Err(format!(
                "Only a crypto user can delete keys; '{username}' is logged in as {}",
                role.as_str()
            ))
        }
    }
    if !args.has(&FILTER) {
        return Err(format!(
            "the required argument '{}' was not provided; usage: {}",
            flag_display(&FILTER),
            spec.usage
        ));
    }
    let filters = parse_filters(args.many(&FILTER))?;
    let reference = match matching_keys(cluster, &username, role, &filters).as_slice() {
        [] => return Err("No keys matched the filter".into()),
        [key] => {
            check_owner(key, &username)?;
            key.reference
        }
        [..] => {
            return Err(
                "More than one key matched the filter; key delete removes one key at a time, so use a more specific filter (for example key-reference=0x… or attr.id=0x…)"
                    .into(),
            )
        }
    };
    cluster.keys.remove(reference);
    Ok(json!({ "message": "Key deleted successfully" }))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::engine::clock::Timestamp;
    use crate::engine::cloudhsm::keys::KeyMaterial;
    use crate::engine::cloudhsm::users::Users;

    const ARN: &str = "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const KEY_ID: &str = "a1b2c3d4e5f60718";

    fn user(name: &str, role: Role, password: &str) -> User {
        User {
            username: name.into(),
            role,
            password: Some(password.into()),
            lockout: Lockout::Open { failures: 0 },
        }
    }

    fn cluster() -> Cluster {
        let mut users = Users::default();
        users.insert(user("admin", Role::Admin, "adminPass1"));
        users.insert(user("kmsuser", Role::CryptoUser, "kmsPassword1"));
        let mut c = Cluster::new(
            "cluster-1a23b4cdefg".into(),
            ClusterState::Active,
            "vpc-1".into(),
            "sg-1".into(),
            BTreeMap::new(),
            Timestamp::from_millis(0),
            Timestamp::from_millis(0),
        );
        c.users = users;
        c.keys.create(
            KEY_ID.into(),
            ARN.into(),
            "kmsuser",
            KeyMaterial::generate().unwrap(),
        );
        c
    }

    fn ok(v: Value) -> Value {
        assert_eq!(v["error_code"], 0, "expected success, got {v}");
        v["data"].clone()
    }

    fn err(v: Value) -> String {
        assert_eq!(v["error_code"], 1, "expected failure, got {v}");
        v["data"].as_str().unwrap().to_owned()
    }

    #[test]
    fn envelope_keys_come_in_cli_order() {
        let mut c = cluster();
        let out = run(&mut c, "s", "logout").to_string();
        assert!(out.starts_with(r#"{"error_code":1,"data":"#), "{out}");
        let out = run(
            &mut c,
            "s",
            "login --username admin --role admin --password adminPass1",
        );
        assert_eq!(
            out.to_string(),
            r#"{"error_code":0,"data":{"username":"admin","role":"admin"}}"#
        );
    }

    #[test]
    fn five_failed_logins_lock_and_admin_change_password_unlocks() {
        let mut c = cluster();
        let bad = "login --username kmsuser --role crypto-user --password wrongPass1";
        for _ in 0..5 {
            assert_eq!(err(run(&mut c, "op", bad)), "Invalid username or password");
        }
        let good = "login --username kmsuser --role crypto-user --password kmsPassword1";
        assert_eq!(
            err(run(&mut c, "op", good)),
            "User is locked out. Contact an admin to reset the password"
        );
        let users = ok(run(&mut c, "other", "user list"))["users"].clone();
        let kmsuser = users
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["username"] == "kmsuser")
            .unwrap();
        assert_eq!(kmsuser["locked"], "true");
        assert_eq!(kmsuser["role"], "crypto-user");
        assert_eq!(users[0]["username"], "admin");
        assert_eq!(users[0]["locked"], "false");
        assert_eq!(users[0]["mfa"], json!([]));
        assert_eq!(users[0]["cluster-coverage"], "full");

        ok(run(
            &mut c,
            "adm",
            "login --username admin --role admin --password adminPass1",
        ));
        let data = ok(run(
            &mut c,
            "adm",
            "user change-password --username kmsuser --role crypto-user --password newPass123",
        ));
        assert_eq!(
            data,
            json!({ "username": "kmsuser", "role": "crypto-user" })
        );
        assert_eq!(ok(run(&mut c, "adm", "logout")), "Logout successful");
        let users = ok(run(&mut c, "x", "user list"))["users"].clone();
        assert_eq!(users[1]["locked"], "false");
        let data = ok(run(
            &mut c,
            "op",
            "login --username KMSUSER --role crypto-user --password newPass123",
        ));
        assert_eq!(
            data,
            json!({ "username": "kmsuser", "role": "crypto-user" })
        );
        assert_eq!(
            err(run(
                &mut c,
                "op",
                "login --username admin --role admin --password adminPass1"
            )),
            "User already logged in on this session"
        );
    }

    #[test]
    fn login_errors_are_distinct() {
        let mut c = cluster();
        assert_eq!(
            err(run(
                &mut c,
                "s",
                "login --username nobody --role admin --password abcdefg1"
            )),
            "User not found"
        );
        // The right name with the wrong role is not that user.
        assert_eq!(
            err(run(
                &mut c,
                "s",
                "login --username kmsuser --role admin --password kmsPassword1"
            )),
            "User not found"
        );
        assert!(err(run(
            &mut c,
            "s",
            "login --username kmsuser --role crypto-user"
        ))
        .contains("password required"));
        assert!(err(run(
            &mut c,
            "s",
            "login --username kmsuser --role CU --password x"
        ))
        .contains("expected one of: admin, crypto-user"));
        // KMS holding kmsuser keeps the CLI out (R8).
        c.users
            .login(
                SessionId::Kms("cks-1".into()),
                "kmsuser",
                Role::CryptoUser,
                "kmsPassword1",
            )
            .unwrap();
        assert_eq!(
            err(run(
                &mut c,
                "s",
                "login --username kmsuser --role crypto-user --password kmsPassword1"
            )),
            "User is already logged in"
        );
    }

    #[test]
    fn key_list_filters_by_label_and_id() {
        let mut c = cluster();
        let other = c.keys.create(
            "00ff00ff00ff00ff".into(),
            "other".into(),
            "kmsuser",
            KeyMaterial::generate().unwrap(),
        );
        assert!(err(run(&mut c, "s", "key list")).contains("No user is logged in"));
        ok(run(
            &mut c,
            "s",
            "login --username kmsuser --role crypto-user --password kmsPassword1",
        ));

        let data = ok(run(
            &mut c,
            "s",
            &format!("key list --filter attr.label=\"{ARN}\""),
        ));
        assert_eq!(data["total_key_count"], 1);
        assert_eq!(data["returned_key_count"], 1);
        assert_eq!(
            data["matched_keys"][0]["attributes"],
            json!({ "label": ARN })
        );
        assert!(data["matched_keys"][0]["key-reference"]
            .as_str()
            .unwrap()
            .starts_with("0x"));
        assert!(data.get("next_token").is_none());

        let upper = KEY_ID.to_ascii_uppercase();
        let data = ok(run(
            &mut c,
            "s",
            &format!("key list --filter attr.id=0x{upper} -v"),
        ));
        assert_eq!(data["total_key_count"], 1);
        let key = &data["matched_keys"][0];
        assert_eq!(key["attributes"]["id"], format!("0x{KEY_ID}"));
        assert_eq!(key["attributes"]["label"], ARN);
        assert_eq!(key["attributes"]["key-type"], "aes");
        assert_eq!(key["attributes"]["class"], "secret-key");
        assert_eq!(key["attributes"]["encrypt"], true);
        assert_eq!(key["attributes"]["extractable"], false);
        assert_eq!(key["attributes"]["size"], 32);
        assert_eq!(
            key["key-info"]["key-owners"],
            json!([{ "username": "kmsuser", "key-coverage": "full" }])
        );
        assert_eq!(
            key["key-info"]["key-quorum-values"]["use-key-quorum-value"],
            0
        );

        // Without the 0x prefix the id does not match (R6 says to add it).
        let data = ok(run(
            &mut c,
            "s",
            &format!("key list --filter attr.id={KEY_ID}"),
        ));
        assert_eq!(data["total_key_count"], 0);

        // Several filters must all match; --filter may repeat.
        let line = format!(
            "key list --filter attr.label=other attr.class=secret-key --filter attr.id=0x{KEY_ID}"
        );
        assert_eq!(ok(run(&mut c, "s", &line))["total_key_count"], 0);
        let line = format!("key list --filter key-reference=0x{other:x} attr.encrypt=TRUE");
        let data = ok(run(&mut c, "s", &line));
        assert_eq!(data["total_key_count"], 1);
        assert_eq!(data["matched_keys"][0]["attributes"]["label"], "other");

        assert!(err(run(&mut c, "s", "key list --filter attr.colour=red"))
            .contains("unknown key attribute 'colour'"));
        assert!(err(run(&mut c, "s", "key list --filter label=x")).contains("invalid filter"));
        assert!(err(run(&mut c, "s", "key list --filter")).contains("a value is required"));

        // Pagination: one at a time, token is the next index.
        let data = ok(run(&mut c, "s", "key list --max-items 1"));
        assert_eq!(data["total_key_count"], 2);
        assert_eq!(data["returned_key_count"], 1);
        assert_eq!(data["next_token"], "1");
        let data = ok(run(
            &mut c,
            "s",
            "key list --max-items 1 --starting-token 1",
        ));
        assert_eq!(data["returned_key_count"], 1);
        assert!(data.get("next_token").is_none());
    }

    #[test]
    fn a_crypto_user_sees_only_its_own_and_shared_keys() {
        let mut c = cluster();
        c.users
            .insert(user("bob", Role::CryptoUser, "bobPassword1"));
        ok(run(
            &mut c,
            "b",
            "login --username bob --role crypto-user --password bobPassword1",
        ));
        assert_eq!(ok(run(&mut c, "b", "key list"))["total_key_count"], 0);
        ok(run(
            &mut c,
            "a",
            "login --username admin --role admin --password adminPass1",
        ));
        assert_eq!(ok(run(&mut c, "a", "key list"))["total_key_count"], 1);
    }

    #[test]
    fn key_delete_by_id_as_owner() {
        let mut c = cluster();
        ok(run(
            &mut c,
            "s",
            "login --username kmsuser --role crypto-user --password kmsPassword1",
        ));
        let out = run(
            &mut c,
            "s",
            &format!("key delete --filter attr.id=\"0x{KEY_ID}\""),
        );
        assert_eq!(
            out.to_string(),
            r#"{"error_code":0,"data":{"message":"Key deleted successfully"}}"#
        );
        assert!(c.keys.is_empty());
        assert_eq!(
            err(run(
                &mut c,
                "s",
                &format!("key delete --filter attr.id=0x{KEY_ID}")
            )),
            "No keys matched the filter"
        );
    }

    #[test]
    fn key_delete_refuses_non_owners_admins_and_ambiguity() {
        let mut c = cluster();
        c.users
            .insert(user("bob", Role::CryptoUser, "bobPassword1"));
        let filter = format!("key delete --filter attr.id=0x{KEY_ID}");

        // bob neither owns nor shares kmsuser's key: he cannot even see it.
        ok(run(
            &mut c,
            "b",
            "login --username bob --role crypto-user --password bobPassword1",
        ));
        assert_eq!(err(run(&mut c, "b", &filter)), "No keys matched the filter");
        assert_eq!(c.keys.len(), 1);

        ok(run(
            &mut c,
            "a",
            "login --username admin --role admin --password adminPass1",
        ));
        assert!(err(run(&mut c, "a", &filter)).contains("Only a crypto user can delete keys"));

        c.keys.create(
            "0badc0de".into(),
            ARN.into(),
            "kmsuser",
            KeyMaterial::generate().unwrap(),
        );
        ok(run(
            &mut c,
            "k",
            "login --username kmsuser --role crypto-user --password kmsPassword1",
        ));
        assert!(err(run(
            &mut c,
            "k",
            &format!("key delete --filter attr.label={ARN}")
        ))
        .contains("more specific filter"));
        assert_eq!(c.keys.len(), 2);
        assert!(err(run(&mut c, "k", "key delete")).contains("--filter <FILTER>..."));
    }

    #[test]
    fn a_shared_user_sees_but_cannot_delete() {
        // KeyStoreOfCluster has no share operation, so a shared key cannot be
        // put in a cluster; check the two rules key delete applies to it.
        let c = cluster();
        let mut key = c.keys.iter().next().unwrap().clone();
        assert!(!visible(&key, "bob", Role::CryptoUser));
        key.shared_users.push("bob".into());
        assert!(visible(&key, "BOB", Role::CryptoUser));
        let msg = check_owner(&key, "bob").unwrap_err();
        assert!(
            msg.starts_with("Only the key owner can delete this key"),
            "{msg}"
        );
        assert!(check_owner(&key, "KMSUSER").is_ok());
    }

    #[test]
    fn change_password_of_a_user_logged_in_elsewhere_fails() {
        let mut c = cluster();
        ok(run(
            &mut c,
            "k",
            "login --username kmsuser --role crypto-user --password kmsPassword1",
        ));
        ok(run(
            &mut c,
            "a",
            "login --username admin --role admin --password adminPass1",
        ));
        let msg = err(run(
            &mut c,
            "a",
            "user change-password --username kmsuser --role crypto-user --password newPass123",
        ));
        assert!(
            msg.starts_with("Cannot change the password of a user who is logged in"),
            "{msg}"
        );
        assert!(err(run(
            &mut c,
            "a",
            "user change-password --username kmsuser --role crypto-user --password bad!pass"
        ))
        .starts_with("Cannot change"));
        ok(run(&mut c, "k", "logout"));
        assert!(err(run(
            &mut c,
            "a",
            "user change-password --username kmsuser --role crypto-user --password short"
        ))
        .starts_with("Invalid password"));
        // A crypto user may change its own password, not another's.
        ok(run(
            &mut c,
            "k",
            "login --username kmsuser --role crypto-user --password kmsPassword1",
        ));
        ok(run(
            &mut c,
            "k",
            "user change-password --username kmsuser --role crypto-user --password ownPass123",
        ));
        assert!(err(run(
            &mut c,
            "k",
            "user change-password --username admin --role admin --password x1234567"
        ))
        .starts_with("Only an admin"));
        assert!(err(run(
            &mut c,
            "z",
            "user change-password --username admin --role admin --password x1234567"
        ))
        .contains("No user is logged in"));
    }

    #[test]
    fn user_create_and_delete() {
        let mut c = cluster();
        let create = "user create --username alice --role crypto-user --password alicePass1";
        assert!(err(run(&mut c, "a", create)).contains("No user is logged in"));
        ok(run(
            &mut c,
            "k",
            "login --username kmsuser --role crypto-user --password kmsPassword1",
        ));
        assert!(err(run(&mut c, "k", create)).contains("requires an admin"));
        ok(run(
            &mut c,
            "a",
            "login --username admin --role admin --password adminPass1",
        ));
        assert_eq!(
            ok(run(&mut c, "a", create)),
            json!({ "username": "alice", "role": "crypto-user" })
        );
        assert!(err(run(
            &mut c,
            "a",
            "user create --username ALICE --role admin --password alicePass1"
        ))
        .contains("already exists"));
        assert!(err(run(
            &mut c,
            "a",
            "user create --username bad-name --role admin --password alicePass1"
        ))
        .starts_with("Invalid username"));
        assert!(err(run(
            &mut c,
            "a",
            "user create --username bob --role admin --password p"
        ))
        .starts_with("Invalid password"));
        assert!(
            err(run(&mut c, "a", "user create --username bob --role admin"))
                .contains("password required")
        );

        assert_eq!(
            ok(run(
                &mut c,
                "a",
                "user delete --username alice --role crypto-user"
            )),
            json!({ "username": "alice", "role": "crypto-user" })
        );
        assert_eq!(
            err(run(
                &mut c,
                "a",
                "user delete --username alice --role crypto-user"
            )),
            "User not found"
        );
        assert!(err(run(
            &mut c,
            "a",
            "user delete --username kmsuser --role crypto-user"
        ))
        .contains("owns keys"));
        assert!(err(run(
            &mut c,
            "a",
            "user delete --username admin --role admin"
        ))
        .contains("logged in on this session"));
        ok(run(
            &mut c,
            "a",
            "user create --username carol --role crypto-user --password carolPass1",
        ));
        ok(run(
            &mut c,
            "c",
            "login --username carol --role crypto-user --password carolPass1",
        ));
        assert!(err(run(
            &mut c,
            "a",
            "user delete --username carol --role crypto-user"
        ))
        .contains("is logged in"));
    }

    #[test]
    fn user_list_includes_the_appliance_user() {
        let mut c = cluster();
        c.users.insert(User {
            username: "app_user".into(),
            role: Role::Appliance,
            password: None,
            lockout: Lockout::Open { failures: 0 },
        });
        let data = ok(run(&mut c, "s", "user list"));
        let names: Vec<&str> = data["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["username"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["admin", "app_user", "kmsuser"]);
        assert_eq!(data["users"][1]["role"], "internal(APPLIANCE_USER)");
    }

    #[test]
    fn cluster_activate_from_initialized() {
        let mut c = cluster();
        c.users.remove("admin");
        c.users.insert(User {
            username: "admin".into(),
            role: Role::Admin,
            password: None,
            lockout: Lockout::Open { failures: 0 },
        });
        c.state = ClusterState::Initialized;
        assert!(err(run(&mut c, "s", "key list")).contains("cluster activate"));
        assert!(err(run(
            &mut c,
            "s",
            "login --username admin --role admin --password adminPass1"
        ))
        .contains("no password yet"));
        assert!(!c.users.get("admin").unwrap().lockout.is_locked());
        assert!(err(run(&mut c, "s", "cluster activate")).contains("password required"));
        assert!(
            err(run(&mut c, "s", "cluster activate --password a")).starts_with("Invalid password")
        );
        assert_eq!(c.state, ClusterState::Initialized);
        assert_eq!(
            ok(run(&mut c, "s", "cluster activate --password newAdmin1")),
            "Cluster activation successful"
        );
        assert_eq!(c.state, ClusterState::Active);
        ok(run(
            &mut c,
            "s",
            "login --username admin --role admin --password newAdmin1",
        ));
        assert_eq!(
            err(run(&mut c, "s", "cluster activate --password newAdmin1")),
            "Cluster is already activated"
        );
        c.state = ClusterState::Uninitialized;
        assert!(
            err(run(&mut c, "s", "cluster activate --password newAdmin1")).contains("initialized")
        );
        assert!(err(run(&mut c, "s", "logout")).contains("UNINITIALIZED"));
    }

    #[test]
    fn quoting_follows_the_shell() {
        assert_eq!(
            tokenize(r#"key list --filter attr.label="a b" 'c "d"' e\ f "g\"h" ''"#).unwrap(),
            [
                "key",
                "list",
                "--filter",
                "attr.label=a b",
                "c \"d\"",
                "e f",
                "g\"h",
                ""
            ]
        );
        assert_eq!(tokenize("  \t ").unwrap(), Vec::<String>::new());
        assert_eq!(tokenize(r#""a\nb""#).unwrap(), [r"a\nb"]);
        let mut c = cluster();
        assert!(
            err(run(&mut c, "s", "login --username 'admin")).contains("unterminated single quote")
        );
        assert!(
            err(run(&mut c, "s", "login --username \"admin")).contains("unterminated double quote")
        );
        assert!(err(run(&mut c, "s", "login \\")).contains("backslash"));
        ok(run(
            &mut c,
            "s",
            "login --username 'admin' --role \"admin\" --password=adminPass1",
        ));
    }

    #[test]
    fn usage_errors_say_what_was_expected() {
        let mut c = cluster();
        let msg = err(run(&mut c, "s", "foo"));
        assert!(msg.starts_with("unrecognized command 'foo'; expected one of: cluster activate, login, logout, user list"), "{msg}");
        assert!(err(run(&mut c, "s", "")).starts_with("no command given"));
        assert!(err(run(&mut c, "s", "user frob"))
            .contains("expected one of: list, create, delete, change-password"));
        assert!(err(run(&mut c, "s", "key")).contains("needs a subcommand"));
        assert!(err(run(&mut c, "s", "help")).contains("key delete --filter"));
        assert!(err(run(&mut c, "s", "help key list")).starts_with("usage: key list"));
        assert!(err(run(&mut c, "s", "user list --help")).starts_with("usage: user list"));
        assert!(err(run(&mut c, "s", "user list --bogus")).contains("expected flags: --cluster-id"));
        assert!(err(run(&mut c, "s", "user list stray")).contains("unexpected argument 'stray'"));
        assert!(err(run(&mut c, "s", "login --username"))
            .contains("a value is required for '--username <USERNAME>'"));
        assert!(
            err(run(&mut c, "s", "login --username --role admin")).contains("a value is required")
        );
        assert!(err(run(
            &mut c,
            "s",
            "login --username a --username b --role admin --password x"
        ))
        .contains("more than once"));
        assert!(
            err(run(&mut c, "s", "login --role admin --password adminPass1"))
                .contains("required argument '--username <USERNAME>'")
        );
        assert!(
            err(run(&mut c, "s", "user list --cluster-id cluster-other"))
                .contains("Unknown cluster id")
        );
        ok(run(
            &mut c,
            "s",
            "user list --cluster-id cluster-1a23b4cdefg",
        ));
        assert!(err(run(&mut c, "s", "logout")).contains("No user is logged in"));
    }

    #[test]
    fn attribute_table_matches_the_model() {
        let c = cluster();
        let key = c.keys.iter().next().unwrap();
        for (name, _) in ATTRIBUTES {
            assert!(
                key.attribute(name).is_some(),
                "HsmKey::attribute lacks {name}"
            );
        }
        assert!(key.attribute("colour").is_none());
    }

    /// Tiny deterministic xorshift64 so the fuzz loop needs no new crate.
    struct XorShift(u64);

    impl XorShift {
        fn next_u64(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next_u64() % n as u64) as usize
        }
    }

    #[test]
    fn random_and_garbled_lines_never_panic() {
        const WORDS: &[&str] = &[
            "cluster",
            "activate",
            "login",
            "logout",
            "user",
            "list",
            "create",
            "delete",
            "change-password",
            "key",
            "help",
            "--username",
            "--role",
            "--password",
            "--filter",
            "--max-items",
            "--starting-token",
            "-v",
            "--verbose",
            "--cluster-id",
            "-h",
            "admin",
            "crypto-user",
            "kmsuser",
            "adminPass1",
            "kmsPassword1",
            "newPass123",
            "attr.label=x",
            "attr.id=0xA1B2C3D4E5F60718",
            "attr.size=32",
            "attr.encrypt=true",
            "attr.nope=1",
            "key-reference=0x100001",
            "key-reference=0xzz",
            "key-reference=",
            "0",
            "1",
            "99999999999999999999",
            "-",
            "--",
            "=",
            "--password=",
            "--filter=attr.class=secret-key",
            "\"",
            "'",
            "\\",
            "\"quoted word\"",
            "'single'",
            "é",
            "\u{0}",
            "--max-items=0",
        ];
        const TEMPLATES: &[&str] = &[
            "user list",
            "login --username admin --role admin --password adminPass1",
            "login --username kmsuser --role crypto-user --password kmsPassword1",
            "login --username kmsuser --role crypto-user --password newPass123",
            "login --username bob --role crypto-user --password bobPassword1",
            "logout",
            "key list -v",
            "key list --filter attr.label=x attr.size=32 --max-items 1 --starting-token 1",
            "user change-password --username kmsuser --role crypto-user --password newPass123",
            "user change-password --username kmsuser --role crypto-user --password kmsPassword1",
            "user create --username bob2 --role crypto-user --password bobPassword1",
            "user delete --username bob2 --role crypto-user",
            "key delete --filter attr.id=0xa1b2c3d4e5f60718",
            "cluster activate --password adminPass1",
        ];
        const CHARS: &[char] = &[
            'a', ' ', '-', '=', '"', '\'', '\\', '.', 'x', '0', '\n', '\t', 'ß',
        ];
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let mut c = cluster();
        c.users
            .insert(user("bob", Role::CryptoUser, "bobPassword1"));
        let sessions = ["a", "b", "c"];
        let mut successes = 0;
        for round in 0..4000 {
            // Half the lines are well-formed commands (so the success paths
            // and state changes are reached), the rest word soup; both are
            // then garbled now and then.
            let mut line = String::new();
            if rng.below(2) == 0 {
                line.push_str(TEMPLATES[rng.below(TEMPLATES.len())]);
            } else {
                for _ in 0..rng.below(8) {
                    line.push_str(WORDS[rng.below(WORDS.len())]);
                    line.push(' ');
                }
            }
            for _ in 0..rng.below(4).saturating_sub(1) {
                let mut at = rng.below(line.len() + 1);
                while !line.is_char_boundary(at) {
                    at -= 1;
                }
                line.insert(at, CHARS[rng.below(CHARS.len())]);
            }
            // Now and then, take the cluster through the other states.
            if round % 500 == 499 {
                c.state = match rng.below(3) {
                    0 => ClusterState::Initialized,
                    1 => ClusterState::Deleted,
                    _ => ClusterState::Active,
                };
            }
            let session = sessions[rng.below(sessions.len())];
            let out = run(&mut c, session, &line);
            let obj = out
                .as_object()
                .unwrap_or_else(|| panic!("not an object for {line:?}: {out}"));
            assert!(obj["error_code"].is_i64(), "{line:?} → {out}");
            assert!(obj.contains_key("data"), "{line:?} → {out}");
            let keys: Vec<&String> = obj.keys().collect();
            assert_eq!(keys, ["error_code", "data"]);
            if obj["error_code"] == 0 {
                successes += 1;
            }
        }
        // The vocabulary is rich enough to reach the success paths too.
        assert!(successes > 20, "only {successes} successes");
    }
}

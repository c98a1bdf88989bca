//! The CLI emulator as an operator sees it: one line in, one JSON envelope out.

use std::collections::BTreeMap;

use super::key::{check_owner, visible, ATTRIBUTES};
use super::*;
use crate::engine::clock::Timestamp;
use crate::engine::cloudhsm::keys::KeyMaterial;
use crate::engine::cloudhsm::users::Users;
use crate::engine::ids::IdGen;

/// One line, answering no prompt, with a fixed seed for key material.
fn run(c: &mut Cluster, session: &str, line: &str) -> Value {
    super::run(c, &mut IdGen::new(7), session, line, &[])
}

const ARN: &str = "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const KEY_ID: &str = "a1b2c3d4e5f60718";

fn cluster() -> Cluster {
    let mut users = Users::default();
    users.insert(User::new("admin", Role::Admin, Some("adminPass1")));
    users.insert(User::new("kmsuser", Role::CryptoUser, Some("kmsPassword1")));
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

/// Runs `line` in CLI session `session`, which must succeed: its `data`.
fn ok(c: &mut Cluster, session: &str, line: &str) -> Value {
    let v = run(c, session, line);
    assert_eq!(v["error_code"], 0, "expected success of {line:?}, got {v}");
    v["data"].clone()
}

/// Runs `line` in CLI session `session`, which must fail: its message.
fn err(c: &mut Cluster, session: &str, line: &str) -> String {
    let v = run(c, session, line);
    assert_eq!(v["error_code"], 1, "expected failure of {line:?}, got {v}");
    v["data"].as_str().unwrap().to_owned()
}

const LOGIN_ADMIN: &str = "login --username admin --role admin --password adminPass1";
const LOGIN_KMSUSER: &str = "login --username kmsuser --role crypto-user --password kmsPassword1";
const LOGIN_BOB: &str = "login --username bob --role crypto-user --password bobPassword1";
/// An admin's repair of R5/R8: a new password for `kmsuser`.
const CHANGE_KMSUSER_PASSWORD: &str =
    "user change-password --username kmsuser --role crypto-user --password newPass123";

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
        assert_eq!(err(&mut c, "op", bad), "Invalid username or password");
    }
    assert_eq!(
        err(&mut c, "op", LOGIN_KMSUSER),
        "User is locked out. Contact an admin to reset the password"
    );
    let users = ok(&mut c, "other", "user list")["users"].clone();
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

    ok(&mut c, "adm", LOGIN_ADMIN);
    let data = ok(&mut c, "adm", CHANGE_KMSUSER_PASSWORD);
    assert_eq!(
        data,
        json!({ "username": "kmsuser", "role": "crypto-user" })
    );
    assert_eq!(ok(&mut c, "adm", "logout"), "Logout successful");
    let users = ok(&mut c, "x", "user list")["users"].clone();
    assert_eq!(users[1]["locked"], "false");
    let data = ok(
        &mut c,
        "op",
        "login --username KMSUSER --role crypto-user --password newPass123",
    );
    assert_eq!(
        data,
        json!({ "username": "kmsuser", "role": "crypto-user" })
    );
    assert_eq!(
        err(&mut c, "op", LOGIN_ADMIN),
        "User already logged in on this session"
    );
}

#[test]
fn login_errors_are_distinct() {
    let mut c = cluster();
    assert_eq!(
        err(
            &mut c,
            "s",
            "login --username nobody --role admin --password abcdefg1"
        ),
        "User not found"
    );
    // The right name with the wrong role is not that user.
    assert_eq!(
        err(
            &mut c,
            "s",
            "login --username kmsuser --role admin --password kmsPassword1"
        ),
        "User not found"
    );
    assert!(
        err(&mut c, "s", "login --username kmsuser --role crypto-user")
            .contains("password required")
    );
    assert!(err(
        &mut c,
        "s",
        "login --username kmsuser --role CU --password x"
    )
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
    assert_eq!(err(&mut c, "s", LOGIN_KMSUSER), "User is already logged in");
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
    assert!(err(&mut c, "s", "key list").contains("No user is logged in"));
    ok(&mut c, "s", LOGIN_KMSUSER);

    let data = ok(
        &mut c,
        "s",
        &format!("key list --filter attr.label=\"{ARN}\""),
    );
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
    let data = ok(
        &mut c,
        "s",
        &format!("key list --filter attr.id=0x{upper} -v"),
    );
    assert_eq!(data["total_key_count"], 1);
    let key = &data["matched_keys"][0];
    assert_eq!(key["attributes"]["id"], format!("0x{KEY_ID}"));
    assert_eq!(key["attributes"]["label"], ARN);
    assert_eq!(key["attributes"]["key-type"], "aes");
    assert_eq!(key["attributes"]["class"], "secret-key");
    assert_eq!(key["attributes"]["encrypt"], true);
    assert_eq!(key["attributes"]["extractable"], false);
    assert_eq!(key["attributes"]["key-length-bytes"], 32);
    let kcv = key["attributes"]["check-value"].as_str().unwrap();
    assert!(kcv.starts_with("0x") && kcv.len() == 8, "{kcv}");
    // Verbose output prints the attributes in the documented order.
    let names: Vec<&String> = key["attributes"].as_object().unwrap().keys().collect();
    let expected: Vec<&str> = ATTRIBUTES.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, expected);
    assert_eq!(
        key["key-info"]["key-owners"],
        json!([{ "username": "kmsuser", "key-coverage": "full" }])
    );
    assert_eq!(
        key["key-info"]["key-quorum-values"]["use-key-quorum-value"],
        0
    );

    // Without the 0x prefix the id does not match (R6 says to add it).
    let data = ok(&mut c, "s", &format!("key list --filter attr.id={KEY_ID}"));
    assert_eq!(data["total_key_count"], 0);

    // Several filters must all match; --filter may repeat.
    let line = format!(
        "key list --filter attr.label=other attr.class=secret-key --filter attr.id=0x{KEY_ID}"
    );
    assert_eq!(ok(&mut c, "s", &line)["total_key_count"], 0);
    let line = format!("key list --filter key-reference=0x{other:x} attr.encrypt=TRUE");
    let data = ok(&mut c, "s", &line);
    assert_eq!(data["total_key_count"], 1);
    assert_eq!(data["matched_keys"][0]["attributes"]["label"], "other");

    assert!(err(&mut c, "s", "key list --filter attr.colour=red")
        .contains("unknown key attribute 'colour'"));
    assert!(err(&mut c, "s", "key list --filter label=x").contains("invalid filter"));
    assert!(err(&mut c, "s", "key list --filter").contains("a value is required"));

    // Pagination: one at a time, token is the next index.
    let data = ok(&mut c, "s", "key list --max-items 1");
    assert_eq!(data["total_key_count"], 2);
    assert_eq!(data["returned_key_count"], 1);
    assert_eq!(data["next_token"], "1");
    let data = ok(&mut c, "s", "key list --max-items 1 --starting-token 1");
    assert_eq!(data["returned_key_count"], 1);
    assert!(data.get("next_token").is_none());
}

#[test]
fn a_crypto_user_sees_only_its_own_and_shared_keys() {
    let mut c = cluster();
    c.users
        .insert(User::new("bob", Role::CryptoUser, Some("bobPassword1")));
    ok(&mut c, "b", LOGIN_BOB);
    assert_eq!(ok(&mut c, "b", "key list")["total_key_count"], 0);
    ok(&mut c, "a", LOGIN_ADMIN);
    assert_eq!(ok(&mut c, "a", "key list")["total_key_count"], 1);
}

#[test]
fn key_delete_by_id_as_owner() {
    let mut c = cluster();
    ok(&mut c, "s", LOGIN_KMSUSER);
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
        err(
            &mut c,
            "s",
            &format!("key delete --filter attr.id=0x{KEY_ID}")
        ),
        "No keys matched the filter"
    );
}

#[test]
fn key_delete_refuses_non_owners_admins_and_ambiguity() {
    let mut c = cluster();
    c.users
        .insert(User::new("bob", Role::CryptoUser, Some("bobPassword1")));
    let filter = format!("key delete --filter attr.id=0x{KEY_ID}");

    // bob neither owns nor shares kmsuser's key: he cannot even see it.
    ok(&mut c, "b", LOGIN_BOB);
    assert_eq!(err(&mut c, "b", &filter), "No keys matched the filter");
    assert_eq!(c.keys.len(), 1);

    ok(&mut c, "a", LOGIN_ADMIN);
    assert!(err(&mut c, "a", &filter).contains("Only a crypto user can delete keys"));

    c.keys.create(
        "0badc0de".into(),
        ARN.into(),
        "kmsuser",
        KeyMaterial::generate().unwrap(),
    );
    ok(&mut c, "k", LOGIN_KMSUSER);
    assert!(err(
        &mut c,
        "k",
        &format!("key delete --filter attr.label={ARN}")
    )
    .contains("more specific filter"));
    assert_eq!(c.keys.len(), 2);
    assert!(err(&mut c, "k", "key delete").contains("--filter <FILTER>..."));
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
    let msg = check_owner(&key, "bob", "delete").unwrap_err();
    assert!(
        msg.starts_with("Only the key owner can delete this key"),
        "{msg}"
    );
    assert!(check_owner(&key, "KMSUSER", "delete").is_ok());
}

#[test]
fn change_password_of_a_user_logged_in_elsewhere_fails() {
    let mut c = cluster();
    ok(&mut c, "k", LOGIN_KMSUSER);
    ok(&mut c, "a", LOGIN_ADMIN);
    let msg = err(&mut c, "a", CHANGE_KMSUSER_PASSWORD);
    assert!(
        msg.starts_with("Cannot change the password of a user who is logged in"),
        "{msg}"
    );
    assert!(err(
        &mut c,
        "a",
        "user change-password --username kmsuser --role crypto-user --password bad!pass"
    )
    .starts_with("Cannot change"));
    ok(&mut c, "k", "logout");
    assert!(err(
        &mut c,
        "a",
        "user change-password --username kmsuser --role crypto-user --password short"
    )
    .starts_with("Invalid password"));
    // A crypto user may change its own password, not another's.
    ok(&mut c, "k", LOGIN_KMSUSER);
    ok(
        &mut c,
        "k",
        "user change-password --username kmsuser --role crypto-user --password ownPass123",
    );
    assert!(err(
        &mut c,
        "k",
        "user change-password --username admin --role admin --password x1234567"
    )
    .starts_with("Only an admin"));
    assert!(err(
        &mut c,
        "z",
        "user change-password --username admin --role admin --password x1234567"
    )
    .contains("No user is logged in"));
}

#[test]
fn user_create_and_delete() {
    let mut c = cluster();
    let create = "user create --username alice --role crypto-user --password alicePass1";
    assert!(err(&mut c, "a", create).contains("No user is logged in"));
    ok(&mut c, "k", LOGIN_KMSUSER);
    assert!(err(&mut c, "k", create).contains("requires an admin"));
    ok(&mut c, "a", LOGIN_ADMIN);
    assert_eq!(
        ok(&mut c, "a", create),
        json!({ "username": "alice", "role": "crypto-user" })
    );
    assert!(err(
        &mut c,
        "a",
        "user create --username ALICE --role admin --password alicePass1"
    )
    .contains("already exists"));
    assert!(err(
        &mut c,
        "a",
        "user create --username bad-name --role admin --password alicePass1"
    )
    .starts_with("Invalid username"));
    assert!(err(
        &mut c,
        "a",
        "user create --username bob --role admin --password p"
    )
    .starts_with("Invalid password"));
    assert!(
        err(&mut c, "a", "user create --username bob --role admin").contains("password required")
    );

    assert_eq!(
        ok(
            &mut c,
            "a",
            "user delete --username alice --role crypto-user"
        ),
        json!({ "username": "alice", "role": "crypto-user" })
    );
    assert_eq!(
        err(
            &mut c,
            "a",
            "user delete --username alice --role crypto-user"
        ),
        "User not found"
    );
    assert!(err(
        &mut c,
        "a",
        "user delete --username kmsuser --role crypto-user"
    )
    .contains("owns keys"));
    assert!(
        err(&mut c, "a", "user delete --username admin --role admin")
            .contains("logged in on this session")
    );
    ok(
        &mut c,
        "a",
        "user create --username carol --role crypto-user --password carolPass1",
    );
    ok(
        &mut c,
        "c",
        "login --username carol --role crypto-user --password carolPass1",
    );
    assert!(err(
        &mut c,
        "a",
        "user delete --username carol --role crypto-user"
    )
    .contains("is logged in"));
}

#[test]
fn user_list_includes_the_appliance_user() {
    let mut c = cluster();
    c.users.insert(User::new("app_user", Role::Appliance, None));
    let data = ok(&mut c, "s", "user list");
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
    c.users.insert(User::new("admin", Role::Admin, None));
    c.state = ClusterState::Initialized;
    assert!(err(&mut c, "s", "key list").contains("cluster activate"));
    assert!(err(&mut c, "s", LOGIN_ADMIN).contains("no password yet"));
    assert!(!c.users.get("admin").unwrap().lockout.is_locked());
    assert!(err(&mut c, "s", "cluster activate").contains("password required"));
    assert!(err(&mut c, "s", "cluster activate --password a").starts_with("Invalid password"));
    assert_eq!(c.state, ClusterState::Initialized);
    assert_eq!(
        ok(&mut c, "s", "cluster activate --password newAdmin1"),
        "Cluster activation successful"
    );
    assert_eq!(c.state, ClusterState::Active);
    ok(
        &mut c,
        "s",
        "login --username admin --role admin --password newAdmin1",
    );
    assert_eq!(
        err(&mut c, "s", "cluster activate --password newAdmin1"),
        "Cluster is already activated"
    );
    c.state = ClusterState::Uninitialized;
    assert!(err(&mut c, "s", "cluster activate --password newAdmin1").contains("initialized"));
    assert!(err(&mut c, "s", "logout").contains("UNINITIALIZED"));
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
    assert!(err(&mut c, "s", "login --username 'admin").contains("unterminated single quote"));
    assert!(err(&mut c, "s", "login --username \"admin").contains("unterminated double quote"));
    assert!(err(&mut c, "s", "login \\").contains("backslash"));
    ok(
        &mut c,
        "s",
        "login --username 'admin' --role \"admin\" --password=adminPass1",
    );
}

#[test]
fn usage_errors_say_what_was_expected() {
    let mut c = cluster();
    let msg = err(&mut c, "s", "foo");
    assert!(msg.starts_with("unrecognized command 'foo'; expected one of: cluster activate, login, logout, user list"), "{msg}");
    assert!(err(&mut c, "s", "").starts_with("no command given"));
    assert!(err(&mut c, "s", "user frob")
        .contains("expected one of: list, create, delete, change-password"));
    assert!(err(&mut c, "s", "key").contains("needs a subcommand"));
    assert!(err(&mut c, "s", "help").contains("key delete --filter"));
    assert!(err(&mut c, "s", "help key list").starts_with("usage: key list"));
    assert!(err(&mut c, "s", "user list --help").starts_with("usage: user list"));
    assert!(err(&mut c, "s", "user list --bogus").contains("expected flags: --cluster-id"));
    assert!(err(&mut c, "s", "user list stray").contains("unexpected argument 'stray'"));
    assert!(err(&mut c, "s", "login --username")
        .contains("a value is required for '--username <USERNAME>'"));
    assert!(err(&mut c, "s", "login --username --role admin").contains("a value is required"));
    assert!(err(
        &mut c,
        "s",
        "login --username a --username b --role admin --password x"
    )
    .contains("more than once"));
    assert!(err(&mut c, "s", "login --role admin --password adminPass1")
        .contains("required argument '--username <USERNAME>'"));
    assert!(err(&mut c, "s", "user list --cluster-id cluster-other").contains("Unknown cluster id"));
    ok(&mut c, "s", "user list --cluster-id cluster-1a23b4cdefg");
    assert!(err(&mut c, "s", "logout").contains("No user is logged in"));
}

/// The usage lines are made from the command table's flags; they read as
/// Client SDK 5's, with `--password` optional where the CLI prompts.
#[test]
fn usage_lines_are_client_sdk_5_syntax() {
    let usages: Vec<String> = SPECS.iter().map(Spec::usage).collect();
    assert_eq!(
        usages,
        [
            "cluster activate [--password <PASSWORD>] [--cluster-id <CLUSTER_ID>]",
            "login --username <USERNAME> --role <ROLE> [--password <PASSWORD>] [--cluster-id <CLUSTER_ID>]",
            "logout [--cluster-id <CLUSTER_ID>]",
            "user list [--cluster-id <CLUSTER_ID>]",
            "user create --username <USERNAME> --role <ROLE> [--password <PASSWORD>] [--cluster-id <CLUSTER_ID>]",
            "user delete --username <USERNAME> --role <ROLE> [--cluster-id <CLUSTER_ID>]",
            "user change-password --username <USERNAME> --role <ROLE> [--password <PASSWORD>] [--cluster-id <CLUSTER_ID>]",
            "key list [--filter <FILTER>...] [--max-items <MAX_ITEMS>] [--starting-token <STARTING_TOKEN>] [-v|--verbose] [--cluster-id <CLUSTER_ID>]",
            "key delete --filter <FILTER>... [--cluster-id <CLUSTER_ID>]",
            "key generate-symmetric aes --label <LABEL> --key-length-bytes <KEY_LENGTH_BYTES> [--attributes <ATTRIBUTES>...] [--share-crypto-users <SHARE_CRYPTO_USERS>...] [--cluster-id <CLUSTER_ID>]",
            "key share --filter <FILTER>... --username <USERNAME> --role <ROLE> [--cluster-id <CLUSTER_ID>]",
            "key unshare --filter <FILTER>... --username <USERNAME> --role <ROLE> [--cluster-id <CLUSTER_ID>]",
        ]
    );
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
    // Besides the command table's words and flags (below), values and
    // garbage.
    const VALUES: &[&str] = &[
        "help",
        "-h",
        "admin",
        "crypto-user",
        "kmsuser",
        "adminPass1",
        "kmsPassword1",
        "newPass123",
        "attr.label=x",
        "attr.id=0xA1B2C3D4E5F60718",
        "attr.key-length-bytes=32",
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
        "key list --filter attr.label=x attr.key-length-bytes=32 --max-items 1 --starting-token 1",
        "user change-password --username kmsuser --role crypto-user --password newPass123",
        "user change-password --username kmsuser --role crypto-user --password kmsPassword1",
        "user create --username bob2 --role crypto-user --password bobPassword1",
        "user delete --username bob2 --role crypto-user",
        "key delete --filter attr.id=0xa1b2c3d4e5f60718",
        "key generate-symmetric aes --label x --key-length-bytes 16 --attributes encrypt=true --share-crypto-users bob",
        "key share --filter attr.label=x --username bob --role crypto-user",
        "key unshare --filter attr.label=x --username bob --role crypto-user",
        "login --username admin --role admin",
        "cluster activate --password adminPass1",
    ];
    const CHARS: &[char] = &[
        'a', ' ', '-', '=', '"', '\'', '\\', '.', 'x', '0', '\n', '\t', 'ß',
    ];
    let mut words: Vec<String> = VALUES.iter().map(|w| (*w).to_owned()).collect();
    for spec in SPECS {
        words.extend(spec.words.iter().map(|w| (*w).to_owned()));
        for flag in spec.flags() {
            words.push(format!("--{}", flag.long));
            words.extend(flag.short.map(|s| format!("-{s}")));
        }
    }
    words.sort();
    words.dedup();
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut c = cluster();
    c.users
        .insert(User::new("bob", Role::CryptoUser, Some("bobPassword1")));
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
                line.push_str(&words[rng.below(words.len())]);
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

/// Runs `line` answering its prompts with `answers`.
fn answered(c: &mut Cluster, session: &str, line: &str, answers: &[&str]) -> Value {
    let answers: Vec<String> = answers.iter().map(|a| (*a).to_owned()).collect();
    super::run(c, &mut IdGen::new(7), session, line, &answers)
}

#[test]
fn lines_without_password_say_what_they_prompt_for() {
    assert_eq!(
        prompts("login --username admin --role admin"),
        [ENTER_PASSWORD]
    );
    assert_eq!(prompts(LOGIN_ADMIN), [] as [&str; 0]);
    for line in [
        "cluster activate",
        "user create --username alice --role crypto-user",
        "user change-password --username kmsuser --role crypto-user",
    ] {
        assert_eq!(prompts(line), [ENTER_PASSWORD, CONFIRM_PASSWORD], "{line}");
    }
    for line in [
        "user list",
        "logout",
        "key list",
        "login --bogus",
        "nonsense",
        "'",
    ] {
        assert!(prompts(line).is_empty(), "{line}");
    }
}

#[test]
fn prompted_passwords_log_in_and_must_be_confirmed() {
    let mut c = cluster();
    let v = answered(
        &mut c,
        "a",
        "login --username admin --role admin",
        &["adminPass1"],
    );
    assert_eq!(
        v,
        json!({"error_code": 0, "data": {"username": "admin", "role": "admin"}})
    );
    // Unanswered, a prompted line is refused, not run with no password.
    let v = run(&mut c, "b", "login --username kmsuser --role crypto-user");
    assert!(
        v["data"].as_str().unwrap().contains("Enter password:"),
        "{v}"
    );
    let line = "user change-password --username kmsuser --role crypto-user";
    let v = answered(&mut c, "a", line, &["newPass123", "newPass124"]);
    assert_eq!(
        v,
        json!({"error_code": 1, "data": "Passwords do not match"})
    );
    let v = answered(&mut c, "a", line, &["newPass123"]);
    assert!(v["data"].as_str().unwrap().contains("1 answer(s)"), "{v}");
    let v = answered(&mut c, "a", line, &["newPass123", "newPass123"]);
    assert_eq!(v["error_code"], 0, "{v}");
    // The new password is the one typed.
    ok(&mut c, "a", "logout");
    let v = answered(
        &mut c,
        "k",
        "login --username kmsuser --role crypto-user",
        &["newPass123"],
    );
    assert_eq!(v["error_code"], 0, "{v}");
    // Answers to a line that prompts for nothing are a caller's mistake.
    let v = answered(&mut c, "x", LOGIN_ADMIN, &["adminPass1"]);
    assert!(
        v["data"]
            .as_str()
            .unwrap()
            .contains("asks 0 password prompt(s)"),
        "{v}"
    );
}

#[test]
fn key_generate_share_unshare_and_owner_only_delete() {
    let mut c = cluster();
    c.users
        .insert(User::new("bob", Role::CryptoUser, Some("bobPassword1")));
    ok(&mut c, "k", LOGIN_KMSUSER);
    let data = ok(
        &mut c,
        "k",
        "key generate-symmetric aes --label drill-aes --key-length-bytes 24 --attributes encrypt=true decrypt=TRUE",
    );
    let key = &data["key"];
    assert_eq!(key["key-info"]["key-owners"][0]["username"], "kmsuser");
    assert_eq!(key["key-info"]["shared-users"], json!([]));
    let attrs = &key["attributes"];
    assert_eq!(attrs["label"], "drill-aes");
    assert_eq!(attrs["id"], "");
    assert_eq!(attrs["encrypt"], true);
    assert_eq!(attrs["decrypt"], true);
    assert_eq!(attrs["sign"], true);
    assert_eq!(attrs["wrap"], false);
    assert_eq!(attrs["key-length-bytes"], 24);
    let filter = "--filter attr.label=drill-aes";

    // Shared with bob: he sees it, may not delete, share or unshare it.
    let shared = ok(
        &mut c,
        "k",
        &format!("key share {filter} --username BOB --role crypto-user"),
    );
    assert_eq!(shared, json!({"message": "Key shared successfully"}));
    assert!(err(
        &mut c,
        "k",
        &format!("key share {filter} --username bob --role crypto-user")
    )
    .contains("already shared"));
    ok(&mut c, "b", LOGIN_BOB);
    let seen = ok(&mut c, "b", &format!("key list {filter} --verbose"));
    assert_eq!(
        seen["matched_keys"][0]["key-info"]["shared-users"],
        json!([{"username": "bob", "key-coverage": "full"}])
    );
    let refused = err(&mut c, "b", &format!("key delete {filter}"));
    assert!(
        refused.starts_with("Only the key owner can delete this key"),
        "{refused}"
    );
    assert!(err(
        &mut c,
        "b",
        &format!("key unshare {filter} --username bob --role crypto-user")
    )
    .starts_with("Only the key owner can unshare"));

    // Unshared, bob no longer sees it; the owner deletes it.
    let unshared = ok(
        &mut c,
        "k",
        &format!("key unshare {filter} --username bob --role crypto-user"),
    );
    assert_eq!(unshared, json!({"message": "Key unshared successfully"}));
    assert_eq!(
        err(&mut c, "b", &format!("key delete {filter}")),
        "No keys matched the filter"
    );
    ok(&mut c, "k", &format!("key delete {filter}"));
    assert_eq!(c.keys.len(), 1);
}

#[test]
fn key_generate_checks_its_arguments() {
    let mut c = cluster();
    ok(&mut c, "a", LOGIN_ADMIN);
    let line = "key generate-symmetric aes --label x --key-length-bytes 32";
    assert!(err(&mut c, "a", line).contains("Only a crypto user can generate keys"));
    ok(&mut c, "k", LOGIN_KMSUSER);
    for (bad, says) in [
        ("--label x --key-length-bytes 20", "16, 24 or 32"),
        (
            "--label x --key-length-bytes 32 --attributes sign",
            "KEY_ATTRIBUTE_NAME",
        ),
        (
            "--label x --key-length-bytes 32 --attributes label=y",
            "cannot be set",
        ),
        (
            "--label x --key-length-bytes 32 --attributes sign=yes",
            "true or false",
        ),
        (
            "--label x --key-length-bytes 32 --share-crypto-users nobody",
            "not found",
        ),
        (
            "--label x --key-length-bytes 32 --share-crypto-users admin",
            "not found",
        ),
        (
            "--label x --key-length-bytes 32 --share-crypto-users kmsuser",
            "owns this key",
        ),
        ("--key-length-bytes 32", "'--label <LABEL>'"),
    ] {
        let m = err(&mut c, "k", &format!("key generate-symmetric aes {bad}"));
        assert!(m.contains(says), "{bad}: {m}");
    }
    let long = "x".repeat(128);
    assert!(err(
        &mut c,
        "k",
        &format!("key generate-symmetric aes --label {long} --key-length-bytes 16")
    )
    .contains("at most 127"));
    assert!(err(&mut c, "k", "key generate-symmetric").contains("expected one of: aes"));
    assert!(
        err(&mut c, "k", "key generate-symmetric rsa").contains("unrecognized subcommand 'rsa'")
    );
    // The same seed makes the same key: the check value is deterministic.
    let a = ok(
        &mut c,
        "k",
        "key generate-symmetric aes --label a --key-length-bytes 32",
    );
    let mut d = cluster();
    ok(&mut d, "k", LOGIN_KMSUSER);
    let b = ok(
        &mut d,
        "k",
        "key generate-symmetric aes --label a --key-length-bytes 32",
    );
    assert_eq!(
        a["key"]["attributes"]["check-value"],
        b["key"]["attributes"]["check-value"]
    );
}

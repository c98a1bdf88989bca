//! The phrases themselves: for each, its human form, the runbook statements
//! it stands for, an example, and the small function that writes those
//! statements from the step's arguments. `docs/gherkin-steps.md` is the same
//! table in prose; keep them in step.
//!
//! A builder only writes runbook text (through [`super::text`], which types
//! and quotes arguments as the runbook language does); parsing, checking and
//! lowering are the runbook front end's.

use super::catalog::{translate, Args, TranslateError};
use super::text::{self, ciphertext, key, member, name, string, subject_store, value, var_name};

/// Writes the statements a phrase stands for, or says what does not fit.
pub(crate) type Build = fn(&mut Args<'_>) -> Result<Vec<String>, String>;

/// What a step may carry besides its text.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) enum Takes {
    /// Nothing.
    Nothing,
    /// A data table.
    Table,
    /// A doc string.
    DocString,
    /// A data table or a doc string.
    TableOrDocString,
    /// Whatever the phrase it wraps takes (`I repeat 3 times: PHRASE`).
    Passed,
}

impl Takes {
    /// Whether a step with (or without) a table and a doc string fits.
    pub(crate) fn check(self, pattern: &str, table: bool, doc: bool) -> Result<(), String> {
        let what = match (self, table, doc) {
            (_, true, true) => "a data table or a doc string, not both",
            (Takes::Nothing, true, false) => "no data table",
            (Takes::Nothing, false, true) => "no doc string",
            (Takes::Table, false, true) => "a data table, not a doc string",
            (Takes::Table, false, false) => "a data table",
            (Takes::DocString, true, false) => "a doc string, not a data table",
            (Takes::DocString, false, false) => "a doc string",
            (Takes::TableOrDocString, false, false) => "a data table or a doc string",
            (Takes::Nothing, false, false)
            | (Takes::Table, true, false)
            | (Takes::DocString, false, true)
            | (Takes::TableOrDocString, _, _)
            | (Takes::Passed, _, _) => return Ok(()),
        };
        Err(format!("`{pattern}` takes {what}"))
    }
}

/// One row of the catalog.
pub(crate) struct Entry {
    pub pattern: &'static str,
    pub help: &'static str,
    pub example: &'static str,
    pub takes: Takes,
    pub build: Build,
}

const fn e(
    pattern: &'static str,
    help: &'static str,
    example: &'static str,
    takes: Takes,
    build: Build,
) -> Entry {
    Entry {
        pattern,
        help,
        example,
        takes,
        build,
    }
}

use Takes::{DocString, Nothing, Passed, Table, TableOrDocString};

/// Every phrase, in the order of `docs/gherkin-steps.md`.
pub(crate) const ENTRIES: &[Entry] = &[
    // --- Setup --------------------------------------------------------------
    e(
        r#"the world "FILE""#,
        r#"world "FILE" (relative to the feature file)"#,
        r#"the world "worlds/example.yaml""#,
        Nothing,
        |a| one(format!("world {}", string(a.arg(0)))),
    ),
    e(
        "the world:",
        r#"world """ … """ (the doc string is the YAML)"#,
        "the world:",
        DocString,
        |a| {
            let yaml = a.docstring.unwrap_or("");
            one(format!("world \"\"\"\n{yaml}\n\"\"\""))
        },
    ),
    // --- Key stores ---------------------------------------------------------
    e(
        r#"I connect the custom key store "S""#,
        "connect S",
        r#"I connect the custom key store "ExampleKeyStore""#,
        Nothing,
        |a| one(format!("connect {}", name(&a.store_arg(0)))),
    ),
    e(
        r#"I reconnect the custom key store "S""#,
        "connect S",
        r#"I reconnect the custom key store "ExampleKeyStore""#,
        Nothing,
        |a| one(format!("connect {}", name(&a.store_arg(0)))),
    ),
    e(
        r#"I disconnect the custom key store "S""#,
        "disconnect S",
        r#"I disconnect the custom key store "ExampleKeyStore""#,
        Nothing,
        |a| one(format!("disconnect {}", name(&a.store_arg(0)))),
    ),
    e(
        r#"I tell the custom key store "S" that the kmsuser password is "P""#,
        r#"call UpdateCustomKeyStore { CustomKeyStoreId: $S, KeyStorePassword: "P" }"#,
        r#"I tell the custom key store "ExampleKeyStore" that the kmsuser password is "newPass123""#,
        Nothing,
        |a| {
            let store = a.store_arg(0);
            one(format!(
                "call UpdateCustomKeyStore {{ CustomKeyStoreId: {}, KeyStorePassword: {} }}",
                text::store_id(&store),
                string(a.arg(1))
            ))
        },
    ),
    // --- Time ---------------------------------------------------------------
    e(
        "the connection attempt completes",
        "settle",
        "the connection attempt completes",
        Nothing,
        |_| one("settle".into()),
    ),
    e(
        "pending work settles",
        "settle",
        "pending work settles",
        Nothing,
        |_| one("settle".into()),
    ),
    e(
        "I wait {n} {unit}",
        "wait n unit",
        "I wait 7 days",
        Nothing,
        |a| one(format!("wait {} {}", a.arg(0), a.arg(1))),
    ),
    // --- Calls --------------------------------------------------------------
    e(
        "I call {Operation}",
        "call Operation",
        "I call DescribeCustomKeyStores",
        Nothing,
        |a| one(format!("call {}", a.arg(0))),
    ),
    e(
        "I call {Operation} with:",
        "call Operation { Member: Value, … } (a table `| Member | Value |`, or a doc string holding the object)",
        "I call CreateKey with:",
        TableOrDocString,
        |a| {
            let op = a.arg(0).to_owned();
            match (a.table, a.docstring) {
                (Some(rows), _) => {
                    let members = pairs(rows, ("member", "value"))?
                        .into_iter()
                        .map(|(m, v)| format!("{}: {}", member(&m), value(&v)))
                        .collect::<Vec<_>>();
                    if members.is_empty() {
                        one(format!("call {op}"))
                    } else {
                        one(format!("call {op} {{ {} }}", members.join(", ")))
                    }
                }
                (None, Some(doc)) if doc.trim_start().starts_with('{') => {
                    one(format!("call {op} {}", doc.trim()))
                }
                (None, Some(doc)) => one(format!("call {op} {{\n{doc}\n}}")),
                (None, None) => Err("the call needs a data table or a doc string".into()),
            }
        },
    ),
    e(
        r#"I encrypt "TEXT" with "KEY""#,
        r#"encrypt "TEXT" with KEY"#,
        r#"I encrypt "hello" with "alias/app""#,
        Nothing,
        |a| one(format!("encrypt {} with {}", string(a.arg(0)), key(a.arg(1)))),
    ),
    e(
        r#"I encrypt "TEXT" with "KEY" as "NAME""#,
        r#"encrypt "TEXT" with KEY -> NAME"#,
        r#"I encrypt "hello" with "alias/app" as "ct""#,
        Nothing,
        |a| {
            one(format!(
                "encrypt {} with {} -> {}",
                string(a.arg(0)),
                key(a.arg(1)),
                var_name(a.arg(2))
            ))
        },
    ),
    e(
        r#"I decrypt "$NAME""#,
        "decrypt $NAME",
        r#"I decrypt "$ct""#,
        Nothing,
        |a| one(format!("decrypt {}", ciphertext(a.arg(0)))),
    ),
    e(
        r#"I decrypt "$NAME" as "PLAIN""#,
        "decrypt $NAME -> PLAIN",
        r#"I decrypt "$ct" as "pt""#,
        Nothing,
        |a| {
            one(format!(
                "decrypt {} -> {}",
                ciphertext(a.arg(0)),
                var_name(a.arg(1))
            ))
        },
    ),
    // --- CloudHSM CLI -------------------------------------------------------
    e(
        r#"I run "LINE" on cluster "C""#,
        "cloudhsm C: LINE",
        r#"I run "user list" on cluster "cluster-1a23b4cdefg""#,
        Nothing,
        |a| one(format!("cloudhsm {}: {}", name(a.arg(1)), a.arg(0))),
    ),
    e(
        r#"I run "LINE" on cluster "C" as "SESSION""#,
        "cloudhsm C as SESSION: LINE",
        r#"I run "logout" on cluster "cluster-1a23b4cdefg" as "admin""#,
        Nothing,
        |a| {
            one(format!(
                "cloudhsm {} as {}: {}",
                name(a.arg(1)),
                name(a.arg(2)),
                a.arg(0)
            ))
        },
    ),
    e(
        r#"kmsuser is locked out of cluster "C""#,
        "repeat 5: cloudhsm C as intruder: login --username kmsuser --role crypto-user --password wrongPass1 => error",
        r#"kmsuser is locked out of cluster "cluster-1a23b4cdefg""#,
        Nothing,
        |a| {
            one(format!(
                "repeat 5: cloudhsm {} as intruder: login --username kmsuser --role crypto-user --password wrongPass1 => error",
                name(a.arg(0))
            ))
        },
    ),
    e(
        r#"an admin sets kmsuser's password on cluster "C" to "P""#,
        "cloudhsm C as admin: login --username admin --role admin --password adminPassword1; cloudhsm C as admin: user change-password --username kmsuser --role crypto-user --password P; cloudhsm C as admin: logout",
        r#"an admin sets kmsuser's password on cluster "cluster-1a23b4cdefg" to "newPass123""#,
        Nothing,
        |a| {
            let c = name(a.arg(0));
            Ok(vec![
                format!("cloudhsm {c} as admin: login --username admin --role admin --password adminPassword1"),
                format!(
                    "cloudhsm {c} as admin: user change-password --username kmsuser --role crypto-user --password {}",
                    a.arg(1)
                ),
                format!("cloudhsm {c} as admin: logout"),
            ])
        },
    ),
    // --- Faults -------------------------------------------------------------
    e(
        r#"the network to cluster "C" is blocked"#,
        "block network to C",
        r#"the network to cluster "cluster-1a23b4cdefg" is blocked"#,
        Nothing,
        |a| one(format!("block network to {}", name(a.arg(0)))),
    ),
    e(
        r#"the network to cluster "C" is restored"#,
        "unblock network to C",
        r#"the network to cluster "cluster-1a23b4cdefg" is restored"#,
        Nothing,
        |a| one(format!("unblock network to {}", name(a.arg(0)))),
    ),
    e(
        r#"the network to cluster "C" drops the next {n} calls"#,
        "flaky network to C for n calls",
        r#"the network to cluster "cluster-1a23b4cdefg" drops the next 2 calls"#,
        Nothing,
        |a| {
            one(format!(
                "flaky network to {} for {} calls",
                name(a.arg(0)),
                a.arg(1)
            ))
        },
    ),
    e(
        r#"the security group of cluster "C" is broken"#,
        "break security group of C",
        r#"the security group of cluster "cluster-1a23b4cdefg" is broken"#,
        Nothing,
        |a| one(format!("break security group of {}", name(a.arg(0)))),
    ),
    e(
        r#"the security group of cluster "C" is mended"#,
        "mend security group of C",
        r#"the security group of cluster "cluster-1a23b4cdefg" is mended"#,
        Nothing,
        |a| one(format!("mend security group of {}", name(a.arg(0)))),
    ),
    e(
        r#"every HSM of cluster "C" is deleted"#,
        "delete all hsms of C",
        r#"every HSM of cluster "cluster-1a23b4cdefg" is deleted"#,
        Nothing,
        |a| one(format!("delete all hsms of {}", name(a.arg(0)))),
    ),
    e(
        r#"HSM "H" of cluster "C" is deleted"#,
        "delete hsm H of C",
        r#"HSM "$first_hsm" of cluster "cluster-1a23b4cdefg" is deleted"#,
        Nothing,
        |a| {
            one(format!(
                "delete hsm {} of {}",
                name(a.arg(0)),
                name(a.arg(1))
            ))
        },
    ),
    e(
        r#"cluster "C" is deleted"#,
        "delete cluster C",
        r#"cluster "cluster-1a23b4cdefg" is deleted"#,
        Nothing,
        |a| one(format!("delete cluster {}", name(a.arg(0)))),
    ),
    e(
        r#"subnet "S" is deleted"#,
        "delete subnet S",
        r#"subnet "subnet-0123abcd01" is deleted"#,
        Nothing,
        |a| one(format!("delete subnet {}", name(a.arg(0)))),
    ),
    e(
        r#"subnet "S" has {n} free addresses"#,
        "set free addresses of S to n",
        r#"subnet "subnet-0123abcd01" has 0 free addresses"#,
        Nothing,
        |a| {
            one(format!(
                "set free addresses of {} to {}",
                name(a.arg(0)),
                a.arg(1)
            ))
        },
    ),
    e(
        r#"the PKCS #11 sessions of cluster "C" are exhausted"#,
        "exhaust sessions of C",
        r#"the PKCS #11 sessions of cluster "cluster-1a23b4cdefg" are exhausted"#,
        Nothing,
        |a| one(format!("exhaust sessions of {}", name(a.arg(0)))),
    ),
    e(
        r#"the PKCS #11 sessions of cluster "C" are released"#,
        "release sessions of C",
        r#"the PKCS #11 sessions of cluster "cluster-1a23b4cdefg" are released"#,
        Nothing,
        |a| one(format!("release sessions of {}", name(a.arg(0)))),
    ),
    e(
        r#"the next {n} connects to cluster "C" fail internally"#,
        "fail next n connects to C",
        r#"the next 2 connects to cluster "cluster-1a23b4cdefg" fail internally"#,
        Nothing,
        |a| {
            one(format!(
                "fail next {} connects to {}",
                a.arg(0),
                name(a.arg(1))
            ))
        },
    ),
    e(
        r#"I take a backup of cluster "C""#,
        "backup C",
        r#"I take a backup of cluster "cluster-1a23b4cdefg""#,
        Nothing,
        |a| one(format!("backup {}", name(a.arg(0)))),
    ),
    e(
        r#"I take a backup of cluster "C" as "NAME""#,
        "backup C -> NAME",
        r#"I take a backup of cluster "cluster-1a23b4cdefg" as "b""#,
        Nothing,
        |a| one(format!("backup {} -> {}", name(a.arg(0)), var_name(a.arg(1)))),
    ),
    // --- Key store expectations ----------------------------------------------
    e(
        r#"the ConnectionState of "S" is {STATE}"#,
        "expect S.ConnectionState == STATE",
        r#"the ConnectionState of "ExampleKeyStore" is CONNECTED"#,
        Nothing,
        |a| {
            let s = a.store_arg(0);
            one(format!(
                "expect {}.ConnectionState == {}",
                subject_store(&s),
                a.arg(1)
            ))
        },
    ),
    e(
        "the ConnectionState is {STATE}",
        "expect S.ConnectionState == STATE (S: the store named last)",
        "the ConnectionState is FAILED",
        Nothing,
        |a| {
            let s = a.current_store()?;
            one(format!(
                "expect {}.ConnectionState == {}",
                subject_store(&s),
                a.arg(0)
            ))
        },
    ),
    e(
        r#"the ConnectionErrorCode of "S" is {CODE}"#,
        "expect S.ConnectionErrorCode == CODE",
        r#"the ConnectionErrorCode of "ExampleKeyStore" is USER_LOCKED_OUT"#,
        Nothing,
        |a| {
            let s = a.store_arg(0);
            one(format!(
                "expect {}.ConnectionErrorCode == {}",
                subject_store(&s),
                a.arg(1)
            ))
        },
    ),
    e(
        "the ConnectionErrorCode is {CODE}",
        "expect S.ConnectionErrorCode == CODE (S: the store named last)",
        "the ConnectionErrorCode is INVALID_CREDENTIALS",
        Nothing,
        error_code_of_current_store,
    ),
    e(
        "ConnectionErrorCode is {CODE}",
        "expect S.ConnectionErrorCode == CODE (S: the store named last)",
        "ConnectionErrorCode is NETWORK_ERRORS",
        Nothing,
        error_code_of_current_store,
    ),
    e(
        r#""S" has no ConnectionErrorCode"#,
        "expect S.ConnectionErrorCode is absent",
        r#""ExampleKeyStore" has no ConnectionErrorCode"#,
        Nothing,
        |a| {
            let s = a.store_arg(0);
            one(format!(
                "expect {}.ConnectionErrorCode is absent",
                subject_store(&s)
            ))
        },
    ),
    e(
        "there is no ConnectionErrorCode",
        "expect S.ConnectionErrorCode is absent (S: the store named last)",
        "there is no ConnectionErrorCode",
        Nothing,
        |a| {
            let s = a.current_store()?;
            one(format!(
                "expect {}.ConnectionErrorCode is absent",
                subject_store(&s)
            ))
        },
    ),
    e(
        r#"the KeyState of "KEY" is {KEYSTATE}"#,
        "expect key KEY.KeyState == KEYSTATE",
        r#"the KeyState of "alias/app" is Unavailable"#,
        Nothing,
        |a| {
            one(format!(
                "expect key {}.KeyState == {}",
                key(a.arg(0)),
                a.arg(1)
            ))
        },
    ),
    // --- Outcomes -----------------------------------------------------------
    e(
        "it succeeds",
        "expect ok",
        "it succeeds",
        Nothing,
        |_| one("expect ok".into()),
    ),
    e(
        "it fails with {Exception}",
        "expect error Exception",
        "it fails with KMSInvalidStateException",
        Nothing,
        |a| one(format!("expect error {}", a.arg(0))),
    ),
    e(
        r#"it fails with {Exception} "TEXT""#,
        r#"expect error Exception "TEXT""#,
        r#"it fails with KMSInvalidStateException "is unavailable.""#,
        Nothing,
        |a| one(format!("expect error {} {}", a.arg(0), string(a.arg(1)))),
    ),
    e(
        "the CloudHSM CLI reports an error",
        "expect cli error",
        "the CloudHSM CLI reports an error",
        Nothing,
        |_| one("expect cli error".into()),
    ),
    e(
        r#"the CloudHSM CLI reports an error containing "TEXT""#,
        r#"expect cli error "TEXT""#,
        r#"the CloudHSM CLI reports an error containing "Only a crypto user""#,
        Nothing,
        |a| one(format!("expect cli error {}", string(a.arg(0)))),
    ),
    e(
        r#"encrypting with "KEY" fails with {Exception}"#,
        r#"encrypt "probe" with KEY => error Exception"#,
        r#"encrypting with "alias/app" fails with KMSInvalidStateException"#,
        Nothing,
        |a| {
            one(format!(
                "encrypt \"probe\" with {} => error {}",
                key(a.arg(0)),
                a.arg(1)
            ))
        },
    ),
    e(
        r#"encrypting with "KEY" fails with {Exception} "TEXT""#,
        r#"encrypt "probe" with KEY => error Exception "TEXT""#,
        r#"encrypting with "alias/app" fails with KMSInvalidStateException "communicate""#,
        Nothing,
        |a| {
            one(format!(
                "encrypt \"probe\" with {} => error {} {}",
                key(a.arg(0)),
                a.arg(1),
                string(a.arg(2))
            ))
        },
    ),
    e(
        r#""$NAME" decrypts to "TEXT""#,
        r#"expect decrypt $NAME == "TEXT""#,
        r#""$ct" decrypts to "hello""#,
        Nothing,
        |a| {
            one(format!(
                "expect decrypt {} == {}",
                ciphertext(a.arg(0)),
                string(a.arg(1))
            ))
        },
    ),
    // --- Members of the last response, a store, a key, a trail event ---------
    e(
        r#"the response has "PATH" equal to "VALUE""#,
        "expect .PATH == VALUE",
        r#"the response has "Clusters[0].State" equal to "ACTIVE""#,
        Nothing,
        |a| field(a, Of::Response, Cmp::Equals),
    ),
    e(
        r#"the response has "PATH" equal to the text "TEXT""#,
        r#"expect .PATH == "TEXT""#,
        r#"the response has "data.users[1].locked" equal to the text "true""#,
        Nothing,
        |a| field(a, Of::Response, Cmp::EqualsText),
    ),
    e(
        r#"the response has "PATH" not equal to "VALUE""#,
        "expect .PATH != VALUE",
        r#"the response has "Clusters[0].State" not equal to "DELETED""#,
        Nothing,
        |a| field(a, Of::Response, Cmp::NotEquals),
    ),
    e(
        r#"the response has "PATH" containing "TEXT""#,
        r#"expect .PATH contains "TEXT""#,
        r#"the response has "Clusters[0].ClusterId" containing "cluster-""#,
        Nothing,
        |a| field(a, Of::Response, Cmp::Contains),
    ),
    e(
        r#"the response has "PATH""#,
        "expect .PATH is present",
        r#"the response has "Clusters[0].Hsms""#,
        Nothing,
        |a| field(a, Of::Response, Cmp::Present),
    ),
    e(
        r#"the response has no "PATH""#,
        "expect .PATH is absent",
        r#"the response has no "NextMarker""#,
        Nothing,
        |a| field(a, Of::Response, Cmp::Absent),
    ),
    e(
        r#"the custom key store "S" has "PATH" equal to "VALUE""#,
        "expect S.PATH == VALUE",
        r#"the custom key store "ExampleKeyStore" has "CloudHsmClusterId" equal to "$newCluster""#,
        Nothing,
        |a| field(a, Of::Store, Cmp::Equals),
    ),
    e(
        r#"the custom key store "S" has "PATH" equal to the text "TEXT""#,
        r#"expect S.PATH == "TEXT""#,
        r#"the custom key store "ExampleKeyStore" has "CustomKeyStoreName" equal to the text "ExampleKeyStore""#,
        Nothing,
        |a| field(a, Of::Store, Cmp::EqualsText),
    ),
    e(
        r#"the custom key store "S" has "PATH" not equal to "VALUE""#,
        "expect S.PATH != VALUE",
        r#"the custom key store "ExampleKeyStore" has "CloudHsmClusterId" not equal to "cluster-1a23b4cdefg""#,
        Nothing,
        |a| field(a, Of::Store, Cmp::NotEquals),
    ),
    e(
        r#"the custom key store "S" has "PATH" containing "TEXT""#,
        r#"expect S.PATH contains "TEXT""#,
        r#"the custom key store "ExampleKeyStore" has "TrustAnchorCertificate" containing "BEGIN CERTIFICATE""#,
        Nothing,
        |a| field(a, Of::Store, Cmp::Contains),
    ),
    e(
        r#"the custom key store "S" has "PATH""#,
        "expect S.PATH is present",
        r#"the custom key store "ExampleKeyStore" has "CreationDate""#,
        Nothing,
        |a| field(a, Of::Store, Cmp::Present),
    ),
    e(
        r#"the custom key store "S" has no "PATH""#,
        "expect S.PATH is absent",
        r#"the custom key store "ExampleKeyStore" has no "ConnectionErrorCode""#,
        Nothing,
        |a| field(a, Of::Store, Cmp::Absent),
    ),
    e(
        r#"the key "KEY" has "PATH" equal to "VALUE""#,
        "expect key KEY.PATH == VALUE",
        r#"the key "alias/app" has "CloudHsmClusterId" equal to "$newCluster""#,
        Nothing,
        |a| field(a, Of::Key, Cmp::Equals),
    ),
    e(
        r#"the key "KEY" has "PATH" equal to the text "TEXT""#,
        r#"expect key KEY.PATH == "TEXT""#,
        r#"the key "alias/app" has "Description" equal to the text "app key""#,
        Nothing,
        |a| field(a, Of::Key, Cmp::EqualsText),
    ),
    e(
        r#"the key "KEY" has "PATH" not equal to "VALUE""#,
        "expect key KEY.PATH != VALUE",
        r#"the key "alias/app" has "KeyState" not equal to "Unavailable""#,
        Nothing,
        |a| field(a, Of::Key, Cmp::NotEquals),
    ),
    e(
        r#"the key "KEY" has "PATH" containing "TEXT""#,
        r#"expect key KEY.PATH contains "TEXT""#,
        r#"the key "alias/app" has "Arn" containing ":key/""#,
        Nothing,
        |a| field(a, Of::Key, Cmp::Contains),
    ),
    e(
        r#"the key "KEY" has "PATH""#,
        "expect key KEY.PATH is present",
        r#"the key "alias/app" has "DeletionDate""#,
        Nothing,
        |a| field(a, Of::Key, Cmp::Present),
    ),
    e(
        r#"the key "KEY" has no "PATH""#,
        "expect key KEY.PATH is absent",
        r#"the key "alias/app" has no "DeletionDate""#,
        Nothing,
        |a| field(a, Of::Key, Cmp::Absent),
    ),
    e(
        r#"the {Event} event has "PATH" equal to "VALUE""#,
        "expect trail Event.PATH == VALUE",
        r#"the UpdateCustomKeyStore event has "requestParameters.clusterId" equal to "$newCluster""#,
        Nothing,
        |a| field(a, Of::Event, Cmp::Equals),
    ),
    e(
        r#"the {Event} event has "PATH" equal to the text "TEXT""#,
        r#"expect trail Event.PATH == "TEXT""#,
        r#"the DeleteKey event has "eventSource" equal to the text "kms.amazonaws.com""#,
        Nothing,
        |a| field(a, Of::Event, Cmp::EqualsText),
    ),
    e(
        r#"the {Event} event has "PATH" not equal to "VALUE""#,
        "expect trail Event.PATH != VALUE",
        r#"the DeleteKey event has "errorCode" not equal to "KMSInternalException""#,
        Nothing,
        |a| field(a, Of::Event, Cmp::NotEquals),
    ),
    e(
        r#"the {Event} event has "PATH" containing "TEXT""#,
        r#"expect trail Event.PATH contains "TEXT""#,
        r#"the Encrypt event has "additionalEventData.customKeyStoreId" containing "cks-""#,
        Nothing,
        |a| field(a, Of::Event, Cmp::Contains),
    ),
    e(
        r#"the {Event} event has "PATH""#,
        "expect trail Event.PATH is present",
        r#"the CreateKey event has "additionalEventData.backingKey""#,
        Nothing,
        |a| field(a, Of::Event, Cmp::Present),
    ),
    e(
        r#"the {Event} event has no "PATH""#,
        "expect trail Event.PATH is absent",
        r#"the DeleteKey event has no "errorCode""#,
        Nothing,
        |a| field(a, Of::Event, Cmp::Absent),
    ),
    e(
        "the {Event} event has:",
        "expect trail Event { path: value, … } (a table `| Path | Value |`: some event of this name has them all)",
        "the DeleteKey event has:",
        Table,
        |a| {
            let rows = a.table.unwrap_or(&[]);
            let members = pairs(rows, ("path", "value"))?
                .into_iter()
                .map(|(p, v)| format!("{}: {}", p.trim().trim_start_matches('.'), value(&v)))
                .collect::<Vec<_>>();
            if members.is_empty() {
                return Err("the table lists no member".into());
            }
            one(format!(
                "expect trail {} {{ {} }}",
                a.arg(0),
                members.join(", ")
            ))
        },
    ),
    e(
        "the {Event} event shows backingKeysDeletionStatus {STATUS}",
        "expect trail Event.additionalEventData.backingKeysDeletionStatus[0].deletionStatus == STATUS",
        "the DeleteKey event shows backingKeysDeletionStatus FAILURE",
        Nothing,
        |a| {
            one(format!(
                "expect trail {}.additionalEventData.backingKeysDeletionStatus[0].deletionStatus == {}",
                a.arg(0),
                a.arg(1)
            ))
        },
    ),
    // --- Captures -----------------------------------------------------------
    e(
        r#"I remember the backingKeyId as "NAME""#,
        "capture NAME = trail DeleteKey.additionalEventData.backingKeysDeletionStatus[0].backingKeyId",
        r#"I remember the backingKeyId as "backingKeyId""#,
        Nothing,
        |a| {
            one(format!(
                "capture {} = trail DeleteKey.additionalEventData.backingKeysDeletionStatus[0].backingKeyId",
                var_name(a.arg(0))
            ))
        },
    ),
    e(
        r#"I remember "PATH" of the response as "NAME""#,
        "capture NAME = .PATH",
        r#"I remember "Clusters[0].SubnetMapping."us-west-2a"" of the response as "subnetA""#,
        Nothing,
        |a| capture(a, Of::Response),
    ),
    e(
        r#"I remember "PATH" of the custom key store "S" as "NAME""#,
        "capture NAME = S.PATH",
        r#"I remember "CloudHsmClusterId" of the custom key store "ExampleKeyStore" as "cluster""#,
        Nothing,
        |a| capture(a, Of::Store),
    ),
    e(
        r#"I remember "PATH" of the key "KEY" as "NAME""#,
        "capture NAME = key KEY.PATH",
        r#"I remember "KeyId" of the key "alias/app" as "key_id""#,
        Nothing,
        |a| capture(a, Of::Key),
    ),
    e(
        r#"I remember "PATH" of the {Event} event as "NAME""#,
        "capture NAME = trail Event.PATH",
        r#"I remember "additionalEventData.backingKey.backingKeyId" of the CreateKey event as "backing""#,
        Nothing,
        |a| capture(a, Of::Event),
    ),
    // --- Control ------------------------------------------------------------
    e(
        "I repeat {n} times: PHRASE",
        "repeat n: STATEMENT",
        r#"I repeat 2 times: I disconnect the custom key store "ExampleKeyStore""#,
        Passed,
        |a| inline(a, format!("repeat {}", a.arg(0)), 1),
    ),
    e(
        "I repeat {n} times:",
        "repeat n { … } (the doc string holds the phrases, one a line)",
        "I repeat 2 times:",
        DocString,
        |a| block(a, format!("repeat {}", a.arg(0))),
    ),
    e(
        "I retry up to {n} times: PHRASE",
        "retry n: STATEMENT",
        "I retry up to 3 times: it succeeds",
        Passed,
        |a| inline(a, format!("retry {}", a.arg(0)), 1),
    ),
    e(
        "I retry up to {n} times:",
        "retry n { … } (the doc string holds the phrases, one a line)",
        "I retry up to 3 times:",
        DocString,
        |a| block(a, format!("retry {}", a.arg(0))),
    ),
    e(
        "I retry up to {n} times every {m} {unit}: PHRASE",
        "retry n every m unit: STATEMENT",
        "I retry up to 5 times every 1 second: the ConnectionState is CONNECTED",
        Passed,
        |a| {
            let head = format!("retry {} every {} {}", a.arg(0), a.arg(1), a.arg(2));
            inline(a, head, 3)
        },
    ),
    e(
        "I retry up to {n} times every {m} {unit}:",
        "retry n every m unit { … } (the doc string holds the phrases, one a line)",
        "I retry up to 5 times every 1 second:",
        DocString,
        |a| {
            let head = format!("retry {} every {} {}", a.arg(0), a.arg(1), a.arg(2));
            block(a, head)
        },
    ),
    e(
        "{n} clients at once: PHRASE",
        "burst n: STATEMENT",
        r#"64 clients at once: I encrypt "x" with "alias/app""#,
        Passed,
        |a| inline(a, format!("burst {}", a.arg(0)), 1),
    ),
    e(
        "{n} clients at once:",
        "burst n { … } (the doc string holds the phrases, one a line)",
        "64 clients at once:",
        DocString,
        |a| block(a, format!("burst {}", a.arg(0))),
    ),
    e(
        "{n} succeeded",
        "expect .Succeeded == n",
        "8 succeeded",
        Nothing,
        |a| one(format!("expect .Succeeded == {}", a.arg(0))),
    ),
    e(
        "{n} failed with {Exception}",
        "expect .Failed.Exception == n",
        "56 failed with KMSInternalException",
        Nothing,
        |a| one(format!("expect .Failed.{} == {}", a.arg(1), a.arg(0))),
    ),
];

fn one(statement: String) -> Result<Vec<String>, String> {
    Ok(vec![statement])
}

fn error_code_of_current_store(a: &mut Args<'_>) -> Result<Vec<String>, String> {
    let s = a.current_store()?;
    one(format!(
        "expect {}.ConnectionErrorCode == {}",
        subject_store(&s),
        a.arg(0)
    ))
}

/// What a member phrase looks at.
#[derive(Clone, Copy)]
enum Of {
    Response,
    Store,
    Key,
    Event,
}

/// How a member phrase compares.
#[derive(Clone, Copy)]
enum Cmp {
    Equals,
    EqualsText,
    NotEquals,
    Contains,
    Present,
    Absent,
}

/// The subject as the runbook writes it (`""`, `S`, `key K`, `trail E`),
/// and the index of the capture after it.
fn subject(a: &mut Args<'_>, of: Of) -> (String, usize) {
    match of {
        Of::Response => (String::new(), 0),
        Of::Store => {
            let s = a.store_arg(0);
            (subject_store(&s), 1)
        }
        Of::Key => (format!("key {}", key(a.arg(0))), 1),
        Of::Event => (format!("trail {}", a.arg(0)), 1),
    }
}

fn field(a: &mut Args<'_>, of: Of, cmp: Cmp) -> Result<Vec<String>, String> {
    let (subject, at) = subject(a, of);
    let path = text::path(a.arg(at));
    let expected = a.arg(at + 1);
    let comparison = match cmp {
        Cmp::Equals => format!("== {}", value(expected)),
        Cmp::EqualsText => format!("== {}", string(expected)),
        Cmp::NotEquals => format!("!= {}", value(expected)),
        Cmp::Contains => format!("contains {}", string(expected)),
        Cmp::Present => "is present".to_owned(),
        Cmp::Absent => "is absent".to_owned(),
    };
    one(format!("expect {subject}{path} {comparison}"))
}

/// `I remember "PATH" of … as "NAME"`: the path is the first capture, the
/// name the last.
fn capture(a: &mut Args<'_>, of: Of) -> Result<Vec<String>, String> {
    let path = text::path(a.arg(0));
    let last = a.caps.len().saturating_sub(1);
    let var = var_name(a.arg(last));
    // The subject's own capture comes after the path.
    let (subject, _) = match of {
        Of::Response => (String::new(), 0),
        Of::Store => {
            let s = a.arg(1).to_owned();
            *a.store = Some(s.clone());
            (subject_store(&s), 0)
        }
        Of::Key => (format!("key {}", key(a.arg(1))), 0),
        Of::Event => (format!("trail {}", a.arg(1)), 0),
    };
    one(format!("capture {var} = {subject}{path}"))
}

/// `head: STATEMENT` for one single-line statement, else `head { … }`.
fn control(head: &str, body: &[String]) -> String {
    match body {
        [only] if !only.contains('\n') => format!("{head}: {only}"),
        _ => format!("{head} {{\n{}\n}}", body.join("\n")),
    }
}

/// A control phrase whose body is the phrase in capture `at`; the step's
/// table or doc string goes to that phrase.
fn inline(a: &mut Args<'_>, head: String, at: usize) -> Result<Vec<String>, String> {
    let inner = a.arg(at).to_owned();
    let body =
        translate(&inner, a.table, a.docstring, a.store).map_err(|e| inner_error(&inner, &e))?;
    one(control(&head, &body))
}

/// A control phrase whose body is its doc string: one phrase a line (a
/// Gherkin keyword before it is allowed; blank lines and `#` comments are
/// skipped).
fn block(a: &mut Args<'_>, head: String) -> Result<Vec<String>, String> {
    let doc = a.docstring.unwrap_or("").to_owned();
    let mut body = Vec::new();
    for line in doc.lines() {
        let phrase = strip_keyword(line.trim());
        if phrase.is_empty() || phrase.starts_with('#') {
            continue;
        }
        body.extend(translate(phrase, None, None, a.store).map_err(|e| inner_error(phrase, &e))?);
    }
    if body.is_empty() {
        return Err("the doc string holds no step".into());
    }
    one(control(&head, &body))
}

fn inner_error(phrase: &str, e: &TranslateError) -> String {
    match e {
        TranslateError::Undefined { help: None } => format!("no step matches \"{phrase}\""),
        TranslateError::Undefined { help: Some(h) } => {
            format!("no step matches \"{phrase}\" ({h})")
        }
        TranslateError::Invalid { message } => message.clone(),
    }
}

/// A phrase without its Gherkin keyword, if it has one.
pub(crate) fn strip_keyword(line: &str) -> &str {
    for kw in ["Given ", "When ", "Then ", "And ", "But ", "* "] {
        if let Some(rest) = line.strip_prefix(kw) {
            return rest.trim_start();
        }
    }
    line
}

/// The rows of a two-column table, without a header row that names the
/// columns (`| Member | Value |`, `| Path | Value |`, any case).
fn pairs(rows: &[Vec<String>], header: (&str, &str)) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let [left, right] = row.as_slice() else {
            return Err(format!(
                "the table has {} columns; it needs two, `| {} | {} |`",
                row.len(),
                capitalized(header.0),
                capitalized(header.1)
            ));
        };
        let is_header =
            i == 0 && left.eq_ignore_ascii_case(header.0) && right.eq_ignore_ascii_case(header.1);
        if !is_header {
            out.push((left.clone(), right.clone()));
        }
    }
    Ok(out)
}

fn capitalized(word: &str) -> String {
    let mut c = word.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

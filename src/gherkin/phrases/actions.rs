//! Phrases that do something: the world, key stores, time, calls, the
//! CloudHSM CLI and faults.

use super::{cli, e, pairs, prompted_cli, Entry};
use crate::dsl::ast::{BlockKind, ExpectAst, Stmt, Tok, Val, ValKind};
use crate::engine::NetworkCondition;
use crate::gherkin::args::{typed, Args, Built};
use crate::gherkin::phrase::Takes::{DocString, Nothing, Table, TableOrDocString};
use crate::scenario::diagnostic::Diagnostic;
use crate::scenario::ir::Fault;

/// The phrases that act, in the order of `docs/gherkin-steps.md`.
pub(super) const ENTRIES: &[Entry] = &[
    // --- Setup --------------------------------------------------------------
    e(
        r#"the world "FILE""#,
        r#"world "FILE" (relative to the feature file)"#,
        r#"the world "worlds/example.yaml""#,
        Nothing,
        |a| a.one(Stmt::World(a.tok(0))),
    ),
    e(
        "the world:",
        r#"world """ … """ (the doc string is the YAML)"#,
        "the world:",
        DocString,
        |a| {
            let Some(doc) = a.doc else {
                return Err(a.invalid("the world needs a doc string"));
            };
            // As an inline world in a runbook: the common indentation
            // removed, each line without trailing blanks.
            let lines: Vec<&str> = doc.text.split('\n').collect();
            let common = lines
                .iter()
                .filter(|l| !l.trim().is_empty())
                .map(|l| l.len() - l.trim_start_matches([' ', '\t']).len())
                .min()
                .unwrap_or(0);
            let mut yaml = String::new();
            for l in &lines {
                yaml.push_str(l.get(common..).unwrap_or("").trim_end());
                yaml.push('\n');
            }
            let first_line = doc.lines.first().copied().unwrap_or(a.step.line);
            let first_offset = a.src.line_start(first_line);
            a.one(Stmt::WorldYaml {
                yaml,
                first_line,
                first_offset,
                indent: doc.indent + common,
            })
        },
    ),
    // --- Key stores ---------------------------------------------------------
    e(
        r#"I connect the custom key store "S""#,
        "connect S",
        r#"I connect the custom key store "ExampleKeyStore""#,
        Nothing,
        connect,
    ),
    e(
        r#"I reconnect the custom key store "S""#,
        "connect S",
        r#"I reconnect the custom key store "ExampleKeyStore""#,
        Nothing,
        connect,
    ),
    e(
        r#"I disconnect the custom key store "S""#,
        "disconnect S",
        r#"I disconnect the custom key store "ExampleKeyStore""#,
        Nothing,
        disconnect,
    ),
    e(
        r#"I tell the custom key store "S" that the kmsuser password is "P""#,
        r#"call UpdateCustomKeyStore { CustomKeyStoreId: $S, KeyStorePassword: "P" }"#,
        r#"I tell the custom key store "ExampleKeyStore" that the kmsuser password is "newPass123""#,
        Nothing,
        |a| {
            let store = a.store_tok(0);
            // The id `connect S` would send: an id or a variable as
            // written, else the variable the runner binds to the name.
            let id = if store.text.starts_with("cks-") || store.text.contains('$') {
                ValKind::Str(store.text.clone())
            } else if store.text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                ValKind::Var(format!("${}", store.text))
            } else {
                ValKind::Var(format!("${{{}}}", store.text))
            };
            let input = Val {
                span: a.step.clone(),
                kind: ValKind::Object(vec![
                    (
                        a.word("CustomKeyStoreId"),
                        Val {
                            span: store.span,
                            kind: id,
                        },
                    ),
                    (a.word("KeyStorePassword"), a.text_val(1)),
                ]),
            };
            a.one(Stmt::Call {
                op: a.word("UpdateCustomKeyStore"),
                input: Some(input),
            })
        },
    ),
    // --- Time ---------------------------------------------------------------
    e(
        "the connection attempt completes",
        "settle",
        "the connection attempt completes",
        Nothing,
        |a| a.one(Stmt::Settle),
    ),
    e(
        "pending work settles",
        "settle",
        "pending work settles",
        Nothing,
        |a| a.one(Stmt::Settle),
    ),
    e(
        "I wait {n} {unit}",
        "wait n unit",
        "I wait 7 days",
        Nothing,
        |a| {
            let d = a.duration(0, 1)?;
            a.one(Stmt::Wait(d))
        },
    ),
    // --- Calls --------------------------------------------------------------
    e(
        "I call {Operation}",
        "call Operation",
        "I call DescribeCustomKeyStores",
        Nothing,
        |a| {
            a.one(Stmt::Call {
                op: a.tok(0),
                input: None,
            })
        },
    ),
    e(
        "I call {Operation} with:",
        "call Operation { Member: Value, … } (a table `| Member | Value |`, or a doc string holding the object)",
        "I call CreateKey with:",
        TableOrDocString,
        |a| {
            let input = if a.table.is_some() {
                let mut members = Vec::new();
                for (m, v) in pairs(a, ("member", "value"))? {
                    let v = typed(a.src, &v)?;
                    members.push((m, v));
                }
                (!members.is_empty())
                    .then(|| a.object(members))
                    .transpose()?
            } else {
                Some(a.doc_object()?)
            };
            a.one(Stmt::Call { op: a.tok(0), input })
        },
    ),
    e(
        r#"in region "R" I call {Operation}"#,
        "in region R: call Operation",
        r#"in region "eu-west-1" I call DescribeBackups"#,
        Nothing,
        |a| {
            let call = a.item(Stmt::Call {
                op: a.tok(1),
                input: None,
            });
            a.one(in_region(a, call))
        },
    ),
    e(
        r#"in region "R" I call {Operation} with:"#,
        "in region R: call Operation { Member: Value, … } (a table or a doc string, as `I call {Operation} with:`)",
        r#"in region "eu-west-1" I call DescribeBackups with:"#,
        TableOrDocString,
        |a| {
            let input = if a.table.is_some() {
                let mut members = Vec::new();
                for (m, v) in pairs(a, ("member", "value"))? {
                    let v = typed(a.src, &v)?;
                    members.push((m, v));
                }
                (!members.is_empty())
                    .then(|| a.object(members))
                    .transpose()?
            } else {
                Some(a.doc_object()?)
            };
            let call = a.item(Stmt::Call {
                op: a.tok(1),
                input,
            });
            a.one(in_region(a, call))
        },
    ),
    e(
        r#"I encrypt "TEXT" with "KEY""#,
        r#"encrypt "TEXT" with KEY"#,
        r#"I encrypt "hello" with "alias/app""#,
        Nothing,
        |a| {
            a.one(Stmt::Encrypt {
                text: a.tok(0),
                key: a.tok(1),
                context: None,
            })
        },
    ),
    e(
        r#"I encrypt "TEXT" with "KEY" as "NAME""#,
        r#"encrypt "TEXT" with KEY -> NAME"#,
        r#"I encrypt "hello" with "alias/app" as "ct""#,
        Nothing,
        |a| {
            let mut item = a.item(Stmt::Encrypt {
                text: a.tok(0),
                key: a.tok(1),
                context: None,
            });
            item.capture = Some(a.var(2)?);
            Ok(Built::Items(vec![item]))
        },
    ),
    e(
        r#"I decrypt "$NAME""#,
        "decrypt $NAME",
        r#"I decrypt "$ct""#,
        Nothing,
        |a| {
            a.one(Stmt::Decrypt {
                blob: a.tok(0),
                context: None,
            })
        },
    ),
    e(
        r#"I decrypt "$NAME" as "PLAIN""#,
        "decrypt $NAME -> PLAIN",
        r#"I decrypt "$ct" as "pt""#,
        Nothing,
        |a| {
            let mut item = a.item(Stmt::Decrypt {
                blob: a.tok(0),
                context: None,
            });
            item.capture = Some(a.var(1)?);
            Ok(Built::Items(vec![item]))
        },
    ),
    e(
        r#"I tag the key "KEY" with:"#,
        "tag KEY { TagKey: TagValue, … } (a table `| TagKey | TagValue |`)",
        r#"I tag the key "alias/app" with:"#,
        Table,
        |a| {
            let mut members = Vec::new();
            for (k, v) in pairs(a, ("tagkey", "tagvalue"))? {
                let v = typed(a.src, &v)?;
                members.push((k, v));
            }
            a.one(Stmt::Tag {
                key: a.tok(0),
                tags: a.object(members)?,
            })
        },
    ),
    // --- CloudHSM CLI -------------------------------------------------------
    e(
        r#"I run "LINE" on cluster "C""#,
        "cloudhsm C: LINE",
        r#"I run "user list" on cluster "cluster-1a23b4cdefg""#,
        Nothing,
        |a| {
            let stmt = cli(a.tok(1), None, a.tok(0))?;
            a.one(stmt)
        },
    ),
    e(
        r#"I run "LINE" on cluster "C" as "SESSION""#,
        "cloudhsm C as SESSION: LINE",
        r#"I run "logout" on cluster "cluster-1a23b4cdefg" as "admin""#,
        Nothing,
        |a| {
            let stmt = cli(a.tok(1), Some(a.tok(2)), a.tok(0))?;
            a.one(stmt)
        },
    ),
    e(
        r#"I run "LINE" on cluster "C" and enter the password "P""#,
        "cloudhsm C: LINE; Enter password: P (and Confirm password: P where the CLI asks twice)",
        r#"I run "login --username admin --role admin" on cluster "cluster-1a23b4cdefg" and enter the password "adminPassword1""#,
        Nothing,
        |a| {
            let stmt = prompted_cli(a.tok(1), None, a.tok(0), a.tok(2), None)?;
            a.one(stmt)
        },
    ),
    e(
        r#"I run "LINE" on cluster "C" as "SESSION" and enter the password "P""#,
        "cloudhsm C as SESSION: LINE; Enter password: P (and Confirm password: P where the CLI asks twice)",
        r#"I run "login --username admin --role admin" on cluster "cluster-1a23b4cdefg" as "admin" and enter the password "adminPassword1""#,
        Nothing,
        |a| {
            let stmt = prompted_cli(a.tok(1), Some(a.tok(2)), a.tok(0), a.tok(3), None)?;
            a.one(stmt)
        },
    ),
    e(
        r#"I run "LINE" on cluster "C" as "SESSION" and enter the password "P" then confirm "Q""#,
        "cloudhsm C as SESSION: LINE; Enter password: P; Confirm password: Q",
        r#"I run "user change-password --username kmsuser --role crypto-user" on cluster "cluster-1a23b4cdefg" as "admin" and enter the password "knownPass1" then confirm "knownPass2""#,
        Nothing,
        |a| {
            let stmt = prompted_cli(a.tok(1), Some(a.tok(2)), a.tok(0), a.tok(3), Some(a.tok(4)))?;
            a.one(stmt)
        },
    ),
    e(
        r#"kmsuser is locked out of cluster "C""#,
        "repeat 5: cloudhsm C as intruder: login --username kmsuser --role crypto-user --password wrongPass1 => error",
        r#"kmsuser is locked out of cluster "cluster-1a23b4cdefg""#,
        Nothing,
        |a| {
            let line = a.word("login --username kmsuser --role crypto-user --password wrongPass1");
            let mut attempt = a.item(cli(a.tok(0), Some(a.word("intruder")), line)?);
            attempt.outcome = Some((ExpectAst::CliError { message: None }, a.step.clone()));
            let stmt = Stmt::Block {
                kind: BlockKind::Repeat((5, a.step.clone())),
                body: vec![attempt],
            };
            a.one(stmt)
        },
    ),
    e(
        r#"an admin sets kmsuser's password on cluster "C" to "P""#,
        "cloudhsm C as admin: login --username admin --role admin --password adminPassword1; cloudhsm C as admin: user change-password --username kmsuser --role crypto-user --password P; cloudhsm C as admin: logout",
        r#"an admin sets kmsuser's password on cluster "cluster-1a23b4cdefg" to "newPass123""#,
        Nothing,
        |a| {
            let as_admin = |line: String| -> Result<_, _> {
                Ok(a.item(cli(a.tok(0), Some(a.word("admin")), a.word(&line))?))
            };
            Ok(Built::Items(vec![
                as_admin("login --username admin --role admin --password adminPassword1".into())?,
                as_admin(format!(
                    "user change-password --username kmsuser --role crypto-user --password {}",
                    a.arg(1)
                ))?,
                as_admin("logout".into())?,
            ]))
        },
    ),
    // --- Faults -------------------------------------------------------------
    e(
        r#"the network to cluster "C" is blocked"#,
        "block network to C",
        r#"the network to cluster "cluster-1a23b4cdefg" is blocked"#,
        Nothing,
        |a| fault(a, &[0], |n| Fault::Network { cluster: n[0].clone(), condition: NetworkCondition::Blocked }),
    ),
    e(
        r#"the network to cluster "C" is restored"#,
        "unblock network to C",
        r#"the network to cluster "cluster-1a23b4cdefg" is restored"#,
        Nothing,
        |a| fault(a, &[0], |n| Fault::Network { cluster: n[0].clone(), condition: NetworkCondition::Ok }),
    ),
    e(
        r#"the network to cluster "C" drops the next {n} calls"#,
        "flaky network to C for n calls",
        r#"the network to cluster "cluster-1a23b4cdefg" drops the next 2 calls"#,
        Nothing,
        |a| {
            let (n, _) = a.count(1)?;
            fault(a, &[0], |c| Fault::Network { cluster: c[0].clone(), condition: NetworkCondition::Flaky(n) })
        },
    ),
    e(
        r#"the security group of cluster "C" is broken"#,
        "break security group of C",
        r#"the security group of cluster "cluster-1a23b4cdefg" is broken"#,
        Nothing,
        |a| fault(a, &[0], |n| Fault::SecurityGroup { cluster: n[0].clone(), ok: false }),
    ),
    e(
        r#"the security group of cluster "C" is mended"#,
        "mend security group of C",
        r#"the security group of cluster "cluster-1a23b4cdefg" is mended"#,
        Nothing,
        |a| fault(a, &[0], |n| Fault::SecurityGroup { cluster: n[0].clone(), ok: true }),
    ),
    e(
        r#"every HSM of cluster "C" is deleted"#,
        "delete all hsms of C",
        r#"every HSM of cluster "cluster-1a23b4cdefg" is deleted"#,
        Nothing,
        |a| fault(a, &[0], |n| Fault::DeleteHsm { cluster: n[0].clone(), hsm: None }),
    ),
    e(
        r#"HSM "H" of cluster "C" is deleted"#,
        "delete hsm H of C",
        r#"HSM "$first_hsm" of cluster "cluster-1a23b4cdefg" is deleted"#,
        Nothing,
        |a| fault(a, &[0, 1], |n| Fault::DeleteHsm { cluster: n[1].clone(), hsm: Some(n[0].clone()) }),
    ),
    e(
        r#"every HSM of cluster "C" is degraded"#,
        "degrade all hsms of C",
        r#"every HSM of cluster "cluster-1a23b4cdefg" is degraded"#,
        Nothing,
        |a| fault(a, &[0], |n| Fault::DegradeHsm { cluster: n[0].clone(), hsm: None }),
    ),
    e(
        r#"HSM "H" of cluster "C" is degraded"#,
        "degrade hsm H of C",
        r#"HSM "$first_hsm" of cluster "cluster-1a23b4cdefg" is degraded"#,
        Nothing,
        |a| fault(a, &[0, 1], |n| Fault::DegradeHsm { cluster: n[1].clone(), hsm: Some(n[0].clone()) }),
    ),
    e(
        r#"every HSM of cluster "C" is repaired"#,
        "repair all hsms of C",
        r#"every HSM of cluster "cluster-1a23b4cdefg" is repaired"#,
        Nothing,
        |a| fault(a, &[0], |n| Fault::RepairHsm { cluster: n[0].clone(), hsm: None }),
    ),
    e(
        r#"HSM "H" of cluster "C" is repaired"#,
        "repair hsm H of C",
        r#"HSM "$first_hsm" of cluster "cluster-1a23b4cdefg" is repaired"#,
        Nothing,
        |a| fault(a, &[0, 1], |n| Fault::RepairHsm { cluster: n[1].clone(), hsm: Some(n[0].clone()) }),
    ),
    e(
        r#"key material "K" is deleted from cluster "C""#,
        "delete key material K of C",
        r#"key material "0x${backingKeyId}" is deleted from cluster "cluster-1a23b4cdefg""#,
        Nothing,
        |a| fault(a, &[0, 1], |n| Fault::DeleteKeyMaterial { cluster: n[1].clone(), key: n[0].clone() }),
    ),
    e(
        r#"cluster "C" is deleted"#,
        "delete cluster C",
        r#"cluster "cluster-1a23b4cdefg" is deleted"#,
        Nothing,
        |a| fault(a, &[0], |n| Fault::DeleteCluster { cluster: n[0].clone() }),
    ),
    e(
        r#"subnet "S" is deleted"#,
        "delete subnet S",
        r#"subnet "subnet-0123abcd01" is deleted"#,
        Nothing,
        |a| fault(a, &[0], |n| Fault::DeleteSubnet { subnet: n[0].clone() }),
    ),
    e(
        r#"subnet "S" has {n} free addresses"#,
        "set free addresses of S to n",
        r#"subnet "subnet-0123abcd01" has 0 free addresses"#,
        Nothing,
        |a| {
            let (count, _) = a.count(1)?;
            fault(a, &[0], |n| Fault::FreeAddresses { subnet: n[0].clone(), count })
        },
    ),
    e(
        r#"the PKCS #11 sessions of cluster "C" are exhausted"#,
        "exhaust sessions of C",
        r#"the PKCS #11 sessions of cluster "cluster-1a23b4cdefg" are exhausted"#,
        Nothing,
        |a| fault(a, &[0], |n| Fault::ExhaustSessions { cluster: n[0].clone() }),
    ),
    e(
        r#"the PKCS #11 sessions of cluster "C" are released"#,
        "release sessions of C",
        r#"the PKCS #11 sessions of cluster "cluster-1a23b4cdefg" are released"#,
        Nothing,
        |a| fault(a, &[0], |n| Fault::ReleaseSessions { cluster: n[0].clone() }),
    ),
    e(
        r#"the next {n} connects to cluster "C" fail internally"#,
        "fail next n connects to C",
        r#"the next 2 connects to cluster "cluster-1a23b4cdefg" fail internally"#,
        Nothing,
        |a| {
            let (count, _) = a.count(0)?;
            fault(a, &[1], |n| Fault::InternalErrors { cluster: n[0].clone(), count })
        },
    ),
    e(
        r#"I take a backup of cluster "C""#,
        "backup C",
        r#"I take a backup of cluster "cluster-1a23b4cdefg""#,
        Nothing,
        |a| fault(a, &[0], |n| Fault::Backup { cluster: n[0].clone() }),
    ),
    e(
        r#"I take a backup of cluster "C" as "NAME""#,
        "backup C -> NAME",
        r#"I take a backup of cluster "cluster-1a23b4cdefg" as "b""#,
        Nothing,
        |a| {
            let name = a.var(1)?;
            let Built::Items(mut items) =
                fault(a, &[0], |n| Fault::Backup { cluster: n[0].clone() })?
            else {
                return Err(a.invalid("internal error: a backup is one statement"));
            };
            for item in &mut items {
                item.capture = Some(name.clone());
            }
            Ok(Built::Items(items))
        },
    ),
    e(
        r#"I sign the CSR of cluster "C" with the drill CA"#,
        "sign csr of C",
        r#"I sign the CSR of cluster "$c" with the drill CA"#,
        Nothing,
        |a| fault(a, &[0], |n| Fault::SignCsr { cluster: n[0].clone() }),
    ),
];

/// A fault on the names in these captures, in the order the runbook
/// statement writes them.
fn fault(
    a: &Args<'_, '_>,
    captures: &[usize],
    make: impl FnOnce(&[String]) -> Fault,
) -> Result<Built, Diagnostic> {
    let names: Vec<Tok> = captures.iter().map(|i| a.tok(*i)).collect();
    let texts: Vec<String> = names.iter().map(|t| t.text.clone()).collect();
    let fault = make(&texts);
    a.one(Stmt::Fault { fault, names })
}

fn connect(a: &mut Args<'_, '_>) -> Result<Built, Diagnostic> {
    let s = a.store_tok(0);
    a.one(Stmt::Connect(s))
}

fn disconnect(a: &mut Args<'_, '_>) -> Result<Built, Diagnostic> {
    let s = a.store_tok(0);
    a.one(Stmt::Disconnect(s))
}

/// `in region R: <item>`: the item acts in the Region of the phrase's first
/// argument.
fn in_region(a: &Args<'_, '_>, item: crate::dsl::ast::Item) -> Stmt {
    Stmt::Block {
        kind: BlockKind::Region((a.arg(0).to_owned(), a.tok(0).span)),
        body: vec![item],
    }
}

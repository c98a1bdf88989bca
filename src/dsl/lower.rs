//! From the checked syntax tree to the step IR. Lowering cannot fail: every
//! mistake was reported by the parser or the checks.
//!
//! A statement becomes one step, plus a generated `Expect` step for `=> …`
//! and a `Capture` step for `-> name`, in that order (a failed action stops
//! the scenario unless the very next step expects it). Generated steps reuse
//! the statement's span and text.

use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Map, Value};

use super::ast::{BlockKind, ExpectAst, Item, PathAst, Runbook, Stmt, SubjectAst, Tok, Val};
use crate::scenario::ir::{
    Action, Capture, Control, Expect, Fault, Operand, Path as IrPath, Scenario, ScenarioFile,
    Segment, Setup, Step, StepKind, Subject,
};

/// The member `-> name` captures after `call <Operation>`; other operations
/// capture their whole response. The same table is in
/// docs/runbook-language.md.
pub(crate) const NATURAL_OUTPUTS: &[(&str, &[&str])] = &[
    ("CreateKey", &["KeyMetadata", "KeyId"]),
    ("CreateCustomKeyStore", &["CustomKeyStoreId"]),
    ("CreateCluster", &["Cluster", "ClusterId"]),
    ("CreateHsm", &["Hsm", "HsmId"]),
    ("Encrypt", &["CiphertextBlob"]),
    ("GenerateDataKey", &["CiphertextBlob"]),
    ("GenerateDataKeyWithoutPlaintext", &["CiphertextBlob"]),
    ("ReEncrypt", &["CiphertextBlob"]),
    ("Decrypt", &["Plaintext"]),
    ("GenerateRandom", &["Plaintext"]),
];

/// The CLI session of a `cloudhsm` line without `as <session>`.
pub(crate) const DEFAULT_SESSION: &str = "default";

/// Lowers the runbooks of the file at `path`.
pub(crate) fn lower(runbooks: Vec<Runbook>, path: &Path) -> ScenarioFile {
    let dir = path.parent().unwrap_or(Path::new(""));
    ScenarioFile {
        path: path.to_path_buf(),
        scenarios: runbooks
            .into_iter()
            .map(|rb| Scenario {
                name: rb.title,
                tags: rb.tags,
                span: rb.span,
                steps: steps(&rb.items, dir),
            })
            .collect(),
    }
}

fn steps(items: &[Item], dir: &Path) -> Vec<Step> {
    let mut out = Vec::new();
    for item in items {
        lower_item(item, dir, &mut out);
    }
    out
}

fn lower_item(item: &Item, dir: &Path, out: &mut Vec<Step>) {
    let step = |kind: StepKind| Step {
        span: item.span.clone(),
        text: item.text.clone(),
        kind,
    };
    let action = |a: Action| step(StepKind::Action(a));
    let call = |operation: &str, input: Value| {
        action(Action::Call {
            operation: operation.to_owned(),
            input,
        })
    };
    // What `-> name` captures from the last response.
    let mut natural: Vec<&str> = Vec::new();
    match &item.stmt {
        Stmt::World(path) => out.push(step(StepKind::Setup(Setup::World {
            path: dir.join(&path.text),
        }))),
        Stmt::WorldYaml { yaml, .. } => {
            out.push(step(StepKind::Setup(Setup::WorldYaml {
                yaml: yaml.clone(),
            })));
        }
        Stmt::Call { op, input } => {
            natural = NATURAL_OUTPUTS
                .iter()
                .find(|(name, _)| *name == op.text)
                .map(|(_, p)| p.to_vec())
                .unwrap_or_default();
            let input = input.as_ref().map_or_else(|| json!({}), Val::to_json);
            out.push(call(&op.text, input));
        }
        Stmt::Connect(store) => out.push(call(
            "ConnectCustomKeyStore",
            json!({ "CustomKeyStoreId": store_id(store) }),
        )),
        Stmt::Disconnect(store) => out.push(call(
            "DisconnectCustomKeyStore",
            json!({ "CustomKeyStoreId": store_id(store) }),
        )),
        Stmt::Settle => out.push(action(Action::Settle)),
        Stmt::Wait(d) => out.push(action(Action::Wait(*d))),
        Stmt::Encrypt { text, key, context } => {
            let mut input = Map::new();
            input.insert("KeyId".into(), Value::String(key.text.clone()));
            input.insert(
                "Plaintext".into(),
                Value::String(STANDARD.encode(text.text.as_bytes())),
            );
            if let Some(c) = context {
                input.insert("EncryptionContext".into(), c.to_json());
            }
            natural = vec!["CiphertextBlob"];
            out.push(call("Encrypt", Value::Object(input)));
        }
        Stmt::Tag { key, tags } => {
            // Each member a tag; a value that is not a string is written
            // as the text it was (`2026`, `true`).
            let tags: Vec<Value> = match tags.to_json() {
                Value::Object(m) => m
                    .into_iter()
                    .map(|(k, v)| {
                        let v = match v {
                            Value::String(s) => s,
                            Value::Null => String::new(),
                            other => other.to_string(),
                        };
                        serde_json::json!({"TagKey": k, "TagValue": v})
                    })
                    .collect(),
                _ => Vec::new(),
            };
            let mut input = Map::new();
            input.insert("KeyId".into(), Value::String(key.text.clone()));
            input.insert("Tags".into(), Value::Array(tags));
            out.push(call("TagResource", Value::Object(input)));
        }
        Stmt::Decrypt { blob, context } => {
            let mut input = Map::new();
            input.insert("CiphertextBlob".into(), Value::String(blob.text.clone()));
            if let Some(c) = context {
                input.insert("EncryptionContext".into(), c.to_json());
            }
            natural = vec!["Plaintext"];
            out.push(call("Decrypt", Value::Object(input)));
        }
        Stmt::Cli {
            cluster,
            session,
            line,
            answers,
        } => {
            natural = vec!["data"];
            out.push(action(Action::Cli {
                cluster: cluster.text.clone(),
                session: session
                    .as_ref()
                    .map_or_else(|| DEFAULT_SESSION.to_owned(), |s| s.text.clone()),
                line: line.text.clone(),
                answers: answers.iter().map(|a| a.text.text.clone()).collect(),
            }));
        }
        Stmt::Fault { fault, .. } => {
            if let Fault::Backup { .. } = fault {
                natural = vec!["BackupId"];
            }
            out.push(action(Action::Fault(fault.clone())));
        }
        Stmt::Expect(e) => out.push(step(StepKind::Expect(expect(e)))),
        Stmt::Capture {
            name,
            subject: s,
            path,
        } => out.push(step(StepKind::Capture(Capture {
            name: name.text.clone(),
            subject: subject(s),
            path: path.path.clone(),
        }))),
        Stmt::Block { kind, body } => {
            let body = steps(body, dir);
            let control = match kind {
                BlockKind::Repeat((times, _)) => Control::Repeat {
                    times: *times,
                    body,
                },
                BlockKind::Retry { attempts, base } => Control::Retry {
                    attempts: attempts.0,
                    base: *base,
                    body,
                },
                BlockKind::Burst((count, _)) => Control::Burst {
                    count: *count,
                    body,
                },
                BlockKind::Region((region, _)) => Control::InRegion {
                    region: region.clone(),
                    body,
                },
            };
            out.push(step(StepKind::Control(control)));
        }
        // Reported by the checks; nothing to run.
        Stmt::Broken { .. } | Stmt::Answer(_) => {}
    }
    if let Some((outcome, _)) = &item.outcome {
        out.push(step(StepKind::Expect(expect(outcome))));
    }
    if let Some(name) = &item.capture {
        out.push(step(StepKind::Capture(Capture {
            name: name.text.clone(),
            subject: Subject::Last,
            path: IrPath(
                natural
                    .iter()
                    .map(|f| Segment::Field((*f).to_owned()))
                    .collect(),
            ),
        })));
    }
}

/// The `CustomKeyStoreId` of `connect`/`disconnect`: an id or a variable as
/// written, otherwise the variable the runner binds to the store's name.
fn store_id(store: &Tok) -> String {
    let t = &store.text;
    if t.starts_with("cks-") || t.contains('$') {
        t.clone()
    } else if t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        format!("${t}")
    } else {
        format!("${{{t}}}")
    }
}

fn subject(s: &SubjectAst) -> Subject {
    match s {
        SubjectAst::Last => Subject::Last,
        SubjectAst::Store(t) => Subject::Store(t.text.clone()),
        SubjectAst::Key(t) => Subject::Key(t.text.clone()),
        SubjectAst::Trail(t) => Subject::Trail(t.text.clone()),
        SubjectAst::Var(t) => Subject::Var(t.text.clone()),
    }
}

fn expect(e: &ExpectAst) -> Expect {
    match e {
        ExpectAst::Field {
            subject: s,
            path,
            comparison,
            value,
            time,
        } => Expect::Field {
            subject: subject(s),
            path: path.path.clone(),
            comparison: *comparison,
            value: {
                let v = value.as_ref().map_or(Value::Null, Val::to_json);
                match time {
                    None => Operand::Value(v),
                    Some(t) if t.now => Operand::Now {
                        offset_ms: t.offset_ms,
                    },
                    Some(t) => Operand::Shifted {
                        value: v,
                        offset_ms: t.offset_ms,
                    },
                }
            },
        },
        ExpectAst::Ok => Expect::Success,
        ExpectAst::Error {
            exception: Some(exception),
            message,
        } => Expect::Error {
            exception: exception.text.clone(),
            message: message.as_ref().map(|m| m.text.clone()),
        },
        ExpectAst::Error {
            exception: None,
            message,
        } => Expect::AnyError {
            message: message.as_ref().map(|m| m.text.clone()),
        },
        ExpectAst::CliError { message } => Expect::CliError {
            message: message.as_ref().map(|m| m.text.clone()),
        },
        ExpectAst::Trail { event, fields } => Expect::Trail {
            event: event.text.clone(),
            fields: fields
                .iter()
                .map(|(p, v): &(PathAst, Val)| (p.path.clone(), v.to_json()))
                .collect(),
        },
        ExpectAst::Decrypt {
            blob,
            context,
            plaintext,
        } => Expect::Decrypt {
            ciphertext: blob.text.clone(),
            context: context.as_ref().map_or(Value::Null, Val::to_json),
            plaintext: plaintext.text.clone(),
        },
    }
}

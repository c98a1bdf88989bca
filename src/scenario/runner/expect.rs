//! Expectations and captures: what a subject (a response member, a key
//! store, a key, the trail, a decrypted plaintext) stands for, and whether
//! it holds.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};

use super::{lookup, Ctx, Last, StepFailure};
use crate::scenario::ir::{Capture, Comparison, Expect, Step, Subject};

impl Ctx {
    /// The value a subject stands for right now.
    pub(super) fn subject(&self, step: &Step, s: &Subject) -> Result<Value, Box<StepFailure>> {
        match s {
            Subject::Last => match &self.last {
                Last::Response(v) | Last::Cli(v) => Ok(v.clone()),
                Last::Error(e) => Err(Self::fail(
                    step,
                    "a response from the last action",
                    format!("it failed with {}: {}", e.exception, e.message),
                )),
                Last::Nothing => Err(Self::fail(
                    step,
                    "a response from the last action",
                    "no action has run yet",
                )),
            },
            Subject::Store(r) => {
                let r = self
                    .subst_str(r)
                    .map_err(|e| Self::fail(step, "defined variables", e))?;
                let input = if r.starts_with("cks-") {
                    json!({"CustomKeyStoreId": r})
                } else {
                    json!({"CustomKeyStoreName": r})
                };
                let resp = self.target.call("DescribeCustomKeyStores", input);
                self.record(step, &resp);
                match resp {
                    Ok(v) => Ok(v["CustomKeyStores"][0].clone()),
                    Err(e) => Err(Box::new(StepFailure {
                        store_ref: Some(r.clone()),
                        ..*Self::fail(
                            step,
                            format!("key store {r} to exist"),
                            format!("{}: {}", e.exception, e.message),
                        )
                    })),
                }
            }
            Subject::Key(k) => {
                let k = self
                    .subst_str(k)
                    .map_err(|e| Self::fail(step, "defined variables", e))?;
                self.target
                    .call("DescribeKey", json!({"KeyId": k}))
                    .map(|v| v["KeyMetadata"].clone())
                    .map_err(|e| {
                        Self::fail(
                            step,
                            format!("key {k} to exist"),
                            format!("{}: {}", e.exception, e.message),
                        )
                    })
            }
            Subject::Trail(event) => self.target.trail(event).pop().ok_or_else(|| {
                Self::fail(
                    step,
                    format!("a {event} event in the trail"),
                    format!("no {event} event"),
                )
            }),
        }
    }

    pub(super) fn expect(&mut self, step: &Step, e: &Expect) -> Result<(), Box<StepFailure>> {
        match e {
            Expect::Field {
                subject,
                path,
                comparison,
                value,
            } => {
                let store_ref = match subject {
                    Subject::Store(r) => self.subst_str(r).ok(),
                    Subject::Last | Subject::Key(_) | Subject::Trail(_) => None,
                };
                let whole = self.subject(step, subject)?;
                let actual = lookup(&whole, path);
                let expected = self
                    .subst(value)
                    .map_err(|e| Self::fail(step, "defined variables", e))?;
                let (ok, want) = match comparison {
                    Comparison::Equals => (
                        actual.as_ref().is_some_and(|a| same(a, &expected)),
                        format!("{path} == {}", show(&expected)),
                    ),
                    Comparison::NotEquals => (
                        !actual.as_ref().is_some_and(|a| same(a, &expected)),
                        format!("{path} != {}", show(&expected)),
                    ),
                    Comparison::Contains => (
                        actual
                            .as_ref()
                            .is_some_and(|a| text(a).contains(&text(&expected))),
                        format!("{path} contains {}", show(&expected)),
                    ),
                    Comparison::Absent => (
                        actual.as_ref().is_none_or(Value::is_null),
                        format!("{path} is absent"),
                    ),
                    Comparison::Present => (
                        actual.as_ref().is_some_and(|v| !v.is_null()),
                        format!("{path} is present"),
                    ),
                };
                if ok {
                    Ok(())
                } else {
                    Err(Box::new(StepFailure {
                        store_ref,
                        ..*Self::fail(
                            step,
                            want,
                            match actual {
                                Some(a) => format!("{path} is {}", show(&a)),
                                None => format!("{path} is absent"),
                            },
                        )
                    }))
                }
            }
            Expect::Success => match &self.last {
                Last::Error(e) => Err(Self::fail(
                    step,
                    "success",
                    format!("{}: {}", e.exception, e.message),
                )),
                Last::Cli(env) if env["error_code"] != json!(0) => {
                    Err(Self::fail(step, "error_code 0", env.to_string()))
                }
                Last::Cli(_) | Last::Response(_) | Last::Nothing => Ok(()),
            },
            Expect::Error { exception, message } => {
                self.expect_error(step, Some(exception), message.as_deref())
            }
            Expect::AnyError { message } => self.expect_error(step, None, message.as_deref()),
            Expect::CliError { message } => {
                let want = match message {
                    Some(m) => format!("a CloudHSM CLI error containing {m:?}"),
                    None => "a CloudHSM CLI error".into(),
                };
                match &self.last {
                    Last::Cli(env)
                        if env["error_code"] != json!(0)
                            && message
                                .as_ref()
                                .is_none_or(|m| text(&env["data"]).contains(m.as_str())) =>
                    {
                        Ok(())
                    }
                    Last::Cli(env) => Err(Self::fail(step, want, env.to_string())),
                    Last::Error(e) => Err(Self::fail(
                        step,
                        want,
                        format!("{}: {}", e.exception, e.message),
                    )),
                    Last::Response(_) | Last::Nothing => {
                        Err(Self::fail(step, want, "the last action was not a CLI line"))
                    }
                }
            }
            Expect::Trail { event, fields } => {
                let mut wanted = Vec::new();
                for (p, v) in fields {
                    let v = self
                        .subst(v)
                        .map_err(|e| Self::fail(step, "defined variables", e))?;
                    wanted.push((p, v));
                }
                let events = self.target.trail(event);
                let matches = |e: &Value| {
                    wanted
                        .iter()
                        .all(|(p, v)| lookup(e, p).is_some_and(|a| same(&a, v)))
                };
                if events.iter().any(matches) {
                    return Ok(());
                }
                let want = wanted
                    .iter()
                    .map(|(p, v)| format!("{p} == {}", show(v)))
                    .collect::<Vec<_>>()
                    .join(", ");
                let actual = match events.last() {
                    None => format!("no {event} event in the trail"),
                    Some(e) => wanted
                        .iter()
                        .map(|(p, _)| match lookup(e, p) {
                            Some(a) => format!("{p} is {}", show(&a)),
                            None => format!("{p} is absent"),
                        })
                        .collect::<Vec<_>>()
                        .join(", "),
                };
                Err(Self::fail(
                    step,
                    format!("a {event} event with {want}"),
                    actual,
                ))
            }
            Expect::Decrypt {
                ciphertext,
                context,
                plaintext,
            } => {
                let blob = self
                    .subst_str(ciphertext)
                    .map_err(|e| Self::fail(step, "defined variables", e))?;
                let mut input = json!({"CiphertextBlob": blob});
                let context = self
                    .subst(context)
                    .map_err(|e| Self::fail(step, "defined variables", e))?;
                if context.as_object().is_some_and(|m| !m.is_empty()) {
                    input["EncryptionContext"] = context;
                }
                let want = format!("decrypts to {plaintext:?}");
                match self.target.call("Decrypt", input) {
                    Ok(v) => {
                        let got = v["Plaintext"]
                            .as_str()
                            .and_then(|p| STANDARD.decode(p).ok())
                            .unwrap_or_default();
                        if got == plaintext.as_bytes() {
                            Ok(())
                        } else {
                            Err(Self::fail(
                                step,
                                want,
                                format!("decrypts to {:?}", String::from_utf8_lossy(&got)),
                            ))
                        }
                    }
                    Err(e) => Err(Self::fail(
                        step,
                        want,
                        format!("{}: {}", e.exception, e.message),
                    )),
                }
            }
        }
    }

    pub(super) fn capture(&mut self, step: &Step, c: &Capture) -> Result<(), Box<StepFailure>> {
        let whole = self.subject(step, &c.subject)?;
        let v = lookup(&whole, &c.path).ok_or_else(|| {
            Self::fail(
                step,
                format!("{} to be present", c.path),
                format!("{} is absent in {}", c.path, show(&whole)),
            )
        })?;
        self.vars.insert(c.name.clone(), v);
        Ok(())
    }
}

/// Equal, treating `7` and `"7"` (and `true` / `"true"`) alike, since a
/// runbook writes bare words.
pub(super) fn same(actual: &Value, expected: &Value) -> bool {
    actual == expected
        || match (actual, expected) {
            (Value::String(a), other) | (other, Value::String(a)) => {
                matches!(other, Value::Number(_) | Value::Bool(_))
                    && a.as_str() == other.to_string().as_str()
            }
            _ => false,
        }
}

/// A value as text: strings bare, the rest as JSON.
pub(super) fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A value for a message: strings bare, long values cut.
pub(super) fn show(v: &Value) -> String {
    let s = text(v);
    if s.chars().count() > 200 {
        format!("{}…", s.chars().take(200).collect::<String>())
    } else {
        s
    }
}

//! Expectations and captures: what a subject (a response member, a key
//! store, a key, the trail, a decrypted plaintext) stands for, and whether
//! it holds.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};

use super::vars::find;
use super::{lookup, Ctx, Last, StepFailure};
use crate::scenario::ir::{Capture, Comparison, Expect, Operand, Path, Segment, Step, Subject};

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
            Subject::Var(name) => self.vars.get(name).cloned().ok_or_else(|| {
                Self::fail(
                    step,
                    "defined variables",
                    format!("undefined variable `${name}`"),
                )
            }),
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
                    Subject::Last | Subject::Key(_) | Subject::Trail(_) | Subject::Var(_) => None,
                };
                let whole = self.subject(step, subject)?;
                let found = find(&whole, path);
                // What the messages call the value: the path, or `$name`
                // for a variable's whole value.
                let shown = match subject {
                    Subject::Var(v) if path.0.is_empty() => format!("${v}"),
                    Subject::Var(_)
                    | Subject::Last
                    | Subject::Store(_)
                    | Subject::Key(_)
                    | Subject::Trail(_) => path.to_string(),
                };
                let fail = |want: String, actual: String| {
                    Box::new(StepFailure {
                        store_ref: store_ref.clone(),
                        ..*Self::fail(step, want, actual)
                    })
                };
                let (ok, want, actual) = match comparison {
                    Comparison::Absent => (
                        found.as_ref().map_or(true, Value::is_null),
                        format!("{shown} is absent"),
                        found.as_ref().ok().cloned(),
                    ),
                    Comparison::Present => (
                        found.as_ref().is_ok_and(|v| !v.is_null()),
                        format!("{shown} is present"),
                        found.as_ref().ok().cloned(),
                    ),
                    Comparison::Equals
                    | Comparison::NotEquals
                    | Comparison::Contains
                    | Comparison::Less
                    | Comparison::LessOrEqual
                    | Comparison::Greater
                    | Comparison::GreaterOrEqual => {
                        let expected = self.operand(step, value)?;
                        let symbol = comparison.symbol().unwrap_or("==");
                        let want = format!("{shown} {symbol} {}", show(&expected));
                        // A member that is not there is a mistake in the
                        // path, not a value that differs (docs/fidelity.md I63).
                        let actual = match found {
                            Ok(a) => a,
                            Err(at) => {
                                let name = missing(path, at);
                                let from = self.source(subject);
                                return Err(fail(
                                    want,
                                    format!("no such field `{name}` in {from}"),
                                ));
                            }
                        };
                        let ok = match comparison {
                            Comparison::Equals => same(&actual, &expected),
                            Comparison::NotEquals => !same(&actual, &expected),
                            Comparison::Contains => text(&actual).contains(&text(&expected)),
                            _ => match (number(&actual), number(&expected)) {
                                (Some(a), Some(e)) => match comparison {
                                    Comparison::Less => a < e,
                                    Comparison::LessOrEqual => a <= e,
                                    Comparison::Greater => a > e,
                                    _ => a >= e,
                                },
                                _ => {
                                    return Err(fail(
                                        want,
                                        format!(
                                            "{shown} is {}, which is not a number or a timestamp",
                                            show(&actual)
                                        ),
                                    ))
                                }
                            },
                        };
                        (ok, want, Some(actual))
                    }
                };
                if ok {
                    Ok(())
                } else {
                    Err(fail(
                        want,
                        match actual {
                            Some(a) => format!("{shown} is {}", show(&a)),
                            None => format!("{shown} is absent"),
                        },
                    ))
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

    /// What a subject's value came from, for "no such field" (`DescribeKey
    /// KeyMetadata`, `Encrypt response`).
    fn source(&self, s: &Subject) -> String {
        match s {
            Subject::Last if self.last_from.is_empty() => "the last response".into(),
            Subject::Last => self.last_from.clone(),
            Subject::Store(_) => "DescribeCustomKeyStores entry".into(),
            Subject::Key(_) => "DescribeKey KeyMetadata".into(),
            Subject::Trail(e) => format!("{e} trail event"),
            Subject::Var(v) => format!("${v}"),
        }
    }

    /// The value an operand stands for now: `now` and shifted instants in
    /// epoch seconds, as AWS JSON writes timestamps.
    fn operand(&self, step: &Step, o: &Operand) -> Result<Value, Box<StepFailure>> {
        let undefined = |e| Self::fail(step, "defined variables", e);
        let (base_ms, offset_ms) = match o {
            Operand::Value(v) => return self.subst(v).map_err(undefined),
            Operand::Now { offset_ms } => {
                let now = self.target.now().ok_or_else(|| {
                    Self::fail(
                        step,
                        "the target's clock",
                        "the target cannot tell the time",
                    )
                })?;
                (now, *offset_ms)
            }
            Operand::Shifted { value, offset_ms } => {
                let v = self.subst(value).map_err(undefined)?;
                let secs = number(&v).ok_or_else(|| {
                    Self::fail(
                        step,
                        "an instant (epoch seconds) to shift",
                        format!("{} is not a number or a timestamp", show(&v)),
                    )
                })?;
                ((secs * 1000.0).round() as i64, *offset_ms)
            }
        };
        let ms = base_ms.saturating_add(offset_ms);
        Ok(seconds(ms))
    }

    pub(super) fn capture(&mut self, step: &Step, c: &Capture) -> Result<(), Box<StepFailure>> {
        let whole = self.subject(step, &c.subject)?;
        let v = find(&whole, &c.path).map_err(|at| {
            Self::fail(
                step,
                format!("{} to be present", c.path),
                format!(
                    "no such field `{}` in {}",
                    missing(&c.path, at),
                    self.source(&c.subject)
                ),
            )
        })?;
        self.vars.insert(c.name.clone(), v);
        Ok(())
    }
}

/// Milliseconds since the epoch as AWS JSON writes an instant: epoch
/// seconds, whole when they are (`1499288695.918`, `1499288695`).
fn seconds(ms: i64) -> Value {
    if ms % 1000 == 0 {
        json!(ms / 1000)
    } else {
        json!(ms as f64 / 1000.0)
    }
}

/// A value as a number for `<`, `<=`, `>`, `>=`: a JSON number, a string
/// holding one, or an ISO 8601 instant (CloudTrail's `eventTime`) as epoch
/// seconds.
pub(super) fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse::<f64>().ok().or_else(|| {
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                .ok()
                .map(|t| t.unix_timestamp_nanos() as f64 / 1e9)
        }),
        Value::Null | Value::Bool(_) | Value::Array(_) | Value::Object(_) => None,
    }
}

/// The name of the segment at `at` of a path, for "no such field".
fn missing(path: &Path, at: usize) -> String {
    match path.0.get(at) {
        Some(Segment::Field(f)) => f.clone(),
        Some(Segment::Index(i)) => format!("[{i}]"),
        None => path.to_string(),
    }
}

/// Equal, treating `7` and `"7"` (and `true` / `"true"`) alike, since a
/// runbook writes bare words; numbers equal by value (`1499288695` and
/// `1499288695.0`).
pub(super) fn same(actual: &Value, expected: &Value) -> bool {
    actual == expected
        || matches!((actual, expected), (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64())
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

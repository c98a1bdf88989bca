//! The step IR: the one vocabulary every scenario front end lowers to and
//! the one runner executes.
//!
//! A [`ScenarioFile`] holds [`Scenario`]s; a scenario is a list of
//! [`Step`]s, each with the [`Span`] of the source text it came from (so a
//! failure can point at it) and a [`StepKind`]: setup, action, expectation,
//! capture or control. Arguments are JSON values in AWS member names; any
//! string in them may refer to a captured variable as `$name` or `${name}`
//! (a string that is exactly `$name` takes the variable's value whole, of
//! whatever JSON type; elsewhere the value is interpolated as text; `$$` is
//! a literal `$`). The runbook DSL builds this today; the Gherkin steps
//! build the same.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

pub use crate::engine::faults::Fault;

/// Where a step came from: a file and a 1-based line and column, plus the
/// byte offset and length of the source text.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
pub struct Span {
    /// The file, as given on the command line or found under a directory.
    pub file: Arc<str>,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// Byte offset of the start.
    pub offset: usize,
    /// Length in bytes.
    pub len: usize,
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// One source file of scenarios.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScenarioFile {
    /// The file.
    pub path: PathBuf,
    /// Its scenarios, in order.
    pub scenarios: Vec<Scenario>,
}

/// One scenario (a `runbook "…"` block, a Gherkin Scenario).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Scenario {
    /// Its title.
    pub name: String,
    /// Tags without the `@`.
    pub tags: Vec<String>,
    /// Where it starts.
    pub span: Span,
    /// Its steps.
    pub steps: Vec<Step>,
}

impl Scenario {
    /// Its setup step, if it starts with one, and the steps after it.
    pub fn split_setup(&self) -> (Option<&Step>, &[Step]) {
        match self.steps.split_first() {
            Some((first, rest)) if matches!(first.kind, StepKind::Setup(_)) => (Some(first), rest),
            Some(_) | None => (None, &self.steps[..]),
        }
    }
}

/// One step.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Step {
    /// Where it came from.
    pub span: Span,
    /// Its source text (one line, trimmed), as reports show it.
    pub text: String,
    /// What it does.
    pub kind: StepKind,
}

/// The five kinds of step.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum StepKind {
    /// Build the world.
    Setup(Setup),
    /// Do something to the world.
    Action(Action),
    /// Check something.
    Expect(Expect),
    /// Remember a value as a variable.
    Capture(Capture),
    /// Repeat, retry or burst a block of steps.
    Control(Control),
}

impl StepKind {
    /// A one-line description of the step from the IR alone, the same for
    /// every front end (snapshot headers use it).
    pub fn canonical(&self) -> String {
        match self {
            StepKind::Action(Action::Call { operation, input }) => {
                if input.as_object().is_some_and(|m| m.is_empty()) || input.is_null() {
                    format!("call {operation}")
                } else {
                    format!("call {operation} {input}")
                }
            }
            StepKind::Expect(Expect::Field {
                subject,
                path,
                comparison,
                value,
            }) => {
                let op = match comparison.symbol() {
                    Some(symbol) => format!("{symbol} {value}"),
                    None if *comparison == Comparison::Absent => "is absent".into(),
                    None => "is present".into(),
                };
                format!("expect {}{path} {op}", subject.canonical())
            }
            StepKind::Capture(c) => {
                format!("capture {} = {}{}", c.name, c.subject.canonical(), c.path)
            }
            other => format!("{other:?}"),
        }
    }
}

impl Subject {
    /// How the runbook language writes the subject.
    pub fn canonical(&self) -> String {
        match self {
            Subject::Last => String::new(),
            Subject::Store(s) => s.clone(),
            Subject::Key(k) => format!("key {k}"),
            Subject::Trail(e) => format!("trail {e}"),
            Subject::Var(v) => format!("${v}"),
        }
    }
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (base, offset) = match self {
            Operand::Value(v) => return f.write_str(&plain(v)),
            Operand::Now { offset_ms } => ("now".to_owned(), *offset_ms),
            Operand::Shifted { value, offset_ms } => (plain(value), *offset_ms),
        };
        match offset {
            0 => f.write_str(&base),
            o if o < 0 => write!(f, "{base} - {}", duration(o.unsigned_abs())),
            o => write!(f, "{base} + {}", duration(o.unsigned_abs())),
        }
    }
}

/// Strings bare, the rest as JSON.
/// A shift as the runbook writes it, in the largest unit that divides it
/// (`3600000` ms is `1h`).
fn duration(ms: u64) -> String {
    const UNITS: [(u64, &str); 4] = [
        (86_400_000, "d"),
        (3_600_000, "h"),
        (60_000, "m"),
        (1_000, "s"),
    ];
    UNITS
        .iter()
        .find(|(size, _)| ms.is_multiple_of(*size))
        .map_or_else(
            || format!("{ms}ms"),
            |(size, unit)| format!("{}{unit}", ms / size),
        )
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Building the world. A scenario has at most one setup, before its other
/// steps; without one the runner starts from an empty world.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Setup {
    /// Load a YAML world file (resolved relative to the scenario file).
    World {
        /// The resolved path.
        path: PathBuf,
    },
    /// A YAML world written inline in the scenario.
    WorldYaml {
        /// The YAML text.
        yaml: String,
    },
}

/// Something done to the world.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Action {
    /// Any KMS or CloudHSM v2 operation by its AWS name.
    Call {
        /// `Encrypt`, `UpdateCustomKeyStore`, `CreateCluster`, …
        operation: String,
        /// Input members in AWS names (templates).
        input: Value,
    },
    /// A CloudHSM CLI command line in a named CLI session.
    Cli {
        /// The cluster id (template).
        cluster: String,
        /// The CLI session (connection) name.
        session: String,
        /// The command line (template).
        line: String,
        /// What is typed at the line's password prompts, in order
        /// (templates); empty when it prompts for nothing.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        answers: Vec<String>,
    },
    /// An injected incident.
    Fault(Fault),
    /// Let virtual time pass.
    Wait(#[serde(with = "duration_ms")] Duration),
    /// Let pending work (connect attempts, clusters, HSMs, backups) finish.
    Settle,
}

/// What a check or a capture looks at.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Subject {
    /// The response of the last action (for a burst: its tally).
    Last,
    /// The DescribeCustomKeyStores entry of a store, by name or id
    /// (template); the runner calls DescribeCustomKeyStores and records it.
    Store(String),
    /// The `KeyMetadata` of a key, by id, ARN or alias (template).
    Key(String),
    /// The newest trail event with this name.
    Trail(String),
    /// A variable's value (`expect $failures > 0`).
    Var(String),
}

/// A path into a JSON value: `.KeyMetadata.KeyState`, `[0].backingKeyId`.
/// A string met on the way that holds JSON (CloudTrail's
/// `backingKeysDeletionStatus`) is parsed and walked into.
#[derive(Clone, Debug, Default, Eq, PartialEq, Serialize)]
pub struct Path(pub Vec<Segment>);

/// One step of a [`Path`].
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
pub enum Segment {
    /// An object member.
    Field(String),
    /// A list element.
    Index(usize),
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in &self.0 {
            match s {
                Segment::Field(n) => write!(f, ".{n}")?,
                Segment::Index(i) => write!(f, "[{i}]")?,
            }
        }
        Ok(())
    }
}

/// How an expected value is compared.
#[derive(Clone, Copy, Debug, Eq, PartialEq, Serialize)]
pub enum Comparison {
    /// Equal (`==`).
    Equals,
    /// Not equal (`!=`).
    NotEquals,
    /// The text contains the value (`contains`).
    Contains,
    /// The member is absent (`is absent`).
    Absent,
    /// The member is present (`is present`).
    Present,
    /// Less than (`<`), on numbers (timestamps are epoch seconds).
    Less,
    /// At most (`<=`).
    LessOrEqual,
    /// Greater than (`>`).
    Greater,
    /// At least (`>=`).
    GreaterOrEqual,
}

impl Comparison {
    /// How the runbook language writes it (`None`: `is absent` / `is
    /// present`, which take no value).
    pub fn symbol(self) -> Option<&'static str> {
        match self {
            Comparison::Equals => Some("=="),
            Comparison::NotEquals => Some("!="),
            Comparison::Contains => Some("contains"),
            Comparison::Less => Some("<"),
            Comparison::LessOrEqual => Some("<="),
            Comparison::Greater => Some(">"),
            Comparison::GreaterOrEqual => Some(">="),
            Comparison::Absent | Comparison::Present => None,
        }
    }
}

/// What a member is compared with.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Operand {
    /// A value (template).
    Value(Value),
    /// The target's clock, moved by `offset_ms` (negative: earlier), as
    /// epoch seconds like the AWS JSON timestamps (`now - 1h`).
    Now {
        /// The shift in milliseconds.
        offset_ms: i64,
    },
    /// A value (usually `$var`) taken as epoch seconds, moved by
    /// `offset_ms` (`$created + 7d`).
    Shifted {
        /// The value (template).
        value: Value,
        /// The shift in milliseconds.
        offset_ms: i64,
    },
}

/// A check. A failed check stops the scenario.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Expect {
    /// A member of a subject compared with a value (template).
    Field {
        /// What to look at.
        subject: Subject,
        /// Where in it.
        path: Path,
        /// How to compare.
        comparison: Comparison,
        /// The expected value (ignored for absent / present).
        value: Operand,
    },
    /// The last action succeeded.
    Success,
    /// The last action failed with this AWS exception, and its message
    /// contains `message` if given.
    Error {
        /// Exception name, e.g. `KMSInvalidStateException`.
        exception: String,
        /// A substring of the message.
        message: Option<String>,
    },
    /// The last action failed with any AWS exception (a bare `=> error`),
    /// and its message contains `message` if given.
    AnyError {
        /// A substring of the message.
        message: Option<String>,
    },
    /// The last CloudHSM CLI line failed (`error_code` ≠ 0), and its message
    /// contains `message` if given.
    CliError {
        /// A substring of the message.
        message: Option<String>,
    },
    /// Some trail event of this name has all these members.
    Trail {
        /// `eventName`.
        event: String,
        /// Members and their values (templates).
        fields: Vec<(Path, Value)>,
    },
    /// Decrypting this ciphertext gives this plaintext.
    Decrypt {
        /// Base64 ciphertext (template, usually `$var`).
        ciphertext: String,
        /// The encryption context.
        context: Value,
        /// The expected plaintext, as text.
        plaintext: String,
    },
}

/// Bind `name` to a value of a subject.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Capture {
    /// The variable.
    pub name: String,
    /// Where the value comes from.
    pub subject: Subject,
    /// Where in it.
    pub path: Path,
}

/// Blocks of steps.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Control {
    /// Run the body `times` times.
    Repeat {
        /// How many times.
        times: u32,
        /// The steps.
        body: Vec<Step>,
    },
    /// Run the body until it passes, at most `attempts` times, waiting
    /// between attempts as the AWS SDKs' standard retry mode does
    /// (exponential backoff with full jitter from `base`, capped at 20 ×
    /// `base`; docs/fidelity.md I64) on virtual time (R4: "retry first").
    Retry {
        /// At most this many attempts.
        attempts: u32,
        /// The first wait.
        #[serde(with = "duration_ms")]
        base: Duration,
        /// The steps.
        body: Vec<Step>,
    },
    /// Run `count` copies of the body at once, each on its own tokio task;
    /// the last response becomes the tally
    /// `{"Succeeded": n, "Failed": {"<Exception>": n, …}}`.
    Burst {
        /// How many copies.
        count: u32,
        /// The steps of one copy.
        body: Vec<Step>,
    },
    /// Run the body in another Region of the world's account (`in region
    /// eu-west-1 { … }`), then go back to the Region the block started in.
    InRegion {
        /// The Region name.
        region: String,
        /// The steps run there.
        body: Vec<Step>,
    },
}

mod duration_ms {
    use std::time::Duration;

    use serde::Serializer;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u128(d.as_millis())
    }
}

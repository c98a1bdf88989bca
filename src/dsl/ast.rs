//! The syntax tree of a runbook: what `parser.rs` builds from pest pairs,
//! what `check.rs` checks and what `lower.rs` turns into the step IR.
//!
//! It is the IR plus what the checks need: the span of every name, value and
//! variable as written, and the order of statements with their blocks.

use std::time::Duration;

use serde_json::Number;

use crate::engine::NetworkCondition;
use crate::scenario::diagnostic::Diagnostic;
use crate::scenario::ir::{Comparison, Fault, Path, Span};

/// A token as written, with its value (a string unescaped, a `$var` kept
/// whole).
#[derive(Clone, Debug)]
pub(crate) struct Tok {
    /// Its value.
    pub text: String,
    /// Where it is written.
    pub span: Span,
}

/// `Enter password: …` or `Confirm password: …`: what the operator types at
/// a CloudHSM CLI prompt.
#[derive(Clone, Debug)]
pub(crate) struct Answer {
    /// The prompt it answers, as the CLI prints it (`Enter password:`).
    pub prompt: &'static str,
    /// What is typed (a template: `$vars` are substituted).
    pub text: Tok,
    /// The whole answer line.
    pub span: Span,
}

/// One runbook block of a file.
#[derive(Clone, Debug)]
pub(crate) struct Runbook {
    pub title: String,
    pub tags: Vec<String>,
    pub span: Span,
    pub items: Vec<Item>,
}

/// One statement, with what its postfix asks.
#[derive(Clone, Debug)]
pub(crate) struct Item {
    /// The whole statement (for a multi-line one, all its lines).
    pub span: Span,
    /// Its first line, trimmed.
    pub text: String,
    pub stmt: Stmt,
    /// `-> name`.
    pub capture: Option<Tok>,
    /// `=> ok`, `=> error …` (an [`ExpectAst::Ok`], [`ExpectAst::Error`] or
    /// [`ExpectAst::CliError`]) and where it is written.
    pub outcome: Option<(ExpectAst, Span)>,
}

/// A statement.
#[derive(Clone, Debug)]
pub(crate) enum Stmt {
    /// `world "path"`.
    World(Tok),
    /// `world """` … `"""`.
    WorldYaml {
        yaml: String,
        /// The 1-based line of the first YAML line in the runbook.
        first_line: usize,
        /// The offset of the first YAML line.
        first_offset: usize,
        /// The indentation removed from every YAML line.
        indent: usize,
    },
    Call {
        op: Tok,
        input: Option<Val>,
    },
    Connect(Tok),
    Disconnect(Tok),
    Settle,
    Wait(Duration),
    Encrypt {
        text: Tok,
        key: Tok,
        context: Option<Val>,
    },
    Decrypt {
        blob: Tok,
        context: Option<Val>,
    },
    /// `tag <key> { k: v, … }`: TagResource.
    Tag {
        key: Tok,
        tags: Val,
    },
    Cli {
        cluster: Tok,
        session: Option<Tok>,
        line: Tok,
        /// The answer lines under it (`Enter password: …`), in order.
        answers: Vec<Answer>,
    },
    /// An answer line the parser has not attached to the `cloudhsm` line
    /// above it (it had none): reported by the checks.
    Answer(Answer),
    /// A fault, and the names it was written with.
    Fault {
        fault: Fault,
        names: Vec<Tok>,
    },
    Expect(ExpectAst),
    Capture {
        name: Tok,
        subject: SubjectAst,
        path: PathAst,
    },
    Block {
        kind: BlockKind,
        body: Vec<Item>,
    },
    /// A statement that did not parse: what it would have defined, so that
    /// its mistake is not reported again as undefined variables or unknown
    /// stores further down.
    Broken {
        defines: Vec<String>,
        world: bool,
    },
}

impl Stmt {
    /// The word that starts the statement, for messages.
    pub fn keyword(&self) -> &'static str {
        match self {
            Stmt::World(_) | Stmt::WorldYaml { .. } => "world",
            Stmt::Call { .. } => "call",
            Stmt::Connect(_) => "connect",
            Stmt::Disconnect(_) => "disconnect",
            Stmt::Settle => "settle",
            Stmt::Wait(_) => "wait",
            Stmt::Encrypt { .. } => "encrypt",
            Stmt::Decrypt { .. } => "decrypt",
            Stmt::Tag { .. } => "tag",
            Stmt::Cli { .. } => "cloudhsm",
            Stmt::Answer(a) => a.prompt,
            Stmt::Fault { fault, .. } => fault_keyword(fault),
            Stmt::Expect(_) => "expect",
            Stmt::Capture { .. } => "capture",
            Stmt::Block { kind, .. } => match kind {
                BlockKind::Repeat(_) => "repeat",
                BlockKind::Retry { .. } => "retry",
                BlockKind::Burst(_) => "burst",
                BlockKind::Region(_) => "in region",
            },
            Stmt::Broken { .. } => "statement",
        }
    }
}

fn fault_keyword(fault: &Fault) -> &'static str {
    match fault {
        Fault::Network { condition, .. } => match condition {
            NetworkCondition::Ok => "unblock network",
            NetworkCondition::Blocked => "block network",
            NetworkCondition::Flaky(_) => "flaky network",
        },
        Fault::SecurityGroup { ok: true, .. } => "mend security group",
        Fault::SecurityGroup { ok: false, .. } => "break security group",
        Fault::DeleteHsm { hsm: Some(_), .. } => "delete hsm",
        Fault::DeleteHsm { hsm: None, .. } => "delete all hsms",
        Fault::DegradeHsm { hsm: Some(_), .. } => "degrade hsm",
        Fault::DegradeHsm { hsm: None, .. } => "degrade all hsms",
        Fault::RepairHsm { hsm: Some(_), .. } => "repair hsm",
        Fault::RepairHsm { hsm: None, .. } => "repair all hsms",
        Fault::DeleteKeyMaterial { .. } => "delete key material",
        Fault::DeleteCluster { .. } => "delete cluster",
        Fault::DeleteSubnet { .. } => "delete subnet",
        Fault::FreeAddresses { .. } => "set free addresses",
        Fault::ExhaustSessions { .. } => "exhaust sessions",
        Fault::ReleaseSessions { .. } => "release sessions",
        Fault::InternalErrors { .. } => "fail next connects",
        Fault::Backup { .. } => "backup",
        Fault::SignCsr { .. } => "sign csr",
    }
}

/// `repeat N`, `retry N every D`, `burst N` with the span of N; `in region
/// R` with R's span.
#[derive(Clone, Debug)]
pub(crate) enum BlockKind {
    Repeat((u32, Span)),
    Retry {
        attempts: (u32, Span),
        base: Duration,
    },
    Burst((u32, Span)),
    Region((String, Span)),
}

/// What an `expect` checks.
#[derive(Clone, Debug)]
pub(crate) enum ExpectAst {
    Field {
        subject: SubjectAst,
        path: PathAst,
        comparison: Comparison,
        /// The value, or the base of a shifted instant (`None` for `now`
        /// and for `is absent` / `is present`).
        value: Option<Val>,
        /// `now …` or `<value> ± duration`: an instant.
        time: Option<TimeAst>,
    },
    Ok,
    /// `None`: any AWS exception (a bare `=> error`).
    Error {
        exception: Option<Tok>,
        message: Option<Tok>,
    },
    CliError {
        message: Option<Tok>,
    },
    Trail {
        event: Tok,
        fields: Vec<(PathAst, Val)>,
    },
    Decrypt {
        blob: Tok,
        context: Option<Val>,
        plaintext: Tok,
    },
}

/// An instant in a comparison: `now` or the value, moved by `offset_ms`.
#[derive(Clone, Debug)]
pub(crate) struct TimeAst {
    pub now: bool,
    pub offset_ms: i64,
}

/// What a check or capture looks at, with the name as written.
#[derive(Clone, Debug)]
pub(crate) enum SubjectAst {
    Last,
    Store(Tok),
    Key(Tok),
    Trail(Tok),
    /// `$name`.
    Var(Tok),
}

/// A path as written.
#[derive(Clone, Debug)]
pub(crate) struct PathAst {
    pub path: Path,
    /// Where each segment is written (empty for a path a Gherkin phrase
    /// fixes).
    pub spans: Vec<Span>,
}

/// A value as written.
#[derive(Clone, Debug)]
pub(crate) struct Val {
    pub span: Span,
    pub kind: ValKind,
}

/// The kinds of value.
#[derive(Clone, Debug)]
pub(crate) enum ValKind {
    /// A string (quoted or a bare word); `$…` in it is a template.
    Str(String),
    /// `$name` or `${name}` written bare, kept as written.
    Var(String),
    Num(Number),
    Bool(bool),
    Null,
    List(Vec<Val>),
    Object(Vec<(Tok, Val)>),
}

impl Val {
    /// The value as JSON (variables stay `"$name"` strings).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.kind {
            ValKind::Str(s) | ValKind::Var(s) => Value::String(s.clone()),
            ValKind::Num(n) => Value::Number(n.clone()),
            ValKind::Bool(b) => Value::Bool(*b),
            ValKind::Null => Value::Null,
            ValKind::List(items) => Value::Array(items.iter().map(Val::to_json).collect()),
            ValKind::Object(members) => Value::Object(
                members
                    .iter()
                    .map(|(k, v)| (k.text.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// The members of an object value (none for other kinds).
    pub fn members(&self) -> &[(Tok, Val)] {
        match &self.kind {
            ValKind::Object(m) => m,
            ValKind::Str(_)
            | ValKind::Var(_)
            | ValKind::Num(_)
            | ValKind::Bool(_)
            | ValKind::Null
            | ValKind::List(_) => &[],
        }
    }
}

/// Adds a member to an object's members; a name given twice is an error at
/// the second.
pub(crate) fn push_member(
    members: &mut Vec<(Tok, Val)>,
    key: Tok,
    value: Val,
) -> Result<(), Diagnostic> {
    if let Some((first, _)) = members.iter().find(|(k, _)| k.text == key.text) {
        return Err(
            Diagnostic::new(key.span.clone(), format!("`{}` is given twice", key.text))
                .with_label("second time")
                .with_note(format!("note: first given at {}", first.span)),
        );
    }
    members.push((key, value));
    Ok(())
}

/// `count unit` as a duration (`7 days`, `500 ms`); `None` when it
/// overflows. The units are the grammar's `unit`.
pub(crate) fn duration(count: &str, unit: &str) -> Option<Duration> {
    let ms_per: u64 = match unit {
        "milliseconds" | "millisecond" | "ms" => 1,
        "seconds" | "second" | "secs" | "sec" | "s" => 1_000,
        "minutes" | "minute" | "mins" | "min" | "m" => 60_000,
        "hours" | "hour" | "h" => 3_600_000,
        _ => 86_400_000,
    };
    count
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(ms_per))
        .map(Duration::from_millis)
}

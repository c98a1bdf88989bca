//! Semantic checks of a parsed runbook, before anything runs: names of
//! operations, input members, exceptions and enum values; variables used
//! before they are defined; key stores and aliases the world does not
//! have; the world itself; counts of zero. Every mistake is reported, each
//! at the token that is wrong.
//!
//! Names are resolved in textual order: a variable is defined by the
//! world's key store names and by every capture written above its use
//! (inside a block too), whatever the control flow.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::ast::{
    Answer, BlockKind, ExpectAst, Item, PathAst, Runbook, Stmt, SubjectAst, Tok, Val, ValKind,
};
use super::shapes::{produces, Root};
use super::source::Source;
use super::words::closest;
use crate::engine::cloud::{self, regions};
use crate::engine::cloudhsm::backup::BackupState;
use crate::engine::cloudhsm::cli;
use crate::engine::cloudhsm::cluster::{ClusterState, HsmState};
use crate::engine::dispatch::Operation;
use crate::engine::error::ErrorKind;
use crate::engine::kms::key::KeyState;
use crate::engine::kms::keystore::{ConnectionErrorCode, ConnectionState};
use crate::engine::world::{self, WorldError};
use crate::engine::Engine;
use crate::scenario::diagnostic::Diagnostic;
use crate::scenario::ir::{Comparison, Fault, Path as IrPath, Segment, Span};

/// Checks every runbook of a file; `dir` is the directory of the file, which
/// world paths are relative to.
pub(crate) fn check(runbooks: &[Runbook], src: &Source<'_>, dir: &Path) -> Vec<Diagnostic> {
    let mut worlds = BTreeMap::new();
    let mut errors = Vec::new();
    for rb in runbooks {
        let mut c = Checker {
            src,
            dir,
            worlds: &mut worlds,
            errors: &mut errors,
            facts: Facts::default(),
            vars: BTreeSet::new(),
            created_stores: Vec::new(),
            created_aliases: BTreeSet::new(),
            last: Root::Free,
            here: rb.span.clone(),
        };
        c.runbook(rb);
    }
    errors
}

/// What the world of a runbook holds. `known` is false when the world
/// could not be read, so names it would have defined are not reported.
#[derive(Clone, Debug)]
struct Facts {
    known: bool,
    declared: bool,
    store_names: Vec<String>,
    store_ids: Vec<String>,
    aliases: BTreeSet<String>,
}

impl Default for Facts {
    fn default() -> Self {
        Facts {
            known: true,
            declared: false,
            store_names: Vec::new(),
            store_ids: Vec::new(),
            aliases: BTreeSet::new(),
        }
    }
}

impl Facts {
    fn of(engine: &Engine) -> Facts {
        engine.with_state(|st| Facts {
            known: true,
            declared: true,
            store_names: st.stores.values().map(|s| s.name.clone()).collect(),
            store_ids: st.stores.values().map(|s| s.id.clone()).collect(),
            aliases: st.aliases.keys().cloned().collect(),
        })
    }
}

struct Checker<'a, 's> {
    src: &'a Source<'s>,
    dir: &'a Path,
    worlds: &'a mut BTreeMap<PathBuf, Result<Facts, WorldFailure>>,
    errors: &'a mut Vec<Diagnostic>,
    facts: Facts,
    vars: BTreeSet<String>,
    created_stores: Vec<String>,
    created_aliases: BTreeSet<String>,
    /// What the last action answers, as far as it is known before the run.
    last: Root,
    /// The statement being checked (where a path without spans is reported).
    here: Span,
}

impl Checker<'_, '_> {
    fn error(&mut self, d: Diagnostic) {
        self.errors.push(d);
    }

    fn runbook(&mut self, rb: &Runbook) {
        // A misplaced world makes the names of every step uncertain.
        let first_is_world = rb.items.first().is_some_and(|i| is_world(&i.stmt));
        if !first_is_world && rb.items.iter().any(mentions_world) {
            self.facts.known = false;
        }
        let mut first_step: Option<Span> = None;
        let mut world_seen = false;
        for (i, item) in rb.items.iter().enumerate() {
            if is_world(&item.stmt) {
                if let Some(first) = &first_step {
                    self.error(
                        Diagnostic::new(
                            item.span.clone(),
                            "`world` must come before the other steps",
                        )
                        .with_label("after the first step")
                        .with_note(format!(
                            "note: the runbook's first step is at line {}",
                            first.line
                        )),
                    );
                } else if world_seen {
                    self.error(
                        Diagnostic::new(item.span.clone(), "a runbook has at most one `world`")
                            .with_label("second `world`"),
                    );
                } else if i == 0 {
                    self.world(item);
                }
                world_seen = true;
                continue;
            }
            if matches!(item.stmt, Stmt::Broken { world: true, .. }) {
                world_seen = true;
                self.facts.known = false;
                continue;
            }
            first_step.get_or_insert_with(|| item.span.clone());
            self.item(item);
        }
    }

    fn world(&mut self, item: &Item) {
        match &item.stmt {
            Stmt::World(path) => {
                let resolved = self.dir.join(&path.text);
                let loaded = self
                    .worlds
                    .entry(resolved.clone())
                    .or_insert_with(|| load_world(&resolved))
                    .clone();
                match loaded {
                    Ok(facts) => self.facts = facts,
                    Err(e) => {
                        self.facts.known = false;
                        self.error(
                            Diagnostic::new(
                                path.span.clone(),
                                format!("cannot load the world: {}", e.message),
                            )
                            .with_note(format!("note: in {}", e.location))
                            .with_note(format!(
                                "note: the path is relative to the runbook's directory ({})",
                                display_dir(self.dir)
                            )),
                        );
                    }
                }
            }
            Stmt::WorldYaml {
                yaml,
                first_line,
                first_offset,
                indent,
            } => match world::load_cloud_str(yaml, &self.src.file) {
                Ok(cloud) => self.facts = Facts::of(cloud.default_engine()),
                Err(e) => {
                    self.facts.known = false;
                    let span = match e.line() {
                        Some(line) => {
                            self.yaml_span(*first_offset, *first_line, line, e.column(), *indent)
                        }
                        None => item.span.clone(),
                    };
                    let at = if e.path().is_empty() {
                        String::new()
                    } else {
                        format!(" at `{}`", e.path())
                    };
                    self.error(Diagnostic::new(
                        span,
                        format!("the inline world is not valid{at}: {}", e.message()),
                    ));
                }
            },
            _ => {}
        }
    }

    /// The span in the runbook of a position in inline YAML.
    fn yaml_span(
        &self,
        first_offset: usize,
        first_line: usize,
        line: usize,
        column: Option<usize>,
        indent: usize,
    ) -> Span {
        let target = first_line + line.saturating_sub(1);
        let mut start = first_offset;
        for _ in first_line..target {
            start = self.src.next_line_start(start);
        }
        let text = self.src.text.get(start..).unwrap_or("");
        let text = text.split('\n').next().unwrap_or("").trim_end_matches('\r');
        let skip: usize = text
            .get(indent.min(text.len())..)
            .unwrap_or("")
            .chars()
            .take(column.unwrap_or(1).saturating_sub(1))
            .map(char::len_utf8)
            .sum();
        let at = (start + indent + skip).min(start + text.len());
        self.src.span(at, start + text.len())
    }

    fn item(&mut self, item: &Item) {
        self.here = item.span.clone();
        match &item.stmt {
            Stmt::World(_) | Stmt::WorldYaml { .. } => self.error(
                Diagnostic::new(item.span.clone(), "`world` cannot be inside a block")
                    .with_note("help: put `world` first in the runbook"),
            ),
            Stmt::Call { op, input } => self.call(op, input.as_ref()),
            Stmt::Connect(store) | Stmt::Disconnect(store) => self.store(store),
            Stmt::Settle | Stmt::Wait(_) => {}
            Stmt::Encrypt { key, context, .. } => {
                self.key(key);
                if let Some(v) = context {
                    self.val(v);
                }
            }
            Stmt::Tag { key, tags } => {
                self.key(key);
                self.val(tags);
            }
            Stmt::Decrypt { blob, context } => {
                self.template(blob);
                if let Some(v) = context {
                    self.val(v);
                }
            }
            Stmt::Cli {
                cluster,
                line,
                answers,
                ..
            } => {
                self.template(cluster);
                self.template(line);
                for a in answers {
                    self.template(&a.text);
                }
                self.prompts(line, answers);
            }
            Stmt::Answer(a) => self.error(
                Diagnostic::new(a.span.clone(), format!("`{}` answers no prompt", a.prompt))
                    .with_label("no `cloudhsm` line right above it")
                    .with_note(
                        "help: an answer line goes right under the `cloudhsm` line that prompts for it",
                    ),
            ),
            Stmt::Fault { names, .. } => {
                for n in names {
                    self.template(n);
                }
            }
            Stmt::Expect(e) => self.expect(e),
            Stmt::Capture {
                name,
                subject,
                path,
            } => {
                self.subject(subject);
                self.path_of(subject, path, None);
                self.vars.insert(name.text.clone());
            }
            Stmt::Block { kind, body } => {
                let (n, what) = match kind {
                    BlockKind::Repeat(n) => (Some(n), "`repeat 0` runs its steps no time"),
                    BlockKind::Burst(n) => (Some(n), "`burst 0` runs its steps no time"),
                    BlockKind::Retry { attempts, .. } => {
                        (Some(attempts), "`retry 0` makes no attempt")
                    }
                    BlockKind::Region((name, span)) => {
                        if !regions::is_known(name) {
                            let d = Diagnostic::new(
                                span.clone(),
                                format!("`{name}` is not an AWS Region"),
                            )
                            .with_label("unknown Region")
                            .with_guess(closest(name, regions::REGIONS.iter().copied()));
                            self.error(d);
                        }
                        (None, "")
                    }
                };
                if let Some(n) = n.filter(|n| n.0 == 0) {
                    self.error(Diagnostic::new(n.1.clone(), what).with_label("must be at least 1"));
                }
                for i in body {
                    self.item(i);
                }
                if let BlockKind::Burst(_) = kind {
                    self.last = Root::tally();
                }
            }
            Stmt::Broken { defines, world } => {
                if *world {
                    self.facts.known = false;
                }
                self.vars.extend(defines.iter().cloned());
            }
        }
        self.postfix(item);
        if let Some(root) = produces(&item.stmt) {
            self.last = root;
        }
    }

    /// A path must exist in what its subject is (docs/fidelity.md I62).
    /// `is absent` on a member the shape does not have holds by the model
    /// (`.ConnectionState is absent` after ConnectCustomKeyStore, whose
    /// answer is empty), so it is accepted unless the name is a likely
    /// misspelling of a member the shape has.
    /// `<`, `<=`, `>`, `>=` need a number or a timestamp where the model
    /// says what the member is (docs/fidelity.md I65).
    fn path_of(&mut self, subject: &SubjectAst, path: &PathAst, comparison: Option<Comparison>) {
        let root = match subject {
            SubjectAst::Last => self.last.clone(),
            SubjectAst::Store(_) => {
                Root::kms_shape("CustomKeyStoresListEntry", "DescribeCustomKeyStores entry")
            }
            SubjectAst::Key(_) => Root::kms_shape("KeyMetadata", "DescribeKey KeyMetadata"),
            SubjectAst::Trail(event) => Root::trail(&event.text),
            // A variable holds whatever was captured: checked when it runs.
            SubjectAst::Var(_) => Root::Free,
        };
        let absent = comparison == Some(Comparison::Absent);
        if !self.walk(&root, path, absent) {
            return;
        }
        let Some(c) = comparison.filter(|c| {
            matches!(
                c,
                Comparison::Less
                    | Comparison::LessOrEqual
                    | Comparison::Greater
                    | Comparison::GreaterOrEqual
            )
        }) else {
            return;
        };
        let Some(leaf) = root.leaf(&path.path.0).filter(|l| !l.is_ordered()) else {
            return;
        };
        let span = path
            .spans
            .last()
            .cloned()
            .unwrap_or_else(|| self.here.clone());
        let symbol = c.symbol().unwrap_or("<");
        let d = Diagnostic::new(
            span,
            format!(
                "`{symbol}` compares numbers and timestamps, and `{}` is a {} ({})",
                path.path, leaf.kind, leaf.shape
            ),
        )
        .with_label(format!("a {}", leaf.kind))
        .with_note("help: compare it with `==`, `!=` or `contains`");
        self.error(d);
    }

    /// Reports the first segment of `path` that `root` cannot have; `true`
    /// when there is none (or it is accepted, see `path_of`).
    fn walk(&mut self, root: &Root, path: &PathAst, absent: bool) -> bool {
        let Err(e) = root.walk(&path.path.0) else {
            return true;
        };
        let span = path
            .spans
            .get(e.at)
            .cloned()
            .unwrap_or_else(|| self.here.clone());
        let wrong = match path.path.0.get(e.at) {
            Some(Segment::Field(f)) => f.as_str(),
            Some(Segment::Index(_)) | None => "",
        };
        let guess = closest(wrong, e.candidates.iter().map(String::as_str));
        if absent && guess.is_none() && !wrong.is_empty() {
            return true;
        }
        let mut d = Diagnostic::new(span, e.message).with_label(e.label);
        d = d.with_guess(guess);
        if !e.candidates.is_empty() {
            let names: Vec<&str> = e.candidates.iter().map(String::as_str).collect();
            d = d.with_note(format!("note: the members are {}", list(&names, 12)));
        }
        self.error(d);
        false
    }

    /// The answer lines under a CLI line must answer the prompts the real
    /// CLI shows for it, in order (docs/runbook-language.md): a prompted line
    /// with no answer would have nothing to type.
    fn prompts(&mut self, line: &Tok, answers: &[Answer]) {
        let asked = cli::prompts(&line.text);
        let written: Vec<&str> = answers.iter().map(|a| a.prompt).collect();
        if written.as_slice() == asked {
            return;
        }
        let expected = if asked.is_empty() {
            "none (the line gives `--password` or takes no password)".to_owned()
        } else {
            asked
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(" then ")
        };
        let mismatch = answers
            .iter()
            .zip(asked.iter().map(Some).chain(std::iter::repeat(None)))
            .find(|(a, p)| Some(&a.prompt) != *p);
        let d = match mismatch {
            Some((a, _)) => Diagnostic::new(
                a.span.clone(),
                format!("`{}` answers no prompt here", a.prompt),
            )
            .with_label("not a prompt of the line above")
            .with_note(format!("note: the line above prompts {expected}")),
            None => Diagnostic::new(
                line.span.clone(),
                "this CloudHSM CLI line prompts for a password that no line answers",
            )
            .with_label(format!("prompts {expected}"))
            .with_note(format!(
                "help: answer on the next line, e.g. `  {} <password>`, or give `--password`",
                asked
                    .get(written.len())
                    .copied()
                    .unwrap_or("Enter password:")
            )),
        };
        self.error(d);
    }

    fn postfix(&mut self, item: &Item) {
        let keyword = item.stmt.keyword();
        if let Some((outcome, span)) = &item.outcome {
            if matches!(item.stmt, Stmt::Settle | Stmt::Wait(_)) {
                self.error(
                    Diagnostic::new(span.clone(), format!("`{keyword}` cannot fail"))
                        .with_label("nothing to expect here")
                        .with_note("help: remove the `=> …`"),
                );
            }
            self.expect(outcome);
        }
        if let Some(capture) = &item.capture {
            let captures = match &item.stmt {
                Stmt::Call { .. }
                | Stmt::Encrypt { .. }
                | Stmt::Decrypt { .. }
                | Stmt::Cli { .. } => true,
                Stmt::Fault { fault, .. } => matches!(fault, Fault::Backup { .. }),
                _ => false,
            };
            if !captures {
                self.error(
                    Diagnostic::new(capture.span.clone(), format!("`{keyword}` has no output to capture"))
                        .with_label("nothing to capture")
                        .with_note(
                            "note: `-> name` follows `call`, `encrypt`, `decrypt`, `cloudhsm` and `backup`",
                        ),
                );
            }
            if let Some((ExpectAst::Error { .. } | ExpectAst::CliError { .. }, _)) = &item.outcome {
                self.error(
                    Diagnostic::new(capture.span.clone(), "`-> name` cannot go with `=> error`")
                        .with_label("a failed action has no output to capture"),
                );
            }
            self.vars.insert(capture.text.clone());
        }
    }

    fn call(&mut self, op: &Tok, input: Option<&Val>) {
        let operation = Operation::from_name(&op.text);
        let members = operation
            .map(Operation::input_members)
            .or_else(|| cloud::operation_members(&op.text));
        match members {
            Some(members) => {
                for (key, _) in input.map(Val::members).unwrap_or(&[]) {
                    if members.contains(&key.text.as_str()) {
                        continue;
                    }
                    let mut d = Diagnostic::new(
                        key.span.clone(),
                        format!("`{}` is not an input member of `{}`", key.text, op.text),
                    )
                    .with_label("unknown member");
                    d = d.with_guess(closest(&key.text, members.iter().copied()));
                    d = d.with_note(format!("note: `{}` takes {}", op.text, list(members, 20)));
                    self.error(d);
                }
            }
            None => {
                let mut d =
                    Diagnostic::new(op.span.clone(), format!("unknown operation `{}`", op.text))
                        .with_label("not a KMS or CloudHSM v2 operation");
                let names = Operation::ALL.iter().map(|o| o.name());
                let names = names.chain(cloud::OPERATIONS.iter().map(|(n, _)| *n));
                d = d.with_guess(closest(&op.text, names));
                self.error(d);
            }
        }
        if let Some(v) = input {
            self.val(v);
            // Names this call will create.
            let member = |name: &str| -> Option<String> {
                v.members()
                    .iter()
                    .find(|(k, _)| k.text == name)
                    .and_then(|(_, v)| match &v.kind {
                        ValKind::Str(s) => Some(s.clone()),
                        _ => None,
                    })
            };
            match operation {
                Some(Operation::CreateCustomKeyStore) => {
                    if let Some(name) = member("CustomKeyStoreName") {
                        self.created_stores.push(name);
                    }
                }
                Some(Operation::UpdateCustomKeyStore) => {
                    if let Some(name) = member("NewCustomKeyStoreName") {
                        self.created_stores.push(name);
                    }
                }
                Some(Operation::CreateAlias) => {
                    if let Some(name) = member("AliasName") {
                        self.created_aliases.insert(name);
                    }
                }
                _ => {}
            }
        }
    }

    fn expect(&mut self, e: &ExpectAst) {
        match e {
            ExpectAst::Field {
                subject,
                path,
                comparison,
                value,
                time,
            } => {
                self.subject(subject);
                self.path_of(subject, path, Some(*comparison));
                if let Some(v) = value {
                    self.val(v);
                    if time.is_none()
                        && matches!(comparison, Comparison::Equals | Comparison::NotEquals)
                    {
                        self.enum_value(&path.path, v);
                    }
                }
            }
            ExpectAst::Ok => {}
            // Message substrings are literal text.
            ExpectAst::Error { exception, .. } => {
                if let Some(exception) = exception {
                    self.exception(exception);
                }
            }
            ExpectAst::CliError { .. } => {}
            ExpectAst::Trail { event, fields } => {
                for (path, v) in fields {
                    self.walk(&Root::trail(&event.text), path, false);
                    self.val(v);
                    self.enum_value(&path.path, v);
                }
            }
            // The expected plaintext is literal text.
            ExpectAst::Decrypt { blob, context, .. } => {
                self.template(blob);
                if let Some(v) = context {
                    self.val(v);
                }
            }
        }
    }

    fn subject(&mut self, s: &SubjectAst) {
        match s {
            SubjectAst::Last | SubjectAst::Trail(_) => {}
            SubjectAst::Store(t) => self.store(t),
            SubjectAst::Key(t) => self.key(t),
            SubjectAst::Var(t) => self.vars_in(&format!("${{{}}}", t.text), &t.span),
        }
    }

    fn exception(&mut self, t: &Tok) {
        if ErrorKind::from_aws_name(&t.text).is_some() {
            return;
        }
        let mut d = Diagnostic::new(t.span.clone(), format!("unknown exception `{}`", t.text))
            .with_label("not an exception hsmdrill raises");
        let with_suffix = format!("{}Exception", t.text);
        let suggestion = if ErrorKind::from_aws_name(&with_suffix).is_some() {
            Some(with_suffix)
        } else {
            closest(&t.text, ErrorKind::ALL.iter().map(|k| k.aws_name())).map(str::to_owned)
        };
        d = d.with_guess(suggestion);
        self.error(d);
    }

    /// An enum member (`ConnectionState`, `ConnectionErrorCode`,
    /// `KeyState`, `BackupState`, a cluster's or HSM's `State`) compared
    /// with a literal that is not one of its values.
    fn enum_value(&mut self, path: &IrPath, v: &Val) {
        let ValKind::Str(text) = &v.kind else {
            return;
        };
        if text.contains('$') {
            return;
        }
        let Some((name, values)) = enum_of(path) else {
            return;
        };
        if values.iter().any(|x| x == text) {
            return;
        }
        let mut d = Diagnostic::new(
            v.span.clone(),
            format!(
                "unknown {name} `{text}`; expected one of {}",
                one_of(&values)
            ),
        )
        .with_label(format!("not a {name}"));
        d = d.with_guess(closest(text, values.iter().copied()));
        self.error(d);
    }

    fn store(&mut self, t: &Tok) {
        if t.text.contains('$') {
            self.template(t);
            return;
        }
        if !self.facts.known
            || t.text.starts_with("cks-")
            || self.facts.store_names.contains(&t.text)
            || self.facts.store_ids.contains(&t.text)
            || self.created_stores.contains(&t.text)
        {
            return;
        }
        let declared = if !self.facts.declared {
            "there is no `world`, so no key store exists yet".to_owned()
        } else if self.facts.store_names.is_empty() {
            "the world declares no key store".to_owned()
        } else {
            let names: Vec<&str> = self.facts.store_names.iter().map(String::as_str).collect();
            format!("the world declares {}", list(&names, 5))
        };
        let mut d = Diagnostic::new(
            t.span.clone(),
            format!("unknown key store `{}`; {declared}", t.text),
        );
        let candidates = self
            .facts
            .store_names
            .iter()
            .chain(self.created_stores.iter())
            .map(String::as_str);
        d = d.with_guess(closest(&t.text, candidates));
        self.error(d);
    }

    fn key(&mut self, t: &Tok) {
        if t.text.contains('$') {
            self.template(t);
            return;
        }
        if !self.facts.known
            || !t.text.starts_with("alias/")
            || self.facts.aliases.contains(&t.text)
            || self.created_aliases.contains(&t.text)
        {
            return;
        }
        let mut d = Diagnostic::new(t.span.clone(), format!("unknown alias `{}`", t.text))
            .with_label("neither the world nor an earlier `CreateAlias` makes it");
        let candidates = self.facts.aliases.iter().chain(self.created_aliases.iter());
        d = d.with_guess(closest(&t.text, candidates.map(String::as_str)));
        self.error(d);
    }

    /// Variables in a value.
    fn val(&mut self, v: &Val) {
        match &v.kind {
            ValKind::Str(s) | ValKind::Var(s) => self.vars_in(s, &v.span),
            ValKind::Num(_) | ValKind::Bool(_) | ValKind::Null => {}
            ValKind::List(items) => {
                for i in items {
                    self.val(i);
                }
            }
            ValKind::Object(members) => {
                for (_, m) in members {
                    self.val(m);
                }
            }
        }
    }

    /// Variables in a token that is a template.
    fn template(&mut self, t: &Tok) {
        self.vars_in(&t.text, &t.span);
    }

    /// Every `$name` / `${name}` in a value (as the runner reads it) must be
    /// defined. Each is reported where it is written in the token's span,
    /// or at the whole token when the source spells it otherwise (an escape,
    /// or a Gherkin phrase that names a variable without a `$`).
    fn vars_in(&mut self, text: &str, span: &Span) {
        if !self.facts.known {
            return;
        }
        let raw = self
            .src
            .text
            .get(span.offset..span.offset + span.len)
            .unwrap_or("");
        let mut from = 0;
        for (at, len, name) in template_vars(text) {
            let written = text.get(at..at + len).unwrap_or("");
            let place = raw
                .get(from..)
                .and_then(|r| r.find(written))
                .map(|i| from + i);
            if let Some(i) = place {
                from = i + len;
            }
            if self.vars.contains(name) || self.facts.store_names.iter().any(|s| s == name) {
                continue;
            }
            let at = match place {
                Some(i) => self.src.span(span.offset + i, span.offset + i + len),
                None => span.clone(),
            };
            let mut d = Diagnostic::new(at, format!("undefined variable `${name}`"))
                .with_label("not defined above this line");
            let candidates = self.vars.iter().chain(self.facts.store_names.iter());
            d = d
                .with_guess(closest(name, candidates.map(String::as_str)).map(|s| format!("${s}")));
            d = d.with_note(
                "note: variables are the world's key store names and the names captured above (`-> name`, `capture name = …`)",
            );
            self.error(d);
        }
    }
}

/// Why a world file could not be loaded: what is wrong, and where.
#[derive(Clone, Debug)]
struct WorldFailure {
    message: String,
    location: String,
}

/// Loads a world file. Only regular files are read: a FIFO or a device
/// named by mistake must not hang the check.
fn load_world(path: &Path) -> Result<Facts, WorldFailure> {
    if let Ok(m) = std::fs::metadata(path) {
        if !m.is_file() {
            return Err(WorldFailure {
                message: "not a regular file".to_owned(),
                location: path.display().to_string(),
            });
        }
    }
    // The facts are those of the world's own Region (where steps act
    // unless an `in region` block says otherwise).
    world::load_cloud_file(path)
        .map(|c| Facts::of(c.default_engine()))
        .map_err(|e: WorldError| {
            let mut location = e.file().to_owned();
            if let Some(line) = e.line() {
                location.push_str(&format!(":{line}"));
                if let Some(column) = e.column() {
                    location.push_str(&format!(":{column}"));
                }
            }
            if !e.path().is_empty() {
                location.push_str(&format!(", at `{}`", e.path()));
            }
            WorldFailure {
                message: e.message().to_owned(),
                location,
            }
        })
}

fn is_world(s: &Stmt) -> bool {
    matches!(s, Stmt::World(_) | Stmt::WorldYaml { .. })
}

fn mentions_world(item: &Item) -> bool {
    match &item.stmt {
        Stmt::World(_) | Stmt::WorldYaml { .. } | Stmt::Broken { world: true, .. } => true,
        Stmt::Block { body, .. } => body.iter().any(mentions_world),
        _ => false,
    }
}

/// `$name` and `${name}` in a text, as (byte offset, length, name); `$$`
/// is a literal `$`. The same reading as the runner's.
pub(crate) fn template_vars(raw: &str) -> Vec<(usize, usize, &str)> {
    let mut out = Vec::new();
    let bytes = raw.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            i += 1;
            continue;
        }
        if bytes.get(i + 1) == Some(&b'$') {
            i += 2;
            continue;
        }
        if bytes.get(i + 1) == Some(&b'{') {
            let rest = raw.get(i + 2..).unwrap_or("");
            if let Some(end) = rest.find('}') {
                let name = rest.get(..end).unwrap_or("");
                if !name.is_empty() {
                    out.push((i, end + 3, name));
                }
                i += end + 3;
                continue;
            }
            i += 1;
            continue;
        }
        let rest = raw.get(i + 1..).unwrap_or("");
        let n = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if n > 0 {
            out.push((i, n + 1, rest.get(..n).unwrap_or("")));
        }
        i += n + 1;
    }
    out
}

/// The enum a path's last member holds, with its values.
fn enum_of(path: &IrPath) -> Option<(&'static str, Vec<&'static str>)> {
    let mut fields = path.0.iter().rev().filter_map(|s| match s {
        Segment::Field(f) => Some(f.as_str()),
        Segment::Index(_) => None,
    });
    let last = path.0.last().and_then(|s| match s {
        Segment::Field(f) => Some(f.as_str()),
        Segment::Index(_) => None,
    })?;
    fields.next();
    match last {
        "ConnectionState" => Some(("ConnectionState", ConnectionState::NAMES.to_vec())),
        "ConnectionErrorCode" => Some((
            "ConnectionErrorCode",
            ConnectionErrorCode::ALL
                .iter()
                .map(|c| c.as_str())
                .collect(),
        )),
        "KeyState" => Some(("KeyState", KeyState::NAMES.to_vec())),
        "BackupState" => Some(("BackupState", BackupState::NAMES.to_vec())),
        "State" => fields.find_map(|f| {
            if f.contains("Hsm") {
                Some(("HSM State", HsmState::NAMES.to_vec()))
            } else if f.contains("Backup") {
                Some(("BackupState", BackupState::NAMES.to_vec()))
            } else if f.contains("Cluster") {
                Some(("cluster State", ClusterState::NAMES.to_vec()))
            } else {
                None
            }
        }),
        _ => None,
    }
}

/// `a`, `b`, `c` (and N more).
fn list(items: &[&str], max: usize) -> String {
    let shown: Vec<String> = items.iter().take(max).map(|s| format!("`{s}`")).collect();
    let mut out = match shown.as_slice() {
        [] => String::from("nothing"),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    };
    if items.len() > max {
        out = format!("{} (and {} more)", shown.join(", "), items.len() - max);
    }
    out
}

/// `A`, `B` or `C`, without quotes (enum values read best bare).
fn one_of(items: &[&str]) -> String {
    match items {
        [] => String::from("nothing"),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn display_dir(dir: &Path) -> String {
    let s = dir.display().to_string();
    if s.is_empty() {
        ".".to_owned()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_vars_read_like_the_runner() {
        assert_eq!(
            template_vars("$a ${b-c} $$d $ x$e_1."),
            vec![(0, 2, "a"), (3, 6, "b-c"), (17, 4, "e_1")]
        );
        assert!(template_vars("${unterminated").is_empty());
        assert!(template_vars("$").is_empty());
    }

    #[test]
    fn state_under_a_cluster_is_a_cluster_state() {
        let p = IrPath(vec![
            Segment::Field("Clusters".into()),
            Segment::Index(0),
            Segment::Field("State".into()),
        ]);
        assert_eq!(enum_of(&p).map(|(n, _)| n), Some("cluster State"));
        let p = IrPath(vec![Segment::Field("State".into())]);
        assert_eq!(enum_of(&p), None);
    }
}

//! From text to syntax tree: pest matches one logical line at a time, a
//! builder assembles lines into runbooks and blocks, and a [`Cursor`] walks
//! each line's pairs into [`ast`](super::ast) nodes.
//!
//! Matching line by line is what lets a file report all its syntax errors:
//! when a line does not match, the error is recorded and parsing resumes at
//! the next statement (after the value or inline world the broken line
//! opened, if any). A broken line leaves a [`Stmt::Broken`] placeholder that
//! remembers the variables it would have defined, so the semantic checks do
//! not report its mistake a second time.
//!
//! Grammar/parser mismatches (a pair the cursor did not expect) become
//! spanned "internal error" diagnostics, never panics.

use std::sync::Arc;
use std::time::Duration;

use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::{Pair, Pairs};
use pest::Parser as _;

use super::ast::{
    BlockKind, ExpectAst, Item, PathAst, Runbook, Stmt, SubjectAst, Tok, Val, ValKind,
};
use super::words::{self, closest, STATEMENT_KEYWORDS};
use crate::engine::NetworkCondition;
use crate::scenario::diagnostic::Diagnostic;
use crate::scenario::ir::{Comparison, Fault, Path, Segment, Span};

/// The pest parser of `runbook.pest`.
#[derive(pest_derive::Parser)]
#[grammar = "dsl/runbook.pest"]
pub(crate) struct RunbookParser;

/// How deeply `{…}`/`[…]` values and blocks may nest. pest and the lowering
/// recurse once per level, so the limit keeps any input from exhausting the
/// stack.
const MAX_DEPTH: usize = 32;

/// The text of a runbook file and what turns offsets into [`Span`]s.
pub(crate) struct Source<'a> {
    pub text: &'a str,
    pub file: Arc<str>,
    line_starts: Vec<usize>,
}

impl<'a> Source<'a> {
    pub fn new(text: &'a str, file: Arc<str>) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Source {
            text,
            file,
            line_starts,
        }
    }

    /// The span of the bytes `start..end`.
    pub fn span(&self, start: usize, end: usize) -> Span {
        let start = start.min(self.text.len());
        let end = end.clamp(start, self.text.len());
        let line = self.line_starts.partition_point(|s| *s <= start).max(1);
        let line_start = self.line_starts.get(line - 1).copied().unwrap_or(0);
        let column = self
            .text
            .get(line_start..start)
            .map_or(0, |s| s.chars().count())
            + 1;
        Span {
            file: self.file.clone(),
            line,
            column,
            offset: start,
            len: end - start,
        }
    }

    /// The 1-based line holding the offset.
    pub fn line_of(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|s| *s <= offset).max(1)
    }

    /// Where the line after the one holding `offset` starts (the end of the
    /// text on the last line).
    pub fn next_line_start(&self, offset: usize) -> usize {
        let line = self.line_of(offset);
        self.line_starts
            .get(line)
            .copied()
            .unwrap_or(self.text.len())
    }

    /// The text of the line holding `offset`, without its newline.
    fn line_text(&self, offset: usize) -> &'a str {
        let line = self.line_of(offset);
        let start = self.line_starts.get(line - 1).copied().unwrap_or(0);
        let end = self.next_line_start(offset);
        let text = self.text.get(start..end).unwrap_or("");
        text.trim_end_matches(['\n', '\r'])
    }
}

/// The runbooks of a file, and the syntax errors met on the way.
pub(crate) struct Parsed {
    pub runbooks: Vec<Runbook>,
    pub errors: Vec<Diagnostic>,
}

/// Parses a whole file.
pub(crate) fn parse(src: &Source<'_>) -> Parsed {
    if let Some(d) = too_deep(src) {
        return Parsed {
            runbooks: Vec::new(),
            errors: vec![d],
        };
    }
    let mut b = Builder::default();
    let mut pos = 0;
    while pos < src.text.len() {
        let Some(rest) = src.text.get(pos..) else {
            break;
        };
        let next = match RunbookParser::parse(Rule::line, rest) {
            Ok(mut pairs) => match pairs.next() {
                Some(line) => {
                    let end = pos + line.as_span().end();
                    let ctx = Ctx { src, base: pos };
                    match ctx.line_item(line) {
                        Ok(item) => b.push(src, item),
                        Err(d) => {
                            b.errors.push(d);
                            b.push_item(src, broken_item(src, pos, end));
                        }
                    }
                    end
                }
                None => src.next_line_start(pos),
            },
            Err(e) => {
                let recovery = syntax_error(src, pos, &e);
                b.errors.push(recovery.diagnostic);
                match recovery.shape {
                    Shape::RunbookHead => b.push(
                        src,
                        LineItem::Head {
                            title: String::new(),
                            tags: Vec::new(),
                            span: src.span(pos, recovery.resume),
                        },
                    ),
                    Shape::BlockHead => b.open(src, None, src.span(pos, pos), String::new()),
                    Shape::Other => b.push_item(src, broken_item(src, pos, recovery.resume)),
                }
                recovery.resume
            }
        };
        pos = if next > pos {
            next
        } else {
            src.next_line_start(pos)
        };
    }
    b.finish(src)
}

/// A placeholder for a statement that did not parse.
fn broken_item(src: &Source<'_>, start: usize, end: usize) -> Item {
    let text = src.text.get(start..end).unwrap_or("");
    Item {
        span: src.span(start, end),
        text: text.lines().next().unwrap_or("").trim().to_owned(),
        stmt: Stmt::Broken {
            defines: defined_names(text),
            world: first_word(text) == "world",
        },
        capture: None,
        outcome: None,
    }
}

/// Names a broken statement would define (`-> name`, `capture name`).
fn defined_names(text: &str) -> Vec<String> {
    let ident = |s: &str| -> String {
        s.trim_start()
            .trim_start_matches('$')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut names: Vec<String> = text.split("->").skip(1).map(ident).collect();
    if first_word(text) == "capture" {
        names.push(ident(text.trim_start().trim_start_matches("capture")));
    }
    names.retain(|n| !n.is_empty());
    names
}

/// The first word of a text (letters, digits, `_`, `-`).
fn first_word(text: &str) -> &str {
    let t = text.trim_start();
    let end = t
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(t.len());
    t.get(..end).unwrap_or("")
}

// ---------------------------------------------------------------------------
// Assembling lines into runbooks and blocks

/// What one line holds.
enum LineItem {
    Empty,
    Head {
        title: String,
        tags: Vec<String>,
        span: Span,
    },
    Open {
        kind: BlockKind,
        span: Span,
        text: String,
    },
    Close(Span),
    Stmt(Box<Item>),
}

/// An open block; `kind` is `None` when its head did not parse.
struct Open {
    kind: Option<BlockKind>,
    span: Span,
    text: String,
    body: Vec<Item>,
}

#[derive(Default)]
struct Builder {
    runbooks: Vec<Runbook>,
    stack: Vec<Open>,
    errors: Vec<Diagnostic>,
    outside_reported: bool,
}

impl Builder {
    fn push(&mut self, src: &Source<'_>, item: LineItem) {
        match item {
            LineItem::Empty => {}
            LineItem::Head { title, tags, span } => {
                self.close_all(src, "a new `runbook` starts before it is closed");
                self.runbooks.push(Runbook {
                    title,
                    tags,
                    span,
                    items: Vec::new(),
                });
            }
            LineItem::Open { kind, span, text } => self.open(src, Some(kind), span, text),
            LineItem::Close(span) => match self.stack.pop() {
                Some(open) => self.close(src, open),
                None => self.errors.push(
                    Diagnostic::new(span, "`}` closes no block")
                        .with_label("no `repeat`, `retry` or `burst` block is open here"),
                ),
            },
            LineItem::Stmt(item) => self.push_item(src, *item),
        }
    }

    fn push_item(&mut self, src: &Source<'_>, item: Item) {
        if let Some(top) = self.stack.last_mut() {
            top.body.push(item);
        } else if let Some(rb) = self.runbooks.last_mut() {
            rb.items.push(item);
        } else if !self.outside_reported {
            self.outside_reported = true;
            let span = src.span(item.span.offset, item.span.offset + item.span.len);
            self.errors.push(
                Diagnostic::new(span, "statement outside a runbook")
                    .with_label("no `runbook` line comes before this")
                    .with_note("help: start the file with `runbook \"title\"`; statements belong to the runbook above them"),
            );
        }
    }

    fn open(&mut self, src: &Source<'_>, kind: Option<BlockKind>, span: Span, text: String) {
        let kind = if kind.is_some() && self.stack.len() >= MAX_DEPTH {
            self.errors.push(
                Diagnostic::new(
                    span.clone(),
                    format!("blocks nest too deeply (at most {MAX_DEPTH} levels)"),
                )
                .with_label("one block too many"),
            );
            None
        } else {
            kind
        };
        let _ = src;
        self.stack.push(Open {
            kind,
            span,
            text,
            body: Vec::new(),
        });
    }

    fn close(&mut self, src: &Source<'_>, open: Open) {
        match open.kind {
            Some(kind) => self.push_item(
                src,
                Item {
                    span: open.span,
                    text: open.text,
                    stmt: Stmt::Block {
                        kind,
                        body: open.body,
                    },
                    capture: None,
                    outcome: None,
                },
            ),
            // The head was reported already; keep the body for the checks.
            None => {
                for item in open.body {
                    self.push_item(src, item);
                }
            }
        }
    }

    fn close_all(&mut self, src: &Source<'_>, why: &str) {
        let mut unclosed = Vec::new();
        while let Some(open) = self.stack.pop() {
            if open.kind.is_some() {
                unclosed.push(
                    Diagnostic::new(open.span.clone(), "this block is never closed")
                        .with_label("no `}` line closes it")
                        .with_note(format!("note: {why}")),
                );
            }
            self.close(src, open);
        }
        // Outermost first, as they are written.
        self.errors.extend(unclosed.into_iter().rev());
    }

    fn finish(mut self, src: &Source<'_>) -> Parsed {
        self.close_all(src, "the file ends before it is closed");
        if self.runbooks.is_empty() && self.errors.is_empty() {
            self.errors.push(
                Diagnostic::new(src.span(0, 0), "no runbook in this file")
                    .with_note("help: a runbook starts with a line `runbook \"title\"`"),
            );
        }
        Parsed {
            runbooks: self.runbooks,
            errors: self.errors,
        }
    }
}

/// Rejects input whose `{`/`[` nesting exceeds [`MAX_DEPTH`] before pest
/// sees it. The count ignores brackets in strings and comments and never
/// goes below zero, so it bounds the nesting of any statement.
fn too_deep(src: &Source<'_>) -> Option<Diagnostic> {
    let mut depth = 0usize;
    for (start, line) in src.text.split_inclusive('\n').scan(0, |at, l| {
        let here = *at;
        *at += l.len();
        Some((here, l))
    }) {
        let mut in_string = false;
        let mut escaped = false;
        for (i, c) in line.char_indices() {
            if in_string {
                match (escaped, c) {
                    (true, _) => escaped = false,
                    (false, '\\') => escaped = true,
                    (false, '"') => in_string = false,
                    (false, _) => {}
                }
                continue;
            }
            match c {
                '"' => in_string = true,
                '#' => break,
                '{' | '[' => {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return Some(
                            Diagnostic::new(
                                src.span(start + i, start + i + 1),
                                format!("values and blocks nest too deeply (at most {MAX_DEPTH} levels)"),
                            )
                            .with_label("one level too many"),
                        );
                    }
                }
                '}' | ']' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
    }
    None
}

// ---------------------------------------------------------------------------
// Syntax errors and recovery

/// What a line that failed to parse looked like, so the builder can keep
/// its structure.
enum Shape {
    RunbookHead,
    BlockHead,
    Other,
}

struct Recovery {
    diagnostic: Diagnostic,
    /// Where parsing goes on.
    resume: usize,
    shape: Shape,
}

/// Turns a pest error on the statement at `start` into a diagnostic, and
/// finds where the next statement starts.
fn syntax_error(src: &Source<'_>, start: usize, err: &pest::error::Error<Rule>) -> Recovery {
    let rel = match err.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((p, _)) => p,
    };
    let at = (start + rel).min(src.text.len());
    let rest = src.text.get(start..).unwrap_or("");
    let word = first_word(rest);
    let scan = scan_statement(src, start);
    let shape = match word {
        "runbook" => Shape::RunbookHead,
        "repeat" | "retry" | "burst" if opens_block(src.line_text(start)) => Shape::BlockHead,
        _ => Shape::Other,
    };
    let resume = match shape {
        Shape::RunbookHead | Shape::BlockHead => src.next_line_start(start),
        Shape::Other => scan.resume,
    };
    let expected = Expected::of(src, at, err);

    let diagnostic = if let Some(open) = scan.heredoc_unclosed {
        Diagnostic::new(src.span(open, open + 3), "unterminated inline world")
            .with_label("no line `\"\"\"` closes this")
            .with_note("help: end the YAML with a line that holds only `\"\"\"`")
    } else if let Some(end) = unterminated_string(src, at) {
        Diagnostic::new(src.span(at, end), "unterminated string")
            .with_label("this string has no closing `\"` on its line")
    } else if let (Some(open), true) = (scan.unclosed, src.line_of(at) > src.line_of(start)) {
        let bracket = src.text.get(open..open + 1).unwrap_or("{");
        let close = if bracket == "[" { "]" } else { "}" };
        let before = if scan.resume < src.text.len() {
            format!(
                "before line {}, which starts the next statement",
                src.line_of(scan.resume)
            )
        } else {
            "before the end of the file".to_owned()
        };
        Diagnostic::new(src.span(open, open + 1), format!("unclosed `{bracket}`"))
            .with_label(format!("this `{bracket}` is never closed"))
            .with_note(format!("help: write `{close}` {before}"))
    } else if word == "cloudhsm" && cli_error_with_exception(src, start, at) {
        expected.diagnostic(src, at).with_note(
            "help: a CloudHSM CLI line fails with an error code, not an AWS exception: write `=> error` or `=> error \"substring\"`",
        )
    } else {
        expected.diagnostic(src, at)
    };
    Recovery {
        diagnostic,
        resume,
        shape,
    }
}

/// Whether the error is an exception name after `=> error` on a CLI line.
fn cli_error_with_exception(src: &Source<'_>, start: usize, at: usize) -> bool {
    let before = src.text.get(start..at).unwrap_or("").trim_end();
    before.ends_with("error")
        && src
            .text
            .get(at..)
            .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_alphabetic()))
}

/// Whether a line (before its comment) ends with `{`.
fn opens_block(line: &str) -> bool {
    let code = line.split('#').next().unwrap_or("");
    code.trim_end().ends_with('{')
}

/// What pest expected at the error, in words, and what it found.
struct Expected {
    words: Vec<&'static str>,
    keywords: Vec<&'static str>,
    statement: bool,
    found: String,
    found_len: usize,
    custom: Option<String>,
}

impl Expected {
    fn of(src: &Source<'_>, at: usize, err: &pest::error::Error<Rule>) -> Expected {
        let (found, found_len) = found_at(src.text, at);
        let mut e = Expected {
            words: Vec::new(),
            keywords: Vec::new(),
            statement: false,
            found,
            found_len,
            custom: None,
        };
        match &err.variant {
            ErrorVariant::ParsingError { positives, .. } => {
                for rule in positives {
                    if matches!(rule, Rule::line | Rule::item | Rule::statement) {
                        e.statement = true;
                    }
                    if let Some(k) = words::keyword(*rule) {
                        if !e.keywords.contains(&k) {
                            e.keywords.push(k);
                        }
                    }
                    let w = words::describe(*rule);
                    if !e.words.contains(&w) {
                        e.words.push(w);
                    }
                }
            }
            ErrorVariant::CustomError { message } => e.custom = Some(message.clone()),
        }
        // "the end of the line" reads best last.
        let eol = words::describe(Rule::eol);
        if let Some(i) = e.words.iter().position(|w| *w == eol) {
            let w = e.words.remove(i);
            e.words.push(w);
        }
        e
    }

    fn sentence(&self) -> String {
        if let Some(m) = &self.custom {
            return m.clone();
        }
        if self.statement {
            return format!("expected a statement, found {}", self.found);
        }
        let list = match self.words.as_slice() {
            [] => "something else".to_owned(),
            [one] => (*one).to_owned(),
            [one, two] => format!("{one} or {two}"),
            [init @ .., last] => format!("{}, or {last}", init.join(", ")),
        };
        format!("expected {list}, found {}", self.found)
    }

    fn diagnostic(&self, src: &Source<'_>, at: usize) -> Diagnostic {
        let span = src.span(at, at + self.found_len);
        if self.statement && self.custom.is_none() {
            let word = first_word(src.text.get(at..).unwrap_or(""));
            let shown = if word.is_empty() {
                self.found.clone()
            } else {
                format!("`{word}`")
            };
            let mut d = Diagnostic::new(span, format!("unknown statement {shown}"))
                .with_label("not a statement");
            if let Some(k) = closest(word, STATEMENT_KEYWORDS.iter().copied()) {
                d = d.with_note(format!("help: did you mean `{k}`?"));
            }
            return d.with_note("help: `hsmdrill steps` lists every statement");
        }
        let mut d = Diagnostic::new(span, self.sentence());
        let word = first_word(src.text.get(at..).unwrap_or(""));
        if let Some(k) = closest(word, self.keywords.iter().copied()) {
            d = d.with_note(format!("help: did you mean `{k}`?"));
        }
        d
    }
}

/// What is at `at`, for "found …", and how many bytes to underline.
fn found_at(text: &str, at: usize) -> (String, usize) {
    let rest = text.get(at..).unwrap_or("");
    let Some(c) = rest.chars().next() else {
        return ("the end of the file".to_owned(), 0);
    };
    if c == '\n' || c == '\r' {
        return ("the end of the line".to_owned(), 0);
    }
    const PUNCT: &[char] = &['{', '}', '[', ']', '(', ')', ',', ':', '"'];
    let len = if PUNCT.contains(&c) {
        c.len_utf8()
    } else {
        rest.find(|c: char| c.is_whitespace() || PUNCT.contains(&c))
            .unwrap_or(rest.len())
    };
    let shown: String = rest.get(..len).unwrap_or("").chars().take(40).collect();
    (format!("`{shown}`"), len)
}

/// If a string starting at `at` runs to the end of its line, where the line
/// ends.
fn unterminated_string(src: &Source<'_>, at: usize) -> Option<usize> {
    let rest = src.text.get(at..)?;
    let mut chars = rest.char_indices();
    if chars.next()?.1 != '"' {
        return None;
    }
    let mut escaped = false;
    for (i, c) in chars {
        match (escaped, c) {
            (_, '\n') | (_, '\r') => return Some(at + i),
            (true, _) => escaped = false,
            (false, '\\') => escaped = true,
            (false, '"') => return None,
            (false, _) => {}
        }
    }
    Some(src.text.len())
}

/// Where a broken statement ends.
struct Scan {
    resume: usize,
    /// The innermost `{`/`[` left open, when the statement ran into the
    /// next statement or the end of the file.
    unclosed: Option<usize>,
    /// The `"""` of an inline world that nothing closes.
    heredoc_unclosed: Option<usize>,
}

/// Finds the end of the statement at `start`: the end of its line, unless
/// it opened a value (then the line that closes it, or the next line that
/// starts a statement) or an inline world (then its closing `"""`).
fn scan_statement(src: &Source<'_>, start: usize) -> Scan {
    let text = src.text;
    let rest = text.get(start..).unwrap_or("");
    let next_line = src.next_line_start(start);
    let word = first_word(rest);
    if word == "world" {
        let after = rest.trim_start().trim_start_matches("world").trim_start();
        if after.starts_with("\"\"\"") {
            let open = start + (rest.len() - after.len());
            let mut at = next_line;
            while at < text.len() {
                let line = src.line_text(at);
                let next = src.next_line_start(at);
                if line.trim_start().starts_with("\"\"\"") {
                    return Scan {
                        resume: next,
                        unclosed: None,
                        heredoc_unclosed: None,
                    };
                }
                at = next;
            }
            return Scan {
                resume: text.len(),
                unclosed: None,
                heredoc_unclosed: Some(open),
            };
        }
    }
    if word == "cloudhsm" {
        return Scan {
            resume: next_line,
            unclosed: None,
            heredoc_unclosed: None,
        };
    }
    let mut open: Vec<usize> = Vec::new();
    let mut in_string = false;
    let mut escaped = false;
    let mut comment = false;
    for (i, c) in rest.char_indices() {
        let here = start + i;
        if c == '\n' {
            in_string = false;
            escaped = false;
            comment = false;
            let next = here + 1;
            if open.is_empty() {
                return Scan {
                    resume: next,
                    unclosed: None,
                    heredoc_unclosed: None,
                };
            }
            let following = text.get(next..).unwrap_or("");
            let w = first_word(following);
            let after = following.trim_start().get(w.len()..).unwrap_or("");
            if STATEMENT_KEYWORDS.contains(&w) && !after.trim_start().starts_with(':') {
                return Scan {
                    resume: next,
                    unclosed: open.last().copied(),
                    heredoc_unclosed: None,
                };
            }
            continue;
        }
        if comment {
            continue;
        }
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                (false, _) => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '#' => comment = true,
            '{' | '[' => open.push(here),
            '}' | ']' => {
                open.pop();
            }
            _ => {}
        }
    }
    Scan {
        resume: text.len(),
        unclosed: open.last().copied(),
        heredoc_unclosed: None,
    }
}

// ---------------------------------------------------------------------------
// From pairs to the syntax tree

/// Spans of pairs matched on the slice of the text that starts at `base`.
struct Ctx<'s, 'a> {
    src: &'s Source<'a>,
    base: usize,
}

/// Walks the children of a pair, skipping keywords and punctuation.
struct Cursor<'i> {
    pairs: std::iter::Peekable<Pairs<'i, Rule>>,
    /// The parent, for errors.
    at: Span,
}

impl<'i> Cursor<'i> {
    fn next(&mut self) -> Option<Pair<'i, Rule>> {
        loop {
            let p = self.pairs.next()?;
            if !words::is_noise(p.as_rule()) {
                return Some(p);
            }
        }
    }

    fn peek_rule(&mut self) -> Option<Rule> {
        while let Some(p) = self.pairs.peek() {
            if words::is_noise(p.as_rule()) {
                self.pairs.next();
            } else {
                return Some(p.as_rule());
            }
        }
        None
    }

    /// The next child, which must be a `rule`.
    fn expect(&mut self, rule: Rule) -> Result<Pair<'i, Rule>, Diagnostic> {
        match self.next() {
            Some(p) if p.as_rule() == rule => Ok(p),
            Some(p) => Err(internal(
                &self.at,
                &format!("expected {rule:?}, found {:?}", p.as_rule()),
            )),
            None => Err(internal(
                &self.at,
                &format!("expected {rule:?}, found nothing"),
            )),
        }
    }

    /// The next child, whatever it is.
    fn any(&mut self) -> Result<Pair<'i, Rule>, Diagnostic> {
        self.next()
            .ok_or_else(|| internal(&self.at, "expected more, found nothing"))
    }

    /// The next child if it is a `rule`.
    fn optional(&mut self, rule: Rule) -> Option<Pair<'i, Rule>> {
        if self.peek_rule() == Some(rule) {
            self.next()
        } else {
            None
        }
    }

    /// Nothing may be left.
    fn finish(mut self) -> Result<(), Diagnostic> {
        match self.next() {
            None => Ok(()),
            Some(p) => Err(internal(
                &self.at,
                &format!("unexpected {:?} at the end", p.as_rule()),
            )),
        }
    }
}

fn internal(at: &Span, what: &str) -> Diagnostic {
    Diagnostic::new(
        at.clone(),
        "internal error: the runbook grammar and its parser disagree here",
    )
    .with_note(format!("note: {what}"))
    .with_note("note: this is a bug in hsmdrill; please report it with this runbook")
}

type Res<T> = Result<T, Diagnostic>;

impl Ctx<'_, '_> {
    /// The span of a pair, without the whitespace pest may have skipped at
    /// its end.
    fn span(&self, p: &Pair<'_, Rule>) -> Span {
        let start = self.base + p.as_span().start();
        self.src.span(start, start + p.as_str().trim_end().len())
    }

    fn cursor<'i>(&self, p: Pair<'i, Rule>) -> Cursor<'i> {
        let at = self.span(&p);
        Cursor {
            pairs: p.into_inner().peekable(),
            at,
        }
    }

    fn tok(&self, p: &Pair<'_, Rule>) -> Tok {
        Tok {
            text: p.as_str().to_owned(),
            span: self.span(p),
        }
    }

    /// A name that may be a variable, a string or a bare word (`store`,
    /// `cluster`, `key`, `hsm`, `subnet`, `ciphertext`).
    fn name_ref(&self, p: Pair<'_, Rule>) -> Res<Tok> {
        let mut c = self.cursor(p);
        let inner = c.any()?;
        c.finish()?;
        match inner.as_rule() {
            Rule::string => self.string(&inner),
            _ => Ok(self.tok(&inner)),
        }
    }

    fn string(&self, p: &Pair<'_, Rule>) -> Res<Tok> {
        let span = self.span(p);
        Ok(Tok {
            text: unescape(self.src, p.as_str(), &span)?,
            span,
        })
    }

    fn count(&self, p: &Pair<'_, Rule>) -> Res<(u32, Span)> {
        let span = self.span(p);
        match p.as_str().parse::<u32>() {
            Ok(n) => Ok((n, span)),
            Err(_) => Err(
                Diagnostic::new(span, format!("`{}` is too large", p.as_str()))
                    .with_label(format!("at most {}", u32::MAX)),
            ),
        }
    }

    fn line_item(&self, line: Pair<'_, Rule>) -> Res<LineItem> {
        let mut c = self.cursor(line);
        let Some(item) = c.next() else {
            return Ok(LineItem::Empty);
        };
        c.finish()?;
        let mut c = self.cursor(item);
        let inner = c.any()?;
        c.finish()?;
        let span = self.span(&inner);
        let text = first_line(inner.as_str());
        match inner.as_rule() {
            Rule::runbook_head => {
                let mut c = self.cursor(inner);
                let title = self.string(&c.expect(Rule::string)?)?.text;
                let mut tags = Vec::new();
                while let Some(t) = c.optional(Rule::tag) {
                    tags.push(t.as_str().trim_start_matches('@').to_owned());
                }
                c.finish()?;
                Ok(LineItem::Head { title, tags, span })
            }
            Rule::block_close => Ok(LineItem::Close(span)),
            Rule::block_open => {
                let mut c = self.cursor(inner);
                let kind = self.block_head(c.expect(Rule::block_head)?)?;
                c.finish()?;
                Ok(LineItem::Open { kind, span, text })
            }
            Rule::block_line => {
                let mut c = self.cursor(inner);
                let kind = self.block_head(c.expect(Rule::block_head)?)?;
                let body = self.statement(c.expect(Rule::statement)?)?;
                c.finish()?;
                Ok(LineItem::Stmt(Box::new(Item {
                    span,
                    text,
                    stmt: Stmt::Block {
                        kind,
                        body: vec![body],
                    },
                    capture: None,
                    outcome: None,
                })))
            }
            Rule::statement => Ok(LineItem::Stmt(Box::new(self.statement(inner)?))),
            other => Err(internal(&span, &format!("unexpected {other:?} on a line"))),
        }
    }

    fn block_head(&self, p: Pair<'_, Rule>) -> Res<BlockKind> {
        let mut c = self.cursor(p);
        let head = c.any()?;
        c.finish()?;
        let rule = head.as_rule();
        let at = self.span(&head);
        let mut c = self.cursor(head);
        let n = self.count(&c.expect(Rule::count)?)?;
        let kind = match rule {
            Rule::repeat_head => BlockKind::Repeat(n),
            Rule::burst_head => BlockKind::Burst(n),
            Rule::retry_head => {
                let base = match c.optional(Rule::duration) {
                    Some(d) => self.duration(d)?,
                    None => Duration::from_millis(100),
                };
                BlockKind::Retry { attempts: n, base }
            }
            other => return Err(internal(&at, &format!("unexpected {other:?} as a block"))),
        };
        c.finish()?;
        Ok(kind)
    }

    fn duration(&self, p: Pair<'_, Rule>) -> Res<Duration> {
        let span = self.span(&p);
        let mut c = self.cursor(p);
        let n = c.expect(Rule::count)?;
        let unit = c.expect(Rule::unit)?;
        c.finish()?;
        let ms_per: u64 = match unit.as_str() {
            "milliseconds" | "millisecond" | "ms" => 1,
            "seconds" | "second" | "secs" | "sec" | "s" => 1_000,
            "minutes" | "minute" | "mins" | "min" | "m" => 60_000,
            "hours" | "hour" | "h" => 3_600_000,
            _ => 86_400_000,
        };
        n.as_str()
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(ms_per))
            .map(Duration::from_millis)
            .ok_or_else(|| {
                Diagnostic::new(span, "this duration is too long").with_label("overflows")
            })
    }

    fn statement(&self, p: Pair<'_, Rule>) -> Res<Item> {
        let span = self.span(&p);
        let text = first_line(p.as_str());
        let mut c = self.cursor(p);
        let inner = c.any()?;
        c.finish()?;
        let mut item = Item {
            span,
            text,
            stmt: Stmt::Settle,
            capture: None,
            outcome: None,
        };
        item.stmt = match inner.as_rule() {
            Rule::world => self.world(inner)?,
            Rule::expect => Stmt::Expect(self.expect(inner)?),
            Rule::capture => {
                let mut c = self.cursor(inner);
                let name = var_name(self, &c.expect(Rule::var_name)?);
                let (subject, path) = self.subject(c.expect(Rule::subject)?)?;
                c.finish()?;
                Stmt::Capture {
                    name,
                    subject,
                    path,
                }
            }
            Rule::action => {
                let mut c = self.cursor(inner);
                let body = c.any()?;
                let stmt = if body.as_rule() == Rule::cli {
                    let mut cc = self.cursor(body);
                    let cluster = self.name_ref(cc.expect(Rule::cluster)?)?;
                    let session = match cc.optional(Rule::session) {
                        Some(s) => {
                            let mut sc = self.cursor(s);
                            let name = self.tok(&sc.expect(Rule::session_name)?);
                            sc.finish()?;
                            Some(name)
                        }
                        None => None,
                    };
                    let line_pair = cc.expect(Rule::cli_line)?;
                    let mut line = self.tok(&line_pair);
                    line.text = line.text.trim_end().to_owned();
                    line.span.len = line.text.len();
                    self.suffixes(&mut cc, &mut item)?;
                    cc.finish()?;
                    Stmt::Cli {
                        cluster,
                        session,
                        line,
                    }
                } else {
                    self.plain_action(body)?
                };
                self.suffixes(&mut c, &mut item)?;
                c.finish()?;
                stmt
            }
            other => {
                return Err(internal(
                    &item.span,
                    &format!("unexpected {other:?} as a statement"),
                ))
            }
        };
        Ok(item)
    }

    /// `-> name` and `=> …` after an action.
    fn suffixes(&self, c: &mut Cursor<'_>, item: &mut Item) -> Res<()> {
        while let Some(rule) = c.peek_rule() {
            let p = c.any()?;
            let span = self.span(&p);
            match rule {
                Rule::capture_to => {
                    if item.capture.is_some() {
                        return Err(Diagnostic::new(span, "a statement captures at most once")
                            .with_label("second `->`"));
                    }
                    let mut cc = self.cursor(p);
                    item.capture = Some(var_name(self, &cc.expect(Rule::var_name)?));
                    cc.finish()?;
                }
                Rule::outcome | Rule::cli_outcome => {
                    if item.outcome.is_some() {
                        return Err(Diagnostic::new(span, "a statement has at most one `=>`")
                            .with_label("second `=>`"));
                    }
                    let mut cc = self.cursor(p);
                    let o = cc.any()?;
                    cc.finish()?;
                    let expect = match o.as_rule() {
                        Rule::outcome_ok => ExpectAst::Ok,
                        Rule::outcome_error => {
                            let mut oc = self.cursor(o);
                            let exception = oc.optional(Rule::exception).map(|e| self.tok(&e));
                            let message = self.message(&mut oc)?;
                            oc.finish()?;
                            ExpectAst::Error { exception, message }
                        }
                        Rule::cli_outcome_error => {
                            let mut oc = self.cursor(o);
                            let message = self.message(&mut oc)?;
                            oc.finish()?;
                            ExpectAst::CliError { message }
                        }
                        other => {
                            return Err(internal(
                                &span,
                                &format!("unexpected {other:?} after `=>`"),
                            ))
                        }
                    };
                    item.outcome = Some((expect, span));
                }
                _ => {
                    return Err(internal(
                        &span,
                        &format!("unexpected {rule:?} after an action"),
                    ));
                }
            }
        }
        Ok(())
    }

    fn message(&self, c: &mut Cursor<'_>) -> Res<Option<Tok>> {
        match c.optional(Rule::message) {
            Some(m) => {
                let mut mc = self.cursor(m);
                let s = self.string(&mc.expect(Rule::string)?)?;
                mc.finish()?;
                Ok(Some(s))
            }
            None => Ok(None),
        }
    }

    fn world(&self, p: Pair<'_, Rule>) -> Res<Stmt> {
        let mut c = self.cursor(p);
        let inner = c.any()?;
        c.finish()?;
        match inner.as_rule() {
            Rule::world_path => {
                let mut c = self.cursor(inner);
                let path = self.string(&c.expect(Rule::string)?)?;
                c.finish()?;
                Ok(Stmt::World(path))
            }
            Rule::heredoc => {
                let at = self.span(&inner);
                let mut lines: Vec<(usize, &str)> = Vec::new();
                let mut c = self.cursor(inner);
                c.expect(Rule::heredoc_open)?;
                while let Some(l) = c.optional(Rule::heredoc_line) {
                    let start = self.base + l.as_span().start();
                    lines.push((start, l.as_str().trim_end_matches(['\n', '\r'])));
                }
                c.expect(Rule::heredoc_close)?;
                c.finish()?;
                let indent = lines
                    .iter()
                    .filter(|(_, l)| !l.trim().is_empty())
                    .map(|(_, l)| l.len() - l.trim_start_matches([' ', '\t']).len())
                    .min()
                    .unwrap_or(0);
                let mut yaml = String::new();
                for (_, l) in &lines {
                    yaml.push_str(l.get(indent..).unwrap_or("").trim_end());
                    yaml.push('\n');
                }
                let first_offset = lines.first().map_or(at.offset, |(start, _)| *start);
                Ok(Stmt::WorldYaml {
                    yaml,
                    first_line: self.src.line_of(first_offset),
                    first_offset,
                    indent,
                })
            }
            other => Err(internal(
                &self.span(&inner),
                &format!("unexpected {other:?} in `world`"),
            )),
        }
    }

    fn plain_action(&self, p: Pair<'_, Rule>) -> Res<Stmt> {
        let rule = p.as_rule();
        let at = self.span(&p);
        let mut c = self.cursor(p);
        let stmt = match rule {
            Rule::call => {
                let op = self.tok(&c.expect(Rule::operation)?);
                let input = match c.optional(Rule::object) {
                    Some(o) => Some(self.object(o, 1)?),
                    None => None,
                };
                Stmt::Call { op, input }
            }
            Rule::connect => Stmt::Connect(self.name_ref(c.expect(Rule::store)?)?),
            Rule::disconnect => Stmt::Disconnect(self.name_ref(c.expect(Rule::store)?)?),
            Rule::settle => Stmt::Settle,
            Rule::wait => Stmt::Wait(self.duration(c.expect(Rule::duration)?)?),
            Rule::encrypt => {
                let text = self.string(&c.expect(Rule::string)?)?;
                let key = self.name_ref(c.expect(Rule::key)?)?;
                let context = self.context(&mut c)?;
                Stmt::Encrypt { text, key, context }
            }
            Rule::decrypt => {
                let blob = self.name_ref(c.expect(Rule::ciphertext)?)?;
                let context = self.context(&mut c)?;
                Stmt::Decrypt { blob, context }
            }
            Rule::fault => {
                let f = c.any()?;
                self.fault(f)?
            }
            other => return Err(internal(&at, &format!("unexpected {other:?} as an action"))),
        };
        c.finish()?;
        Ok(stmt)
    }

    fn context(&self, c: &mut Cursor<'_>) -> Res<Option<Val>> {
        match c.optional(Rule::context) {
            Some(ctx) => {
                let mut cc = self.cursor(ctx);
                let v = self.object(cc.expect(Rule::object)?, 1)?;
                cc.finish()?;
                Ok(Some(v))
            }
            None => Ok(None),
        }
    }

    fn fault(&self, p: Pair<'_, Rule>) -> Res<Stmt> {
        let rule = p.as_rule();
        let at = self.span(&p);
        let mut c = self.cursor(p);
        let mut names = Vec::new();
        let mut name = |c: &mut Cursor<'_>, rule: Rule| -> Res<String> {
            let t = self.name_ref(c.expect(rule)?)?;
            let text = t.text.clone();
            names.push(t);
            Ok(text)
        };
        let fault = match rule {
            Rule::net_block | Rule::net_unblock => Fault::Network {
                cluster: name(&mut c, Rule::cluster)?,
                condition: if rule == Rule::net_block {
                    NetworkCondition::Blocked
                } else {
                    NetworkCondition::Ok
                },
            },
            Rule::net_flaky => {
                let cluster = name(&mut c, Rule::cluster)?;
                let (n, _) = self.count(&c.expect(Rule::count)?)?;
                Fault::Network {
                    cluster,
                    condition: NetworkCondition::Flaky(n),
                }
            }
            Rule::sg_break | Rule::sg_mend => Fault::SecurityGroup {
                cluster: name(&mut c, Rule::cluster)?,
                ok: rule == Rule::sg_mend,
            },
            Rule::hsms_delete_all => Fault::DeleteHsm {
                cluster: name(&mut c, Rule::cluster)?,
                hsm: None,
            },
            Rule::hsm_delete => {
                let hsm = name(&mut c, Rule::hsm)?;
                Fault::DeleteHsm {
                    cluster: name(&mut c, Rule::cluster)?,
                    hsm: Some(hsm),
                }
            }
            Rule::cluster_delete => Fault::DeleteCluster {
                cluster: name(&mut c, Rule::cluster)?,
            },
            Rule::subnet_delete => Fault::DeleteSubnet {
                subnet: name(&mut c, Rule::subnet)?,
            },
            Rule::subnet_free => {
                let subnet = name(&mut c, Rule::subnet)?;
                let (count, _) = self.count(&c.expect(Rule::count)?)?;
                Fault::FreeAddresses { subnet, count }
            }
            Rule::sessions_exhaust => Fault::ExhaustSessions {
                cluster: name(&mut c, Rule::cluster)?,
            },
            Rule::sessions_release => Fault::ReleaseSessions {
                cluster: name(&mut c, Rule::cluster)?,
            },
            Rule::connects_fail => {
                let (count, _) = self.count(&c.expect(Rule::count)?)?;
                Fault::InternalErrors {
                    cluster: name(&mut c, Rule::cluster)?,
                    count,
                }
            }
            Rule::backup => Fault::Backup {
                cluster: name(&mut c, Rule::cluster)?,
            },
            other => return Err(internal(&at, &format!("unexpected {other:?} as a fault"))),
        };
        c.finish()?;
        Ok(Stmt::Fault { fault, names })
    }

    fn expect(&self, p: Pair<'_, Rule>) -> Res<ExpectAst> {
        let mut c = self.cursor(p);
        let inner = c.any()?;
        c.finish()?;
        let rule = inner.as_rule();
        let at = self.span(&inner);
        let mut c = self.cursor(inner);
        let e = match rule {
            Rule::expect_ok => ExpectAst::Ok,
            Rule::expect_error => {
                let exception = Some(self.tok(&c.expect(Rule::exception)?));
                let message = self.message(&mut c)?;
                ExpectAst::Error { exception, message }
            }
            Rule::expect_cli_error => ExpectAst::CliError {
                message: self.message(&mut c)?,
            },
            Rule::expect_trail => {
                let event = self.tok(&c.expect(Rule::event)?);
                let fields = self.trail_fields(c.expect(Rule::trail_fields)?)?;
                ExpectAst::Trail { event, fields }
            }
            Rule::expect_decrypt => {
                let blob = self.name_ref(c.expect(Rule::ciphertext)?)?;
                let context = self.context(&mut c)?;
                let plaintext = self.string(&c.expect(Rule::string)?)?;
                ExpectAst::Decrypt {
                    blob,
                    context,
                    plaintext,
                }
            }
            Rule::expect_field => {
                let (subject, path) = self.subject(c.expect(Rule::subject)?)?;
                let cmp = c.expect(Rule::comparison)?;
                let mut cc = self.cursor(cmp);
                let which = cc.any()?;
                cc.finish()?;
                let which_rule = which.as_rule();
                let mut wc = self.cursor(which);
                let value = match wc.optional(Rule::value) {
                    Some(v) => Some(self.value(v, 1)?),
                    None => None,
                };
                wc.finish()?;
                let comparison = match which_rule {
                    Rule::cmp_eq => Comparison::Equals,
                    Rule::cmp_ne => Comparison::NotEquals,
                    Rule::cmp_contains => Comparison::Contains,
                    Rule::cmp_absent => Comparison::Absent,
                    _ => Comparison::Present,
                };
                ExpectAst::Field {
                    subject,
                    path,
                    comparison,
                    value,
                }
            }
            other => return Err(internal(&at, &format!("unexpected {other:?} in `expect`"))),
        };
        c.finish()?;
        Ok(e)
    }

    fn subject(&self, p: Pair<'_, Rule>) -> Res<(SubjectAst, PathAst)> {
        let mut c = self.cursor(p);
        let inner = c.any()?;
        c.finish()?;
        let rule = inner.as_rule();
        let at = self.span(&inner);
        let mut c = self.cursor(inner);
        let subject = match rule {
            Rule::subject_last => SubjectAst::Last,
            Rule::subject_store => SubjectAst::Store(self.name_ref(c.expect(Rule::store)?)?),
            Rule::subject_key => SubjectAst::Key(self.name_ref(c.expect(Rule::key)?)?),
            Rule::subject_trail => SubjectAst::Trail(self.tok(&c.expect(Rule::event)?)),
            other => return Err(internal(&at, &format!("unexpected {other:?} as a subject"))),
        };
        let path = self.path(c.expect(Rule::path)?)?;
        c.finish()?;
        Ok((subject, path))
    }

    fn path(&self, p: Pair<'_, Rule>) -> Res<PathAst> {
        let mut segments = Vec::new();
        let mut c = self.cursor(p);
        while let Some(seg) = c.next() {
            segments.push(self.segment(seg)?);
        }
        Ok(PathAst {
            path: Path(segments),
        })
    }

    fn segment(&self, seg: Pair<'_, Rule>) -> Res<Segment> {
        let at = self.span(&seg);
        match seg.as_rule() {
            Rule::field_name => Ok(Segment::Field(seg.as_str().to_owned())),
            Rule::string => Ok(Segment::Field(self.string(&seg)?.text)),
            Rule::field_seg => {
                let mut c = self.cursor(seg);
                let name = c.any()?;
                c.finish()?;
                self.segment(name)
            }
            Rule::index_seg => {
                let mut c = self.cursor(seg);
                let index = c.expect(Rule::index)?;
                c.finish()?;
                let span = self.span(&index);
                index
                    .as_str()
                    .parse::<usize>()
                    .map(Segment::Index)
                    .map_err(|_| Diagnostic::new(span, "this index is too large"))
            }
            other => Err(internal(&at, &format!("unexpected {other:?} in a path"))),
        }
    }

    fn trail_fields(&self, p: Pair<'_, Rule>) -> Res<Vec<(PathAst, Val)>> {
        let mut out = Vec::new();
        let mut c = self.cursor(p);
        while let Some(m) = c.next() {
            let at = self.span(&m);
            if m.as_rule() != Rule::trail_member {
                return Err(internal(
                    &at,
                    &format!("unexpected {:?} in trail fields", m.as_rule()),
                ));
            }
            let mut mc = self.cursor(m);
            let path_pair = mc.expect(Rule::trail_path)?;
            let mut segments = Vec::new();
            let mut pc = self.cursor(path_pair);
            while let Some(seg) = pc.next() {
                segments.push(self.segment(seg)?);
            }
            let value = self.value(mc.expect(Rule::value)?, 1)?;
            mc.finish()?;
            out.push((
                PathAst {
                    path: Path(segments),
                },
                value,
            ));
        }
        Ok(out)
    }

    fn value(&self, p: Pair<'_, Rule>, depth: usize) -> Res<Val> {
        let mut c = self.cursor(p);
        let inner = c.any()?;
        c.finish()?;
        let span = self.span(&inner);
        let kind = match inner.as_rule() {
            Rule::object => return self.object(inner, depth + 1),
            Rule::list => {
                if depth > MAX_DEPTH {
                    return Err(too_deep_here(span));
                }
                let mut items = Vec::new();
                let mut lc = self.cursor(inner);
                while lc.peek_rule().is_some() {
                    items.push(self.value(lc.expect(Rule::value)?, depth + 1)?);
                }
                ValKind::List(items)
            }
            Rule::string => ValKind::Str(self.string(&inner)?.text),
            Rule::variable => ValKind::Var(inner.as_str().to_owned()),
            Rule::boolean => ValKind::Bool(inner.as_str() == "true"),
            Rule::null => ValKind::Null,
            Rule::number => match serde_json::from_str::<serde_json::Number>(inner.as_str()) {
                Ok(n) => ValKind::Num(n),
                Err(_) => {
                    return Err(Diagnostic::new(
                        span,
                        format!("`{}` is out of range", inner.as_str()),
                    )
                    .with_label("not a number JSON can hold"))
                }
            },
            Rule::bare => ValKind::Str(inner.as_str().to_owned()),
            other => return Err(internal(&span, &format!("unexpected {other:?} as a value"))),
        };
        Ok(Val { span, kind })
    }

    fn object(&self, p: Pair<'_, Rule>, depth: usize) -> Res<Val> {
        let span = self.span(&p);
        if depth > MAX_DEPTH {
            return Err(too_deep_here(span));
        }
        let mut members: Vec<(Tok, Val)> = Vec::new();
        let mut c = self.cursor(p);
        while let Some(m) = c.next() {
            let at = self.span(&m);
            if m.as_rule() != Rule::member {
                return Err(internal(
                    &at,
                    &format!("unexpected {:?} in an object", m.as_rule()),
                ));
            }
            let mut mc = self.cursor(m);
            let key_pair = mc.expect(Rule::member_key)?;
            let key = self.name_ref(key_pair)?;
            let value = self.value(mc.expect(Rule::value)?, depth)?;
            mc.finish()?;
            if let Some((first, _)) = members.iter().find(|(k, _)| k.text == key.text) {
                return Err(Diagnostic::new(
                    key.span.clone(),
                    format!("`{}` is given twice", key.text),
                )
                .with_label("second time")
                .with_note(format!("note: first given at {}", first.span)));
            }
            members.push((key, value));
        }
        Ok(Val {
            span,
            kind: ValKind::Object(members),
        })
    }
}

fn too_deep_here(span: Span) -> Diagnostic {
    Diagnostic::new(
        span,
        format!("values nest too deeply (at most {MAX_DEPTH} levels)"),
    )
}

fn var_name(ctx: &Ctx<'_, '_>, p: &Pair<'_, Rule>) -> Tok {
    let mut t = ctx.tok(p);
    t.text = t.text.trim_start_matches('$').to_owned();
    t
}

/// The first line of a statement's text, trimmed.
fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or("").trim().to_owned()
}

/// The value of a string literal (with its quotes), escapes resolved.
fn unescape(src: &Source<'_>, raw: &str, span: &Span) -> Res<String> {
    let inner = raw
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(raw);
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        // +1 for the opening quote.
        let at = span.offset + 1 + i;
        let bad = |len: usize, what: &str| {
            Diagnostic::new(src.span(at, at + len), what.to_owned())
                .with_note("help: the escapes are \\\" \\\\ \\n \\r \\t \\0 and \\u{XXXX}")
        };
        match chars.next() {
            Some((_, '"')) => out.push('"'),
            Some((_, '\\')) => out.push('\\'),
            Some((_, 'n')) => out.push('\n'),
            Some((_, 'r')) => out.push('\r'),
            Some((_, 't')) => out.push('\t'),
            Some((_, '0')) => out.push('\0'),
            Some((_, 'u')) => {
                let rest = inner.get(i + 2..).unwrap_or("");
                let hex = rest
                    .strip_prefix('{')
                    .and_then(|r| r.split_once('}'))
                    .map(|(h, _)| h);
                let Some(hex) = hex else {
                    return Err(bad(2, "a `\\u` escape needs braces: `\\u{1F600}`"));
                };
                let ch = u32::from_str_radix(hex, 16).ok().and_then(char::from_u32);
                let Some(ch) = ch else {
                    return Err(bad(hex.len() + 4, "not a Unicode scalar value"));
                };
                out.push(ch);
                // Skip `{hex}`.
                for _ in 0..hex.len() + 2 {
                    chars.next();
                }
            }
            Some((_, other)) => {
                return Err(bad(
                    1 + other.len_utf8(),
                    &format!("unknown escape `\\{other}`"),
                ));
            }
            None => return Err(bad(1, "a string cannot end with `\\`")),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(text: &str) -> Source<'_> {
        Source::new(text, Arc::from("t.runbook"))
    }

    #[test]
    fn spans_count_lines_and_characters() {
        let s = src("ab\néé x\n");
        let span = s.span(8, 9);
        assert_eq!(
            (span.line, span.column, span.offset, span.len),
            (2, 4, 8, 1)
        );
        assert_eq!(s.next_line_start(0), 3);
        assert_eq!(s.next_line_start(8), 10);
        // Out of range is clamped, never a panic.
        assert_eq!(s.span(100, 200).offset, 10);
    }

    #[test]
    fn a_broken_value_resumes_at_the_next_statement() {
        let text = "call X {\n  A: 1\nconnect S\n";
        let scan = scan_statement(&src(text), 0);
        assert_eq!(scan.resume, text.find("connect").unwrap());
        assert_eq!(scan.unclosed, Some(7));
        let text = "call X {\n  A: \"}\"\n}\nsettle\n";
        let scan = scan_statement(&src(text), 0);
        assert_eq!(scan.resume, text.find("settle").unwrap());
        assert_eq!(scan.unclosed, None);
    }

    #[test]
    fn broken_statements_remember_what_they_define() {
        assert_eq!(defined_names("encrypt \"x\" alias/app -> ct"), ["ct"]);
        assert_eq!(defined_names("capture $st = .X Y"), ["st"]);
        assert!(defined_names("connect").is_empty());
    }

    #[test]
    fn escapes() {
        let s = src("\"a\\n\\u{41}\\\"\"");
        let span = s.span(0, s.text.len());
        assert_eq!(unescape(&s, s.text, &span).unwrap(), "a\nA\"");
        let s = src("\"\\u{110000}\"");
        let span = s.span(0, s.text.len());
        assert!(unescape(&s, s.text, &span).is_err());
        let s = src("\"\\u41\"");
        let span = s.span(0, s.text.len());
        assert!(unescape(&s, s.text, &span).is_err());
    }
}

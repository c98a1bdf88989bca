//! From text to syntax tree: pest matches one logical line at a time, a
//! builder assembles lines into runbooks and blocks, and a cursor walks
//! each line's pairs into [`ast`](super::ast) nodes.
//!
//! Matching line by line is what lets a file report all its syntax errors:
//! when a line does not match, the error is recorded and parsing resumes at
//! the next statement (after the value or inline world the broken line
//! opened, if any). A broken line leaves a [`Stmt::Broken`] placeholder that
//! remembers the variables it would have defined, so the semantic checks do
//! not report its mistake a second time.
//!
//! - `recover.rs`: syntax errors in words, and where parsing resumes.
//! - `cursor.rs`: walking pairs; grammar/parser mismatches become spanned
//!   "internal error" diagnostics, never panics.
//! - `statements.rs`, `values.rs`: pairs to [`Stmt`]s, expectations, paths
//!   and values.
//! - `fragment.rs`: one value, path or object body on its own, for the
//!   Gherkin phrases that take runbook values as arguments.

mod cursor;
pub(crate) mod fragment;
mod recover;
mod statements;
mod values;

use pest::Parser as _;

use self::cursor::Ctx;
use self::recover::{syntax_error, Shape};
use self::statements::LineItem;
use super::ast::{BlockKind, Item, Runbook, Stmt};
use super::grammar::{Rule, RunbookParser};
use super::source::{first_word, too_deep, Source, MAX_DEPTH};
use crate::scenario::diagnostic::Diagnostic;
use crate::scenario::ir::Span;

/// The runbooks of a file, and the syntax errors met on the way.
pub(crate) struct Parsed {
    pub runbooks: Vec<Runbook>,
    pub errors: Vec<Diagnostic>,
}

/// Parses a whole file.
pub(crate) fn parse(src: &Source<'_>) -> Parsed {
    if let Some(d) = too_deep(src, 0, src.text.len()) {
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

// ---------------------------------------------------------------------------
// Assembling lines into runbooks and blocks

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
                None => {
                    self.errors
                        .push(Diagnostic::new(span, "`}` closes no block").with_label(
                            "no `repeat`, `retry`, `burst` or `in region` block is open here",
                        ))
                }
            },
            LineItem::Stmt(item) => self.push_item(src, *item),
        }
    }

    fn push_item(&mut self, src: &Source<'_>, item: Item) {
        let item = match self.attach_answer(item) {
            Some(item) => item,
            None => return,
        };
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

    /// An answer line (`Enter password: …`) joins the `cloudhsm` line right
    /// above it, with its `=> …` / `-> name`; `None` once attached. Any other
    /// item, or an answer with no such line above, is given back (the checks
    /// report a dangling answer).
    fn attach_answer(&mut self, item: Item) -> Option<Item> {
        let Stmt::Answer(answer) = &item.stmt else {
            return Some(item);
        };
        let container = match self.stack.last_mut() {
            Some(top) => &mut top.body,
            None => &mut self.runbooks.last_mut()?.items,
        };
        let Some(prev) = container.last_mut() else {
            return Some(item);
        };
        let Stmt::Cli { answers, .. } = &mut prev.stmt else {
            return Some(item);
        };
        if item.outcome.is_some() && prev.outcome.is_some() {
            self.errors.push(
                Diagnostic::new(item.span.clone(), "a statement has at most one `=>`")
                    .with_label("the `cloudhsm` line above has one already"),
            );
        }
        if item.capture.is_some() && prev.capture.is_some() {
            self.errors.push(
                Diagnostic::new(item.span.clone(), "a statement captures at most once")
                    .with_label("the `cloudhsm` line above has a `->` already"),
            );
        }
        answers.push(answer.clone());
        prev.span.len = (item.span.offset + item.span.len).saturating_sub(prev.span.offset);
        if prev.outcome.is_none() {
            prev.outcome = item.outcome;
        }
        if prev.capture.is_none() {
            prev.capture = item.capture;
        }
        None
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broken_statements_remember_what_they_define() {
        assert_eq!(defined_names("encrypt \"x\" alias/app -> ct"), ["ct"]);
        assert_eq!(defined_names("capture $st = .X Y"), ["st"]);
        assert!(defined_names("connect").is_empty());
    }
}

//! A step's arguments where they are written in the `.feature`, and the
//! syntax-tree pieces a builder makes of them: names as tokens, values
//! typed as the runbook language types them, paths and `call` inputs parsed
//! by the runbook's own grammar ([`crate::dsl::parser::fragment`]), each
//! with the span of the word it came from.
//!
//! An argument is *in place* when the feature holds its text verbatim at
//! its span (no `\"` escape, no outline `<column>` filled in): then a value
//! or path is parsed right there, and a mistake in it is reported at its
//! character. Otherwise it is parsed on its own and reported at the whole
//! argument.

use std::sync::Arc;
use std::time::Duration;

use crate::dsl::ast::{self, push_member, BlockKind, Item, PathAst, Stmt, Tok, Val, ValKind};
use crate::dsl::parser::fragment;
use crate::dsl::source::Source;
use crate::scenario::diagnostic::Diagnostic;
use crate::scenario::ir::Span;

/// What a builder made.
pub(crate) enum Built {
    /// Statements.
    Items(Vec<Item>),
    /// A block whose body is more phrases, which the translation builds in
    /// turn.
    Block {
        /// `repeat`, `retry` or `burst`, and its count.
        kind: BlockKind,
        /// Where the phrases are.
        body: Body,
    },
}

/// Where the phrases of a block are.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) enum Body {
    /// The capture with this index (`I repeat 3 times: PHRASE`); the step's
    /// table or doc string goes to that phrase.
    Capture(usize),
    /// The doc string, one phrase a line (a Gherkin keyword before it is
    /// allowed; blank lines and `#` comments are skipped).
    DocString,
}

/// A capture, a table cell or a doc string line, and where it is written.
#[derive(Clone, Debug)]
pub(crate) struct Arg {
    /// Its text (a quoted argument unescaped).
    pub text: String,
    /// Where it is written (inside the quotes); the step when it is not
    /// written in the step's line.
    pub span: Span,
    /// Whether the source holds `text` verbatim at `span`.
    pub in_place: bool,
}

impl Arg {
    /// An argument at `span`, in place if the source holds it there.
    pub fn at(src: &Source<'_>, text: String, span: Span) -> Arg {
        let in_place = src.text.get(span.offset..span.offset + span.len) == Some(text.as_str());
        Arg {
            text,
            span,
            in_place,
        }
    }

    fn tok(&self) -> Tok {
        Tok {
            text: self.text.clone(),
            span: self.span.clone(),
        }
    }

    /// The argument without surrounding blanks (its span too, when in
    /// place).
    fn trimmed(&self, src: &Source<'_>) -> Arg {
        let lead = self.text.len() - self.text.trim_start().len();
        let text = self.text.trim().to_owned();
        if self.in_place {
            let start = self.span.offset + lead;
            Arg {
                span: src.span(start, start + text.len()),
                text,
                in_place: true,
            }
        } else {
            Arg {
                text,
                span: self.span.clone(),
                in_place: false,
            }
        }
    }
}

/// A step's data table: its rows, and each cell as an [`Arg`].
pub(crate) struct Table {
    pub rows: Vec<Vec<Arg>>,
}

/// A step's doc string.
pub(crate) struct Doc<'a> {
    /// The text between the delimiters, dedented as Gherkin does.
    pub text: &'a str,
    /// The line in the file of each of its lines.
    pub lines: &'a [usize],
    /// Where it stands in the file, when the file holds each line verbatim
    /// after `indent`: the first line's start and the last line's end.
    pub in_place: Option<(usize, usize)>,
    /// The indentation Gherkin removed from each line (the delimiter's).
    pub indent: usize,
}

/// What a builder gets.
pub(crate) struct Args<'a, 's> {
    /// The feature.
    pub src: &'a Source<'s>,
    /// The Gherkin step: every statement it stands for is there.
    pub step: &'a Span,
    /// The step as reports show it (keyword and text).
    pub text: &'a str,
    /// The capture groups, in order.
    pub caps: Vec<Arg>,
    /// The step's data table, if any.
    pub table: Option<&'a Table>,
    /// The step's doc string, if any.
    pub doc: Option<&'a Doc<'a>>,
    /// The key store named last in the scenario.
    pub store: &'a mut Option<String>,
}

impl Args<'_, '_> {
    /// The text of the `i`-th capture (empty if there is none).
    pub fn arg(&self, i: usize) -> &str {
        self.caps.get(i).map_or("", |c| c.text.as_str())
    }

    fn cap(&self, i: usize) -> Arg {
        self.caps.get(i).cloned().unwrap_or_else(|| Arg {
            text: String::new(),
            span: self.step.clone(),
            in_place: false,
        })
    }

    /// The `i`-th capture as a token.
    pub fn tok(&self, i: usize) -> Tok {
        self.cap(i).tok()
    }

    /// A word the phrase writes itself (an operation, a session), at the
    /// step.
    pub fn word(&self, text: &str) -> Tok {
        Tok {
            text: text.to_owned(),
            span: self.step.clone(),
        }
    }

    /// The `i`-th capture, a key store name, which becomes the store named
    /// last.
    pub fn store_tok(&mut self, i: usize) -> Tok {
        let t = self.tok(i);
        *self.store = Some(t.text.clone());
        t
    }

    /// The key store named last, for phrases that omit it.
    pub fn current_store(&self) -> Result<Tok, Diagnostic> {
        match self.store.as_deref() {
            Some(s) => Ok(self.word(s)),
            None => Err(self.invalid(
                "no key store is named before this step; name it, e.g. \
                 `the ConnectionState of \"ExampleKeyStore\" is CONNECTED`",
            )),
        }
    }

    /// The `i`-th capture, a variable to define (`as "ct"`), without a
    /// leading `$`.
    pub fn var(&self, i: usize) -> Result<Tok, Diagnostic> {
        let a = self.cap(i).trimmed(self.src);
        let name = a.text.strip_prefix('$').unwrap_or(&a.text);
        let mut chars = name.chars();
        let ident = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ident {
            return Err(
                Diagnostic::new(a.span, format!("`{}` is not a variable name", a.text))
                    .with_label("letters, digits and `_`, not starting with a digit"),
            );
        }
        Ok(Tok {
            text: name.to_owned(),
            span: a.span,
        })
    }

    /// The `i`-th capture, a whole number, with its span.
    pub fn count(&self, i: usize) -> Result<(u32, Span), Diagnostic> {
        let a = self.cap(i);
        match a.text.parse::<u32>() {
            Ok(n) => Ok((n, a.span)),
            Err(_) => Err(
                Diagnostic::new(a.span, format!("`{}` is too large", a.text))
                    .with_label(format!("at most {}", u32::MAX)),
            ),
        }
    }

    /// The `i`-th capture, a whole number, as a value.
    pub fn number(&self, i: usize) -> Result<Val, Diagnostic> {
        let a = self.cap(i);
        match serde_json::from_str::<serde_json::Number>(&a.text) {
            Ok(n) => Ok(Val {
                span: a.span,
                kind: ValKind::Num(n),
            }),
            Err(_) => Err(
                Diagnostic::new(a.span, format!("`{}` is out of range", a.text))
                    .with_label("not a number JSON can hold"),
            ),
        }
    }

    /// Captures `n` and `unit` as a duration.
    pub fn duration(&self, n: usize, unit: usize) -> Result<Duration, Diagnostic> {
        ast::duration(self.arg(n), self.arg(unit)).ok_or_else(|| {
            Diagnostic::new(self.cap(n).span, "this duration is too long").with_label("overflows")
        })
    }

    /// The `i`-th capture, a value typed as the runbook types it.
    pub fn value(&self, i: usize) -> Result<Val, Diagnostic> {
        typed(self.src, &self.cap(i))
    }

    /// The `i`-th capture, as text.
    pub fn text_val(&self, i: usize) -> Val {
        let a = self.cap(i);
        Val {
            span: a.span,
            kind: ValKind::Str(a.text),
        }
    }

    /// The `i`-th capture, a path (`KeyMetadata.KeyState`).
    pub fn path(&self, i: usize) -> Result<PathAst, Diagnostic> {
        path(self.src, &self.cap(i))
    }

    /// A statement of this step.
    pub fn item(&self, stmt: Stmt) -> Item {
        Item {
            span: self.step.clone(),
            text: self.text.to_owned(),
            stmt,
            capture: None,
            outcome: None,
        }
    }

    /// One statement.
    pub fn one(&self, stmt: Stmt) -> Result<Built, Diagnostic> {
        Ok(Built::Items(vec![self.item(stmt)]))
    }

    /// A mistake of the whole step.
    pub fn invalid(&self, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(self.step.clone(), message)
    }

    /// An object built from `(member, value)` table rows; a member given
    /// twice is an error at the second.
    pub fn object(&self, members: Vec<(Arg, Val)>) -> Result<Val, Diagnostic> {
        let mut out = Vec::with_capacity(members.len());
        for (name, value) in members {
            push_member(&mut out, name.trimmed(self.src).tok(), value)?;
        }
        Ok(Val {
            span: self.step.clone(),
            kind: ValKind::Object(out),
        })
    }

    /// The doc string as a `call` input: `{ … }`, or its members without
    /// the braces.
    pub fn doc_object(&self) -> Result<Val, Diagnostic> {
        let Some(doc) = self.doc else {
            return Err(self.invalid("the call needs a data table or a doc string"));
        };
        match doc.in_place {
            Some((start, end)) => fragment::members(self.src, start, end),
            None => {
                let alone = Source::new(doc.text, self.src.file.clone());
                fragment::members(&alone, 0, doc.text.len())
                    .map(|mut v| {
                        respan(&mut v, self.step);
                        v
                    })
                    .map_err(|d| self.invalid(d.message))
            }
        }
    }
}

/// A value as the runbook language types it: a `$variable`, a number,
/// `true`, `false`, `null`, a `[list]` or an `{object}` as written;
/// anything else a string.
pub(crate) fn typed(src: &Source<'_>, arg: &Arg) -> Result<Val, Diagnostic> {
    let t = arg.trimmed(src);
    let kind = if is_variable(&t.text) {
        ValKind::Var(t.text.clone())
    } else if let Some(n) = number(&t.text) {
        ValKind::Num(n)
    } else if t.text == "true" || t.text == "false" {
        ValKind::Bool(t.text == "true")
    } else if t.text == "null" {
        ValKind::Null
    } else if t.text.starts_with('[') || t.text.starts_with('{') {
        return in_place_or_alone(src, &t, fragment::value);
    } else {
        ValKind::Str(arg.text.clone())
    };
    Ok(Val { span: t.span, kind })
}

/// A path argument, its leading dot optional.
pub(crate) fn path(src: &Source<'_>, arg: &Arg) -> Result<PathAst, Diagnostic> {
    in_place_or_alone(src, &arg.trimmed(src), fragment::path)
}

trait Respan {
    fn respan(&mut self, span: &Span);
}

impl Respan for Val {
    fn respan(&mut self, span: &Span) {
        respan(self, span);
    }
}

impl Respan for PathAst {
    fn respan(&mut self, span: &Span) {
        for s in &mut self.spans {
            *s = span.clone();
        }
    }
}

/// Parses a fragment where it stands, or else on its own with every span
/// (and any mistake) at the argument.
fn in_place_or_alone<T: Respan>(
    src: &Source<'_>,
    arg: &Arg,
    parse: fn(&Source<'_>, usize, usize) -> Result<T, Diagnostic>,
) -> Result<T, Diagnostic> {
    if arg.in_place {
        return parse(src, arg.span.offset, arg.span.offset + arg.span.len);
    }
    let alone = Source::new(&arg.text, Arc::clone(&src.file));
    match parse(&alone, 0, arg.text.len()) {
        Ok(mut v) => {
            v.respan(&arg.span);
            Ok(v)
        }
        Err(mut d) => {
            d.span = arg.span.clone();
            Err(d)
        }
    }
}

/// Every span of a value set to `span`.
fn respan(v: &mut Val, span: &Span) {
    v.span = span.clone();
    match &mut v.kind {
        ValKind::List(items) => items.iter_mut().for_each(|i| respan(i, span)),
        ValKind::Object(members) => {
            for (k, m) in members {
                k.span = span.clone();
                respan(m, span);
            }
        }
        ValKind::Str(_) | ValKind::Var(_) | ValKind::Num(_) | ValKind::Bool(_) | ValKind::Null => {}
    }
}

/// `$name` or `${…}`, the whole text.
fn is_variable(text: &str) -> bool {
    let Some(rest) = text.strip_prefix('$') else {
        return false;
    };
    if let Some(inner) = rest.strip_prefix('{') {
        return inner
            .strip_suffix('}')
            .is_some_and(|name| !name.is_empty() && !name.contains('}'));
    }
    let mut chars = rest.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A JSON number (`42`, `-1.5`, `1e3`).
fn number(text: &str) -> Option<serde_json::Number> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if !digits.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    serde_json::from_str::<serde_json::Number>(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arg(text: &str) -> Arg {
        let src = Source::new(text, Arc::from("f.feature"));
        Arg::at(&src, text.to_owned(), src.span(0, text.len()))
    }

    fn json(text: &str) -> serde_json::Value {
        let src = Source::new(text, Arc::from("f.feature"));
        typed(&src, &arg(text)).unwrap().to_json()
    }

    #[test]
    fn values_are_typed_like_the_runbook_language() {
        assert_eq!(json("$b"), "$b");
        assert_eq!(json("${x y}"), "${x y}");
        assert_eq!(json("0"), 0);
        assert_eq!(json("-1.5"), -1.5);
        assert_eq!(json("true"), true);
        assert_eq!(json("[]"), serde_json::json!([]));
        assert_eq!(json("READY"), "READY");
        assert_eq!(json("Key deleted successfully"), "Key deleted successfully");
        assert_eq!(json("0x${b}"), "0x${b}");
        assert!(is_variable("${a}") && !is_variable("${}") && !is_variable("$a b"));
    }
}

//! Walking pest pairs: [`Ctx`] makes spans of pairs matched on a slice of
//! the source, [`Cursor`] steps through a pair's children (skipping
//! keywords and punctuation) and turns a grammar/parser mismatch into a
//! spanned internal error instead of a panic; string literals are unescaped
//! here.

use pest::iterators::{Pair, Pairs};

use crate::dsl::ast::Tok;
use crate::dsl::grammar::Rule;
use crate::dsl::source::Source;
use crate::dsl::words;
use crate::scenario::diagnostic::Diagnostic;
use crate::scenario::ir::Span;

/// Spans of pairs matched on the slice of the text that starts at `base`.
pub(super) struct Ctx<'s, 'a> {
    pub(super) src: &'s Source<'a>,
    pub(super) base: usize,
}

/// Walks the children of a pair, skipping keywords and punctuation.
pub(super) struct Cursor<'i> {
    pairs: std::iter::Peekable<Pairs<'i, Rule>>,
    /// The parent, for errors.
    at: Span,
}

impl<'i> Cursor<'i> {
    pub(super) fn next(&mut self) -> Option<Pair<'i, Rule>> {
        loop {
            let p = self.pairs.next()?;
            if !words::is_noise(p.as_rule()) {
                return Some(p);
            }
        }
    }

    pub(super) fn peek_rule(&mut self) -> Option<Rule> {
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
    pub(super) fn expect(&mut self, rule: Rule) -> Result<Pair<'i, Rule>, Diagnostic> {
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

    /// The next child, if any, which must be a `rule`.
    pub(super) fn next_of(&mut self, rule: Rule) -> Result<Option<Pair<'i, Rule>>, Diagnostic> {
        match self.next() {
            None => Ok(None),
            Some(p) if p.as_rule() == rule => Ok(Some(p)),
            Some(p) => Err(internal(
                &self.at,
                &format!("expected {rule:?}, found {:?}", p.as_rule()),
            )),
        }
    }

    /// The next child, whatever it is.
    pub(super) fn any(&mut self) -> Result<Pair<'i, Rule>, Diagnostic> {
        self.next()
            .ok_or_else(|| internal(&self.at, "expected more, found nothing"))
    }

    /// The next child if it is a `rule`.
    pub(super) fn optional(&mut self, rule: Rule) -> Option<Pair<'i, Rule>> {
        if self.peek_rule() == Some(rule) {
            self.next()
        } else {
            None
        }
    }

    /// Nothing may be left.
    pub(super) fn finish(mut self) -> Result<(), Diagnostic> {
        match self.next() {
            None => Ok(()),
            Some(p) => Err(internal(
                &self.at,
                &format!("unexpected {:?} at the end", p.as_rule()),
            )),
        }
    }
}

pub(super) fn internal(at: &Span, what: &str) -> Diagnostic {
    Diagnostic::new(
        at.clone(),
        "internal error: the runbook grammar and its parser disagree here",
    )
    .with_note(format!("note: {what}"))
    .with_note("note: this is a bug in hsmdrill; please report it with this runbook")
}

pub(super) type Res<T> = Result<T, Diagnostic>;

impl Ctx<'_, '_> {
    /// The span of a pair, without the whitespace pest may have skipped at
    /// its end.
    pub(super) fn span(&self, p: &Pair<'_, Rule>) -> Span {
        let start = self.base + p.as_span().start();
        self.src.span(start, start + p.as_str().trim_end().len())
    }

    pub(super) fn cursor<'i>(&self, p: Pair<'i, Rule>) -> Cursor<'i> {
        let at = self.span(&p);
        Cursor {
            pairs: p.into_inner().peekable(),
            at,
        }
    }

    /// The one child of a pair: its rule, its span and a cursor on its
    /// children.
    pub(super) fn only_child<'i>(&self, p: Pair<'i, Rule>) -> Res<(Rule, Span, Cursor<'i>)> {
        let mut c = self.cursor(p);
        let inner = c.any()?;
        c.finish()?;
        let rule = inner.as_rule();
        let at = self.span(&inner);
        Ok((rule, at, self.cursor(inner)))
    }

    pub(super) fn tok(&self, p: &Pair<'_, Rule>) -> Tok {
        Tok {
            text: p.as_str().to_owned(),
            span: self.span(p),
        }
    }

    /// A name that may be a variable, a string or a bare word (`store`,
    /// `cluster`, `key`, `hsm`, `subnet`, `ciphertext`).
    pub(super) fn name_ref(&self, p: Pair<'_, Rule>) -> Res<Tok> {
        let mut c = self.cursor(p);
        let inner = c.any()?;
        c.finish()?;
        match inner.as_rule() {
            Rule::string => self.string(&inner),
            _ => Ok(self.tok(&inner)),
        }
    }

    pub(super) fn string(&self, p: &Pair<'_, Rule>) -> Res<Tok> {
        let span = self.span(p);
        Ok(Tok {
            text: unescape(self.src, p.as_str(), &span)?,
            span,
        })
    }

    pub(super) fn count(&self, p: &Pair<'_, Rule>) -> Res<(u32, Span)> {
        let span = self.span(p);
        match p.as_str().parse::<u32>() {
            Ok(n) => Ok((n, span)),
            Err(_) => Err(
                Diagnostic::new(span, format!("`{}` is too large", p.as_str()))
                    .with_label(format!("at most {}", u32::MAX)),
            ),
        }
    }
}

pub(super) fn var_name(ctx: &Ctx<'_, '_>, p: &Pair<'_, Rule>) -> Tok {
    let mut t = ctx.tok(p);
    t.text = t.text.trim_start_matches('$').to_owned();
    t
}

/// The first line of a statement's text, trimmed.
pub(super) fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or("").trim().to_owned()
}

/// The value of a string literal (with its quotes), escapes resolved.
pub(super) fn unescape(src: &Source<'_>, raw: &str, span: &Span) -> Res<String> {
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

    #[test]
    fn escapes() {
        let s = Source::test("\"a\\n\\u{41}\\\"\"");
        let span = s.span(0, s.text.len());
        assert_eq!(unescape(&s, s.text, &span).unwrap(), "a\nA\"");
        let s = Source::test("\"\\u{110000}\"");
        let span = s.span(0, s.text.len());
        assert!(unescape(&s, s.text, &span).is_err());
        let s = Source::test("\"\\u41\"");
        let span = s.span(0, s.text.len());
        assert!(unescape(&s, s.text, &span).is_err());
    }
}

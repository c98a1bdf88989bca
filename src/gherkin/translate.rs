//! A step to statements of the runbook's syntax tree: the one phrase that
//! matches its text builds them from its arguments, each argument with the
//! span of the word it came from; a control phrase's body (a phrase after
//! `:` or the doc string's lines) is translated the same way.
//!
//! Nothing here writes or parses runbook text: the statements go straight
//! to the runbook's checks and lowering (`lower.rs`).

use std::path::Path;
use std::sync::Arc;

use super::args::{Arg, Args, Body, Built, Doc, Table};
use super::catalog::catalog;
use super::params::{self, Param};
use super::phrase::Phrase;
use super::suggest;
use crate::dsl::ast::{Item, Runbook, Stmt};
use crate::dsl::lower;
use crate::dsl::source::Source;
use crate::scenario::diagnostic::Diagnostic;
use crate::scenario::ir::{Span, Step};

/// The step being translated: where it is, and how reports show it.
pub(crate) struct Cx<'a, 's> {
    /// The feature.
    pub src: &'a Source<'s>,
    /// The Gherkin step: every statement it stands for is there.
    pub step: &'a Span,
    /// Keyword and text.
    pub text: &'a str,
}

/// A phrase to translate: the step's text, or a phrase inside it.
pub(crate) struct At<'a> {
    /// The text, without a keyword.
    pub text: &'a str,
    /// Where the file holds `text` verbatim, if it does.
    pub at: Option<usize>,
    /// Where to report a mistake of the whole phrase.
    pub whole: Span,
    /// The data table it carries.
    pub table: Option<&'a Table>,
    /// The doc string it carries.
    pub doc: Option<&'a Doc<'a>>,
}

/// Why a step gives no statements.
#[derive(Debug)]
pub(crate) enum Failure {
    /// No phrase matches it.
    Undefined(Diagnostic),
    /// A phrase matches, but what it was given does not fit.
    Invalid(Diagnostic),
}

/// Translates a phrase; `store` is the key store named last in the
/// scenario, which the phrase may change. Returns the phrase (the top one)
/// and its statements.
pub(crate) fn translate_at(
    cx: &Cx<'_, '_>,
    p: &At<'_>,
    store: &mut Option<String>,
) -> Result<(&'static Phrase, Vec<Item>), Failure> {
    let text = p.text;
    let found = catalog()
        .iter()
        .find_map(|ph| ph.regex.captures(text).map(|c| (ph, c)));
    let Some((phrase, captures)) = found else {
        return Err(Failure::Undefined(undefined(cx, p)));
    };
    phrase
        .takes
        .check(phrase.pattern, p.table.is_some(), p.doc.is_some())
        .map_err(|m| Failure::Invalid(Diagnostic::new(p.whole.clone(), m)))?;
    let caps = captures
        .iter()
        .skip(1)
        .zip(&phrase.params)
        .map(|(m, param)| {
            let raw = m.map_or("", |m| m.as_str());
            let value = if *param == Param::Quoted {
                params::unquote(raw).into_owned()
            } else {
                raw.to_owned()
            };
            let span = match (p.at, m) {
                (Some(at), Some(m)) => cx.src.span(at + m.start(), at + m.end()),
                _ => p.whole.clone(),
            };
            Arg::at(cx.src, value, span)
        })
        .collect::<Vec<_>>();
    let mut args = Args {
        src: cx.src,
        step: cx.step,
        text: cx.text,
        caps,
        table: p.table,
        doc: p.doc,
        store,
    };
    let built = (phrase.build)(&mut args).map_err(Failure::Invalid)?;
    let caps = args.caps;
    let items = match built {
        Built::Items(items) => items,
        Built::Block { kind, body } => {
            let body = match body {
                Body::Capture(i) => {
                    let inner = caps
                        .get(i)
                        .cloned()
                        .unwrap_or_else(|| Arg::at(cx.src, String::new(), p.whole.clone()));
                    let at = At {
                        text: &inner.text,
                        at: inner.in_place.then_some(inner.span.offset),
                        whole: inner.span.clone(),
                        table: p.table,
                        doc: p.doc,
                    };
                    nested(cx, &at, store)?
                }
                Body::DocString => doc_body(cx, p, store)?,
            };
            vec![Item {
                span: cx.step.clone(),
                text: cx.text.to_owned(),
                stmt: Stmt::Block { kind, body },
                capture: None,
                outcome: None,
            }]
        }
    };
    Ok((phrase, items))
}

/// A phrase inside another: no phrase matching it is a mistake of the
/// step, never left for cucumber to report.
fn nested(cx: &Cx<'_, '_>, p: &At<'_>, store: &mut Option<String>) -> Result<Vec<Item>, Failure> {
    match translate_at(cx, p, store) {
        Ok((_, items)) => Ok(items),
        Err(Failure::Undefined(d) | Failure::Invalid(d)) => Err(Failure::Invalid(d)),
    }
}

/// The phrases of a doc string, one a line.
fn doc_body(cx: &Cx<'_, '_>, p: &At<'_>, store: &mut Option<String>) -> Result<Vec<Item>, Failure> {
    let Some(doc) = p.doc else {
        return Err(Failure::Invalid(Diagnostic::new(
            p.whole.clone(),
            "the doc string holds no step",
        )));
    };
    let mut body = Vec::new();
    for (i, line) in doc.text.lines().enumerate() {
        let phrase = strip_keyword(line.trim());
        if phrase.is_empty() || phrase.starts_with('#') {
            continue;
        }
        // Where the phrase is in the file: on its doc string line.
        let found = doc.lines.get(i).and_then(|n| {
            let start = cx.src.line_start(*n);
            let text = cx.src.line_text(start);
            text.find(phrase).map(|j| start + j)
        });
        let whole = found.map_or_else(|| p.whole.clone(), |at| cx.src.span(at, at + phrase.len()));
        let at = At {
            text: phrase,
            at: found,
            whole,
            table: None,
            doc: None,
        };
        body.extend(nested(cx, &at, store)?);
    }
    if body.is_empty() {
        return Err(Failure::Invalid(Diagnostic::new(
            p.whole.clone(),
            "the doc string holds no step",
        )));
    }
    Ok(body)
}

/// No phrase matches: at the misspelt value if that is what is wrong, else
/// at the whole phrase.
fn undefined(cx: &Cx<'_, '_>, p: &At<'_>) -> Diagnostic {
    let help = suggest::help(p.text);
    let span = match (p.at, help.as_ref().and_then(|(_, word)| *word)) {
        (Some(at), Some((start, end))) => cx.src.span(at + start, at + end),
        _ => p.whole.clone(),
    };
    let mut d = Diagnostic::new(span, format!("no step matches \"{}\"", p.text.trim()))
        .with_label("undefined step");
    if let Some((h, _)) = help {
        d = d.with_note(format!("help: {h}"));
    }
    d.with_note("note: `hsmdrill steps` lists every phrase")
}

/// A phrase without its Gherkin keyword, if it has one.
fn strip_keyword(line: &str) -> &str {
    for kw in ["Given ", "When ", "Then ", "And ", "But ", "* "] {
        if let Some(rest) = line.strip_prefix(kw) {
            return rest.trim_start();
        }
    }
    line
}

/// Why a step could not be translated.
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum TranslateError {
    /// No phrase matches the text: the step is undefined.
    Undefined {
        /// What the author probably meant (`did you mean …`), if anything
        /// comes close.
        help: Option<String>,
    },
    /// A phrase matches, but what it was given does not fit it (a missing
    /// doc string, a table with three columns, no key store named yet).
    Invalid {
        /// What is wrong.
        message: String,
    },
}

impl std::fmt::Display for TranslateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TranslateError::Undefined { help: None } => f.write_str("no step matches"),
            TranslateError::Undefined { help: Some(h) } => write!(f, "no step matches ({h})"),
            TranslateError::Invalid { message } => f.write_str(message),
        }
    }
}

impl std::error::Error for TranslateError {}

/// Translates one step on its own into the IR steps it stands for, before
/// any check (the checks need the scenario: its world, its variables).
/// `text` is the step without its keyword; `table` and `docstring` what the
/// step carries; `store` the key store named last in the scenario, which
/// the step may change. The steps' spans are in `text`.
///
/// ```
/// use hsmdrill::gherkin::translate;
/// use hsmdrill::scenario::ir::{Action, StepKind};
///
/// let mut store = None;
/// let s = translate(r#"I connect the custom key store "ExampleKeyStore""#, None, None, &mut store).unwrap();
/// let StepKind::Action(Action::Call { operation, .. }) = &s[0].kind else { panic!() };
/// assert_eq!(operation, "ConnectCustomKeyStore");
/// assert_eq!(translate("the ConnectionState is CONNECTED", None, None, &mut store).unwrap().len(), 1);
/// assert!(translate("the ConnectionState is CONECTED", None, None, &mut store).is_err());
/// ```
pub fn translate(
    text: &str,
    table: Option<&[Vec<String>]>,
    docstring: Option<&str>,
    store: &mut Option<String>,
) -> Result<Vec<Step>, TranslateError> {
    let text = text.trim();
    let src = Source::new(text, Arc::from("step"));
    let whole = src.span(0, text.len());
    let table = table.map(|rows| Table {
        rows: rows
            .iter()
            .map(|r| {
                r.iter()
                    .map(|c| Arg::at(&src, c.clone(), whole.clone()))
                    .collect()
            })
            .collect(),
    });
    let doc = docstring.map(|d| Doc {
        text: d,
        lines: &[],
        in_place: None,
        indent: 0,
    });
    let cx = Cx {
        src: &src,
        step: &whole,
        text,
    };
    let at = At {
        text,
        at: Some(0),
        whole: whole.clone(),
        table: table.as_ref(),
        doc: doc.as_ref(),
    };
    match translate_at(&cx, &at, store) {
        Ok((_, items)) => {
            let rb = Runbook {
                title: String::new(),
                tags: Vec::new(),
                span: whole,
                items,
            };
            let file = lower::lower(vec![rb], Path::new(""));
            Ok(file.scenarios.into_iter().flat_map(|s| s.steps).collect())
        }
        Err(Failure::Undefined(_)) => Err(TranslateError::Undefined {
            help: suggest::help(text).map(|(h, _)| h),
        }),
        Err(Failure::Invalid(d)) => Err(TranslateError::Invalid { message: d.message }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misspelt_enum_values_are_undefined_with_a_suggestion() {
        let mut store = Some("ExampleKeyStore".to_owned());
        let e = translate("the ConnectionState is CONECTED", None, None, &mut store).unwrap_err();
        assert_eq!(
            e,
            TranslateError::Undefined {
                help: Some("`CONECTED` is not a ConnectionState; did you mean `CONNECTED`?".into())
            }
        );
        let e = translate("it fails with KMSInvalidState", None, None, &mut store).unwrap_err();
        assert!(e.to_string().contains("KMSInvalidStateException"), "{e}");
    }

    #[test]
    fn phrases_without_a_store_use_the_last_one_named() {
        let mut store = None;
        let e = translate("the ConnectionState is FAILED", None, None, &mut store).unwrap_err();
        assert!(e.to_string().contains("no key store is named"), "{e}");
        translate(
            r#"I disconnect the custom key store "Other""#,
            None,
            None,
            &mut store,
        )
        .unwrap();
        let steps = translate("there is no ConnectionErrorCode", None, None, &mut store).unwrap();
        assert_eq!(steps.len(), 1);
        assert_eq!(store.as_deref(), Some("Other"));
    }
}

//! The phrases themselves: for each, its human form, the runbook statements
//! it stands for, an example, and the small function that builds those
//! statements from the step's arguments. `docs/gherkin-steps.md` is the same
//! table in prose; keep them in step.
//!
//! A builder only builds the syntax tree (through [`super::args`], which
//! types arguments as the runbook language does); checking and lowering are
//! the runbook front end's. `actions.rs` holds the phrases that do things,
//! `checks.rs` those that check, capture and repeat.

mod actions;
mod checks;

use super::args::Built;
use super::args::{Arg, Args};
use super::phrase::{Build, Takes};
use crate::dsl::ast::{Answer, ExpectAst, PathAst, Stmt, SubjectAst, Tok};
use crate::scenario::diagnostic::Diagnostic;
use crate::scenario::ir::{Comparison, Path, Segment};

/// One row of the catalog.
pub(crate) struct Entry {
    pub pattern: &'static str,
    pub help: &'static str,
    pub example: &'static str,
    pub takes: Takes,
    pub build: Build,
}

const fn e(
    pattern: &'static str,
    help: &'static str,
    example: &'static str,
    takes: Takes,
    build: Build,
) -> Entry {
    Entry {
        pattern,
        help,
        example,
        takes,
        build,
    }
}

/// Every phrase, in the order of `docs/gherkin-steps.md`.
pub(crate) fn entries() -> impl Iterator<Item = &'static Entry> {
    actions::ENTRIES.iter().chain(checks::ENTRIES)
}

type Res = Result<Built, Diagnostic>;

/// A path of plain members (`ConnectionErrorCode`).
fn fixed_path(fields: &[&str]) -> PathAst {
    PathAst {
        path: Path(
            fields
                .iter()
                .map(|f| Segment::Field((*f).to_owned()))
                .collect(),
        ),
        spans: Vec::new(),
    }
}

/// `expect <subject>.<member> == value` or `is absent`.
fn expect_member(
    a: &Args<'_, '_>,
    subject: SubjectAst,
    fields: &[&str],
    value: Option<crate::dsl::ast::Val>,
) -> Res {
    let comparison = if value.is_some() {
        Comparison::Equals
    } else {
        Comparison::Absent
    };
    a.one(Stmt::Expect(ExpectAst::Field {
        subject,
        path: fixed_path(fields),
        comparison,
        value,
        time: None,
    }))
}

/// `cloudhsm C [as SESSION]: LINE`.
fn cli(cluster: Tok, session: Option<Tok>, line: Tok) -> Result<Stmt, Diagnostic> {
    if line.text.trim().is_empty() {
        return Err(
            Diagnostic::new(line.span, "expected a CloudHSM CLI command line").with_label("empty"),
        );
    }
    if let Some(s) = &session {
        let bare = !s.text.is_empty()
            && s.text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
        if !bare {
            return Err(Diagnostic::new(
                s.span.clone(),
                format!("`{}` is not a session name", s.text),
            )
            .with_label("letters, digits, `_` and `-`"));
        }
    }
    Ok(Stmt::Cli {
        cluster,
        session,
        line: Tok {
            text: line.text.trim().to_owned(),
            span: line.span,
        },
        answers: Vec::new(),
    })
}

/// `cloudhsm C [as SESSION]: LINE` answered with `password` at every prompt
/// the line makes (`Enter password:` and, where the CLI asks twice, `Confirm
/// password:` with `confirmation`, or `password` again). A line that makes
/// no prompt still gets one answer, so the checks say it answers nothing.
fn prompted_cli(
    cluster: Tok,
    session: Option<Tok>,
    line: Tok,
    password: Tok,
    confirmation: Option<Tok>,
) -> Result<Stmt, Diagnostic> {
    let mut stmt = cli(cluster, session, line)?;
    if let Stmt::Cli { line, answers, .. } = &mut stmt {
        let asked = crate::engine::cloudhsm::cli::prompts(&line.text);
        let asked = if asked.is_empty() {
            &[crate::engine::cloudhsm::cli::ENTER_PASSWORD][..]
        } else {
            asked
        };
        for (i, prompt) in asked.iter().enumerate() {
            let text = match (&confirmation, i) {
                (Some(c), 1) => c.clone(),
                _ => password.clone(),
            };
            answers.push(Answer {
                prompt,
                span: text.span.clone(),
                text,
            });
        }
    }
    Ok(stmt)
}

/// What a member phrase looks at.
#[derive(Clone, Copy)]
enum Of {
    Response,
    Store,
    Key,
    Event,
}

/// How a member phrase compares.
#[derive(Clone, Copy)]
enum Cmp {
    Equals,
    EqualsText,
    NotEquals,
    Contains,
    Present,
    Absent,
    Greater,
    AtLeast,
    Less,
    AtMost,
}

/// The subject in capture `at` (none for the response).
fn subject(a: &mut Args<'_, '_>, of: Of, at: usize) -> SubjectAst {
    match of {
        Of::Response => SubjectAst::Last,
        Of::Store => SubjectAst::Store(a.store_tok(at)),
        Of::Key => SubjectAst::Key(a.tok(at)),
        Of::Event => SubjectAst::Trail(a.tok(at)),
    }
}

/// `the <subject> has "PATH" <comparison> "VALUE"`: the subject first
/// (none for the response), then the path, then the value.
fn field(a: &mut Args<'_, '_>, of: Of, cmp: Cmp) -> Res {
    let at = usize::from(!matches!(of, Of::Response));
    let subject = subject(a, of, 0);
    let path = a.path(at)?;
    let (comparison, value) = match cmp {
        Cmp::Equals => (Comparison::Equals, Some(a.value(at + 1)?)),
        Cmp::EqualsText => (Comparison::Equals, Some(a.text_val(at + 1))),
        Cmp::NotEquals => (Comparison::NotEquals, Some(a.value(at + 1)?)),
        Cmp::Contains => (Comparison::Contains, Some(a.text_val(at + 1))),
        Cmp::Present => (Comparison::Present, None),
        Cmp::Absent => (Comparison::Absent, None),
        Cmp::Greater => (Comparison::Greater, Some(a.value(at + 1)?)),
        Cmp::AtLeast => (Comparison::GreaterOrEqual, Some(a.value(at + 1)?)),
        Cmp::Less => (Comparison::Less, Some(a.value(at + 1)?)),
        Cmp::AtMost => (Comparison::LessOrEqual, Some(a.value(at + 1)?)),
    };
    a.one(Stmt::Expect(ExpectAst::Field {
        subject,
        path,
        comparison,
        value,
        time: None,
    }))
}

/// `I remember "PATH" of … as "NAME"`: the path is the first capture, the
/// subject's the second, the name the last.
fn capture(a: &mut Args<'_, '_>, of: Of) -> Res {
    let path = a.path(0)?;
    let name = a.var(a.caps.len().saturating_sub(1))?;
    let subject = subject(a, of, 1);
    a.one(Stmt::Capture {
        name,
        subject,
        path,
    })
}

/// The rows of a two-column table, without a header row that names the
/// columns (`| Member | Value |`, `| Path | Value |`, any case).
fn pairs(a: &Args<'_, '_>, header: (&str, &str)) -> Result<Vec<(Arg, Arg)>, Diagnostic> {
    let rows = a.table.map_or(&[][..], |t| t.rows.as_slice());
    let mut out = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let [left, right] = row.as_slice() else {
            return Err(a.invalid(format!(
                "the table has {} columns; it needs two, `| {} | {} |`",
                row.len(),
                capitalized(header.0),
                capitalized(header.1)
            )));
        };
        let is_header = i == 0
            && left.text.eq_ignore_ascii_case(header.0)
            && right.text.eq_ignore_ascii_case(header.1);
        if !is_header {
            out.push((left.clone(), right.clone()));
        }
    }
    Ok(out)
}

fn capitalized(word: &str) -> String {
    let mut c = word.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

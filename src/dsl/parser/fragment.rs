//! A value, a path or the members of an object parsed on their own, where
//! they stand in a source: a Gherkin phrase takes runbook values, paths and
//! `call` inputs as arguments, and parses them here, so a mistake in one is
//! reported at its place in the `.feature`, in the runbook's words.

use pest::iterators::Pair;
use pest::Parser as _;

use super::cursor::{internal, Ctx};
use super::recover::Expected;
use crate::dsl::ast::{PathAst, Val};
use crate::dsl::grammar::{Rule, RunbookParser};
use crate::dsl::source::{too_deep, Source};
use crate::scenario::diagnostic::Diagnostic;

/// The value written at `start..end` of the source.
pub(crate) fn value(src: &Source<'_>, start: usize, end: usize) -> Result<Val, Diagnostic> {
    let (ctx, pair) = parse(src, start, end, Rule::value_arg)?;
    let mut c = ctx.cursor(pair);
    let v = ctx.value(c.expect(Rule::value)?, 1)?;
    c.finish()?;
    Ok(v)
}

/// The path written at `start..end` (`KeyMetadata.KeyState`, `.X`, `[0]`).
pub(crate) fn path(src: &Source<'_>, start: usize, end: usize) -> Result<PathAst, Diagnostic> {
    let (ctx, pair) = parse(src, start, end, Rule::path_arg)?;
    let mut c = ctx.cursor(pair);
    let p = ctx.path(c.expect(Rule::trail_path)?)?;
    c.finish()?;
    Ok(p)
}

/// The object written at `start..end`: `{ … }`, or its members without the
/// braces.
pub(crate) fn members(src: &Source<'_>, start: usize, end: usize) -> Result<Val, Diagnostic> {
    let (ctx, pair) = parse(src, start, end, Rule::members_arg)?;
    let mut c = ctx.cursor(pair.clone());
    if c.peek_rule() == Some(Rule::object) {
        let v = ctx.object(c.expect(Rule::object)?, 1)?;
        c.finish()?;
        return Ok(v);
    }
    ctx.object(pair, 1)
}

fn parse<'s, 'a>(
    src: &'s Source<'a>,
    start: usize,
    end: usize,
    rule: Rule,
) -> Result<(Ctx<'s, 'a>, Pair<'a, Rule>), Diagnostic> {
    let text = src.text.get(start..end).unwrap_or("");
    if let Some(d) = too_deep(src, start, end) {
        return Err(d);
    }
    let ctx = Ctx { src, base: start };
    match RunbookParser::parse(rule, text) {
        Ok(mut pairs) => match pairs.next() {
            Some(p) => Ok((ctx, p)),
            None => Err(internal(
                &src.span(start, end),
                "the fragment matched nothing",
            )),
        },
        Err(e) => {
            let rel = match e.location {
                pest::error::InputLocation::Pos(p) => p,
                pest::error::InputLocation::Span((p, _)) => p,
            };
            let at = (start + rel).min(end);
            // What follows the fragment in the file is not its business.
            let upto = Source::new(src.text.get(..end).unwrap_or(""), src.file.clone());
            let mut expected = Expected::of(&upto, at, &e);
            if at >= end {
                expected.found = "the end of the argument".to_owned();
            }
            Err(expected.diagnostic(&upto, at))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::scenario::ir::Segment;

    #[test]
    fn fragments_parse_where_they_stand() {
        let text = "x [1, $a] Clusters[0].\"us-west-2a\" A: 1\n  B: two";
        let src = Source::new(text, Arc::from("f.feature"));
        let v = value(&src, 2, 9).unwrap();
        assert_eq!(v.to_json(), serde_json::json!([1, "$a"]));
        assert_eq!(v.span.column, 3);
        let p = path(&src, 10, 34).unwrap();
        assert_eq!(
            p.path.0,
            [
                Segment::Field("Clusters".into()),
                Segment::Index(0),
                Segment::Field("us-west-2a".into())
            ]
        );
        let m = members(&src, 35, text.len()).unwrap();
        assert_eq!(m.to_json(), serde_json::json!({"A": 1, "B": "two"}));
        assert_eq!(m.members()[1].0.span.line, 2);
        let e = value(&src, 0, 4).unwrap_err();
        assert_eq!(e.span.column, 3, "{}", e.message);
    }
}

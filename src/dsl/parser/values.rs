//! Expectations, subjects, paths and values (`{…}` objects and `[…]` lists,
//! nested at most [`MAX_DEPTH`] deep).

use pest::iterators::Pair;

use super::cursor::{internal, Ctx, Res};
use crate::dsl::ast::{push_member, ExpectAst, PathAst, SubjectAst, TimeAst, Tok, Val, ValKind};
use crate::dsl::grammar::Rule;
use crate::dsl::source::MAX_DEPTH;
use crate::scenario::diagnostic::Diagnostic;
use crate::scenario::ir::{Comparison, Path, Segment, Span};

impl Ctx<'_, '_> {
    pub(super) fn expect(&self, p: Pair<'_, Rule>) -> Res<ExpectAst> {
        let (rule, at, mut c) = self.only_child(p)?;
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
                let (value, time) = match wc.optional(Rule::value) {
                    Some(v) => (Some(self.value(v, 1)?), None),
                    None => match wc.optional(Rule::time_expr) {
                        Some(t) => self.time_expr(t)?,
                        None => (None, None),
                    },
                };
                wc.finish()?;
                let comparison = match which_rule {
                    Rule::cmp_eq => Comparison::Equals,
                    Rule::cmp_ne => Comparison::NotEquals,
                    Rule::cmp_le => Comparison::LessOrEqual,
                    Rule::cmp_ge => Comparison::GreaterOrEqual,
                    Rule::cmp_lt => Comparison::Less,
                    Rule::cmp_gt => Comparison::Greater,
                    Rule::cmp_contains => Comparison::Contains,
                    Rule::cmp_absent => Comparison::Absent,
                    _ => Comparison::Present,
                };
                ExpectAst::Field {
                    subject,
                    path,
                    comparison,
                    value,
                    time,
                }
            }
            other => return Err(internal(&at, &format!("unexpected {other:?} in `expect`"))),
        };
        c.finish()?;
        Ok(e)
    }

    /// `now - 1h`, `$t + 7d`: the base (none for `now`) and the shift.
    fn time_expr(&self, p: Pair<'_, Rule>) -> Res<(Option<Val>, Option<TimeAst>)> {
        // `now`, `+` and `-` are words the cursor skips: look for them
        // among the raw children.
        let now = p.clone().into_inner().any(|q| q.as_rule() == Rule::kw_now);
        let mut c = self.cursor(p);
        let value = if now {
            None
        } else if let Some(v) = c.optional(Rule::variable) {
            Some(Val {
                span: self.span(&v),
                kind: ValKind::Var(v.as_str().to_owned()),
            })
        } else {
            let n = c.expect(Rule::number)?;
            let span = self.span(&n);
            let num = n
                .as_str()
                .parse::<serde_json::Number>()
                .map_err(|_| Diagnostic::new(span.clone(), "not a number"))?;
            Some(Val {
                span,
                kind: ValKind::Num(num),
            })
        };
        let mut offset_ms: i64 = 0;
        while let Some(shift) = c.next_of(Rule::shift)? {
            let span = self.span(&shift);
            let minus = shift
                .clone()
                .into_inner()
                .any(|q| q.as_rule() == Rule::op_minus);
            let mut sc = self.cursor(shift);
            let d = self.duration(sc.expect(Rule::duration)?)?;
            sc.finish()?;
            let ms = i64::try_from(d.as_millis())
                .ok()
                .and_then(|ms| {
                    if minus {
                        offset_ms.checked_sub(ms)
                    } else {
                        offset_ms.checked_add(ms)
                    }
                })
                .ok_or_else(|| {
                    Diagnostic::new(span, "this duration is too long").with_label("overflows")
                })?;
            offset_ms = ms;
        }
        c.finish()?;
        Ok((value, Some(TimeAst { now, offset_ms })))
    }

    pub(super) fn subject(&self, p: Pair<'_, Rule>) -> Res<(SubjectAst, PathAst)> {
        let (rule, at, mut c) = self.only_child(p)?;
        if rule == Rule::subject_var {
            let v = c.expect(Rule::variable)?;
            c.finish()?;
            let tok = self.tok(&v);
            let name = tok.text.trim_start_matches('$');
            let name = name
                .strip_prefix('{')
                .and_then(|n| n.strip_suffix('}'))
                .unwrap_or(name)
                .to_owned();
            let subject = SubjectAst::Var(Tok { text: name, ..tok });
            return Ok((
                subject,
                PathAst {
                    path: Path::default(),
                    spans: Vec::new(),
                },
            ));
        }
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

    /// A path (`path` or `trail_path`: the same segments).
    pub(super) fn path(&self, p: Pair<'_, Rule>) -> Res<PathAst> {
        let mut segments = Vec::new();
        let mut spans = Vec::new();
        let mut c = self.cursor(p);
        while let Some(seg) = c.next() {
            spans.push(self.span(&seg));
            segments.push(self.segment(seg)?);
        }
        Ok(PathAst {
            path: Path(segments),
            spans,
        })
    }

    pub(super) fn segment(&self, seg: Pair<'_, Rule>) -> Res<Segment> {
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

    pub(super) fn trail_fields(&self, p: Pair<'_, Rule>) -> Res<Vec<(PathAst, Val)>> {
        let mut out = Vec::new();
        let mut c = self.cursor(p);
        while let Some(m) = c.next_of(Rule::trail_member)? {
            let mut mc = self.cursor(m);
            let path = self.path(mc.expect(Rule::trail_path)?)?;
            let value = self.value(mc.expect(Rule::value)?, 1)?;
            mc.finish()?;
            out.push((path, value));
        }
        Ok(out)
    }

    pub(super) fn value(&self, p: Pair<'_, Rule>, depth: usize) -> Res<Val> {
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

    pub(super) fn object(&self, p: Pair<'_, Rule>, depth: usize) -> Res<Val> {
        let span = self.span(&p);
        if depth > MAX_DEPTH {
            return Err(too_deep_here(span));
        }
        let mut members: Vec<(Tok, Val)> = Vec::new();
        let mut c = self.cursor(p);
        while let Some(m) = c.next_of(Rule::member)? {
            let mut mc = self.cursor(m);
            let key_pair = mc.expect(Rule::member_key)?;
            let key = self.name_ref(key_pair)?;
            let value = self.value(mc.expect(Rule::value)?, depth)?;
            mc.finish()?;
            push_member(&mut members, key, value)?;
        }
        Ok(Val {
            span,
            kind: ValKind::Object(members),
        })
    }
}

pub(super) fn too_deep_here(span: Span) -> Diagnostic {
    Diagnostic::new(
        span,
        format!("values nest too deeply (at most {MAX_DEPTH} levels)"),
    )
}

//! Statements: lines (runbook heads, block heads), actions and their
//! suffixes (`-> name`, `=> …`), worlds and faults.

use std::time::Duration;

use pest::iterators::Pair;

use super::cursor::{first_line, internal, var_name, Ctx, Cursor, Res};
use crate::dsl::ast::{duration, Answer, BlockKind, ExpectAst, Item, Stmt, Tok, Val};
use crate::dsl::grammar::Rule;
use crate::engine::cloudhsm::cli::{CONFIRM_PASSWORD, ENTER_PASSWORD};
use crate::engine::NetworkCondition;
use crate::scenario::diagnostic::Diagnostic;
use crate::scenario::ir::Fault;
use crate::scenario::ir::Span;

/// What one line holds.
pub(super) enum LineItem {
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

impl Ctx<'_, '_> {
    pub(super) fn line_item(&self, line: Pair<'_, Rule>) -> Res<LineItem> {
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
            Rule::block_line => Ok(LineItem::Stmt(Box::new(
                self.block_line(inner, span, text)?,
            ))),
            Rule::statement => Ok(LineItem::Stmt(Box::new(self.statement(inner)?))),
            other => Err(internal(&span, &format!("unexpected {other:?} on a line"))),
        }
    }

    /// `head: statement` or `head: head: … statement`, a block of one.
    fn block_line(&self, p: Pair<'_, Rule>, span: Span, text: String) -> Res<Item> {
        let mut c = self.cursor(p);
        let kind = self.block_head(c.expect(Rule::block_head)?)?;
        let body = match c.optional(Rule::block_line) {
            Some(inner) => {
                let inner_span = self.span(&inner);
                let inner_text = first_line(inner.as_str());
                self.block_line(inner, inner_span, inner_text)?
            }
            None => self.statement(c.expect(Rule::statement)?)?,
        };
        c.finish()?;
        Ok(Item {
            span,
            text,
            stmt: Stmt::Block {
                kind,
                body: vec![body],
            },
            capture: None,
            outcome: None,
        })
    }

    pub(super) fn block_head(&self, p: Pair<'_, Rule>) -> Res<BlockKind> {
        let (rule, at, mut c) = self.only_child(p)?;
        if rule == Rule::region_head {
            let name = c.expect(Rule::region_name)?;
            let span = self.span(&name);
            c.finish()?;
            return Ok(BlockKind::Region((name.as_str().to_owned(), span)));
        }
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

    pub(super) fn duration(&self, p: Pair<'_, Rule>) -> Res<Duration> {
        let span = self.span(&p);
        let mut c = self.cursor(p);
        let n = c.expect(Rule::count)?;
        let unit = c.expect(Rule::unit)?;
        c.finish()?;
        duration(n.as_str(), unit.as_str()).ok_or_else(|| {
            Diagnostic::new(span, "this duration is too long").with_label("overflows")
        })
    }

    pub(super) fn statement(&self, p: Pair<'_, Rule>) -> Res<Item> {
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
            Rule::prompt_answer => {
                let span = self.span(&inner);
                let mut c = self.cursor(inner);
                let name = c.expect(Rule::prompt_name)?;
                let prompt = if name.as_str().starts_with("Enter") {
                    ENTER_PASSWORD
                } else {
                    CONFIRM_PASSWORD
                };
                let mut text = self.tok(&c.expect(Rule::answer_text)?);
                text.text = text.text.trim_end().to_owned();
                text.span.len = text.text.len();
                self.suffixes(&mut c, &mut item)?;
                c.finish()?;
                Stmt::Answer(Answer { prompt, text, span })
            }
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
                        answers: Vec::new(),
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
    pub(super) fn suffixes(&self, c: &mut Cursor<'_>, item: &mut Item) -> Res<()> {
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

    pub(super) fn message(&self, c: &mut Cursor<'_>) -> Res<Option<Tok>> {
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

    pub(super) fn world(&self, p: Pair<'_, Rule>) -> Res<Stmt> {
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

    pub(super) fn plain_action(&self, p: Pair<'_, Rule>) -> Res<Stmt> {
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
            Rule::tag_key => {
                let key = self.name_ref(c.expect(Rule::key)?)?;
                let tags = self.object(c.expect(Rule::object)?, 1)?;
                Stmt::Tag { key, tags }
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

    pub(super) fn context(&self, c: &mut Cursor<'_>) -> Res<Option<Val>> {
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

    pub(super) fn fault(&self, p: Pair<'_, Rule>) -> Res<Stmt> {
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
            Rule::hsms_degrade_all => Fault::DegradeHsm {
                cluster: name(&mut c, Rule::cluster)?,
                hsm: None,
            },
            Rule::hsm_degrade => {
                let hsm = name(&mut c, Rule::hsm)?;
                Fault::DegradeHsm {
                    cluster: name(&mut c, Rule::cluster)?,
                    hsm: Some(hsm),
                }
            }
            Rule::hsms_repair_all => Fault::RepairHsm {
                cluster: name(&mut c, Rule::cluster)?,
                hsm: None,
            },
            Rule::hsm_repair => {
                let hsm = name(&mut c, Rule::hsm)?;
                Fault::RepairHsm {
                    cluster: name(&mut c, Rule::cluster)?,
                    hsm: Some(hsm),
                }
            }
            Rule::key_material_delete => {
                let key = name(&mut c, Rule::key_material)?;
                Fault::DeleteKeyMaterial {
                    cluster: name(&mut c, Rule::cluster)?,
                    key,
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
            Rule::sign_csr => Fault::SignCsr {
                cluster: name(&mut c, Rule::cluster)?,
            },
            other => return Err(internal(&at, &format!("unexpected {other:?} as a fault"))),
        };
        c.finish()?;
        Ok(Stmt::Fault { fault, names })
    }
}

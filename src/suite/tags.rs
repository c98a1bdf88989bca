//! Tag expressions: which scenarios `hsmdrill run --tag EXPR` selects.
//!
//! The language is cucumber's: tags written with their `@`, combined with
//! `not`, `and` and `or` (tightest first) and parentheses:
//!
//! ```text
//! @R5
//! @R5 or @R7
//! not @slow
//! (@a or @b) and not @c
//! ```
//!
//! The grammar is the `gherkin` crate's (through `cucumber`), as
//! `cargo test --test features -- --tags` reads it; [`TagExpr::parse`]
//! reports a bad expression with the column where it went wrong and what
//! was expected there; [`TagExpr::matches`] tests a scenario's tags (stored without
//! the `@`, as in the IR).

use std::fmt;

use cucumber::gherkin::tagexpr::TagOperation;

/// A parsed tag expression.
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum TagExpr {
    /// A scenario carrying this tag (without the `@`).
    Tag(String),
    /// The inner expression does not hold.
    Not(Box<TagExpr>),
    /// Both hold.
    And(Box<TagExpr>, Box<TagExpr>),
    /// Either holds.
    Or(Box<TagExpr>, Box<TagExpr>),
}

/// Why a tag expression does not parse.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[error("bad tag expression `{expression}`: {problem} at column {column} (write tags as `@R5`, combined with `and`, `or`, `not` and parentheses)")]
pub struct TagError {
    /// The expression as given.
    pub expression: String,
    /// What was wrong.
    pub problem: String,
    /// 1-based column (in characters) of the offending token.
    pub column: usize,
}

impl TagExpr {
    /// Parses an expression such as `(@a or @b) and not @c` with the
    /// `gherkin` crate's tag expression grammar (the one `cucumber --tags`
    /// uses), so both commands read an expression the same way.
    pub fn parse(text: &str) -> Result<TagExpr, TagError> {
        let body = text.trim_start();
        let lead = text.chars().count() - body.chars().count();
        let body = body.trim_end();
        if body.is_empty() {
            return Err(TagError {
                expression: text.to_owned(),
                problem: "the expression is empty; expected a tag like `@R5`".into(),
                column: lead + 1,
            });
        }
        body.parse::<TagOperation>()
            .map(TagExpr::from)
            .map_err(|e| {
                let at = e.location.column;
                let (problem, column) = problem(body, &e.expected.tokens().collect::<Vec<_>>(), at);
                TagError {
                    expression: text.to_owned(),
                    problem,
                    column: lead + column,
                }
            })
    }

    /// Whether a scenario with these tags (without `@`) is selected.
    pub fn matches<S: AsRef<str>>(&self, tags: &[S]) -> bool {
        match self {
            TagExpr::Tag(t) => tags.iter().any(|x| x.as_ref() == t),
            TagExpr::Not(e) => !e.matches(tags),
            TagExpr::And(a, b) => a.matches(tags) && b.matches(tags),
            TagExpr::Or(a, b) => a.matches(tags) || b.matches(tags),
        }
    }

    /// Every tag the expression names (without `@`), in order of mention.
    pub fn tags(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect(&mut out, None);
        out
    }

    /// The tags the expression asks for rather than excludes (not under an
    /// odd number of `not`s): a scenario must carry one of them to be
    /// selected, so one that no scenario has is most likely a typo.
    pub fn wanted_tags(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect(&mut out, Some(true));
        out
    }

    /// Collects tags; `polarity` `Some(p)` keeps only those whose `not`
    /// nesting gives `p`, `None` keeps all.
    fn collect<'a>(&'a self, out: &mut Vec<&'a str>, polarity: Option<bool>) {
        match self {
            TagExpr::Tag(t) => {
                if polarity != Some(false) && !out.contains(&t.as_str()) {
                    out.push(t);
                }
            }
            TagExpr::Not(e) => e.collect(out, polarity.map(|p| !p)),
            TagExpr::And(a, b) | TagExpr::Or(a, b) => {
                a.collect(out, polarity);
                b.collect(out, polarity);
            }
        }
    }
}

impl fmt::Display for TagExpr {
    /// Fully parenthesised, so the grouping the parser chose is visible.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TagExpr::Tag(t) => write!(f, "@{t}"),
            TagExpr::Not(e) => write!(f, "not {e}"),
            TagExpr::And(a, b) => write!(f, "({a} and {b})"),
            TagExpr::Or(a, b) => write!(f, "({a} or {b})"),
        }
    }
}

/// What the grammar expected at 1-based column `at` of `body`, in words,
/// and the column to show. The grammar's own names (`_` for spaces, `tag
/// character`) are left out where a keyword or bracket says more; where
/// only a tag character would have done, the grammar has already read the
/// character that is not one, so the column goes back to it.
fn problem(body: &str, expected: &[&str], at: usize) -> (String, usize) {
    let mut words: Vec<&str> = expected
        .iter()
        .copied()
        .filter(|t| *t != "_" && *t != "tag character")
        .collect();
    // The grammar gives a set; a message should not change between runs.
    words.sort_unstable();
    if !words.is_empty() {
        let list = words.join(", ");
        return match words.len() {
            1 => (format!("expected {list}"), at),
            _ => (format!("expected one of {list}"), at),
        };
    }
    if expected.contains(&"tag character") && at > 1 {
        if let Some(c) = body.chars().nth(at - 2) {
            return (format!("unexpected `{c}`"), at - 1);
        }
    }
    ("expected a tag name after `@`".into(), at)
}

impl From<TagOperation> for TagExpr {
    fn from(op: TagOperation) -> TagExpr {
        let inner = |b: Box<TagOperation>| Box::new(TagExpr::from(*b));
        match op {
            TagOperation::Tag(t) => TagExpr::Tag(t),
            TagOperation::Not(e) => TagExpr::Not(inner(e)),
            TagOperation::And(a, b) => TagExpr::And(inner(a), inner(b)),
            TagOperation::Or(a, b) => TagExpr::Or(inner(a), inner(b)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> TagExpr {
        TagExpr::parse(s).unwrap()
    }

    #[test]
    fn precedence_is_not_then_and_then_or() {
        assert_eq!(parse("@R5").to_string(), "@R5");
        assert_eq!(parse("@R5 or @R7").to_string(), "(@R5 or @R7)");
        assert_eq!(parse("not @slow").to_string(), "not @slow");
        assert_eq!(
            parse("(@a or @b) and not @c").to_string(),
            "((@a or @b) and not @c)"
        );
        assert_eq!(
            parse("@a or @b and not @c").to_string(),
            "(@a or (@b and not @c))"
        );
        assert_eq!(parse("not not @a").to_string(), "not not @a");
        assert_eq!(parse("(@a)and(@b)").to_string(), "(@a and @b)");
    }

    #[test]
    fn matching_follows_the_expression() {
        let e = parse("(@a or @b) and not @c");
        assert!(e.matches(&["a"]));
        assert!(e.matches(&["b", "x"]));
        assert!(!e.matches(&["a", "c"]));
        assert!(!e.matches::<&str>(&[]));
        assert!(parse("not @slow").matches::<&str>(&[]));
        assert_eq!(e.tags(), vec!["a", "b", "c"]);
        assert_eq!(e.wanted_tags(), vec!["a", "b"]);
        assert_eq!(parse("not (@a and not @b)").wanted_tags(), vec!["b"]);
    }

    #[test]
    fn bad_expressions_say_where() {
        let cases = [
            ("", 1, "the expression is empty"),
            ("   ", 4, "the expression is empty"),
            ("R5", 1, "expected one of \"(\", \"@\", \"not\""),
            ("@a and", 7, "expected one of \"(\", \"@\", \"not\""),
            ("@a or or @b", 7, "expected one of \"(\", \"@\", \"not\""),
            ("(@a or @b", 10, "expected one of \")\", \"and\", \"or\""),
            ("@a @b", 4, "expected one of \"and\", \"or\""),
            ("@a)", 3, "unexpected `)`"),
            ("  @", 4, "expected a tag name after `@`"),
            ("@a@b", 3, "unexpected `@`"),
        ];
        for (text, column, problem) in cases {
            let e = TagExpr::parse(text).unwrap_err();
            assert_eq!(e.column, column, "{text:?}: {e}");
            assert!(e.to_string().contains(problem), "{text:?}: {e}");
            assert!(e.to_string().starts_with("bad tag expression"), "{e}");
        }
        assert_eq!(
            TagExpr::parse("@a and").unwrap_err().to_string(),
            "bad tag expression `@a and`: expected one of \"(\", \"@\", \"not\" at column 7 \
             (write tags as `@R5`, combined with `and`, `or`, `not` and parentheses)"
        );
    }
}

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
//! [`TagExpr::parse`] reports a bad expression with the column where it
//! went wrong; [`TagExpr::matches`] tests a scenario's tags (stored without
//! the `@`, as in the IR).

use std::fmt;

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
    /// Parses an expression such as `(@a or @b) and not @c`.
    pub fn parse(text: &str) -> Result<TagExpr, TagError> {
        let tokens = lex(text)?;
        let mut p = Parser {
            text,
            tokens,
            at: 0,
        };
        let expr = p.or()?;
        match p.peek() {
            None => Ok(expr),
            Some((tok, col)) => Err(p.error(format!("unexpected {}", tok.describe()), col)),
        }
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

/// A token and the 1-based column where it starts.
type Located = (Token, usize);

#[derive(Clone, Debug, Eq, PartialEq)]
enum Token {
    Tag(String),
    Not,
    And,
    Or,
    Open,
    Close,
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::Tag(t) => format!("tag `@{t}`"),
            Token::Not => "`not`".into(),
            Token::And => "`and`".into(),
            Token::Or => "`or`".into(),
            Token::Open => "`(`".into(),
            Token::Close => "`)`".into(),
        }
    }
}

fn lex(text: &str) -> Result<Vec<Located>, TagError> {
    let error = |problem: String, column: usize| TagError {
        expression: text.to_owned(),
        problem,
        column,
    };
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let column = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '(' || c == ')' {
            tokens.push((if c == '(' { Token::Open } else { Token::Close }, column));
            i += 1;
            continue;
        }
        let start = i;
        while chars
            .get(i)
            .is_some_and(|c| !c.is_whitespace() && *c != '(' && *c != ')')
        {
            i += 1;
        }
        let word: String = chars[start..i].iter().collect();
        let token = match word.as_str() {
            "not" => Token::Not,
            "and" => Token::And,
            "or" => Token::Or,
            _ => match word.strip_prefix('@') {
                Some("") => return Err(error("a tag needs a name after `@`".into(), column)),
                Some(name) if name.contains('@') => {
                    return Err(error(format!("`{word}` is not one tag"), column))
                }
                Some(name) => Token::Tag(name.to_owned()),
                None => {
                    return Err(error(
                        format!("expected a tag like `@{word}`, found `{word}`"),
                        column,
                    ))
                }
            },
        };
        tokens.push((token, column));
    }
    Ok(tokens)
}

/// Recursive descent: `or := and ("or" and)*`, `and := not ("and" not)*`,
/// `not := "not" not | "@tag" | "(" or ")"`.
struct Parser<'t> {
    text: &'t str,
    tokens: Vec<Located>,
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<(&Token, usize)> {
        self.tokens.get(self.at).map(|(t, c)| (t, *c))
    }

    fn eat(&mut self, want: &Token) -> bool {
        let found = self.peek().is_some_and(|(t, _)| t == want);
        if found {
            self.at += 1;
        }
        found
    }

    fn error(&self, problem: String, column: usize) -> TagError {
        TagError {
            expression: self.text.to_owned(),
            problem,
            column,
        }
    }

    /// The column just past the end, for "expected … at the end".
    fn end(&self) -> usize {
        self.text.chars().count() + 1
    }

    fn or(&mut self) -> Result<TagExpr, TagError> {
        let mut left = self.and()?;
        while self.eat(&Token::Or) {
            let right = self.and()?;
            left = TagExpr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<TagExpr, TagError> {
        let mut left = self.not()?;
        while self.eat(&Token::And) {
            let right = self.not()?;
            left = TagExpr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<TagExpr, TagError> {
        let Some((token, column)) = self.peek() else {
            return Err(self.error(
                "unexpected end; expected a tag, `not` or `(`".into(),
                self.end(),
            ));
        };
        match token.clone() {
            Token::Not => {
                self.at += 1;
                Ok(TagExpr::Not(Box::new(self.not()?)))
            }
            Token::Tag(name) => {
                self.at += 1;
                Ok(TagExpr::Tag(name))
            }
            Token::Open => {
                self.at += 1;
                let inner = self.or()?;
                if self.eat(&Token::Close) {
                    Ok(inner)
                } else {
                    let (problem, at) = match self.peek() {
                        Some((t, c)) => (format!("expected `)`, found {}", t.describe()), c),
                        None => ("unclosed `(`".into(), column),
                    };
                    Err(self.error(problem, at))
                }
            }
            t @ (Token::And | Token::Or | Token::Close) => Err(self.error(
                format!("expected a tag, `not` or `(`, found {}", t.describe()),
                column,
            )),
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
            ("", 1, "unexpected end"),
            ("R5", 1, "expected a tag like `@R5`"),
            ("@a and", 7, "unexpected end"),
            ("@a or or @b", 7, "found `or`"),
            ("(@a or @b", 1, "unclosed `(`"),
            ("@a @b", 4, "unexpected tag `@b`"),
            ("@a)", 3, "unexpected `)`"),
            ("@", 1, "needs a name"),
            ("@a@b", 1, "not one tag"),
        ];
        for (text, column, problem) in cases {
            let e = TagExpr::parse(text).unwrap_err();
            assert_eq!(e.column, column, "{text:?}: {e}");
            assert!(e.to_string().contains(problem), "{text:?}: {e}");
            assert!(e.to_string().starts_with("bad tag expression"), "{e}");
        }
    }
}

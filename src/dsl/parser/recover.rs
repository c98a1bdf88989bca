//! Syntax errors: what pest expected, said in words, and where parsing goes
//! on after a statement that does not parse (the end of its line, or of the
//! value or inline world it opened).

use pest::error::{ErrorVariant, InputLocation};

use crate::dsl::grammar::Rule;
use crate::dsl::source::{first_word, Lexical, Scanner, Source};
use crate::dsl::words::{self, closest, STATEMENT_KEYWORDS};
use crate::scenario::diagnostic::Diagnostic;

/// What a line that failed to parse looked like, so the builder can keep
/// its structure.
pub(super) enum Shape {
    RunbookHead,
    BlockHead,
    Other,
}

pub(super) struct Recovery {
    pub(super) diagnostic: Diagnostic,
    /// Where parsing goes on.
    pub(super) resume: usize,
    pub(super) shape: Shape,
}

/// Turns a pest error on the statement at `start` into a diagnostic, and
/// finds where the next statement starts.
pub(super) fn syntax_error(
    src: &Source<'_>,
    start: usize,
    err: &pest::error::Error<Rule>,
) -> Recovery {
    let rel = match err.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((p, _)) => p,
    };
    let at = (start + rel).min(src.text.len());
    let rest = src.text.get(start..).unwrap_or("");
    let word = first_word(rest);
    let scan = scan_statement(src, start);
    let shape = match word {
        "runbook" => Shape::RunbookHead,
        "repeat" | "retry" | "burst" | "in" if opens_block(src.line_text(start)) => {
            Shape::BlockHead
        }
        _ => Shape::Other,
    };
    let resume = match shape {
        Shape::RunbookHead | Shape::BlockHead => src.next_line_start(start),
        Shape::Other => scan.resume,
    };
    let expected = Expected::of(src, at, err);

    let diagnostic = if let Some(open) = scan.heredoc_unclosed {
        Diagnostic::new(src.span(open, open + 3), "unterminated inline world")
            .with_label("no line `\"\"\"` closes this")
            .with_note("help: end the YAML with a line that holds only `\"\"\"`")
    } else if let Some(end) = unterminated_string(src, at) {
        Diagnostic::new(src.span(at, end), "unterminated string")
            .with_label("this string has no closing `\"` on its line")
    } else if let (Some(open), true) = (scan.unclosed, src.line_of(at) > src.line_of(start)) {
        let bracket = src.text.get(open..open + 1).unwrap_or("{");
        let close = if bracket == "[" { "]" } else { "}" };
        let before = if scan.resume < src.text.len() {
            format!(
                "before line {}, which starts the next statement",
                src.line_of(scan.resume)
            )
        } else {
            "before the end of the file".to_owned()
        };
        Diagnostic::new(src.span(open, open + 1), format!("unclosed `{bracket}`"))
            .with_label(format!("this `{bracket}` is never closed"))
            .with_note(format!("help: write `{close}` {before}"))
    } else if word == "cloudhsm" && cli_error_with_exception(src, start, at) {
        expected.diagnostic(src, at).with_note(
            "help: a CloudHSM CLI line fails with an error code, not an AWS exception: write `=> error` or `=> error \"substring\"`",
        )
    } else {
        expected.diagnostic(src, at)
    };
    Recovery {
        diagnostic,
        resume,
        shape,
    }
}

/// Whether the error is an exception name after `=> error` on a CLI line.
pub(super) fn cli_error_with_exception(src: &Source<'_>, start: usize, at: usize) -> bool {
    let before = src.text.get(start..at).unwrap_or("").trim_end();
    before.ends_with("error")
        && src
            .text
            .get(at..)
            .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_alphabetic()))
}

/// Whether a line (before its comment) ends with `{`.
pub(super) fn opens_block(line: &str) -> bool {
    let code = line.split('#').next().unwrap_or("");
    code.trim_end().ends_with('{')
}

/// What pest expected at the error, in words, and what it found.
pub(super) struct Expected {
    words: Vec<&'static str>,
    keywords: Vec<&'static str>,
    statement: bool,
    pub(super) found: String,
    found_len: usize,
    custom: Option<String>,
}

impl Expected {
    pub(super) fn of(src: &Source<'_>, at: usize, err: &pest::error::Error<Rule>) -> Expected {
        let (found, found_len) = found_at(src.text, at);
        let mut e = Expected {
            words: Vec::new(),
            keywords: Vec::new(),
            statement: false,
            found,
            found_len,
            custom: None,
        };
        match &err.variant {
            ErrorVariant::ParsingError { positives, .. } => {
                for rule in positives {
                    if matches!(rule, Rule::line | Rule::item | Rule::statement) {
                        e.statement = true;
                    }
                    if let Some(k) = words::keyword(*rule) {
                        if !e.keywords.contains(&k) {
                            e.keywords.push(k);
                        }
                    }
                    let w = words::describe(*rule);
                    if !e.words.contains(&w) {
                        e.words.push(w);
                    }
                }
            }
            ErrorVariant::CustomError { message } => e.custom = Some(message.clone()),
        }
        // "the end of the line" reads best last.
        let eol = words::describe(Rule::eol);
        if let Some(i) = e.words.iter().position(|w| *w == eol) {
            let w = e.words.remove(i);
            e.words.push(w);
        }
        e
    }

    pub(super) fn sentence(&self) -> String {
        if let Some(m) = &self.custom {
            return m.clone();
        }
        if self.statement {
            return format!("expected a statement, found {}", self.found);
        }
        let list = match self.words.as_slice() {
            [] => "something else".to_owned(),
            [one] => (*one).to_owned(),
            [one, two] => format!("{one} or {two}"),
            [init @ .., last] => format!("{}, or {last}", init.join(", ")),
        };
        format!("expected {list}, found {}", self.found)
    }

    pub(super) fn diagnostic(&self, src: &Source<'_>, at: usize) -> Diagnostic {
        let span = src.span(at, at + self.found_len);
        if self.statement && self.custom.is_none() {
            let word = first_word(src.text.get(at..).unwrap_or(""));
            let shown = if word.is_empty() {
                self.found.clone()
            } else {
                format!("`{word}`")
            };
            return Diagnostic::new(span, format!("unknown statement {shown}"))
                .with_label("not a statement")
                .with_guess(closest(word, STATEMENT_KEYWORDS.iter().copied()))
                .with_note("help: `hsmdrill steps` lists every statement");
        }
        let word = first_word(src.text.get(at..).unwrap_or(""));
        Diagnostic::new(span, self.sentence())
            .with_guess(closest(word, self.keywords.iter().copied()))
    }
}

/// What is at `at`, for "found …", and how many bytes to underline.
pub(super) fn found_at(text: &str, at: usize) -> (String, usize) {
    let rest = text.get(at..).unwrap_or("");
    let Some(c) = rest.chars().next() else {
        return ("the end of the file".to_owned(), 0);
    };
    if c == '\n' || c == '\r' {
        return ("the end of the line".to_owned(), 0);
    }
    const PUNCT: &[char] = &['{', '}', '[', ']', '(', ')', ',', ':', '"'];
    let len = if PUNCT.contains(&c) {
        c.len_utf8()
    } else {
        rest.find(|c: char| c.is_whitespace() || PUNCT.contains(&c))
            .unwrap_or(rest.len())
    };
    let shown: String = rest.get(..len).unwrap_or("").chars().take(40).collect();
    (format!("`{shown}`"), len)
}

/// If a string starting at `at` runs to the end of its line, where the line
/// ends.
pub(super) fn unterminated_string(src: &Source<'_>, at: usize) -> Option<usize> {
    let rest = src.text.get(at..)?;
    let mut scan = Scanner::new(rest);
    if scan.next()?.1 != '"' {
        return None;
    }
    while let Some((i, c, kind)) = scan.next() {
        if c == '\r' || kind == Lexical::Newline {
            return Some(at + i);
        }
        if !scan.in_string() {
            return None;
        }
    }
    Some(src.text.len())
}

/// Where a broken statement ends.
pub(super) struct Scan {
    pub(super) resume: usize,
    /// The innermost `{`/`[` left open, when the statement ran into the
    /// next statement or the end of the file.
    unclosed: Option<usize>,
    /// The `"""` of an inline world that nothing closes.
    heredoc_unclosed: Option<usize>,
}

/// Finds the end of the statement at `start`: the end of its line, unless
/// it opened a value (then the line that closes it, or the next line that
/// starts a statement) or an inline world (then its closing `"""`).
pub(super) fn scan_statement(src: &Source<'_>, start: usize) -> Scan {
    let text = src.text;
    let rest = text.get(start..).unwrap_or("");
    let next_line = src.next_line_start(start);
    let word = first_word(rest);
    if word == "world" {
        let after = rest.trim_start().trim_start_matches("world").trim_start();
        if after.starts_with("\"\"\"") {
            let open = start + (rest.len() - after.len());
            let mut at = next_line;
            while at < text.len() {
                let line = src.line_text(at);
                let next = src.next_line_start(at);
                if line.trim_start().starts_with("\"\"\"") {
                    return Scan {
                        resume: next,
                        unclosed: None,
                        heredoc_unclosed: None,
                    };
                }
                at = next;
            }
            return Scan {
                resume: text.len(),
                unclosed: None,
                heredoc_unclosed: Some(open),
            };
        }
    }
    if word == "cloudhsm" {
        return Scan {
            resume: next_line,
            unclosed: None,
            heredoc_unclosed: None,
        };
    }
    let mut open: Vec<usize> = Vec::new();
    for (i, c, kind) in Scanner::new(rest) {
        let here = start + i;
        match kind {
            Lexical::Newline => {
                let next = here + 1;
                if open.is_empty() {
                    return Scan {
                        resume: next,
                        unclosed: None,
                        heredoc_unclosed: None,
                    };
                }
                let following = text.get(next..).unwrap_or("");
                let w = first_word(following);
                let after = following.trim_start().get(w.len()..).unwrap_or("");
                if STATEMENT_KEYWORDS.contains(&w) && !after.trim_start().starts_with(':') {
                    return Scan {
                        resume: next,
                        unclosed: open.last().copied(),
                        heredoc_unclosed: None,
                    };
                }
            }
            Lexical::Code => match c {
                '{' | '[' => open.push(here),
                '}' | ']' => {
                    open.pop();
                }
                _ => {}
            },
            Lexical::Str | Lexical::Comment => {}
        }
    }
    Scan {
        resume: text.len(),
        unclosed: open.last().copied(),
        heredoc_unclosed: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_value_resumes_at_the_next_statement() {
        let text = "call X {\n  A: 1\nconnect S\n";
        let scan = scan_statement(&Source::test(text), 0);
        assert_eq!(scan.resume, text.find("connect").unwrap());
        assert_eq!(scan.unclosed, Some(7));
        let text = "call X {\n  A: \"}\"\n}\nsettle\n";
        let scan = scan_statement(&Source::test(text), 0);
        assert_eq!(scan.resume, text.find("settle").unwrap());
        assert_eq!(scan.unclosed, None);
    }
}

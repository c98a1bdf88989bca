//! The text a front end parses, and what turns byte offsets in it into
//! [`Span`]s (file, line, column); and [`Scanner`], the one reading of
//! runbook text that tells code from strings and comments.
//!
//! A Gherkin feature is a `Source` too: phrases build the syntax tree with
//! spans into the `.feature` text, and the checks read it the same way.

use std::path::Path;
use std::str::CharIndices;
use std::sync::Arc;

use crate::scenario::diagnostic::Diagnostic;
use crate::scenario::ir::Span;

/// Reads a source file (`what` says which kind, for the message). A file
/// that cannot be read is one diagnostic at its line 1, column 1.
pub(crate) fn read(path: &Path, what: &str) -> Result<String, Vec<Diagnostic>> {
    std::fs::read_to_string(path).map_err(|e| {
        vec![Diagnostic::new(
            Span {
                file: Arc::from(path.display().to_string()),
                line: 1,
                column: 1,
                offset: 0,
                len: 0,
            },
            format!("cannot read the {what}: {e}"),
        )]
    })
}

/// The text of a runbook file and what turns offsets into [`Span`]s.
pub(crate) struct Source<'a> {
    pub text: &'a str,
    pub file: Arc<str>,
    line_starts: Vec<usize>,
}

impl<'a> Source<'a> {
    pub fn new(text: &'a str, file: Arc<str>) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Source {
            text,
            file,
            line_starts,
        }
    }

    /// A source named `t.runbook`, for unit tests.
    #[cfg(test)]
    pub fn test(text: &'a str) -> Self {
        Source::new(text, Arc::from("t.runbook"))
    }

    /// The span of the bytes `start..end`.
    pub fn span(&self, start: usize, end: usize) -> Span {
        let start = start.min(self.text.len());
        let end = end.clamp(start, self.text.len());
        let line = self.line_starts.partition_point(|s| *s <= start).max(1);
        let line_start = self.line_starts.get(line - 1).copied().unwrap_or(0);
        let column = self
            .text
            .get(line_start..start)
            .map_or(0, |s| s.chars().count())
            + 1;
        Span {
            file: self.file.clone(),
            line,
            column,
            offset: start,
            len: end - start,
        }
    }

    /// Where the 1-based line `n` starts (the end of the text past the last
    /// line).
    pub fn line_start(&self, n: usize) -> usize {
        n.checked_sub(1)
            .and_then(|i| self.line_starts.get(i))
            .copied()
            .unwrap_or(self.text.len())
    }

    /// The 1-based line holding the offset.
    pub fn line_of(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|s| *s <= offset).max(1)
    }

    /// Where the line after the one holding `offset` starts (the end of the
    /// text on the last line).
    pub fn next_line_start(&self, offset: usize) -> usize {
        let line = self.line_of(offset);
        self.line_starts
            .get(line)
            .copied()
            .unwrap_or(self.text.len())
    }

    /// The text of the line holding `offset`, without its newline.
    pub fn line_text(&self, offset: usize) -> &'a str {
        let line = self.line_of(offset);
        let start = self.line_starts.get(line - 1).copied().unwrap_or(0);
        let end = self.next_line_start(offset);
        let text = self.text.get(start..end).unwrap_or("");
        text.trim_end_matches(['\n', '\r'])
    }
}

/// How deeply `{…}`/`[…]` values and blocks may nest. pest and the lowering
/// recurse once per level, so the limit keeps any input from exhausting the
/// stack.
pub(crate) const MAX_DEPTH: usize = 32;

/// The first word of a text (letters, digits, `_`, `-`).
pub(crate) fn first_word(text: &str) -> &str {
    let t = text.trim_start();
    let end = t
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(t.len());
    t.get(..end).unwrap_or("")
}

/// Rejects input whose `{`/`[` nesting exceeds [`MAX_DEPTH`] before pest
/// sees it. The count ignores brackets in strings and comments and never
/// goes below zero, so it bounds the nesting of any statement.
pub(crate) fn too_deep(src: &Source<'_>, start: usize, end: usize) -> Option<Diagnostic> {
    let mut depth = 0usize;
    let text = src.text.get(start..end).unwrap_or("");
    for (i, c, kind) in Scanner::new(text) {
        let i = start + i;
        if kind != Lexical::Code {
            continue;
        }
        match c {
            '{' | '[' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Some(
                        Diagnostic::new(
                            src.span(i, i + 1),
                            format!(
                                "values and blocks nest too deeply (at most {MAX_DEPTH} levels)"
                            ),
                        )
                        .with_label("one level too many"),
                    );
                }
            }
            '}' | ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// What a character of runbook text belongs to.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) enum Lexical {
    /// Code: neither in a string nor in a comment.
    Code,
    /// A string literal, its quotes included.
    Str,
    /// A `# …` comment.
    Comment,
    /// A line break, which ends any string or comment.
    Newline,
}

/// Walks runbook text a character at a time, saying of each whether it is
/// code, in a string (with `\` escapes) or in a comment. Strings and
/// comments end at the end of their line, as in the grammar.
pub(crate) struct Scanner<'a> {
    chars: CharIndices<'a>,
    in_string: bool,
    escaped: bool,
    comment: bool,
}

impl<'a> Scanner<'a> {
    pub fn new(text: &'a str) -> Self {
        Scanner {
            chars: text.char_indices(),
            in_string: false,
            escaped: false,
            comment: false,
        }
    }

    /// Whether the last character returned left a string open.
    pub fn in_string(&self) -> bool {
        self.in_string
    }
}

impl Iterator for Scanner<'_> {
    /// The byte offset, the character and what it belongs to.
    type Item = (usize, char, Lexical);

    fn next(&mut self) -> Option<Self::Item> {
        let (i, c) = self.chars.next()?;
        let kind = if c == '\n' {
            self.in_string = false;
            self.escaped = false;
            self.comment = false;
            Lexical::Newline
        } else if self.comment {
            Lexical::Comment
        } else if self.in_string {
            match (self.escaped, c) {
                (true, _) => self.escaped = false,
                (false, '\\') => self.escaped = true,
                (false, '"') => self.in_string = false,
                (false, _) => {}
            }
            Lexical::Str
        } else {
            match c {
                '"' => {
                    self.in_string = true;
                    Lexical::Str
                }
                '#' => {
                    self.comment = true;
                    Lexical::Comment
                }
                _ => Lexical::Code,
            }
        };
        Some((i, c, kind))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_count_lines_and_characters() {
        let s = Source::new("ab\néé x\n", Arc::from("t.runbook"));
        let span = s.span(8, 9);
        assert_eq!(
            (span.line, span.column, span.offset, span.len),
            (2, 4, 8, 1)
        );
        assert_eq!(s.next_line_start(0), 3);
        assert_eq!(s.next_line_start(8), 10);
        // Out of range is clamped, never a panic.
        assert_eq!(s.span(100, 200).offset, 10);
    }

    #[test]
    fn the_scanner_tells_code_from_strings_and_comments() {
        let kinds: String = Scanner::new("a\"#\\\"\"# x\n{")
            .map(|(_, _, k)| match k {
                Lexical::Code => 'c',
                Lexical::Str => 's',
                Lexical::Comment => '#',
                Lexical::Newline => 'n',
            })
            .collect();
        assert_eq!(kinds, "csssss###nc");
    }
}

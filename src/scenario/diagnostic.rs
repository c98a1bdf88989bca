//! One renderer for everything a scenario can get wrong: syntax and semantic
//! errors of a `.runbook` (from `dsl`), and step failures at run time (from
//! the runner, for runbooks and features alike).
//!
//! The layout follows pest and rustc, so the file, line and column are
//! clickable and the offending text is underlined:
//!
//! ```text
//! error: unknown key store `ExampleKeyStor`; the world declares `ExampleKeyStore`
//!  --> scenarios/r5.runbook:4:9
//!   |
//! 4 | connect ExampleKeyStor
//!   |         ^^^^^^^^^^^^^^
//!   |
//!   = help: did you mean `ExampleKeyStore`?
//! ```
//!
//! A [`Diagnostic`] only holds a [`Span`] (file, 1-based line and column, byte
//! offset and length), a message, an optional label printed after the carets,
//! and notes. Notes are printed after `= ` as written; by convention they
//! start with `help: ` (what to do) or `note: ` (what else is true).
//! Rendering never fails and never panics: a span that does not fit the
//! source given is rendered without its snippet.

use std::fmt;

use serde::Serialize;

use super::ir::Span;

/// An error at a place in a scenario file.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
pub struct Diagnostic {
    /// Where: the first line of the span is shown, underlined from the
    /// column for `len` bytes (at least one caret).
    pub span: Span,
    /// What is wrong, one line.
    pub message: String,
    /// A short text printed after the carets.
    pub label: Option<String>,
    /// Further lines, printed after `= ` (conventionally `help: …` or
    /// `note: …`).
    pub notes: Vec<String>,
}

impl Diagnostic {
    /// A diagnostic with no label and no notes.
    pub fn new(span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            span,
            message: message.into(),
            label: None,
            notes: Vec::new(),
        }
    }

    /// Sets the text printed after the carets.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Adds a note (`help: …`, `note: …`).
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// Adds `` help: did you mean `guess`? `` when there is a guess.
    pub fn with_guess(self, guess: Option<impl std::fmt::Display>) -> Self {
        match guess {
            Some(g) => self.with_note(format!("help: did you mean `{g}`?")),
            None => self,
        }
    }

    /// Renders the diagnostic. With the text of the span's file, the line is
    /// shown and underlined; with `None` only the header (message and
    /// location) and the notes are printed. The result ends with a newline.
    pub fn render(&self, source: Option<&str>) -> String {
        let snippet = source.and_then(|s| Snippet::find(s, &self.span));
        let line_no = self.span.line.to_string();
        let pad = " ".repeat(line_no.len());
        let mut out = format!("error: {}\n{pad}--> {}\n", self.message, self.span);
        if let Some(snip) = &snippet {
            out.push_str(&format!("{pad} |\n"));
            out.push_str(format!("{line_no} | {}", snip.text).trim_end());
            out.push('\n');
            let mut carets = format!(
                "{pad} | {}{}",
                " ".repeat(snip.start),
                "^".repeat(snip.width)
            );
            if let Some(label) = &self.label {
                carets.push(' ');
                carets.push_str(label);
            }
            out.push_str(carets.trim_end());
            out.push('\n');
        }
        if !self.notes.is_empty() {
            if snippet.is_some() {
                out.push_str(&format!("{pad} |\n"));
            }
            for note in &self.notes {
                out.push_str(&format!("{pad} = {note}\n"));
            }
        }
        out
    }
}

impl fmt::Display for Diagnostic {
    /// The header and notes, as [`Diagnostic::render`] without a source.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.render(None).trim_end())
    }
}

impl std::error::Error for Diagnostic {}

/// Renders every diagnostic against the same source, separated by blank
/// lines.
pub fn render_all(diags: &[Diagnostic], source: &str) -> String {
    diags
        .iter()
        .map(|d| d.render(Some(source)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The line of a span, ready to print: tabs expanded, and where the carets
/// go (in printed columns).
#[derive(Clone, Debug)]
struct Snippet {
    text: String,
    start: usize,
    width: usize,
}

/// How many columns a tab takes in a snippet.
const TAB: usize = 4;

impl Snippet {
    fn find(source: &str, span: &Span) -> Option<Snippet> {
        let index = span.line.checked_sub(1)?;
        let raw = source.split('\n').nth(index)?;
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let line_start = line_offset(source, index)?;
        // The caret starts at the column; its width comes from the byte
        // length when the offset agrees with the line and column.
        let chars: Vec<char> = raw.chars().collect();
        let col0 = span.column.saturating_sub(1).min(chars.len());
        let start_byte = line_start + chars[..col0].iter().map(|c| c.len_utf8()).sum::<usize>();
        let covered = if start_byte == span.offset {
            let end = span.offset.saturating_add(span.len);
            chars[col0..]
                .iter()
                .scan(start_byte, |at, c| {
                    let here = *at;
                    *at += c.len_utf8();
                    Some(here)
                })
                .take_while(|at| *at < end)
                .count()
        } else {
            1
        };
        let expand =
            |cs: &[char]| -> usize { cs.iter().map(|c| if *c == '\t' { TAB } else { 1 }).sum() };
        let start = expand(&chars[..col0]);
        let width = expand(&chars[col0..(col0 + covered).min(chars.len())]).max(1);
        let text = raw.replace('\t', &" ".repeat(TAB));
        Some(Snippet { text, start, width })
    }
}

/// The byte offset at which the 0-based line `index` starts.
fn line_offset(source: &str, index: usize) -> Option<usize> {
    if index == 0 {
        return Some(0);
    }
    source
        .match_indices('\n')
        .nth(index - 1)
        .map(|(at, _)| at + 1)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn span(line: usize, column: usize, offset: usize, len: usize) -> Span {
        Span {
            file: Arc::from("scenarios/r5.runbook"),
            line,
            column,
            offset,
            len,
        }
    }

    #[test]
    fn renders_like_rustc() {
        let src = "runbook \"x\"\nworld \"w.yaml\"\n\nconnect ExampleKeyStor\n";
        let d = Diagnostic::new(
            span(4, 9, 36, 14),
            "unknown key store `ExampleKeyStor`; the world declares `ExampleKeyStore`",
        )
        .with_note("help: did you mean `ExampleKeyStore`?");
        assert_eq!(
            d.render(Some(src)),
            "error: unknown key store `ExampleKeyStor`; the world declares `ExampleKeyStore`\n \
             --> scenarios/r5.runbook:4:9\n  |\n4 | connect ExampleKeyStor\n  |         \
             ^^^^^^^^^^^^^^\n  |\n  = help: did you mean `ExampleKeyStore`?\n"
        );
    }

    #[test]
    fn without_source_prints_the_header() {
        let d = Diagnostic::new(span(4, 9, 36, 14), "boom").with_label("here");
        assert_eq!(
            d.render(None),
            "error: boom\n --> scenarios/r5.runbook:4:9\n"
        );
    }

    #[test]
    fn spans_that_do_not_fit_do_not_panic() {
        let d = Diagnostic::new(span(40, 90, 9999, 5), "far away");
        assert_eq!(
            d.render(Some("a\nb")),
            "error: far away\n  --> scenarios/r5.runbook:40:90\n"
        );
        let d = Diagnostic::new(span(1, 90, 9999, 5), "past the end");
        assert!(d.render(Some("héllo")).contains("     ^"));
        let d = Diagnostic::new(span(0, 0, 0, 0), "line zero");
        assert!(d.render(Some("x")).starts_with("error: line zero"));
    }

    #[test]
    fn tabs_are_expanded_under_the_caret() {
        let d = Diagnostic::new(span(1, 2, 1, 1), "tab").with_label("x");
        assert_eq!(
            d.render(Some("\tx")),
            "error: tab\n --> scenarios/r5.runbook:1:2\n  |\n1 |     x\n  |     ^ x\n"
        );
    }
}

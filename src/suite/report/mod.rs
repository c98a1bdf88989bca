//! Reports over a [`SuiteResult`]: pretty text for people, JSON for tools,
//! JUnit XML for CI, and HTML to explore a run in a browser. Every writer is a pure function from results to text,
//! so each can be tested without running anything.
//!
//! The pretty report is a progress line per scenario ([`progress`], which
//! the binary prints as each one finishes), then a block per failure
//! ([`details`]) in the one diagnostic layout of [`crate::scenario::diagnostic`]: the
//! step's `file:line:col`, its source line underlined, `expected:`,
//! `actual:` and the DescribeCustomKeyStores entry of the store involved;
//! or the snapshot diff; or the parse errors of a file. It ends with the
//! summary line `N passed, N failed`.
//!
//! [`html`] (`html.rs`, with `report.css` and `report.js` inlined) is the
//! same report as one self-contained page, with a timeline per scenario.
//!
//! [`check`] and [`steps`] render the other two commands, `hsmdrill check`
//! and `hsmdrill steps`.

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::{json, Value};

use super::{Loaded, Run, ScenarioResult, Snapshot, SuiteResult};

mod html;

use crate::scenario::diagnostic::{render_all, Diagnostic};
use crate::scenario::outcome::Outcome;
pub use html::{html, timeline};

/// The separator between a file and a scenario title in progress lines.
const SEP: &str = "›";

/// The progress line of one result, without a newline:
/// `ok   r5.runbook › kmsuser locked out (12 steps)`.
pub fn progress(r: &ScenarioResult) -> String {
    let status = if r.passed() { "ok  " } else { "FAIL" };
    let what = match &r.run {
        Run::Ran {
            outcome,
            total_steps,
            snapshot,
        } => {
            let steps = plural(*total_steps, "step");
            let note = match (&outcome.failure, snapshot) {
                (Some(_), _) => {
                    let at = outcome
                        .steps
                        .iter()
                        .position(|s| !s.passed)
                        .map_or(outcome.steps.len(), |i| i + 1);
                    format!("step {at} of {total_steps} failed")
                }
                (None, Snapshot::Matches | Snapshot::NotChecked) => steps,
                (None, Snapshot::Accepted { .. }) => format!("{steps}, snapshot accepted"),
                (None, Snapshot::Missing { .. }) => format!("{steps}, no snapshot yet"),
                (None, Snapshot::Differs { .. }) => format!("{steps}, snapshot differs"),
                (None, Snapshot::Unusable { .. }) => format!("{steps}, snapshot unusable"),
            };
            format!("{} ({note})", outcome.scenario)
        }
        Run::Unparsed { diagnostics } => {
            format!("does not parse ({})", plural(diagnostics.len(), "error"))
        }
    };
    format!("{status} {} {SEP} {what}", r.name)
}

/// The summary line, without a newline: `N passed, N failed`.
pub fn summary(suite: &SuiteResult) -> String {
    format!("{} passed, {} failed", suite.passed(), suite.failed())
}

/// Everything after the progress lines: a block per failure, then the
/// summary line (and how many snapshots `--accept` wrote, if any).
pub fn details(suite: &SuiteResult) -> String {
    let mut out = String::new();
    for r in &suite.results {
        if let Some(block) = failure_block(r) {
            let title = r.scenario().unwrap_or("does not parse");
            let _ = write!(out, "\nFAIL {} {SEP} {title}\n{block}", r.name);
        }
    }
    out.push('\n');
    let accepted = suite.accepted();
    if accepted > 0 {
        let _ = writeln!(out, "{} accepted", plural(accepted, "snapshot"));
    }
    out.push_str(&summary(suite));
    out.push('\n');
    out
}

/// The whole pretty report: progress lines, failure blocks, summary.
pub fn pretty(suite: &SuiteResult) -> String {
    let mut out = String::new();
    for r in &suite.results {
        out.push_str(&progress(r));
        out.push('\n');
    }
    out.push_str(&details(suite));
    out
}

/// Why a result failed, in the diagnostic layout; `None` if it passed.
pub fn failure_block(r: &ScenarioResult) -> Option<String> {
    let source = Some(&*r.source);
    match &r.run {
        Run::Unparsed { diagnostics } => Some(render_all(diagnostics, &r.source)),
        Run::Ran {
            outcome, snapshot, ..
        } => {
            if let Some(f) = &outcome.failure {
                return Some(f.render(source));
            }
            let at =
                |message: String| Diagnostic::new(outcome.span.clone(), message).render(source);
            match snapshot {
                Snapshot::Matches | Snapshot::Accepted { .. } | Snapshot::NotChecked => None,
                Snapshot::Missing { path } => Some(at(format!(
                    "no snapshot yet: run with --accept (to write {path})"
                ))),
                Snapshot::Differs { path, diff } => Some(format!(
                    "{}{}",
                    at(format!(
                        "snapshot differs (run with --accept to accept): {path}"
                    )),
                    with_newline(diff)
                )),
                Snapshot::Unusable { path, error } => {
                    Some(at(format!("cannot use snapshot {path}: {error}")))
                }
            }
        }
    }
}

/// The JSON report: an array with one object per result, holding its
/// `status` (`passed` / `failed`), the runner's outcome (file, scenario,
/// tags, span, steps, failure, describes) and the `snapshot` result. A file
/// that does not parse has `scenario: null`, its `diagnostics`, and a
/// `failure` pointing at the first of them.
pub fn json(suite: &SuiteResult) -> Result<String, serde_json::Error> {
    #[derive(Serialize)]
    struct Ran<'a> {
        status: &'static str,
        #[serde(flatten)]
        outcome: &'a Outcome,
        snapshot: &'a Snapshot,
    }
    let items = suite
        .results
        .iter()
        .map(|r| {
            let status = if r.passed() { "passed" } else { "failed" };
            match &r.run {
                Run::Ran {
                    outcome, snapshot, ..
                } => serde_json::to_value(Ran {
                    status,
                    outcome,
                    snapshot,
                }),
                Run::Unparsed { diagnostics } => Ok(json!({
                    "status": status,
                    "file": r.path.display().to_string(),
                    "scenario": null,
                    "tags": [],
                    "failure": diagnostics.first().map(|d| json!({
                        "span": d.span,
                        "step": null,
                        "expected": "a runbook that parses",
                        "actual": d.message,
                        "store": null,
                    })),
                    "diagnostics": diagnostics,
                    "snapshot": Snapshot::NotChecked,
                })),
            }
        })
        .collect::<Result<Vec<Value>, _>>()?;
    let mut text = serde_json::to_string_pretty(&items)?;
    text.push('\n');
    Ok(text)
}

/// The JUnit XML report: a `<testsuite>` per file, a `<testcase>` per
/// scenario (`name` its title, `classname` its file), and for a failure a
/// `<failure message="…">` holding the same block as the pretty report.
pub fn junit(suite: &SuiteResult) -> String {
    let mut groups: Vec<(String, Vec<&ScenarioResult>)> = Vec::new();
    for r in &suite.results {
        let file = r.path.display().to_string();
        match groups.last_mut() {
            Some((f, rs)) if *f == file => rs.push(r),
            Some(_) | None => groups.push((file, vec![r])),
        }
    }
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"hsmdrill\" tests=\"{}\" failures=\"{}\" errors=\"0\">",
        suite.results.len(),
        suite.failed()
    );
    for (file, results) in groups {
        let failures = results.iter().filter(|r| !r.passed()).count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">",
            xml_attr(&file),
            results.len()
        );
        for r in results {
            let name = r.scenario().unwrap_or("does not parse");
            let _ = write!(
                out,
                "    <testcase name=\"{}\" classname=\"{}\"",
                xml_attr(name),
                xml_attr(&file)
            );
            match failure_block(r) {
                None => out.push_str("/>\n"),
                Some(block) => {
                    let _ = write!(
                        out,
                        ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>\n",
                        xml_attr(&failure_message(r)),
                        xml_text(&block)
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// The one-line reason for a failure, for JUnit's `message`.
fn failure_message(r: &ScenarioResult) -> String {
    match &r.run {
        Run::Unparsed { diagnostics } => match diagnostics.first() {
            Some(d) => format!(
                "does not parse ({}): {}: {}",
                plural(diagnostics.len(), "error"),
                d.span,
                d.message
            ),
            None => "does not parse".into(),
        },
        Run::Ran {
            outcome, snapshot, ..
        } => match (&outcome.failure, snapshot) {
            (Some(f), _) => format!(
                "{}: {}: expected {}, actual {}",
                f.span, f.step, f.expected, f.actual
            ),
            (None, Snapshot::Missing { .. }) => "no snapshot yet: run with --accept".into(),
            (None, Snapshot::Differs { path, .. }) => {
                format!("snapshot differs (run with --accept to accept): {path}")
            }
            (None, Snapshot::Unusable { path, error }) => {
                format!("cannot use snapshot {path}: {error}")
            }
            (None, Snapshot::Matches | Snapshot::Accepted { .. } | Snapshot::NotChecked) => {
                String::new()
            }
        },
    }
}

/// What `hsmdrill check` prints: every diagnostic of every file, then
/// `N files, N runbooks, N errors`.
pub fn check(files: &[Loaded]) -> String {
    let mut out = String::new();
    for f in files {
        let diags = f.diagnostics();
        if !diags.is_empty() {
            out.push_str(&render_all(diags, &f.source));
            out.push('\n');
        }
    }
    let runbooks: usize = files.iter().map(Loaded::scenario_count).sum();
    let errors: usize = files.iter().map(|f| f.diagnostics().len()).sum();
    let _ = writeln!(
        out,
        "{}, {}, {}",
        plural(files.len(), "file"),
        plural(runbooks, "runbook"),
        plural(errors, "error")
    );
    out
}

/// What `hsmdrill steps` prints: one statement per line, its syntax then
/// its one-line help, aligned.
pub fn catalog<'a>(entries: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    /// Syntax longer than this does not push every help text right.
    const MAX_WIDTH: usize = 48;
    let entries: Vec<(&str, &str)> = entries.into_iter().collect();
    let width = entries
        .iter()
        .map(|(s, _)| s.chars().count())
        .filter(|w| *w <= MAX_WIDTH)
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (syntax, help) in entries {
        if syntax.chars().count() <= width {
            let _ = writeln!(out, "{syntax:<width$}  {help}");
        } else {
            let _ = writeln!(out, "{syntax}\n{:width$}  {help}", "");
        }
    }
    out
}

/// What `hsmdrill steps` prints: the runbook statements
/// ([`catalog`]), then, under a heading, the Gherkin phrases of `.feature`
/// files, each with the runbook statement(s) it stands for.
pub fn steps<'a>(
    statements: impl IntoIterator<Item = (&'a str, &'a str)>,
    phrases: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> String {
    let mut out = catalog(statements);
    out.push_str(
        "\nGherkin phrases (.feature files; any keyword: Given, When, Then, And, But),\n\
         each with the runbook statement it stands for:\n\n",
    );
    out.push_str(&catalog(phrases));
    out
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn with_newline(s: &str) -> String {
    if s.ends_with('\n') {
        s.to_owned()
    } else {
        format!("{s}\n")
    }
}

/// Text escaped for XML character data; characters XML 1.0 cannot hold
/// are dropped.
fn xml_text(s: &str) -> String {
    escape(s, false)
}

/// Text escaped for a double-quoted XML attribute; line breaks and tabs
/// are kept as character references (a parser would turn them to spaces).
fn xml_attr(s: &str) -> String {
    escape(s, true)
}

fn escape(s: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\'' if attribute => out.push_str("&apos;"),
            '\n' | '\r' | '\t' if attribute => {
                let _ = write!(out, "&#{};", u32::from(c));
            }
            '\n' | '\r' | '\t' => out.push(c),
            c if u32::from(c) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::scenario::ir::Span;
    use crate::scenario::outcome::{Failure, Mark, StepRecord};

    const SOURCE: &str = "runbook \"locked\" @R5\nworld \"w.yaml\"\nexpect ExampleKeyStore.ConnectionErrorCode == USER_LOCKED_OUT\n";

    fn span(line: usize, offset: usize, len: usize) -> Span {
        Span {
            file: Arc::from("scenarios/r5.runbook"),
            line,
            column: 1,
            offset,
            len,
        }
    }

    fn outcome(failure: Option<Failure>) -> Outcome {
        Outcome {
            file: "scenarios/r5.runbook".into(),
            scenario: "locked <out> & \"gone\"".into(),
            tags: vec!["R5".into()],
            span: span(1, 0, 20),
            steps: vec![
                StepRecord {
                    span: span(2, 21, 14),
                    text: "world \"w.yaml\"".into(),
                    passed: true,
                    mark: Mark::Setup,
                    start: Some(0),
                    end: Some(0),
                    describes: 0,
                    state: None,
                },
                StepRecord {
                    span: span(3, 36, 61),
                    text: "expect …".into(),
                    passed: failure.is_none(),
                    mark: Mark::Expect,
                    start: Some(0),
                    end: Some(0),
                    describes: 0,
                    state: None,
                },
            ],
            failure,
            describes: Vec::new(),
        }
    }

    fn result(run: Run) -> ScenarioResult {
        ScenarioResult {
            path: PathBuf::from("scenarios/r5.runbook"),
            name: "r5.runbook".into(),
            source: Arc::from(SOURCE),
            run,
        }
    }

    fn ran(failure: Option<Failure>, snapshot: Snapshot) -> ScenarioResult {
        result(Run::Ran {
            outcome: Box::new(outcome(failure)),
            total_steps: 2,
            snapshot,
        })
    }

    fn failing() -> ScenarioResult {
        ran(
            Some(Failure {
                span: span(3, 36, 61),
                step: "expect ExampleKeyStore.ConnectionErrorCode == USER_LOCKED_OUT".into(),
                expected: "USER_LOCKED_OUT".into(),
                actual: "INVALID_CREDENTIALS".into(),
                store: Some(json!({
                    "CustomKeyStoreId": "cks-1234567890abcdef0",
                    "CustomKeyStoreName": "ExampleKeyStore",
                })),
            }),
            Snapshot::NotChecked,
        )
    }

    fn suite() -> SuiteResult {
        SuiteResult {
            results: vec![
                ran(None, Snapshot::Matches),
                failing(),
                ran(
                    None,
                    Snapshot::Differs {
                        path: "scenarios/snapshots/r5__x.snap".into(),
                        diff: "--- snapshot\n+++ this run\n-a\n+b\n".into(),
                    },
                ),
                result(Run::Unparsed {
                    diagnostics: vec![Diagnostic::new(span(2, 21, 5), "unknown statement")],
                }),
            ],
        }
    }

    #[test]
    fn progress_lines_name_file_scenario_and_steps() {
        let s = suite();
        let lines: Vec<String> = s.results.iter().map(progress).collect();
        assert_eq!(
            lines[0],
            "ok   r5.runbook › locked <out> & \"gone\" (2 steps)"
        );
        assert_eq!(
            lines[1],
            "FAIL r5.runbook › locked <out> & \"gone\" (step 2 of 2 failed)"
        );
        assert_eq!(
            lines[2],
            "FAIL r5.runbook › locked <out> & \"gone\" (2 steps, snapshot differs)"
        );
        assert_eq!(lines[3], "FAIL r5.runbook › does not parse (1 error)");
    }

    #[test]
    fn pretty_shows_each_failure_in_the_diagnostic_layout() {
        let text = pretty(&suite());
        assert!(text.contains("--> scenarios/r5.runbook:3:1\n"), "{text}");
        assert!(
            text.contains("3 | expect ExampleKeyStore.ConnectionErrorCode == USER_LOCKED_OUT\n"),
            "{text}"
        );
        assert!(text.contains("  = expected: USER_LOCKED_OUT\n"), "{text}");
        assert!(
            text.contains("  = actual:   INVALID_CREDENTIALS\n"),
            "{text}"
        );
        assert!(text.contains("  = note: ExampleKeyStore in DescribeCustomKeyStores:\n    {\n        \"CustomKeyStoreId\": \"cks-1234567890abcdef0\",\n"), "{text}");
        assert!(text.contains("error: snapshot differs (run with --accept to accept): scenarios/snapshots/r5__x.snap\n"), "{text}");
        assert!(text.contains("\n-a\n+b\n"), "{text}");
        assert!(text.contains("error: unknown statement\n"), "{text}");
        assert!(text.ends_with("\n1 passed, 3 failed\n"), "{text}");
    }

    #[test]
    fn accepted_snapshots_are_counted() {
        let s = SuiteResult {
            results: vec![ran(
                None,
                Snapshot::Accepted {
                    path: "x.snap".into(),
                },
            )],
        };
        assert_eq!(
            progress(&s.results[0]),
            "ok   r5.runbook › locked <out> & \"gone\" (2 steps, snapshot accepted)"
        );
        assert!(details(&s).ends_with("\n1 snapshot accepted\n1 passed, 0 failed\n"));
    }

    #[test]
    fn json_is_an_array_of_outcomes_with_status_and_snapshot() {
        let v: Value = serde_json::from_str(&json(&suite()).unwrap()).unwrap();
        let items = v.as_array().unwrap();
        assert_eq!(items.len(), 4);
        assert_eq!(items[0]["status"], "passed");
        assert_eq!(items[0]["snapshot"]["result"], "matches");
        assert_eq!(items[1]["status"], "failed");
        assert_eq!(items[1]["failure"]["expected"], "USER_LOCKED_OUT");
        assert_eq!(items[1]["failure"]["span"]["line"], 3);
        assert_eq!(items[2]["snapshot"]["result"], "differs");
        assert_eq!(items[3]["scenario"], Value::Null);
        assert_eq!(items[3]["diagnostics"][0]["message"], "unknown statement");
    }

    #[test]
    fn junit_escapes_and_groups_by_file() {
        let xml = junit(&suite());
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"hsmdrill\" tests=\"4\" failures=\"3\""), "{xml}");
        assert_eq!(xml.matches("<testsuite ").count(), 1, "{xml}");
        assert!(xml.contains("<testcase name=\"locked &lt;out&gt; &amp; &quot;gone&quot;\" classname=\"scenarios/r5.runbook\"/>"), "{xml}");
        assert!(xml.contains("<failure message=\"scenarios/r5.runbook:3:1: expect ExampleKeyStore.ConnectionErrorCode == USER_LOCKED_OUT: expected USER_LOCKED_OUT, actual INVALID_CREDENTIALS\">"), "{xml}");
        assert!(
            xml.contains("\"CustomKeyStoreName\": \"ExampleKeyStore\""),
            "{xml}"
        );
        assert_eq!(xml.matches("<failure ").count(), 3);
        assert!(xml.ends_with("</testsuite>\n</testsuites>\n"));
    }

    #[test]
    fn html_shows_every_result_and_each_failure_as_the_terminal_does() {
        let s = suite();
        let page = html(&s);
        assert_eq!(page.matches("<section class=\"scenario ").count(), 4);
        // Three ran (a timeline each); the file that does not parse has none.
        assert_eq!(page.matches("<svg ").count(), 3);
        assert!(
            page.contains("1 passed</span>, <span class=\"fail\">3 failed"),
            "{page}"
        );
        assert!(
            page.contains("locked &lt;out&gt; &amp; &quot;gone&quot;"),
            "{page}"
        );
        for r in &s.results {
            if let Some(block) = failure_block(r) {
                let escaped = block
                    .replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;")
                    .replace('"', "&quot;")
                    .replace('\'', "&#39;");
                assert!(
                    page.contains(&format!("<pre class=\"diagnostic\">{escaped}</pre>")),
                    "{block}"
                );
            }
        }
        assert!(
            page.contains("<input type=\"checkbox\" value=\"R5\">@R5"),
            "{page}"
        );
        assert!(
            page.contains("<code>scenarios/r5.runbook:3</code>"),
            "{page}"
        );
        assert!(!page.contains("http://") && !page.contains("https://"));
    }

    #[test]
    fn xml_escaping_drops_what_xml_cannot_hold() {
        assert_eq!(
            xml_attr("a\"b'<c>&\nd\u{1}"),
            "a&quot;b&apos;&lt;c&gt;&amp;&#10;d"
        );
        assert_eq!(xml_text("a\"b\n<\u{0}"), "a\"b\n&lt;");
    }

    #[test]
    fn catalog_aligns_help() {
        let text = catalog([
            ("connect STORE", "connect a key store"),
            ("settle", "let pending work finish"),
        ]);
        assert_eq!(
            text,
            "connect STORE  connect a key store\nsettle         let pending work finish\n"
        );
        let long = "x".repeat(60);
        let text = catalog([("settle", "s"), (long.as_str(), "l")]);
        assert_eq!(text, format!("settle  s\n{long}\n        l\n"));
    }
}

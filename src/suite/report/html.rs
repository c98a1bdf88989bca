//! The HTML report: one self-contained file (inline CSS, JS and SVG,
//! nothing loaded from the network), the fourth format of the same
//! [`SuiteResult`] the pretty, JSON and JUnit reports read.
//!
//! The page is rendered here, in full, so that it reads without script and
//! can be checked as text: a summary (passed, failed, virtual time, the
//! scenarios that took the most virtual time), the tag and status filters,
//! then a section per scenario with its status, tags, the failure block of
//! [`failure_block`] (what the terminal prints), a timeline on the virtual
//! clock ([`timeline`]) and its steps with their `file:line`. Each section
//! carries its steps and DescribeCustomKeyStores responses as JSON; the
//! script (`report.js`) only filters sections and, on hovering or clicking
//! a marker, shows the step and the response recorded at it, with what
//! changed since the previous response highlighted.
//!
//! The output is a function of the results: no wall-clock time, no random
//! ids, so the same run gives the same bytes.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde_json::{json, Value};

use super::{failure_block, plural, ScenarioResult, SuiteResult};
use crate::scenario::outcome::Outcome;
use crate::suite::Run;

mod timeline;

pub use timeline::timeline;

/// The stylesheet, inlined.
const CSS: &str = include_str!("report.css");
/// The script, inlined.
const JS: &str = include_str!("report.js");
/// How many scenarios the summary lists as taking the most virtual time.
const SLOWEST: usize = 5;

/// The HTML report of `suite`.
pub fn html(suite: &SuiteResult) -> String {
    let mut out = String::with_capacity(64 * 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str("<title>hsmdrill report</title>\n<style>\n");
    out.push_str(CSS);
    out.push_str("</style>\n</head>\n<body>\n<header>\n<h1>hsmdrill report</h1>\n");
    summary(&mut out, suite);
    filters(&mut out, suite);
    legend(&mut out);
    out.push_str("</header>\n<main>\n");
    for (i, r) in suite.results.iter().enumerate() {
        scenario(&mut out, i, r);
    }
    out.push_str("</main>\n<script>\n");
    out.push_str(JS);
    out.push_str("</script>\n</body>\n</html>\n");
    out
}

/// Passed, failed, virtual time, and the scenarios that took the most.
fn summary(out: &mut String, suite: &SuiteResult) {
    let total: i64 = suite.results.iter().map(virtual_ms).sum();
    let _ = write!(
        out,
        "<section id=\"summary\">\n<p class=\"counts\"><span class=\"pass\">{} passed</span>, \
         <span class=\"fail\">{} failed</span> of {} · {} of virtual time</p>\n",
        suite.passed(),
        suite.failed(),
        plural(suite.results.len(), "scenario"),
        duration(total)
    );
    let mut slow: Vec<(usize, i64)> = suite
        .results
        .iter()
        .enumerate()
        .map(|(i, r)| (i, virtual_ms(r)))
        .filter(|(_, ms)| *ms > 0)
        .collect();
    // Longest first; ties in run order, so the list is stable.
    slow.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    if !slow.is_empty() {
        out.push_str("<p>Most virtual time:</p>\n<ol class=\"slowest\">\n");
        for (i, ms) in slow.into_iter().take(SLOWEST) {
            if let Some(r) = suite.results.get(i) {
                let _ = writeln!(
                    out,
                    "<li><a href=\"#s{i}\">{} › {}</a> {}</li>",
                    esc(&r.name),
                    esc(r.scenario().unwrap_or("does not parse")),
                    duration(ms)
                );
            }
        }
        out.push_str("</ol>\n");
    }
    out.push_str("</section>\n");
}

/// The status select and a checkbox per tag.
fn filters(out: &mut String, suite: &SuiteResult) {
    let tags: BTreeSet<&str> = suite
        .results
        .iter()
        .flat_map(|r| tags(r).iter().map(String::as_str))
        .collect();
    out.push_str(
        "<form id=\"filters\">\n<label>Status <select id=\"status\">\
         <option value=\"all\">all</option><option value=\"passed\">passed</option>\
         <option value=\"failed\">failed</option></select></label>\n<span class=\"tags\">Tags",
    );
    for t in tags {
        let _ = write!(
            out,
            " <label><input type=\"checkbox\" value=\"{}\">@{}</label>",
            esc(t),
            esc(t)
        );
    }
    out.push_str("</span>\n<span id=\"shown\"></span>\n</form>\n");
}

/// What the colours and markers of a timeline mean.
fn legend(out: &mut String) {
    out.push_str("<details id=\"legend\"><summary>Legend</summary>\n<p>");
    for (class, what) in [
        ("cs-CONNECTED", "CONNECTED / Enabled / ACTIVE"),
        ("cs-CONNECTING", "CONNECTING / in progress"),
        ("cs-DISCONNECTED", "DISCONNECTED / Disabled / not logged in"),
        ("cs-FAILED", "FAILED / locked"),
        ("cs-Unavailable", "Unavailable"),
        ("cs-PendingDeletion", "PendingDeletion / DEGRADED"),
    ] {
        let _ = write!(out, "<span class=\"sw {class}\"></span>{what} ");
    }
    out.push_str(
        "</p>\n<p>Markers: <b class=\"k-fault\">▲</b> fault, <b class=\"k-cli\">■</b> \
         CloudHSM CLI, <b class=\"k-burst\">◆</b> burst (✓ succeeded, ✗ failed), \
         <b class=\"k-failed\">✖</b> failed step, <b class=\"k-step\">●</b> other step. \
         The axis is the virtual clock: each step gets a slot, and time passing widens it \
         (logarithmically), labelled with the clock since the scenario began.</p>\n</details>\n",
    );
}

/// One scenario's section.
fn scenario(out: &mut String, i: usize, r: &ScenarioResult) {
    let status = if r.passed() { "passed" } else { "failed" };
    let _ = writeln!(
        out,
        "<section class=\"scenario {status}\" id=\"s{i}\" data-status=\"{status}\" data-tags=\"{}\">",
        esc(&tags(r).join(" "))
    );
    let _ = writeln!(
        out,
        "<h2><span class=\"badge\">{}</span> {} › {}</h2>",
        if r.passed() { "PASS" } else { "FAIL" },
        esc(&r.name),
        esc(r.scenario().unwrap_or("does not parse"))
    );
    let tag_text: Vec<String> = tags(r).iter().map(|t| format!("@{}", esc(t))).collect();
    let _ = write!(
        out,
        "<p class=\"meta\"><code>{}</code>",
        esc(&r.path.display().to_string())
    );
    if !tag_text.is_empty() {
        let _ = write!(out, " · {}", tag_text.join(" "));
    }
    if let Run::Ran {
        outcome,
        total_steps,
        ..
    } = &r.run
    {
        let _ = write!(
            out,
            " · {} · {} of virtual time",
            plural(*total_steps, "step"),
            duration(virtual_ms(r))
        );
        if outcome.steps.iter().all(|s| s.state.is_none()) {
            out.push_str(" · no state samples (the target cannot give them)");
        }
    }
    out.push_str("</p>\n");
    if let Some(block) = failure_block(r) {
        let _ = writeln!(out, "<pre class=\"diagnostic\">{}</pre>", esc(&block));
    }
    if let Run::Ran { outcome, .. } = &r.run {
        out.push_str("<div class=\"tl\">");
        out.push_str(&timeline(outcome));
        out.push_str(
            "</div>\n<div class=\"detail\">Hover or click a marker to see its step \
                      and the DescribeCustomKeyStores response recorded at it.</div>\n",
        );
        out.push_str("<details class=\"steps\"><summary>Steps</summary>\n<ol>\n");
        for (n, s) in outcome.steps.iter().enumerate() {
            let _ = writeln!(
                out,
                "<li data-step=\"{n}\"{}><code>{}:{}</code> {}</li>",
                if s.passed { "" } else { " class=\"failed\"" },
                esc(&s.span.file),
                s.span.line,
                esc(&s.text)
            );
        }
        out.push_str("</ol>\n</details>\n");
        let _ = writeln!(
            out,
            "<script type=\"application/json\" class=\"data\">{}</script>",
            script_json(&data(outcome))
        );
    }
    out.push_str("</section>\n");
}

/// What the script needs of a scenario: per step, its clock since the
/// scenario began and how many DescribeCustomKeyStores responses had been
/// recorded by its end (its text and place are in the step list); and the
/// responses. To keep the file small each distinct store entry is written
/// once, in `entries`, and a response names its entries by index, the
/// rest of it in `rest` (an error is `{"error": "Name: message"}`).
fn data(outcome: &Outcome) -> Value {
    let begin = outcome.steps.first().and_then(|s| s.start);
    let steps: Vec<Value> = outcome
        .steps
        .iter()
        .map(|s| {
            let clock = match (begin, s.end) {
                (Some(b), Some(e)) => Value::from(duration(e - b)),
                _ => Value::Null,
            };
            json!([clock, s.describes])
        })
        .collect();
    let mut entries: Vec<&Value> = Vec::new();
    let describes: Vec<Value> = outcome
        .describes
        .iter()
        .map(|d| match &d.response {
            Ok(Value::Object(response)) => {
                let mut rest = response.clone();
                let stores = rest.remove("CustomKeyStores");
                let ids: Vec<usize> = response
                    .get("CustomKeyStores")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|e| match entries.iter().position(|x| *x == e) {
                        Some(i) => i,
                        None => {
                            entries.push(e);
                            entries.len() - 1
                        }
                    })
                    .collect();
                match stores {
                    Some(Value::Array(_)) => json!({"line": d.line, "stores": ids, "rest": rest}),
                    Some(_) | None => json!({"line": d.line, "rest": response}),
                }
            }
            Ok(other) => json!({"line": d.line, "rest": other}),
            Err((name, message)) => json!({"line": d.line, "error": format!("{name}: {message}")}),
        })
        .collect();
    json!({"steps": steps, "entries": entries, "describes": describes})
}

/// JSON safe inside a `<script>` element: every `<` (only ever inside a
/// string) written as `\u003c`, so no `</script>` or `<!--` can appear.
fn script_json(v: &Value) -> String {
    v.to_string().replace('<', "\\u003c")
}

fn tags(r: &ScenarioResult) -> &[String] {
    match &r.run {
        Run::Ran { outcome, .. } => &outcome.tags,
        Run::Unparsed { .. } => &[],
    }
}

/// Virtual milliseconds from a scenario's first step to its last.
fn virtual_ms(r: &ScenarioResult) -> i64 {
    match &r.run {
        Run::Ran { outcome, .. } => {
            let start = outcome.steps.iter().find_map(|s| s.start);
            let end = outcome.steps.iter().rev().find_map(|s| s.end);
            match (start, end) {
                (Some(s), Some(e)) if e > s => e - s,
                _ => 0,
            }
        }
        Run::Unparsed { .. } => 0,
    }
}

/// A span of virtual time the way people say it: `0s`, `1.5s`, `2m 3s`,
/// `4h 10m`, `7d 2h`.
pub(crate) fn duration(ms: i64) -> String {
    let ms = ms.max(0);
    let s = ms / 1000;
    match s {
        0..=59 if ms % 1000 == 0 => format!("{s}s"),
        0..=59 => format!("{}s", (ms as f64 / 1000.0 * 10.0).round() / 10.0),
        60..=3599 => format!("{}m {}s", s / 60, s % 60),
        3600..=86399 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86400, s % 86400 / 3600),
    }
}

/// Text escaped for HTML element content and double-quoted attributes.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(duration(0), "0s");
        assert_eq!(duration(1500), "1.5s");
        assert_eq!(duration(123_000), "2m 3s");
        assert_eq!(duration(4 * 3_600_000 + 600_000), "4h 10m");
        assert_eq!(duration(7 * 86_400_000 + 7_200_000), "7d 2h");
    }

    #[test]
    fn script_json_cannot_close_the_script() {
        let v = json!({"text": "</script><!-- x"});
        let s = script_json(&v);
        assert!(!s.contains('<'), "{s}");
        assert_eq!(serde_json::from_str::<Value>(&s).ok(), Some(v));
    }

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            esc("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}

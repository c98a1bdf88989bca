//! The HTML report (`hsmdrill run --format html`) of the shipped suite:
//! as text (it is well formed, self-contained, small, and has a section
//! and an SVG timeline per scenario), and in headless Chromium over the
//! DevTools protocol (it loads without a console error, fast, shows every
//! scenario with its timeline, and its markers and filters work). Without
//! Chromium the browser test says `SKIPPED` (a failure under
//! `HSMDRILL_REQUIRE_CLIENTS=1`, see `support::programs` and
//! `support::browser`).

use std::sync::OnceLock;

use crate::support::browser::{chromium, number, problems, text};
use crate::support::{at_root, temp_dir};
use hsmdrill::suite::{self, report, Options, SuiteResult};

/// The report must stay under this (docs/reports.md gives its size).
const MAX_BYTES: usize = 2_000_000;

/// The shipped suite (`scenarios/` and `features/`), run once.
fn shipped() -> &'static (SuiteResult, String) {
    static RUN: OnceLock<(SuiteResult, String)> = OnceLock::new();
    RUN.get_or_init(|| {
        at_root();
        let found = suite::discover(&suite::default_paths()).unwrap();
        let files = suite::load_all(&found).unwrap();
        let options = Options::new(None, None, false).unwrap();
        let results = suite::run_suite(&files, &options, |_| {}).unwrap();
        let html = report::html(&results);
        (results, html)
    })
}

#[test]
fn html_report_of_the_shipped_suite_is_well_formed_and_self_contained() {
    let (results, html) = shipped();
    assert!(results.results.len() > 100, "{}", results.results.len());
    assert!(html.starts_with("<!DOCTYPE html>\n"));
    assert!(html.len() < MAX_BYTES, "{} bytes", html.len());
    check_balanced(html);
    for attr in ["src=", "href="] {
        for (i, _) in html.match_indices(attr) {
            let value = html.get(i + attr.len()..i + attr.len() + 12).unwrap_or("");
            assert!(
                !value.contains("http:") && !value.contains("https:") && !value.contains("//"),
                "an external {attr}{value}…"
            );
        }
    }
    assert!(!html.contains("<link"), "no stylesheet is loaded");
    assert!(!html.contains("@import"), "no stylesheet is loaded");
    let sections: Vec<&str> = html.split("<section class=\"scenario ").skip(1).collect();
    assert_eq!(sections.len(), results.results.len());
    for (r, section) in results.results.iter().zip(&sections) {
        let title = r.scenario().unwrap();
        let escaped = title
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#39;");
        assert!(section.contains(&escaped), "{title}");
        assert_eq!(section.matches("<svg ").count(), 1, "{title}");
        assert!(section.contains("class=\"b cs-"), "{title}: no state band");
    }
    // Deterministic: the same run renders the same bytes.
    assert_eq!(report::html(results), *html);
}

#[test]
fn html_report_loads_in_chromium_without_console_errors() {
    let Some(browser) = chromium() else {
        return;
    };
    let (results, html) = shipped();
    let dir = temp_dir("html-report");
    let path = dir.path().join("report.html");
    std::fs::write(&path, html).unwrap();

    let tab = browser.new_tab().unwrap();
    let problems = problems(&tab);
    tab.navigate_to(&format!("file://{}", path.display()))
        .unwrap()
        .wait_until_navigated()
        .unwrap();

    let number = |js: &str| number(&tab, js);
    let text = |js: &str| text(&tab, js);
    let n = results.results.len() as f64;
    assert_eq!(
        number("document.querySelectorAll('section.scenario').length"),
        n
    );
    assert_eq!(
        number("document.querySelectorAll('section.scenario svg.timeline').length"),
        n
    );
    // Every timeline is laid out (has a size), not just present.
    assert_eq!(
        number(
            "Array.from(document.querySelectorAll('svg.timeline'))\
             .filter(s => s.getBoundingClientRect().width > 100).length"
        ),
        n
    );
    // Rendering the whole suite takes under a second (from navigation to
    // the load event, script included); measured ~0.2 s here.
    let load = number(
        "(() => { const t = performance.getEntriesByType('navigation')[0]; \
         return t.loadEventEnd - t.startTime; })()",
    );
    assert!(load < 1000.0, "the report took {load} ms to load");

    // Hovering a marker shows its step and the DescribeCustomKeyStores
    // response recorded at it, with what changed highlighted.
    let detail = text(
        "(() => { const sec = Array.from(document.querySelectorAll('section.scenario'))\
           .find(s => JSON.parse(s.querySelector('script.data').textContent).describes.length > 1);\
         const d = JSON.parse(sec.querySelector('script.data').textContent);\
         const i = d.steps.findIndex((s, n) => n > 0 && s[1] > d.steps[n - 1][1] && s[1] > 1);\
         sec.querySelector('svg [data-step=\"' + i + '\"]')\
           .dispatchEvent(new MouseEvent('mouseover', {bubbles: true}));\
         return sec.querySelector('.detail').innerHTML; })()",
    );
    assert!(
        detail.contains("DescribeCustomKeyStores recorded at this step"),
        "{detail}"
    );
    assert!(detail.contains("CustomKeyStoreId"), "{detail}");

    // The status filter hides what does not match.
    let shown = number(
        "(() => { const s = document.getElementById('status'); s.value = 'failed';\
           s.dispatchEvent(new Event('change'));\
           return Array.from(document.querySelectorAll('section.scenario')).filter(x => !x.hidden).length; })()",
    );
    assert_eq!(shown, results.failed() as f64);

    let problems = problems.lock().unwrap();
    assert!(problems.is_empty(), "console errors: {problems:#?}");
}

/// Every element the report opens is closed, in order (void elements and
/// `/>` excepted; script and style bodies skipped): the page is the tree
/// its writer meant, which a browser would otherwise silently repair.
fn check_balanced(html: &str) {
    const VOID: &[&str] = &["meta", "input", "br", "hr", "img", "link"];
    let mut stack: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        let end = rest.find('>').expect("an unclosed tag");
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        if tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack.pop().unwrap_or_default();
            assert_eq!(open, name, "</{name}> closes <{open}>");
            continue;
        }
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if tag.ends_with('/') || VOID.contains(&name.as_str()) {
            continue;
        }
        if name == "script" || name == "style" {
            let close = format!("</{name}>");
            let at = rest.find(&close).expect("an unclosed script or style");
            rest = &rest[at + close.len()..];
            continue;
        }
        stack.push(name);
    }
    assert!(stack.is_empty(), "left open: {stack:?}");
}

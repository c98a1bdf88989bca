//! Headless Chromium over the DevTools protocol (`headless_chrome`), for the
//! tests of the HTML report and the live console: launching it (or saying
//! `SKIPPED`, see `programs::available`), collecting the page's console
//! errors and exceptions, and reading values out of the page.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use headless_chrome::protocol::cdp::types::Event;
use headless_chrome::{Browser, LaunchOptions, Tab};

use super::programs::available;

/// A headless Chromium, or `None` when the calling test is skipped.
pub fn chromium() -> Option<Browser> {
    if !available(
        "Chromium",
        "chromium",
        &["--headless", "--version"],
        "apt-get install chromium",
    ) {
        return None;
    }
    Some(
        Browser::new(LaunchOptions {
            headless: true,
            // Tests run as root here, where Chromium's sandbox cannot start.
            sandbox: false,
            path: Some("chromium".into()),
            window_size: Some((1280, 1000)),
            idle_browser_timeout: Duration::from_secs(120),
            ..LaunchOptions::default()
        })
        .unwrap(),
    )
}

/// Every console error, log error and uncaught exception of `tab` from now
/// on.
pub fn problems(tab: &Arc<Tab>) -> Arc<Mutex<Vec<String>>> {
    let problems: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = problems.clone();
    tab.add_event_listener(Arc::new(move |event: &Event| {
        let problem = match event {
            Event::RuntimeExceptionThrown(e) => Some(format!("{:?}", e.params.exception_details)),
            Event::RuntimeConsoleAPICalled(e) if format!("{:?}", e.params.Type) == "Error" => {
                Some(format!("console.error: {:?}", e.params.args))
            }
            Event::LogEntryAdded(e) if format!("{:?}", e.params.entry.level) == "Error" => Some(
                format!("{:?}: {}", e.params.entry.source, e.params.entry.text),
            ),
            _ => None,
        };
        if let Some(p) = problem {
            seen.lock().unwrap().push(p);
        }
    }))
    .unwrap();
    tab.enable_runtime().unwrap();
    tab.enable_log().unwrap();
    problems
}

/// The number `js` evaluates to in `tab`.
pub fn number(tab: &Tab, js: &str) -> f64 {
    tab.evaluate(js, false)
        .unwrap()
        .value
        .and_then(|v| v.as_f64())
        .unwrap_or_else(|| panic!("{js} gave no number"))
}

/// The string `js` evaluates to in `tab`.
pub fn text(tab: &Tab, js: &str) -> String {
    tab.evaluate(js, false)
        .unwrap()
        .value
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("{js} gave no string"))
}

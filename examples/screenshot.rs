//! A screenshot of a page in headless Chromium over the DevTools protocol,
//! for `scripts/screenshots.sh` (the README's pictures).
//!
//! ```sh
//! cargo run --example screenshot -- URL OUT.png WIDTH HEIGHT [SELECTOR]
//! ```
//!
//! With SELECTOR the first element it matches is scrolled to the top of
//! the viewport before the capture. Chromium's own `--screenshot` cannot do
//! this: it captures before a scroll made by the page's script is painted,
//! which left the report's scenario picture blank.

use std::time::Duration;

use headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption;
use headless_chrome::{Browser, LaunchOptions};

fn main() {
    if let Err(e) = run() {
        eprintln!("screenshot: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, out, width, height, rest @ ..] = args.as_slice() else {
        return Err("usage: screenshot URL OUT.png WIDTH HEIGHT [SELECTOR]".into());
    };
    let width: u32 = width.parse()?;
    let height: u32 = height.parse()?;
    let browser = Browser::new(LaunchOptions {
        headless: true,
        // Root (containers, CI) cannot start Chromium's sandbox.
        sandbox: false,
        path: Some("chromium".into()),
        window_size: Some((width, height)),
        ..LaunchOptions::default()
    })?;
    let tab = browser.new_tab()?;
    tab.navigate_to(url)?.wait_until_navigated()?;
    if let Some(selector) = rest.first() {
        let selector = serde_json::to_string(selector)?;
        let found = tab
            .evaluate(
                &format!(
                    "(() => {{ const e = document.querySelector({selector}); \
                     if (e) e.scrollIntoView(); return !!e; }})()"
                ),
                false,
            )?
            .value
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        if !found {
            return Err(format!("no element matches {selector}").into());
        }
    }
    // Lets a live page's first update and the scroll paint.
    std::thread::sleep(Duration::from_millis(500));
    let png = tab.capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)?;
    std::fs::write(out, png)?;
    Ok(())
}

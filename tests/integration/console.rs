//! The live console of `hsmdrill serve` (`GET /`, `src/server/console/`):
//! the page and its JSON view over plain HTTP, then in headless Chromium
//! (`support::browser`): a disconnect made through boto3 shows on the page
//! within two seconds without a reload, and a click on Disconnect
//! disconnects the store, as DescribeCustomKeyStores then says. Without
//! Chromium or boto3 the browser tests say `SKIPPED` (a failure under
//! `HSMDRILL_REQUIRE_CLIENTS=1`).

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::browser::{chromium, number, problems, text};
use crate::support::http::{kms, request};
use crate::support::programs::boto3;
use crate::support::serve::{example_state, InProcessServer};

/// The example world's key store.
const STORE: &str = "cks-1234567890abcdef0";

/// The store's `ConnectionState` as DescribeCustomKeyStores answers it.
fn connection_state(server: &InProcessServer) -> String {
    let (status, v) = kms(
        server.addr(),
        "DescribeCustomKeyStores",
        &json!({"CustomKeyStoreId": STORE}),
    )
    .unwrap();
    assert_eq!(status, 200, "{v}");
    v["CustomKeyStores"][0]["ConnectionState"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Polls `check` every 50 ms for up to `limit`; how long it took.
fn within(limit: Duration, mut check: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if check() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

#[test]
fn console_page_and_view_over_http() {
    let server = InProcessServer::start(example_state(None));
    let page = request(server.addr(), "GET", "/", &[], b"").unwrap();
    assert_eq!(page.status, 200);
    let html = String::from_utf8(page.body).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.contains("hsmdrill console"));
    assert!(page
        .headers
        .iter()
        .any(|(k, v)| k == "content-security-policy" && v.contains("default-src 'none'")));

    let state = request(server.addr(), "GET", "/_hsmdrill/console/state", &[], b"").unwrap();
    assert_eq!(state.status, 200);
    let v: Value = serde_json::from_slice(&state.body).unwrap();
    let p = &v["partitions"][0];
    assert_eq!(p["stores"][0]["id"], STORE, "{v:#}");
    assert_eq!(p["stores"][0]["state"], "CONNECTED", "{v:#}");
    let users = p["clusters"][0]["users"].as_array().unwrap();
    assert!(users.iter().any(|u| u["username"] == "kmsuser"), "{v:#}");
    assert!(users.iter().all(|u| u.get("password").is_none()), "{v:#}");
    assert!(!p["clusters"][0]["hsms"].as_array().unwrap().is_empty());

    // The console's own button call: only connect and disconnect.
    let (status, v) = post(
        &server,
        "/_hsmdrill/console/kms",
        &json!({"Operation": "DeleteCustomKeyStore", "CustomKeyStoreId": STORE}),
    );
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["__type"], "ValidationException");
    let (status, v) = post(
        &server,
        "/_hsmdrill/console/kms",
        &json!({"Operation": "DisconnectCustomKeyStore", "CustomKeyStoreId": STORE}),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(connection_state(&server), "DISCONNECTED");
}

fn post(server: &InProcessServer, path: &str, body: &Value) -> (u16, Value) {
    let r = request(
        server.addr(),
        "POST",
        path,
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    )
    .unwrap();
    (r.status, serde_json::from_slice(&r.body).unwrap())
}

/// The store's state cell on the page ("" before the first event).
const PAGE_STATE: &str = "(() => { const r = document.querySelector('tr[data-store=\"cks-1234567890abcdef0\"] td.state'); \
     return r ? r.textContent : ''; })()";

#[test]
fn console_shows_a_boto3_disconnect_within_two_seconds() {
    if !boto3() {
        return;
    }
    let Some(browser) = chromium() else {
        return;
    };
    let server = InProcessServer::start(example_state(None));
    let tab = browser.new_tab().unwrap();
    let problems = problems(&tab);
    tab.navigate_to(&server.url())
        .unwrap()
        .wait_until_navigated()
        .unwrap();
    assert!(
        within(Duration::from_secs(5), || text(&tab, PAGE_STATE)
            == "CONNECTED")
        .is_some(),
        "the page never showed the store CONNECTED: {}",
        text(&tab, PAGE_STATE)
    );
    // A mark a reload would lose.
    tab.evaluate("window.hsmdrillMark = 7", false).unwrap();

    let script = format!(
        "import boto3\n\
         kms = boto3.client('kms', endpoint_url='{}', region_name='us-west-2',\n\
           aws_access_key_id='AKIDEXAMPLE', aws_secret_access_key='secret')\n\
         kms.disconnect_custom_key_store(CustomKeyStoreId='{STORE}')\n\
         print('disconnected')\n",
        server.url()
    );
    let out = Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let took = within(Duration::from_secs(2), || {
        text(&tab, PAGE_STATE) == "DISCONNECTED"
    });
    assert!(
        took.is_some(),
        "the page still shows {} two seconds after the disconnect",
        text(&tab, PAGE_STATE)
    );
    assert_eq!(
        number(&tab, "window.hsmdrillMark"),
        7.0,
        "the page reloaded"
    );
    // The trail list shows the call too.
    assert!(within(Duration::from_secs(2), || text(
        &tab,
        "document.querySelector('table.trail').textContent"
    )
    .contains("DisconnectCustomKeyStore"))
    .is_some());
    let problems = problems.lock().unwrap();
    assert!(problems.is_empty(), "console errors: {problems:#?}");
}

#[test]
fn console_disconnect_button_disconnects_the_store() {
    let Some(browser) = chromium() else {
        return;
    };
    let server = InProcessServer::start(example_state(None));
    let tab = browser.new_tab().unwrap();
    let problems = problems(&tab);
    tab.navigate_to(&server.url())
        .unwrap()
        .wait_until_navigated()
        .unwrap();
    assert!(
        within(Duration::from_secs(5), || text(&tab, PAGE_STATE)
            == "CONNECTED")
        .is_some(),
        "the page never showed the store CONNECTED: {}",
        text(&tab, PAGE_STATE)
    );
    // A mouse click on the button. The page redraws its tables when the
    // world changes, which can detach the button between finding and
    // clicking it: then find it again.
    let button = "tr[data-store=\"cks-1234567890abcdef0\"] button[data-action=\"disconnect\"]";
    let clicked = (0..5).any(|_| {
        tab.wait_for_element(button)
            .and_then(|b| b.click().map(|_| ()))
            .is_ok()
    });
    assert!(clicked, "could not click {button}");
    assert!(
        within(Duration::from_secs(2), || connection_state(&server)
            == "DISCONNECTED")
        .is_some(),
        "DescribeCustomKeyStores says {}",
        connection_state(&server)
    );
    assert!(
        within(Duration::from_secs(2), || text(&tab, PAGE_STATE)
            == "DISCONNECTED")
        .is_some(),
        "the page shows {}",
        text(&tab, PAGE_STATE)
    );
    let problems = problems.lock().unwrap();
    assert!(problems.is_empty(), "console errors: {problems:#?}");
}

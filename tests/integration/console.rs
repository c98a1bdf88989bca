//! The live console of `hsmdrill serve` (`GET /`, `src/server/console/`):
//! the page and its JSON view over plain HTTP, then in headless Chromium
//! (`support::browser`): a disconnect made through boto3 shows on the page
//! within two seconds without a reload, a click on Disconnect
//! disconnects the store, as DescribeCustomKeyStores then says, a click on
//! Delete key material makes Encrypt fail, and the timeline, which the
//! server keeps, shows what happened before the page opened. Without
//! Chromium or boto3 the browser tests say `SKIPPED` (a failure under
//! `HSMDRILL_REQUIRE_CLIENTS=1`).

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use headless_chrome::{Browser, Tab};

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

/// A new tab on the console of `server`, once its first event shows the
/// store `state`; with the list of console errors it has logged.
fn open_console(
    browser: &Browser,
    server: &InProcessServer,
    state: &str,
) -> (Arc<Tab>, Arc<Mutex<Vec<String>>>) {
    let tab = browser.new_tab().unwrap();
    let problems = problems(&tab);
    tab.navigate_to(&server.url())
        .unwrap()
        .wait_until_navigated()
        .unwrap();
    assert!(
        within(Duration::from_secs(5), || text(&tab, PAGE_STATE) == state).is_some(),
        "the page never showed the store {state}: {}",
        text(&tab, PAGE_STATE)
    );
    (tab, problems)
}

/// Clicks the button `selector` finds. The page redraws its tables when the
/// world changes, which can detach the button between finding and clicking
/// it: then find it again.
fn click(tab: &Tab, selector: &str) {
    let clicked = (0..5).any(|_| {
        tab.wait_for_element(selector)
            .and_then(|b| b.click().map(|_| ()))
            .is_ok()
    });
    assert!(clicked, "could not click {selector}");
}

#[test]
fn console_shows_a_boto3_disconnect_within_two_seconds() {
    if !boto3() {
        return;
    }
    let Some(browser) = chromium() else {
        return;
    };
    let server = InProcessServer::start(example_state(None));
    let (tab, problems) = open_console(&browser, &server, "CONNECTED");
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
    let (tab, problems) = open_console(&browser, &server, "CONNECTED");
    click(
        &tab,
        "tr[data-store=\"cks-1234567890abcdef0\"] button[data-action=\"disconnect\"]",
    );
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

/// The store's lane of the server's timeline: its states, oldest first.
fn store_lane(server: &InProcessServer) -> Vec<String> {
    let state = request(server.addr(), "GET", "/_hsmdrill/console/state", &[], b"").unwrap();
    assert_eq!(state.status, 200);
    let v: Value = serde_json::from_slice(&state.body).unwrap();
    let lanes = v["partitions"][0]["history"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    lanes
        .iter()
        .find(|l| l["label"] == "ExampleKeyStore")
        .and_then(|l| l["segments"].as_array())
        .map(|segments| {
            segments
                .iter()
                .map(|s| s["state"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The server keeps the timeline of the last minutes: a console opened
/// after an incident shows it.
#[test]
fn console_timeline_reaches_back_before_the_page_opened() {
    let server = InProcessServer::start(example_state(None));
    // The server samples the world by itself.
    assert!(
        within(Duration::from_secs(5), || store_lane(&server)
            == ["CONNECTED"])
        .is_some(),
        "{:?}",
        store_lane(&server)
    );
    let (status, v) = post(
        &server,
        "/_hsmdrill/console/kms",
        &json!({"Operation": "DisconnectCustomKeyStore", "CustomKeyStoreId": STORE}),
    );
    assert_eq!(status, 200, "{v}");
    assert!(
        within(Duration::from_secs(3), || store_lane(&server)
            == ["CONNECTED", "DISCONNECTED"])
        .is_some(),
        "{:?}",
        store_lane(&server)
    );

    let Some(browser) = chromium() else {
        return;
    };
    let (tab, problems) = open_console(&browser, &server, "DISCONNECTED");
    let bands = "Array.from(document.querySelectorAll('div.tl rect title')).map(t => t.textContent).join(',')";
    let shown = text(&tab, bands);
    assert!(
        shown.contains("CONNECTED,DISCONNECTED"),
        "the timeline shows {shown:?}"
    );
    let problems = problems.lock().unwrap();
    assert!(problems.is_empty(), "console errors: {problems:#?}");
}

/// The Delete key material button deletes the key's backing key from the
/// cluster: Encrypt fails at once, as KMS answers it, with the store still
/// connected.
#[test]
fn console_delete_key_material_button_makes_the_key_unusable() {
    let Some(browser) = chromium() else {
        return;
    };
    let server = InProcessServer::start(example_state(None));
    let encrypt = || {
        kms(
            server.addr(),
            "Encrypt",
            &json!({"KeyId": "alias/app", "Plaintext": "aGVsbG8="}),
        )
        .unwrap()
    };
    assert_eq!(encrypt().0, 200);
    let (tab, problems) = open_console(&browser, &server, "CONNECTED");
    let key = "1234abcd-12ab-34cd-56ef-1234567890ab";
    let cell = format!("document.querySelector('tr[data-key=\"{key}\"]').textContent");
    assert!(
        text(&tab, &cell).contains("cluster-1a23b4cdefg"),
        "{}",
        text(&tab, &cell)
    );
    click(
        &tab,
        &format!("tr[data-key=\"{key}\"] button[data-action=\"delete-material\"]"),
    );
    assert!(
        within(Duration::from_secs(2), || encrypt().0 == 400).is_some(),
        "Encrypt still answers {:?}",
        encrypt()
    );
    let (_, v) = encrypt();
    assert_eq!(v["__type"], "KMSInvalidStateException", "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap_or_default()
            .ends_with("is unavailable."),
        "{v}"
    );
    assert_eq!(connection_state(&server), "CONNECTED");
    assert_eq!(
        text(&tab, "document.getElementById('error').textContent"),
        ""
    );
    let problems = problems.lock().unwrap();
    assert!(problems.is_empty(), "console errors: {problems:#?}");
}

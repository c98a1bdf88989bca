//! `world`: YAML through the world loader (`hsmdrill::engine::world::load_str`).
//! A world that loads is then used: every Describe/List operation, a
//! settle, an Encrypt and Decrypt with each key, and a snapshot that must
//! restore.
#![no_main]

use hsmdrill::engine::{world, Engine};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};

const ORIGIN: &str = "fuzz.yaml";

/// Lines as YAML counts them: CR LF, CR, LF, NEL, LS and PS each end one.
fn yaml_lines(yaml: &str) -> usize {
    let mut n = 1;
    let mut chars = yaml.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                n += 1;
            }
            '\n' | '\u{85}' | '\u{2028}' | '\u{2029}' => n += 1,
            _ => {}
        }
    }
    n
}

fuzz_target!(|data: &[u8]| {
    let Ok(yaml) = std::str::from_utf8(data) else {
        return;
    };
    let engine = match world::load_str(yaml, ORIGIN) {
        Ok(e) => e,
        Err(e) => {
            assert_eq!(e.file(), ORIGIN);
            assert!(!e.message().is_empty(), "an error without a message: {e}");
            if let Some(line) = e.line() {
                // serde_yaml may report one line past the last at the end.
                let lines = yaml_lines(yaml);
                assert!(
                    line >= 1 && line <= lines + 1,
                    "line {line} of a {lines}-line world: {e}"
                );
            }
            let _ = e.to_string();
            return;
        }
    };
    for op in [
        "DescribeCustomKeyStores",
        "ListKeys",
        "ListAliases",
        "DescribeClusters",
        "DescribeBackups",
    ] {
        if let Err(e) = engine.call(op, json!({})) {
            panic!("{op} fails on a world that loaded: {e:?}");
        }
    }
    let rows = match engine.rows() {
        Ok(r) => r,
        Err(e) => panic!("a world that loaded does not give its state rows: {e}"),
    };
    if let Err(e) = Engine::from_rows(rows, engine.clock().clone()) {
        panic!("a world's state rows do not restore: {e}");
    }
    // An emulated HSM latency sleeps for real outside a burst: a world may
    // ask for hours of it, which is no bug.
    if engine.calls_may_block() {
        return;
    }
    let keys = engine.call("ListKeys", json!({})).unwrap_or_default();
    for key in keys["Keys"].as_array().into_iter().flatten().take(8) {
        let Some(id) = key["KeyId"].as_str() else {
            panic!("ListKeys without a KeyId: {key}");
        };
        let ct = engine.call("Encrypt", json!({"KeyId": id, "Plaintext": "aGk="}));
        if let Ok(ct) = ct {
            let pt = engine.call("Decrypt", json!({"CiphertextBlob": ct["CiphertextBlob"]}));
            match pt {
                Ok(pt) => assert_eq!(pt["Plaintext"], Value::from("aGk=")),
                // A request quota may refuse it; a valid blob never fails to open.
                Err(e) => assert_ne!(
                    e.aws_name(),
                    "InvalidCiphertextException",
                    "a ciphertext of {id} does not decrypt: {e:?}"
                ),
            }
        }
    }
    engine.settle();
    let _ = engine.call("DescribeCustomKeyStores", json!({}));
});

//! `cloudhsm_cli`: CloudHSM CLI command lines (`Engine::cloudhsm_cli`, which
//! runs `engine::cloudhsm::cli::run`) against the example world's cluster.
//!
//! Input: lines, each run in turn on a fresh example world. A line
//! `<session>> <command line>` runs in that CLI session (default
//! `default`); `<command line> <<< a <<< b` answers its password prompts
//! with `a` and `b`. `!connect`, `!disconnect`, `!settle` and `!encrypt` drive
//! the key store in between, so KMS's own kmsuser sessions and password
//! rotations meet the operator's commands. Every answer must be the CLI's
//! JSON envelope.
#![no_main]

use hsmdrill_fuzz::{check_cli_envelope, example_engine, CLUSTER, STORE};
use libfuzzer_sys::fuzz_target;
use serde_json::json;

const MAX_LINES: usize = 32;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let engine = example_engine();
    for line in text.split('\n').take(MAX_LINES) {
        match line.trim_end() {
            "!connect" => {
                let _ = engine.call("ConnectCustomKeyStore", json!({"CustomKeyStoreId": STORE}));
                continue;
            }
            "!disconnect" => {
                let _ = engine.call(
                    "DisconnectCustomKeyStore",
                    json!({"CustomKeyStoreId": STORE}),
                );
                continue;
            }
            "!settle" => {
                engine.settle();
                continue;
            }
            "!encrypt" => {
                let _ = engine.call(
                    "Encrypt",
                    json!({"KeyId": "alias/app", "Plaintext": "aGk="}),
                );
                continue;
            }
            _ => {}
        }
        let (session, command) = match line.split_once("> ") {
            Some((s, c)) if s.len() <= 16 && !s.contains(char::is_whitespace) => (s, c),
            _ => ("default", line),
        };
        let mut parts = command.split(" <<< ");
        let command = parts.next().unwrap_or("");
        let answers: Vec<String> = parts.map(str::to_owned).collect();
        let out = engine.cloudhsm_cli_answered(CLUSTER, session, command, &answers);
        check_cli_envelope(&out);
    }
    // Whatever the operator did, KMS's view of the store stays describable.
    if let Err(e) = engine.call("DescribeCustomKeyStores", json!({})) {
        panic!("DescribeCustomKeyStores fails after CLI commands: {e:?}");
    }
});

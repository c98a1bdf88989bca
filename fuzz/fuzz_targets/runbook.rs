//! `runbook`: runbook text through the parser, the checker and lowering
//! (`hsmdrill::dsl::parse_str`, what `hsmdrill check` runs), and every
//! diagnostic rendered against the source.
#![no_main]

use std::path::Path;

use hsmdrill::scenario::diagnostic::render_all;
use libfuzzer_sys::fuzz_target;

/// Beside the shipped scenarios, so `world "worlds/example.yaml"` loads.
const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/fuzz.runbook");

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    // `world "<path>"` reads a file: keep the fuzzer away from device files
    // (`/dev/zero` never ends, `/dev/stdin` blocks) and from wandering the
    // file system. A runbook author naming those gets what they asked for.
    let plain = source.replace('\\', "");
    let risky = plain.contains("\"/")
        || ["..", "/dev", "dev/", "/proc", "proc/", "/sys", "sys/"]
            .iter()
            .any(|p| plain.contains(p));
    if risky {
        return;
    }
    let path = Path::new(PATH);
    match hsmdrill::dsl::parse_str(source, path) {
        Ok(file) => {
            for scenario in &file.scenarios {
                let _ = format!("{scenario:?}");
            }
        }
        Err(diags) => {
            assert!(!diags.is_empty(), "an error without a diagnostic");
            for d in &diags {
                let s = &d.span;
                assert!(s.line >= 1 && s.column >= 1, "span {s:?} of {d}");
                if &*s.file == PATH {
                    assert!(
                        s.offset <= source.len() && s.offset + s.len <= source.len(),
                        "span {s:?} past the end ({}) of the source: {d}",
                        source.len()
                    );
                }
            }
            let _ = render_all(&diags, source);
        }
    }
});

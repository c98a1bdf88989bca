//! The checkout the tests run in: its files by absolute path (the example
//! world, the AWS service models, the shipped runbooks), the `hsmdrill`
//! binary built from it, the working folder, and temporary folders.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Once;

/// The example world of the AWS troubleshooting page
/// (`scenarios/worlds/example.yaml`), by its absolute path.
pub const EXAMPLE_WORLD: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/worlds/example.yaml");

/// The AWS service model of KMS (`reference/aws-models/`).
pub const KMS_MODEL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/reference/aws-models/kms-service-2.json"
);

/// The AWS service model of CloudHSM v2.
pub const CLOUDHSM_MODEL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/reference/aws-models/cloudhsmv2-service-2.json"
);

/// [`EXAMPLE_WORLD`] as a path.
pub fn example_world() -> PathBuf {
    PathBuf::from(EXAMPLE_WORLD)
}

/// The hsmdrill binary: `HSMDRILL_BIN` (a release build for the long runs),
/// else the one cargo built for these tests.
pub fn bin() -> PathBuf {
    std::env::var_os("HSMDRILL_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_hsmdrill")))
}

/// The `hsmdrill` command ([`bin`]), run from the crate root as in a
/// checkout.
pub fn hsmdrill() -> Command {
    let mut cmd = Command::new(bin());
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd
}

/// Runs `cmd` with `stdin` piped in (and its output captured) to the end.
pub fn with_stdin(cmd: &mut Command, stdin: &[u8]) -> Output {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

/// What a finished program printed: its stdout, then its stderr.
pub fn output_text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Makes the crate root (where `scenarios/` and `features/` are) the
/// working folder, for tests that name shipped files by relative paths as
/// a user would. The folder is one per process, shared by every test
/// running at the same time: it is only ever set to the crate root (cargo
/// starts the tests there already), once.
pub fn at_root() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let root = env!("CARGO_MANIFEST_DIR");
        if let Err(e) = std::env::set_current_dir(root) {
            panic!("cannot enter {root}: {e}");
        }
    });
}

/// A new empty folder under the system's temporary folder, its name
/// starting with `hsmdrill-<what>-`; removed when dropped.
pub fn temp_dir(what: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("hsmdrill-{what}-"))
        .tempdir()
        .unwrap_or_else(|e| panic!("cannot make a temporary folder: {e}"))
}

/// The shipped runbooks under `dir` (`*.runbook`), found as `hsmdrill run`
/// finds them.
pub fn runbooks(dir: &Path) -> Vec<PathBuf> {
    hsmdrill::suite::discover(&[dir.to_path_buf()])
        .unwrap_or_else(|e| panic!("cannot list {}: {e:?}", dir.display()))
        .into_iter()
        .map(|f| f.path)
        .filter(|p| p.extension().is_some_and(|e| e == "runbook"))
        .collect()
}

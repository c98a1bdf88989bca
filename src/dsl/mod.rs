//! The runbook DSL: `.runbook` files parsed with pest and lowered to the
//! step IR ([`crate::scenario::ir`]). The language is described in
//! `docs/runbook-language.md`; [`catalog`] lists its statements.
//!
//! A file goes through three stages, each reporting every mistake it finds
//! as a [`Diagnostic`] at the offending text:
//!
//! - `parser/`: pest (`runbook.pest`, compiled in `grammar.rs`) matches
//!   one logical line at a time; lines are assembled into runbooks and
//!   blocks, and a syntax error costs one statement, after which parsing
//!   resumes at the next one (`words.rs` says rules in words; `source.rs`
//!   turns offsets into spans and holds the one string/comment scanner).
//!   The Gherkin front end parses its value and path arguments with the
//!   same grammar (`parser/fragment.rs`) and builds the same tree (`ast.rs`).
//! - `check.rs`: semantic checks (of a runbook or a feature's tree) against the engine's vocabulary
//!   (operations, input members, exceptions, enum values) and the runbook's
//!   world (key stores, aliases, variables).
//! - `lower.rs`: the checked tree becomes [`ScenarioFile`], one
//!   [`crate::scenario::ir::Scenario`] per `runbook` block, every step
//!   carrying its span.
//!
//! ```
//! use std::path::Path;
//!
//! let src = "runbook \"smoke\" @demo\nsettle\nwait 2 seconds\n";
//! let file = hsmdrill::dsl::parse_str(src, Path::new("smoke.runbook")).unwrap();
//! assert_eq!(file.scenarios[0].steps.len(), 2);
//!
//! let errs = hsmdrill::dsl::parse_str("runbook \"x\"\nconect A\n", Path::new("x.runbook")).unwrap_err();
//! assert!(errs[0].message.contains("unknown statement `conect`"));
//! ```

pub(crate) mod ast;
pub(crate) mod check;
mod grammar;
pub(crate) mod lower;
pub(crate) mod parser;
pub(crate) mod shapes;
pub(crate) mod source;
pub(crate) mod words;

use std::path::Path;
use std::sync::Arc;

use crate::scenario::diagnostic::Diagnostic;
use crate::scenario::ir::ScenarioFile;

/// Reads and parses a runbook file. A file that cannot be read gives one
/// diagnostic at its line 1, column 1.
pub fn parse_file(path: &Path) -> Result<ScenarioFile, Vec<Diagnostic>> {
    parse_str(&source::read(path, "runbook")?, path)
}

/// Parses runbook text. `path` names the file in spans and is where world
/// paths are resolved from (its directory); worlds are loaded to check key
/// store names. Returns every syntax error, then every semantic error.
pub fn parse_str(source: &str, path: &Path) -> Result<ScenarioFile, Vec<Diagnostic>> {
    let src = source::Source::new(source, Arc::from(path.display().to_string()));
    let parsed = parser::parse(&src);
    let mut errors = parsed.errors;
    let dir = path.parent().unwrap_or(Path::new(""));
    errors.extend(check::check(&parsed.runbooks, &src, dir));
    if errors.is_empty() {
        Ok(lower::lower(parsed.runbooks, path))
    } else {
        Err(errors)
    }
}

/// One statement of the language, for `hsmdrill steps`.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct StatementHelp {
    /// Its syntax; `[…]` is optional, `<…>` is to fill in.
    pub syntax: &'static str,
    /// What it does.
    pub help: &'static str,
}

/// Every statement of the language, in the order of the documentation.
pub fn catalog() -> &'static [StatementHelp] {
    CATALOG
}

const fn s(syntax: &'static str, help: &'static str) -> StatementHelp {
    StatementHelp { syntax, help }
}

const CATALOG: &[StatementHelp] = &[
    s(
        "runbook \"<title>\" [@tag …]",
        "Starts a runbook; it runs to the next `runbook` line or the end of the file.",
    ),
    s(
        "world \"<path.yaml>\"",
        "Loads a YAML world, relative to the runbook's directory. At most one, before the other steps; without it the world is empty.",
    ),
    s(
        "world \"\"\" … \"\"\"",
        "An inline YAML world: the lines up to a line `\"\"\"` (common indentation removed).",
    ),
    s(
        "call <Operation> [{ Member: value, … }] [-> name]",
        "Calls any KMS or CloudHSM v2 operation with these input members; `-> name` captures its natural output.",
    ),
    s(
        "connect <store>",
        "ConnectCustomKeyStore on a store given by name, id or $variable.",
    ),
    s(
        "disconnect <store>",
        "DisconnectCustomKeyStore on a store given by name, id or $variable.",
    ),
    s(
        "settle",
        "Lets pending work finish: connect attempts, cluster and HSM creation, backups.",
    ),
    s(
        "wait <N> <ms|seconds|minutes|hours|days>",
        "Lets virtual time pass (e.g. the key deletion waiting period).",
    ),
    s(
        "encrypt \"<text>\" with <key> [context { k: v }] [-> name]",
        "Encrypt: the text is sent base64-encoded; `-> name` captures .CiphertextBlob.",
    ),
    s(
        "tag <key> { k: v, … }",
        "TagResource: adds (or replaces) these tags on a key given by id, ARN, alias or $variable.",
    ),
    s(
        "decrypt <$var | \"<base64>\"> [context { k: v }] [-> name]",
        "Decrypt; `-> name` captures .Plaintext (base64).",
    ),
    s(
        "cloudhsm <cluster> [as <session>]: <command line>",
        "A CloudHSM CLI command line in a CLI session (default `default`); `-> name` captures .data.",
    ),
    s(
        "  Enter password: <typed> / Confirm password: <typed>",
        "On the lines under a `cloudhsm` line without `--password`: what is typed at its prompts, in order.",
    ),
    s(
        "block network to <cluster>",
        "Cuts the network path between KMS and the cluster.",
    ),
    s(
        "unblock network to <cluster>",
        "Restores the network path between KMS and the cluster.",
    ),
    s(
        "flaky network to <cluster> for <N> calls",
        "The next N calls between KMS and the cluster fail, then the link heals.",
    ),
    s(
        "break security group of <cluster>",
        "Breaks the cluster security group rule (TCP 2223-2225).",
    ),
    s(
        "mend security group of <cluster>",
        "Repairs the cluster security group rule.",
    ),
    s("delete hsm <hsm> of <cluster>", "Deletes one HSM of the cluster."),
    s("delete all hsms of <cluster>", "Deletes every HSM of the cluster."),
    s(
        "degrade hsm <hsm> of <cluster>",
        "The HSM reads DEGRADED and is not used; so does its cluster.",
    ),
    s(
        "degrade all hsms of <cluster>",
        "Every active HSM of the cluster reads DEGRADED.",
    ),
    s(
        "repair hsm <hsm> of <cluster>",
        "A degraded HSM is ACTIVE again; the cluster once none is degraded.",
    ),
    s(
        "repair all hsms of <cluster>",
        "Every degraded HSM of the cluster is ACTIVE again.",
    ),
    s(
        "delete cluster <cluster>",
        "Deletes the cluster with all its HSMs.",
    ),
    s("delete subnet <subnet>", "Deletes a subnet."),
    s(
        "set free addresses of <subnet> to <N>",
        "Sets how many free IP addresses the subnet has.",
    ),
    s(
        "exhaust sessions of <cluster>",
        "Holds every PKCS #11 session of the cluster's HSMs.",
    ),
    s("release sessions of <cluster>", "Lets go of the held sessions."),
    s(
        "fail next <N> connects to <cluster>",
        "The next N connect attempts to the cluster hit a KMS internal error.",
    ),
    s(
        "backup <cluster> [-> name]",
        "Takes a backup of the cluster now; `-> name` captures .BackupId.",
    ),
    s(
        "<action> => ok",
        "After any action: expects it to succeed.",
    ),
    s(
        "<action> => error [<Exception>] [\"substring\"]",
        "After any action but `cloudhsm`: expects this AWS exception, or any without a name (and message substring).",
    ),
    s(
        "cloudhsm … => error [\"substring\"]",
        "After a CLI line: expects a non-zero error_code (and message substring).",
    ),
    s(
        "expect <store>.<Path> == <value>",
        "Checks a member of the store's DescribeCustomKeyStores entry; also `!=`, `contains <value>`, `is absent`, `is present`.",
    ),
    s(
        "expect key <key>.<Path> == <value>",
        "Checks a member of the key's KeyMetadata (by id, ARN, alias or $variable).",
    ),
    s(
        "expect .<Path> == <value>",
        "Checks a member of the last response (for a burst: its tally).",
    ),
    s(
        "expect trail <Event>.<Path> == <value>",
        "Checks a member of the newest trail event with this name.",
    ),
    s(
        "expect trail <Event> { path: value, … }",
        "Checks that some trail event of this name has all these members.",
    ),
    s("expect ok", "The last action succeeded."),
    s(
        "expect error <Exception> [\"substring\"]",
        "The last action failed with this exception (and message substring).",
    ),
    s(
        "expect cli error [\"substring\"]",
        "The last CloudHSM CLI line failed (and its message holds the substring).",
    ),
    s(
        "expect decrypt <$var | \"<base64>\"> [context { k: v }] == \"<plaintext>\"",
        "Decrypting the ciphertext gives this text.",
    ),
    s(
        "capture <name> = <subject>.<Path>",
        "Binds $name to a member of the last response, a store (`<store>.Path`), a key (`key <key>.Path`) or a trail event (`trail <Event>.Path`).",
    ),
    s(
        "repeat <N> { … }   |   repeat <N>: <statement>",
        "Runs the steps N times.",
    ),
    s(
        "retry <N> [every <duration>] { … }   |   retry <N> [every <duration>]: <statement>",
        "Runs the steps until they pass, at most N times, waiting the base (default 100 ms), then twice as long, … in between.",
    ),
    s(
        "burst <N> { … }   |   burst <N>: <statement>",
        "Runs N copies of the steps at once; the last response becomes the tally {\"Succeeded\": n, \"Failed\": {…}}.",
    ),
];

//! The Gherkin front end: each phrase lowers to exactly the IR of the
//! runbook statement it stands for; outlines, backgrounds, tables and doc
//! strings; spans and diagnostics at the feature's lines; failures and
//! undefined steps fail a cucumber run with the feature's file and line;
//! and the parity of the R5 (both), R7, AWS_KMS-keys and DEGRADED features
//! with their runbooks.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use cucumber::writer::Coloring;
use hsmdrill::dsl;
use hsmdrill::gherkin::{self, catalog, lower_file, lower_str};
use hsmdrill::scenario::diagnostic::Diagnostic;
use hsmdrill::scenario::ir::{Control, Expect, Scenario, Setup, Span, Step, StepKind};
use hsmdrill::scenario::{runner, snapshot};

// Runs from the crate root, where `scenarios/` and `features/` are.
use crate::support::at_root;

/// A feature under `scenarios/` (not written: the path only places the
/// world), so `the world "worlds/example.yaml"` is the shipped world.
const FEATURE: &str = "scenarios/lowering.feature";
const RUNBOOK: &str = "scenarios/lowering.runbook";

fn feature(body: &str) -> String {
    format!(
        "Feature: lowering\n\n  Scenario: one\n    Given the world \"worlds/example.yaml\"\n{body}"
    )
}

fn lower(body: &str) -> Scenario {
    at_root();
    let text = feature(body);
    match lower_str(&text, Path::new(FEATURE)) {
        Ok(mut f) => f.scenarios.remove(0),
        Err(d) => panic!("{}", hsmdrill::scenario::diagnostic::render_all(&d, &text)),
    }
}

fn lower_err(body: &str) -> (String, Vec<Diagnostic>) {
    at_root();
    let text = feature(body);
    (
        text.clone(),
        lower_str(&text, Path::new(FEATURE)).unwrap_err(),
    )
}

fn runbook(statements: &str) -> Scenario {
    at_root();
    let text = format!("runbook \"one\"\nworld \"worlds/example.yaml\"\n{statements}\n");
    match dsl::parse_str(&text, Path::new(RUNBOOK)) {
        Ok(mut f) => f.scenarios.remove(0),
        Err(d) => panic!("{}", hsmdrill::scenario::diagnostic::render_all(&d, &text)),
    }
}

/// The IR without where it came from: spans and texts cleared (inside
/// blocks too), a world file replaced by its content (a feature and a
/// runbook in different folders load the same world by different paths).
fn bare(steps: &[Step]) -> Vec<Step> {
    let nowhere = Span {
        file: Arc::from(""),
        line: 0,
        column: 0,
        offset: 0,
        len: 0,
    };
    steps
        .iter()
        .map(|s| {
            let kind = match &s.kind {
                StepKind::Control(c) => StepKind::Control(match c {
                    Control::Repeat { times, body } => Control::Repeat {
                        times: *times,
                        body: bare(body),
                    },
                    Control::Retry {
                        attempts,
                        base,
                        body,
                    } => Control::Retry {
                        attempts: *attempts,
                        base: *base,
                        body: bare(body),
                    },
                    Control::Burst { count, body } => Control::Burst {
                        count: *count,
                        body: bare(body),
                    },
                    Control::InRegion { region, body } => Control::InRegion {
                        region: region.clone(),
                        body: bare(body),
                    },
                }),
                StepKind::Setup(Setup::World { path }) => StepKind::Setup(Setup::WorldYaml {
                    yaml: std::fs::read_to_string(path)
                        .unwrap_or_else(|e| panic!("{}: {e}", path.display())),
                }),
                other => other.clone(),
            };
            Step {
                span: nowhere.clone(),
                text: String::new(),
                kind,
            }
        })
        .collect()
}

/// Asserts a feature body and runbook statements lower to the same IR.
#[track_caller]
fn same_ir(gherkin: &str, statements: &str) {
    let f = lower(gherkin);
    let r = runbook(statements);
    assert_eq!(
        bare(&f.steps),
        bare(&r.steps),
        "\nfeature steps:\n{gherkin}\nrunbook:\n{statements}"
    );
}

#[test]
fn each_phrase_lowers_to_the_ir_of_its_statement() {
    let pairs: &[(&str, &str)] = &[
        (
            "    When I connect the custom key store \"ExampleKeyStore\"\n",
            "connect ExampleKeyStore",
        ),
        (
            "    When I disconnect the custom key store \"cks-1234567890abcdef0\"\n",
            "disconnect cks-1234567890abcdef0",
        ),
        ("    And the connection attempt completes\n", "settle"),
        ("    And I wait 7 days\n", "wait 7 days"),
        (
            "    When I encrypt \"hello\" with \"alias/app\" as \"ct\"\n    Then \"$ct\" decrypts to \"hello\"\n",
            "encrypt \"hello\" with alias/app -> ct\nexpect decrypt $ct == \"hello\"",
        ),
        (
            "    When I encrypt \"x\" with \"alias/app\"\n    Then it fails with KMSInvalidStateException \"is unavailable.\"\n",
            "encrypt \"x\" with alias/app => error KMSInvalidStateException \"is unavailable.\"",
        ),
        (
            "    When I run \"user list\" on cluster \"cluster-1a23b4cdefg\" as \"admin\"\n    Then the response has \"data.users[1].locked\" equal to the text \"true\"\n",
            "cloudhsm cluster-1a23b4cdefg as admin: user list\nexpect .data.users[1].locked == \"true\"",
        ),
        (
            "    Given kmsuser is locked out of cluster \"cluster-1a23b4cdefg\"\n",
            "repeat 5: cloudhsm cluster-1a23b4cdefg as intruder: login --username kmsuser --role crypto-user --password wrongPass1 => error",
        ),
        (
            "    When an admin sets kmsuser's password on cluster \"cluster-1a23b4cdefg\" to \"newPass123\"\n    And I tell the custom key store \"ExampleKeyStore\" that the kmsuser password is \"newPass123\"\n",
            "cloudhsm cluster-1a23b4cdefg as admin: login --username admin --role admin --password adminPassword1\n\
             cloudhsm cluster-1a23b4cdefg as admin: user change-password --username kmsuser --role crypto-user --password newPass123\n\
             cloudhsm cluster-1a23b4cdefg as admin: logout\n\
             call UpdateCustomKeyStore { CustomKeyStoreId: $ExampleKeyStore, KeyStorePassword: \"newPass123\" }",
        ),
        (
            "    Then the ConnectionState of \"ExampleKeyStore\" is CONNECTED\n    And there is no ConnectionErrorCode\n    And the ConnectionErrorCode is USER_LOCKED_OUT\n",
            "expect ExampleKeyStore.ConnectionState == CONNECTED\nexpect ExampleKeyStore.ConnectionErrorCode is absent\nexpect ExampleKeyStore.ConnectionErrorCode == USER_LOCKED_OUT",
        ),
        (
            "    Then the KeyState of \"alias/app\" is Enabled\n    And the key \"alias/app\" has \"CloudHsmClusterId\" equal to \"cluster-1a23b4cdefg\"\n",
            "expect key alias/app.KeyState == Enabled\nexpect key alias/app.CloudHsmClusterId == cluster-1a23b4cdefg",
        ),
        (
            "    When the network to cluster \"cluster-1a23b4cdefg\" is blocked\n    Then encrypting with \"alias/app\" fails with KMSInvalidStateException \"communicate\"\n    When the network to cluster \"cluster-1a23b4cdefg\" drops the next 2 calls\n",
            "block network to cluster-1a23b4cdefg\nencrypt \"probe\" with alias/app => error KMSInvalidStateException \"communicate\"\nflaky network to cluster-1a23b4cdefg for 2 calls",
        ),
        (
            "    When I take a backup of cluster \"cluster-1a23b4cdefg\" as \"b\"\n    And I call DescribeBackups\n    Then the response has \"Backups[0].BackupId\" equal to \"$b\"\n    And the response has \"Backups\"\n    And the response has no \"NextToken\"\n",
            "backup cluster-1a23b4cdefg -> b\ncall DescribeBackups\nexpect .Backups[0].BackupId == $b\nexpect .Backups is present\nexpect .NextToken is absent",
        ),
        (
            "    When I call DescribeClusters\n    And I remember \"Clusters[0].SubnetMapping.\"us-west-2a\"\" of the response as \"subnetA\"\n    And I remember \"CloudHsmClusterId\" of the custom key store \"ExampleKeyStore\" as \"c\"\n    Then the response has \"Clusters[0].Hsms\" not equal to \"[]\"\n",
            "call DescribeClusters\ncapture subnetA = .Clusters[0].SubnetMapping.\"us-west-2a\"\ncapture c = ExampleKeyStore.CloudHsmClusterId\nexpect .Clusters[0].Hsms != []",
        ),
        (
            "    When the PKCS #11 sessions of cluster \"cluster-1a23b4cdefg\" are exhausted\n    And 20 clients at once: I encrypt \"x\" with \"alias/app\"\n    Then 0 succeeded\n    And 20 failed with KMSInternalException\n",
            "exhaust sessions of cluster-1a23b4cdefg\nburst 20: encrypt \"x\" with alias/app\nexpect .Succeeded == 0\nexpect .Failed.KMSInternalException == 20",
        ),
        (
            "    When I retry up to 5 times every 1 second: the ConnectionState of \"ExampleKeyStore\" is CONNECTED\n    And I repeat 2 times: I disconnect the custom key store \"ExampleKeyStore\"\n",
            "retry 5 every 1 second: expect ExampleKeyStore.ConnectionState == CONNECTED\nrepeat 2: disconnect ExampleKeyStore",
        ),
        (
            "    When I call ScheduleKeyDeletion with:\n      | KeyId               | alias/app |\n      | PendingWindowInDays | 7         |\n    And I wait 7 days\n    Then the DeleteKey event shows backingKeysDeletionStatus SUCCESS\n    And I remember the backingKeyId as \"backing\"\n",
            "call ScheduleKeyDeletion { KeyId: alias/app, PendingWindowInDays: 7 }\nwait 7 days\n\
             expect trail DeleteKey.additionalEventData.backingKeysDeletionStatus[0].deletionStatus == SUCCESS\n\
             capture backing = trail DeleteKey.additionalEventData.backingKeysDeletionStatus[0].backingKeyId",
        ),
        (
            "    When 3 clients at once: I retry up to 2 times every 10 ms: I encrypt \"x\" with \"alias/app\"\n    Then the response has \"Succeeded\" greater than \"0\"\n    And the response has \"Succeeded\" at least \"1\"\n    And the response has \"Succeeded\" less than \"4\"\n    And the response has \"Succeeded\" at most \"3\"\n",
            "burst 3: retry 2 every 10ms: encrypt \"x\" with alias/app\nexpect .Succeeded > 0\nexpect .Succeeded >= 1\nexpect .Succeeded < 4\nexpect .Succeeded <= 3",
        ),
        (
            "    When 2 clients at once: in region \"eu-west-1\" I call DescribeBackups\n",
            "burst 2: in region eu-west-1: call DescribeBackups",
        ),
    ];
    for (gherkin, statements) in pairs {
        same_ir(gherkin, statements);
    }
}

#[test]
fn quoted_arguments_may_hold_escaped_quotes_and_backslashes() {
    let steps = r#"    When I encrypt "say \"hi\" \\ C:\dir" with "alias/app" as "ct"
    Then "$ct" decrypts to "say \"hi\" \\ C:\dir"
"#;
    same_ir(
        steps,
        r#"encrypt "say \"hi\" \\ C:\\dir" with alias/app -> ct
expect decrypt $ct == "say \"hi\" \\ C:\\dir""#,
    );
    let scenario = lower(steps);
    let plaintexts: Vec<&str> = scenario
        .steps
        .iter()
        .filter_map(|s| match &s.kind {
            StepKind::Expect(Expect::Decrypt { plaintext, .. }) => Some(plaintext.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(plaintexts, [r#"say "hi" \ C:\dir"#]);
    let outcome = runner::run(&scenario, Path::new(FEATURE));
    assert!(outcome.passed(), "{:?}", outcome.failure);

    // Cucumber matches the step with the same regex; an unescaped quote
    // inside an argument still matches no phrase.
    let text = r#"I encrypt "say \"hi\"" with "alias/app" as "ct""#;
    assert!(catalog().iter().any(|p| p.regex.is_match(text)));
    let mut store = None;
    let e = gherkin::translate(
        r#"I encrypt "say "hi"" with "alias/app""#,
        None,
        None,
        &mut store,
    )
    .unwrap_err();
    assert!(
        matches!(e, gherkin::TranslateError::Undefined { .. }),
        "{e}"
    );
}

#[test]
fn tables_and_doc_strings_build_the_call_input() {
    // A table with its optional header row, typed values and a list.
    same_ir(
        "    When I call CreateCluster with:\n      | Member     | Value                                    |\n      | HsmType    | hsm2m.medium                             |\n      | SubnetIds  | [subnet-0123abcd01, subnet-0123abcd02]   |\n",
        "call CreateCluster { HsmType: hsm2m.medium, SubnetIds: [subnet-0123abcd01, subnet-0123abcd02] }",
    );
    // A doc string without braces, spanning lines.
    same_ir(
        "    When I call DescribeBackups with:\n      \"\"\"\n      Filters: { clusterIds: [cluster-1a23b4cdefg] }\n      SortAscending: true\n      \"\"\"\n",
        "call DescribeBackups {\n  Filters: { clusterIds: [cluster-1a23b4cdefg] }\n  SortAscending: true\n}",
    );
    // A trail table, and a block of phrases in a doc string.
    same_ir(
        "    When I retry up to 3 times every 200 ms:\n      \"\"\"\n      the connection attempt completes\n      Then the ConnectionState of \"ExampleKeyStore\" is CONNECTED\n      \"\"\"\n    Then the ConnectCustomKeyStore event has:\n      | Path                         | Value            |\n      | requestParameters.customKeyStoreId | $ExampleKeyStore |\n",
        "retry 3 every 200 ms {\n  settle\n  expect ExampleKeyStore.ConnectionState == CONNECTED\n}\nexpect trail ConnectCustomKeyStore { requestParameters.customKeyStoreId: $ExampleKeyStore }",
    );
}

#[test]
fn an_inline_world_is_a_doc_string() {
    at_root();
    let text = "Feature: inline\n\n  Scenario: drill\n    Given the world:\n      \"\"\"\n      seed: 7\n      clusters:\n        - id: cluster-0123456789ab\n      custom_key_stores:\n        - name: Drill\n          connected: false\n      \"\"\"\n    When I connect the custom key store \"Drill\"\n    And the connection attempt completes\n    Then the ConnectionState is CONNECTED\n";
    let f = lower_str(text, Path::new(FEATURE)).unwrap();
    let r = dsl::parse_str(
        "runbook \"drill\"\nworld \"\"\"\n  seed: 7\n  clusters:\n    - id: cluster-0123456789ab\n  custom_key_stores:\n    - name: Drill\n      connected: false\n\"\"\"\nconnect Drill\nsettle\nexpect Drill.ConnectionState == CONNECTED\n",
        Path::new(RUNBOOK),
    )
    .unwrap();
    assert_eq!(bare(&f.scenarios[0].steps), bare(&r.scenarios[0].steps));
    let outcome = runner::run(&f.scenarios[0], Path::new(FEATURE));
    assert!(outcome.passed(), "{:?}", outcome.failure);

    // A mistake in the YAML is reported at its line of the feature.
    let broken = text.replace("connected: false", "connected: maybe");
    let d = lower_str(&broken, Path::new(FEATURE)).unwrap_err();
    assert_eq!(d[0].span.line, 11, "{}", d[0].render(Some(&broken)));
}

#[test]
fn a_misspelt_enum_value_is_an_undefined_step_at_its_line() {
    let (text, d) = lower_err(
        "    When I disconnect the custom key store \"ExampleKeyStore\"\n    Then the ConnectionState of \"ExampleKeyStore\" is DISCONECTED\n",
    );
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].span.line, 6);
    // At the misspelt word, not at the start of the step.
    assert_eq!(d[0].span.column, 54);
    assert_eq!(
        d[0].message,
        "no step matches \"the ConnectionState of \\\"ExampleKeyStore\\\" is DISCONECTED\""
            .replace("\\\"", "\"")
    );
    let shown = d[0].render(Some(&text));
    assert!(
        shown
            .contains("help: `DISCONECTED` is not a ConnectionState; did you mean `DISCONNECTED`?"),
        "{shown}"
    );
    assert!(
        shown.contains("6 |     Then the ConnectionState"),
        "{shown}"
    );

    let (_, d) = lower_err("    Then it fails with KMSInvalidState\n");
    assert!(
        d[0].notes
            .iter()
            .any(|n| n.contains("did you mean `KMSInvalidStateException`")),
        "{:?}",
        d[0].notes
    );
    let (_, d) = lower_err("    When I conect the custom key store \"ExampleKeyStore\"\n");
    assert!(
        d[0].notes
            .iter()
            .any(|n| n.contains("the closest phrase is `I connect the custom key store \"S\"`")),
        "{:?}",
        d[0].notes
    );
}

#[test]
fn semantic_errors_point_at_the_text_in_the_feature() {
    let (text, d) = lower_err("    When I connect the custom key store \"ExampleKeyStor\"\n");
    assert_eq!(d.len(), 1, "{d:?}");
    let shown = d[0].render(Some(&text));
    assert!(
        shown.contains("unknown key store `ExampleKeyStor`"),
        "{shown}"
    );
    assert!(
        shown.contains("--> scenarios/lowering.feature:5:42"),
        "{shown}"
    );
    assert!(shown.contains("^^^^^^^^^^^^^^"), "{shown}");
    assert!(
        shown.contains(
            "note: `When I connect the custom key store \"ExampleKeyStor\"` stands for `connect S`"
        ),
        "{shown}"
    );

    // An unknown member is found in its table row.
    let (text, d) = lower_err(
        "    When I call CreateKey with:\n      | Member | Value |\n      | Orign  | AWS_CLOUDHSM |\n",
    );
    assert_eq!(d[0].span.line, 7, "{}", d[0].render(Some(&text)));
    assert_eq!(d[0].span.column, 9);
}

#[test]
fn ir_spans_and_texts_are_the_feature_steps() {
    let s = lower(
        "    When I connect the custom key store \"ExampleKeyStore\"\n    And I repeat 2 times: an admin sets kmsuser's password on cluster \"cluster-1a23b4cdefg\" to \"p4ssword1\"\n",
    );
    assert_eq!(s.steps[0].span.line, 4);
    assert_eq!(s.steps[0].text, "Given the world \"worlds/example.yaml\"");
    assert_eq!(s.steps[1].span.line, 5);
    assert_eq!(s.steps[1].span.column, 5);
    assert_eq!(&*s.steps[1].span.file, FEATURE);
    assert_eq!(
        s.steps[1].text,
        "When I connect the custom key store \"ExampleKeyStore\""
    );
    let StepKind::Control(Control::Repeat { body, .. }) = &s.steps[2].kind else {
        panic!("{:?}", s.steps[2].kind);
    };
    assert_eq!(body.len(), 3);
    assert!(body
        .iter()
        .all(|b| b.span.line == 6 && b.text.starts_with("And I repeat 2 times:")));
    assert_eq!(s.span.line, 3);
    assert_eq!(s.name, "one");
}

#[test]
fn backgrounds_run_first_and_outlines_expand_per_row() {
    at_root();
    let text = "\
@drill
Feature: outlines

  Background:
    Given the world \"worlds/example.yaml\"
    And I disconnect the custom key store \"ExampleKeyStore\"

  @outline
  Scenario Outline: connecting after <what>
    When I <action> the custom key store \"ExampleKeyStore\"
    Then the ConnectionState is <state>

    @first
    Examples:
      | what        | action     | state        |
      | a reconnect | reconnect  | CONNECTING   |
      | a connect   | connect    | CONNECTING   |

  Scenario Outline: plain name
    Then the ConnectionState of \"ExampleKeyStore\" is <state>

    Examples:
      | state        |
      | DISCONNECTED |
";
    let f = lower_str(text, Path::new(FEATURE)).unwrap();
    let names: Vec<&str> = f.scenarios.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "connecting after a reconnect",
            "connecting after a connect",
            "plain name (DISCONNECTED)"
        ]
    );
    assert_eq!(f.scenarios[0].tags, vec!["drill", "outline", "first"]);
    assert_eq!(f.scenarios[2].tags, vec!["drill"]);
    // The row's line is the scenario's place.
    assert_eq!(f.scenarios[0].span.line, 16);
    assert_eq!(f.scenarios[1].span.line, 17);
    let first = &f.scenarios[0];
    assert_eq!(first.steps.len(), 4);
    assert_eq!(first.steps[1].span.line, 6, "the Background's step");
    assert_eq!(first.steps[2].span.line, 10);
    assert_eq!(
        first.steps[2].text,
        "When I reconnect the custom key store \"ExampleKeyStore\""
    );
    let r = runbook("disconnect ExampleKeyStore\nconnect ExampleKeyStore\nexpect ExampleKeyStore.ConnectionState == CONNECTING");
    assert_eq!(bare(&first.steps), bare(&r.steps));
    for s in &f.scenarios {
        let outcome = runner::run(s, Path::new(FEATURE));
        assert!(outcome.passed(), "{}: {:?}", s.name, outcome.failure);
    }
}

#[test]
fn two_scenarios_with_one_name_would_share_a_snapshot() {
    at_root();
    let text = "Feature: twins\n\n  Scenario: twin\n    Given pending work settles\n\n  Scenario: twin\n    Given pending work settles\n";
    let d = lower_str(text, Path::new(FEATURE)).unwrap_err();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].span.line, 6);
    assert!(d[0]
        .message
        .contains("another scenario of this feature is named `twin`"));
}

#[test]
fn every_phrase_is_in_the_documentation() {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/gherkin-steps.md"),
    )
    .unwrap();
    for p in catalog() {
        let shown = format!("`{}`", p.pattern);
        let generic = [
            "the custom key store \"S\" has",
            "the key \"KEY\" has",
            "the {Event} event has ",
        ];
        assert!(
            doc.contains(&shown) || generic.iter().any(|g| p.pattern.starts_with(g)),
            "docs/gherkin-steps.md does not list {shown}"
        );
    }
}

// --- Failures ---------------------------------------------------------------

/// What a cucumber run printed.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

const WRONG: &str = "tests/features-fail/wrong-error-code.feature";
const UNDEFINED: &str = "tests/features-fail/undefined-step.feature";

/// A feature that must fail run through cucumber: its summary and what
/// cucumber printed.
fn failing_run(path: &str) -> (gherkin::Summary, String) {
    at_root();
    let out = Captured::default();
    let summary = gherkin::run(Path::new(path), out.clone(), Coloring::Never);
    let text = out.text();
    assert!(!summary.passed(), "{text}");
    (summary, text)
}

#[test]
fn a_wrong_expectation_fails_the_cucumber_run_with_file_line_expected_and_actual() {
    let (summary, text) = failing_run(WRONG);
    assert_eq!(summary.failed_steps, 1, "{text}");
    assert_eq!(summary.failed_scenarios, 1, "{text}");
    assert!(text.contains(&format!("--> {WRONG}:10:5")), "{text}");
    assert!(
        text.contains(
            "10 |     And the ConnectionErrorCode of \"ExampleKeyStore\" is USER_LOCKED_OUT"
        ),
        "{text}"
    );
    assert!(
        text.contains("= expected: .ConnectionErrorCode == USER_LOCKED_OUT"),
        "{text}"
    );
    assert!(
        text.contains("= actual:   .ConnectionErrorCode is INVALID_CREDENTIALS"),
        "{text}"
    );
}

#[test]
fn a_wrong_expectation_fails_the_runner_at_the_feature_line() {
    at_root();
    let file = lower_file(Path::new(WRONG)).unwrap();
    let outcome = runner::run(&file.scenarios[0], Path::new(WRONG));
    let f = outcome.failure.expect("the scenario fails");
    assert_eq!(&*f.span.file, WRONG);
    assert_eq!(f.span.line, 10);
    assert_eq!(
        f.step,
        "And the ConnectionErrorCode of \"ExampleKeyStore\" is USER_LOCKED_OUT"
    );
    assert_eq!(f.expected, ".ConnectionErrorCode == USER_LOCKED_OUT");
    assert_eq!(f.actual, ".ConnectionErrorCode is INVALID_CREDENTIALS");
}

#[test]
fn an_undefined_step_fails_the_cucumber_run() {
    let (summary, text) = failing_run(UNDEFINED);
    // The steps before it ran and held; the undefined one failed the run.
    assert_eq!(summary.passed_steps, 2, "{text}");
    assert_eq!(summary.failed_steps, 1, "{text}");
    assert!(text.contains("DISCONECTED"), "{text}");
    // `hsmdrill check`/`run` report it at its line.
    let d = lower_file(Path::new(UNDEFINED)).unwrap_err();
    assert_eq!(d[0].span.line, 6);
}

// --- The features harness (cargo test --test features -- ARGS) --------------

const R5: &str = "features/r5-invalid-kmsuser-credentials.feature";
const R5_KMSUSER: &str = "five wrong passwords lock kmsuser; the repair reconnects";
const R5_OTHER: &str = "a password changed while disconnected gives INVALID_CREDENTIALS";

/// What `tests/features.rs` does with `args` on `path`: its exit status,
/// cucumber's report (and `--help`, `--list`), and its own lines.
fn harness(args: &[&str], path: &str) -> (u8, String, String) {
    at_root();
    let out = Captured::default();
    let mut err = Vec::new();
    let argv = std::iter::once("features")
        .chain(args.iter().copied())
        .map(std::ffi::OsString::from);
    let code = gherkin::harness::main(argv, Path::new(path), out.clone(), &mut err);
    (code, out.text(), String::from_utf8(err).unwrap())
}

#[test]
fn the_harness_takes_cucumbers_tags_and_name_filters() {
    let (code, out, err) = harness(&["--color", "never", "--tags", "@R5 and @kmsuser"], R5);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(R5_KMSUSER), "{out}");
    assert!(!out.contains(R5_OTHER), "{out}");
    assert!(err.contains("features: 1 passed, 0 failed"), "{err}");

    let (code, out, err) = harness(&["--color", "never", "-t", "@R5 and not @kmsuser"], R5);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(R5_OTHER) && !out.contains(R5_KMSUSER), "{out}");

    let (code, out, err) = harness(&["--color=never", "--name", "changed wh.le"], R5);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(R5_OTHER) && !out.contains(R5_KMSUSER), "{out}");
    assert!(err.contains("features: 1 passed, 0 failed"), "{err}");
}

#[test]
fn the_harness_accepts_what_cargo_test_passes_to_every_test_binary() {
    // `cargo test -- --test-threads=16 …` runs every scenario.
    let args = [
        "--test-threads=16",
        "--nocapture",
        "--show-output",
        "-q",
        "--format",
        "pretty",
        "-Z",
        "unstable-options",
        "--include-ignored",
        "--color",
        "never",
    ];
    let (code, out, err) = harness(&args, R5);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(R5_KMSUSER) && out.contains(R5_OTHER), "{out}");
    assert!(err.contains("features: 2 passed, 0 failed"), "{err}");

    // A libtest filter (`cargo test NAME`) selects by name, as libtest
    // does; one that matches nothing runs nothing, and passes.
    let (code, out, err) = harness(&["five wrong", "--color", "never"], R5);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(R5_KMSUSER) && !out.contains(R5_OTHER), "{out}");
    let (code, out, err) = harness(&["--skip", "five wrong", "--color", "never"], R5);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(R5_OTHER) && !out.contains(R5_KMSUSER), "{out}");
    let (code, _, err) = harness(&["--exact", "five wrong"], R5);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("features: 0 passed, 0 failed"), "{err}");
    let (code, out, err) = harness(&["--ignored"], R5);
    assert_eq!(code, 0, "{out}{err}");
    assert!(!out.contains(R5_KMSUSER), "{out}");

    let (code, out, err) = harness(&["--list"], R5);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        format!("{R5_KMSUSER}: test\n{R5_OTHER}: test\n\n2 tests, 0 benchmarks\n")
    );
    let (code, out, _) = harness(
        &["--list", "--format", "terse", "--tags", "not @kmsuser"],
        R5,
    );
    assert_eq!(code, 0);
    assert_eq!(out, format!("{R5_OTHER}: test\n"));
}

#[test]
fn the_harness_refuses_bad_arguments_and_filters_that_select_nothing() {
    let (code, out, err) = harness(&["--tags", "@R5 and @nope"], R5);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.ends_with(&format!(
            "error: --tags `@R5 and @nope` selects no scenario under {R5}\n"
        )),
        "{err}"
    );
    let (code, _, err) = harness(&["--name", "^no such scenario$"], R5);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("error: --name `^no such scenario$` selects no scenario"),
        "{err}"
    );

    for (args, says) in [
        (&["--bogus"][..], "unexpected argument '--bogus'"),
        (&["--tags", "@R5 and"], "--tags"),
        (&["--name", "("], "--name"),
        (&["--tags", "@R5", "--name", "x"], "cannot be used with"),
        (&["--test-threads", "many"], "--test-threads"),
    ] {
        let (code, out, err) = harness(args, R5);
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert!(
            err.starts_with("error: ") && err.contains(says),
            "{args:?}: {err}"
        );
        assert!(!out.contains(R5_KMSUSER), "{args:?} ran scenarios: {out}");
    }

    let (code, out, _) = harness(&["--help"], R5);
    assert_eq!(code, 0, "{out}");
    for option in [
        "--tags",
        "--name",
        "--concurrency",
        "--fail-fast",
        "--list",
        "Exit status: 0",
    ] {
        assert!(out.contains(option), "--help lacks {option}: {out}");
    }
}

#[test]
fn the_harness_exits_2_on_a_feature_that_does_not_parse_and_a_list_that_selects_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.feature");
    std::fs::write(&bad, "this line is not Gherkin\nFeature: late\n").unwrap();
    let (code, out, err) = harness(&["--color", "never"], bad.to_str().unwrap());
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("do not parse (invalid input)"), "{out}{err}");
    let (code, _, err) = harness(&["--list"], bad.to_str().unwrap());
    assert_eq!(code, 2, "{err}");

    let (code, _, err) = harness(&["--list", "--tags", "@nope"], R5);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("error: --tags `@nope` selects no scenario"),
        "{err}"
    );
}

#[test]
fn the_harness_exits_1_when_a_scenario_fails() {
    let (code, out, err) = harness(&["--color", "never", "--fail-fast"], WRONG);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains(&format!("--> {WRONG}:10:5")), "{out}");
    assert!(err.contains("features: 0 passed, 1 failed"), "{err}");
}

// --- Parity -----------------------------------------------------------------

fn parity(name: &str) {
    at_root();
    let runbook = PathBuf::from(format!("scenarios/{name}.runbook"));
    let feature = PathBuf::from(format!("features/{name}.feature"));
    let r = dsl::parse_file(&runbook).unwrap_or_else(|d| panic!("{d:?}"));
    let f = lower_file(&feature).unwrap_or_else(|d| {
        let text = std::fs::read_to_string(&feature).unwrap();
        panic!("{}", hsmdrill::scenario::diagnostic::render_all(&d, &text))
    });
    assert!(!r.scenarios.is_empty());
    for rs in &r.scenarios {
        let fs = f
            .scenarios
            .iter()
            .find(|s| s.name == rs.name)
            .unwrap_or_else(|| panic!("{} has no scenario `{}`", feature.display(), rs.name));
        let (rb, fb) = (bare(&rs.steps), bare(&fs.steps));
        let differ: Vec<String> = rb
            .iter()
            .zip(&fb)
            .enumerate()
            .filter(|(_, (a, b))| a != b)
            .map(|(i, (a, b))| {
                format!(
                    "step {}: runbook line {} `{}`\n  {:?}\nfeature line {} `{}`\n  {:?}",
                    i + 1,
                    rs.steps[i].span.line,
                    rs.steps[i].text,
                    a.kind,
                    fs.steps[i].span.line,
                    fs.steps[i].text,
                    b.kind
                )
            })
            .collect();
        assert!(
            differ.is_empty(),
            "`{}`: {} steps differ:\n{}",
            rs.name,
            differ.len(),
            differ.join("\n")
        );
        assert_eq!(rb.len(), fb.len(), "`{}`: step count", rs.name);
        let ro = runner::run(rs, &runbook);
        let fo = runner::run(fs, &feature);
        assert!(ro.passed(), "{:?}", ro.failure);
        assert!(fo.passed(), "{:?}", fo.failure);
        let (rr, fr) = (snapshot::render(&ro), snapshot::render(&fo));
        assert!(!rr.is_empty(), "`{}` snapshots nothing", rs.name);
        // Byte-identical: snapshot headers come from the IR, not the source.
        assert_eq!(rr, fr, "`{}`: snapshots differ", rs.name);
    }
}

#[test]
fn r5_feature_and_runbook_lower_to_the_same_ir_and_snapshots() {
    parity("r5-invalid-kmsuser-credentials");
}

#[test]
fn r7_feature_and_runbook_lower_to_the_same_ir_and_snapshots() {
    parity("r7-recover-deleted-key-material");
}

#[test]
fn aws_kms_keys_feature_and_runbook_lower_to_the_same_ir_and_snapshots() {
    parity("aws-kms-keys");
}

#[test]
fn r5_failed_logins_feature_and_runbook_lower_to_the_same_ir_and_snapshots() {
    parity("r5-kms-failed-logins");
}

#[test]
fn degraded_hsms_feature_and_runbook_lower_to_the_same_ir_and_snapshots() {
    parity("degraded-hsms");
}

// --- The command line -------------------------------------------------------

fn hsmdrill(args: &[&str]) -> (i32, String) {
    let out = crate::support::hsmdrill().args(args).output().unwrap();
    let text = crate::support::output_text(&out);
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn hsmdrill_run_and_check_take_feature_files() {
    let (code, text) = hsmdrill(&["run", WRONG]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains(&format!("--> {WRONG}:10:5")), "{text}");
    assert!(
        text.contains("= expected: .ConnectionErrorCode == USER_LOCKED_OUT"),
        "{text}"
    );
    assert!(text.ends_with("0 passed, 1 failed\n"), "{text}");

    // An undefined step is invalid input.
    let (code, text) = hsmdrill(&["check", UNDEFINED]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains(&format!("--> {UNDEFINED}:6:54\n")), "{text}");
    assert!(text.contains("did you mean `DISCONNECTED`?"), "{text}");

    let (code, text) = hsmdrill(&[
        "run",
        "--tag",
        "@R5",
        "--format",
        "json",
        "features/r5-invalid-kmsuser-credentials.feature",
    ]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("\"file\": \"features/r5-invalid-kmsuser-credentials.feature\""),
        "{text}"
    );
}

#[test]
fn hsmdrill_steps_lists_the_phrases_after_the_statements() {
    let (code, text) = hsmdrill(&["steps"]);
    assert_eq!(code, 0, "{text}");
    let statements = text.find("\nconnect <store>").expect("the DSL statements");
    let phrases = text.find("\nGherkin phrases").expect("the Gherkin heading");
    assert!(statements < phrases, "{text}");
    for p in catalog() {
        assert!(
            text.contains(p.pattern),
            "`hsmdrill steps` does not list `{}`",
            p.pattern
        );
    }
}

#[test]
fn without_paths_run_and_check_take_scenarios_and_features() {
    let count = |dir: &str, ext: &str| {
        fn walk(d: &Path, ext: &str) -> usize {
            std::fs::read_dir(d)
                .unwrap()
                .map(|e| e.unwrap().path())
                .map(|p| {
                    if p.is_dir() {
                        walk(&p, ext)
                    } else {
                        usize::from(p.extension().is_some_and(|e| e == ext))
                    }
                })
                .sum()
        }
        walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join(dir), ext)
    };
    let files = count("scenarios", "runbook") + count("features", "feature");
    let (code, text) = hsmdrill(&["check"]);
    assert_eq!(code, 0, "{text}");
    assert!(text.starts_with(&format!("{files} files, ")), "{text}");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// Lowering never panics, whatever the text: broken features are
    /// diagnostics.
    #[test]
    fn lowering_never_panics(
        lines in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::strategy::Just("Feature: f".to_owned()),
                proptest::strategy::Just("  Scenario: s".to_owned()),
                proptest::strategy::Just("  Scenario Outline: o <a>".to_owned()),
                proptest::strategy::Just("  Background:".to_owned()),
                proptest::strategy::Just("  Examples:".to_owned()),
                proptest::strategy::Just("    | a | b |".to_owned()),
                proptest::strategy::Just("    \"\"\"".to_owned()),
                proptest::strategy::Just("    Given the world \"worlds/example.yaml\"".to_owned()),
                proptest::strategy::Just("    When I call CreateKey with:".to_owned()),
                proptest::strategy::Just("    Then the ConnectionState is <a>".to_owned()),
                proptest::strategy::Just("    And I repeat 2 times: I call ListKeys".to_owned()),
                "[ -~]{0,40}",
            ],
            0..14,
        )
    ) {
        let text = lines.join("\n");
        let _ = lower_str(&text, Path::new(FEATURE));
    }
}

// --- Diagnostics at the word ---------------------------------------------------

/// The files of `tests/feature-errors/`, sorted.
fn feature_error_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/feature-errors");
    hsmdrill::suite::discover(&[dir])
        .unwrap()
        .into_iter()
        .map(|f| f.path)
        .filter(|p| hsmdrill::suite::is_feature(p))
        .collect()
}

/// Every file of `tests/feature-errors/` is wrong, and how it is wrong is a
/// snapshot of the rendered diagnostics
/// (`tests/snapshots/gherkin__<file>.snap`): each at the offending word of
/// its step, in the caret layout of runbook diagnostics.
#[test]
fn feature_error_files_render_their_diagnostics_at_the_word() {
    let files = feature_error_files();
    assert!(files.len() >= 6, "only {} feature error files", files.len());
    for path in files {
        let rel = path
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap()
            .to_path_buf();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let source = std::fs::read_to_string(&path).unwrap();
        at_root();
        let errors = lower_str(&source, &rel).expect_err("an error feature must not lower");
        for d in &errors {
            assert!(
                d.span.column > 5 || d.message.starts_with("no step matches \"I disconect"),
                "{name}: a diagnostic at the start of the step:\n{}",
                d.render(Some(&source))
            );
        }
        // `tests/snapshots/gherkin__<file>.snap`, beside the runbook ones.
        insta::with_settings!({
            input_file => &path,
            omit_expression => true,
            snapshot_path => "../snapshots",
            prepend_module_to_snapshot => false,
        }, {
            insta::assert_snapshot!(
                format!("gherkin__{name}"),
                hsmdrill::scenario::diagnostic::render_all(&errors, &source)
            );
        });
    }
}

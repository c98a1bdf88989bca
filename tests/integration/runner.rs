//! The runner on hand-built IR: what it records, how it fails, and that a
//! burst's tally is the same every run.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hsmdrill::scenario::ir::{
    Action, Comparison, Control, Expect, Fault, Operand, Path as JsonPath, Scenario, Segment,
    Setup, Span, Step, StepKind, Subject,
};
use hsmdrill::scenario::outcome::Outcome;
use hsmdrill::scenario::runner::run;
use serde_json::{json, Value};

fn span(line: usize) -> Span {
    Span {
        file: Arc::from("inline.runbook"),
        line,
        column: 1,
        offset: 0,
        len: 0,
    }
}

fn step(line: usize, text: &str, kind: StepKind) -> Step {
    Step {
        span: span(line),
        text: text.into(),
        kind,
    }
}

fn example() -> PathBuf {
    crate::support::example_world()
}

fn world(line: usize) -> Step {
    step(
        line,
        "world",
        StepKind::Setup(Setup::World { path: example() }),
    )
}

fn call(line: usize, op: &str, input: Value) -> Step {
    step(
        line,
        op,
        StepKind::Action(Action::Call {
            operation: op.into(),
            input,
        }),
    )
}

fn path(p: &str) -> JsonPath {
    JsonPath(
        p.split('.')
            .filter(|s| !s.is_empty())
            .map(|s| Segment::Field(s.into()))
            .collect(),
    )
}

fn expect_store(line: usize, field: &str, value: &str) -> Step {
    step(
        line,
        &format!("expect ExampleKeyStore.{field} == {value}"),
        StepKind::Expect(Expect::Field {
            subject: Subject::Store("ExampleKeyStore".into()),
            path: path(field),
            comparison: Comparison::Equals,
            value: Operand::Value(json!(value)),
        }),
    )
}

fn scenario(steps: Vec<Step>) -> Scenario {
    Scenario {
        name: "inline".into(),
        tags: vec![],
        span: span(1),
        steps,
    }
}

fn run_it(steps: Vec<Step>) -> Outcome {
    run(&scenario(steps), Path::new("inline.runbook"))
}

fn lockout_steps(expected_code: &str) -> Vec<Step> {
    let mut steps = vec![
        world(1),
        call(
            2,
            "DisconnectCustomKeyStore",
            json!({"CustomKeyStoreId": "$ExampleKeyStore"}),
        ),
    ];
    steps.push(step(
        3,
        "repeat 5: wrong password",
        StepKind::Control(Control::Repeat {
            times: 5,
            body: vec![
                step(
                    3,
                    "cloudhsm login",
                    StepKind::Action(Action::Cli {
                        cluster: "cluster-1a23b4cdefg".into(),
                        session: "intruder".into(),
                        line: "login --username kmsuser --role crypto-user --password wrongPass1"
                            .into(),
                        answers: Vec::new(),
                    }),
                ),
                step(
                    3,
                    "expect cli error",
                    StepKind::Expect(Expect::CliError { message: None }),
                ),
            ],
        }),
    ));
    steps.push(call(
        4,
        "ConnectCustomKeyStore",
        json!({"CustomKeyStoreId": "${ExampleKeyStore}"}),
    ));
    steps.push(step(5, "settle", StepKind::Action(Action::Settle)));
    steps.push(expect_store(6, "ConnectionState", "FAILED"));
    steps.push(expect_store(7, "ConnectionErrorCode", expected_code));
    steps
}

#[test]
fn a_lockout_drill_passes_and_records_every_describe() {
    let out = run_it(lockout_steps("USER_LOCKED_OUT"));
    assert!(out.passed(), "{:?}", out.failure);
    // Two expectations on the store: two recorded responses.
    assert_eq!(out.describes.len(), 2);
    assert_eq!(out.describes[0].line, 6);
    let first = out.describes[0].response.as_ref().unwrap();
    assert_eq!(
        first["CustomKeyStores"][0]["ConnectionErrorCode"],
        json!("USER_LOCKED_OUT")
    );
}

#[test]
fn a_wrong_connection_error_code_fails_naming_the_line_expected_and_actual() {
    let out = run_it(lockout_steps("INVALID_CREDENTIALS"));
    let f = out.failure.expect("must fail");
    assert_eq!(f.span.line, 7);
    assert_eq!(f.expected, ".ConnectionErrorCode == INVALID_CREDENTIALS");
    assert_eq!(f.actual, ".ConnectionErrorCode is USER_LOCKED_OUT");
    let store = f.store.expect("the store involved");
    assert_eq!(store["ConnectionState"], json!("FAILED"));
}

#[test]
fn an_unexpected_action_error_fails_unless_the_next_step_expects_it() {
    let encrypt = |line| {
        call(
            line,
            "Encrypt",
            json!({"KeyId": "alias/app", "Plaintext": "aGVsbG8="}),
        )
    };
    let disconnect = call(
        2,
        "DisconnectCustomKeyStore",
        json!({"CustomKeyStoreId": "$ExampleKeyStore"}),
    );
    let out = run_it(vec![world(1), disconnect.clone(), encrypt(3)]);
    let f = out.failure.expect("must fail");
    assert_eq!(f.span.line, 3);
    assert!(
        f.actual.starts_with("KMSInvalidStateException: "),
        "{}",
        f.actual
    );

    let out = run_it(vec![
        world(1),
        disconnect,
        encrypt(3),
        step(
            4,
            "expect error",
            StepKind::Expect(Expect::Error {
                exception: "KMSInvalidStateException".into(),
                message: Some("is unavailable.".into()),
            }),
        ),
    ]);
    assert!(out.passed(), "{:?}", out.failure);
}

#[test]
fn any_error_holds_after_any_aws_error_and_fails_after_a_success() {
    let any_error = |line, message: Option<&str>| {
        step(
            line,
            "=> error",
            StepKind::Expect(Expect::AnyError {
                message: message.map(str::to_owned),
            }),
        )
    };
    let describe = |line, key: &str| call(line, "DescribeKey", json!({ "KeyId": key }));
    // A failed action does not stop the scenario when the next step
    // expects any error.
    let out = run_it(vec![
        world(1),
        describe(2, "alias/no-such-key"),
        any_error(2, None),
        describe(3, "alias/no-such-key"),
        any_error(3, Some("alias/no-such-key")),
    ]);
    assert!(out.passed(), "{:?}", out.failure);

    let out = run_it(vec![world(1), describe(2, "alias/app"), any_error(2, None)]);
    let f = out.failure.expect("a success is not an error");
    assert_eq!(f.span.line, 2);
    assert_eq!(f.expected, "an AWS error");
    assert!(f.actual.starts_with("success: {"), "{}", f.actual);

    let out = run_it(vec![
        world(1),
        describe(2, "alias/no-such-key"),
        any_error(2, Some("some other words")),
    ]);
    let f = out.failure.expect("the message lacks the words");
    assert_eq!(
        f.expected,
        "an AWS error with a message containing \"some other words\""
    );
    assert!(f.actual.starts_with("NotFoundException: "), "{}", f.actual);
}

#[test]
fn undefined_variables_fail_at_run_time_with_their_name() {
    let out = run_it(vec![
        world(1),
        call(2, "DescribeKey", json!({"KeyId": "$nope"})),
    ]);
    let actual = out.failure.unwrap().actual;
    assert!(actual.contains("undefined variable `$nope`"), "{actual}");
}

/// A burst of 64 encrypts against 2 HSMs × 4 sessions with a 1 ms HSM
/// latency and no wait: 8 get a session, 56 fail with the PKCS #11
/// KMSInternalException; with retries (backoff in virtual time) all 64
/// succeed. The same tally every run.
#[test]
fn burst_tallies_are_deterministic_and_retries_deliver_everything() {
    let yaml = std::fs::read_to_string(example()).unwrap().replace(
        "seed: 1 ",
        "seed: 1\npkcs11: {sessions_per_hsm: 4, hsm_latency_micros: 1000}\n",
    );
    let encrypt = || {
        call(
            10,
            "Encrypt",
            json!({"KeyId": "alias/app", "Plaintext": "aGVsbG8="}),
        )
    };
    let burst_outcome = |body: Vec<Step>| -> Outcome {
        run_it(vec![
            step(
                1,
                "world",
                StepKind::Setup(Setup::WorldYaml { yaml: yaml.clone() }),
            ),
            step(
                10,
                "burst 64",
                StepKind::Control(Control::Burst { count: 64, body }),
            ),
            step(
                11,
                // Fails on purpose: the failure's `actual` is the tally.
                "expect .Succeeded == -1",
                StepKind::Expect(Expect::Field {
                    subject: Subject::Last,
                    path: path("Succeeded"),
                    comparison: Comparison::Equals,
                    value: Operand::Value(json!(-1)),
                }),
            ),
        ])
    };
    let plain: Vec<String> = (0..3)
        .map(|_| burst_outcome(vec![encrypt()]).failure.unwrap().actual)
        .collect();
    assert_eq!(plain[0], ".Succeeded is 8");
    assert!(plain.iter().all(|a| *a == plain[0]), "{plain:?}");

    let retried = burst_outcome(vec![step(
        10,
        "retry 10",
        StepKind::Control(Control::Retry {
            attempts: 10,
            base: Duration::from_millis(1),
            body: vec![encrypt()],
        }),
    )]);
    assert_eq!(retried.failure.unwrap().actual, ".Succeeded is 64");
}

#[test]
fn an_exhausted_pool_fails_with_the_pkcs11_message_until_released() {
    let cluster = "cluster-1a23b4cdefg".to_string();
    let out = run_it(vec![
        world(1),
        step(
            2,
            "exhaust sessions",
            StepKind::Action(Action::Fault(Fault::ExhaustSessions {
                cluster: cluster.clone(),
            })),
        ),
        call(
            3,
            "Encrypt",
            json!({"KeyId": "alias/app", "Plaintext": "aGVsbG8="}),
        ),
        step(
            4,
            "expect error",
            StepKind::Expect(Expect::Error {
                exception: "KMSInternalException".into(),
                message: Some("PKCS #11".into()),
            }),
        ),
        step(
            5,
            "release",
            StepKind::Action(Action::Fault(Fault::ReleaseSessions { cluster })),
        ),
        call(
            6,
            "Encrypt",
            json!({"KeyId": "alias/app", "Plaintext": "aGVsbG8="}),
        ),
    ]);
    assert!(out.passed(), "{:?}", out.failure);
}

/// A snapshot is written on accept, matches on the next run, and a changed
/// response fails on it with a diff.
#[test]
fn a_changed_response_fails_on_its_snapshot() {
    use hsmdrill::scenario::snapshot::{check, path, Check};
    let dir = crate::support::temp_dir("snap");
    let file = dir.path().join("lockout.runbook");
    let out = run(&scenario(lockout_steps("USER_LOCKED_OUT")), &file);
    assert!(out.passed());
    assert_eq!(check(&out, &file, false).unwrap(), Check::Missing);
    assert_eq!(check(&out, &file, true).unwrap(), Check::Written);
    assert_eq!(check(&out, &file, false).unwrap(), Check::Matches);
    // Same scenario, same bytes.
    let again = run(&scenario(lockout_steps("USER_LOCKED_OUT")), &file);
    assert_eq!(check(&again, &file, false).unwrap(), Check::Matches);

    let snap = path(&file, "inline");
    let text = std::fs::read_to_string(&snap).unwrap();
    std::fs::write(&snap, text.replace("USER_LOCKED_OUT", "USER_NOT_FOUND")).unwrap();
    match check(&again, &file, false).unwrap() {
        Check::Differs(diff) => {
            assert!(
                diff.contains("-            \"ConnectionErrorCode\": \"USER_NOT_FOUND\""),
                "{diff}"
            );
            assert!(
                diff.contains("+            \"ConnectionErrorCode\": \"USER_LOCKED_OUT\""),
                "{diff}"
            );
        }
        other => panic!("expected a difference, got {other:?}"),
    }
}

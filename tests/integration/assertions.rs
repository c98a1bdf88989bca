//! Assertions that cannot pass by accident (issue 15): a misspelt path is
//! rejected before the run with its place and a suggestion; a member that
//! is not there fails a comparison at run time; ordering comparisons, `now`
//! and durations; nested one-line blocks; `retry`'s seeded backoff.

use std::path::Path;

use hsmdrill::dsl::parse_str;
use hsmdrill::scenario::diagnostic::render_all;
use hsmdrill::scenario::outcome::Outcome;
use hsmdrill::scenario::runner;

const FILE: &str = "scenarios/test.runbook";

fn run(body: &str) -> Outcome {
    let src = format!("runbook \"t\"\nworld \"worlds/example.yaml\"\n{body}");
    let file = match parse_str(&src, Path::new(FILE)) {
        Ok(f) => f,
        Err(errors) => panic!("{}", render_all(&errors, &src)),
    };
    runner::run(&file.scenarios[0], Path::new(FILE))
}

fn check_errors(body: &str) -> String {
    let src = format!("runbook \"t\"\nworld \"worlds/example.yaml\"\n{body}");
    match parse_str(&src, Path::new(FILE)) {
        Ok(_) => String::new(),
        Err(errors) => render_all(&errors, &src),
    }
}

#[test]
fn a_misspelt_member_is_rejected_at_its_place_with_a_suggestion() {
    let text = check_errors("expect ExampleKeyStore.ConectionState != FAILED\n");
    assert!(
        text.contains(
            "no member `ConectionState` in the DescribeCustomKeyStores entry (CustomKeyStoresListEntry)"
        ),
        "{text}"
    );
    assert!(text.contains("scenarios/test.runbook:3:23"), "{text}");
    assert!(text.contains("did you mean `ConnectionState`?"), "{text}");
    // The path of the last call's own response.
    let text = check_errors("call ListKeys\nexpect .Keys[0].KeyID is present\n");
    assert!(text.contains("did you mean `KeyId`?"), "{text}");
    assert!(check_errors("call ListKeys\nexpect .Keys[0].KeyId is present\n").is_empty());
}

#[test]
fn a_comparison_on_an_absent_member_fails_with_no_such_field() {
    // After a fault the response is not known before the run: the runner
    // says what is missing instead of calling it "not equal".
    let o = run("block network to cluster-1a23b4cdefg\nexpect .ConectionState != FAILED\n");
    let f = o.failure.expect("an absent member fails `!=`");
    assert_eq!(
        f.actual,
        "no such field `ConectionState` in fault's response"
    );
    assert_eq!(f.span.line, 4);
    // `is absent` is the way to ask.
    let o = run("block network to cluster-1a23b4cdefg\nexpect .ConectionState is absent\n");
    assert!(o.passed(), "{:?}", o.failure);
}

#[test]
fn ordering_comparisons_and_time() {
    let o = run(
        "wait 90s\nexpect ExampleKeyStore.CreationDate == now - 90s\nexpect ExampleKeyStore.CreationDate < now\n\
         capture t = ExampleKeyStore.CreationDate\nexpect $t >= now - 2m\n",
    );
    assert!(o.passed(), "{:?}", o.failure);
    let o = run("expect ExampleKeyStore.CreationDate > now\n");
    let f = o.failure.expect("the store was not created in the future");
    assert_eq!(f.expected, ".CreationDate > 1499288695.918");
    assert_eq!(f.actual, ".CreationDate is 1499288695.918");
    // The model says a state is a string: `check` refuses `>` on it ...
    let text = check_errors("expect ExampleKeyStore.ConnectionState > 1\n");
    assert!(
        text.contains("`>` compares numbers and timestamps, and `.ConnectionState` is a string (ConnectionStateType)"),
        "{text}"
    );
    // ... and where only the run knows, the run says so.
    let o = run("capture s = ExampleKeyStore.ConnectionState\nexpect $s > 1\n");
    let f = o.failure.expect("a state is not a number");
    assert_eq!(f.expected, "$s > 1");
    assert_eq!(
        f.actual,
        "$s is CONNECTED, which is not a number or a timestamp"
    );
}

#[test]
fn one_line_blocks_nest_and_retry_jitter_repeats_run_after_run() {
    let body = "exhaust sessions of cluster-1a23b4cdefg\n\
                burst 3: retry 2 every 10ms: encrypt \"x\" with alias/app\n\
                expect .Failed.KMSInternalException == 3\n";
    let o = run(body);
    assert!(o.passed(), "{:?}", o.failure);
    assert_eq!(format!("{:?}", run(body)), format!("{o:?}"));
}

#[test]
fn paths_after_region_blocks_are_checked_against_the_blocks_last_response() {
    // The block form: the body's last call is what `.Path` looks at.
    let text =
        check_errors("in region eu-west-1 {\n  call DescribeBackups\n}\nexpect .Backupz == []\n");
    assert!(
        text.contains("no member `Backupz` in the DescribeBackups response"),
        "{text}"
    );
    assert!(text.contains("scenarios/test.runbook:6:8"), "{text}");
    assert!(text.contains("did you mean `Backups`?"), "{text}");
    // The one-line form, alone and nested in a burst and a retry.
    assert_eq!(
        check_errors("in region eu-west-1: call DescribeClusters\nexpect .Clusters == []\n"),
        ""
    );
    let text = check_errors(
        "burst 2: in region eu-west-1: retry 2 every 10ms: call DescribeClusters\n\
         expect .Succeeded == 2\nexpect .Clusters == []\n",
    );
    assert!(
        text.contains("no member `Clusters` in the burst tally"),
        "{text}"
    );
    assert!(text.contains("scenarios/test.runbook:5:8"), "{text}");
    // A `$variable` subject is checked when it runs.
    assert_eq!(
        check_errors(
            "in region eu-west-1: call ListKeys\ncapture keys = .Keys\nexpect $keys == []\n"
        ),
        ""
    );
}

#[test]
fn paths_into_key_management_answers_are_checked() {
    let text = check_errors(
        "call ListGrants { KeyId: alias/app }\nexpect .Grants[0].GrantID is present\n\
         call ListResourceTags { KeyId: alias/app }\nexpect .Tags[0].TagKy == env\n\
         call GetKeyRotationStatus { KeyId: alias/app }\nexpect .KeyRotationEnabeld == false\n",
    );
    for guess in ["GrantId", "TagKey", "KeyRotationEnabled"] {
        assert!(text.contains(&format!("did you mean `{guess}`?")), "{text}");
    }
    // A policy is a string holding JSON: its members are the run's to check.
    assert_eq!(
        check_errors(
            "call GetKeyPolicy { KeyId: alias/app, PolicyName: default }\n\
             expect .Policy.Version == \"2012-10-17\"\n"
        ),
        ""
    );
}

#[test]
fn is_absent_on_a_member_the_shape_lacks_holds_unless_it_is_a_misspelling() {
    // ConnectCustomKeyStore answers `{}`: saying so is a valid check.
    assert_eq!(
        check_errors(
            "call ConnectCustomKeyStore { CustomKeyStoreId: $ExampleKeyStore } => ok\n\
             expect .ConnectionState is absent\n"
        ),
        ""
    );
    let text = check_errors("expect ExampleKeyStore.ConectionState is absent\n");
    assert!(text.contains("did you mean `ConnectionState`?"), "{text}");
    assert!(text.contains("scenarios/test.runbook:3:23"), "{text}");
}

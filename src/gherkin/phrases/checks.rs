//! Phrases that check: expectations on key stores, keys, the last
//! response and trail events; outcomes; captures; and the control phrases
//! (`repeat`, `retry`, `burst`), whose bodies are more phrases.

use std::time::Duration;

use super::{capture, e, expect_member, field, fixed_path, pairs, Cmp, Entry, Of, Res};
use crate::dsl::ast::{BlockKind, ExpectAst, PathAst, Stmt, SubjectAst, Tok};
use crate::gherkin::args::{path, typed, Args, Body, Built};
use crate::gherkin::phrase::Takes::{DocString, Nothing, Passed, Table};
use crate::scenario::ir::{Comparison, Segment};

/// The phrases that check, in the order of `docs/gherkin-steps.md`.
pub(super) const ENTRIES: &[Entry] = &[
    // --- Key store expectations ----------------------------------------------
    e(
        r#"the ConnectionState of "S" is {STATE}"#,
        "expect S.ConnectionState == STATE",
        r#"the ConnectionState of "ExampleKeyStore" is CONNECTED"#,
        Nothing,
        |a| {
            let s = a.store_tok(0);
            expect_member(a, SubjectAst::Store(s), &["ConnectionState"], Some(a.value(1)?))
        },
    ),
    e(
        "the ConnectionState is {STATE}",
        "expect S.ConnectionState == STATE (S: the store named last)",
        "the ConnectionState is FAILED",
        Nothing,
        |a| {
            let s = a.current_store()?;
            expect_member(a, SubjectAst::Store(s), &["ConnectionState"], Some(a.value(0)?))
        },
    ),
    e(
        r#"the ConnectionErrorCode of "S" is {CODE}"#,
        "expect S.ConnectionErrorCode == CODE",
        r#"the ConnectionErrorCode of "ExampleKeyStore" is USER_LOCKED_OUT"#,
        Nothing,
        |a| {
            let s = a.store_tok(0);
            expect_member(a, SubjectAst::Store(s), &["ConnectionErrorCode"], Some(a.value(1)?))
        },
    ),
    e(
        "the ConnectionErrorCode is {CODE}",
        "expect S.ConnectionErrorCode == CODE (S: the store named last)",
        "the ConnectionErrorCode is INVALID_CREDENTIALS",
        Nothing,
        error_code_of_current_store,
    ),
    e(
        "ConnectionErrorCode is {CODE}",
        "expect S.ConnectionErrorCode == CODE (S: the store named last)",
        "ConnectionErrorCode is NETWORK_ERRORS",
        Nothing,
        error_code_of_current_store,
    ),
    e(
        r#""S" has no ConnectionErrorCode"#,
        "expect S.ConnectionErrorCode is absent",
        r#""ExampleKeyStore" has no ConnectionErrorCode"#,
        Nothing,
        |a| {
            let s = a.store_tok(0);
            expect_member(a, SubjectAst::Store(s), &["ConnectionErrorCode"], None)
        },
    ),
    e(
        "there is no ConnectionErrorCode",
        "expect S.ConnectionErrorCode is absent (S: the store named last)",
        "there is no ConnectionErrorCode",
        Nothing,
        |a| {
            let s = a.current_store()?;
            expect_member(a, SubjectAst::Store(s), &["ConnectionErrorCode"], None)
        },
    ),
    e(
        r#"the KeyState of "KEY" is {KEYSTATE}"#,
        "expect key KEY.KeyState == KEYSTATE",
        r#"the KeyState of "alias/app" is Unavailable"#,
        Nothing,
        |a| expect_member(a, SubjectAst::Key(a.tok(0)), &["KeyState"], Some(a.value(1)?)),
    ),
    // --- Outcomes -----------------------------------------------------------
    e(
        "it succeeds",
        "expect ok",
        "it succeeds",
        Nothing,
        |a| a.one(Stmt::Expect(ExpectAst::Ok)),
    ),
    e(
        "it fails with {Exception}",
        "expect error Exception",
        "it fails with KMSInvalidStateException",
        Nothing,
        |a| {
            a.one(Stmt::Expect(ExpectAst::Error {
                exception: Some(a.tok(0)),
                message: None,
            }))
        },
    ),
    e(
        r#"it fails with {Exception} "TEXT""#,
        r#"expect error Exception "TEXT""#,
        r#"it fails with KMSInvalidStateException "is unavailable.""#,
        Nothing,
        |a| {
            a.one(Stmt::Expect(ExpectAst::Error {
                exception: Some(a.tok(0)),
                message: Some(a.tok(1)),
            }))
        },
    ),
    e(
        "the CloudHSM CLI reports an error",
        "expect cli error",
        "the CloudHSM CLI reports an error",
        Nothing,
        |a| a.one(Stmt::Expect(ExpectAst::CliError { message: None })),
    ),
    e(
        r#"the CloudHSM CLI reports an error containing "TEXT""#,
        r#"expect cli error "TEXT""#,
        r#"the CloudHSM CLI reports an error containing "Only a crypto user""#,
        Nothing,
        |a| {
            a.one(Stmt::Expect(ExpectAst::CliError {
                message: Some(a.tok(0)),
            }))
        },
    ),
    e(
        r#"encrypting with "KEY" fails with {Exception}"#,
        r#"encrypt "probe" with KEY => error Exception"#,
        r#"encrypting with "alias/app" fails with KMSInvalidStateException"#,
        Nothing,
        |a| probe(a, None),
    ),
    e(
        r#"encrypting with "KEY" fails with {Exception} "TEXT""#,
        r#"encrypt "probe" with KEY => error Exception "TEXT""#,
        r#"encrypting with "alias/app" fails with KMSInvalidStateException "communicate""#,
        Nothing,
        |a| probe(a, Some(a.tok(2))),
    ),
    e(
        r#""$NAME" decrypts to "TEXT""#,
        r#"expect decrypt $NAME == "TEXT""#,
        r#""$ct" decrypts to "hello""#,
        Nothing,
        |a| {
            a.one(Stmt::Expect(ExpectAst::Decrypt {
                blob: a.tok(0),
                context: None,
                plaintext: a.tok(1),
            }))
        },
    ),
    // --- Members of the last response, a store, a key, a trail event ---------
    e(
        r#"the response has "PATH" equal to "VALUE""#,
        "expect .PATH == VALUE",
        r#"the response has "Clusters[0].State" equal to "ACTIVE""#,
        Nothing,
        |a| field(a, Of::Response, Cmp::Equals),
    ),
    e(
        r#"the response has "PATH" equal to the text "TEXT""#,
        r#"expect .PATH == "TEXT""#,
        r#"the response has "data.users[1].locked" equal to the text "true""#,
        Nothing,
        |a| field(a, Of::Response, Cmp::EqualsText),
    ),
    e(
        r#"the response has "PATH" not equal to "VALUE""#,
        "expect .PATH != VALUE",
        r#"the response has "Clusters[0].State" not equal to "DELETED""#,
        Nothing,
        |a| field(a, Of::Response, Cmp::NotEquals),
    ),
    e(
        r#"the response has "PATH" containing "TEXT""#,
        r#"expect .PATH contains "TEXT""#,
        r#"the response has "Clusters[0].ClusterId" containing "cluster-""#,
        Nothing,
        |a| field(a, Of::Response, Cmp::Contains),
    ),
    e(
        r#"the response has "PATH" greater than "VALUE""#,
        "expect .PATH > VALUE",
        r#"the response has "Succeeded" greater than "0""#,
        Nothing,
        |a| field(a, Of::Response, Cmp::Greater),
    ),
    e(
        r#"the response has "PATH" at least "VALUE""#,
        "expect .PATH >= VALUE",
        r#"the response has "Succeeded" at least "1""#,
        Nothing,
        |a| field(a, Of::Response, Cmp::AtLeast),
    ),
    e(
        r#"the response has "PATH" less than "VALUE""#,
        "expect .PATH < VALUE",
        r#"the response has "Failed.KMSInternalException" less than "64""#,
        Nothing,
        |a| field(a, Of::Response, Cmp::Less),
    ),
    e(
        r#"the response has "PATH" at most "VALUE""#,
        "expect .PATH <= VALUE",
        r#"the response has "Succeeded" at most "64""#,
        Nothing,
        |a| field(a, Of::Response, Cmp::AtMost),
    ),
    e(
        r#"the response has "PATH""#,
        "expect .PATH is present",
        r#"the response has "Clusters[0].Hsms""#,
        Nothing,
        |a| field(a, Of::Response, Cmp::Present),
    ),
    e(
        r#"the response has no "PATH""#,
        "expect .PATH is absent",
        r#"the response has no "NextMarker""#,
        Nothing,
        |a| field(a, Of::Response, Cmp::Absent),
    ),
    e(
        r#"the custom key store "S" has "PATH" equal to "VALUE""#,
        "expect S.PATH == VALUE",
        r#"the custom key store "ExampleKeyStore" has "CloudHsmClusterId" equal to "$newCluster""#,
        Nothing,
        |a| field(a, Of::Store, Cmp::Equals),
    ),
    e(
        r#"the custom key store "S" has "PATH" equal to the text "TEXT""#,
        r#"expect S.PATH == "TEXT""#,
        r#"the custom key store "ExampleKeyStore" has "CustomKeyStoreName" equal to the text "ExampleKeyStore""#,
        Nothing,
        |a| field(a, Of::Store, Cmp::EqualsText),
    ),
    e(
        r#"the custom key store "S" has "PATH" not equal to "VALUE""#,
        "expect S.PATH != VALUE",
        r#"the custom key store "ExampleKeyStore" has "CloudHsmClusterId" not equal to "cluster-1a23b4cdefg""#,
        Nothing,
        |a| field(a, Of::Store, Cmp::NotEquals),
    ),
    e(
        r#"the custom key store "S" has "PATH" containing "TEXT""#,
        r#"expect S.PATH contains "TEXT""#,
        r#"the custom key store "ExampleKeyStore" has "TrustAnchorCertificate" containing "BEGIN CERTIFICATE""#,
        Nothing,
        |a| field(a, Of::Store, Cmp::Contains),
    ),
    e(
        r#"the custom key store "S" has "PATH""#,
        "expect S.PATH is present",
        r#"the custom key store "ExampleKeyStore" has "CreationDate""#,
        Nothing,
        |a| field(a, Of::Store, Cmp::Present),
    ),
    e(
        r#"the custom key store "S" has no "PATH""#,
        "expect S.PATH is absent",
        r#"the custom key store "ExampleKeyStore" has no "ConnectionErrorCode""#,
        Nothing,
        |a| field(a, Of::Store, Cmp::Absent),
    ),
    e(
        r#"the key "KEY" has "PATH" equal to "VALUE""#,
        "expect key KEY.PATH == VALUE",
        r#"the key "alias/app" has "CloudHsmClusterId" equal to "$newCluster""#,
        Nothing,
        |a| field(a, Of::Key, Cmp::Equals),
    ),
    e(
        r#"the key "KEY" has "PATH" equal to the text "TEXT""#,
        r#"expect key KEY.PATH == "TEXT""#,
        r#"the key "alias/app" has "Description" equal to the text "app key""#,
        Nothing,
        |a| field(a, Of::Key, Cmp::EqualsText),
    ),
    e(
        r#"the key "KEY" has "PATH" not equal to "VALUE""#,
        "expect key KEY.PATH != VALUE",
        r#"the key "alias/app" has "KeyState" not equal to "Unavailable""#,
        Nothing,
        |a| field(a, Of::Key, Cmp::NotEquals),
    ),
    e(
        r#"the key "KEY" has "PATH" containing "TEXT""#,
        r#"expect key KEY.PATH contains "TEXT""#,
        r#"the key "alias/app" has "Arn" containing ":key/""#,
        Nothing,
        |a| field(a, Of::Key, Cmp::Contains),
    ),
    e(
        r#"the key "KEY" has "PATH""#,
        "expect key KEY.PATH is present",
        r#"the key "alias/app" has "DeletionDate""#,
        Nothing,
        |a| field(a, Of::Key, Cmp::Present),
    ),
    e(
        r#"the key "KEY" has no "PATH""#,
        "expect key KEY.PATH is absent",
        r#"the key "alias/app" has no "DeletionDate""#,
        Nothing,
        |a| field(a, Of::Key, Cmp::Absent),
    ),
    e(
        r#"the {Event} event has "PATH" equal to "VALUE""#,
        "expect trail Event.PATH == VALUE",
        r#"the UpdateCustomKeyStore event has "requestParameters.clusterId" equal to "$newCluster""#,
        Nothing,
        |a| field(a, Of::Event, Cmp::Equals),
    ),
    e(
        r#"the {Event} event has "PATH" equal to the text "TEXT""#,
        r#"expect trail Event.PATH == "TEXT""#,
        r#"the DeleteKey event has "eventSource" equal to the text "kms.amazonaws.com""#,
        Nothing,
        |a| field(a, Of::Event, Cmp::EqualsText),
    ),
    e(
        r#"the {Event} event has "PATH" not equal to "VALUE""#,
        "expect trail Event.PATH != VALUE",
        r#"the DeleteKey event has "errorCode" not equal to "KMSInternalException""#,
        Nothing,
        |a| field(a, Of::Event, Cmp::NotEquals),
    ),
    e(
        r#"the {Event} event has "PATH" containing "TEXT""#,
        r#"expect trail Event.PATH contains "TEXT""#,
        r#"the Encrypt event has "additionalEventData.customKeyStoreId" containing "cks-""#,
        Nothing,
        |a| field(a, Of::Event, Cmp::Contains),
    ),
    e(
        r#"the {Event} event has "PATH""#,
        "expect trail Event.PATH is present",
        r#"the CreateKey event has "additionalEventData.backingKey""#,
        Nothing,
        |a| field(a, Of::Event, Cmp::Present),
    ),
    e(
        r#"the {Event} event has no "PATH""#,
        "expect trail Event.PATH is absent",
        r#"the DeleteKey event has no "errorCode""#,
        Nothing,
        |a| field(a, Of::Event, Cmp::Absent),
    ),
    e(
        "the {Event} event has:",
        "expect trail Event { path: value, … } (a table `| Path | Value |`: some event of this name has them all)",
        "the DeleteKey event has:",
        Table,
        |a| {
            let mut fields = Vec::new();
            for (p, v) in pairs(a, ("path", "value"))? {
                fields.push((path(a.src, &p)?, typed(a.src, &v)?));
            }
            if fields.is_empty() {
                return Err(a.invalid("the table lists no member"));
            }
            a.one(Stmt::Expect(ExpectAst::Trail {
                event: a.tok(0),
                fields,
            }))
        },
    ),
    e(
        "the {Event} event shows backingKeysDeletionStatus {STATUS}",
        "expect trail Event.additionalEventData.backingKeysDeletionStatus[0].deletionStatus == STATUS",
        "the DeleteKey event shows backingKeysDeletionStatus FAILURE",
        Nothing,
        |a| {
            a.one(Stmt::Expect(ExpectAst::Field {
                subject: SubjectAst::Trail(a.tok(0)),
                path: deletion_status("deletionStatus"),
                comparison: Comparison::Equals,
                value: Some(a.value(1)?),
                time: None,
            }))
        },
    ),
    // --- Captures -----------------------------------------------------------
    e(
        r#"I remember the backingKeyId as "NAME""#,
        "capture NAME = trail DeleteKey.additionalEventData.backingKeysDeletionStatus[0].backingKeyId",
        r#"I remember the backingKeyId as "backingKeyId""#,
        Nothing,
        |a| {
            a.one(Stmt::Capture {
                name: a.var(0)?,
                subject: SubjectAst::Trail(a.word("DeleteKey")),
                path: deletion_status("backingKeyId"),
            })
        },
    ),
    e(
        r#"I remember "PATH" of the response as "NAME""#,
        "capture NAME = .PATH",
        r#"I remember "Clusters[0].SubnetMapping."us-west-2a"" of the response as "subnetA""#,
        Nothing,
        |a| capture(a, Of::Response),
    ),
    e(
        r#"I remember "PATH" of the custom key store "S" as "NAME""#,
        "capture NAME = S.PATH",
        r#"I remember "CloudHsmClusterId" of the custom key store "ExampleKeyStore" as "cluster""#,
        Nothing,
        |a| capture(a, Of::Store),
    ),
    e(
        r#"I remember "PATH" of the key "KEY" as "NAME""#,
        "capture NAME = key KEY.PATH",
        r#"I remember "KeyId" of the key "alias/app" as "key_id""#,
        Nothing,
        |a| capture(a, Of::Key),
    ),
    e(
        r#"I remember "PATH" of the {Event} event as "NAME""#,
        "capture NAME = trail Event.PATH",
        r#"I remember "additionalEventData.backingKey.backingKeyId" of the CreateKey event as "backing""#,
        Nothing,
        |a| capture(a, Of::Event),
    ),
    // --- Control ------------------------------------------------------------
    e(
        "I repeat {n} times: PHRASE",
        "repeat n: STATEMENT",
        r#"I repeat 2 times: I disconnect the custom key store "ExampleKeyStore""#,
        Passed,
        |a| block(a, Kind::Repeat, Body::Capture(1)),
    ),
    e(
        "I repeat {n} times:",
        "repeat n { … } (the doc string holds the phrases, one a line)",
        "I repeat 2 times:",
        DocString,
        |a| block(a, Kind::Repeat, Body::DocString),
    ),
    e(
        "I retry up to {n} times: PHRASE",
        "retry n: STATEMENT",
        "I retry up to 3 times: it succeeds",
        Passed,
        |a| block(a, Kind::Retry, Body::Capture(1)),
    ),
    e(
        "I retry up to {n} times:",
        "retry n { … } (the doc string holds the phrases, one a line)",
        "I retry up to 3 times:",
        DocString,
        |a| block(a, Kind::Retry, Body::DocString),
    ),
    e(
        "I retry up to {n} times every {m} {unit}: PHRASE",
        "retry n every m unit: STATEMENT",
        "I retry up to 5 times every 1 second: the ConnectionState is CONNECTED",
        Passed,
        |a| block(a, Kind::RetryEvery, Body::Capture(3)),
    ),
    e(
        "I retry up to {n} times every {m} {unit}:",
        "retry n every m unit { … } (the doc string holds the phrases, one a line)",
        "I retry up to 5 times every 1 second:",
        DocString,
        |a| block(a, Kind::RetryEvery, Body::DocString),
    ),
    e(
        "{n} clients at once: PHRASE",
        "burst n: STATEMENT",
        r#"64 clients at once: I encrypt "x" with "alias/app""#,
        Passed,
        |a| block(a, Kind::Burst, Body::Capture(1)),
    ),
    e(
        "{n} clients at once:",
        "burst n { … } (the doc string holds the phrases, one a line)",
        "64 clients at once:",
        DocString,
        |a| block(a, Kind::Burst, Body::DocString),
    ),
    e(
        "{n} succeeded",
        "expect .Succeeded == n",
        "8 succeeded",
        Nothing,
        |a| expect_member(a, SubjectAst::Last, &["Succeeded"], Some(a.number(0)?)),
    ),
    e(
        "{n} failed with {Exception}",
        "expect .Failed.Exception == n",
        "56 failed with KMSInternalException",
        Nothing,
        |a| {
            let exception = a.arg(1).to_owned();
            expect_member(a, SubjectAst::Last, &["Failed", &exception], Some(a.number(0)?))
        },
    ),];

fn error_code_of_current_store(a: &mut Args<'_, '_>) -> Res {
    let s = a.current_store()?;
    expect_member(
        a,
        SubjectAst::Store(s),
        &["ConnectionErrorCode"],
        Some(a.value(0)?),
    )
}

/// `encrypt "probe" with KEY => error Exception ["TEXT"]`.
fn probe(a: &Args<'_, '_>, message: Option<Tok>) -> Res {
    let mut item = a.item(Stmt::Encrypt {
        text: a.word("probe"),
        key: a.tok(0),
        context: None,
    });
    item.outcome = Some((
        ExpectAst::Error {
            exception: Some(a.tok(1)),
            message,
        },
        a.step.clone(),
    ));
    Ok(Built::Items(vec![item]))
}

/// `additionalEventData.backingKeysDeletionStatus[0].<member>`.
fn deletion_status(member: &str) -> PathAst {
    let mut p = fixed_path(&["additionalEventData", "backingKeysDeletionStatus"]);
    p.path.0.push(Segment::Index(0));
    p.path.0.push(Segment::Field(member.to_owned()));
    p
}

/// The head of a control phrase.
#[derive(Clone, Copy)]
enum Kind {
    /// `I repeat {n} times`.
    Repeat,
    /// `I retry up to {n} times`.
    Retry,
    /// `I retry up to {n} times every {m} {unit}`.
    RetryEvery,
    /// `{n} clients at once`.
    Burst,
}

fn block(a: &mut Args<'_, '_>, kind: Kind, body: Body) -> Res {
    let n = a.count(0)?;
    let kind = match kind {
        Kind::Repeat => BlockKind::Repeat(n),
        Kind::Burst => BlockKind::Burst(n),
        Kind::Retry => BlockKind::Retry {
            attempts: n,
            base: Duration::from_millis(100),
        },
        Kind::RetryEvery => BlockKind::Retry {
            attempts: n,
            base: a.duration(1, 2)?,
        },
    };
    Ok(Built::Block { kind, body })
}

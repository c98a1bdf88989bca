//! The CloudTrail trail of `hsmdrill serve --state` survives `kill -9`.
//!
//! - `the_trail_survives_sigkill_with_the_same_event_ids`: a few calls (the
//!   data plane, the control plane, a failure), SIGKILL, restart:
//!   LookupEvents returns every event, and again after a second restart
//!   with the same EventIds, times and content; a new event takes a new id.
//! - `a_torn_transaction_at_the_end_of_the_write_ahead_log_is_dropped`:
//!   the state file's write-ahead log cut in the middle of its last
//!   transaction, or followed by bytes never finished, as a crash during a
//!   commit leaves it: the server starts, loses only that transaction (a
//!   request never answered), and what it writes next survives.
//! - In the crash loop ([`check_trail`], after every restart, before any
//!   other call): no EventId twice; every event listed after a previous
//!   restart (the whole trail every tenth round and after the last kill;
//!   otherwise the events since the newest one listed, and a sample of
//!   older ones by EventId), and every event LookupEvents returned during
//!   the workload, is returned again, identical; every acknowledged CreateKey, CreateAlias,
//!   ScheduleKeyDeletion, Encrypt and key store call of the round has its
//!   event, and the workers' calls have no more events than were
//!   acknowledged or in flight; every key a CreateKey event names exists and
//!   every key a ScheduleKeyDeletion event names is pending deletion (no
//!   event outlives its change).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::path::PathBuf;
use std::sync::Mutex;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::support::http::Client;

use super::workload::Answer;
use super::Model;
use super::{assert_no_panic, scratch, Server, STORE};

/// The example world's key.
const KEY: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";

/// The `X-Amz-Target` of LookupEvents, as botocore sends it.
const LOOKUP_EVENTS: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents";

/// Calls whose only senders are the crash loop's workers: the trail may
/// hold no more of their events than were acknowledged or in flight.
const WORKERS_ONLY: [&str; 4] = ["CreateKey", "CreateAlias", "ScheduleKeyDeletion", "Encrypt"];

impl Client {
    /// CloudTrail LookupEvents: `(status, JSON answer)`.
    fn lookup_events(&mut self, input: &Value) -> io::Result<(u16, Value)> {
        self.call(LOOKUP_EVENTS, input)
    }
}

/// Every event LookupEvents returns, newest first, page by page (nothing
/// else may call meanwhile: pages are offsets from the newest).
fn lookup_all(c: &mut Client) -> Vec<Value> {
    let mut out = Vec::new();
    let mut input = json!({"MaxResults": 50});
    loop {
        let (status, page) = c.lookup_events(&input).unwrap();
        assert_eq!(status, 200, "LookupEvents: {page}");
        out.extend(page["Events"].as_array().unwrap().iter().cloned());
        match page["NextToken"].as_str() {
            Some(t) => input["NextToken"] = json!(t),
            None => return out,
        }
    }
}

fn event_id(e: &Value) -> &str {
    e["EventId"].as_str().unwrap()
}

/// The CloudTrail record inside a LookupEvents entry.
fn record(e: &Value) -> Value {
    serde_json::from_str(e["CloudTrailEvent"].as_str().unwrap()).unwrap()
}

/// The names of `events`, oldest first.
fn names(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .rev()
        .map(|e| e["EventName"].as_str().unwrap().to_owned())
        .collect()
}

/// No EventId twice.
fn assert_unique(events: &[Value], ctx: &str) {
    let mut seen = BTreeSet::new();
    for e in events {
        assert!(
            seen.insert(event_id(e)),
            "{ctx}: event {} appears twice",
            event_id(e)
        );
    }
}

/// A KMS call that must answer 200.
fn ok(c: &mut Client, op: &str, input: Value) -> Value {
    let (status, out) = c.kms(op, &input).unwrap();
    assert_eq!(status, 200, "{op}: {out}");
    out
}

fn encrypt(c: &mut Client, key: &str, text: &str) -> Value {
    ok(
        c,
        "Encrypt",
        json!({"KeyId": key, "Plaintext": STANDARD.encode(text)}),
    )
}

/// A server on a state file in a scratch folder, killed and started again
/// on it; each life logs to `<n>.log` beside it.
struct Lives {
    dir: PathBuf,
    started: usize,
}

impl Lives {
    fn new(name: &str) -> Lives {
        Lives {
            dir: scratch(name),
            started: 0,
        }
    }

    /// The next life (the previous one must have been killed), and a
    /// client of it.
    fn start(&mut self) -> (Server, Client) {
        let log = self.dir.join(format!("{}.log", self.started));
        self.started += 1;
        let server = Server::start(&self.dir.join("state.json"), &log);
        let client = Client::new(server.addr);
        (server, client)
    }

    /// No life panicked; the last one stopped and the folder removed.
    fn finish(self, last: Server) {
        for i in 0..self.started {
            assert_no_panic(&self.dir.join(format!("{i}.log")));
        }
        drop(last);
        let _ = fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn the_trail_survives_sigkill_with_the_same_event_ids() {
    let mut lives = Lives::new("trail");
    let (server, mut c) = lives.start();
    let baseline = lookup_all(&mut c).len();
    // Acknowledged calls, none followed by a LookupEvents before the kill.
    let key = ok(
        &mut c,
        "CreateKey",
        json!({"Origin": "AWS_CLOUDHSM", "CustomKeyStoreId": STORE}),
    )["KeyMetadata"]["KeyId"]
        .as_str()
        .unwrap()
        .to_owned();
    let blob = encrypt(&mut c, &key, "kept")["CiphertextBlob"].clone();
    ok(&mut c, "Decrypt", json!({"CiphertextBlob": blob}));
    let (status, out) = c
        .kms("DescribeKey", &json!({"KeyId": "alias/none"}))
        .unwrap();
    assert_eq!(status, 400, "{out}");
    ok(
        &mut c,
        "CreateAlias",
        json!({"AliasName": "alias/kept", "TargetKeyId": key}),
    );
    encrypt(&mut c, &key, "kept too");
    ok(&mut c, "ListKeys", json!({}));
    server.kill();

    let (server, mut c) = lives.start();
    let first = lookup_all(&mut c);
    assert_eq!(first.len(), baseline + 7, "{first:#?}");
    assert_eq!(
        names(&first[..7]),
        [
            "CreateKey",
            "Encrypt",
            "Decrypt",
            "DescribeKey",
            "CreateAlias",
            "Encrypt",
            "ListKeys"
        ]
    );
    assert_unique(&first, "after the first restart");
    let created = record(&first[6]);
    assert_eq!(
        created["responseElements"]["keyMetadata"]["keyId"],
        json!(key)
    );
    assert_eq!(record(&first[5])["requestParameters"]["keyId"], json!(key));
    assert_eq!(record(&first[3])["errorCode"], json!("NotFoundException"));
    assert_eq!(
        record(&first[2])["requestParameters"]["aliasName"],
        json!("alias/kept")
    );
    server.kill();

    // Restarted again with no call in between: the very same events.
    let (server, mut c) = lives.start();
    assert_eq!(lookup_all(&mut c), first);
    // A new event takes a new id; the old ones stay as they were.
    encrypt(&mut c, &key, "after two restarts");
    server.kill();
    let (server, mut c) = lives.start();
    let last = lookup_all(&mut c);
    assert_eq!(last.len(), first.len() + 1);
    assert_eq!(last[1..], first[..]);
    assert_eq!(last[0]["EventName"], json!("Encrypt"));
    assert_unique(&last, "after the third restart");
    lives.finish(server);
}

/// Where each transaction of an SQLite write-ahead log ends (the byte
/// after its commit frame), oldest first, and the size of a frame.
fn wal_commits(wal: &[u8]) -> (Vec<usize>, usize) {
    let page_size = u32::from_be_bytes(wal[8..12].try_into().unwrap()) as usize;
    let frame = 24 + page_size;
    let mut ends = Vec::new();
    let mut at = 32;
    while at + frame <= wal.len() {
        let commit = u32::from_be_bytes(wal[at + 4..at + 8].try_into().unwrap());
        at += frame;
        if commit != 0 {
            ends.push(at);
        }
    }
    (ends, frame)
}

#[test]
fn a_torn_transaction_at_the_end_of_the_write_ahead_log_is_dropped() {
    let mut lives = Lives::new("torn-trail");
    let wal = lives.dir.join("state.json-wal");
    let (server, mut c) = lives.start();
    let baseline = lookup_all(&mut c);
    // Three Encrypts: each is one transaction of its event alone.
    for i in 0..3 {
        encrypt(&mut c, KEY, &format!("message {i}"));
    }
    server.kill();

    // The last transaction cut in the middle of its first frame, as a crash
    // during its commit leaves it: its request was never answered.
    let bytes = fs::read(&wal).unwrap();
    let (commits, frame) = wal_commits(&bytes);
    assert!(commits.len() >= 4, "{} transactions", commits.len());
    assert_eq!(commits.last(), Some(&bytes.len()), "nothing after the last");
    let cut = commits[commits.len() - 2] + frame / 2;
    fs::write(&wal, &bytes[..cut]).unwrap();
    let (server, mut c) = lives.start();
    let kept = lookup_all(&mut c);
    assert_eq!(
        kept.len(),
        baseline.len() + 2,
        "only the torn transaction is lost"
    );
    assert_eq!(kept[2..], baseline[..]);
    assert_eq!(names(&kept[..2]), ["Encrypt", "Encrypt"]);
    server.kill();

    // Bytes of a frame never finished after the whole ones: nothing lost,
    // nothing made up.
    let mut bytes = fs::read(&wal).unwrap_or_default();
    bytes.extend(std::iter::repeat_n(0x5a, frame / 3));
    fs::write(&wal, &bytes).unwrap();
    let (server, mut c) = lives.start();
    assert_eq!(lookup_all(&mut c), kept);
    // What is written now is not lost behind the torn bytes.
    encrypt(&mut c, KEY, "after the torn transaction");
    server.kill();
    let (server, mut c) = lives.start();
    let after = lookup_all(&mut c);
    assert_eq!(after.len(), kept.len() + 1);
    assert_eq!(after[1..], kept[..]);
    assert_unique(&after, "after the torn transaction");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for file in [lives.dir.join("state.json"), wal] {
            let mode = fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", file.display());
        }
    }
    lives.finish(server);
}

// ---------------------------------------------------------------------------
// The crash loop's part

/// What one round's workers asked of KMS.
#[derive(Debug, Default)]
pub(crate) struct RoundRequests {
    /// Answered 200, by (operation, subject): the key, alias or key store.
    acked: BTreeMap<(String, String), usize>,
    /// Sent and not answered (cut by the kill), by (operation, subject); a
    /// CreateKey's subject is not known before its answer: `""`.
    in_flight: BTreeMap<(String, String), usize>,
}

/// What LookupEvents has shown so far.
#[derive(Debug, Default)]
pub(crate) struct TrailSeen {
    /// Every event listed after a restart, by id.
    listed: BTreeMap<String, Value>,
    /// The newest of them.
    newest: Option<String>,
    /// Events LookupEvents returned during this round's workload, by id.
    returned: BTreeMap<String, Value>,
    /// Events checked after a restart, and returned during workloads.
    pub(crate) checked: usize,
    pub(crate) returned_total: usize,
}

/// Runs `call` (a KMS call about `subject`) with its request recorded for
/// the trail check: in flight until answered, acknowledged if answered 200.
pub(crate) fn traced(
    model: &Mutex<Model>,
    op: &str,
    subject: &str,
    call: impl FnOnce() -> Result<Answer, String>,
) -> Result<Answer, String> {
    let sent = (op.to_owned(), subject.to_owned());
    *model
        .lock()
        .unwrap()
        .requests
        .in_flight
        .entry(sent.clone())
        .or_default() += 1;
    let answer = call()?;
    if !matches!(answer, Answer::Gone) {
        let mut m = model.lock().unwrap();
        if let Some(n) = m.requests.in_flight.get_mut(&sent) {
            *n -= 1;
        }
        if let Answer::Ok(out) = &answer {
            let subject = match out["KeyMetadata"]["KeyId"].as_str() {
                Some(id) if op == "CreateKey" => id.to_owned(),
                Some(_) | None => subject.to_owned(),
            };
            *m.requests
                .acked
                .entry((op.to_owned(), subject))
                .or_default() += 1;
        }
    }
    Ok(answer)
}

/// The first page of LookupEvents during the workload; what it returns was
/// acknowledged and must come back after the kill.
pub(crate) fn observe(c: &mut Client, model: &Mutex<Model>) -> Result<bool, String> {
    match c.lookup_events(&json!({"MaxResults": 50})) {
        Ok((200, page)) => {
            let mut m = model.lock().unwrap();
            for e in page["Events"].as_array().into_iter().flatten() {
                m.trail.returned_total += 1;
                m.trail.returned.insert(event_id(e).to_owned(), e.clone());
            }
            Ok(true)
        }
        Ok((status, page)) => Err(format!("LookupEvents answered {status}: {page}")),
        Err(_) => Ok(false),
    }
}

/// What an event is about, as [`traced`] names it.
fn subject(name: &str, r: &Value) -> String {
    let v = match name {
        "CreateKey" => &r["responseElements"]["keyMetadata"]["keyId"],
        "CreateAlias" => &r["requestParameters"]["aliasName"],
        "ScheduleKeyDeletion" | "Encrypt" => &r["requestParameters"]["keyId"],
        _ => &r["requestParameters"]["customKeyStoreId"],
    };
    v.as_str().unwrap_or("").to_owned()
}

/// The events newer than `newest` (newest first), page by page: the
/// listing stops at the first event it has seen before, which must be
/// `newest` itself, unchanged (an event lost, or one recorded out of
/// order, stops it elsewhere). Nothing else may call meanwhile.
fn lookup_newer(c: &mut Client, seen: &TrailSeen, ctx: &str) -> Vec<Value> {
    let Some(newest) = &seen.newest else {
        return lookup_all(c);
    };
    let mut out = Vec::new();
    let mut input = json!({"MaxResults": 50});
    loop {
        let (status, page) = c.lookup_events(&input).unwrap();
        assert_eq!(status, 200, "LookupEvents: {page}");
        for e in page["Events"].as_array().unwrap() {
            if let Some(known) = seen.listed.get(event_id(e)) {
                assert_eq!(
                    event_id(e),
                    newest,
                    "{ctx}: the newest event listed after the previous restart is gone"
                );
                assert_eq!(e, known, "{ctx}: the newest event listed before changed");
                return out;
            }
            out.push(e.clone());
        }
        match page["NextToken"].as_str() {
            Some(t) => input["NextToken"] = json!(t),
            None => panic!("{ctx}: every event listed after the previous restart is gone"),
        }
    }
}

/// The one event LookupEvents finds by its EventId.
fn lookup_by_id(c: &mut Client, id: &str) -> Value {
    let input = json!({"LookupAttributes": [{"AttributeKey": "EventId", "AttributeValue": id}]});
    let (status, page) = c.lookup_events(&input).unwrap();
    assert_eq!(status, 200, "LookupEvents: {page}");
    match page["Events"].as_array().map(Vec::as_slice) {
        Some([one]) => one.clone(),
        _ => panic!("LookupEvents by EventId {id}: {page}"),
    }
}

/// Older events looked up by EventId after a round that does not list the
/// trail whole.
const SAMPLED: usize = 25;

/// After a restart, before any other call: the trail holds every event
/// acknowledged before the kill, once, as it was (see the module docs).
/// With `whole`, the trail is listed whole and compared with everything
/// listed before; otherwise only the events since the newest listed one
/// are listed, and [`SAMPLED`] older ones, spread over the trail, are
/// looked up by EventId (the loop lists the trail whole every tenth round
/// and after the last kill, so the cost of a round does not grow with the
/// trail).
pub(crate) fn check_trail(
    c: &mut Client,
    m: &mut Model,
    round: usize,
    capacity: usize,
    whole: bool,
) {
    let ctx = format!("round {round}");
    let listing = if whole {
        lookup_all(c)
    } else {
        lookup_newer(c, &m.trail, &ctx)
    };
    assert_unique(&listing, &ctx);
    let by_id: BTreeMap<&str, &Value> = listing.iter().map(|e| (event_id(e), e)).collect();
    if whole {
        // At capacity the oldest events may have been dropped, as they are
        // without a restart; this round's are far newer.
        if listing.len() < capacity {
            for (id, e) in &m.trail.listed {
                assert_eq!(
                    by_id.get(id.as_str()),
                    Some(&e),
                    "{ctx}: an event listed after a previous restart is gone or changed"
                );
            }
        }
    } else {
        let stride = (m.trail.listed.len() / SAMPLED).max(1);
        for (id, e) in m.trail.listed.iter().skip(round % stride).step_by(stride) {
            assert_eq!(
                &lookup_by_id(c, id),
                e,
                "{ctx}: an event listed after a previous restart is gone or changed"
            );
        }
    }
    for (id, e) in &m.trail.returned {
        let found = match by_id.get(id.as_str()) {
            Some(found) => (*found).clone(),
            None => lookup_by_id(c, id),
        };
        assert_eq!(
            &found, e,
            "{ctx}: an event LookupEvents returned before the kill is gone or changed"
        );
    }
    // This round's events (and the previous check's) against its requests.
    let mut ok: BTreeMap<(String, String), usize> = BTreeMap::new();
    for e in listing
        .iter()
        .filter(|e| !m.trail.listed.contains_key(event_id(e)))
    {
        let r = record(e);
        if r.get("errorCode").is_some() {
            continue;
        }
        let name = e["EventName"].as_str().unwrap().to_owned();
        let s = subject(&name, &r);
        *ok.entry((name, s)).or_default() += 1;
    }
    for ((op, s), n) in &m.requests.acked {
        let got = ok.get(&(op.clone(), s.clone())).copied().unwrap_or(0);
        assert!(
            got >= *n,
            "{ctx}: {n} acknowledged {op} of {s}, but {got} events"
        );
    }
    let in_flight = |op: &str, s: &str| {
        m.requests
            .in_flight
            .get(&(op.to_owned(), s.to_owned()))
            .copied()
            .unwrap_or(0)
    };
    let mut unacked_creates = 0;
    for ((op, s), got) in ok
        .iter()
        .filter(|((op, _), _)| WORKERS_ONLY.contains(&op.as_str()))
    {
        let acked = m
            .requests
            .acked
            .get(&(op.clone(), s.clone()))
            .copied()
            .unwrap_or(0);
        if op == "CreateKey" {
            assert_eq!(*got, 1, "{ctx}: {got} CreateKey events for {s}");
            unacked_creates += usize::from(acked == 0);
        } else {
            assert!(
                *got <= acked + in_flight(op, s),
                "{ctx}: {got} {op} events of {s}, {acked} acknowledged, {} in flight",
                in_flight(op, s)
            );
        }
    }
    assert!(
        unacked_creates <= in_flight("CreateKey", ""),
        "{ctx}: {unacked_creates} CreateKey events no one was told of, {} in flight",
        in_flight("CreateKey", "")
    );
    // No event outlives its change.
    for ((op, key), _) in ok
        .iter()
        .filter(|((op, _), _)| op.as_str() == "CreateKey" || op.as_str() == "ScheduleKeyDeletion")
    {
        let (status, out) = c.kms("DescribeKey", &json!({"KeyId": key})).unwrap();
        assert_eq!(status, 200, "{ctx}: the key of a {op} event is gone: {out}");
        if op == "ScheduleKeyDeletion" {
            assert_eq!(
                out["KeyMetadata"]["KeyState"],
                json!("PendingDeletion"),
                "{ctx}: {key} has a ScheduleKeyDeletion event"
            );
        }
    }
    m.trail.checked += listing.len();
    if let Some(newest) = listing.first() {
        m.trail.newest = Some(event_id(newest).to_owned());
    }
    for e in listing {
        m.trail.listed.insert(event_id(&e).to_owned(), e);
    }
    m.trail.returned.clear();
    m.requests = RoundRequests::default();
}

//! A CloudTrail-like log of every KMS call and KMS service event.
//!
//! R6 depends on it: the `DeleteKey` event at the end of a waiting period
//! reports `backingKeysDeletionStatus`, and every cryptographic operation
//! with a CloudHSM-store key carries `customKeyStoreId` and `backingKey` in
//! `additionalEventData`. Events are kept compact ([`TrailEvent`]) and
//! rendered to CloudTrail's JSON record only when looked up, so the data
//! plane pays for a push onto a bounded queue, not for JSON. A lookup
//! ([`Query`]: one CloudTrail `LookupAttributes` entry and a time range) is
//! matched against the compact events too; only the page it returns is
//! rendered. The rendered members follow the AWS examples field by field
//! (docs/fidelity.md F26; the examples themselves are test data in
//! `tests/integration/runbooks/trail_examples/`).
//!
//! Events are numbered in the order they are recorded; the number (`seq`)
//! and the trail's seed make the `eventID`. For `hsmdrill serve --state`
//! a trail can be saved and restored with its seed and numbering
//! ([`Trail::restored`]), and keeps a mark of how far its events have been
//! written to the state file by the front end that keeps one
//! ([`Trail::journaled`]): each write carries only the events past it.

use std::borrow::Cow;
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::clock::Timestamp;
use super::ids::{event_uuid, random_u64};

/// What kind of record it is.
#[derive(Clone, Copy, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub enum EventType {
    /// A call by a principal (`AwsApiCall`).
    ApiCall,
    /// Something KMS did on its own, e.g. deleting a key at the end of its
    /// waiting period (`AwsServiceEvent`).
    ServiceEvent,
}

/// `eventSource` of every event: all are KMS's.
pub const EVENT_SOURCE: &str = "kms.amazonaws.com";

/// `type` of every resource an event names: all are KMS keys.
pub const RESOURCE_TYPE: &str = "AWS::KMS::Key";

/// `userIdentity.userName` of every API call (docs/fidelity.md I57).
pub const USER_NAME: &str = "hsmdrill";

/// The one attribute a CloudTrail `LookupEvents` filters by
/// (`LookupAttributeKey` in the CloudTrail model), with its value.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Lookup<'a> {
    /// `eventID`.
    EventId(&'a str),
    /// `eventName`.
    EventName(&'a str),
    /// `readOnly`.
    ReadOnly(bool),
    /// `userIdentity.userName`.
    Username(&'a str),
    /// A resource's `type`.
    ResourceType(&'a str),
    /// A resource's `ARN`.
    ResourceName(&'a str),
    /// `eventSource`.
    EventSource(&'a str),
    /// `userIdentity.accessKeyId`.
    AccessKeyId(&'a str),
}

/// Which events a lookup wants: at most one attribute, and a time range
/// (both ends included, as `LookupEvents` documents `StartTime` and
/// `EndTime`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Query<'a> {
    /// The attribute to match (every event if `None`).
    pub attribute: Option<Lookup<'a>>,
    /// Events at or after it.
    pub start: Option<Timestamp>,
    /// Events at or before it.
    pub end: Option<Timestamp>,
}

impl<'a> Query<'a> {
    /// Events named `name` (every event if `None`).
    pub fn named(name: Option<&'a str>) -> Self {
        Self {
            attribute: name.map(Lookup::EventName),
            ..Self::default()
        }
    }

    /// The instants, in milliseconds and both ends included, of the events
    /// the time range takes. `eventTime` has whole seconds, and a lookup
    /// sees an event at the second it shows: an event at 12:00:00.918 is
    /// in a range that ends at 12:00:00, and not in one that starts at
    /// 12:00:00.500.
    pub fn millis(&self) -> (i64, i64) {
        let start = self.start.map_or(i64::MIN, |t| {
            t.as_millis()
                .div_euclid(1000)
                .saturating_add(i64::from(t.as_millis().rem_euclid(1000) != 0))
                .saturating_mul(1000)
        });
        let end = self.end.map_or(i64::MAX, |t| {
            t.as_millis()
                .div_euclid(1000)
                .saturating_mul(1000)
                .saturating_add(999)
        });
        (start, end)
    }

    /// What the attribute asks of an event's own fields (every event when
    /// there is none).
    pub fn criterion(&self) -> Criterion<'a> {
        match self.attribute {
            None => Criterion::Every,
            Some(Lookup::EventId(id)) => Criterion::EventId(id),
            Some(Lookup::EventName(name)) => Criterion::EventName(name),
            Some(Lookup::ReadOnly(read_only)) => Criterion::ReadOnly(read_only),
            Some(Lookup::Username(user)) => [EventType::ApiCall, EventType::ServiceEvent]
                .into_iter()
                .find(|t| username(*t) == user)
                .map_or(Criterion::Nothing, Criterion::EventType),
            Some(Lookup::EventSource(source)) if source == EVENT_SOURCE => Criterion::Every,
            Some(Lookup::EventSource(_)) => Criterion::Nothing,
            // hsmdrill records no access key (docs/fidelity.md I58).
            Some(Lookup::AccessKeyId(_)) => Criterion::Nothing,
            Some(Lookup::ResourceType(kind)) if kind == RESOURCE_TYPE => Criterion::AnyResource,
            Some(Lookup::ResourceType(_)) => Criterion::Nothing,
            Some(Lookup::ResourceName(name)) => Criterion::ResourceName(name),
        }
    }
}

/// A lookup attribute brought down to the fields of a compact event
/// ([`TrailEvent`]): what both the in-memory trail and the state file's
/// trail table (a column or an index each) test.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Criterion<'a> {
    /// Every event.
    Every,
    /// No event.
    Nothing,
    /// The event numbered so that its `eventID` is this.
    EventId(&'a str),
    /// Events with this name.
    EventName(&'a str),
    /// Events whose name [`is_read_only`] (or not).
    ReadOnly(bool),
    /// Events of this type (what decides `Username`).
    EventType(EventType),
    /// Events naming this key ARN.
    ResourceName(&'a str),
    /// Events naming any key.
    AnyResource,
}

/// What every cryptographic call on one key, named one way, records alike:
/// kept once per resolution and shared by its events, so that recording
/// an event costs one reference count, not one per name.
#[derive(Debug, Eq, PartialEq)]
pub struct CryptoKey {
    /// The key id as the call records it (`requestParameters.keyId`): as
    /// the caller gave it, or the key's ARN when the call named no key.
    pub key_id: Arc<str>,
    /// The key's ARN (resources).
    pub key_arn: Arc<str>,
    /// The key's custom key store (`None` for an `AWS_KMS` key).
    pub custom_key_store_id: Option<Arc<str>>,
    /// The backing key id.
    pub backing_key_id: Arc<str>,
    /// The backing key handle.
    pub key_handle: u64,
}

/// Data of a cryptographic operation, kept cheap.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(from = "SavedCrypto", into = "SavedCrypto")]
pub struct CryptoDetail {
    /// The key, as the call named it.
    pub key: Arc<CryptoKey>,
    /// The request's encryption context, when it has one: the guide's
    /// Encrypt and Decrypt examples record it in `requestParameters`
    /// (docs/fidelity.md F26).
    pub encryption_context: Option<Arc<BTreeMap<String, String>>>,
    /// A GenerateDataKey request's length, recorded in place of
    /// `encryptionAlgorithm` as the guide's example records `keySpec`
    /// (docs/fidelity.md F26).
    pub data_key: Option<DataKeyLength>,
}

impl CryptoDetail {
    /// The detail of a call on `key` with no encryption context or data
    /// key (yet).
    pub fn of(key: Arc<CryptoKey>) -> Self {
        Self {
            key,
            encryption_context: None,
            data_key: None,
        }
    }
}

/// A [`CryptoDetail`] as a state file holds it: flat, as it always was.
#[derive(Clone, Debug, Deserialize, Serialize)]
struct SavedCrypto {
    key_id: Arc<str>,
    key_arn: Arc<str>,
    custom_key_store_id: Option<Arc<str>>,
    backing_key_id: Arc<str>,
    key_handle: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    encryption_context: Option<Arc<BTreeMap<String, String>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    data_key: Option<DataKeyLength>,
}

impl From<SavedCrypto> for CryptoDetail {
    fn from(s: SavedCrypto) -> Self {
        Self {
            key: Arc::new(CryptoKey {
                key_id: s.key_id,
                key_arn: s.key_arn,
                custom_key_store_id: s.custom_key_store_id,
                backing_key_id: s.backing_key_id,
                key_handle: s.key_handle,
            }),
            encryption_context: s.encryption_context,
            data_key: s.data_key,
        }
    }
}

impl From<CryptoDetail> for SavedCrypto {
    fn from(d: CryptoDetail) -> Self {
        Self {
            key_id: d.key.key_id.clone(),
            key_arn: d.key.key_arn.clone(),
            custom_key_store_id: d.key.custom_key_store_id.clone(),
            backing_key_id: d.key.backing_key_id.clone(),
            key_handle: d.key.key_handle,
            encryption_context: d.encryption_context,
            data_key: d.data_key,
        }
    }
}

/// How a GenerateDataKey request says how long a data key it wants.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub enum DataKeyLength {
    /// `KeySpec` (`keySpec` in the event).
    KeySpec(Cow<'static, str>),
    /// `NumberOfBytes` (`numberOfBytes` in the event).
    NumberOfBytes(i64),
}

/// The JSON parts of a control-plane event.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct JsonDetail {
    /// `requestParameters` (or null).
    pub request_parameters: Value,
    /// `responseElements` (or null).
    pub response_elements: Value,
    /// `additionalEventData` (or null).
    pub additional_event_data: Value,
    /// ARNs of the keys involved (`resources`).
    pub resources: Vec<String>,
}

/// The parts of an event that differ between operations.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub enum EventDetail {
    /// Fully formed parts, for control-plane calls (boxed: the data plane
    /// moves events of the size of the largest variant into the queue).
    Json(Box<JsonDetail>),
    /// A cryptographic operation.
    Crypto(CryptoDetail),
    /// A call that failed before a key was resolved, or needs no detail.
    Bare {
        /// `requestParameters` (boxed, as `Json`).
        request_parameters: Box<Value>,
    },
}

/// One recorded event. Its names are borrowed when recorded and owned when
/// read back from a file.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct TrailEvent {
    /// Sequence number in the trail (also seeds `eventID`).
    pub seq: u64,
    /// When.
    pub time: Timestamp,
    /// `eventName`: the operation (or `DeleteKey`).
    pub name: Cow<'static, str>,
    /// API call or service event.
    pub event_type: EventType,
    /// Operation-specific parts.
    pub detail: EventDetail,
    /// `errorCode` and `errorMessage` of a failed call (boxed: most calls
    /// succeed, and every event of the bounded queue is as large as the
    /// largest).
    pub error: Option<Box<(Cow<'static, str>, Cow<'static, str>)>>,
}

/// The log. Bounded: the oldest events are dropped past `capacity`.
#[derive(Debug)]
pub struct Trail {
    seed: u64,
    /// Names this trail in a state file, so that a server restored from a
    /// file knows the file holds this very world.
    id: u64,
    next: AtomicU64,
    /// Events numbered below this are in the state file (see
    /// [`Trail::journaled`]).
    journaled: AtomicU64,
    capacity: usize,
    events: Mutex<VecDeque<TrailEvent>>,
}

/// A trail as a state file holds it.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SavedTrail {
    /// Its name in a state file ([`Trail::id`]).
    pub id: u64,
    /// The seed of its event ids.
    pub seed: u64,
    /// The number the next event gets.
    pub next: u64,
    /// Its events, oldest first.
    pub events: Vec<TrailEvent>,
}

impl Trail {
    /// An empty trail for a world with this seed.
    pub fn new(seed: u64, capacity: usize) -> Self {
        Self::restored(seed, fresh_id(seed), 0, Vec::new(), capacity)
    }

    /// A trail with these events (in any order; a number seen twice is kept
    /// once; past `capacity` the oldest are dropped, as when recorded), whose
    /// next event is numbered `next` or after the last event, whichever is
    /// later, so no event id is handed out twice.
    pub fn restored(
        seed: u64,
        id: u64,
        next: u64,
        mut events: Vec<TrailEvent>,
        capacity: usize,
    ) -> Self {
        events.sort_by_key(|e| e.seq);
        events.dedup_by_key(|e| e.seq);
        let drop = events.len().saturating_sub(capacity);
        let events: VecDeque<TrailEvent> = events.into_iter().skip(drop).collect();
        let next = events
            .back()
            .map_or(next, |e| next.max(e.seq.saturating_add(1)));
        Self {
            seed,
            id,
            next: AtomicU64::new(next),
            journaled: AtomicU64::new(0),
            capacity,
            events: Mutex::new(events),
        }
    }

    /// The seed of its event ids.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Its name in a state file: random, made when the trail is.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The number the next event gets: every event numbered below it has
    /// been recorded.
    pub fn position(&self) -> u64 {
        self.next.load(Ordering::SeqCst)
    }

    /// The events numbered `from` or more still in the trail, oldest first,
    /// and [`Trail::position`] at the same instant.
    pub fn since(&self, from: u64) -> (Vec<TrailEvent>, u64) {
        let q = self.events.lock();
        let start = q.partition_point(|e| e.seq < from);
        let events = q.range(start..).cloned().collect();
        (events, self.next.load(Ordering::SeqCst))
    }

    /// How far events are in the state file: those numbered below it are
    /// (or were dropped from the trail before they could be).
    pub fn journaled(&self) -> u64 {
        self.journaled.load(Ordering::SeqCst)
    }

    /// Says events numbered below `upto` are in the state file.
    pub fn mark_journaled(&self, upto: u64) {
        self.journaled.fetch_max(upto, Ordering::SeqCst);
    }

    /// Appends an event.
    pub fn record(
        &self,
        time: Timestamp,
        name: &'static str,
        event_type: EventType,
        detail: EventDetail,
        error: Option<(&'static str, Cow<'static, str>)>,
    ) {
        let mut q = self.events.lock();
        // Numbering under the lock keeps the order of `seq` the order of the
        // queue, so lookups are sorted without sorting; and as only this
        // lock's holder moves the number, a load and a store do (no atomic
        // read-modify-write on every data-plane call).
        let seq = self.next.load(Ordering::Acquire);
        self.next.store(seq.wrapping_add(1), Ordering::Release);
        // The evicted event is freed after the lock is let go: every data
        // plane call records an event, and freeing inside would make the
        // others wait on the allocator.
        let evicted = if q.len() >= self.capacity {
            q.pop_front()
        } else {
            None
        };
        q.push_back(TrailEvent {
            seq,
            time,
            name: Cow::Borrowed(name),
            event_type,
            detail,
            error: error.map(|(code, message)| Box::new((Cow::Borrowed(code), message))),
        });
        // Once full, the queue is kept exactly as large as the trail: then
        // each event pushed takes the slot of the one just evicted, whose
        // memory the eviction has brought into the cache (a queue grown by
        // doubling would write to a cold slot far from it).
        if q.len() == self.capacity && q.capacity() != self.capacity {
            q.shrink_to(self.capacity);
        }
        drop(q);
        drop(evicted);
    }

    /// Events named `name` (all events if `None`), oldest first.
    pub fn events(&self, name: Option<&str>) -> Vec<TrailEvent> {
        self.events
            .lock()
            .iter()
            .filter(|e| name.is_none_or(|n| e.name == n))
            .cloned()
            .collect()
    }

    /// One page of the events that match `q`, newest first: the `skip`
    /// newest matches are passed over and at most `take` follow; with how
    /// many matches there are in all. Only the page is copied.
    pub fn page(&self, q: &Query<'_>, skip: usize, take: usize) -> (Vec<TrailEvent>, usize) {
        let q_all = q.attribute.is_none() && q.start.is_none() && q.end.is_none();
        let events = self.events.lock();
        if q_all {
            let end = events.len().saturating_sub(skip);
            let page = events
                .range(end.saturating_sub(take)..end)
                .rev()
                .cloned()
                .collect();
            return (page, events.len());
        }
        let mut total = 0;
        let mut page = Vec::new();
        for e in events.iter().rev().filter(|e| self.matches(e, q)) {
            if total >= skip && page.len() < take {
                page.push(e.clone());
            }
            total += 1;
        }
        (page, total)
    }

    /// Whether `e` is one that `q` looks up. Computed from the compact event
    /// as its rendered record would show it, so a lookup never renders the
    /// events it passes over.
    fn matches(&self, e: &TrailEvent, q: &Query<'_>) -> bool {
        let (start, end) = q.millis();
        if !(start..=end).contains(&e.time.as_millis()) {
            return false;
        }
        match q.criterion() {
            Criterion::Every => true,
            Criterion::Nothing => false,
            Criterion::EventId(id) => event_uuid(self.seed, e.seq) == id,
            Criterion::EventName(name) => e.name == name,
            Criterion::ReadOnly(read_only) => is_read_only(&e.name) == read_only,
            Criterion::EventType(t) => e.event_type == t,
            Criterion::ResourceName(name) => resources(e).contains(&name),
            Criterion::AnyResource => !resources(e).is_empty(),
        }
    }

    /// Drops every event (a world reset).
    pub fn clear(&self) {
        self.events.lock().clear();
    }

    /// The CloudTrail record of `e`, as `LookupEvents` returns it inside
    /// `CloudTrailEvent`.
    pub fn render(&self, e: &TrailEvent, account: &str, region: &str) -> Value {
        let id = event_uuid(self.seed, e.seq);
        let request_id = event_uuid(self.seed ^ 0x5EED, e.seq);
        let (request_parameters, response_elements, additional, resources) = match &e.detail {
            EventDetail::Json(j) => (
                j.request_parameters.clone(),
                j.response_elements.clone(),
                j.additional_event_data.clone(),
                j.resources.clone(),
            ),
            EventDetail::Crypto(c) => (
                {
                    let key_id = &*c.key.key_id;
                    let mut p = match &c.data_key {
                        None => {
                            json!({"keyId": key_id, "encryptionAlgorithm": "SYMMETRIC_DEFAULT"})
                        }
                        Some(DataKeyLength::KeySpec(spec)) => {
                            json!({"keyId": key_id, "keySpec": &**spec})
                        }
                        Some(DataKeyLength::NumberOfBytes(n)) => {
                            json!({"keyId": key_id, "numberOfBytes": n})
                        }
                    };
                    if let Some(context) = &c.encryption_context {
                        p["encryptionContext"] = json!(&**context);
                    }
                    p
                },
                Value::Null,
                match &c.key.custom_key_store_id {
                    Some(store) => json!({
                        "customKeyStoreId": &**store,
                        "backingKey": backing_key_json(c.key.key_handle, &c.key.backing_key_id),
                    }),
                    None => Value::Null,
                },
                vec![c.key.key_arn.to_string()],
            ),
            EventDetail::Bare { request_parameters } => (
                (**request_parameters).clone(),
                Value::Null,
                Value::Null,
                Vec::new(),
            ),
        };
        let mut m = Map::new();
        m.insert("eventVersion".into(), json!("1.08"));
        m.insert(
            "userIdentity".into(),
            match e.event_type {
                EventType::ApiCall => json!({
                    "type": "IAMUser",
                    "principalId": "AIDACKCEVSQ6C2EXAMPLE",
                    "arn": format!("arn:aws:iam::{account}:user/hsmdrill"),
                    "accountId": account,
                    "userName": USER_NAME,
                }),
                EventType::ServiceEvent => json!({
                    "accountId": account,
                    "invokedBy": AWS_INTERNAL,
                }),
            },
        );
        m.insert("eventTime".into(), json!(e.time.to_iso8601()));
        m.insert("eventSource".into(), json!(EVENT_SOURCE));
        m.insert("eventName".into(), json!(e.name));
        m.insert("awsRegion".into(), json!(region));
        match e.event_type {
            EventType::ApiCall => {
                m.insert("sourceIPAddress".into(), json!("127.0.0.1"));
                m.insert("userAgent".into(), json!("hsmdrill"));
            }
            // Both fields read `AWS Internal` in a service event
            // (docs/fidelity.md F26).
            EventType::ServiceEvent => {
                m.insert("sourceIPAddress".into(), json!(AWS_INTERNAL));
                m.insert("userAgent".into(), json!(AWS_INTERNAL));
            }
        }
        if let Some((code, message)) = e.error.as_deref() {
            m.insert("errorCode".into(), json!(code));
            m.insert("errorMessage".into(), json!(message));
        }
        m.insert("requestParameters".into(), request_parameters);
        m.insert("responseElements".into(), response_elements);
        if !additional.is_null() {
            m.insert("additionalEventData".into(), additional);
        }
        // A service event answers no request: AWS's examples have no
        // `requestID` (docs/fidelity.md F26).
        if e.event_type == EventType::ApiCall {
            m.insert("requestID".into(), json!(request_id));
        }
        m.insert("eventID".into(), json!(id));
        m.insert("readOnly".into(), json!(is_read_only(&e.name)));
        m.insert(
            "resources".into(),
            Value::Array(
                resources
                    .iter()
                    .map(|arn| json!({"accountId": account, "type": RESOURCE_TYPE, "ARN": arn}))
                    .collect(),
            ),
        );
        m.insert(
            "eventType".into(),
            json!(match e.event_type {
                EventType::ApiCall => "AwsApiCall",
                EventType::ServiceEvent => "AwsServiceEvent",
            }),
        );
        m.insert("managementEvent".into(), json!(true));
        m.insert("recipientAccountId".into(), json!(account));
        m.insert("eventCategory".into(), json!("Management"));
        Value::Object(m)
    }
}

/// A trail's name in a state file: random, so that two worlds made with the
/// same seed (a reset to the same world file) never pass for each other.
fn fresh_id(seed: u64) -> u64 {
    random_u64().unwrap_or_else(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        seed ^ nanos
    })
}

/// `{"keyHandle":"…","backingKeyId":"…"}` as the JSON *string* CloudTrail
/// puts in `backingKey` (docs/fidelity.md F7).
pub fn backing_key_json(handle: u64, backing_key_id: &str) -> String {
    json!({"keyHandle": handle.to_string(), "backingKeyId": backing_key_id}).to_string()
}

/// A date in `responseElements` as the guide's ScheduleKeyDeletion example
/// prints `deletionDate`: `Apr 12, 2021 18:58:30 PM` (a 24-hour clock and a
/// period, as printed; docs/fidelity.md F26). An instant outside the years
/// 0000-9999 prints as its milliseconds.
pub fn event_date(t: Timestamp) -> String {
    time::OffsetDateTime::from_unix_timestamp(t.as_millis().div_euclid(1000))
        .ok()
        .and_then(|d| {
            d.format(time::macros::format_description!(
                "[month repr:short] [day padding:none], [year] [hour]:[minute]:[second] [period]"
            ))
            .ok()
        })
        .unwrap_or_else(|| t.as_millis().to_string())
}

/// A date in a recorded `keyMetadata` as the guide's CreateKey example
/// prints `creationDate`: `Aug 10, 2022, 10:38:27 PM` (docs/fidelity.md
/// F26). An instant outside the years 0000-9999 prints as its milliseconds.
pub fn metadata_date(t: Timestamp) -> String {
    time::OffsetDateTime::from_unix_timestamp(t.as_millis().div_euclid(1000))
        .ok()
        .and_then(|d| {
            d.format(time::macros::format_description!(
                "[month repr:short] [day padding:none], [year], [hour repr:12 padding:none]:[minute]:[second] [period]"
            ))
            .ok()
        })
        .unwrap_or_else(|| t.as_millis().to_string())
}

/// `userIdentity.invokedBy`, `sourceIPAddress` and `userAgent` of a
/// service event.
pub const AWS_INTERNAL: &str = "AWS Internal";

/// The user name `LookupEvents` shows for an event of this type: the caller
/// of an API call; `AWS Internal` for a service event, which has no user
/// (docs/fidelity.md I57).
pub fn username(event_type: EventType) -> &'static str {
    match event_type {
        EventType::ApiCall => USER_NAME,
        EventType::ServiceEvent => AWS_INTERNAL,
    }
}

/// The ARNs of the keys `e` names (its `resources`).
pub fn resources(e: &TrailEvent) -> Vec<&str> {
    match &e.detail {
        EventDetail::Json(j) => j.resources.iter().map(String::as_str).collect(),
        EventDetail::Crypto(c) => vec![&*c.key.key_arn],
        EventDetail::Bare { .. } => Vec::new(),
    }
}

/// Whether an event is read-only (`readOnly`): KMS's Describe, List and Get
/// operations, and the cryptographic operations, which change no resource:
/// the guide's Encrypt, Decrypt, ReEncrypt, GenerateDataKey and
/// GenerateDataKeyWithoutPlaintext examples read `"readOnly": true`
/// (docs/fidelity.md F26); GenerateRandom is taken to be the same (I60).
pub fn is_read_only(name: &str) -> bool {
    name.starts_with("Describe")
        || name.starts_with("List")
        || name.starts_with("Get")
        || matches!(
            name,
            "Encrypt"
                | "Decrypt"
                | "ReEncrypt"
                | "GenerateDataKey"
                | "GenerateDataKeyWithoutPlaintext"
                | "GenerateRandom"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trail_is_bounded_and_filterable() {
        let t = Trail::new(1, 2);
        for name in ["A", "B", "A"] {
            t.record(
                Timestamp::from_millis(0),
                if name == "A" { "Encrypt" } else { "Decrypt" },
                EventType::ApiCall,
                EventDetail::Bare {
                    request_parameters: Box::new(Value::Null),
                },
                None,
            );
        }
        assert_eq!(t.events(None).len(), 2);
        assert_eq!(t.events(Some("Encrypt")).len(), 1);
        let seqs = |(page, total): (Vec<TrailEvent>, usize)| {
            (page.iter().map(|e| e.seq).collect::<Vec<_>>(), total)
        };
        assert_eq!(seqs(t.page(&Query::default(), 0, 1)), (vec![2], 2));
        assert_eq!(seqs(t.page(&Query::default(), 1, 5)), (vec![1], 2));
        assert_eq!(seqs(t.page(&Query::default(), 0, 5)), (vec![2, 1], 2));
        assert_eq!(seqs(t.page(&Query::default(), 5, 5)), (vec![], 2));
        assert_eq!(
            seqs(t.page(&Query::named(Some("Encrypt")), 0, 5)),
            (vec![2], 1)
        );
        assert_eq!(
            seqs(t.page(&Query::named(Some("Decrypt")), 1, 5)),
            (vec![], 1)
        );
    }

    #[test]
    fn a_restored_trail_is_sorted_deduplicated_bounded_and_numbers_on() {
        let t = Trail::new(7, 100);
        for _ in 0..6 {
            t.record(
                Timestamp::from_millis(0),
                "Encrypt",
                EventType::ApiCall,
                EventDetail::Bare {
                    request_parameters: Box::new(Value::Null),
                },
                None,
            );
        }
        let (all, next) = t.since(0);
        assert_eq!(next, 6);
        assert_eq!(t.since(4).0.len(), 2);
        // Journal and file overlap, in no particular order.
        let mut events: Vec<TrailEvent> = all[3..].to_vec();
        events.extend(all.iter().rev().cloned());
        let r = Trail::restored(7, t.id(), 2, events.clone(), 4);
        let seqs: Vec<u64> = r.events(None).iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [2, 3, 4, 5]);
        assert_eq!(r.position(), 6, "after the last event");
        let render = |t: &Trail, e: &TrailEvent| t.render(e, "1", "r")["eventID"].clone();
        assert_eq!(render(&r, &r.events(None)[0]), render(&t, &all[2]));
        assert_eq!(Trail::restored(7, 1, 9, events, 4).position(), 9);
        assert_ne!(Trail::new(7, 1).id(), Trail::new(7, 1).id());
    }

    #[test]
    fn a_lookup_matches_by_each_attribute_and_time() {
        let t = Trail::new(3, 100);
        let json = |resources: Vec<String>| {
            EventDetail::Json(Box::new(JsonDetail {
                request_parameters: Value::Null,
                response_elements: Value::Null,
                additional_event_data: Value::Null,
                resources,
            }))
        };
        t.record(
            Timestamp::from_millis(1_000),
            "DescribeKey",
            EventType::ApiCall,
            json(vec!["arn:k1".into()]),
            None,
        );
        t.record(
            Timestamp::from_millis(2_000),
            "ListAliases",
            EventType::ApiCall,
            json(Vec::new()),
            None,
        );
        t.record(
            Timestamp::from_millis(3_000),
            "DeleteKey",
            EventType::ServiceEvent,
            json(vec!["arn:k2".into()]),
            None,
        );
        let seqs = |attribute: Option<Lookup<'_>>, start: Option<i64>, end: Option<i64>| {
            let q = Query {
                attribute,
                start: start.map(Timestamp::from_millis),
                end: end.map(Timestamp::from_millis),
            };
            t.page(&q, 0, 10)
                .0
                .iter()
                .map(|e| e.seq)
                .collect::<Vec<_>>()
        };
        let id = event_uuid(3, 1);
        assert_eq!(seqs(Some(Lookup::EventId(&id)), None, None), [1]);
        assert_eq!(seqs(Some(Lookup::EventName("DeleteKey")), None, None), [2]);
        assert_eq!(seqs(Some(Lookup::ReadOnly(true)), None, None), [1, 0]);
        assert_eq!(seqs(Some(Lookup::ReadOnly(false)), None, None), [2]);
        assert_eq!(seqs(Some(Lookup::Username(USER_NAME)), None, None), [1, 0]);
        assert_eq!(seqs(Some(Lookup::Username(AWS_INTERNAL)), None, None), [2]);
        assert_eq!(
            seqs(Some(Lookup::ResourceType(RESOURCE_TYPE)), None, None),
            [2, 0]
        );
        assert!(seqs(Some(Lookup::ResourceType("AWS::S3::Bucket")), None, None).is_empty());
        assert_eq!(seqs(Some(Lookup::ResourceName("arn:k1")), None, None), [0]);
        assert_eq!(
            seqs(Some(Lookup::EventSource(EVENT_SOURCE)), None, None),
            [2, 1, 0]
        );
        assert!(seqs(Some(Lookup::EventSource("s3.amazonaws.com")), None, None).is_empty());
        assert!(seqs(Some(Lookup::AccessKeyId("AKIDTEST")), None, None).is_empty());
        assert_eq!(seqs(None, Some(2_000), None), [2, 1]);
        assert_eq!(seqs(None, None, Some(2_000)), [1, 0]);
        assert_eq!(seqs(None, Some(2_000), Some(2_000)), [1]);
        assert_eq!(
            seqs(Some(Lookup::ReadOnly(true)), Some(1_500), Some(5_000)),
            [1]
        );
        // An event at 4.918 s shows `eventTime` 4 s, and a range that ends
        // at 4 s holds it.
        t.record(
            Timestamp::from_millis(4_918),
            "Encrypt",
            EventType::ApiCall,
            json(vec!["arn:k1".into()]),
            None,
        );
        assert_eq!(seqs(None, Some(4_000), Some(4_000)), [3]);
        assert!(seqs(None, Some(4_001), None).is_empty());
    }

    #[test]
    fn an_event_date_reads_as_the_guide_prints_it() {
        // 2021-04-12T18:58:30Z, the guide's ScheduleKeyDeletion example.
        assert_eq!(
            event_date(Timestamp::from_millis(1_618_253_910_000)),
            "Apr 12, 2021 18:58:30 PM"
        );
        assert_eq!(
            event_date(Timestamp::from_millis(1_499_288_695_918)),
            "Jul 5, 2017 21:04:55 PM"
        );
        // 2022-08-10T22:38:27Z, the guide's CreateKey example.
        assert_eq!(
            metadata_date(Timestamp::from_millis(1_660_171_107_000)),
            "Aug 10, 2022, 10:38:27 PM"
        );
        assert_eq!(
            metadata_date(Timestamp::from_millis(1_499_288_695_918)),
            "Jul 5, 2017, 9:04:55 PM"
        );
    }

    #[test]
    fn backing_key_is_a_json_string() {
        assert_eq!(
            backing_key_json(19, "ab"),
            r#"{"keyHandle":"19","backingKeyId":"ab"}"#
        );
    }
}

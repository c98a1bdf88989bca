//! A CloudTrail-like log of every KMS call and KMS service event.
//!
//! R6 depends on it: the `DeleteKey` event at the end of a waiting period
//! reports `backingKeysDeletionStatus`, and every cryptographic operation
//! with a CloudHSM-store key carries `customKeyStoreId` and `backingKey` in
//! `additionalEventData`. Events are kept compact ([`TrailEvent`]) and
//! rendered to CloudTrail's JSON record only when looked up, so the data
//! plane pays for a push onto a bounded queue, not for JSON.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::{json, Map, Value};

use super::clock::Timestamp;
use super::ids::event_uuid;

/// What kind of record it is.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum EventType {
    /// A call by a principal (`AwsApiCall`).
    ApiCall,
    /// Something KMS did on its own, e.g. deleting a key at the end of its
    /// waiting period (`AwsServiceEvent`).
    ServiceEvent,
}

/// Data of a cryptographic operation on a CloudHSM-store key, kept cheap.
#[derive(Clone, Debug)]
pub struct CryptoDetail {
    /// The key id as the caller gave it.
    pub key_id: Arc<str>,
    /// The key's ARN (resources).
    pub key_arn: Arc<str>,
    /// The key's custom key store.
    pub custom_key_store_id: Arc<str>,
    /// The backing key id.
    pub backing_key_id: Arc<str>,
    /// The backing key handle.
    pub key_handle: u64,
}

/// The JSON parts of a control-plane event.
#[derive(Clone, Debug)]
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
#[derive(Clone, Debug)]
pub enum EventDetail {
    /// Fully formed parts, for control-plane calls (boxed: the data plane
    /// moves events of the size of the largest variant into the queue).
    Json(Box<JsonDetail>),
    /// A cryptographic operation.
    Crypto(CryptoDetail),
    /// A call that failed before a key was resolved, or needs no detail.
    Bare {
        /// `requestParameters`.
        request_parameters: Value,
    },
}

/// One recorded event.
#[derive(Clone, Debug)]
pub struct TrailEvent {
    /// Sequence number in the trail (also seeds `eventID`).
    pub seq: u64,
    /// When.
    pub time: Timestamp,
    /// `eventName`: the operation (or `DeleteKey`).
    pub name: &'static str,
    /// API call or service event.
    pub event_type: EventType,
    /// Operation-specific parts.
    pub detail: EventDetail,
    /// `errorCode` and `errorMessage` of a failed call.
    pub error: Option<(&'static str, Cow<'static, str>)>,
}

/// The log. Bounded: the oldest events are dropped past `capacity`.
#[derive(Debug)]
pub struct Trail {
    seed: u64,
    next: AtomicU64,
    capacity: usize,
    events: Mutex<VecDeque<TrailEvent>>,
}

impl Trail {
    /// An empty trail for a world with this seed.
    pub fn new(seed: u64, capacity: usize) -> Self {
        Self {
            seed,
            next: AtomicU64::new(0),
            capacity,
            events: Mutex::new(VecDeque::new()),
        }
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
        // queue, so lookups are sorted without sorting.
        let seq = self.next.fetch_add(1, Ordering::Relaxed);
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
            name,
            event_type,
            detail,
            error,
        });
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
                json!({"keyId": c.key_id, "encryptionAlgorithm": "SYMMETRIC_DEFAULT"}),
                Value::Null,
                json!({
                    "customKeyStoreId": &*c.custom_key_store_id,
                    "backingKey": backing_key_json(c.key_handle, &c.backing_key_id),
                }),
                vec![c.key_arn.to_string()],
            ),
            EventDetail::Bare { request_parameters } => (
                request_parameters.clone(),
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
                    "userName": "hsmdrill",
                }),
                EventType::ServiceEvent => json!({
                    "accountId": account,
                    "invokedBy": "AWS Internal",
                }),
            },
        );
        m.insert("eventTime".into(), json!(e.time.to_iso8601()));
        m.insert("eventSource".into(), json!("kms.amazonaws.com"));
        m.insert("eventName".into(), json!(e.name));
        m.insert("awsRegion".into(), json!(region));
        match e.event_type {
            EventType::ApiCall => {
                m.insert("sourceIPAddress".into(), json!("127.0.0.1"));
                m.insert("userAgent".into(), json!("hsmdrill"));
            }
            EventType::ServiceEvent => {
                m.insert("sourceIPAddress".into(), json!("AWS Internal"));
            }
        }
        if let Some((code, message)) = &e.error {
            m.insert("errorCode".into(), json!(code));
            m.insert("errorMessage".into(), json!(message));
        }
        m.insert("requestParameters".into(), request_parameters);
        m.insert("responseElements".into(), response_elements);
        if !additional.is_null() {
            m.insert("additionalEventData".into(), additional);
        }
        m.insert("requestID".into(), json!(request_id));
        m.insert("eventID".into(), json!(id));
        m.insert("readOnly".into(), json!(is_read_only(e.name)));
        m.insert(
            "resources".into(),
            Value::Array(
                resources
                    .iter()
                    .map(|arn| json!({"accountId": account, "type": "AWS::KMS::Key", "ARN": arn}))
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

/// `{"keyHandle":"…","backingKeyId":"…"}` as the JSON *string* CloudTrail
/// puts in `backingKey` (docs/fidelity.md F7).
pub fn backing_key_json(handle: u64, backing_key_id: &str) -> String {
    json!({"keyHandle": handle.to_string(), "backingKeyId": backing_key_id}).to_string()
}

fn is_read_only(name: &str) -> bool {
    name.starts_with("Describe") || name.starts_with("List") || name.starts_with("Get")
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
                    request_parameters: Value::Null,
                },
                None,
            );
        }
        assert_eq!(t.events(None).len(), 2);
        assert_eq!(t.events(Some("Encrypt")).len(), 1);
    }

    #[test]
    fn backing_key_is_a_json_string() {
        assert_eq!(
            backing_key_json(19, "ab"),
            r#"{"keyHandle":"19","backingKeyId":"ab"}"#
        );
    }
}

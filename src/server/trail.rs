//! CloudTrail `LookupEvents` over the engine's trail
//! (`reference/aws-models/cloudtrail-service-2.json`): newest first, filtered
//! by one `LookupAttributes` entry of any key CloudTrail has and by
//! `StartTime`/`EndTime`, paged by `MaxResults`/`NextToken`, with
//! `CloudTrailEvent` as the JSON string AWS returns. The matching itself is
//! the engine's ([`crate::engine::trail::Query`]); this module reads the
//! request and refuses bad ones with CloudTrail's exceptions.

use serde_json::{json, Value};

use super::protocol::WireError;
use crate::engine::clock::Timestamp;
use crate::engine::trail::{Lookup, Query, AWS_INTERNAL};

/// The CloudTrail `X-Amz-Target` prefix as botocore's model names it.
pub const TARGET_PREFIX: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.";

/// The short form the Rust SDK sends (`CloudTrail_20131101.LookupEvents`).
pub const SHORT_TARGET_PREFIX: &str = "CloudTrail_20131101.";

/// The CloudTrail operation a target names, in either form.
pub fn operation(target: &str) -> Option<&str> {
    target
        .strip_prefix(TARGET_PREFIX)
        .or_else(|| target.strip_prefix(SHORT_TARGET_PREFIX))
}

/// Runs a CloudTrail operation. `pages(query, skip, take)` is one page of
/// the trail's events that match `query`, newest first, with how many there
/// are (`ServerState::trail_page`: the state file's trail table, or the
/// engine's).
pub fn call(
    op: &str,
    input: &Value,
    pages: impl FnOnce(&Query<'_>, usize, usize) -> (Vec<Value>, usize),
) -> Result<Value, WireError> {
    if op != "LookupEvents" {
        return Err(WireError::client(
            "UnknownOperationException",
            format!("hsmdrill implements CloudTrail LookupEvents only, not {op}."),
        ));
    }
    let attribute = lookup_attribute(input)?;
    let time = |member: &str| -> Result<Option<Timestamp>, WireError> {
        match &input[member] {
            Value::Null => Ok(None),
            v => v
                .as_f64()
                .filter(|s| s.is_finite())
                // Seconds to milliseconds; far-off times saturate.
                .map(|s| Some(Timestamp::from_millis((s * 1000.0) as i64)))
                .ok_or_else(|| {
                    WireError::client(
                        "InvalidTimeRangeException",
                        format!("{member} must be a timestamp."),
                    )
                }),
        }
    };
    let (start_time, end_time) = (time("StartTime")?, time("EndTime")?);
    if let (Some(s), Some(e)) = (start_time, end_time) {
        if s > e {
            // docs/fidelity.md I59
            return Err(WireError::client(
                "InvalidTimeRangeException",
                "Start time must be before end time.",
            ));
        }
    }
    let max = match &input["MaxResults"] {
        Value::Null => 50,
        v => v.as_u64().filter(|n| (1..=50).contains(n)).ok_or_else(|| {
            // docs/fidelity.md I59
            WireError::client(
                "InvalidMaxResultsException",
                "Value for parameter MaxResults is invalid. MaxResults must be between 1 and 50.",
            )
        })? as usize,
    };
    let query = Query {
        attribute,
        start: start_time,
        end: end_time,
    };
    let insights = event_category(input)?;
    let start = match &input["NextToken"] {
        Value::Null => 0,
        v => v
            .as_str()
            // No Insights lookup has a next page, so none takes a token.
            .filter(|_| !insights)
            .and_then(|t| token_skip(t, &query))
            .ok_or_else(|| {
                // docs/fidelity.md I59
                WireError::client("InvalidNextTokenException", "Invalid NextToken.")
            })?,
    };
    if insights {
        // hsmdrill records management events only, and a lookup of
        // Insights events finds none (docs/fidelity.md I59).
        return Ok(json!({"Events": []}));
    }
    let (events, total) = pages(&query, start, max);
    let page: Vec<Value> = events
        .iter()
        .map(|e| {
            json!({
                "EventId": e["eventID"],
                "EventName": e["eventName"],
                "ReadOnly": e["readOnly"].to_string(),
                "EventTime": time_of(e),
                "EventSource": e["eventSource"],
                "Username": e["userIdentity"]["userName"].as_str().unwrap_or(AWS_INTERNAL),
                "Resources": e["resources"].as_array().into_iter().flatten().map(|r| json!({
                    "ResourceType": r["type"], "ResourceName": r["ARN"],
                })).collect::<Vec<_>>(),
                "CloudTrailEvent": e.to_string(),
            })
        })
        .collect();
    let mut out = json!({"Events": page});
    // A token is any number the client sends back: no overflow from it.
    let next = start.saturating_add(max);
    if next < total {
        out["NextToken"] = json!(token(next, &query));
    }
    Ok(out)
}

/// The one `LookupAttributes` entry of a request (CloudTrail takes at most
/// one: "Currently the list can contain only one item", docs/fidelity.md F27).
fn lookup_attribute(input: &Value) -> Result<Option<Lookup<'_>>, WireError> {
    let invalid = |message: String| WireError::client("InvalidLookupAttributesException", message);
    let attributes = match &input["LookupAttributes"] {
        Value::Null => return Ok(None),
        Value::Array(a) => a,
        _ => return Err(invalid("LookupAttributes must be a list.".into())),
    };
    let attr = match attributes.as_slice() {
        [] => return Ok(None),
        [one] => one,
        // docs/fidelity.md I59
        _ => {
            return Err(invalid(
                "You cannot specify more than one lookup attribute.".into(),
            ))
        }
    };
    let (Some(key), Some(value)) = (
        attr["AttributeKey"].as_str(),
        attr["AttributeValue"].as_str(),
    ) else {
        return Err(invalid(
            "Each lookup attribute needs an AttributeKey and an AttributeValue.".into(),
        ));
    };
    // `LookupAttributeValue`: min 1, max 2000 (CloudTrail model).
    if value.is_empty() || weighted_len(value) > 2000 {
        // docs/fidelity.md I59
        return Err(invalid(
            "AttributeValue must be 1 to 2000 characters long.".into(),
        ));
    }
    Ok(Some(match key {
        "EventId" => Lookup::EventId(value),
        "EventName" => Lookup::EventName(value),
        "ReadOnly" => match value {
            "true" => Lookup::ReadOnly(true),
            "false" => Lookup::ReadOnly(false),
            // docs/fidelity.md I59
            _ => {
                return Err(invalid(format!(
                    "ReadOnly must be true or false, not {value}."
                )))
            }
        },
        "Username" => Lookup::Username(value),
        "ResourceType" => Lookup::ResourceType(value),
        "ResourceName" => Lookup::ResourceName(value),
        "EventSource" => Lookup::EventSource(value),
        "AccessKeyId" => Lookup::AccessKeyId(value),
        // docs/fidelity.md I59
        other => {
            return Err(invalid(format!(
                "{other} is not a valid lookup attribute key."
            )))
        }
    }))
}

/// Whether the request looks up Insights events (`EventCategory`
/// `insight`, the one value the CloudTrail model's `EventCategory` enum
/// has); without it, management events.
fn event_category(input: &Value) -> Result<bool, WireError> {
    match &input["EventCategory"] {
        Value::Null => Ok(false),
        Value::String(c) if c == "insight" => Ok(true),
        // docs/fidelity.md I59
        other => Err(WireError::client(
            "InvalidEventCategoryException",
            format!(
                "EventCategory must be insight, not {}.",
                other
                    .as_str()
                    .map_or_else(|| other.to_string(), str::to_owned)
            ),
        )),
    }
}

/// How long an `AttributeValue` counts as: "The following characters
/// ('_', ' ', ',', '\\n') count as two characters towards the 2000
/// character limit" (CloudTrail model, `LookupAttribute`).
fn weighted_len(value: &str) -> usize {
    value
        .chars()
        .map(|c| {
            if matches!(c, '_' | ' ' | ',' | '\n') {
                2
            } else {
                1
            }
        })
        .sum()
}

/// The `NextToken` that resumes `q` after `skip` events: the count and a
/// digest of the query, so a token used with other parameters is refused as
/// CloudTrail refuses one ("token that was previously used in a request
/// with different parameters").
fn token(skip: usize, q: &Query<'_>) -> String {
    format!("{skip}.{:016x}", query_digest(q))
}

/// How many events a token from [`token`] passes over, if it was made for
/// `q`.
fn token_skip(t: &str, q: &Query<'_>) -> Option<usize> {
    let (skip, digest) = t.split_once('.')?;
    let digest = u64::from_str_radix(digest, 16).ok()?;
    (digest == query_digest(q))
        .then(|| skip.parse().ok())
        .flatten()
}

/// A stable digest of a query's parameters (FNV-1a over their debug form:
/// it only has to tell queries apart, not resist forgery).
fn query_digest(q: &Query<'_>) -> u64 {
    format!("{q:?}")
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
}

/// `eventTime` (ISO 8601) as epoch seconds, as LookupEvents returns it.
fn time_of(e: &Value) -> Value {
    e["eventTime"]
        .as_str()
        .and_then(|t| {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
        })
        .map_or(Value::Null, |t| json!(t.unix_timestamp()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Engine, EngineConfig};

    /// LookupEvents over `e`'s own trail.
    fn lookup(e: &Engine, input: &Value) -> Result<Value, WireError> {
        call("LookupEvents", input, |q, skip, take| {
            e.trail_page(q, skip, take)
        })
    }

    /// The exception name of what LookupEvents makes of `input`.
    fn refusal(input: Value) -> String {
        let e = Engine::new(EngineConfig::default());
        match lookup(&e, &input) {
            Ok(out) => panic!("accepted: {out}"),
            Err(err) => format!("{}: {}", err.name, err.message),
        }
    }

    #[test]
    fn each_bad_request_gets_cloudtrails_exception() {
        let attr = |k: &str, v: &str| json!({"AttributeKey": k, "AttributeValue": v});
        for (input, exception) in [
            (
                json!({"LookupAttributes": [attr("EventName", "Encrypt"), attr("ReadOnly", "true")]}),
                "InvalidLookupAttributesException: You cannot specify more than one lookup attribute.",
            ),
            (
                json!({"LookupAttributes": [attr("Colour", "blue")]}),
                "InvalidLookupAttributesException: Colour is not a valid lookup attribute key.",
            ),
            (
                json!({"LookupAttributes": [attr("ReadOnly", "maybe")]}),
                "InvalidLookupAttributesException: ReadOnly must be true or false, not maybe.",
            ),
            (
                json!({"LookupAttributes": [{"AttributeKey": "EventName"}]}),
                "InvalidLookupAttributesException: Each lookup attribute needs an AttributeKey and an AttributeValue.",
            ),
            (
                json!({"LookupAttributes": "EventName"}),
                "InvalidLookupAttributesException: LookupAttributes must be a list.",
            ),
            (
                json!({"MaxResults": 0}),
                "InvalidMaxResultsException: Value for parameter MaxResults is invalid. MaxResults must be between 1 and 50.",
            ),
            (
                json!({"MaxResults": 51}),
                "InvalidMaxResultsException: Value for parameter MaxResults is invalid. MaxResults must be between 1 and 50.",
            ),
            (
                json!({"NextToken": "12"}),
                "InvalidNextTokenException: Invalid NextToken.",
            ),
            (
                json!({"NextToken": 3}),
                "InvalidNextTokenException: Invalid NextToken.",
            ),
            (
                json!({"StartTime": 20.0, "EndTime": 10.0}),
                "InvalidTimeRangeException: Start time must be before end time.",
            ),
            (
                json!({"LookupAttributes": [attr("EventName", "")]}),
                "InvalidLookupAttributesException: AttributeValue must be 1 to 2000 characters long.",
            ),
            (
                json!({"LookupAttributes": [attr("EventName", &"_".repeat(1001))]}),
                "InvalidLookupAttributesException: AttributeValue must be 1 to 2000 characters long.",
            ),
            (
                json!({"EventCategory": "data"}),
                "InvalidEventCategoryException: EventCategory must be insight, not data.",
            ),
            (
                json!({"EventCategory": "insight", "NextToken": token(1, &Query::default())}),
                "InvalidNextTokenException: Invalid NextToken.",
            ),
            (
                json!({"StartTime": "yesterday"}),
                "InvalidTimeRangeException: StartTime must be a timestamp.",
            ),
        ] {
            assert_eq!(refusal(input.clone()), exception, "{input}");
        }
    }

    #[test]
    fn an_insights_lookup_finds_nothing_and_a_long_value_counts_its_separators_twice() {
        let e = Engine::new(EngineConfig::default());
        let out = lookup(&e, &json!({"EventCategory": "insight"}));
        assert_eq!(out.ok(), Some(json!({"Events": []})));
        assert_eq!(weighted_len("a_b c,d\n"), 12);
        let longest = "x".repeat(2000);
        let input =
            json!({"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": longest}]});
        assert!(lookup(&e, &input).is_ok());
    }

    #[test]
    fn the_largest_token_is_an_empty_last_page_not_an_overflow() {
        let e = Engine::new(EngineConfig::default());
        let input = json!({"NextToken": token(usize::MAX, &Query::default()), "MaxResults": 50});
        assert_eq!(lookup(&e, &input).ok(), Some(json!({"Events": []})));
    }

    #[test]
    fn a_token_works_only_with_the_query_it_was_made_for() {
        let named = Query::named(Some("Encrypt"));
        let all = Query::default();
        let t = token(4, &named);
        assert_eq!(token_skip(&t, &named), Some(4));
        assert_eq!(token_skip(&t, &all), None);
        assert_eq!(token_skip("4", &named), None);
        assert_eq!(token_skip("x.ffff", &named), None);
    }

    #[test]
    fn event_time_converts_back_to_epoch_seconds() {
        assert_eq!(
            time_of(&json!({"eventTime": "2017-07-05T21:04:55Z"})),
            json!(1_499_288_695)
        );
    }
}

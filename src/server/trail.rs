//! CloudTrail `LookupEvents` over the engine's trail
//! (`reference/aws-models/cloudtrail-service-2.json`): newest first, filterable by
//! `EventName`, with `CloudTrailEvent` as the JSON string AWS returns.

use serde_json::{json, Value};

use super::protocol::WireError;

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

/// Runs a CloudTrail operation. `pages(name, skip, take)` is one page of
/// the trail's events named `name`, newest first, with how many there are
/// (`ServerState::trail_page`: the state file's trail table, or the
/// engine's).
pub fn call(
    op: &str,
    input: &Value,
    pages: impl FnOnce(Option<&str>, usize, usize) -> (Vec<Value>, usize),
) -> Result<Value, WireError> {
    if op != "LookupEvents" {
        return Err(WireError::client(
            "UnknownOperationException",
            format!("hsmdrill implements CloudTrail LookupEvents only, not {op}."),
        ));
    }
    let mut name = None;
    for attr in input["LookupAttributes"].as_array().into_iter().flatten() {
        match (
            attr["AttributeKey"].as_str(),
            attr["AttributeValue"].as_str(),
        ) {
            (Some("EventName"), Some(v)) => name = Some(v.to_owned()),
            (Some(k), _) => {
                return Err(WireError::client(
                    "InvalidLookupAttributesException",
                    format!("hsmdrill filters by EventName only, not {k}."),
                ))
            }
            (None, _) => {
                return Err(WireError::client(
                    "InvalidLookupAttributesException",
                    "Each LookupAttribute needs an AttributeKey and an AttributeValue.",
                ))
            }
        }
    }
    let max = match &input["MaxResults"] {
        Value::Null => 50,
        v => v.as_u64().filter(|n| (1..=50).contains(n)).ok_or_else(|| {
            WireError::client("InvalidMaxResultsException", "MaxResults must be 1 to 50.")
        })? as usize,
    };
    let start = match &input["NextToken"] {
        Value::Null => 0,
        v => v
            .as_str()
            .and_then(|t| t.parse::<usize>().ok())
            .ok_or_else(|| WireError::client("InvalidNextTokenException", "Invalid NextToken."))?,
    };
    let (events, total) = pages(name.as_deref(), start, max);
    let page: Vec<Value> = events
        .iter()
        .map(|e| {
            json!({
                "EventId": e["eventID"],
                "EventName": e["eventName"],
                "ReadOnly": e["readOnly"].to_string(),
                "EventTime": time_of(e),
                "EventSource": e["eventSource"],
                "Username": e["userIdentity"]["userName"].as_str().unwrap_or("AWS Internal"),
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
        out["NextToken"] = json!(next.to_string());
    }
    Ok(out)
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

    #[test]
    fn event_time_converts_back_to_epoch_seconds() {
        assert_eq!(
            time_of(&json!({"eventTime": "2017-07-05T21:04:55Z"})),
            json!(1_499_288_695)
        );
    }
}

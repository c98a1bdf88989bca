//! Smithy RPC v2 CBOR bodies as the JSON values the engine speaks.
//!
//! Requests are decoded from CBOR into `serde_json::Value` (byte strings
//! become base64 text, as in AWS JSON; epoch-seconds timestamps, CBOR tag 1,
//! become numbers), and responses are encoded back with the CloudHSM v2
//! timestamp members as tag 1, which is how the protocol writes timestamps.

use ciborium::value::{Integer, Value as Cbor};
use serde_json::{Map, Number, Value};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

/// CloudHSM v2 members that are timestamps in the model.
const TIMESTAMPS: &[&str] = &[
    "CreateTimestamp",
    "DeleteTimestamp",
    "CopyTimestamp",
    "HsmTypeRollbackExpiration",
    "SourceTimestamp",
];

/// Decodes a request body; an empty body is `{}`.
pub fn decode(bytes: &[u8]) -> Result<Value, String> {
    if bytes.is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    let v: Cbor = ciborium::de::from_reader(bytes).map_err(|e| format!("malformed CBOR: {e}"))?;
    to_json(v, 0)
}

/// Encodes a response body.
pub fn encode(v: &Value) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    ciborium::ser::into_writer(&from_json(v, None), &mut out)
        .map_err(|e| format!("cannot encode CBOR: {e}"))?;
    Ok(out)
}

fn to_json(v: Cbor, depth: usize) -> Result<Value, String> {
    if depth > 64 {
        return Err("CBOR nested too deeply".into());
    }
    Ok(match v {
        Cbor::Null => Value::Null,
        Cbor::Bool(b) => Value::Bool(b),
        Cbor::Integer(i) => {
            let n = i128::from(i);
            i64::try_from(n)
                .map(Number::from)
                .or_else(|_| u64::try_from(n).map(Number::from))
                .map(Value::Number)
                .map_err(|_| "CBOR integer out of range".to_string())?
        }
        Cbor::Float(f) => Number::from_f64(f)
            .map(Value::Number)
            .ok_or("CBOR float is not finite")?,
        Cbor::Text(s) => Value::String(s),
        Cbor::Bytes(b) => Value::String(STANDARD.encode(b)),
        Cbor::Tag(_, inner) => to_json(*inner, depth + 1)?,
        Cbor::Array(a) => Value::Array(
            a.into_iter()
                .map(|x| to_json(x, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Cbor::Map(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let Cbor::Text(k) = k else {
                    return Err("CBOR map keys must be text".into());
                };
                out.insert(k, to_json(v, depth + 1)?);
            }
            Value::Object(out)
        }
        _ => return Err("unsupported CBOR value".into()),
    })
}

fn from_json(v: &Value, member: Option<&str>) -> Cbor {
    match v {
        Value::Null => Cbor::Null,
        Value::Bool(b) => Cbor::Bool(*b),
        Value::Number(n) => {
            let plain = match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => Cbor::Integer(Integer::from(i)),
                (None, Some(u), _) => Cbor::Integer(Integer::from(u)),
                (None, None, Some(f)) => Cbor::Float(f),
                (None, None, None) => Cbor::Null,
            };
            if member.is_some_and(|m| TIMESTAMPS.contains(&m)) {
                Cbor::Tag(
                    1,
                    Box::new(match n.as_f64() {
                        Some(f) => Cbor::Float(f),
                        None => plain,
                    }),
                )
            } else {
                plain
            }
        }
        Value::String(s) => Cbor::Text(s.clone()),
        Value::Array(a) => Cbor::Array(a.iter().map(|x| from_json(x, None)).collect()),
        Value::Object(m) => Cbor::Map(
            m.iter()
                .map(|(k, x)| (Cbor::Text(k.clone()), from_json(x, Some(k))))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_and_tags_timestamps() {
        let v = json!({"Clusters": [{"ClusterId": "cluster-x", "CreateTimestamp": 1499288695.918, "Hsms": []}]});
        let bytes = encode(&v).unwrap();
        let back: Cbor = ciborium::de::from_reader(&bytes[..]).unwrap();
        let Cbor::Map(m) = back else { panic!() };
        let Cbor::Array(cs) = &m[0].1 else { panic!() };
        let Cbor::Map(c) = &cs[0] else { panic!() };
        assert!(matches!(c[1].1, Cbor::Tag(1, _)));
        assert_eq!(decode(&bytes).unwrap(), v);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bytes in [&[0xff_u8][..], &[0x9f], &[0xbf, 0x01], b"{\"json\": 1}"] {
            let _ = decode(bytes);
        }
        assert_eq!(decode(&[]).unwrap(), json!({}));
    }
}

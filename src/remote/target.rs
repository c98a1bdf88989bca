//! [`RemoteTarget`]: the scenario runner's [`Target`] over HTTP.
//!
//! AWS operations go as the SDKs send them (AWS JSON 1.1 with
//! `X-Amz-Target`); CloudHSM CLI lines, faults, the clock, bursts and world
//! resets go through the server's control API (`docs/server.md`); the trail
//! is read with CloudTrail `LookupEvents`. A scenario starts by resetting the
//! server to its world on a virtual clock, so its responses and snapshots
//! are the bytes an embedded run gives.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::{json, Value};

use super::http::{Endpoint, Response};
use crate::engine::cloud::{self, regions};
use crate::engine::config::EngineConfig;
use crate::engine::dispatch::{Api, Operation};
use crate::engine::faults::Fault;
use crate::scenario::target::{unknown_region, AwsError, Target, World};

/// A running `hsmdrill serve`.
#[derive(Clone, Debug)]
pub struct RemoteTarget {
    endpoint: Endpoint,
    /// The Region steps act in (`None`: the world's own): AWS calls carry
    /// it in their credential scope, control calls as `?region=`.
    region: Arc<Mutex<Option<String>>>,
    /// The world's `seed` (the engine's default when it has none), which
    /// retry jitter derives from, so a run against a server waits as an
    /// embedded run of the same world does.
    seed: u64,
}

fn transport(e: impl std::fmt::Display) -> AwsError {
    AwsError {
        exception: "TransportError".into(),
        message: format!("cannot reach the hsmdrill server: {e}"),
    }
}

/// An AWS error from a response body, or a success value.
fn answer(r: Response) -> Result<Value, AwsError> {
    let body: Value = if r.body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(&r.body).map_err(|e| AwsError {
            exception: "SerializationException".into(),
            message: format!("the server answered something that is not JSON: {e}"),
        })?
    };
    if (200..300).contains(&r.status) {
        return Ok(body);
    }
    let name = body["__type"]
        .as_str()
        .or_else(|| r.header("x-amzn-errortype"))
        .unwrap_or("UnknownError");
    // Clients keep the text before ':' and after '#' of `__type`.
    let name = name.split(':').next().unwrap_or(name);
    let name = name.rsplit('#').next().unwrap_or(name);
    let message = body["message"]
        .as_str()
        .or_else(|| body["Message"].as_str())
        .unwrap_or("")
        .to_owned();
    Err(AwsError {
        exception: name.to_owned(),
        message,
    })
}

impl RemoteTarget {
    /// Resets the server at `endpoint` to `world` (a world file is read
    /// here and sent as YAML) and drives it.
    pub fn open(endpoint: &Endpoint, world: World<'_>) -> Result<RemoteTarget, String> {
        let yaml = match world {
            World::Empty => "{}".to_owned(),
            World::File(path) => std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read the world file {}: {e}", path.display()))?,
            World::Yaml { yaml, .. } => yaml.to_owned(),
        };
        RemoteTarget::reset(endpoint.clone(), &yaml)
    }

    /// Resets the server at `endpoint` to the YAML world `yaml` on a virtual
    /// clock and drives it.
    pub fn reset(endpoint: Endpoint, yaml: &str) -> Result<RemoteTarget, String> {
        let r = endpoint
            .post(
                "/_hsmdrill/world?clock=virtual",
                "application/yaml",
                yaml.as_bytes(),
            )
            .map_err(|e| format!("cannot reach the hsmdrill server: {e}"))?;
        answer(r).map_err(|e| format!("{}: {}", e.exception, e.message))?;
        // The server has just accepted the world, so its `seed` is a
        // number if it is there at all.
        let seed = serde_yaml::from_str::<serde_yaml::Value>(yaml)
            .ok()
            .and_then(|doc| doc.get("seed").and_then(serde_yaml::Value::as_u64))
            .unwrap_or(EngineConfig::default().seed);
        Ok(RemoteTarget {
            endpoint,
            region: Arc::default(),
            seed,
        })
    }

    /// An `Authorization` header scoped to the Region steps act in, if it is
    /// not the world's own: the server routes by the credential scope and,
    /// without `--auth`, checks no signature.
    fn scope(&self, service: &str) -> Option<String> {
        self.region.lock().as_ref().map(|region| {
            format!(
                "AWS4-HMAC-SHA256 Credential=hsmdrill/20170705/{region}/{service}/aws4_request, SignedHeaders=host, Signature=0"
            )
        })
    }

    /// A control API path with the Region steps act in.
    fn in_region(&self, path: &str) -> String {
        match &*self.region.lock() {
            Some(region) => format!("{path}?region={region}"),
            None => path.to_owned(),
        }
    }

    fn control(&self, path: &str, body: Value) -> Result<Value, AwsError> {
        let body = body.to_string();
        let r = self
            .endpoint
            .post(path, "application/json", body.as_bytes())
            .map_err(transport)?;
        answer(r)
    }
}

impl Target for RemoteTarget {
    fn call(&self, operation: &str, input: Value) -> Result<Value, AwsError> {
        let api = match Operation::from_name(operation) {
            Some(op) => op.api(),
            None if cloud::operation_members(operation).is_some() => Api::CloudHsmV2,
            None => Api::Kms,
        };
        let (prefix, service) = match api {
            Api::CloudHsmV2 => ("BaldrApiService", "cloudhsm"),
            Api::Kms => ("TrentService", "kms"),
        };
        let target = format!("{prefix}.{operation}");
        let scope = self.scope(service);
        let mut headers = vec![
            ("X-Amz-Target", target.as_str()),
            ("Content-Type", "application/x-amz-json-1.1"),
        ];
        if let Some(s) = &scope {
            headers.push(("Authorization", s));
        }
        let r = self
            .endpoint
            .send("POST", "/", &headers, input.to_string().as_bytes())
            .map_err(transport)?;
        answer(r)
    }

    fn cli(&self, cluster: &str, session: &str, line: &str, answers: &[String]) -> Value {
        let mut body = json!({"ClusterId": cluster, "Session": session, "Command": line});
        if !answers.is_empty() {
            body["Answers"] = json!(answers);
        }
        match self.control(&self.in_region("/_hsmdrill/cloudhsm-cli"), body) {
            Ok(v) => v,
            Err(e) => json!({"error_code": 1, "data": format!("{}: {}", e.exception, e.message)}),
        }
    }

    fn fault(&self, fault: &Fault) -> Result<Value, AwsError> {
        let body = serde_json::to_value(fault).map_err(transport)?;
        self.control(&self.in_region("/_hsmdrill/fault"), body)
    }

    fn wait(&self, d: Duration) {
        let _ = self.control(
            "/_hsmdrill/clock/advance",
            json!({"seconds": d.as_secs_f64()}),
        );
    }

    fn settle(&self) {
        let _ = self.control("/_hsmdrill/clock/settle", json!({}));
    }

    fn now(&self) -> Option<i64> {
        // Advancing by nothing answers the server's now.
        let v = self
            .control("/_hsmdrill/clock/advance", json!({"seconds": 0}))
            .ok()?;
        v["Now"].as_f64().map(|s| (s * 1000.0).round() as i64)
    }

    fn seed(&self) -> u64 {
        self.seed
    }

    fn trail(&self, event: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut input = json!({
                "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": event}],
                "MaxResults": 50,
            });
            if let Some(t) = &token {
                input["NextToken"] = json!(t);
            }
            let scope = self.scope("cloudtrail");
            let mut headers = vec![
                (
                    "X-Amz-Target",
                    "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents",
                ),
                ("Content-Type", "application/x-amz-json-1.1"),
            ];
            if let Some(s) = &scope {
                headers.push(("Authorization", s));
            }
            let r = self
                .endpoint
                .send("POST", "/", &headers, input.to_string().as_bytes());
            let Ok(Ok(page)) = r.map(answer) else {
                break;
            };
            for e in page["Events"].as_array().into_iter().flatten() {
                if let Some(record) = e["CloudTrailEvent"]
                    .as_str()
                    .and_then(|s| serde_json::from_str::<Value>(s).ok())
                {
                    out.push(record);
                }
            }
            match page["NextToken"].as_str() {
                Some(t) => token = Some(t.to_owned()),
                None => break,
            }
        }
        // LookupEvents is newest first; the runner reads oldest first.
        out.reverse();
        out
    }

    fn begin_burst(&self) {
        let _ = self.control(
            &self.in_region("/_hsmdrill/burst"),
            json!({"Action": "begin"}),
        );
    }

    fn burst_clock(&self, offset: Duration) {
        let millis = u64::try_from(offset.as_millis()).unwrap_or(u64::MAX);
        let _ = self.control(
            &self.in_region("/_hsmdrill/burst"),
            json!({"Action": "clock", "OffsetMillis": millis}),
        );
    }

    fn end_burst(&self) {
        let _ = self.control(
            &self.in_region("/_hsmdrill/burst"),
            json!({"Action": "end"}),
        );
    }

    fn region(&self) -> Option<String> {
        self.region.lock().clone()
    }

    fn set_region(&self, region: Option<&str>) -> Result<(), AwsError> {
        if let Some(r) = region.filter(|r| !regions::is_known(r)) {
            return Err(unknown_region(r));
        }
        *self.region.lock() = region.map(str::to_owned);
        Ok(())
    }
}

//! `hsmdrill serve` on loopback, driven with raw HTTP/1.1 requests as the
//! AWS SDKs send them: statuses, `x-amzn-ErrorType`, `__type` and message
//! members, CBOR, CloudTrail, the control API, and a clean shutdown.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::support::http::request;
use crate::support::serve::{example_state, InProcessServer};
use crate::support::EXAMPLE_WORLD;

/// The headers of a KMS ListKeys in JSON 1.1, one by one.
const LIST_KEYS: (&str, &str) = ("X-Amz-Target", "TrentService.ListKeys");
const JSON_1_1: (&str, &str) = ("Content-Type", "application/x-amz-json-1.1");
/// The headers of a Smithy RPC v2 CBOR request, one by one.
const RPC_V2_CBOR: (&str, &str) = ("smithy-protocol", "rpc-v2-cbor");
const CBOR: (&str, &str) = ("Content-Type", "application/cbor");

/// The `x-amzn-ErrorType` header of an answer.
fn error_header(headers: &[(String, String)]) -> Option<&str> {
    headers
        .iter()
        .find(|(k, _)| k == "x-amzn-errortype")
        .map(|(_, v)| v.as_str())
}

/// `hsmdrill serve` on the example world, in this process.
struct Server(InProcessServer);

impl Server {
    fn start() -> Server {
        Server(InProcessServer::start(example_state(None)))
    }

    /// One request on its own connection; `(status, headers, body)`.
    fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, Vec<(String, String)>, Vec<u8>) {
        let r = request(self.0.addr(), method, path, headers, body).unwrap();
        (r.status, r.headers, r.body)
    }

    fn json(&self, target: &str, input: Value) -> (u16, Option<String>, Value) {
        let (status, headers, body) = self.send(
            "POST",
            "/",
            &[("X-Amz-Target", target), JSON_1_1],
            input.to_string().as_bytes(),
        );
        let error_type = error_header(&headers).map(str::to_owned);
        let body = if body.is_empty() {
            json!({})
        } else {
            serde_json::from_slice(&body).unwrap()
        };
        (status, error_type, body)
    }

    fn kms(&self, op: &str, input: Value) -> (u16, Option<String>, Value) {
        self.json(&format!("TrentService.{op}"), input)
    }

    /// `input` under `target`, answered with `status` and the exception
    /// `error` in `x-amzn-ErrorType`; the error's body.
    #[track_caller]
    fn json_error(&self, target: &str, input: Value, status: u16, error: &str) -> Value {
        let (got, error_type, body) = self.json(target, input);
        assert_eq!(
            (got, error_type.as_deref()),
            (status, Some(error)),
            "{body}"
        );
        body
    }

    /// [`Server::json_error`] for the KMS operation `op`.
    #[track_caller]
    fn kms_error(&self, op: &str, input: Value, status: u16, error: &str) -> Value {
        self.json_error(&format!("TrentService.{op}"), input, status, error)
    }

    fn control(&self, path: &str, body: Value) -> (u16, Value) {
        let (status, _, body) = self.send(
            "POST",
            path,
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        );
        (status, serde_json::from_slice(&body).unwrap())
    }
}

#[test]
fn kms_over_json_1_1_round_trips_and_errors_carry_the_exception_name() {
    let s = Server::start();
    let (status, _, out) = s.kms("DescribeCustomKeyStores", json!({}));
    assert_eq!(status, 200);
    let store = &out["CustomKeyStores"][0];
    assert_eq!(
        (&store["CustomKeyStoreName"], &store["ConnectionState"]),
        (&json!("ExampleKeyStore"), &json!("CONNECTED"))
    );

    let (status, _, ct) = s.kms(
        "Encrypt",
        json!({"KeyId": "alias/app", "Plaintext": STANDARD.encode("over the wire")}),
    );
    assert_eq!(status, 200);
    let (status, _, pt) = s.kms("Decrypt", json!({"CiphertextBlob": ct["CiphertextBlob"]}));
    assert_eq!(status, 200);
    assert_eq!(pt["Plaintext"], json!(STANDARD.encode("over the wire")));

    let (status, _, _) = s.kms(
        "DisconnectCustomKeyStore",
        json!({"CustomKeyStoreId": "cks-1234567890abcdef0"}),
    );
    assert_eq!(status, 200);
    let body = s.kms_error(
        "Decrypt",
        json!({"CiphertextBlob": ct["CiphertextBlob"]}),
        400,
        "KMSInvalidStateException",
    );
    assert_eq!(body["__type"], json!("KMSInvalidStateException"));
    assert_eq!(
        body["message"],
        json!("arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab is unavailable.")
    );
}

#[test]
fn the_faults_route_degrades_and_repairs_hsms() {
    let s = Server::start();
    let cluster = "cluster-1a23b4cdefg";
    let states = |s: &Server| {
        let (status, _, out) = s.json(
            "BaldrApiService.DescribeClusters",
            json!({"Filters": {"clusterIds": [cluster]}}),
        );
        assert_eq!(status, 200, "{out}");
        let c = &out["Clusters"][0];
        let hsms: Vec<Value> = c["Hsms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["State"].clone())
            .collect();
        (c["State"].clone(), hsms)
    };
    let encrypt = json!({"KeyId": "alias/app", "Plaintext": "aGk="});

    // Every HSM degraded (I56): the cluster reads DEGRADED and KMS has no
    // HSM to use.
    let (status, out) = s.control(
        "/_hsmdrill/faults",
        json!({"ClusterId": cluster, "DegradeHsm": "all"}),
    );
    assert_eq!(status, 200, "{out}");
    assert_eq!(
        states(&s),
        (
            json!("DEGRADED"),
            vec![json!("DEGRADED"), json!("DEGRADED")]
        )
    );
    let body = s.kms_error("Encrypt", encrypt.clone(), 400, "KMSInvalidStateException");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .starts_with("KMS cannot communicate with your CloudHSM cluster"));

    // One repaired by id through the engine's fault route: KMS uses it.
    let (_, _, out) = s.json(
        "BaldrApiService.DescribeClusters",
        json!({"Filters": {"clusterIds": [cluster]}}),
    );
    let hsm = out["Clusters"][0]["Hsms"][0]["HsmId"].clone();
    let (status, out) = s.control(
        "/_hsmdrill/fault",
        json!({"RepairHsm": {"cluster": cluster, "hsm": hsm}}),
    );
    assert_eq!(status, 200, "{out}");
    assert_eq!(
        states(&s),
        (json!("DEGRADED"), vec![json!("ACTIVE"), json!("DEGRADED")])
    );
    assert_eq!(s.kms("Encrypt", encrypt.clone()).0, 200);

    // The rest repaired: ACTIVE again.
    let (status, out) = s.control(
        "/_hsmdrill/faults",
        json!({"ClusterId": cluster, "RepairHsm": "all"}),
    );
    assert_eq!(status, 200, "{out}");
    assert_eq!(
        states(&s),
        (json!("ACTIVE"), vec![json!("ACTIVE"), json!("ACTIVE")])
    );

    // A member that is neither an HSM id nor "all" is refused.
    let (status, out) = s.control(
        "/_hsmdrill/faults",
        json!({"ClusterId": cluster, "DegradeHsm": 3}),
    );
    assert_eq!(status, 400, "{out}");
    assert_eq!(out["__type"], json!("ValidationException"));
}

#[test]
fn a_server_fault_is_500_and_a_validation_error_400() {
    let s = Server::start();
    let (status, out) = s.control(
        "/_hsmdrill/faults",
        json!({"ClusterId": "cluster-1a23b4cdefg", "ExhaustSessions": true}),
    );
    assert_eq!(status, 200, "{out}");
    let body = s.kms_error(
        "Encrypt",
        json!({"KeyId": "alias/app", "Plaintext": "aGk="}),
        500,
        "KMSInternalException",
    );
    assert!(body["message"].as_str().unwrap().contains("PKCS #11"));
    let body = s.kms_error(
        "Encrypt",
        json!({"Plaintext": "aGk="}),
        400,
        "ValidationException",
    );
    assert!(body["message"].as_str().unwrap().contains("'keyId'"));
}

#[test]
fn protocol_errors_are_aws_errors() {
    let s = Server::start();
    let body = s.json_error(
        "TrentService.NoSuchOperation",
        json!({}),
        400,
        "UnknownOperationException",
    );
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("NoSuchOperation"));
    s.json_error("Bogus.Thing", json!({}), 400, "UnknownOperationException");
    // A CloudHSM operation under the KMS target is unknown to KMS.
    let (status, _, _) = s.json("TrentService.DescribeClusters", json!({}));
    assert_eq!(status, 400);

    let (status, headers, body) = s.send("POST", "/", &[LIST_KEYS, JSON_1_1], b"{not json");
    assert_eq!(
        (status, error_header(&headers)),
        (400, Some("SerializationException"))
    );
    assert!(String::from_utf8_lossy(&body).contains("SerializationException"));

    let (status, _, body) = s.send(
        "POST",
        "/",
        &[LIST_KEYS, ("Content-Type", "text/plain")],
        b"{}",
    );
    assert_eq!(status, 415);
    assert!(String::from_utf8_lossy(&body).contains("Content-Type"));

    let big = vec![b' '; (1 << 20) + 10];
    let (status, headers, body) = s.send("POST", "/", &[LIST_KEYS, JSON_1_1], &big);
    assert_eq!(
        (status, error_header(&headers)),
        (413, Some("RequestEntityTooLargeException"))
    );
    assert!(String::from_utf8_lossy(&body).contains("__type"));

    let (status, _, _) = s.send("GET", "/nowhere", &[], b"");
    assert_eq!(status, 404);

    // Missing headers: no target, no content type, no smithy-protocol.
    let (status, headers, _) = s.send("POST", "/", &[JSON_1_1], b"{}");
    assert_eq!(
        (status, error_header(&headers)),
        (400, Some("UnknownOperationException"))
    );
    let (status, _, body) = s.send("POST", "/", &[LIST_KEYS], b"{}");
    assert_eq!(status, 415);
    assert!(String::from_utf8_lossy(&body).contains("SerializationException"));
    let (status, headers, _) = s.send(
        "POST",
        "/service/BaldrApiService/operation/DescribeClusters",
        &[CBOR],
        &[0xa0],
    );
    assert_eq!(
        (status, error_header(&headers)),
        (400, Some("SerializationException"))
    );
}

#[test]
fn cloudhsm_v2_speaks_json_with_capital_message_and_cbor() {
    let s = Server::start();
    let (status, _, out) = s.json("BaldrApiService.DescribeClusters", json!({}));
    assert_eq!(status, 200);
    assert_eq!(
        out["Clusters"][0]["ClusterId"],
        json!("cluster-1a23b4cdefg")
    );
    let body = s.json_error(
        "BaldrApiService.DeleteCluster",
        json!({"ClusterId": "cluster-nosuchcluster"}),
        400,
        "CloudHsmResourceNotFoundException",
    );
    assert!(body["Message"].is_string(), "{body}");

    let mut req = Vec::new();
    ciborium::ser::into_writer(&ciborium::value::Value::Map(vec![]), &mut req).unwrap();
    let (status, headers, body) = s.send(
        "POST",
        "/service/BaldrApiService/operation/DescribeClusters",
        &[RPC_V2_CBOR, CBOR, ("Accept", "application/cbor")],
        &req,
    );
    assert_eq!(status, 200);
    assert!(headers
        .iter()
        .any(|(k, v)| k == "content-type" && v == "application/cbor"));
    let v: ciborium::value::Value = ciborium::de::from_reader(&body[..]).unwrap();
    let text = format!("{v:?}");
    assert!(text.contains("cluster-1a23b4cdefg"), "{text}");

    let (status, headers, body) = s.send(
        "POST",
        "/service/BaldrApiService/operation/DeleteBackup",
        &[RPC_V2_CBOR, CBOR],
        &[0xff],
    );
    assert_eq!(
        (status, error_header(&headers)),
        (400, Some("SerializationException"))
    );
    let _: ciborium::value::Value = ciborium::de::from_reader(&body[..]).unwrap();
}

#[test]
fn cloudtrail_lookup_events_returns_the_record_as_a_json_string() {
    let s = Server::start();
    s.kms(
        "Encrypt",
        json!({"KeyId": "alias/app", "Plaintext": "aGk="}),
    );
    let (status, _, out) = s.json(
        "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents",
        json!({"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "Encrypt"}]}),
    );
    assert_eq!(status, 200, "{out}");
    let events = out["Events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["EventName"], json!("Encrypt"));
    let record: Value =
        serde_json::from_str(events[0]["CloudTrailEvent"].as_str().unwrap()).unwrap();
    assert_eq!(
        record["additionalEventData"]["customKeyStoreId"],
        json!("cks-1234567890abcdef0")
    );
    // A NextToken is the one a previous page gave for the same query: a
    // bare number, a made-up string or another query's token is refused.
    let lookup = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents";
    s.kms(
        "Encrypt",
        json!({"KeyId": "alias/app", "Plaintext": "aGk="}),
    );
    let (status, _, out) = s.json(lookup, json!({"MaxResults": 1}));
    assert_eq!(status, 200, "{out}");
    let token = out["NextToken"].clone();
    assert!(token.is_string(), "{out}");
    let (status, _, out) = s.json(lookup, json!({"MaxResults": 1, "NextToken": token}));
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["Events"].as_array().map(Vec::len), Some(1), "{out}");
    let (status, _, out) = s.json(
        lookup,
        json!({"NextToken": usize::MAX.to_string(), "MaxResults": 50}),
    );
    assert_eq!(status, 400, "{out}");
    assert_eq!(out["__type"], json!("InvalidNextTokenException"));
    let (status, _, out) = s.json(lookup, json!({"NextToken": "x"}));
    assert_eq!(status, 400, "{out}");
    assert_eq!(out["__type"], json!("InvalidNextTokenException"));
}

/// LookupEvents over the wire: a lookup by each kind of attribute and by
/// time, and CloudTrail's exception for each kind of bad request, with its
/// status and `x-amzn-ErrorType`.
#[test]
fn cloudtrail_lookup_events_filters_by_attribute_and_time_and_refuses_bad_requests() {
    let s = Server::start();
    let lookup = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents";
    s.kms("DescribeKey", json!({"KeyId": "alias/app"}));
    let (status, _) = s.control("/_hsmdrill/clock/advance", json!({"seconds": 5}));
    assert_eq!(status, 200);
    s.kms(
        "Encrypt",
        json!({"KeyId": "alias/app", "Plaintext": "aGk=", "EncryptionContext": {"Project": "Alpha"}}),
    );
    let names = |input: Value| -> Vec<String> {
        let (status, _, out) = s.json(lookup, input);
        assert_eq!(status, 200, "{out}");
        out["Events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["EventName"].as_str().unwrap().to_owned())
            .collect()
    };
    let attr =
        |k: &str, v: &str| json!({"LookupAttributes": [{"AttributeKey": k, "AttributeValue": v}]});
    let arn = "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    assert_eq!(names(attr("ResourceName", arn)), ["Encrypt", "DescribeKey"]);
    assert_eq!(
        names(attr("ResourceType", "AWS::KMS::Key")),
        ["Encrypt", "DescribeKey"]
    );
    assert_eq!(names(attr("ReadOnly", "true")), ["Encrypt", "DescribeKey"]);
    assert!(names(attr("ReadOnly", "false")).is_empty());
    assert_eq!(
        names(attr("Username", "hsmdrill")),
        ["Encrypt", "DescribeKey"]
    );
    assert_eq!(names(attr("EventSource", "kms.amazonaws.com")).len(), 2);
    assert!(names(attr("AccessKeyId", "AKIAIOSFODNN7EXAMPLE")).is_empty());
    let (_, _, out) = s.json(lookup, attr("EventName", "Encrypt"));
    let encrypt = &out["Events"][0];
    let id = encrypt["EventId"].as_str().unwrap();
    assert_eq!(names(attr("EventId", id)), ["Encrypt"]);
    let record: Value = serde_json::from_str(encrypt["CloudTrailEvent"].as_str().unwrap()).unwrap();
    assert_eq!(
        record["requestParameters"]["encryptionContext"],
        json!({"Project": "Alpha"})
    );
    let at = encrypt["EventTime"].as_f64().unwrap();
    assert_eq!(names(json!({"StartTime": at, "EndTime": at})), ["Encrypt"]);
    assert_eq!(names(json!({"EndTime": at - 1.0})), ["DescribeKey"]);
    assert!(names(json!({"EventCategory": "insight"})).is_empty());

    for (input, exception) in [
        (
            json!({"LookupAttributes": [
                {"AttributeKey": "EventName", "AttributeValue": "Encrypt"},
                {"AttributeKey": "ReadOnly", "AttributeValue": "true"},
            ]}),
            "InvalidLookupAttributesException",
        ),
        (attr("Colour", "blue"), "InvalidLookupAttributesException"),
        (attr("ReadOnly", "yes"), "InvalidLookupAttributesException"),
        (attr("EventName", ""), "InvalidLookupAttributesException"),
        (
            json!({"StartTime": at, "EndTime": at - 1.0}),
            "InvalidTimeRangeException",
        ),
        (json!({"MaxResults": 0}), "InvalidMaxResultsException"),
        (json!({"MaxResults": 51}), "InvalidMaxResultsException"),
        (json!({"NextToken": "1"}), "InvalidNextTokenException"),
        (
            json!({"EventCategory": "data"}),
            "InvalidEventCategoryException",
        ),
    ] {
        let (status, error_type, out) = s.json(lookup, input.clone());
        assert_eq!(
            (status, error_type.as_deref(), &out["__type"]),
            (400, Some(exception), &json!(exception)),
            "{input}"
        );
        assert!(out["message"].is_string(), "{out}");
    }
}

#[test]
fn the_control_api_drives_faults_clock_backups_the_cli_and_the_world() {
    let s = Server::start();
    let (status, out) = s.control(
        "/_hsmdrill/faults",
        json!({"ClusterId": "cluster-1a23b4cdefg", "Network": "blocked"}),
    );
    assert_eq!((status, &out["Network"]), (200, &json!("blocked")));
    let body = s.kms_error(
        "Encrypt",
        json!({"KeyId": "alias/app", "Plaintext": "aGk="}),
        400,
        "KMSInvalidStateException",
    );
    assert!(body["message"]
        .as_str()
        .unwrap()
        .starts_with("KMS cannot communicate with your CloudHSM cluster"));
    s.control(
        "/_hsmdrill/faults",
        json!({"ClusterId": "cluster-1a23b4cdefg", "Network": {"Flaky": 1}}),
    );
    assert_eq!(
        s.kms(
            "Encrypt",
            json!({"KeyId": "alias/app", "Plaintext": "aGk="})
        )
        .0,
        400
    );
    assert_eq!(
        s.kms(
            "Encrypt",
            json!({"KeyId": "alias/app", "Plaintext": "aGk="})
        )
        .0,
        200
    );

    let (status, out) = s.control("/_hsmdrill/clusters/cluster-1a23b4cdefg/backup", json!({}));
    assert_eq!(status, 200);
    assert!(out["BackupId"].as_str().unwrap().starts_with("backup-"));
    let (status, out) = s.control(
        "/_hsmdrill/clusters/cluster-nosuchcluster/backup",
        json!({}),
    );
    assert_eq!(status, 404, "{out}");

    let (status, out) = s.control(
        "/_hsmdrill/cloudhsm-cli",
        json!({"ClusterId": "cluster-1a23b4cdefg", "Session": "ops", "Command": "login --username admin --role admin --password adminPassword1"}),
    );
    assert_eq!(status, 200);
    assert_eq!(
        out,
        json!({"error_code": 0, "data": {"username": "admin", "role": "admin"}})
    );

    // Connect attempts take virtual time; the clock endpoint skips it.
    s.kms(
        "DisconnectCustomKeyStore",
        json!({"CustomKeyStoreId": "cks-1234567890abcdef0"}),
    );
    s.kms(
        "ConnectCustomKeyStore",
        json!({"CustomKeyStoreId": "cks-1234567890abcdef0"}),
    );
    let state = |s: &Server| {
        s.kms("DescribeCustomKeyStores", json!({})).2["CustomKeyStores"][0]["ConnectionState"]
            .clone()
    };
    assert_eq!(state(&s), json!("CONNECTING"));
    let (status, _) = s.control("/_hsmdrill/clock/advance", json!({"seconds": 5}));
    assert_eq!(status, 200);
    assert_eq!(state(&s), json!("CONNECTED"));

    let yaml = std::fs::read(EXAMPLE_WORLD).unwrap();
    let (status, _, body) = s.send(
        "POST",
        "/_hsmdrill/world",
        &[("Content-Type", "application/yaml")],
        &yaml,
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let (status, _, body) = s.send(
        "POST",
        "/_hsmdrill/world",
        &[],
        b"clusters: [{colour: red}]",
    );
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&body).contains("colour"));
    let (status, _, body) = s.send("GET", "/_hsmdrill/health", &[], b"");
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&body).contains("\"ok\""));
}

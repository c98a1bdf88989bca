//! The trail against AWS's own example events (`trail_examples/`, each file
//! naming its AWS page in `trail_examples/README.md`): hsmdrill's event for
//! the same call has the same members at every level, values of the same
//! JSON types, and the same fixed values. Ids, times, names, addresses and
//! the caller differ by nature and are compared by type only; the few
//! members hsmdrill cannot have are listed with the fidelity item that says
//! why.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::*;

/// Members whose values are the same in every such event.
const FIXED: &[&str] = &[
    "/eventVersion",
    "/eventSource",
    "/eventName",
    "/eventType",
    "/readOnly",
    "/managementEvent",
    "/eventCategory",
    "/userIdentity/type",
    "/requestParameters",
    "/resources/0/type",
];

/// Members whose values are fixed in a service event only: in an API call
/// they name the caller's address and client, which differ by nature.
const SERVICE_FIXED: &[&str] = &["/userIdentity/invokedBy", "/sourceIPAddress", "/userAgent"];

/// Members of an API call's record that hsmdrill leaves out: it does not
/// record the caller's access key (docs/fidelity.md I58).
const NOT_RECORDED: &[&str] = &["/userIdentity/accessKeyId"];

/// Members hsmdrill records that older examples lack: `eventCategory` and
/// `managementEvent` (in every newer example, e.g. DeleteKey's), the
/// `resources` list, empty for a key store operation, and members KMS added
/// to its responses since. Each is let pass only where the example does not
/// have it.
const ADDED: &[&str] = &[
    "/eventCategory",
    "/managementEvent",
    "/resources",
    // KeyMetadata's `CurrentKeyMaterialId`, which KMS added in 2025.
    "/responseElements/keyMetadata/currentKeyMaterialId",
];

/// The `eventVersion` hsmdrill records, that of the 2021-2022 examples; an
/// older example (Decrypt's `1.05`) is compared member by member all the
/// same.
const EVENT_VERSION: &str = "1.08";

fn example_event(name: &str) -> Value {
    let text = match name {
        "delete_key_cloudhsm" => include_str!("trail_examples/delete_key_cloudhsm.json"),
        "delete_key_aws_kms" => include_str!("trail_examples/delete_key_aws_kms.json"),
        "connect_custom_key_store" => {
            include_str!("trail_examples/connect_custom_key_store.json")
        }
        "describe_custom_key_stores" => {
            include_str!("trail_examples/describe_custom_key_stores.json")
        }
        "create_custom_key_store" => include_str!("trail_examples/create_custom_key_store.json"),
        "disconnect_custom_key_store" => {
            include_str!("trail_examples/disconnect_custom_key_store.json")
        }
        "update_custom_key_store" => include_str!("trail_examples/update_custom_key_store.json"),
        "delete_custom_key_store" => include_str!("trail_examples/delete_custom_key_store.json"),
        "schedule_key_deletion" => include_str!("trail_examples/schedule_key_deletion.json"),
        "decrypt" => include_str!("trail_examples/decrypt.json"),
        "create_key" => include_str!("trail_examples/create_key.json"),
        "encrypt" => include_str!("trail_examples/encrypt.json"),
        "generate_data_key" => include_str!("trail_examples/generate_data_key.json"),
        other => panic!("no example {other}"),
    };
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Every member path of `v` (`/a/b/0/c`) with its JSON type; JSON-encoded
/// strings (CloudTrail's `backingKeys`) are walked as the JSON they hold.
fn shape(v: &Value) -> BTreeSet<(String, &'static str)> {
    fn walk(path: String, v: &Value, out: &mut BTreeSet<(String, &'static str)>) {
        let kind = match v {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(s) => match serde_json::from_str::<Value>(s) {
                Ok(inner @ (Value::Object(_) | Value::Array(_))) => {
                    walk(format!("{path}/json"), &inner, out);
                    "json-string"
                }
                _ => "string",
            },
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    walk(format!("{path}/{i}"), x, out);
                }
                "array"
            }
            Value::Object(m) => {
                for (k, x) in m {
                    walk(format!("{path}/{k}"), x, out);
                }
                "object"
            }
        };
        out.insert((path, kind));
    }
    let mut out = BTreeSet::new();
    walk(String::new(), v, &mut out);
    out
}

/// Asserts `ours` matches AWS's `example` as the module says.
fn assert_like(ours: &Value, example: &Value) {
    let under = |p: &str, s: &str| p == s || p.starts_with(&format!("{s}/"));
    let api_call = example["eventType"] == json!("AwsApiCall");
    let added = |p: &str| {
        ADDED
            .iter()
            .any(|s| under(p, s) && example.pointer(s).is_none())
    };
    let ours_shape: BTreeSet<_> = shape(ours).into_iter().filter(|(p, _)| !added(p)).collect();
    let theirs: BTreeSet<_> = shape(example)
        .into_iter()
        .filter(|(p, _)| !(api_call && NOT_RECORDED.iter().any(|s| under(p, s))))
        .collect();
    let missing: Vec<_> = theirs.difference(&ours_shape).collect();
    let extra: Vec<_> = ours_shape.difference(&theirs).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}, extra {extra:?}\nours: {ours:#}"
    );
    let fixed = FIXED
        .iter()
        .chain(if api_call { &[][..] } else { SERVICE_FIXED });
    for path in fixed {
        let Some(want) = example.pointer(path) else {
            continue;
        };
        if *path == "/eventVersion" {
            assert_eq!(ours.pointer(path), Some(&json!(EVENT_VERSION)), "{path}");
        } else {
            assert_eq!(ours.pointer(path), Some(want), "{path}");
        }
    }
}

/// What the 2025 examples (event version 1.11) have that hsmdrill's 1.08
/// events do not (docs/fidelity.md I61): the key material id, the TLS
/// details, and resources without a `type`.
const NEWER: &[&str] = &["/additionalEventData", "/tlsDetails"];

/// Asserts `ours` matches a 2025 example but for its newer form: the
/// members in [`NEWER`] are dropped from the example, `type` from our
/// resources, and the event versions are not compared.
fn assert_like_newer(ours: &Value, example: &Value) {
    let mut example = example.clone();
    let mut ours = ours.clone();
    for path in NEWER {
        if let Some(m) = example.as_object_mut() {
            m.remove(path.trim_start_matches('/'));
        }
    }
    example["eventVersion"] = json!(EVENT_VERSION);
    for r in ours["resources"].as_array_mut().into_iter().flatten() {
        if let Some(m) = r.as_object_mut() {
            m.remove("type");
        }
    }
    assert_like(&ours, &example);
}

/// The one event named `name`.
fn only_event(e: &Engine, name: &str) -> Value {
    let events = e.trail_events(Some(name));
    assert_eq!(events.len(), 1, "{events:?}");
    events[0].clone()
}

/// R6's page: the DeleteKey service event of a key store key whose
/// material could not be deleted.
#[test]
fn delete_key_service_event_matches_the_troubleshooting_page() {
    let e = example();
    schedule_deletion(&e, KEY_ID, 7);
    disconnect(&e, STORE);
    e.advance(std::time::Duration::from_secs(8 * 86_400));
    let ours = only_event(&e, "DeleteKey");
    assert_like(&ours, &example_event("delete_key_cloudhsm"));
    assert_eq!(ours["responseElements"]["keyId"], json!(KEY_ARN));
    assert_eq!(
        ours["additionalEventData"]["customKeyStoreId"],
        json!(STORE)
    );
    assert_eq!(ours["additionalEventData"]["clusterId"], json!(CLUSTER));
}

/// The developer guide's DeleteKey example: a key with AWS KMS material.
#[test]
fn delete_key_service_event_of_an_aws_kms_key_matches_the_guide() {
    let e = example();
    let created = call(&e, "CreateKey", json!({}));
    let arn = created["KeyMetadata"]["Arn"].clone();
    let id = created["KeyMetadata"]["KeyId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    schedule_deletion(&e, &id, 7);
    e.advance(std::time::Duration::from_secs(8 * 86_400));
    let ours = only_event(&e, "DeleteKey");
    assert_like(&ours, &example_event("delete_key_aws_kms"));
    assert_eq!(ours["responseElements"]["keyId"], arn);
    assert_eq!(ours["resources"][0]["ARN"], arn);
}

#[test]
fn connect_custom_key_store_event_matches_the_guide() {
    let e = disconnected();
    connect(&e, STORE);
    let ours = only_event(&e, "ConnectCustomKeyStore");
    assert_like(&ours, &example_event("connect_custom_key_store"));
    assert_eq!(ours["additionalEventData"]["clusterId"], json!(CLUSTER));
}

#[test]
fn describe_custom_key_stores_event_matches_the_guide() {
    let e = example();
    call(
        &e,
        "DescribeCustomKeyStores",
        json!({"CustomKeyStoreId": STORE}),
    );
    let ours = only_event(&e, "DescribeCustomKeyStores");
    assert_like(&ours, &example_event("describe_custom_key_stores"));
}

/// A second cluster with no key store, for the key store's whole life.
fn spare_cluster() -> (Engine, String) {
    let e = world_from(
        r#"
clusters:
  - id: cluster-2b34c5defgh
custom_key_stores: []
keys: []
"#,
    );
    let trust = e.with_state(|st| {
        st.clusters["cluster-2b34c5defgh"]
            .trust_anchor
            .clone()
            .unwrap()
    });
    let id = call(
        &e,
        "CreateCustomKeyStore",
        json!({
            "CustomKeyStoreName": STORE_NAME,
            "CloudHsmClusterId": "cluster-2b34c5defgh",
            "TrustAnchorCertificate": trust,
            "KeyStorePassword": "kmsPassword1"
        }),
    )["CustomKeyStoreId"]
        .as_str()
        .unwrap()
        .to_owned();
    (e, id)
}

#[test]
fn create_custom_key_store_event_matches_the_guide() {
    let (e, id) = spare_cluster();
    let ours = only_event(&e, "CreateCustomKeyStore");
    let mut example = example_event("create_custom_key_store");
    example["requestParameters"]["clusterId"] = json!("cluster-2b34c5defgh");
    assert_like(&ours, &example);
    assert_eq!(ours["responseElements"]["customKeyStoreId"], json!(id));
    assert_eq!(
        ours["requestParameters"]["clusterId"],
        json!("cluster-2b34c5defgh")
    );
}

#[test]
fn delete_custom_key_store_event_matches_the_guide() {
    let (e, id) = spare_cluster();
    call(&e, "DeleteCustomKeyStore", json!({"CustomKeyStoreId": id}));
    let ours = only_event(&e, "DeleteCustomKeyStore");
    let mut example = example_event("delete_custom_key_store");
    example["requestParameters"]["customKeyStoreId"] = json!(id);
    assert_like(&ours, &example);
    assert_eq!(
        ours["additionalEventData"]["clusterId"],
        json!("cluster-2b34c5defgh")
    );
}

#[test]
fn disconnect_custom_key_store_event_matches_the_guide() {
    let e = example();
    disconnect(&e, STORE);
    let ours = only_event(&e, "DisconnectCustomKeyStore");
    assert_like(&ours, &example_event("disconnect_custom_key_store"));
    assert_eq!(ours["additionalEventData"]["clusterId"], json!(CLUSTER));
}

#[test]
fn update_custom_key_store_event_matches_the_guide() {
    let e = disconnected();
    call(
        &e,
        "UpdateCustomKeyStore",
        json!({"CustomKeyStoreId": STORE, "CloudHsmClusterId": CLUSTER}),
    );
    let ours = only_event(&e, "UpdateCustomKeyStore");
    assert_like(&ours, &example_event("update_custom_key_store"));
}

/// The guide's example is a key with AWS KMS material, asked for with its
/// key id and a 20-day window.
#[test]
fn schedule_key_deletion_event_of_an_aws_kms_key_matches_the_guide() {
    let e = example();
    let created = call(&e, "CreateKey", json!({}));
    let arn = created["KeyMetadata"]["Arn"].clone();
    let id = created["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned();
    call(
        &e,
        "ScheduleKeyDeletion",
        json!({"KeyId": id, "PendingWindowInDays": 20}),
    );
    let ours = only_event(&e, "ScheduleKeyDeletion");
    let mut example = example_event("schedule_key_deletion");
    example["requestParameters"]["keyId"] = json!(id);
    assert_like(&ours, &example);
    assert_eq!(ours["responseElements"]["keyId"], arn);
    assert_eq!(
        ours["responseElements"]["keyState"],
        json!("PendingDeletion")
    );
}

/// The guide's "Decrypt with a standard symmetric encryption key".
#[test]
fn decrypt_event_of_an_aws_kms_key_matches_the_guide() {
    let e = example();
    let created = call(&e, "CreateKey", json!({}));
    let arn = created["KeyMetadata"]["Arn"].as_str().unwrap().to_owned();
    let context = json!({"Department": "Engineering", "Project": "Alpha"});
    let blob = call(
        &e,
        "Encrypt",
        json!({"KeyId": arn, "Plaintext": "aGk=", "EncryptionContext": context}),
    )["CiphertextBlob"]
        .clone();
    call(
        &e,
        "Decrypt",
        json!({"CiphertextBlob": blob, "EncryptionContext": context}),
    );
    let ours = only_event(&e, "Decrypt");
    let mut example = example_event("decrypt");
    example["requestParameters"]["keyId"] = json!(arn);
    assert_like(&ours, &example);
}

/// The guide's CreateKey example creates a key for imported material
/// (`EXTERNAL`, `PendingImport`); hsmdrill's is `AWS_KMS`, which changes
/// only the values that say so.
#[test]
fn create_key_event_matches_the_guide() {
    let e = example();
    call(&e, "CreateKey", json!({"Description": ""}));
    let ours = only_event(&e, "CreateKey");
    let mut example = example_event("create_key");
    example["requestParameters"]["origin"] = json!("AWS_KMS");
    assert_like(&ours, &example);
    let metadata = &ours["responseElements"]["keyMetadata"];
    assert_eq!(metadata["AWSAccountId"], json!("111122223333"));
    assert_eq!(metadata["origin"], json!("AWS_KMS"));
    assert_eq!(metadata["keyState"], json!("Enabled"));
    // The virtual clock's start, 2017-07-05T21:04:55Z, as the example
    // prints a date in keyMetadata.
    assert_eq!(metadata["creationDate"], json!("Jul 5, 2017, 9:04:55 PM"));
}

/// The guide's Encrypt example (2025), with its encryption context.
#[test]
fn encrypt_event_matches_the_guide() {
    let e = example();
    let created = call(&e, "CreateKey", json!({}));
    let arn = created["KeyMetadata"]["Arn"].as_str().unwrap().to_owned();
    call(
        &e,
        "Encrypt",
        json!({"KeyId": arn, "Plaintext": "aGk=", "EncryptionContext": {"Department": "Engineering"}}),
    );
    let ours = only_event(&e, "Encrypt");
    let mut example = example_event("encrypt");
    example["requestParameters"]["keyId"] = json!(arn);
    assert_like_newer(&ours, &example);
}

/// The guide's GenerateDataKey example (2025): `keySpec` in place of
/// `encryptionAlgorithm`.
#[test]
fn generate_data_key_event_matches_the_guide() {
    let e = example();
    let created = call(&e, "CreateKey", json!({}));
    let id = created["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned();
    let context = json!({"Department": "Engineering", "Project": "Alpha"});
    call(
        &e,
        "GenerateDataKey",
        json!({"KeyId": id, "KeySpec": "AES_256", "EncryptionContext": context}),
    );
    let ours = only_event(&e, "GenerateDataKey");
    let mut example = example_event("generate_data_key");
    example["requestParameters"]["keyId"] = json!(id);
    assert_like_newer(&ours, &example);
    // NumberOfBytes is recorded as given, in the same place.
    call(
        &e,
        "GenerateDataKeyWithoutPlaintext",
        json!({"KeyId": id, "NumberOfBytes": 64}),
    );
    let ours = only_event(&e, "GenerateDataKeyWithoutPlaintext");
    assert_eq!(
        ours["requestParameters"],
        json!({"keyId": id, "numberOfBytes": 64})
    );
    assert_eq!(ours["readOnly"], json!(true));
}

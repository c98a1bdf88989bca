//! Every wire name the engine uses, checked against the AWS service models in
//! `reference/aws-models/` (botocore's `kms` and `cloudhsmv2` models): exception
//! shapes and their fault flags, the enums behind states and error codes,
//! operation names, and the member names of real responses (walked through
//! the model's shape tree, so a misspelled member anywhere is caught).

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::OnceLock;

use serde_json::{json, Value};

use hsmdrill::engine::cloudhsm::backup::BackupState;
use hsmdrill::engine::cloudhsm::cluster::{ClusterState, HsmState};
use hsmdrill::engine::dispatch::{Api, Operation};
use hsmdrill::engine::error::Service;
use hsmdrill::engine::kms::key::KeyState;
use hsmdrill::engine::kms::keystore::{ConnectionErrorCode, ConnectionState};
use hsmdrill::engine::{world, Engine, ErrorKind};

use crate::support::{CLOUDHSM_MODEL, EXAMPLE_WORLD, KMS_MODEL};

const STORE: &str = "cks-1234567890abcdef0";
const CLUSTER: &str = "cluster-1a23b4cdefg";
const ALIAS: &str = "alias/app";

fn load_model(path: &str) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read the service model {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"))
}

fn kms() -> &'static Value {
    static M: OnceLock<Value> = OnceLock::new();
    M.get_or_init(|| load_model(KMS_MODEL))
}

fn cloudhsm() -> &'static Value {
    static M: OnceLock<Value> = OnceLock::new();
    M.get_or_init(|| load_model(CLOUDHSM_MODEL))
}

fn example() -> Engine {
    world::load_file(Path::new(EXAMPLE_WORLD))
        .unwrap_or_else(|e| panic!("the example world does not load: {e}"))
}

fn shape<'m>(model: &'m Value, name: &str) -> Option<&'m Value> {
    model["shapes"].get(name)
}

/// The values of a string enum shape, in model order.
fn model_enum(model: &Value, name: &str) -> Vec<String> {
    let s = shape(model, name).unwrap_or_else(|| panic!("no shape {name} in the model"));
    s["enum"]
        .as_array()
        .unwrap_or_else(|| panic!("shape {name} is not an enum: {s}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

fn names(xs: &[&str]) -> Vec<String> {
    xs.iter().map(|s| (*s).to_owned()).collect()
}

// ---------------------------------------------------------------------------
// Exceptions

fn check_exception_kinds(service: Service, model: &Value, message_member: &str) -> usize {
    let mut checked = 0;
    for kind in ErrorKind::ALL.iter().filter(|k| k.service() == service) {
        let name = kind.aws_name();
        let s = shape(model, name)
            .unwrap_or_else(|| panic!("{kind:?}: {name} is not a shape of the {service:?} model"));
        assert_eq!(
            s["exception"],
            json!(true),
            "{kind:?}: shape {name} is not marked \"exception\": true"
        );
        let fault = s.get("fault") == Some(&json!(true));
        assert_eq!(
            fault,
            kind.is_server_fault(),
            "{kind:?}: the model says fault={fault} for {name}, the engine says is_server_fault()={}",
            kind.is_server_fault()
        );
        assert!(
            s["members"].get(message_member).is_some(),
            "{kind:?}: {name} has no `{message_member}` member in the model: {}",
            s["members"]
        );
        assert_eq!(ErrorKind::from_aws_name(name), Some(*kind));
        checked += 1;
    }
    checked
}

#[test]
fn kms_error_kinds_are_kms_exception_shapes_with_the_right_fault_flag() {
    let n = check_exception_kinds(Service::Kms, kms(), "message");
    assert!(n >= 20, "only {n} KMS error kinds");
}

#[test]
fn cloudhsm_error_kinds_are_cloudhsmv2_exception_shapes_with_the_right_fault_flag() {
    let n = check_exception_kinds(Service::CloudHsmV2, cloudhsm(), "Message");
    assert!(n >= 5, "only {n} CloudHSM v2 error kinds");
}

/// The four common kinds are not shapes of any model: they are the errors
/// every AWS JSON-protocol service may return without declaring them
/// (`ValidationException` for model constraint violations,
/// `SerializationException` for a body that does not read as the input
/// shape, `ThrottlingException` for request-rate limits and
/// `UnknownOperationException` for an `X-Amz-Target` naming no operation).
/// SDKs know them from the protocol, not from the service model, so they
/// must not be mistaken for (or collide with) modeled KMS exceptions.
#[test]
fn common_error_kinds_are_unmodeled_protocol_errors() {
    let common: BTreeSet<&str> = ErrorKind::ALL
        .iter()
        .filter(|k| k.service() == Service::Common)
        .map(|k| k.aws_name())
        .collect();
    assert_eq!(
        common,
        BTreeSet::from([
            "SerializationException",
            "ThrottlingException",
            "UnknownOperationException",
            "ValidationException",
        ])
    );
    for name in common {
        assert!(
            shape(kms(), name).is_none(),
            "{name} is a modeled KMS shape; it should not be ErrorKind service Common"
        );
        assert!(
            shape(cloudhsm(), name).is_none(),
            "{name} is a modeled CloudHSM v2 shape; it should not be ErrorKind service Common"
        );
        let kind = ErrorKind::from_aws_name(name).unwrap();
        assert!(!kind.is_server_fault(), "{name} is a client error");
    }
}

#[test]
fn error_kind_names_are_unique_and_well_formed() {
    let mut seen = BTreeSet::new();
    for kind in ErrorKind::ALL {
        let name = kind.aws_name();
        assert!(seen.insert(name), "{name} is used by two kinds");
        assert!(name.ends_with("Exception"), "{name}");
    }
}

// ---------------------------------------------------------------------------
// Enums

#[test]
fn connection_error_codes_cover_every_cloudhsm_value_of_the_model() {
    let model = model_enum(kms(), "ConnectionErrorCodeType");
    let ours: Vec<&str> = ConnectionErrorCode::ALL
        .iter()
        .map(|c| c.as_str())
        .collect();
    let unique: BTreeSet<&str> = ours.iter().copied().collect();
    assert_eq!(unique.len(), ours.len(), "duplicate codes in {ours:?}");
    for code in &ours {
        assert!(
            model.iter().any(|m| m == code),
            "{code} is not a ConnectionErrorCodeType value: {model:?}"
        );
        assert!(!code.starts_with("XKS_"), "{code} is an XKS-only value");
    }
    // Every value that can arise for a CloudHSM key store (all but XKS_*).
    for m in model.iter().filter(|m| !m.starts_with("XKS_")) {
        assert!(
            unique.contains(m.as_str()),
            "ConnectionErrorCodeType value {m} has no ConnectionErrorCode"
        );
    }
}

#[test]
fn connection_error_codes_serialize_as_their_wire_names() {
    for code in ConnectionErrorCode::ALL {
        assert_eq!(serde_json::to_value(code).unwrap(), json!(code.as_str()));
    }
}

/// The names of each state enum (connection, key, cluster, HSM, backup)
/// are its model enum's values, in the model's order; a failure names the
/// model's shape.
#[test]
fn state_names_are_the_model_enums_in_order() {
    let enums: [(&[&str], &Value, &str); 5] = [
        (ConnectionState::NAMES, kms(), "ConnectionStateType"),
        (KeyState::NAMES, kms(), "KeyState"),
        (ClusterState::NAMES, cloudhsm(), "ClusterState"),
        (HsmState::NAMES, cloudhsm(), "HsmState"),
        (BackupState::NAMES, cloudhsm(), "BackupState"),
    ];
    for (ours, model, shape) in enums {
        assert_eq!(names(ours), model_enum(model, shape), "{shape}");
    }
}

// ---------------------------------------------------------------------------
// Operations

#[test]
fn every_operation_is_an_operation_of_its_service_model() {
    let mut seen = BTreeSet::new();
    for op in Operation::ALL {
        let name = op.name();
        assert!(seen.insert(name), "{name} listed twice");
        assert_eq!(Operation::from_name(name), Some(*op));
        let (own, other, own_name) = match op.api() {
            Api::Kms => (kms(), cloudhsm(), "KMS"),
            Api::CloudHsmV2 => (cloudhsm(), kms(), "CloudHSM v2"),
        };
        let o = own["operations"]
            .get(name)
            .unwrap_or_else(|| panic!("{name} is not an operation of the {own_name} model"));
        assert_eq!(o["name"], json!(name));
        // A name both services use (TagResource, UntagResource) is
        // implemented for one and answered "not supported" for the other.
        let other_api = match op.api() {
            Api::Kms => Api::CloudHsmV2,
            Api::CloudHsmV2 => Api::Kms,
        };
        assert!(
            other["operations"].get(name).is_none()
                || hsmdrill::engine::dispatch::not_supported(other_api, name).is_some(),
            "{name} also names an operation of the other service"
        );
    }
}

#[test]
fn call_api_refuses_an_operation_of_the_other_service() {
    let e = example();
    let err = e
        .call_api(Api::Kms, "DescribeClusters", json!({}))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownOperation);
    let err = e
        .call_api(Api::CloudHsmV2, "DescribeKey", json!({"KeyId": ALIAS}))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownOperation);
    assert!(e
        .call_api(Api::CloudHsmV2, "DescribeClusters", json!({}))
        .is_ok());
}

// ---------------------------------------------------------------------------
// Response members

/// Walks `v` through the model's shape `name`: every object key must be a
/// member of its structure, lists and maps recurse into their member and
/// value shapes, scalars must have the JSON type the `json` protocol gives
/// them, enum strings must be enum values, and required members must be
/// present. Returns how many members were visited.
fn walk(model: &Value, name: &str, v: &Value, path: &str, problems: &mut Vec<String>) -> usize {
    let Some(s) = shape(model, name) else {
        problems.push(format!("{path}: shape {name} is not in the model"));
        return 0;
    };
    let ty = s["type"].as_str().unwrap_or("?");
    let mut visited = 0;
    let mut wrong = |expected: &str| {
        problems.push(format!(
            "{path}: expected {expected} for shape {name} ({ty}), got {v}"
        ))
    };
    match ty {
        "structure" => {
            let Some(obj) = v.as_object() else {
                wrong("an object");
                return 0;
            };
            for (k, mv) in obj {
                let p = format!("{path}.{k}");
                match s["members"].get(k) {
                    Some(m) => {
                        visited += 1;
                        let ms = m["shape"].as_str().unwrap_or("?");
                        visited += walk(model, ms, mv, &p, problems);
                    }
                    None => {
                        let known: Vec<&String> = s["members"]
                            .as_object()
                            .map(|m| m.keys().collect())
                            .unwrap_or_default();
                        problems.push(format!(
                            "{p}: `{k}` is not a member of shape {name}; members are {known:?}"
                        ));
                    }
                }
            }
            for r in s["required"].as_array().into_iter().flatten() {
                let r = r.as_str().unwrap_or("?");
                if !obj.contains_key(r) {
                    problems.push(format!(
                        "{path}: required member `{r}` of shape {name} is missing"
                    ));
                }
            }
        }
        "list" => {
            let Some(items) = v.as_array() else {
                wrong("an array");
                return 0;
            };
            let ms = s["member"]["shape"].as_str().unwrap_or("?");
            for (i, item) in items.iter().enumerate() {
                visited += walk(model, ms, item, &format!("{path}[{i}]"), problems);
            }
        }
        "map" => {
            let Some(obj) = v.as_object() else {
                wrong("an object");
                return 0;
            };
            let ks = s["key"]["shape"].as_str().unwrap_or("?");
            let vs = s["value"]["shape"].as_str().unwrap_or("?");
            for (k, mv) in obj {
                walk(model, ks, &json!(k), &format!("{path}.<key {k}>"), problems);
                visited += walk(model, vs, mv, &format!("{path}.{k}"), problems);
            }
        }
        "string" => match v.as_str() {
            None => wrong("a string"),
            Some(x) => {
                if let Some(values) = s["enum"].as_array() {
                    if !values.iter().any(|e| e == x) {
                        problems.push(format!(
                            "{path}: `{x}` is not a value of enum {name}: {values:?}"
                        ));
                    }
                }
            }
        },
        "blob" => {
            if !v.is_string() {
                wrong("a base64 string");
            }
        }
        "boolean" => {
            if !v.is_boolean() {
                wrong("a boolean");
            }
        }
        "integer" | "long" => {
            if !(v.is_i64() || v.is_u64()) {
                wrong("an integer");
            }
        }
        "double" | "float" => {
            if !v.is_number() {
                wrong("a number");
            }
        }
        // The JSON protocols send timestamps as epoch seconds.
        "timestamp" => {
            if !v.is_number() {
                wrong("epoch seconds");
            }
        }
        other => problems.push(format!("{path}: shape {name} has unhandled type {other}")),
    }
    visited
}

/// Checks an operation's successful output against its output shape.
fn check_output(op: &str, out: &Value) -> usize {
    let api = Operation::from_name(op)
        .unwrap_or_else(|| panic!("{op} is not an engine operation"))
        .api();
    let model = match api {
        Api::Kms => kms(),
        Api::CloudHsmV2 => cloudhsm(),
    };
    let Some(output) = model["operations"][op]["output"]["shape"].as_str() else {
        // No output members: the JSON protocols send `{}`.
        assert_eq!(out, &json!({}), "{op} has no output shape in the model");
        return 0;
    };
    let mut problems = Vec::new();
    let visited = walk(model, output, out, op, &mut problems);
    assert!(
        problems.is_empty(),
        "{op} output does not match shape {output}:\n  {}\nfull output: {out:#}",
        problems.join("\n  ")
    );
    visited
}

fn ok(e: &Engine, op: &str, input: Value) -> Value {
    e.call(op, input.clone())
        .unwrap_or_else(|err| panic!("{op} {input} failed: {err}"))
}

/// Calls `op` and checks its output; returns the output.
fn checked(e: &Engine, op: &str, input: Value) -> Value {
    let out = ok(e, op, input);
    check_output(op, &out);
    out
}

#[test]
fn the_walker_catches_misspelled_and_mistyped_members() {
    let mut problems = Vec::new();
    let bad = json!({
        "CustomKeyStores": [{
            "CustomKeyStoreID": "cks-1",
            "ConnectionState": "ONLINE",
            "CreationDate": "yesterday"
        }],
        "Truncated": "no"
    });
    walk(
        kms(),
        "DescribeCustomKeyStoresResponse",
        &bad,
        "x",
        &mut problems,
    );
    assert_eq!(problems.len(), 4, "{problems:#?}");
    let mut problems = Vec::new();
    walk(
        cloudhsm(),
        "Backup",
        &json!({"BackupState": "READY"}),
        "b",
        &mut problems,
    );
    assert_eq!(problems.len(), 1, "required BackupId: {problems:#?}");
}

#[test]
fn representative_responses_use_only_model_member_names() {
    let e = example();

    let out = checked(&e, "DescribeCustomKeyStores", json!({}));
    let store = &out["CustomKeyStores"][0];
    assert_eq!(store["CustomKeyStoreId"], json!(STORE));
    assert_eq!(store["CustomKeyStoreName"], json!("ExampleKeyStore"));
    assert_eq!(store["CloudHsmClusterId"], json!(CLUSTER));
    assert_eq!(store["ConnectionState"], json!("CONNECTED"));

    let out = checked(&e, "DescribeKey", json!({"KeyId": ALIAS}));
    let meta = &out["KeyMetadata"];
    assert_eq!(meta["KeyState"], json!("Enabled"));
    assert_eq!(meta["CustomKeyStoreId"], json!(STORE));
    assert_eq!(meta["CloudHsmClusterId"], json!(CLUSTER));
    assert_eq!(meta["Origin"], json!("AWS_CLOUDHSM"));

    let n = check_output(
        "Encrypt",
        &ok(
            &e,
            "Encrypt",
            json!({"KeyId": ALIAS, "Plaintext": "aGVsbG8=", "EncryptionContext": {"a": "b"}}),
        ),
    );
    assert_eq!(n, 3);

    let out = checked(&e, "DescribeClusters", json!({}));
    let cluster = &out["Clusters"][0];
    assert_eq!(cluster["ClusterId"], json!(CLUSTER));
    assert_eq!(cluster["State"], json!("ACTIVE"));
    assert!(cluster["Hsms"].as_array().is_some_and(|h| !h.is_empty()));

    let out = checked(&e, "DescribeBackups", json!({}));
    assert!(out["Backups"].as_array().is_some_and(|b| !b.is_empty()));
}

/// The `ConnectionState` and `ConnectionErrorCode` (null but for a FAILED
/// store) of the first store a DescribeCustomKeyStores answer lists.
fn connection(out: &Value) -> (&Value, &Value) {
    let store = &out["CustomKeyStores"][0];
    (&store["ConnectionState"], &store["ConnectionErrorCode"])
}

/// The rest of the operations, on a scripted walk through the example world
/// that also reaches the optional members (`ConnectionErrorCode`,
/// `DeletionDate`, `PendingWindowInDays`, HSMs in progress, a backup pending
/// deletion).
#[test]
fn responses_along_a_scripted_walk_use_only_model_member_names() {
    let e = example();
    let mut covered = BTreeSet::new();
    let mut step = |op: &'static str, input: Value| {
        covered.insert(op);
        checked(&e, op, input)
    };

    // KMS data plane.
    let blob = step(
        "Encrypt",
        json!({"KeyId": ALIAS, "Plaintext": "aGVsbG8=", "EncryptionContext": {"k": "v"}}),
    )["CiphertextBlob"]
        .clone();
    let out = step(
        "Decrypt",
        json!({"CiphertextBlob": blob, "EncryptionContext": {"k": "v"}}),
    );
    assert_eq!(out["Plaintext"], json!("aGVsbG8="));
    step(
        "ReEncrypt",
        json!({"CiphertextBlob": blob, "SourceEncryptionContext": {"k": "v"}, "DestinationKeyId": ALIAS}),
    );
    step(
        "GenerateDataKey",
        json!({"KeyId": ALIAS, "KeySpec": "AES_256"}),
    );
    step(
        "GenerateDataKeyWithoutPlaintext",
        json!({"KeyId": ALIAS, "NumberOfBytes": 32}),
    );
    step("GenerateRandom", json!({"NumberOfBytes": 16}));
    step(
        "GenerateRandom",
        json!({"NumberOfBytes": 16, "CustomKeyStoreId": STORE}),
    );

    // KMS keys and aliases.
    let key = step(
        "CreateKey",
        json!({"Origin": "AWS_CLOUDHSM", "CustomKeyStoreId": STORE, "Description": "walk"}),
    )["KeyMetadata"]["KeyId"]
        .as_str()
        .unwrap()
        .to_owned();
    step(
        "CreateAlias",
        json!({"AliasName": "alias/walk", "TargetKeyId": key}),
    );
    step("ListKeys", json!({}));
    step("ListKeys", json!({"Limit": 1}));
    step("ListAliases", json!({}));
    step("ListAliases", json!({"KeyId": key}));
    step("DeleteAlias", json!({"AliasName": "alias/walk"}));
    step("DisableKey", json!({"KeyId": key}));
    step("EnableKey", json!({"KeyId": key}));
    step(
        "ScheduleKeyDeletion",
        json!({"KeyId": key, "PendingWindowInDays": 7}),
    );
    let out = step("DescribeKey", json!({"KeyId": key}));
    assert_eq!(out["KeyMetadata"]["KeyState"], json!("PendingDeletion"));
    assert!(out["KeyMetadata"].get("DeletionDate").is_some());
    step("CancelKeyDeletion", json!({"KeyId": key}));

    // Key management, on an AWS_KMS key with every optional member.
    let own = step(
        "CreateKey",
        json!({"Tags": [{"TagKey": "t", "TagValue": "v"}]}),
    )["KeyMetadata"]["KeyId"]
        .as_str()
        .unwrap()
        .to_owned();
    step(
        "TagResource",
        json!({"KeyId": own, "Tags": [{"TagKey": "u", "TagValue": ""}]}),
    );
    step("UntagResource", json!({"KeyId": own, "TagKeys": ["u"]}));
    step("ListResourceTags", json!({"KeyId": own, "Limit": 1}));
    let policy = step("GetKeyPolicy", json!({"KeyId": own}))["Policy"].clone();
    step("PutKeyPolicy", json!({"KeyId": own, "Policy": policy}));
    step("ListKeyPolicies", json!({"KeyId": own}));
    step("EnableKeyRotation", json!({"KeyId": own}));
    step("GetKeyRotationStatus", json!({"KeyId": own}));
    step("RotateKeyOnDemand", json!({"KeyId": own}));
    step(
        "ListKeyRotations",
        json!({"KeyId": own, "IncludeKeyMaterial": "ALL_KEY_MATERIAL", "Limit": 1}),
    );
    step("DisableKeyRotation", json!({"KeyId": own}));
    let principal = "arn:aws:iam::111122223333:role/walk";
    let grant = step(
        "CreateGrant",
        json!({"KeyId": own, "GranteePrincipal": principal, "RetiringPrincipal": principal, "Operations": ["Encrypt"], "Name": "walk", "Constraints": {"EncryptionContextSubset": {"k": "v"}}}),
    );
    step("ListGrants", json!({"KeyId": own}));
    step(
        "ListRetirableGrants",
        json!({"RetiringPrincipal": principal}),
    );
    step("RetireGrant", json!({"GrantToken": grant["GrantToken"]}));
    let grant = step(
        "CreateGrant",
        json!({"KeyId": own, "GranteePrincipal": principal, "Operations": ["Decrypt"]}),
    );
    step(
        "RevokeGrant",
        json!({"KeyId": own, "GrantId": grant["GrantId"]}),
    );
    step(
        "UpdateAlias",
        json!({"AliasName": "alias/app", "TargetKeyId": own}),
    );
    step(
        "UpdateKeyDescription",
        json!({"KeyId": own, "Description": "walked"}),
    );
    step("DescribeKey", json!({"KeyId": own}));
    step(
        "UpdateAlias",
        json!({"AliasName": "alias/app", "TargetKeyId": "1234abcd-12ab-34cd-56ef-1234567890ab"}),
    );

    // Custom key store: disconnect, a failed connect, and back.
    step(
        "DisconnectCustomKeyStore",
        json!({"CustomKeyStoreId": STORE}),
    );
    e.settle();
    let out = step(
        "DescribeCustomKeyStores",
        json!({"CustomKeyStoreId": STORE}),
    );
    assert_eq!(connection(&out), (&json!("DISCONNECTED"), &Value::Null));
    let out = step("DescribeKey", json!({"KeyId": ALIAS}));
    assert_eq!(out["KeyMetadata"]["KeyState"], json!("Unavailable"));
    step(
        "UpdateCustomKeyStore",
        json!({"CustomKeyStoreId": STORE, "NewCustomKeyStoreName": "Renamed"}),
    );
    e.inject_internal_errors(CLUSTER, 1).unwrap();
    step("ConnectCustomKeyStore", json!({"CustomKeyStoreId": STORE}));
    e.settle();
    let out = step(
        "DescribeCustomKeyStores",
        json!({"CustomKeyStoreName": "Renamed"}),
    );
    assert_eq!(
        connection(&out),
        (&json!("FAILED"), &json!("INTERNAL_ERROR"))
    );
    step(
        "DisconnectCustomKeyStore",
        json!({"CustomKeyStoreId": STORE}),
    );
    e.settle();
    step("ConnectCustomKeyStore", json!({"CustomKeyStoreId": STORE}));
    e.settle();
    let out = step("DescribeCustomKeyStores", json!({"Limit": 1}));
    assert_eq!(connection(&out), (&json!("CONNECTED"), &Value::Null));

    // CloudHSM v2.
    let hsm = step(
        "CreateHsm",
        json!({"ClusterId": CLUSTER, "AvailabilityZone": "us-west-2a"}),
    )["Hsm"]["HsmId"]
        .as_str()
        .unwrap()
        .to_owned();
    step("DescribeClusters", json!({}));
    e.settle();
    step("DeleteHsm", json!({"ClusterId": CLUSTER, "HsmId": hsm}));
    step(
        "DescribeClusters",
        json!({"Filters": {"clusterIds": [CLUSTER]}}),
    );
    let backup = ok(&e, "DescribeBackups", json!({}))["Backups"][0]["BackupId"]
        .as_str()
        .unwrap()
        .to_owned();
    step("DeleteBackup", json!({"BackupId": backup}));
    let out = step("DescribeBackups", json!({}));
    assert_eq!(out["Backups"][0]["BackupState"], json!("PENDING_DELETION"));
    step("RestoreBackup", json!({"BackupId": backup}));
    let subnets: Vec<Value> = ok(&e, "DescribeClusters", json!({}))["Clusters"][0]["SubnetMapping"]
        .as_object()
        .unwrap()
        .values()
        .cloned()
        .collect();
    let new_cluster = step(
        "CreateCluster",
        json!({"HsmType": "hsm2m.medium", "SubnetIds": subnets, "SourceBackupId": backup}),
    )["Cluster"]["ClusterId"]
        .as_str()
        .unwrap()
        .to_owned();
    e.settle();
    step("DescribeClusters", json!({}));
    step("DeleteCluster", json!({"ClusterId": new_cluster}));
    e.settle();
    step("DescribeClusters", json!({}));
    let fresh = step(
        "CreateCluster",
        json!({"HsmType": "hsm2m.medium", "SubnetIds": subnets}),
    )["Cluster"]["ClusterId"]
        .as_str()
        .unwrap()
        .to_owned();
    e.settle();
    step(
        "CreateHsm",
        json!({"ClusterId": fresh, "AvailabilityZone": "us-west-2b"}),
    );
    e.settle();
    let csr = ok(
        &e,
        "DescribeClusters",
        json!({"Filters": {"clusterIds": [fresh]}}),
    )["Clusters"][0]["Certificates"]["ClusterCsr"]
        .clone();
    assert!(
        csr.is_string(),
        "an UNINITIALIZED cluster with an HSM offers its CSR"
    );
    let signed = e.sign_cluster_csr(&fresh).unwrap();
    step(
        "InitializeCluster",
        json!({"ClusterId": fresh, "SignedCert": signed.signed_cert, "TrustAnchor": signed.trust_anchor}),
    );
    e.settle();
    step("DescribeClusters", json!({}));

    let missing: Vec<&str> = Operation::ALL
        .iter()
        .map(|o| o.name())
        .filter(|n| !covered.contains(n))
        .collect();
    assert_eq!(
        missing,
        ["CreateCustomKeyStore", "DeleteCustomKeyStore"],
        "operations whose output this walk does not check"
    );
}

/// CreateCustomKeyStore and DeleteCustomKeyStore, on a second cluster of
/// their own.
#[test]
fn create_and_delete_custom_key_store_responses_use_only_model_member_names() {
    let e = world::load_str(
        r#"
clusters:
  - id: cluster-2b34c5defgh
custom_key_stores: []
keys: []
"#,
        "inline",
    )
    .unwrap_or_else(|err| panic!("{err}"));
    // DescribeClusters does not show the trust anchor; read it from the state.
    let trust = e.with_state(|st| {
        st.clusters["cluster-2b34c5defgh"]
            .trust_anchor
            .clone()
            .unwrap()
    });
    let id = checked(
        &e,
        "CreateCustomKeyStore",
        json!({
            "CustomKeyStoreName": "Second",
            "CloudHsmClusterId": "cluster-2b34c5defgh",
            "TrustAnchorCertificate": trust,
            "KeyStorePassword": "kmsPassword1"
        }),
    )["CustomKeyStoreId"]
        .as_str()
        .unwrap()
        .to_owned();
    checked(&e, "DescribeCustomKeyStores", json!({}));
    checked(&e, "DeleteCustomKeyStore", json!({"CustomKeyStoreId": id}));
}

/// Front ends check a scenario's arguments against `input_members`; it must
/// be exactly the model's input shape of each operation.
#[test]
fn operation_input_members_are_the_model_input_shapes() {
    for op in Operation::ALL {
        let model = match op.api() {
            Api::Kms => kms(),
            Api::CloudHsmV2 => cloudhsm(),
        };
        let input = &model["operations"][op.name()]["input"]["shape"];
        let expected: Vec<String> = input
            .as_str()
            .and_then(|s| shape(model, s))
            .and_then(|s| s["members"].as_object())
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        let actual: Vec<String> = op.input_members().iter().map(|s| s.to_string()).collect();
        assert_eq!(actual, expected, "{}", op.name());
    }
}

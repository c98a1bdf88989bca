//! Key management on the example world: an `AWS_KMS` key beside the
//! store key `1234abcd-…` of `ExampleKeyStore`.

use serde_json::{json, Value};

use crate::engine::world::example;
use crate::engine::Engine;

const STORE_KEY: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";
const STORE: &str = "cks-1234567890abcdef0";

fn kms_key(e: &Engine) -> String {
    let out = e.call("CreateKey", json!({})).unwrap();
    out["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned()
}

fn err(e: &Engine, op: &str, input: Value) -> (String, String) {
    let err = e.call(op, input).unwrap_err();
    (err.aws_name().to_owned(), err.message().to_owned())
}

#[test]
fn create_key_without_arguments_makes_a_symmetric_aws_kms_key() {
    let e = example();
    let out = e.call("CreateKey", json!({})).unwrap();
    let m = &out["KeyMetadata"];
    assert_eq!(m["Origin"], "AWS_KMS");
    assert_eq!(m["KeyState"], "Enabled");
    assert_eq!(m["KeySpec"], "SYMMETRIC_DEFAULT");
    assert!(m.get("CustomKeyStoreId").is_none(), "{m}");
    assert!(m.get("CloudHsmClusterId").is_none(), "{m}");
    assert_eq!(m["CurrentKeyMaterialId"].as_str().unwrap().len(), 64);
}

#[test]
fn an_aws_kms_key_encrypts_while_the_store_is_disconnected() {
    let e = example();
    let key = kms_key(&e);
    e.call(
        "DisconnectCustomKeyStore",
        json!({"CustomKeyStoreId": STORE}),
    )
    .unwrap();
    e.settle();
    let blob = e
        .call("Encrypt", json!({"KeyId": key, "Plaintext": "aGVsbG8="}))
        .unwrap()["CiphertextBlob"]
        .clone();
    let out = e.call("Decrypt", json!({"CiphertextBlob": blob})).unwrap();
    assert_eq!(out["Plaintext"], "aGVsbG8=");
    // The store key does not.
    let (name, _) = err(
        &e,
        "Encrypt",
        json!({"KeyId": STORE_KEY, "Plaintext": "aGVsbG8="}),
    );
    assert_eq!(name, "KMSInvalidStateException");
    let d = e.call("DescribeKey", json!({"KeyId": key})).unwrap();
    assert_eq!(d["KeyMetadata"]["KeyState"], "Enabled");
}

#[test]
fn tags_round_trip_and_break_the_rules_with_tag_exception() {
    let e = example();
    let key = kms_key(&e);
    e.call(
        "TagResource",
        json!({"KeyId": key, "Tags": [{"TagKey": "team", "TagValue": "drill"}, {"TagKey": "env", "TagValue": ""}]}),
    )
    .unwrap();
    e.call(
        "UntagResource",
        json!({"KeyId": key, "TagKeys": ["env", "absent"]}),
    )
    .unwrap();
    let out = e.call("ListResourceTags", json!({"KeyId": key})).unwrap();
    assert_eq!(
        out["Tags"],
        json!([{"TagKey": "team", "TagValue": "drill"}])
    );
    assert_eq!(out["Truncated"], false);
    let (name, message) = err(
        &e,
        "TagResource",
        json!({"KeyId": key, "Tags": [{"TagKey": "aws:reserved", "TagValue": "x"}]}),
    );
    assert_eq!(name, "TagException", "{message}");
    let (name, _) = err(
        &e,
        "CreateKey",
        json!({"Tags": [{"TagKey": "a", "TagValue": "1"}, {"TagKey": "a", "TagValue": "2"}]}),
    );
    assert_eq!(name, "TagException");
    let (name, message) = err(
        &e,
        "TagResource",
        json!({"KeyId": key, "Tags": [{"TagKey": "k".repeat(129), "TagValue": "x"}]}),
    );
    assert_eq!(name, "ValidationException");
    assert!(message.contains("'tags.1.member.tagKey'"), "{message}");
    let many: Vec<Value> = (0..51)
        .map(|i| json!({"TagKey": format!("k{i}"), "TagValue": "v"}))
        .collect();
    let (name, _) = err(&e, "TagResource", json!({"KeyId": key, "Tags": many}));
    assert_eq!(name, "LimitExceededException");
    // A store key is tagged the same way, even while Unavailable.
    e.call(
        "DisconnectCustomKeyStore",
        json!({"CustomKeyStoreId": STORE}),
    )
    .unwrap();
    e.settle();
    e.call(
        "TagResource",
        json!({"KeyId": STORE_KEY, "Tags": [{"TagKey": "t", "TagValue": "v"}]}),
    )
    .unwrap();
}

#[test]
fn tagging_a_key_pending_deletion_is_kms_invalid_state() {
    let e = example();
    let key = kms_key(&e);
    e.call("ScheduleKeyDeletion", json!({"KeyId": key}))
        .unwrap();
    let (name, _) = err(
        &e,
        "TagResource",
        json!({"KeyId": key, "Tags": [{"TagKey": "t", "TagValue": "v"}]}),
    );
    assert_eq!(name, "KMSInvalidStateException");
    let (name, _) = err(
        &e,
        "CreateAlias",
        json!({"AliasName": "alias/late", "TargetKeyId": key}),
    );
    assert_eq!(name, "KMSInvalidStateException");
}

#[test]
fn list_resource_tags_pages_with_limit_and_marker() {
    let e = example();
    let tags: Vec<Value> = (0..5)
        .map(|i| json!({"TagKey": format!("k{i}"), "TagValue": "v"}))
        .collect();
    let out = e.call("CreateKey", json!({"Tags": tags})).unwrap();
    let key = out["KeyMetadata"]["KeyId"].clone();
    let first = e
        .call("ListResourceTags", json!({"KeyId": key, "Limit": 2}))
        .unwrap();
    assert_eq!(first["Truncated"], true);
    assert_eq!(first["NextMarker"], "k2");
    let rest = e
        .call(
            "ListResourceTags",
            json!({"KeyId": key, "Limit": 50, "Marker": "k2"}),
        )
        .unwrap();
    assert_eq!(rest["Tags"].as_array().unwrap().len(), 3);
    let (name, _) = err(&e, "ListResourceTags", json!({"KeyId": key, "Limit": 51}));
    assert_eq!(name, "ValidationException");
}

#[test]
fn the_default_key_policy_and_put_key_policy() {
    let e = example();
    let key = kms_key(&e);
    let out = e.call("GetKeyPolicy", json!({"KeyId": key})).unwrap();
    assert_eq!(out["PolicyName"], "default");
    let policy: Value = serde_json::from_str(out["Policy"].as_str().unwrap()).unwrap();
    assert_eq!(policy["Statement"][0]["Sid"], "Enable IAM User Permissions");
    assert_eq!(
        policy["Statement"][0]["Principal"]["AWS"],
        "arn:aws:iam::111122223333:root"
    );
    assert_eq!(policy["Statement"][0]["Action"], "kms:*");
    let mine = r#"{"Version":"2012-10-17","Statement":[]}"#;
    e.call("PutKeyPolicy", json!({"KeyId": key, "Policy": mine}))
        .unwrap();
    let out = e
        .call(
            "GetKeyPolicy",
            json!({"KeyId": key, "PolicyName": "default"}),
        )
        .unwrap();
    assert_eq!(out["Policy"], mine);
    let (name, _) = err(
        &e,
        "PutKeyPolicy",
        json!({"KeyId": key, "Policy": "{not json"}),
    );
    assert_eq!(name, "MalformedPolicyDocumentException");
    let (name, _) = err(&e, "CreateKey", json!({"Policy": "[]"}));
    assert_eq!(name, "MalformedPolicyDocumentException");
    let out = e.call("ListKeyPolicies", json!({"KeyId": key})).unwrap();
    assert_eq!(out["PolicyNames"], json!(["default"]));
}

#[test]
fn rotation_keeps_old_ciphertexts_decryptable() {
    let e = example();
    let key = kms_key(&e);
    let status = e
        .call("GetKeyRotationStatus", json!({"KeyId": key}))
        .unwrap();
    assert_eq!(status["KeyRotationEnabled"], false);
    e.call(
        "EnableKeyRotation",
        json!({"KeyId": key, "RotationPeriodInDays": 90}),
    )
    .unwrap();
    let status = e
        .call("GetKeyRotationStatus", json!({"KeyId": key}))
        .unwrap();
    assert_eq!(status["KeyRotationEnabled"], true);
    assert_eq!(status["RotationPeriodInDays"], 90);
    let old = e
        .call("Encrypt", json!({"KeyId": key, "Plaintext": "b2xk"}))
        .unwrap()["CiphertextBlob"]
        .clone();
    e.call("RotateKeyOnDemand", json!({"KeyId": key})).unwrap();
    // The clock's rotation, 90 days on.
    e.advance(std::time::Duration::from_secs(91 * 86_400));
    let rotations = e.call("ListKeyRotations", json!({"KeyId": key})).unwrap();
    let types: Vec<&str> = rotations["Rotations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["RotationType"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["ON_DEMAND", "AUTOMATIC"]);
    let out = e.call("Decrypt", json!({"CiphertextBlob": old})).unwrap();
    assert_eq!(out["Plaintext"], "b2xk");
    let (name, _) = err(
        &e,
        "EnableKeyRotation",
        json!({"KeyId": key, "RotationPeriodInDays": 89}),
    );
    assert_eq!(name, "ValidationException");
}

#[test]
fn keys_in_a_custom_key_store_cannot_rotate() {
    let e = example();
    for op in [
        "EnableKeyRotation",
        "DisableKeyRotation",
        "GetKeyRotationStatus",
        "RotateKeyOnDemand",
        "ListKeyRotations",
    ] {
        let (name, message) = err(&e, op, json!({"KeyId": STORE_KEY}));
        assert_eq!(name, "UnsupportedOperationException", "{op}");
        assert!(
            message.ends_with("origin is AWS_CLOUDHSM which is not valid for this operation."),
            "{op}: {message}"
        );
    }
}

#[test]
fn grants_are_created_listed_used_retired_and_revoked() {
    let e = example();
    let key = kms_key(&e);
    let principal = "arn:aws:iam::111122223333:role/app";
    let g = e
        .call(
            "CreateGrant",
            json!({"KeyId": key, "GranteePrincipal": principal, "RetiringPrincipal": principal, "Operations": ["Encrypt", "Decrypt"], "Name": "app"}),
        )
        .unwrap();
    let token = g["GrantToken"].as_str().unwrap().to_owned();
    let id = g["GrantId"].as_str().unwrap().to_owned();
    // The same named grant again is the same grant.
    let again = e
        .call(
            "CreateGrant",
            json!({"KeyId": key, "GranteePrincipal": principal, "RetiringPrincipal": principal, "Operations": ["Encrypt", "Decrypt"], "Name": "app"}),
        )
        .unwrap();
    assert_eq!(again["GrantId"], id.as_str());
    e.call(
        "Encrypt",
        json!({"KeyId": key, "Plaintext": "eA==", "GrantTokens": [token]}),
    )
    .unwrap();
    let (name, _) = err(
        &e,
        "Encrypt",
        json!({"KeyId": key, "Plaintext": "eA==", "GrantTokens": ["not-a-token"]}),
    );
    assert_eq!(name, "InvalidGrantTokenException");
    let listed = e.call("ListGrants", json!({"KeyId": key})).unwrap();
    assert_eq!(listed["Grants"][0]["GrantId"], id.as_str());
    assert_eq!(
        listed["Grants"][0]["Operations"],
        json!(["Encrypt", "Decrypt"])
    );
    let retirable = e
        .call(
            "ListRetirableGrants",
            json!({"RetiringPrincipal": principal}),
        )
        .unwrap();
    assert_eq!(retirable["Grants"].as_array().unwrap().len(), 1);
    e.call("RetireGrant", json!({"GrantToken": token})).unwrap();
    let listed = e.call("ListGrants", json!({"KeyId": key})).unwrap();
    assert_eq!(listed["Grants"], json!([]));
    let g = e
        .call(
            "CreateGrant",
            json!({"KeyId": key, "GranteePrincipal": principal, "Operations": ["Decrypt"]}),
        )
        .unwrap();
    e.call(
        "RevokeGrant",
        json!({"KeyId": key, "GrantId": g["GrantId"]}),
    )
    .unwrap();
    let (name, _) = err(
        &e,
        "RevokeGrant",
        json!({"KeyId": key, "GrantId": g["GrantId"]}),
    );
    assert_eq!(name, "NotFoundException");
    e.call("DisableKey", json!({"KeyId": key})).unwrap();
    let (name, _) = err(
        &e,
        "CreateGrant",
        json!({"KeyId": key, "GranteePrincipal": principal, "Operations": ["Decrypt"]}),
    );
    assert_eq!(name, "DisabledException");
}

#[test]
fn update_alias_and_update_key_description() {
    let e = example();
    let key = kms_key(&e);
    e.call(
        "UpdateAlias",
        json!({"AliasName": "alias/app", "TargetKeyId": key}),
    )
    .unwrap();
    let out = e.call("ListAliases", json!({"KeyId": key})).unwrap();
    assert_eq!(out["Aliases"][0]["AliasName"], "alias/app");
    let (name, _) = err(
        &e,
        "UpdateAlias",
        json!({"AliasName": "alias/none", "TargetKeyId": key}),
    );
    assert_eq!(name, "NotFoundException");
    e.call(
        "UpdateKeyDescription",
        json!({"KeyId": key, "Description": "drill key"}),
    )
    .unwrap();
    let d = e.call("DescribeKey", json!({"KeyId": key})).unwrap();
    assert_eq!(d["KeyMetadata"]["Description"], "drill key");
}

#[test]
fn an_unsupported_model_operation_says_so() {
    let e = example();
    let (name, message) = err(&e, "Sign", json!({}));
    assert_eq!(name, "UnsupportedOperationException");
    assert_eq!(message, "Sign is not supported by hsmdrill.");
    let (name, _) = err(&e, "ModifyCluster", json!({}));
    assert_eq!(name, "CloudHsmInvalidRequestException");
    let (name, _) = err(&e, "NoSuchOperation", json!({}));
    assert_eq!(name, "UnknownOperationException");
}

#[test]
fn generate_random_in_a_disconnected_store_is_custom_key_store_invalid_state() {
    let e = example();
    e.call(
        "DisconnectCustomKeyStore",
        json!({"CustomKeyStoreId": STORE}),
    )
    .unwrap();
    e.settle();
    let (name, _) = err(
        &e,
        "GenerateRandom",
        json!({"NumberOfBytes": 8, "CustomKeyStoreId": STORE}),
    );
    assert_eq!(name, "CustomKeyStoreInvalidStateException");
}

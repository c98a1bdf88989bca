"""AWS_KMS keys and key management through boto3, unchanged but for the
endpoint URL, against `hsmdrill serve` on the example world. Exits
non-zero on the first expectation that does not hold.
Usage: boto3_key_management.py ENDPOINT
"""
import json
import sys

import boto3

E = sys.argv[1]
STORE = "cks-1234567890abcdef0"
PRINCIPAL = "arn:aws:iam::111122223333:role/app"


def expect(what, ok):
    if not ok:
        sys.exit(f"FAILED: {what}")
    print(f"ok   {what}")


def raises(what, exception, call, contains=""):
    try:
        call()
    except exception as e:
        expect(f"{what} raises {exception.__name__}", contains in str(e))
        return
    expect(f"{what} raises {exception.__name__}", False)


kms = boto3.client("kms", endpoint_url=E, region_name="us-west-2",
                   aws_access_key_id="test", aws_secret_access_key="test")
X = kms.exceptions

# CreateKey with no arguments: a symmetric AWS_KMS key.
meta = kms.create_key()["KeyMetadata"]
key = meta["KeyId"]
expect("CreateKey() makes an AWS_KMS key", meta["Origin"] == "AWS_KMS" and meta["KeyState"] == "Enabled")
expect("... with no custom key store", "CustomKeyStoreId" not in meta)

# It keeps working while the store is disconnected; the store key does not.
kms.disconnect_custom_key_store(CustomKeyStoreId=STORE)
ct = kms.encrypt(KeyId=key, Plaintext=b"survives the incident")["CiphertextBlob"]
expect("decrypt with the AWS_KMS key while disconnected",
       kms.decrypt(CiphertextBlob=ct)["Plaintext"] == b"survives the incident")
raises("encrypt with the store key", X.KMSInvalidStateException,
       lambda: kms.encrypt(KeyId="alias/app", Plaintext=b"x"), "is unavailable.")
raises("GenerateRandom in the disconnected store", X.CustomKeyStoreInvalidStateException,
       lambda: kms.generate_random(NumberOfBytes=8, CustomKeyStoreId=STORE))

# Tags, on CreateKey and after.
tagged = kms.create_key(Tags=[{"TagKey": "team", "TagValue": "drill"}])["KeyMetadata"]["KeyId"]
kms.tag_resource(KeyId=tagged, Tags=[{"TagKey": "env", "TagValue": "test"}])
kms.untag_resource(KeyId=tagged, TagKeys=["team"])
tags = kms.list_resource_tags(KeyId=tagged)["Tags"]
expect("tags round trip", tags == [{"TagKey": "env", "TagValue": "test"}])
raises("a reserved tag key", X.TagException,
       lambda: kms.tag_resource(KeyId=tagged, Tags=[{"TagKey": "aws:owner", "TagValue": "x"}]))

# Key policies.
policy = json.loads(kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"])
statement = policy["Statement"][0]
expect("the default key policy", statement["Sid"] == "Enable IAM User Permissions"
       and statement["Principal"] == {"AWS": "arn:aws:iam::111122223333:root"}
       and statement["Action"] == "kms:*")
mine = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
kms.put_key_policy(KeyId=key, PolicyName="default", Policy=mine)
expect("PutKeyPolicy then GetKeyPolicy", kms.get_key_policy(KeyId=key)["Policy"] == mine)
raises("a policy that is not JSON", X.MalformedPolicyDocumentException,
       lambda: kms.put_key_policy(KeyId=key, PolicyName="default", Policy="{nope"))
expect("ListKeyPolicies", kms.list_key_policies(KeyId=key)["PolicyNames"] == ["default"])

# Rotation.
kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=180)
status = kms.get_key_rotation_status(KeyId=key)
expect("rotation enabled", status["KeyRotationEnabled"] and status["RotationPeriodInDays"] == 180
       and "NextRotationDate" in status)
kms.rotate_key_on_demand(KeyId=key)
expect("ct from before the rotation still decrypts",
       kms.decrypt(CiphertextBlob=ct)["Plaintext"] == b"survives the incident")
rotations = kms.list_key_rotations(KeyId=key)["Rotations"]
expect("one on-demand rotation listed", [r["RotationType"] for r in rotations] == ["ON_DEMAND"])
kms.disable_key_rotation(KeyId=key)
expect("rotation disabled", not kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"])
raises("rotation of a key in a custom key store", X.UnsupportedOperationException,
       lambda: kms.enable_key_rotation(KeyId="1234abcd-12ab-34cd-56ef-1234567890ab"),
       "origin is AWS_CLOUDHSM")

# Grants, and a grant token in Encrypt.
grant = kms.create_grant(KeyId=key, GranteePrincipal=PRINCIPAL, RetiringPrincipal=PRINCIPAL,
                         Operations=["Encrypt", "Decrypt"])
kms.encrypt(KeyId=key, Plaintext=b"with a grant", GrantTokens=[grant["GrantToken"]])
raises("a token hsmdrill did not issue", X.InvalidGrantTokenException,
       lambda: kms.encrypt(KeyId=key, Plaintext=b"x", GrantTokens=["forged"]))
listed = kms.list_grants(KeyId=key)["Grants"]
expect("ListGrants", [g["GrantId"] for g in listed] == [grant["GrantId"]])
expect("ListRetirableGrants",
       len(kms.list_retirable_grants(RetiringPrincipal=PRINCIPAL)["Grants"]) == 1)
kms.retire_grant(GrantToken=grant["GrantToken"])
second = kms.create_grant(KeyId=key, GranteePrincipal=PRINCIPAL, Operations=["Decrypt"])
kms.revoke_grant(KeyId=key, GrantId=second["GrantId"])
expect("grants retired and revoked", kms.list_grants(KeyId=key)["Grants"] == [])

# UpdateAlias, UpdateKeyDescription.
kms.update_alias(AliasName="alias/app", TargetKeyId=key)
aliases = kms.list_aliases(KeyId=key)["Aliases"]
expect("UpdateAlias", [a["AliasName"] for a in aliases] == ["alias/app"])
kms.update_key_description(KeyId=key, Description="still here")
expect("UpdateKeyDescription",
       kms.describe_key(KeyId=key)["KeyMetadata"]["Description"] == "still here")

# Paging through the SDK paginators.
for i in range(4):
    kms.create_key(Description=f"page {i}")
pages = list(kms.get_paginator("list_keys").paginate(PaginationConfig={"PageSize": 2}))
ids = [k["KeyId"] for p in pages for k in p["Keys"]]
expect("ListKeys pages of 2", len(pages) >= 4 and all(len(p["Keys"]) <= 2 for p in pages)
       and len(ids) == len(set(ids)) == 7)
for i in range(3):
    kms.create_alias(AliasName=f"alias/page-{i}", TargetKeyId=key)
pages = list(kms.get_paginator("list_aliases").paginate(PaginationConfig={"PageSize": 1}))
expect("ListAliases pages of 1", len(pages) == 4)

# An operation hsmdrill does not support.
raises("Sign", X.UnsupportedOperationException,
       lambda: kms.sign(KeyId=key, Message=b"m", SigningAlgorithm="RSASSA_PSS_SHA_256"),
       "not supported by hsmdrill")
print("boto3 key management held")

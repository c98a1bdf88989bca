"""R5 and the CloudHSM v2 / CloudTrail basics through boto3, unchanged but
for the endpoint URL, against `hsmdrill serve`. Exits non-zero on the first
expectation that does not hold. Usage: boto3_drill.py ENDPOINT [AUTH_ENDPOINT]
"""
import base64
import json
import sys
import urllib.request

import boto3
import botocore.exceptions

E = sys.argv[1]
STORE = "cks-1234567890abcdef0"
CLUSTER = "cluster-1a23b4cdefg"


def client(service, endpoint=E, key="test", secret="test"):
    return boto3.client(service, endpoint_url=endpoint, region_name="us-west-2",
                        aws_access_key_id=key, aws_secret_access_key=secret)


def control(path, body):
    req = urllib.request.Request(E + path, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(req).read())


def cli(command, session="py"):
    return control("/_hsmdrill/cloudhsm-cli",
                   {"ClusterId": CLUSTER, "Session": session, "Command": command})


def expect(what, ok):
    if not ok:
        sys.exit(f"FAILED: {what}")
    print(f"ok   {what}")


kms, hsm, trail = client("kms"), client("cloudhsmv2"), client("cloudtrail")

ct = kms.encrypt(KeyId="alias/app", Plaintext=b"before the incident")["CiphertextBlob"]
store = kms.describe_custom_key_stores(CustomKeyStoreName="ExampleKeyStore")["CustomKeyStores"][0]
expect("the store is CONNECTED", store["ConnectionState"] == "CONNECTED")

kms.disconnect_custom_key_store(CustomKeyStoreId=STORE)
try:
    kms.decrypt(CiphertextBlob=ct)
    expect("decrypt fails while disconnected", False)
except kms.exceptions.KMSInvalidStateException as e:
    expect("decrypt raises KMSInvalidStateException", "is unavailable." in str(e))

for _ in range(5):
    cli("login --username kmsuser --role crypto-user --password wrongPass1")
kms.connect_custom_key_store(CustomKeyStoreId=STORE)
control("/_hsmdrill/clock/advance", {"seconds": 5})
store = kms.describe_custom_key_stores(CustomKeyStoreId=STORE)["CustomKeyStores"][0]
expect("USER_LOCKED_OUT after five wrong passwords",
       (store["ConnectionState"], store.get("ConnectionErrorCode")) == ("FAILED", "USER_LOCKED_OUT"))
try:
    kms.connect_custom_key_store(CustomKeyStoreId=STORE)
    expect("a FAILED store cannot be connected", False)
except kms.exceptions.CustomKeyStoreInvalidStateException:
    expect("a FAILED store cannot be connected", True)

kms.disconnect_custom_key_store(CustomKeyStoreId=STORE)
expect("admin login", cli("login --username admin --role admin --password adminPassword1", "admin")["error_code"] == 0)
expect("change-password", cli("user change-password --username kmsuser --role crypto-user --password newPass123", "admin")["error_code"] == 0)
cli("logout", "admin")
kms.update_custom_key_store(CustomKeyStoreId=STORE, KeyStorePassword="newPass123")
kms.connect_custom_key_store(CustomKeyStoreId=STORE)
control("/_hsmdrill/clock/advance", {"seconds": 5})
store = kms.describe_custom_key_stores(CustomKeyStoreId=STORE)["CustomKeyStores"][0]
expect("CONNECTED after the repair", store["ConnectionState"] == "CONNECTED")
expect("the old ciphertext decrypts", kms.decrypt(CiphertextBlob=ct)["Plaintext"] == b"before the incident")

clusters = hsm.describe_clusters(Filters={"clusterIds": [CLUSTER]})["Clusters"]
expect("DescribeClusters shows the cluster ACTIVE with two HSMs",
       clusters[0]["State"] == "ACTIVE" and len(clusters[0]["Hsms"]) == 2)
try:
    hsm.delete_cluster(ClusterId="cluster-nosuchclust")
    expect("unknown cluster", False)
except hsm.exceptions.CloudHsmResourceNotFoundException as e:
    expect("CloudHsmResourceNotFoundException with its Message", "not found" in e.response["Error"]["Message"])

events = trail.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "Decrypt"}])["Events"]
record = json.loads(events[0]["CloudTrailEvent"])
expect("CloudTrail shows Decrypt with customKeyStoreId",
       record["additionalEventData"]["customKeyStoreId"] == STORE)

if len(sys.argv) > 2:
    A = sys.argv[2]
    good = client("kms", A, "AKIDTEST", "s3cretKey")
    expect("a request signed with the server's key succeeds", len(good.list_keys()["Keys"]) == 1)
    for key, secret, name in [("AKIDTEST", "wrong", "InvalidSignatureException"),
                              ("OTHER", "s3cretKey", "UnrecognizedClientException")]:
        try:
            client("kms", A, key, secret).list_keys()
            expect(f"{name} for a bad signature", False)
        except botocore.exceptions.ClientError as e:
            expect(f"{name}", e.response["Error"]["Code"] == name)
print("boto3 drill held")

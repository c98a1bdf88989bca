"""Regions and accounts through boto3, unchanged but for the endpoint URL,
against `hsmdrill serve --world scenarios/worlds/regions.yaml`. Exits non-zero
on the first expectation that does not hold.
Usage: boto3_regions.py ENDPOINT
"""
import json
import sys
import urllib.request

import boto3
import botocore.exceptions

E = sys.argv[1]
KEY = "1234abcd-12ab-34cd-56ef-1234567890ab"
OTHER_ACCOUNT_KEY = "AKIAI44QH8DHBEXAMPLE"


def client(service, region="us-west-2", key="test"):
    return boto3.client(service, endpoint_url=E, region_name=region,
                        aws_access_key_id=key, aws_secret_access_key="test")


def settle():
    req = urllib.request.Request(E + "/_hsmdrill/clock/settle", data=b"{}",
                                 headers={"Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(req).read())


def expect(what, ok):
    if not ok:
        sys.exit(f"FAILED: {what}")
    print(f"ok   {what}")


def error_of(call, **kwargs):
    try:
        call(**kwargs)
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"], e.response["Error"].get("Message", "")
    return None, None


us, eu = client("kms"), client("kms", "eu-west-1")

# The world's own partition answers as before, with its account and Region
# in every ARN.
meta = us.describe_key(KeyId="alias/app")["KeyMetadata"]
expect("us-west-2 key ARN", meta["Arn"] == f"arn:aws:kms:us-west-2:111122223333:key/{KEY}")

# eu-west-1 has none of it.
expect("eu-west-1 has no key stores", eu.describe_custom_key_stores()["CustomKeyStores"] == [])
expect("eu-west-1 has no keys", eu.list_keys()["Keys"] == [])
expect("eu-west-1 has no aliases", eu.list_aliases()["Aliases"] == [])
expect("eu-west-1 has no clusters",
       client("cloudhsmv2", "eu-west-1").describe_clusters()["Clusters"] == [])
code, _ = error_of(eu.describe_key, KeyId="alias/app")
expect(f"alias/app in eu-west-1 is NotFoundException ({code})", code == "NotFoundException")

# A ciphertext from us-west-2 does not decrypt in eu-west-1.
blob = us.encrypt(KeyId="alias/app", Plaintext=b"regional")["CiphertextBlob"]
expect("it decrypts where it was made",
       us.decrypt(CiphertextBlob=blob)["Plaintext"] == b"regional")
code, msg = error_of(eu.decrypt, CiphertextBlob=blob)
expect(f"blob alone in eu-west-1: InvalidCiphertextException ({code}: {msg})",
       code == "InvalidCiphertextException")
code, msg = error_of(eu.decrypt, CiphertextBlob=blob, KeyId=meta["Arn"])
expect(f"with the us-west-2 key ARN in eu-west-1: NotFoundException ({code}: {msg})",
       code == "NotFoundException")

# The access key mapped to account 444455556666 sees that account's state.
other = client("kms", key=OTHER_ACCOUNT_KEY)
other_meta = other.describe_key(KeyId="alias/other")["KeyMetadata"]
expect("the other account's ARN carries its account",
       other_meta["Arn"].startswith("arn:aws:kms:us-west-2:444455556666:key/"))
expect("the other account has its own store",
       [s["CustomKeyStoreName"] for s in other.describe_custom_key_stores()["CustomKeyStores"]]
       == ["OtherAccountStore"])
code, _ = error_of(other.describe_key, KeyId="alias/app")
expect(f"alias/app is not the other account's ({code})", code == "NotFoundException")
code, _ = error_of(us.describe_key, KeyId="alias/other")
expect(f"alias/other is not the world's account's ({code})", code == "NotFoundException")
other_blob = other.encrypt(KeyId="alias/other", Plaintext=b"theirs")["CiphertextBlob"]
expect("the other account round-trips",
       other.decrypt(CiphertextBlob=other_blob)["Plaintext"] == b"theirs")
code, _ = error_of(us.decrypt, CiphertextBlob=other_blob)
expect(f"the other account's blob is garbage to the world's ({code})",
       code == "InvalidCiphertextException")

# A Region AWS does not have is refused as AWS refuses its credential scope.
code, msg = error_of(client("kms", "xx-nowhere-1").list_keys)
expect(f"unknown Region: InvalidSignatureException ({code}: {msg})",
       code == "InvalidSignatureException" and "xx-nowhere-1" in msg)

# Cross-Region recovery: copy the backup to eu-west-1 and restore there.
hsm_us, hsm_eu = client("cloudhsmv2"), client("cloudhsmv2", "eu-west-1")
dest = hsm_us.copy_backup_to_region(DestinationRegion="eu-west-1",
                                    BackupId="backup-9g87f6edcba")["DestinationBackup"]
expect("DestinationBackup names its source",
       (dest["SourceRegion"], dest["SourceBackup"], dest["SourceCluster"])
       == ("us-west-2", "backup-9g87f6edcba", "cluster-1a23b4cdefg"))
copies = hsm_eu.describe_backups(
    Filters={"sourceBackupIds": ["backup-9g87f6edcba"]})["Backups"]
expect("the copy is in eu-west-1", len(copies) == 1)
copy = copies[0]
expect(f"the copy starts CREATE_IN_PROGRESS ({copy['BackupState']})",
       copy["BackupState"] == "CREATE_IN_PROGRESS")
expect("the copy keeps the source's CreateTimestamp",
       copy["CreateTimestamp"] == dest["CreateTimestamp"])
code, _ = error_of(hsm_us.copy_backup_to_region, DestinationRegion="us-west-2",
                   BackupId="backup-9g87f6edcba")
expect(f"copying into its own Region is refused ({code})",
       code == "CloudHsmInvalidRequestException")
settle()
copy = hsm_eu.describe_backups()["Backups"][0]
expect(f"the copy is READY after settling ({copy['BackupState']})",
       copy["BackupState"] == "READY")
cluster = hsm_eu.create_cluster(HsmType="hsm2m.medium", SourceBackupId=copy["BackupId"],
                                SubnetIds=["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"])["Cluster"]
expect("a cluster is restored from the copy in eu-west-1",
       cluster["SourceBackupId"] == copy["BackupId"])
expect("its subnets are in eu-west-1 zones",
       all(z.startswith("eu-west-1") for z in cluster["SubnetMapping"]))
expect("us-west-2 still has one cluster",
       len(hsm_us.describe_clusters()["Clusters"]) == 1)
print("boto3 regions drill held")

"""CloudTrail LookupEvents through boto3, unchanged but for the endpoint URL,
against `hsmdrill serve`: every lookup attribute key, the time range, the
paginator and CloudTrail's exceptions. Exits non-zero on the first
expectation that does not hold. Usage: boto3_trail.py ENDPOINT
"""
import datetime
import json
import sys
import urllib.request

import boto3
import botocore.exceptions

E = sys.argv[1]
STORE = "cks-1234567890abcdef0"


def client(service):
    return boto3.client(service, endpoint_url=E, region_name="us-west-2",
                        aws_access_key_id="test", aws_secret_access_key="test")


def control(path, body):
    req = urllib.request.Request(E + path, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(req).read())


def expect(what, ok):
    if not ok:
        sys.exit(f"FAILED: {what}")
    print(f"ok   {what}")


kms, trail = client("kms"), client("cloudtrail")


def lookup(key, value, **kw):
    return trail.lookup_events(
        LookupAttributes=[{"AttributeKey": key, "AttributeValue": value}], **kw)["Events"]


def refused(what, exception, **kw):
    try:
        trail.lookup_events(**kw)
        expect(what, False)
    except botocore.exceptions.ClientError as e:
        expect(f"{what}: {e.response['Error']['Code']}", e.response["Error"]["Code"] == exception)


key = kms.create_key()["KeyMetadata"]
arn = key["Arn"]
control("/_hsmdrill/clock/advance", {"seconds": 60})
kms.describe_key(KeyId=arn)
kms.encrypt(KeyId=arn, Plaintext=b"trail")
control("/_hsmdrill/clock/advance", {"seconds": 60})
kms.schedule_key_deletion(KeyId=arn, PendingWindowInDays=7)
control("/_hsmdrill/clock/advance", {"seconds": 8 * 86400})

everything = trail.lookup_events()["Events"]
times = [e["EventTime"] for e in everything]
expect("events come newest first", times == sorted(times, reverse=True))

named = lookup("EventName", "Encrypt")
expect("EventName finds the one Encrypt", [e["EventName"] for e in named] == ["Encrypt"])
one = named[0]
expect("EventId finds that event", [e["EventId"] for e in lookup("EventId", one["EventId"])] == [one["EventId"]])
# The guide's examples: Describe* and the cryptographic operations are
# read-only, CreateKey and ScheduleKeyDeletion are not.
read_only = {e["EventName"] for e in lookup("ReadOnly", "true")}
expect("ReadOnly true finds DescribeKey and Encrypt, not CreateKey",
       {"DescribeKey", "Encrypt"} <= read_only and "CreateKey" not in read_only)
writes = {e["EventName"] for e in lookup("ReadOnly", "false")}
expect("ReadOnly false finds CreateKey and ScheduleKeyDeletion, not Encrypt",
       {"CreateKey", "ScheduleKeyDeletion"} <= writes and "Encrypt" not in writes)
expect("each says so as the string LookupEvents uses",
       all(e["ReadOnly"] == "true" for e in lookup("ReadOnly", "true")))
by_key = lookup("ResourceName", arn)
expect("ResourceName finds the key's events",
       {e["EventName"] for e in by_key} == {"CreateKey", "DescribeKey", "Encrypt", "ScheduleKeyDeletion", "DeleteKey"})
expect("each names the key as an AWS::KMS::Key",
       all({"ResourceType": "AWS::KMS::Key", "ResourceName": arn} in e["Resources"] for e in by_key))
expect("ResourceType finds keyed events only",
       all(e["Resources"] for e in lookup("ResourceType", "AWS::KMS::Key")))
expect("ResourceType of another service finds nothing", lookup("ResourceType", "AWS::EC2::Instance") == [])
expect("EventSource kms.amazonaws.com finds them all",
       len(lookup("EventSource", "kms.amazonaws.com")) == len(everything))
expect("EventSource of another service finds nothing", lookup("EventSource", "ec2.amazonaws.com") == [])
expect("Username AWS Internal finds the DeleteKey service event",
       [e["EventName"] for e in lookup("Username", "AWS Internal")] == ["DeleteKey"])
expect("Username hsmdrill finds the calls",
       "Encrypt" in {e["EventName"] for e in lookup("Username", "hsmdrill")})
expect("AccessKeyId is accepted", isinstance(lookup("AccessKeyId", "AKIAIOSFODNN7EXAMPLE"), list))

t = one["EventTime"]
around = trail.lookup_events(StartTime=t, EndTime=t)["Events"]
expect("a one-instant range holds the Encrypt", "Encrypt" in {e["EventName"] for e in around})
expect("and not the later DeleteKey", "DeleteKey" not in {e["EventName"] for e in around})
later = trail.lookup_events(StartTime=t + datetime.timedelta(seconds=1))["Events"]
expect("StartTime leaves out the earlier events", "CreateKey" not in {e["EventName"] for e in later})

pages = list(trail.get_paginator("lookup_events").paginate(PaginationConfig={"PageSize": 2}))
expect("the paginator pages by two", all(len(p["Events"]) <= 2 for p in pages) and len(pages) > 1)
paged = [e["EventId"] for p in pages for e in p["Events"]]
expect("the pages hold every event once, in order", paged == [e["EventId"] for e in everything])

refused("two lookup attributes", "InvalidLookupAttributesException",
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "Encrypt"},
                          {"AttributeKey": "ReadOnly", "AttributeValue": "false"}])
refused("an attribute key CloudTrail does not have", "InvalidLookupAttributesException",
        LookupAttributes=[{"AttributeKey": "Colour", "AttributeValue": "blue"}])
refused("ReadOnly maybe", "InvalidLookupAttributesException",
        LookupAttributes=[{"AttributeKey": "ReadOnly", "AttributeValue": "maybe"}])
refused("MaxResults 51", "InvalidMaxResultsException", MaxResults=51)
refused("a made-up NextToken", "InvalidNextTokenException", NextToken="nonsense")
first = trail.lookup_events(MaxResults=1)
refused("a token with other parameters", "InvalidNextTokenException",
        NextToken=first["NextToken"],
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "Encrypt"}])
refused("StartTime after EndTime", "InvalidTimeRangeException",
        StartTime=t, EndTime=t - datetime.timedelta(seconds=1))
print("boto3 trail held")

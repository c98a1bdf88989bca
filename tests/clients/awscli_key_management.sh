#!/usr/bin/env bash
# AWS_KMS keys and key management through the aws CLI against
# `hsmdrill serve` on the example world. Usage: awscli_key_management.sh ENDPOINT
set -euo pipefail
E=$1
command -v aws >/dev/null || aws() { python3 -m awscli "$@"; }
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-west-2
kms() { aws --endpoint-url "$E" kms "$@"; }
fail() { echo "FAILED: $*"; exit 1; }

key=$(kms create-key --query KeyMetadata.KeyId --output text)
origin=$(kms describe-key --key-id "$key" --query KeyMetadata.Origin --output text)
[ "$origin" = AWS_KMS ] || fail "origin $origin"
kms disconnect-custom-key-store --custom-key-store-id cks-1234567890abcdef0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
printf hi >"$tmp/pt"
kms encrypt --key-id "$key" --plaintext "fileb://$tmp/pt" --query CiphertextBlob --output text \
  | python3 -c 'import base64,sys; sys.stdout.buffer.write(base64.b64decode(sys.stdin.read()))' >"$tmp/ct"
pt=$(kms decrypt --ciphertext-blob "fileb://$tmp/ct" --query Plaintext --output text)
[ "$pt" = aGk= ] || fail "decrypt gave $pt"
kms tag-resource --key-id "$key" --tags TagKey=team,TagValue=drill
tag=$(kms list-resource-tags --key-id "$key" --query 'Tags[0].TagValue' --output text)
[ "$tag" = drill ] || fail "tag $tag"
out=$(kms tag-resource --key-id "$key" --tags TagKey=aws:x,TagValue=y 2>&1 || true)
case "$out" in *TagException*) ;; *) fail "expected TagException, got: $out" ;; esac
sid=$(kms get-key-policy --key-id "$key" --policy-name default --query Policy --output text \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["Statement"][0]["Sid"])')
[ "$sid" = "Enable IAM User Permissions" ] || fail "policy sid $sid"
kms enable-key-rotation --key-id "$key"
period=$(kms get-key-rotation-status --key-id "$key" --query RotationPeriodInDays --output text)
[ "$period" = 365 ] || fail "rotation period $period"
token=$(kms create-grant --key-id "$key" --grantee-principal arn:aws:iam::111122223333:role/app \
  --operations Encrypt --query GrantToken --output text)
kms encrypt --key-id "$key" --plaintext "fileb://$tmp/pt" --grant-tokens "$token" >/dev/null
kms update-alias --alias-name alias/app --target-key-id "$key"
kms update-key-description --key-id "$key" --description "cli drill"
d=$(kms describe-key --key-id "$key" --query KeyMetadata.Description --output text)
[ "$d" = "cli drill" ] || fail "description $d"
# The CLI pages through ListKeys one key a request and joins the pages.
n=$(kms list-keys --page-size 1 --query 'Keys[].KeyId' --output text | wc -w)
[ "$((n))" = 2 ] || fail "list-keys paged through $n keys"
out=$(kms get-public-key --key-id "$key" 2>&1 || true)
case "$out" in *UnsupportedOperationException*"not supported by hsmdrill"*) ;; *) fail "expected UnsupportedOperationException, got: $out" ;; esac
echo "aws CLI key management held"

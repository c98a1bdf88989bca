#!/usr/bin/env bash
# The aws CLI against `hsmdrill serve`, exactly as README.md shows it.
# Usage: awscli_drill.sh ENDPOINT
set -euo pipefail
E=$1
# pip installs the CLI as a module; its `aws` script may not be on PATH.
command -v aws >/dev/null || aws() { python3 -m awscli "$@"; }
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-west-2
state=$(aws --endpoint-url "$E" kms describe-custom-key-stores --query 'CustomKeyStores[0].ConnectionState' --output text)
[ "$state" = CONNECTED ] || { echo "FAILED: state $state"; exit 1; }
aws --endpoint-url "$E" kms disconnect-custom-key-store --custom-key-store-id cks-1234567890abcdef0
out=$(aws --endpoint-url "$E" kms encrypt --key-id alias/app --plaintext aGk= 2>&1 || true)
case "$out" in
  *KMSInvalidStateException*"is unavailable."*) ;;
  *) echo "FAILED: expected KMSInvalidStateException, got: $out"; exit 1 ;;
esac
hsms=$(aws --endpoint-url "$E" cloudhsmv2 describe-clusters --query 'length(Clusters[0].Hsms)' --output text)
[ "$hsms" = 2 ] || { echo "FAILED: $hsms HSMs"; exit 1; }
echo "aws CLI drill held"

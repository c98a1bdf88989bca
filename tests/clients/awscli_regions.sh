#!/usr/bin/env bash
# Regions and accounts through the aws CLI against
# `hsmdrill serve --world scenarios/worlds/regions.yaml`.
# Usage: awscli_regions.sh ENDPOINT
set -euo pipefail
E=$1
command -v aws >/dev/null || aws() { python3 -m awscli "$@"; }
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-west-2
fail() { echo "FAILED: $*"; exit 1; }
n=$(aws --endpoint-url "$E" kms list-keys --query 'length(Keys)' --output text)
[ "$n" = 1 ] || fail "us-west-2 has $n keys"
n=$(aws --endpoint-url "$E" --region eu-west-1 kms list-keys --query 'length(Keys)' --output text)
[ "$n" = 0 ] || fail "eu-west-1 has $n keys"
n=$(aws --endpoint-url "$E" --region eu-west-1 kms describe-custom-key-stores --query 'length(CustomKeyStores)' --output text)
[ "$n" = 0 ] || fail "eu-west-1 has $n key stores"
n=$(aws --endpoint-url "$E" --region eu-west-1 cloudhsmv2 describe-clusters --query 'length(Clusters)' --output text)
[ "$n" = 0 ] || fail "eu-west-1 has $n clusters"
blob=$(aws --endpoint-url "$E" kms encrypt --key-id alias/app --plaintext aGk= --query CiphertextBlob --output text)
out=$(aws --endpoint-url "$E" --region eu-west-1 kms decrypt --ciphertext-blob "$blob" 2>&1 || true)
case "$out" in
  *InvalidCiphertextException*) ;;
  *) fail "decrypt in eu-west-1: $out" ;;
esac
src=$(aws --endpoint-url "$E" cloudhsmv2 copy-backup-to-region --destination-region eu-west-1 \
  --backup-id backup-9g87f6edcba --query DestinationBackup.SourceBackup --output text)
[ "$src" = backup-9g87f6edcba ] || fail "copy-backup-to-region answered $src"
region=$(aws --endpoint-url "$E" --region eu-west-1 cloudhsmv2 describe-backups \
  --query 'Backups[0].SourceRegion' --output text)
[ "$region" = us-west-2 ] || fail "the copy's SourceRegion is $region"
python3 -c "import urllib.request,sys; urllib.request.urlopen(urllib.request.Request(sys.argv[1] + '/_hsmdrill/clock/settle', data=b'{}'))" "$E"
copy=$(aws --endpoint-url "$E" --region eu-west-1 cloudhsmv2 describe-backups \
  --filters states=READY --query 'Backups[0].BackupId' --output text)
case "$copy" in backup-*) ;; *) fail "no READY copy in eu-west-1: $copy" ;; esac
id=$(aws --endpoint-url "$E" --region eu-west-1 cloudhsmv2 create-cluster --hsm-type hsm2m.medium \
  --source-backup-id "$copy" --subnet-ids subnet-0aaaaaaaaaaaaaaaa subnet-0bbbbbbbbbbbbbbbb \
  --query Cluster.ClusterId --output text)
n=$(aws --endpoint-url "$E" --region eu-west-1 cloudhsmv2 describe-clusters --query 'length(Clusters)' --output text)
[ "$n" = 1 ] || fail "eu-west-1 has $n clusters after restoring $id"
n=$(aws --endpoint-url "$E" cloudhsmv2 describe-clusters --query 'length(Clusters)' --output text)
[ "$n" = 1 ] || fail "us-west-2 has $n clusters"
echo "aws CLI regions drill held"

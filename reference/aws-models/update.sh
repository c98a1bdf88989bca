#!/usr/bin/env bash
# Re-extracts the KMS, CloudHSM v2 and CloudTrail service models (and botocore's licence
# and notice) from a botocore wheel on PyPI into this folder.
#   reference/aws-models/update.sh 1.44.8
set -euo pipefail
version="${1:?usage: update.sh BOTOCORE_VERSION}"
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m pip download --quiet --no-deps --only-binary=:all: \
  "botocore==$version" -d "$work"
python3 - "$work" "$here" "$version" <<'PY'
import glob, gzip, sys, zipfile
work, here, version = sys.argv[1:]
wheel = zipfile.ZipFile(glob.glob(f"{work}/botocore-*.whl")[0])
models = {
    "kms-service-2.json": "botocore/data/kms/2014-11-01/service-2.json.gz",
    "cloudhsmv2-service-2.json": "botocore/data/cloudhsmv2/2017-04-28/service-2.json.gz",
    "cloudtrail-service-2.json": "botocore/data/cloudtrail/2013-11-01/service-2.json.gz",
}
for name, member in models.items():
    with open(f"{here}/{name}", "wb") as out:
        out.write(gzip.decompress(wheel.read(member)))
info = f"botocore-{version}.dist-info"
for name in ("LICENSE.txt", "NOTICE"):
    with open(f"{here}/{name}", "wb") as out:
        out.write(wheel.read(f"{info}/{name}"))
print(f"reference/aws-models: models of botocore {version} written")
PY

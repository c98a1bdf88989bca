#!/usr/bin/env bash
# Refreshes the README's pictures of the HTML report and of the live console
# (docs/images/*.png): renders the report of the shipped suite (scenarios/ and
# features/) and runs `hsmdrill serve` through an R5 incident, then takes
# screenshots with headless Chromium (Debian package `chromium`) driven
# over the DevTools protocol by examples/screenshot.rs.
#
#   scripts/screenshots.sh
#
# The report's script understands `#sN:K` (scenario N, step K selected), which
# is how the second picture shows a marker's detail without a mouse.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v chromium >/dev/null || { echo "needs chromium (apt-get install chromium)" >&2; exit 2; }

tmp=$(mktemp -d)
server=
trap 'test -z "$server" || kill "$server"; rm -rf "$tmp"' EXIT
report="$tmp/report.html"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
cargo build --quiet --bin hsmdrill --example screenshot
bin="$CARGO_TARGET_DIR/debug"

# A failed scenario still writes the report; only a missing report is fatal.
"$bin/hsmdrill" run --format html --output "$report" >/dev/null 2>&1 || true
test -s "$report"

shot() { # shot NAME WIDTH HEIGHT URL [SELECTOR scrolled to the top]
  "$bin/examples/screenshot" "$4" "$tmp/$1.png" "$2" "$3" ${5:+"$5"}
  # Fewer colours, same picture: keeps the committed PNGs small.
  if command -v pngquant >/dev/null; then
    pngquant --force --quality=60-85 --output "docs/images/$1.png" "$tmp/$1.png"
  else
    cp "$tmp/$1.png" "docs/images/$1.png"
  fi
}

# The summary, the filters and the first timelines.
shot report-summary 1200 760 "file://$report"

# R5's drill (kmsuser locked out), the step whose DescribeCustomKeyStores
# shows the store FAILED selected (its changes highlighted).
section=$(grep -B1 'r5-kms-failed-logins.runbook ›' "$report" | grep -o 'id="s[0-9]*"' | head -1 | tr -dc '0-9')
test -n "$section"
shot report-timeline 1200 760 "file://$report#s$section:6" "#s$section"

# The live console during R5: kmsuser locked out with five wrong passwords
# (as its button does), then a reconnect that fails USER_LOCKED_OUT.
"$bin/hsmdrill" serve --port 0 --world scenarios/worlds/example.yaml >"$tmp/serve.log" 2>&1 &
server=$!
for _ in $(seq 50); do grep -q 'serving' "$tmp/serve.log" && break; sleep 0.1; done
url=$(grep -o 'http://[0-9.:]*' "$tmp/serve.log" | head -1)
test -n "$url"
call() { curl -sf -X POST -H 'Content-Type: application/json' -d "$2" "$url$1" >/dev/null; }
for _ in 1 2 3 4 5; do
  call /_hsmdrill/cloudhsm-cli '{"ClusterId": "cluster-1a23b4cdefg", "Session": "shot", "Command": "login --username kmsuser --role crypto-user --password not-the-password"}'
done
call /_hsmdrill/console/kms '{"Operation": "DisconnectCustomKeyStore", "CustomKeyStoreId": "cks-1234567890abcdef0"}'
call /_hsmdrill/console/kms '{"Operation": "ConnectCustomKeyStore", "CustomKeyStoreId": "cks-1234567890abcdef0"}'
call /_hsmdrill/clock/settle '{}'
shot console 1200 900 "$url/"

ls -l docs/images/report-*.png docs/images/console.png

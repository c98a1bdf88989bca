"""Fails when Cargo.toml's rust-version is older than what a dependency
(dev-dependencies included) declares it needs: `cargo test` would not build
on the version the manifest promises. Reads `cargo metadata` on stdin."""
import json
import sys


def version(text):
    parts = [int(part) for part in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


meta = json.load(sys.stdin)
ours = next(p for p in meta["packages"] if p["name"] == "hsmdrill")["rust_version"]
newer = sorted(
    f"{p['name']} {p['version']} needs {p['rust_version']}"
    for p in meta["packages"]
    if p.get("rust_version") and version(p["rust_version"]) > version(ours)
)
if newer:
    sys.exit(f"error: Cargo.toml says rust-version {ours}, but " + "; ".join(newer))
print(f"rust-version {ours} covers every dependency")

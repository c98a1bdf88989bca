#!/usr/bin/env python3
"""Cuts a minimized corpus down to at most CAP files that cover as many
coverage edges as possible (greedy set cover on each file's own edges), so
the committed corpora stay small. Run after `cargo fuzz cmin`.

Usage (from fuzz/): scripts/cap_corpus.py TARGET CAP
Prints how many of the corpus's edges the kept files cover.
"""
import os
import shutil
import subprocess
import sys
import tempfile

target, cap = sys.argv[1], int(sys.argv[2])
binary = f"target/x86_64-unknown-linux-gnu/release/{target}"
corpus = f"corpus/{target}"
names = sorted(os.listdir(corpus))
edges = {}
with tempfile.TemporaryDirectory() as tmp:
    for name in names:
        one, out = os.path.join(tmp, "in"), os.path.join(tmp, "out")
        for d in (one, out):
            shutil.rmtree(d, ignore_errors=True)
            os.mkdir(d)
        shutil.copy(os.path.join(corpus, name), one)
        ctl = os.path.join(tmp, "ctl")
        subprocess.run(
            [binary, "-merge=1", "-use_counters=0", f"-merge_control_file={ctl}", out, one],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
        )
        cov = set()
        with open(ctl) as f:
            for line in f:
                if line.startswith("COV "):
                    cov.update(line.split()[2:])
        edges[name] = cov
        os.remove(ctl)
everything = set().union(*edges.values()) if edges else set()
kept, covered = [], set()
while len(kept) < cap:
    best = max((n for n in names if n not in kept), key=lambda n: len(edges[n] - covered), default=None)
    if best is None or not edges[best] - covered:
        break
    kept.append(best)
    covered |= edges[best]
for n in names:
    if n not in kept:
        os.remove(os.path.join(corpus, n))
print(f"{target}: kept {len(kept)} of {len(names)} files, {len(covered)} of {len(everything)} edges")

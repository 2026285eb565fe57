#!/usr/bin/env python3
"""Builds Samples/select/docs-target.jsonl.zst, the target text of Recipes/select-dsir.yaml:
the release notes and READMEs (`NEWS*`, `README*` from /usr/share/doc) among the `doc`
documents of Samples/quality/corpus.jsonl.zst, in their order there, as {"id", "text"}.
Deterministic: rerun after Samples/quality changes (needs the `zstd` tool)."""
import json
import subprocess
import sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
src = root / "Samples/quality/corpus.jsonl.zst"
dst = root / "Samples/select/docs-target.jsonl.zst"

lines = []
raw = subprocess.run(["zstd", "-dc", str(src)], check=True, capture_output=True).stdout
for line in raw.decode("utf-8").splitlines():
    doc = json.loads(line)
    if doc.get("source") != "doc":
        continue
    name = doc["id"].split("#")[0].rsplit("-", 1)[-1]
    if name.startswith("NEWS") or name.startswith("README"):
        lines.append(json.dumps({"id": doc["id"], "text": doc["text"]}, ensure_ascii=False))
dst.parent.mkdir(parents=True, exist_ok=True)
data = ("\n".join(lines) + "\n").encode("utf-8")
dst.write_bytes(subprocess.run(["zstd", "-19", "-q", "-c"], input=data, check=True, capture_output=True).stdout)
print(f"{dst.relative_to(root)}: {len(lines)} documents, {len(data)} bytes before compression", file=sys.stderr)

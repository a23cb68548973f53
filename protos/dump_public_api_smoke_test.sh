#!/usr/bin/env bash
# Smoke test of the dump_public_api binary: it runs, exits 0, and prints
# exactly the committed golden file (so the documented regeneration command
# is a no-op on a clean tree).
set -euo pipefail
binary="$1"
golden="$2"
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
"$binary" > "$out"
if ! diff -u "$golden" "$out"; then
  echo "dump_public_api output differs from $golden" >&2
  exit 1
fi
lines=$(wc -l < "$out")
[ "$lines" -gt 100 ] || { echo "suspiciously short dump: $lines lines" >&2; exit 1; }
echo "dump_public_api: $lines lines, identical to the golden file"

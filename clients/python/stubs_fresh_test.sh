#!/usr/bin/env bash
# Fails when clients/python/quarry differs from what generate.sh makes from
# the protos: run clients/python/generate.sh after changing an API proto.
set -euo pipefail
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
clients/python/generate.sh "$out"
if ! diff -r "$out/quarry" clients/python/quarry; then
  echo "the Python stubs are stale: run clients/python/generate.sh" >&2
  exit 1
fi
echo "Python stubs match the protos"

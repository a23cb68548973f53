#!/usr/bin/env bash
# Regenerates the Python stubs of Quarry's public API (quarry/common/v1 and
# quarry/gateway/v1) into clients/python/quarry/ from protos/, with Debian's
# protoc and grpc_python_plugin. The stubs are checked in so that the
# package needs nothing but python3-grpcio and python3-protobuf at run time;
# //clients/python:stubs_fresh_test fails when they differ from the protos.
#
# Usage: clients/python/generate.sh [OUTPUT_DIR]   (default: clients/python)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$here}"
rm -rf "$out/quarry"
mkdir -p "$out"
protoc -I "$root/protos" \
  --python_out="$out" \
  --grpc_python_out="$out" \
  --plugin=protoc-gen-grpc_python="$(command -v grpc_python_plugin)" \
  "$root"/protos/quarry/common/v1/*.proto "$root"/protos/quarry/gateway/v1/*.proto

#!/usr/bin/env bash
# The vector-search service through gRPC (from this separate client process)
# vs. the same index in process, and cold start from PostgreSQL vs. from a
# snapshot. Starts its own throwaway PostgreSQL. Extra arguments go to the
# benchmark, e.g. --n=100000 --efforts=48,64,96 --quantize.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="$(bazel info -c opt --config=opt bazel-bin 2>/dev/null)"
bazel build -c opt --config=opt //bench/vector_search:service_bench //services/vector_search >&2
"$bin"/bench/vector_search/service_bench \
  --service_binary="$bin"/services/vector_search/vector_search "$@"

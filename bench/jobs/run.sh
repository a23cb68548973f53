#!/usr/bin/env bash
# Job queue benchmark: no-op throughput with 1/4/16 runner threads, enqueue ->
# start latency idle and under load, and index_documents end to end with the
# real worker and embedding binaries, against a throwaway PostgreSQL 15.
#   bench/jobs/run.sh [extra flags for job_queue_bench, e.g. --jobs=5000 --phases=latency]
# Everything it starts (PostgreSQL, worker, embedding) is stopped by the
# benchmark binary itself; it binds 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/../.."

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# Real text: the package descriptions every Debian machine has, one per line,
# duplicates removed (a duplicate would be an embedding cache hit).
apt-cache dumpavail | sed -n 's/^Description: //p' | awk 'NF && !seen[$0]++' > "$WORK/texts.txt"
echo "texts: $(wc -l < "$WORK/texts.txt") distinct package descriptions" >&2

TARGETS=(//bench/jobs:job_queue_bench //services/worker:worker //services/embedding:embedding)
bazel build --config=opt "${TARGETS[@]}" >&2
BIN=$(bazel info --config=opt bazel-bin 2>/dev/null)

# Bounded: every phase stops at its job/probe count or --phase_timeout.
timeout 1800 "$BIN/bench/jobs/job_queue_bench" \
  --worker_binary="$BIN/services/worker/worker" \
  --embedding_binary="$BIN/services/embedding/embedding" \
  --texts_file="$WORK/texts.txt" \
  "$@"

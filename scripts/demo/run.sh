#!/usr/bin/env bash
# The demo on real data, against a running suite (scripts/quarry up runs it;
# `scripts/quarry demo` runs it again): ingests the descriptions of Debian's
# packages (`apt-cache dumpavail`, ~60,000 documents), waits until they are
# indexed, runs a few searches and prints the hits with scores and latencies,
# then the stats. A second run reuses what is already ingested (the JSONL file
# and quarryctl's checkpoint are kept in STATE/demo/).
#
# Needs: QUARRY_TARGET, QUARRY_API_KEY, QUARRYCTL (the binary), QUARRY_STATE_DIR;
# LOADGEN (the binary) is optional.
# Bounds: QUARRY_DEMO_INDEX_TIMEOUT (seconds to wait for indexing, default 1800).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
: "${QUARRY_TARGET:?}" "${QUARRY_API_KEY:?}" "${QUARRYCTL:?}" "${QUARRY_STATE_DIR:?}"
export QUARRY_TARGET QUARRY_API_KEY
COLLECTION=debian
DEMO_DIR="$QUARRY_STATE_DIR/demo"
JSONL="$DEMO_DIR/debian.jsonl"
INDEX_TIMEOUT="${QUARRY_DEMO_INDEX_TIMEOUT:-1800}"
PY=/usr/bin/python3
ctl() { "$QUARRYCTL" --deadline=60s "$@"; }
say() { printf 'demo: %s\n' "$*"; }

mkdir -p "$DEMO_DIR"

# 1. The documents. Made once: quarryctl's checkpoint is a byte offset into
# this file (it starts over by itself when the file changes).
if [ ! -s "$JSONL" ]; then
  say "converting 'apt-cache dumpavail' (Debian's package index) to $JSONL"
  apt-cache dumpavail | "$PY" "$HERE/debian_packages.py" >"$JSONL.tmp"
  mv -f "$JSONL.tmp" "$JSONL"
fi
total_docs=$(wc -l <"$JSONL")
say "$total_docs documents in $JSONL"

# 2. The collection (dimension: the embedding model's).
if ! out=$(ctl collections create "$COLLECTION" 2>&1); then
  case "$out" in
    ALREADY_EXISTS*) say "collection '$COLLECTION' exists already" ;;
    *) echo "$out" >&2; exit 1 ;;
  esac
else
  say "created collection '$COLLECTION'"
fi

# 3. Ingest, resuming from the checkpoint (a finished ingest resumes at the end
# and sends nothing). quarryctl prints one summary line: ingested, skipped,
# failed, seconds and documents/s.
say "ingesting through $QUARRY_TARGET in batches of 500"
if ! ctl ingest "$JSONL" --collection="$COLLECTION" --batch=500 | sed 's/^/demo: /'; then
  say "ingest did not finish (rerun to resume from the checkpoint)"
  exit 1
fi

# 4. Wait until every document has a vector and every shard has applied it.
say "waiting for indexing (embedding by the workers, then the shards tail PostgreSQL; at most ${INDEX_TIMEOUT}s)"
start_wait=$SECONDS
last_indexed=-1
last_time=$SECONDS
while true; do
  if ! stats=$(ctl stats collection "$COLLECTION" 2>&1); then
    printf '\n' >&2
    echo "demo: stats failed: $stats" >&2
    exit 1
  fi
  read -r documents indexed pending min_wm latest < <("$PY" -c '
import json, sys
s = json.load(sys.stdin)
print(*(int(s.get(k, 0)) for k in ("documents", "indexed", "pending", "min_watermark", "latest_sequence")))
' <<<"$stats")
  elapsed=$((SECONDS - start_wait))
  rate=""
  if [ "$last_indexed" -ge 0 ] && [ $((SECONDS - last_time)) -gt 0 ]; then
    rate=" $(( (indexed - last_indexed) / (SECONDS - last_time) )) docs/s"
  fi
  last_indexed=$indexed; last_time=$SECONDS
  "$PY" -c '
import sys
indexed, documents, pending, wm, latest, elapsed, rate = sys.argv[1:]
indexed, documents = int(indexed), int(documents)
frac = indexed / documents if documents else 1.0
bar = "#" * int(frac * 30)
sys.stderr.write(f"\r[{bar:<30}] {frac * 100:5.1f}%  indexed {indexed}/{documents}  pending {pending}  "
                 f"watermark {wm}/{latest}  {elapsed}s{rate}   ")
' "$indexed" "$documents" "$pending" "$min_wm" "$latest" "$elapsed" "$rate"
  if [ "$pending" -eq 0 ] && [ "$min_wm" -ge "$latest" ]; then
    printf '\n' >&2
    say "indexed: $indexed documents, searchable on every shard (${elapsed}s)"
    break
  fi
  if [ "$elapsed" -ge "$INDEX_TIMEOUT" ]; then
    printf '\n' >&2
    say "WARNING: indexing not finished after ${INDEX_TIMEOUT}s ($pending pending); searching what is indexed"
    break
  fi
  sleep 2
done

# 5. A few searches, timed end to end (process start + nginx + gateway + shards).
echo
queries=("terminal file manager" "postgresql database server" "edit images and photos"
         "play music files" "secure shell client")
for q in "${queries[@]}"; do
  start=$(date +%s%N)
  result=$(ctl search --collection="$COLLECTION" --top_k=5 "$q")
  end=$(date +%s%N)
  "$PY" "$HERE/show_hits.py" "$q" $(( (end - start) / 1000 )) <<<"$result"
done

# 6. Latency under a little load: loadgen through nginx, bounded in calls and time.
# Keys are rate-limited (100 calls/s, burst 200 by default), so load gets a
# read-only key of its own with a high limit, made once and kept in STATE/demo.
LOAD_KEY_FILE="$DEMO_DIR/load.key"
if [ -x "${LOADGEN:-}" ] && [ ! -s "$LOAD_KEY_FILE" ]; then
  if created=$(ctl keys create --name=demo-load --scopes=read --rate=100000 2>&1); then
    (umask 077; "$PY" -c 'import json,sys; print(json.load(sys.stdin)["secret"])' \
       <<<"$created" >"$LOAD_KEY_FILE")
  else
    say "could not create a load key ($created); loadgen uses the admin key"
  fi
fi
if [ -x "${LOADGEN:-}" ]; then
  load_key=$(cat "$LOAD_KEY_FILE" 2>/dev/null || echo "$QUARRY_API_KEY")
  echo
  say "loadgen: 2000 searches, 8 in flight, over one HTTP/2 connection through $QUARRY_TARGET"
  "$LOADGEN" --target="$QUARRY_TARGET" --api_key="$load_key" --rpc=search \
    --collection="$COLLECTION" --requests=2000 --concurrency=8 --duration=30s --deadline=5s || true
fi

# 7. The stats. Job stats come from a view that a refresh_stats job refreshes:
# run one first (and wait for it, boundedly) so they include this run.
echo
say "quarryctl stats collection $COLLECTION"
ctl stats collection "$COLLECTION"
if job=$(ctl jobs submit refresh_stats 2>/dev/null); then
  job_id=$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["job"]["id"])' <<<"$job")
  for _ in $(seq 30); do
    ctl jobs get "$job_id" 2>/dev/null | grep -q JOB_STATE_SUCCEEDED && break
    sleep 1
  done
fi
say "quarryctl stats jobs"
ctl stats jobs

#!/usr/bin/env bash
# Embedding service under load, over gRPC on loopback, with the real
# //services/embedding:embedding binary and //tools/loadgen:loadgen:
#   1. texts/s with 32 concurrent clients (the batcher coalesces them) vs. one
#      request at a time (concurrency 1, the baseline), one text per request,
#      every text a cache miss (--cache_bytes=0 turns the in-process cache off;
#      no --database_url, so no L2). Target: >= 3x. For the built-in hashing
#      model and, when it can be made, a model with all-MiniLM-L6-v2's
#      architecture (from the directory QUARRY_MODEL_DIR names: its pretrained
#      weights if present, otherwise seeded random weights with its
#      vocabulary: speed does not depend on the values; skipped when unset).
#   2. cache-hit latency: one text repeated (all L1 hits), concurrency 1;
#      baseline: grpc.health.v1 Check on the same loopback. Target: p50 < 0.3 ms.
#
#   bench/embedding_service/run.sh [--duration=30s] [--requests=200000] [--hit_requests=5000]
#                                  [--skip_bert]
# Every loadgen run is bounded by --requests and --duration; every process it
# starts is stopped on exit. Binds 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
DURATION=30s
REQUESTS=200000
HIT_REQUESTS=5000
SKIP_BERT=0
for arg in "$@"; do
  case $arg in
    --duration=*) DURATION=${arg#*=} ;;
    --requests=*) REQUESTS=${arg#*=} ;;
    --hit_requests=*) HIT_REQUESTS=${arg#*=} ;;
    --skip_bert) SKIP_BERT=1 ;;
    *) echo "unknown argument $arg" >&2; exit 2 ;;
  esac
done
export PYTHONDONTWRITEBYTECODE=1  # keep __pycache__ out of the source tree

WORK=$(mktemp -d)
SERVER_PID=""
stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID"
    for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}
trap 'stop_server; rm -rf "$WORK"' EXIT

bazel build --config=opt //services/embedding:embedding //tools/loadgen:loadgen >&2
BIN=$(bazel info --config=opt bazel-bin 2>/dev/null)
EMBEDDING=$BIN/services/embedding/embedding
LOADGEN=$BIN/tools/loadgen/loadgen

# Real, distinct texts: Debian's package descriptions. loadgen picks texts at
# random (with repeats), which is why the cache is switched off for phase 1.
# (awk, not head, takes the first 50,000: head would end the pipe early and
# pipefail would report the SIGPIPE.)
apt-cache dumpavail | sed -n 's/^Description: //p' \
  | awk 'NF && !seen[$0]++ && n++ < 50000' > "$WORK/texts.txt"
echo "texts: $(wc -l < "$WORK/texts.txt") distinct package descriptions" >&2
echo "A terminal file manager with a two-pane view" > "$WORK/one_text.txt"

# start_server NAME FLAGS...: starts the embedding service on a free port and
# waits for "model ready" (logged after health turns SERVING); sets PORT.
start_server() {
  local name=$1; shift
  local log=$WORK/$name.log
  "$EMBEDDING" --host=127.0.0.1 --port=0 --admin_port=0 "$@" > "$log" 2>&1 &
  SERVER_PID=$!
  PORT=""
  for _ in $(seq 1 1200); do  # up to 120 s (a model load included)
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      echo "embedding ($name) exited at start:" >&2; cat "$log" >&2; exit 1
    fi
    if grep -q '"model ready"' "$log"; then
      PORT=$(/usr/bin/python3 -c '
import json, sys
for line in open(sys.argv[1]):
    try:
        j = json.loads(line)
    except ValueError:
        continue
    if j.get("message") == "serving":
        print(j["port"]); break' "$log")
      [ -n "$PORT" ] && return 0
    fi
    sleep 0.1
  done
  echo "embedding ($name) did not become ready:" >&2; cat "$log" >&2; exit 1
}

RESULTS=$WORK/results.jsonl
: > "$RESULTS"
# run_load MODEL LABEL CONCURRENCY REQUESTS TEXTS [RPC]: one bounded loadgen
# run; appends its JSON summary (plus model/label/concurrency) to RESULTS.
run_load() {
  local model=$1 label=$2 concurrency=$3 requests=$4 texts=$5 rpc=${6:-embed}
  echo "  $model / $label: concurrency $concurrency, up to $requests requests or $DURATION" >&2
  "$LOADGEN" --target="127.0.0.1:$PORT" --rpc="$rpc" --batch=1 --concurrency="$concurrency" \
    --requests="$requests" --duration="$DURATION" --deadline=10s --texts_file="$texts" \
    --json="$WORK/one.json" >&2 || true
  /usr/bin/python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
j.update(model=sys.argv[2], label=sys.argv[3], concurrency=int(sys.argv[4]))
print(json.dumps(j))' "$WORK/one.json" "$model" "$label" "$concurrency" >> "$RESULTS"
}

echo "machine: $(nproc) CPUs; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

# compare MODEL FLAGS...: the batcher comparison for one model, cache off.
# The service as deployed (--batch_max_wait=2ms) makes a lone request wait up
# to 2 ms for company, so "one at a time" is also measured with
# --batch_max_wait=0: the strict baseline, a service that never waits.
compare() {
  local model=$1; shift
  start_server strict "$@" --cache_bytes=0 --batch_max_wait=0
  run_load "$model" "1 at a time, --batch_max_wait=0 (strict baseline)" 1 "$REQUESTS" \
    "$WORK/texts.txt"
  stop_server
  start_server batched "$@" --cache_bytes=0
  run_load "$model" "1 at a time (baseline)" 1 "$REQUESTS" "$WORK/texts.txt"
  run_load "$model" "32 concurrent" 32 "$REQUESTS" "$WORK/texts.txt"
  stop_server
}

# 1a. Built-in hashing model.
compare hashing-384 --model=hashing

# 1b. A transformer: all-MiniLM-L6-v2's architecture.
if [ "$SKIP_BERT" = 0 ]; then
  SHARED=${QUARRY_MODEL_DIR:-}
  MODEL_NOTE=""
  if [ -z "$SHARED" ]; then
    MODEL=""
    echo "transformer rows skipped: set QUARRY_MODEL_DIR to an all-MiniLM-L6-v2 directory" >&2
  elif [ -f "$SHARED/model.safetensors" ]; then
    MODEL=$SHARED
    MODEL_NOTE="pretrained weights"
  elif /usr/bin/python3 services/embedding/reference/make_reference.py \
         --shared_dir "$SHARED" --write_minilm_random "$WORK/all-MiniLM-L6-v2" >&2; then
    MODEL=$WORK/all-MiniLM-L6-v2
    MODEL_NOTE="seeded random weights"
  else
    MODEL=""
    echo "no transformer model could be made (needs python3-torch and $SHARED/vocab.txt)" >&2
  fi
  if [ -n "$MODEL" ]; then
    compare "MiniLM-L6 ($MODEL_NOTE)" --model_dir="$MODEL"
  fi
fi

# 2. Cache hits: default L1 cache, one text, warmed by the first call.
start_server cached --model=hashing
run_load hashing-384 "warm-up" 1 10 "$WORK/one_text.txt"
run_load hashing-384 "health Check (baseline)" 1 "$HIT_REQUESTS" "$WORK/one_text.txt" health
run_load hashing-384 "cache hit" 1 "$HIT_REQUESTS" "$WORK/one_text.txt"
stop_server

echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo
/usr/bin/python3 - "$RESULTS" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]

def errors(r):
    bad = {k: v for k, v in r.get("by_code", {}).items() if k != "OK"}
    return ", ".join(f"{k}={v}" for k, v in bad.items()) or "-"

print("== Embedding service benchmark (gRPC on 127.0.0.1, one text per request) ==")
print()
print("Batcher: 32 concurrent clients vs. one request at a time, every text a cache miss "
      "(--cache_bytes=0). Target: >= 3x texts/s.")
print("| model | clients | requests | seconds | texts/s | p50 ms | p99 ms | vs. 1 at a time "
      "| vs. strict baseline | errors |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
base, strict = {}, {}
for r in rows:
    if r["label"] in ("warm-up", "cache hit", "health Check (baseline)"):
        continue
    if "strict" in r["label"]:
        strict[r["model"]] = r["qps"]
    elif r["concurrency"] == 1:
        base[r["model"]] = r["qps"]

    def ratio(b):
        if not b or r["concurrency"] == 1:
            return "-"
        x = r["qps"] / b
        return f"{x:.2f}x " + ("(met)" if x >= 3 else "(MISSED)")
    print(f"| {r['model']} | {r['label']} | {r['ok']} | {r['seconds']:.1f} | {r['qps']:.0f} | "
          f"{r['p50_ms']:.3f} | {r['p99_ms']:.3f} | {ratio(base.get(r['model']))} | "
          f"{ratio(strict.get(r['model']))} | {errors(r)} |")
print()
print("Cache-hit latency: the same text repeated (L1 hits), concurrency 1. Target: p50 < 0.3 ms.")
print("| call | requests | p50 ms | p95 ms | p99 ms | calls/s | target | errors |")
print("|---|---:|---:|---:|---:|---:|:---:|---|")
for r in rows:
    if r["label"] not in ("cache hit", "health Check (baseline)"):
        continue
    target = ("met" if r["p50_ms"] < 0.3 else "MISSED") if r["label"] == "cache hit" else "-"
    print(f"| {r['label']} | {r['ok']} | {r['p50_ms']:.3f} | {r['p95_ms']:.3f} | "
          f"{r['p99_ms']:.3f} | {r['qps']:.0f} | {target} | {errors(r)} |")
EOF

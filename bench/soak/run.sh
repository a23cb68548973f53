#!/usr/bin/env bash
# Soak: mixed load at a fixed rate against the one-machine suite (scripts/quarry)
# in consecutive windows; per window the calls, errors by code, p50/p99, and the
# resident memory (VmRSS) of every service process. Not part of CI.
#
#   bench/soak/run.sh [--duration=10m] [--rate=200] [--rpc=search:8,upsert:2]
#                     [--window=1m] [--batch=1] [--keep-up] [--results=DIR]
#
# Fails (exit 1) when the error rate over the whole run is above
# --max_error_rate (default 0.01), when a service process dies, or when the
# RSS of any service grows between the baseline (the end of the second window)
# and the end by more than --mem_growth_pct (25) percent plus --mem_growth_mb
# (20) MB. Vector-search replicas hold the index, which grows with the data the
# upserts add: their bound also allows --index_bytes_per_doc (4096) bytes per
# document added on their shard after the baseline. PostgreSQL and nginx are
# reported but not judged (PostgreSQL's shared buffers fill by design).
#
# The suite is started with `scripts/quarry up --no-demo` unless it already
# runs, with the embedding cache bounded (--cache_bytes, see --embedding_cache)
# so the caches fill early and any later growth is a leak; it is stopped at the
# end unless --keep-up is given or it was already running. Results go to
# bench/soak/results/<UTC time>/ (not committed): one loadgen JSON per window,
# rss.tsv, summary.json and table.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO="$PWD"

DURATION=10m
RATE=200
RPC="search:8,upsert:2"
WINDOW=1m
BATCH=1
KEEP_UP=0
RESULTS_ROOT="$REPO/bench/soak/results"
MAX_ERROR_RATE=0.01
MEM_GROWTH_PCT=25
MEM_GROWTH_MB=20
INDEX_BYTES_PER_DOC=4096
EMBEDDING_CACHE=$((8 << 20))
WARMUP=30s
COLLECTION=soak

die() { printf 'soak: %s\n' "$*" >&2; exit 2; }
say() { printf 'soak: %s\n' "$*"; }

# "10m", "90s", "1h" or plain seconds -> seconds.
seconds_of() {
  local v="$1"
  case "$v" in
    *h) echo $(( ${v%h} * 3600 )) ;;
    *m) echo $(( ${v%m} * 60 )) ;;
    *s) echo $(( ${v%s} )) ;;
    *) echo $(( v )) ;;
  esac
}

for arg in "$@"; do
  case "$arg" in
    --duration=*) DURATION="${arg#*=}" ;;
    --rate=*) RATE="${arg#*=}" ;;
    --rpc=*) RPC="${arg#*=}" ;;
    --window=*) WINDOW="${arg#*=}" ;;
    --batch=*) BATCH="${arg#*=}" ;;
    --keep-up) KEEP_UP=1 ;;
    --results=*) RESULTS_ROOT="${arg#*=}" ;;
    --max_error_rate=*) MAX_ERROR_RATE="${arg#*=}" ;;
    --mem_growth_pct=*) MEM_GROWTH_PCT="${arg#*=}" ;;
    --mem_growth_mb=*) MEM_GROWTH_MB="${arg#*=}" ;;
    --index_bytes_per_doc=*) INDEX_BYTES_PER_DOC="${arg#*=}" ;;
    --embedding_cache=*) EMBEDDING_CACHE="${arg#*=}" ;;
    --warmup=*) WARMUP="${arg#*=}" ;;
    -h|--help) sed -n '2,/^set /p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$arg' (see --help)" ;;
  esac
done

DURATION_S=$(seconds_of "$DURATION") || die "--duration: not a duration: $DURATION"
WINDOW_S=$(seconds_of "$WINDOW") || die "--window: not a duration: $WINDOW"
WARMUP_S=$(seconds_of "$WARMUP") || die "--warmup: not a duration: $WARMUP"
[ "$DURATION_S" -gt 0 ] && [ "$DURATION_S" -le 86400 ] || die "--duration must be in (0, 24h]"
[ "$WINDOW_S" -gt 0 ] && [ "$WINDOW_S" -le "$DURATION_S" ] || die "--window must be in (0, duration]"
awk -v r="$RATE" 'BEGIN { exit !(r > 0 && r <= 100000) }' || die "--rate must be in (0, 100000]"
WINDOWS=$(( DURATION_S / WINDOW_S ))
# Requests per window: the rate bound with slack; the time bound ends it first.
REQUESTS=$(awk -v r="$RATE" -v s="$WINDOW_S" 'BEGIN { printf "%d", r * s * 1.2 + 10 }')

STATE_DIR="${QUARRY_STATE_DIR:-$REPO/.state}"
TARGET=127.0.0.1:50050
SERVICES=(embedding
          vector-search-s0-r0 vector-search-s0-r1 vector-search-s1-r0 vector-search-s1-r1
          worker-1 worker-2 gateway-1 gateway-2)

RUN_DIR="$RESULTS_ROOT/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$RUN_DIR"
say "results in $RUN_DIR"

# --- the suite -----------------------------------------------------------------

suite_running() { scripts/quarry status 2>/dev/null | grep -q '^gateway-1 *alive'; }

STARTED_HERE=0
if suite_running; then
  say "the suite is already running: using it as it is"
else
  say "starting the suite (scripts/quarry up --no-demo)"
  QUARRY_EMBEDDING_FLAGS="${QUARRY_EMBEDDING_FLAGS:-} --cache_bytes=$EMBEDDING_CACHE" \
    scripts/quarry up --no-demo >"$RUN_DIR/quarry-up.log" 2>&1 ||
    { tail -n 30 "$RUN_DIR/quarry-up.log" >&2; die "scripts/quarry up failed"; }
  STARTED_HERE=1
fi
stop_suite() {
  if [ "$STARTED_HERE" = 1 ] && [ "$KEEP_UP" = 0 ]; then
    say "stopping the suite (scripts/quarry down)"
    scripts/quarry down >>"$RUN_DIR/quarry-down.log" 2>&1 || true
  fi
}
trap stop_suite EXIT

LOADGEN="$STATE_DIR/bin/loadgen"
QUARRYCTL="$STATE_DIR/bin/quarryctl"
[ -x "$LOADGEN" ] || die "$LOADGEN is missing (scripts/quarry up installs it)"
API_KEY=$(cat "$STATE_DIR/admin.key") || die "no $STATE_DIR/admin.key"

# Pids from scripts/quarry's pid files, checked against the binary they run.
declare -A PID
for name in "${SERVICES[@]}"; do
  pid=$(cat "$STATE_DIR/pids/$name.pid" 2>/dev/null) || die "no pid file for $name"
  [ -d "/proc/$pid" ] || die "$name (pid $pid) is not running"
  PID[$name]=$pid
done
PG_PID=$(head -n1 "$(cat "$STATE_DIR/pg.location")/data/postmaster.pid" 2>/dev/null || true)
NGINX_PID=$(cat "$STATE_DIR/nginx/nginx.pid" 2>/dev/null || true)

rss_kb() {  # VmRSS of one pid in kB, or empty when it is gone
  awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || true
}
# The RSS of a process and its children (PostgreSQL backends, nginx workers).
tree_rss_kb() {
  local total=0 pid kb
  for pid in "$1" $(ps -o pid= --ppid "$1" 2>/dev/null); do
    kb=$(rss_kb "$pid"); total=$(( total + ${kb:-0} ))
  done
  echo "$total"
}

# One line per sample: label, then kB per service (and pg, nginx).
printf 'sample' >"$RUN_DIR/rss.tsv"
for name in "${SERVICES[@]}"; do printf '\t%s' "$name" >>"$RUN_DIR/rss.tsv"; done
printf '\tpostgresql\tnginx\n' >>"$RUN_DIR/rss.tsv"
sample_rss() {
  local label="$1" name kb
  printf '%s' "$label" >>"$RUN_DIR/rss.tsv"
  for name in "${SERVICES[@]}"; do
    kb=$(rss_kb "${PID[$name]}")
    printf '\t%s' "${kb:-dead}" >>"$RUN_DIR/rss.tsv"
  done
  printf '\t%s\t%s\n' "$( [ -n "$PG_PID" ] && tree_rss_kb "$PG_PID" || echo 0)" \
    "$( [ -n "$NGINX_PID" ] && tree_rss_kb "$NGINX_PID" || echo 0)" >>"$RUN_DIR/rss.tsv"
}

# --- the load ------------------------------------------------------------------

out=$(QUARRY_TARGET=$TARGET QUARRY_API_KEY=$API_KEY "$QUARRYCTL" collections create "$COLLECTION" 2>&1) ||
  case "$out" in ALREADY_EXISTS*) ;; *) die "cannot create collection $COLLECTION: $out" ;; esac

# The soak judges the growth of $COLLECTION under its own writes, so the
# upserts go there too (loadgen alone would write to a collection of its own).
loadgen() {  # seconds, requests, json file
  "$LOADGEN" --target="$TARGET" --api_key="$API_KEY" --collection="$COLLECTION" \
    --upsert_collection="$COLLECTION" \
    --rpc="$RPC" --rate="$RATE" --batch="$BATCH" --deadline=5s \
    --duration="$1s" --requests="$2" --json="$3"
}

sample_rss start
say "warm-up: ${WARMUP_S}s at $RATE/s ($RPC), not judged"
loadgen "$WARMUP_S" $(( REQUESTS * WARMUP_S / WINDOW_S + 10 )) "$RUN_DIR/warmup.json" \
  >"$RUN_DIR/warmup.txt" 2>&1 || true
sample_rss warmup

say "$WINDOWS windows of ${WINDOW_S}s at $RATE/s ($RPC, batch $BATCH)"
for w in $(seq 1 "$WINDOWS"); do
  loadgen "$WINDOW_S" "$REQUESTS" "$RUN_DIR/window-$w.json" >"$RUN_DIR/window-$w.txt" 2>&1 || true
  [ -s "$RUN_DIR/window-$w.json" ] || echo '{"requests": 0, "ok": 0, "by_code": {}}' >"$RUN_DIR/window-$w.json"
  sample_rss "$w"
  python3 - "$RUN_DIR/window-$w.json" "$w" <<'EOF'
import json, sys
w = json.load(open(sys.argv[1]))
errors = w.get("requests", 0) - w.get("ok", 0)
print(f"soak: window {sys.argv[2]}: {w.get('requests', 0)} calls, {errors} errors, "
      f"p50 {w.get('p50_ms', 0):.1f} ms, p99 {w.get('p99_ms', 0):.1f} ms", flush=True)
EOF
done

# --- the verdict -----------------------------------------------------------------

set +e
python3 - "$RUN_DIR" "$WINDOWS" "$MAX_ERROR_RATE" "$MEM_GROWTH_PCT" "$MEM_GROWTH_MB" \
  "$INDEX_BYTES_PER_DOC" "$BATCH" "$RATE" "$RPC" "$WINDOW_S" <<'EOF'
import csv, json, os, sys

run_dir, windows = sys.argv[1], int(sys.argv[2])
max_error_rate, growth_pct, growth_mb = float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
bytes_per_doc, batch, rate, rpc, window_s = (int(sys.argv[6]), int(sys.argv[7]), float(sys.argv[8]),
                                             sys.argv[9], int(sys.argv[10]))

rows = []
for w in range(1, windows + 1):
    j = json.load(open(os.path.join(run_dir, f"window-{w}.json")))
    calls, ok = j.get("requests", 0), j.get("ok", 0)
    rows.append({"window": w, "calls": calls, "ok": ok, "errors": calls - ok,
                 "error_rate": (calls - ok) / calls if calls else 1.0,
                 "qps": j.get("qps", 0), "p50_ms": j.get("p50_ms", 0), "p99_ms": j.get("p99_ms", 0),
                 "max_ms": j.get("max_ms", 0),
                 "errors_by_code": {k: v for k, v in j.get("by_code", {}).items() if k != "OK"}})

with open(os.path.join(run_dir, "rss.tsv")) as f:
    samples = list(csv.DictReader(f, delimiter="\t"))
services = [k for k in samples[0].keys() if k != "sample"]
judged = [s for s in services if s not in ("postgresql", "nginx")]
by_label = {s["sample"]: s for s in samples}
# Baseline: the end of the second window (the first when there is only one).
base_label = "2" if windows >= 3 else "1"
base, end = by_label[base_label], by_label[str(windows)]

# Documents added after the baseline, for the index allowance: the upsert share
# of the calls of the windows after it, times the batch.
weights = dict((p.split(":") + ["1"])[:2] for p in rpc.split(","))
total_weight = sum(float(v) for v in weights.values())
upsert_share = float(weights.get("upsert", 0)) / total_weight if total_weight else 0
docs_after_base = sum(r["ok"] for r in rows[int(base_label):]) * upsert_share * batch

memory, failures = {}, []
for s in services:
    b, e = base[s], end[s]
    entry = {"start_kb": by_label["start"][s], "baseline_kb": b, "end_kb": e}
    if s in judged:
        if b == "dead" or e == "dead":
            failures.append(f"{s} died during the soak")
            entry["verdict"] = "died"
        else:
            allowance_kb = int(b) * growth_pct / 100 + growth_mb * 1024
            if s.startswith("vector-search"):
                allowance_kb += docs_after_base / 2 * bytes_per_doc / 1024  # two shards
            entry["allowed_end_kb"] = int(int(b) + allowance_kb)
            entry["growth_kb"] = int(e) - int(b)
            if int(e) > int(b) + allowance_kb:
                failures.append(f"{s}: RSS grew from {int(b)/1024:.0f} MB to {int(e)/1024:.0f} MB, "
                                f"over the bound of {entry['allowed_end_kb']/1024:.0f} MB")
                entry["verdict"] = "grew"
            else:
                entry["verdict"] = "ok"
    memory[s] = entry

calls = sum(r["calls"] for r in rows)
errors = sum(r["errors"] for r in rows)
error_rate = errors / calls if calls else 1.0
if error_rate > max_error_rate:
    failures.append(f"error rate {error_rate:.4%} is above {max_error_rate:.2%}")

lines = [f"soak: {windows} x {window_s}s at {rate:g}/s, {rpc}, upsert batch {batch}", "",
         f"{'window':>6} {'calls':>7} {'errors':>6} {'err%':>7} {'qps':>7} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}  errors by code"]
for r in rows:
    lines.append(f"{r['window']:>6} {r['calls']:>7} {r['errors']:>6} {r['error_rate']:>7.3%} {r['qps']:>7.1f} "
                 f"{r['p50_ms']:>7.1f} {r['p99_ms']:>7.1f} {r['max_ms']:>7.1f}  "
                 + (", ".join(f"{k} {v}" for k, v in r["errors_by_code"].items()) or "-"))
lines.append(f"{'total':>6} {calls:>7} {errors:>6} {error_rate:>7.3%}")
lines += ["", "RSS in MB per sample (start, after warm-up, end of each window):",
          f"{'service':<22}" + "".join(f"{s['sample']:>8}" for s in samples) + "   verdict"]
for s in services:
    cells = "".join(f"{(int(x[s]) / 1024 if x[s] != 'dead' else float('nan')):>8.1f}" for x in samples)
    v = memory[s].get("verdict", "not judged")
    if "allowed_end_kb" in memory[s]:
        v += f" (end <= {memory[s]['allowed_end_kb'] / 1024:.0f})"
    lines.append(f"{s:<22}{cells}   {v}")
lines += ["", f"baseline: end of window {base_label}; bound: +{growth_pct:g}% + {growth_mb:g} MB"
          f" (vector-search also +{bytes_per_doc} B per document added on its shard: "
          f"{docs_after_base:.0f} documents after the baseline)",
          "verdict: " + ("PASS" if not failures else "FAIL: " + "; ".join(failures))]
table = "\n".join(lines)
print(table)
open(os.path.join(run_dir, "table.txt"), "w").write(table + "\n")
summary = {"rate": rate, "rpc": rpc, "batch": batch, "window_seconds": window_s, "windows": rows,
           "calls": calls, "errors": errors, "error_rate": error_rate, "memory": memory,
           "baseline_sample": base_label, "pass": not failures, "failures": failures}
json.dump(summary, open(os.path.join(run_dir, "summary.json"), "w"), indent=2)
sys.exit(0 if not failures else 1)
EOF
verdict=$?
set -e
say "summary: $RUN_DIR/summary.json"
exit "$verdict"

#!/usr/bin/env bash
# Quarry's job queue and its peer, Celery 5 + Redis 7, side by side in one
# run, at equal durability, and one table at the end:
#   - Quarry's in-process Runner (C++, the worker binary's) at 1/4/16 threads,
#     on a private PostgreSQL 15 with fsync, synchronous_commit and
#     full_page_writes on; the same throughput on the throwaway cluster with
#     all three off, for scale; a batched-completion what-if;
#   - Quarry's public worker API through the real gateway, with 1/2/4 Python
#     worker processes of clients/python's runtime;
#   - Celery with 1/2/4 prefork processes and a threads pool, on a private
#     redis-server with AOF on and fsync every second, acks_late.
# Throughput drains a backlog of no-op jobs; latency is enqueue -> start of
# one probe at a time, idle and at half the measured throughput.
#   bench/jobs/compare.sh            (6 minutes on 2 cores here, build cached)
# Environment: QUARRY_BENCH_JOBS (runner backlog, default 10000),
# QUARRY_BENCH_API_JOBS (worker-API and Celery backlog, default 5000).
# Everything binds 127.0.0.1 on free ports; every loop is bounded by a count
# and a time; what it starts it stops (trap on exit).
set -euo pipefail
cd "$(dirname "$0")/../.."

RUNNER_JOBS="${QUARRY_BENCH_JOBS:-10000}"
API_JOBS="${QUARRY_BENCH_API_JOBS:-5000}"
PG_BIN=/usr/lib/postgresql/15/bin
PYTHON=/usr/bin/python3  # Debian's: grpcio, celery and redis are installed for it
WORK=$(mktemp -d /tmp/quarry-compare-XXXXXX)
PG_DATA="$WORK/pg/data"

as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  if [ -f "$PG_DATA/postmaster.pid" ]; then
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 30 stop >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

TARGETS=(//bench/jobs:job_queue_bench //bench/jobs:worker_api_bench //services/gateway:gateway)
nice bazel build --config=opt "${TARGETS[@]}" >&2
BIN=$(bazel info --config=opt bazel-bin 2>/dev/null)

# A private cluster with PostgreSQL's durable defaults, spelled out: every
# commit waits for its WAL to be fsynced.
mkdir -p "$WORK/pg"
chmod 755 "$WORK"
[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$WORK/pg"
as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -E UTF8 --locale=C --auth-local=trust \
  --auth-host=trust >"$WORK/pg/initdb.log" 2>&1 || { cat "$WORK/pg/initdb.log" >&2; exit 1; }
PG_PORT=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$WORK/pg/postgres.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -c port=$PG_PORT -c unix_socket_directories=$WORK/pg \
      -c fsync=on -c synchronous_commit=on -c full_page_writes=on \
      -c shared_buffers=128MB -c max_connections=100" start >/dev/null
PG="host=127.0.0.1 port=$PG_PORT user=postgres dbname=postgres"
echo "durable PostgreSQL 15 on 127.0.0.1:$PG_PORT; load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2

# Each step is bounded on its own as well (the benchmarks bound every run).
step() { local name="$1"; shift; echo "== $name" >&2; nice timeout 600 "$@" | tee "$WORK/$name.out"; }

step runner-durable "$BIN/bench/jobs/job_queue_bench" --postgres="$PG" \
  --phases=throughput,whatif,latency --jobs="$RUNNER_JOBS" --load_fractions=0.5
step runner-no-durability "$BIN/bench/jobs/job_queue_bench" \
  --phases=throughput --jobs="$RUNNER_JOBS"
step worker-api "$BIN/bench/jobs/worker_api_bench" --postgres="$PG" \
  --gateway_binary="$BIN/services/gateway/gateway" --python="$PYTHON" --jobs="$API_JOBS"
step celery "$PYTHON" bench/jobs/celery_bench.py --tasks="$API_JOBS"

echo
echo "== Job queues side by side (no-op jobs; load average at end: $(cut -d' ' -f1-3 /proc/loadavg))"
echo
"$PYTHON" bench/jobs/compare_table.py "$WORK"/*.out

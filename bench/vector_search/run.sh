#!/usr/bin/env bash
# Builds and runs the vector-search benchmark (optimised, single thread) and
# prints a summary table. Extra arguments go to the benchmark, e.g.
#   bench/vector_search/run.sh                 # 100k x 384, all modes
#   bench/vector_search/run.sh --n=1000000 --build_only   # 1M build time/memory
#   bench/vector_search/run.sh --data=debian   # real corpus: Debian descriptions
set -euo pipefail
cd "$(dirname "$0")/../.."
# The real corpus needs the long package descriptions, which apt only keeps
# when asked for its English translation index.
if [[ " $* " == *" --data=debian "* ]] &&
   ! compgen -G "/var/lib/apt/lists/*_i18n_Translation-en*" >/dev/null; then
  apt-get update -o Acquire::Languages=en >&2
fi
bin="$(bazel info -c opt --config=opt bazel-bin 2>/dev/null)"
bazel build -c opt --config=opt //bench/vector_search:vector_search_bench >&2
log="$(mktemp /tmp/vector_search_bench.XXXXXX.log)"
# Run the binary directly rather than via `bazel run`, so the shared Bazel
# server is not held for the minutes the benchmark takes.
"$bin"/bench/vector_search/vector_search_bench "$@" | tee "$log"
echo
echo "== summary ($log) =="
grep -E '^(data|build|exact|snapshot)' "$log" || true
printf '\n%-6s %-8s %-5s %-9s %-9s %-10s %-9s %-10s\n' index target ef recall qps speedup cpu_qps cpu_speedup
awk '$1 == "target" && $4 != "not" {
  split($3, t, "="); split($4, e, "="); split($5, r, "="); split($6, q, "="); split($7, s, "=");
  split($8, cq, "="); split($9, cs, "=");
  printf "%-6s %-8s %-5s %-9s %-9s %-10s %-9s %-10s\n", $2, t[2], e[2], r[2], q[2], s[2], cq[2], cs[2] }' "$log"
grep -E '^filter' "$log" || true

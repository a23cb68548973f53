#!/usr/bin/env bash
# Builds the libFuzzer targets of //fuzz with Debian's clang (ASan + UBSan +
# LeakSanitizer) and runs each for a bounded time from a copy of its seed
# corpus. Fails on any crash, leak, timeout or sanitizer report, leaving the
# reproducer in the artifacts directory it prints. See fuzz/README.md.
#
#   scripts/fuzz.sh [seconds_per_target [target...]]    (default 20 s, all targets)
#
# The clang build lives in its own Bazel output base (QUARRY_FUZZ_OUTPUT_BASE,
# default ~/.cache/quarry-fuzz), so it neither invalidates nor waits for the
# g++ build's cache and server; its server exits after a few idle minutes.
set -uo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-20}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(validation tokenizer safetensors snapshot filter)
fi
output_base="${QUARRY_FUZZ_OUTPUT_BASE:-$HOME/.cache/quarry-fuzz}"
artifacts="${QUARRY_FUZZ_ARTIFACTS:-${TMPDIR:-/tmp}/quarry-fuzz-artifacts}"

# --symlink_prefix=/: no bazel-bin/bazel-testlogs links. Without it this build
# re-points the workspace's links at the fuzz output base, and test.sh's
# summary then counted the fuzz base's (empty) test logs: "0 passed".
bazel_fuzz() {
  bazel --output_base="$output_base" --max_idle_secs=300 "$1" \
    --repo_env=CC="$PWD/fuzz/clang14.sh" --config=fuzz --symlink_prefix=/ "${@:2}"
}

work="$(mktemp -d "${TMPDIR:-/tmp}/quarry-fuzz.XXXXXX")"
trap 'rm -rf "$work"' EXIT

start=$(date +%s)
if ! bazel_fuzz build //fuzz:all >"$work/build.log" 2>&1; then
  grep -v "Cannot export local symbol" "$work/build.log" | tail -40 >&2
  echo "fuzz: the clang build failed (log above)" >&2
  exit 1
fi
bin="$(bazel_fuzz info bazel-bin 2>/dev/null)/fuzz"
echo "fuzz: built ${#targets[@]} targets with clang in $(( $(date +%s) - start )) s;" \
  "running each for ${seconds} s"

symbolizer="$(command -v llvm-symbolizer-14 || command -v llvm-symbolizer || true)"
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:symbolize=1${symbolizer:+:external_symbolizer_path=$symbolizer}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:symbolize=1:suppressions=$PWD/fuzz/ubsan.supp"

failed=0
printf '%-12s %10s %8s %8s %6s  %s\n' target execs cov ft secs result
for target in "${targets[@]}"; do
  fuzzer="$bin/${target}_fuzzer"
  if [ ! -x "$fuzzer" ] || [ ! -d "fuzz/corpus/$target" ]; then
    echo "fuzz: no such target '$target' (binary or fuzz/corpus/$target missing)" >&2
    failed=1
    continue
  fi
  # libFuzzer adds what it finds to the corpus directory: use a copy.
  corpus="$work/$target"
  cp -r "fuzz/corpus/$target" "$corpus"
  mkdir -p "$artifacts"
  log="$work/$target.log"
  target_start=$(date +%s)
  "$fuzzer" -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10 \
    -entropic_scale_per_exec_time=1 -print_final_stats=1 -artifact_prefix="$artifacts/${target}-" "$corpus" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  status_line=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$status_line")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$status_line")
  if [ "$rc" -eq 0 ] && ! grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:' "$log"; then
    result=ok
  else
    result="FAILED (exit $rc)"
    failed=1
  fi
  printf '%-12s %10s %8s %8s %6s  %s\n' "$target" "${execs:-?}" "${cov:-?}" "${ft:-?}" \
    "$(( $(date +%s) - target_start ))" "$result"
  if [ "$result" != ok ]; then
    {
      echo "---- $target: last lines of the fuzzer log ----"
      grep -vE '^#[0-9]+' "$log" | tail -60
      echo "---- reproducer(s) in $artifacts; rerun with: $fuzzer <file>"
      echo "---- or without clang: bazel run //fuzz:${target}_fuzzer -- <file>"
    } >&2
  fi
done
echo "fuzz: done in $(( $(date +%s) - start )) s"
exit "$failed"

#!/usr/bin/env bash
# Runs every Quarry test: installs what is missing, builds, runs `bazel test //...`
# (PostgreSQL-backed tests start their own throwaway clusters) and the bounded
# fuzzing stage (scripts/fuzz.sh), then prints one closing line
# "tests: N passed, N failed" counted over every test case.
# Extra arguments go to `bazel test` (e.g. --config=asan).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

status=0
bazel test //... "$@" || status=$?
# The test logs of this build, resolved now: the summary must not depend on
# where the bazel-testlogs link points after other Bazel runs.
testlogs="$(bazel info "$@" bazel-testlogs 2>/dev/null || echo bazel-testlogs)"
# One line saying whether the optional model-file tests were built
# (third_party/optional_models.bzl writes it when Bazel evaluates @shared_models).
models_status="$(bazel info "$@" output_base 2>/dev/null)/external/shared_models/STATUS"
# Fuzzing (fuzz/README.md): each libFuzzer target for QUARRY_FUZZ_SECONDS
# (default 20) under ASan/UBSan; any crash, leak or report fails the run.
# QUARRY_FUZZ_SECONDS=0 skips it.
if [ "${QUARRY_FUZZ_SECONDS:-20}" != 0 ]; then
  scripts/fuzz.sh "${QUARRY_FUZZ_SECONDS:-20}" || status=$((status == 0 ? 1 : status))
fi
# Exit code 4: build fine but no test targets; treat as failure, a green run
# must have run tests.
python3 scripts/test_summary.py "$testlogs" "$models_status" || status=$((status == 0 ? 1 : status))
exit "$status"

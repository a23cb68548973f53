#!/usr/bin/env bash
# Unit tests of the manifest checker (check_manifests_test.py), run with the
# system Python 3 and PyYAML (no rules_python). $1, if given, is a real
# Abseil binary whose --helpfull output the tests also parse.
set -euo pipefail
cd "${TEST_SRCDIR:-$PWD}/${TEST_WORKSPACE:-quarry}" 2>/dev/null || true
if [ $# -ge 1 ]; then
  export QUARRYCTL="$PWD/$1"
fi
export TMPDIR="${TEST_TMPDIR:-${TMPDIR:-/tmp}}"
exec /usr/bin/python3 -m unittest -v deploy/check/check_manifests_test.py

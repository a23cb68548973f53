#!/usr/bin/env bash
# Structural check of deploy/docker/Dockerfile (there is no Docker engine on
# the build machines), plus proof that the check rejects a root USER and a
# HEALTHCHECK.
set -euo pipefail
cd "${TEST_SRCDIR:-$PWD}/${TEST_WORKSPACE:-quarry}" 2>/dev/null || true
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
fail() { echo "FAIL: $*" >&2; exit 1; }
/usr/bin/python3 deploy/check/check_dockerfile.py deploy/docker/Dockerfile || fail "Dockerfile (above)"
sed -e 's/^USER .*/USER root/' -e 's/^EXPOSE/HEALTHCHECK CMD true\nEXPOSE/' deploy/docker/Dockerfile >"$tmp/bad"
out=$(/usr/bin/python3 deploy/check/check_dockerfile.py "$tmp/bad") && fail "a root, HEALTHCHECKed image passed"
grep -q "runs as root" <<<"$out" || fail "root USER not reported: $out"
grep -q "HEALTHCHECK" <<<"$out" || fail "HEALTHCHECK not reported: $out"
echo "PASS: Dockerfile"

#!/usr/bin/env bash
# Smoke test of the command-line tools: usage errors exit 2 with a message,
# and a call to an address where nothing listens prints the gRPC status.
set -uo pipefail
quarryctl="$1"
loadgen="$2"
fail() { echo "FAIL: $*" >&2; exit 1; }

out=$("$quarryctl" 2>&1); rc=$?
[ $rc -eq 2 ] || fail "quarryctl without a command exited $rc"
grep -q "collections create" <<<"$out" || fail "quarryctl usage does not list the commands"

out=$("$quarryctl" --target=127.0.0.1:1 --deadline=2s collections list 2>&1); rc=$?
[ $rc -eq 1 ] || fail "quarryctl against a closed port exited $rc"
grep -q "^UNAVAILABLE: " <<<"$out" || fail "quarryctl did not print the status: $out"

out=$("$quarryctl" frobnicate 2>&1); rc=$?
[ $rc -eq 2 ] || fail "unknown command exited $rc"

out=$("$loadgen" --requests=0 2>&1); rc=$?
[ $rc -eq 2 ] || fail "loadgen without a request bound exited $rc"

out=$("$loadgen" --target=127.0.0.1:1 --rpc=health --requests=5 --concurrency=1 --deadline=1s 2>&1); rc=$?
[ $rc -eq 1 ] || fail "loadgen with every call failing exited $rc"
grep -q "UNAVAILABLE" <<<"$out" || fail "loadgen did not count UNAVAILABLE: $out"
echo "tools smoke test passed"

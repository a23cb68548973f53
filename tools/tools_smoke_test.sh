#!/usr/bin/env bash
# Smoke test of the command-line tools without a server: usage errors exit 2
# with a message, help lists each command's flags, ingest reports bad lines
# by file:line, summarises and keeps one checkpoint per destination, and a
# call to an address where nothing listens prints the gRPC status.
# (//tools:tools_e2e_test runs them against the real suite.)
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

# Help: the commands, and each command's own flags (not absl's "No flags matched.").
out=$("$quarryctl" --help 2>&1); rc=$?
[ $rc -eq 0 ] || fail "quarryctl --help exited $rc"
grep -q "No flags matched" <<<"$out" && fail "quarryctl --help printed absl's empty flag list"
for word in "collections create" "ingest FILE" "search --collection" "jobs list" "help \[COMMAND\]"; do
  grep -q -- "$word" <<<"$out" || fail "quarryctl --help does not list '$word': $out"
done
out=$("$quarryctl" help ingest 2>&1); rc=$?
[ $rc -eq 0 ] || fail "quarryctl help ingest exited $rc"
for flag in --collection= --batch=100 --skip_bad= --verbose= --output= --resume= --target=; do
  grep -q -- "$flag" <<<"$out" || fail "quarryctl help ingest does not list $flag: $out"
done
grep -q "Exit status" <<<"$out" || fail "quarryctl help ingest does not document the exit status"
out=$("$quarryctl" search --help 2>&1); rc=$?
[ $rc -eq 0 ] || fail "quarryctl search --help exited $rc"
grep -q -- "--top_k=10" <<<"$out" || fail "quarryctl search --help does not list --top_k: $out"
out=$("$quarryctl" help frobnicate 2>&1); rc=$?
[ $rc -eq 2 ] || fail "help for an unknown command exited $rc"

# --batch above the gateway's per-request limit is refused when flags are parsed.
out=$("$quarryctl" --batch=1001 ingest /nonexistent.jsonl --collection=c 2>&1); rc=$?
[ $rc -ne 0 ] || fail "--batch=1001 was accepted"
grep -q -- "--batch must be an integer from 1 to 1000" <<<"$out" || fail "--batch message: $out"
out=$("$quarryctl" --output=yaml ingest /nonexistent.jsonl --collection=c 2>&1); rc=$?
[ $rc -eq 2 ] || fail "--output=yaml exited $rc"

# Bad lines: no gateway is needed while no batch has a document to send.
dir="${TEST_TMPDIR:-$(mktemp -d)}"
bad="$dir/bad.jsonl"
printf '%s\n' '{"id": "a", "text": ["not", "a", "string"]}' '' '{"id": 1.5, "text": "x"}' >"$bad"
out=$("$quarryctl" --target=127.0.0.1:1 ingest "$bad" --collection=c 2>"$dir/err"); rc=$?
err=$(cat "$dir/err")
[ $rc -eq 1 ] || fail "a bad line without --skip_bad exited $rc"
grep -q "$bad:1: field \"text\" must be a string, got array" <<<"$err" || fail "no file:line: $err"
grep -q "0 ingested, 0 skipped, 1 failed in" <<<"$out" || fail "summary after a bad line: $out"
[ "$(wc -l <<<"$out")" -eq 1 ] || fail "the summary is not one line: $out"

out=$("$quarryctl" --target=127.0.0.1:1 ingest "$bad" --collection=c --skip_bad 2>"$dir/err"); rc=$?
err=$(cat "$dir/err")
[ $rc -eq 1 ] || fail "skipped lines were not ingested, yet the ingest exited $rc"
grep -q "0 ingested, 2 skipped, 0 failed in .* docs/s" <<<"$out" || fail "--skip_bad summary: $out"
grep -q "skipped $bad:3: field \"id\" must be a string or an integer, got number" <<<"$err" ||
  fail "--skip_bad does not report the line: $err"
grep -q $'\r' "$dir/err" && fail "carriage returns in stderr off a terminal"

# The checkpoint is per collection: the same file into another collection
# starts from the beginning; into the same one it resumes (nothing left).
out=$("$quarryctl" --target=127.0.0.1:1 ingest "$bad" --collection=c --skip_bad 2>"$dir/err"); rc=$?
grep -q "resuming $bad at byte" "$dir/err" || fail "no resume from the checkpoint: $(cat "$dir/err")"
grep -q "0 ingested, 0 skipped, 0 failed" <<<"$out" || fail "resumed run summary: $out"
[ $rc -eq 0 ] || fail "a resumed run with nothing left to ingest exited $rc"
out=$("$quarryctl" --target=127.0.0.1:1 --output=json ingest "$bad" --collection=other --skip_bad 2>"$dir/err"); rc=$?
[ $rc -eq 1 ] || fail "--output=json with skipped lines exited $rc"
grep -q "resuming" "$dir/err" && fail "another collection resumed this one's checkpoint"
grep -q '"skipped":2' <<<"$out" || fail "--output=json summary: $out"
grep -q '"ingested":0' <<<"$out" || fail "--output=json summary: $out"
grep -q '"docs_per_second":' <<<"$out" || fail "--output=json summary: $out"
# A changed file starts over and says so.
touch -d '2001-01-01' "$bad"
out=$("$quarryctl" --target=127.0.0.1:1 ingest "$bad" --collection=c --skip_bad 2>"$dir/err"); rc=$?
grep -q "changed since checkpoint .*starting over" "$dir/err" || fail "changed file: $(cat "$dir/err")"
grep -q "0 ingested, 2 skipped" <<<"$out" || fail "changed file was not read again: $out"

out=$("$loadgen" --requests=0 2>&1); rc=$?
[ $rc -eq 2 ] || fail "loadgen without a request bound exited $rc"

out=$("$loadgen" --target=127.0.0.1:1 --rpc=health --requests=5 --concurrency=1 --deadline=1s 2>&1); rc=$?
[ $rc -eq 1 ] || fail "loadgen with every call failing exited $rc"
grep -q "UNAVAILABLE" <<<"$out" || fail "loadgen did not count UNAVAILABLE: $out"
echo "tools smoke test passed"

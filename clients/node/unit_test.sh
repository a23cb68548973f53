#!/usr/bin/env bash
# Runs clients/node/test/ with node's own test runner, from the repository's
# clients/node (where scripts/setup.sh installed node_modules).
set -euo pipefail
command -v node >/dev/null || { echo "node is not installed: run scripts/setup.sh" >&2; exit 1; }
dir="$(dirname "$(readlink -f clients/node/package.json)")"
if [ ! -d "$dir/node_modules" ]; then
  echo "$dir/node_modules is missing: run scripts/setup.sh (it runs npm ci there)" >&2
  exit 1
fi
cd "$dir"
# Each case in Bazel's test.xml (so that scripts/test.sh counts them), where
# this node's test runner can write JUnit XML.
reporters=()
if [ -n "${XML_OUTPUT_FILE:-}" ] && node -e "require('node:test/reporters').junit || process.exit(1)" 2>/dev/null; then
  reporters=(--test-reporter=spec --test-reporter-destination=stdout
             --test-reporter=junit --test-reporter-destination="$XML_OUTPUT_FILE")
fi
exec node --test "${reporters[@]}" test/

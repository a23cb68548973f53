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
exec node --test test/

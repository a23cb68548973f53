#!/usr/bin/env bash
# Renders the kustomize base and every overlay with `kubectl kustomize` and
# runs the manifest checker on each. Arguments are passed to the checker
# (--binary IMAGE=PATH ..., --allow_missing_binaries). No network, no cluster.
set -euo pipefail
cd "${TEST_SRCDIR:-$PWD}/${TEST_WORKSPACE:-quarry}" 2>/dev/null || true
root="$PWD"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
export HOME="$tmp/home" && mkdir -p "$HOME"
fail() { echo "FAIL: $*" >&2; exit 1; }

# Absolute binary paths: the checker runs from the same directory, but be safe.
args=()
for a in "$@"; do
  case "$a" in
    --binary=*=*) spec="${a#--binary=}"; args+=("--binary" "${spec%%=*}=$root/${spec#*=}") ;;
    *) args+=("$a") ;;
  esac
done

kubectl=$(command -v kubectl) || fail "kubectl is not installed (Debian: apt-get install kubernetes-client)"
echo "using $kubectl: $("$kubectl" version --client --short 2>/dev/null || "$kubectl" version --client 2>/dev/null | head -1)"
# Copy the tree: runfiles are symlinks and kustomize resolves ../../base
# relative to the overlay's real path.
rm -rf "$tmp/k8s" && cp -rL k8s "$tmp/k8s"

count() { grep -c "^kind: $1\$" "$2" || true; }
has() { /usr/bin/python3 - "$1" "$2" "$3" <<'PY'
import sys, yaml
kind, name, path = sys.argv[1:]
docs = [d for d in yaml.safe_load_all(open(path)) if d]
sys.exit(0 if any(d["kind"] == kind and d["metadata"]["name"] == name for d in docs) else 1)
PY
}

for target in base overlays/dev overlays/prod; do
  out="$tmp/$(echo "$target" | tr / _).yaml"
  "$kubectl" kustomize "$tmp/k8s/$target" >"$out" 2>"$out.err" || { cat "$out.err" >&2; fail "kubectl kustomize k8s/$target"; }
  /usr/bin/python3 deploy/check/check_manifests.py --label "k8s/$target" "${args[@]}" "$out" \
    || fail "k8s/$target: the checker found violations (above)"
done

# What each rendering must contain, beyond what the checker verifies.
[ "$(count StatefulSet "$tmp/base.yaml")" = 2 ] || fail "base: want 2 vector-search StatefulSets"
[ "$(count StatefulSet "$tmp/overlays_prod.yaml")" = 4 ] || fail "prod: want 4 vector-search StatefulSets"
[ "$(count HorizontalPodAutoscaler "$tmp/base.yaml")" = 3 ] || fail "base: want 3 HPAs"
[ "$(count NetworkPolicy "$tmp/base.yaml")" = 6 ] || fail "base: want 6 NetworkPolicies"
has StatefulSet postgres "$tmp/overlays_dev.yaml" || fail "dev: no PostgreSQL StatefulSet"
has Deployment jaeger "$tmp/overlays_dev.yaml" || fail "dev: no Jaeger"
has NetworkPolicy postgres-ingress "$tmp/overlays_dev.yaml" || fail "dev: no PostgreSQL NetworkPolicy"
! has StatefulSet postgres "$tmp/overlays_prod.yaml" || fail "prod must use an external PostgreSQL"
[ "$(count Secret "$tmp/overlays_prod.yaml")" = 0 ] || fail "prod must not render credentials"
grep -q 'sslmode=require' "$tmp/overlays_prod.yaml" || fail "prod: DATABASE_URL without TLS"
grep -q 'OTLP_ENDPOINT: http://jaeger-collector:4318' "$tmp/overlays_dev.yaml" || fail "dev: traces not sent to Jaeger"
if grep -qi 'PASSWORD=' "$tmp/base.yaml"; then fail "base: a password in plain env"; fi
echo "PASS: k8s base, dev and prod render and pass the checker"

#!/usr/bin/env bash
# Builds deploy/helm/render (a small `helm template` stand-in: Debian ships no
# Helm) against Debian's Go packages, renders the chart with default values
# and with --set vectorSearch.shards=4, runs the manifest checker on both, and
# compares the default render with the kustomize base. Arguments go to the
# checker. No network.
set -euo pipefail
cd "${TEST_SRCDIR:-$PWD}/${TEST_WORKSPACE:-quarry}" 2>/dev/null || true
root="$PWD"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
export HOME="$tmp/home" GOCACHE="$tmp/gocache" GOPATH="$tmp/gopath:/usr/share/gocode"
export GO111MODULE=off GOFLAGS= GOPROXY=off CGO_ENABLED=0
mkdir -p "$HOME"
fail() { echo "FAIL: $*" >&2; exit 1; }

args=()
for a in "$@"; do
  case "$a" in
    --binary=*=*) spec="${a#--binary=}"; args+=("--binary" "${spec%%=*}=$root/${spec#*=}") ;;
    *) args+=("$a") ;;
  esac
done

go=$(command -v go) || fail "go is not installed (Debian: apt-get install golang-go golang-github-masterminds-sprig-dev golang-gopkg-yaml.v3-dev)"
src="$tmp/gopath/src/quarry/deploy/helm/render"
mkdir -p "$src" && cp -L deploy/helm/render/*.go "$src/"
(cd "$src" && "$go" build -o "$tmp/render" .) || fail "go build of deploy/helm/render"
rm -rf "$tmp/chart" && cp -rL deploy/helm/quarry "$tmp/chart"
render() { "$tmp/render" quarry "$tmp/chart" --namespace quarry "$@"; }
count() { grep -c "^kind: $1\$" "$2" || true; }

render >"$tmp/default.yaml" || fail "render with default values"
/usr/bin/python3 deploy/check/check_manifests.py --label "helm (defaults)" "${args[@]}" "$tmp/default.yaml" \
  || fail "helm defaults: the checker found violations (above)"
[ "$(count StatefulSet "$tmp/default.yaml")" = 2 ] || fail "defaults: want 2 vector-search StatefulSets"

render --set vectorSearch.shards=4 >"$tmp/shards4.yaml" || fail "render --set vectorSearch.shards=4"
/usr/bin/python3 deploy/check/check_manifests.py --label "helm (shards=4)" "${args[@]}" "$tmp/shards4.yaml" \
  || fail "helm shards=4: the checker found violations (above)"
[ "$(count StatefulSet "$tmp/shards4.yaml")" = 4 ] || fail "shards=4: want 4 vector-search StatefulSets"
for i in 0 1 2 3; do
  grep -q "^  name: quarry-vector-search-$i\$" "$tmp/shards4.yaml" || fail "shards=4: no quarry-vector-search-$i"
done
grep -q 'SHARD_TARGETS: "dns:///quarry-vector-search-0:50051,dns:///quarry-vector-search-1:50051,dns:///quarry-vector-search-2:50051,dns:///quarry-vector-search-3:50051"' \
  "$tmp/shards4.yaml" || fail "shards=4: SHARD_TARGETS does not list 4 shards"

# Operators' knobs: a values file, disabled components, a pgpass Secret.
cat >"$tmp/extra.yaml" <<'YAML'
worker: {create: false}
ingress: {enabled: false}
database: {pgpass: {content: "db:5432:quarry:quarry:secret"}}
YAML
render -f "$tmp/extra.yaml" --set gateway.replicas=3 --set embedding.autoscaling.enabled=false >"$tmp/knobs.yaml" \
  || fail "render with -f and --set"
/usr/bin/python3 deploy/check/check_manifests.py --label "helm (knobs)" "${args[@]}" "$tmp/knobs.yaml" \
  || fail "helm knobs: the checker found violations (above)"
grep -q '^  name: quarry-worker$' "$tmp/knobs.yaml" && fail "worker.create=false still renders the worker"
[ "$(count Ingress "$tmp/knobs.yaml")" = 0 ] || fail "ingress.enabled=false still renders an Ingress"
[ "$(count Secret "$tmp/knobs.yaml")" = 1 ] || fail "database.pgpass.content does not render the Secret"
[ "$(count HorizontalPodAutoscaler "$tmp/knobs.yaml")" = 1 ] || fail "want only the gateway HPA"
grep -q '^  replicas: 3$' "$tmp/knobs.yaml" || fail "--set gateway.replicas=3 ignored"
if render --set gateway.image.tag=latest >/dev/null 2>"$tmp/latest.err"; then
  fail "an image tagged latest rendered"
fi
grep -q 'pin an image tag' "$tmp/latest.err" || fail "unexpected error for :latest: $(cat "$tmp/latest.err")"

# The worker HPA scales on due jobs of the system kinds, not on all queued.
grep -q 'name: quarry_jobs_due$' "$tmp/default.yaml" || fail "defaults: the worker HPA is not on quarry_jobs_due"
grep -q 'system: "true"$' "$tmp/default.yaml" || fail "defaults: the worker HPA does not select system kinds"

# A user's own worker image: a Deployment and an HPA on its kinds' due jobs.
cat >"$tmp/user-workers.yaml" <<'YAML'
userWorkers:
  - name: triage
    image: {repository: registry.example.com/acme/triage-worker, tag: "1.4.2"}
    args: ["--concurrency=8"]
    env: [{name: LOG_LEVEL, value: info}]
    apiKeySecret: {name: triage-worker-key, key: api-key}
    kinds: [triage, triage.batch]
    minReplicas: 1
    maxReplicas: 10
    targetAverageValue: "20"
    livenessProbe: {exec: {command: ["/bin/true"]}, periodSeconds: 30}
    readinessProbe: {exec: {command: ["/bin/true"]}, periodSeconds: 10}
YAML
render -f "$tmp/user-workers.yaml" >"$tmp/users.yaml" || fail "render with userWorkers"
/usr/bin/python3 deploy/check/check_manifests.py --label "helm (userWorkers)" "${args[@]}" "$tmp/users.yaml" \
  || fail "helm userWorkers: the checker found violations (above)"
[ "$(count HorizontalPodAutoscaler "$tmp/users.yaml")" = 4 ] || fail "userWorkers: want the triage HPA besides the three"
/usr/bin/python3 - "$tmp/users.yaml" <<'PY' || fail "userWorkers: the rendered objects (above)"
import sys, yaml
docs = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(open(sys.argv[1])) if d}
dep = docs[("Deployment", "quarry-worker-triage")]
c = dep["spec"]["template"]["spec"]["containers"][0]
assert c["image"] == "registry.example.com/acme/triage-worker:1.4.2", c["image"]
assert c["args"] == ["--concurrency=8"], c["args"]
env = {e["name"]: e for e in c["env"]}
assert env["QUARRY_TARGET"]["value"] == "quarry-gateway:50051", env
assert env["QUARRY_API_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "triage-worker-key", "key": "api-key"}, env
assert env["QUARRY_KINDS"]["value"] == "triage,triage.batch", env
assert env["LOG_LEVEL"]["value"] == "info", env
assert dep["spec"]["replicas"] == 1
hpa = docs[("HorizontalPodAutoscaler", "quarry-worker-triage")]["spec"]
assert hpa["scaleTargetRef"]["name"] == "quarry-worker-triage"
assert (hpa["minReplicas"], hpa["maxReplicas"]) == (1, 10), hpa
m = hpa["metrics"][0]["external"]
assert m["metric"]["name"] == "quarry_jobs_due", m
assert m["metric"]["selector"]["matchExpressions"] == [
    {"key": "kind", "operator": "In", "values": ["triage", "triage.batch"]}], m
assert m["target"] == {"type": "AverageValue", "averageValue": "20"}, m
PY
for bad in 'userWorkers[0].image.tag=latest' 'userWorkers[0].name=Triage' 'userWorkers[0].apiKeySecret=null' \
           'userWorkers[0].kinds=null' 'userWorkers[0].livenessProbe=null' 'userWorkers[0].minReplicas=11'; do
  if render -f "$tmp/user-workers.yaml" --set "$bad" >/dev/null 2>"$tmp/bad.err"; then
    fail "userWorkers with $bad rendered"
  fi
  grep -q 'userWorkers' "$tmp/bad.err" || fail "userWorkers $bad: unexpected error: $(cat "$tmp/bad.err")"
done

# The chart produces the same objects as the kustomize base.
if command -v kubectl >/dev/null; then
  rm -rf "$tmp/k8s" && cp -rL k8s "$tmp/k8s"
  kubectl kustomize "$tmp/k8s/base" >"$tmp/base.yaml" 2>/dev/null || fail "kubectl kustomize k8s/base"
  /usr/bin/python3 deploy/check/compare_renders.py "$tmp/base.yaml" "$tmp/default.yaml" --strip_prefix quarry- \
    || fail "the chart's default render differs from the kustomize base (above)"
else
  fail "kubectl is not installed (Debian: apt-get install kubernetes-client)"
fi
echo "PASS: helm chart renders (defaults, shards=4, knobs, userWorkers) and passes the checker"

#!/usr/bin/env bash
# Installs every Debian package Quarry needs to build, test and run on one
# machine. Idempotent: when everything is present it changes nothing and does
# not touch the network. Run as root (or with sudo available).
set -euo pipefail

# One package per line, with why we need it.
PACKAGES=(
  bazel-bootstrap          # the build (Bazel 4.2.3, offline)
  g++                      # C++20 compiler (GCC 12)
  pkg-config               # link flags for the system libraries (third_party/system_libs.bzl)
  protobuf-compiler        # protoc, run from a genrule
  protobuf-compiler-grpc   # grpc_cpp_plugin
  libprotobuf-dev          # Protobuf 3.21
  libgrpc++-dev            # gRPC 1.51
  libabsl-dev              # Abseil 20220623
  libpqxx-dev              # libpqxx 6.4 (PostgreSQL client)
  libpq-dev                # libpq, under libpqxx
  libssl-dev               # SHA-256 (API keys, cache keys), TLS
  prometheus-cpp-dev       # /metrics
  nlohmann-json3-dev       # JSON payloads, OTLP export, logs
  libhnswlib-dev           # HNSW index
  libfaiss-dev             # alternative ANN library, compared in bench/
  libopenblas-dev          # BLAS for the transformer encoder
  libgtest-dev             # GoogleTest
  libgmock-dev             # GoogleMock
  libbenchmark-dev         # Google Benchmark, bench/
  postgresql-15            # the one durable store; tests start throwaway clusters
  postgresql-client-15     # psql, for the local bring-up
  nginx                    # L7 gRPC load balancer of the local bring-up
  iproute2                 # ip netns + veth pairs for //tests/fault:partition_test
  python3                  # test summary and helper scripts
  openssl                  # test certificates for TLS and mutual TLS
  python3-torch            # PyTorch reference check and baseline of the embedding encoder (services/embedding/reference, bench/embedding)
  python3-numpy            # writes the reference model's safetensors weights
  python3-yaml             # PyYAML for deploy/check (manifest checker)
  python3-grpcio           # the Python client library and worker runtime (clients/python)
  python3-protobuf         # its generated messages
  redis-server             # bench/jobs: Celery's broker, the peer the queue is measured against
  python3-celery           # bench/jobs: Celery 5, the peer
  python3-redis            # bench/jobs: Celery's Redis transport
  golang-go                # builds deploy/helm/render, the offline `helm template` stand-in
  golang-github-masterminds-sprig-dev  # sprig template functions for deploy/helm/render
  golang-gopkg-yaml.v3-dev # YAML for deploy/helm/render
  clang                    # clang 14 + libFuzzer for the fuzz targets (scripts/fuzz.sh)
  libclang-rt-14-dev       # libFuzzer, ASan, UBSan runtimes for clang 14
  llvm                     # llvm-symbolizer: readable sanitizer stack traces
)

# kubectl renders the kustomize overlays in //deploy:k8s_render_test. Debian's
# kubernetes-client (1.20) provides it, but conflicts with a kubectl that is
# already installed from another package, so it is only added when missing.
if ! command -v kubectl >/dev/null 2>&1; then
  PACKAGES+=(kubernetes-client)
fi

# node and npm run the Node.js client and worker runtime (clients/node) in
# //tests/e2e:node_worker_test. Debian's npm conflicts with a nodejs from
# another source (which bundles its own npm), so both are only added when missing.
if ! command -v node >/dev/null 2>&1; then
  PACKAGES+=(nodejs)
fi
if ! command -v npm >/dev/null 2>&1; then
  PACKAGES+=(npm)
fi

# clients/node's npm dependencies, exactly as its lock file pins them. npm
# writes node_modules/.package-lock.json last, so an install that was cut
# short is redone; an up-to-date one touches nothing and no network.
node_deps() {
  local dir clients_node
  dir="$(cd "$(dirname "$0")/.." && pwd)"
  clients_node="$dir/clients/node"
  if [ ! -f "$clients_node/node_modules/.package-lock.json" ] ||
     [ "$clients_node/package-lock.json" -nt "$clients_node/node_modules/.package-lock.json" ]; then
    echo "setup: npm ci in clients/node"
    (cd "$clients_node" && npm ci --no-audit --no-fund --prefer-offline --loglevel=error)
  fi
}

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
  node_deps
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# Name the package that cannot be had, rather than failing on the whole list.
for pkg in "${missing[@]}"; do
  candidate=$(apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/ {print $2}')
  if [ -z "$candidate" ] || [ "$candidate" = "(none)" ]; then
    echo "setup: package '$pkg' is not available from the configured Debian archive" >&2
    exit 1
  fi
done
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The Debian postgresql package starts a cluster of its own; Quarry never uses
# it (tests and the local bring-up run private clusters), so leave it alone.
node_deps
echo "setup: done"

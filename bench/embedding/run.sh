#!/usr/bin/env bash
# Embedding encoder benchmark: the C++ encoder (bazel, --config=opt) and
# PyTorch's CPU throughput on the same model and inputs, in one run.
#   bench/embedding/run.sh [--min_seconds=2] [--batch_sizes=1,8,32,64]
# QUARRY_MODEL_DIR names an all-MiniLM-L6-v2 directory (e.g. the optional
# ../shared/models/all-MiniLM-L6-v2): its pretrained weights are used when
# model.safetensors is there; otherwise a model with exactly its architecture,
# its vocabulary and seeded random weights (throughput does not depend on the
# weight values). Nothing outside the repository is read unless it is named.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SHARED=${QUARRY_MODEL_DIR:-}
if [ -z "$SHARED" ] || [ ! -f "$SHARED/vocab.txt" ]; then
  echo "bench/embedding: set QUARRY_MODEL_DIR to an all-MiniLM-L6-v2 directory with vocab.txt" \
       "(e.g. ../shared/models/all-MiniLM-L6-v2)" >&2
  exit 2
fi
MIN_SECONDS=2
BATCH_SIZES=1,8,32,64
for arg in "$@"; do
  case $arg in
    --min_seconds=*) MIN_SECONDS=${arg#*=} ;;
    --batch_sizes=*) BATCH_SIZES=${arg#*=} ;;
    *) echo "unknown argument $arg" >&2; exit 2 ;;
  esac
done
THREADS=${BENCH_THREADS:-2}
export PYTHONDONTWRITEBYTECODE=1  # keep __pycache__ out of the source tree

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
if [ -f "$SHARED/model.safetensors" ]; then
  MODEL=$SHARED
  echo "model: $MODEL (pretrained weights)"
else
  MODEL=$WORK/all-MiniLM-L6-v2
  /usr/bin/python3 services/embedding/reference/make_reference.py \
    --shared_dir "$SHARED" --write_minilm_random "$MODEL"
  echo "model: all-MiniLM-L6-v2 architecture with SEEDED RANDOM weights (no model.safetensors in $SHARED)"
fi
/usr/bin/python3 bench/embedding/make_inputs.py > "$WORK/inputs.json"

bazel build --config=opt //bench/embedding:encoder_bench >&2
BIN=$(bazel info --config=opt bazel-bin 2>/dev/null)/bench/embedding/encoder_bench

echo "threads: $THREADS (OpenBLAS / torch.set_num_threads); $(nproc) CPUs; min ${MIN_SECONDS}s per row"
{
  OPENBLAS_NUM_THREADS=$THREADS "$BIN" --model_dir="$MODEL" --inputs="$WORK/inputs.json" \
    --batch_sizes="$BATCH_SIZES" --min_seconds="$MIN_SECONDS"
  OMP_NUM_THREADS=$THREADS /usr/bin/python3 bench/embedding/torch_bench.py --model_dir="$MODEL" \
    --inputs="$WORK/inputs.json" --batch_sizes="$BATCH_SIZES" --min_seconds="$MIN_SECONDS" \
    --threads="$THREADS"
} | tee "$WORK/results.jsonl" >&2
echo
/usr/bin/python3 bench/embedding/compare.py < "$WORK/results.jsonl"

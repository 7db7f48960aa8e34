#!/usr/bin/env bash
# gankit on a GPU machine: writes docs/results/gpu.md in under 10 minutes on one GPU.
#
#   bash benchmarks/gpu.sh [--data-dir DIR] [--out docs/results/gpu.md]
#
# Steps (each under its own time limit; one that fails or runs out is reported, not fatal):
#   1. `gankit bench speed` for every shipped MNIST config and the ring on cuda: as shipped,
#      with bf16 autocast, and with bf16 + channels-last + fused optimisers + torch.compile;
#   2. a short DCGAN run (1 epoch, bf16) through `gankit train`;
#   3. a 2-GPU DDP run with torchrun when two GPUs are visible (see the PLACEHOLDER below);
#   4. benchmarks/gpu_report.py renders the collected JSON into the report.
# Environment: PYTHON (default python), GANKIT_BENCH_TIMEOUT (seconds per bench, default 90).
set -euo pipefail

ARGS="$*"
PYTHON=${PYTHON:-python}
TIMEOUT=${GANKIT_BENCH_TIMEOUT:-90}
DATA_ARGS=()
OUT=docs/results/gpu.md
while [[ $# -gt 0 ]]; do
  case "$1" in
    --data-dir) DATA_ARGS=(--data-dir "$2"); shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "usage: bash benchmarks/gpu.sh [--data-dir DIR] [--out FILE]" >&2; exit 2 ;;
  esac
done

cd "$(dirname "$0")/.."
if ! "$PYTHON" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  echo "gpu.sh: PyTorch sees no CUDA GPU here; nothing to measure" >&2
  exit 1
fi
GPUS=$("$PYTHON" -c "import torch; print(torch.cuda.device_count())")
WORK=$(mktemp -d -t gankit-gpu-XXXX)
START=$(date +%s)
echo "gpu.sh: $GPUS GPU(s); scratch in $WORK"

# --- 1. the speed bench --------------------------------------------------------------------
VARIANTS=(
  ""
  "train.amp=bf16"
  "train.amp=bf16 train.channels_last=true train.fused_optim=true train.compile=true"
)
for config in mnist-paper mnist-dcgan mnist-cdcgan ring8; do
  for variant in "${VARIANTS[@]}"; do
    sets=(--set train.device=cuda)
    for kv in $variant; do sets+=(--set "$kv"); done
    data=("${DATA_ARGS[@]}")
    [[ $config == ring8 ]] && data=()
    echo "gpu.sh: bench $config ${variant:-as shipped}"
    if ! timeout "$TIMEOUT" "$PYTHON" -m gankit bench speed "configs/$config.yaml" "${sets[@]}" \
        ${data[@]+"${data[@]}"} --json --rounds 3 --round-seconds 0.3 >> "$WORK/bench.jsonl"; then
      echo "{\"failed\": true, \"config\": \"$config\", \"overrides\": \"$variant\"}" >> "$WORK/bench.jsonl"
    fi
  done
done

# --- 2. a short DCGAN run ----------------------------------------------------------------------
t0=$(date +%s)
status=ok
timeout 240 "$PYTHON" -m gankit train configs/mnist-dcgan.yaml ${DATA_ARGS[@]+"${DATA_ARGS[@]}"} \
  --set train.device=cuda --set train.amp=bf16 --set train.epochs=1 \
  --set train.progress=false --run-dir "$WORK/dcgan" > "$WORK/dcgan.log" 2>&1 || status=failed
echo "{\"status\": \"$status\", \"wall_s\": $(( $(date +%s) - t0 )), \"run\": \"$WORK/dcgan\"}" \
  > "$WORK/train.json"

# --- 3. two GPUs: DDP --------------------------------------------------------------------------
# PLACEHOLDER (issue 15, item 3): distributed training is being added on another branch. Until
# it lands this step runs the command it will be measured with and records whether it worked.
if [[ $GPUS -ge 2 ]]; then
  t0=$(date +%s)
  status=ok
  timeout 240 torchrun --nproc-per-node 2 -m gankit train configs/mnist-dcgan.yaml \
    ${DATA_ARGS[@]+"${DATA_ARGS[@]}"} --set train.device=cuda --set train.epochs=1 \
    --set train.progress=false --run-dir "$WORK/ddp" > "$WORK/ddp.log" 2>&1 || status=failed
  echo "{\"status\": \"$status\", \"wall_s\": $(( $(date +%s) - t0 )), \"gpus\": 2}" > "$WORK/ddp.json"
else
  echo "{\"status\": \"skipped\", \"reason\": \"$GPUS GPU visible\"}" > "$WORK/ddp.json"
fi

# --- 4. the report -----------------------------------------------------------------------------
"$PYTHON" benchmarks/gpu_report.py --work "$WORK" --out "$OUT" \
  --command "bash benchmarks/gpu.sh $ARGS" --seconds $(( $(date +%s) - START ))
echo "gpu.sh: wrote $OUT ($(( $(date +%s) - START )) s)"

#!/usr/bin/env bash
# gankit on a GPU machine: writes docs/results/gpu.md within a time budget (default 540 s, so
# that it fits a 10-minute slot on a lent machine).
#
#   bash benchmarks/gpu.sh [--data-dir DIR] [--out docs/results/gpu.md] [--configs a,b]
#                          [--device cuda]
#
# Steps (each under its own time limit; one that fails, runs out or finds the budget spent is
# reported, not fatal):
#   1. `gankit bench speed` for each config (default: every shipped MNIST config and the ring)
#      on the device: as shipped, with bf16 autocast, and with bf16 + channels-last + fused
#      optimisers + torch.compile;
#   2. a short DCGAN run (1 epoch, bf16) through `gankit train`;
#   3. a 2-GPU DDP run with torchrun (`gankit train` under DistributedDataParallel, NCCL) when
#      two GPUs are visible;
#   4. benchmarks/gpu_report.py renders the collected JSON into the report.
# --device cpu runs the same steps on the CPU: a dry run of the script itself (its tests use
# it), whose report says that it measured no GPU.
# Environment: PYTHON (default python), GANKIT_BENCH_TIMEOUT (seconds per bench, default 90),
# GANKIT_GPU_BUDGET (seconds for the whole script, default 540), GANKIT_GPU_RESERVE (seconds of
# the budget kept for steps 2-4, default 120).
set -euo pipefail

ARGS="$*"
PYTHON=${PYTHON:-python}
TIMEOUT=${GANKIT_BENCH_TIMEOUT:-90}
BUDGET=${GANKIT_GPU_BUDGET:-540}
RESERVE=${GANKIT_GPU_RESERVE:-120}
DATA_ARGS=()
OUT=docs/results/gpu.md
CONFIGS="mnist-paper,mnist-dcgan,mnist-cdcgan,ring8"
DEVICE=cuda
usage="usage: bash benchmarks/gpu.sh [--data-dir DIR] [--out FILE] [--configs a,b] [--device cuda|cpu]"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --data-dir) DATA_ARGS=(--data-dir "$2"); shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --configs) CONFIGS=$2; shift 2 ;;
    --device) DEVICE=$2; shift 2 ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done
if [[ $DEVICE != cuda && $DEVICE != cpu ]]; then
  echo "gpu.sh: --device must be cuda or cpu (a dry run), got '$DEVICE'" >&2
  exit 2
fi

cd "$(dirname "$0")/.."
START=$(date +%s)
DEADLINE=$(( START + BUDGET ))
if [[ $DEVICE == cuda ]]; then
  if ! "$PYTHON" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    echo "gpu.sh: PyTorch sees no CUDA GPU here; nothing to measure (--device cpu: a dry run)" >&2
    exit 1
  fi
  GPUS=$("$PYTHON" -c "import torch; print(torch.cuda.device_count())")
else
  GPUS=0
fi
WORK=$(mktemp -d -t gankit-gpu-XXXX)
echo "gpu.sh: device $DEVICE, $GPUS GPU(s), budget ${BUDGET} s; scratch in $WORK"

# Seconds left before `reserve` seconds of the budget remain.
left() { echo $(( DEADLINE - $1 - $(date +%s) )); }

# --- 1. the speed bench --------------------------------------------------------------------
VARIANTS=(
  ""
  "train.amp=bf16"
  "train.amp=bf16 train.channels_last=true train.fused_optim=true train.compile=true"
)
for config in ${CONFIGS//,/ }; do
  for variant in "${VARIANTS[@]}"; do
    sets=(--set "train.device=$DEVICE")
    for kv in $variant; do sets+=(--set "$kv"); done
    data=("${DATA_ARGS[@]}")
    [[ $config == ring8 ]] && data=()
    limit=$(left "$RESERVE")
    (( limit > TIMEOUT )) && limit=$TIMEOUT
    if (( limit < 15 )); then
      echo "gpu.sh: skip $config ${variant:-as shipped} (time budget spent)"
      echo "{\"skipped\": true, \"config\": \"$config\", \"overrides\": \"$variant\"}" >> "$WORK/bench.jsonl"
      continue
    fi
    echo "gpu.sh: bench $config ${variant:-as shipped} (at most $limit s)"
    # One row per bench: its JSON only when it exits in time (a bench killed after printing
    # would otherwise leave both its result and a "failed" row).
    if timeout "$limit" "$PYTHON" -m gankit bench speed "configs/$config.yaml" "${sets[@]}" \
        ${data[@]+"${data[@]}"} --json --rounds 3 --round-seconds 0.3 > "$WORK/bench.out"; then
      cat "$WORK/bench.out" >> "$WORK/bench.jsonl"
    else
      echo "{\"failed\": true, \"config\": \"$config\", \"overrides\": \"$variant\"}" >> "$WORK/bench.jsonl"
    fi
  done
done

# --- 2. a short DCGAN run ----------------------------------------------------------------------
# run NAME SECONDS COMMAND...: a training run under the budget; writes NAME.json
run() {
  local name=$1 most=$2 t0 limit rc=0 status=ok
  shift 2
  limit=$(left 10)
  (( limit > most )) && limit=$most
  if (( limit < 20 )); then
    echo "{\"status\": \"skipped\", \"reason\": \"time budget spent\"}" > "$WORK/$name.json"
    return
  fi
  t0=$(date +%s)
  timeout "$limit" "$@" > "$WORK/$name.log" 2>&1 || rc=$?
  (( rc == 124 )) && status="timed out"
  (( rc != 0 && rc != 124 )) && status="failed (exit $rc)"
  echo "{\"status\": \"$status\", \"wall_s\": $(( $(date +%s) - t0 )), \"limit_s\": $limit," \
    "\"run\": \"$WORK/$name\"}" > "$WORK/$name.json"
}
run train 240 "$PYTHON" -m gankit train configs/mnist-dcgan.yaml ${DATA_ARGS[@]+"${DATA_ARGS[@]}"} \
  --set "train.device=$DEVICE" --set train.amp=bf16 --set train.epochs=1 \
  --set train.progress=false --run-dir "$WORK/train"

# --- 3. two GPUs: DDP --------------------------------------------------------------------------
if [[ $GPUS -ge 2 ]]; then
  run ddp 240 torchrun --nproc-per-node 2 -m gankit train configs/mnist-dcgan.yaml \
    ${DATA_ARGS[@]+"${DATA_ARGS[@]}"} --set train.device=cuda --set train.epochs=1 \
    --set train.progress=false --run-dir "$WORK/ddp"
else
  echo "{\"status\": \"skipped\", \"reason\": \"$GPUS GPUs visible\"}" > "$WORK/ddp.json"
fi

# --- 4. the report -----------------------------------------------------------------------------
"$PYTHON" benchmarks/gpu_report.py --work "$WORK" --out "$OUT" --device "$DEVICE" \
  --command "bash benchmarks/gpu.sh $ARGS" --seconds $(( $(date +%s) - START ))
echo "gpu.sh: wrote $OUT ($(( $(date +%s) - START )) s)"

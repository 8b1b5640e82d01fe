#!/usr/bin/env bash
# How a training step's speed grows with width and batch on this machine: `shakenet bench` for
# Shake-Shake-26 2x32d / 2x64d / 2x96d at batch 128 and for 2x32d at batches 32..256, in one
# precision. Prints one JSON object per measurement (images/s of the model step and of the step
# with data, the step's GFLOP/s, seconds per step) and ends with the convolution ceiling.
#
#   bench/scaling.sh [fp32|bf16] [--set data.path=...]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
precision=${1:-fp32}
shift || true
steps=${STEPS:-3}
warmup=${WARMUP:-1}
out=$(mktemp -d)
run() { # width batch [--set ...]
  local width=$1 batch=$2
  shift 2
  "$root/bin/shakenet" bench --config "$root/config/cpu-quick.json" --set precision="$precision" --set model.width="$width" \
    --set batch_size="$batch" --steps "$steps" --warmup "$warmup" "$@" --out "$out/w$width-b$batch.json" >/dev/null
}
for width in 32 64 96; do run "$width" 128 "$@"; done
for batch in 32 64 256; do run 32 "$batch" "$@"; done
python3 - "$out" <<'PY'
import json, pathlib, sys
rows = []
for f in sorted(pathlib.Path(sys.argv[1]).glob("*.json")):
    r = json.loads(f.read_text())
    rows.append({"model": r["model"], "batch": r["batch_size"], "precision": r["precision"],
                 "train_gflop_per_image": round(r["arithmetic"]["train_step_gflop_per_image"], 3),
                 "model_step_images_per_second": round(r["model_step"]["images_per_second"]["median"], 1),
                 "with_data_images_per_second": round(r["train_step_with_data"]["images_per_second"]["median"], 1),
                 "model_step_seconds": round(r["model_step"]["step_seconds"]["median"], 3),
                 "model_step_gflop_per_second": round(r["model_step"]["gflop_per_second"]),
                 "convolution_ceiling_gflop_per_second": round(r["convolution_ceiling"]["gflop_per_second"]["median"])})
rows.sort(key=lambda x: (x["train_gflop_per_image"], x["batch"]))
for row in rows: print(json.dumps(row))
PY

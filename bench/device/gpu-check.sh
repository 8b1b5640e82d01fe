#!/usr/bin/env bash
# One call on a lent GPU machine (no Java, no Maven; CUDA, CMake and Python's torch): builds
# libshakenet against that torch's CUDA libtorch, runs the CUDA tests and benchmarks
# Shake-Shake-26 2x32d and 2x96d at batch 128 in fp32, bf16 and fp16 side by side with PyTorch
# from Python (bench/compare.sh). Needs .device/ from bench/device/pack.sh (carry it).
# Results go to $OUT (the device tool's folder, which returns at most 8 files), else to
# device-out/: cmake.log, tests.log, runs.jsonl (each run's full compare.sh output on one line),
# summary.jsonl (one line a run), errors.log, and the data-parallel smoke test's distributed.log
# and distributed-2.json / distributed-1.json (two Gloo workers on one GPU, one process alone). DEVICE, WIDTHS, PRECISIONS,
# STEPS and WARMUP narrow it, PYTHON names the Python with torch (a dry run on a development
# machine: PYTHON=/usr/bin/python3 DEVICE=cpu WIDTHS=32 PRECISIONS=fp32 STEPS=3).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
out=${OUT:-$root/device-out}
mkdir -p "$out"
log() { echo "gpu-check $(date +%T): $*"; }
# The Python whose torch the library is built against, and that bench/compare.sh runs.
export PYTHON=${PYTHON:-$(command -v python3)}

mkdir -p /tmp/shakenet-jdk && tar xzf .device/jdk.tgz -C /tmp/shakenet-jdk
export JAVA_HOME=/tmp/shakenet-jdk/jdk
mkdir -p target && cp .device/shakenet.jar target/shakenet.jar # where bin/shakenet looks
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
"$PYTHON" -c 'import torch; print("python torch", torch.__version__, "cuda", torch.version.cuda)'

log "building libshakenet against Python's torch"
cmake -S native -B native/build-cuda -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$("$PYTHON" -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')" >"$out/cmake.log" 2>&1 \
  && cmake --build native/build-cuda -j"$(nproc)" >>"$out/cmake.log" 2>&1 || { tail -40 "$out/cmake.log"; exit 1; }
grep -h "ShakeNet:" "$out/cmake.log"
export SHAKENET_LIBRARY=$root/native/build-cuda/libshakenet.so
bin/shakenet info

log "CUDA tests"
"$JAVA_HOME/bin/java" -Dshakenet.library="$SHAKENET_LIBRARY" -jar .device/junit-console.jar execute \
  --class-path .device/test-classes:.device/shakenet.jar --disable-banner --details=tree \
  --select-class dev.shakenet.torch.CudaTest --select-class dev.shakenet.nn.ShakeResNetCudaTest \
  --select-method 'dev.shakenet.torch.NonFiniteTest#countsTheStepsWithAnInfOrNanAndKeepsTheFirst(java.lang.String)' \
  --select-method 'dev.shakenet.train.TrainerTest#aTinyShakeShakeNetMemorizes64Images(java.lang.String, java.lang.String)' \
  --select-method 'dev.shakenet.torch.CollectivesTest#cudaTensorsGoThroughEachBuiltBackend(dev.shakenet.torch.ProcessGroup$Backend)' \
  2>&1 | tee "$out/tests.log" | grep -vE '^\s*$' | tail -40

log "distributed smoke test: two Gloo workers sharing cuda:0, then one process alone (the ratio)"
for n in 2 1; do
  timeout 240 bin/shakenet bench --nproc-per-node "$n" --config config/cpu-quick.json --set device=cuda:0 --set distributed.backend=gloo \
    --set data.path=/nonexistent --steps "${STEPS:-30}" --warmup "${WARMUP:-10}" --out "$out/distributed-$n.json" >>"$out/distributed.log" 2>&1 \
    || { log "distributed bench with $n process(es) failed:"; tail -20 "$out/distributed.log"; }
done
tail -c 400 "$out"/distributed-2.json 2>/dev/null; echo

log "benchmarks, side by side with PyTorch from Python"
summary="$out/summary.jsonl" runs="$out/runs.jsonl" errors="$out/errors.log"
: >"$summary"; : >"$runs"; : >"$errors"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for width in ${WIDTHS:-32 96}; do
  for precision in ${PRECISIONS:-fp32 bf16 fp16}; do
    name="2x${width}d-$precision"
    STEPS=${STEPS:-30} WARMUP=${WARMUP:-10} timeout 120 bench/compare.sh config/cpu-quick.json --set device="${DEVICE:-cuda}" --set batch_size=128 \
      --set model.width="$width" --set precision="$precision" --set data.path=/nonexistent >"$tmp/run.json" 2>"$tmp/run.err"
    status=$?
    { echo "== $name (exit $status)"; cat "$tmp/run.err"; } >>"$errors"
    if ((status != 0)); then log "$name failed:"; tail -5 "$tmp/run.err"; continue; fi
    "$PYTHON" - "$tmp/run.json" "$name" "$runs" >>"$summary" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
with open(sys.argv[3], "a") as runs:
    runs.write(json.dumps({"run": sys.argv[2], **r}) + "\n")
s, p = r["shakenet"], r["pytorch"]
print(json.dumps({"run": sys.argv[2], "card": s["device_name"],
                  "shakenet_with_data": round(s["train_step_with_data"]["images_per_second"]["median"], 1),
                  "shakenet_model_step": round(s["model_step"]["images_per_second"]["median"], 1),
                  "pytorch_model_step": round(p["model_step"]["images_per_second"]["median"], 1),
                  "shakenet_eval": round(s["eval"]["images_per_second"]["median"], 1),
                  "peak_device_bytes": [s["model_step"].get("peak_device_bytes"), p.get("peak_device_bytes")],
                  "ratios": r["ratios"]}))
PY
    tail -1 "$summary"
  done
done
log "done"

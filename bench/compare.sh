#!/usr/bin/env bash
# Side by side on this machine: `shakenet bench` and the same step in PyTorch from Python
# (bench/pytorch_reference.py), for one config and precision; prints both JSON objects and the
# ratios. Needs a python3 with torch (Debian: apt-get install python3-torch; set PYTHON to another).
#
#   bench/compare.sh config/cpu-quick.json [--set precision=bf16 ...]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
config=${1:?usage: bench/compare.sh <config.json> [--set key=value]...}
shift
python=${PYTHON:-/usr/bin/python3}
steps=${STEPS:-20}
warmup=${WARMUP:-10}
out=$(mktemp -d)
"$root/bin/shakenet" bench --config "$config" --steps "$steps" --warmup "$warmup" "$@" --out "$out/shakenet.json" >/dev/null
# The Python step uses the same model, batch, precision, layout, threads and device.
read -r depth width batch precision format threads device < <("$python" - "$out/shakenet.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
d, w = r["model"].split("-")[2].split(" 2x")
print(d, w.rstrip("d"), r["batch_size"], r["precision"], r["memory_format"], r["threads"], r["device"])
PY
)
"$python" "$root/bench/pytorch_reference.py" --depth "$depth" --width "$width" --batch "$batch" --precision "$precision" \
  --memory-format "$format" --threads "$threads" --device "$device" --steps "$steps" --warmup "$warmup" > "$out/pytorch.json"
"$python" - "$out/shakenet.json" "$out/pytorch.json" <<'PY'
import json, sys
s, p = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
ratio = lambda a, b: round(a / b, 3)
print(json.dumps({
    "shakenet": s, "pytorch": p,
    "ratios": {
        "model_step_images_per_second": ratio(s["model_step"]["images_per_second"]["median"], p["model_step"]["images_per_second"]["median"]),
        "train_step_with_data_vs_pytorch_model_step": ratio(s["train_step_with_data"]["images_per_second"]["median"], p["model_step"]["images_per_second"]["median"]),
        "peak_rss": ratio(s["peak_rss_bytes"], p["peak_rss_bytes"]),
    }}, indent=2))
PY

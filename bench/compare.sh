#!/usr/bin/env bash
# Side by side on this machine: `shakenet bench` and the same step in PyTorch from Python
# (bench/pytorch_reference.py), for one config and precision; prints both JSON objects and the
# ratios. Needs a python3 with torch (Debian: apt-get install python3-torch; set PYTHON to another).
# ROUNDS=N (default 1) alternates the two N times and prints each round's figures and ratios,
# then the median ratios: on a shared VM whose speed drifts by the minute, one round can mislead.
#
#   bench/compare.sh config/cpu-quick.json [--set precision=bf16 ...]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
config=${1:?usage: bench/compare.sh <config.json> [--set key=value]...}
shift
python=${PYTHON:-/usr/bin/python3}
steps=${STEPS:-20}
warmup=${WARMUP:-10}
rounds=${ROUNDS:-1}
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "compare.sh: ROUNDS must be a positive whole number, got '$rounds'" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for ((r = 1; r <= rounds; r++)); do
  "$root/bin/shakenet" bench --config "$config" --steps "$steps" --warmup "$warmup" "$@" --out "$out/shakenet.$r.json" >/dev/null
  # The Python step uses the same model, batch, precision, layout, threads and device.
  read -r depth width batch precision format threads device < <("$python" - "$out/shakenet.$r.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
d, w = r["model"].split("-")[2].split(" 2x")
print(d, w.rstrip("d"), r["batch_size"], r["precision"], r["memory_format"], r["threads"], r["device"])
PY
  )
  "$python" "$root/bench/pytorch_reference.py" --depth "$depth" --width "$width" --batch "$batch" --precision "$precision" \
    --memory-format "$format" --threads "$threads" --device "$device" --steps "$steps" --warmup "$warmup" > "$out/pytorch.$r.json"
done
"$python" - "$out" "$rounds" <<'PY'
import json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
ratio = lambda a, b: round(a / b, 3)
def ratios(s, p):
    return {
        "model_step_images_per_second": ratio(s["model_step"]["images_per_second"]["median"], p["model_step"]["images_per_second"]["median"]),
        "train_step_with_data_vs_pytorch_model_step": ratio(s["train_step_with_data"]["images_per_second"]["median"], p["model_step"]["images_per_second"]["median"]),
        "peak_rss": ratio(s["peak_rss_bytes"], p["peak_rss_bytes"]),
    }
pairs = [(json.load(open(f"{out}/shakenet.{r}.json")), json.load(open(f"{out}/pytorch.{r}.json"))) for r in range(1, rounds + 1)]
if rounds == 1:
    s, p = pairs[0]
    print(json.dumps({"shakenet": s, "pytorch": p, "ratios": ratios(s, p)}, indent=2))
else:
    rate = lambda run, section: round(run[section]["images_per_second"]["median"], 1)
    each = [{"shakenet_train_step_with_data": rate(s, "train_step_with_data"), "shakenet_model_step": rate(s, "model_step"),
             "pytorch_model_step": rate(p, "model_step"), "shakenet_peak_rss_bytes": s["peak_rss_bytes"],
             "pytorch_peak_rss_bytes": p["peak_rss_bytes"], "ratios": ratios(s, p)} for s, p in pairs]
    keys = each[0]["ratios"].keys()
    print(json.dumps({"shakenet_first_round": pairs[0][0], "rounds": each,
                      "median_ratios": {k: round(statistics.median(e["ratios"][k] for e in each), 3) for k in keys},
                      "ratio_ranges": {k: [min(e["ratios"][k] for e in each), max(e["ratios"][k] for e in each)] for k in keys}},
                     indent=2))
PY

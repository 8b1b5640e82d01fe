#!/usr/bin/env bash
# Two builds of ShakeNet side by side with PyTorch, alternating round by round so that a VM's
# drifting speed hits both alike: bench/compare.sh of another checkout (built: its jar and
# native/build) and of this one, ROUNDS times each (default 3), one JSON line per round, then
# both builds' median model-step ratios to PyTorch and their ranges.
#
#   bench/compare_ab.sh /path/to/old-checkout config/cpu-quick.json --set precision=bf16 ...
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
other="$(cd "${1:?usage: bench/compare_ab.sh <other checkout> <config.json> [--set key=value]...}" && pwd)"
config="$(cd "$(dirname "${2:?usage: bench/compare_ab.sh <other checkout> <config.json> [--set key=value]...}")" && pwd)/$(basename "$2")"
shift 2
rounds=${ROUNDS:-3}
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "compare_ab.sh: ROUNDS must be a positive whole number, got '$rounds'" >&2; exit 2; }
python=${PYTHON:-/usr/bin/python3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for ((r = 1; r <= rounds; r++)); do
  for side in other this; do
    dir=$([[ $side == other ]] && echo "$other" || echo "$root")
    (cd "$dir" && ROUNDS=1 SHAKENET_LIBRARY="$dir/native/build/libshakenet.so" bench/compare.sh "$config" "$@") > "$out/$side.$r.json"
    "$python" - "$out/$side.$r.json" "$side" "$r" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
s, p = r["shakenet"], r["pytorch"]
print(json.dumps({"build": sys.argv[2], "round": int(sys.argv[3]),
                  "shakenet_model_step": round(s["model_step"]["images_per_second"]["median"], 1),
                  "pytorch_model_step": round(p["model_step"]["images_per_second"]["median"], 1),
                  "ratio": r["ratios"]["model_step_images_per_second"], "peak_rss_ratio": r["ratios"]["peak_rss"]}))
PY
  done
done | tee "$out/rounds.jsonl"
"$python" - "$out/rounds.jsonl" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
summary = {}
for build in ("other", "this"):
    ratios = [r["ratio"] for r in rows if r["build"] == build]
    summary[build] = {"median_model_step_ratio": round(statistics.median(ratios), 3), "range": [min(ratios), max(ratios)]}
print(json.dumps(summary))
PY

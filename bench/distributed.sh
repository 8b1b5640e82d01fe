#!/usr/bin/env bash
# Data-parallel on one machine against one process: `shakenet bench --nproc-per-node N` with
# `threads` 1 per process, then one process alone with N threads, the same config and per-process
# batch; ROUNDS=R (default 1) alternates them R times. Prints one JSON object: each round's
# images/s (all ranks together), step and allreduce seconds (medians), the allreduce's share of
# the step, and the ratio data-parallel / one process, with the median over the rounds.
#
#   bench/distributed.sh config/cpu-quick.json [--set data.path=../shared/data ...]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
config=${1:?usage: bench/distributed.sh <config.json> [--set key=value]...}
shift
nproc=${NPROC:-2}
rounds=${ROUNDS:-1}
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "distributed.sh: ROUNDS must be a positive whole number, got '$rounds'" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
common=(--config "$config" --steps "${STEPS:-20}" --warmup "${WARMUP:-5}" "$@")
for ((r = 1; r <= rounds; r++)); do
  "$root/bin/shakenet" bench --nproc-per-node "$nproc" "${common[@]}" --set threads=1 --out "$out/ranks.$r.json" >/dev/null
  "$root/bin/shakenet" bench --nproc-per-node 1 "${common[@]}" --set threads="$nproc" --out "$out/alone.$r.json" >/dev/null
done
python3 - "$out" "$rounds" <<'PY'
import json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
def figures(r):
    return {"processes": r["processes"], "threads_per_process": r["threads_per_process"], "backend": r["backend"],
            "images_per_second": round(r["images_per_second"]["median"], 1), "step_seconds": round(r["step_seconds"]["median"], 4),
            "allreduce_seconds": round(r["allreduce_seconds"]["median"], 4), "allreduce_share_of_step": round(r["allreduce_share_of_step"], 4)}
each, ratios = [], []
for i in range(1, rounds + 1):
    ranks, alone = (json.load(open(f"{out}/{k}.{i}.json")) for k in ("ranks", "alone"))
    ratio = ranks["images_per_second"]["median"] / alone["images_per_second"]["median"]
    ratios.append(ratio)
    each.append({"round": i, "data_parallel": figures(ranks), "one_process": figures(alone), "ratio": round(ratio, 3)})
first = json.load(open(f"{out}/ranks.1.json"))
print(json.dumps({"model": first["model"], "device_name": first["device_name"], "batch_size_per_process": first["batch_size_per_process"],
                  "allreduce_bytes_per_step": first["allreduce_bytes_per_step"], "rounds": each,
                  "median_ratio": round(statistics.median(ratios), 3)}, indent=1))
PY

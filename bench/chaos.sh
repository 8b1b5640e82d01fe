#!/usr/bin/env bash
# The chaos check: a short training run killed with SIGKILL at KILLS instants (steps, evaluations,
# checkpoint writes) and stopped with SIGTERM at TERMS more, resumed after each, must end with the
# metrics of an uninterrupted run. Prints one JSON object (bench/chaos.py --help for the options).
#
#   bench/chaos.sh                       # KILLS=12 TERMS=6
#   KILLS=30 TERMS=10 SEED=2 bench/chaos.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[[ -f "$root/target/shakenet.jar" ]] || { echo "chaos.sh: run bin/setup first (target/shakenet.jar is missing)" >&2; exit 2; }
exec python3 "$root/bench/chaos.py" "$@"

#!/usr/bin/env bash
# oneDNN's direct and Winograd float32 convolutions and its direct bf16 ones alone (no libtorch), for the three stage
# shapes of Shake-Shake 2x32d at batch 128 on this machine's threads (OMP_NUM_THREADS, default
# all cores). Needs g++ and libdnnl-dev (bin/setup installs it). Prints JSON.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out=$(mktemp -d)
g++ -O2 -std=c++17 "$root/bench/onednn_winograd.cpp" -o "$out/onednn_winograd" -ldnnl
"$out/onednn_winograd"
rm -rf "$out"

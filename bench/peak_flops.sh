#!/usr/bin/env bash
# This CPU's arithmetic peak in float32 (AVX-512 FMA) and bfloat16 (AVX-512-BF16 dot products)
# on OMP_NUM_THREADS threads (default: all cores), registers only. Prints JSON. Needs g++ and a
# CPU with AVX-512-BF16; see bench/peak_flops.cpp.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
grep -qw avx512_bf16 /proc/cpuinfo || { echo "peak_flops: this CPU has no AVX-512-BF16" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
g++ -O2 -std=c++17 -mavx512f -mavx512bf16 -pthread "$root/bench/peak_flops.cpp" -o "$out/peak_flops"
"$out/peak_flops"

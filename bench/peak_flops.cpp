// The arithmetic peak of this CPU's vector units, with no memory traffic: every thread runs
// independent AVX-512 float32 fused multiply-adds (vfmadd231ps, 32 FLOP each) or bfloat16 dot
// products (vdpbf16ps, 64 FLOP each: 16 lanes x 2 pairs x multiply and add) on registers only.
// No convolution or training step can run its arithmetic faster than this. Prints JSON: best
// of 5 runs in GFLOP/s for the given thread count. Built and run by bench/peak_flops.sh.
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

namespace {

constexpr long kIterations = 20'000'000;
constexpr int kChains = 16;  // independent accumulators: more than latency x throughput

double seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Runs `step` on kChains independent accumulators kIterations times, then writes their sum to
// `sink` so the compiler cannot drop the arithmetic.
template <typename Step>
void chains(float* sink, Step step) {
  __m512 acc[kChains];
  for (int c = 0; c < kChains; c++) acc[c] = _mm512_set1_ps(0.001f * c);
  for (long i = 0; i < kIterations; i++) {
#pragma GCC unroll 16
    for (int c = 0; c < kChains; c++) acc[c] = step(acc[c]);
  }
  __m512 total = acc[0];
  for (int c = 1; c < kChains; c++) total = _mm512_add_ps(total, acc[c]);
  *sink = _mm512_reduce_add_ps(total);
}

void fp32_fma(float* sink) {
  const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(0.0001f);
  chains(sink, [&](__m512 acc) { return _mm512_fmadd_ps(acc, a, b); });
}

void bf16_dot(float* sink) {
  const __m512bh a = _mm512_cvtne2ps_pbh(_mm512_set1_ps(0.001f), _mm512_set1_ps(0.002f));
  const __m512bh b = _mm512_cvtne2ps_pbh(_mm512_set1_ps(0.003f), _mm512_set1_ps(0.004f));
  chains(sink, [&](__m512 acc) { return _mm512_dpbf16_ps(acc, a, b); });
}

// GFLOP/s of `kernel` run on `threads` threads at once, best of 5 after one warm-up.
double rate(void (*kernel)(float*), int threads, double flop_per_instruction) {
  std::vector<float> sinks(threads * 16);
  double best = 1e30;
  for (int run = 0; run < 6; run++) {
    double start = seconds();
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; t++) workers.emplace_back(kernel, &sinks[t * 16]);
    for (auto& w : workers) w.join();
    if (run > 0) best = std::min(best, seconds() - start);
  }
  double flop = flop_per_instruction * kChains * static_cast<double>(kIterations) * threads;
  return flop / best / 1e9;
}

}  // namespace

int main() {
  const char* env = std::getenv("OMP_NUM_THREADS");
  int threads = env ? std::atoi(env) : static_cast<int>(std::thread::hardware_concurrency());
  if (threads < 1) threads = 1;
  double fp32 = rate(fp32_fma, threads, 32);
  double bf16 = rate(bf16_dot, threads, 64);
  std::printf("{\"threads\": %d, \"fp32_fma_gflop_per_second\": %.1f, \"bf16_dot_gflop_per_second\": %.1f}\n",
              threads, fp32, bf16);
  return 0;
}

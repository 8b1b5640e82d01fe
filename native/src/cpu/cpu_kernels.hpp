// What the shim's hand-written CPU loops share: element access for float32 and bfloat16 storage
// (arithmetic always in float32) and multi-versioned compilation, so each loop runs with
// AVX-512 or AVX2 where the CPU has them while the library stays portable.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <cstring>

// A loop marked SN_CPU_KERNEL is compiled for AVX-512, AVX2 and the baseline; the loader picks
// one for this CPU (GCC function multi-versioning). On a template, every instantiation (float32
// and bfloat16 storage) gets its own set of clones.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define SN_CPU_KERNEL __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define SN_CPU_KERNEL
#endif
#define SN_INLINE inline __attribute__((always_inline))

namespace sn::cpu {

// bfloat16 is stored as the upper 16 bits of a float32.
SN_INLINE float load(const float* p, int64_t i) { return p[i]; }
SN_INLINE float load(const uint16_t* p, int64_t i) {
  uint32_t bits = static_cast<uint32_t>(p[i]) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}
SN_INLINE void store(float* p, int64_t i, float v) { p[i] = v; }
SN_INLINE void store(uint16_t* p, int64_t i, float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  uint32_t rounded = (bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16;  // round to nearest even
  p[i] = static_cast<uint16_t>(v != v ? 0x7FC0u : rounded);         // keep NaN a NaN
}

// A tensor's elements as the loops see them (bfloat16 as uint16_t); nullptr for an undefined tensor.
template <typename T>
T* data(const at::Tensor& t) {
  return t.defined() ? reinterpret_cast<T*>(t.data_ptr()) : nullptr;
}

// A gradient as the loops want it: the reference's dtype and dense layout (channels_last for a
// 4-D channels_last reference, else contiguous); autograd may hand over another. Undefined stays so.
inline at::Tensor matching(const at::Tensor& grad, const at::Tensor& reference) {
  if (!grad.defined()) return grad;
  bool channels_last = reference.dim() == 4 && reference.is_contiguous(at::MemoryFormat::ChannelsLast);
  return grad.to(reference.scalar_type())
      .contiguous(channels_last ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous);
}

}  // namespace sn::cpu

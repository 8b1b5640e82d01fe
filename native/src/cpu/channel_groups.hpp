// CPU activations seen in groups of 16 channels, for the hand-written loops that read and write
// the blocked layout (blocked_layout.hpp, float32) and channels_last (float32 or bfloat16) alike:
// in both, each pixel's 16 channels of a group are 16 consecutive values; only the strides
// differ. The unit of work is one image's group (H*W pixels). Used by grouped_batch_norm.cpp and
// shake_batch_norm_add_relu.cpp; bfloat16 is stored as uint16_t there (cpu_kernels.hpp).
#pragma once

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "blocked_layout.hpp"
#include "cpu_kernels.hpp"

namespace sn::groups {

using sn::blocked::kBlock;

// A tensor as (image, channel group, pixel) -> 16 consecutive values of type T (float, or
// uint16_t for bfloat16), blocked or channels_last; or the two halves of one, each its own
// tensor (the branches' bn1).
template <typename T>
struct Groups {
  T* base[2];
  int64_t per_part;  // groups in each part
  int64_t image_stride, group_stride, pixel_stride;

  T* at(int64_t n, int64_t g) const {
    int64_t part = g / per_part;
    return base[part] + n * image_stride + (g - part * per_part) * group_stride;
  }
};

// t's layout (blocked or channels_last); a `second` half shares it. An undefined t gives no groups.
template <typename T>
Groups<T> groups_of(const at::Tensor& t, const at::Tensor& second = at::Tensor()) {
  if (!t.defined()) return {{nullptr, nullptr}, 1, 0, 0, 0};
  auto s = sn::blocked::nchw(t);
  int64_t hw = s[2] * s[3], groups = s[1] / kBlock;
  T* first_base = sn::cpu::data<T>(t);
  T* second_base = sn::cpu::data<T>(second);
  if (sn::blocked::is_blocked(t)) return {{first_base, second_base}, groups, s[1] * hw, hw * kBlock, kBlock};
  return {{first_base, second_base}, groups, s[1] * hw, kBlock, s[1]};
}

// A new tensor of logical shape (N,C,H,W) and the given dtype: blocked when asked (float32 only,
// the layout the Winograd convolutions use), else channels_last.
inline at::Tensor empty_activation(const std::array<int64_t, 4>& s, bool blocked, at::ScalarType dtype) {
  if (blocked && dtype == at::kFloat) return sn::blocked::empty(s[0], s[1], s[2], s[3]);
  return at::empty({s[0], s[1], s[2], s[3]}, at::TensorOptions(dtype).memory_format(at::MemoryFormat::ChannelsLast));
}

// A gradient dense in its output's layout (blocked 5-d or channels_last) and dtype: autograd may
// hand over another arrangement of the same shape.
inline at::Tensor dense(const at::Tensor& g, at::ScalarType dtype) {
  return g.dim() == 5 ? g.contiguous() : g.to(dtype).contiguous(at::MemoryFormat::ChannelsLast);
}

// Whether t is a CPU activation these loops take, with a multiple of 16 channels: float32
// blocked, or float32 or bfloat16 channels_last 4-d.
inline bool is_grouped(const at::Tensor& t) {
  if (!t.defined() || !t.device().is_cpu() || t.numel() == 0) return false;
  if (sn::blocked::is_blocked(t)) return t.is_contiguous();
  if (t.scalar_type() != at::kFloat && t.scalar_type() != at::kBFloat16) return false;
  return t.dim() == 4 && t.size(1) % kBlock == 0 && t.is_contiguous(at::MemoryFormat::ChannelsLast);
}

// Runs body(n, g) over every unit, in parallel; units of small images go a few at a time.
template <typename Body>
void for_units(int64_t images, int64_t groups, int64_t pixels, Body&& body) {
  int64_t grain = std::max<int64_t>(1, 4096 / pixels);
  at::parallel_for(0, images * groups, grain, [&](int64_t begin, int64_t end) {
    for (int64_t u = begin; u < end; u++) body(u / groups, u % groups);
  });
}

// Per-channel sums of per-unit values (images x groups x 16, in that order), image by image:
// the same order whatever the threads.
inline std::vector<double> sum_over_images(const std::vector<double>& per_unit, int64_t images, int64_t groups) {
  std::vector<double> total(static_cast<size_t>(groups * kBlock), 0.0);
  for (int64_t n = 0; n < images; n++) {
    for (int64_t i = 0; i < groups * kBlock; i++) total[i] += per_unit[n * groups * kBlock + i];
  }
  return total;
}

// ReLU written as a select, which compilers vectorize (std::max's NaN rule kept GCC scalar).
inline __attribute__((always_inline)) float relu_of(float v) { return v > 0.0f ? v : 0.0f; }

// Per-channel sum and sum of squared deviations from the mean of a grouped activation (float32
// or bfloat16), in a fixed order (grouped_batch_norm.cpp).
void channel_moments(const at::Tensor& x, std::vector<double>& sum, std::vector<double>& squared_deviations);

// Calls body(T{}) with T the storage type of a grouped activation: float, or uint16_t for bfloat16.
template <typename Body>
decltype(auto) with_storage(const at::Tensor& t, Body&& body) {
  if (t.scalar_type() == at::kBFloat16) return body(uint16_t{});
  return body(float{});
}

}  // namespace sn::groups

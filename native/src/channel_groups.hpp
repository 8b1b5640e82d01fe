// Float32 CPU activations seen in groups of 16 channels, for the hand-written loops that read
// and write the blocked layout (blocked_layout.hpp) and channels_last alike: in both, each
// pixel's 16 channels of a group are 16 consecutive floats; only the strides differ. The unit of
// work is one image's group (H*W pixels). Used by grouped_batch_norm.cpp and
// shake_batch_norm_add_relu.cpp.
#pragma once

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "blocked_layout.hpp"

namespace sn::groups {

using sn::blocked::kBlock;

// A float tensor as (image, channel group, pixel) -> 16 consecutive floats, blocked or
// channels_last; or the two halves of one, each its own tensor (the branches' bn1).
struct Groups {
  float* base[2];
  int64_t per_part;  // groups in each part
  int64_t image_stride, group_stride, pixel_stride;

  float* at(int64_t n, int64_t g) const {
    int64_t part = g / per_part;
    return base[part] + n * image_stride + (g - part * per_part) * group_stride;
  }
};

// t's layout (blocked or channels_last); a `second` half shares it.
inline Groups groups_of(const at::Tensor& t, const at::Tensor& second = at::Tensor()) {
  auto s = sn::blocked::nchw(t);
  int64_t hw = s[2] * s[3], groups = s[1] / kBlock;
  float* second_base = second.defined() ? second.data_ptr<float>() : nullptr;
  if (sn::blocked::is_blocked(t)) return {{t.data_ptr<float>(), second_base}, groups, s[1] * hw, hw * kBlock, kBlock};
  return {{t.data_ptr<float>(), second_base}, groups, s[1] * hw, kBlock, s[1]};
}

// A new tensor of logical shape (N,C,H,W), blocked or channels_last.
inline at::Tensor empty_activation(const std::array<int64_t, 4>& s, bool blocked) {
  if (blocked) return sn::blocked::empty(s[0], s[1], s[2], s[3]);
  return at::empty({s[0], s[1], s[2], s[3]}, at::TensorOptions(at::kFloat).memory_format(at::MemoryFormat::ChannelsLast));
}

// A gradient dense in its output's layout (blocked 5-d or channels_last): autograd may hand
// over another arrangement of the same shape.
inline at::Tensor dense(const at::Tensor& g) {
  return g.dim() == 5 ? g.contiguous() : g.to(at::kFloat).contiguous(at::MemoryFormat::ChannelsLast);
}

// Whether t is a float32 CPU activation these loops take: blocked, or channels_last 4-d, with a
// multiple of 16 channels.
inline bool is_grouped(const at::Tensor& t) {
  if (!t.defined() || !t.device().is_cpu() || t.scalar_type() != at::kFloat || t.numel() == 0) return false;
  if (sn::blocked::is_blocked(t)) return t.is_contiguous();
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

// Per-channel sum and sum of squared deviations from the mean of a grouped activation, in a
// fixed order (grouped_batch_norm.cpp).
void channel_moments(const at::Tensor& x, std::vector<double>& sum, std::vector<double>& squared_deviations);

}  // namespace sn::groups

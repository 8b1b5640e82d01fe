// oneDNN's blocked activation layout (nChw16c) held in a plain tensor, so that a float32
// convolution's result can go straight into the next batch norm and convolution without a
// reorder between them (see winograd_conv.cpp and grouped_batch_norm.cpp).
//
// A blocked activation of logical shape (N,C,H,W), C a multiple of 16, is the contiguous 5-d
// tensor (N, C/16, H, W, 16): for each image, C/16 planes of H*W pixels, each pixel 16 channels.
// Only the shim's own CPU training ops make or take one, and only where the caller asked for it;
// every other op gets the ordinary channels_last form (to_standard).
#pragma once

#include <ATen/ATen.h>

#include <array>
#include <cstdint>

namespace sn::blocked {

constexpr int64_t kBlock = 16;

inline bool is_blocked(const at::Tensor& t) {
  return t.defined() && t.dim() == 5 && t.size(4) == kBlock && t.scalar_type() == at::kFloat &&
         t.layout() == at::kStrided;
}

// Logical (N,C,H,W) of a blocked or an ordinary 4-d tensor.
inline std::array<int64_t, 4> nchw(const at::Tensor& t) {
  if (is_blocked(t)) return {t.size(0), t.size(1) * kBlock, t.size(2), t.size(3)};
  return {t.size(0), t.size(1), t.size(2), t.size(3)};
}

inline at::Tensor empty(int64_t n, int64_t c, int64_t h, int64_t w) {
  return at::empty({n, c / kBlock, h, w, kBlock}, at::kFloat);
}

// The same values as a channels_last (N,C,H,W) tensor; differentiable (the gradient goes back
// blocked). An ordinary tensor is returned as it is.
inline at::Tensor to_standard(const at::Tensor& t) {
  if (!is_blocked(t)) return t;
  auto s = nchw(t);
  return t.permute({0, 2, 3, 1, 4}).reshape({s[0], s[2], s[3], s[1]}).permute({0, 3, 1, 2});
}

}  // namespace sn::blocked

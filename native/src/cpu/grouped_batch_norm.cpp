// Batch norm (+ReLU) for CPU training on activations in groups of 16 channels: float32 in the
// blocked layout that the Winograd convolutions read and write (blocked_layout.hpp), and float32
// or bfloat16 channels_last. A float32 input and its gradients may be in either, and the result
// is blocked where the caller asks: 16 consecutive values per pixel either way, only the strides
// differ. That lets a branch pair run conv -> bn -> relu -> conv without a layout change in
// between (its last batch norm is folded into the block end, shake_batch_norm_add_relu.cpp).
//
// The unit of work is one image's group of 16 channels (H*W pixels): forward takes two passes
// over memory (a unit's moments read it twice, the second time from cache; then the affine
// pass), backward two (gradient sums, then the input gradient). Units are summed in a fixed
// order, so results do not depend on the thread count.
#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "batch_norm_math.hpp"
#include "blocked_layout.hpp"
#include "channel_groups.hpp"
#include "cpu_kernels.hpp"
#include "grouped_batch_norm.hpp"
#include "shim.hpp"

namespace {

using sn::blocked::kBlock;
using sn::cpu::load;
using sn::cpu::store;
using sn::groups::dense;
using sn::groups::empty_activation;
using sn::groups::for_units;
using sn::groups::Groups;
using sn::groups::groups_of;
using sn::groups::relu_of;
using sn::groups::sum_over_images;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// ---- Kernels over one unit: P pixels of 16 channels, `s*` values from one pixel to the next ---
// Written once for both storage types (T: float, or uint16_t for bfloat16; arithmetic in float),
// instantiated per type below.

// Sum of the unit's values, then the sum and squared sum of deviations from that sum's mean
// (read again from cache); returns the exact mean and the sum of squared deviations from it.
template <typename T>
SN_CPU_KERNEL void moments_loop(const T* __restrict x, int64_t sx, int64_t P, double* __restrict mean,
                                double* __restrict m2) {
  float acc[2][kBlock] = {}, dev[kBlock] = {}, sq[kBlock] = {}, m[kBlock];
  int64_t p = 0;
  for (; p + 2 <= P; p += 2) {
    for (int j = 0; j < kBlock; j++) acc[0][j] += load(x, p * sx + j);
    for (int j = 0; j < kBlock; j++) acc[1][j] += load(x, (p + 1) * sx + j);
  }
  for (; p < P; p++) {
    for (int j = 0; j < kBlock; j++) acc[0][j] += load(x, p * sx + j);
  }
  for (int j = 0; j < kBlock; j++) m[j] = (acc[0][j] + acc[1][j]) / static_cast<float>(P);
  for (p = 0; p < P; p++) {
    for (int j = 0; j < kBlock; j++) {
      float d = load(x, p * sx + j) - m[j];
      dev[j] += d;
      sq[j] += d * d;
    }
  }
  // m is a rounded mean: correct both by the deviations' own (tiny) sum.
  for (int j = 0; j < kBlock; j++) {
    double shift = static_cast<double>(dev[j]) / P;
    mean[j] = m[j] + shift;
    m2[j] = sq[j] - static_cast<double>(dev[j]) * shift;
  }
}

template <typename T, bool kRelu>
SN_INLINE void affine_loop(const T* __restrict x, int64_t sx, T* __restrict y, int64_t sy, int64_t P,
                           const float* __restrict scale, const float* __restrict shift) {
  for (int64_t p = 0; p < P; p++) {
    for (int j = 0; j < kBlock; j++) {
      float v = load(x, p * sx + j) * scale[j] + shift[j];
      store(y, p * sy + j, kRelu ? relu_of(v) : v);
    }
  }
}

// sum_g += g and sum_gx += g*(x - mean), g being dy masked by the ReLU (recomputed from x).
template <typename T>
SN_CPU_KERNEL void grad_sums_loop(const T* __restrict x, int64_t sx, const T* __restrict dy, int64_t sdy, int64_t P,
                                  const float* __restrict mean, const float* __restrict scale,
                                  const float* __restrict shift, bool relu, double* __restrict sum_g,
                                  double* __restrict sum_gx) {
  float acc_g[kBlock] = {}, acc_gx[kBlock] = {};
  for (int64_t p = 0; p < P; p++) {
    for (int j = 0; j < kBlock; j++) {
      float xv = load(x, p * sx + j);
      float g = (!relu || xv * scale[j] + shift[j] > 0.0f) ? load(dy, p * sdy + j) : 0.0f;
      acc_g[j] += g;
      acc_gx[j] += g * (xv - mean[j]);
    }
  }
  for (int j = 0; j < kBlock; j++) {
    sum_g[j] = acc_g[j];
    sum_gx[j] = acc_gx[j];
  }
}

// dx = a*g + b*x + d (see sn::bn::input_gradient).
template <typename T>
SN_CPU_KERNEL void grad_input_loop(const T* __restrict x, int64_t sx, const T* __restrict dy, int64_t sdy,
                                   T* __restrict dx, int64_t sdx, int64_t P, const float* __restrict a,
                                   const float* __restrict b, const float* __restrict d, const float* __restrict scale,
                                   const float* __restrict shift, bool relu) {
  for (int64_t p = 0; p < P; p++) {
    for (int j = 0; j < kBlock; j++) {
      float xv = load(x, p * sx + j);
      float g = (!relu || xv * scale[j] + shift[j] > 0.0f) ? load(dy, p * sdy + j) : 0.0f;
      store(dx, p * sdx + j, a[j] * g + b[j] * xv + d[j]);
    }
  }
}

// affine_loop with the ReLU flag as a run-time argument, compiled per CPU like the other loops.
template <typename T>
SN_CPU_KERNEL void affine(const T* x, int64_t sx, T* y, int64_t sy, int64_t P, const float* scale, const float* shift,
                          bool relu) {
  if (relu) {
    affine_loop<T, true>(x, sx, y, sy, P, scale, shift);
  } else {
    affine_loop<T, false>(x, sx, y, sy, P, scale, shift);
  }
}

// ---- Forward and backward ----------------------------------------------------------------------

// Returns y, or with `split` its two channel halves; blocked (float32 only) when asked, else channels_last.
template <typename T>
std::vector<at::Tensor> forward_impl(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                                     at::Tensor& running_mean, at::Tensor& running_var, double momentum, double eps,
                                     bool relu, bool split, bool blocked_out, at::Tensor& mean_t, at::Tensor& invstd_t) {
  const auto s = sn::blocked::nchw(x);
  const int64_t N = s[0], C = s[1], P = s[2] * s[3], G = C / kBlock, M = N * P;
  const Groups<T> in = groups_of<T>(x);
  std::vector<double> sum, squared_deviations;
  sn::groups::channel_moments(x, sum, squared_deviations);
  sn::bn::batch_statistics(sum, squared_deviations, M, eps, momentum, running_mean, running_var, mean_t, invstd_t);
  std::vector<float> scale, shift;
  sn::bn::affine_coefficients(weight, bias, mean_t, invstd_t, scale, shift);

  std::array<int64_t, 4> out_shape = {N, split ? C / 2 : C, s[2], s[3]};
  std::vector<at::Tensor> y = {empty_activation(out_shape, blocked_out, x.scalar_type())};
  if (split) y.push_back(empty_activation(out_shape, blocked_out, x.scalar_type()));
  const Groups<T> out = groups_of<T>(y[0], split ? y[1] : at::Tensor());
  for_units(N, G, P, [&](int64_t n, int64_t g) {
    affine(in.at(n, g), in.pixel_stride, out.at(n, g), out.pixel_stride, P, &scale[g * kBlock],
           &shift[g * kBlock], relu);
  });
  return y;
}

// Returns {dx, dweight, dbias}; dy2 defined: dy and dy2 are the gradients of the two halves.
template <typename T>
std::vector<at::Tensor> backward_impl(const at::Tensor& x, const at::Tensor& dy, const at::Tensor& dy2,
                                      const at::Tensor& weight, const at::Tensor& bias, const at::Tensor& mean_t,
                                      const at::Tensor& invstd_t, bool relu) {
  const auto s = sn::blocked::nchw(x);
  const int64_t N = s[0], C = s[1], P = s[2] * s[3], G = C / kBlock;
  std::vector<float> scale, shift;
  sn::bn::affine_coefficients(weight, bias, mean_t, invstd_t, scale, shift);
  const float* mean = mean_t.data_ptr<float>();
  const Groups<T> in = groups_of<T>(x), grad = groups_of<T>(dy, dy2);
  std::vector<double> unit_g(static_cast<size_t>(N * C)), unit_gx(static_cast<size_t>(N * C));
  for_units(N, G, P, [&](int64_t n, int64_t g) {
    size_t at = static_cast<size_t>((n * G + g) * kBlock);
    grad_sums_loop(in.at(n, g), in.pixel_stride, grad.at(n, g), grad.pixel_stride, P, mean + g * kBlock,
                   &scale[g * kBlock], &shift[g * kBlock], relu, &unit_g[at], &unit_gx[at]);
  });
  std::vector<double> sum_g = sum_over_images(unit_g, N, G), sum_gx = sum_over_images(unit_gx, N, G);
  sn::bn::InputGradient coef = sn::bn::input_gradient(sum_g.data(), sum_gx.data(), weight, mean_t, invstd_t, N * P);
  at::Tensor dx = empty_activation(s, sn::blocked::is_blocked(x), x.scalar_type());
  const Groups<T> out = groups_of<T>(dx);
  for_units(N, G, P, [&](int64_t n, int64_t g) {
    int64_t c = g * kBlock;
    grad_input_loop(in.at(n, g), in.pixel_stride, grad.at(n, g), grad.pixel_stride, out.at(n, g),
                    out.pixel_stride, P, &coef.a[c], &coef.b[c], &coef.d[c], &scale[c], &shift[c], relu);
  });
  return {dx, coef.dweight, coef.dbias};
}

struct GroupedBatchNorm : public torch::autograd::Function<GroupedBatchNorm> {
  static variable_list forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight,
                               const at::Tensor& bias, at::Tensor running_mean, at::Tensor running_var,
                               double momentum, double eps, bool relu, bool split, bool blocked_out) {
    RECORD_FUNCTION("shakenet::batch_norm_forward", c10::ArrayRef<const c10::IValue>{});  // named in profiles
    at::Tensor mean, invstd;
    variable_list y = sn::groups::with_storage(x, [&](auto t) {
      return forward_impl<decltype(t)>(x, weight, bias, running_mean, running_var, momentum, eps, relu, split,
                                       blocked_out, mean, invstd);
    });
    ctx->save_for_backward({x, weight, bias, mean, invstd});
    ctx->saved_data["relu"] = relu;
    ctx->set_materialize_grads(false);
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    RECORD_FUNCTION("shakenet::batch_norm_backward", c10::ArrayRef<const c10::IValue>{});
    variable_list saved = ctx->get_saved_variables();
    const at::Tensor& x = saved[0];
    variable_list none(10);  // one gradient per forward argument
    at::Tensor dy, dy2;
    if (grads.size() == 1) {
      if (!grads[0].defined()) return none;
      dy = grads[0];
    } else {  // a half nothing depended on has no gradient: zeros
      if (!grads[0].defined() && !grads[1].defined()) return none;
      const at::Tensor& like = grads[0].defined() ? grads[0] : grads[1];
      dy = grads[0].defined() ? grads[0] : at::zeros_like(like);
      dy2 = grads[1].defined() ? grads[1] : at::zeros_like(like);
    }
    dy = dense(dy, x.scalar_type());
    if (dy2.defined()) dy2 = dense(dy2, x.scalar_type());
    auto g = sn::groups::with_storage(x, [&](auto t) {
      return backward_impl<decltype(t)>(x, dy, dy2, saved[1], saved[2], saved[3], saved[4],
                                        ctx->saved_data["relu"].toBool());
    });
    none[0] = g[0];
    none[1] = g[1];
    none[2] = g[2];
    return none;
  }
};

}  // namespace

void sn::groups::channel_moments(const at::Tensor& x, std::vector<double>& sum, std::vector<double>& squared_deviations) {
  const auto s = sn::blocked::nchw(x);
  const int64_t N = s[0], C = s[1], P = s[2] * s[3], G = C / kBlock, M = N * P;
  std::vector<double> unit_mean(static_cast<size_t>(N * C)), unit_m2(static_cast<size_t>(N * C));
  with_storage(x, [&](auto type) {
    using T = decltype(type);
    const Groups<T> in = groups_of<T>(x);
    for_units(N, G, P, [&](int64_t n, int64_t g) {
      size_t at = static_cast<size_t>((n * G + g) * kBlock);
      moments_loop(in.at(n, g), in.pixel_stride, P, &unit_mean[at], &unit_m2[at]);
    });
  });
  // Chan's merge of equal-sized units: the mean of means, and the units' squared deviations
  // plus P*(unit mean - mean)^2 each.
  sum = sum_over_images(unit_mean, N, G);
  for (double& v : sum) v *= P;
  std::vector<double> spread(unit_mean.size());
  for (size_t i = 0; i < unit_mean.size(); i++) {
    double d = unit_mean[i] - sum[i % C] / M;
    spread[i] = unit_m2[i] + P * d * d;
  }
  squared_deviations = sum_over_images(spread, N, G);
}

bool sn::grouped_batch_norm(const at::Tensor& x, const c10::optional<at::Tensor>& weight,
                            const c10::optional<at::Tensor>& bias, const c10::optional<at::Tensor>& running_mean,
                            const c10::optional<at::Tensor>& running_var, bool training, bool relu, double momentum,
                            double eps, bool split, bool blocked_out, std::vector<at::Tensor>& out) {
  if (!training || !sn::groups::is_grouped(x)) return false;
  auto s = sn::blocked::nchw(x);
  const int64_t C = s[1];
  if (C % (split ? 2 * kBlock : kBlock) != 0 || x.numel() / C < 2) return false;
  if (!sn::bn::is_float32_vector(weight, C) || !sn::bn::is_float32_vector(bias, C) ||
      !sn::bn::is_float32_vector(running_mean, C) || !sn::bn::is_float32_vector(running_var, C)) {
    return false;
  }
  out = GroupedBatchNorm::apply(x, *weight, *bias, *running_mean, *running_var, momentum, eps, relu, split, blocked_out);
  return true;
}

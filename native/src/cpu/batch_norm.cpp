// Batch normalization, optionally followed by ReLU, for training on the CPU with channels_last
// tensors (float32 or bfloat16 activations, float32 parameters): one custom autograd function
// over hand-written loops. libtorch 1.13's CPU backward for this case takes as long as ~14
// copies of the tensor; these loops make three passes forward (mean, variance, normalize) and
// two backward, with the ReLU folded into them. Channel counts in multiples of 16 (every layer
// of a 2x32d/64d/96d network) go to the grouped kernel instead (grouped_batch_norm.cpp: two
// passes forward, a pair's halves written directly); this one serves the other counts.
// Everything else (CUDA, other layouts and dtypes, evaluation) goes to at::batch_norm, with an
// in-place ReLU after it.
//
// A channels_last (N,C,H,W) tensor is a row-major matrix of M = N*H*W rows by C channels, so
// every loop below walks rows and vectorizes across the channels of a row.
#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "batch_norm_math.hpp"
#include "blocked_layout.hpp"
#include "cpu_kernels.hpp"
#include "grouped_batch_norm.hpp"
#include "normalize.hpp"
#include "shim.hpp"

namespace {

using sn::cpu::data;
using sn::cpu::load;
using sn::cpu::store;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// ---- Flat kernels -----------------------------------------------------------------------------
// Each runs over n consecutive elements that are whole rows of a tile; per-channel values come
// "repeated" (the C-vector laid out once per row of the tile), so the loop is one long, branch-
// free, vectorizable sweep however few channels there are.

template <typename T>
SN_CPU_KERNEL void add_values(const T* __restrict x, int64_t n, float* __restrict acc) {
  for (int64_t i = 0; i < n; i++) acc[i] += load(x, i);
}

template <typename T>
SN_CPU_KERNEL void add_squared_deviations(const T* __restrict x, int64_t n, const float* __restrict mean,
                                          float* __restrict acc) {
  for (int64_t i = 0; i < n; i++) {
    float d = load(x, i) - mean[i];
    acc[i] += d * d;
  }
}

// y = x*scale + shift, then ReLU when asked.
template <typename T>
SN_CPU_KERNEL void affine(const T* __restrict x, T* __restrict y, int64_t n, const float* __restrict scale,
                          const float* __restrict shift, bool relu) {
  if (relu) {
    for (int64_t i = 0; i < n; i++) store(y, i, std::max(load(x, i) * scale[i] + shift[i], 0.0f));
  } else {
    for (int64_t i = 0; i < n; i++) store(y, i, load(x, i) * scale[i] + shift[i]);
  }
}

// The gradient reaching the normalization: dy, zeroed where the ReLU was off (its input,
// x*scale + shift, is recomputed rather than saved).
template <typename T>
SN_INLINE float masked(const T* __restrict x, const T* __restrict dy, int64_t i, const float* __restrict scale,
                       const float* __restrict shift) {
  return load(x, i) * scale[i] + shift[i] > 0.0f ? load(dy, i) : 0.0f;
}

// acc_g += g,  acc_gx += g*(x - mean)
template <typename T>
SN_CPU_KERNEL void add_grad_sums(const T* __restrict x, const T* __restrict dy, int64_t n, const float* __restrict mean,
                                 const float* __restrict scale, const float* __restrict shift, bool relu,
                                 float* __restrict acc_g, float* __restrict acc_gx) {
  if (relu) {
    for (int64_t i = 0; i < n; i++) {
      float g = masked(x, dy, i, scale, shift);
      acc_g[i] += g;
      acc_gx[i] += g * (load(x, i) - mean[i]);
    }
  } else {
    for (int64_t i = 0; i < n; i++) {
      float g = load(dy, i);
      acc_g[i] += g;
      acc_gx[i] += g * (load(x, i) - mean[i]);
    }
  }
}

// dx = a*g + b*x + d, with per-channel a, b, d from the closed form (see backward_impl).
template <typename T>
SN_CPU_KERNEL void grad_input(const T* __restrict x, const T* __restrict dy, T* __restrict dx, int64_t n,
                              const float* __restrict a, const float* __restrict b, const float* __restrict d,
                              const float* __restrict scale, const float* __restrict shift, bool relu) {
  if (relu) {
    for (int64_t i = 0; i < n; i++) store(dx, i, a[i] * masked(x, dy, i, scale, shift) + b[i] * load(x, i) + d[i]);
  } else {
    for (int64_t i = 0; i < n; i++) store(dx, i, a[i] * load(dy, i) + b[i] * load(x, i) + d[i]);
  }
}

// ---- Tiles, chunks and reductions -----------------------------------------------------------

// Rows go through the flat kernels a tile at a time: about 1024 elements, whole rows.
struct Tiling {
  int64_t C, rows, len;
  explicit Tiling(int64_t channels)
      : C(channels), rows(std::max<int64_t>(1, 1024 / channels)), len(rows * channels) {}

  // A per-channel vector repeated once per row of a tile.
  std::vector<float> repeat(const float* per_channel) const {
    std::vector<float> out(static_cast<size_t>(len));
    for (int64_t i = 0; i < len; i++) out[i] = per_channel[i % C];
    return out;
  }
};

// The two channel halves of a tile's rows as separate channels_last tensors (the branches' bn1
// after their merged conv1): scatter writes a tile laid out as whole rows of C channels into
// them, gather reads one back. Tiles are L1-sized, so the extra copy costs little next to the
// memory traffic it saves (no strided slices, no copies of whole tensors).
// dst row r = src row r for `rows` rows of `width` elements, rows `src_stride` / `dst_stride`
// elements apart.
template <typename T>
SN_INLINE void copy_rows(const T* __restrict src, int64_t src_stride, T* __restrict dst, int64_t dst_stride,
                         int64_t rows, int64_t width) {
  for (int64_t r = 0; r < rows; r++) {
    for (int64_t c = 0; c < width; c++) dst[r * dst_stride + c] = src[r * src_stride + c];
  }
}
SN_CPU_KERNEL void copy_rows_f32(const float* src, int64_t ss, float* dst, int64_t ds, int64_t rows, int64_t width) {
  copy_rows(src, ss, dst, ds, rows, width);
}
SN_CPU_KERNEL void copy_rows_bf16(const uint16_t* src, int64_t ss, uint16_t* dst, int64_t ds, int64_t rows,
                                  int64_t width) {
  copy_rows(src, ss, dst, ds, rows, width);
}
void rows_copy(const float* src, int64_t ss, float* dst, int64_t ds, int64_t rows, int64_t width) {
  copy_rows_f32(src, ss, dst, ds, rows, width);
}
void rows_copy(const uint16_t* src, int64_t ss, uint16_t* dst, int64_t ds, int64_t rows, int64_t width) {
  copy_rows_bf16(src, ss, dst, ds, rows, width);
}

template <typename T>
struct Halves {
  T* first;
  T* second;
  int64_t half;  // C/2

  void scatter(const T* tile, int64_t first_element, int64_t n) const {
    int64_t row0 = first_element / (2 * half), rows = n / (2 * half);
    rows_copy(tile, 2 * half, first + row0 * half, half, rows, half);
    rows_copy(tile + half, 2 * half, second + row0 * half, half, rows, half);
  }

  const T* gather(int64_t first_element, int64_t n, T* tile) const {
    int64_t row0 = first_element / (2 * half), rows = n / (2 * half);
    rows_copy(first + row0 * half, half, tile, 2 * half, rows, half);
    rows_copy(second + row0 * half, half, tile + half, 2 * half, rows, half);
    return tile;
  }
};

// A tile-sized scratch buffer per thread.
template <typename T>
T* scratch(int64_t len) {
  thread_local std::vector<T> buffer;
  if (static_cast<int64_t>(buffer.size()) < len) buffer.resize(static_cast<size_t>(len));
  return buffer.data();
}

// Rows are cut into a fixed number of chunks that depends only on the row count, so sums (and so
// every result) are the same for any thread count.
int64_t chunk_count(int64_t rows) { return std::max<int64_t>(1, std::min<int64_t>(64, rows / 1024)); }

// Per-channel sums of `arrays` quantities over all M rows. `tile(first_element, n, acc)` adds one
// tile's values into acc (arrays x len floats). Each float lane takes at most 16 tiles before it
// is added into double, so the sums stay exact enough for millions of rows while the kernels
// run at float vector width. Returns arrays x C doubles.
template <typename Tile>
std::vector<double> reduce_rows(int64_t M, const Tiling& tiling, int64_t arrays, Tile tile) {
  const int64_t C = tiling.C, len = tiling.len, chunks = chunk_count(M);
  std::vector<double> partial(static_cast<size_t>(chunks * arrays * C), 0.0);
  at::parallel_for(0, chunks, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> acc(static_cast<size_t>(arrays * len));
    std::vector<double> wide(static_cast<size_t>(arrays * len));
    for (int64_t k = begin; k < end; k++) {
      std::fill(acc.begin(), acc.end(), 0.0f);
      std::fill(wide.begin(), wide.end(), 0.0);
      int64_t r1 = M * (k + 1) / chunks, tiles = 0;
      for (int64_t r = M * k / chunks; r < r1; r += tiling.rows) {
        tile(r * C, std::min(tiling.rows, r1 - r) * C, acc.data());
        if (++tiles % 16 == 0 || r + tiling.rows >= r1) {
          for (size_t i = 0; i < acc.size(); i++) wide[i] += acc[i];
          std::fill(acc.begin(), acc.end(), 0.0f);
        }
      }
      double* out = partial.data() + k * arrays * C;
      for (int64_t a = 0; a < arrays; a++) {
        for (int64_t i = 0; i < len; i++) out[a * C + i % C] += wide[a * len + i];
      }
    }
  });
  std::vector<double> total(static_cast<size_t>(arrays * C), 0.0);
  for (int64_t k = 0; k < chunks; k++) {
    for (int64_t i = 0; i < arrays * C; i++) total[i] += partial[k * arrays * C + i];
  }
  return total;
}

// Runs `tile(first_element, n)` over all rows, a tile at a time, in parallel.
template <typename Tile>
void for_tiles(int64_t M, const Tiling& tiling, Tile tile) {
  int64_t grain = std::max<int64_t>(1, 32768 / tiling.C);
  at::parallel_for(0, M, grain, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; r += tiling.rows) tile(r * tiling.C, std::min(tiling.rows, end - r) * tiling.C);
  });
}

// Returns y, or with `split` its two channel halves.
template <typename T>
std::vector<at::Tensor> forward_impl(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                                     at::Tensor& running_mean, at::Tensor& running_var, double momentum, double eps,
                                     bool relu, bool split, at::Tensor& mean_out, at::Tensor& invstd_out) {
  const int64_t C = x.size(1), M = x.numel() / C;
  const Tiling tiling(C);
  const T* px = data<T>(x);
  std::vector<double> sum = reduce_rows(M, tiling, 1, [&](int64_t at, int64_t n, float* acc) {
    add_values(px + at, n, acc);
  });
  std::vector<float> mean_f(C);
  for (int64_t c = 0; c < C; c++) mean_f[c] = static_cast<float>(sum[c] / M);
  // Two passes (mean, then squared deviations) rather than E[x^2] - E[x]^2, which cancels.
  std::vector<float> mean_rep = tiling.repeat(mean_f.data());
  std::vector<double> sq = reduce_rows(M, tiling, 1, [&](int64_t at, int64_t n, float* acc) {
    add_squared_deviations(px + at, n, mean_rep.data(), acc);
  });
  sn::bn::batch_statistics(sum, sq, M, eps, momentum, running_mean, running_var, mean_out, invstd_out);
  std::vector<float> scale, shift;
  sn::bn::affine_coefficients(weight, bias, mean_out, invstd_out, scale, shift);
  std::vector<float> scale_rep = tiling.repeat(scale.data()), shift_rep = tiling.repeat(shift.data());
  if (!split) {
    at::Tensor y = at::empty_like(x, at::MemoryFormat::ChannelsLast);
    T* py = data<T>(y);
    for_tiles(M, tiling, [&](int64_t at, int64_t n) {
      affine(px + at, py + at, n, scale_rep.data(), shift_rep.data(), relu);
    });
    return {y};
  }
  auto half_shape = x.sizes().vec();
  half_shape[1] = C / 2;
  at::Tensor y1 = at::empty(half_shape, x.options().memory_format(at::MemoryFormat::ChannelsLast));
  at::Tensor y2 = at::empty_like(y1);
  Halves<T> halves{data<T>(y1), data<T>(y2), C / 2};
  for_tiles(M, tiling, [&](int64_t at, int64_t n) {
    T* tile = scratch<T>(tiling.len);
    affine(px + at, tile, n, scale_rep.data(), shift_rep.data(), relu);
    halves.scatter(tile, at, n);
  });
  return {y1, y2};
}

// Returns {dx, dweight, dbias}. dy2 defined: dy and dy2 are the gradients of the two halves.
template <typename T>
std::vector<at::Tensor> backward_impl(const at::Tensor& x, const at::Tensor& dy, const at::Tensor& dy2,
                                      const at::Tensor& weight, const at::Tensor& bias, const at::Tensor& mean_t,
                                      const at::Tensor& invstd_t, bool relu) {
  const int64_t C = x.size(1), M = x.numel() / C;
  const Tiling tiling(C);
  std::vector<float> scale, shift;
  sn::bn::affine_coefficients(weight, bias, mean_t, invstd_t, scale, shift);
  const float* mean = mean_t.data_ptr<float>();
  std::vector<float> mean_rep = tiling.repeat(mean), scale_rep = tiling.repeat(scale.data()),
                     shift_rep = tiling.repeat(shift.data());
  const T* px = data<T>(x);
  const T* pg = data<T>(dy);
  const bool split = dy2.defined();
  Halves<T> halves{split ? data<T>(dy) : nullptr, split ? data<T>(dy2) : nullptr, C / 2};
  auto grad_tile = [&](int64_t at, int64_t n) {
    return split ? halves.gather(at, n, scratch<T>(tiling.len)) : pg + at;
  };
  std::vector<double> sums = reduce_rows(M, tiling, 2, [&](int64_t at, int64_t n, float* acc) {
    add_grad_sums(px + at, grad_tile(at, n), n, mean_rep.data(), scale_rep.data(), shift_rep.data(), relu, acc,
                  acc + tiling.len);
  });
  sn::bn::InputGradient grad = sn::bn::input_gradient(sums.data(), sums.data() + C, weight, mean_t, invstd_t, M);
  std::vector<float> a_rep = tiling.repeat(grad.a.data()), b_rep = tiling.repeat(grad.b.data()),
                     d_rep = tiling.repeat(grad.d.data());
  at::Tensor dx = at::empty_like(x, at::MemoryFormat::ChannelsLast);
  T* pdx = data<T>(dx);
  for_tiles(M, tiling, [&](int64_t at, int64_t n) {
    grad_input(px + at, grad_tile(at, n), pdx + at, n, a_rep.data(), b_rep.data(), d_rep.data(),
               scale_rep.data(), shift_rep.data(), relu);
  });
  return {dx, grad.dweight, grad.dbias};
}

// With `split`, the output is the two channel halves as separate tensors (see sn_batch_norm_pair).
struct ChannelsLastBatchNorm : public torch::autograd::Function<ChannelsLastBatchNorm> {
  static variable_list forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight,
                               const at::Tensor& bias, at::Tensor running_mean, at::Tensor running_var,
                               double momentum, double eps, bool relu, bool split) {
    RECORD_FUNCTION("shakenet::batch_norm_forward", c10::ArrayRef<const c10::IValue>{});  // named in profiles
    at::Tensor mean, invstd;
    variable_list y = x.scalar_type() == at::kFloat
                          ? forward_impl<float>(x, weight, bias, running_mean, running_var, momentum, eps, relu,
                                                split, mean, invstd)
                          : forward_impl<uint16_t>(x, weight, bias, running_mean, running_var, momentum, eps, relu,
                                                   split, mean, invstd);
    ctx->save_for_backward({x, weight, bias, mean, invstd});
    ctx->saved_data["relu"] = relu;
    ctx->set_materialize_grads(false);
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    variable_list saved = ctx->get_saved_variables();
    const at::Tensor& x = saved[0];
    bool any = false;
    for (const auto& g : grad_outputs) any = any || g.defined();
    if (!any) return variable_list(9);
    at::Tensor dy, dy2;
    if (grad_outputs.size() == 1) {
      dy = sn::cpu::matching(grad_outputs[0], x);
    } else {  // a half nothing depended on has no gradient: zeros
      auto half = [&](size_t i, const at::Tensor& other) {
        const at::Tensor& g = grad_outputs[i];
        return g.defined() ? g.contiguous(at::MemoryFormat::ChannelsLast)
                           : at::zeros_like(other, at::MemoryFormat::ChannelsLast);
      };
      at::Tensor like = grad_outputs[0].defined() ? grad_outputs[0] : grad_outputs[1];
      dy = half(0, like).to(x.scalar_type());
      dy2 = half(1, like).to(x.scalar_type());
    }
    bool relu = ctx->saved_data["relu"].toBool();
    std::vector<at::Tensor> g = x.scalar_type() == at::kFloat
                                    ? backward_impl<float>(x, dy, dy2, saved[1], saved[2], saved[3], saved[4], relu)
                                    : backward_impl<uint16_t>(x, dy, dy2, saved[1], saved[2], saved[3], saved[4], relu);
    return {g[0], g[1], g[2], at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

// The hand-written path covers CPU training on 4-D channels_last float32/bfloat16 activations
// with float32 affine parameters and running statistics; anything else goes to libtorch.
bool use_channels_last_kernel(const at::Tensor& x, const c10::optional<at::Tensor>& weight,
                              const c10::optional<at::Tensor>& bias, const c10::optional<at::Tensor>& running_mean,
                              const c10::optional<at::Tensor>& running_var, bool training) {
  if (!training || !x.device().is_cpu() || x.dim() != 4) return false;
  if (x.scalar_type() != at::kFloat && x.scalar_type() != at::kBFloat16) return false;
  if (!x.is_contiguous(at::MemoryFormat::ChannelsLast) || x.numel() == 0) return false;
  int64_t C = x.size(1);
  if (x.numel() / C < 2) return false;  // libtorch reports the "more than 1 value per channel" error
  return sn::bn::is_float32_vector(weight, C) && sn::bn::is_float32_vector(bias, C) &&
         sn::bn::is_float32_vector(running_mean, C) && sn::bn::is_float32_vector(running_var, C);
}

}  // namespace

// By a kernel where one applies, else by libtorch with an in-place ReLU (batch norm's backward
// needs its input, not its output).

variable_list sn::normalize(const at::Tensor& input, const c10::optional<at::Tensor>& w,
                            const c10::optional<at::Tensor>& b, const c10::optional<at::Tensor>& rm,
                            const c10::optional<at::Tensor>& rv, bool training, bool relu, double momentum, double eps,
                            bool split, bool blocked) {
  variable_list grouped;
  if (sn::grouped_batch_norm(input, w, b, rm, rv, training, relu, momentum, eps, split, blocked, grouped)) {
    return grouped;
  }
  const at::Tensor x = blocked ? sn::blocked::to_standard(input) : input;
  if (use_channels_last_kernel(x, w, b, rm, rv, training)) {
    return ChannelsLastBatchNorm::apply(x, *w, *b, *rm, *rv, momentum, eps, relu, split);
  }
  at::Tensor y = at::batch_norm(x, w, b, rm, rv, training, momentum, eps, /*cudnn_enabled=*/true);
  if (relu) at::relu_(y);
  if (!split) return {y};
  auto format = x.is_contiguous(at::MemoryFormat::ChannelsLast) ? at::MemoryFormat::ChannelsLast
                                                                 : at::MemoryFormat::Contiguous;
  int64_t half = x.size(1) / 2;
  return {y.slice(1, 0, half).contiguous(format), y.slice(1, half).contiguous(format)};
}

std::vector<at::Tensor> sn::batch_norm_relu_pair(const at::Tensor& x, const BatchNormTensors& first,
                                                 const BatchNormTensors& second, double momentum, double eps,
                                                 bool blocked) {
  const int64_t half = (sn::blocked::is_blocked(x) ? sn::blocked::nchw(x)[1] : x.size(1)) / 2;
  // Parameters and statistics of the two halves side by side: the kernel sees one batch norm.
  at::Tensor w = at::cat({first.weight, second.weight}), b = at::cat({first.bias, second.bias});
  at::Tensor rm = at::cat({first.running_mean, second.running_mean}).detach();
  at::Tensor rv = at::cat({first.running_var, second.running_var}).detach();
  variable_list y = sn::normalize(x, w, b, rm, rv, true, true, momentum, eps, true, blocked);
  at::NoGradGuard no_grad;  // the updated statistics back into each half's own buffers
  first.running_mean.copy_(rm.slice(0, 0, half));
  second.running_mean.copy_(rm.slice(0, half));
  first.running_var.copy_(rv.slice(0, 0, half));
  second.running_var.copy_(rv.slice(0, half));
  return y;
}

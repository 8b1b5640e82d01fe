// Batch normalization, optionally followed by ReLU, for training on the CPU with channels_last
// tensors (float32 or bfloat16 activations, float32 parameters): one custom autograd function
// over hand-written loops. libtorch 1.13's CPU backward for this case takes as long as ~14
// copies of the tensor; these loops make three passes forward (mean, variance, normalize) and
// two backward, with the ReLU folded into them. Everything else (CUDA, other layouts and
// dtypes, evaluation) goes to at::batch_norm, with an in-place ReLU after it.
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

#include "cpu_kernels.hpp"
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
SN_INLINE void add_values(const T* __restrict x, int64_t n, float* __restrict acc) {
  for (int64_t i = 0; i < n; i++) acc[i] += load(x, i);
}

template <typename T>
SN_INLINE void add_squared_deviations(const T* __restrict x, int64_t n, const float* __restrict mean,
                                      float* __restrict acc) {
  for (int64_t i = 0; i < n; i++) {
    float d = load(x, i) - mean[i];
    acc[i] += d * d;
  }
}

// y = x*scale + shift, then ReLU when asked.
template <typename T>
SN_INLINE void affine(const T* __restrict x, T* __restrict y, int64_t n, const float* __restrict scale,
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
SN_INLINE void add_grad_sums(const T* __restrict x, const T* __restrict dy, int64_t n, const float* __restrict mean,
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
SN_INLINE void grad_input(const T* __restrict x, const T* __restrict dy, T* __restrict dx, int64_t n,
                          const float* __restrict a, const float* __restrict b, const float* __restrict d,
                          const float* __restrict scale, const float* __restrict shift, bool relu) {
  if (relu) {
    for (int64_t i = 0; i < n; i++) store(dx, i, a[i] * masked(x, dy, i, scale, shift) + b[i] * load(x, i) + d[i]);
  } else {
    for (int64_t i = 0; i < n; i++) store(dx, i, a[i] * load(dy, i) + b[i] * load(x, i) + d[i]);
  }
}

// The multi-versioned entry points, one set per storage type, gathered in Kernels<T>.
template <typename T>
struct Kernels;

#define SN_DEFINE_KERNELS(T, suffix)                                                                          \
  SN_CPU_KERNEL void add_values_##suffix(const T* x, int64_t n, float* acc) { add_values(x, n, acc); }       \
  SN_CPU_KERNEL void add_squared_deviations_##suffix(const T* x, int64_t n, const float* mean, float* acc) { \
    add_squared_deviations(x, n, mean, acc);                                                                \
  }                                                                                                         \
  SN_CPU_KERNEL void affine_##suffix(const T* x, T* y, int64_t n, const float* scale, const float* shift,    \
                                     bool relu) {                                                           \
    affine(x, y, n, scale, shift, relu);                                                                    \
  }                                                                                                         \
  SN_CPU_KERNEL void add_grad_sums_##suffix(const T* x, const T* dy, int64_t n, const float* mean,           \
                                            const float* scale, const float* shift, bool relu, float* acc_g, \
                                            float* acc_gx) {                                                \
    add_grad_sums(x, dy, n, mean, scale, shift, relu, acc_g, acc_gx);                                       \
  }                                                                                                         \
  SN_CPU_KERNEL void grad_input_##suffix(const T* x, const T* dy, T* dx, int64_t n, const float* a,          \
                                         const float* b, const float* d, const float* scale,                \
                                         const float* shift, bool relu) {                                   \
    grad_input(x, dy, dx, n, a, b, d, scale, shift, relu);                                                  \
  }                                                                                                         \
  template <>                                                                                               \
  struct Kernels<T> {                                                                                       \
    static constexpr auto add_values = add_values_##suffix;                                                 \
    static constexpr auto add_squared_deviations = add_squared_deviations_##suffix;                         \
    static constexpr auto affine = affine_##suffix;                                                         \
    static constexpr auto add_grad_sums = add_grad_sums_##suffix;                                           \
    static constexpr auto grad_input = grad_input_##suffix;                                                 \
  };

SN_DEFINE_KERNELS(float, f32)
SN_DEFINE_KERNELS(uint16_t, bf16)
#undef SN_DEFINE_KERNELS

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

// Per-channel scale and shift of the normalization: y = x*scale + shift.
void affine_coefficients(const at::Tensor& weight, const at::Tensor& bias, const at::Tensor& mean,
                         const at::Tensor& invstd, std::vector<float>& scale, std::vector<float>& shift) {
  int64_t C = mean.numel();
  scale.resize(C);
  shift.resize(C);
  const float* w = weight.data_ptr<float>();
  const float* b = bias.data_ptr<float>();
  const float* m = mean.data_ptr<float>();
  const float* s = invstd.data_ptr<float>();
  for (int64_t c = 0; c < C; c++) {
    scale[c] = w[c] * s[c];
    shift[c] = b[c] - m[c] * scale[c];
  }
}

template <typename T>
at::Tensor forward_impl(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, at::Tensor& running_mean,
                        at::Tensor& running_var, double momentum, double eps, bool relu, at::Tensor& mean_out,
                        at::Tensor& invstd_out) {
  using K = Kernels<T>;
  const int64_t C = x.size(1), M = x.numel() / C;
  const Tiling tiling(C);
  const T* px = data<T>(x);
  std::vector<double> sum = reduce_rows(M, tiling, 1, [&](int64_t at, int64_t n, float* acc) {
    K::add_values(px + at, n, acc);
  });
  mean_out = at::empty({C}, x.options().dtype(at::kFloat));
  float* mean = mean_out.data_ptr<float>();
  for (int64_t c = 0; c < C; c++) mean[c] = static_cast<float>(sum[c] / M);
  // Two passes (mean, then squared deviations) rather than E[x^2] - E[x]^2, which cancels.
  std::vector<float> mean_rep = tiling.repeat(mean);
  std::vector<double> sq = reduce_rows(M, tiling, 1, [&](int64_t at, int64_t n, float* acc) {
    K::add_squared_deviations(px + at, n, mean_rep.data(), acc);
  });
  invstd_out = at::empty({C}, mean_out.options());
  float* invstd = invstd_out.data_ptr<float>();
  std::vector<double> unbiased(C);
  for (int64_t c = 0; c < C; c++) {
    invstd[c] = static_cast<float>(1.0 / std::sqrt(sq[c] / M + eps));
    unbiased[c] = sq[c] / (M - 1);
  }
  {
    // PyTorch's convention: new = (1 - momentum)*old + momentum*batch, with the unbiased variance.
    at::NoGradGuard no_grad;
    running_mean.mul_(1 - momentum).add_(mean_out, momentum);
    at::Tensor batch_var = at::from_blob(unbiased.data(), {C}, at::kDouble).to(running_var.scalar_type());
    running_var.mul_(1 - momentum).add_(batch_var, momentum);
  }
  std::vector<float> scale, shift;
  affine_coefficients(weight, bias, mean_out, invstd_out, scale, shift);
  std::vector<float> scale_rep = tiling.repeat(scale.data()), shift_rep = tiling.repeat(shift.data());
  at::Tensor y = at::empty_like(x, at::MemoryFormat::ChannelsLast);
  T* py = data<T>(y);
  for_tiles(M, tiling, [&](int64_t at, int64_t n) {
    K::affine(px + at, py + at, n, scale_rep.data(), shift_rep.data(), relu);
  });
  return y;
}

// Returns {dx, dweight, dbias}.
template <typename T>
std::vector<at::Tensor> backward_impl(const at::Tensor& x, const at::Tensor& dy, const at::Tensor& weight,
                                      const at::Tensor& bias, const at::Tensor& mean_t, const at::Tensor& invstd_t,
                                      bool relu) {
  using K = Kernels<T>;
  const int64_t C = x.size(1), M = x.numel() / C;
  const Tiling tiling(C);
  std::vector<float> scale, shift;
  affine_coefficients(weight, bias, mean_t, invstd_t, scale, shift);
  const float* mean = mean_t.data_ptr<float>();
  const float* invstd = invstd_t.data_ptr<float>();
  const float* w = weight.data_ptr<float>();
  std::vector<float> mean_rep = tiling.repeat(mean), scale_rep = tiling.repeat(scale.data()),
                     shift_rep = tiling.repeat(shift.data());
  const T* px = data<T>(x);
  const T* pg = data<T>(dy);
  std::vector<double> sums = reduce_rows(M, tiling, 2, [&](int64_t at, int64_t n, float* acc) {
    K::add_grad_sums(px + at, pg + at, n, mean_rep.data(), scale_rep.data(), shift_rep.data(), relu, acc,
                     acc + tiling.len);
  });
  // With xhat = (x - mean)*invstd:  dx = w*invstd*(g - mean(g) - xhat*mean(g*xhat))
  //   = a*g + b*x + d,  a = w*invstd,  b = -a*invstd^2*sum_gx/M,  d = -b*mean - a*sum_g/M.
  std::vector<float> a(C), b(C), d(C);
  at::Tensor dweight = at::empty({C}, weight.options());
  at::Tensor dbias = at::empty({C}, bias.options());
  float* pdw = dweight.data_ptr<float>();
  float* pdb = dbias.data_ptr<float>();
  for (int64_t c = 0; c < C; c++) {
    double sum_g = sums[c], sum_gx = sums[C + c], s = invstd[c];
    double ac = w[c] * s, bc = -ac * s * s * sum_gx / M;
    a[c] = static_cast<float>(ac);
    b[c] = static_cast<float>(bc);
    d[c] = static_cast<float>(-bc * mean[c] - ac * sum_g / M);
    pdw[c] = static_cast<float>(sum_gx * s);
    pdb[c] = static_cast<float>(sum_g);
  }
  std::vector<float> a_rep = tiling.repeat(a.data()), b_rep = tiling.repeat(b.data()), d_rep = tiling.repeat(d.data());
  at::Tensor dx = at::empty_like(x, at::MemoryFormat::ChannelsLast);
  T* pdx = data<T>(dx);
  for_tiles(M, tiling, [&](int64_t at, int64_t n) {
    K::grad_input(px + at, pg + at, pdx + at, n, a_rep.data(), b_rep.data(), d_rep.data(), scale_rep.data(),
                  shift_rep.data(), relu);
  });
  return {dx, dweight, dbias};
}

struct ChannelsLastBatchNorm : public torch::autograd::Function<ChannelsLastBatchNorm> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight,
                            const at::Tensor& bias, at::Tensor running_mean, at::Tensor running_var, double momentum,
                            double eps, bool relu) {
    RECORD_FUNCTION("shakenet::batch_norm_forward", c10::ArrayRef<const c10::IValue>{});  // named in profiles
    at::Tensor mean, invstd;
    at::Tensor y = x.scalar_type() == at::kFloat
                       ? forward_impl<float>(x, weight, bias, running_mean, running_var, momentum, eps, relu, mean, invstd)
                       : forward_impl<uint16_t>(x, weight, bias, running_mean, running_var, momentum, eps, relu, mean,
                                                invstd);
    ctx->save_for_backward({x, weight, bias, mean, invstd});
    ctx->saved_data["relu"] = relu;
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    variable_list saved = ctx->get_saved_variables();
    const at::Tensor& x = saved[0];
    if (!grad_outputs[0].defined()) return variable_list(8);
    at::Tensor dy = sn::cpu::matching(grad_outputs[0], x);
    bool relu = ctx->saved_data["relu"].toBool();
    std::vector<at::Tensor> g = x.scalar_type() == at::kFloat
                                    ? backward_impl<float>(x, dy, saved[1], saved[2], saved[3], saved[4], relu)
                                    : backward_impl<uint16_t>(x, dy, saved[1], saved[2], saved[3], saved[4], relu);
    return {g[0], g[1], g[2], at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

bool is_float32_vector(const c10::optional<at::Tensor>& t, int64_t C) {
  return t.has_value() && t->defined() && t->scalar_type() == at::kFloat && t->dim() == 1 && t->numel() == C &&
         t->is_contiguous() && t->device().is_cpu();
}

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
  return is_float32_vector(weight, C) && is_float32_vector(bias, C) && is_float32_vector(running_mean, C) &&
         is_float32_vector(running_var, C);
}

}  // namespace

extern "C" int32_t sn_batch_norm(const sn_tensor* input, const sn_tensor* weight, const sn_tensor* bias,
                                 sn_tensor* running_mean, sn_tensor* running_var, int32_t training, int32_t relu,
                                 double momentum, double eps, sn_tensor** out) {
  SN_GUARD({
    sn::out_arg(out, "out");
    const at::Tensor& x = sn::ref(input, "input");
    if (x.dim() < 2) throw sn::InvalidArgument("input must be (N,C,...), got shape " + c10::str(x.sizes()));
    if (!training && (running_mean == nullptr || running_var == nullptr)) {
      throw sn::InvalidArgument("evaluation mode needs running_mean and running_var");
    }
    c10::optional<at::Tensor> w = sn::optional_ref(weight), b = sn::optional_ref(bias);
    c10::optional<at::Tensor> rm = sn::optional_ref(running_mean), rv = sn::optional_ref(running_var);
    if (use_channels_last_kernel(x, w, b, rm, rv, training != 0)) {
      sn::give(ChannelsLastBatchNorm::apply(x, *w, *b, *rm, *rv, momentum, eps, relu != 0), out);
      return;
    }
    at::Tensor y = at::batch_norm(x, w, b, rm, rv, training != 0, momentum, eps, /*cudnn_enabled=*/true);
    // In place: batch norm's backward needs its input, not its output.
    if (relu) at::relu_(y);
    sn::give(std::move(y), out);
  });
}

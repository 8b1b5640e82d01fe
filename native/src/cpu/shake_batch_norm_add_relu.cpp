// The end of a shake block with both branches' last batch norms folded in, for CPU training
// (float32, or bfloat16 under autocast): out = residual + alpha*bn_a(a) + (1-alpha)*bn_b(b) and out_relu = relu(out), where
// bn_a and bn_b are training-mode batch norms of the branches' last convolutions a and b.
//
// Why: run apart, each batch norm writes its result and the block end reads both back, forward;
// backward, the block end writes a gradient for each branch and each batch norm reads it twice.
// Here those four tensors are never made. Forward reads a and b twice (their statistics, then
// the combination); backward reads them twice (gradient sums, then input gradients), with the
// residual's gradient t = grad(out) + grad(out_relu)*(out > 0) written once and read back.
//
// a, b and the residual, all of one dtype, may be float32 blocked (blocked_layout.hpp) or
// float32 or bfloat16 channels_last; float32 results are blocked where the caller asks (the next
// block's convolutions read them so), else channels_last. Other cases (other dtypes or devices,
// mixed dtypes) run the two ops apart.
#include <ATen/record_function.h>
#include <torch/csrc/autograd/custom_function.h>

#include <vector>

#include "batch_norm_math.hpp"
#include "channel_groups.hpp"
#include "cpu_kernels.hpp"
#include "block_end.hpp"
#include "shim.hpp"

namespace {

using sn::cpu::load;
using sn::cpu::store;
using sn::groups::Groups;
using sn::groups::groups_of;
using sn::groups::kBlock;
using sn::groups::relu_of;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// ---- Kernels over one unit: P pixels of 16 channels, `s*` values from one pixel to the next ---
// Written once for both storage types (T: float, or uint16_t for bfloat16; arithmetic in float),
// instantiated per type below.

// out = xa*ca + xb*cb + c0 + r, out_relu = relu(out): the branch coefficients fold alpha into
// each batch norm's scale, and both shifts into c0.
template <typename T>
SN_CPU_KERNEL void combine_loop(const T* __restrict xa, int64_t sa, const T* __restrict xb, int64_t sb,
                                const T* __restrict r, int64_t sr, T* __restrict out, T* __restrict out_relu, int64_t s,
                                int64_t P, const float* __restrict ca, const float* __restrict cb,
                                const float* __restrict c0) {
  for (int64_t p = 0; p < P; p++) {
    for (int j = 0; j < kBlock; j++) {
      float v = load(xa, p * sa + j) * ca[j] + load(xb, p * sb + j) * cb[j] + c0[j] + load(r, p * sr + j);
      store(out, p * s + j, v);
      store(out_relu, p * s + j, relu_of(v));
    }
  }
}

// t = g_out + g_relu*(out_relu > 0), written out in the residual's layout (stride st); and the
// sums of t and t*(x - mean) for each branch (the batch norms' gradient sums before the shake
// coefficient). Either gradient may be missing (nullptr); both are in the outputs' layout (s).
template <typename T, bool kOut, bool kRelu>
SN_INLINE void grad_sums_loop(const T* __restrict g_out, const T* __restrict g_relu, const T* __restrict relu,
                              int64_t s, T* __restrict t, int64_t st, const T* __restrict xa, int64_t sa,
                              const T* __restrict xb, int64_t sb, int64_t P, const float* __restrict mean_a,
                              const float* __restrict mean_b, float* __restrict acc) {
  float* sum_t = acc;
  float* sum_ta = acc + kBlock;
  float* sum_tb = acc + 2 * kBlock;
  for (int64_t p = 0; p < P; p++) {
    for (int j = 0; j < kBlock; j++) {
      int64_t i = p * s + j;
      float v = (kOut ? load(g_out, i) : 0.0f) + (kRelu && load(relu, i) > 0.0f ? load(g_relu, i) : 0.0f);
      store(t, p * st + j, v);
      sum_t[j] += v;
      sum_ta[j] += v * (load(xa, p * sa + j) - mean_a[j]);
      sum_tb[j] += v * (load(xb, p * sb + j) - mean_b[j]);
    }
  }
}

template <typename T>
SN_CPU_KERNEL void grad_sums(const T* g_out, const T* g_relu, const T* relu, int64_t s, T* t, int64_t st, const T* xa,
                             int64_t sa, const T* xb, int64_t sb, int64_t P, const float* mean_a, const float* mean_b,
                             double* sums) {
  float acc[3 * kBlock] = {};
  if (g_out && g_relu) {
    grad_sums_loop<T, true, true>(g_out, g_relu, relu, s, t, st, xa, sa, xb, sb, P, mean_a, mean_b, acc);
  } else if (g_out) {
    grad_sums_loop<T, true, false>(g_out, g_relu, relu, s, t, st, xa, sa, xb, sb, P, mean_a, mean_b, acc);
  } else {
    grad_sums_loop<T, false, true>(g_out, g_relu, relu, s, t, st, xa, sa, xb, sb, P, mean_a, mean_b, acc);
  }
  for (int i = 0; i < 3 * kBlock; i++) sums[i] = acc[i];
}

// dxa = ka*t + ba*xa + da and dxb = kb*t + bb*xb + db (sn::bn::input_gradient, with the shake
// coefficient folded into ka and kb).
template <typename T>
SN_CPU_KERNEL void grad_input_loop(const T* __restrict t, int64_t st, const T* __restrict xa, int64_t sa,
                                   const T* __restrict xb, int64_t sb, T* __restrict dxa, T* __restrict dxb, int64_t P,
                                   const float* __restrict ka, const float* __restrict ba, const float* __restrict da,
                                   const float* __restrict kb, const float* __restrict bb, const float* __restrict db) {
  for (int64_t p = 0; p < P; p++) {
    for (int j = 0; j < kBlock; j++) {
      float tv = load(t, p * st + j);
      store(dxa, p * sa + j, ka[j] * tv + ba[j] * load(xa, p * sa + j) + da[j]);
      store(dxb, p * sb + j, kb[j] * tv + bb[j] * load(xb, p * sb + j) + db[j]);
    }
  }
}

// ---- The autograd function ---------------------------------------------------------------------

// One branch's batch norm: its parameters and, once computed, its batch statistics.
struct Norm {
  at::Tensor weight, bias, mean, invstd;
  std::vector<float> scale, shift;  // y = x*scale + shift

  Norm(at::Tensor w, at::Tensor b) : weight(std::move(w)), bias(std::move(b)) {}

  void compute(const at::Tensor& x, at::Tensor& running_mean, at::Tensor& running_var, double momentum, double eps) {
    std::vector<double> sum, squared_deviations;
    sn::groups::channel_moments(x, sum, squared_deviations);
    auto s = sn::blocked::nchw(x);
    sn::bn::batch_statistics(sum, squared_deviations, s[0] * s[2] * s[3], eps, momentum, running_mean, running_var,
                             mean, invstd);
    sn::bn::affine_coefficients(weight, bias, mean, invstd, scale, shift);
  }
};

struct ShakeBatchNormAddRelu : public torch::autograd::Function<ShakeBatchNormAddRelu> {
  static variable_list forward(AutogradContext* ctx, const at::Tensor& a, const at::Tensor& b, const at::Tensor& residual,
                               const at::Tensor& weight_a, const at::Tensor& bias_a, const at::Tensor& weight_b,
                               const at::Tensor& bias_b, at::Tensor running_mean_a, at::Tensor running_var_a,
                               at::Tensor running_mean_b, at::Tensor running_var_b, double momentum, double eps,
                               const at::Tensor& alpha, const at::Tensor& beta, bool blocked_out) {
    RECORD_FUNCTION("shakenet::shake_batch_norm_add_relu_forward", c10::ArrayRef<const c10::IValue>{});
    Norm na{weight_a, bias_a}, nb{weight_b, bias_b};
    na.compute(a, running_mean_a, running_var_a, momentum, eps);
    nb.compute(b, running_mean_b, running_var_b, momentum, eps);
    const auto s = sn::blocked::nchw(a);
    const int64_t N = s[0], C = s[1], P = s[2] * s[3], G = C / kBlock;
    const at::ScalarType dtype = a.scalar_type();
    at::Tensor out = sn::groups::empty_activation(s, blocked_out, dtype);
    at::Tensor out_relu = sn::groups::empty_activation(s, blocked_out, dtype);
    std::vector<float> coefficient = sn::per_image(alpha, N);
    sn::groups::with_storage(a, [&](auto type) {
      using T = decltype(type);
      const Groups<T> xa = groups_of<T>(a), xb = groups_of<T>(b), r = groups_of<T>(residual), o = groups_of<T>(out),
                      orelu = groups_of<T>(out_relu);
      sn::groups::for_units(N, G, P, [&](int64_t n, int64_t g) {
        float ca[kBlock], cb[kBlock], c0[kBlock], alpha_n = coefficient[n];
        for (int j = 0; j < kBlock; j++) {
          int64_t c = g * kBlock + j;
          ca[j] = alpha_n * na.scale[c];
          cb[j] = (1 - alpha_n) * nb.scale[c];
          c0[j] = alpha_n * na.shift[c] + (1 - alpha_n) * nb.shift[c];
        }
        combine_loop(xa.at(n, g), xa.pixel_stride, xb.at(n, g), xb.pixel_stride, r.at(n, g), r.pixel_stride,
                     o.at(n, g), orelu.at(n, g), o.pixel_stride, P, ca, cb, c0);
      });
    });
    ctx->saved_data["beta"] = beta;
    ctx->save_for_backward({a, b, out_relu, weight_a, bias_a, weight_b, bias_b, na.mean, na.invstd, nb.mean, nb.invstd});
    ctx->saved_data["residual_blocked"] = sn::blocked::is_blocked(residual);
    ctx->set_materialize_grads(false);  // an unused output's gradient stays undefined, not zeros
    return {out, out_relu};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    RECORD_FUNCTION("shakenet::shake_batch_norm_add_relu_backward", c10::ArrayRef<const c10::IValue>{});
    variable_list saved = ctx->get_saved_variables();
    const at::Tensor &a = saved[0], &b = saved[1], &out_relu = saved[2];
    variable_list result(16);
    if (!grads[0].defined() && !grads[1].defined()) return result;
    const at::ScalarType dtype = a.scalar_type();
    at::Tensor g_out = grads[0].defined() ? sn::groups::dense(grads[0], dtype) : at::Tensor();
    at::Tensor g_relu = grads[1].defined() ? sn::groups::dense(grads[1], dtype) : at::Tensor();
    const auto s = sn::blocked::nchw(a);
    const int64_t N = s[0], C = s[1], P = s[2] * s[3], G = C / kBlock;
    std::vector<float> beta = sn::per_image(ctx->saved_data["beta"].toTensor(), N);
    const float* mean_a = saved[7].data_ptr<float>();
    const float* mean_b = saved[9].data_ptr<float>();

    // Pass 1: t (in the residual's layout), and per unit the sums of t, t*(a - mean_a), t*(b - mean_b).
    at::Tensor t = sn::groups::empty_activation(s, ctx->saved_data["residual_blocked"].toBool(), dtype);
    std::vector<double> unit(static_cast<size_t>(N * G * 3 * kBlock));
    sn::groups::with_storage(a, [&](auto type) {
      using T = decltype(type);
      const Groups<T> xa = groups_of<T>(a), xb = groups_of<T>(b), relu = groups_of<T>(out_relu), tg = groups_of<T>(t),
                      gout = groups_of<T>(g_out), grelu = groups_of<T>(g_relu);
      sn::groups::for_units(N, G, P, [&](int64_t n, int64_t g) {
        grad_sums(g_out.defined() ? gout.at(n, g) : nullptr, g_relu.defined() ? grelu.at(n, g) : nullptr,
                  relu.at(n, g), relu.pixel_stride, tg.at(n, g), tg.pixel_stride, xa.at(n, g),
                  xa.pixel_stride, xb.at(n, g), xb.pixel_stride, P, mean_a + g * kBlock,
                  mean_b + g * kBlock, &unit[(n * G + g) * 3 * kBlock]);
      });
    });
    // The batch norms' own gradient sums: branch a's gradient is beta*t, branch b's (1-beta)*t.
    std::vector<double> per_image_a[2], per_image_b[2];
    for (auto* v : {&per_image_a[0], &per_image_a[1], &per_image_b[0], &per_image_b[1]}) v->resize(N * C);
    for (int64_t n = 0; n < N; n++) {
      for (int64_t g = 0; g < G; g++) {
        const double* u = &unit[(n * G + g) * 3 * kBlock];
        for (int j = 0; j < kBlock; j++) {
          size_t i = static_cast<size_t>(n * C + g * kBlock + j);
          per_image_a[0][i] = beta[n] * u[j];
          per_image_a[1][i] = beta[n] * u[kBlock + j];
          per_image_b[0][i] = (1.0 - beta[n]) * u[j];
          per_image_b[1][i] = (1.0 - beta[n]) * u[2 * kBlock + j];
        }
      }
    }
    auto total = [&](const std::vector<double>& v) { return sn::groups::sum_over_images(v, N, G); };
    std::vector<double> ga = total(per_image_a[0]), gxa = total(per_image_a[1]), gb = total(per_image_b[0]),
                        gxb = total(per_image_b[1]);
    sn::bn::InputGradient ia = sn::bn::input_gradient(ga.data(), gxa.data(), saved[3], saved[7], saved[8], N * P);
    sn::bn::InputGradient ib = sn::bn::input_gradient(gb.data(), gxb.data(), saved[5], saved[9], saved[10], N * P);

    // Pass 2: the input gradients, in a's and b's own layouts.
    at::Tensor dxa = sn::groups::empty_activation(s, sn::blocked::is_blocked(a), dtype);
    at::Tensor dxb = sn::groups::empty_activation(s, sn::blocked::is_blocked(b), dtype);
    sn::groups::with_storage(a, [&](auto type) {
      using T = decltype(type);
      const Groups<T> xa = groups_of<T>(a), xb = groups_of<T>(b), tg = groups_of<T>(t), da = groups_of<T>(dxa),
                      db = groups_of<T>(dxb);
      sn::groups::for_units(N, G, P, [&](int64_t n, int64_t g) {
        float ka[kBlock], kb[kBlock];
        const int64_t c = g * kBlock;
        for (int j = 0; j < kBlock; j++) {
          ka[j] = ia.a[c + j] * beta[n];
          kb[j] = ib.a[c + j] * (1 - beta[n]);
        }
        grad_input_loop(tg.at(n, g), tg.pixel_stride, xa.at(n, g), xa.pixel_stride, xb.at(n, g),
                        xb.pixel_stride, da.at(n, g), db.at(n, g), P, ka, &ia.b[c], &ia.d[c], kb, &ib.b[c],
                        &ib.d[c]);
      });
    });
    result[0] = dxa;
    result[1] = dxb;
    result[2] = t;
    result[3] = ia.dweight;
    result[4] = ia.dbias;
    result[5] = ib.dweight;
    result[6] = ib.dbias;
    return result;
  }
};

bool fused_kernel_applies(const at::Tensor& a, const at::Tensor& b, const at::Tensor& residual,
                          std::initializer_list<const at::Tensor*> vectors) {
  if (!sn::groups::is_grouped(a) || !sn::groups::is_grouped(b) || !sn::groups::is_grouped(residual)) return false;
  if (b.scalar_type() != a.scalar_type() || residual.scalar_type() != a.scalar_type()) return false;
  if (sn::blocked::nchw(a) != sn::blocked::nchw(b) || sn::blocked::nchw(a) != sn::blocked::nchw(residual)) return false;
  auto s = sn::blocked::nchw(a);
  if (s[0] * s[2] * s[3] < 2) return false;  // libtorch reports the "more than 1 value per channel" error
  for (const at::Tensor* v : vectors) {
    if (!sn::bn::is_float32_vector(*v, s[1])) return false;
  }
  return true;
}

}  // namespace

std::vector<at::Tensor> sn::shake_batch_norm_add_relu(const at::Tensor& a, const at::Tensor& b, const at::Tensor& residual,
                                                      const BatchNormTensors& norm_a, const BatchNormTensors& norm_b,
                                                      double momentum, double eps, const at::Tensor& alpha,
                                                      const at::Tensor& beta, bool blocked_out) {
  if (fused_kernel_applies(a, b, residual, {&norm_a.weight, &norm_a.bias, &norm_b.weight, &norm_b.bias,
                                            &norm_a.running_mean, &norm_a.running_var, &norm_b.running_mean,
                                            &norm_b.running_var})) {
    return ShakeBatchNormAddRelu::apply(a, b, residual, norm_a.weight, norm_a.bias, norm_b.weight, norm_b.bias,
                                        norm_a.running_mean, norm_a.running_var, norm_b.running_mean,
                                        norm_b.running_var, momentum, eps, alpha.detach(), beta.detach(), blocked_out);
  }
  // The two ops apart: each batch norm, then the block end.
  auto normalized = [&](const at::Tensor& x, const BatchNormTensors& n) {
    return sn::blocked::to_standard(
        sn::normalize(x, n.weight, n.bias, n.running_mean, n.running_var, true, false, momentum, eps, false, true)[0]);
  };
  return sn::shake_add_relu(normalized(a, norm_a), normalized(b, norm_b), sn::blocked::to_standard(residual), alpha,
                            beta);
}

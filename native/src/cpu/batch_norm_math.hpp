// The per-channel arithmetic that both CPU batch-norm kernels share (batch_norm.cpp for
// channels_last rows, grouped_batch_norm.cpp for 16-channel groups): the affine form of the
// normalization, the running-statistics update and the closed-form input gradient.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

namespace sn::bn {

// A float32 CPU vector of C elements: what the kernels take as affine parameters and statistics.
inline bool is_float32_vector(const c10::optional<at::Tensor>& t, int64_t C) {
  return t.has_value() && t->defined() && t->scalar_type() == at::kFloat && t->dim() == 1 && t->numel() == C &&
         t->is_contiguous() && t->device().is_cpu();
}

// Per-channel scale and shift of the normalization: y = x*scale + shift.
inline void affine_coefficients(const at::Tensor& weight, const at::Tensor& bias, const at::Tensor& mean,
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

// From per-channel sums over M values (sum and sum of squared deviations): the batch mean and
// 1/sqrt(var + eps) as float32 tensors, and the running statistics updated PyTorch's way
// (new = (1 - momentum)*old + momentum*batch, with the unbiased variance).
inline void batch_statistics(const std::vector<double>& sum, const std::vector<double>& squared_deviations, int64_t M,
                             double eps, double momentum, at::Tensor& running_mean, at::Tensor& running_var,
                             at::Tensor& mean_out, at::Tensor& invstd_out) {
  const int64_t C = static_cast<int64_t>(sum.size());
  mean_out = at::empty({C}, at::kFloat);
  invstd_out = at::empty({C}, at::kFloat);
  float* mean = mean_out.data_ptr<float>();
  float* invstd = invstd_out.data_ptr<float>();
  std::vector<double> unbiased(C);
  for (int64_t c = 0; c < C; c++) {
    mean[c] = static_cast<float>(sum[c] / M);
    invstd[c] = static_cast<float>(1.0 / std::sqrt(squared_deviations[c] / M + eps));
    unbiased[c] = squared_deviations[c] / (M - 1);
  }
  at::NoGradGuard no_grad;
  running_mean.mul_(1 - momentum).add_(mean_out, momentum);
  at::Tensor batch_var = at::from_blob(unbiased.data(), {C}, at::kDouble).to(running_var.scalar_type());
  running_var.mul_(1 - momentum).add_(batch_var, momentum);
}

// The input gradient's closed form. With xhat = (x - mean)*invstd and g the gradient reaching
// the normalization, dx = w*invstd*(g - mean(g) - xhat*mean(g*xhat)) = a*g + b*x + d with
//   a = w*invstd,  b = -a*invstd^2*sum_gx/M,  d = -b*mean - a*sum_g/M,
// where sum_g = sum(g) and sum_gx = sum(g*(x - mean)); dweight = sum_gx*invstd, dbias = sum_g.
struct InputGradient {
  std::vector<float> a, b, d;
  at::Tensor dweight, dbias;
};

inline InputGradient input_gradient(const double* sum_g, const double* sum_gx, const at::Tensor& weight,
                                    const at::Tensor& mean_t, const at::Tensor& invstd_t, int64_t M) {
  const int64_t C = mean_t.numel();
  const float* mean = mean_t.data_ptr<float>();
  const float* invstd = invstd_t.data_ptr<float>();
  const float* w = weight.data_ptr<float>();
  InputGradient out{std::vector<float>(C), std::vector<float>(C), std::vector<float>(C),
                    at::empty({C}, weight.options()), at::empty({C}, weight.options())};
  float* pdw = out.dweight.data_ptr<float>();
  float* pdb = out.dbias.data_ptr<float>();
  for (int64_t c = 0; c < C; c++) {
    double s = invstd[c], ac = w[c] * s, bc = -ac * s * s * sum_gx[c] / M;
    out.a[c] = static_cast<float>(ac);
    out.b[c] = static_cast<float>(bc);
    out.d[c] = static_cast<float>(-bc * mean[c] - ac * sum_g[c] / M);
    pdw[c] = static_cast<float>(sum_gx[c] * s);
    pdb[c] = static_cast<float>(sum_g[c]);
  }
  return out;
}

}  // namespace sn::bn

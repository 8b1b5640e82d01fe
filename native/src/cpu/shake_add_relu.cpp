// The end of a shake block, fused into one autograd function with two outputs:
//   out      = alpha*a + (1-alpha)*b + residual     (the block's output)
//   out_relu = relu(out)                            (the next block's, or the head's, input)
// and backward, with t = grad_out + grad_out_relu*(out > 0):
//   grad_a = beta*t,  grad_b = t - grad_a,  grad_residual = t.
// Done op by op this is a lerp, an add and a ReLU forward, and a ReLU backward, a gradient
// accumulation, a multiply and a subtraction backward: seven passes over the activations.
// With a, b and the residual in one dense layout (float32 or bfloat16), it is one pass each way;
// otherwise the same function runs on ATen ops.
#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <vector>

#include "cpu_kernels.hpp"
#include "block_end.hpp"
#include "shim.hpp"

namespace {

using sn::cpu::data;
using sn::cpu::load;
using sn::cpu::matching;
using sn::cpu::store;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// One image: n consecutive elements (an image is contiguous in both NCHW and channels_last).
template <typename T>
SN_CPU_KERNEL void combine(const T* __restrict a, const T* __restrict b, const T* __restrict r, T* __restrict out,
                           T* __restrict out_relu, int64_t n, float alpha) {
  for (int64_t i = 0; i < n; i++) {
    float va = load(a, i), vb = load(b, i);
    float v = vb + alpha * (va - vb) + (r ? load(r, i) : 0.0f);
    store(out, i, v);
    store(out_relu, i, std::max(v, 0.0f));
  }
}

// t = g_out + g_relu*(relu > 0); grad_a = beta*t, grad_b = t - grad_a, t kept for the residual.
template <typename T>
SN_CPU_KERNEL void split(const T* __restrict g_out, const T* __restrict g_relu, const T* __restrict relu,
                         T* __restrict grad_a, T* __restrict grad_b, T* __restrict t_out, int64_t n, float beta) {
  for (int64_t i = 0; i < n; i++) {
    float t = (g_out ? load(g_out, i) : 0.0f) + (g_relu && load(relu, i) > 0.0f ? load(g_relu, i) : 0.0f);
    float ga = beta * t;
    store(grad_a, i, ga);
    store(grad_b, i, t - ga);
    store(t_out, i, t);
  }
}

// Runs `body(i, offset, n)` for every image i in parallel: its n elements start at `offset`.
template <typename Body>
void for_images(const at::Tensor& like, Body body) {
  const int64_t images = like.size(0), n = like.numel() / std::max<int64_t>(images, 1);
  at::parallel_for(0, images, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) body(i, i * n, n);
  });
}

// An image's slice of an optional tensor's elements (nullptr where the tensor is undefined).
template <typename T>
T* at_offset(T* p, int64_t offset) {
  return p == nullptr ? nullptr : p + offset;
}

template <typename T>
void combine_images(const at::Tensor& a, const at::Tensor& b, const at::Tensor& residual, const at::Tensor& out,
                    const at::Tensor& out_relu, const std::vector<float>& alpha) {
  for_images(a, [&](int64_t i, int64_t offset, int64_t n) {
    combine(data<T>(a) + offset, data<T>(b) + offset, at_offset(data<T>(residual), offset),
            data<T>(out) + offset, data<T>(out_relu) + offset, n, alpha[i]);
  });
}

template <typename T>
void split_images(const at::Tensor& g_out, const at::Tensor& g_relu, const at::Tensor& out_relu,
                  const at::Tensor& grad_a, const at::Tensor& grad_b, const at::Tensor& t,
                  const std::vector<float>& beta) {
  for_images(out_relu, [&](int64_t i, int64_t offset, int64_t n) {
    split(at_offset(data<T>(g_out), offset), at_offset(data<T>(g_relu), offset),
          data<T>(out_relu) + offset, data<T>(grad_a) + offset, data<T>(grad_b) + offset, data<T>(t) + offset, n,
          beta[i]);
  });
}

// The dense layout the hand-written loops need, shared by every given tensor, or nullopt.
c10::optional<at::MemoryFormat> shared_dense_layout(std::initializer_list<const at::Tensor*> tensors) {
  const at::Tensor& first = **tensors.begin();
  if (!first.device().is_cpu() || first.dim() != 4) return c10::nullopt;
  if (first.scalar_type() != at::kFloat && first.scalar_type() != at::kBFloat16) return c10::nullopt;
  for (at::MemoryFormat format : {at::MemoryFormat::ChannelsLast, at::MemoryFormat::Contiguous}) {
    bool all = std::all_of(tensors.begin(), tensors.end(), [&](const at::Tensor* t) {
      return !t->defined() || (t->scalar_type() == first.scalar_type() && t->sizes().equals(first.sizes()) &&
                               t->device() == first.device() && t->is_contiguous(format));
    });
    if (all) return format;
  }
  return c10::nullopt;
}

// Forward: {out, out_relu}.
std::vector<at::Tensor> forward_values(const at::Tensor& a, const at::Tensor& b, const at::Tensor& residual,
                                       const at::Tensor& alpha) {
  c10::optional<at::MemoryFormat> layout = shared_dense_layout({&a, &b, &residual});
  if (!layout) {
    at::Tensor out = at::lerp(b, a, alpha);
    if (residual.defined()) out.add_(residual);
    return {out, at::relu(out)};
  }
  at::Tensor out = at::empty_like(a, *layout), out_relu = at::empty_like(a, *layout);
  std::vector<float> coefficient = sn::per_image(alpha, a.size(0));
  if (a.scalar_type() == at::kFloat) {
    combine_images<float>(a, b, residual, out, out_relu, coefficient);
  } else {
    combine_images<uint16_t>(a, b, residual, out, out_relu, coefficient);
  }
  return {out, out_relu};
}

// Backward: {grad_a, grad_b, t (= grad_residual)}.
std::vector<at::Tensor> backward_values(const at::Tensor& g_out, const at::Tensor& g_relu, const at::Tensor& out_relu,
                                        const at::Tensor& beta) {
  c10::optional<at::MemoryFormat> layout = shared_dense_layout({&out_relu, &g_out, &g_relu});
  if (!layout) {
    at::Tensor t = g_relu.defined() ? at::threshold_backward(g_relu, out_relu, 0) : at::zeros_like(out_relu);
    if (g_out.defined()) t = t + g_out;
    at::Tensor grad_a = t * beta;
    return {grad_a, t - grad_a, t};
  }
  at::Tensor grad_a = at::empty_like(out_relu, *layout), grad_b = at::empty_like(out_relu, *layout),
             t = at::empty_like(out_relu, *layout);
  std::vector<float> coefficient = sn::per_image(beta, out_relu.size(0));
  if (out_relu.scalar_type() == at::kFloat) {
    split_images<float>(g_out, g_relu, out_relu, grad_a, grad_b, t, coefficient);
  } else {
    split_images<uint16_t>(g_out, g_relu, out_relu, grad_a, grad_b, t, coefficient);
  }
  return {grad_a, grad_b, t};
}

struct ShakeAddRelu : public torch::autograd::Function<ShakeAddRelu> {
  // The residual is optional (autograd's argument walk needs an optional, not an undefined tensor).
  static variable_list forward(AutogradContext* ctx, const at::Tensor& a, const at::Tensor& b,
                               const c10::optional<at::Tensor>& maybe_residual, const at::Tensor& alpha,
                               const at::Tensor& beta) {
    RECORD_FUNCTION("shakenet::shake_shake_add_relu_forward", c10::ArrayRef<const c10::IValue>{});  // named in profiles
    ctx->saved_data["beta"] = beta;
    at::Tensor residual = maybe_residual.value_or(at::Tensor());
    ctx->saved_data["has_residual"] = residual.defined();
    ctx->set_materialize_grads(false);  // an unused output's gradient stays undefined, not zeros
    std::vector<at::Tensor> outputs = forward_values(a, b, residual, alpha);
    ctx->save_for_backward({outputs[1]});  // out > 0 exactly where out_relu > 0
    return {outputs[0], outputs[1]};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    at::Tensor out_relu = ctx->get_saved_variables()[0];
    at::Tensor g_out = matching(grad_outputs[0], out_relu), g_relu = matching(grad_outputs[1], out_relu);
    if (!g_out.defined() && !g_relu.defined()) return variable_list(5);
    at::Tensor beta = ctx->saved_data["beta"].toTensor().to(out_relu.scalar_type());
    std::vector<at::Tensor> g = backward_values(g_out, g_relu, out_relu, beta);
    bool has_residual = ctx->saved_data["has_residual"].toBool();
    return {g[0], g[1], has_residual ? g[2] : at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

std::vector<float> sn::per_image(const at::Tensor& coefficient, int64_t images) {
  at::Tensor c = coefficient.to(at::kFloat).contiguous();
  std::vector<float> out(static_cast<size_t>(images));
  for (int64_t n = 0; n < images; n++) out[n] = c.data_ptr<float>()[c.numel() == 1 ? 0 : n];
  return out;
}

std::vector<at::Tensor> sn::shake_add_relu(const at::Tensor& a, const at::Tensor& b, const at::Tensor& residual,
                                           const at::Tensor& alpha, const at::Tensor& beta) {
  c10::optional<at::Tensor> maybe_residual = residual.defined() ? c10::optional<at::Tensor>(residual) : c10::nullopt;
  return ShakeAddRelu::apply(a, b, maybe_residual, alpha.detach().to(a.scalar_type()), beta.detach());
}

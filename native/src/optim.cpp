// The SGD update of every parameter in one call (torch.optim.SGD's rule). Float32 CPU
// parameters take one pass each (weight decay, momentum, Nesterov and the step in one loop:
// the multi-tensor ops below read and write each parameter-sized tensor five times and
// allocate two temporaries). Everything else, CUDA included, uses PyTorch's multi-tensor
// (_foreach_) ops: on CUDA a handful of fused launches instead of several per parameter.
#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>

#include "cpu_kernels.hpp"
#include "shim.hpp"

namespace {

struct SgdRule {
  float lr, momentum, dampening, weight_decay;
  bool nesterov;
};

// One float32 parameter's update; `first`: its momentum buffer starts as the gradient.
SN_CPU_KERNEL void sgd_update(float* __restrict p, const float* __restrict g, float* __restrict buf, int64_t n,
                              SgdRule rule, bool first) {
  for (int64_t i = 0; i < n; i++) {
    float d = g[i] + rule.weight_decay * p[i];
    if (rule.momentum != 0.0f) {
      float b = first ? d : rule.momentum * buf[i] + (1.0f - rule.dampening) * d;
      buf[i] = b;
      d = rule.nesterov ? d + rule.momentum * b : b;
    }
    p[i] -= rule.lr * d;
  }
}

// Dense float32 CPU memory laid out as `like` (conv weights are channels_last): the update can
// then run over the raw elements of all three tensors in step.
bool is_dense_float32_cpu(const at::Tensor& t, const at::Tensor& like) {
  return t.device().is_cpu() && t.scalar_type() == at::kFloat && t.is_non_overlapping_and_dense() &&
         t.sizes().equals(like.sizes()) && t.strides().equals(like.strides());
}

}  // namespace

extern "C" int32_t sn_sgd_step(sn_tensor* const* params, sn_tensor* const* momentum_buffers,
                               int32_t* buffer_ready, int32_t count, double lr, double momentum,
                               double dampening, double weight_decay, int32_t nesterov) {
  SN_GUARD({
    if (count < 0) throw sn::InvalidArgument("count is negative");
    if (count > 0) sn::out_arg(params, "params");
    if (momentum != 0.0) {
      sn::out_arg(momentum_buffers, "momentum_buffers");
      sn::out_arg(buffer_ready, "buffer_ready");
    }
    if (nesterov && (momentum <= 0.0 || dampening != 0.0)) {
      throw sn::InvalidArgument("Nesterov momentum needs momentum > 0 and dampening 0");
    }
    c10::NoGradGuard no_grad;
    // Parameters without a gradient are skipped, as in PyTorch.
    std::vector<at::Tensor> p, g, buf;
    std::vector<int32_t> index;
    for (int32_t i = 0; i < count; ++i) {
      std::string name = "params[" + std::to_string(i) + "]";
      at::Tensor& param = sn::mut(params[i], name.c_str());
      if (!param.grad().defined()) continue;
      p.push_back(param);
      g.push_back(param.grad());
      index.push_back(i);
      if (momentum != 0.0) {
        std::string buf_name = "momentum_buffers[" + std::to_string(i) + "]";
        buf.push_back(sn::mut(momentum_buffers[i], buf_name.c_str()));
      }
    }
    if (p.empty()) return;
    bool fused = true;
    for (size_t k = 0; k < p.size(); ++k) {
      fused = fused && is_dense_float32_cpu(p[k], p[k]) && is_dense_float32_cpu(g[k], p[k]) &&
              (momentum == 0.0 || is_dense_float32_cpu(buf[k], p[k]));
    }
    if (fused) {
      SgdRule rule{static_cast<float>(lr), static_cast<float>(momentum), static_cast<float>(dampening),
                   static_cast<float>(weight_decay), nesterov != 0};
      for (size_t k = 0; k < p.size(); ++k) {
        bool first = momentum != 0.0 && buffer_ready[index[k]] == 0;
        float* pk = p[k].data_ptr<float>();
        const float* gk = g[k].data_ptr<float>();
        float* bk = momentum != 0.0 ? buf[k].data_ptr<float>() : nullptr;
        at::parallel_for(0, p[k].numel(), 65536, [&](int64_t begin, int64_t end) {
          sgd_update(pk + begin, gk + begin, bk ? bk + begin : nullptr, end - begin, rule, first);
        });
        if (first) buffer_ready[index[k]] = 1;
      }
      return;
    }
    std::vector<at::Tensor> d = weight_decay != 0.0 ? at::_foreach_add(g, p, weight_decay) : g;  // grad + wd*p
    if (momentum != 0.0) {
      std::vector<at::Tensor> running_buf, running_d;
      for (size_t k = 0; k < p.size(); ++k) {
        if (buffer_ready[index[k]] == 0) {
          buf[k].copy_(d[k]);  // first step: the buffer starts as the gradient
          buffer_ready[index[k]] = 1;
        } else {
          running_buf.push_back(buf[k]);
          running_d.push_back(d[k]);
        }
      }
      if (!running_buf.empty()) {
        at::_foreach_mul_(running_buf, momentum);                       // buf = momentum*buf
        at::_foreach_add_(running_buf, running_d, 1.0 - dampening);     //     + (1-dampening)*d
      }
      d = nesterov ? at::_foreach_add(d, buf, momentum) : buf;          // d + momentum*buf, or buf
    }
    at::_foreach_add_(p, d, -lr);                                       // p -= lr*d
  });
}

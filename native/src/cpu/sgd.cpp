// sn_sgd_step's update for float32 CPU parameters in one pass each: weight decay, momentum,
// Nesterov and the step in one loop, where the multi-tensor ops read and write each
// parameter-sized tensor five times and allocate two temporaries.
#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>

#include "cpu_kernels.hpp"
#include "optim.hpp"
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

extern "C" int32_t sn_cpu_sgd_step(sn_tensor* const* params, sn_tensor* const* momentum_buffers,
                                   int32_t* buffer_ready, int32_t count, double lr, double momentum,
                                   double dampening, double weight_decay, int32_t nesterov) {
  SN_GUARD({
    sn::SgdBatch batch = sn::sgd_batch(params, momentum_buffers, buffer_ready, count, momentum, dampening, nesterov);
    if (batch.params.empty()) return;
    c10::NoGradGuard no_grad;
    bool fused = true;
    for (size_t k = 0; k < batch.params.size(); ++k) {
      const at::Tensor& p = batch.params[k];
      fused = fused && is_dense_float32_cpu(p, p) && is_dense_float32_cpu(batch.grads[k], p) &&
              (momentum == 0.0 || is_dense_float32_cpu(batch.buffers[k], p));
    }
    if (!fused) {
      sn::sgd_foreach(batch, buffer_ready, lr, momentum, dampening, weight_decay, nesterov != 0);
      return;
    }
    SgdRule rule{static_cast<float>(lr), static_cast<float>(momentum), static_cast<float>(dampening),
                 static_cast<float>(weight_decay), nesterov != 0};
    for (size_t k = 0; k < batch.params.size(); ++k) {
      int32_t i = batch.index[k];
      bool first = momentum != 0.0 && buffer_ready[i] == 0;
      float* p = batch.params[k].data_ptr<float>();
      const float* g = batch.grads[k].data_ptr<float>();
      float* b = momentum != 0.0 ? batch.buffers[k].data_ptr<float>() : nullptr;
      at::parallel_for(0, batch.params[k].numel(), 65536, [&](int64_t begin, int64_t end) {
        sgd_update(p + begin, g + begin, b ? b + begin : nullptr, end - begin, rule, first);
      });
      if (first) buffer_ready[i] = 1;
    }
  });
}

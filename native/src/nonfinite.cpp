// The training loop's non-finite check: one pass over the loss and the gradients (or over a
// checkpoint's tensors) whose result stays on their device, so that a CUDA step never waits
// for it; the trainer reads the record when it reports anyway.
#include <c10/core/GradMode.h>

#include <map>
#include <vector>

#include "shim.hpp"

extern "C" int32_t sn_nonfinite_record(sn_tensor* const* tensors, const int32_t* of_grad, int32_t count, int64_t step,
                                       sn_tensor* record) {
  SN_GUARD({
    if (count < 0) throw sn::InvalidArgument("count is negative");
    if (count > 0) sn::out_arg(tensors, "tensors");
    at::Tensor& rec = sn::mut(record, "record");
    if (rec.scalar_type() != at::kLong || rec.numel() != 2 || !rec.is_contiguous()) {
      throw sn::InvalidArgument("record must be a contiguous int64 tensor of 2 elements (steps, first step)");
    }
    c10::NoGradGuard no_grad;
    // CUDA: one concatenation per dtype, so a single kernel looks at every value. CPU: a large
    // tensor's smallest and largest value in one pass without a copy (a NaN makes both NaN);
    // small ones (batch norm parameters and statistics) concatenated, as on CUDA.
    constexpr int64_t large = 1 << 14;
    bool cuda = rec.is_cuda();
    std::map<at::ScalarType, std::vector<at::Tensor>> by_dtype;
    std::vector<at::Tensor> extremes;
    for (int32_t i = 0; i < count; ++i) {
      std::string name = "tensors[" + std::to_string(i) + "]";
      const at::Tensor& t = sn::ref(tensors[i], name.c_str());
      at::Tensor value = of_grad != nullptr && of_grad[i] != 0 ? t.grad() : t;
      if (!value.defined() || !at::isFloatingType(value.scalar_type()) || value.numel() == 0) continue;  // integers are always finite
      if (value.device() != rec.device()) {
        throw sn::InvalidArgument(name + " is on " + value.device().str() + ", the record on " + rec.device().str());
      }
      if (cuda || value.numel() < large) {
        by_dtype[value.scalar_type()].push_back(value.reshape({-1}));
      } else {
        auto [low, high] = at::aminmax(value);
        extremes.push_back(low.to(at::kDouble));
        extremes.push_back(high.to(at::kDouble));
      }
    }
    at::Tensor finite;
    if (!extremes.empty()) finite = at::stack(extremes).isfinite().all();
    for (auto& group : by_dtype) {
      at::Tensor here = at::cat(group.second).isfinite().all();
      finite = finite.defined() ? finite.logical_and(here) : here;
    }
    if (!finite.defined()) return;
    at::Tensor bad = finite.logical_not();
    at::Tensor steps = rec.select(0, 0), first = rec.select(0, 1);
    first.copy_(at::where(first.lt(0).logical_and(bad), at::full({}, step, rec.options()), first));
    steps.add_(bad.to(at::kLong));
  });
}

// Mixed precision: PyTorch's autocast switched on and off per thread, and gradient unscaling
// for float16 loss scaling. libtorch 2.4 replaced the per-device autocast setters with ones
// taking a device type; both are handled here.
#include <ATen/autocast_mode.h>
#include <c10/core/GradMode.h>
#include <torch/version.h>

#include <vector>

#include "shim.hpp"

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
bool sn::autocast_enabled(at::DeviceType type) { return at::autocast::is_autocast_enabled(type); }
#else
bool sn::autocast_enabled(at::DeviceType type) {
  return type == at::kCPU ? at::autocast::is_cpu_enabled() : at::autocast::is_enabled();
}
#endif

namespace {

using sn::autocast_enabled;

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
void set_autocast_enabled(at::DeviceType type, bool on) { at::autocast::set_autocast_enabled(type, on); }
at::ScalarType autocast_dtype(at::DeviceType type) { return at::autocast::get_autocast_dtype(type); }
void set_autocast_dtype(at::DeviceType type, at::ScalarType dtype) { at::autocast::set_autocast_dtype(type, dtype); }
#else
void set_autocast_enabled(at::DeviceType type, bool on) {
  if (type == at::kCPU) at::autocast::set_cpu_enabled(on); else at::autocast::set_enabled(on);
}
at::ScalarType autocast_dtype(at::DeviceType type) {
  return type == at::kCPU ? at::autocast::get_autocast_cpu_dtype() : at::autocast::get_autocast_gpu_dtype();
}
void set_autocast_dtype(at::DeviceType type, at::ScalarType dtype) {
  if (type == at::kCPU) at::autocast::set_autocast_cpu_dtype(dtype); else at::autocast::set_autocast_gpu_dtype(dtype);
}
#endif

struct SavedState {
  at::DeviceType type;
  bool enabled;
  at::ScalarType dtype;
};
thread_local std::vector<SavedState> saved_states;

at::DeviceType device_type(int32_t code) { return sn::device(code, -1).type(); }

}  // namespace

extern "C" {

int32_t sn_autocast_enter(int32_t device_type_code, int32_t dtype) {
  SN_GUARD({
    at::DeviceType type = device_type(device_type_code);
    at::ScalarType target = sn::scalar_type(dtype);
    if (target != at::kBFloat16 && target != at::kHalf) {
      throw sn::InvalidArgument("autocast runs in bfloat16 or float16, not " + std::string(c10::toString(target)));
    }
    if (type == at::kCPU && target != at::kBFloat16) {
      throw sn::InvalidArgument("on the CPU autocast runs in bfloat16 only (float16 is for CUDA)");
    }
    saved_states.push_back({type, autocast_enabled(type), autocast_dtype(type)});
    set_autocast_enabled(type, true);
    set_autocast_dtype(type, target);
    at::autocast::increment_nesting();
  });
}

int32_t sn_autocast_exit(int32_t device_type_code) {
  SN_GUARD({
    at::DeviceType type = device_type(device_type_code);
    if (saved_states.empty() || saved_states.back().type != type) {
      throw sn::InvalidArgument("no autocast region of this device type is open on this thread");
    }
    SavedState saved = saved_states.back();
    saved_states.pop_back();
    // The cast weights are cached for the region; drop them when the outermost one ends.
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    set_autocast_enabled(type, saved.enabled);
    set_autocast_dtype(type, saved.dtype);
  });
}

int32_t sn_unscale_grads(sn_tensor* const* params, int32_t count, double inv_scale, int32_t* found_inf) {
  SN_GUARD({
    sn::out_arg(found_inf, "found_inf");
    if (count > 0) sn::out_arg(params, "params");
    c10::NoGradGuard no_grad;
    at::Tensor bad;  // accumulated on the gradients' device: one synchronisation at the end
    for (int32_t i = 0; i < count; ++i) {
      std::string name = "params[" + std::to_string(i) + "]";
      at::Tensor& grad = sn::mut(params[i], name.c_str()).mutable_grad();
      if (!grad.defined()) continue;
      grad.mul_(inv_scale);
      at::Tensor here = grad.isfinite().logical_not().any();
      bad = bad.defined() ? bad.logical_or_(here) : here;
    }
    *found_inf = bad.defined() && bad.item<bool>() ? 1 : 0;
  });
}

}  // extern "C"

// What the library can use (libtorch version, CUDA, cuDNN, MKL-DNN, threads) and the
// per-process and per-thread switches: seed, thread count, grad mode.
#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <cstring>

#include "shim.hpp"

#ifdef SHAKENET_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#endif

extern "C" {

int32_t sn_abi_version(int32_t* out) {
  SN_GUARD({ *sn::out_arg(out, "out") = SN_ABI_VERSION; });
}

int32_t sn_torch_version(const char** out) {
  SN_GUARD({ *sn::out_arg(out, "out") = TORCH_VERSION; });
}

int32_t sn_cuda_device_count(int32_t* out) {
  SN_GUARD({ *sn::out_arg(out, "out") = static_cast<int32_t>(torch::cuda::device_count()); });
}

int32_t sn_cuda_device_name(int32_t index, char* buf, int64_t capacity) {
  SN_GUARD({
    sn::out_arg(buf, "buf");
    if (capacity < 1) throw sn::InvalidArgument("capacity must be at least 1");
    int64_t count = static_cast<int64_t>(torch::cuda::device_count());
    if (index < 0 || index >= count) {
      throw sn::InvalidArgument("CUDA device " + std::to_string(index) + " does not exist (" +
                                std::to_string(count) + " CUDA devices visible)");
    }
#ifdef SHAKENET_WITH_CUDA
    const char* name = at::cuda::getDeviceProperties(index)->name;
#else
    const char* name = "unknown (libshakenet was built without CUDA headers)";
#endif
    std::strncpy(buf, name, static_cast<size_t>(capacity - 1));
    buf[capacity - 1] = '\0';
  });
}

int32_t sn_has_cudnn(int32_t* out) {
  SN_GUARD({ *sn::out_arg(out, "out") = at::globalContext().hasCuDNN() ? 1 : 0; });
}

int32_t sn_has_mkldnn(int32_t* out) {
  SN_GUARD({ *sn::out_arg(out, "out") = at::globalContext().hasMKLDNN() ? 1 : 0; });
}

int32_t sn_get_num_threads(int32_t* out) {
  SN_GUARD({ *sn::out_arg(out, "out") = static_cast<int32_t>(at::get_num_threads()); });
}

int32_t sn_set_num_threads(int32_t threads) {
  SN_GUARD({
    if (threads < 1) {
      throw sn::InvalidArgument("thread count must be at least 1, got " + std::to_string(threads));
    }
    at::set_num_threads(threads);
  });
}

int32_t sn_manual_seed(uint64_t seed) {
  SN_GUARD({ at::manual_seed(seed); });
}

int32_t sn_set_grad_enabled(int32_t enabled, int32_t* previous) {
  SN_GUARD({
    if (previous != nullptr) *previous = c10::GradMode::is_enabled() ? 1 : 0;
    c10::GradMode::set_enabled(enabled != 0);
  });
}

int32_t sn_is_grad_enabled(int32_t* out) {
  SN_GUARD({ *sn::out_arg(out, "out") = c10::GradMode::is_enabled() ? 1 : 0; });
}

}  // extern "C"

// CUDA-only services: allocator statistics, device synchronisation, pinned host memory. The
// CUDA headers exist only in CUDA builds of libtorch, so CPU-only builds answer with an error
// (or, for synchronisation, do nothing).
#include <cstring>

#include "shim.hpp"

#ifdef SHAKENET_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#endif

namespace {
[[noreturn]] void no_cuda() {
  throw sn::InvalidArgument("this libshakenet was built against a CPU-only libtorch (see the README: Building against a CUDA libtorch)");
}
}  // namespace

extern "C" {

int32_t sn_cuda_memory(int32_t index, int64_t* allocated, int64_t* peak) {
  SN_GUARD({
    sn::out_arg(allocated, "allocated");
    sn::out_arg(peak, "peak");
#ifdef SHAKENET_WITH_CUDA
    auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(static_cast<c10::DeviceIndex>(index));
    const auto& bytes = stats.allocated_bytes[0];  // StatType::AGGREGATE (its namespace moved across versions)
    *allocated = bytes.current;
    *peak = bytes.peak;
#else
    no_cuda();
#endif
  });
}

int32_t sn_cuda_reset_peak_memory(int32_t index) {
  SN_GUARD({
#ifdef SHAKENET_WITH_CUDA
    c10::cuda::CUDACachingAllocator::resetPeakStats(static_cast<c10::DeviceIndex>(index));
#else
    no_cuda();
#endif
  });
}

int32_t sn_synchronize(int32_t device_type, int32_t device_index) {
  SN_GUARD({
    at::Device d = sn::device(device_type, device_index);
    if (d.is_cuda()) {
#ifdef SHAKENET_WITH_CUDA
      c10::cuda::device_synchronize();
#else
      no_cuda();
#endif
    }
  });
}

int32_t sn_tensor_from_data_pinned(const void* data, int64_t nbytes, int32_t dtype, const int64_t* shape, int32_t ndim,
                                   sn_tensor** out) {
  SN_GUARD({
    sn::out_arg(out, "out");
    at::Tensor tensor = at::empty(sn::shape(shape, ndim), at::TensorOptions().dtype(sn::scalar_type(dtype)).pinned_memory(true));
    int64_t expected = tensor.numel() * static_cast<int64_t>(tensor.element_size());
    if (nbytes != expected) {
      throw sn::InvalidArgument("buffer has " + std::to_string(nbytes) + " bytes, the tensor needs " + std::to_string(expected));
    }
    if (nbytes > 0) {
      if (data == nullptr) throw sn::InvalidArgument("data pointer is NULL");
      std::memcpy(tensor.data_ptr(), data, static_cast<size_t>(nbytes));
    }
    sn::give(std::move(tensor), out);
  });
}

}  // extern "C"

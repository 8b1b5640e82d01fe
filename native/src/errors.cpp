// The thread-local last-error message and the argument conversions every entry point shares.
#include "shim.hpp"

namespace {
thread_local std::string last_error;
}

namespace sn {

int32_t fail(int32_t status, const char* function, const char* message) noexcept {
  try {
    last_error.assign(function).append(": ").append(message);
  } catch (...) {
    // Out of memory while recording the message: keep the status, lose the text.
  }
  return status;
}

const at::Tensor& ref(const sn_tensor* handle, const char* name) {
  if (handle == nullptr) {
    throw InvalidArgument(std::string("tensor argument '") + name +
                          "' is NULL (the tensor was freed or never created)");
  }
  if (!handle->tensor.defined()) {
    throw InvalidArgument(std::string("tensor argument '") + name + "' is undefined");
  }
  return handle->tensor;
}

at::Tensor& mut(sn_tensor* handle, const char* name) {
  return const_cast<at::Tensor&>(ref(handle, name));
}

c10::optional<at::Tensor> optional_ref(const sn_tensor* handle) {
  if (handle == nullptr) return c10::nullopt;
  return handle->tensor;
}

c10::optional<at::Generator> optional_generator(sn_generator* handle) {
  if (handle == nullptr) return c10::nullopt;
  return handle->generator;
}

void give(at::Tensor tensor, sn_tensor** out) { *out = new sn_tensor{std::move(tensor)}; }

at::ScalarType scalar_type(int32_t dtype) {
  switch (dtype) {
    case SN_FLOAT32: return at::kFloat;
    case SN_FLOAT64: return at::kDouble;
    case SN_FLOAT16: return at::kHalf;
    case SN_BFLOAT16: return at::kBFloat16;
    case SN_UINT8: return at::kByte;
    case SN_INT32: return at::kInt;
    case SN_INT64: return at::kLong;
    case SN_BOOL: return at::kBool;
  }
  throw InvalidArgument("unknown dtype code " + std::to_string(dtype) +
                        " (expected 0..7: float32, float64, float16, bfloat16, uint8, int32, "
                        "int64, bool)");
}

int32_t dtype_code(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return SN_FLOAT32;
    case at::kDouble: return SN_FLOAT64;
    case at::kHalf: return SN_FLOAT16;
    case at::kBFloat16: return SN_BFLOAT16;
    case at::kByte: return SN_UINT8;
    case at::kInt: return SN_INT32;
    case at::kLong: return SN_INT64;
    case at::kBool: return SN_BOOL;
    default:
      throw InvalidArgument(std::string("tensor has dtype ") + c10::toString(type) +
                            ", which ShakeNet does not expose");
  }
}

at::Device device(int32_t device_type, int32_t device_index) {
  if (device_index < -1) {
    throw InvalidArgument("device index " + std::to_string(device_index) +
                          " is negative (use -1 for the current device)");
  }
  switch (device_type) {
    case SN_CPU: return at::Device(at::kCPU);
    case SN_CUDA: return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(device_index));
  }
  throw InvalidArgument("unknown device type code " + std::to_string(device_type) +
                        " (expected 0 = cpu or 1 = cuda)");
}

c10::MemoryFormat memory_format(int32_t format) {
  switch (format) {
    case SN_CONTIGUOUS: return c10::MemoryFormat::Contiguous;
    case SN_CHANNELS_LAST: return c10::MemoryFormat::ChannelsLast;
    case SN_PRESERVE: return c10::MemoryFormat::Preserve;
  }
  throw InvalidArgument("unknown memory format code " + std::to_string(format) +
                        " (expected 0 = contiguous, 1 = channels_last, 2 = preserve)");
}

std::vector<int64_t> shape(const int64_t* sizes, int32_t ndim) {
  if (ndim < 0) throw InvalidArgument("ndim " + std::to_string(ndim) + " is negative");
  if (ndim > 0 && sizes == nullptr) throw InvalidArgument("shape pointer is NULL");
  std::vector<int64_t> result(sizes, sizes + ndim);
  for (int32_t i = 0; i < ndim; ++i) {
    if (result[i] < 0) {
      throw InvalidArgument("shape dimension " + std::to_string(i) + " is negative (" +
                            std::to_string(result[i]) + ")");
    }
  }
  return result;
}

}  // namespace sn

extern "C" const char* sn_last_error(void) { return last_error.c_str(); }

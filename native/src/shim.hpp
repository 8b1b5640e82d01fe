// Internal helpers shared by the shim's translation units: the handle structs, the one
// exception-to-status guard every entry point runs in, and argument conversion.
#pragma once

#include <ATen/ATen.h>

#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "shakenet.h"

struct sn_tensor {
  at::Tensor tensor;
};

struct sn_generator {
  at::Generator generator;
};

namespace sn {

// Thrown by the shim itself for arguments libtorch never sees (NULL handles, bad enums).
struct InvalidArgument : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// Records "function: message" as this thread's last error and returns `status`. Never throws.
int32_t fail(int32_t status, const char* function, const char* message) noexcept;

// Runs `body`, turning every exception into a status code and a thread-local message that
// names the entry point. Nothing thrown inside escapes into the caller (the JVM).
template <typename Body>
int32_t guard(const char* function, Body&& body) noexcept {
  try {
    body();
    return SN_OK;
  } catch (const InvalidArgument& e) {
    return fail(SN_ERR_INVALID_ARGUMENT, function, e.what());
  } catch (const c10::Error& e) {
    const char* message = e.what_without_backtrace();
    bool oom = std::strstr(message, "out of memory") != nullptr;
    return fail(oom ? SN_ERR_OUT_OF_MEMORY : SN_ERR_TORCH, function, message);
  } catch (const std::bad_alloc&) {
    return fail(SN_ERR_OUT_OF_MEMORY, function, "out of host memory");
  } catch (const std::exception& e) {
    return fail(SN_ERR_INTERNAL, function, e.what());
  } catch (...) {
    return fail(SN_ERR_INTERNAL, function, "unknown C++ exception");
  }
}

// Entry-point body: SN_GUARD({ ... }) returns the status of running the block under guard().
#define SN_GUARD(...) return ::sn::guard(__func__, [&]() __VA_ARGS__)

// The tensor behind a handle; `name` is the argument's name for the error message.
const at::Tensor& ref(const sn_tensor* handle, const char* name);
at::Tensor& mut(sn_tensor* handle, const char* name);
// An optional tensor argument: NULL gives an undefined tensor.
c10::optional<at::Tensor> optional_ref(const sn_tensor* handle);
// An optional generator argument: NULL gives libtorch's default generator.
c10::optional<at::Generator> optional_generator(sn_generator* handle);

// Checks an out-parameter is non-NULL.
template <typename T>
T* out_arg(T* out, const char* name) {
  if (out == nullptr) throw InvalidArgument(std::string("out-parameter '") + name + "' is NULL");
  return out;
}

// Hands a new tensor handle to the caller through `out`.
void give(at::Tensor tensor, sn_tensor** out);

at::ScalarType scalar_type(int32_t dtype);
int32_t dtype_code(at::ScalarType type);
at::Device device(int32_t device_type, int32_t device_index);
c10::MemoryFormat memory_format(int32_t format);
std::vector<int64_t> shape(const int64_t* sizes, int32_t ndim);

// Whether autocast is on for a device type on this thread (precision.cpp).
bool autocast_enabled(at::DeviceType type);

}  // namespace sn

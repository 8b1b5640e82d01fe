// Seedable random generators on any device, with their state for checkpoints.
#include <mutex>

#include "shim.hpp"

namespace {
const at::Generator& generator_ref(const sn_generator* handle) {
  if (handle == nullptr) {
    throw sn::InvalidArgument("generator argument is NULL (freed or never created)");
  }
  return handle->generator;
}
}  // namespace

extern "C" {

int32_t sn_generator_new(int32_t device_type, int32_t device_index, uint64_t seed,
                         sn_generator** out) {
  SN_GUARD({
    sn::out_arg(out, "out");
    // A clone of the device's default generator is a generator of the right kind for that
    // device, made without naming CUDA types (so CPU-only builds compile the same code).
    at::Generator generator = at::globalContext().defaultGenerator(sn::device(device_type, device_index)).clone();
    {
      std::lock_guard<std::mutex> lock(generator.mutex());
      generator.set_current_seed(seed);
    }
    *out = new sn_generator{std::move(generator)};
  });
}

int32_t sn_generator_default(int32_t device_type, int32_t device_index, sn_generator** out) {
  SN_GUARD({
    sn::out_arg(out, "out");
    // at::Generator is reference counted: this handle shares the default generator.
    *out = new sn_generator{at::globalContext().defaultGenerator(sn::device(device_type, device_index))};
  });
}

int32_t sn_generator_free(sn_generator* generator) {
  SN_GUARD({ delete generator; });
}

int32_t sn_generator_get_state(const sn_generator* generator, sn_tensor** out) {
  SN_GUARD({
    sn::out_arg(out, "out");
    const at::Generator& g = generator_ref(generator);
    at::Tensor state;
    {
      std::lock_guard<std::mutex> lock(const_cast<at::Generator&>(g).mutex());
      state = g.get_state();
    }
    sn::give(std::move(state), out);
  });
}

int32_t sn_generator_set_state(sn_generator* generator, const sn_tensor* state) {
  SN_GUARD({
    at::Generator& g = const_cast<at::Generator&>(generator_ref(generator));
    const at::Tensor& s = sn::ref(state, "state");
    std::lock_guard<std::mutex> lock(g.mutex());
    g.set_state(s);
  });
}

}  // extern "C"

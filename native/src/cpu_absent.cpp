// The CPU-kernels engine's entry points in a library built without it (no oneDNN headers):
// each says so, and the allocator calls accept the system allocator.
#include "shim.hpp"

namespace {

[[noreturn]] void absent() {
  throw sn::InvalidArgument(
      "this libshakenet was built without the CPU kernels (no oneDNN headers): install libdnnl-dev and rebuild "
      "native/ (bin/setup does both), or use engine \"reference\"");
}

}  // namespace

extern "C" {

int32_t sn_cpu_kernels_available(int32_t* out) {
  SN_GUARD({ *sn::out_arg(out, "out") = 0; });
}

int32_t sn_cpu_shake_stage(const sn_tensor*, const sn_tensor*, int32_t, int64_t, sn_tensor* const*, double, double,
                           sn_tensor**, sn_tensor**) {
  SN_GUARD({ absent(); });
}

int32_t sn_cpu_batch_norm(const sn_tensor*, const sn_tensor*, const sn_tensor*, sn_tensor*, sn_tensor*, double, double,
                          sn_tensor**) {
  SN_GUARD({ absent(); });
}

int32_t sn_cpu_sgd_step(sn_tensor* const*, sn_tensor* const*, int32_t*, int32_t, double, double, double, double,
                        int32_t) {
  SN_GUARD({ absent(); });
}

int32_t sn_cpu_allocator_use_caching(int32_t caching) {
  SN_GUARD({
    if (caching) absent();
  });
}

int32_t sn_cpu_allocator_is_caching(int32_t* out) {
  SN_GUARD({ *sn::out_arg(out, "out") = 0; });
}

int32_t sn_cpu_memory(sn_cpu_memory_stats* out) {
  SN_GUARD({ *sn::out_arg(out, "out") = sn_cpu_memory_stats{}; });
}

int32_t sn_cpu_memory_reset_peak(void) {
  SN_GUARD({});
}

int32_t sn_cpu_memory_release_idle(void) {
  SN_GUARD({});
}

}  // extern "C"

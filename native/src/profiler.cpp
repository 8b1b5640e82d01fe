// A per-op profile of whatever runs on this thread between start and stop (forward and the
// autograd backward alike), from libtorch's own profiler: for each op, its calls, total time and
// self time (total minus the ops it called), written as JSON for `shakenet bench --profile`.
// libtorch 1.x's legacy profiler is used; on other versions the calls report that.
#include <torch/version.h>

#include <algorithm>
#include <fstream>
#include <map>

#include "shim.hpp"

#if TORCH_VERSION_MAJOR < 2 && __has_include(<torch/csrc/autograd/profiler_legacy.h>)
#define SN_HAS_PROFILER 1
#include <torch/csrc/autograd/profiler_legacy.h>
#endif

namespace {

#ifdef SN_HAS_PROFILER
struct OpTime {
  int64_t calls = 0;
  double total_us = 0, self_us = 0;
};

// Pairs each op's push and pop (same handle, on its thread) and charges the time between them to
// the op, less the time of the ops nested inside it.
std::map<std::string, OpTime> aggregate(const torch::autograd::profiler::thread_event_lists& threads) {
  using torch::autograd::profiler::EventKind;
  using torch::autograd::profiler::LegacyEvent;
  struct Open {
    const LegacyEvent* push;
    double children_us;
  };
  std::map<std::string, OpTime> ops;
  for (const auto& events : threads) {
    std::vector<Open> stack;
    for (const LegacyEvent& e : events) {
      if (e.kind() == EventKind::PushRange) {
        stack.push_back({&e, 0.0});
      } else if (e.kind() == EventKind::PopRange) {
        auto it = std::find_if(stack.rbegin(), stack.rend(), [&](const Open& o) { return o.push->handle() == e.handle(); });
        if (it == stack.rend()) continue;  // began before the profiler started
        size_t depth = static_cast<size_t>(stack.rend() - it) - 1;
        Open open = stack[depth];
        stack.resize(depth);
        double us = open.push->cpuElapsedUs(e);
        OpTime& op = ops[open.push->name()];
        op.calls++;
        op.total_us += us;
        op.self_us += us - open.children_us;
        if (!stack.empty()) stack.back().children_us += us;
      }
    }
  }
  return ops;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) out += c;
  }
  return out + "\"";
}
#endif

}  // namespace

extern "C" int32_t sn_profiler_start(void) {
  SN_GUARD({
#ifdef SN_HAS_PROFILER
    torch::autograd::profiler::enableProfilerLegacy(
        torch::profiler::impl::ProfilerConfig(torch::profiler::impl::ProfilerState::CPU));
#else
    throw sn::InvalidArgument("per-op profiling is built for libtorch 1.x; this is libtorch " TORCH_VERSION
                              " (use torch.profiler from Python there)");
#endif
  });
}

extern "C" int32_t sn_profiler_stop(const char* json_path) {
  SN_GUARD({
    sn::out_arg(json_path, "json_path");
#ifdef SN_HAS_PROFILER
    std::map<std::string, OpTime> ops = aggregate(torch::autograd::profiler::disableProfilerLegacy());
    std::ofstream out(json_path);
    if (!out) throw sn::InvalidArgument(std::string("cannot write ") + json_path);
    out << "[";
    bool first = true;
    for (const auto& [name, op] : ops) {
      out << (first ? "" : ",") << "{\"name\":" << json_string(name) << ",\"calls\":" << op.calls
          << ",\"total_us\":" << op.total_us << ",\"self_us\":" << op.self_us << "}";
      first = false;
    }
    out << "]\n";
    if (!out.flush()) throw sn::InvalidArgument(std::string("cannot write ") + json_path);
#else
    throw sn::InvalidArgument("per-op profiling is built for libtorch 1.x; this is libtorch " TORCH_VERSION);
#endif
  });
}

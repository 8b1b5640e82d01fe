// Data-parallel collectives on libtorch's c10d: a store (TCP or file), a Gloo or NCCL process
// group on it, and bucketed allreduce / broadcast of tensor lists. libtorch has no C++
// DistributedDataParallel; the gradient averaging the trainer needs is the bucketed allreduce
// here. Built without c10d's Gloo (SHAKENET_WITH_GLOO unset), every entry point says so.
#include "shim.hpp"

#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#ifdef SHAKENET_WITH_GLOO
#include <c10/core/GradMode.h>
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef SHAKENET_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#include <torch/version.h>

// libtorch 2 split the backends (Gloo, NCCL) from the ProcessGroup front end; the collectives
// called here are the same on both.
#if TORCH_VERSION_MAJOR >= 2
using GroupBackend = c10d::Backend;
#else
using GroupBackend = c10d::ProcessGroup;
#endif

struct sn_store {
  c10::intrusive_ptr<c10d::Store> store;
  int32_t port = 0;
};

struct sn_process_group {
  c10::intrusive_ptr<GroupBackend> group;
  c10::intrusive_ptr<c10d::Store> store;  // kept alive as long as the group
  int32_t world_size = 1;
  bool gloo = true;
};

namespace {

std::chrono::milliseconds millis(double seconds) {
  if (!(seconds > 0)) throw sn::InvalidArgument("timeout_seconds must be positive");
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000.0));
}

// An exception's message without libtorch's C++ backtrace.
std::string message_of(const std::exception& e) {
  if (auto* error = dynamic_cast<const c10::Error*>(&e)) return error->what_without_backtrace();
  return e.what();
}

std::string seconds_text(double seconds) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", seconds);
  return buf;
}

// Reads `key`, failing with `what` when no rank writes it within the store's timeout.
std::string wait_and_get(c10d::Store& store, const std::string& key, const std::string& what) {
  try {
    std::vector<uint8_t> value = store.get(key);
    return std::string(value.begin(), value.end());
  } catch (const std::exception& e) {
    throw std::runtime_error(what + " (" + message_of(e) + ")");
  }
}

// Every rank announces (rank, world size) through the store and reads rank 0's world size (rank
// 0 reads everyone's): a mismatch or a rank claimed twice fails here with a message naming it,
// instead of inside the backend's rendezvous.
void check_membership(c10d::Store& store, int32_t rank, int32_t world_size, double timeout_seconds) {
  std::string mine = std::to_string(world_size);
  int64_t claims = store.add("shakenet/claims/" + std::to_string(rank), 1);
  if (claims > 1) {
    throw sn::InvalidArgument("rank " + std::to_string(rank) + " is claimed by more than one process (each process needs its own "
                              "RANK, 0.." + std::to_string(world_size - 1) + ")");
  }
  store.set("shakenet/world_size/" + std::to_string(rank), std::vector<uint8_t>(mine.begin(), mine.end()));
  std::string late = " did not join within " + seconds_text(timeout_seconds) +
                     " s (is it running, with the same MASTER_ADDR/MASTER_PORT? a longer distributed.timeout_seconds gives it more time)";
  if (rank != 0) {
    std::string theirs = wait_and_get(store, "shakenet/world_size/0", "rank 0" + late);
    if (theirs != mine) {
      throw sn::InvalidArgument("this rank (" + std::to_string(rank) + ") was started with world size " + mine + ", rank 0 with " +
                                theirs + ": every process needs the same WORLD_SIZE");
    }
    return;
  }
  for (int32_t r = 1; r < world_size; ++r) {
    std::string theirs = wait_and_get(store, "shakenet/world_size/" + std::to_string(r), "rank " + std::to_string(r) + late);
    if (theirs != mine) {
      throw sn::InvalidArgument("rank " + std::to_string(r) + " was started with world size " + theirs + ", rank 0 with " + mine +
                                ": every process needs the same WORLD_SIZE");
    }
  }
}

c10::intrusive_ptr<GroupBackend> gloo_group(const c10::intrusive_ptr<c10d::Store>& store, int32_t rank, int32_t world_size,
                                                  std::chrono::milliseconds timeout, const char* gloo_host) {
  auto options = c10d::ProcessGroupGloo::Options::create(timeout);
  const char* interface = std::getenv("GLOO_SOCKET_IFNAME");
  if (interface != nullptr && *interface != '\0') {
    options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(interface));
  } else if (gloo_host != nullptr && *gloo_host != '\0') {
    options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(gloo_host));
  } else {
    options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
  }
  options->threads = 2;
  return c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, world_size, options);
}

c10::intrusive_ptr<GroupBackend> nccl_group(const c10::intrusive_ptr<c10d::Store>& store, int32_t rank, int32_t world_size,
                                                  std::chrono::milliseconds timeout) {
#ifdef SHAKENET_WITH_NCCL
  // A collective that outlives the timeout raises in wait() instead of the watchdog ending the process.
  setenv("NCCL_BLOCKING_WAIT", "1", 0);
  auto options = c10d::ProcessGroupNCCL::Options::create();
  options->timeout = timeout;
  return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, world_size, options);
#else
  throw sn::InvalidArgument("this libshakenet has no NCCL (it needs a CUDA build of libtorch with NCCL and nccl.h at build time): "
                            "use backend \"gloo\"");
#endif
}

// A flat bucket of consecutive tensors of one dtype and device; `widen`: sent as float32 (Gloo
// has no bfloat16 reduction).
struct Bucket {
  std::vector<at::Tensor> tensors;
  int64_t bytes = 0;
  bool widen = false;
};

// The tensors (or their gradients), grouped by dtype and device in order, cut into buckets of at
// most bucket_bytes each.
std::vector<Bucket> buckets(sn_tensor* const* handles, int32_t count, bool of_grad, int64_t bucket_bytes, bool gloo) {
  if (count < 0) throw sn::InvalidArgument("count is negative");
  if (count > 0) sn::out_arg(handles, "tensors");
  if (bucket_bytes <= 0) throw sn::InvalidArgument("bucket_bytes must be positive");
  std::vector<std::pair<std::string, Bucket>> open;  // one open bucket per (dtype, device), in first-seen order
  std::vector<Bucket> done;
  for (int32_t i = 0; i < count; ++i) {
    std::string name = "tensors[" + std::to_string(i) + "]";
    const at::Tensor& t = sn::ref(handles[i], name.c_str());
    at::Tensor value = of_grad ? t.grad() : t;
    if (!value.defined() || value.numel() == 0) continue;
    if (value.scalar_type() == at::kBool || value.is_complex()) {
      throw sn::InvalidArgument(name + " is " + std::string(c10::toString(value.scalar_type())) +
                                ": collectives take floating-point and integer tensors");
    }
    std::string key = std::string(c10::toString(value.scalar_type())) + "@" + value.device().str();
    Bucket* bucket = nullptr;
    for (auto& entry : open) {
      if (entry.first == key) bucket = &entry.second;
    }
    if (bucket == nullptr) {
      open.emplace_back(key, Bucket{});
      bucket = &open.back().second;
      bucket->widen = gloo && value.scalar_type() == at::kBFloat16;
    }
    int64_t bytes = value.numel() * static_cast<int64_t>(value.element_size());
    if (!bucket->tensors.empty() && bucket->bytes + bytes > bucket_bytes) {
      done.push_back(std::move(*bucket));
      *bucket = Bucket{};
    }
    bucket->tensors.push_back(value);
    bucket->bytes += bytes;
  }
  for (auto& entry : open) {
    if (!entry.second.tensors.empty()) done.push_back(std::move(entry.second));
  }
  return done;
}

// One contiguous tensor holding the bucket (the tensor itself when it is alone and contiguous).
at::Tensor flatten(const Bucket& bucket) {
  if (bucket.widen) {
    std::vector<at::Tensor> flat;
    for (const auto& t : bucket.tensors) flat.push_back(t.reshape({-1}).to(at::kFloat));
    return at::cat(flat);
  }
  if (bucket.tensors.size() == 1 && bucket.tensors[0].is_contiguous()) return bucket.tensors[0].view({-1});
  std::vector<at::Tensor> flat;
  flat.reserve(bucket.tensors.size());
  for (const auto& t : bucket.tensors) flat.push_back(t.reshape({-1}));
  return at::cat(flat);
}

// Copies a flat bucket back into its tensors (nothing to do when it is a view of the only one).
void unflatten(const at::Tensor& flat, const Bucket& bucket) {
  if (!bucket.widen && bucket.tensors.size() == 1 && bucket.tensors[0].is_contiguous()) return;
  int64_t offset = 0;
  for (auto t : bucket.tensors) {
    int64_t n = t.numel();
    t.copy_(flat.narrow(0, offset, n).view(t.sizes()));
    offset += n;
  }
}

// Waits for a collective; its failure (a peer gone, the timeout) is rethrown naming what it was.
void finish(const c10::intrusive_ptr<c10d::Work>& work, const char* what) {
  try {
    work->wait();
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string(what) + " failed: " + message_of(e) +
                             " (another rank stopped or stalled; its own output says why)");
  }
}

sn_process_group& group_ref(sn_process_group* group) {
  if (group == nullptr) throw sn::InvalidArgument("group is NULL");
  return *group;
}

}  // namespace

extern "C" {

int32_t sn_distributed_backends(int32_t* out) {
  SN_GUARD({
    int32_t bits = 1 << SN_BACKEND_GLOO;
#ifdef SHAKENET_WITH_NCCL
    bits |= 1 << SN_BACKEND_NCCL;
#endif
    *sn::out_arg(out, "out") = bits;
  });
}

int32_t sn_store_tcp(const char* host, int32_t port, int32_t is_server, double timeout_seconds, sn_store** out) {
  SN_GUARD({
    sn::out_arg(out, "out");
    if (host == nullptr || *host == '\0') throw sn::InvalidArgument("host is empty");
    if (port < 0 || port > 65535) throw sn::InvalidArgument("port " + std::to_string(port) + " is outside 0..65535");
    if (port == 0 && !is_server) throw sn::InvalidArgument("a client needs the store's port (0 only lets a server pick one)");
    c10d::TCPStoreOptions options;
    options.port = static_cast<uint16_t>(port);
    options.isServer = is_server != 0;
    options.waitWorkers = false;
    options.timeout = millis(timeout_seconds);
    c10::intrusive_ptr<c10d::TCPStore> store;
    try {
      store = c10::make_intrusive<c10d::TCPStore>(host, options);
    } catch (const std::exception& e) {
      throw std::runtime_error(std::string(is_server ? "cannot host the store on " : "cannot reach the store at ") + host + ":" +
                               std::to_string(port) + (is_server ? "" : " within " + seconds_text(timeout_seconds) + " s") + ": " +
                               message_of(e));
    }
    *out = new sn_store{store, static_cast<int32_t>(store->getPort())};
  });
}

int32_t sn_store_file(const char* path, int32_t world_size, double timeout_seconds, sn_store** out) {
  SN_GUARD({
    sn::out_arg(out, "out");
    if (path == nullptr || *path == '\0') throw sn::InvalidArgument("path is empty");
    if (world_size < 1) throw sn::InvalidArgument("world_size must be at least 1");
    auto store = c10::make_intrusive<c10d::FileStore>(path, world_size);
    store->setTimeout(millis(timeout_seconds));
    *out = new sn_store{store, 0};
  });
}

int32_t sn_store_port(const sn_store* store, int32_t* out) {
  SN_GUARD({
    if (store == nullptr) throw sn::InvalidArgument("store is NULL");
    *sn::out_arg(out, "out") = store->port;
  });
}

int32_t sn_store_free(sn_store* store) {
  SN_GUARD({ delete store; });
}

int32_t sn_process_group_new(sn_store* store, const char* prefix, int32_t backend, int32_t rank, int32_t world_size,
                             double timeout_seconds, const char* gloo_host, sn_process_group** out) {
  SN_GUARD({
    sn::out_arg(out, "out");
    if (store == nullptr) throw sn::InvalidArgument("store is NULL");
    if (world_size < 1) throw sn::InvalidArgument("world size " + std::to_string(world_size) + " must be at least 1");
    if (rank < 0 || rank >= world_size) {
      throw sn::InvalidArgument("rank " + std::to_string(rank) + " is outside 0.." + std::to_string(world_size - 1) + " (world size " +
                                std::to_string(world_size) + ")");
    }
    if (backend != SN_BACKEND_GLOO && backend != SN_BACKEND_NCCL) throw sn::InvalidArgument("unknown backend " + std::to_string(backend));
    auto timeout = millis(timeout_seconds);
    c10::intrusive_ptr<c10d::Store> scoped = store->store;
    if (prefix != nullptr && *prefix != '\0') scoped = c10::make_intrusive<c10d::PrefixStore>(prefix, store->store);
    scoped->setTimeout(timeout);
    check_membership(*scoped, rank, world_size, timeout_seconds);
    auto group = backend == SN_BACKEND_GLOO ? gloo_group(scoped, rank, world_size, timeout, gloo_host)
                                            : nccl_group(scoped, rank, world_size, timeout);
    *out = new sn_process_group{group, scoped, world_size, backend == SN_BACKEND_GLOO};
  });
}

int32_t sn_allreduce(sn_process_group* group, sn_tensor* const* tensors, int32_t count, int32_t of_grad, int32_t average,
                     int64_t bucket_bytes) {
  SN_GUARD({
    sn_process_group& g = group_ref(group);
    c10::NoGradGuard no_grad;
    std::vector<Bucket> all = buckets(tensors, count, of_grad != 0, bucket_bytes, g.gloo);
    // Every bucket is handed to the backend before the first is waited for, so packing the
    // next bucket overlaps the transfer of the previous one.
    std::vector<at::Tensor> flats;
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    for (const auto& bucket : all) {
      std::vector<at::Tensor> one{flatten(bucket)};
      works.push_back(g.group->allreduce(one));
      flats.push_back(one[0]);
    }
    for (size_t i = 0; i < all.size(); ++i) {
      finish(works[i], "allreduce");
      if (average) flats[i].div_(g.world_size);
      unflatten(flats[i], all[i]);
    }
  });
}

int32_t sn_broadcast(sn_process_group* group, sn_tensor* const* tensors, int32_t count, int32_t root, int64_t bucket_bytes) {
  SN_GUARD({
    sn_process_group& g = group_ref(group);
    if (root < 0 || root >= g.world_size) throw sn::InvalidArgument("root " + std::to_string(root) + " is not a rank");
    c10::NoGradGuard no_grad;
    std::vector<Bucket> all = buckets(tensors, count, false, bucket_bytes, g.gloo);
    std::vector<at::Tensor> flats;
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    c10d::BroadcastOptions options;
    options.rootRank = root;
    for (const auto& bucket : all) {
      std::vector<at::Tensor> one{flatten(bucket)};
      works.push_back(g.group->broadcast(one, options));
      flats.push_back(one[0]);
    }
    for (size_t i = 0; i < all.size(); ++i) {
      finish(works[i], "broadcast");
      unflatten(flats[i], all[i]);
    }
  });
}

int32_t sn_barrier(sn_process_group* group) {
  SN_GUARD({ finish(group_ref(group).group->barrier(), "barrier"); });
}

int32_t sn_process_group_free(sn_process_group* group) {
  SN_GUARD({ delete group; });
}

}  // extern "C"

#else  // no c10d Gloo in this build

namespace {

[[noreturn]] void absent() {
  throw sn::InvalidArgument(
      "this libshakenet was built without c10d's Gloo (distributed training): install libgloo-dev and rebuild native/ "
      "(bin/setup does both)");
}

}  // namespace

extern "C" {

int32_t sn_distributed_backends(int32_t* out) {
  SN_GUARD({ *sn::out_arg(out, "out") = 0; });
}
int32_t sn_store_tcp(const char*, int32_t, int32_t, double, sn_store**) {
  SN_GUARD({ absent(); });
}
int32_t sn_store_file(const char*, int32_t, double, sn_store**) {
  SN_GUARD({ absent(); });
}
int32_t sn_store_port(const sn_store*, int32_t*) {
  SN_GUARD({ absent(); });
}
int32_t sn_store_free(sn_store* store) {
  SN_GUARD({
    if (store != nullptr) absent();
  });
}
int32_t sn_process_group_new(sn_store*, const char*, int32_t, int32_t, int32_t, double, const char*, sn_process_group**) {
  SN_GUARD({ absent(); });
}
int32_t sn_allreduce(sn_process_group*, sn_tensor* const*, int32_t, int32_t, int32_t, int64_t) {
  SN_GUARD({ absent(); });
}
int32_t sn_broadcast(sn_process_group*, sn_tensor* const*, int32_t, int32_t, int64_t) {
  SN_GUARD({ absent(); });
}
int32_t sn_barrier(sn_process_group*) {
  SN_GUARD({ absent(); });
}
int32_t sn_process_group_free(sn_process_group* group) {
  SN_GUARD({
    if (group != nullptr) absent();
  });
}

}  // extern "C"

#endif

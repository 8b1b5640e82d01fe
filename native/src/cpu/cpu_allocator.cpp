// A caching allocator for CPU tensors, installed in place of libtorch's default one.
//
// Why: a training step frees and re-allocates the same large activation and gradient buffers
// every step. Through glibc's malloc (libtorch's default) those blocks land in the heap once the
// dynamic mmap threshold has risen to their size, and the heap fragments: for a Shake-Shake-26
// 2x32d step that holds 0.98 GB live, the process's peak resident memory wandered between 1.43
// and 1.57 GB from run to run (1.31 GB with this allocator).
//
// Here a block of kCachedBytes or more is mapped with mmap (2 MiB aligned, with transparent huge
// pages, from 2 MiB up), and when freed it waits for the next request of exactly its
// page-rounded size, which in a training loop is the same op one step later: no malloc, no page
// faults. A request no idle block fits is served from idle blocks' resident pages while there
// are any: the front of a larger one, or whole huge-page blocks gathered into one range by
// moving their page tables (mremap); only what they cannot cover is mapped anew. Idle blocks
// are unmapped while the mapped total is above the most the cached blocks were ever needed for
// at once (live plus one request). So memory stays bounded by the true peak, and sizes whose
// peaks fall at different moments of a step, or shapes that change (evaluation, a short last
// batch), cost neither growth nor page faults. (Mapping afresh below that bound and resizing
// one idle block above it, as this did before, faulted in zeroed pages every step: a 30-step
// bench of 2x32d at batch 64 took 245,000 page faults and about 4 s of kernel time, against
// 52,000 and 1.9 s now, most of both at start-up.)
//
// Smaller blocks use aligned malloc. Every byte is counted, so the bench can report the peak
// bytes held by CPU tensors.
#include <c10/core/CPUAllocator.h>
#include <c10/core/alignment.h>

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <map>
#include <mutex>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "shim.hpp"

namespace {

constexpr size_t kCachedBytes = 256 * 1024;
constexpr size_t kPageBytes = 4096;
constexpr size_t kHugePageBytes = 2 * 1024 * 1024;

struct Block {
  size_t bytes;  // rounded: what the block holds
  bool mapped;   // from mmap (cached when freed) or from posix_memalign
};

class BlockCache {
 public:
  void* take(size_t requested) {
    bool cached = requested >= kCachedBytes;
    size_t bytes = cached ? round_up(requested, kPageBytes) : requested;
    std::lock_guard<std::mutex> lock(mutex_);
    void* data = cached ? reuse(bytes) : nullptr;
    if (data != nullptr) {
      stats_.hits++;
    } else {
      if (cached) {
        stats_.misses++;
        data = recycle(bytes);
      }
      if (data == nullptr) data = fresh(bytes, cached);
    }
    stats_.live_bytes += static_cast<int64_t>(cached ? blocks_.at(data).bytes : bytes);  // may exceed `bytes` (split_front)
    stats_.peak_live_bytes = std::max(stats_.peak_live_bytes, stats_.live_bytes);
    return data;
  }

  // False for a block this cache never handed out (see free_block).
  bool give_back(void* data) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = blocks_.find(data);
    if (it == blocks_.end()) return false;
    Block block = it->second;
    stats_.live_bytes -= static_cast<int64_t>(block.bytes);
    if (block.mapped) {
      add_idle(data, block.bytes);
    } else {
      blocks_.erase(it);
      std::free(data);
    }
    return true;
  }

  void release_idle() {
    std::lock_guard<std::mutex> lock(mutex_);
    while (!idle_.empty()) release(idle_.begin());
  }

  sn_cpu_memory_stats stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }

  // Restarts the peaks, and the demand that bounds the mapped total, from what is held now.
  void reset_peak() {
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.peak_live_bytes = stats_.live_bytes;
    stats_.peak_mapped_bytes = stats_.mapped_bytes;
    demand_peak_ = cached_live();
  }

 private:
  static size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

  void* reuse(size_t bytes) {
    auto it = idle_.find(bytes);
    return it == idle_.end() ? nullptr : pop_idle(it);
  }

  // A miss is served from idle blocks' pages while there are any, rather than from a fresh
  // mapping, whose pages would all fault in and be zeroed: the front of the smallest idle block
  // that covers the request (its tail stays idle as a block of its own), else idle blocks
  // gathered into one range by moving their page tables (mremap), with only the part they do
  // not cover left to fault in. Then idle blocks are unmapped while the mapped total is above
  // the most the cached blocks were ever needed for at once (live plus a request). Null when
  // nothing is idle.
  void* recycle(size_t bytes) {
    int64_t request = static_cast<int64_t>(bytes);
    demand_peak_ = std::max(demand_peak_, cached_live() + request);
    if (idle_.empty()) return nullptr;
    auto fit = idle_.lower_bound(bytes);
    void* data = fit != idle_.end() ? split_front(fit, bytes) : gather(bytes);
    if (data == nullptr) return nullptr;
    while (stats_.mapped_bytes > demand_peak_ && !idle_.empty()) {
      release(best_fit(static_cast<size_t>(stats_.mapped_bytes - demand_peak_)));
    }
    stats_.peak_mapped_bytes = std::max(stats_.peak_mapped_bytes, stats_.mapped_bytes);
    return data;
  }

  // The first `bytes` of the idle block `it` points to, handed out; the rest stays idle (one
  // mapping can hold several blocks: munmap and mremap work on any page range of it). A rest
  // under kCachedBytes goes out with the block, so that tails never shrink to a few pages.
  void* split_front(std::map<size_t, std::vector<void*>>::iterator it, size_t bytes) {
    size_t whole = it->first;
    void* data = pop_idle(it);
    if (whole - bytes >= kCachedBytes) {
      blocks_[data].bytes = bytes;
      add_idle(static_cast<char*>(data) + bytes, whole - bytes);
    }
    return data;
  }

  // A new range of `bytes` whose pages come, where they can, from idle blocks moved into it
  // without copying or faulting; the rest faults in on first touch like a fresh mapping. Only
  // whole idle blocks of 2 MiB multiples on 2 MiB boundaries move, largest first, each to a
  // 2 MiB boundary: they keep their huge pages, and each move adds a mapping (a VMA) of at
  // least 2 MiB. (Moving any piece, down to single pages, let the kernel's count of mappings
  // grow by about 80 a second in training, towards its limit of 65,530.) Null (nothing
  // changed) when the range cannot be mapped.
  void* gather(size_t bytes) {
    char* range = static_cast<char*>(map(bytes));
    if (range == nullptr) return nullptr;
    size_t filled = 0;
    for (auto it = idle_.rbegin(); it != idle_.rend();) {
      size_t piece = it->first;
      auto& list = it->second;
      auto aligned = std::find_if(list.begin(), list.end(), [](void* p) { return is_huge_aligned(p); });
      if (piece % kHugePageBytes != 0 || piece > bytes - filled || aligned == list.end()) {
        ++it;
        continue;
      }
      void* source = *aligned;
      list.erase(aligned);
      stats_.idle_bytes -= static_cast<int64_t>(piece);
      if (list.empty()) it = std::make_reverse_iterator(idle_.erase(std::next(it).base()));
      move_into(range + filled, source, piece);
      filled += piece;
    }
    blocks_.emplace(range, Block{bytes, true});
    stats_.mapped_bytes += static_cast<int64_t>(bytes);
    return range;
  }

  static bool is_huge_aligned(void* p) { return reinterpret_cast<uintptr_t>(p) % kHugePageBytes == 0; }

  // Moves the pages of an idle block (off the idle lists already) to `at`, in place of the
  // pages there. On failure they go back to the OS and `at` keeps its own.
  void move_into(char* at, void* source, size_t bytes) {
    blocks_.erase(source);
    stats_.mapped_bytes -= static_cast<int64_t>(bytes);
    if (mremap(source, bytes, bytes, MREMAP_MAYMOVE | MREMAP_FIXED, at) == MAP_FAILED) {
      munmap(source, bytes);
      stats_.released_bytes += static_cast<int64_t>(bytes);
    }
  }

  void add_idle(void* data, size_t bytes) {
    blocks_[data] = Block{bytes, true};
    idle_[bytes].push_back(data);
    stats_.idle_bytes += static_cast<int64_t>(bytes);
  }

  std::map<size_t, std::vector<void*>>::iterator best_fit(size_t bytes) {
    auto fit = idle_.lower_bound(bytes);
    return fit != idle_.end() ? fit : std::prev(idle_.end());
  }

  // Takes one idle block of the size `it` points to off the idle lists.
  void* pop_idle(std::map<size_t, std::vector<void*>>::iterator it) {
    void* data = it->second.back();
    stats_.idle_bytes -= static_cast<int64_t>(it->first);
    it->second.pop_back();
    if (it->second.empty()) idle_.erase(it);
    return data;
  }

  int64_t cached_live() const { return stats_.mapped_bytes - stats_.idle_bytes; }

  // Unmaps one idle block of the size `it` points to.
  void release(std::map<size_t, std::vector<void*>>::iterator it) {
    size_t bytes = it->first;
    void* data = pop_idle(it);
    munmap(data, bytes);
    blocks_.erase(data);
    stats_.mapped_bytes -= static_cast<int64_t>(bytes);
    stats_.released_bytes += static_cast<int64_t>(bytes);
  }

  void* fresh(size_t bytes, bool mapped) {
    void* data = nullptr;
    if (mapped) {
      data = map(bytes);
    } else if (posix_memalign(&data, c10::gAlignment, bytes) != 0) {
      data = nullptr;
    }
    TORCH_CHECK(data != nullptr, "ShakeNet's CPU allocator: out of memory: cannot allocate ", bytes,
                " bytes (", stats_.live_bytes, " bytes held by tensors)");
    blocks_.emplace(data, Block{bytes, mapped});
    if (mapped) {
      stats_.mapped_bytes += static_cast<int64_t>(bytes);
      stats_.peak_mapped_bytes = std::max(stats_.peak_mapped_bytes, stats_.mapped_bytes);
    }
    return data;
  }

  // Anonymous memory for a cached block. Blocks of 2 MiB and more start on a 2 MiB boundary and
  // ask for transparent huge pages: 512 times fewer page faults and TLB entries for the large
  // activations (their sizes are mostly whole multiples of 2 MiB).
  static void* map(size_t bytes) {
    if (bytes < kHugePageBytes) {
      void* data = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      return data == MAP_FAILED ? nullptr : data;
    }
    size_t span = bytes + kHugePageBytes;
    void* raw = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return nullptr;
    uintptr_t start = reinterpret_cast<uintptr_t>(raw);
    uintptr_t aligned = (start + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
    if (aligned > start) munmap(raw, aligned - start);
    size_t tail = start + span - (aligned + bytes);
    if (tail > 0) munmap(reinterpret_cast<void*>(aligned + bytes), tail);
    void* data = reinterpret_cast<void*>(aligned);
    madvise(data, bytes, MADV_HUGEPAGE);
    return data;
  }

  std::mutex mutex_;
  std::unordered_map<void*, Block> blocks_;                 // every block handed out or idle
  std::map<size_t, std::vector<void*>> idle_;               // freed mapped blocks by size, none empty
  int64_t demand_peak_ = 0;  // most cached live + requested bytes since the last reset
  sn_cpu_memory_stats stats_{};
};

BlockCache& cache() {
  static BlockCache* instance = new BlockCache();  // never destroyed: tensors may outlive exit
  return *instance;
}

// The context is the data pointer itself, as raw_allocate (used by oneDNN through ideep) requires.
// ideep frees through whichever allocator is installed at the time, so a block the default
// allocator handed out before the switch can arrive here: it goes back to that allocator.
void free_block(void* data) {
  if (!cache().give_back(data)) c10::GetDefaultCPUAllocator()->raw_deleter()(data);
}

c10::DataPtr allocate_block(size_t bytes) {
  if (bytes == 0) return {nullptr, c10::Device(c10::DeviceType::CPU)};
  void* data = cache().take(bytes);
  return {data, data, &free_block, c10::Device(c10::DeviceType::CPU)};
}

// libtorch 1.x declares Allocator::allocate const, 2.x (from 2.3) not, and 2.x adds copy_data:
// the matching partial specialization is the only one instantiated.
template <bool ConstAllocate, typename = void>
struct CachingAllocator;

template <typename Unused>
struct CachingAllocator<true, Unused> final : c10::Allocator {
  c10::DataPtr allocate(size_t bytes) const override { return allocate_block(bytes); }
  c10::DeleterFnPtr raw_deleter() const override { return &free_block; }
  void copy_data(void* dest, const void* src, std::size_t count) const { std::memcpy(dest, src, count); }
};

template <typename Unused>
struct CachingAllocator<false, Unused> final : c10::Allocator {
  c10::DataPtr allocate(size_t bytes) override { return allocate_block(bytes); }
  c10::DeleterFnPtr raw_deleter() const override { return &free_block; }
  void copy_data(void* dest, const void* src, std::size_t count) const { std::memcpy(dest, src, count); }
};

constexpr bool kConstAllocate =
    std::is_same_v<decltype(&c10::Allocator::allocate), c10::DataPtr (c10::Allocator::*)(size_t) const>;

c10::Allocator* caching_allocator() {
  static CachingAllocator<kConstAllocate> instance;
  return &instance;
}

// Above the default allocator's priority (0), so that either can be put back later.
constexpr uint8_t kPriority = 1;

}  // namespace

extern "C" {

int32_t sn_cpu_allocator_use_caching(int32_t caching) {
  SN_GUARD({ c10::SetCPUAllocator(caching ? caching_allocator() : c10::GetDefaultCPUAllocator(), kPriority); });
}

int32_t sn_cpu_allocator_is_caching(int32_t* out) {
  SN_GUARD({ *sn::out_arg(out, "out") = c10::GetCPUAllocator() == caching_allocator(); });
}

int32_t sn_cpu_memory(sn_cpu_memory_stats* out) {
  SN_GUARD({ *sn::out_arg(out, "out") = cache().stats(); });
}

int32_t sn_cpu_memory_reset_peak(void) {
  SN_GUARD({ cache().reset_peak(); });
}

int32_t sn_cpu_memory_release_idle(void) {
  SN_GUARD({ cache().release_idle(); });
}

}  // extern "C"

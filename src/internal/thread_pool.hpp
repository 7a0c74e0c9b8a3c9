// tailor: a small fixed-size thread pool for the library's own data-parallel loops (training).
//
// A ThreadPool of size n owns n - 1 worker threads; the thread that calls parallel_for works as the
// n-th, so a pool of size 1 runs everything inline and a pool never keeps more threads busy than its
// size. The pool never touches global threading state (no OpenMP, no Eigen::setNbThreads).
//
// parallel_for splits [begin, end) into chunks of `grain` indices; chunk boundaries depend only on
// begin, end and grain (never on the number of threads), so a loop whose chunks write disjoint
// outputs, or whose per-chunk partial results are combined in chunk order, gives the same result for
// every pool size. The first exception thrown by a chunk is rethrown in the caller after every
// running chunk has finished; chunks not yet started are skipped. A parallel_for issued from inside a
// chunk of the same pool runs inline on the calling thread (no deadlock).
//
// Thread-safety: thread-safe. Concurrent parallel_for calls from different threads are serialized.
//
// **Example**:
//   tailor::ThreadPool pool(0);  // hardware threads
//   pool.parallel_for(0, n, 256, [&](std::size_t lo, std::size_t hi, std::size_t worker) {
//     for (std::size_t i = lo; i < hi; ++i) out[i] = f(i, scratch[worker]);
//   });
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace tailor::detail {

class ThreadPool {
 public:
  /// A pool of `threads` threads counting the caller; 0 means hardware_threads().
  explicit ThreadPool(std::size_t threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  /// Number of threads that run a parallel_for, the caller included (>= 1).
  std::size_t size() const noexcept { return workers_.size() + 1; }

  /// std::thread::hardware_concurrency(), or 1 when it is unknown.
  static std::size_t hardware_threads() noexcept;

  /// Calls fn(chunk_begin, chunk_end, worker) for consecutive chunks of at most `grain` indices
  /// covering [begin, end), or fn(chunk_begin, chunk_end) if fn takes two arguments. `worker` is in
  /// [0, size()) and no two chunks with the same `worker` run at the same time, so it may index
  /// per-thread scratch. Blocks until all chunks are done; rethrows the first exception of a chunk.
  /// grain == 0 is treated as 1.
  template <class F>
  void parallel_for(std::size_t begin, std::size_t end, std::size_t grain, F&& fn) {
    using Fn = std::remove_reference_t<F>;
    auto call = [](void* ctx, std::size_t lo, std::size_t hi, std::size_t worker) {
      Fn& f = *static_cast<Fn*>(ctx);
      if constexpr (std::is_invocable_v<Fn&, std::size_t, std::size_t, std::size_t>) {
        f(lo, hi, worker);
      } else {
        static_assert(std::is_invocable_v<Fn&, std::size_t, std::size_t>,
                      "parallel_for: fn must be callable as fn(lo, hi, worker) or fn(lo, hi)");
        (void)worker;
        f(lo, hi);
      }
    };
    run(begin, end, grain, call, const_cast<void*>(static_cast<const void*>(&fn)));
  }

 private:
  using ChunkFn = void (*)(void*, std::size_t, std::size_t, std::size_t);

  void run(std::size_t begin, std::size_t end, std::size_t grain, ChunkFn fn, void* ctx);
  void worker_loop(std::size_t worker);
  // Takes chunks of the current job until none are left or one has failed.
  void drain(std::size_t worker);

  std::vector<std::thread> workers_;
  std::mutex submit_mutex_;  // one job at a time

  std::mutex mutex_;
  std::condition_variable wake_;  // workers wait for a new job or stop
  std::condition_variable done_;  // the caller waits for workers to finish a job
  std::size_t generation_ = 0;    // bumped for every job
  std::size_t busy_ = 0;          // workers still inside the current job
  bool stop_ = false;

  // The current job.
  ChunkFn fn_ = nullptr;
  void* ctx_ = nullptr;
  std::size_t begin_ = 0, end_ = 0, grain_ = 1;
  std::atomic<std::size_t> next_chunk_{0};
  std::atomic<bool> failed_{false};
  std::exception_ptr error_;  // guarded by mutex_
};

}  // namespace tailor::detail

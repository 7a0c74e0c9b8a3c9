#include "internal/thread_pool.hpp"

#include <algorithm>

namespace tailor::detail {
namespace {

// The pool whose chunk the current thread is running, and that thread's worker number; lets a
// parallel_for issued from inside a chunk run inline instead of waiting for itself.
thread_local const ThreadPool* tls_pool = nullptr;
thread_local std::size_t tls_worker = 0;

struct ScopedCurrentPool {
  ScopedCurrentPool(const ThreadPool* pool, std::size_t worker)
      : saved_pool(tls_pool), saved_worker(tls_worker) {
    tls_pool = pool;
    tls_worker = worker;
  }
  ~ScopedCurrentPool() {
    tls_pool = saved_pool;
    tls_worker = saved_worker;
  }
  ScopedCurrentPool(const ScopedCurrentPool&) = delete;
  ScopedCurrentPool& operator=(const ScopedCurrentPool&) = delete;
  const ThreadPool* saved_pool;
  std::size_t saved_worker;
};

}  // namespace

std::size_t ThreadPool::hardware_threads() noexcept {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<std::size_t>(n);
}

ThreadPool::ThreadPool(std::size_t threads) {
  const std::size_t n = threads == 0 ? hardware_threads() : threads;
  workers_.reserve(n - 1);
  try {
    for (std::size_t w = 1; w < n; ++w) workers_.emplace_back([this, w] { worker_loop(w); });
  } catch (...) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
    throw;
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::drain(std::size_t worker) {
  const std::size_t chunks = (end_ - begin_ + grain_ - 1) / grain_;
  while (!failed_.load(std::memory_order_relaxed)) {
    const std::size_t c = next_chunk_.fetch_add(1, std::memory_order_relaxed);
    if (c >= chunks) break;
    const std::size_t lo = begin_ + c * grain_;
    const std::size_t hi = std::min(end_, lo + grain_);
    try {
      fn_(ctx_, lo, hi, worker);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
      failed_.store(true, std::memory_order_relaxed);
    }
  }
}

void ThreadPool::worker_loop(std::size_t worker) {
  std::size_t seen = 0;
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
    if (stop_) return;
    seen = generation_;
    lock.unlock();
    {
      ScopedCurrentPool scope(this, worker);
      drain(worker);
    }
    lock.lock();
    if (--busy_ == 0) done_.notify_one();
  }
}

void ThreadPool::run(std::size_t begin, std::size_t end, std::size_t grain, ChunkFn fn,
                     void* ctx) {
  if (begin >= end) return;
  if (grain == 0) grain = 1;
  const std::size_t chunks = (end - begin + grain - 1) / grain;
  if (workers_.empty() || chunks == 1 || tls_pool == this) {
    const std::size_t worker = tls_pool == this ? tls_worker : 0;
    for (std::size_t lo = begin; lo < end; lo = lo + std::min(grain, end - lo)) {
      fn(ctx, lo, lo + std::min(grain, end - lo), worker);
    }
    return;
  }

  std::lock_guard<std::mutex> submit(submit_mutex_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    fn_ = fn;
    ctx_ = ctx;
    begin_ = begin;
    end_ = end;
    grain_ = grain;
    next_chunk_.store(0, std::memory_order_relaxed);
    failed_.store(false, std::memory_order_relaxed);
    error_ = nullptr;
    busy_ = workers_.size();
    ++generation_;
  }
  wake_.notify_all();
  {
    ScopedCurrentPool scope(this, 0);
    drain(0);
  }
  std::exception_ptr error;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return busy_ == 0; });
    error = error_;
    error_ = nullptr;
    fn_ = nullptr;
    ctx_ = nullptr;
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace tailor::detail

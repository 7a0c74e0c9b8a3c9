#include "internal/thread_pool.hpp"

#include <atomic>
#include <numeric>
#include <stdexcept>
#include <thread>
#include <vector>

#include "catch.hpp"

using tailor::detail::ThreadPool;

TEST_CASE("ThreadPool covers every index exactly once", "[thread_pool]") {
  for (std::size_t threads : {1, 2, 3, 8}) {
    ThreadPool pool(threads);
    CHECK(pool.size() == threads);
    for (std::size_t grain : {0, 1, 7, 1000}) {
      std::vector<std::atomic<int>> hits(1013);
      pool.parallel_for(5, hits.size(), grain, [&](std::size_t lo, std::size_t hi) {
        for (std::size_t i = lo; i < hi; ++i) hits[i].fetch_add(1);
      });
      for (std::size_t i = 0; i < hits.size(); ++i) REQUIRE(hits[i].load() == (i < 5 ? 0 : 1));
    }
    // Empty range: fn is never called.
    bool called = false;
    pool.parallel_for(3, 3, 1, [&](std::size_t, std::size_t) { called = true; });
    CHECK_FALSE(called);
  }
  CHECK(ThreadPool(0).size() == ThreadPool::hardware_threads());
}

TEST_CASE("ThreadPool worker numbers are in range and never shared at once", "[thread_pool]") {
  ThreadPool pool(4);
  std::vector<std::atomic<int>> in_use(pool.size());
  std::atomic<bool> overlap{false}, out_of_range{false};
  for (int round = 0; round < 20; ++round) {
    pool.parallel_for(0, 400, 3, [&](std::size_t lo, std::size_t hi, std::size_t worker) {
      if (worker >= pool.size()) {
        out_of_range = true;
        return;
      }
      if (in_use[worker].fetch_add(1) != 0) overlap = true;
      volatile std::size_t sink = 0;
      for (std::size_t i = lo; i < hi; ++i) sink = sink + i;
      in_use[worker].fetch_sub(1);
    });
  }
  CHECK_FALSE(overlap.load());
  CHECK_FALSE(out_of_range.load());
}

TEST_CASE("ThreadPool chunk results combined in order do not depend on the thread count",
          "[thread_pool]") {
  std::vector<float> data(100000);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = 1.0f / static_cast<float>(i + 1);
  auto sum_with = [&](std::size_t threads) {
    ThreadPool pool(threads);
    const std::size_t grain = 1000;
    std::vector<float> partial((data.size() + grain - 1) / grain);
    pool.parallel_for(0, data.size(), grain, [&](std::size_t lo, std::size_t hi) {
      float s = 0.0f;
      for (std::size_t i = lo; i < hi; ++i) s += data[i];
      partial[lo / grain] = s;
    });
    return std::accumulate(partial.begin(), partial.end(), 0.0f);
  };
  const float one = sum_with(1);
  CHECK(sum_with(2) == one);
  CHECK(sum_with(5) == one);
}

TEST_CASE("ThreadPool rethrows a task's exception in the caller and stays usable",
          "[thread_pool]") {
  ThreadPool pool(3);
  std::atomic<int> ran{0};
  CHECK_THROWS_WITH(pool.parallel_for(0, 1000, 1,
                                      [&](std::size_t lo, std::size_t) {
                                        ran.fetch_add(1);
                                        if (lo == 17) throw std::runtime_error("chunk 17 failed");
                                      }),
                    "chunk 17 failed");
  CHECK(ran.load() >= 1);
  // Single-threaded pools and single-chunk loops throw the same way.
  ThreadPool solo(1);
  CHECK_THROWS_AS(solo.parallel_for(0, 10, 1,
                                    [](std::size_t lo, std::size_t) {
                                      if (lo == 3) throw std::logic_error("x");
                                    }),
                  std::logic_error);
  // The pool still works afterwards.
  std::atomic<int> count{0};
  pool.parallel_for(0, 100, 10, [&](std::size_t lo, std::size_t hi) {
    count.fetch_add(static_cast<int>(hi - lo));
  });
  CHECK(count.load() == 100);
}

TEST_CASE("ThreadPool runs nested loops inline and serializes concurrent callers",
          "[thread_pool]") {
  ThreadPool pool(2);
  std::atomic<int> total{0};
  pool.parallel_for(0, 8, 1, [&](std::size_t, std::size_t) {
    pool.parallel_for(0, 10, 3, [&](std::size_t lo, std::size_t hi) {
      total.fetch_add(static_cast<int>(hi - lo));
    });
  });
  CHECK(total.load() == 80);

  std::atomic<long> sum{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&] {
      for (int r = 0; r < 50; ++r) {
        pool.parallel_for(0, 64, 4, [&](std::size_t lo, std::size_t hi) {
          for (std::size_t i = lo; i < hi; ++i) sum.fetch_add(static_cast<long>(i));
        });
      }
    });
  }
  for (auto& c : callers) c.join();
  CHECK(sum.load() == 4L * 50L * (63L * 64L / 2L));
}

TEST_CASE("ThreadPool construction and destruction never hang", "[thread_pool]") {
  for (int i = 0; i < 50; ++i) {
    ThreadPool pool(static_cast<std::size_t>(1 + i % 4));
    if (i % 2 == 0) {
      pool.parallel_for(0, 10, 1, [](std::size_t, std::size_t) {});
    }
  }
  SUCCEED();
}

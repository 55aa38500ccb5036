#include <doctest/doctest.h>

#include <atomic>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "parallel.hpp"

using sde::parallel_for;

TEST_CASE("every index is visited exactly once, for any thread count and chunk") {
  for (int threads : {1, 2, 3, 8}) {
    for (std::size_t chunk : {1u, 7u, 64u, 1000u}) {
      std::vector<std::atomic<int>> seen(997);
      parallel_for(seen.size(), chunk, threads, [&](std::size_t b, std::size_t e) {
        CHECK(e - b <= chunk);
        for (std::size_t i = b; i < e; ++i) ++seen[i];
      });
      for (auto& s : seen) CHECK(s == 1);
    }
  }
}

TEST_CASE("the pool is reused across many calls and nested calls run serially") {
  std::atomic<long> total{0};
  for (int call = 0; call < 2000; ++call)
    parallel_for(16, 1, 2, [&](std::size_t b, std::size_t e) {
      // A nested parallel_for inside a worker must not wait on the busy pool.
      parallel_for(4, 1, 2, [&](std::size_t nb, std::size_t ne) { total += long(ne - nb); });
      total += long(e - b);
    });
  CHECK(total == 2000L * (16 + 16 * 4));
}

TEST_CASE("an exception in a chunk reaches the caller, and the pool keeps working") {
  CHECK_THROWS_AS(parallel_for(100, 10, 2,
                               [](std::size_t b, std::size_t) {
                                 if (b == 50) throw std::runtime_error("chunk 5");
                               }),
                  std::runtime_error);
  std::atomic<int> count{0};
  parallel_for(100, 10, 2, [&](std::size_t b, std::size_t e) { count += int(e - b); });
  CHECK(count == 100);
}

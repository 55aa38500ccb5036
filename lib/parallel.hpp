// Deterministic data parallelism: a range of rows is cut into fixed chunks
// (whose boundaries do not depend on the thread count), and threads take
// chunks. Every row's result depends only on the row, so output is the same
// for any number of threads.
#pragma once
#include <cstddef>
#include <functional>

namespace sde {

// Number of hardware threads (at least 1).
int hardware_threads();

// Calls body(begin, end) for consecutive chunks [begin, end) of [0, n), each
// at most `chunk` long, on up to `threads` threads. Exceptions thrown by a
// body are rethrown (the first, by chunk order) after all threads stop.
void parallel_for(std::size_t n, std::size_t chunk, int threads,
                  const std::function<void(std::size_t, std::size_t)>& body);

}  // namespace sde

// The forward process: pushing data x(0) along an SDE to later times, either
// through the exact transition kernels or by Euler-Maruyama simulation.
#pragma once
#include <cstdint>
#include <vector>

#include "progress.hpp"
#include "sde.hpp"
#include "types.hpp"

namespace sde {

enum class ForwardMethod { kernel, euler_maruyama };

struct ForwardOptions {
  ForwardMethod method = ForwardMethod::kernel;
  int em_steps = 1000;       // Euler-Maruyama steps over [0, times.back()]
  std::uint64_t seed = 0;
  std::uint64_t first_row = 0;  // global index of x0's first row (for --shard)
  int threads = 1;
};

// One coherent path per row of x0 (N x d), observed at the non-decreasing
// times (each in [0, T]). Returns a (K N) x d matrix: rows [k N, (k+1) N)
// hold x(times[k]). With the kernel method each frame follows the previous
// one by the exact transition kernel, so every frame is an exact draw of
// p_t(. | x0) and the frames form a true sample path. Row i's noise at
// frame or step j comes from Stream(seed, Purpose::noise, first_row + i, j),
// so the result does not depend on threads or sharding.
Matrix simulate_forward(const Sde& sde, const Matrix& x0, const std::vector<double>& times,
                        const ForwardOptions& options, Progress& progress);

// Throws sde::Error unless times are non-empty, finite, in [0, T] and non-decreasing.
void check_times(const Sde& sde, const std::vector<double>& times);

}  // namespace sde

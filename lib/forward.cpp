#include "forward.hpp"

#include <cmath>
#include <fmt/format.h>

#include "error.hpp"
#include "parallel.hpp"
#include "rng.hpp"

namespace sde {

void check_times(const Sde& sde, const std::vector<double>& times) {
  if (times.empty()) throw Error("no times given");
  for (std::size_t k = 0; k < times.size(); ++k) {
    if (!std::isfinite(times[k]) || times[k] < 0 || times[k] > sde.T)
      throw Error(fmt::format("time {} is outside [0, {}]", times[k], sde.T));
    if (k > 0 && times[k] < times[k - 1])
      throw Error(fmt::format("times must be non-decreasing ({} after {})", times[k], times[k - 1]));
  }
}

namespace {

// Number of Euler-Maruyama steps for each interval between frames, so that
// the whole path takes about `total` steps of equal length.
std::vector<int> steps_per_interval(const std::vector<double>& times, int total) {
  std::vector<int> steps(times.size());
  const double t_end = times.back();
  double prev = 0;
  for (std::size_t k = 0; k < times.size(); ++k) {
    const double span = times[k] - prev;
    steps[k] = t_end > 0 ? static_cast<int>(std::ceil(total * span / t_end - 1e-9)) : 0;
    prev = times[k];
  }
  return steps;
}

}  // namespace

Matrix simulate_forward(const Sde& sde, const Matrix& x0, const std::vector<double>& times,
                        const ForwardOptions& options, Progress& progress) {
  check_times(sde, times);
  if (options.method == ForwardMethod::euler_maruyama && options.em_steps < 1)
    throw Error("Euler-Maruyama needs at least one step");
  const Eigen::Index n = x0.rows(), d = x0.cols();
  const auto frames = static_cast<Eigen::Index>(times.size());
  Matrix out(frames * n, d);
  const std::vector<int> em_steps = steps_per_interval(times, options.em_steps);

  parallel_for(static_cast<std::size_t>(n), 256, options.threads, [&](std::size_t begin,
                                                                       std::size_t end) {
    RowVector x(d), z(d);
    for (auto i = static_cast<Eigen::Index>(begin); i < static_cast<Eigen::Index>(end); ++i) {
      x = x0.row(i);
      const std::uint64_t row = options.first_row + static_cast<std::uint64_t>(i);
      std::uint64_t step = 0;  // index of the noise draw along this path
      double t = 0;
      for (Eigen::Index k = 0; k < frames; ++k) {
        const double target = times[static_cast<std::size_t>(k)];
        if (options.method == ForwardMethod::kernel) {
          const Sde::Step s = sde.transition(t, target);
          Stream(options.seed, Purpose::noise, row, step++).normals(z.data(), static_cast<int>(d));
          x += s.F * x + s.G * z;
        } else {
          const int m = em_steps[static_cast<std::size_t>(k)];
          const double dt = m > 0 ? (target - t) / m : 0;
          for (int j = 0; j < m; ++j) {
            const Sde::Step s = sde.euler_step(t + j * dt, dt);
            Stream(options.seed, Purpose::noise, row, step++).normals(z.data(), static_cast<int>(d));
            x += s.F * x + s.G * z;
          }
        }
        t = target;
        out.row(k * n + i) = x;
      }
    }
    progress.advance(end - begin);
  });
  return out;
}

}  // namespace sde

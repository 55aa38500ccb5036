#include <doctest/doctest.h>

#include <cmath>

#include "error.hpp"
#include "forward.hpp"

using namespace sde;

TEST_CASE("kernel paths: exact marginal moments at every frame") {
  // x0 = 2 in 1-D, N = 50000: the mean has SE s/sqrt(N), the variance SE
  // s^2 sqrt(2/N); both checked at 4 SE.
  const int n = 50000;
  const Matrix x0 = Matrix::Constant(n, 1, 2.0);
  const std::vector<double> times = {0.0, 0.05, 0.3, 1.0};
  NoProgress quiet;
  for (const Sde& s : {Sde::ve(), Sde::vp(), Sde::subvp()}) {
    CAPTURE(s.name());
    ForwardOptions opt;
    opt.seed = 5;
    const Matrix paths = simulate_forward(s, x0, times, opt, quiet);
    for (std::size_t k = 0; k < times.size(); ++k) {
      const auto frame = paths.middleRows(static_cast<Eigen::Index>(k) * n, n);
      const double mean = frame.mean();
      const double var = (frame.array() - mean).square().sum() / (n - 1);
      const double sd = s.std(times[k]);
      CAPTURE(times[k]);
      CHECK(std::abs(mean - 2 * s.mean_coeff(times[k])) <= 4 * sd / std::sqrt(n));
      CHECK(std::abs(var - sd * sd) <= 4 * sd * sd * std::sqrt(2.0 / n));
    }
  }
}

TEST_CASE("paths do not depend on threads or on where the rows start") {
  Matrix x0(1000, 3);
  for (int i = 0; i < x0.size(); ++i) x0.data()[i] = std::sin(i);
  NoProgress quiet;
  for (ForwardMethod method : {ForwardMethod::kernel, ForwardMethod::euler_maruyama}) {
    ForwardOptions one, two;
    one.method = two.method = method;
    one.em_steps = two.em_steps = 50;
    two.threads = 2;
    const std::vector<double> times = {0.2, 0.7};
    const Matrix a = simulate_forward(Sde::vp(), x0, times, one, quiet);
    const Matrix b = simulate_forward(Sde::vp(), x0, times, two, quiet);
    CHECK(a == b);
    // Rows 600.. computed alone (a shard) equal the same rows of the full run.
    ForwardOptions shard = one;
    shard.first_row = 600;
    const Matrix c = simulate_forward(Sde::vp(), x0.bottomRows(400), times, shard, quiet);
    CHECK(c.topRows(400) == a.middleRows(600, 400));
    CHECK(c.bottomRows(400) == a.bottomRows(400));
  }
}

TEST_CASE("times are validated") {
  const Sde s = Sde::vp();
  CHECK_THROWS_AS(check_times(s, {}), Error);
  CHECK_THROWS_AS(check_times(s, {0.5, 0.2}), Error);
  CHECK_THROWS_AS(check_times(s, {1.5}), Error);
  CHECK_THROWS_AS(check_times(s, {NAN}), Error);
  CHECK_NOTHROW(check_times(s, {0.0, 0.0, 1.0}));
}

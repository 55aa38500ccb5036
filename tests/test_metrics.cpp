#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <vector>

#include "error.hpp"
#include "metrics.hpp"
#include "mixture.hpp"
#include "rng.hpp"

using sde::Matrix;
using sde::Purpose;
using sde::Stream;
using sde::Vector;

namespace {

// n x d standard normals times scale plus shift, from stream (seed, noise, stream).
Matrix normals(long n, long d, std::uint64_t stream, double shift = 0, double scale = 1) {
  Matrix x(n, d);
  Stream rng(99, Purpose::noise, stream);
  rng.normals(x.data(), static_cast<int>(x.size()));
  return (x.array() * scale + shift).matrix();
}

// The V-statistic written out literally, as an independent reference.
double brute_energy_distance(const Matrix& x, const Matrix& y) {
  auto mean_distance = [](const Matrix& a, const Matrix& b) {
    double sum = 0;
    for (long i = 0; i < a.rows(); ++i)
      for (long j = 0; j < b.rows(); ++j) sum += (a.row(i) - b.row(j)).norm();
    return sum / double(a.rows() * b.rows());
  };
  return 2 * mean_distance(x, y) - mean_distance(x, x) - mean_distance(y, y);
}

// W1 through the CDF form, the integral of |F(t) - G(t)| dt, as an independent
// reference for the quantile-function merge.
double cdf_wasserstein(std::vector<double> a, std::vector<double> b) {
  std::vector<double> all = a;
  all.insert(all.end(), b.begin(), b.end());
  std::sort(all.begin(), all.end());
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  auto cdf = [](const std::vector<double>& v, double t) {
    return double(std::upper_bound(v.begin(), v.end(), t) - v.begin()) / double(v.size());
  };
  double total = 0;
  for (std::size_t i = 0; i + 1 < all.size(); ++i)
    total += std::abs(cdf(a, all[i]) - cdf(b, all[i])) * (all[i + 1] - all[i]);
  return total;
}

// E|Z| for Z ~ N(mu, sigma^2) (the folded normal mean).
double folded_normal_mean(double mu, double sigma) {
  return sigma * std::sqrt(2 / std::numbers::pi) * std::exp(-mu * mu / (2 * sigma * sigma)) +
         mu * std::erf(mu / (sigma * std::sqrt(2.0)));
}

Vector as_vector(const std::vector<double>& v) {
  return Eigen::Map<const Vector>(v.data(), static_cast<long>(v.size()));
}

// Mean and standard error of a list of replicate values.
std::pair<double, double> mean_and_se(const std::vector<double>& v) {
  const Vector x = as_vector(v);
  const double mean = x.mean();
  const double var = (x.array() - mean).square().sum() / double(x.size() - 1);
  return {mean, std::sqrt(var / double(x.size()))};
}

// A 2-D mixture with one full-covariance component.
sde::GaussianMixture test_mixture() {
  Matrix means(3, 2);
  means << -2, 0, 2, 1, 0, -2;
  Matrix full(2, 2);
  full << 0.6, 0.2, 0.2, 0.3;
  return sde::GaussianMixture({0.5, 0.3, 0.2}, means,
                              {0.25 * Matrix::Identity(2, 2), full, 0.16 * Matrix::Identity(2, 2)});
}

}  // namespace

TEST_CASE("energy distance: exact zero, small closed forms, brute force") {
  const Matrix x = normals(50, 3, 1);
  CHECK(sde::energy_distance(x, x) == 0.0);

  // 1-D {0} vs {1}: 2*1 - 0 - 0. {0, 1} vs {2}: 2*1.5 - 0.5 - 0.
  CHECK(sde::energy_distance(Matrix::Constant(1, 1, 0.0), Matrix::Constant(1, 1, 1.0)) ==
        doctest::Approx(2.0));
  Matrix a(2, 1), b(1, 1);
  a << 0, 1;
  b << 2;
  CHECK(sde::energy_distance(a, b) == doctest::Approx(2.5));

  const Matrix y = normals(37, 3, 2, 0.3);
  const double ed = sde::energy_distance(x, y);
  CHECK(ed > 0);
  CHECK(ed == doctest::Approx(brute_energy_distance(x, y)).epsilon(1e-12));
  CHECK(sde::energy_distance(y, x) == doctest::Approx(ed).epsilon(1e-12));
}

TEST_CASE("energy distance: translation invariant, scales linearly") {
  const Matrix x = normals(40, 2, 3), y = normals(60, 2, 4, 0.5);
  const double ed = sde::energy_distance(x, y);
  const Eigen::RowVector2d shift(3.0, -7.0);
  CHECK(sde::energy_distance(x.rowwise() + shift, y.rowwise() + shift) ==
        doctest::Approx(ed).epsilon(1e-12));
  CHECK(sde::energy_distance(-2.5 * x, -2.5 * y) == doctest::Approx(2.5 * ed).epsilon(1e-12));
}

TEST_CASE("energy distance: expectation for 1-D Gaussians matches the closed form") {
  // X ~ N(0,1), Y ~ N(mu,1): E|X-Y| = E|N(mu, 2)|, E|X-X'| = E|Y-Y'| = 2/sqrt(pi).
  // The V-statistic includes the zero i = i' terms, so
  // E[V] = 2 E|X-Y| - (1 - 1/N) E|X-X'| - (1 - 1/M) E|Y-Y'|;
  // for mu = 0 that is (1/N + 1/M) 2/sqrt(pi), the O(1/N) bias under the null.
  // The mean over 60 replicates is checked against it at 4 of its SEs.
  const long n = 80, m = 120;
  const double self = 2 / std::sqrt(std::numbers::pi);
  for (double mu : {0.0, 1.0}) {
    std::vector<double> values;
    for (std::uint64_t r = 0; r < 60; ++r)
      values.push_back(
          sde::energy_distance(normals(n, 1, 2 * r + 10), normals(m, 1, 2 * r + 11, mu)));
    const double expected =
        2 * folded_normal_mean(mu, std::sqrt(2.0)) - (1 - 1.0 / n) * self - (1 - 1.0 / m) * self;
    const auto [mean, se] = mean_and_se(values);
    CAPTURE(mu);
    CAPTURE(expected);
    CHECK(std::abs(mean - expected) < 4 * se);
  }
}

TEST_CASE("energy distance rejects empty samples and differing dimensions") {
  CHECK_THROWS_AS(sde::energy_distance(Matrix(0, 2), normals(3, 2, 1)), sde::Error);
  CHECK_THROWS_AS(sde::energy_distance(normals(3, 2, 1), normals(3, 3, 1)), sde::Error);
}

TEST_CASE("1-D Wasserstein: exact against the CDF form, for any sizes") {
  const Matrix a = normals(23, 1, 5), b = normals(17, 1, 6, 0.4, 2.0);
  const std::vector<double> va(a.data(), a.data() + a.size()), vb(b.data(), b.data() + b.size());
  CHECK(sde::wasserstein_1d(as_vector(va), as_vector(vb)) ==
        doctest::Approx(cdf_wasserstein(va, vb)).epsilon(1e-12));
  // Equal sizes: the mean gap between sorted samples.
  CHECK(sde::wasserstein_1d(as_vector({3, 0, 1}), as_vector({1, 5, 2})) ==
        doctest::Approx((1 + 1 + 2) / 3.0));
  // A shift moves every quantile by the same amount.
  CHECK(sde::wasserstein_1d(as_vector(va), (as_vector(va).array() + 1.5).matrix()) ==
        doctest::Approx(1.5));
  CHECK(sde::wasserstein_1d(as_vector(va), as_vector(va)) == 0.0);
}

TEST_CASE("sliced Wasserstein in 1-D is the exact 1-D distance") {
  // The only unit directions in 1-D are +1 and -1; both give the same W1.
  const Matrix a = normals(31, 1, 7), b = normals(45, 1, 8, 1.0);
  const double exact = sde::wasserstein_1d(a.col(0), b.col(0));
  CHECK(sde::sliced_wasserstein(a, b, 5, 3) == doctest::Approx(exact).epsilon(1e-12));
}

TEST_CASE("sliced Wasserstein of a shifted sample: |shift| E|u.e|") {
  // y = x + s projects to u.x + u.s, so each direction contributes exactly |u.s|.
  // For uniform u on the circle E|u.e| = 2/pi and sd |cos| = sqrt(1/2 - 4/pi^2);
  // with P projections the mean is checked at 4 SE.
  const Matrix x = normals(300, 2, 9);
  const Eigen::RowVector2d shift(3.0, 4.0);  // |shift| = 5
  const int projections = 2000;
  const double sw = sde::sliced_wasserstein(x, x.rowwise() + shift, projections, 11);
  const double sd = std::sqrt(0.5 - 4 / (std::numbers::pi * std::numbers::pi));
  CHECK(std::abs(sw - 5 * 2 / std::numbers::pi) < 4 * 5 * sd / std::sqrt(projections));

  // Deterministic for a seed, different across seeds.
  const Matrix y = normals(200, 2, 10, 0.2);
  CHECK(sde::sliced_wasserstein(x, y, 16, 1) == sde::sliced_wasserstein(x, y, 16, 1));
  CHECK(sde::sliced_wasserstein(x, y, 16, 1) != sde::sliced_wasserstein(x, y, 16, 2));
  CHECK(sde::sliced_wasserstein(x, x, 16, 1) == 0.0);
  CHECK_THROWS_AS(sde::sliced_wasserstein(x, y, 0, 1), sde::Error);
}

TEST_CASE("fit_to_mixture on exact draws recovers weights and mean log-density") {
  const sde::GaussianMixture mix = test_mixture();
  Matrix x(20000, 2);
  mix.sample(5, 0, x);

  // Exact E[log p(X)] = integral of p log p, by the trapezoid rule on a fine grid
  // (spectrally accurate for a smooth, rapidly decaying integrand; the box
  // [-8, 8]^2 is more than 9 standard deviations from every mean).
  const double h = 0.02;
  double exact = 0;
  for (double u = -8; u <= 8; u += h)
    for (double v = -8; v <= 8; v += h) {
      const double point[2] = {u, v};
      const double log_p = mix.log_density(point);
      exact += std::exp(log_p) * log_p * h * h;
    }

  const sde::MixtureFit fit = sde::fit_to_mixture(x, mix);
  REQUIRE(fit.weights.size() == 3);
  CHECK(fit.rows_used == 20000);
  CHECK(fit.non_finite_rows == 0);
  // E[p(k | X)] = w_k exactly, so the mean posterior is an unbiased estimate;
  // each is checked within 4 of its own SE.
  double sum = 0;
  for (std::size_t k = 0; k < 3; ++k) {
    CAPTURE(k);
    CHECK(fit.weight_se[k] > 0);
    CHECK(std::abs(fit.weights[k] - mix.weights()[k]) < 4 * fit.weight_se[k]);
    sum += fit.weights[k];
  }
  CHECK(sum == doctest::Approx(1.0).epsilon(1e-12));
  CAPTURE(exact);
  CHECK(std::abs(fit.mean_log_density - exact) < 4 * fit.log_density_se);
}

TEST_CASE("fit_to_mixture skips non-finite rows and checks the dimension") {
  const sde::GaussianMixture mix = test_mixture();
  Matrix x(50, 2);
  mix.sample(6, 0, x);
  Matrix with_bad(52, 2);
  with_bad << x.topRows(10), std::numeric_limits<double>::quiet_NaN(), 0.0, x.middleRows(10, 30),
      1.0, std::numeric_limits<double>::infinity(), x.bottomRows(10);
  const sde::MixtureFit clean = sde::fit_to_mixture(x, mix),
                        dirty = sde::fit_to_mixture(with_bad, mix);
  CHECK(dirty.non_finite_rows == 2);
  CHECK(dirty.rows_used == 50);
  CHECK(dirty.weights == clean.weights);
  CHECK(dirty.mean_log_density == clean.mean_log_density);
  CHECK(dirty.log_density_se == clean.log_density_se);

  CHECK_THROWS_AS(sde::fit_to_mixture(Matrix(4, 3), mix), sde::Error);
  const sde::MixtureFit empty = sde::fit_to_mixture(Matrix(0, 2), mix);
  CHECK(empty.rows_used == 0);
  CHECK(std::isnan(empty.mean_log_density));
}

TEST_CASE("sample moments, finite rows and column summaries") {
  Matrix x(4, 2);
  x << 1, 2, 3, 6, 5, 4, 7, 0;
  CHECK(sde::sample_mean(x).isApprox(Eigen::RowVector2d(4, 3)));
  Matrix cov(2, 2);  // sum of centered products / 3
  cov << 20.0 / 3, -8.0 / 3, -8.0 / 3, 20.0 / 3;
  CHECK(sde::sample_covariance(x).isApprox(cov));
  CHECK(sde::sample_mean(Matrix(0, 2)).array().isNaN().all());
  CHECK(sde::sample_covariance(Matrix(1, 2)).array().isNaN().all());

  const double nan = std::numeric_limits<double>::quiet_NaN();
  x(1, 0) = nan;
  CHECK(sde::finite_rows(x).rows() == 3);
  CHECK(sde::finite_rows(x).row(1) == x.row(2));

  x(2, 1) = -std::numeric_limits<double>::infinity();
  const sde::ColumnSummary s = sde::column_summary(x);
  CHECK(s.non_finite == 2);
  CHECK(s.min == Eigen::RowVector2d(1, 0));
  CHECK(s.max == Eigen::RowVector2d(7, 6));
  CHECK(s.mean.isApprox(Eigen::RowVector2d(13.0 / 3, 8.0 / 3)));
  CHECK(sde::column_summary(Matrix(0, 1)).mean.array().isNaN().all());
}

TEST_CASE("subsample_rows: a deterministic subset in the original order") {
  Matrix x(1000, 1);
  for (long i = 0; i < x.rows(); ++i) x(i, 0) = double(i);
  const Matrix s = sde::subsample_rows(x, 100, 4, 0);
  REQUIRE(s.rows() == 100);
  for (long i = 1; i < s.rows(); ++i) CHECK(s(i, 0) > s(i - 1, 0));  // distinct, in order
  CHECK(s == sde::subsample_rows(x, 100, 4, 0));
  CHECK(s != sde::subsample_rows(x, 100, 4, 1));
  CHECK(sde::subsample_rows(x, 1000, 4, 0) == x);
  CHECK(sde::subsample_rows(x, 5000, 4, 0) == x);
}

TEST_CASE("score_relative_error: zero for the exact score, the size of a known perturbation otherwise") {
  sde::Matrix mu(2, 2);
  mu << -2, 0, 2, 0;
  const sde::GaussianMixture mix = sde::GaussianMixture::isotropic({0.5, 0.5}, mu, {0.5, 0.5});
  const sde::MixtureScore exact(mix, sde::Sde::vp());
  CHECK(sde::score_relative_error(exact, mix, 0.01, 1.0, 5, 500, 1) == 0.0);
  // A score scaled by 1.1 is off by exactly 10% at every t.
  struct Scaled final : sde::ScoreModel {
    const sde::MixtureScore& inner;
    explicit Scaled(const sde::MixtureScore& s) : inner(s) {}
    int dim() const override { return inner.dim(); }
    void score(const sde::Matrix& x, const sde::Vector& t, sde::Matrix& out) const override {
      inner.score(x, t, out);
      out *= 1.1;
    }
    void score_jvp(const sde::Matrix&, const sde::Vector&, const sde::Matrix&, sde::Matrix&,
                   sde::Matrix&) const override {}
    const sde::Sde& sde() const override { return inner.sde(); }
  } scaled(exact);
  CHECK(sde::score_relative_error(scaled, mix, 0.01, 1.0, 5, 500, 1) == doctest::Approx(0.1).epsilon(1e-9));
}

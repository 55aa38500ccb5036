// The Gaussian-mixture oracle against independent computations: finite
// differences, Cholesky-based densities, quadrature and sample statistics.
//
// Statistical checks use fixed seeds (so they are reproducible) and a
// tolerance of 4 standard errors per statistic, with the standard error
// derived from the sample size in each test. With the ~30 statistics checked
// here a correct implementation fails a given seed with probability < 0.2%.
#include <doctest/doctest.h>

#include <Eigen/Cholesky>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <string>
#include <vector>

#include "error.hpp"
#include "mixture.hpp"
#include "rng.hpp"
#include "score.hpp"
#include "sde.hpp"
#include "test_mixtures.hpp"

using sde::GaussianMixture;
using sde::MixtureScore;
using sde::Sde;
using sde::Matrix;
using sde::RowVector;
using sde::Vector;

namespace {

// R(theta) diag(a^2, b^2) R(theta)^T.
Matrix rotated_covariance(double degrees, double a, double b) {
  const double t = degrees * std::numbers::pi / 180.0;
  Matrix r(2, 2);
  r << std::cos(t), -std::sin(t), std::sin(t), std::cos(t);
  const Matrix c = r * Vector{{a * a, b * b}}.asDiagonal() * r.transpose();
  return 0.5 * (c + c.transpose());
}

GaussianMixture seed000() {
  return GaussianMixture::isotropic({0.6, 0.4}, Matrix{{2.0}, {-2.0}}, {0.5, 0.2});
}

GaussianMixture ring8() {
  Matrix means(8, 2);
  for (int k = 0; k < 8; ++k) {
    const double a = 2.0 * std::numbers::pi * k / 8.0;
    means.row(k) << 4.0 * std::cos(a), 4.0 * std::sin(a);
  }
  return GaussianMixture::isotropic(std::vector<double>(8, 0.125), means,
                                    std::vector<double>(8, 0.3));
}

GaussianMixture aniso2d() {
  return GaussianMixture(
      {0.5, 0.3, 0.2}, Matrix{{-2.0, 0.0}, {2.0, 1.0}, {0.5, -2.5}},
      {rotated_covariance(30, 1.0, 0.25), rotated_covariance(-45, 0.8, 0.2),
       rotated_covariance(100, 0.6, 0.15)});
}

// 5-D, three components with random SPD covariances A A^T + 0.2 I.
GaussianMixture five_d() {
  const int d = 5;
  Matrix means(3, d);
  std::vector<Matrix> covariances;
  for (int k = 0; k < 3; ++k) {
    sde::Stream stream(99, sde::Purpose::weights, static_cast<std::uint64_t>(k));
    Matrix a(d, d);
    for (int i = 0; i < d; ++i) {
      means(k, i) = 2.0 * stream.normal();
      for (int j = 0; j < d; ++j) a(i, j) = 0.6 * stream.normal();
    }
    covariances.emplace_back(a * a.transpose() + 0.2 * Matrix::Identity(d, d));
  }
  return GaussianMixture({0.2, 0.5, 0.3}, means, covariances);
}

// 12-D, 20 components: big enough that the evaluation scratch space moves
// from the stack to the heap.
GaussianMixture large() {
  const int d = 12, K = 20;
  Matrix means(K, d);
  std::vector<Matrix> covariances;
  std::vector<double> weights;
  double total = 0.0;
  for (int k = 0; k < K; ++k) {
    sde::Stream stream(7, sde::Purpose::weights, static_cast<std::uint64_t>(k));
    Matrix a(d, d);
    for (int i = 0; i < d; ++i) {
      means(k, i) = 3.0 * stream.normal();
      for (int j = 0; j < d; ++j) a(i, j) = 0.3 * stream.normal();
    }
    covariances.emplace_back(a * a.transpose() + 0.1 * Matrix::Identity(d, d));
    weights.push_back(0.5 + stream.uniform());
    total += weights.back();
  }
  for (double& w : weights) w /= total;
  return GaussianMixture(weights, means, covariances);
}

// log(w_k N(x; m mu_k, m^2 Sigma_k + s^2 I)) by a Cholesky factorisation of
// the perturbed covariance: independent of the oracle's eigendecomposition.
std::vector<double> reference_log_terms(const GaussianMixture& g, const double* x, double m,
                                        double s) {
  const int d = g.dim();
  std::vector<double> out;
  for (int k = 0; k < g.components(); ++k) {
    const Matrix c = m * m * g.covariance(k) + s * s * Matrix::Identity(d, d);
    const Eigen::LLT<Matrix> llt(c);
    const Vector r = Eigen::Map<const Vector>(x, d) - m * g.means().row(k).transpose();
    const double log_det = 2.0 * llt.matrixLLT().diagonal().array().log().sum();
    out.push_back(std::log(g.weights()[k]) -
                  0.5 * (d * std::log(2.0 * std::numbers::pi) + log_det + r.dot(llt.solve(r))));
  }
  return out;
}

double log_sum_exp(const std::vector<double>& v) {
  double top = -INFINITY;
  for (double l : v) top = std::max(top, l);
  double total = 0.0;
  for (double l : v) total += std::exp(l - top);
  return top + std::log(total);
}

// Smallest standard deviation along any direction of any perturbed component.
double smallest_std(const GaussianMixture& g, double m, double s) {
  double smallest = INFINITY;
  for (int k = 0; k < g.components(); ++k) {
    const Eigen::SelfAdjointEigenSolver<Matrix> solver(g.covariance(k));
    smallest = std::min(smallest, m * m * solver.eigenvalues()[0] + s * s);
  }
  return std::sqrt(smallest);
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const sde::Error& e) {
    return e.what();
  }
  return "(no error)";
}

// Points to probe: draws from the perturbed mixture plus two far from every mode.
Matrix probe_points(const GaussianMixture& g, double m, double s) {
  Matrix x(12, g.dim());
  g.sample(5, 0, x, nullptr, m, s);
  x.row(10).setConstant(40.0 * (std::abs(m) + s + 1.0));
  x.row(11).setConstant(-25.0 * (std::abs(m) + s + 1.0));
  x(11, 0) = 60.0;
  return x;
}

const std::vector<std::pair<double, double>> kPerturbations = {
    {1.0, 0.0}, {1.0, 1e-4}, {0.8, 0.3}, {0.05, 1.0}, {1.0, 50.0}, {1e-3, 1e-4}};

// Checks the sample mean and covariance of x against the exact ones, each
// entry within 4 standard errors. SE(mean_j) = sqrt(cov_jj / N); the
// covariance is estimated around the exact mean (unbiased), and its SE is
// sd((x_i - mu_i)(x_j - mu_j)) / sqrt(N) with the sd taken from the sample.
void check_moments(const Matrix& x, const RowVector& mean, const Matrix& cov) {
  const auto n = static_cast<double>(x.rows());
  const Matrix centred = x.rowwise() - mean;
  const RowVector sample_mean = x.colwise().mean();
  for (int i = 0; i < x.cols(); ++i) {
    INFO("mean coordinate ", i);
    CHECK(std::abs(sample_mean[i] - mean[i]) <= 4.0 * std::sqrt(cov(i, i) / n));
    for (int j = 0; j <= i; ++j) {
      INFO("covariance entry ", i, ",", j);
      const Vector product = centred.col(i).cwiseProduct(centred.col(j));
      const double estimate = product.mean();
      const double se = std::sqrt((product.array() - estimate).square().mean() / n);
      CHECK(std::abs(estimate - cov(i, j)) <= 4.0 * se);
    }
  }
}

Matrix draw(const GaussianMixture& g, std::uint64_t seed, int n, double m = 1.0, double s = 0.0,
            std::vector<int>* labels = nullptr) {
  Matrix x(n, g.dim());
  g.sample(seed, 0, x, labels, m, s);
  return x;
}

}  // namespace

TEST_CASE("log_density and posteriors match an independent Cholesky computation") {
  for (const GaussianMixture& g : {seed000(), ring8(), aniso2d(), five_d(), large()}) {
    for (auto [m, s] : kPerturbations) {
      const Matrix x = probe_points(g, m, s);
      std::vector<double> post(g.components());
      for (int i = 0; i < x.rows(); ++i) {
        const std::vector<double> terms = reference_log_terms(g, x.row(i).data(), m, s);
        const double expected = log_sum_exp(terms);
        const double log_p = g.posteriors(x.row(i).data(), post.data(), m, s);
        INFO("d = ", g.dim(), ", m = ", m, ", s = ", s, ", point ", i);
        // Relative 1e-12: two rounding paths of one formula; |log p| reaches 1e10 far away.
        CHECK(std::abs(log_p - expected) <= 1e-12 * (1.0 + std::abs(expected)));
        CHECK(g.log_density(x.row(i).data(), m, s) == log_p);
        double sum = 0.0, worst = 0.0;
        for (int k = 0; k < g.components(); ++k) {
          sum += post[k];
          worst = std::max(worst, std::abs(post[k] - std::exp(terms[k] - expected)));
        }
        CHECK(std::abs(sum - 1.0) <= 1e-14);
        CHECK(worst <= 1e-10);
      }
    }
  }
}

TEST_CASE("score is the gradient of log_density (central differences)") {
  for (const GaussianMixture& g : {seed000(), ring8(), aniso2d(), five_d(), large()}) {
    for (auto [m, s] : kPerturbations) {
      // Step h = 1e-4 of the narrowest perturbed std. Error budget of a central
      // difference: truncation h^2 |f'''| / 6 ~ (h/sigma)^2 = 1e-8 relative to
      // the score scale |score| + 1/sigma, plus rounding ~ eps |log p| / h
      // (|log p| reaches 1e10 far out when m and s are tiny, where rounding
      // dominates). Allowed: 10x the first plus 16x the second; the check
      // is that the worst error over all points uses at most this budget.
      const double sigma = smallest_std(g, m, s), h = 1e-4 * sigma;
      const double eps = std::numeric_limits<double>::epsilon();
      const Matrix x = probe_points(g, m, s);
      double worst = 0.0;
      for (int i = 0; i < x.rows(); ++i) {
        Vector score(g.dim()), point = x.row(i).transpose();
        const double log_p = g.score(point.data(), score.data(), m, s);
        const double budget = 1e-7 * (score.lpNorm<Eigen::Infinity>() + 1.0 / sigma) +
                              16.0 * eps * (1.0 + std::abs(log_p)) / h;
        for (int j = 0; j < g.dim(); ++j) {
          Vector up = point, down = point;
          up[j] += h;
          down[j] -= h;
          const double fd = (g.log_density(up.data(), m, s) - g.log_density(down.data(), m, s)) / (2 * h);
          worst = std::max(worst, std::abs(fd - score[j]) / budget);
        }
      }
      INFO("d = ", g.dim(), ", m = ", m, ", s = ", s);
      CHECK(worst <= 1.0);
    }
  }
}

TEST_CASE("score_divergence is the trace of the Hessian (central differences of the score)") {
  for (const GaussianMixture& g : {seed000(), ring8(), aniso2d(), five_d(), large()}) {
    for (auto [m, s] : kPerturbations) {
      // Scale of the Hessian: d / sigma^2 plus |score|^2 (the outer-product
      // terms); FD truncation ~ (h/sigma)^2 = 1e-8 relative to it; rounding
      // ~ eps |score| / h is smaller still. Allowed: 10x the truncation.
      const double sigma = smallest_std(g, m, s), h = 1e-4 * sigma;
      const Matrix x = probe_points(g, m, s);
      double worst = 0.0;
      for (int i = 0; i < x.rows(); ++i) {
        Vector score(g.dim()), point = x.row(i).transpose(), up_score(g.dim()), down_score(g.dim());
        const double divergence = g.score_divergence(point.data(), score.data(), m, s);
        double trace = 0.0;
        for (int j = 0; j < g.dim(); ++j) {
          Vector up = point, down = point;
          up[j] += h;
          down[j] -= h;
          g.score(up.data(), up_score.data(), m, s);
          g.score(down.data(), down_score.data(), m, s);
          trace += (up_score[j] - down_score[j]) / (2 * h);
        }
        const double scale = g.dim() / (sigma * sigma) + score.squaredNorm();
        worst = std::max(worst, std::abs(trace - divergence) / scale);
        Vector plain(g.dim());
        g.score(point.data(), plain.data(), m, s);
        CHECK(plain == score);
        CHECK(g.score_divergence(point.data(), nullptr, m, s) == divergence);
      }
      INFO("d = ", g.dim(), ", m = ", m, ", s = ", s);
      CHECK(worst <= 1e-7);
    }
  }
}

TEST_CASE("Hessian-vector products are directional derivatives of the score") {
  for (const GaussianMixture& g : {seed000(), ring8(), aniso2d(), five_d(), large()}) {
    for (auto [m, s] : kPerturbations) {
      // Same scale and FD budget as the divergence test above.
      const double sigma = smallest_std(g, m, s), h = 1e-4 * sigma;
      const Matrix x = probe_points(g, m, s);
      Matrix v(x.rows(), x.cols());
      for (Eigen::Index i = 0; i < v.size(); ++i) v.data()[i] = std::cos(1.7 * i + 0.3);
      const Vector mm = Vector::Constant(x.rows(), m), ss = Vector::Constant(x.rows(), s);
      Matrix score, hv, up, down, plain;
      g.score_jvp(x, mm, ss, v, score, hv);
      g.score(x + h * v, mm, ss, up);
      g.score(x - h * v, mm, ss, down);
      g.score(x, mm, ss, plain);
      CHECK(plain == score);
      const Matrix fd = (up - down) / (2 * h);
      double worst = 0.0;
      for (Eigen::Index i = 0; i < x.rows(); ++i) {
        const double scale = (g.dim() / (sigma * sigma) + score.row(i).squaredNorm()) * v.row(i).norm();
        worst = std::max(worst, (fd.row(i) - hv.row(i)).norm() / scale);
      }
      INFO("d = ", g.dim(), ", m = ", m, ", s = ", s);
      CHECK(worst <= 1e-7);
    }
  }
  // Through the ScoreModel interface, the default divergence (d JVPs with
  // unit vectors) equals the analytic trace.
  const MixtureScore oracle(aniso2d(), Sde::vp());
  const Matrix x = probe_points(aniso2d(), 0.5, 0.3);
  const Vector t = Vector::Constant(x.rows(), 0.3);
  Matrix s1, s2;
  Vector analytic, via_jvp;
  oracle.score_divergence(x, t, s1, analytic);
  oracle.ScoreModel::score_divergence(x, t, s2, via_jvp);
  CHECK((analytic - via_jvp).cwiseAbs().maxCoeff() <= 1e-9 * (1 + analytic.cwiseAbs().maxCoeff()));
}

TEST_CASE("far from every mode: finite, posteriors sum to 1, divergence without cancellation") {
  // With m = 1e-3, s = 1e-4 the components have variance ~1e-7, so at
  // |x| = 1e3 |v_k|^2 ~ 1e20 while the divergence is -tr C^-1 ~ -2e7: the
  // textbook formula sum w |v|^2 - |score|^2 would lose ~1e-4 relative.
  for (const GaussianMixture& g : {ring8(), aniso2d()}) {
    for (auto [m, s] : {std::pair{1e-3, 1e-4}, std::pair{1.0, 1e-4}, std::pair{1.0, 50.0}}) {
      const std::vector<double> x = {1e3, -1e3};
      std::vector<double> post(g.components()), score(2);
      const double log_p = g.posteriors(x.data(), post.data(), m, s);
      const double divergence = g.score_divergence(x.data(), score.data(), m, s);
      double sum = 0.0;
      int nearest = 0;
      for (int k = 0; k < g.components(); ++k) {
        sum += post[k];
        if (post[k] > post[nearest]) nearest = k;
      }
      INFO("m = ", m, ", s = ", s);
      CHECK(std::isfinite(log_p));
      CHECK(std::isfinite(score[0]));
      CHECK(std::isfinite(score[1]));
      CHECK(std::abs(sum - 1.0) <= 1e-14);
      if (s < 1.0) {  // one component takes all the posterior mass: Hessian = -C^-1
        const Matrix c = m * m * g.covariance(nearest) + s * s * Matrix::Identity(2, 2);
        const double expected = -c.inverse().trace();
        CHECK(post[nearest] == 1.0);
        CHECK(std::abs(divergence - expected) <= 1e-12 * std::abs(expected));
      }
    }
  }
}

TEST_CASE("isotropic fast path equals the full-covariance path") {
  const GaussianMixture iso = ring8();
  std::vector<Matrix> covs(8, 0.09 * Matrix::Identity(2, 2));
  covs[3](0, 1) = covs[3](1, 0) = 1e-300;  // defeats isotropy detection, same numbers
  const GaussianMixture full(iso.weights(), iso.means(), covs);
  CHECK(iso.isotropic_components());
  CHECK_FALSE(full.isotropic_components());
  for (auto [m, s] : kPerturbations) {
    const Matrix x = probe_points(iso, m, s);
    for (int i = 0; i < x.rows(); ++i) {
      double a[2], b[2];
      const double la = iso.score(x.row(i).data(), a, m, s), lb = full.score(x.row(i).data(), b, m, s);
      CHECK(std::abs(la - lb) <= 1e-12 * (1 + std::abs(la)));
      CHECK(std::abs(a[0] - b[0]) <= 1e-10 * (1 + std::abs(a[0])));
      CHECK(std::abs(a[1] - b[1]) <= 1e-10 * (1 + std::abs(a[1])));
    }
  }
}

TEST_CASE("batched evaluation equals the per-point functions bit for bit") {
  for (const GaussianMixture& g : {ring8(), five_d(), large()}) {
    const Matrix x = probe_points(g, 0.8, 0.3);
    Vector m(x.rows()), s(x.rows());
    for (int i = 0; i < x.rows(); ++i) {  // runs of equal (m, s) and changes
      m[i] = i < 5 ? 0.8 : 0.5;
      s[i] = i < 8 ? 0.3 : 1e-4;
    }
    Vector log_p, divergence;
    Matrix score, post, score2;
    g.log_density(x, m, s, log_p);
    g.score(x, m, s, score);
    g.posteriors(x, m, s, post);
    g.score_divergence(x, m, s, score2, divergence);
    for (int i = 0; i < x.rows(); ++i) {
      Vector one(g.dim()), one_post(g.components());
      CHECK(g.log_density(x.row(i).data(), m[i], s[i]) == log_p[i]);
      g.score(x.row(i).data(), one.data(), m[i], s[i]);
      CHECK(one.transpose() == score.row(i));
      CHECK(score2.row(i) == score.row(i));
      g.posteriors(x.row(i).data(), one_post.data(), m[i], s[i]);
      CHECK(one_post.transpose() == post.row(i));
      CHECK(g.score_divergence(x.row(i).data(), nullptr, m[i], s[i]) == divergence[i]);
    }
  }
  const GaussianMixture g = ring8();
  Vector out;
  CHECK(error_of([&] { g.log_density(Matrix(3, 3), Vector(3), Vector(3), out); }) ==
        "points have 3 coordinates, the mixture has 2");
  CHECK(error_of([&] { g.log_density(Matrix(3, 2), Vector(2), Vector(3), out); }) ==
        "3 points but 2 values of m and 3 of s");
  const double origin[2] = {0.0, 0.0};
  CHECK(error_of([&] { g.log_density(origin, 0.0, 0.0); }) ==
        "perturbation (m = 0, s = 0) makes component 0 singular");
}

TEST_CASE("log_density integrates to 1 (trapezoidal rule)") {
  // Trapezoidal quadrature of a smooth, rapidly decaying integrand is
  // spectrally accurate: with steps <= sigma / 8 and windows reaching >= 7
  // sigma past every mode, quadrature and truncation errors are < 1e-10.
  SUBCASE("1-D") {
    const GaussianMixture g = seed000();
    for (auto [m, s] : {std::pair{1.0, 0.0}, std::pair{0.3, 0.9}, std::pair{1.0, 1e-4}}) {
      const double h = 1e-3;
      const int n = 24001;
      Matrix x(n, 1);
      for (int i = 0; i < n; ++i) x(i, 0) = -12.0 + h * i;
      Vector log_p;
      g.log_density(x, Vector::Constant(n, m), Vector::Constant(n, s), log_p);
      const double integral = h * (log_p.array().exp().sum() - 0.5 * (std::exp(log_p[0]) + std::exp(log_p[n - 1])));
      INFO("m = ", m, ", s = ", s);
      CHECK(std::abs(integral - 1.0) <= 1e-10);
    }
  }
  SUBCASE("2-D") {
    for (const GaussianMixture& g : {ring8(), aniso2d()}) {
      // aniso2d's narrowest std is 0.15 and its widest tail reaches 2.5 + 7.5.
      const double h = 0.0125, half = 10.0;
      const int n = static_cast<int>(2 * half / h) + 1;
      Matrix x(static_cast<Eigen::Index>(n) * n, 2);
      for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j) x.row(static_cast<Eigen::Index>(i) * n + j) << -half + h * i, -half + h * j;
      Vector log_p;
      g.log_density(x, Vector::Ones(x.rows()), Vector::Zero(x.rows()), log_p);
      // The integrand is ~0 on the window's edge, so the plain sum is the trapezoid rule.
      const double integral = h * h * log_p.array().exp().sum();
      CHECK(std::abs(integral - 1.0) <= 1e-10);
    }
  }
}

TEST_CASE("mixture mean and covariance") {
  const GaussianMixture g = seed000();
  // 0.6 * 2 + 0.4 * (-2) and sum w (sigma^2 + mu^2) - mean^2.
  CHECK(g.mean()[0] == doctest::Approx(0.4).epsilon(1e-15));
  CHECK(g.covariance()(0, 0) == doctest::Approx(0.6 * 4.25 + 0.4 * 4.04 - 0.16).epsilon(1e-14));
}

TEST_CASE("exact sampling: moments and component frequencies within 4 standard errors") {
  for (const GaussianMixture& g : {seed000(), aniso2d(), five_d()}) {
    const int n = 400000;
    std::vector<int> labels;
    const Matrix x = draw(g, 11, n, 1.0, 0.0, &labels);
    INFO("d = ", g.dim());
    check_moments(x, g.mean(), g.covariance());
    for (int k = 0; k < g.components(); ++k) {
      // Binomial SE of a frequency: sqrt(w (1 - w) / N).
      const double w = g.weights()[k];
      const double freq = static_cast<double>(std::count(labels.begin(), labels.end(), k)) / n;
      CHECK(std::abs(freq - w) <= 4.0 * std::sqrt(w * (1 - w) / n));
    }
    // Each component's draws have that component's moments (the rotation U_k sqrt(lambda_k)).
    for (int k = 0; k < g.components(); ++k) {
      std::vector<Eigen::Index> rows;
      for (int i = 0; i < n; ++i)
        if (labels[i] == k) rows.push_back(i);
      check_moments(x(rows, Eigen::all), g.means().row(k), g.covariance(k));
    }
  }
}

TEST_CASE("perturbed sampling: m x0 + s z") {
  const GaussianMixture g = aniso2d();
  const double m = 0.6, s = 0.8;
  const int n = 200000;
  const Matrix direct = draw(g, 21, n, m, s);
  // Exact moments of p_t: means m mu_k, covariances m^2 Sigma_k + s^2 I.
  check_moments(direct, m * g.mean(), m * m * g.covariance() + s * s * Matrix::Identity(2, 2));

  // The same law built by hand from clean draws and independent noise.
  Matrix by_hand = m * draw(g, 22, n);
  for (int i = 0; i < n; ++i) {
    sde::Stream stream(23, sde::Purpose::noise, static_cast<std::uint64_t>(i));
    by_hand(i, 0) += s * stream.normal();
    by_hand(i, 1) += s * stream.normal();
  }
  // Mean log p_t of the two samples: two-sample z-test, SE = sqrt(var_a / N + var_b / N).
  Vector la, lb;
  g.log_density(direct, Vector::Constant(n, m), Vector::Constant(n, s), la);
  g.log_density(by_hand, Vector::Constant(n, m), Vector::Constant(n, s), lb);
  const double va = (la.array() - la.mean()).square().mean(), vb = (lb.array() - lb.mean()).square().mean();
  CHECK(std::abs(la.mean() - lb.mean()) <= 4.0 * std::sqrt(va / n + vb / n));

  // Coupling: with the same seed, row i's clean point is shared, so
  // (x_t - m x0) / s is exactly the N(0, I) kernel noise. Its mean within 4
  // SE = 4 / sqrt(N), its variances within 4 SE = 4 sqrt(2 / N), its
  // correlation within 4 / sqrt(N).
  const Matrix z = (direct - m * draw(g, 21, n)) / s;
  for (int j = 0; j < 2; ++j) {
    CHECK(std::abs(z.col(j).mean()) <= 4.0 / std::sqrt(n));
    CHECK(std::abs(z.col(j).squaredNorm() / n - 1.0) <= 4.0 * std::sqrt(2.0 / n));
  }
  CHECK(std::abs(z.col(0).dot(z.col(1)) / n) <= 4.0 / std::sqrt(n));
}

TEST_CASE("sampling is reproducible by row: any block equals the same rows of a bigger run") {
  for (const GaussianMixture& g : {ring8(), aniso2d()}) {
    for (auto [m, s] : {std::pair{1.0, 0.0}, std::pair{0.7, 0.4}}) {
      Matrix big(1000, 2), block(100, 2);
      std::vector<int> big_labels, block_labels;
      g.sample(42, 0, big, &big_labels, m, s);
      g.sample(42, 337, block, &block_labels, m, s);
      CHECK(block == big.middleRows(337, 100));
      CHECK(std::equal(block_labels.begin(), block_labels.end(), big_labels.begin() + 337));
      Matrix other(100, 2);
      g.sample(42, 337, other, nullptr, m, s, sde::Purpose::init);
      CHECK(other != block);
    }
  }
}

TEST_CASE("conditional: density is p(x) / p_marginal(x_known), weights are marginal posteriors") {
  for (const GaussianMixture& g : {aniso2d(), five_d()}) {
    const int d = g.dim();
    std::vector<bool> known(d, false);
    known[0] = true;
    if (d == 5) known[2] = true;
    std::vector<Eigen::Index> a, b;
    for (int j = 0; j < d; ++j) (known[j] ? a : b).push_back(j);

    // The marginal of a mixture over a subset of coordinates is the mixture
    // of the components' marginals.
    std::vector<Matrix> marginal_covs;
    for (int k = 0; k < g.components(); ++k) marginal_covs.push_back(g.covariance(k)(a, a));
    const GaussianMixture marginal(g.weights(), g.means()(Eigen::all, a), marginal_covs);

    const Matrix observed = draw(g, 31, 4);
    for (int o = 0; o < observed.rows(); ++o) {
      const Vector x_obs = observed.row(o).transpose();
      const GaussianMixture cond = g.conditional(known, x_obs.data());
      REQUIRE(cond.dim() == static_cast<int>(b.size()));
      const Vector x_a = x_obs(a);
      std::vector<double> post(g.components());
      const double log_marginal = marginal.posteriors(x_a.data(), post.data());
      for (int k = 0; k < g.components(); ++k) CHECK(std::abs(cond.weights()[k] - post[k]) <= 1e-12);
      const Matrix unknown = draw(cond, 32 + o, 6);
      for (int i = 0; i < unknown.rows(); ++i) {
        Vector full = x_obs;
        full(b) = unknown.row(i).transpose();
        const double expected = g.log_density(full.data()) - log_marginal;
        CHECK(std::abs(cond.log_density(unknown.row(i).data()) - expected) <= 1e-10 * (1 + std::abs(expected)));
      }
    }
  }
}

TEST_CASE("conditional moments: quadrature and sampling") {
  const GaussianMixture g = aniso2d();
  const std::vector<bool> known = {true, false};
  const double x_obs[2] = {0.3, 0.0};
  const GaussianMixture cond = g.conditional(known, x_obs);
  // E[u | x0 = 0.3] and Var by the trapezoidal rule over p(0.3, u):
  // spectrally accurate, agreement to ~1e-12 expected, 1e-9 asked.
  const double h = 1e-3;
  double z0 = 0, z1 = 0, z2 = 0;
  for (int i = 0; i <= 24000; ++i) {
    const double u = -12.0 + h * i;
    const double point[2] = {0.3, u};
    const double p = std::exp(g.log_density(point));
    z0 += p;
    z1 += p * u;
    z2 += p * u * u;
  }
  const double mean = z1 / z0, var = z2 / z0 - mean * mean;
  CHECK(std::abs(cond.mean()[0] - mean) <= 1e-9);
  CHECK(std::abs(cond.covariance()(0, 0) - var) <= 1e-9);
  // Draws from the conditional: moments within 4 SE (see check_moments).
  check_moments(draw(cond, 41, 200000), cond.mean(), cond.covariance());
}

TEST_CASE("conditional edge cases") {
  const GaussianMixture g = aniso2d();
  const double x[2] = {0.3, -1.0};
  CHECK(error_of([&] { g.conditional({true, true}, x); }) ==
        "conditional: every coordinate is known, nothing is left to draw");
  CHECK(error_of([&] { g.conditional({true}, x); }) ==
        "conditional: mask has 1 entries, the mixture has 2 coordinates");
  const GaussianMixture same = g.conditional({false, false}, x);
  CHECK(same.log_density(x) == g.log_density(x));
  // An observation far out in the tail of all but one component: the
  // others' weights underflow and are floored, the result stays valid.
  const double far[2] = {-300.0, 0.0};
  const GaussianMixture cond = g.conditional({true, false}, far);
  CHECK(cond.weights()[0] == doctest::Approx(1.0));
  CHECK(cond.weights()[1] > 0.0);
  const double u = 0.5;
  CHECK(std::isfinite(cond.log_density(&u)));
}

TEST_CASE("validation messages name the field") {
  const Matrix means{{0.0, 0.0}, {1.0, 1.0}, {2.0, 2.0}};
  const Matrix eye = Matrix::Identity(2, 2);
  CHECK(error_of([&] { GaussianMixture::isotropic({0.5, 0.4}, means.topRows(2), {1.0, 1.0}); }) ==
        "weights: must sum to 1 (sum is 0.9)");
  CHECK(error_of([&] { GaussianMixture::isotropic({0.5, -0.5, 1.0}, means, {1, 1, 1}); }) ==
        "weights[1]: must be positive (got -0.5)");
  CHECK(error_of([&] { GaussianMixture::isotropic({}, Matrix(0, 2), {}); }) ==
        "weights: must not be empty");
  CHECK(error_of([&] { GaussianMixture::isotropic({0.3, 0.7}, means, {1, 1}); }) ==
        "means: expected 2 entries (one per weight), got 3");
  CHECK(error_of([&] { GaussianMixture::isotropic({0.3, 0.7}, means.topRows(2), {1, 0}); }) ==
        "stds[1]: must be positive (got 0)");
  CHECK(error_of([&] { GaussianMixture::isotropic({0.3, 0.7}, means.topRows(2), {1}); }) ==
        "stds: expected 2 entries (one per weight), got 1");
  Matrix indefinite{{1.0, 2.0}, {2.0, 1.0}};
  CHECK(error_of([&] { GaussianMixture({0.2, 0.3, 0.5}, means, {eye, eye, indefinite}); }) ==
        "covariances[2]: not positive definite (smallest eigenvalue -1)");
  Matrix asymmetric{{1.0, 0.5}, {0.4, 1.0}};
  CHECK(error_of([&] { GaussianMixture({0.2, 0.3, 0.5}, means, {eye, asymmetric, eye}); }) ==
        "covariances[1]: not symmetric");
  CHECK(error_of([&] { GaussianMixture({0.2, 0.3, 0.5}, means, {Matrix::Identity(3, 3), eye, eye}); }) ==
        "covariances[0]: expected 2x2, got 3x3");
  CHECK(error_of([&] { GaussianMixture({0.2, 0.8}, means.topRows(2), {eye}); }) ==
        "covariances: expected 2 matrices (one per weight), got 1");
  // 1/3 to seven digits (sum off by 1e-7): accepted and rescaled to an exact sum.
  const GaussianMixture thirds =
      GaussianMixture::isotropic({0.3333333, 0.3333333, 0.3333333}, means, {1, 1, 1});
  CHECK(thirds.weights()[0] + thirds.weights()[1] + thirds.weights()[2] == doctest::Approx(1.0).epsilon(1e-15));
}

TEST_CASE("the prior: N(m(T) mu, prior_std^2 I), mu the data mean") {
  // aniso2d moved to x_1 = 200, so that the mean of p_T, m(T) (200, 0), is
  // many SE from the origin under every SDE (VE: SE 50 / sqrt(20000) = 0.35;
  // VP: m(T) = 0.0066, 200 m(T) = 1.3 against SE 0.007).
  const GaussianMixture base = aniso2d();
  std::vector<Matrix> covariances;
  for (int k = 0; k < base.components(); ++k) covariances.push_back(base.covariance(k));
  const GaussianMixture far(base.weights(), base.means().rowwise() + RowVector{{200.0, 0.0}}, covariances);
  for (const sde::Sde& process : {sde::Sde::vp(), sde::Sde::ve(), sde::Sde::subvp()}) {
    const sde::MixtureScore oracle(far, process);
    const sde::Prior prior(oracle);
    const RowVector mu = process.mean_coeff(process.T) * oracle.mixture().mean();
    CHECK((prior.mean() - mu).norm() <= 1e-15 * (1 + mu.norm()));
    CHECK(prior.std() == process.prior_std());
    // The density against the closed form, at the mean and one std off it.
    const double var = prior.std() * prior.std();
    RowVector x = mu;
    CHECK(prior.log_density(x.data()) == doctest::Approx(-std::log(2 * std::numbers::pi * var)).epsilon(1e-14));
    x(1) += prior.std();
    CHECK(prior.log_density(x.data()) == doctest::Approx(-std::log(2 * std::numbers::pi * var) - 0.5).epsilon(1e-14));
    // The mean of exact draws of p_T, within 4 SE of each coordinate.
    Matrix xt(20000, 2);
    oracle.mixture().sample(3, 0, xt, nullptr, process.mean_coeff(process.T), process.std(process.T));
    const RowVector drawn_mean = xt.colwise().mean();
    for (Eigen::Index j = 0; j < 2; ++j)
      CHECK(std::abs(drawn_mean(j) - prior.mean()(j)) <= 4 * prior.std() / std::sqrt(20000.0));
    Matrix z(2, 2), drawn;
    z << 0, 0, 1, -2;
    prior.draw(z, drawn);
    CHECK(drawn.row(0) == prior.mean());
    CHECK((drawn.row(1) - prior.mean() - prior.std() * z.row(1)).norm() <= 1e-12 * prior.std());
  }
}

TEST_CASE("MixtureScore: per-row t through the SDE's kernel coefficients") {
  for (const sde::Sde& process : {sde::Sde::vp(), sde::Sde::ve(), sde::Sde::subvp()}) {
    const sde::MixtureScore oracle(aniso2d(), process);
    CHECK(oracle.dim() == 2);
    const Matrix x = probe_points(oracle.mixture(), 1.0, 0.5);
    Vector t(x.rows());
    for (int i = 0; i < x.rows(); ++i) t[i] = i < 6 ? 0.25 : 0.001 + 0.1 * i;
    Matrix out(x.rows(), 2);
    oracle.score(x, t, out);
    for (int i = 0; i < x.rows(); ++i) {
      Vector expected(2);
      oracle.mixture().score(x.row(i).data(), expected.data(), process.mean_coeff(t[i]), process.std(t[i]));
      CHECK(out.row(i) == expected.transpose());
    }
  }
}

// The denoiser sde-score reports, (x + s^2 score) / m, against E[x(0) | x(t)]
// computed directly: the component posteriors times each component's
// conditional mean mu_k + m Sigma_k (m^2 Sigma_k + s^2 I)^-1 (x - m mu_k).
// Both are double-precision closed forms: 1e-9 relative is rounding.
TEST_CASE("evaluate_quantity: Tweedie's denoiser is the exact posterior mean; noise and log p_t") {
  const GaussianMixture mix = sde::testing::full_5d();
  for (const Sde& process : {Sde::vp(), Sde::ve(), Sde::subvp()}) {
    CAPTURE(process.name());
    const MixtureScore oracle(mix, process);
    const int n = 40, d = mix.dim();
    Matrix x(n, d);
    Vector t(n);
    sde::Stream rng(17, sde::Purpose::noise, 0);
    for (int i = 0; i < n; ++i) {
      t(i) = 0.02 + 0.9 * rng.uniform();
      for (int j = 0; j < d; ++j) x(i, j) = 3 * rng.normal();
    }
    const Matrix denoised = sde::evaluate_quantity(oracle, &mix, sde::ScoreQuantity::denoiser, x, t, 2);
    const Matrix noise = sde::evaluate_quantity(oracle, &mix, sde::ScoreQuantity::noise, x, t, 1);
    const Matrix score = sde::evaluate_quantity(oracle, &mix, sde::ScoreQuantity::score, x, t, 3);
    const Matrix logp = sde::evaluate_quantity(oracle, &mix, sde::ScoreQuantity::log_density, x, t, 2);
    for (int i = 0; i < n; ++i) {
      const double m = process.mean_coeff(t(i)), s = process.std(t(i));
      std::vector<double> post(mix.weights().size());
      const double log_density = mix.posteriors(x.row(i).data(), post.data(), m, s);
      RowVector want = RowVector::Zero(d);
      for (std::size_t k = 0; k < post.size(); ++k) {
        const Matrix cov = m * m * mix.covariance(int(k)) + s * s * Matrix::Identity(d, d);
        const Vector gain = cov.llt().solve((x.row(i) - m * mix.means().row(int(k))).transpose());
        want += post[k] * (mix.means().row(int(k)) + m * (mix.covariance(int(k)) * gain).transpose());
      }
      CHECK((denoised.row(i) - want).norm() <= 1e-9 * want.norm());
      CHECK((noise.row(i) + s * score.row(i)).norm() <= 1e-12 * noise.row(i).norm());
      CHECK(logp(i, 0) == doctest::Approx(log_density).epsilon(1e-12));
    }
  }
  CHECK_THROWS_AS(sde::evaluate_quantity(MixtureScore(mix, Sde::vp()), nullptr, sde::ScoreQuantity::log_density,
                                         Matrix::Zero(1, 5), Vector::Constant(1, 0.5), 1),
                  sde::Error);
}

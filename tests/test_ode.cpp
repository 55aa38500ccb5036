#include <doctest/doctest.h>

#include <cmath>

#include "error.hpp"
#include "ode.hpp"

using namespace sde;

namespace {
// Row i: y' = lambda_i * y, lambda from column 1 (kept constant: its derivative is 0).
void linear(ConstMatrixRef y, ConstVectorRef, std::span<const Eigen::Index>, MatrixRef dy) {
  dy.col(0) = y.col(0).cwiseProduct(y.col(1));
  dy.col(1).setZero();
}
}  // namespace

TEST_CASE("per-row linear ODEs reach the exact solution within the tolerance") {
  const double lambdas[] = {-1.0, -10.0, 2.0, 0.5, -0.1};
  Matrix y(5, 2);
  for (int i = 0; i < 5; ++i) y.row(i) << 1.0 + i, lambdas[i];
  const Matrix y0 = y;
  std::vector<OdeRowStats> stats;
  double prev_err = 1e9;
  int prev_nfe = 0;
  for (double tol : {1e-4, 1e-6, 1e-8}) {
    y = y0;
    OdeOptions opt;
    opt.rtol = opt.atol = tol;
    integrate_dopri5(linear, y, 0.0, {1.0}, opt, stats);
    double err = 0;
    int nfe = 0;
    for (int i = 0; i < 5; ++i) {
      const double exact = y0(i, 0) * std::exp(lambdas[i]);
      // Local error control keeps the global error within a modest multiple of tol.
      CHECK(std::abs(y(i, 0) - exact) <= 20 * tol * std::max(1.0, std::abs(exact)));
      err = std::max(err, std::abs(y(i, 0) - exact));
      nfe += stats[static_cast<std::size_t>(i)].nfe;
    }
    CAPTURE(tol);
    CHECK(err < prev_err);   // error falls with the tolerance
    CHECK(nfe > prev_nfe);   // at the price of more evaluations
    prev_err = err;
    prev_nfe = nfe;
  }
  // Stiffer rows need more steps: each row has its own step control.
  CHECK(stats[1].nfe > stats[4].nfe);
}

TEST_CASE("a row's result does not depend on the rows batched with it") {
  Matrix batch(4, 2);
  batch << 1, -3, 2, 0.7, -1, -20, 0.5, 1.5;
  Matrix alone = batch.row(2);
  std::vector<OdeRowStats> s_batch, s_alone;
  Matrix b = batch;
  integrate_dopri5(linear, b, 0.0, {0.3, 1.0}, OdeOptions{}, s_batch);
  integrate_dopri5(linear, alone, 0.0, {0.3, 1.0}, OdeOptions{}, s_alone);
  CHECK(alone(0, 0) == b(2, 0));
  CHECK(s_alone[0].nfe == s_batch[2].nfe);
}

TEST_CASE("the right-hand side learns which rows it is given") {
  // y' = rate[row] y with the rate kept outside the state: correct only if
  // the rows passed to the right-hand side name the original rows even
  // after finished rows have been compacted away.
  const std::vector<double> rate = {-0.5, 3.0, -8.0, 1.0, 0.1};
  auto per_row = [&](ConstMatrixRef y, ConstVectorRef, std::span<const Eigen::Index> rows, MatrixRef dy) {
    for (Eigen::Index i = 0; i < y.rows(); ++i) dy(i, 0) = rate[static_cast<std::size_t>(rows[static_cast<std::size_t>(i)])] * y(i, 0);
  };
  Matrix y = Matrix::Ones(5, 1);
  std::vector<OdeRowStats> stats;
  OdeOptions opt;
  opt.rtol = opt.atol = 1e-9;
  integrate_dopri5(per_row, y, 0.0, {1.0}, opt, stats);
  for (int i = 0; i < 5; ++i) CHECK(y(i, 0) == doctest::Approx(std::exp(rate[static_cast<std::size_t>(i)])).epsilon(1e-7));
}

TEST_CASE("backward integration, stops and frames: a rotation") {
  // y' = (y2, -y1): exact solution rotates; integrate from t = 1 back to 0 with frames.
  auto rotation = [](ConstMatrixRef y, ConstVectorRef, std::span<const Eigen::Index>, MatrixRef dy) {
    dy.col(0) = y.col(1);
    dy.col(1) = -y.col(0);
  };
  Matrix y(2, 2);
  y << 1, 0, 0, 2;
  const Matrix y0 = y;
  std::vector<OdeRowStats> stats;
  std::vector<Matrix> frames;
  OdeOptions opt;
  opt.rtol = opt.atol = 1e-9;
  integrate_dopri5(rotation, y, 1.0, {0.75, 0.5, 0.0}, opt, stats, &frames);
  REQUIRE(frames.size() == 3);
  for (std::size_t k = 0; k < 3; ++k) {
    const double dt = std::vector<double>{0.75, 0.5, 0.0}[k] - 1.0;
    for (int i = 0; i < 2; ++i) {
      // exact: (y1 cos dt + y2 sin dt, -y1 sin dt + y2 cos dt)
      CHECK(frames[k](i, 0) == doctest::Approx(y0(i, 0) * std::cos(dt) + y0(i, 1) * std::sin(dt)).epsilon(1e-7));
      CHECK(frames[k](i, 1) == doctest::Approx(-y0(i, 0) * std::sin(dt) + y0(i, 1) * std::cos(dt)).epsilon(1e-7));
    }
  }
  CHECK(y == frames[2]);
}

TEST_CASE("blow-up is an error, not a hang") {
  auto blowup = [](ConstMatrixRef y, ConstVectorRef, std::span<const Eigen::Index>, MatrixRef dy) {
    dy = y.cwiseProduct(y);
  };
  Matrix y = Matrix::Ones(1, 1);  // y = 1/(1-t): singular at t = 1
  std::vector<OdeRowStats> stats;
  CHECK_THROWS_AS(integrate_dopri5(blowup, y, 0.0, {2.0}, OdeOptions{}, stats), Error);
  Matrix two = Matrix::Ones(1, 2);
  CHECK_THROWS_AS(integrate_dopri5(linear, two, 0.0, {0.5, 0.2, 1.0}, OdeOptions{}, stats), Error);
}

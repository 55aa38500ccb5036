#include "score.hpp"

#include <cmath>
#include <numbers>

#include <fmt/format.h>

#include "error.hpp"
#include "parallel.hpp"

namespace sde {

void ScoreModel::score_divergence(const Matrix& x, const Vector& t, Matrix& score_out,
                                  Vector& divergence) const {
  Matrix basis = Matrix::Zero(x.rows(), x.cols()), jv(x.rows(), x.cols());
  divergence.setZero(x.rows());
  for (Eigen::Index j = 0; j < x.cols(); ++j) {
    if (j > 0) basis.col(j - 1).setZero();
    basis.col(j).setOnes();
    score_jvp(x, t, basis, score_out, jv);
    divergence += jv.col(j);
  }
}

Prior::Prior(const ScoreModel& model)
    : mean_(model.sde().mean_coeff(model.sde().T) * model.data_mean()), std_(model.sde().prior_std()) {}

void Prior::draw(const Matrix& z, Matrix& x) const {
  x = (std_ * z).rowwise() + mean_;
}

double Prior::log_density(const double* x) const {
  const auto d = mean_.size();
  const double sq = (Eigen::Map<const RowVector>(x, d) - mean_).squaredNorm();
  return -0.5 * static_cast<double>(d) * std::log(2.0 * std::numbers::pi * std_ * std_) - 0.5 * sq / (std_ * std_);
}

void ScoreModel::score_at_time(const Matrix& x, double t, Matrix& out) const {
  thread_local Vector times;  // reused: this runs inside every sampler step
  times.setConstant(x.rows(), t);
  score(x, times, out);
}

void MixtureScore::kernel(const Vector& t, Vector& m, Vector& s) const {
  // Samplers pass one t for the whole batch: reuse the previous row's
  // coefficients instead of recomputing exp and pow.
  m.resize(t.size());
  s.resize(t.size());
  for (Eigen::Index i = 0; i < t.size(); ++i) {
    if (i > 0 && t[i] == t[i - 1]) {
      m[i] = m[i - 1];
      s[i] = s[i - 1];
    } else {
      m[i] = sde_.mean_coeff(t[i]);
      s[i] = sde_.std(t[i]);
    }
  }
}

void MixtureScore::score(const Matrix& x, const Vector& t, Matrix& out) const {
  if (t.size() != x.rows())
    throw Error(fmt::format("score: {} points but {} times", x.rows(), t.size()));
  thread_local Vector m, s;  // reused: this runs inside every sampler step
  kernel(t, m, s);
  mix_.score(x, m, s, out);
}

void MixtureScore::score_jvp(const Matrix& x, const Vector& t, const Matrix& v,
                             Matrix& score_out, Matrix& jv) const {
  Vector m, s;
  kernel(t, m, s);
  mix_.score_jvp(x, m, s, v, score_out, jv);
}

void MixtureScore::score_divergence(const Matrix& x, const Vector& t, Matrix& score_out,
                                    Vector& divergence) const {
  Vector m, s;
  kernel(t, m, s);
  mix_.score_divergence(x, m, s, score_out, divergence);
}

Matrix evaluate_quantity(const ScoreModel& source, const GaussianMixture* exact, ScoreQuantity what,
                         const Matrix& x, const Vector& t, int threads) {
  if (what == ScoreQuantity::log_density && !exact) throw Error("log p_t is known only for the exact mixture");
  // Rows per task: the unit the threads take.
  constexpr std::size_t kRowsPerTask = 1024;
  const Sde& process = source.sde();
  Matrix out(x.rows(), what == ScoreQuantity::log_density ? 1 : x.cols());
  parallel_for(std::size_t(x.rows()), kRowsPerTask, threads, [&](std::size_t begin, std::size_t end) {
    const auto at = Eigen::Index(begin), n = Eigen::Index(end - begin);
    const Matrix rows = x.middleRows(at, n);
    const Vector times = t.segment(at, n);
    Vector m(n), s(n);
    for (Eigen::Index i = 0; i < n; ++i) m(i) = process.mean_coeff(times(i)), s(i) = process.std(times(i));
    if (what == ScoreQuantity::log_density) {
      Vector density(n);
      exact->log_density(rows, m, s, density);
      out.middleRows(at, n) = density;
      return;
    }
    Matrix score(n, x.cols());
    source.score(rows, times, score);
    for (Eigen::Index i = 0; i < n; ++i) {
      switch (what) {
        case ScoreQuantity::score: out.row(at + i) = score.row(i); break;
        case ScoreQuantity::denoiser: out.row(at + i) = (rows.row(i) + s(i) * s(i) * score.row(i)) / m(i); break;
        case ScoreQuantity::noise: out.row(at + i) = -s(i) * score.row(i); break;
        case ScoreQuantity::log_density: break;
      }
    }
  });
  return out;
}

}  // namespace sde

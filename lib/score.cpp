#include "score.hpp"

#include <cmath>
#include <numbers>

#include <fmt/format.h>

#include "error.hpp"

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

}  // namespace sde

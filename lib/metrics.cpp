#include "metrics.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "error.hpp"
#include "rng.hpp"

namespace sde {

namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

// Standard error of the mean of n values, given the sum of their squared
// deviations from the mean.
double standard_error(double squared_deviations, long n) {
  return n > 1 ? std::sqrt(squared_deviations / double(n - 1) / double(n)) : nan;
}

void require_same_columns(const Matrix& x, const Matrix& y, const char* what) {
  if (x.cols() != y.cols())
    throw Error(fmt::format("{}: samples have {} and {} columns", what, x.cols(), y.cols()));
  if (x.rows() == 0 || y.rows() == 0) throw Error(fmt::format("{}: empty sample", what));
}

// Mean of |a_i - b_j| over all pairs (i, j). b is copied column-major so the
// inner loops run over contiguous memory and vectorise.
double mean_pair_distance(const Matrix& a, const Matrix& b) {
  const Eigen::MatrixXd b_columns = b;
  Eigen::ArrayXd squared(b.rows());
  double total = 0;
  for (Eigen::Index i = 0; i < a.rows(); ++i) {
    squared.setZero();
    for (Eigen::Index k = 0; k < a.cols(); ++k)
      squared += (b_columns.col(k).array() - a(i, k)).square();
    total += squared.sqrt().sum();
  }
  return total / (double(a.rows()) * double(b.rows()));
}

}  // namespace

Matrix finite_rows(const Matrix& x) {
  std::vector<Eigen::Index> keep;
  for (Eigen::Index i = 0; i < x.rows(); ++i)
    if (x.row(i).allFinite()) keep.push_back(i);
  return x(keep, Eigen::all);
}

MixtureFit fit_to_mixture(const Matrix& x, const GaussianMixture& mix) {
  if (x.cols() != mix.dim())
    throw Error(
        fmt::format("sample has {} columns, mixture has {} dimensions", x.cols(), mix.dim()));
  const Matrix finite = finite_rows(x);
  const long n = static_cast<long>(finite.rows());
  const int components = mix.components();

  // Row i: the K posteriors, then log p. Kept so the SEs use two passes.
  Matrix per_row(n, components + 1);
  for (long i = 0; i < n; ++i)
    per_row(i, components) = mix.posteriors(finite.row(i).data(), per_row.row(i).data());

  const RowVector mean = sample_mean(per_row);
  const RowVector squared_deviations = (per_row.rowwise() - mean).array().square().colwise().sum();
  MixtureFit fit;
  for (int k = 0; k < components; ++k) {
    fit.weights.push_back(mean(k));
    fit.weight_se.push_back(standard_error(squared_deviations(k), n));
  }
  fit.mean_log_density = mean(components);
  fit.log_density_se = standard_error(squared_deviations(components), n);
  fit.rows_used = n;
  fit.non_finite_rows = static_cast<long>(x.rows()) - n;
  return fit;
}

RowVector sample_mean(const Matrix& x) {
  if (x.rows() == 0) return RowVector::Constant(x.cols(), nan);
  return x.colwise().mean();
}

Matrix sample_covariance(const Matrix& x) {
  if (x.rows() < 2) return Matrix::Constant(x.cols(), x.cols(), nan);
  const Matrix centered = x.rowwise() - sample_mean(x);
  return centered.transpose() * centered / double(x.rows() - 1);
}

ColumnSummary column_summary(const Matrix& x) {
  const Eigen::Index cols = x.cols();
  ColumnSummary s{RowVector::Constant(cols, std::numeric_limits<double>::infinity()),
                  RowVector::Constant(cols, -std::numeric_limits<double>::infinity()),
                  RowVector::Zero(cols), 0};
  RowVector counts = RowVector::Zero(cols);
  for (Eigen::Index i = 0; i < x.rows(); ++i)
    for (Eigen::Index k = 0; k < cols; ++k) {
      const double v = x(i, k);
      if (!std::isfinite(v)) {
        ++s.non_finite;
        continue;
      }
      s.min(k) = std::min(s.min(k), v);
      s.max(k) = std::max(s.max(k), v);
      s.mean(k) += v;
      ++counts(k);
    }
  for (Eigen::Index k = 0; k < cols; ++k)
    if (counts(k) > 0)
      s.mean(k) /= counts(k);
    else
      s.min(k) = s.max(k) = s.mean(k) = nan;
  return s;
}

Matrix subsample_rows(const Matrix& x, long count, std::uint64_t seed, std::uint64_t stream) {
  const auto n = static_cast<std::size_t>(x.rows());
  if (count < 0 || static_cast<std::size_t>(count) >= n) return x;
  if (n > std::numeric_limits<std::uint32_t>::max())
    throw Error(fmt::format("cannot subsample {} rows (at most 2^32 - 1)", n));
  // Partial Fisher-Yates: the first `count` entries become a uniform random subset.
  std::vector<Eigen::Index> index(n);
  std::iota(index.begin(), index.end(), Eigen::Index{0});
  Stream rng(seed, Purpose::batch, stream);
  for (std::size_t i = 0; i < static_cast<std::size_t>(count); ++i)
    std::swap(index[i], index[i + rng.below(static_cast<std::uint32_t>(n - i))]);
  index.resize(static_cast<std::size_t>(count));
  std::sort(index.begin(), index.end());
  return x(index, Eigen::all);
}

double energy_distance(const Matrix& x, const Matrix& y) {
  require_same_columns(x, y, "energy distance");
  // All three terms use the same full double loop, so identical samples give
  // exactly 0; the V-statistic is non-negative, and clamping only removes a
  // rounding-level negative value.
  const double value =
      2 * mean_pair_distance(x, y) - mean_pair_distance(x, x) - mean_pair_distance(y, y);
  return std::max(0.0, value);
}

double wasserstein_1d(Vector a, Vector b) {
  if (a.size() == 0 || b.size() == 0) throw Error("Wasserstein distance: empty sample");
  std::sort(a.data(), a.data() + a.size());
  std::sort(b.data(), b.data() + b.size());
  // The quantile functions are step functions jumping at multiples of 1/n and
  // 1/m. Measured in units of 1/(n m) the jumps sit at multiples of m and n, so
  // the merge of the two step grids is exact integer arithmetic.
  const auto n = static_cast<std::uint64_t>(a.size()), m = static_cast<std::uint64_t>(b.size());
  std::uint64_t i = 0, j = 0, reached = 0;
  double total = 0;
  while (i < n && j < m) {
    const std::uint64_t next = std::min((i + 1) * m, (j + 1) * n);
    total += double(next - reached) * std::abs(a(Eigen::Index(i)) - b(Eigen::Index(j)));
    reached = next;
    if ((i + 1) * m == next) ++i;
    if ((j + 1) * n == next) ++j;
  }
  return total / (double(n) * double(m));
}

double sliced_wasserstein(const Matrix& x, const Matrix& y, int projections, std::uint64_t seed) {
  require_same_columns(x, y, "sliced Wasserstein distance");
  if (projections < 1) throw Error("sliced Wasserstein distance: need at least one projection");
  Vector direction(x.cols());
  double total = 0;
  for (int k = 0; k < projections; ++k) {
    // A standard normal vector, normalised, is uniform on the unit sphere.
    Stream rng(seed, Purpose::projection, static_cast<std::uint64_t>(k));
    rng.normals(direction.data(), static_cast<int>(direction.size()));
    direction.normalize();
    total += wasserstein_1d(x * direction, y * direction);
  }
  return total / projections;
}

double score_relative_error(const ScoreModel& model, const GaussianMixture& truth, double t_min,
                            double t_max, int times, int points, std::uint64_t seed,
                            std::vector<double>* per_time) {
  if (model.dim() != truth.dim())
    throw Error(fmt::format("score_relative_error: the model has d = {}, the mixture {}", model.dim(),
                            truth.dim()));
  if (times < 1 || points < 1 || !(t_min > 0 && t_max >= t_min))
    throw Error("score_relative_error: need times, points >= 1 and 0 < t_min <= t_max");
  const MixtureScore exact(truth, model.sde());
  const Sde& sde = model.sde();
  Matrix x(points, truth.dim()), learned(points, truth.dim()), reference(points, truth.dim());
  double total = 0;
  if (per_time) per_time->clear();
  for (int k = 0; k < times; ++k) {
    const double t = times == 1 ? t_min : t_min + (t_max - t_min) * k / (times - 1);
    // Each time gets its own rows of the exact sampler's stream.
    truth.sample(seed, static_cast<std::uint64_t>(k) * static_cast<std::uint64_t>(points), x,
                 nullptr, sde.mean_coeff(t), sde.std(t));
    const Vector tv = Vector::Constant(points, t);
    model.score_at_time(x, t, learned);
    exact.score(x, tv, reference);
    const double rel = std::sqrt((learned - reference).squaredNorm() / reference.squaredNorm());
    if (per_time) per_time->push_back(rel);
    total += rel;
  }
  return total / times;
}

std::vector<double> score_error_by_band(const ScoreModel& model, const GaussianMixture& truth,
                                        std::span<const double> edges, std::uint64_t seed) {
  std::vector<double> bands;
  for (std::size_t b = 0; b + 1 < edges.size(); ++b)
    bands.push_back(score_relative_error(model, truth, edges[b], edges[b + 1], 5, 1000, seed + b));
  return bands;
}

}  // namespace sde

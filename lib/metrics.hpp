// Sample-quality figures: against an exact mixture or between two samples.
// Single-threaded and deterministic: the same inputs give the same bits.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "mixture.hpp"
#include "score.hpp"
#include "types.hpp"

namespace sde {

// The rows of x without NaN or infinity, in their original order.
Matrix finite_rows(const Matrix& x);

// How well a sample matches a known mixture. Rows with NaN / inf are skipped
// (and counted), so one diverged sample does not hide the rest.
struct MixtureFit {
  std::vector<double> weights;    // mean component posterior p(k | x) over the rows used
  std::vector<double> weight_se;  // standard error of each weight
  double mean_log_density = 0;    // mean of log p(x) under the mixture
  double log_density_se = 0;      // its standard error
  long rows_used = 0;
  long non_finite_rows = 0;
};
// Throws sde::Error when the column count differs from the mixture's dimension.
// Figures that need more rows than were used (a mean of 0 rows, an SE of 1) are NaN.
MixtureFit fit_to_mixture(const Matrix& x, const GaussianMixture& mix);

// Moments of a sample; NaN when there are too few rows (0 for the mean, < 2 for the covariance).
RowVector sample_mean(const Matrix& x);
Matrix sample_covariance(const Matrix& x);  // unbiased (N - 1)

// Per-column range and mean over the finite entries of each column (NaN for a
// column without any), and the number of non-finite entries in the whole matrix.
struct ColumnSummary {
  RowVector min, max, mean;
  long non_finite = 0;
};
ColumnSummary column_summary(const Matrix& x);

// `count` distinct rows of x chosen uniformly at random (kept in their original
// order), drawn from Stream(seed, Purpose::batch, stream); x itself when it has
// no more than `count` rows or count < 0. Different `stream` values give
// independent choices.
Matrix subsample_rows(const Matrix& x, long count, std::uint64_t seed, std::uint64_t stream);

// Energy distance 2 E|X-Y| - E|X-X'| - E|Y-Y'| between the empirical distributions
// (the V-statistic, exact, O(N M d); callers subsample large inputs). Exactly 0
// for identical samples; non-negative. Throws on empty input or differing columns.
double energy_distance(const Matrix& x, const Matrix& y);

// Exact 1-Wasserstein distance between two empirical 1-D distributions of any
// sizes: the integral over q in (0, 1) of |F^-1(q) - G^-1(q)|.
double wasserstein_1d(Vector a, Vector b);

// Sliced 1-Wasserstein distance: wasserstein_1d of the projections, averaged over
// `projections` random unit directions; direction k comes from
// Stream(seed, Purpose::projection, k), so it does not depend on the data.
double sliced_wasserstein(const Matrix& x, const Matrix& y, int projections, std::uint64_t seed);

// Relative L2 error of a score against the exact one of a mixture:
// for each of `times` evenly spaced t in [t_min, t_max], draw `points`
// exact samples of p_t and compute sqrt(E|s_model - s_exact|^2 / E|s_exact|^2);
// returns the mean over t (per_time gets each t's value when not null).
double score_relative_error(const ScoreModel& model, const GaussianMixture& truth, double t_min,
                            double t_max, int times, int points, std::uint64_t seed,
                            std::vector<double>* per_time = nullptr);
// The same per band [edges[b], edges[b + 1]] of t (5 times, 1000 points
// each): where in t a learned score is off.
std::vector<double> score_error_by_band(const ScoreModel& model, const GaussianMixture& truth,
                                        std::span<const double> edges, std::uint64_t seed);

}  // namespace sde

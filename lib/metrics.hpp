// Sample-quality figures: against an exact mixture or between two samples.
#pragma once
#include <cstdint>
#include <vector>

#include "mixture.hpp"
#include "types.hpp"

namespace sde {

struct MixtureFit {
  std::vector<double> weights;  // mean component posterior over the sample
  double mean_log_density = 0;  // mean of log p(x) under the mixture
  double log_density_se = 0;    // its standard error
  long non_finite_rows = 0;     // rows skipped for NaN / inf
};
MixtureFit fit_to_mixture(const Matrix& x, const GaussianMixture& mix);

// Moments of a sample.
RowVector sample_mean(const Matrix& x);
Matrix sample_covariance(const Matrix& x);  // unbiased (N - 1)

// Energy distance 2 E|X-Y| - E|X-X'| - E|Y-Y'| (V-statistic, exact O(N M d);
// callers subsample large inputs).
double energy_distance(const Matrix& x, const Matrix& y);
// Sliced 1-Wasserstein distance averaged over `projections` random unit directions
// drawn from the counter-based RNG (Purpose::projection, sample = direction index).
double sliced_wasserstein(const Matrix& x, const Matrix& y, int projections, std::uint64_t seed);

}  // namespace sde

#include "conditional.hpp"

#include <cmath>
#include <fmt/format.h>

#include "error.hpp"

namespace sde {

namespace {

GaussianMixture single_component(const GaussianMixture& mixture, int k) {
  if (k < 0 || k >= mixture.components())
    throw Error(fmt::format("class {} does not exist: the mixture has components 0..{}", k,
                            mixture.components() - 1));
  return GaussianMixture({1.0}, mixture.means().row(k), {mixture.covariance(k)});
}

}  // namespace

ClassGuidedScore::ClassGuidedScore(const GaussianMixture& mixture, const Sde& sde, int component,
                                   double guidance)
    : full_(mixture, sde), component_(single_component(mixture, component), sde), w_(guidance) {
  if (!(guidance >= 0)) throw Error("--guidance must be non-negative");
}

RowVector ClassGuidedScore::data_mean() const {
  const RowVector mixture_mean = full_.data_mean();
  return mixture_mean + w_ * (component_.data_mean() - mixture_mean);
}

void ClassGuidedScore::score(const Matrix& x, const Vector& t, Matrix& out) const {
  Matrix s_k(x.rows(), x.cols());
  full_.score(x, t, out);
  component_.score(x, t, s_k);
  out += w_ * (s_k - out);
}

void ClassGuidedScore::score_jvp(const Matrix& x, const Vector& t, const Matrix& v,
                                 Matrix& score_out, Matrix& jv) const {
  Matrix s_k, jv_k;
  full_.score_jvp(x, t, v, score_out, jv);
  component_.score_jvp(x, t, v, s_k, jv_k);
  score_out += w_ * (s_k - score_out);
  jv += w_ * (jv_k - jv);
}

void check_known(const Matrix& known, int d, std::size_t total_rows) {
  if (known.cols() != d)
    throw Error(fmt::format("known values have {} columns, the model has {}", known.cols(), d));
  if (known.rows() != 1 && static_cast<std::size_t>(known.rows()) != total_rows)
    throw Error(fmt::format("known values need 1 row or one per sample ({}), got {}", total_rows,
                            known.rows()));
  for (Eigen::Index i = 0; i < known.rows(); ++i) {
    bool any_unknown = false;
    for (Eigen::Index j = 0; j < d; ++j) {
      if (std::isinf(known(i, j))) throw Error(fmt::format("row {}: infinite known value", i));
      any_unknown |= std::isnan(known(i, j));
    }
    if (!any_unknown) throw Error(fmt::format("row {}: every coordinate is known (use NaN for the ones to sample)", i));
  }
}

SampleResult impute_exact(const GaussianMixture& mixture, const Sde& sde, const Matrix& known,
                          std::size_t n, const SampleRun& run, const Sampler& sampler) {
  const int d = mixture.dim();
  SampleResult result;
  result.x.resize(static_cast<Eigen::Index>(n), d);
  result.nfe.assign(n, 0);
  // One sampler run per distinct known row: all rows share it when known
  // has a single row; otherwise each row conditions on its own values.
  const bool shared = known.rows() == 1;
  const std::size_t groups = shared ? 1 : n;
  for (std::size_t g = 0; g < groups; ++g) {
    const Eigen::Index known_row = shared ? 0 : static_cast<Eigen::Index>(run.first_row + g);
    std::vector<bool> mask(static_cast<std::size_t>(d));
    std::vector<int> unknown;
    for (int j = 0; j < d; ++j) {
      mask[static_cast<std::size_t>(j)] = !std::isnan(known(known_row, j));
      if (!mask[static_cast<std::size_t>(j)]) unknown.push_back(j);
    }
    const GaussianMixture q = mixture.conditional(mask, known.row(known_row).data());
    SampleRun sub = run;
    sub.first_row = run.first_row + (shared ? 0 : g);
    sub.trajectory_frames = 0;
    const SampleResult part = sampler(MixtureScore(q, sde), shared ? n : 1, sub);
    for (Eigen::Index i = 0; i < part.x.rows(); ++i) {
      const auto row = static_cast<Eigen::Index>(shared ? static_cast<std::size_t>(i) : g);
      result.x.row(row) = known.row(known_row);
      for (std::size_t u = 0; u < unknown.size(); ++u)
        result.x(row, unknown[u]) = part.x(i, static_cast<Eigen::Index>(u));
      result.nfe[static_cast<std::size_t>(row)] = part.nfe[static_cast<std::size_t>(i)];
    }
  }
  return result;
}

}  // namespace sde

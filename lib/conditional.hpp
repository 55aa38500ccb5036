// Conditional generation (Song et al. 2021, Section 5, Appendix I).
//
// Class-conditional sampling (Eq. 14, 49) needs the time-dependent
// classifier p_t(y | x); for a mixture whose classes are its components it
// is exact: p_t(k | x) is the component posterior of the perturbed mixture,
// and grad log p_t(k | x) = s_k(x) - s(x), with s_k the score of component k
// alone. Guidance w scales it: s + w (s_k - s); w = 1 is the exact
// conditional p_t(x | k).
//
// Imputation (Appendix I.2): coordinates marked known are held at given
// values. With the oracle the conditional distribution of the rest is itself
// a Gaussian mixture (GaussianMixture::conditional), so the sampler runs on
// it exactly. With a trained model the paper's replacement method is used:
// after every step the known coordinates are reset to a fresh draw of the
// perturbation kernel, m(t) y + s(t) z (an approximation).
#pragma once
#include <functional>

#include "sample.hpp"
#include "score.hpp"

namespace sde {

class ClassGuidedScore final : public ScoreModel {
public:
  ClassGuidedScore(const GaussianMixture& mixture, const Sde& sde, int component, double guidance);
  int dim() const override { return full_.dim(); }
  void score(const Matrix& x, const Vector& t, Matrix& out) const override;
  void score_jvp(const Matrix& x, const Vector& t, const Matrix& v, Matrix& score_out,
                 Matrix& jv) const override;
  const Sde& sde() const override { return full_.sde(); }
  // mu + w (mu_k - mu): where the guided score vanishes at large t, when
  // both scores are close to -(x - m mean) / s^2 (the mixture's mean at
  // w = 0, component k's at w = 1). It centres the prior.
  RowVector data_mean() const override;

private:
  MixtureScore full_, component_;
  double w_;
};

// Runs one sampler: n rows of the given model, with the run's keys.
using Sampler = std::function<SampleResult(const ScoreModel&, std::size_t n, const SampleRun&)>;

// known: 1 x d (the same for every row) or n x d; NaN marks a coordinate to
// sample, a finite entry is held fixed. Row i of the result uses the keys
// of global row run.first_row + i, and known row run.first_row + i when
// known has one row per sample of the whole run (total_rows rows).
SampleResult impute_exact(const GaussianMixture& mixture, const Sde& sde, const Matrix& known,
                          std::size_t n, const SampleRun& run, const Sampler& sampler);

// Checks known's shape against d and the run's total rows; returns the mask.
void check_known(const Matrix& known, int d, std::size_t total_rows);

}  // namespace sde

// Exact log-likelihoods through the probability-flow ODE (Song et al. 2021,
// Section 4.3, Appendix D.2): integrating
//   dx/dt = f~(x, t) = f(x, t) - g(t)^2 s(x, t) / 2,   d delta/dt = div f~(x, t)
// from eps to T gives log p_eps(x) = log p_T(x(T)) + delta(T), with the same
// per-sample adaptive Dormand-Prince solver as the ODE sampler (the error
// control covers delta too).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ode.hpp"
#include "progress.hpp"
#include "score.hpp"

namespace sde {

enum class Divergence { exact, hutchinson_gaussian, hutchinson_rademacher };
Divergence parse_divergence(const std::string& s);
std::string to_string(Divergence d);

// Up to this dimension a network's exact divergence is the default: it takes
// ceil(d / 4) forward-mode passes of 1 + min(d, 4) column blocks each, about
// d / 2 times the cost of one Hutchinson probe (2 blocks), so 16 dimensions
// cost ~8 probes' worth, with no estimator variance.
inline constexpr int kExactDivergenceMaxDim = 16;
// The default divergence: exact where it is analytic (the oracle) or the
// dimension is at most kExactDivergenceMaxDim, else Hutchinson with
// Rademacher probes (the lower-variance estimator).
Divergence default_divergence(int dim, bool analytic);

struct LikelihoodOptions {
  OdeOptions tolerances;
  double eps = 1e-5;
  Divergence divergence = Divergence::exact;
  int probes = 1;  // Hutchinson probes per row, fixed along the path
  // Prior log-density at T: the SDE's (Prior in score.hpp) unless set (the
  // oracle's exact p_T).
  const GaussianMixture* exact_prior = nullptr;
  std::uint64_t seed = 0;
  std::uint64_t first_row = 0;
  int threads = 1;
};

struct LikelihoodResult {
  Vector log_density;     // log p(x_i)
  Vector prior_term;      // log p_T(x_i(T))
  Matrix latent;          // x_i(T)
  std::vector<int> nfe;   // per row
};

LikelihoodResult log_likelihood(const ScoreModel& model, const Matrix& x,
                                const LikelihoodOptions& options, Progress& progress);

}  // namespace sde

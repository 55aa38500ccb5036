// Likelihoods through the probability-flow ODE against the exact density of
// a Gaussian mixture: with the oracle's score and its exact p_T as the prior,
// the only error left is the ODE solver's.
#include <doctest/doctest.h>

#include <cmath>

#include "likelihood.hpp"
#include "sample.hpp"
#include "test_mixtures.hpp"

using namespace sde;

namespace {

GaussianMixture one_d() {
  Matrix mu(2, 1);
  mu << -2, 2;
  return GaussianMixture::isotropic({0.6, 0.4}, mu, {0.5, 0.2});
}
GaussianMixture two_d() { return testing::anisotropic_2d(); }
GaussianMixture five_d() {
  Matrix mu(3, 5);
  mu << 1, 0, -1, 2, 0, -1, 1, 0, 0, 2, 0, -2, 1, -1, 0;
  return GaussianMixture::isotropic({0.2, 0.5, 0.3}, mu, {0.5, 0.7, 0.4});
}

// Mean |log p_hat - log p_eps| over exact draws, and mean NFE.
std::pair<double, double> oracle_error(const GaussianMixture& mix, const Sde& sde, double tol,
                                       int n, Divergence div = Divergence::exact, int probes = 1) {
  Matrix x(n, mix.dim());
  mix.sample(7, 0, x);
  const MixtureScore oracle(mix, sde);
  LikelihoodOptions o;
  o.tolerances.rtol = o.tolerances.atol = tol;
  o.exact_prior = &mix;
  o.divergence = div;
  o.probes = probes;
  o.threads = 2;
  NoProgress quiet;
  const LikelihoodResult r = log_likelihood(oracle, x, o, quiet);
  double err = 0, nfe = 0;
  for (int i = 0; i < n; ++i) {
    // The ODE maps p_eps to p_T exactly, so compare with log p_eps.
    err += std::abs(r.log_density(i) -
                    mix.log_density(x.row(i).data(), sde.mean_coeff(o.eps), sde.std(o.eps)));
    nfe += r.nfe[static_cast<std::size_t>(i)];
  }
  return {err / n, nfe / n};
}

}  // namespace

TEST_CASE("exact divergence and exact prior: within 1e-3 nats at rtol = atol = 1e-5") {
  for (const Sde& sde : {Sde::ve(), Sde::vp(), Sde::subvp()}) {
    for (const GaussianMixture& mix : {one_d(), two_d(), five_d()}) {
      const auto [err, nfe] = oracle_error(mix, sde, 1e-5, 100);
      CAPTURE(sde.name());
      CAPTURE(mix.dim());
      CAPTURE(nfe);
      CHECK(err <= 1e-3);
    }
  }
}

TEST_CASE("the error falls with the tolerance") {
  double prev = 1e9, prev_nfe = 0;
  for (double tol : {1e-3, 1e-5, 1e-7}) {
    const auto [err, nfe] = oracle_error(two_d(), Sde::vp(), tol, 60);
    CAPTURE(tol);
    CHECK(err < prev);
    CHECK(nfe > prev_nfe);
    prev = err;
    prev_nfe = nfe;
  }
}

TEST_CASE("Hutchinson estimates are unbiased") {
  // 300 points: the mean of (hutchinson - exact) over points must be within
  // 4 SE of 0 (SE from the spread of the per-point differences).
  const GaussianMixture mix = two_d();
  Matrix x(300, 2);
  mix.sample(11, 0, x);
  const MixtureScore oracle(mix, Sde::vp());
  NoProgress quiet;
  LikelihoodOptions exact;
  exact.exact_prior = &mix;
  exact.threads = 2;
  const Vector reference = log_likelihood(oracle, x, exact, quiet).log_density;
  for (Divergence div : {Divergence::hutchinson_gaussian, Divergence::hutchinson_rademacher}) {
    LikelihoodOptions h = exact;
    h.divergence = div;
    h.probes = 4;
    const Vector est = log_likelihood(oracle, x, h, quiet).log_density;
    const Vector diff = est - reference;
    const double mean = diff.mean();
    const double se = std::sqrt((diff.array() - mean).square().sum() / (diff.size() - 1) / diff.size());
    CHECK(std::abs(mean) <= 4 * se);
    CHECK(se > 0);  // the probes do add noise: this is not the exact path in disguise
  }
}

TEST_CASE("encoding then decoding returns the input; threads do not matter") {
  const GaussianMixture mix = two_d();
  Matrix x(80, 2);
  mix.sample(3, 0, x);
  const MixtureScore oracle(mix, Sde::vp());
  NoProgress quiet;
  LikelihoodOptions o;
  o.tolerances.rtol = o.tolerances.atol = 1e-7;
  o.threads = 1;
  const LikelihoodResult one = log_likelihood(oracle, x, o, quiet);
  o.threads = 2;
  const LikelihoodResult two = log_likelihood(oracle, x, o, quiet);
  CHECK(one.log_density == two.log_density);
  CHECK(one.latent == two.latent);
  OdeSampleOptions decode;
  decode.tolerances = o.tolerances;
  decode.eps = o.eps;
  decode.denoise = false;
  SampleRun run;
  run.latent = &one.latent;
  const Matrix back = sample_ode(oracle, 80, decode, run, quiet).x;
  CHECK((back - x).cwiseAbs().maxCoeff() < 1e-4);
}

// The standard prior is centred on m(T) times the data mean: for the 5-D
// mixture under VE (|mean| = 4.2, s(T) = 50) the prior term is that
// Gaussian's log-density at the latent, and the log-likelihood stays within
// 0.02 nats of the exact log p_eps on average. A prior at the origin would
// be off by (|mu|^2 + 2 s(T) z.mu) / (2 s(T)^2) per point, about 0.07 nats
// on average; the centred one only by the covariance mismatch (~0.005).
TEST_CASE("the standard prior is centred on the data mean") {
  const GaussianMixture mix = testing::full_5d();
  const Sde ve = Sde::ve();
  const MixtureScore oracle(mix, ve);
  Matrix x(200, mix.dim());
  mix.sample(11, 0, x);
  LikelihoodOptions o;
  o.threads = 2;
  NoProgress quiet;
  const LikelihoodResult r = log_likelihood(oracle, x, o, quiet);
  const Prior prior(oracle);
  double err = 0;
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    CHECK(r.prior_term(i) == prior.log_density(r.latent.row(i).data()));
    err += std::abs(r.log_density(i) - mix.log_density(x.row(i).data(), ve.mean_coeff(o.eps), ve.std(o.eps)));
  }
  CHECK(err / double(x.rows()) < 0.02);
}

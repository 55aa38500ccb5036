// Every sampler against the exact mixture oracle: with the exact score, the
// only error left is the sampler's own, so its samples must be
// indistinguishable from exact draws at the sample sizes used here.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "conditional.hpp"
#include "error.hpp"
#include "metrics.hpp"
#include "sample.hpp"
#include "test_mixtures.hpp"

using namespace sde;

namespace {

GaussianMixture two_d_mixture() { return testing::anisotropic_2d(); }

// How far a sample set is from exact draws, in standard errors: the worst
// component weight (mean posterior; binomial SE sqrt(w(1-w)/N), an upper
// bound for the posterior average) and the mean log-density against a fresh
// exact sample of the same size (SE of the difference from both sets).
struct Verdict {
  double worst_weight_se, log_density_se;
};

Verdict judge(const Matrix& x, const GaussianMixture& mix) {
  const double N = static_cast<double>(x.rows());
  const MixtureFit fit = fit_to_mixture(x, mix);
  Verdict v{0, 0};
  for (int k = 0; k < mix.components(); ++k) {
    const double w = mix.weights()[static_cast<std::size_t>(k)];
    const double off = std::abs(fit.weights[static_cast<std::size_t>(k)] - w);
    v.worst_weight_se = std::max(v.worst_weight_se, off / std::sqrt(w * (1 - w) / N));
  }
  Matrix exact(x.rows(), x.cols());
  mix.sample(12345, 0, exact);
  const MixtureFit ref = fit_to_mixture(exact, mix);
  const double se = std::sqrt(fit.log_density_se * fit.log_density_se +
                              ref.log_density_se * ref.log_density_se);
  v.log_density_se = (fit.mean_log_density - ref.mean_log_density) / se;
  return v;
}

// Indistinguishable: every weight and the mean log-density within 4 SE.
void check_indistinguishable(const Matrix& x, const GaussianMixture& mix, const std::string& what) {
  CAPTURE(what);
  REQUIRE(x.allFinite());
  const Verdict v = judge(x, mix);
  CHECK(v.worst_weight_se <= 4);
  CHECK(std::abs(v.log_density_se) <= 4);
}

std::vector<Sde> sdes() { return {Sde::ve(), Sde::vp(), Sde::subvp()}; }

}  // namespace

TEST_CASE("PC samplers with the exact score reproduce the mixture") {
  const GaussianMixture mix = two_d_mixture();
  NoProgress quiet;
  SampleRun run;
  run.threads = 2;
  for (const Sde& s : sdes()) {
    const MixtureScore oracle(mix, s);
    PcOptions o;
    o.steps = 500;
    check_indistinguishable(sample_pc(oracle, 4000, o, run, quiet).x, mix,
                            "pc rd+langevin " + s.name());
    o.predictor = Predictor::ancestral;
    o.corrector = Corrector::none;
    check_indistinguishable(sample_pc(oracle, 4000, o, run, quiet).x, mix,
                            "pc ancestral " + s.name());
    o.predictor = Predictor::euler_maruyama;
    o.corrector = Corrector::ald;
    check_indistinguishable(sample_pc(oracle, 4000, o, run, quiet).x, mix,
                            "pc em+ald " + s.name());
  }
}

// The test at reduced size: every sampler at its defaults, on the
// 2-D and the 5-D mixture (unequal weights, full covariances, off-centre),
// under each SDE. bench/ORACLE.md runs the same at 20 000 samples.
TEST_CASE("every sampler at its defaults with the exact score, in 2-D and 5-D") {
  NoProgress quiet;
  SampleRun run;
  run.threads = 2;
  for (const GaussianMixture& mix : {two_d_mixture(), testing::full_5d()}) {
    for (const Sde& s : sdes()) {
      const MixtureScore oracle(mix, s);
      const std::string where = std::to_string(mix.dim()) + "-D " + s.name();
      check_indistinguishable(sample_pc(oracle, 4000, PcOptions{}, run, quiet).x, mix, "pc " + where);
      check_indistinguishable(sample_ode(oracle, 4000, OdeSampleOptions{}, run, quiet).x, mix, "ode " + where);
      // FastOptions{}: steps = 0, each solver's default_fast_steps.
      check_indistinguishable(sample_ddim(oracle, 4000, FastOptions{}, run, quiet).x, mix, "ddim " + where);
      for (const bool unipc : {false, true})
        for (const int order : {1, 2, 3}) {
          FastOptions fast;
          fast.unipc = unipc;
          fast.order = order;
          const std::string name = (unipc ? "unipc " : "dpm-solver++ ") + std::to_string(order);
          check_indistinguishable(sample_dpm_solver(oracle, 4000, fast, run, quiet).x, mix, name + " " + where);
        }
      FastOptions stochastic;
      stochastic.stochastic = true;
      check_indistinguishable(sample_dpm_solver(oracle, 4000, stochastic, run, quiet).x, mix,
                              "sde-dpm-solver++ 2M " + where);
    }
  }
}

// The check above can fail: at 20 steps DPM-Solver++ 2M is 13 SE low in
// mean log-density on the 5-D mixture at 20 000 samples (bench/ORACLE.md),
// so about 13 sqrt(4000 / 20000) = 5.8 SE here.
TEST_CASE("the oracle check sees the bias of a 20-step solver") {
  NoProgress quiet;
  SampleRun run;
  run.threads = 2;
  const GaussianMixture mix = testing::full_5d();
  FastOptions fast;
  fast.steps = 20;
  const Verdict v = judge(sample_dpm_solver(MixtureScore(mix, Sde::vp()), 4000, fast, run, quiet).x, mix);
  CHECK(v.log_density_se < -4);
}

TEST_CASE("the multistep solvers converge to the probability-flow ODE at their orders") {
  // Deterministic: the same latents decoded by each solver at 80 and 160
  // steps against the ODE solved to 1e-11; the mean absolute error falls by
  // 2^order per doubling. Measured on the log-SNR grid: 2M 2.9 and 3M 4.0
  // (both order 2: the multistep warm-up's first-order step caps 3M),
  // UniPC-2 8.3 (order 3) and UniPC-3 14.7 (order 4): the corrector adds one
  // order. The bounds sit about half an order below, so a wrong coefficient,
  // which costs at least one order, fails (a 5 % error in one UniC
  // coefficient gives 1.7; nodes scaled by the wrong step, 4-6 on Karras,
  // where the right ones give 3.3, 4.6, 6.8 and 15.0).
  const GaussianMixture mix = two_d_mixture();
  const MixtureScore oracle(mix, Sde::vp());
  NoProgress quiet;
  Matrix z(200, 2);
  for (Eigen::Index i = 0; i < z.rows(); ++i)
    Stream(3, Purpose::prior, static_cast<std::uint64_t>(i)).normals(z.row(i).data(), 2);
  SampleRun run;
  run.latent = &z;
  OdeSampleOptions exact;
  exact.tolerances.rtol = exact.tolerances.atol = 1e-11;
  exact.denoise = false;
  const Matrix reference = sample_ode(oracle, 200, exact, run, quiet).x;
  auto error = [&](FastOptions o, int steps) {
    o.steps = steps;
    o.denoise = false;
    return (sample_dpm_solver(oracle, 200, o, run, quiet).x - reference).cwiseAbs().mean();
  };
  struct Case {
    std::string name;
    int order;
    bool unipc;
    double min_ratio;
  };
  // On the log-SNR grid every step has the same h, so the nodes are exactly
  // -1 and -2; the Karras grid's uneven steps also test how they are scaled.
  for (const Schedule schedule : {Schedule::logsnr, Schedule::karras}) {
    for (const Case& c : {Case{"dpm-solver++ 2M", 2, false, 2.4}, Case{"dpm-solver++ 3M", 3, false, 3.0},
                          Case{"unipc 2", 2, true, 5.6}, Case{"unipc 3", 3, true, 11.3}}) {
      CAPTURE(c.name);
      CAPTURE(schedule == Schedule::karras);
      FastOptions o;
      o.order = c.order;
      o.unipc = c.unipc;
      o.schedule = schedule;
      const double coarse = error(o, 80), fine = error(o, 160);
      CAPTURE(coarse);
      CAPTURE(fine);
      CHECK(coarse / fine > c.min_ratio);
    }
  }
  FastOptions stochastic_unipc;
  stochastic_unipc.unipc = stochastic_unipc.stochastic = true;
  CHECK_THROWS_AS(sample_dpm_solver(oracle, 10, stochastic_unipc, run, quiet), Error);
}

TEST_CASE("samples do not depend on threads; a shard equals the same rows of the full run") {
  const GaussianMixture mix = two_d_mixture();
  const MixtureScore oracle(mix, Sde::vp());
  NoProgress quiet;
  PcOptions pc;
  pc.steps = 50;
  SampleRun one, two, shard;
  two.threads = 2;
  shard.first_row = 300;
  const Matrix a = sample_pc(oracle, 700, pc, one, quiet).x;
  CHECK(a == sample_pc(oracle, 700, pc, two, quiet).x);
  CHECK(a.bottomRows(400) == sample_pc(oracle, 400, pc, shard, quiet).x);
  OdeSampleOptions ode;
  const Matrix b = sample_ode(oracle, 700, ode, one, quiet).x;
  CHECK(b == sample_ode(oracle, 700, ode, two, quiet).x);
  CHECK(b.bottomRows(400) == sample_ode(oracle, 400, ode, shard, quiet).x);
}

TEST_CASE("trajectories and latents") {
  const GaussianMixture mix = two_d_mixture();
  const MixtureScore oracle(mix, Sde::vp());
  NoProgress quiet;
  SampleRun run;
  run.trajectory_frames = 5;
  PcOptions pc;
  pc.steps = 40;
  const SampleResult r = sample_pc(oracle, 100, pc, run, quiet);
  REQUIRE(r.trajectory.rows() == 500);
  CHECK(r.trajectory.bottomRows(100) == r.x);
  CHECK(r.frame_times.front() == 1.0);
  // Decoding a latent with the ODE equals sampling from that prior draw.
  OdeSampleOptions ode;
  SampleRun plain;
  const SampleResult s = sample_ode(oracle, 50, ode, plain, quiet);
  Matrix z(50, 2), latent;
  for (Eigen::Index i = 0; i < 50; ++i) Stream(0, Purpose::prior, static_cast<std::uint64_t>(i)).normals(z.row(i).data(), 2);
  Prior(oracle).draw(z, latent);
  SampleRun decode;
  decode.latent = &latent;
  CHECK(sample_ode(oracle, 50, ode, decode, quiet).x == s.x);
}

TEST_CASE("an exact prior starts from exact draws of p_T, keyed by row") {
  const GaussianMixture mix = two_d_mixture();
  const Sde ve = Sde::ve();
  const MixtureScore oracle(mix, ve);
  NoProgress quiet;
  SampleRun run;
  run.exact_prior = &mix;
  run.trajectory_frames = 2;
  run.first_row = 100;
  run.seed = 5;
  OdeSampleOptions ode;
  const SampleResult r = sample_ode(oracle, 4000, ode, run, quiet);
  Matrix start(4000, 2);
  mix.sample(5, 100, start, nullptr, ve.mean_coeff(ve.T), ve.std(ve.T), Purpose::prior);
  CHECK(r.trajectory.topRows(4000) == start);
  check_indistinguishable(r.x, mix, "ode from the exact prior");
  run.latent = &start;
  CHECK_THROWS_AS(sample_ode(oracle, 4000, ode, run, quiet), Error);
}

namespace {
// Mean and covariance within 4 SE of the exact distribution's (SE of a mean
// coordinate sqrt(var/N); of a variance var sqrt((kurtosis - 1)/N), here
// bounded with kurtosis <= 6 for these mixtures).
void check_moments(const Matrix& x, const GaussianMixture& exact, const std::string& what) {
  CAPTURE(what);
  const double N = static_cast<double>(x.rows());
  const RowVector mean = sample_mean(x), true_mean = exact.mean();
  const Matrix cov = sample_covariance(x), true_cov = exact.covariance();
  for (Eigen::Index j = 0; j < x.cols(); ++j) {
    CAPTURE(j);
    CHECK(std::abs(mean(j) - true_mean(j)) <= 4 * std::sqrt(true_cov(j, j) / N));
    CHECK(std::abs(cov(j, j) - true_cov(j, j)) <= 4 * true_cov(j, j) * std::sqrt(5.0 / N));
  }
}
}  // namespace

TEST_CASE("class-conditional sampling with the exact classifier (guidance 1) draws the component") {
  const GaussianMixture mix = two_d_mixture();
  NoProgress quiet;
  SampleRun run;
  run.threads = 2;
  for (int k = 0; k < mix.components(); ++k) {
    const ClassGuidedScore guided(mix, Sde::vp(), k, 1.0);
    OdeSampleOptions ode;
    const Matrix x = sample_ode(guided, 4000, ode, run, quiet).x;
    check_moments(x, GaussianMixture({1.0}, mix.means().row(k), {mix.covariance(k)}),
                  "class " + std::to_string(k));
  }
}

// The guided score at T vanishes near the guided prior's mean (x(T) spreads
// s(T) = 50 around it under VE): |score| there is a small fraction of its
// size one std away, for guidance below, at and above 1.
TEST_CASE("class guidance centres the prior where the guided score vanishes at T") {
  const GaussianMixture mix = two_d_mixture();
  const Sde ve = Sde::ve();
  for (const double w : {0.5, 1.0, 2.0, 4.0}) {
    CAPTURE(w);
    const ClassGuidedScore guided(mix, ve, 1, w);
    const Prior prior(guided);
    CHECK((prior.mean() - (mix.mean() + w * (mix.means().row(1) - mix.mean()))).norm() < 1e-12);
    Matrix x(2, 2), s(2, 2);
    x.row(0) = prior.mean();
    x.row(1) = prior.mean() + RowVector::Constant(2, prior.std());
    guided.score_at_time(x, ve.T, s);
    CHECK(s.row(0).norm() < 0.01 * s.row(1).norm());
  }
}

TEST_CASE("exact imputation matches the exact conditional; replacement holds known values") {
  const GaussianMixture mix = two_d_mixture();
  NoProgress quiet;
  SampleRun run;
  run.threads = 2;
  Matrix known(1, 2);
  known << 0.5, NAN;  // x0 = 0.5 held, x1 sampled
  const Sampler pc = [&](const ScoreModel& s, std::size_t n, const SampleRun& r) {
    PcOptions o;
    o.steps = 300;
    return sample_pc(s, n, o, r, quiet);
  };
  const SampleResult r = impute_exact(mix, Sde::vp(), known, 4000, run, pc);
  CHECK((r.x.col(0).array() == 0.5).all());
  const double x0 = 0.5;
  const GaussianMixture exact = mix.conditional({true, false}, &x0);
  check_moments(r.x.rightCols(1), exact, "imputed x1 | x0 = 0.5");

  // The paper's replacement method (usable with a network) keeps the known
  // coordinate exactly and produces finite samples; it is an approximation.
  SampleRun replace = run;
  replace.known = &known;
  PcOptions o;
  o.steps = 300;
  const Matrix y = sample_pc(MixtureScore(mix, Sde::vp()), 2000, o, replace, quiet).x;
  CHECK((y.col(0).array() == 0.5).all());
  CHECK(y.allFinite());
  CHECK_THROWS_AS(sample_ode(MixtureScore(mix, Sde::vp()), 10, OdeSampleOptions{}, replace, quiet), Error);
}

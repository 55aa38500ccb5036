// Langevin MCMC against the exact mixture oracle: the toy experiments of
// seed 001 (Example 6) and seed 000 (Sections 1.3-1.5), the slow-mixing
// pitfall and its cure by annealing, and what the Metropolis adjustment buys.
//
// Chains are independent, so the N final states are i.i.d. draws from the
// chain's law after K steps and every tolerance below is a multiple of the
// i.i.d. standard error at N; where the chain's law differs from the target
// by a known amount (the discretisation of ULA, the finite annealing, the
// time left to mix), the comment gives that amount in units of the SE.
// Reference numbers marked "offline" come from an independent numpy
// computation: the chain's exact law obtained by iterating its transition
// kernel on a grid of spacing 0.02, or 1e5-4e5 simulated chains.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "error.hpp"
#include "langevin.hpp"
#include "metrics.hpp"

using namespace sde;

namespace {

NoProgress quiet;

GaussianMixture mixture_1d(std::vector<double> weights, std::vector<double> means,
                           std::vector<double> stds) {
  Matrix mu(static_cast<Eigen::Index>(means.size()), 1);
  for (std::size_t k = 0; k < means.size(); ++k) mu(static_cast<Eigen::Index>(k), 0) = means[k];
  return GaussianMixture::isotropic(std::move(weights), mu, stds);
}

// Seed 001 Example 6: 0.3 N(-5, 2^2) + 0.7 N(5, 2^2).
GaussianMixture example6() { return mixture_1d({0.3, 0.7}, {-5, 5}, {2, 2}); }

// Seed 000 Section 1.3: 0.6 N(2, 0.5^2) + 0.4 N(-2, 0.2^2).
GaussianMixture seed000() { return mixture_1d({0.6, 0.4}, {2, -2}, {0.5, 0.2}); }

// NCSN's slow-mixing example (seed 000 Section 1.4.3, Fig. 11):
// 0.2 N((-5,-5), I) + 0.8 N((5,5), I).
GaussianMixture separated_2d() {
  Matrix mu(2, 2);
  mu << -5, -5, 5, 5;
  return GaussianMixture::isotropic({0.2, 0.8}, mu, {1, 1});
}

LangevinInit uniform(double a, double b) { return {LangevinInit::Kind::uniform, a, b, nullptr}; }
LangevinInit standard_normal() { return {LangevinInit::Kind::normal, 0, 1, nullptr}; }

// Each test case runs its chains with its own seed, so that their
// statistics are independent evidence.
LangevinResult run(std::uint64_t seed, const ScoreModel& model, std::size_t n,
                   const LangevinOptions& options, const LangevinInit& init, int threads = 2,
                   std::uint64_t first_row = 0, int frames = 0) {
  const LangevinRun settings{seed, first_row, threads, frames};
  return run_langevin(model, n, options, init, settings, quiet);
}

LangevinOptions plain(const Sde& sde, double step_size, int steps, bool mala = false) {
  LangevinOptions o;
  o.levels = fixed_time_level(sde, 0.0, step_size);
  o.steps = steps;
  o.mala = mala;
  return o;
}

// Standard errors at sample size n: a weight (binomial, which bounds the
// posterior average's), a mean, and a variance (sigma^2 sqrt((kurtosis-1)/n)).
double weight_se(double w, double n) { return std::sqrt(w * (1 - w) / n); }
double mean_se(double var, double n) { return std::sqrt(var / n); }
double variance_se(double var, double kurtosis, double n) {
  return var * std::sqrt((kurtosis - 1) / n);
}

// Mean, variance and kurtosis of a 1-D mixture, exactly.
struct Moments {
  double mean, var, kurtosis;
};
Moments moments(const GaussianMixture& mix) {
  const double mean = mix.mean()(0), var = mix.covariance()(0, 0);
  double fourth = 0;
  for (int k = 0; k < mix.components(); ++k) {
    const double d = mix.means()(k, 0) - mean, v = mix.covariance(k)(0, 0);
    fourth += mix.weights()[static_cast<std::size_t>(k)] * (d * d * d * d + 6 * d * d * v + 3 * v * v);
  }
  return {mean, var, fourth / (var * var)};
}

double sample_variance(const Matrix& x) { return sample_covariance(x)(0, 0); }

}  // namespace

TEST_CASE("seed 001 Example 6: from N(0, 1) the chain converges to the mixture") {
  const GaussianMixture mix = example6();
  const MixtureScore oracle(mix, Sde::ve());
  const double N = 5000;
  // Step 0.2, 2500 steps. Mixing: the weights relax like exp(-k / 405) (the
  // second eigenvalue of the chain's transition kernel, offline; 1/80.6 per
  // unit time for the continuous dynamics), and N(0, 1) starts them at
  // about 0.395 / 0.605, so 0.095 exp(-2500/405) = 2e-4 = 0.03 SE is left.
  // Discretisation: the exact stationary law of ULA at step 0.2 (offline)
  // has weight 0.30052, mean 1.99484, variance 25.086 against 0.3, 2, 25:
  // biases of 0.08, 0.07 and 0.23 SE. So the exact values are tested at 4 SE.
  const LangevinResult r = run(1, oracle, 5000, plain(oracle.sde(), 0.2, 2500), standard_normal());
  const Moments exact = moments(mix);
  const MixtureFit fit = fit_to_mixture(r.x, mix);
  const double w = fit.weights[0], mean = sample_mean(r.x)(0), var = sample_variance(r.x);
  MESSAGE("Example 6: weight ", w, " (0.3), mean ", mean, " (2), variance ", var, " (25)");
  CHECK(std::abs(w - 0.3) <= 4 * weight_se(0.3, N));
  CHECK(std::abs(mean - exact.mean) <= 4 * mean_se(exact.var, N));
  CHECK(std::abs(var - exact.var) <= 4 * variance_se(exact.var, exact.kurtosis, N));
  CHECK(r.score_evaluations == 2500);
}

namespace {

// Seed 000's example as it runs: no chain crosses between the modes in 100
// steps (the log-density barrier between the modes is over 15 nats), so each
// chain ends at the mode whose basin it starts in, and the left weight is
// the chance that a start uniform on [-3, 3] ends at -2. For the Langevin
// diffusion dx = s dt + sqrt(2) dw that chance from x is the committor
// q(x) = int_x^2 1/p / int_-2^2 1/p (1 left of -2, 0 right of 2), so the
// expected weight is (1 + int_-2^2 q) / 6. It is close to the basin
// volume (x* + 3) / 6 of the density minimum x*, smoothed by the noise.
double committor_left_weight(const GaussianMixture& mix) {
  constexpr int M = 40000;  // 1e-4 grid; 1/p peaks at x* with a width of ~0.03
  constexpr double a = -2, b = 2, h = (b - a) / M;
  std::vector<double> log_p(M + 1);
  double lowest = std::numeric_limits<double>::infinity();
  for (int i = 0; i <= M; ++i) {
    const double x = a + i * h;
    log_p[static_cast<std::size_t>(i)] = mix.log_density(&x);
    lowest = std::min(lowest, log_p[static_cast<std::size_t>(i)]);
  }
  // 1/p scaled by p(x*) so the largest value is 1; tail[i] = int_{x_i}^b.
  auto inverse_p = [&](int i) { return std::exp(lowest - log_p[static_cast<std::size_t>(i)]); };
  std::vector<double> tail(M + 1, 0.0);
  for (int i = M - 1; i >= 0; --i)
    tail[static_cast<std::size_t>(i)] =
        tail[static_cast<std::size_t>(i) + 1] + 0.5 * h * (inverse_p(i) + inverse_p(i + 1));
  double integral = 0;
  for (int i = 0; i < M; ++i)
    integral += 0.5 * h * (tail[static_cast<std::size_t>(i)] + tail[static_cast<std::size_t>(i) + 1]);
  return (1 + integral / tail[0]) / 6;
}

}  // namespace

TEST_CASE("seed 000 example: 100 steps from U[-3, 3] keep the basins, not the weights") {
  const GaussianMixture mix = seed000();
  const MixtureScore oracle(mix, Sde::ve());
  const double N = 10000;
  // The seed gives no step size. 0.01: ULA is stable only below 2 * 0.2^2 =
  // 0.08 (the narrow mode), and at 0.01 it inflates the narrow mode's
  // variance by 1/(1 - 0.01/0.08) (14%) and the wide one's by 2%; 100 steps
  // (time 1) are 4 relaxation times of the wide mode (variance 0.25).
  const LangevinResult r = run(2, oracle, 10000, plain(oracle.sde(), 0.01, 100), uniform(-3, 3));
  const double expected = committor_left_weight(mix);
  // Offline: x* = -0.8207 (basin volume 0.3632); the committor gives
  // 0.37061; 4e5 chains of this discrete chain give 0.3692, a
  // discretisation shift of -0.0015 = 0.3 SE.
  CHECK(expected == doctest::Approx(0.37061).epsilon(1e-4));
  const double left = fit_to_mixture(r.x, mix).weights[1];
  MESSAGE("seed 000 example: weights ", 1 - left, " / ", left, " (mixture 0.6 / 0.4, expected ",
          1 - expected, " / ", expected, ")");
  // 0.4 is 6 SE away from the expectation, so this also tells the two apart.
  CHECK(std::abs(left - expected) <= 4 * weight_se(expected, N));
}

namespace {

// The density minimum between the modes of separated_2d(), as the value c
// of x1 + x2 on the line where the score along (1, 1) vanishes (the modes
// and the dynamics along (1, 1) separate from the orthogonal direction,
// since both components are isotropic with equal variance).
double saddle_sum(const GaussianMixture& mix) {
  auto along_diagonal = [&](double u) {
    const double x[2] = {u / std::sqrt(2.0), u / std::sqrt(2.0)};
    double s[2];
    mix.score(x, s);
    return s[0] + s[1];
  };
  double lo = -3, hi = 3;  // the score points to the light mode below, the heavy one above
  for (int i = 0; i < 100; ++i) {
    const double mid = 0.5 * (lo + hi);
    (along_diagonal(mid) < 0 ? lo : hi) = mid;
  }
  return std::sqrt(2.0) * 0.5 * (lo + hi);
}

}  // namespace

TEST_CASE("slow mixing: plain Langevin keeps the basin volumes, annealed Langevin the weights") {
  const GaussianMixture mix = separated_2d();
  const MixtureScore oracle(mix, Sde::ve());
  const double N = 5000;
  const LangevinInit start = uniform(-8, 8);

  // Plain Langevin at step 0.1 for 1000 steps: the barrier between the
  // modes is over 23 nats high, so no chain crosses and the light mode gets
  // the uniform start's mass below the saddle line x1 + x2 = c: for x
  // uniform on [-8, 8]^2, P(x1 + x2 < c) = (16 + c)^2 / 512 for c <= 0.
  // Offline, 2e5 chains give 0.4919 +- 0.0011 against the volume 0.4912
  // (the drift of about 7 on either side of the line makes the noise move
  // as many chains each way).
  const LangevinResult stuck = run(3, oracle, 5000, plain(oracle.sde(), 0.1, 1000), start);
  const double c = saddle_sum(mix);
  const double volume = (16 + c) * (16 + c) / 512;
  const double w_plain = fit_to_mixture(stuck.x, mix).weights[0];
  MESSAGE("plain Langevin: light weight ", w_plain, " (basin volume ", volume, ", mixture 0.2)");
  CHECK(c == doctest::Approx(-0.1414).epsilon(1e-3));
  CHECK(std::abs(w_plain - volume) <= 4 * weight_se(volume, N));

  // Annealed Langevin (Algorithm 1): 10 geometric levels from sigma = 20 (the
  // perturbed modes overlap and chains cross freely) to 1, 100 steps each,
  // E = 0.2 (alpha_i / variance <= 0.2 on every level). p_sigma has the
  // weights 0.2 / 0.8 at every sigma, but the chains lag behind it while the
  // barrier rises and the crossings stop before they catch up. Offline, the
  // light basin's share after the levels sigma = 3.8, 2.7, 1.9 is 0.190,
  // 0.207, 0.211 (p_sigma's: 0.186, 0.199, 0.1999) and stays at 0.211: finite
  // annealing leaves a bias. 4e5 chains of this chain give 0.2106 +- 0.0006
  // (100 steps per level; 300 give 0.2054, 1000 give 0.2025), and sde-langevin
  // with 4e4 chains 0.2118 +- 0.0020. The weights are those of p at
  // sigma_min, i.e. of the mixture itself.
  LangevinOptions annealed;
  annealed.levels = annealed_levels(oracle.sde(), 20, 1, 10, 0.2);
  annealed.steps = 100;
  const LangevinResult cured = run(3, oracle, 5000, annealed, start);
  const double w_annealed =
      fit_to_mixture(cured.x, perturbed_mixture(oracle, annealed.levels.back().t)).weights[0];
  MESSAGE("annealed Langevin: light weight ", w_annealed, " (mixture 0.2, with freezing bias 0.2106)");
  constexpr double freezing_bias = 0.0106;
  CHECK(std::abs(w_annealed - (0.2 + freezing_bias)) <= 4 * weight_se(0.2 + freezing_bias, N));
  CHECK(annealed.levels.front().sigma == 20);
  CHECK(annealed.levels.back().sigma == 1);
  CHECK(annealed.levels.back().step == doctest::Approx(0.1));  // alpha_L / 2 = E / 2
  CHECK(annealed.levels.front().step == doctest::Approx(0.1 * 400));
}

TEST_CASE("MALA matches the mixture where ULA with the same large step does not") {
  const GaussianMixture mix = example6();
  const MixtureScore oracle(mix, Sde::ve());
  const double N = 5000;
  const Moments exact = moments(mix);
  // Step 3 (3/4 of the component variance), 800 steps from N(0, 1). ULA's
  // exact stationary law at this step (offline) has weight 0.3362, mean
  // 1.6379, variance 27.937, kurtosis 2.120, reached in a few times its
  // relaxation time of 19 steps; MALA's is the mixture, reached to within
  // 1e-4 in weight after 800 steps (offline: its weights relax like
  // exp(-k/100)).
  const LangevinResult mala = run(4, oracle, 5000, plain(oracle.sde(), 3.0, 800, true), standard_normal());
  const LangevinResult ula = run(4, oracle, 5000, plain(oracle.sde(), 3.0, 800), standard_normal());
  const double w_mala = fit_to_mixture(mala.x, mix).weights[0];
  const double w_ula = fit_to_mixture(ula.x, mix).weights[0];
  const double var_mala = sample_variance(mala.x), var_ula = sample_variance(ula.x);
  MESSAGE("step 3: MALA weight ", w_mala, " mean ", sample_mean(mala.x)(0), " variance ", var_mala,
          " acceptance ", mala.acceptance_rate(), "; ULA weight ", w_ula, " mean ", sample_mean(ula.x)(0),
          " variance ", var_ula);
  const double se_w = weight_se(0.3, N), se_mean = mean_se(exact.var, N);
  const double se_var = variance_se(exact.var, exact.kurtosis, N);
  CHECK(std::abs(w_mala - 0.3) <= 4 * se_w);
  CHECK(std::abs(sample_mean(mala.x)(0) - exact.mean) <= 4 * se_mean);
  CHECK(std::abs(var_mala - exact.var) <= 4 * se_var);
  // ULA: at its own stationary law (with that law's SEs), which is 5.6,
  // 5.1 and 7.8 of the mixture's SEs away from the mixture in weight, mean
  // and variance; the variance, the clearest, must be more than 4 away.
  CHECK(std::abs(w_ula - 0.3362) <= 4 * weight_se(0.3362, N));
  CHECK(std::abs(sample_mean(ula.x)(0) - 1.6379) <= 4 * mean_se(27.937, N));
  CHECK(std::abs(var_ula - 27.937) <= 4 * variance_se(27.937, 2.120, N));
  CHECK(var_ula - exact.var > 4 * se_var);
  // Acceptance: offline 0.8546 for this chain. Each chain's accepted
  // fraction lies in [0, 1] (sd <= 1/2) and chains are independent, so the
  // overall rate has an SE of at most 0.5 / sqrt(N).
  CHECK(std::abs(mala.acceptance_rate() - 0.8546) <= 4 * 0.5 / std::sqrt(N));
  CHECK(mala.score_evaluations == 801);  // one more to start the level
  CHECK(mala.density_evaluations == 801);
}

TEST_CASE("MALA keeps exact draws exact; ULA moves them to its biased law") {
  // Seed 000's narrow mode N(-2, 0.2^2) at step 0.05: ULA's stationary
  // variance for a Gaussian of variance v is v / (1 - e / (2v)) = 0.1067
  // (the mode is isolated: the barrier to its neighbour is 16 nats), reached within
  // a few steps since ULA contracts it by (1 - e/v)^2 = 1/16 per step.
  const GaussianMixture mix = seed000();
  const MixtureScore oracle(mix, Sde::ve());
  Matrix exact(4000, 1);
  mix.sample(3, 0, exact);
  const LangevinInit start{LangevinInit::Kind::points, 0, 0, &exact};
  const LangevinResult mala = run(5, oracle, 4000, plain(oracle.sde(), 0.05, 50, true), start);
  const LangevinResult ula = run(5, oracle, 4000, plain(oracle.sde(), 0.05, 50), start);
  auto narrow_mode = [](const Matrix& x) {
    std::vector<double> kept;
    for (Eigen::Index i = 0; i < x.rows(); ++i)
      if (x(i, 0) < 0) kept.push_back(x(i, 0));
    return Matrix(Eigen::Map<Matrix>(kept.data(), static_cast<Eigen::Index>(kept.size()), 1));
  };
  const Matrix mala_narrow = narrow_mode(mala.x), ula_narrow = narrow_mode(ula.x);
  const double v = 0.04, v_ula = v / (1 - 0.05 / (2 * v));
  const double var_mala = sample_variance(mala_narrow), var_ula = sample_variance(ula_narrow);
  MESSAGE("narrow mode variance: MALA ", var_mala, " (0.04), ULA ", var_ula, " (", v_ula, ")");
  // Gaussian sample variance: SE v sqrt(2 / n).
  CHECK(std::abs(var_mala - v) <= 4 * v * std::sqrt(2.0 / double(mala_narrow.rows())));
  CHECK(std::abs(var_ula - v_ula) <= 4 * v_ula * std::sqrt(2.0 / double(ula_narrow.rows())));
  CHECK(mala.acceptance_rate() > 0);
  CHECK(mala.acceptance_rate() < 1);
}

TEST_CASE("annealed MALA reports one acceptance rate per level") {
  const MixtureScore oracle(separated_2d(), Sde::ve());
  LangevinOptions o;
  o.levels = annealed_levels(oracle.sde(), 20, 1, 4, 0.2);
  o.steps = 10;
  o.mala = true;
  const LangevinResult r = run(6, oracle, 300, o, uniform(-8, 8));
  REQUIRE(r.accepted.size() == 4);
  CHECK(r.proposals_per_level == 3000);
  double sum = 0;
  for (std::size_t l = 0; l < 4; ++l) {
    CHECK(r.acceptance_rate(l) > 0);
    CHECK(r.acceptance_rate(l) <= 1);
    sum += r.acceptance_rate(l);
  }
  CHECK(r.acceptance_rate() == doctest::Approx(sum / 4));
  CHECK(r.score_evaluations == 4 * 11);
}

TEST_CASE("the same chains for any thread count and any split into shards") {
  const MixtureScore oracle(separated_2d(), Sde::ve());
  for (bool mala : {false, true}) {
    CAPTURE(mala);
    LangevinOptions o;
    o.levels = annealed_levels(oracle.sde(), 10, 1, 3, 0.1);
    o.steps = 7;
    o.mala = mala;
    const LangevinResult one = run(7, oracle, 700, o, uniform(-8, 8), 1, 0, 4);
    const LangevinResult two = run(7, oracle, 700, o, uniform(-8, 8), 2, 0, 4);
    CHECK(one.x == two.x);
    CHECK(one.trajectory == two.trajectory);
    CHECK(one.accepted == two.accepted);
    // Rows [300, 700) as a shard of their own.
    const LangevinResult shard = run(7, oracle, 400, o, uniform(-8, 8), 2, 300);
    CHECK(shard.x == one.x.bottomRows(400));
    // Frames: the start, after steps round(k 21 / 3) = 7 and 14, the end.
    CHECK(one.frame_steps == std::vector<long>{0, 7, 14, 21});
    CHECK(one.trajectory.bottomRows(700) == one.x);
    const Matrix start = one.trajectory.topRows(700);
    CHECK((start.array().abs() <= 8).all());
  }
}

namespace {

// A score that is not the oracle: the standard normal's, s(x) = -x.
class StandardNormalScore final : public ScoreModel {
public:
  int dim() const override { return 1; }
  void score(const Matrix& x, const Vector&, Matrix& out) const override { out = -x; }
  void score_jvp(const Matrix& x, const Vector&, const Matrix& v, Matrix& score_out,
                 Matrix& jv) const override {
    score_out = -x;
    jv = -v;
  }
  const Sde& sde() const override { return sde_; }

private:
  Sde sde_ = Sde::ve();
};

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("bad parameters and diverging chains give clear errors") {
  const Sde ve = Sde::ve(), vp = Sde::vp();
  CHECK(parse_init("uniform:-3,3").kind == LangevinInit::Kind::uniform);
  CHECK(parse_init("normal:1,2").b == 2);
  CHECK(error_of([] { parse_init("uniform:3,-3"); }).find("need A < B") != std::string::npos);
  CHECK(error_of([] { parse_init("normal:0,0"); }).find("S > 0") != std::string::npos);
  CHECK(error_of([] { parse_init("normal:0"); }).find("two numbers") != std::string::npos);
  CHECK(error_of([] { parse_init("normal:0,1,2"); }).find("two numbers") != std::string::npos);
  CHECK(error_of([] { parse_init("gamma:1,1"); }).find("expected uniform") != std::string::npos);
  CHECK(is_init_distribution("uniform:0,1"));
  CHECK(!is_init_distribution("points.npy"));

  CHECK(error_of([&] { fixed_time_level(ve, 0, 0); }).find("step size must be positive") !=
        std::string::npos);
  CHECK(error_of([&] { fixed_time_level(ve, 0, -1); }).find("step size") != std::string::npos);
  CHECK(error_of([&] { fixed_time_level(ve, 1.5, 0.1); }).find("t must be in") != std::string::npos);
  CHECK(error_of([&] { annealed_levels(ve, 10, 1, 0, 0.1); }).find("at least 1 level") !=
        std::string::npos);
  CHECK(error_of([&] { annealed_levels(ve, 1, 1, 5, 0.1); }).find("sigma-min < sigma-max") !=
        std::string::npos);
  CHECK(error_of([&] { annealed_levels(ve, 1, 2, 5, 0.1); }).find("sigma-min < sigma-max") !=
        std::string::npos);
  CHECK(error_of([&] { annealed_levels(vp, 10, 1, 5, 0.1); }).find("needs a VE score model") !=
        std::string::npos);
  CHECK(error_of([&] { noise_scale_level(vp, 1, 0.1); }).find("needs a VE") != std::string::npos);
  CHECK(annealed_levels(ve, 10, 1, 1, 0.1).front().sigma == 1);  // one level: sigma_min

  const StandardNormalScore normal;
  CHECK(error_of([&] { run(8, normal, 10, plain(ve, 0.1, 5, true), standard_normal()); })
            .find("MALA needs the exact log-density") != std::string::npos);
  LangevinOptions no_steps = plain(ve, 0.1, 0);
  CHECK(error_of([&] { run(8, normal, 10, no_steps, standard_normal()); }).find("at least 1 step") !=
        std::string::npos);
  CHECK(error_of([&] { run(8, normal, 10, plain(ve, 0.1, 5), standard_normal(), 1, 0, 1); })
            .find("at least 2 frames") != std::string::npos);
  const Matrix three(3, 1);
  const LangevinInit points{LangevinInit::Kind::points, 0, 0, &three};
  CHECK(error_of([&] { run(8, normal, 10, plain(ve, 0.1, 5), points); })
            .find("initial points have shape (3, 1), expected (10, 1)") != std::string::npos);

  // ULA on N(0, 1) with step 3: x <- -2x + sqrt(6) z doubles |x| per step,
  // so it passes the largest double (2^1024) after about 1024 steps, and
  // inf - inf is NaN one step later; the message names the step.
  const std::string diverged =
      error_of([&] { run(8, normal, 10, plain(ve, 3.0, 5000), standard_normal()); });
  int step = 0;
  CHECK(std::sscanf(diverged.c_str(), "non-finite state after step %d of 5000", &step) == 1);
  CHECK(step >= 1000);
  CHECK(step <= 1030);
  CHECK(diverged.find("of 5000 (level 1 of 1, t = 0, step size 3); lower the step size") !=
        std::string::npos);
}

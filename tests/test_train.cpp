#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <numeric>

#include "error.hpp"
#include "metrics.hpp"
#include "spec.hpp"
#include "train.hpp"

using namespace sde;

namespace {

Matrix ring_data(int n) {
  Matrix x(n, 2);
  for (int i = 0; i < n; ++i) {
    const double a = 2 * M_PI * (i % 8) / 8;
    x.row(i) << 4 * std::cos(a) + 0.3 * std::sin(7.0 * i), 4 * std::sin(a) + 0.3 * std::cos(5.0 * i);
  }
  return x;
}

Model small_model(const Sde& sde, std::uint64_t seed = 1) {
  NetConfig c;
  c.hidden = {32, 32};
  c.frequencies = 8;
  Model m{Net(c, seed)};
  m.sde = sde;
  return m;
}

TrainOptions small_options(Loss loss) {
  TrainOptions o;
  o.loss = loss;
  o.batch = 64;
  o.adam.warmup = 5;
  o.adam.grad_clip = 1.0;
  o.ema = EmaConfig{0.99, 0};
  o.seed = 3;
  return o;
}

bool same_bits(std::span<const float> a, std::span<const float> b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("each loss's gradient matches central finite differences of the loss") {
  // fp32 network: central differences with h = 1e-2 on a loss of O(1) have
  // truncation O(h^2 L''') and rounding O(1e-7 L / h); we compare the 8
  // largest gradient entries within 2% of their size (plus 1e-4 absolute).
  const Matrix data = ring_data(256);
  struct Case {
    Loss loss;
    Sde sde;
    Weighting w;
    Parameterization p = Parameterization::noise;
  };
  for (const Case& c : {Case{Loss::dsm, Sde::vp(), Weighting::sigma2},
                        Case{Loss::dsm, Sde::subvp(), Weighting::likelihood},
                        Case{Loss::smld, Sde::ve(), Weighting::sigma2},
                        Case{Loss::ddpm, Sde::vp(), Weighting::sigma2},
                        Case{Loss::ssm, Sde::vp(), Weighting::sigma2},
                        Case{Loss::dsm, Sde::ve(), Weighting::sigma2, Parameterization::scaled},
                        Case{Loss::ssm, Sde::ve(), Weighting::sigma2, Parameterization::scaled},
                        Case{Loss::dsm, Sde::vp(), Weighting::unit, Parameterization::edm},
                        Case{Loss::dsm, Sde::ve(), Weighting::likelihood, Parameterization::edm},
                        Case{Loss::ssm, Sde::subvp(), Weighting::sigma2, Parameterization::edm},
                        Case{Loss::stf, Sde::vp(), Weighting::likelihood, Parameterization::edm}}) {
    CAPTURE(to_string(c.loss));
    CAPTURE(to_string(c.p));
    Model model = small_model(c.sde);
    model.parameterization = c.p;
    model.sigma_data = 2.5;
    TrainOptions o = small_options(c.loss);
    o.weighting = c.w;
    o.eps = 0.05;  // keep the likelihood weighting g^2/s^2 moderate for the FD test
    Trainer trainer(model, data, o);
    std::vector<float> grad, scratch;
    trainer.evaluate(7, grad);
    std::vector<std::size_t> order(grad.size());
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + 8, order.end(),
                      [&](auto a, auto b) { return std::abs(grad[a]) > std::abs(grad[b]); });
    for (int k = 0; k < 8; ++k) {
      const std::size_t j = order[static_cast<std::size_t>(k)];
      const float p = model.net.params()[j];
      const float h = 1e-2f;
      model.net.params()[j] = p + h;
      const double up = trainer.evaluate(7, scratch);
      model.net.params()[j] = p - h;
      const double down = trainer.evaluate(7, scratch);
      model.net.params()[j] = p;
      const double fd = (up - down) / (2.0 * h);
      CAPTURE(j);
      CHECK(std::abs(fd - grad[j]) <= 0.02 * std::abs(grad[j]) + 1e-4);
    }
  }
}

TEST_CASE("training does not depend on threads, and resuming is exact") {
  const Matrix data = ring_data(500);
  Model a = small_model(Sde::vp()), b = small_model(Sde::vp());
  TrainOptions one = small_options(Loss::dsm), two = one;
  two.threads = 2;
  {
    Trainer ta(a, data, one), tb(b, data, two);
    for (int k = 0; k < 30; ++k) {
      const double la = ta.step(), lb = tb.step();
      CHECK(la == lb);
    }
    ta.save_state(a);
    tb.save_state(b);
  }
  CHECK(same_bits(a.net.params(), b.net.params()));
  CHECK(same_bits(a.ema->values, b.ema->values));

  // 15 steps, a round trip through the model file format, 15 more.
  Model c = small_model(Sde::vp());
  {
    Trainer tc(c, data, one);
    for (int k = 0; k < 15; ++k) tc.step();
    tc.save_state(c);
  }
  Model resumed = model_from_json(model_to_json(c));
  {
    Trainer tr(resumed, data, one);
    CHECK(tr.steps_done() == 15);
    for (int k = 0; k < 15; ++k) tr.step();
    tr.save_state(resumed);
  }
  CHECK(same_bits(resumed.net.params(), a.net.params()));
  CHECK(same_bits(resumed.ema->values, a.ema->values));
  CHECK(same_bits(resumed.optimizer->m, a.optimizer->m));
  CHECK(same_bits(resumed.optimizer->v, a.optimizer->v));
}

TEST_CASE("bad training setups are refused") {
  const Matrix data = ring_data(10);
  Model model = small_model(Sde::vp());
  CHECK_THROWS_AS(Trainer(model, Matrix(0, 2), small_options(Loss::dsm)), Error);
  CHECK_THROWS_AS(Trainer(model, Matrix::Zero(5, 3), small_options(Loss::dsm)), Error);
  CHECK_THROWS_AS(Trainer(model, data, small_options(Loss::smld)), Error);  // smld needs VE
  Model ve = small_model(Sde::ve());
  CHECK_THROWS_AS(Trainer(ve, data, small_options(Loss::ddpm)), Error);  // ddpm needs VP
}

TEST_CASE("the model file round-trips exactly and rejects corrupt files") {
  Model m = small_model(Sde::subvp(0.2, 15.0));
  m.training = {{"note", "x"}};
  const Json j = model_to_json(m);
  const Model back = model_from_json(j);
  CHECK(same_bits(back.net.params(), m.net.params()));
  CHECK(same_bits(back.net.frequencies(), m.net.frequencies()));
  CHECK(back.sde.kind == SdeKind::subvp);
  CHECK(back.sde.beta_max == 15.0);
  Json bad = j;
  bad["format"] = "something-else";
  CHECK_THROWS_WITH_AS(model_from_json(bad), doctest::Contains("not an sde-tools model"), Error);
  bad["format"] = Json::object();  // found by tests/fuzz/fuzz_model: was nlohmann's type_error
  CHECK_THROWS_WITH_AS(model_from_json(bad), doctest::Contains("not an sde-tools model"), Error);
  // Sizes are whole numbers that fit an int, not truncated to one.
  for (const auto& [field, value, message] :
       {std::tuple{"dim", Json(4294967298LL), "architecture.dim: 4294967298 is out of range"},
        {"hidden", Json::array({16.7}), "architecture.hidden[0]: expected an integer, got number"},
        {"frequencies", Json(18446744073709551615ULL), "architecture.frequencies: 18446744073709551615 is too large"}}) {
    Json wrong = j;
    wrong["architecture"][field] = value;
    CHECK_THROWS_WITH_AS(model_from_json(wrong), message, Error);
  }
  bad = j;
  bad["version"] = 99;
  CHECK_THROWS_WITH_AS(model_from_json(bad), doctest::Contains("version 99"), Error);
  bad = j;
  bad["weights"][1]["bias"].erase(0);
  CHECK_THROWS_WITH_AS(model_from_json(bad), doctest::Contains("weights[1].bias"), Error);
  bad = j;
  bad["architecture"]["hidden"] = {32, 16};
  CHECK_THROWS_AS(model_from_json(bad), Error);

  // The scaled parameterization carries its data scale.
  m.parameterization = Parameterization::scaled;
  m.sigma_data = 2.75;
  const Json scaled = model_to_json(m);
  const Model scaled_back = model_from_json(scaled);
  CHECK(scaled_back.parameterization == Parameterization::scaled);
  CHECK(scaled_back.sigma_data == 2.75);
  bad = scaled;
  bad.erase("sigma_data");
  CHECK_THROWS_WITH_AS(model_from_json(bad), doctest::Contains("sigma_data"), Error);
  bad["sigma_data"] = -1.0;
  CHECK_THROWS_WITH_AS(model_from_json(bad), doctest::Contains("sigma_data: must be positive"), Error);
  bad = j;
  bad["sigma_data"] = 1.0;
  CHECK_THROWS_WITH_AS(model_from_json(bad), doctest::Contains("the noise parameterization has none"), Error);
  // edm carries its data scale and input gain.
  m.parameterization = Parameterization::edm;
  m.input_gain = 4;
  const Model edm_back = model_from_json(model_to_json(m));
  CHECK(edm_back.parameterization == Parameterization::edm);
  CHECK(edm_back.input_gain == 4);
  bad = model_to_json(m);
  bad.erase("input_gain");
  CHECK_THROWS_WITH_AS(model_from_json(bad), doctest::Contains("input_gain"), Error);
  bad = scaled;
  bad["input_gain"] = 2.0;
  CHECK_THROWS_WITH_AS(model_from_json(bad), doctest::Contains("only the edm"), Error);
  m.parameterization = Parameterization::scaled;
  bad = j;
  bad["parameterization"] = "x0";
  CHECK_THROWS_WITH_AS(model_from_json(bad), doctest::Contains("unknown parameterization"), Error);

  // The training data's mean centres the prior; a file without one (older
  // models) has a zero mean.
  CHECK(back.data_mean.size() == 0);
  CHECK(NetScore(back).data_mean() == RowVector::Zero(m.net.config().dim));
  m.data_mean = RowVector::LinSpaced(m.net.config().dim, -1.5, 0.25);
  const Model centred = model_from_json(model_to_json(m));
  CHECK(centred.data_mean == m.data_mean);
  CHECK(NetScore(centred).data_mean() == m.data_mean);
  CHECK(Prior(NetScore(centred)).mean() == centred.sde.mean_coeff(centred.sde.T) * m.data_mean);
  bad = model_to_json(m);
  bad["data_mean"].erase(0);
  CHECK_THROWS_WITH_AS(model_from_json(bad), doctest::Contains("data_mean: expected"), Error);
}

TEST_CASE("the network score in every parameterization: score, JVP and divergence agree") {
  // fp32 network evaluated in double: central differences with h = 1e-3 on
  // scores of O(1-10) carry rounding ~1e-7 |s| / h ~ 1e-3, so JVPs are
  // compared within 1e-2 relative; the divergence must equal the trace of
  // the JVPs to fp32 rounding.
  for (const Parameterization p : {Parameterization::noise, Parameterization::scaled, Parameterization::edm}) {
    CAPTURE(to_string(p));
    Model model = small_model(Sde::ve());
    model.parameterization = p;
    model.sigma_data = 2.5;
    model.input_gain = 2;
    model.data_mean = RowVector::LinSpaced(2, 0.5, -1);
    const NetScore score(model);
    const Matrix x = ring_data(40);
    Vector t(40);
    for (Eigen::Index i = 0; i < t.size(); ++i) t(i) = 0.05 + 0.9 * double(i % 7) / 6;
    Matrix v = Matrix::Ones(40, 2), s(40, 2), jv(40, 2), up(40, 2), down(40, 2), basis(40, 2);
    v.col(1) *= -0.5;
    score.score_jvp(x, t, v, s, jv);
    const double h = 1e-3;
    score.score(x + h * v, t, up);
    score.score(x - h * v, t, down);
    const Matrix fd = (up - down) / (2 * h);
    CHECK((jv - fd).cwiseAbs().maxCoeff() <= 1e-2 * fd.cwiseAbs().maxCoeff());
    Vector div(40), trace = Vector::Zero(40);
    score.score_divergence(x, t, s, div);
    for (int j = 0; j < 2; ++j) {
      basis.setZero();
      basis.col(j).setOnes();
      score.score_jvp(x, t, basis, s, jv);
      trace += jv.col(j);
    }
    CHECK((div - trace).cwiseAbs().maxCoeff() <= 1e-5 * (1 + trace.cwiseAbs().maxCoeff()));
    // One time for all rows folds the time features differently: fp32 rounding.
    Matrix per_row(40, 2), at_time(40, 2);
    score.score(x, Vector::Constant(40, 0.3), per_row);
    score.score_at_time(x, 0.3, at_time);
    CHECK((per_row - at_time).cwiseAbs().maxCoeff() <= 1e-5 * (1 + per_row.cwiseAbs().maxCoeff()));
  }
}

TEST_CASE("edm chain rule: a zero network is the exact score of N(mu, sigma_data^2 I)") {
  // F = 0 leaves score = skip (x - m mu): the Gaussian of the data's mean
  // and scale, whose perturbed score the mixture oracle knows exactly.
  for (const Sde& sde : {Sde::vp(), Sde::ve(), Sde::subvp()}) {
    Model model = small_model(sde);
    std::fill(model.net.params().begin(), model.net.params().end(), 0.0f);
    model.parameterization = Parameterization::edm;
    model.sigma_data = 1.7;
    model.input_gain = 3;
    model.data_mean = RowVector::LinSpaced(2, 1.0, -2.0);
    const GaussianMixture gaussian = GaussianMixture::isotropic({1.0}, model.data_mean, {1.7});
    const MixtureScore exact(gaussian, sde);
    const NetScore learned(model);
    const Matrix x = ring_data(20);
    for (double t : {1e-4, 0.01, 0.3, 1.0}) {
      Matrix a, b;
      learned.score_at_time(x, t, a);
      exact.score(x, Vector::Constant(20, t), b);
      CAPTURE(t);
      CHECK((a - b).cwiseAbs().maxCoeff() <= 1e-9 * (1 + b.cwiseAbs().maxCoeff()));
    }
  }
}

TEST_CASE("edm regression on the exact score leaves the F = 0 plateau") {
  // The oracle loss has no DSM noise: its minimum is 0. A network fed its
  // input at unit scale (input_gain 1) sits on the plateau F = 0 for
  // thousands of steps (score error ~1 at small t); with the default
  // 2 sqrt(nf / d) = 8 it learns. 2000 steps of a 2 x 64 network, score
  // error over t in [0.02, 0.3] on 1000 exact draws at 5 times: the F = 0
  // error is ~0.95 there; the bounds sit well between the two.
  const GaussianMixture ring = read_mixture(std::string(SDE_TEST_DATA) + "/../../data/ring8.json");
  Matrix data(4000, 2);
  ring.sample(1, 0, data);
  auto train = [&](double gain) {
    NetConfig c;
    c.hidden = {64, 64};
    Model model{Net(c, 1)};
    model.sde = Sde::vp();
    model.parameterization = Parameterization::edm;
    model.sigma_data = data_scale(Parameterization::edm, data);
    model.data_mean = data.colwise().mean();
    model.input_gain = gain;
    TrainOptions o = train_recipe(Recipe::standard, model.sde).options;
    o.loss = Loss::oracle;
    o.batch = 256;
    o.adam.horizon = 2000;
    o.adam.warmup = 50;
    Trainer trainer(model, data, o, &ring);
    for (int k = 0; k < 2000; ++k) trainer.step();
    trainer.save_state(model);
    return score_relative_error(NetScore(model), ring, 0.02, 0.3, 5, 1000, 7);
  };
  CHECK(default_input_gain(NetConfig{}) == 8.0);  // nf = 32, d = 2
  const double learned = train(8.0), plateau = train(1.0);
  CAPTURE(learned);
  CAPTURE(plateau);
  CHECK(learned < 0.4);
  CHECK(plateau > 0.8);
}

TEST_CASE("training times: uniform, lognormal in sigma, importance ~ g^2/s^2") {
  const int n = 20000;
  auto draws = [&](TrainOptions o, const Sde& sde, std::vector<double>& weights) {
    const TimeSampler sampler(o, sde);
    std::vector<double> t(n);
    weights.resize(n);
    for (int i = 0; i < n; ++i) {
      Stream s(5, Purpose::time, static_cast<std::uint64_t>(i));
      t[i] = sampler.draw(s, weights[i]);
    }
    return t;
  };
  std::vector<double> w;
  TrainOptions o;
  // lognormal: ln sigma has the asked mean and std (SE 1.2 / sqrt(n) = 0.0085,
  // and of the std 1.2 / sqrt(2 n) = 0.006; 4 SE allowed). Clipping to
  // [eps, T] touches < 1e-4 of the mass at (-1.2, 1.2) under VP.
  o.time_sampling = TimeSampling::lognormal;
  const Sde vp = Sde::vp();
  double mean = 0, second = 0;
  for (double t : draws(o, vp, w)) {
    const double ls = -vp.lambda(t);
    mean += ls / n;
    second += ls * ls / n;
  }
  CHECK(std::abs(mean - -1.2) < 4 * 1.2 / std::sqrt(n));
  CHECK(std::abs(std::sqrt(second - mean * mean) - 1.2) < 4 * 1.2 / std::sqrt(2.0 * n));
  // importance under VP and VE is uniform in ln sigma = -lambda on
  // [-lambda(eps), -lambda(T)]: g^2/s^2 = d ln(s^2/m^2)/dt exactly (VP:
  // s^2/m^2 = e^B - 1; VE: s^2 = sigma^2 - sigma_min^2 and g^2 = d sigma^2/dt),
  // so each decile holds 10% (binomial SE 0.21%).
  o.time_sampling = TimeSampling::importance;
  for (const Sde& sde : {Sde::vp(), Sde::ve()}) {
    const double lo = -sde.lambda(o.eps), hi = -sde.lambda(sde.T);
    std::vector<int> counts(10, 0);
    for (double t : draws(o, sde, w))
      ++counts[std::min(9, static_cast<int>(10 * (-sde.lambda(t) - lo) / (hi - lo)))];
    for (int c : counts) CHECK(std::abs(c / double(n) - 0.1) < 4 * std::sqrt(0.09 / n));
  }
  // The weights make E_q[w f(t)] = E_uniform[f(t)]: for f = 1 and f = t.
  for (const Sde& sde : {Sde::vp(), Sde::ve(), Sde::subvp()}) {
    const std::vector<double> t = draws(o, sde, w);
    double mw = 0, mwt = 0;
    for (int i = 0; i < n; ++i) mw += w[i] / n, mwt += w[i] * t[i] / n;
    double var = 0, var_w = 0;
    for (int i = 0; i < n; ++i) var += std::pow(w[i] * t[i] - mwt, 2) / n, var_w += std::pow(w[i] - mw, 2) / n;
    CAPTURE(sde.name());
    CHECK(std::abs(mwt - 0.5 * (sde.T + o.eps)) < 4 * std::sqrt(var / n));
    CHECK(std::abs(mw - 1) < 4 * std::sqrt(var_w / n));
  }
}

TEST_CASE("the standard recipe trains the same bits for any threads and resumes exactly") {
  const Matrix data = ring_data(500);
  // Batch 300: three chunks of rows (the last one short), so stf's and the
  // network's chunked paths run on 1 and on 3 threads.
  TrainOptions one = train_recipe(Recipe::standard, Sde::vp()).options;
  one.batch = 300;
  one.adam.warmup = 5;
  one.adam.horizon = 30;
  TrainOptions two = one;
  two.threads = 3;
  auto edm_model = [&] {
    Model m = small_model(Sde::vp());
    m.parameterization = Parameterization::edm;
    m.sigma_data = data_scale(Parameterization::edm, data);
    m.data_mean = data.colwise().mean();
    m.input_gain = default_input_gain(m.net.config());
    return m;
  };
  Model a = edm_model(), b = edm_model(), c = edm_model();
  {
    Trainer ta(a, data, one), tb(b, data, two);
    for (int k = 0; k < 30; ++k) CHECK(ta.step() == tb.step());
    ta.save_state(a);
    tb.save_state(b);
    // The held-out loss does not depend on the threads either.
    const Matrix held = ring_data(700).array() + 0.1;
    CHECK(ta.validation_loss(held) == tb.validation_loss(held));
    CHECK_THROWS_AS(ta.validation_loss(ring_data(10)), Error);  // shorter than a batch
  }
  CHECK(same_bits(a.net.params(), b.net.params()));
  CHECK(same_bits(a.ema->values, b.ema->values));
  {
    Trainer tc(c, data, one);
    for (int k = 0; k < 13; ++k) tc.step();
    tc.save_state(c);
  }
  Model resumed = model_from_json(model_to_json(c));
  {
    Trainer tr(resumed, data, train_options_from_json(train_options_to_json(one)));
    for (int k = 0; k < 17; ++k) tr.step();
    tr.save_state(resumed);
  }
  CHECK(same_bits(resumed.net.params(), a.net.params()));
  CHECK(same_bits(resumed.ema->values, a.ema->values));
}

TEST_CASE("stf: the dsm gradient in expectation, with less noise") {
  // For fixed parameters, the mean gradient over K steps of stf against
  // plain dsm's: every coordinate's difference within 4 standard errors of
  // the difference (plus stf's O(1/batch) bias, bounded by 2% of the
  // gradient's scale), and the per-step gradient variance lower.
  const Matrix data = ring_data(2000);
  Model model = small_model(Sde::vp());
  model.parameterization = Parameterization::edm;
  model.sigma_data = data_scale(Parameterization::edm, data);
  model.data_mean = data.colwise().mean();
  model.input_gain = default_input_gain(model.net.config());
  const int K = 300;
  // Both variants evaluate the same K steps (same rows, times and noise), so
  // the standard error of their difference comes from the per-step
  // differences. stf's self-normalised average has a bias O(1/B): 1.6% at
  // B = 64, allowed as 2% of the largest mean gradient.
  TrainOptions o = small_options(Loss::dsm);
  o.weighting = Weighting::unit;
  TrainOptions o_stf = o;
  o_stf.loss = Loss::stf;
  Trainer dsm_trainer(model, data, o), stf_trainer(model, data, o_stf);
  const std::size_t P = model.net.num_params();
  std::vector<double> mean_dsm(P), mean_diff(P), var_diff(P), var_dsm(P), var_stf(P);
  std::vector<float> g_dsm, g_stf;
  for (int k = 0; k < K; ++k) {
    dsm_trainer.evaluate(k, g_dsm);
    stf_trainer.evaluate(k, g_stf);
    for (std::size_t j = 0; j < P; ++j) {
      const double d = double(g_stf[j]) - g_dsm[j];
      mean_dsm[j] += g_dsm[j] / double(K);
      mean_diff[j] += d / K;
      var_diff[j] += d * d / K;
      var_dsm[j] += double(g_dsm[j]) * g_dsm[j] / K;
      var_stf[j] += double(g_stf[j]) * g_stf[j] / K;
    }
  }
  double scale = 0, dsm_var = 0, stf_var = 0, mean_stf_j = 0;
  int outside = 0;
  for (std::size_t j = 0; j < P; ++j) scale = std::max(scale, std::abs(mean_dsm[j]));
  for (std::size_t j = 0; j < P; ++j) {
    mean_stf_j = mean_dsm[j] + mean_diff[j];
    dsm_var += var_dsm[j] - mean_dsm[j] * mean_dsm[j];
    stf_var += var_stf[j] - mean_stf_j * mean_stf_j;
    const double se = std::sqrt((var_diff[j] - mean_diff[j] * mean_diff[j]) / K);
    outside += std::abs(mean_diff[j]) > 4 * se + 0.02 * scale;
  }
  CAPTURE(stf_var / dsm_var);
  CHECK(outside == 0);
  CHECK(stf_var < dsm_var);
}

TEST_CASE("edm: NetScore is EDM's denoiser D = mu + c_skip (x~ - mu) + c_out F through Tweedie") {
  // Written from Karras et al. 2022 directly, for a random (non-zero)
  // network: x~ = x/m, sigma = s/m, F at c_in (x~ - mu) times the gain and
  // time ln(sigma)/4, score = (m D - x)/s^2.
  Model model = small_model(Sde::vp(), 11);
  model.parameterization = Parameterization::edm;
  model.sigma_data = 1.3;
  model.input_gain = 2.5;
  model.data_mean = RowVector::LinSpaced(2, 0.7, -0.4);
  const NetScore score(model);
  NetWorkspace ws(model.net, kChunkRows);
  const Matrix x = ring_data(30);
  for (double t : {1e-3, 0.05, 0.4, 1.0}) {
    const double m = model.sde.mean_coeff(t), s = model.sde.std(t), sigma = s / m, sd = model.sigma_data;
    const double c_skip = sd * sd / (sigma * sigma + sd * sd), c_out = sigma * sd / std::sqrt(sigma * sigma + sd * sd),
                 c_in = 1 / std::sqrt(sigma * sigma + sd * sd);
    const Matrix x_tilde = x / m;
    const Matrix centred = x_tilde.rowwise() - model.data_mean;
    Net::Matrix input = (model.input_gain * c_in * centred).cast<float>(), F(30, 2);
    model.net.evaluate(input, Net::Vector::Constant(30, float(std::log(sigma) / 4)), F, ws);
    const Matrix D = (c_skip * centred + c_out * F.cast<double>()).rowwise() + model.data_mean;
    const Matrix expected = (m * D - x) / (s * s);
    Matrix got;
    score.score(x, Vector::Constant(30, t), got);
    CAPTURE(t);
    CHECK((got - expected).cwiseAbs().maxCoeff() <= 1e-6 * (1 + expected.cwiseAbs().maxCoeff()));
  }
}

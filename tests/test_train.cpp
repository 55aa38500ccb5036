#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <numeric>

#include "error.hpp"
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
  o.ema_decay = 0.99;
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
                        Case{Loss::ssm, Sde::ve(), Weighting::sigma2, Parameterization::scaled}}) {
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
  CHECK_THROWS_WITH_AS(model_from_json(bad), doctest::Contains("only the scaled"), Error);
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

TEST_CASE("the network score in both parameterizations: score, JVP and divergence agree") {
  // fp32 network evaluated in double: central differences with h = 1e-3 on
  // scores of O(1-10) carry rounding ~1e-7 |s| / h ~ 1e-3, so JVPs are
  // compared within 1e-2 relative; the divergence must equal the trace of
  // the JVPs to fp32 rounding.
  for (const Parameterization p : {Parameterization::noise, Parameterization::scaled}) {
    CAPTURE(to_string(p));
    Model model = small_model(Sde::ve());
    model.parameterization = p;
    model.sigma_data = 2.5;
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

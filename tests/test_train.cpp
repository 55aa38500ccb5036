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
  struct Case { Loss loss; Sde sde; Weighting w; };
  for (const Case& c : {Case{Loss::dsm, Sde::vp(), Weighting::sigma2},
                        Case{Loss::dsm, Sde::subvp(), Weighting::likelihood},
                        Case{Loss::smld, Sde::ve(), Weighting::sigma2},
                        Case{Loss::ddpm, Sde::vp(), Weighting::sigma2},
                        Case{Loss::ssm, Sde::vp(), Weighting::sigma2}}) {
    CAPTURE(to_string(c.loss));
    Model model = small_model(c.sde);
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
}

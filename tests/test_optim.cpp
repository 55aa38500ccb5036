#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "error.hpp"
#include "optim.hpp"

using doctest::Approx;
using sde::Adam;
using sde::AdamConfig;
using sde::Ema;

TEST_CASE("l2_norm accumulates in double") {
  const std::vector<float> v{3, 4};
  CHECK(sde::l2_norm(v) == 5.0);
  // Squares of 1e20 overflow float, not double.
  const std::vector<float> big{1e20f, 1e20f};
  CHECK(sde::l2_norm(big) == Approx(std::sqrt(2.0) * 1e20).epsilon(1e-7));
}

// Two bias-corrected steps worked by hand (double), lr 0.1, default betas:
//   p0 = 1, g = 0.5 then -1:
//     m1 = 0.05, v1 = 2.5e-4, p1 = 1 - (0.1/0.1) 0.05 / (sqrt(2.5e-4/1e-3) + 1e-8)
//                                 = 0.900000002
//     m2 = -0.055, v2 = 1.24975e-3,
//     p2 = p1 + (0.1/0.19) 0.055 / (sqrt(1.24975e-3/1.999e-3) + 1e-8) = 0.9366103542
//   p0 = -2, g = 1e-3 then 2e-3 (eps matters): p2 = -2.1965165923
// torch.optim.Adam in float32 gives 0.93661040 and -2.19651651 (this build
// matches them bit for bit; the test allows for other rounding orders).
TEST_CASE("Adam: two steps against a hand computation") {
  std::vector<float> p{1.0f, -2.0f};
  Adam adam(2, AdamConfig{.lr = 0.1});
  CHECK(adam.step(p, std::vector<float>{0.5f, 1e-3f}) == Approx(std::hypot(0.5, 1e-3)));
  CHECK(p[0] == Approx(0.900000002).epsilon(1e-7));
  CHECK(p[1] == Approx(-2.0999990).epsilon(1e-7));
  adam.step(p, std::vector<float>{-1.0f, 2e-3f});
  CHECK(adam.steps() == 2);
  CHECK(p[0] == Approx(0.9366103542).epsilon(1e-7));
  CHECK(p[1] == Approx(-2.1965165923).epsilon(1e-7));
  CHECK(adam.first_moment()[0] == Approx(-0.055).epsilon(1e-6));
  CHECK(adam.second_moment()[0] == Approx(1.24975e-3).epsilon(1e-6));
}

TEST_CASE("Adam: linear warm-up of the learning rate") {
  Adam adam(1, AdamConfig{.lr = 1e-3, .warmup = 4});
  std::vector<float> p{0}, g{1};
  for (double want : {0.25e-3, 0.5e-3, 0.75e-3, 1e-3, 1e-3}) {
    CHECK(adam.learning_rate() == Approx(want));
    adam.step(p, g);
  }
  // Adam's first step moves each parameter by about the learning rate.
  Adam first(1, AdamConfig{.lr = 1e-3, .warmup = 4});
  std::vector<float> q{0};
  first.step(q, g);
  CHECK(q[0] == Approx(-0.25e-3).epsilon(1e-5));
}

TEST_CASE("Adam: clipping the global gradient norm") {
  Adam adam(2, AdamConfig{.grad_clip = 1.0});
  std::vector<float> p{0, 0};
  // Norm 5 > 1: the gradient is scaled by 1 / (5 + 1e-6), as in torch.
  CHECK(adam.step(p, std::vector<float>{3, 4}) == 5.0);
  const double scale = 1.0 / (5 + 1e-6);
  CHECK(adam.first_moment()[0] == Approx(0.1 * 3 * scale).epsilon(1e-6));
  CHECK(adam.first_moment()[1] == Approx(0.1 * 4 * scale).epsilon(1e-6));
  // Below the bound nothing changes.
  Adam loose(2, AdamConfig{.grad_clip = 10.0});
  loose.step(p, std::vector<float>{3, 4});
  CHECK(loose.first_moment()[0] == Approx(0.3).epsilon(1e-6));
}

TEST_CASE("EMA: warm-up rule d_k = min(decay, (1 + k) / (10 + k))") {
  const std::vector<float> start{0.0f, 1.0f};
  Ema ema(start, sde::EmaConfig{0.999, 0});
  CHECK(ema.decay_at(1) == Approx(2.0 / 11));
  CHECK(ema.decay_at(100) == Approx(101.0 / 110));
  CHECK(ema.decay_at(8990) == 0.999);  // 8991 / 9000: the rule ends here
  CHECK(ema.decay_at(100000) == 0.999);

  // The peer's first update (its step 0) already uses k = 1: d = 2/11.
  const std::vector<float> p{1.0f, 3.0f};
  ema.update(p);
  CHECK(ema.updates() == 1);
  CHECK(ema.values()[0] == Approx(1 - 2.0 / 11));
  CHECK(ema.values()[1] == Approx(3 - 2 * 2.0 / 11));
  // Then e_k = d_k e_{k-1} + (1 - d_k) p.
  double e = 1 - 2.0 / 11;
  for (int k = 2; k <= 50; ++k) {
    ema.update(p);
    e = ema.decay_at(k) * e + (1 - ema.decay_at(k)) * 1.0;
  }
  CHECK(ema.values()[0] == Approx(e).epsilon(1e-6));
}

TEST_CASE("optimizer and EMA state resume bit-identically") {
  const int n = 5;
  std::vector<float> p(n);
  for (int i = 0; i < n; ++i) p[i] = 0.1f * float(i) - 0.2f;
  auto grad = [&](int step) {
    std::vector<float> g(n);
    for (int i = 0; i < n; ++i) g[i] = std::sin(float(step * n + i));
    return g;
  };
  const AdamConfig cfg{.lr = 1e-2, .warmup = 3, .grad_clip = 1.0};
  Adam adam(n, cfg);
  Ema ema(p, sde::EmaConfig{0.99, 0});
  for (int s = 0; s < 4; ++s) adam.step(p, grad(s)), ema.update(p);

  // Checkpoint, then continue both the original and a restored copy.
  std::vector<float> q = p;
  Adam resumed(n, cfg);
  resumed.restore(adam.steps(), adam.first_moment(), adam.second_moment());
  Ema resumed_ema(q, sde::EmaConfig{0.99, 0});
  resumed_ema.restore(ema.updates(), ema.values());
  for (int s = 4; s < 8; ++s) {
    adam.step(p, grad(s)), ema.update(p);
    resumed.step(q, grad(s)), resumed_ema.update(q);
  }
  CHECK(p == q);
  CHECK(std::equal(ema.values().begin(), ema.values().end(), resumed_ema.values().begin()));
}

TEST_CASE("optimizer misuse is reported") {
  Adam adam(3);
  std::vector<float> p(3), short_grad(2);
  CHECK_THROWS_AS(adam.step(p, short_grad), sde::Error);
  CHECK_THROWS_AS(adam.restore(1, short_grad, p), sde::Error);
  CHECK_THROWS_AS(Adam(3, AdamConfig{.beta2 = 1.0}), sde::Error);
  CHECK_THROWS_AS(Ema(p, sde::EmaConfig{1.0, 0}), sde::Error);
  CHECK_THROWS_AS(Ema(p, sde::EmaConfig{0.9, 0.1}), sde::Error);   // both a decay and a length
  CHECK_THROWS_AS(Ema(p, sde::EmaConfig{0, 0.3}), sde::Error);     // longer than any power profile
  CHECK_THROWS_AS(Adam(3, sde::AdamConfig{.warmup = 10, .schedule = sde::LrSchedule::cosine, .horizon = 10}), sde::Error);
}

TEST_CASE("learning-rate schedules after warm-up") {
  auto rate_at = [](AdamConfig cfg, int k) {
    Adam adam(1, cfg);
    std::vector<float> p{0}, g{0};
    for (int i = 0; i < k; ++i) adam.step(p, g);
    return adam.learning_rate();
  };
  const AdamConfig cosine{.lr = 2e-3, .warmup = 10, .schedule = sde::LrSchedule::cosine, .horizon = 110};
  CHECK(rate_at(cosine, 0) == Approx(2e-3 * 0.1));   // warm-up: (k + 1) / warmup
  CHECK(rate_at(cosine, 10) == Approx(2e-3));        // the cosine starts at its top
  CHECK(rate_at(cosine, 60) == Approx(1e-3));        // half way: half the rate
  CHECK(rate_at(cosine, 85) == Approx(1e-3 * (1 + std::cos(M_PI * 0.75))));
  CHECK(rate_at(cosine, 110) == Approx(0.0));
  const AdamConfig rsqrt{.lr = 1e-3, .warmup = 100, .schedule = sde::LrSchedule::rsqrt};
  CHECK(rate_at(rsqrt, 99) == Approx(1e-3));
  CHECK(rate_at(rsqrt, 400) == Approx(1e-3 * 0.5));  // sqrt(100 / 400)
  CHECK(rate_at(AdamConfig{.lr = 1e-3}, 1000) == 1e-3);
}

TEST_CASE("power-function EMA: the average weights step j by j^gamma, its std is length x steps") {
  // gamma from sigma_rel inverts sigma_rel^2 = (g + 1) / ((g + 2)^2 (g + 3)).
  for (double length : {0.05, 0.1, 0.2}) {
    const double g = sde::Ema::power_exponent(length);
    CHECK(std::sqrt((g + 1) / ((g + 2) * (g + 2) * (g + 3))) == Approx(length).epsilon(1e-9));
  }
  // Parameters p_j = j for j = 1..K: the average is sum j^(g+1) / sum j^g.
  const int K = 2000;
  std::vector<float> p{0.0f};
  Ema ema(p, sde::EmaConfig{0, 0.1});
  const double g = sde::Ema::power_exponent(0.1);
  double num = 0, den = 0;
  for (int j = 1; j <= K; ++j) {
    p[0] = float(j);
    ema.update(p);
    num += std::pow(j, g + 1);
    den += std::pow(j, g);
  }
  // fp32 accumulation over 2000 lerps: ~1e-5 relative.
  CHECK(ema.values()[0] == Approx(num / den).epsilon(1e-4));
  // Its std over j / K is the length (continuum limit; K = 2000 is close).
  double mean = num / den / K, second = 0;
  for (int j = 1; j <= K; ++j) second += std::pow(j, g) * std::pow(double(j) / K - mean, 2);
  CHECK(std::sqrt(second / den) == Approx(0.1).epsilon(0.01));
}

// The training step's serial part runs on the training threads: the norm,
// the Adam update and the EMA over fixed blocks of parameters, so a model's
// bytes do not depend on --threads. Three blocks and a ragged end, with
// clipping active so that the norm's rounding reaches the parameters.
TEST_CASE("Adam, the norm and the EMA give the same bits on any number of threads") {
  const std::size_t n = 3 * 8192 + 5;
  std::vector<float> start(n), grad(n);
  for (std::size_t i = 0; i < n; ++i) {
    start[i] = float(std::sin(0.37 * double(i)));
    grad[i] = float(std::cos(0.11 * double(i)) * (1 + double(i % 7)));
  }
  AdamConfig config;
  config.grad_clip = 1.0;
  struct Run {
    std::vector<float> params, ema;
    double norm;
  };
  auto run = [&](int threads) {
    Run r{start, {}, 0};
    Adam adam(n, config);
    Ema ema(r.params, sde::EmaConfig{0.99, 0});
    for (int step = 0; step < 3; ++step) {
      r.norm = adam.step(r.params, grad, threads);
      ema.update(r.params, threads);
    }
    r.ema.assign(ema.values().begin(), ema.values().end());
    return r;
  };
  const Run one = run(1);
  CHECK(one.norm > config.grad_clip);  // clipping is active
  for (int threads : {2, 3}) {
    CAPTURE(threads);
    const Run other = run(threads);
    CHECK(other.norm == one.norm);
    CHECK(other.params == one.params);
    CHECK(other.ema == one.ema);
  }
  CHECK(sde::l2_norm(grad, 2) == sde::l2_norm(grad, 1));
}

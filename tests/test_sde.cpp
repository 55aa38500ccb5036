#include <doctest/doctest.h>

#include <cmath>
#include <numbers>
#include <vector>

#include "error.hpp"
#include "sde.hpp"

using sde::Sde;

namespace {

std::vector<Sde> all_sdes() {
  return {Sde::ve(), Sde::vp(), Sde::subvp(), Sde::ve(0.001, 10.0), Sde::vp(0.05, 5.0)};
}

// Integrates the moment ODEs of the linear SDE dx = a(t) x dt + g(t) dw from
// x(0) = x0 (deterministic): dm/dt = a m (Eq. 26 for the mean coefficient)
// and dv/dt = 2 a v + g^2 (Eq. 28's variance ODE; for VP it reads
// dv/dt = beta (1 - v) when v starts at 1 - m^2). Classical RK4, which only
// uses drift_coeff and diffusion, so it checks mean_coeff/std independently.
std::pair<double, double> integrate_moments(const Sde& s, double t_end, int steps) {
  double m = 1.0, v = 0.0;
  const double h = t_end / steps;
  auto dm = [&](double t, double mm) { return s.drift_coeff(t) * mm; };
  auto dv = [&](double t, double vv) {
    const double g = s.diffusion(t);
    return 2 * s.drift_coeff(t) * vv + g * g;
  };
  for (int i = 0; i < steps; ++i) {
    const double t = i * h;
    const double m1 = dm(t, m), m2 = dm(t + h / 2, m + h / 2 * m1),
                 m3 = dm(t + h / 2, m + h / 2 * m2), m4 = dm(t + h, m + h * m3);
    const double v1 = dv(t, v), v2 = dv(t + h / 2, v + h / 2 * v1),
                 v3 = dv(t + h / 2, v + h / 2 * v2), v4 = dv(t + h, v + h * v3);
    m += h / 6 * (m1 + 2 * m2 + 2 * m3 + m4);
    v += h / 6 * (v1 + 2 * v2 + 2 * v3 + v4);
  }
  return {m, v};
}

}  // namespace

TEST_CASE("kernel mean and std solve the moment ODEs of each SDE") {
  for (const Sde& s : all_sdes()) {
    CAPTURE(s.name());
    for (double t : {0.01, 0.1, 0.37, 0.8, 1.0}) {
      CAPTURE(t);
      // RK4 with 20000 steps: error ~ h^4 times derivatives, far below 1e-9
      // relative here (VE's g^2 grows like 2500^2 but smoothly).
      const auto [m, v] = integrate_moments(s, t, 20000);
      CHECK(std::abs(m - s.mean_coeff(t)) < 1e-10);
      CHECK(std::abs(v - s.std(t) * s.std(t)) <= 1e-9 * std::max(1.0, v));
    }
    CHECK(s.std(0.0) == 0.0);
    CHECK(s.mean_coeff(0.0) == 1.0);
  }
}

TEST_CASE("closed forms of the paper (Eq. 29-34)") {
  const Sde ve = Sde::ve(0.01, 50.0);
  // sigma(t) = smin (smax/smin)^t, and the kernel std sqrt(sigma^2 - smin^2).
  CHECK(ve.sigma(0.5) == doctest::Approx(0.01 * std::sqrt(5000.0)).epsilon(1e-14));
  CHECK(ve.std(1.0) == doctest::Approx(std::sqrt(2500.0 - 1e-4)).epsilon(1e-14));
  CHECK(ve.diffusion(0.3) ==
        doctest::Approx(ve.sigma(0.3) * std::sqrt(2 * std::log(5000.0))).epsilon(1e-14));
  CHECK(ve.drift_coeff(0.3) == 0.0);

  const Sde vp = Sde::vp(0.1, 20.0);
  const double B = 0.1 * 0.6 + 0.5 * 19.9 * 0.36;  // int_0^0.6 beta
  CHECK(vp.beta_integral(0.6) == doctest::Approx(B).epsilon(1e-15));
  CHECK(vp.mean_coeff(0.6) == doctest::Approx(std::exp(-0.5 * B)).epsilon(1e-14));
  CHECK(vp.std(0.6) == doctest::Approx(std::sqrt(1 - std::exp(-B))).epsilon(1e-14));
  CHECK(vp.drift_coeff(0.6) == doctest::Approx(-0.5 * (0.1 + 0.6 * 19.9)));

  const Sde sub = Sde::subvp(0.1, 20.0);
  CHECK(sub.mean_coeff(0.6) == vp.mean_coeff(0.6));
  CHECK(sub.std(0.6) == doctest::Approx(1 - std::exp(-B)).epsilon(1e-14));
  // sub-VP variance is bounded by VP's at every t (Section 3.4).
  for (double t = 0.01; t <= 1.0; t += 0.07) CHECK(sub.std(t) <= vp.std(t));
}

TEST_CASE("time_of_std inverts std") {
  for (const Sde& s : all_sdes()) {
    CAPTURE(s.name());
    for (double t : {1e-4, 0.01, 0.3, 0.9, 1.0}) {
      CAPTURE(t);
      CHECK(s.time_of_std(s.std(t)) == doctest::Approx(t).epsilon(1e-9));
    }
  }
}

TEST_CASE("time_of_lambda inverts the log signal-to-noise ratio") {
  for (const Sde& s : all_sdes()) {
    CAPTURE(s.name());
    double prev = INFINITY;
    for (double t : {1e-5, 1e-3, 0.2, 0.6, 1.0}) {
      CAPTURE(t);
      CHECK(s.lambda(t) < prev);  // strictly decreasing
      prev = s.lambda(t);
      CHECK(s.time_of_lambda(s.lambda(t)) == doctest::Approx(t).epsilon(1e-9));
    }
  }
}

TEST_CASE("transition kernels compose and start from the perturbation kernel") {
  for (const Sde& s : all_sdes()) {
    CAPTURE(s.name());
    // From 0 the transition is the kernel itself: F = m - 1, G = s.
    const auto k = s.transition(0.0, 0.42);
    CHECK(k.F + 1 == doctest::Approx(s.mean_coeff(0.42)).epsilon(1e-14));
    CHECK(k.G == doctest::Approx(s.std(0.42)).epsilon(1e-12));
    // Chapman-Kolmogorov: 0.2 -> 0.5 -> 0.9 equals 0.2 -> 0.9.
    const auto a = s.transition(0.2, 0.5), b = s.transition(0.5, 0.9), c = s.transition(0.2, 0.9);
    const double r = (1 + a.F) * (1 + b.F);
    const double var = (1 + b.F) * (1 + b.F) * a.G * a.G + b.G * b.G;
    CHECK(r == doctest::Approx(1 + c.F).epsilon(1e-13));
    CHECK(var == doctest::Approx(c.G * c.G).epsilon(1e-11));
  }
}

TEST_CASE("the N-step chains of the paper") {
  const int N = 1000;
  // SMLD chain (Eq. 20): x_i = x_{i-1} + sqrt(sigma_i^2 - sigma_{i-1}^2) z.
  const Sde ve = Sde::ve();
  for (int i : {1, 10, 500, N}) {
    const double t0 = double(i - 1) / N, t1 = double(i) / N;
    const auto step = ve.transition(t0, t1);
    CHECK(step.F == 0.0);
    CHECK(step.G == doctest::Approx(std::sqrt(std::pow(ve.sigma(t1), 2) - std::pow(ve.sigma(t0), 2)))
                        .epsilon(1e-10));
  }
  // DDPM chain (Eq. 22): x_i = sqrt(1 - beta_i) x_{i-1} + sqrt(beta_i) z. Ours
  // uses the exact beta_i = 1 - exp(-int beta) over the step (= 1 - exp(-beta_mid/N)
  // for linear beta); Eq. 22's beta(t_i)/N differs from it by at most beta_i^2/2.
  const Sde vp = Sde::vp();
  for (int i : {1, 10, 500, N}) {
    const double t0 = double(i - 1) / N, t1 = double(i) / N;
    const auto step = vp.transition(t0, t1);
    const double beta_i = vp.beta(0.5 * (t0 + t1)) / N;
    CHECK(step.G * step.G == doctest::Approx(-std::expm1(-beta_i)).epsilon(1e-12));
    CHECK(std::abs(step.G * step.G - beta_i) <= 0.5 * beta_i * beta_i);
    CHECK(1 + step.F == doctest::Approx(std::sqrt(1 - step.G * step.G)).epsilon(1e-14));
  }
}

TEST_CASE("Euler-Maruyama moments converge to the kernel at first order") {
  // Deterministic moment recursion of EM: m' = (1+F) m, v' = (1+F)^2 v + G^2.
  for (const Sde& s : all_sdes()) {
    CAPTURE(s.name());
    double err_prev = 0;
    for (int steps : {500, 1000}) {
      double m = 1, v = 0;
      for (int i = 0; i < steps; ++i) {
        const auto e = s.euler_step(double(i) / steps, 1.0 / steps);
        m *= 1 + e.F;
        v = (1 + e.F) * (1 + e.F) * v + e.G * e.G;
      }
      const double err = std::abs(v - s.std(1.0) * s.std(1.0)) / (s.std(1.0) * s.std(1.0)) +
                         std::abs(m - s.mean_coeff(1.0)) / s.mean_coeff(1.0);
      CAPTURE(steps);
      CHECK(err < 0.05);
      if (err_prev > 0) CHECK(err < 0.6 * err_prev);  // halves with the step (first order)
      err_prev = err;
    }
  }
}

TEST_CASE("prior") {
  CHECK(Sde::vp().prior_std() == 1.0);
  CHECK(Sde::subvp().prior_std() == 1.0);
  CHECK(Sde::ve().prior_std() == doctest::Approx(50.0).epsilon(1e-7));
}

TEST_CASE("SDE names") {
  CHECK(sde::parse_sde_kind("subvp") == sde::SdeKind::subvp);
  CHECK_THROWS_AS(sde::parse_sde_kind("vpp"), sde::Error);
}

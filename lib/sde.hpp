// The SDE family of Song et al. (2021), all with linear drift f(x,t) = a(t) x:
//
//   VE     dx = sqrt(d[sigma^2]/dt) dw,      sigma(t) = smin (smax/smin)^t
//   VP     dx = -beta(t)/2 x dt + sqrt(beta(t)) dw,    beta(t) = bmin + t (bmax - bmin)
//   sub-VP dx = -beta(t)/2 x dt + sqrt(beta(t)(1 - exp(-2 int_0^t beta))) dw
//
// Perturbation kernel p_0t(x(t) | x(0)) = N(m(t) x(0), s(t)^2 I) (Eq. 29-34).
// VE convention: x(0) is the clean data, so s(t)^2 = sigma(t)^2 - sigma(0)^2
// exactly (the SDE integrated from 0), and t = 0 is noise-free; seed 001
// (Eq. 4.2.20) uses the same. The paper's code instead takes s(t) = sigma(t),
// i.e. data already blurred by sigma_min; the two differ by < sigma_min^2.
#pragma once
#include <string>

namespace sde {

enum class SdeKind { ve, vp, subvp };

struct Sde {
  SdeKind kind = SdeKind::vp;
  double sigma_min = 0.01, sigma_max = 50.0;  // VE
  double beta_min = 0.1, beta_max = 20.0;     // VP, sub-VP
  double T = 1.0;

  static Sde ve(double sigma_min = 0.01, double sigma_max = 50.0);
  static Sde vp(double beta_min = 0.1, double beta_max = 20.0);
  static Sde subvp(double beta_min = 0.1, double beta_max = 20.0);

  std::string name() const;  // "ve", "vp", "subvp"

  // Drift f(x,t) = drift_coeff(t) * x and diffusion g(t).
  double drift_coeff(double t) const;
  double diffusion(double t) const;
  // Kernel: x(t) = mean_coeff(t) x(0) + std(t) z.
  double mean_coeff(double t) const;
  double std(double t) const;
  // VE noise scale sigma(t) = smin (smax/smin)^t.
  double sigma(double t) const;
  // The time at which std(t) equals s (inverse of std; s in (0, std(T)]).
  // Annealed Langevin uses it to map a noise level to a model time.
  double time_of_std(double s) const;
  // Half log signal-to-noise ratio lambda(t) = log(m(t)/s(t)), decreasing in
  // t (the variable of DDIM and DPM-Solver), and its inverse.
  double lambda(double t) const;
  double time_of_lambda(double lambda) const;
  // VP/sub-VP beta(t) and its integral from 0 to t.
  double beta(double t) const;
  double beta_integral(double t) const;

  // The prior's standard deviation: VE s(T), VP and sub-VP 1 (its mean:
  // Prior in score.hpp).
  double prior_std() const;

  // One forward step x' = x + F x + G z between two times (F x is the
  // paper's f_i(x), G its G_i; the reverse-diffusion predictor, Eq. 46,
  // undoes these).
  struct Step {
    double F, G;
  };
  // The exact transition kernel from t_from to t_to: with r = m(to)/m(from),
  // F = r - 1 and G^2 = s(to)^2 - r^2 s(from)^2. For VE this is the SMLD
  // chain (Eq. 20); for VP it is the DDPM chain (Eq. 22) with
  // beta_i = 1 - exp(-int beta), of which Eq. 22's beta_i = beta(t_i)/N is the
  // first-order approximation; for sub-VP it is the exact kernel too.
  Step transition(double t_from, double t_to) const;
  // Euler-Maruyama step from t over dt (dt may be negative for the reverse
  // direction's time, G uses |dt|): F = a(t) dt, G = g(t) sqrt(|dt|).
  Step euler_step(double t, double dt) const;

  // Smallest time used by default by samplers and training.
  double default_eps() const { return kind == SdeKind::ve ? 1e-5 : 1e-3; }
};

SdeKind parse_sde_kind(const std::string& s);  // throws sde::Error

}  // namespace sde

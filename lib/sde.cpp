#include "sde.hpp"

#include <cmath>

#include "error.hpp"

namespace sde {

Sde Sde::ve(double sigma_min, double sigma_max) {
  Sde s;
  s.kind = SdeKind::ve;
  s.sigma_min = sigma_min;
  s.sigma_max = sigma_max;
  return s;
}

Sde Sde::vp(double beta_min, double beta_max) {
  Sde s;
  s.kind = SdeKind::vp;
  s.beta_min = beta_min;
  s.beta_max = beta_max;
  return s;
}

Sde Sde::subvp(double beta_min, double beta_max) {
  Sde s = vp(beta_min, beta_max);
  s.kind = SdeKind::subvp;
  return s;
}

std::string Sde::name() const {
  switch (kind) {
    case SdeKind::ve: return "ve";
    case SdeKind::vp: return "vp";
    case SdeKind::subvp: return "subvp";
  }
  return "?";
}

SdeKind parse_sde_kind(const std::string& s) {
  if (s == "ve") return SdeKind::ve;
  if (s == "vp") return SdeKind::vp;
  if (s == "subvp" || s == "sub-vp") return SdeKind::subvp;
  throw Error("unknown SDE '" + s + "' (expected ve, vp or subvp)");
}

double Sde::sigma(double t) const { return sigma_min * std::pow(sigma_max / sigma_min, t); }

double Sde::beta(double t) const { return beta_min + t * (beta_max - beta_min); }

double Sde::beta_integral(double t) const {
  return beta_min * t + 0.5 * (beta_max - beta_min) * t * t;
}

double Sde::drift_coeff(double t) const { return kind == SdeKind::ve ? 0.0 : -0.5 * beta(t); }

double Sde::diffusion(double t) const {
  switch (kind) {
    case SdeKind::ve: return sigma(t) * std::sqrt(2.0 * std::log(sigma_max / sigma_min));
    case SdeKind::vp: return std::sqrt(beta(t));
    case SdeKind::subvp: return std::sqrt(beta(t) * -std::expm1(-2.0 * beta_integral(t)));
  }
  return 0.0;
}

double Sde::mean_coeff(double t) const {
  return kind == SdeKind::ve ? 1.0 : std::exp(-0.5 * beta_integral(t));
}

double Sde::std(double t) const {
  switch (kind) {
    case SdeKind::ve: {
      // sqrt(sigma(t)^2 - sigma_min^2) = sigma_min sqrt(r^(2t) - 1), without cancellation.
      return sigma_min * std::sqrt(std::expm1(2.0 * t * std::log(sigma_max / sigma_min)));
    }
    case SdeKind::vp: return std::sqrt(-std::expm1(-beta_integral(t)));
    case SdeKind::subvp: return -std::expm1(-beta_integral(t));
  }
  return 0.0;
}

namespace {
// The t >= 0 with beta_min t + (beta_max - beta_min) t^2 / 2 = B, in the
// cancellation-free form of the quadratic formula.
double time_of_beta_integral(const Sde& s, double B) {
  const double slope = s.beta_max - s.beta_min;
  return 2.0 * B / (s.beta_min + std::sqrt(s.beta_min * s.beta_min + 2.0 * slope * B));
}
}  // namespace

double Sde::time_of_std(double s) const {
  if (kind == SdeKind::ve)
    return 0.5 * std::log1p(s * s / (sigma_min * sigma_min)) / std::log(sigma_max / sigma_min);
  return time_of_beta_integral(*this, kind == SdeKind::vp ? -std::log1p(-s * s) : -std::log1p(-s));
}

double Sde::lambda(double t) const { return std::log(mean_coeff(t) / std(t)); }

double Sde::time_of_lambda(double lam) const {
  // The noise-to-signal ratio s/m = exp(-lambda): VE s; VP sqrt(e^B - 1);
  // sub-VP e^{B/2} - e^{-B/2} = 2 sinh(B/2).
  const double ratio = std::exp(-lam);
  switch (kind) {
    case SdeKind::ve: return time_of_std(ratio);
    case SdeKind::vp: return time_of_beta_integral(*this, std::log1p(ratio * ratio));
    case SdeKind::subvp: return time_of_beta_integral(*this, 2.0 * std::asinh(0.5 * ratio));
  }
  return 0.0;
}

double Sde::prior_std() const { return kind == SdeKind::ve ? std(T) : 1.0; }

Sde::Step Sde::transition(double t_from, double t_to) const {
  const double r = mean_coeff(t_to) / mean_coeff(t_from);
  const double s_from = std(t_from), s_to = std(t_to);
  const double var = s_to * s_to - r * r * s_from * s_from;
  return {r - 1.0, std::sqrt(std::max(var, 0.0))};
}

Sde::Step Sde::euler_step(double t, double dt) const {
  return {drift_coeff(t) * dt, diffusion(t) * std::sqrt(std::abs(dt))};
}

}  // namespace sde

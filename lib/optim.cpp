#include "optim.hpp"

#include <fmt/format.h>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>

#include "enum_names.hpp"
#include "error.hpp"
#include "parallel.hpp"

namespace sde {

namespace {

using Array = Eigen::Array<float, Eigen::Dynamic, 1>;
using ArrayMap = Eigen::Map<Array>;
using ConstArrayMap = Eigen::Map<const Array>;

void check_size(const char* what, std::size_t got, std::size_t want) {
  if (got != want)
    throw Error(fmt::format("optimizer: {} has {} entries, expected {}", what, got, want));
}

}  // namespace

namespace {

// The sum of squares of v, eight double lanes at a time: a dynamic-size
// cast().square().sum() is not vectorized and takes longer than the Adam
// update itself.
double sum_of_squares(std::span<const float> v) {
  using Lanes = Eigen::Array<double, 8, 1>;
  Lanes lanes = Lanes::Zero();
  std::size_t i = 0;
  for (; i + 8 <= v.size(); i += 8)
    lanes += Eigen::Map<const Eigen::Array<float, 8, 1>>(v.data() + i).cast<double>().square();
  double sum = lanes.sum();
  for (; i < v.size(); ++i) sum += double(v[i]) * v[i];
  return sum;
}

// Parameter vectors are cut into blocks of this many entries (a multiple of
// every SIMD width, so each entry takes the same code path whichever block
// it is in), which threads take; the norm's partial sums are added in block
// order. So every result is the same for any thread count.
constexpr std::size_t kBlock = 8192;

// body(begin, end) over the blocks of [0, n) on up to `threads` threads.
template <class Body>
void for_blocks(std::size_t n, int threads, Body&& body) {
  parallel_for(n, kBlock, threads, [&](std::size_t begin, std::size_t end) { body(begin, end); });
}

}  // namespace

double l2_norm(std::span<const float> v, int threads) {
  std::vector<double> partial((v.size() + kBlock - 1) / kBlock);
  for_blocks(v.size(), threads, [&](std::size_t begin, std::size_t end) {
    partial[begin / kBlock] = sum_of_squares(v.subspan(begin, end - begin));
  });
  double sum = 0;
  for (double p : partial) sum += p;
  return std::sqrt(sum);
}

namespace {
constexpr std::pair<LrSchedule, const char*> kSchedules[] = {
    {LrSchedule::constant, "constant"}, {LrSchedule::cosine, "cosine"}, {LrSchedule::rsqrt, "rsqrt"}};
}  // namespace

std::string to_string(LrSchedule s) { return name_of(kSchedules, s); }
LrSchedule parse_lr_schedule(const std::string& name) { return parse_name(kSchedules, name, "learning-rate schedule"); }

void AdamConfig::validate() const {
  if (!(lr > 0)) throw Error(fmt::format("adam: lr must be positive, got {}", lr));
  if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1))
    throw Error(fmt::format("adam: betas must be in [0, 1), got {}, {}", beta1, beta2));
  if (!(eps > 0)) throw Error(fmt::format("adam: eps must be positive, got {}", eps));
  if (warmup < 0) throw Error(fmt::format("adam: warmup must be >= 0, got {}", warmup));
  if (!(grad_clip >= 0))
    throw Error(fmt::format("adam: grad_clip must be >= 0, got {}", grad_clip));
  if (schedule == LrSchedule::cosine && horizon <= warmup)
    throw Error(fmt::format("adam: the cosine schedule needs more steps ({}) than warm-up ({})", horizon, warmup));
}

Adam::Adam(std::size_t num_params, AdamConfig config)
    : config_(config), m_(num_params, 0.0f), v_(num_params, 0.0f) {
  config_.validate();
}

double Adam::learning_rate() const {
  const double k = double(steps_), warmup = double(config_.warmup);
  double lr = config_.lr;
  switch (config_.schedule) {
    case LrSchedule::constant: break;
    case LrSchedule::cosine: {
      const double progress = std::clamp((k - warmup) / (double(config_.horizon) - warmup), 0.0, 1.0);
      lr *= 0.5 * (1 + std::cos(M_PI * progress));
      break;
    }
    case LrSchedule::rsqrt: {
      const double w = std::max(warmup, 1.0);
      lr *= std::sqrt(w / std::max(k, w));
      break;
    }
  }
  if (config_.warmup == 0) return lr;
  return lr * std::min(1.0, (k + 1) / warmup);
}

double Adam::step(std::span<float> params, std::span<const float> grad, int threads) {
  check_size("parameter vector", params.size(), m_.size());
  check_size("gradient", grad.size(), m_.size());
  const double norm = l2_norm(grad, threads);
  double scale = 1.0;
  if (config_.grad_clip > 0 && norm + 1e-6 > config_.grad_clip)
    scale = config_.grad_clip / (norm + 1e-6);

  const double lr = learning_rate();
  ++steps_;
  // Scalars in double, rounded to float where torch rounds them.
  const double correction1 = 1 - std::pow(config_.beta1, double(steps_));
  const double correction2 = 1 - std::pow(config_.beta2, double(steps_));
  const auto beta1 = float(config_.beta1), beta2 = float(config_.beta2);
  const auto step_size = float(lr / correction1);
  const auto root_correction2 = float(std::sqrt(correction2));
  const auto eps = float(config_.eps);

  for_blocks(m_.size(), threads, [&](std::size_t begin, std::size_t end) {
    const auto at = Eigen::Index(begin), n = Eigen::Index(end - begin);
    ArrayMap m(m_.data() + at, n), v(v_.data() + at, n), p(params.data() + at, n);
    const ConstArrayMap g(grad.data() + at, n);
    const auto clipped = g * float(scale);
    // Operand order as torch's mul_/add_, addcmul_ and addcdiv_.
    m = m * beta1 + float(1 - config_.beta1) * clipped;
    v = v * beta2 + float(1 - config_.beta2) * clipped * clipped;
    p += (-step_size * m) / (v.sqrt() / root_correction2 + eps);
  });
  return norm;
}

void Adam::restore(std::int64_t steps, std::span<const float> m, std::span<const float> v) {
  check_size("first moment", m.size(), m_.size());
  check_size("second moment", v.size(), v_.size());
  if (steps < 0) throw Error(fmt::format("optimizer: step count {} < 0", steps));
  steps_ = steps;
  std::copy(m.begin(), m.end(), m_.begin());
  std::copy(v.begin(), v.end(), v_.begin());
}

void EmaConfig::validate() const {
  if (!(decay >= 0 && decay < 1)) throw Error(fmt::format("ema: decay must be in [0, 1), got {}", decay));
  // sigma_rel of the profile j^gamma (gamma >= 0) falls from 1/sqrt(12) = 0.289
  // at gamma = 0 towards 0 as 1/gamma; 1e-4 is gamma ~ 1e4.
  if (!(length == 0 || (length >= 1e-4 && length < 0.28)))
    throw Error(fmt::format("ema: length must be 0 or in [1e-4, 0.28), got {}", length));
  if (decay > 0 && length > 0) throw Error("ema: give a decay or a length, not both");
}

double Ema::power_exponent(double length) {
  // sigma_rel(gamma) = sqrt((gamma + 1) / ((gamma + 2)^2 (gamma + 3))) is
  // decreasing on gamma >= 0: bisect there.
  const auto rel = [](double g) { return std::sqrt((g + 1) / ((g + 2) * (g + 2) * (g + 3))); };
  double lo = 0, hi = 1e6;
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (lo + hi);
    (rel(mid) > length ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

Ema::Ema(std::span<const float> params, EmaConfig config)
    : config_(config), values_(params.begin(), params.end()) {
  config_.validate();
  if (config_.length > 0) gamma_ = power_exponent(config_.length);
}

double Ema::decay_at(std::int64_t k) const {
  if (config_.length > 0) return std::pow(1 - 1 / double(k), gamma_ + 1);
  return std::min(config_.decay, double(1 + k) / double(10 + k));
}

void Ema::update(std::span<const float> params, int threads) {
  check_size("parameter vector", params.size(), values_.size());
  ++updates_;
  const auto weight = float(1 - decay_at(updates_));
  for_blocks(values_.size(), threads, [&](std::size_t begin, std::size_t end) {
    const auto at = Eigen::Index(begin), n = Eigen::Index(end - begin);
    ArrayMap e(values_.data() + at, n);
    const ConstArrayMap p(params.data() + at, n);
    // torch.lerp: from the nearer end, so that weight 1 gives params exactly.
    if (weight < 0.5f)
      e += weight * (p - e);
    else
      e = p - (p - e) * (1.0f - weight);
  });
}

void Ema::restore(std::int64_t updates, std::span<const float> values) {
  check_size("EMA vector", values.size(), values_.size());
  if (updates < 0) throw Error(fmt::format("ema: update count {} < 0", updates));
  updates_ = updates;
  std::copy(values.begin(), values.end(), values_.begin());
}

}  // namespace sde

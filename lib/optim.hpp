// Adam (with linear learning-rate warm-up and global gradient-norm clipping)
// and an exponential moving average of the parameters, over flat fp32
// parameter vectors (Mlp<float>::params()).
//
// The arithmetic follows torch.optim.Adam (torch 1.13, single-tensor path)
// and the peer's EMA, so a run can be compared with the PyTorch peer step by
// step. The state is plain vectors plus a counter: a checkpoint of it resumes
// training bit-identically.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "types.hpp"

namespace sde {

// Euclidean norm of a float vector, accumulated in double in fixed blocks
// (the same bits for any thread count).
double l2_norm(std::span<const float> v, int threads = 1);

// The learning rate after warm-up, as a function of the step k:
//   constant  lr
//   cosine    lr (1 + cos(pi k' / K')) / 2, k' = k - warmup, K' = horizon - warmup
//   rsqrt     lr sqrt(w / max(k, w)), w = max(warmup, 1)  (EDM2's inverse square root)
enum class LrSchedule { constant, cosine, rsqrt };
std::string to_string(LrSchedule s);
LrSchedule parse_lr_schedule(const std::string& name);  // throws sde::Error

struct AdamConfig {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // torch.optim.Adam defaults
  std::int64_t warmup = 0;  // steps of linear learning-rate warm-up; 0: none
  double grad_clip = 0;     // largest global gradient L2 norm; 0: no clipping
  LrSchedule schedule = LrSchedule::constant;
  std::int64_t horizon = 0;  // total steps the cosine schedule spans
  void validate() const;    // throws sde::Error
};

class Adam {
public:
  Adam(std::size_t num_params, AdamConfig config = {});

  const AdamConfig& config() const { return config_; }
  // Learning rate of the next step, k = steps() taken before it: the
  // schedule's, times min(1, (k + 1) / warmup) during warm-up.
  // (score_sde uses k / warmup, whose first step has rate 0.)
  double learning_rate() const;

  // One bias-corrected Adam update of params with grad. If the gradient's
  // norm exceeds grad_clip, it is scaled by grad_clip / (norm + 1e-6) as
  // torch.nn.utils.clip_grad_norm_ does. Returns the norm before clipping.
  // On up to `threads` threads, with the same result for any count.
  double step(std::span<float> params, std::span<const float> grad, int threads = 1);

  // Checkpoint state: the step count and the two moment vectors.
  std::int64_t steps() const { return steps_; }
  std::span<const float> first_moment() const { return m_; }
  std::span<const float> second_moment() const { return v_; }
  void restore(std::int64_t steps, std::span<const float> m, std::span<const float> v);

private:
  AdamConfig config_;
  std::int64_t steps_ = 0;
  FloatBuffer m_, v_;
};

// What the EMA averages over: a fixed decay, or a power-function profile
// whose length is a fraction of training (Karras et al. 2024, EDM2).
struct EmaConfig {
  double decay = 0.999;  // fixed decay; 0 with length 0: no EMA
  double length = 0;     // > 0: power-function EMA of this relative std (sigma_rel, < 0.28)
  bool enabled() const { return decay > 0 || length > 0; }
  void validate() const;  // throws sde::Error
};

// EMA of the parameters. With a fixed decay, the warm-up rule of the peer
// (and of score_sde's ExponentialMovingAverage): the k-th update
// (k = 1, 2, ...) uses
//   d_k = min(decay, (1 + k) / (10 + k)),
// so early averages forget the random initialisation quickly. With a
// length sigma_rel, d_k = (1 - 1/k)^(gamma + 1): the average then weights
// step j of k in proportion to j^gamma, a profile whose std is sigma_rel
// times its length at every k (gamma solves sigma_rel^2 =
// (gamma + 1) / ((gamma + 2)^2 (gamma + 3))). Then
//   ema = lerp(ema, params, 1 - d_k),
// rounded as torch.lerp does.
class Ema {
public:
  Ema(std::span<const float> params, EmaConfig config);

  const EmaConfig& config() const { return config_; }
  // The power-function exponent gamma of a relative length sigma_rel.
  static double power_exponent(double length);
  double decay_at(std::int64_t k) const;
  void update(std::span<const float> params, int threads = 1);  // same result for any threads

  std::span<const float> values() const { return values_; }
  // Checkpoint state: the update count and the averaged values.
  std::int64_t updates() const { return updates_; }
  void restore(std::int64_t updates, std::span<const float> values);

private:
  EmaConfig config_;
  double gamma_ = 0;  // power-function exponent (length > 0)
  std::int64_t updates_ = 0;
  FloatBuffer values_;
};

}  // namespace sde

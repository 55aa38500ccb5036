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
#include <vector>

#include "types.hpp"

namespace sde {

// Euclidean norm of a float vector, accumulated in double.
double l2_norm(std::span<const float> v);

struct AdamConfig {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // torch.optim.Adam defaults
  std::int64_t warmup = 0;  // steps of linear learning-rate warm-up; 0: none
  double grad_clip = 0;     // largest global gradient L2 norm; 0: no clipping
  void validate() const;    // throws sde::Error
};

class Adam {
public:
  Adam(std::size_t num_params, AdamConfig config = {});

  const AdamConfig& config() const { return config_; }
  // Learning rate of the next step, k = steps() taken before it:
  //   lr * min(1, (k + 1) / warmup).
  // (score_sde uses k / warmup, whose first step has rate 0.)
  double learning_rate() const;

  // One bias-corrected Adam update of params with grad. If the gradient's
  // norm exceeds grad_clip, it is scaled by grad_clip / (norm + 1e-6) as
  // torch.nn.utils.clip_grad_norm_ does. Returns the norm before clipping.
  double step(std::span<float> params, std::span<const float> grad);

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

// EMA of the parameters with the warm-up rule of the peer (and of score_sde's
// ExponentialMovingAverage): the k-th update (k = 1, 2, ...) uses the decay
//   d_k = min(decay, (1 + k) / (10 + k)),
// so early averages forget the random initialisation quickly; then
//   ema = lerp(ema, params, 1 - d_k),
// rounded as torch.lerp does.
class Ema {
public:
  Ema(std::span<const float> params, double decay);

  double decay() const { return decay_; }
  double decay_at(std::int64_t k) const;
  void update(std::span<const float> params);

  std::span<const float> values() const { return values_; }
  // Checkpoint state: the update count and the averaged values.
  std::int64_t updates() const { return updates_; }
  void restore(std::int64_t updates, std::span<const float> values);

private:
  double decay_;
  std::int64_t updates_ = 0;
  FloatBuffer values_;
};

}  // namespace sde

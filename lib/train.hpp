// Training a score network by score matching (Song et al. 2021, Eq. 7 and
// 19; the SMLD and DDPM objectives, Eq. 1 and 3).
//
// Every step draws its minibatch from the counter-based RNG keyed by the
// step number: row i of step k takes its data index from
// Stream(seed, batch, i, k), its time from Stream(seed, time, i, k), its
// noise from Stream(seed, noise, i, k) and its projection from
// Stream(seed, projection, i, k). With the optimizer state saved in the model
// file, a resumed run therefore continues exactly where the interrupted one
// stopped, bit for bit, and no result depends on the thread count.
#pragma once
#include <cstdint>
#include <string>

#include "model.hpp"
#include "optim.hpp"
#include "types.hpp"

namespace sde {

enum class Loss {
  dsm,   // continuous denoising score matching, t ~ U(eps, 1) (Eq. 7)
  smld,  // NCSN: N geometric noise levels, VE only (Eq. 1)
  ddpm,  // DDPM L_simple: N discrete times i/N, VP only (Eq. 3)
  ssm    // sliced score matching on perturbed data (Eq. 19)
};
enum class Weighting { sigma2, likelihood };  // lambda(t) = s(t)^2 or g(t)^2
enum class Projection { gaussian, rademacher };

Loss parse_loss(const std::string& s);
Weighting parse_weighting(const std::string& s);
Projection parse_projection(const std::string& s);
std::string to_string(Loss l);
std::string to_string(Weighting w);
std::string to_string(Projection p);

struct TrainOptions {
  Loss loss = Loss::dsm;
  Weighting weighting = Weighting::sigma2;
  Projection projection = Projection::rademacher;
  int noise_levels = 1000;  // N of the discrete objectives
  int batch = 512;
  AdamConfig adam;
  double ema_decay = 0.999;  // 0: no EMA
  double eps = 1e-5;         // smallest training time
  std::uint64_t seed = 0;
  int threads = 1;
  void validate(const Sde& sde) const;  // throws sde::Error
};

// The options as stored in a model file's "training.settings" (all but
// threads, which never change a result), and back.
Json train_options_to_json(const TrainOptions& o);
TrainOptions train_options_from_json(const Json& j);

class Trainer {
public:
  // Trains model.net on the rows of data (N x d). A model carrying optimizer
  // state (and EMA) resumes from it; otherwise training starts fresh.
  Trainer(Model& model, const Matrix& data, const TrainOptions& options);
  ~Trainer();

  // One optimisation step; returns its loss (before the update).
  double step();
  // Loss and gradient of step k's minibatch at the current parameters,
  // without updating anything (for tests and diagnostics).
  double evaluate(std::int64_t k, std::vector<float>& grad);
  std::int64_t steps_done() const;
  // Writes the optimizer and EMA state into the model (for a checkpoint).
  void save_state(Model& model) const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The data's scale for the scaled parameterization: the root mean square of
// all entries (not centred: the network's input is not centred either, so
// this is what makes E[|x(t) / r(t)|^2] = d). Throws sde::Error for data
// that are all zero.
double data_rms(const Matrix& data);

// FNV-1a hash of the data bytes: a resumed run checks it trains on the same data.
std::uint64_t data_fingerprint(const Matrix& data);

}  // namespace sde

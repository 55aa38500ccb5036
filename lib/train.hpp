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

#include "mixture.hpp"
#include "model.hpp"
#include "optim.hpp"
#include "rng.hpp"
#include "types.hpp"

namespace sde {

enum class Loss {
  dsm,    // continuous denoising score matching (Eq. 7)
  smld,   // NCSN: N geometric noise levels, VE only (Eq. 1)
  ddpm,   // DDPM L_simple: N discrete times i/N, VP only (Eq. 3)
  ssm,    // sliced score matching on perturbed data (Eq. 19)
  oracle, // regression on the exact score of a known mixture: DSM without its noise
  stf     // DSM with the stable target field (Xu et al. 2023): the target score
          // averaged over the minibatch's clean rows by their posterior weights
          // given x(t); the same objective as dsm (bias O(1/batch)), far less
          // noise where the posterior spans many rows
};
// lambda(t) of the objective lambda(t) |score - target|^2:
//   sigma2 s(t)^2, likelihood g(t)^2, unit 1/out(t)^2 (equal weight on the
//   network's own output: EDM's lambda(sigma) with the edm parameterization,
//   the same as sigma2 with the noise one).
enum class Weighting { sigma2, likelihood, unit };
enum class Projection { gaussian, rademacher };
// Where the continuous objectives draw their times:
//   uniform     t ~ U(eps, T)
//   lognormal   ln sigma ~ N(mean, std^2), sigma = s(t)/m(t) (EDM), kept in [eps, T]
//   importance  t ~ g^2/s^2 on [eps, T] with the weight scaled so that the
//               objective is uniform's: the variance-reducing importance
//               sampling of likelihood-weighted training (Song et al. 2021b);
//               for VP and VE it is log-uniform in the noise level s/m.
enum class TimeSampling { uniform, lognormal, importance };

Loss parse_loss(const std::string& s);
Weighting parse_weighting(const std::string& s);
Projection parse_projection(const std::string& s);
TimeSampling parse_time_sampling(const std::string& s);
std::string to_string(Loss l);
std::string to_string(Weighting w);
std::string to_string(Projection p);
std::string to_string(TimeSampling s);

struct TrainOptions {
  Loss loss = Loss::dsm;
  Weighting weighting = Weighting::sigma2;
  Projection projection = Projection::rademacher;
  TimeSampling time_sampling = TimeSampling::uniform;
  double lognormal_mean = -1.2, lognormal_std = 1.2;  // of ln sigma
  int noise_levels = 1000;  // N of the discrete objectives
  int batch = 512;
  AdamConfig adam;
  EmaConfig ema;
  double eps = 1e-5;         // smallest training time
  std::uint64_t seed = 0;
  int threads = 1;
  void validate(const Sde& sde) const;  // throws sde::Error
};

// A recipe: every setting of a training run a user does not give.
//   standard   the project's defaults: edm, stf, likelihood weighting with
//              importance-sampled times, Adam 2e-3 with warm-up and cosine
//              decay, power-function EMA of length 0.1, 20 000 steps
//              (bench/TRAINING.md says how they were chosen)
//   reference  the PyTorch peer's recipe exactly: noise prediction (scaled
//              for VE), t ~ U(eps, 1), lambda = s^2, Adam at a constant 1e-3,
//              EMA 0.999, batch 512, 3 x 128 SiLU, 10 000 steps
enum class Recipe { standard, reference };
Recipe parse_recipe(const std::string& s);
std::string to_string(Recipe r);
struct TrainRecipe {
  TrainOptions options;
  Parameterization parameterization;
  NetConfig net;  // dim left to the data
  std::int64_t steps;
};
// The recipe for a run of `steps` steps (0: the recipe's own count): the
// standard warm-up is 500 steps or a tenth of the run, the cosine ends at its end.
TrainRecipe train_recipe(Recipe r, const Sde& sde, std::int64_t steps = 0);

// The options as stored in a model file's "training.settings" (all but
// threads, which never change a result), and back.
Json train_options_to_json(const TrainOptions& o);
TrainOptions train_options_from_json(const Json& j);

// Draws the training times of the options' loss and time sampling; weight
// is what the row's loss is multiplied by (1 but for importance sampling).
class TimeSampler {
public:
  TimeSampler(const TrainOptions& options, const Sde& sde);
  double draw(Stream& stream, double& weight) const;

private:
  static constexpr int kPoints = 4097;
  TrainOptions opt_;
  Sde sde_;
  std::vector<double> u_, cdf_;  // importance: the CDF of q over u = ln t
};

class Trainer {
public:
  // Trains model.net on the rows of data (N x d). A model carrying optimizer
  // state (and EMA) resumes from it; otherwise training starts fresh. The
  // oracle loss regresses on truth's exact score (required then, else unused).
  Trainer(Model& model, const Matrix& data, const TrainOptions& options,
          const GaussianMixture* truth = nullptr);
  ~Trainer();

  // One optimisation step; returns its loss (before the update).
  double step();
  // Loss and gradient of step k's minibatch at the current parameters,
  // without updating anything (for tests and diagnostics).
  double evaluate(std::int64_t k, std::vector<float>& grad);
  std::int64_t steps_done() const;
  // The objective on the rows of held_out at fixed draws (row i's time and
  // noise depend only on i), with the EMA weights when there are any: a
  // validation loss comparable across steps of one run.
  double validation_loss(const Matrix& held_out);
  // Writes the optimizer and EMA state into the model (for a checkpoint).
  void save_state(Model& model) const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The data's scale sigma_data of a parameterization. scaled: the root mean
// square of all entries (not centred: its input is not centred either, so
// this is what makes E[|x(t) / r(t)|^2] = d); edm: the RMS about the mean
// (its input is centred). Throws sde::Error for data with no spread.
double data_scale(Parameterization p, const Matrix& data);

// FNV-1a hash of the data bytes: a resumed run checks it trains on the same data.
std::uint64_t data_fingerprint(const Matrix& data);

}  // namespace sde

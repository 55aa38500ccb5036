// Trained score models: the model file and the ScoreModel adapter.
//
// Model file: one JSON document, readable with json.load + numpy:
//   {"format": "sde-tools-model", "version": 1,
//    "sde": {...SDE spec...},
//    "parameterization": "noise" | "scaled" | "edm",   see below
//    "sigma_data": number              (scaled and edm)
//    "input_gain": number              (edm)
//    "data_mean": [d numbers]          the training data's mean (optional;
//                                      centres the prior, see Prior)
//    "architecture": {"dim", "hidden", "activation", "embedding",
//                     "frequencies", "fourier_scale", "sinusoidal_positions", "residual"},
//    "training": {settings, "step", "final_loss", "data": {"rows", "hash"}},
//    "time_frequencies": [...],
//    "weights": [{"weight": [[out x in]], "bias": [out]}, ...]     raw parameters
//    "ema": {"decay", "length" (power EMA), "updates", "weights": [...same layout...]}  or null
//    "optimizer": {"steps", "m": [...], "v": [...]}   flat, parameter order}
// Numbers are float32 values written with the fewest digits that read back to
// the same float, so a checkpoint resumes training bit for bit.
//
// Parameterizations. Every one reads the network's output F as a score
//   score(x, t) = skip(t) (x - centre(t)) + out(t) F(in(t) (x - centre(t)), tau(t))
// (ScoreCoefficients below), so training, sampling and the likelihood share
// one chain rule:
//   noise   F predicts the noise: score = -F(x, t) / s(t)    the paper's code and the peer's
//   scaled  the same with input x / r(t), r(t) = sqrt(m(t)^2 sigma_data^2 + s(t)^2)
//   edm     EDM's preconditioned denoiser (Karras et al. 2022) in the space
//           x~ = x / m(t) with noise level sigma = s(t) / m(t), centred on
//           the data mean mu:
//             D(x~) = mu + c_skip (x~ - mu) + c_out F(c_in (x~ - mu), ln(sigma) / 4)
//           and score = (m D - x) / s^2 (Tweedie). With F = 0 this is the exact
//           score of N(mu, sigma_data^2 I), so F only learns what a Gaussian of the
//           data's mean and scale does not explain, and at every sigma its
//           target has unit scale. Its input is c_in (x~ - mu) times
//           input_gain = 2 sqrt(nf / d) (default_input_gain): at unit scale the d
//           coordinates reach the first layer ~sqrt(nf / d) times weaker than
//           the 2 nf time features, the SiLU units stay in their near-linear
//           range (x/2 + x^2/4, no cubic term), and since F's target has no
//           linear part (the Gaussian explains that) and, for symmetric data,
//           no even part, training sits on a plateau with F = 0: the score
//           errors of ~1 at t < 0.4 of a first attempt. sqrt(nf / d) escaped
//           it on the ring of 8 but not on the 5 x 5 grid with DSM's noisy
//           gradients (ODE gap -9 nats); twice that escapes both
//           (bench/TRAINING.md).
// r(t) is the RMS of x(t) for data of RMS sigma_data (EDM's c_in), so the
// scaled network sees its input at unit scale at every t. This matters for
// VE, where x(t) reaches +-3 sigma_max = +-150: a sampler integrates the
// noise estimate against d sigma, so an error delta in eps_hat at noise level
// sigma moves a sample by about 2 delta sigma, and a network fed raw inputs of
// +-150 cannot hold eps_hat to the ~1e-3 that sigma = 50 needs; the samples
// then pick their modes with the wrong weights (the peer's VE collapse).
#pragma once
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "net.hpp"
#include "score.hpp"
#include "spec.hpp"

namespace sde {

enum class Parameterization { noise, scaled, edm };
std::string to_string(Parameterization p);
Parameterization parse_parameterization(const std::string& name);  // throws sde::Error
// The reference recipe's: "scaled" for VE, "noise" for VP and sub-VP (see above).
Parameterization reference_parameterization(const Sde& sde);

// The chain rule from the network's output to the score at one time (see
// above): score = skip (x - centre mu) + out F(in (x - centre mu), time).
struct ScoreCoefficients {
  double in, time, skip, out, centre;
};
// 2 sqrt(nf / d): the d input coordinates twice as strong as the 2 nf time features.
double default_input_gain(const NetConfig& net);
ScoreCoefficients score_coefficients(Parameterization p, double sigma_data, double input_gain, const Sde& sde,
                                     double t);

struct OptimizerState {
  std::int64_t steps = 0;
  std::vector<float> m, v;
};

struct EmaState {
  double decay = 0;   // the fixed decay, or 0 for a power-function EMA of
  double length = 0;  // this relative length
  std::int64_t updates = 0;
  std::vector<float> values;
};

struct Model {
  Sde sde;
  Net net;                              // raw (last-step) parameters
  Parameterization parameterization = Parameterization::noise;
  double sigma_data = 1;                // data scale of scaled (RMS) and edm (std about the mean)
  double input_gain = 1;                // edm: its input is this times unit scale (see above)
  RowVector data_mean;                  // of the training data; empty: unknown (zero)
  std::optional<EmaState> ema;          // averaged parameters, used for sampling
  std::optional<OptimizerState> optimizer;
  Json training = Json::object();       // settings, step, final loss, data fingerprint

  explicit Model(Net network) : net(std::move(network)) {}
};

Json model_to_json(const Model& model);
// Validates format, version, shapes and values; errors name the field.
Model model_from_json(const Json& j);
Model read_model(const std::string& path);
void write_model(const std::string& path, const Model& model);  // atomic

// The score of a trained network (ScoreCoefficients), in fp32, using the EMA
// weights when the model has them (unless use_ema is false). Safe to call
// from several threads at once (each call takes its own workspace).
class NetScore final : public ScoreModel {
public:
  NetScore(const Model& model, bool use_ema = true);
  ~NetScore() override;
  int dim() const override { return net_.config().dim; }
  void score(const Matrix& x, const Vector& t, Matrix& out) const override;
  // One time for all rows: the time features enter the first layer once.
  void score_at_time(const Matrix& x, double t, Matrix& out) const override;
  // Forward mode through the network: J_score v = skip v + out in (dF/du) v,
  // u the network's input (ScoreCoefficients).
  void score_jvp(const Matrix& x, const Vector& t, const Matrix& v, Matrix& score_out,
                 Matrix& jv) const override;
  // The d unit tangents in one forward-mode pass (Mlp::divergence).
  void score_divergence(const Matrix& x, const Vector& t, Matrix& score_out,
                        Vector& divergence) const override;
  const Sde& sde() const override { return sde_; }
  RowVector data_mean() const override;
  const Net& net() const { return net_; }

private:
  struct Buffers;
  // Loads the network's inputs into b (each row's ScoreCoefficients applied).
  void load(Buffers& b, const Matrix& x, const Vector& t) const;
  // The score from the network's output in b.
  void finish(const Buffers& b, Matrix& score_out) const;
  std::unique_ptr<Buffers> acquire() const;
  void release(std::unique_ptr<Buffers> b) const;

  Net net_;
  Parameterization parameterization_;
  double sigma_data_, input_gain_;
  RowVector data_mean_;
  Sde sde_;
  mutable std::mutex mutex_;
  mutable std::vector<std::unique_ptr<Buffers>> pool_;
};

}  // namespace sde

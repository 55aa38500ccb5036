// Trained score models: the model file and the ScoreModel adapter.
//
// Model file: one JSON document, readable with json.load + numpy:
//   {"format": "sde-tools-model", "version": 1,
//    "sde": {...SDE spec...},
//    "parameterization": "noise" | "scaled",   see below
//    "sigma_data": number              (scaled only)
//    "data_mean": [d numbers]          the training data's mean (optional;
//                                      centres the prior, see Prior)
//    "architecture": {"dim", "hidden", "activation", "embedding",
//                     "frequencies", "fourier_scale", "sinusoidal_positions", "residual"},
//    "training": {settings, "step", "final_loss", "data": {"rows", "hash"}},
//    "time_frequencies": [...],
//    "weights": [{"weight": [[out x in]], "bias": [out]}, ...]     raw parameters
//    "ema": {"decay", "updates", "weights": [...same layout...]}  or null
//    "optimizer": {"steps", "m": [...], "v": [...]}   flat, parameter order}
// Numbers are float32 values written with the fewest digits that read back to
// the same float, so a checkpoint resumes training bit for bit.
//
// Parameterizations (all predict the noise; the score is -eps_hat / s(t)):
//   noise   eps_hat = net(x, t)                 the paper's code and the peer's
//   scaled  eps_hat = net(x / r(t), t),  r(t) = sqrt(m(t)^2 sigma_data^2 + s(t)^2)
// r(t) is the RMS of x(t) for data of RMS sigma_data (EDM's c_in), so the
// scaled network sees its input at unit scale at every t. This matters for
// VE, where x(t) reaches +-3 sigma_max = +-150: a sampler integrates the
// noise estimate against d sigma, so an error delta in eps_hat at noise level
// sigma moves a sample by about 2 delta sigma, and a network fed raw inputs of
// +-150 cannot hold eps_hat to the ~1e-3 that sigma = 50 needs; the samples
// then pick their modes with the wrong weights (the peer's VE collapse).
// "scaled" is the default for VE; VP and sub-VP keep the reference "noise".
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

enum class Parameterization { noise, scaled };
std::string to_string(Parameterization p);
Parameterization parse_parameterization(const std::string& name);  // throws sde::Error
// "scaled" for VE, the reference "noise" for VP and sub-VP (see above).
Parameterization default_parameterization(const Sde& sde);
// The factor the network's input x(t) is multiplied by at time t: 1 / r(t), or 1.
double input_scale(Parameterization p, double sigma_data, const Sde& sde, double t);

struct OptimizerState {
  std::int64_t steps = 0;
  std::vector<float> m, v;
};

struct EmaState {
  double decay = 0;
  std::int64_t updates = 0;
  std::vector<float> values;
};

struct Model {
  Sde sde;
  Net net;                              // raw (last-step) parameters
  Parameterization parameterization = Parameterization::noise;
  double sigma_data = 1;                // data scale of the scaled parameterization
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

// The score of a trained network: -net(x, t) / s(t), in fp32, using the EMA
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
  // Forward mode through the network: J_score v = -c(t) (d net/du) v / s(t),
  // u = c(t) x the network's input (c = 1 for the noise parameterization).
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
  // Loads the network's inputs into b: x times each row's input scale, and t.
  void load(Buffers& b, const Matrix& x, const Vector& t) const;
  std::unique_ptr<Buffers> acquire() const;
  void release(std::unique_ptr<Buffers> b) const;

  Net net_;
  Parameterization parameterization_;
  double sigma_data_;
  RowVector data_mean_;
  Sde sde_;
  mutable std::mutex mutex_;
  mutable std::vector<std::unique_ptr<Buffers>> pool_;
};

}  // namespace sde

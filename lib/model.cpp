#include "model.hpp"

#include <fmt/format.h>

#include <cmath>

#include "enum_names.hpp"
#include "error.hpp"
#include "io.hpp"
#include "json_fields.hpp"

namespace sde {

namespace {

constexpr const char* kFormat = "sde-tools-model";
constexpr int kVersion = 1;

Json float_list(std::span<const float> v) {
  Json out = Json::array();
  for (float f : v) out.push_back(json::short_float(f));
  return out;
}

// Parameters in the layer layout: [{"weight": [[...]], "bias": [...]}, ...].
Json layer_list(const Net& net, std::span<const float> params) {
  Json layers = Json::array();
  for (const Net::Layer& l : net.layers()) {
    Json weight = Json::array();
    for (int r = 0; r < l.out; ++r)
      weight.push_back(float_list(params.subspan(l.weight + static_cast<std::size_t>(r * l.in),
                                                 static_cast<std::size_t>(l.in))));
    layers.push_back({{"weight", weight},
                      {"bias", float_list(params.subspan(l.bias, static_cast<std::size_t>(l.out)))}});
  }
  return layers;
}

std::vector<float> read_layers(const Json& j, const Net& net, const std::string& name) {
  const auto& layers = net.layers();
  if (json::array(j, name).size() != layers.size())
    throw Error(fmt::format("{}: expected {} layers for this architecture, got {}", name,
                            layers.size(), j.size()));
  std::vector<float> params(net.num_params());
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const Net::Layer& l = layers[i];
    const std::string at = fmt::format("{}[{}]", name, i);
    json::reject_unknown_fields(j[i], {"weight", "bias"}, at);
    const Json& weight = json::field(j[i], "weight", at);
    if (json::array(weight, at + ".weight").size() != static_cast<std::size_t>(l.out))
      throw Error(fmt::format("{}.weight: expected {} rows, got {}", at, l.out, weight.size()));
    for (int r = 0; r < l.out; ++r) {
      const std::vector<float> row = json::floats(weight[static_cast<std::size_t>(r)],
                                                  fmt::format("{}.weight[{}]", at, r),
                                                  static_cast<std::size_t>(l.in));
      std::copy(row.begin(), row.end(), params.begin() + static_cast<long>(l.weight) + r * l.in);
    }
    const std::vector<float> bias =
        json::floats(json::field(j[i], "bias", at), at + ".bias", static_cast<std::size_t>(l.out));
    std::copy(bias.begin(), bias.end(), params.begin() + static_cast<long>(l.bias));
  }
  return params;
}

Json architecture_json(const NetConfig& c) {
  return {{"dim", c.dim},
          {"hidden", c.hidden},
          {"activation", to_string(c.activation)},
          {"embedding", to_string(c.embedding)},
          {"frequencies", c.frequencies},
          {"fourier_scale", c.fourier_scale},
          {"sinusoidal_positions", c.sinusoidal_positions},
          {"residual", c.residual}};
}

NetConfig architecture_from_json(const Json& j) {
  const std::string what = "architecture";
  json::reject_unknown_fields(j, {"dim", "hidden", "activation", "embedding", "frequencies",
                                  "fourier_scale", "sinusoidal_positions", "residual"},
                              what);
  NetConfig c;
  c.dim = json::small_integer(json::field(j, "dim", what), "architecture.dim");
  c.hidden.clear();
  const Json& hidden = json::array(json::field(j, "hidden", what), "architecture.hidden");
  for (std::size_t l = 0; l < hidden.size(); ++l)
    c.hidden.push_back(json::small_integer(hidden[l], fmt::format("architecture.hidden[{}]", l)));
  c.activation = parse_activation(json::string(json::field(j, "activation", what), "architecture.activation"));
  c.embedding = parse_time_embedding(json::string(json::field(j, "embedding", what), "architecture.embedding"));
  c.frequencies = json::small_integer(json::field(j, "frequencies", what), "architecture.frequencies");
  c.fourier_scale = json::number(json::field(j, "fourier_scale", what), "architecture.fourier_scale");
  c.sinusoidal_positions =
      json::number(json::field(j, "sinusoidal_positions", what), "architecture.sinusoidal_positions");
  const Json& residual = json::field(j, "residual", what);
  if (!residual.is_boolean()) throw Error("architecture.residual: expected true or false");
  c.residual = residual.get<bool>();
  c.validate();
  return c;
}

}  // namespace

namespace {
constexpr std::pair<Parameterization, const char*> kParameterizations[] = {
    {Parameterization::noise, "noise"}, {Parameterization::scaled, "scaled"}, {Parameterization::edm, "edm"}};
}  // namespace

std::string to_string(Parameterization p) { return name_of(kParameterizations, p); }
Parameterization parse_parameterization(const std::string& name) {
  return parse_name(kParameterizations, name, "parameterization");
}

Parameterization reference_parameterization(const Sde& sde) {
  return sde.kind == SdeKind::ve ? Parameterization::scaled : Parameterization::noise;
}

double default_input_gain(const NetConfig& net) { return 2 * std::sqrt(double(net.frequencies) / net.dim); }

ScoreCoefficients score_coefficients(Parameterization p, double sigma_data, double input_gain, const Sde& sde,
                                     double t) {
  const double m = sde.mean_coeff(t), s = sde.std(t);
  switch (p) {
    case Parameterization::noise: return {1.0, t, 0.0, -1.0 / s, 0.0};
    case Parameterization::scaled:
      return {1.0 / std::sqrt(m * m * sigma_data * sigma_data + s * s), t, 0.0, -1.0 / s, 0.0};
    case Parameterization::edm: {
      // In x~ = x/m at sigma = s/m: D = mu + c_skip (x~ - mu) + c_out F, and
      // score = (m D - x)/s^2 = (c_skip - 1)(x - m mu)/s^2 + m c_out F / s^2,
      // where (c_skip - 1)/s^2 = -1/(m^2 (sigma^2 + sigma_d^2)) = -1/(s^2 + m^2 sigma_d^2)
      // and m c_out/s^2 = m sigma_d / (s sqrt(s^2 + m^2 sigma_d^2)), written without
      // dividing by s^2 so that nothing cancels at small s.
      const double sd = sigma_data, total = std::sqrt(s * s + m * m * sd * sd);
      return {input_gain / total, std::log(s / m) / 4, -1.0 / (total * total), m * sd / (s * total), m};
    }
  }
  return {};
}

Json model_to_json(const Model& model) {
  Json j = {{"format", kFormat},
            {"version", kVersion},
            {"sde", sde_to_json(model.sde)},
            {"parameterization", to_string(model.parameterization)},
            {"architecture", architecture_json(model.net.config())},
            {"training", model.training},
            {"time_frequencies", float_list(model.net.frequencies())},
            {"weights", layer_list(model.net, model.net.params())}};
  if (model.parameterization != Parameterization::noise) j["sigma_data"] = model.sigma_data;
  if (model.parameterization == Parameterization::edm) j["input_gain"] = model.input_gain;
  if (model.data_mean.size() > 0)
    j["data_mean"] = std::vector<double>(model.data_mean.data(), model.data_mean.data() + model.data_mean.size());
  j["ema"] = model.ema ? Json{{"decay", model.ema->decay},
                              {"updates", model.ema->updates},
                              {"weights", layer_list(model.net, model.ema->values)}}
                       : Json(nullptr);
  if (model.ema && model.ema->length > 0) j["ema"]["length"] = model.ema->length;
  j["optimizer"] = model.optimizer ? Json{{"steps", model.optimizer->steps},
                                          {"m", float_list(model.optimizer->m)},
                                          {"v", float_list(model.optimizer->v)}}
                                   : Json(nullptr);
  return j;
}

Model model_from_json(const Json& j) {
  const std::string what = "model file";
  json::reject_unknown_fields(j, {"format", "version", "sde", "parameterization", "sigma_data", "input_gain", "data_mean",
                                  "architecture", "training", "time_frequencies", "weights", "ema",
                                  "optimizer"},
                              what);
  // (j.value("format", "") would throw nlohmann's type_error for a non-string.)
  if (!j.is_object() || !j.contains("format") || j["format"] != kFormat)
    throw Error(fmt::format("not an sde-tools model (expected \"format\": \"{}\")", kFormat));
  const std::int64_t version = json::integer(json::field(j, "version", what), "version");
  if (version != kVersion)
    throw Error(fmt::format("model format version {} is not supported (this build reads {})",
                            version, kVersion));
  Model model(Net(architecture_from_json(json::field(j, "architecture", what))));
  const std::string parameterization =
      json::string(json::field(j, "parameterization", what), "parameterization");
  try {
    model.parameterization = parse_parameterization(parameterization);
  } catch (const Error& e) {
    throw Error("parameterization: " + std::string(e.what()));
  }
  if (model.parameterization != Parameterization::noise) {
    model.sigma_data = json::number(json::field(j, "sigma_data", what), "sigma_data");
    if (!(model.sigma_data > 0) || !std::isfinite(model.sigma_data))
      throw Error(fmt::format("sigma_data: must be positive, got {}", model.sigma_data));
  } else if (j.contains("sigma_data")) {
    throw Error("sigma_data: the noise parameterization has none");
  }
  if (model.parameterization == Parameterization::edm) {
    model.input_gain = json::number(json::field(j, "input_gain", what), "input_gain");
    if (!(model.input_gain > 0) || !std::isfinite(model.input_gain))
      throw Error(fmt::format("input_gain: must be positive, got {}", model.input_gain));
  } else if (j.contains("input_gain")) {
    throw Error("input_gain: only the edm parameterization has one");
  }
  if (j.contains("data_mean")) {
    const std::vector<double> mean =
        json::numbers(json::field(j, "data_mean", what), "data_mean", static_cast<std::size_t>(model.net.config().dim));
    model.data_mean = Eigen::Map<const RowVector>(mean.data(), static_cast<Eigen::Index>(mean.size()));
    if (!model.data_mean.allFinite()) throw Error("data_mean: must be finite");
  }
  try {
    model.sde = sde_from_json(json::field(j, "sde", what));
  } catch (const Error& e) {
    throw Error("sde: " + std::string(e.what()));
  }
  const std::vector<float> freqs =
      json::floats(json::field(j, "time_frequencies", what), "time_frequencies",
                   static_cast<std::size_t>(model.net.config().frequencies));
  std::copy(freqs.begin(), freqs.end(), model.net.frequencies().begin());
  const std::vector<float> params = read_layers(json::field(j, "weights", what), model.net, "weights");
  std::copy(params.begin(), params.end(), model.net.params().begin());
  model.training = json::field(j, "training", what);

  if (const Json& e = json::field(j, "ema", what); !e.is_null()) {
    json::reject_unknown_fields(e, {"decay", "length", "updates", "weights"}, "ema");
    model.ema = EmaState{json::number(json::field(e, "decay", "ema"), "ema.decay"),
                         e.contains("length") ? json::number(e["length"], "ema.length") : 0.0,
                         json::integer(json::field(e, "updates", "ema"), "ema.updates"),
                         read_layers(json::field(e, "weights", "ema"), model.net, "ema.weights")};
  }
  if (const Json& o = json::field(j, "optimizer", what); !o.is_null()) {
    json::reject_unknown_fields(o, {"steps", "m", "v"}, "optimizer");
    const std::size_t n = model.net.num_params();
    model.optimizer = OptimizerState{json::integer(json::field(o, "steps", "optimizer"), "optimizer.steps"),
                                     json::floats(json::field(o, "m", "optimizer"), "optimizer.m", n),
                                     json::floats(json::field(o, "v", "optimizer"), "optimizer.v", n)};
  }
  return model;
}

Model read_model(const std::string& path) {
  try {
    return model_from_json(parse_json(read_text_file(path)));
  } catch (const Error& e) {
    throw e.with_file(input_name(path));
  }
}

void write_model(const std::string& path, const Model& model) {
  try {
    OutputFile file(path, /*binary=*/false);
    file.stream() << model_to_json(model).dump() << "\n";
    file.commit();
  } catch (const Error& e) {
    throw e.with_file(path);
  }
}

// ---------------------------------------------------------------- NetScore

struct NetScore::Buffers {
  NetWorkspace workspace;
  Net::Matrix x, out, v, jv;
  Net::Vector t, div;
  Matrix centred;           // x - centre mu, per row
  Vector scale, skip, out_scale;  // per row: ScoreCoefficients in, skip, out
  // net_ never changes after construction: its weights are packed once.
  explicit Buffers(const Net& net) : workspace(net, kChunkRows) { net.pin_weights(workspace); }
};

NetScore::NetScore(const Model& model, bool use_ema)
    : net_(model.net), parameterization_(model.parameterization), sigma_data_(model.sigma_data),
      input_gain_(model.input_gain),
      data_mean_(model.data_mean.size() > 0 ? model.data_mean : RowVector::Zero(model.net.config().dim)),
      sde_(model.sde) {
  if (use_ema && model.ema) std::copy(model.ema->values.begin(), model.ema->values.end(), net_.params().begin());
}

NetScore::~NetScore() = default;

RowVector NetScore::data_mean() const { return data_mean_; }

std::unique_ptr<NetScore::Buffers> NetScore::acquire() const {
  {
    std::lock_guard lock(mutex_);
    if (!pool_.empty()) {
      auto b = std::move(pool_.back());
      pool_.pop_back();
      return b;
    }
  }
  return std::make_unique<Buffers>(net_);
}

void NetScore::release(std::unique_ptr<Buffers> b) const {
  std::lock_guard lock(mutex_);
  pool_.push_back(std::move(b));
}

void NetScore::load(Buffers& b, const Matrix& x, const Vector& t) const {
  // Times come in runs of equal values (solver stages share them), so the
  // coefficients are recomputed only when t changes.
  const Eigen::Index n = t.size();
  b.scale.resize(n);
  b.skip.resize(n);
  b.out_scale.resize(n);
  b.t.resize(n);
  b.centred.resize(x.rows(), x.cols());
  ScoreCoefficients c{};
  for (Eigen::Index i = 0; i < n; ++i) {
    if (i == 0 || t(i) != t(i - 1)) c = score_coefficients(parameterization_, sigma_data_, input_gain_, sde_, t(i));
    b.scale(i) = c.in;
    b.skip(i) = c.skip;
    b.out_scale(i) = c.out;
    b.t(i) = static_cast<float>(c.time);
    b.centred.row(i) = x.row(i) - c.centre * data_mean_;
  }
  b.x = (b.scale.asDiagonal() * b.centred).cast<float>();
  b.out.resize(x.rows(), x.cols());
}

// score = skip (x - centre mu) + out F, row by row.
void NetScore::finish(const Buffers& b, Matrix& score_out) const {
  score_out = b.skip.asDiagonal() * b.centred + b.out_scale.asDiagonal() * b.out.cast<double>();
}

void NetScore::score(const Matrix& x, const Vector& t, Matrix& out) const {
  std::unique_ptr<Buffers> b = acquire();
  load(*b, x, t);
  net_.evaluate(b->x, b->t, b->out, b->workspace);
  finish(*b, out);
  release(std::move(b));
}

void NetScore::score_at_time(const Matrix& x, double t, Matrix& out) const {
  std::unique_ptr<Buffers> b = acquire();
  const ScoreCoefficients c = score_coefficients(parameterization_, sigma_data_, input_gain_, sde_, t);
  b->centred = x.rowwise() - c.centre * data_mean_;
  b->x = (c.in * b->centred).cast<float>();
  b->out.resize(x.rows(), x.cols());
  net_.evaluate(b->x, static_cast<float>(c.time), b->out, b->workspace);
  out = c.skip * b->centred + c.out * b->out.cast<double>();
  release(std::move(b));
}

// The network's derivatives are taken in its own input u = in (x - centre mu),
// so J_score v = skip v + out in J_F v.
void NetScore::score_jvp(const Matrix& x, const Vector& t, const Matrix& v, Matrix& score_out,
                         Matrix& jv) const {
  std::unique_ptr<Buffers> b = acquire();
  load(*b, x, t);
  b->v = v.cast<float>();
  b->jv.resize(x.rows(), x.cols());
  net_.jvp(b->x, b->t, b->v, b->out, b->jv, b->workspace);
  finish(*b, score_out);
  jv = b->skip.asDiagonal() * v + (b->out_scale.cwiseProduct(b->scale)).asDiagonal() * b->jv.cast<double>();
  release(std::move(b));
}

void NetScore::score_divergence(const Matrix& x, const Vector& t, Matrix& score_out,
                                Vector& divergence) const {
  std::unique_ptr<Buffers> b = acquire();
  load(*b, x, t);
  b->div.resize(x.rows());
  net_.divergence(b->x, b->t, b->out, b->div, b->workspace);
  finish(*b, score_out);
  divergence = double(x.cols()) * b->skip +
               b->out_scale.cwiseProduct(b->scale).cwiseProduct(b->div.cast<double>());
  release(std::move(b));
}

}  // namespace sde

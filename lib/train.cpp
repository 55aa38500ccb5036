#include "train.hpp"

#include <fmt/format.h>

#include <cmath>
#include <algorithm>
#include <cstring>

#include "enum_names.hpp"
#include "error.hpp"
#include "json_fields.hpp"
#include "parallel.hpp"
#include "rng.hpp"

namespace sde {

namespace {
constexpr std::pair<Loss, const char*> kLosses[] = {
    {Loss::dsm, "dsm"}, {Loss::smld, "smld"}, {Loss::ddpm, "ddpm"}, {Loss::ssm, "ssm"}, {Loss::oracle, "oracle"},
    {Loss::stf, "stf"}};
constexpr std::pair<Weighting, const char*> kWeightings[] = {
    {Weighting::sigma2, "sigma2"}, {Weighting::likelihood, "likelihood"}, {Weighting::unit, "unit"}};
constexpr std::pair<Projection, const char*> kProjections[] = {
    {Projection::gaussian, "gaussian"}, {Projection::rademacher, "rademacher"}};
constexpr std::pair<TimeSampling, const char*> kTimeSamplings[] = {
    {TimeSampling::uniform, "uniform"}, {TimeSampling::lognormal, "lognormal"},
    {TimeSampling::importance, "importance"}};

}  // namespace

Loss parse_loss(const std::string& s) { return parse_name(kLosses, s, "loss"); }
Weighting parse_weighting(const std::string& s) { return parse_name(kWeightings, s, "weighting"); }
Projection parse_projection(const std::string& s) { return parse_name(kProjections, s, "projection"); }
TimeSampling parse_time_sampling(const std::string& s) { return parse_name(kTimeSamplings, s, "time sampling"); }
std::string to_string(Loss l) { return name_of(kLosses, l); }
std::string to_string(Weighting w) { return name_of(kWeightings, w); }
std::string to_string(Projection p) { return name_of(kProjections, p); }
std::string to_string(TimeSampling s) { return name_of(kTimeSamplings, s); }

namespace {
constexpr std::pair<Recipe, const char*> kRecipes[] = {{Recipe::standard, "standard"},
                                                       {Recipe::reference, "reference"}};
}  // namespace
Recipe parse_recipe(const std::string& s) { return parse_name(kRecipes, s, "recipe"); }
std::string to_string(Recipe r) { return name_of(kRecipes, r); }

TrainRecipe train_recipe(Recipe r, const Sde& sde, std::int64_t steps) {
  TrainRecipe recipe{TrainOptions{}, reference_parameterization(sde), NetConfig{}, steps > 0 ? steps : 10000};
  if (r == Recipe::reference) return recipe;
  TrainOptions& o = recipe.options;
  recipe.parameterization = Parameterization::edm;
  o.loss = Loss::stf;
  o.weighting = Weighting::likelihood;
  o.time_sampling = TimeSampling::importance;
  o.adam.schedule = LrSchedule::cosine;
  o.adam.lr = 2e-3;
  o.ema = EmaConfig{0, 0.1};
  recipe.steps = steps > 0 ? steps : 20000;
  o.adam.warmup = std::min<std::int64_t>(500, recipe.steps / 10);
  o.adam.horizon = recipe.steps;
  return recipe;
}

void TrainOptions::validate(const Sde& sde) const {
  if (loss == Loss::smld && sde.kind != SdeKind::ve) throw Error("the smld loss needs the VE SDE");
  if (loss == Loss::ddpm && sde.kind != SdeKind::vp) throw Error("the ddpm loss needs the VP SDE");
  if ((loss == Loss::smld || loss == Loss::ddpm) && time_sampling != TimeSampling::uniform)
    throw Error("the smld and ddpm losses draw their own noise levels");
  if (batch < 1) throw Error("the batch size must be positive");
  if (noise_levels < 2) throw Error("the number of noise levels must be at least 2");
  if (!(eps > 0 && eps < sde.T)) throw Error(fmt::format("the smallest time must be in (0, {})", sde.T));
  if (!(lognormal_std > 0) || !std::isfinite(lognormal_mean))
    throw Error("the lognormal time sampling needs a finite mean and a positive std");
  ema.validate();
  adam.validate();
}

Json train_options_to_json(const TrainOptions& o) {
  return {{"loss", to_string(o.loss)},
          {"weighting", to_string(o.weighting)},
          {"projection", to_string(o.projection)},
          {"time_sampling", to_string(o.time_sampling)},
          {"lognormal", {o.lognormal_mean, o.lognormal_std}},
          {"levels", o.noise_levels},
          {"batch", o.batch},
          {"lr", o.adam.lr},
          {"lr_schedule", to_string(o.adam.schedule)},
          {"horizon", o.adam.horizon},
          {"warmup", o.adam.warmup},
          {"clip", o.adam.grad_clip},
          {"ema", o.ema.decay},
          {"ema_length", o.ema.length},
          {"eps", o.eps},
          {"seed", o.seed}};
}

TrainOptions train_options_from_json(const Json& j) {
  const std::string what = "training.settings";
  json::reject_unknown_fields(j, {"loss", "weighting", "projection", "time_sampling", "lognormal", "levels",
                                  "batch", "lr", "lr_schedule", "horizon", "warmup", "clip", "ema",
                                  "ema_length", "eps", "seed"},
                              what);
  auto get = [&](const char* key) -> const Json& { return json::field(j, key, what); };
  auto name = [&](const char* key) { return what + "." + key; };
  // Fields added after the first model files: absent reads as the old behaviour.
  auto optional = [&](const char* key, const Json& fallback) { return j.contains(key) ? get(key) : fallback; };
  TrainOptions o;
  try {
    o.loss = parse_loss(json::string(get("loss"), name("loss")));
    o.weighting = parse_weighting(json::string(get("weighting"), name("weighting")));
    o.projection = parse_projection(json::string(get("projection"), name("projection")));
    o.time_sampling = parse_time_sampling(json::string(optional("time_sampling", "uniform"), name("time_sampling")));
    o.adam.schedule = parse_lr_schedule(json::string(optional("lr_schedule", "constant"), name("lr_schedule")));
  } catch (const Error& e) {
    throw Error(what + ": " + e.what());
  }
  const std::vector<double> lognormal =
      json::numbers(optional("lognormal", Json{o.lognormal_mean, o.lognormal_std}), name("lognormal"), 2);
  o.lognormal_mean = lognormal[0];
  o.lognormal_std = lognormal[1];
  o.noise_levels = json::small_integer(get("levels"), name("levels"));
  o.batch = json::small_integer(get("batch"), name("batch"));
  o.adam.lr = json::number(get("lr"), name("lr"));
  o.adam.horizon = json::integer(optional("horizon", 0), name("horizon"));
  o.adam.warmup = json::integer(get("warmup"), name("warmup"));
  o.adam.grad_clip = json::number(get("clip"), name("clip"));
  o.ema.decay = json::number(get("ema"), name("ema"));
  o.ema.length = json::number(optional("ema_length", 0.0), name("ema_length"));
  o.eps = json::number(get("eps"), name("eps"));
  if (!get("seed").is_number_unsigned()) throw Error(name("seed") + ": expected an unsigned integer");
  o.seed = get("seed").get<std::uint64_t>();
  return o;
}

std::uint64_t data_fingerprint(const Matrix& data) {
  std::uint64_t h = 1469598103934665603ull;
  const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
  for (std::size_t i = 0; i < static_cast<std::size_t>(data.size()) * sizeof(double); ++i) {
    h ^= bytes[i];
    h *= 1099511628211ull;
  }
  return h ^ static_cast<std::uint64_t>(data.cols());
}

TimeSampler::TimeSampler(const TrainOptions& options, const Sde& sde) : opt_(options), sde_(sde) {
  if (opt_.time_sampling != TimeSampling::importance) return;
  // The CDF of q(t) ~ g^2/s^2 tabulated over u = ln t (q ~ 1/t near 0, smooth in ln t).
  const double lo = std::log(opt_.eps), hi = std::log(sde.T);
  auto density_in_u = [&](double u) {  // q(t) dt/du, unnormalised
    const double t = std::exp(u), g = sde.diffusion(t), s = sde.std(t);
    return g * g / (s * s) * t;
  };
  u_.resize(kPoints);
  cdf_.assign(kPoints, 0.0);
  for (int i = 0; i < kPoints; ++i) u_[i] = lo + (hi - lo) * i / (kPoints - 1);
  for (int i = 1; i < kPoints; ++i)
    cdf_[i] = cdf_[i - 1] + 0.5 * (u_[i] - u_[i - 1]) * (density_in_u(u_[i - 1]) + density_in_u(u_[i]));
}

double TimeSampler::draw(Stream& stream, double& weight) const {
  weight = 1;
  switch (opt_.loss) {
    case Loss::smld: {
      // Noise level sigma_j = sigma_max (sigma_min/sigma_max)^(j/(N-1)),
      // at the VE time whose kernel std is sigma_j.
      const double log_ratio = std::log(sde_.sigma_max / sde_.sigma_min);
      const auto j = stream.below(static_cast<std::uint32_t>(opt_.noise_levels));
      return sde_.time_of_std(sde_.sigma_max * std::exp(-log_ratio * j / (opt_.noise_levels - 1)));
    }
    case Loss::ddpm:
      return double(stream.below(static_cast<std::uint32_t>(opt_.noise_levels)) + 1) / opt_.noise_levels;
    default: break;
  }
  switch (opt_.time_sampling) {
    case TimeSampling::uniform: return opt_.eps + (sde_.T - opt_.eps) * stream.uniform();
    case TimeSampling::lognormal: {
      // ln sigma = -lambda(t), so the time comes from lambda's inverse.
      const double log_sigma = opt_.lognormal_mean + opt_.lognormal_std * stream.normal();
      const double lambda = std::clamp(-log_sigma, sde_.lambda(sde_.T), sde_.lambda(opt_.eps));
      return std::clamp(sde_.time_of_lambda(lambda), opt_.eps, sde_.T);
    }
    case TimeSampling::importance: {
      // The quantile by linear interpolation of the tabulated CDF, and the
      // weight (1/(T - eps)) / q(t) that keeps the objective uniform's.
      const double target = stream.uniform() * cdf_.back();
      const auto it = std::upper_bound(cdf_.begin(), cdf_.end(), target);
      const auto i = static_cast<std::size_t>(std::clamp<std::ptrdiff_t>(it - cdf_.begin(), 1, kPoints - 1));
      const double f = (target - cdf_[i - 1]) / (cdf_[i] - cdf_[i - 1]);
      const double t = std::exp(u_[i - 1] + f * (u_[i] - u_[i - 1]));
      const double g = sde_.diffusion(t), s = sde_.std(t);
      weight = cdf_.back() / ((sde_.T - opt_.eps) * g * g / (s * s));
      return t;
    }
  }
  return sde_.T;
}

struct Trainer::Impl {
  Net& net;
  const Matrix& data;
  TrainOptions opt;
  Sde sde;
  Parameterization parameterization;
  double sigma_data, input_gain;
  RowVector mean;  // the data mean the edm parameterization centres on
  const GaussianMixture* truth;
  TimeSampler times;
  Adam adam;
  std::optional<Ema> ema;
  NetWorkspace ws;
  // Per-step buffers, sized once.
  Net::Matrix x, target, v, out, jv, dout, a, b;
  Net::Vector t;
  Matrix x0, xt, exact;  // clean rows, x(t) and the score's target
  Vector m_row, s_row;   // per row: m(t) and s(t)
  Matrix centred;    // x(t) - centre mu, in double (SSM's score needs it)
  Vector weight;   // lambda(t) out(t)^2: the weight of |F - target|^2
  Vector lambda, scale, skip, out_scale;  // per row: lambda(t) and ScoreCoefficients
  struct StfChunk {  // stf's buffers for one chunk of rows
    Matrix weights;   // kChunkRows x batch posterior weights
    Matrix average;   // kChunkRows x d: their weighted clean rows
    Vector sums;      // kChunkRows: the weights' sums
  };
  std::vector<StfChunk> stf_chunks;
  RowVector x0_norms;  // stf: |x0_j|^2
  FloatBuffer grad;

  Impl(Model& model, const Matrix& d, const TrainOptions& o, const GaussianMixture* oracle)
      : net(model.net), data(d), opt(o), sde(model.sde), parameterization(model.parameterization),
        sigma_data(model.sigma_data), input_gain(model.input_gain),
        mean(model.data_mean.size() > 0 ? model.data_mean : RowVector::Zero(model.net.config().dim)),
        truth(oracle), times(o, model.sde), adam(model.net.num_params(), o.adam), ws(model.net, o.batch, o.threads) {
    const int B = o.batch, dim = net.config().dim;
    for (Net::Matrix* m : {&x, &target, &v, &out, &jv, &dout, &a, &b}) m->resize(B, dim);
    for (Matrix* m : {&x0, &xt, &exact, &centred}) m->resize(B, dim);
    m_row.resize(B);
    s_row.resize(B);
    if (o.loss == Loss::stf)
      stf_chunks.assign(static_cast<std::size_t>((B + kChunkRows - 1) / kChunkRows),
                        StfChunk{Matrix(kChunkRows, B), Matrix(kChunkRows, dim), Vector(kChunkRows)});
    t.resize(B);
    for (Vector* vec : {&weight, &lambda, &scale, &skip, &out_scale}) vec->resize(B);
    grad.resize(net.num_params());
    if (model.optimizer) {
      adam.restore(model.optimizer->steps, model.optimizer->m, model.optimizer->v);
    }
    if (o.ema.enabled()) {
      ema.emplace(net.params(), o.ema);
      if (model.ema && model.optimizer) ema->restore(model.ema->updates, model.ema->values);
    }
  }

  // Draws step k's minibatch: x(t) = m x0 + s z at per-row times. Rows are
  // independent (keyed by row and step), so they are drawn in parallel.
  void draw(std::int64_t k, const Matrix& rows, bool fixed_rows = false) {
    parallel_for(static_cast<std::size_t>(opt.batch), kChunkRows, opt.threads,
                 [&](std::size_t begin, std::size_t end) {
                   for (std::size_t i = begin; i < end; ++i) draw_row(k, rows, static_cast<int>(i), fixed_rows);
                 });
    if (opt.loss != Loss::stf) return;
    x0_norms = x0.rowwise().squaredNorm().transpose();
    parallel_for(static_cast<std::size_t>(opt.batch), kChunkRows, opt.threads,
                 [&](std::size_t begin, std::size_t end) {
                   stable_targets(static_cast<Eigen::Index>(begin), static_cast<Eigen::Index>(end));
                 });
  }

  // The stable target field of rows [begin, end): the score target
  // -(x - m x0)/s^2 averaged over the batch's clean rows x0_j, weighted by
  // the posterior p(x0_j | x(t)) ~ N(x(t); m x0_j, s^2 I) (the row's own x0
  // among them). Squared distances by one product per chunk (in double:
  // |x|^2 - 2 m x.x0 + m^2 |x0|^2 loses ~1e-15 of |x|^2, far below s^2).
  void stable_targets(Eigen::Index begin, Eigen::Index end) {
    const Eigen::Index n = end - begin;
    StfChunk& chunk = stf_chunks[static_cast<std::size_t>(begin / kChunkRows)];
    auto weights = chunk.weights.topRows(n);
    weights.noalias() = xt.middleRows(begin, n) * x0.transpose();
    for (Eigen::Index r = 0; r < n; ++r) {
      const Eigen::Index i = begin + r;
      const double m = m_row(i), s2 = s_row(i) * s_row(i);
      auto row = weights.row(r).array();
      row = -(xt.row(i).squaredNorm() - 2 * m * row + m * m * x0_norms.array()) / (2 * s2);
      row = (row - row.maxCoeff()).exp();
      chunk.sums(r) = row.sum();
    }
    auto average = chunk.average.topRows(n);
    average.noalias() = weights * x0;
    for (Eigen::Index r = 0; r < n; ++r) {
      const Eigen::Index i = begin + r;
      exact.row(i) = -(xt.row(i) - (m_row(i) / chunk.sums(r)) * average.row(r)) / (s_row(i) * s_row(i));
      set_target(i);
    }
  }

  // The network's target F from the score's target in exact's row i:
  // score = skip (x - centre mu) + out F.
  void set_target(int i) {
    for (Eigen::Index j = 0; j < exact.cols(); ++j)
      target(i, j) = static_cast<float>((exact(i, j) - skip(i) * centred(i, j)) / out_scale(i));
  }

  // Row i of step k: its data row, time and noise. With fixed_rows, row i
  // of rows is used itself (validation), at times and noise of step k.
  void draw_row(std::int64_t k, const Matrix& rows, int i, bool fixed_rows) {
    const auto step = static_cast<std::uint64_t>(k);
    const int dim = net.config().dim;
    const auto row = static_cast<std::uint64_t>(i);
    const auto index =
        fixed_rows ? static_cast<Eigen::Index>(i)
                   : static_cast<Eigen::Index>(
                         Stream(opt.seed, Purpose::batch, row, step).below(static_cast<std::uint32_t>(rows.rows())));
    Stream time_stream(opt.seed, Purpose::time, row, step);
    double time_weight;
    const double ti = times.draw(time_stream, time_weight);
    const double m = sde.mean_coeff(ti), si = sde.std(ti);
    const ScoreCoefficients c = score_coefficients(parameterization, sigma_data, input_gain, sde, ti);
    Stream noise_stream(opt.seed, Purpose::noise, row, step);
    // The score's target: -z/s (DSM), the exact score (oracle); stf's comes
    // once the whole batch is drawn.
    double noise[64];
    for (int c0 = 0; c0 < dim; c0 += 64) {
      const int n = std::min(64, dim - c0);
      noise_stream.normals(noise, n);
      for (int j = 0; j < n; ++j) {
        x0(i, c0 + j) = rows(index, c0 + j);
        xt(i, c0 + j) = m * x0(i, c0 + j) + si * noise[j];
        exact(i, c0 + j) = -noise[j] / si;
      }
    }
    if (opt.loss == Loss::oracle) truth->score(&xt(i, 0), &exact(i, 0), m, si);
    m_row(i) = m;
    s_row(i) = si;
    t(i) = static_cast<float>(c.time);
    scale(i) = c.in;
    skip(i) = c.skip;
    out_scale(i) = c.out;
    for (int j = 0; j < dim; ++j) {
      centred(i, j) = xt(i, j) - c.centre * mean(j);
      x(i, j) = static_cast<float>(c.in * centred(i, j));
    }
    set_target(i);
    const double g = sde.diffusion(ti);
    switch (opt.weighting) {
      case Weighting::sigma2: lambda(i) = si * si; break;
      case Weighting::likelihood: lambda(i) = g * g; break;
      case Weighting::unit: lambda(i) = 1 / (c.out * c.out); break;
    }
    lambda(i) *= time_weight;
    weight(i) = lambda(i) * c.out * c.out;
    if (opt.loss == Loss::ssm) {
      Stream proj(opt.seed, Purpose::projection, row, step);
      for (int j = 0; j < dim; ++j)
        v(i, j) = static_cast<float>(opt.projection == Projection::gaussian
                                         ? proj.normal()
                                         : (proj.next_u32() & 1u ? 1.0 : -1.0));
    }
  }

  // Loss of the drawn batch; fills the gradient unless only the value is wanted.
  double loss_and_gradient(bool gradient = true) {
    const int B = opt.batch, dim = net.config().dim;
    double total = 0;
    if (opt.loss != Loss::ssm) {
      // lambda(t) |score - target|^2 = weight |F - F_target|^2, averaged over
      // dimensions and batch as the peer does.
      net.forward(x, t, out, ws);
      for (int i = 0; i < B; ++i) {
        double row = 0;
        for (int c = 0; c < dim; ++c) {
          const double r = double(out(i, c)) - double(target(i, c));
          row += r * r;
          dout(i, c) = static_cast<float>(2 * weight(i) * r / (B * dim));
        }
        total += weight(i) * row / dim;
      }
      if (gradient) net.backward(dout, grad, ws);
      return total / B;
    }
    // Sliced score matching (Eq. 19) on x(t) ~ p_t with
    //   s = skip xc + out F(in xc),  xc = x - centre mu,
    //   v^T grad_x s v = skip |v|^2 + out in v^T J v,  J = dF/du:
    //   lambda [v^T grad_x s v + (v^T s)^2 / 2].
    net.jvp(x, t, v, out, jv, ws);
    for (int i = 0; i < B; ++i) {
      double vjv = 0, vs = 0, vv = 0;
      for (int c = 0; c < dim; ++c) {
        vjv += double(v(i, c)) * jv(i, c);
        vs += double(v(i, c)) * (skip(i) * centred(i, c) + out_scale(i) * out(i, c));
        vv += double(v(i, c)) * v(i, c);
      }
      total += lambda(i) * (skip(i) * vv + out_scale(i) * scale(i) * vjv + 0.5 * vs * vs);
      for (int c = 0; c < dim; ++c) {
        a(i, c) = static_cast<float>(lambda(i) * vs * out_scale(i) * v(i, c) / B);
        b(i, c) = static_cast<float>(lambda(i) * out_scale(i) * scale(i) * v(i, c) / B);
      }
    }
    if (gradient) net.jvp_backward(a, b, grad, ws);
    return total / B;
  }
};

Trainer::Trainer(Model& model, const Matrix& data, const TrainOptions& options, const GaussianMixture* truth) {
  options.validate(model.sde);
  if (data.rows() == 0) throw Error("no training data (0 rows)");
  if (data.cols() != model.net.config().dim)
    throw Error(fmt::format("data have {} columns but the model's dimension is {}", data.cols(),
                            model.net.config().dim));
  if (data.rows() > std::numeric_limits<std::uint32_t>::max()) throw Error("too many data rows");
  if (options.loss == Loss::oracle && !truth) throw Error("the oracle loss needs the exact mixture");
  if (truth && truth->dim() != data.cols())
    throw Error(fmt::format("the mixture has dimension {}, the data {}", truth->dim(), data.cols()));
  impl_ = std::make_unique<Impl>(model, data, options, truth);
}

Trainer::~Trainer() = default;

double Trainer::step() {
  Impl& m = *impl_;
  const std::int64_t k = m.adam.steps();
  m.draw(k, m.data);
  const double loss = m.loss_and_gradient();
  if (!std::isfinite(loss)) throw Error(fmt::format("non-finite loss at step {}", k + 1));
  m.adam.step(m.net.params(), m.grad, m.opt.threads);
  if (m.ema) m.ema->update(m.net.params(), m.opt.threads);
  return loss;
}

double Trainer::evaluate(std::int64_t k, std::vector<float>& grad) {
  impl_->draw(k, impl_->data);
  const double loss = impl_->loss_and_gradient();
  grad.assign(impl_->grad.begin(), impl_->grad.end());
  return loss;
}

double Trainer::validation_loss(const Matrix& held_out) {
  Impl& m = *impl_;
  const Eigen::Index B = m.opt.batch, n = held_out.rows();
  if (held_out.cols() != m.net.config().dim)
    throw Error(fmt::format("validation data have {} columns, the model {}", held_out.cols(), m.net.config().dim));
  if (n < B) throw Error(fmt::format("validation needs at least one batch ({} rows), got {}", B, n));
  // The EMA weights swapped in for the evaluation, the raw ones back after.
  std::vector<float> raw;
  if (m.ema) {
    raw.assign(m.net.params().begin(), m.net.params().end());
    std::copy(m.ema->values().begin(), m.ema->values().end(), m.net.params().begin());
  }
  // Whole batches of held-out rows at the draws of fixed negative "steps",
  // which training never uses.
  double total = 0;
  for (Eigen::Index first = 0; first + B <= n; first += B) {
    m.draw(-1 - first / B, held_out.middleRows(first, B), /*fixed_rows=*/true);
    total += m.loss_and_gradient(/*gradient=*/false) * double(B);
  }
  if (m.ema) std::copy(raw.begin(), raw.end(), m.net.params().begin());
  return total / double(n / B * B);
}

double data_scale(Parameterization p, const Matrix& data) {
  if (data.rows() == 0) throw Error("no training data (0 rows)");
  const double n = double(data.size());
  const double scale =
      n == 0 ? 0.0
             : std::sqrt((p == Parameterization::edm ? (data.rowwise() - data.colwise().mean()).squaredNorm()
                                                     : data.squaredNorm()) / n);
  if (!(scale > 0)) throw Error("the data have no spread to scale by");
  return scale;
}

std::int64_t Trainer::steps_done() const { return impl_->adam.steps(); }

void Trainer::save_state(Model& model) const {
  const Impl& m = *impl_;
  model.optimizer = OptimizerState{m.adam.steps(),
                                   {m.adam.first_moment().begin(), m.adam.first_moment().end()},
                                   {m.adam.second_moment().begin(), m.adam.second_moment().end()}};
  if (m.ema)
    model.ema = EmaState{m.ema->config().decay, m.ema->config().length, m.ema->updates(),
                         {m.ema->values().begin(), m.ema->values().end()}};
  else
    model.ema.reset();
}

}  // namespace sde

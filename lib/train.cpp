#include "train.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstring>

#include "error.hpp"
#include "json_fields.hpp"
#include "parallel.hpp"
#include "rng.hpp"

namespace sde {

Loss parse_loss(const std::string& s) {
  for (Loss l : {Loss::dsm, Loss::smld, Loss::ddpm, Loss::ssm})
    if (s == to_string(l)) return l;
  throw Error("unknown loss '" + s + "' (expected dsm, smld, ddpm or ssm)");
}
Weighting parse_weighting(const std::string& s) {
  for (Weighting w : {Weighting::sigma2, Weighting::likelihood})
    if (s == to_string(w)) return w;
  throw Error("unknown weighting '" + s + "' (expected sigma2 or likelihood)");
}
Projection parse_projection(const std::string& s) {
  for (Projection p : {Projection::gaussian, Projection::rademacher})
    if (s == to_string(p)) return p;
  throw Error("unknown projection '" + s + "' (expected gaussian or rademacher)");
}
std::string to_string(Loss l) {
  switch (l) {
    case Loss::dsm: return "dsm";
    case Loss::smld: return "smld";
    case Loss::ddpm: return "ddpm";
    case Loss::ssm: return "ssm";
  }
  return "?";
}
std::string to_string(Weighting w) { return w == Weighting::sigma2 ? "sigma2" : "likelihood"; }
std::string to_string(Projection p) { return p == Projection::gaussian ? "gaussian" : "rademacher"; }

void TrainOptions::validate(const Sde& sde) const {
  if (loss == Loss::smld && sde.kind != SdeKind::ve) throw Error("--loss smld needs --sde ve");
  if (loss == Loss::ddpm && sde.kind != SdeKind::vp) throw Error("--loss ddpm needs --sde vp");
  if (batch < 1) throw Error("--batch must be positive");
  if (noise_levels < 2) throw Error("--levels must be at least 2");
  if (!(eps > 0 && eps < sde.T)) throw Error(fmt::format("--eps must be in (0, {})", sde.T));
  if (!(ema_decay >= 0 && ema_decay < 1)) throw Error("--ema must be in [0, 1)");
  adam.validate();
}

Json train_options_to_json(const TrainOptions& o) {
  return {{"loss", to_string(o.loss)},
          {"weighting", to_string(o.weighting)},
          {"projection", to_string(o.projection)},
          {"levels", o.noise_levels},
          {"batch", o.batch},
          {"lr", o.adam.lr},
          {"warmup", o.adam.warmup},
          {"clip", o.adam.grad_clip},
          {"ema", o.ema_decay},
          {"eps", o.eps},
          {"seed", o.seed}};
}

TrainOptions train_options_from_json(const Json& j) {
  const std::string what = "training.settings";
  json::reject_unknown_fields(j, {"loss", "weighting", "projection", "levels", "batch", "lr",
                                  "warmup", "clip", "ema", "eps", "seed"},
                              what);
  auto get = [&](const char* key) -> const Json& { return json::field(j, key, what); };
  auto name = [&](const char* key) { return what + "." + key; };
  TrainOptions o;
  o.loss = parse_loss(json::string(get("loss"), name("loss")));
  o.weighting = parse_weighting(json::string(get("weighting"), name("weighting")));
  o.projection = parse_projection(json::string(get("projection"), name("projection")));
  o.noise_levels = static_cast<int>(json::integer(get("levels"), name("levels")));
  o.batch = static_cast<int>(json::integer(get("batch"), name("batch")));
  o.adam.lr = json::number(get("lr"), name("lr"));
  o.adam.warmup = json::integer(get("warmup"), name("warmup"));
  o.adam.grad_clip = json::number(get("clip"), name("clip"));
  o.ema_decay = json::number(get("ema"), name("ema"));
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

struct Trainer::Impl {
  Net& net;
  const Matrix& data;
  TrainOptions opt;
  Sde sde;
  Parameterization parameterization;
  double sigma_data;
  Adam adam;
  std::optional<Ema> ema;
  NetWorkspace ws;
  // Per-step buffers, sized once.
  Net::Matrix x, z, v, out, jv, dout, a, b;
  Net::Vector t;
  Vector s, weight;  // kernel std and lambda(t)/s^2 per row
  Vector scale;      // the network's input is x(t) times this, per row
  FloatBuffer grad;

  Impl(Model& model, const Matrix& d, const TrainOptions& o)
      : net(model.net), data(d), opt(o), sde(model.sde), parameterization(model.parameterization),
        sigma_data(model.sigma_data), adam(model.net.num_params(), o.adam),
        ws(model.net, o.batch, o.threads) {
    const int B = o.batch, dim = net.config().dim;
    for (Net::Matrix* m : {&x, &z, &v, &out, &jv, &dout, &a, &b}) m->resize(B, dim);
    t.resize(B);
    s.resize(B);
    weight.resize(B);
    scale.resize(B);
    grad.resize(net.num_params());
    if (model.optimizer) {
      adam.restore(model.optimizer->steps, model.optimizer->m, model.optimizer->v);
    }
    if (o.ema_decay > 0) {
      ema.emplace(net.params(), o.ema_decay);
      if (model.ema && model.optimizer) ema->restore(model.ema->updates, model.ema->values);
    }
  }

  // Draws step k's minibatch: x(t) = m x0 + s z at per-row times. Rows are
  // independent (keyed by row and step), so they are drawn in parallel.
  void draw(std::int64_t k) {
    parallel_for(static_cast<std::size_t>(opt.batch), kChunkRows, opt.threads,
                 [&](std::size_t begin, std::size_t end) {
                   for (std::size_t i = begin; i < end; ++i) draw_row(k, static_cast<int>(i));
                 });
  }

  void draw_row(std::int64_t k, int i) {
    const auto step = static_cast<std::uint64_t>(k);
    const auto N = static_cast<std::uint32_t>(data.rows());
    const int dim = net.config().dim;
    const double log_ratio = std::log(sde.sigma_max / sde.sigma_min);
    double noise[64];
    {
      const auto row = static_cast<std::uint64_t>(i);
      const auto index = static_cast<Eigen::Index>(Stream(opt.seed, Purpose::batch, row, step).below(N));
      Stream time_stream(opt.seed, Purpose::time, row, step);
      double ti;
      switch (opt.loss) {
        case Loss::smld: {
          // Noise level sigma_j = sigma_max (sigma_min/sigma_max)^(j/(N-1)),
          // at the VE time whose kernel std is sigma_j.
          const auto j = time_stream.below(static_cast<std::uint32_t>(opt.noise_levels));
          const double sigma = sde.sigma_max * std::exp(-log_ratio * j / (opt.noise_levels - 1));
          ti = sde.time_of_std(sigma);
          break;
        }
        case Loss::ddpm:
          ti = double(time_stream.below(static_cast<std::uint32_t>(opt.noise_levels)) + 1) /
               opt.noise_levels;
          break;
        default: ti = opt.eps + (sde.T - opt.eps) * time_stream.uniform();
      }
      const double m = sde.mean_coeff(ti), si = sde.std(ti);
      const double c_in = input_scale(parameterization, sigma_data, sde, ti);
      Stream noise_stream(opt.seed, Purpose::noise, row, step);
      for (int c = 0; c < dim; c += 64) {
        const int n = std::min(64, dim - c);
        noise_stream.normals(noise, n);
        for (int j = 0; j < n; ++j) {
          z(i, c + j) = static_cast<float>(noise[j]);
          x(i, c + j) = static_cast<float>(c_in * (m * data(index, c + j) + si * noise[j]));
        }
      }
      t(i) = static_cast<float>(ti);
      s(i) = si;
      scale(i) = c_in;
      const double g = sde.diffusion(ti);
      weight(i) = opt.weighting == Weighting::likelihood ? g * g / (si * si) : 1.0;
      if (opt.loss == Loss::ssm) {
        Stream proj(opt.seed, Purpose::projection, row, step);
        for (int c = 0; c < dim; ++c)
          v(i, c) = static_cast<float>(opt.projection == Projection::gaussian
                                           ? proj.normal()
                                           : (proj.next_u32() & 1u ? 1.0 : -1.0));
      }
    }
  }

  // Loss of the drawn batch; fills the gradient.
  double loss_and_gradient() {
    const int B = opt.batch, dim = net.config().dim;
    double total = 0;
    if (opt.loss != Loss::ssm) {
      // lambda(t) |score + z/s|^2 with score = -eps_hat/s: weight |eps_hat - z|^2,
      // averaged over dimensions and batch as the peer does.
      net.forward(x, t, out, ws);
      for (int i = 0; i < B; ++i) {
        double row = 0;
        for (int c = 0; c < dim; ++c) {
          const double r = double(out(i, c)) - double(z(i, c));
          row += r * r;
          dout(i, c) = static_cast<float>(2 * weight(i) * r / (B * dim));
        }
        total += weight(i) * row / dim;
      }
      net.backward(dout, grad, ws);
      return total / B;
    }
    // Sliced score matching (Eq. 19) on x(t) ~ p_t, with s_theta = -eps_hat/s:
    //   lambda [v^T grad_x s_theta v + (v^T s_theta)^2 / 2]
    //   = lambda [-(v^T J v)/s + (v^T eps_hat)^2 / (2 s^2)],  J = d eps_hat / dx,
    // which is the input scale times the network's Jacobian in its own input.
    net.jvp(x, t, v, out, jv, ws);
    for (int i = 0; i < B; ++i) {
      const double lam = weight(i) * s(i) * s(i);  // lambda(t) itself
      double vjv = 0, ve = 0;
      for (int c = 0; c < dim; ++c) {
        vjv += scale(i) * double(v(i, c)) * jv(i, c);
        ve += double(v(i, c)) * out(i, c);
      }
      total += lam * (-vjv / s(i) + 0.5 * ve * ve / (s(i) * s(i)));
      for (int c = 0; c < dim; ++c) {
        a(i, c) = static_cast<float>(lam * ve / (s(i) * s(i)) * v(i, c) / B);
        b(i, c) = static_cast<float>(-lam / s(i) * scale(i) * v(i, c) / B);
      }
    }
    net.jvp_backward(a, b, grad, ws);
    return total / B;
  }
};

Trainer::Trainer(Model& model, const Matrix& data, const TrainOptions& options) {
  options.validate(model.sde);
  if (data.rows() == 0) throw Error("no training data (0 rows)");
  if (data.cols() != model.net.config().dim)
    throw Error(fmt::format("data have {} columns but the model's dimension is {}", data.cols(),
                            model.net.config().dim));
  if (data.rows() > std::numeric_limits<std::uint32_t>::max()) throw Error("too many data rows");
  impl_ = std::make_unique<Impl>(model, data, options);
}

Trainer::~Trainer() = default;

double Trainer::step() {
  Impl& m = *impl_;
  const std::int64_t k = m.adam.steps();
  m.draw(k);
  const double loss = m.loss_and_gradient();
  if (!std::isfinite(loss)) throw Error(fmt::format("non-finite loss at step {}", k + 1));
  m.adam.step(m.net.params(), m.grad);
  if (m.ema) m.ema->update(m.net.params());
  return loss;
}

double Trainer::evaluate(std::int64_t k, std::vector<float>& grad) {
  impl_->draw(k);
  const double loss = impl_->loss_and_gradient();
  grad.assign(impl_->grad.begin(), impl_->grad.end());
  return loss;
}

double data_rms(const Matrix& data) {
  const double rms = data.size() == 0 ? 0.0 : std::sqrt(data.squaredNorm() / double(data.size()));
  if (!(rms > 0)) throw Error("the scaled parameterization needs data that are not all zero");
  return rms;
}

std::int64_t Trainer::steps_done() const { return impl_->adam.steps(); }

void Trainer::save_state(Model& model) const {
  const Impl& m = *impl_;
  model.optimizer = OptimizerState{m.adam.steps(),
                                   {m.adam.first_moment().begin(), m.adam.first_moment().end()},
                                   {m.adam.second_moment().begin(), m.adam.second_moment().end()}};
  if (m.ema)
    model.ema = EmaState{m.ema->decay(), m.ema->updates(), {m.ema->values().begin(), m.ema->values().end()}};
  else
    model.ema.reset();
}

}  // namespace sde

#include "sample.hpp"

#include <array>
#include <cmath>
#include <fmt/format.h>

#include "error.hpp"
#include "parallel.hpp"
#include "rng.hpp"

namespace sde {

Predictor parse_predictor(const std::string& s) {
  if (s == "reverse-diffusion") return Predictor::reverse_diffusion;
  if (s == "euler-maruyama") return Predictor::euler_maruyama;
  if (s == "ancestral") return Predictor::ancestral;
  if (s == "none") return Predictor::none;
  throw Error("unknown predictor '" + s + "'");
}

Corrector parse_corrector(const std::string& s) {
  if (s == "langevin") return Corrector::langevin;
  if (s == "ald") return Corrector::ald;
  if (s == "none") return Corrector::none;
  throw Error("unknown corrector '" + s + "'");
}

OdeSolver parse_ode_solver(const std::string& s) {
  if (s == "dopri5") return OdeSolver::dopri5;
  if (s == "euler") return OdeSolver::euler;
  if (s == "heun") return OdeSolver::heun;
  throw Error("unknown ODE solver '" + s + "'");
}

Schedule parse_schedule(const std::string& s) {
  if (s == "uniform") return Schedule::uniform;
  if (s == "logsnr") return Schedule::logsnr;
  if (s == "karras") return Schedule::karras;
  throw Error("unknown time schedule '" + s + "'");
}

namespace {

constexpr std::size_t kChunkRows = 256;

// One chunk of rows with its work buffers; samplers evolve `x`.
struct Chunk {
  const ScoreModel& model;
  const SampleRun& run;
  const Prior prior;
  std::size_t begin, end;  // rows of the result
  Matrix x, score, z;
  std::vector<int> nfe;  // score evaluations per row

  Chunk(const ScoreModel& m, const SampleRun& r, std::size_t b, std::size_t e)
      : model(m), run(r), prior(m), begin(b), end(e),
        x(static_cast<Eigen::Index>(e - b), m.dim()), score(x.rows(), x.cols()),
        z(x.rows(), x.cols()), nfe(e - b, 0) {}

  Eigen::Index rows() const { return x.rows(); }
  std::uint64_t global_row(Eigen::Index i) const {
    return run.first_row + begin + static_cast<std::uint64_t>(i);
  }

  // score <- s(y, t) for every row at one time.
  void eval(const Matrix& y, double time) {
    model.score_at_time(y, time, score);
    for (int& k : nfe) ++k;
  }
  // z <- standard normals of (purpose, row, step).
  void noise(Purpose purpose, std::uint64_t step) {
    for (Eigen::Index i = 0; i < rows(); ++i)
      Stream(run.seed, purpose, global_row(i), step)
          .normals(z.row(i).data(), static_cast<int>(z.cols()));
  }
  // Replacement imputation: known coordinates <- m(t) y + s(t) z, or y
  // itself at the end (exact = true).
  void impose_known(double time, std::uint64_t step, bool exact = false) {
    if (!run.known) return;
    const Sde& sde = model.sde();
    const double m = sde.mean_coeff(time), s = sde.std(time);
    for (Eigen::Index i = 0; i < rows(); ++i) {
      const Eigen::Index k = run.known->rows() == 1 ? 0 : static_cast<Eigen::Index>(global_row(i));
      Stream st(run.seed, Purpose::imputation, global_row(i), step);
      for (Eigen::Index j = 0; j < x.cols(); ++j) {
        const double y = (*run.known)(k, j);
        if (std::isnan(y)) continue;
        const double draw = st.normal();
        x(i, j) = exact ? y : m * y + s * draw;
      }
    }
  }
  // x(T): the run's latent rows when given, otherwise prior draws.
  void start() {
    if (run.latent) {
      x = run.latent->middleRows(static_cast<Eigen::Index>(begin), rows());
      return;
    }
    if (run.exact_prior) {
      const Sde& sde = model.sde();
      run.exact_prior->sample(run.seed, global_row(0), x, nullptr, sde.mean_coeff(sde.T), sde.std(sde.T),
                              Purpose::prior);
      return;
    }
    noise(Purpose::prior, 0);
    prior.draw(z, x);
  }
  // Tweedie's formula: E[x(0) | x(t)] = (x + s^2 score) / m (exact for the oracle).
  void denoise(double time) {
    eval(x, time);
    denoised(x, time, x);
  }
  // out <- the data prediction for y from the current score buffer (out may be y).
  void denoised(const Matrix& y, double time, Matrix& out) const {
    const Sde& sde = model.sde();
    const double s = sde.std(time);
    out = (y + s * s * score) / sde.mean_coeff(time);
  }
  void check_finite(int step, double time) const {
    if (!x.allFinite())
      throw Error(fmt::format("non-finite sample at step {} (t = {:.6g})", step, time));
  }
};

// --trajectory K: frame 0 is x(T), frame K-1 the output, and the frames in
// between are the states after steps round(k N / (K - 1)) of an N-step
// sampler (or at K - 2 evenly spaced times for the adaptive ODE solver).
class Frames {
public:
  Frames(SampleResult& result, std::size_t n, int count, int steps)
      : result_(result), n_(n), count_(count), steps_(steps) {}
  int count() const { return count_; }

  void record(const Chunk& c, int k, double time) const {
    if (k < 0 || k >= count_) return;
    result_.trajectory.middleRows(static_cast<Eigen::Index>(k * n_ + c.begin), c.rows()) = c.x;
    if (c.begin == 0) result_.frame_times[static_cast<std::size_t>(k)] = time;
  }
  // After step `step` of the N-step sampler (step 0 is the prior).
  void at_step(const Chunk& c, int step, double time) const {
    for (int k = 0; k < count_ - 1; ++k)
      if (std::lround(double(k) * steps_ / (count_ - 1)) == step) record(c, k, time);
  }
  void final(const Chunk& c, double time) const { record(c, count_ - 1, time); }

private:
  SampleResult& result_;
  std::size_t n_;
  int count_, steps_;
};

// Runs `body(chunk, frames)` on chunks of rows in parallel, starting every
// chunk at the prior (or the given latent), and gathers the results.
template <class Body>
SampleResult run_chunks(const ScoreModel& model, std::size_t n, int steps, const SampleRun& run,
                        Progress& progress, Body&& body) {
  const Sde& sde = model.sde();
  SampleResult result;
  result.x.resize(static_cast<Eigen::Index>(n), model.dim());
  result.nfe.assign(n, 0);
  if (run.latent && (static_cast<std::size_t>(run.latent->rows()) != n ||
                     run.latent->cols() != model.dim()))
    throw Error(fmt::format("latent has shape ({}, {}), expected ({}, {})", run.latent->rows(),
                            run.latent->cols(), n, model.dim()));
  if (run.trajectory_frames == 1) throw Error("a trajectory needs at least 2 frames");
  if (run.latent && run.exact_prior) throw Error("start from the latent rows or the exact prior, not both");
  if (run.exact_prior && run.exact_prior->dim() != model.dim())
    throw Error("the exact prior's dimension differs from the score's");
  if (run.trajectory_frames > 0) {
    result.trajectory.resize(static_cast<Eigen::Index>(run.trajectory_frames * n), model.dim());
    result.frame_times.assign(static_cast<std::size_t>(run.trajectory_frames), 0.0);
  }
  const Frames frames(result, n, run.trajectory_frames, steps);
  parallel_for(n, kChunkRows, run.threads, [&](std::size_t begin, std::size_t end) {
    Chunk c(model, run, begin, end);
    c.start();
    frames.record(c, 0, sde.T);
    body(c, frames);
    frames.final(c, 0.0);
    result.x.middleRows(static_cast<Eigen::Index>(begin), c.rows()) = c.x;
    std::copy(c.nfe.begin(), c.nfe.end(), result.nfe.begin() + static_cast<long>(begin));
    progress.advance(end - begin);
  });
  return result;
}

void reject_known(const SampleRun& run) {
  if (run.known) throw Error("imputation by replacement works with the PC sampler only");
}

double resolve_eps(const Sde& sde, double eps) {
  const double e = eps < 0 ? sde.default_eps() : eps;
  if (!(e > 0 && e < sde.T)) throw Error(fmt::format("eps must be in (0, {}), got {}", sde.T, e));
  return e;
}

// The uniform grid T = t_0 > ... > t_N = eps.
double uniform_time(const Sde& sde, double eps, int i, int N) {
  return sde.T + (eps - sde.T) * i / N;
}

}  // namespace

// ---------------------------------------------------------------- PC sampling

namespace {

// Corrector (Algorithms 4-5): M Langevin steps targeting p_t at time t.
// alpha = 1 - beta_i of the DDPM chain step (1 for VE). Langevin step sizes
// come from `sizes` (one per corrector step of the run) when it is filled;
// otherwise they are computed from this chunk's batch norms and appended.
void correct(Chunk& c, const PcOptions& o, int step, double t, double alpha,
             std::vector<double>& sizes, bool calibrating) {
  const Sde& sde = c.model.sde();
  for (int j = 0; j < o.corrector_steps; ++j) {
    const std::size_t index = static_cast<std::size_t>(step) * o.corrector_steps + j;
    c.eval(c.x, t);
    c.noise(Purpose::corrector, index);
    double size;
    if (o.corrector == Corrector::ald) {
      // Annealed Langevin: the step follows the noise scale, 2 alpha (r s(t))^2.
      size = 2 * alpha * std::pow(o.snr * sde.std(t), 2);
    } else if (calibrating) {
      // The paper's rule 2 alpha (r mean|z| / mean|s|)^2 with norms averaged over the batch.
      const double ratio = o.snr * c.z.rowwise().norm().mean() / c.score.rowwise().norm().mean();
      size = 2 * alpha * ratio * ratio;
      sizes.push_back(size);
    } else {
      size = sizes[index];
    }
    c.x += size * c.score + std::sqrt(2 * size) * c.z;
  }
}

// Predictor: one reverse step from t to t_next, undoing the forward step `fwd`.
void predict(Chunk& c, Predictor p, int step, double t, double t_next, const Sde::Step& fwd) {
  const Sde& sde = c.model.sde();
  c.eval(c.x, t);
  c.noise(Purpose::noise, static_cast<std::uint64_t>(step));
  switch (p) {
    case Predictor::reverse_diffusion:
      // x <- x - f_i(x) + G_i^2 s + G_i z (Eq. 46).
      c.x += -fwd.F * c.x + fwd.G * fwd.G * c.score + fwd.G * c.z;
      break;
    case Predictor::euler_maruyama: {
      // Reverse SDE dx = [f - g^2 s] dt + g dw, with dt = t_next - t < 0.
      const double dt = t_next - t, g = sde.diffusion(t);
      c.x += (sde.drift_coeff(t) * c.x - g * g * c.score) * dt + g * std::sqrt(-dt) * c.z;
      break;
    }
    case Predictor::ancestral: {
      const double g2 = fwd.G * fwd.G;
      if (sde.kind == SdeKind::ve) {
        // SMLD ancestral sampling (Appendix F): x + (s_t^2 - s_next^2) s
        // + sqrt(s_next^2 (s_t^2 - s_next^2) / s_t^2) z.
        c.x += g2 * c.score + (fwd.G * sde.std(t_next) / sde.std(t)) * c.z;
      } else {
        // DDPM ancestral sampling (Eq. 47): (x + beta_i s) / sqrt(1 - beta_i) + sqrt(beta_i) z;
        // sub-VP has no formula in the paper and uses the same form with its own kernel.
        c.x = (c.x + g2 * c.score) / (1 + fwd.F) + fwd.G * c.z;
      }
      break;
    }
    case Predictor::none: break;
  }
}

}  // namespace

namespace {

// The N predictor steps of PC sampling on one chunk, with the corrector
// before each (frames may be null).
void run_pc(Chunk& c, const PcOptions& o, double eps, std::vector<double>& sizes,
            bool calibrating, const Frames* frames) {
  const Sde& sde = c.model.sde();
  const int N = o.steps;
  for (int i = 0; i < N; ++i) {
    const double t = uniform_time(sde, eps, i, N), t_next = uniform_time(sde, eps, i + 1, N);
    const Sde::Step fwd = sde.transition(t_next, t);
    if (o.corrector != Corrector::none) {
      const double alpha = sde.kind == SdeKind::ve ? 1.0 : (1 + fwd.F) * (1 + fwd.F);
      correct(c, o, i, t, alpha, sizes, calibrating);
    }
    if (o.predictor != Predictor::none) predict(c, o.predictor, i, t, t_next, fwd);
    c.impose_known(t_next, static_cast<std::uint64_t>(i) + 1);
    c.check_finite(i + 1, t_next);
    if (frames) frames->at_step(c, i + 1, t_next);
  }
  if (o.denoise) c.denoise(eps);
  c.impose_known(0.0, 0, /*exact=*/true);
}

// Rows of the calibration batch are keyed far above any real row index.
constexpr std::uint64_t kCalibrationRow = std::uint64_t{1} << 62;
constexpr std::size_t kCalibrationRows = 256;

}  // namespace

SampleResult sample_pc(const ScoreModel& model, std::size_t n, const PcOptions& o,
                       const SampleRun& run, Progress& progress) {
  const Sde& sde = model.sde();
  const double eps = resolve_eps(sde, o.eps);
  if (o.steps < 1) throw Error("PC sampling needs at least one step");
  if (o.predictor == Predictor::none && o.corrector == Corrector::none)
    throw Error("predictor and corrector cannot both be none");
  // The Langevin corrector's step sizes: the paper's code sets them from
  // norms averaged over the batch, which would make every sample depend on
  // the others in its batch (and so on --threads and --shard); per-sample
  // norms instead give heavy-tailed steps that wreck the samples wherever
  // the score is small. So the batch rule is evaluated once, on a fixed
  // calibration batch of 256 samples run first with its own noise, and its
  // step sizes (one per corrector step) are used for every row of the run.
  std::vector<double> sizes;
  if (o.corrector == Corrector::langevin) {
    SampleRun calibration = run;
    calibration.first_row = kCalibrationRow;
    calibration.latent = nullptr;
    calibration.known = nullptr;
    Chunk c(model, calibration, 0, kCalibrationRows);
    c.start();
    run_pc(c, o, eps, sizes, true, nullptr);
  }
  return run_chunks(model, n, o.steps, run, progress, [&](Chunk& c, const Frames& frames) {
    c.impose_known(sde.T, 0);
    run_pc(c, o, eps, sizes, false, &frames);
  });
}

// ---------------------------------------------------------------- probability-flow ODE

SampleResult sample_ode(const ScoreModel& model, std::size_t n, const OdeSampleOptions& o,
                        const SampleRun& run, Progress& progress) {
  const Sde& sde = model.sde();
  reject_known(run);
  const double eps = resolve_eps(sde, o.eps);
  if (o.solver != OdeSolver::dopri5 && o.steps < 1) throw Error("the ODE solver needs at least one step");
  // dx/dt = f(x, t) - g(t)^2 s(x, t) / 2 (Eq. 13), into dx; uses c.score.
  auto velocity = [&](Chunk& c, const Matrix& y, double t, Matrix& dx) {
    c.eval(y, t);
    const double g = sde.diffusion(t);
    dx = sde.drift_coeff(t) * y - 0.5 * g * g * c.score;
  };

  if (o.solver != OdeSolver::dopri5) {
    const int N = o.steps;
    return run_chunks(model, n, N, run, progress, [&](Chunk& c, const Frames& frames) {
      Matrix d1(c.rows(), c.x.cols()), d2(c.rows(), c.x.cols()), trial(c.rows(), c.x.cols());
      for (int i = 0; i < N; ++i) {
        const double t = uniform_time(sde, eps, i, N), t_next = uniform_time(sde, eps, i + 1, N);
        const double dt = t_next - t;
        velocity(c, c.x, t, d1);
        if (o.solver == OdeSolver::euler) {
          c.x += dt * d1;  // Eq. 43/44 without noise
        } else {  // Heun: trapezoid with an Euler predictor
          trial = c.x + dt * d1;
          velocity(c, trial, t_next, d2);
          c.x += 0.5 * dt * (d1 + d2);
        }
        c.check_finite(i + 1, t_next);
        frames.at_step(c, i + 1, t_next);
      }
      if (o.denoise) c.denoise(eps);
    });
  }

  // Adaptive: stop at the intermediate frame times (evenly spaced in t), then at eps.
  std::vector<double> stops;
  const int K = run.trajectory_frames;
  for (int k = 1; k < K - 1; ++k) stops.push_back(uniform_time(sde, eps, k, K - 1));
  stops.push_back(eps);
  return run_chunks(model, n, 0, run, progress, [&](Chunk& c, const Frames& frames) {
    Matrix score;
    const OdeRhs rhs = [&](ConstMatrixRef y, ConstVectorRef t, std::span<const Eigen::Index>,
                           MatrixRef dy) {
      score.resize(y.rows(), y.cols());
      model.score(y, t, score);
      for (Eigen::Index i = 0; i < y.rows(); ++i) {
        const double g = sde.diffusion(t(i));
        dy.row(i) = sde.drift_coeff(t(i)) * y.row(i) - 0.5 * g * g * score.row(i);
      }
    };
    std::vector<OdeRowStats> stats;
    std::vector<Matrix> at_stops;
    integrate_dopri5(rhs, c.x, sde.T, stops, o.tolerances, stats,
                     frames.count() > 0 ? &at_stops : nullptr);
    for (std::size_t i = 0; i < stats.size(); ++i) c.nfe[i] = stats[i].nfe;
    if (frames.count() > 0) {
      const Matrix final_x = c.x;
      for (std::size_t k = 0; k + 1 < at_stops.size(); ++k) {
        c.x = at_stops[k];
        frames.record(c, static_cast<int>(k + 1), stops[k]);
      }
      c.x = final_x;
    }
    if (o.denoise) c.denoise(eps);
  });
}

// ---------------------------------------------------------------- fast solvers

int default_fast_steps(bool ddim, const FastOptions& o) {
  const bool first_order = ddim || (o.order == 1 && !o.unipc);  // UniC adds an order
  if (first_order) return 200;
  return o.stochastic ? 100 : 60;
}

namespace {
// The options with their step count resolved (0 means the default).
FastOptions with_steps(const FastOptions& o, bool ddim) {
  FastOptions resolved = o;
  if (resolved.steps == 0) resolved.steps = default_fast_steps(ddim, o);
  return resolved;
}
}  // namespace

std::vector<double> time_grid(const Sde& sde, const FastOptions& o) {
  const double eps = resolve_eps(sde, o.eps);
  std::vector<double> grid;
  if (!o.times.empty()) {
    grid = o.times;
    if (grid.front() < sde.T) grid.insert(grid.begin(), sde.T);
    for (std::size_t i = 1; i < grid.size(); ++i)
      if (!(grid[i] < grid[i - 1] && grid[i] > 0))
        throw Error("--times must decrease strictly and stay above 0");
    if (grid.front() > sde.T) throw Error(fmt::format("--times must not exceed T = {}", sde.T));
    return grid;
  }
  if (o.steps < 1) throw Error("a fast solver needs at least one step");
  const int N = o.steps;
  const double lam_T = sde.lambda(sde.T), lam_eps = sde.lambda(eps);
  constexpr double rho = 7.0;  // Karras et al. (2022)
  const double kmax = std::pow(std::exp(-lam_T), 1 / rho), kmin = std::pow(std::exp(-lam_eps), 1 / rho);
  for (int i = 0; i <= N; ++i) {
    const double f = double(i) / N;
    switch (o.schedule) {
      case Schedule::uniform: grid.push_back(uniform_time(sde, eps, i, N)); break;
      case Schedule::logsnr: grid.push_back(sde.time_of_lambda(lam_T + (lam_eps - lam_T) * f)); break;
      case Schedule::karras:
        grid.push_back(sde.time_of_lambda(-rho * std::log(kmax + f * (kmin - kmax))));
        break;
    }
  }
  grid.front() = sde.T;  // exact ends despite round trips through lambda
  grid.back() = eps;
  return grid;
}

SampleResult sample_ddim(const ScoreModel& model, std::size_t n, const FastOptions& o,
                         const SampleRun& run, Progress& progress) {
  const Sde& sde = model.sde();
  reject_known(run);
  const std::vector<double> grid = time_grid(sde, with_steps(o, /*ddim=*/true));
  const int N = static_cast<int>(grid.size()) - 1;
  if (o.eta < 0) throw Error("--eta must be non-negative");
  return run_chunks(model, n, N, run, progress, [&](Chunk& c, const Frames& frames) {
    Matrix eps_hat(c.rows(), c.x.cols()), x0(c.rows(), c.x.cols());
    for (int i = 0; i < N; ++i) {
      const double t = grid[static_cast<std::size_t>(i)], t_next = grid[static_cast<std::size_t>(i) + 1];
      const double m = sde.mean_coeff(t), s = sde.std(t);
      const double m2 = sde.mean_coeff(t_next), s2 = sde.std(t_next);
      c.eval(c.x, t);
      eps_hat = -s * c.score;  // the noise estimate
      c.denoised(c.x, t, x0);
      // DDIM (seed 002, Eq. 12) for any Gaussian kernel (m, s): the posterior
      // noise sigma^2 = eta^2 (s'/s)^2 (s^2 - (m/m')^2 s'^2), which is the
      // DDPM posterior variance at eta = 1 and 0 (deterministic) at eta = 0.
      const double var = o.eta * o.eta * (s2 * s2 / (s * s)) * (s * s - (m * m) / (m2 * m2) * s2 * s2);
      const double sigma = std::sqrt(std::max(var, 0.0));
      c.x = m2 * x0 + std::sqrt(std::max(s2 * s2 - sigma * sigma, 0.0)) * eps_hat;
      if (sigma > 0) {
        c.noise(Purpose::noise, static_cast<std::uint64_t>(i));
        c.x += sigma * c.z;
      }
      c.check_finite(i + 1, t_next);
      frames.at_step(c, i + 1, t_next);
    }
    if (o.denoise) c.denoise(grid.back());
  });
}

namespace {

// The exponential integrator's phi_k(x) = sum_j x^j / (j + k)!: by the
// series where |x| < 1, since the recursion phi_(k+1) = (phi_k - 1/k!) / x
// (phi_0 = e^x) cancels catastrophically for small steps (at h = 1e-5 it
// would lose every digit of phi_4).
double phi_function(int k, double x) {
  if (std::abs(x) < 1) {
    double term = 1, sum = 0;  // x^j / (j + k)!
    for (int i = 2; i <= k; ++i) term /= i;
    for (int j = 0; j < 30; ++j) {
      sum += term;
      term *= x / (j + k + 1);
    }
    return sum;
  }
  double phi = std::exp(x), factorial = 1;
  for (int i = 0; i < k; ++i) {
    phi = (phi - 1 / factorial) / x;
    factorial *= i + 1;
  }
  return phi;
}

// At most 3 x 3 (order 3), on the stack: no allocation per step.
using SmallMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, 0, 3, 3>;
using SmallVector = Eigen::Matrix<double, Eigen::Dynamic, 1, 0, 3, 1>;

// UniPC's linear system R rho = b (Zhao et al. 2023, Eq. 8, Algorithms 2-3,
// with B(h) = e^h - 1, "bh2", in the data-prediction form where hh = -h),
// for the p nodes r_k = (lambda_k - lambda_s0) / h: with 0-based i,
// R_ik = r_k^i and b_i = (i + 1)! hh phi_(i+2)(hh) / B(hh).
std::pair<SmallMatrix, SmallVector> unipc_system(const std::array<double, 3>& r, int p, double hh) {
  SmallMatrix R(p, p);
  SmallVector b(p);
  double factorial = 1;  // (i + 1)!
  for (int i = 0; i < p; ++i) {
    for (int k = 0; k < p; ++k) R(i, k) = std::pow(r[static_cast<std::size_t>(k)], i);
    factorial *= i + 1;
    b(i) = factorial * hh * phi_function(i + 2, hh) / std::expm1(hh);
  }
  return {R, b};
}

}  // namespace

SampleResult sample_dpm_solver(const ScoreModel& model, std::size_t n, const FastOptions& o,
                               const SampleRun& run, Progress& progress) {
  const Sde& sde = model.sde();
  reject_known(run);
  const std::vector<double> grid = time_grid(sde, with_steps(o, /*ddim=*/false));
  const int N = static_cast<int>(grid.size()) - 1;
  if (o.order < 1 || o.order > 3) throw Error("the multistep order must be 1, 2 or 3");
  if (o.stochastic && o.order > 2) throw Error("the stochastic DPM-Solver++ has --order 1 or 2");
  if (o.stochastic && o.unipc) throw Error("UniPC is deterministic (no --stochastic)");
  return run_chunks(model, n, N, run, progress, [&](Chunk& c, const Frames& frames) {
    const auto rows = c.rows(), cols = c.x.cols();
    // Data predictions of the last three steps, newest first, and the newest
    // before it joins them (UniPC corrects with it first).
    Matrix x0[3] = {Matrix(rows, cols), Matrix(rows, cols), Matrix(rows, cols)};
    Matrix fresh(rows, cols), d0(rows, cols), d1(rows, cols), x_prev(rows, cols);
    double lam[3] = {0, 0, 0};  // lambda at those steps
    int order = 0;              // of the last step
    for (int i = 0; i < N; ++i) {
      const double t = grid[static_cast<std::size_t>(i)], t_next = grid[static_cast<std::size_t>(i) + 1];
      c.eval(c.x, t);
      c.denoised(c.x, t, fresh);
      const double lam_t = sde.lambda(t), m = sde.mean_coeff(t);
      if (o.unipc && i > 0) {
        // UniC: x(t) was predicted from x_prev at lambda[0] with `order`;
        // redo that step with the prediction at t as one more node. The
        // network is not called again: the next step uses `fresh`, the
        // prediction at the uncorrected point (Zhao et al. 2023, Alg. 2).
        const double h = lam_t - lam[0], phi = std::expm1(-h);
        std::array<double, 3> r{};
        for (int k = 1; k < order; ++k) r[static_cast<std::size_t>(k) - 1] = (lam[k] - lam[0]) / h;
        r[static_cast<std::size_t>(order) - 1] = 1.0;
        SmallVector rho = SmallVector::Constant(1, 0.5);
        if (order > 1) {
          const auto [R, b] = unipc_system(r, order, -h);
          rho = R.partialPivLu().solve(b);
        }
        c.x = (sde.std(t) / sde.std(grid[static_cast<std::size_t>(i) - 1])) * x_prev - m * phi * x0[0];
        for (int k = 1; k < order; ++k)
          c.x -= (m * phi * rho(k - 1) / r[static_cast<std::size_t>(k) - 1]) * (x0[k] - x0[0]);
        c.x -= (m * phi * rho(order - 1)) * (fresh - x0[0]);
      }
      std::swap(x0[2], x0[1]);
      std::swap(x0[1], x0[0]);
      std::swap(x0[0], fresh);
      lam[2] = lam[1];
      lam[1] = lam[0];
      lam[0] = lam_t;
      const double m2 = sde.mean_coeff(t_next), s_ratio = sde.std(t_next) / sde.std(t);
      const double h = sde.lambda(t_next) - lam[0];
      const double phi = std::expm1(-h);  // e^{-h} - 1
      // Multistep order: limited by the history, and lowered at the very end
      // of short runs (< 15 steps), where it is more stable (as in diffusers'
      // DPM-Solver++). diffusers' UniPC lowers the last orders whatever the
      // run's length; on the oracle at 20 steps that moved UniPC-3 on sub-VP
      // from +13 to -4 SE in log p but VP from -5 to -20 SE, so both solvers
      // follow the one rule here.
      order = std::min(o.order, i + 1);
      if (N < 15 && i == N - 1) order = 1;
      if (N < 15 && i == N - 2) order = std::min(order, 2);
      if (o.unipc) x_prev = c.x;
      // The first divided difference of the data predictions in lambda (D1_0).
      const double r0 = order >= 2 ? (lam[0] - lam[1]) / h : 0;
      if (order >= 2) d0 = (x0[0] - x0[1]) / r0;
      if (o.stochastic) {
        // SDE-DPM-Solver++ 1 and 2M (Lu et al. 2022, Appendix; diffusers'
        // sde-dpmsolver++): the reverse SDE's exact linear part with the
        // data prediction extrapolated, and noise of variance s'^2 (1 - e^{-2h}).
        const double decay = -std::expm1(-2 * h);  // 1 - e^{-2h}
        c.x = s_ratio * std::exp(-h) * c.x + m2 * decay * x0[0];
        if (order == 2) c.x += 0.5 * m2 * decay * d0;
        c.noise(Purpose::noise, static_cast<std::uint64_t>(i));
        c.x += sde.std(t_next) * std::sqrt(decay) * c.z;
      } else {
        // DPM-Solver++ (Lu et al. 2022), data-prediction form in lambda = log(m/s).
        // UniP is the same up to order 2 (rho = 1/2).
        c.x = s_ratio * c.x - m2 * phi * x0[0];
        if (order == 2) {
          c.x -= 0.5 * m2 * phi * d0;
        } else if (order == 3 && o.unipc) {  // UniP-3: the system's first two nodes
          const double r2 = (lam[2] - lam[0]) / h;
          const auto [R, b] = unipc_system({-r0, r2, 1.0}, 3, -h);
          const Eigen::Matrix2d R2 = R.topLeftCorner<2, 2>();
          const Eigen::Vector2d rho = R2.partialPivLu().solve(b.head<2>());
          c.x -= m2 * phi * (rho(0) * d0 + (rho(1) / r2) * (x0[2] - x0[0]));
        } else if (order == 3) {
          const double r1 = (lam[1] - lam[2]) / h;
          d1 = (x0[1] - x0[2]) / r1;  // D1_1
          // D1 = D1_0 + r0/(r0+r1) (D1_0 - D1_1), D2 = (D1_0 - D1_1)/(r0+r1)
          c.x += m2 * (phi / h + 1) * (d0 + (r0 / (r0 + r1)) * (d0 - d1)) -
                 m2 * ((phi + h) / (h * h) - 0.5) / (r0 + r1) * (d0 - d1);
        }
      }
      c.check_finite(i + 1, t_next);
      // (With UniPC this is the predicted state; the next step corrects it.)
      frames.at_step(c, i + 1, t_next);
    }
    if (o.denoise) c.denoise(grid.back());
  });
}

}  // namespace sde

#include "langevin.hpp"

#include <cmath>
#include <cstdio>
#include <mutex>

#include <fmt/format.h>

#include "error.hpp"
#include "parallel.hpp"
#include "rng.hpp"

namespace sde {

// ---------------------------------------------------------------- settings

namespace {

void check_init(const LangevinInit& init) {
  if (init.kind == LangevinInit::Kind::uniform && !(init.a < init.b))
    throw Error(fmt::format("init uniform:{},{}: need A < B", init.a, init.b));
  if (init.kind == LangevinInit::Kind::normal && !(init.b > 0 && std::isfinite(init.a)))
    throw Error(fmt::format("init normal:{},{}: need a finite mean and S > 0", init.a, init.b));
}

void check_step_size(double step_size) {
  if (!(step_size > 0 && std::isfinite(step_size)))
    throw Error(fmt::format("the step size must be positive, got {}", step_size));
}

// Noise scales are VE times: only there is p_t the data convolved with N(0, sigma^2 I).
void require_ve(const Sde& sde, const char* what) {
  if (sde.kind != SdeKind::ve)
    throw Error(fmt::format("{} needs a VE score model (noise scales sigma), got {}", what,
                            sde.name()));
}

}  // namespace

bool is_init_distribution(const std::string& spec) {
  return spec.starts_with("uniform:") || spec.starts_with("normal:");
}

LangevinInit parse_init(const std::string& spec) {
  LangevinInit init;
  const bool uniform = spec.starts_with("uniform:");
  if (!is_init_distribution(spec))
    throw Error("init '" + spec + "': expected uniform:A,B or normal:M,S");
  init.kind = uniform ? LangevinInit::Kind::uniform : LangevinInit::Kind::normal;
  const std::string args = spec.substr(spec.find(':') + 1);
  char extra = 0;
  if (std::sscanf(args.c_str(), "%lf,%lf%c", &init.a, &init.b, &extra) != 2)
    throw Error("init '" + spec + "': expected " + (uniform ? "uniform:A,B" : "normal:M,S") +
                " with two numbers");
  check_init(init);
  return init;
}

std::vector<LangevinLevel> fixed_time_level(const Sde& sde, double t, double step_size) {
  check_step_size(step_size);
  if (!(t >= 0 && t <= sde.T)) throw Error(fmt::format("t must be in [0, {}], got {}", sde.T, t));
  return {{t, step_size}};
}

std::vector<LangevinLevel> noise_scale_level(const Sde& sde, double sigma, double step_size) {
  check_step_size(step_size);
  require_ve(sde, "a noise scale");
  if (!(sigma > 0 && std::isfinite(sigma)))
    throw Error(fmt::format("the noise scale sigma must be positive, got {}", sigma));
  return {{sde.time_of_std(sigma), step_size, sigma}};
}

std::vector<LangevinLevel> annealed_levels(const Sde& sde, double sigma_max, double sigma_min,
                                           int levels, double step_size) {
  check_step_size(step_size);
  require_ve(sde, "annealed Langevin");
  if (levels < 1) throw Error(fmt::format("annealing needs at least 1 level, got {}", levels));
  if (!(sigma_min > 0 && sigma_max > sigma_min && std::isfinite(sigma_max)))
    throw Error(fmt::format("annealing needs 0 < sigma-min < sigma-max, got {} and {}", sigma_min,
                            sigma_max));
  std::vector<LangevinLevel> out;
  for (int i = 0; i < levels; ++i) {
    // sigma_i = sigma_max (sigma_min / sigma_max)^(i / (L-1)), exact at both ends.
    const double sigma = levels == 1 || i == levels - 1
                             ? sigma_min
                             : sigma_max * std::pow(sigma_min / sigma_max, double(i) / (levels - 1));
    const double alpha = step_size * (sigma / sigma_min) * (sigma / sigma_min);
    out.push_back({sde.time_of_std(sigma), alpha / 2, sigma});
  }
  return out;
}

double LangevinResult::acceptance_rate() const {
  long total = 0;
  for (long a : accepted) total += a;
  const double proposals = double(proposals_per_level) * double(accepted.size());
  return proposals > 0 ? double(total) / proposals : 0.0;
}

double LangevinResult::acceptance_rate(std::size_t level) const {
  return proposals_per_level > 0 ? double(accepted.at(level)) / double(proposals_per_level) : 0.0;
}

GaussianMixture perturbed_mixture(const MixtureScore& oracle, double t) {
  const GaussianMixture& mix = oracle.mixture();
  const double m = oracle.sde().mean_coeff(t), s = oracle.sde().std(t);
  std::vector<Matrix> covariances;
  for (int k = 0; k < mix.components(); ++k)
    covariances.push_back(m * m * mix.covariance(k) +
                          s * s * Matrix::Identity(mix.dim(), mix.dim()));
  return GaussianMixture(mix.weights(), m * mix.means(), std::move(covariances));
}

// ---------------------------------------------------------------- the chains

namespace {

constexpr std::size_t kChunkRows = 256;

// One chunk of chains with every buffer its steps need, so the step loop
// allocates nothing of its own.
struct Chains {
  const ScoreModel& model;
  const MixtureScore* oracle;  // set for MALA
  const LangevinRun& run;
  std::size_t begin;
  Matrix x;  // the chains' states
  Matrix score, z;
  double time = 0;  // the current level's
  Matrix proposal, proposal_score;          // MALA
  Vector log_p, proposal_log_p, m, s;       // MALA

  Chains(const ScoreModel& model_, const MixtureScore* oracle_, const LangevinRun& run_,
         std::size_t begin_, std::size_t end)
      : model(model_), oracle(oracle_), run(run_), begin(begin_),
        x(static_cast<Eigen::Index>(end - begin_), model_.dim()), score(x.rows(), x.cols()),
        z(x.rows(), x.cols()) {
    if (!oracle) return;
    proposal.resize(x.rows(), x.cols());
    proposal_score.resize(x.rows(), x.cols());
    for (Vector* v : {&log_p, &proposal_log_p, &m, &s}) v->resize(x.rows());
  }

  Eigen::Index rows() const { return x.rows(); }
  std::uint64_t global_row(Eigen::Index i) const {
    return run.first_row + begin + static_cast<std::uint64_t>(i);
  }

  void start(const LangevinInit& init) {
    if (init.kind == LangevinInit::Kind::points) {
      x = init.points->middleRows(static_cast<Eigen::Index>(begin), rows());
      return;
    }
    for (Eigen::Index i = 0; i < rows(); ++i) {
      Stream stream(run.seed, Purpose::init, global_row(i));
      for (Eigen::Index j = 0; j < x.cols(); ++j)
        x(i, j) = init.kind == LangevinInit::Kind::uniform
                      ? init.a + (init.b - init.a) * stream.uniform()
                      : init.a + init.b * stream.normal();
    }
  }

  // Sets the level's time; MALA also evaluates the score and log-density of
  // the current states there (one evaluation of each per level).
  void enter_level(const LangevinLevel& level) {
    time = level.t;
    if (!oracle) return;
    m.setConstant(oracle->sde().mean_coeff(level.t));
    s.setConstant(oracle->sde().std(level.t));
    oracle->mixture().score(x, m, s, score);
    oracle->mixture().log_density(x, m, s, log_p);
  }

  // z <- standard normals of this run-wide step.
  void draw_noise(std::uint64_t step) {
    for (Eigen::Index i = 0; i < rows(); ++i)
      Stream(run.seed, Purpose::noise, global_row(i), step)
          .normals(z.row(i).data(), static_cast<int>(z.cols()));
  }

  // One unadjusted step x <- x + e s(x) + sqrt(2e) z.
  void unadjusted_step(double e, std::uint64_t step) {
    model.score_at_time(x, time, score);
    draw_noise(step);
    x += e * score + std::sqrt(2 * e) * z;
  }

  // One MALA step: the same move as a proposal y, accepted with probability
  // min(1, p(y) q(x | y) / (p(x) q(y | x))), q(y | x) = N(y; x + e s(x), 2e I).
  // score and log_p hold s(x) and log p(x) of the current states (exact for
  // the oracle, so they carry over from step to step). Returns the number
  // of accepted proposals.
  long adjusted_step(double e, std::uint64_t step) {
    draw_noise(step);
    proposal = x + e * score + std::sqrt(2 * e) * z;
    oracle->mixture().score(proposal, m, s, proposal_score);
    oracle->mixture().log_density(proposal, m, s, proposal_log_p);
    long accepted = 0;
    const Eigen::Index d = x.cols();
    for (Eigen::Index i = 0; i < rows(); ++i) {
      // log q(y | x) = -|sqrt(2e) z|^2 / (4e) = -|z|^2 / 2 and
      // log q(x | y) = -|x - y - e s(y)|^2 / (4e), up to the same constant.
      const double *xi = x.row(i).data(), *yi = proposal.row(i).data();
      const double *syi = proposal_score.row(i).data(), *zi = z.row(i).data();
      double forward = 0, backward = 0;
      for (Eigen::Index j = 0; j < d; ++j) {
        const double r = xi[j] - yi[j] - e * syi[j];
        forward += zi[j] * zi[j];
        backward += r * r;
      }
      const double log_ratio =
          proposal_log_p[i] - log_p[i] - backward / (4 * e) + 0.5 * forward;
      // A NaN ratio (a proposal out of floating-point range) compares false: rejected.
      if (std::log(Stream(run.seed, Purpose::accept, global_row(i), step).uniform()) < log_ratio) {
        x.row(i) = proposal.row(i);
        score.row(i) = proposal_score.row(i);
        log_p[i] = proposal_log_p[i];
        ++accepted;
      }
    }
    return accepted;
  }
};

// The step after which each of K frames is taken: round(k S / (K - 1)).
std::vector<long> frame_steps(int frames, long total_steps) {
  std::vector<long> steps;
  for (int k = 0; k < frames; ++k)
    steps.push_back(std::lround(double(k) * double(total_steps) / (frames - 1)));
  return steps;
}

std::string describe(const LangevinLevel& level) {
  return level.sigma > 0 ? fmt::format("sigma = {:.6g}", level.sigma)
                         : fmt::format("t = {:.6g}", level.t);
}

}  // namespace

LangevinResult run_langevin(const ScoreModel& model, std::size_t n, const LangevinOptions& o,
                            const LangevinInit& init, const LangevinRun& run, Progress& progress) {
  if (o.levels.empty()) throw Error("Langevin needs at least one level");
  if (o.steps < 1) throw Error(fmt::format("Langevin needs at least 1 step, got {}", o.steps));
  for (const LangevinLevel& level : o.levels) check_step_size(level.step);
  if (run.trajectory_frames == 1 || run.trajectory_frames < 0)
    throw Error("a trajectory needs at least 2 frames");
  check_init(init);
  if (init.kind == LangevinInit::Kind::points &&
      (!init.points || static_cast<std::size_t>(init.points->rows()) != n ||
       init.points->cols() != model.dim()))
    throw Error(fmt::format("initial points have shape ({}, {}), expected ({}, {})",
                            init.points ? init.points->rows() : 0,
                            init.points ? init.points->cols() : 0, n, model.dim()));
  // The exact log-density MALA needs is known only for the mixture oracle.
  const auto* oracle = o.mala ? dynamic_cast<const MixtureScore*>(&model) : nullptr;
  if (o.mala && !oracle)
    throw Error("MALA needs the exact log-density: use the mixture oracle (--mixture)");

  const long total_steps = static_cast<long>(o.levels.size()) * o.steps;
  LangevinResult result;
  result.x.resize(static_cast<Eigen::Index>(n), model.dim());
  result.score_evaluations = total_steps + (o.mala ? static_cast<long>(o.levels.size()) : 0);
  result.density_evaluations = o.mala ? result.score_evaluations : 0;
  if (o.mala) {
    result.accepted.assign(o.levels.size(), 0);
    result.proposals_per_level = static_cast<long>(n) * o.steps;
  }
  const int frames = run.trajectory_frames;
  if (frames > 0) {
    result.frame_steps = frame_steps(frames, total_steps);
    result.trajectory.resize(static_cast<Eigen::Index>(frames) * static_cast<Eigen::Index>(n),
                             model.dim());
  }
  std::mutex merge;

  parallel_for(n, kChunkRows, run.threads, [&](std::size_t begin, std::size_t end) {
    Chains c(model, oracle, run, begin, end);
    std::size_t next_frame = 0;
    auto record_frames = [&](long done) {
      for (; next_frame < result.frame_steps.size() && result.frame_steps[next_frame] == done;
           ++next_frame)
        result.trajectory.middleRows(
            static_cast<Eigen::Index>(next_frame * n + begin), c.rows()) = c.x;
    };
    std::vector<long> accepted(result.accepted.size(), 0);
    c.start(init);
    record_frames(0);
    long done = 0;
    for (std::size_t l = 0; l < o.levels.size(); ++l) {
      const LangevinLevel& level = o.levels[l];
      c.enter_level(level);
      for (int k = 0; k < o.steps; ++k) {
        const auto step = static_cast<std::uint64_t>(done);
        if (o.mala)
          accepted[l] += c.adjusted_step(level.step, step);
        else
          c.unadjusted_step(level.step, step);
        ++done;
        if (!c.x.allFinite())
          throw Error(fmt::format(
              "non-finite state after step {} of {} (level {} of {}, {}, step size {:.6g}); "
              "lower the step size",
              done, total_steps, l + 1, o.levels.size(), describe(level), level.step));
        record_frames(done);
        progress.advance(static_cast<std::size_t>(c.rows()));
      }
    }
    result.x.middleRows(static_cast<Eigen::Index>(begin), c.rows()) = c.x;
    std::lock_guard lock(merge);
    for (std::size_t l = 0; l < accepted.size(); ++l) result.accepted[l] += accepted[l];
  });
  return result;
}

}  // namespace sde

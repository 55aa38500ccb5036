// sde-langevin: Langevin MCMC from a score at a fixed time or noise scale,
// annealed Langevin dynamics (NCSN), optionally Metropolis-adjusted (MALA)
// with the exact mixture oracle, and the paper's corrector-only sampler
// (--snr, which is sde-sample's PC loop with no predictor).
#include <fmt/format.h>

#include "cli.hpp"
#include "error.hpp"
#include "io.hpp"
#include "langevin.hpp"
#include "metrics.hpp"
#include "sample.hpp"

namespace {

// The initial points of this shard's chains from a file of all N rows.
sde::Matrix read_init_points(const std::string& path, std::size_t& n, bool n_given,
                             const sde::cli::Shard& shard) {
  sde::Matrix all = sde::read_matrix(path);
  try {
    sde::require_finite(all);
  } catch (const sde::Error& e) {
    throw e.with_file(sde::input_name(path));
  }
  const auto rows = static_cast<std::size_t>(all.rows());
  if (n_given && rows != n)
    throw sde::Error(sde::input_name(path), fmt::format("has {} rows but -n is {}", rows, n));
  n = rows;
  return all.middleRows(static_cast<Eigen::Index>(shard.begin(n)),
                        static_cast<Eigen::Index>(shard.end(n) - shard.begin(n)));
}

}  // namespace

int main(int argc, char** argv) {
  sde::cli::Tool tool("sde-langevin", "Langevin MCMC and annealed Langevin dynamics from a score",
                      "sde-langevin --mixture data/seed000_1d.json -n 10000 --init uniform:-3,3 --steps 100 --step-size 0.01 -o lang.npy\n"
                      "sde-langevin --mixture data/seed001_1d.json -n 10000 --annealed --sigma-max 20 --sigma-min 0.1 --levels 10 --steps 100 --step-size 0.05 -o ald.npy\n"
                      "sde-langevin --model model.json -n 1000 --t 0.1 --steps 200 --step-size 0.001 -o chains.npy\n");
  auto& app = tool.app();
  std::size_t n = 1000;
  std::string init_spec = "normal:0,1";
  int steps = 100, levels = 10, trajectory = 0;
  double step_size = 0, t = 0, sigma = 0, snr = 0;
  bool annealed = false, mala = false;

  auto* n_opt = app.add_option("-n,--samples", n, "Number of chains (default: 1000, or the rows of an --init file)")
                    ->check(sde::cli::PositiveCount);
  auto* init_opt = app.add_option("--init", init_spec, "Start: uniform:A,B, normal:M,S (every coordinate) or a .npy file of N rows")
                       ->capture_default_str();
  app.add_option("--steps", steps, "Langevin steps (per noise level when annealed or with --snr)")
      ->check(sde::cli::PositiveCount)
      ->capture_default_str();
  auto* step_opt = app.add_option("--step-size", step_size, "E: x += E s(x) + sqrt(2E) z; annealed: alpha_i = E sigma_i^2 / sigma_min^2")
                       ->check(sde::cli::Positive);
  auto* t_opt = app.add_option("--t", t, "Time of the score (default 0: the data itself with --mixture)")
                    ->check(CLI::Range(0.0, 1.0));
  auto* sigma_opt = app.add_option("--sigma", sigma, "VE noise scale of the score instead of --t")
                        ->check(sde::cli::Positive)
                        ->excludes(t_opt);
  auto* annealed_opt = app.add_flag("--annealed", annealed, "Annealed Langevin over --levels geometric noise scales from --sigma-max down to --sigma-min")
                           ->excludes(t_opt)
                           ->excludes(sigma_opt);
  app.add_option("--levels", levels, "Noise levels (--annealed, --snr)")
      ->check(sde::cli::PositiveCount)
      ->capture_default_str();
  auto* mala_opt = app.add_flag("--mala", mala, "Metropolis-adjusted (needs --mixture): exact, reports the acceptance rate");
  app.add_option("--snr", snr, "Corrector-only sampling from the SDE's prior with this signal-to-noise ratio (paper Algorithms 4-5)")
      ->check(sde::cli::Positive)
      ->excludes(t_opt)
      ->excludes(sigma_opt)
      ->excludes(annealed_opt)
      ->excludes(mala_opt)
      ->excludes(init_opt)
      ->excludes(step_opt);
  app.add_option("--trajectory", trajectory, "Write K frames of the chains (K x N x d) instead of the final states")
      ->check(CLI::Range(2, 100000));
  tool.add_score_source();
  auto& seed = tool.add_seed();
  auto& shard = tool.add_shard();
  auto& output = tool.add_output();

  return tool.run(argc, argv, [&] {
    const sde::cli::ScoreSource source = tool.load_score_source();
    const bool corrector_only = snr > 0;
    if (!corrector_only && step_opt->count() == 0) throw sde::Error("--step-size is required (or --snr)");
    sde::Matrix init_points;
    sde::LangevinInit init;
    if (!corrector_only && !sde::is_init_distribution(init_spec)) {
      init_points = read_init_points(init_spec, n, n_opt->count() > 0, shard);
      init = {sde::LangevinInit::Kind::points, 0, 0, &init_points};
    } else if (!corrector_only) {
      init = sde::parse_init(init_spec);
    }
    const std::size_t first = shard.begin(n), rows = shard.end(n) - first;

    // Noise scales are VE: the oracle runs under VE over the --sigma-min/--sigma-max
    // range, and annealing spans that range (a model's own unless the flags are given).
    std::unique_ptr<sde::MixtureScore> ve_oracle;
    if ((annealed || sigma_opt->count() > 0) && source.mixture) {
      if (app.get_option("--sde")->count() > 0 && app.get_option("--sde")->as<std::string>() != "ve")
        throw sde::Error("noise scales (--sigma, --annealed) need --sde ve");
      ve_oracle = std::make_unique<sde::MixtureScore>(
          *source.mixture, sde::Sde::ve(app.get_option("--sigma-min")->as<double>(),
                                        app.get_option("--sigma-max")->as<double>()));
    }
    const sde::ScoreModel& model = ve_oracle ? *ve_oracle : *source.score;
    const sde::Sde& process = model.sde();
    auto range = [&](const char* flag, double own) {
      return app.get_option(flag)->count() > 0 ? app.get_option(flag)->as<double>() : own;
    };
    auto& summary = tool.summary();
    summary["score"] = source.description;
    summary["sde"] = sde::sde_to_json(process);
    summary["rows"] = {first, first + rows};

    sde::Matrix x, frames;
    double target_t = 0;  // the time whose p_t the chains target (for the quality figures)
    if (corrector_only) {
      sde::PcOptions pc;
      pc.predictor = sde::Predictor::none;
      pc.corrector = sde::Corrector::langevin;
      pc.steps = levels;
      pc.corrector_steps = steps;
      pc.snr = snr;
      sde::SampleRun run;
      run.seed = seed;
      run.first_row = first;
      run.threads = tool.threads();
      run.trajectory_frames = trajectory;
      auto progress = tool.progress("langevin", rows);
      sde::SampleResult result = sde::sample_pc(model, rows, pc, run, *progress);
      progress.reset();
      x = std::move(result.x);
      frames = std::move(result.trajectory);
      summary["mode"] = "corrector";
      summary["nfe"] = result.nfe.empty() ? 0 : result.nfe.front();
      if (trajectory > 0) summary["trajectory_times"] = result.frame_times;
    } else {
      sde::LangevinOptions options;
      options.steps = steps;
      options.mala = mala;
      options.levels = annealed ? sde::annealed_levels(process, range("--sigma-max", process.sigma_max),
                                                       range("--sigma-min", process.sigma_min), levels, step_size)
                       : sigma_opt->count() ? sde::noise_scale_level(process, sigma, step_size)
                                            : sde::fixed_time_level(process, t, step_size);
      const sde::LangevinRun run{seed, first, tool.threads(), trajectory};
      auto progress = tool.progress("langevin", rows * options.levels.size() * static_cast<std::size_t>(steps));
      sde::LangevinResult result = sde::run_langevin(model, rows, options, init, run, *progress);
      progress.reset();
      x = std::move(result.x);
      frames = std::move(result.trajectory);
      target_t = options.levels.back().t;
      summary["mode"] = annealed ? "annealed" : "langevin";
      summary["nfe"] = result.score_evaluations;
      sde::Json level_list = sde::Json::array();
      for (std::size_t l = 0; l < options.levels.size(); ++l) {
        const sde::LangevinLevel& level = options.levels[l];
        sde::Json entry = {{"t", level.t}, {"step", level.step}};
        if (level.sigma > 0) entry["sigma"] = level.sigma;
        if (mala) entry["acceptance_rate"] = result.acceptance_rate(l);
        level_list.push_back(entry);
      }
      summary["levels"] = level_list;
      if (mala) {
        summary["density_evaluations"] = result.density_evaluations;
        summary["acceptance_rate"] = result.acceptance_rate();
        sde::cli::note(tool, fmt::format("acceptance rate {:.4f}", result.acceptance_rate()));
      }
      if (trajectory > 0) summary["trajectory_steps"] = result.frame_steps;
    }

    if (trajectory > 0)
      sde::cli::write_array(output, {static_cast<std::size_t>(trajectory), rows,
                                     static_cast<std::size_t>(x.cols())},
                            frames.data());
    else
      sde::cli::write_matrix(output, x);
    if (const auto* oracle = dynamic_cast<const sde::MixtureScore*>(&model)) {
      // Quality against the distribution the chains target: p_t at the last level.
      const sde::MixtureFit fit = sde::fit_to_mixture(x, sde::perturbed_mixture(*oracle, target_t));
      summary["quality"] = {{"target_t", target_t},
                            {"weights", fit.weights},
                            {"weight_se", fit.weight_se},
                            {"mean_log_density", fit.mean_log_density},
                            {"mean_log_density_se", fit.log_density_se}};
    }
  });
}

// sde-sample: draws samples by reversing the SDE (predictor-corrector), the
// probability-flow ODE, or the fast solvers (DDIM, DPM-Solver++, UniPC).
#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli.hpp"
#include "error.hpp"
#include "metrics.hpp"
#include "conditional.hpp"
#include "sample.hpp"

int main(int argc, char** argv) {
  sde::cli::Tool tool("sde-sample", "Draw samples by reversing an SDE from a score model",
                      "sde-sample --model model.json -n 10000 -o pc.npy\n"
                      "sde-sample --model model.json -n 10000 --sampler ode -o ode.npy\n"
                      "sde-sample --model model.json -n 10000 --sampler ddim --eta 1 --steps 50 -o fast.npy\n"
                      "sde-sample --mixture data/ring8.json --sde ve -n 10000 --summary s.json -o exact.npy\n");
  auto& app = tool.app();
  std::size_t n = 1000;
  std::string sampler = "pc", predictor = "reverse-diffusion", corrector = "langevin";
  std::string solver = "dopri5", schedule = "karras", latent_path;
  int steps = 0;
  sde::PcOptions pc;
  sde::OdeSampleOptions ode;
  sde::FastOptions fast;
  double eps = -1;
  bool no_denoise = false;
  int trajectory = 0;
  std::string known_path, imputation;
  int class_label = -1;
  double guidance = 1.0;

  app.add_option("-n,--samples", n, "Number of samples")->check(sde::cli::PositiveCount)->capture_default_str();
  app.add_option("--sampler", sampler, "pc, ode, ddim, dpm-solver or unipc")
      ->check(CLI::IsMember({"pc", "ode", "ddim", "dpm-solver", "unipc"}))
      ->capture_default_str();
  app.add_option("--steps", steps,
                 "Steps (default: pc 1000, ode euler/heun 100, dpm-solver and unipc 60, "
                 "with --stochastic 100, ddim and dpm-solver --order 1 200)")
      ->check(sde::cli::PositiveCount);
  app.add_option("--eps", eps, "Smallest time (default 1e-3 VP/sub-VP, 1e-5 VE)")->check(sde::cli::Positive);
  app.add_flag("--no-denoise", no_denoise, "Skip the final Tweedie denoising step");
  auto* g_pc = app.add_option_group("PC sampler");
  g_pc->add_option("--predictor", predictor, "reverse-diffusion, euler-maruyama, ancestral, none")
      ->check(CLI::IsMember({"reverse-diffusion", "euler-maruyama", "ancestral", "none"}))
      ->capture_default_str();
  g_pc->add_option("--corrector", corrector, "langevin, ald or none")
      ->check(CLI::IsMember({"langevin", "ald", "none"}))
      ->capture_default_str();
  g_pc->add_option("--snr", pc.snr, "Corrector signal-to-noise ratio (the paper: 0.16 for VE; smaller widens p_t less)")
      ->check(sde::cli::Positive)
      ->capture_default_str();
  g_pc->add_option("--corrector-steps", pc.corrector_steps, "Corrector steps per predictor step")
      ->check(sde::cli::NonNegativeCount)
      ->capture_default_str();
  auto* g_ode = app.add_option_group("ODE sampler");
  g_ode->add_option("--solver", solver, "dopri5 (adaptive, per sample), euler or heun")
      ->check(CLI::IsMember({"dopri5", "euler", "heun"}))
      ->capture_default_str();
  g_ode->add_option("--rtol", ode.tolerances.rtol, "Relative tolerance")->check(sde::cli::Positive)->capture_default_str();
  g_ode->add_option("--atol", ode.tolerances.atol, "Absolute tolerance")->check(sde::cli::Positive)->capture_default_str();
  g_ode->add_option("--latent", latent_path, "Start from these x(T) rows (.npy) instead of the prior");
  auto* g_fast = app.add_option_group("Fast solvers");
  g_fast->add_option("--order", fast.order, "DPM-Solver++ and UniPC multistep order")
      ->check(CLI::Range(1, 3))
      ->capture_default_str();
  g_fast->add_option("--eta", fast.eta, "DDIM stochasticity")->check(sde::cli::NonNegative)->capture_default_str();
  g_fast->add_flag("--stochastic", fast.stochastic,
                   "DPM-Solver++ of the reverse SDE (order 1 or 2): new noise each step");
  g_fast->add_option("--schedule", schedule, "Time steps: uniform, logsnr or karras")
      ->check(CLI::IsMember({"uniform", "logsnr", "karras"}))
      ->capture_default_str();
  g_fast->add_option("--times", fast.times, "Explicit decreasing times (comma-separated)")
      ->delimiter(',');
  app.add_option("--trajectory", trajectory, "Write K frames of the reverse process (K x N x d) instead of the samples")
      ->check(CLI::Range(2, 100000));
  auto* g_cond = app.add_option_group("Conditional generation");
  g_cond->add_option("--known", known_path, "Imputation: .npy of width d, NaN = sample, finite = hold (1 row or N)");
  g_cond->add_option("--imputation", imputation, "exact (oracle; default there) or replace (Appendix I.2; PC)")
      ->check(CLI::IsMember({"exact", "replace"}));
  g_cond->add_option("--class", class_label, "Class-conditional: mixture component k (oracle)")
      ->check(sde::cli::NonNegativeCount);
  g_cond->add_option("--guidance", guidance, "Classifier guidance weight (1: the exact conditional)")
      ->capture_default_str();
  tool.add_score_source(/*with_prior=*/true, /*sde_for_oracle_only=*/true);
  auto& seed = tool.add_seed();
  auto& shard = tool.add_shard();
  auto& output = tool.add_output();

  // The samplers each sampler's own option applies to: given to another,
  // it would have no effect, so it is a usage error.
  const std::vector<std::pair<const char*, std::vector<std::string>>> applies_to = {
      {"--predictor", {"pc"}},   {"--corrector", {"pc"}},       {"--snr", {"pc"}},
      {"--corrector-steps", {"pc"}}, {"--solver", {"ode"}},     {"--rtol", {"ode"}},
      {"--atol", {"ode"}},       {"--latent", {"ode", "ddim", "dpm-solver", "unipc"}},
      {"--order", {"dpm-solver", "unipc"}}, {"--eta", {"ddim"}}, {"--stochastic", {"dpm-solver"}},
      {"--schedule", {"ddim", "dpm-solver", "unipc"}}, {"--times", {"ddim", "dpm-solver", "unipc"}}};
  app.final_callback([&] {  // during parsing, so a usage error (exit 2)
    const auto given = [&](const char* name) { return app.get_option(name)->count() > 0; };
    for (const auto& [name, samplers] : applies_to)
      if (given(name) && std::find(samplers.begin(), samplers.end(), sampler) == samplers.end())
        throw CLI::ValidationError(name, fmt::format("applies to --sampler {} only", fmt::join(samplers, ", ")));
    for (const char* name : {"--rtol", "--atol"})
      if (given(name) && solver != "dopri5") throw CLI::ValidationError(name, "applies to --solver dopri5 only");
    if (given("--steps") && given("--times"))
      throw CLI::ValidationError("--steps", "--times already gives the steps");
    if (given("--steps") && sampler == "ode" && solver == "dopri5")
      throw CLI::ValidationError("--steps", "does not apply to the adaptive --solver dopri5 (its accuracy is --rtol/--atol)");
  });

  return tool.run(argc, argv, [&] {
    const sde::cli::ScoreSource source = tool.load_score_source();
    sde::SampleRun run;
    run.seed = seed;
    run.first_row = shard.begin(n);
    run.threads = tool.threads();
    run.trajectory_frames = trajectory;
    const std::size_t rows = shard.end(n) - run.first_row;
    sde::Matrix latent;
    if (!latent_path.empty()) {
      latent = sde::read_matrix(latent_path);
      if (static_cast<std::size_t>(latent.rows()) != n)
        throw sde::Error(latent_path, fmt::format("has {} rows but -n is {}", latent.rows(), n));
      latent = latent.middleRows(static_cast<Eigen::Index>(run.first_row),
                                 static_cast<Eigen::Index>(rows)).eval();
      run.latent = &latent;
    }
    pc.eps = ode.eps = fast.eps = eps;
    pc.denoise = ode.denoise = fast.denoise = !no_denoise;
    auto progress = tool.progress("sample", rows);
    int steps_used = 0;  // the step count the sampler ran with (0: adaptive)
    // One sampler, chosen by the options, for whatever score it is given.
    const sde::Sampler run_sampler = [&](const sde::ScoreModel& score, std::size_t count,
                                         const sde::SampleRun& r) {
      if (sampler == "pc") {
        pc.predictor = sde::parse_predictor(predictor);
        pc.corrector = sde::parse_corrector(corrector);
        pc.steps = steps_used = steps > 0 ? steps : 1000;
        return sde::sample_pc(score, count, pc, r, *progress);
      }
      if (sampler == "ode") {
        ode.solver = sde::parse_ode_solver(solver);
        ode.steps = steps > 0 ? steps : 100;
        if (ode.solver != sde::OdeSolver::dopri5) steps_used = ode.steps;
        return sde::sample_ode(score, count, ode, r, *progress);
      }
      fast.schedule = sde::parse_schedule(schedule);
      fast.unipc = sampler == "unipc";
      fast.steps = steps > 0 ? steps : sde::default_fast_steps(sampler == "ddim", fast);
      steps_used = static_cast<int>(sde::time_grid(score.sde(), fast).size()) - 1;  // or --times
      return sampler == "ddim" ? sde::sample_ddim(score, count, fast, r, *progress)
                               : sde::sample_dpm_solver(score, count, fast, r, *progress);
    };
    sde::Matrix known;
    if (!known_path.empty()) {
      known = sde::read_matrix(known_path);
      try {
        sde::check_known(known, source.score->dim(), n);
      } catch (const sde::Error& e) {
        throw e.with_file(known_path);
      }
      if (imputation.empty()) imputation = source.mixture ? "exact" : "replace";
    }
    run.exact_prior = source.exact_prior();
    if (run.exact_prior && (class_label >= 0 || !known_path.empty() || run.latent))
      throw sde::Error("--prior exact is the unconditional p_T: not with --class, --known or --latent");
    if (class_label >= 0 && !source.mixture)
      throw sde::Error("--class needs the exact classifier of the oracle (--mixture)");
    if (!imputation.empty() && known_path.empty()) throw sde::Error("--imputation needs --known");
    sde::SampleResult result;
    if (!known_path.empty() && imputation == "exact") {
      if (!source.mixture) throw sde::Error("--imputation exact needs the oracle (--mixture)");
      if (class_label >= 0) throw sde::Error("--class and --known cannot be combined");
      if (trajectory > 0) throw sde::Error("--trajectory is not available with exact imputation");
      result = sde::impute_exact(*source.mixture, source.score->sde(), known, rows, run, run_sampler);
    } else if (class_label >= 0) {
      result = run_sampler(sde::ClassGuidedScore(*source.mixture, source.score->sde(), class_label, guidance),
                           rows, run);
    } else {
      if (!known_path.empty()) run.known = &known;
      result = run_sampler(*source.score, rows, run);
    }
    progress.reset();

    if (trajectory > 0) {
      sde::cli::write_array(output, {static_cast<std::size_t>(trajectory), rows,
                                     static_cast<std::size_t>(result.x.cols())},
                            result.trajectory.data());
      tool.summary()["trajectory_times"] = result.frame_times;
    } else {
      sde::cli::write_matrix(output, result.x);
    }

    auto& summary = tool.summary();
    if (steps_used > 0) summary["settings"]["steps"] = steps_used;
    summary["score"] = source.description;
    summary["sde"] = sde::sde_to_json(source.score->sde());
    summary["rows"] = {run.first_row, run.first_row + rows};
    sde::cli::add_nfe(summary, result.nfe);
    if (source.mixture) {  // quality against the exact mixture, for free
      const sde::MixtureFit fit = sde::fit_to_mixture(result.x, *source.mixture);
      summary["quality"] = {{"weights", fit.weights},
                            {"mean_log_density", fit.mean_log_density},
                            {"mean_log_density_se", fit.log_density_se}};
    }
  });
}

// sde-perturb: draws x(t) ~ p_t, exactly from a mixture spec or by pushing
// given data through the forward SDE; several times at once give one
// coherent path per sample (a K x N x d forward-noising strip).
#include <fmt/format.h>

#include "cli.hpp"
#include "error.hpp"
#include "forward.hpp"
#include "spec.hpp"

int main(int argc, char** argv) {
  sde::cli::Tool tool("sde-perturb", "Draw x(t) ~ p_t from a mixture spec or data x(0).npy",
                      "sde-perturb --mixture data/ring8.json -n 20000 -o data.npy\n"
                      "sde-perturb data.npy --t 0.5 --sde vp -o xt.npy\n"
                      "sde-perturb --mixture data/ring8.json -n 1000 -o - | sde-perturb - --frames 6 -o strip.npy\n");
  std::string data_path;
  std::size_t n = 0;
  double t = 0.0;
  std::vector<double> times;
  int frames = 0;
  std::string method = "kernel";
  int steps = 1000;
  auto& app = tool.app();
  auto* data_opt = app.add_option("data", data_path, "x(0) as an N x d .npy ('-' for stdin)");
  auto& mixture_path = tool.add_mixture(false);
  app.get_option("--mixture")->excludes(data_opt);
  auto* n_opt = app.add_option("-n,--samples", n, "Number of samples (with --mixture)")
                    ->check(sde::cli::PositiveCount);
  auto* t_opt = app.add_option("--t", t, "Time in [0, 1] (0: clean data)")
                    ->check(CLI::Range(0.0, 1.0))
                    ->capture_default_str();
  auto* times_opt = app.add_option("--times", times, "Comma-separated times: K x N x d output")
                        ->delimiter(',')
                        ->excludes(t_opt);
  app.add_option("--frames", frames, "K equally spaced times in [0, --t]: K x N x d output")
      ->check(CLI::Range(2, 100000))
      ->excludes(times_opt);
  app.add_option("--method", method, "Forward simulation: exact kernel or Euler-Maruyama")
      ->check(CLI::IsMember({"kernel", "euler-maruyama"}))
      ->capture_default_str();
  app.add_option("--steps", steps, "Euler-Maruyama steps over the whole path")
      ->check(sde::cli::PositiveCount)
      ->capture_default_str();
  auto& seed = tool.add_seed();
  auto& sde_options = tool.add_sde();
  auto& shard = tool.add_shard();
  auto& output = tool.add_output();

  return tool.run(argc, argv, [&] {
    const sde::Sde process = sde_options.make();
    const bool strip = !times.empty() || frames > 0;
    if (times.empty() && frames > 0)
      for (int k = 0; k < frames; ++k) times.push_back(t * k / (frames - 1));
    if (times.empty()) times = {t};
    sde::check_times(process, times);

    sde::Matrix x0;
    std::size_t first = 0;
    if (!mixture_path.empty()) {
      if (n_opt->count() == 0) throw sde::Error("--mixture needs -n (number of samples)");
      const sde::GaussianMixture mixture = sde::read_mixture(mixture_path);
      first = shard.begin(n);
      x0.resize(static_cast<Eigen::Index>(shard.end(n) - first), mixture.dim());
      mixture.sample(seed, first, x0);
    } else {
      if (data_path.empty()) throw sde::Error("give data x(0).npy or --mixture spec.json");
      if (n_opt->count() > 0) throw sde::Error("-n only applies to --mixture (data sets N)");
      sde::Matrix all = sde::read_matrix(data_path);
      try {
        sde::require_finite(all);
      } catch (const sde::Error& e) {
        throw e.with_file(data_path == "-" ? "<stdin>" : data_path);
      }
      const auto rows = static_cast<std::size_t>(all.rows());
      first = shard.begin(rows);
      x0 = all.middleRows(static_cast<Eigen::Index>(first),
                          static_cast<Eigen::Index>(shard.end(rows) - first));
    }

    sde::ForwardOptions options;
    options.method = method == "kernel" ? sde::ForwardMethod::kernel
                                        : sde::ForwardMethod::euler_maruyama;
    options.em_steps = steps;
    options.seed = seed;
    options.first_row = first;
    options.threads = tool.threads();
    auto progress = tool.progress("perturb", static_cast<std::size_t>(x0.rows()));
    const sde::Matrix out = sde::simulate_forward(process, x0, times, options, *progress);

    const auto rows = static_cast<std::size_t>(x0.rows()), d = static_cast<std::size_t>(x0.cols());
    if (strip)
      sde::cli::write_array(output, {times.size(), rows, d}, out.data());
    else
      sde::cli::write_matrix(output, out);

    sde::Json kernel = sde::Json::array();
    for (double tk : times)
      kernel.push_back({{"t", tk}, {"mean_coeff", process.mean_coeff(tk)}, {"std", process.std(tk)}});
    tool.summary()["sde"] = sde::sde_to_json(process);
    tool.summary()["rows"] = {first, first + rows};
    tool.summary()["dim"] = d;
    tool.summary()["kernel"] = kernel;
  });
}

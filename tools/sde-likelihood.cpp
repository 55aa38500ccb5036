// sde-likelihood: log p_0(x) per row through the probability-flow ODE, with
// bits/dim and the latent encoding x(T); or the log-density on a 2-D grid.
#include <fmt/format.h>

#include <cmath>
#include <numbers>

#include "cli.hpp"
#include "error.hpp"
#include "io.hpp"
#include "likelihood.hpp"

int main(int argc, char** argv) {
  sde::cli::Tool tool("sde-likelihood", "Log-likelihood of data through the probability-flow ODE",
                      "sde-likelihood --model model.json data.npy --truth data/ring8.json -o logp.npy\n"
                      "sde-likelihood --model model.json --grid -6,6,-6,6,100,100 -o grid.npy\n"
                      "sde-likelihood --mixture data/ring8.json data.npy --summary lik.json -o logp.npy\n");
  auto& app = tool.app();
  std::string data_path, divergence = "auto", latent_path;
  std::vector<double> grid;
  sde::LikelihoodOptions opt;
  double dequantize = 0;
  std::string truth_path;
  auto* data_opt = app.add_option("data", data_path, "Points, N x d .npy ('-' for stdin)");
  app.add_option("--grid", grid, "xmin,xmax,ymin,ymax,nx,ny: a 2-D grid (ny x nx output)")
      ->delimiter(',')
      ->expected(6)
      ->excludes(data_opt);
  app.add_option("--rtol", opt.tolerances.rtol, "Relative tolerance")->check(sde::cli::Positive)->capture_default_str();
  app.add_option("--atol", opt.tolerances.atol, "Absolute tolerance")->check(sde::cli::Positive)->capture_default_str();
  app.add_option("--eps", opt.eps, "Start time of the ODE")->check(sde::cli::Positive)->capture_default_str();
  app.add_option("--divergence", divergence,
                 fmt::format("auto, exact, hutchinson-gaussian or hutchinson-rademacher (auto: exact with "
                             "the oracle or for d <= {}, else hutchinson-rademacher)",
                             sde::kExactDivergenceMaxDim))
      ->check(CLI::IsMember({"auto", "exact", "hutchinson-gaussian", "hutchinson-rademacher"}))
      ->capture_default_str();
  app.add_option("--probes", opt.probes, "Hutchinson probes per point")->check(sde::cli::PositiveCount)->capture_default_str();
  app.add_option("--latent", latent_path, "Also write the encodings x(T) here (.npy)");
  app.add_option("--dequantize", dequantize,
                 "Bits/dim of discrete data: add d log2(K) for K levels (0: plain -log p / d ln 2)")
      ->check(sde::cli::NonNegative);
  app.add_option("--truth", truth_path,
                 "Mixture spec of the true density: report mean |log p_hat - log p| (default with --mixture: that mixture)");
  tool.add_score_source(/*with_prior=*/true, /*sde_for_oracle_only=*/true);
  auto& seed = tool.add_seed();
  auto& shard = tool.add_shard();
  auto& output = tool.add_output();

  return tool.run(argc, argv, [&] {
    const sde::cli::ScoreSource source = tool.load_score_source();
    const int d = source.score->dim();
    // Checked before the work: a failed run writes nothing.
    const std::optional<sde::GaussianMixture> truth =
        truth_path.empty() ? source.mixture : std::optional(sde::read_mixture(truth_path));
    if (truth && truth->dim() != d)
      throw sde::Error(truth_path, fmt::format("has dimension {}, the score {}", truth->dim(), d));
    sde::Matrix x;
    if (!grid.empty()) {
      if (d != 2) throw sde::Error(fmt::format("--grid needs a 2-D score, this one has d = {}", d));
      const auto nx = static_cast<Eigen::Index>(grid[4]), ny = static_cast<Eigen::Index>(grid[5]);
      if (nx < 2 || ny < 2 || grid[4] != double(nx) || grid[5] != double(ny) || !(grid[1] > grid[0]) || !(grid[3] > grid[2]))
        throw sde::Error("--grid: need xmin < xmax, ymin < ymax and integer nx, ny >= 2");
      x.resize(nx * ny, 2);  // row-major over (y, x): reshapes to ny x nx
      for (Eigen::Index r = 0; r < ny; ++r)
        for (Eigen::Index c = 0; c < nx; ++c)
          x.row(r * nx + c) << grid[0] + (grid[1] - grid[0]) * c / (nx - 1),
              grid[2] + (grid[3] - grid[2]) * r / (ny - 1);
    } else {
      if (data_path.empty()) throw sde::Error("give data.npy or --grid");
      x = sde::read_matrix(data_path);
      try {
        sde::require_finite(x);
        if (x.cols() != d)
          throw sde::Error(fmt::format("has {} columns but the score's dimension is {}", x.cols(), d));
      } catch (const sde::Error& e) {
        throw e.with_file(sde::input_name(data_path));
      }
    }
    const auto n = static_cast<std::size_t>(x.rows());
    opt.first_row = shard.begin(n);
    x = x.middleRows(static_cast<Eigen::Index>(opt.first_row),
                     static_cast<Eigen::Index>(shard.end(n) - opt.first_row)).eval();
    opt.divergence = divergence == "auto" ? sde::default_divergence(d, source.mixture.has_value())
                                          : sde::parse_divergence(divergence);
    opt.seed = seed;
    opt.threads = tool.threads();
    opt.exact_prior = source.exact_prior();
    auto progress = tool.progress("likelihood", static_cast<std::size_t>(x.rows()));
    const sde::LikelihoodResult r = sde::log_likelihood(*source.score, x, opt, *progress);
    progress.reset();

    if (!grid.empty())
      sde::cli::write_array(output, {static_cast<std::size_t>(grid[5]), static_cast<std::size_t>(grid[4])},
                            r.log_density.data());
    else
      sde::cli::write_array(output, {static_cast<std::size_t>(x.rows())}, r.log_density.data());
    if (!latent_path.empty()) {
      sde::cli::OutputOptions latent = output;
      latent.path = latent_path;
      sde::cli::write_matrix(latent, r.latent);
    }

    auto& summary = tool.summary();
    const double rows = static_cast<double>(x.rows());
    const double mean = rows > 0 ? -r.log_density.mean() : 0.0;
    const double se = rows > 1 ? std::sqrt((r.log_density.array() + mean).square().sum() / (rows - 1) / rows) : 0.0;
    summary["score"] = source.description;
    summary["sde"] = sde::sde_to_json(source.score->sde());
    summary["rows"] = {opt.first_row, opt.first_row + x.rows()};
    summary["divergence"] = sde::to_string(opt.divergence);
    summary["nll_mean"] = mean;
    summary["nll_se"] = se;
    summary["bits_per_dim"] = mean / (d * std::numbers::ln2) + (dequantize > 0 ? std::log2(dequantize) : 0.0);
    sde::cli::add_nfe(summary, r.nfe);
    if (truth) {  // the exact answer, for free
      double err = 0;
      for (Eigen::Index i = 0; i < x.rows(); ++i)
        err += std::abs(r.log_density(i) - truth->log_density(x.row(i).data()));
      summary["mean_abs_error_vs_exact"] = rows > 0 ? err / rows : 0.0;
    }
  });
}

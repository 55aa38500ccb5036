// sde-score: what a score source says at given points and times: the score
// grad_x log p_t, the denoiser E[x(0) | x(t)] = (x + s^2 score) / m, the
// noise prediction -s score, or (the exact mixture only) log p_t itself.
// With a model and --truth, its error against the exact mixture goes to the
// summary, so a trained network can be checked where it matters.
#include <fmt/format.h>

#include <cmath>

#include "cli.hpp"
#include "enum_names.hpp"
#include "error.hpp"
#include "io.hpp"

namespace {

// A usage error unless g is xmin,xmax,ymin,ymax,nx,ny with xmin < xmax,
// ymin < ymax and whole nx, ny >= 2 (at most 1e8 points).
void check_grid(const std::vector<double>& g) {
  if (g.size() != 6) throw CLI::ValidationError("--grid", "expected xmin,xmax,ymin,ymax,nx,ny");
  const double nx = g[4], ny = g[5];
  if (!(g[0] < g[1] && g[2] < g[3]))
    throw CLI::ValidationError("--grid", "expected xmin < xmax and ymin < ymax");
  if (nx != std::floor(nx) || ny != std::floor(ny) || !(nx >= 2 && ny >= 2 && nx * ny <= 1e8))
    throw CLI::ValidationError("--grid", "nx and ny must be whole numbers >= 2, nx ny at most 1e8");
}

// The nx ny x 2 points of a checked --grid: x varies fastest, row j nx + i
// is (x_i, y_j), both ends included.
sde::Matrix grid_points(const std::vector<double>& g) {
  const auto cols = Eigen::Index(g[4]), rows = Eigen::Index(g[5]);
  sde::Matrix x(cols * rows, 2);
  for (Eigen::Index j = 0; j < rows; ++j)
    for (Eigen::Index i = 0; i < cols; ++i) {
      x(j * cols + i, 0) = g[0] + (g[1] - g[0]) * double(i) / double(cols - 1);
      x(j * cols + i, 1) = g[2] + (g[3] - g[2]) * double(j) / double(rows - 1);
    }
  return x;
}

// The N times of --times FILE (N or N x 1 values), each in [lowest, 1].
sde::Vector read_times(const std::string& path, Eigen::Index n, double lowest) {
  const sde::Matrix m = sde::read_matrix(path);
  const std::string name = sde::input_name(path);
  if (m.cols() != 1) throw sde::Error(name, fmt::format("expected N or N x 1 times, got {} columns", m.cols()));
  if (m.rows() != n) throw sde::Error(name, fmt::format("has {} times for {} points", m.rows(), n));
  for (Eigen::Index i = 0; i < n; ++i)
    if (!(m(i, 0) >= lowest && m(i, 0) <= 1))
      throw sde::Error(name, fmt::format("time {} (row {}) is outside [{}, 1]", m(i, 0), i, lowest));
  return m.col(0);
}

}  // namespace

int main(int argc, char** argv) {
  sde::cli::Tool tool("sde-score", "The score, denoiser, noise prediction or exact log-density at given points and times",
                      "sde-score --model model.json points.npy --t 0.1 -o score.npy\n"
                      "sde-score --model model.json --grid=-6,6,-6,6,25,25 --t 0.1 --truth data/ring8.json -o field.npy\n"
                      "sde-score --mixture data/ring8.json points.npy --times t.npy --what log-density -o logp.npy\n");
  auto& app = tool.app();
  std::string points_path, times_path, what_name = "score", truth_path;
  std::vector<double> grid;
  double t = 0;
  auto* points_opt = app.add_option("points", points_path, "N x d points (.npy, '-' for stdin)");
  auto* grid_opt = app.add_option("--grid", grid, "A 2-D grid instead of points: xmin,xmax,ymin,ymax,nx,ny (x fastest)")
                       ->delimiter(',')
                       ->excludes(points_opt);
  auto* t_opt = app.add_option("--t", t, "One time for every point")->check(CLI::Range(0.0, 1.0));
  app.add_option("--times", times_path, "A time per point: N or N x 1 values (.npy)")->excludes(t_opt);
  app.add_option("--what", what_name, "score | denoiser (E[x(0) | x(t)]) | noise (-std(t) score) | log-density (--mixture only)")
      ->capture_default_str();
  auto* truth_opt = app.add_option("--truth", truth_path, "With --model: the exact mixture, to report the error in the summary");
  tool.add_score_source(/*with_prior=*/false, /*sde_for_oracle_only=*/true);
  auto& output = tool.add_output();
  app.final_callback([&] {
    if (points_opt->count() == 0 && grid_opt->count() == 0) throw CLI::RequiredError("points or --grid");
    if (grid_opt->count() > 0) check_grid(grid);
    if (t_opt->count() == 0 && app.get_option("--times")->count() == 0) throw CLI::RequiredError("--t or --times");
    const sde::ScoreQuantity what = [&] {
      try {
        return sde::parse_name(sde::kScoreQuantityNames, what_name, "quantity");
      } catch (const sde::Error& e) {
        throw CLI::ValidationError("--what", e.what());
      }
    }();
    const bool model = app.get_option("--model")->count() > 0;
    if (what == sde::ScoreQuantity::log_density && model)
      throw CLI::ValidationError("--what", "log-density is known only for --mixture");
    if (truth_opt->count() > 0 && !model) throw CLI::ValidationError("--truth", "needs --model (a --mixture is exact)");
    if (model && t_opt->count() > 0 && t == 0)
      throw CLI::ValidationError("--t", "a model's score needs t > 0 (it divides by std(t))");
  });

  return tool.run(argc, argv, [&] {
    const sde::ScoreQuantity what = sde::parse_name(sde::kScoreQuantityNames, what_name, "quantity");
    const sde::cli::ScoreSource source = tool.load_score_source();
    std::optional<sde::GaussianMixture> truth;
    if (!truth_path.empty()) truth = sde::read_mixture(truth_path);
    sde::Matrix x = grid_opt->count() ? grid_points(grid) : sde::read_matrix(points_path);
    if (!grid_opt->count()) {
      try {
        sde::require_finite(x);
      } catch (const sde::Error& e) {
        throw e.with_file(sde::input_name(points_path));
      }
    }
    const int d = source.score->dim();
    if (x.cols() != d)
      throw sde::Error(grid_opt->count() ? "--grid" : sde::input_name(points_path),
                       fmt::format("points have {} columns, the score {}", x.cols(), d));
    if (truth && truth->dim() != d)
      throw sde::Error(truth_path, fmt::format("the mixture has dimension {}, the model {}", truth->dim(), d));
    // A model's score divides by std(t), which is 0 at t = 0.
    const double lowest = source.mixture ? 0.0 : std::nextafter(0.0, 1.0);
    const sde::Vector times = t_opt->count() ? sde::Vector::Constant(x.rows(), t) : read_times(times_path, x.rows(), lowest);

    const sde::GaussianMixture* exact = source.mixture ? &*source.mixture : nullptr;
    const sde::Matrix out = sde::evaluate_quantity(*source.score, exact, what, x, times, tool.threads());
    auto& summary = tool.summary();
    summary["score"] = source.description;
    summary["sde"] = sde::sde_to_json(source.score->sde());
    summary["what"] = what_name;
    summary["rows"] = x.rows();
    if (truth) {
      const sde::MixtureScore oracle(*truth, source.score->sde());
      const sde::Matrix want = sde::evaluate_quantity(oracle, &*truth, what, x, times, tool.threads());
      const double error = (out - want).norm(), scale = want.norm();
      summary["truth"] = {{"relative_error", scale > 0 ? error / scale : error},
                          {"max_abs_error", (out - want).cwiseAbs().maxCoeff()}};
      sde::cli::note(tool, fmt::format("relative error against the exact {}: {:.4g}", what_name,
                                       scale > 0 ? error / scale : error));
    }
    if (what == sde::ScoreQuantity::log_density)
      sde::cli::write_array(output, {std::size_t(out.rows())}, out.data());
    else
      sde::cli::write_matrix(output, out);
  });
}

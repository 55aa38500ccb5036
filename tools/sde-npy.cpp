// sde-npy: look at, join, cut and convert .npy arrays, and measure sample quality.
// Every subcommand writes its result to -o, stdout by default: an array, CSV,
// or JSON (one line per result, for jq and scripts).
#include <fmt/core.h>

#include <algorithm>
#include <functional>
#include <numeric>
#include <optional>

#include "cli.hpp"
#include "error.hpp"
#include "io.hpp"
#include "metrics.hpp"
#include "text_arrays.hpp"

namespace {

using sde::Error;
using sde::Json;
using sde::NpyArray;
using Shape = std::vector<std::size_t>;

// Where results go. Arrays keep the inputs' dtype unless --dtype is given (f4
// only when every input is float32), so joining f4 shards reproduces the bytes
// of the unsharded run.
struct Sink {
  const sde::cli::OutputOptions& out;
  const CLI::Option* dtype_option;

  void array(const Shape& shape, const std::vector<double>& data, bool inputs_f4) const {
    sde::cli::OutputOptions target = out;
    if (dtype_option->count() == 0) target.dtype = inputs_f4 ? "f4" : "f8";
    sde::cli::write_array(target, shape, data.data());
  }
  void text(const std::string& text) const { sde::cli::write_text(out.path, text); }
};

std::vector<double> list(const sde::RowVector& v) { return {v.data(), v.data() + v.size()}; }

// A malformed --rows/--cols is a usage error (exit 2).
sde::IndexSpec usage_checked(const std::string& option, const std::string& text) {
  try {
    return sde::parse_index_spec(text);
  } catch (const Error& e) {
    throw CLI::ValidationError(option, e.what());
  }
}

// -------------------------------------------------------------- subcommands

// One JSON line per file: shape, the file's dtype and per-column figures,
// where the columns are the last axis (a 1-D or 0-D array has one column)
// and the figures run over every other axis. A K x N x d trajectory has K
// frames of N rows.
void info(const std::vector<std::string>& files, const Sink& sink) {
  std::string lines;
  for (const std::string& path : files) {
    const NpyArray a = sde::read_npy_file(path);
    const auto cols = static_cast<Eigen::Index>(a.shape.size() >= 2 ? a.shape.back() : 1);
    const Eigen::Index values_per_column = cols == 0 ? 0 : static_cast<Eigen::Index>(a.data.size()) / cols;
    const sde::ColumnSummary s =
        sde::column_summary(Eigen::Map<const sde::Matrix>(a.data.data(), values_per_column, cols));
    Json line = {{"file", path}, {"shape", a.shape}, {"dtype", a.dtype_name()}};
    if (a.shape.size() >= 3) {
      line["frames"] = a.shape.front();
      line["rows"] = cols == 0 || a.shape.front() == 0 ? 0 : values_per_column / Eigen::Index(a.shape.front());
    } else {
      line["rows"] = a.rows();
    }
    line.update(Json{{"columns", cols},
                     {"min", list(s.min)},
                     {"max", list(s.max)},
                     {"mean", list(s.mean)},
                     {"non_finite", s.non_finite}});
    lines += line.dump() + "\n";
  }
  sink.text(lines);
}

void cat(const std::vector<std::string>& files, std::size_t axis, const Sink& sink) {
  std::vector<NpyArray> parts;
  for (const std::string& path : files) parts.push_back(sde::read_npy_file(path));
  const NpyArray& first = parts.front();
  if (axis >= first.shape.size())
    throw Error(files[0],
                fmt::format("--axis {} is out of range for shape {}", axis, first.shape_string()));
  Shape shape = first.shape;
  shape[axis] = 0;
  bool all_f4 = true;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const Shape& s = parts[i].shape;
    bool fits = s.size() == shape.size();
    for (std::size_t k = 0; fits && k < s.size(); ++k) fits = k == axis || s[k] == shape[k];
    if (!fits)
      throw Error(files[i],
                  fmt::format("shape {} does not fit {} ({}) along axis {}",
                              parts[i].shape_string(), first.shape_string(), files[0], axis));
    shape[axis] += s[axis];
    all_f4 = all_f4 && parts[i].stored == sde::DType::f4;
  }
  // In C order each array is `outer` consecutive blocks, one per index of the
  // axes before `axis`; the output interleaves the inputs' blocks.
  const auto product = [](auto begin, auto end) {
    return std::accumulate(begin, end, std::size_t{1}, std::multiplies<>());
  };
  const std::size_t outer = product(shape.begin(), shape.begin() + long(axis));
  std::vector<double> data;
  data.reserve(product(shape.begin(), shape.end()));
  for (std::size_t o = 0; o < outer; ++o)
    for (const NpyArray& p : parts) {
      const std::size_t block = product(p.shape.begin() + long(axis), p.shape.end());
      data.insert(data.end(), p.data.begin() + long(o * block),
                  p.data.begin() + long((o + 1) * block));
    }
  sink.array(shape, data, all_f4);
}

// A 1-, 2- or 3-D array seen as frames x rows x columns; --frame drops the frame axis.
struct SliceOptions {
  sde::IndexSpec rows = sde::everything;
  std::optional<sde::IndexSpec> cols;
  std::optional<long> frame;
};

void slice(const std::string& path, const SliceOptions& opt, const Sink& sink) {
  const NpyArray a = sde::read_npy_file(path);
  const std::size_t ndim = a.shape.size();
  Shape shape;
  std::vector<double> data;
  try {
    if (ndim < 1 || ndim > 3)
      throw Error(fmt::format("expected a 1-, 2- or 3-D array, got shape {}", a.shape_string()));
    if (opt.frame && ndim != 3)
      throw Error(fmt::format("--frame needs a 3-D array (frames x rows x columns), got shape {}",
                              a.shape_string()));
    if (opt.cols && ndim == 1)
      throw Error(fmt::format("--cols needs a 2-D or 3-D array, got shape {}", a.shape_string()));
    const std::size_t n = a.shape[ndim == 3 ? 1 : 0], d = ndim > 1 ? a.shape.back() : 1;
    const sde::IndexSpec frames = opt.frame ? sde::IndexSpec{{*opt.frame, {}, 1, true}} : sde::everything;
    const auto f = sde::resolve(frames, ndim == 3 ? a.shape[0] : 1, "--frame");
    const auto r = sde::resolve(opt.rows, n, "--rows");
    const auto c = sde::resolve(opt.cols.value_or(sde::everything), d, "--cols");
    for (std::size_t fi : f)
      for (std::size_t ri : r)
        for (std::size_t ci : c) data.push_back(a.data[(fi * n + ri) * d + ci]);
    if (ndim == 3 && !opt.frame) shape.push_back(f.size());
    shape.push_back(r.size());
    if (ndim > 1) shape.push_back(c.size());
  } catch (const Error& e) {
    throw e.with_file(path);
  }
  sink.array(shape, data, a.stored == sde::DType::f4);
}

// Shortest text that reads back to the same value (as float for f4 data).
void to_csv(const std::string& path, const Sink& sink) {
  const NpyArray a = sde::read_npy_file(path);
  sde::Matrix x;
  try {
    x = sde::as_matrix(a);
  } catch (const Error& e) {
    throw e.with_file(path);
  }
  sink.text(sde::format_csv(x, a.stored == sde::DType::f4));
}

void from_csv(const std::string& path, const Sink& sink) {
  NpyArray a;
  try {
    a = sde::parse_csv(sde::read_text_file(path));
  } catch (const Error& e) {
    throw e.with_file(sde::input_name(path));
  }
  sink.array(a.shape, a.data, /*inputs_f4=*/false);
}

// stats writes a d x d covariance as JSON: a width beyond this would be
// gigabytes of text (a 128-byte file of shape (0, 30000) made 23 GB).
constexpr Eigen::Index kMaxStatsColumns = 1024;

Json stats(const std::string& path, const std::string& mixture_path) {
  const sde::Matrix all = sde::read_matrix(path);
  if (all.cols() > kMaxStatsColumns)
    throw Error(path, fmt::format("has {} columns; stats writes their d x d covariance, for at most {}", all.cols(),
                                  kMaxStatsColumns));
  const sde::Matrix x = sde::finite_rows(all);
  const sde::Matrix cov = sde::sample_covariance(x);
  Json covariance = Json::array();
  for (Eigen::Index i = 0; i < cov.rows(); ++i) covariance.push_back(list(cov.row(i)));
  Json result{{"file", path},
              {"rows", all.rows()},
              {"dim", all.cols()},
              {"non_finite_rows", all.rows() - x.rows()},
              {"mean", list(sde::sample_mean(x))},
              {"covariance", covariance}};
  if (mixture_path.empty()) return result;
  const sde::GaussianMixture mix = sde::read_mixture(mixture_path);
  sde::MixtureFit fit;
  try {
    fit = sde::fit_to_mixture(all, mix);
  } catch (const Error& e) {
    throw e.with_file(path);
  }
  result["mixture"] = {{"file", mixture_path},
                       {"weights", mix.weights()},
                       {"posterior_weights", fit.weights},
                       {"posterior_weights_se", fit.weight_se},
                       {"mean_log_density", fit.mean_log_density},
                       {"mean_log_density_se", fit.log_density_se}};
  return result;
}

struct CompareOptions {
  long max_points = 5000;
  int projections = 128;
};

Json compare(const std::vector<std::string>& files, const CompareOptions& opt, std::uint64_t seed) {
  std::vector<sde::Matrix> samples;
  Json sides = Json::array();
  for (std::size_t i = 0; i < 2; ++i) {
    const sde::Matrix all = sde::read_matrix(files[i]);
    if (i == 1 && all.cols() != samples[0].cols())
      throw Error(files[1], fmt::format("has {} columns, {} has {}", all.cols(), files[0],
                                        samples[0].cols()));
    const sde::Matrix finite = sde::finite_rows(all);
    if (finite.rows() == 0) throw Error(files[i], "no finite rows to compare");
    // Independent subsets for the two files (stream i), so row-aligned runs are not paired.
    samples.push_back(
        sde::subsample_rows(finite, opt.max_points > 0 ? opt.max_points : -1, seed, i));
    sides.push_back({{"file", files[i]},
                     {"rows", all.rows()},
                     {"non_finite_rows", all.rows() - finite.rows()},
                     {"rows_used", samples[i].rows()}});
  }
  return {{"a", sides[0]},
          {"b", sides[1]},
          {"energy_distance", sde::energy_distance(samples[0], samples[1])},
          {"sliced_wasserstein",
           sde::sliced_wasserstein(samples[0], samples[1], opt.projections, seed)},
          {"projections", opt.projections},
          {"seed", seed}};
}

}  // namespace

int main(int argc, char** argv) {
  sde::cli::Tool tool("sde-npy",
                      "Inspect, join, cut and convert .npy arrays; sample statistics and "
                      "sample-quality metrics. Results go to -o (default stdout).",
                      "sde-npy info samples.npy\n"
                      "sde-npy stats samples.npy --mixture data/ring8.json\n"
                      "sde-npy compare samples.npy data.npy\n"
                      "sde-npy cat part0.npy part1.npy -o all.npy\n");
  CLI::App& app = tool.app();
  tool.require_subcommand("info, cat, slice, to-csv, from-csv, stats, compare");
  const auto& out = tool.add_output();
  app.get_option("--dtype")
      ->description("Output dtype of arrays (default: the inputs' own, f4 when every input is float32)")
      ->default_str("");
  const std::uint64_t& seed = tool.add_seed();
  const std::string& mixture = tool.add_mixture(false);
  const Sink sink{out, app.get_option("--dtype")};

  // Each subcommand with what it does; the body runs the one that was parsed.
  std::vector<std::pair<CLI::App*, std::function<void()>>> commands;
  const auto command = [&](const char* name, const char* help, std::function<void()> action) {
    CLI::App* sub = app.add_subcommand(name, help);
    sub->footer(
        "Shared options (-o, --dtype, --seed, --mixture, --summary, ...): sde-npy --help\n");
    commands.emplace_back(sub, std::move(action));
    return sub;
  };
  const auto json_result = [&](const Json& result) {
    tool.summary()["figures"] = result;
    sink.text(result.dump() + "\n");
  };
  std::vector<std::string> files;
  std::string file;
  const auto with_files = [&](CLI::App* sub, const char* help) {
    return sub->add_option("files", files, help)->required();
  };
  const auto with_file = [&](CLI::App* sub) {
    sub->add_option("file", file, "Input ('-' for stdin)")->required();
    return sub;
  };

  with_files(command("info", "Shape, dtype and per-column min/max/mean: one JSON line per file",
                     [&] { info(files, sink); }),
             ".npy files");

  std::size_t axis = 0;
  CLI::App* cat_cmd = command("cat", "Concatenate arrays along an axis (exact: joins shards)",
                              [&] { cat(files, axis, sink); });
  with_files(cat_cmd, ".npy files");
  cat_cmd->add_option("--axis", axis, "Axis to join along (1 for K x N x d trajectories)")
      ->capture_default_str();

  SliceOptions slicing;
  CLI::App* slice_cmd = with_file(
      command("slice", "Select rows, columns or one frame", [&] { slice(file, slicing, sink); }));
  slice_cmd
      ->add_option_function<std::string>(
          "--rows",
          [&](const std::string& text) { slicing.rows = usage_checked("--rows", text); },
          "Rows (axis 1 of a 3-D array) as Python slices or indices: 0:100, -10:, ::2, 0,5,9")
      ->type_name("SPEC");
  slice_cmd
      ->add_option_function<std::string>(
          "--cols",
          [&](const std::string& text) { slicing.cols = usage_checked("--cols", text); },
          "Columns (the last axis), same syntax as --rows")
      ->type_name("SPEC");
  slice_cmd->add_option_function<long>(
      "--frame", [&](long k) { slicing.frame = k; },
      "Keep one frame of a 3-D array, as 2-D (negative counts from the end)");

  with_file(command("to-csv", "Write a 1-D or 2-D array as CSV", [&] { to_csv(file, sink); }));
  with_file(command("from-csv", "Read CSV (optional header, '#' comments) into .npy",
                    [&] { from_csv(file, sink); }));
  with_file(command("stats", "N, d, mean, covariance; with --mixture the fit to the mixture",
                    [&] { json_result(stats(file, mixture)); }));

  CompareOptions comparing;
  CLI::App* compare_cmd =
      command("compare", "Energy distance and sliced Wasserstein distance between two samples",
              [&] { json_result(compare(files, comparing, seed)); });
  with_files(compare_cmd, "Two .npy samples")->expected(2);
  compare_cmd
      ->add_option("--max-points", comparing.max_points,
                   "Subsample each input to at most this many rows (0: use all)")
      ->check(sde::cli::NonNegativeCount)
      ->capture_default_str();
  compare_cmd->add_option("--projections", comparing.projections, "Sliced Wasserstein directions")
      ->check(sde::cli::PositiveCount)
      ->capture_default_str();

  return tool.run(argc, argv, [&] {
    for (const auto& [sub, action] : commands)
      if (sub->parsed()) {
        tool.summary()["command"] = sub->get_name();
        action();
      }
  });
}

#include "plot_inputs.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <sstream>

#include "error.hpp"
#include "io.hpp"
#include "json_fields.hpp"
#include "spec.hpp"
#include "text_arrays.hpp"

namespace sde::plot {
namespace {

// Runs `action`, naming the file in any error it throws.
template <class Action>
auto from_file(const std::string& path, Action action) {
  try {
    return action();
  } catch (const Error& e) {
    throw e.with_file(input_name(path));
  }
}

template <class Convert>
auto read_array(const std::string& path, Convert convert) {
  const NpyArray a = read_npy_file(path);
  return from_file(path, [&] { return convert(a); });
}

// Comma-separated finite numbers; an empty item or anything else is an error.
std::vector<double> parse_numbers(const std::string& text) {
  std::vector<double> v;
  std::istringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    char* end = nullptr;
    v.push_back(std::strtod(item.c_str(), &end));
    if (item.empty() || *end != '\0' || !std::isfinite(v.back()))
      throw Error(fmt::format("not a number: '{}' in '{}'", item, text));
  }
  return v;
}

Json read_json(const std::string& path) {
  return from_file(path, [&] { return parse_json(read_text_file(path)); });
}

}  // namespace

double ExactDensity::log_density(const double* x) const {
  return mixture.log_density(x, mean_coeff(), std());
}

ExactDensity ExactDensity::at(double time) const {
  ExactDensity other = *this;
  other.t = time;
  return other;
}

ExactDensity exact_density(const GaussianMixture& mixture, const Sde& sde, double t,
                           int class_label, const std::vector<double>& known) {
  if (class_label >= mixture.components())
    throw Error(fmt::format("class {} does not exist: the mixture has {} components", class_label,
                            mixture.components()));
  if (class_label >= 0) {
    const auto k = static_cast<Eigen::Index>(class_label);
    return {
        GaussianMixture({1.0}, mixture.means().middleRows(k, 1), {mixture.covariance(class_label)}),
        sde, t};
  }
  if (known.empty()) return {mixture, sde, t};
  if (t > 0) throw Error("the exact conditional of known coordinates is drawn at t = 0 only");
  std::vector<bool> mask(known.size());
  for (std::size_t j = 0; j < known.size(); ++j) mask[j] = !std::isnan(known[j]);
  return {mixture.conditional(mask, known.data()), sde, t};
}

std::optional<ExactDensity> read_exact_density(const std::string& mixture_path, const Sde& sde,
                                               double t, int class_label,
                                               const std::vector<double>& known) {
  if (mixture_path.empty()) {
    if (class_label >= 0 || !known.empty())
      throw Error("a class or known coordinates need the mixture they belong to");
    return std::nullopt;
  }
  const GaussianMixture mixture = read_mixture(mixture_path);
  return from_file(mixture_path,
                   [&] { return exact_density(mixture, sde, t, class_label, known); });
}

Matrix as_samples(const NpyArray& a, int dim, const std::vector<double>& known) {
  Matrix x = as_matrix(a);
  if (!known.empty()) {
    if (x.cols() != static_cast<Eigen::Index>(known.size()))
      throw Error(
          fmt::format("has {} columns but the known coordinates have {}", x.cols(), known.size()));
    std::vector<Eigen::Index> unknown;
    for (std::size_t j = 0; j < known.size(); ++j)
      if (std::isnan(known[j])) unknown.push_back(static_cast<Eigen::Index>(j));
    x = x(Eigen::all, unknown).eval();
  }
  if (x.cols() != dim || x.rows() == 0)
    throw Error(fmt::format("expected N x {} samples (N >= 1){}, got shape {}", dim,
                            known.empty() ? "" : " in the unknown coordinates", a.shape_string()));
  require_finite(x);
  return x;
}

std::vector<double> as_known(const NpyArray& a) {
  const Matrix x = as_matrix(a);
  if (x.rows() != 1)
    throw Error(
        fmt::format("expected one row of known coordinates, got shape {}", a.shape_string()));
  return {x.data(), x.data() + x.size()};
}

Trajectory as_trajectory(const NpyArray& a, std::size_t dim) {
  if (a.shape.size() != 3 || a.shape[2] != dim || a.shape[0] == 0 || a.shape[1] == 0)
    throw Error(
        fmt::format("expected a K x N x {} trajectory, got shape {}", dim, a.shape_string()));
  const Trajectory t{a.shape[0], a.shape[1], dim, a.data};
  for (std::size_t i = 0; i < t.values.size(); ++i)
    if (!std::isfinite(t.values[i]))
      throw Error(fmt::format("frame {}, row {} has a non-finite value ({})", i / (t.rows * dim),
                              i / dim % t.rows, t.values[i]));
  return t;
}

GridSpec parse_grid_spec(const std::string& text) {
  const std::vector<double> v = parse_numbers(text);
  GridSpec spec;
  if ((v.size() == 4 || v.size() == 6) && v[0] < v[1] && v[2] < v[3]) {
    spec.x = {v[0], v[1]};
    spec.y = {v[2], v[3]};
    if (v.size() == 4) return spec;
    spec.nx = static_cast<std::size_t>(v[4]);
    spec.ny = static_cast<std::size_t>(v[5]);
    if (spec.nx >= 2 && spec.ny >= 2 && double(spec.nx) == v[4] && double(spec.ny) == v[5])
      return spec;
  }
  throw Error(
      fmt::format("expected xmin,xmax,ymin,ymax[,nx,ny] with xmin < xmax, ymin < ymax and whole "
                  "nx, ny >= 2, got '{}'",
                  text));
}

Grid as_grid(const NpyArray& a, const GridSpec& spec) {
  if (a.shape.size() != 2 || a.shape[0] < 2 || a.shape[1] < 2)
    throw Error(
        fmt::format("expected an ny x nx grid (at least 2 x 2), got shape {}", a.shape_string()));
  if (spec.nx > 0 && (a.shape[1] != spec.nx || a.shape[0] != spec.ny))
    throw Error(fmt::format("shape {} is not the ny x nx = {} x {} of the grid", a.shape_string(),
                            spec.ny, spec.nx));
  require_finite(as_matrix(a));
  return {spec.x, spec.y, a.shape[1], a.shape[0], a.data, ""};
}

FrameAxis frame_numbers(std::size_t frames) {
  FrameAxis axis{std::vector<double>(frames), "frame"};
  for (std::size_t k = 0; k < frames; ++k) axis.values[k] = static_cast<double>(k);
  return axis;
}

FrameAxis frame_axis_from_summary(const Json& summary) {
  for (const auto& [key, label] :
       {std::pair{"trajectory_times", "t"}, std::pair{"trajectory_steps", "step"}})
    if (summary.contains(key)) return {json::numbers(summary[key], key), label};
  if (summary.contains("kernel")) {
    FrameAxis axis{{}, "t"};
    const Json& kernel = json::array(summary["kernel"], "kernel");
    for (std::size_t k = 0; k < kernel.size(); ++k)
      axis.values.push_back(
          json::number(json::field(kernel[k], "t", "kernel"), fmt::format("kernel[{}].t", k)));
    return axis;
  }
  throw Error("no frame times in this run summary (trajectory_times, trajectory_steps or kernel)");
}

LossLog parse_loss_log(const std::string& text, bool json_lines) {
  LossLog log;
  if (json_lines) {
    std::istringstream lines(text);
    std::string line;
    for (int number = 1; std::getline(lines, line); ++number) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      try {
        const Json entry = parse_json(line);
        log.steps.push_back(entry.at("step").get<double>());
        log.losses.push_back(entry.at("loss").get<double>());
      } catch (const std::exception& e) {
        throw Error(fmt::format("line {}: expected {{\"step\": ..., \"loss\": ...}}: {}", number,
                                e.what()));
      }
    }
  } else {
    const NpyArray table = parse_csv(text);
    if (table.shape.size() != 2 || table.shape[1] != 2)
      throw Error(
          fmt::format("expected two columns step,loss, got shape {}", table.shape_string()));
    for (std::size_t i = 0; i < table.shape[0]; ++i) {
      log.steps.push_back(table.data[2 * i]);
      log.losses.push_back(table.data[2 * i + 1]);
    }
  }
  if (log.steps.empty()) throw Error("no entries in the loss log");
  return log;
}

NamedJson read_merged_json(const std::string& paths) {
  NamedJson doc{paths, Json::object()};
  for (std::size_t start = 0; start <= paths.size();) {
    const std::size_t plus = std::min(paths.find('+', start), paths.size());
    doc.json.merge_patch(read_json(paths.substr(start, plus - start)));
    start = plus + 1;
  }
  return doc;
}

Matrix read_samples(const std::string& path, int dim, const std::vector<double>& known) {
  return read_array(path, [&](const NpyArray& a) { return as_samples(a, dim, known); });
}

std::vector<double> read_known(const std::string& path) {
  return read_array(path, [](const NpyArray& a) { return as_known(a); });
}

Trajectory read_trajectory(const std::string& path, std::size_t dim) {
  return read_array(path, [&](const NpyArray& a) { return as_trajectory(a, dim); });
}

VectorField as_vector_field(const NpyArray& a, const GridSpec& spec) {
  if (spec.nx == 0) throw Error("a vector field needs the grid's size: --grid XMIN,XMAX,YMIN,YMAX,NX,NY");
  if (a.shape.size() != 2 || a.shape[1] != 2 || a.shape[0] != spec.nx * spec.ny)
    throw Error(fmt::format("expected nx ny x 2 = {} x 2 vectors (sde-score --grid), got shape {}",
                            spec.nx * spec.ny, a.shape_string()));
  const Matrix m = as_matrix(a);
  require_finite(m);
  VectorField field{spec.x, spec.y, spec.nx, spec.ny, {}, {}, ""};
  field.u.assign(m.col(0).data(), m.col(0).data() + m.rows());
  field.v.assign(m.col(1).data(), m.col(1).data() + m.rows());
  return field;
}

VectorField read_vector_field(const std::string& path, const GridSpec& spec) {
  VectorField field = read_array(path, [&](const NpyArray& a) { return as_vector_field(a, spec); });
  field.title = path;
  return field;
}

Grid read_grid(const std::string& path, const GridSpec& spec) {
  Grid grid = read_array(path, [&](const NpyArray& a) { return as_grid(a, spec); });
  grid.title = path;
  return grid;
}

FrameAxis read_frame_axis(std::size_t frames, const std::string& times) {
  const auto checked = [frames](FrameAxis axis) {
    if (axis.values.size() != frames)
      throw Error(
          fmt::format("{} frame times for a trajectory of {} frames", axis.values.size(), frames));
    return axis;
  };
  if (times.empty()) return frame_numbers(frames);
  if (!times.ends_with(".json")) return checked({parse_numbers(times), "t"});
  const Json summary = read_json(times);
  return from_file(times, [&] { return checked(frame_axis_from_summary(summary)); });
}

LossLog read_loss_log(const std::string& path) {
  return from_file(path,
                   [&] { return parse_loss_log(read_text_file(path), path.ends_with(".jsonl")); });
}

}  // namespace sde::plot

#include "plot_figures.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "error.hpp"

namespace sde::plot {
namespace {

// Distinct colours for components and curves (Tableau 10), cycled.
constexpr std::array<const char*, 10> kColors = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                                 "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                                                 "#bcbd22", "#17becf"};
constexpr const char* kSampleColor = "#1f77b4";
constexpr const char* kExactColor = "#222222";
constexpr const char* kPathColor = "#e41a1c";

const char* cycled_color(std::size_t k) { return kColors[k % kColors.size()]; }

Layer layer(Style style, std::string title, std::string color, double size = 1, Table data = {}) {
  Layer l;
  l.style = style;
  l.title = std::move(title);
  l.color = std::move(color);
  l.size = size;
  l.data = std::move(data);
  return l;
}

double rgb_value(const char* hex) { return static_cast<double>(std::stoul(hex + 1, nullptr, 16)); }

// The smallest interval holding every value, widened by `pad` of its width
// on both sides (a point gets a unit-wide interval).
struct Bounds {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  void add(double v) { lo = std::min(lo, v), hi = std::max(hi, v); }
  Range padded(double pad) const {
    const double w = hi > lo ? hi - lo : 1.0;
    return {lo - pad * w, hi + pad * w};
  }
};

// The given range, or the data's; either way increasing.
Range increasing(const std::optional<Range>& given, const Bounds& data, double pad) {
  const Range r = given.value_or(data.padded(pad));
  return {std::min(r.min, r.max), std::max(r.min, r.max)};
}

double lerp(const Range& r, std::size_t i, std::size_t n) {
  return r.min + (r.max - r.min) * static_cast<double>(i) / static_cast<double>(n - 1);
}

// Density-normalised histogram of `values` over [range.min, range.max]:
// counts / (total * width), so that values outside still count in the total
// and the bars match a density curve.
std::vector<double> histogram(const std::vector<double>& values, Range range, int bins) {
  std::vector<double> density(static_cast<std::size_t>(bins), 0.0);
  const double width = (range.max - range.min) / bins;
  for (double v : values) {
    if (v < range.min || v > range.max) continue;
    const auto b = std::min(static_cast<std::size_t>((v - range.min) / width), density.size() - 1);
    density[b] += 1.0;
  }
  for (double& d : density) d /= static_cast<double>(values.size()) * width;
  return density;
}

// Scan lines along x, one per grid row, as image and contour layers want them.
Table grid_table(const Grid& grid, const std::vector<double>& z) {
  Table table;
  table.reserve(grid.ny * (grid.nx + 1));
  for (std::size_t r = 0; r < grid.ny; ++r) {
    for (std::size_t c = 0; c < grid.nx; ++c)
      table.push_back({lerp(grid.x, c, grid.nx), lerp(grid.y, r, grid.ny), z[r * grid.nx + c]});
    table.emplace_back();
  }
  return table;
}

// The density levels whose upper sets hold the given fractions of the
// mass on the grid (highest-density regions), from the densest down.
std::vector<double> mass_levels(std::vector<double> density, const std::vector<double>& masses) {
  std::sort(density.begin(), density.end(), std::greater<>());
  double total = 0;
  for (double d : density) total += d;
  std::vector<double> levels;
  double cumulative = 0;
  std::size_t i = 0;
  for (double mass : masses) {
    while (i < density.size() && cumulative < mass * total) cumulative += density[i++];
    levels.push_back(density[i > 0 ? i - 1 : 0]);
  }
  return levels;
}

// Contours of the exact density over the panel's ranges, traced on a grid
// fine enough that they look smooth at any panel size we draw.
Layer exact_contours(const ExactDensity& exact, Range x, Range y) {
  Grid grid = exact_log_density_grid(exact, {x, y, 160, 160});
  for (double& v : grid.values) v = std::exp(v);
  Layer contours = layer(Style::contours, "exact density (50/90/99% mass)", kExactColor, 1.2,
                         grid_table(grid, grid.values));
  contours.levels = mass_levels(grid.values, {0.5, 0.9, 0.99});
  return contours;
}

// Points shrink as they get many, so that dense clouds keep their shape.
double point_size(std::size_t n) { return n > 2000 ? 0.25 : 0.45; }

// 2-D panels of points on shared, equally scaled axes (the options' ranges
// or the bounding box of all points), each with the contours of its exact
// density when it has one; a single panel explains itself with a legend.
Figure point_panels(std::vector<Panel> panels,
                    const std::vector<std::optional<ExactDensity>>& densities,
                    const FigureOptions& options) {
  Bounds bx, by;
  for (const Panel& p : panels)
    for (const auto& row : p.layers.front().data) bx.add(row[0]), by.add(row[1]);
  const Range xr = increasing(options.xrange, bx, 0.05), yr = increasing(options.yrange, by, 0.05);
  Figure figure;
  for (std::size_t i = 0; i < panels.size(); ++i) {
    Panel& p = panels[i];
    p.x.range = xr;
    p.y.range = yr;
    p.equal_scales = true;
    p.legend = panels.size() == 1 ? Legend::below : Legend::none;
    if (densities[i]) p.layers.push_back(exact_contours(*densities[i], xr, yr));
    figure.panels.push_back(std::move(p));
  }
  if (panels.size() > 1) {
    figure.width = 225 * static_cast<int>(panels.size()) + 60;
    figure.height = 300;
  } else {
    figure.width = figure.height = 600;
  }
  return figure;
}

// Whether frames at these times can be drawn as evenly spaced image columns
// from the first time to the last: every time must fall within its column
// (samplers end with a shorter step to t = 0, which still fits).
bool fits_even_columns(const std::vector<double>& v) {
  if (v.size() < 2) return true;
  const double step = (v.back() - v.front()) / static_cast<double>(v.size() - 1);
  if (step == 0) return false;
  for (std::size_t k = 0; k < v.size(); ++k)
    if (std::abs(v[k] - (v.front() + step * static_cast<double>(k))) > 0.5 * std::abs(step))
      return false;
  return true;
}

std::string frame_title(const FrameAxis& axis, std::size_t frame) {
  if (axis.label == "frame") return fmt::format("frame {}", frame);
  return fmt::format("{} = {:.3g}", axis.label, axis.values[frame]);
}

// A document's value at a dotted key ("quality.mean_log_density"); errors
// name the document.
const Json& value_at(const NamedJson& doc, const std::string& dotted) {
  const Json* node = &doc.json;
  for (std::size_t start = 0; start <= dotted.size();) {
    const std::size_t dot = std::min(dotted.find('.', start), dotted.size());
    const std::string key = dotted.substr(start, dot - start);
    if (!node->is_object() || !node->contains(key))
      throw Error(doc.name, fmt::format("no key '{}'", dotted));
    node = &node->at(key);
    start = dot + 1;
  }
  return *node;
}

double number_at(const NamedJson& doc, const std::string& key) {
  const Json& v = value_at(doc, key);
  if (!v.is_number()) throw Error(doc.name, fmt::format("'{}' is not a number: {}", key, v.dump()));
  return v.get<double>();
}

std::string label_of(const NamedJson& doc, const std::vector<std::string>& keys) {
  std::string label;
  for (const std::string& key : keys) {
    const Json& v = value_at(doc, key);
    label += (label.empty() ? "" : ", ") + (v.is_string() ? v.get<std::string>() : v.dump());
  }
  return label;
}

Panel panel(const std::string& x, const std::string& y) {
  Panel p;
  p.x.label = x;
  p.y.label = y;
  return p;
}

}  // namespace

Grid exact_log_density_grid(const ExactDensity& density, const GridSpec& spec) {
  Grid grid{spec.x, spec.y, spec.nx, spec.ny, std::vector<double>(spec.nx * spec.ny), ""};
  for (std::size_t r = 0; r < spec.ny; ++r)
    for (std::size_t c = 0; c < spec.nx; ++c) {
      const double point[2] = {lerp(spec.x, c, spec.nx), lerp(spec.y, r, spec.ny)};
      grid.values[r * spec.nx + c] = density.log_density(point);
    }
  return grid;
}

// ------------------------------------------------------------------ figures

Figure histogram_figure(const std::vector<Matrix>& samples, const std::vector<std::string>& titles,
                        int bins, const std::optional<ExactDensity>& exact,
                        const FigureOptions& options) {
  Bounds data;
  for (const Matrix& x : samples)
    for (Eigen::Index i = 0; i < x.size(); ++i) data.add(x.data()[i]);
  const Range range = increasing(options.xrange, data, 0.02);
  const double width = (range.max - range.min) / bins;
  Layer curve = layer(Style::line, "exact density", kExactColor, 2);
  if (exact && exact->t > 0) curve.title = fmt::format("exact density at t = {:.3g}", exact->t);
  double top = 0;
  constexpr std::size_t points = 600;
  for (std::size_t i = 0; exact && i < points; ++i) {
    const double x = lerp(range, i, points);
    curve.data.push_back({x, std::exp(exact->log_density(&x))});
    top = std::max(top, curve.data.back()[1]);
  }

  Figure figure;
  for (std::size_t s = 0; s < samples.size(); ++s) {
    const std::vector<double> values(samples[s].data(), samples[s].data() + samples[s].size());
    const std::vector<double> density = histogram(values, range, bins);
    Layer bars = layer(Style::bars, "samples", kSampleColor);
    for (std::size_t b = 0; b < density.size(); ++b) {
      bars.data.push_back({range.min + (static_cast<double>(b) + 0.5) * width, density[b], width});
      top = std::max(top, density[b]);
    }
    Panel p = panel("x", "density");
    if (s < titles.size()) p.title = titles[s];
    p.x.range = range;
    p.layers.push_back(std::move(bars));
    if (exact) p.layers.push_back(curve);
    figure.panels.push_back(std::move(p));
  }
  // Shared, with room for the key (and a unit range when no sample falls inside).
  for (Panel& p : figure.panels) p.y.range = Range{0, top > 0 ? 1.25 * top : 1};
  if (samples.size() > 1) {
    figure.width = 360 * static_cast<int>(samples.size()) + 80;
    figure.height = 380;
  }
  return figure;
}

Figure scatter_figure(const std::vector<Matrix>& samples, const std::vector<std::string>& titles,
                      const std::optional<ExactDensity>& exact, bool color_by_component,
                      std::size_t max_points, const FigureOptions& options) {
  if (color_by_component && !exact) throw Error("colouring by component needs the mixture");
  std::vector<Panel> panels;
  std::vector<double> posterior(exact ? static_cast<std::size_t>(exact->mixture.components()) : 0);
  for (std::size_t s = 0; s < samples.size(); ++s) {
    const Matrix& x = samples[s];
    const auto n = static_cast<Eigen::Index>(
        max_points > 0 ? std::min<std::size_t>(max_points, static_cast<std::size_t>(x.rows()))
                       : static_cast<std::size_t>(x.rows()));
    Layer points = layer(color_by_component ? Style::rgb_points : Style::points,
                         color_by_component ? "samples (colour: likeliest component)" : "samples",
                         kSampleColor, point_size(static_cast<std::size_t>(n)));
    for (Eigen::Index i = 0; i < n; ++i) {
      points.data.push_back({x(i, 0), x(i, 1)});
      if (!color_by_component) continue;
      exact->mixture.posteriors(&x(i, 0), posterior.data(), exact->mean_coeff(), exact->std());
      const auto k = std::max_element(posterior.begin(), posterior.end()) - posterior.begin();
      points.data.back().push_back(rgb_value(cycled_color(static_cast<std::size_t>(k))));
    }
    panels.push_back(panel("x₁", "x₂"));
    if (s < titles.size()) panels.back().title = titles[s];
    panels.back().layers.push_back(std::move(points));
  }
  return point_panels(std::move(panels), std::vector(samples.size(), exact), options);
}

Figure quiver_figure(const std::vector<VectorField>& fields, const std::vector<std::string>& titles,
                     const std::optional<ExactDensity>& exact, bool normalize,
                     const FigureOptions& options) {
  if (fields.empty()) throw Error("no vector field to draw");
  if (!titles.empty() && titles.size() != fields.size())
    throw Error(fmt::format("{} panel titles for {} panels", titles.size(), fields.size()));
  double longest = 0;
  for (const VectorField& f : fields)
    for (std::size_t i = 0; i < f.u.size(); ++i) longest = std::max(longest, std::hypot(f.u[i], f.v[i]));
  const Range color = options.colorrange.value_or(Range{0, longest > 0 ? longest : 1});
  Figure figure;
  for (std::size_t k = 0; k < fields.size(); ++k) {
    const VectorField& f = fields[k];
    const double dx = (f.x.max - f.x.min) / static_cast<double>(f.nx - 1);
    const double dy = (f.y.max - f.y.min) / static_cast<double>(f.ny - 1);
    const double cell = 0.9 * std::min(dx, dy);
    Table arrows;
    for (std::size_t r = 0; r < f.ny; ++r)
      for (std::size_t c = 0; c < f.nx; ++c) {
        const std::size_t i = r * f.nx + c;
        const double length = std::hypot(f.u[i], f.v[i]);
        // Arrows centred on their grid point, so the field reads the same either way.
        const double scale = length == 0 ? 0 : cell / (normalize ? length : longest);
        const double x = f.x.min + static_cast<double>(c) * dx, y = f.y.min + static_cast<double>(r) * dy;
        arrows.push_back({x - 0.5 * scale * f.u[i], y - 0.5 * scale * f.v[i], scale * f.u[i],
                          scale * f.v[i], length});
      }
    Panel p = panel("x₁", "x₂");
    p.title = titles.empty() ? f.title : titles[k];
    p.x.range = Range{f.x.min - dx / 2, f.x.max + dx / 2};
    p.y.range = Range{f.y.min - dy / 2, f.y.max + dy / 2};
    p.color.label = "length";
    p.color.range = color;
    p.equal_scales = true;
    p.legend = Legend::none;
    if (exact) p.layers.push_back(exact_contours(*exact, *p.x.range, *p.y.range));
    p.layers.push_back(layer(Style::vectors, "", "", 1, std::move(arrows)));
    figure.panels.push_back(std::move(p));
  }
  figure.width = fields.size() > 1 ? 340 * static_cast<int>(fields.size()) + 120 : 640;
  figure.height = fields.size() > 1 ? 400 : 600;
  return figure;
}

Figure heatmap_figure(std::vector<Grid> grids, const std::optional<ExactDensity>& exact,
                      GridSpec spec, const std::vector<std::string>& titles, bool as_density,
                      const FigureOptions& options) {
  if (exact) {
    if (spec.nx == 0 && grids.empty())
      throw Error("the grid needs nx,ny to draw the exact density alone");
    if (spec.nx == 0) spec.nx = grids[0].nx, spec.ny = grids[0].ny;
    grids.push_back(exact_log_density_grid(*exact, spec));
    grids.back().title = exact->t > 0 ? fmt::format("exact, t = {:.3g}", exact->t) : "exact";
  }
  if (grids.empty()) throw Error("no grid to draw");
  if (!titles.empty() && titles.size() != grids.size())
    throw Error(fmt::format("{} panel titles for {} panels", titles.size(), grids.size()));
  for (std::size_t g = 0; g < titles.size(); ++g) grids[g].title = titles[g];
  double top = -std::numeric_limits<double>::infinity();
  std::vector<std::vector<double>> shown;
  for (const Grid& grid : grids) {
    shown.push_back(grid.values);
    if (as_density)
      for (double& v : shown.back()) v = std::exp(v);
    top = std::max(top, *std::max_element(shown.back().begin(), shown.back().end()));
  }
  // Far from the data a log-density falls without bound; showing the top 12
  // nats (a factor e^12 in density) keeps the modes' structure visible.
  const Range color =
      options.colorrange.value_or(as_density ? Range{0, top} : Range{top - 12, top});

  Figure figure;
  for (std::size_t g = 0; g < grids.size(); ++g) {
    const Grid& grid = grids[g];
    const double hx = (grid.x.max - grid.x.min) / static_cast<double>(grid.nx - 1) / 2;
    const double hy = (grid.y.max - grid.y.min) / static_cast<double>(grid.ny - 1) / 2;
    Panel p = panel("x₁", "x₂");
    p.title = grid.title;
    p.x.range = Range{grid.x.min - hx, grid.x.max + hx};
    p.y.range = Range{grid.y.min - hy, grid.y.max + hy};
    p.color.label = as_density ? "density" : "log density";
    p.color.range = color;
    p.equal_scales = true;
    p.legend = Legend::none;
    p.layers.push_back(layer(Style::image, "", "", 1, grid_table(grid, shown[g])));
    figure.panels.push_back(std::move(p));
  }
  if (grids.size() > 1) {
    figure.width = 340 * static_cast<int>(grids.size()) + 120;
    figure.height = 400;
  } else {
    figure.width = 600;
  }
  return figure;
}

Figure evolution_figure(const Trajectory& trajectory, const FrameAxis& axis, int bins, int paths,
                        const FigureOptions& options) {
  const std::size_t frames = trajectory.frames, rows = trajectory.rows;
  if (frames < 2) throw Error("a time evolution needs at least 2 frames");
  Bounds data;
  for (double v : trajectory.values) data.add(v);
  const Range values = increasing(options.yrange, data, 0.02);

  // Frames sit at their times when those are (nearly) evenly spaced, since an
  // image needs a regular grid; otherwise at their numbers, labelled with
  // their times.
  Panel p = panel(axis.label, "x");
  std::vector<double> at = axis.values;
  if (!fits_even_columns(at)) {
    at = frame_numbers(frames).values;
    const std::size_t every = std::max<std::size_t>(1, frames / 6);
    for (std::size_t k = 0; k < frames; k += every)
      p.x.ticks.emplace_back(at[k], fmt::format("{:.3g}", axis.values[k]));
  }
  const double half = (at[1] - at[0]) / 2;
  p.x.range = Range{at.front() - half, at.back() + half};  // reversed when time runs backwards
  p.y.range = values;
  p.color.label = "density";

  // One image column per frame, one row per bin (at the bin centres).
  const double width = (values.max - values.min) / bins;
  Grid grid;
  grid.x = {at.front(), at.back()};
  grid.y = {values.min + width / 2, values.max - width / 2};
  grid.nx = frames;
  grid.ny = static_cast<std::size_t>(bins);
  std::vector<double> z(grid.nx * grid.ny), column(rows);
  for (std::size_t k = 0; k < frames; ++k) {
    for (std::size_t i = 0; i < rows; ++i) column[i] = trajectory.at(k, i, 0);
    const std::vector<double> density = histogram(column, values, bins);
    for (std::size_t b = 0; b < density.size(); ++b) z[b * frames + k] = density[b];
  }
  // The colour scale ends at the 99th percentile of the cells, so that one
  // sharply peaked frame (a narrow start) does not wash out all the others.
  std::vector<double> sorted = z;
  const auto top = sorted.begin() + static_cast<long>(sorted.size() * 99 / 100);
  std::nth_element(sorted.begin(), top, sorted.end());
  p.color.range = Range{0, *top > 0 ? *top : 1};
  p.layers.push_back(layer(Style::image, "", "", 1, grid_table(grid, z)));

  const std::size_t drawn = std::min<std::size_t>(paths, rows);
  Layer lines = layer(Style::line, fmt::format("{} sample paths", drawn), kPathColor);
  for (std::size_t i = 0; i < drawn; ++i) {
    for (std::size_t k = 0; k < frames; ++k) lines.data.push_back({at[k], trajectory.at(k, i, 0)});
    lines.data.emplace_back();
  }
  if (paths > 0) p.layers.push_back(std::move(lines));

  Figure figure;
  figure.width = 720;
  figure.height = 440;
  figure.panels.push_back(std::move(p));
  return figure;
}

Figure strip_figure(const Trajectory& trajectory, const std::vector<long>& frames,
                    const FrameAxis& axis, const std::optional<ExactDensity>& exact,
                    std::size_t max_points, const FigureOptions& options) {
  const auto count = static_cast<long>(trajectory.frames);
  std::vector<std::size_t> chosen;
  if (frames.empty()) {  // up to six, first and last included
    const long panels = std::min<long>(count, 6);
    for (long k = 0; k < panels; ++k)
      chosen.push_back(static_cast<std::size_t>(panels > 1 ? k * (count - 1) / (panels - 1) : 0));
  }
  for (long f : frames) {
    const long k = f < 0 ? count + f : f;
    if (k < 0 || k >= count)
      throw Error(fmt::format("--frames: frame {} is out of range for {} frames", f, count));
    chosen.push_back(static_cast<std::size_t>(k));
  }
  const std::size_t n = max_points > 0 ? std::min(max_points, trajectory.rows) : trajectory.rows;
  std::vector<Panel> panels;
  std::vector<std::optional<ExactDensity>> densities;
  for (std::size_t k : chosen) {
    Layer points = layer(Style::points, "samples", kSampleColor, point_size(n));
    for (std::size_t i = 0; i < n; ++i)
      points.data.push_back({trajectory.at(k, i, 0), trajectory.at(k, i, 1)});
    panels.push_back(panel("x₁", "x₂"));
    panels.back().title = frame_title(axis, k);
    panels.back().layers.push_back(std::move(points));
    densities.push_back(exact && axis.label == "t" ? exact->at(axis.values[k]) : exact);
  }
  return point_panels(std::move(panels), densities, options);
}

Figure loss_figure(const LossLog& log, int smooth) {
  Panel p = panel("step", "loss");
  p.y.log = std::all_of(log.losses.begin(), log.losses.end(), [](double v) { return v > 0; });
  Layer raw = layer(Style::line, "loss", smooth > 1 ? "#9ecae1" : kSampleColor);
  for (std::size_t i = 0; i < log.steps.size(); ++i)
    raw.data.push_back({log.steps[i], log.losses[i]});
  p.layers.push_back(std::move(raw));
  if (smooth > 1) {
    Layer mean =
        layer(Style::line, fmt::format("mean of the last {} entries", smooth), "#08519c", 2);
    double sum = 0;
    for (std::size_t i = 0; i < log.losses.size(); ++i) {
      sum += log.losses[i];
      if (i >= static_cast<std::size_t>(smooth))
        sum -= log.losses[i - static_cast<std::size_t>(smooth)];
      mean.data.push_back(
          {log.steps[i], sum / static_cast<double>(std::min<std::size_t>(i + 1, smooth))});
    }
    p.layers.push_back(std::move(mean));
  }
  Figure figure;
  figure.panels.push_back(std::move(p));
  return figure;
}

Figure curves_figure(const std::vector<NamedJson>& runs, const CurveKeys& keys,
                     const std::optional<NamedJson>& reference,
                     const std::string& reference_label) {
  // Lines in the order their labels first appear; points along a line by x.
  std::vector<std::pair<std::string, Table>> lines;
  Bounds xs;
  for (const NamedJson& run : runs) {
    const std::string label = label_of(run, keys.label);
    auto line =
        std::find_if(lines.begin(), lines.end(), [&](const auto& l) { return l.first == label; });
    if (line == lines.end()) line = lines.insert(lines.end(), {label, {}});
    const double x = number_at(run, keys.x);
    line->second.push_back({x, number_at(run, keys.y)});
    if (!keys.error.empty()) line->second.back().push_back(number_at(run, keys.error));
    xs.add(x);
  }
  Panel p = panel(keys.x, keys.y);
  p.legend = Legend::outside_right;
  for (std::size_t l = 0; l < lines.size(); ++l) {
    auto& [label, table] = lines[l];
    std::sort(table.begin(), table.end());
    p.layers.push_back(layer(keys.error.empty() ? Style::line_points : Style::error_line, label,
                             cycled_color(l), 1.5, std::move(table)));
  }
  if (reference) {
    const double y = number_at(*reference, keys.y);
    p.layers.push_back(
        layer(Style::dashed_line, reference_label, kExactColor, 1.5, {{xs.lo, y}, {xs.hi, y}}));
  }
  Figure figure;
  figure.width = 760;
  figure.panels.push_back(std::move(p));
  return figure;
}

}  // namespace sde::plot

#include "plot.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <limits>

#include "error.hpp"

namespace sde::plot {
namespace {

// A number as text, the same on every run: seven digits, far finer than any
// pixel, keep the inline data short (gnuplot reads "NaN" as a missing point).
void put_number(std::string& out, double v) {
  if (std::isfinite(v))
    fmt::format_to(std::back_inserter(out), "{:.7g}", v);
  else
    out += "NaN";
}

// A gnuplot string literal: single quotes keep backslashes literal; a quote
// inside is doubled.
std::string quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\n') continue;  // a newline would end the command
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

std::string number(double v) {
  std::string out;
  put_number(out, v);
  return out;
}

std::string block_name(std::size_t panel, std::size_t layer) {
  return fmt::format("$p{}l{}", panel, layer);
}

void put_table(std::string& out, const std::string& name, const Table& table) {
  out += name + " << EOD\n";
  for (const auto& row : table) {
    for (std::size_t k = 0; k < row.size(); ++k) {
      if (k > 0) out += ' ';
      put_number(out, row[k]);
    }
    out += '\n';
  }
  out += "EOD\n";
}

// Viridis at nine stops: perceptually uniform and readable in grey.
constexpr const char* kPalette =
    "set palette defined (0 '#440154', 1 '#472d7b', 2 '#3b528b', 3 '#2c728e', 4 '#21918c', "
    "5 '#28ae80', 6 '#5ec962', 7 '#addc30', 8 '#fde725')\n";

std::string terminal(const Figure& figure, Format format) {
  const std::string common = " font 'Sans,10' noenhanced";
  switch (format) {
    case Format::png:
      return fmt::format("set terminal pngcairo size {},{}{} background '#ffffff'\n", figure.width,
                         figure.height, common);
    case Format::svg:
      return fmt::format("set terminal svg size {},{}{} background '#ffffff'\n", figure.width,
                         figure.height, common);
    case Format::pdf:
      // pdfcairo measures in inches and halves fonts by default: at 96 pixels
      // to the inch and this font scale, a PDF looks like the PNG of its size.
      return fmt::format("set terminal pdfcairo size {}in,{}in fontscale 0.9{}\n",
                         number(figure.width / 96.0), number(figure.height / 96.0), common);
  }
  throw Error("unknown figure format");
}

// Every setting a panel uses, set or reset, so nothing leaks from one panel
// of a row into the next.
void put_axis(std::string& out, const char* name, const Axis& axis, bool shown = true) {
  out += axis.label.empty() || !shown ? fmt::format("unset {}label\n", name)
                                      : fmt::format("set {}label {}\n", name, quoted(axis.label));
  out += axis.range ? fmt::format("set {}range [{}:{}]\n", name, number(axis.range->min),
                                  number(axis.range->max))
                    : fmt::format("set autoscale {}\n", name);
  out +=
      axis.log ? fmt::format("set logscale {}\n", name) : fmt::format("unset logscale {}\n", name);
  if (!axis.ticks.empty()) {
    std::string list;
    for (const auto& [at, text] : axis.ticks)
      list += (list.empty() ? "" : ", ") + quoted(text) + " " + number(at);
    out += fmt::format("set {}tics ({})\n", name, list);
  } else {
    out += fmt::format("set {}tics autofreq\n", name);
  }
  out +=
      shown ? fmt::format("set format {} '% h'\n", name) : fmt::format("set format {} ''\n", name);
}

// gnuplot labels a log axis only at powers of ten: too sparse over the one
// or two decades that a loss or an NFE sweep spans. A log axis without ticks
// of its own gets the range of its data (column `column` of the layers) and
// ticks at 1, 2 and 5 times powers of ten, or at every digit when those are
// fewer than three.
Axis with_log_ticks(Axis axis, const Panel& panel, std::size_t column) {
  if (!axis.log || !axis.ticks.empty()) return axis;
  if (!axis.range) {
    double lo = std::numeric_limits<double>::infinity(), hi = 0;
    for (const Layer& layer : panel.layers)
      for (const auto& row : layer.data)
        if (row.size() > column && row[column] > 0 && std::isfinite(row[column]))
          lo = std::min(lo, row[column]), hi = std::max(hi, row[column]);
    if (hi <= 0) return axis;
    axis.range = Range{lo / 1.1, hi * 1.1};
  }
  const double lo = std::min(axis.range->min, axis.range->max);
  const double hi = std::max(axis.range->min, axis.range->max);
  if (lo <= 0 || hi / lo > 1e4) return axis;  // many decades: gnuplot's own ticks suffice
  for (const std::vector<double>& mantissas :
       {std::vector<double>{1, 2, 5}, std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8, 9}}) {
    axis.ticks.clear();
    for (double power = std::floor(std::log10(lo)); std::pow(10.0, power) <= hi; ++power)
      for (double m : mantissas) {
        const double v = m * std::pow(10.0, power);
        if (v >= lo && v <= hi) axis.ticks.emplace_back(v, fmt::format("{:g}", v));
      }
    if (axis.ticks.size() >= 3) break;
  }
  return axis;
}

std::string legend(Legend where) {
  switch (where) {
    case Legend::top_right:
      return "set key top right opaque box lc rgb '#cccccc'\n";
    case Legend::outside_right:
      return "set key outside right top nobox\n";
    case Legend::below:
      return "set key outside bottom center horizontal nobox height 1.5\n";  // clear of the x label
    case Legend::none:
      return "unset key\n";
  }
  return "unset key\n";
}

std::string plot_clause(const Layer& layer, const std::string& data) {
  const std::string color = layer.color.empty() ? "" : " lc rgb " + quoted(layer.color);
  const std::string title = layer.title.empty() ? " notitle" : " title " + quoted(layer.title);
  const std::string size = number(layer.size);
  switch (layer.style) {
    case Style::bars:
      return data + " using 1:2:3 with boxes fs solid 0.45 noborder" + color + title;
    case Style::line:
      return data + " using 1:2 with lines lw " + size + color + title;
    case Style::dashed_line:
      return data + " using 1:2 with lines dt 2 lw " + size + color + title;
    case Style::line_points:
      return data + " using 1:2 with linespoints pt 7 ps 0.6 lw " + size + color + title;
    case Style::error_line:
      return data + " using 1:2:3 with yerrorlines pt 7 ps 0.6 lw " + size + color + title;
    case Style::points:
      return data + " using 1:2 with points pt 7 ps " + size + color + title;
    case Style::rgb_points:
      return data + " using 1:2:3 with points pt 7 ps " + size + " lc rgb variable" + title;
    case Style::image:
      return data + " using 1:2:3 with image" + title;
    case Style::contours:  // drawn from the table the contour pass wrote (put_contour_pass)
      return data + "c using 1:2 with lines lw " + size + color + title;
    case Style::vectors:
      return data + " using 1:2:3:4:5 with vectors head filled size screen 0.008,20 lw " + size +
             " lc palette" + title;
  }
  throw Error("unknown layer style");
}

// gnuplot draws contours only in 3-D plots: trace them once into a second
// datablock ("<name>c") that the 2-D plot then draws as lines.
void put_contour_pass(std::string& out, const Layer& layer, const std::string& data) {
  std::string levels;
  for (double v : layer.levels) levels += (levels.empty() ? "" : ",") + number(v);
  out += "set contour base\nunset surface\nset cntrparam levels discrete " + levels + "\n";
  out += "set table " + data + "c\nsplot " + data + " using 1:2:3 with lines\nunset table\n";
  out += "unset contour\nset surface\n";
}

// Whether the panel colours by the palette (and so wants a colour bar).
bool has_image(const Panel& panel) {
  return std::any_of(panel.layers.begin(), panel.layers.end(),
                     [](const Layer& l) { return l.style == Style::image || l.style == Style::vectors; });
}

}  // namespace

Format format_of(const std::string& path) {
  const auto dot = path.find_last_of('.');
  std::string ext = dot == std::string::npos ? "" : path.substr(dot + 1);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext == "png") return Format::png;
  if (ext == "svg") return Format::svg;
  if (ext == "pdf") return Format::pdf;
  throw Error(path, "cannot tell the figure format: use a .png, .svg or .pdf file name");
}

Range parse_range(const std::string& text) {
  const auto colon = text.find(':', 1);  // past a leading minus sign
  char* end = nullptr;
  Range r;
  if (colon != std::string::npos) {
    const std::string lo = text.substr(0, colon), hi = text.substr(colon + 1);
    r.min = std::strtod(lo.c_str(), &end);
    if (!lo.empty() && *end == '\0') {
      r.max = std::strtod(hi.c_str(), &end);
      if (!hi.empty() && *end == '\0' && std::isfinite(r.min) && std::isfinite(r.max) &&
          r.min != r.max)
        return r;
    }
  }
  throw Error(fmt::format("expected a range MIN:MAX of two different numbers, got '{}'", text));
}

std::pair<int, int> parse_size(const std::string& text) {
  int w = 0, h = 0;
  char x = 0, extra = 0;
  if (std::sscanf(text.c_str(), "%d%c%d%c", &w, &x, &h, &extra) != 3 || x != 'x' || w < 16 ||
      h < 16 || w > 10000 || h > 10000)
    throw Error(fmt::format("expected WIDTHxHEIGHT in pixels (16 to 10000), got '{}'", text));
  return {w, h};
}

void apply(const FigureOptions& options, Figure& figure) {
  if (!options.title.empty()) {
    if (figure.panels.size() == 1)
      figure.panels.front().title = options.title;
    else
      figure.title = options.title;
  }
  if (options.width > 0) figure.width = options.width;
  if (options.height > 0) figure.height = options.height;
  for (Panel& panel : figure.panels) {
    if (!options.xlabel.empty()) panel.x.label = options.xlabel;
    if (!options.ylabel.empty()) panel.y.label = options.ylabel;
    if (!options.colorlabel.empty()) panel.color.label = options.colorlabel;
    if (options.xrange) panel.x.range = options.xrange;
    if (options.yrange) panel.y.range = options.yrange;
    if (options.colorrange) panel.color.range = options.colorrange;
    panel.x.log = panel.x.log || options.logx;
    panel.y.log = panel.y.log || options.logy;
  }
}

std::string gnuplot_script(const Figure& figure, Format format) {
  if (figure.panels.empty()) throw Error("a figure needs at least one panel");
  std::string out = "# sde-plot figure\n" + terminal(figure, format);
  out += "set encoding utf8\n";
  out += kPalette;
  out += "set tics out nomirror\nset border 3 lw 1\nset grid lc rgb '#e5e5e5' lw 1\n";
  // Contours are traced here, before any axis is set up, because gnuplot
  // writes the traced table with the axes' number formats (a panel sharing
  // the y axis blanks its own).
  for (std::size_t p = 0; p < figure.panels.size(); ++p)
    for (std::size_t l = 0; l < figure.panels[p].layers.size(); ++l) {
      const Layer& layer = figure.panels[p].layers[l];
      put_table(out, block_name(p, l), layer.data);
      if (layer.style == Style::contours) put_contour_pass(out, layer, block_name(p, l));
    }

  const std::size_t count = figure.panels.size();
  const bool row = count > 1;
  if (row) {
    // Equal panels with fixed margins (not gnuplot's per-panel automatic
    // ones), so shared axes line up: room in pixels for the tic labels and
    // axis labels, the titles, and on the right for one colour bar.
    const double w = figure.width, h = figure.height;
    const double right = has_image(figure.panels.back()) ? 1 - 90 / w : 1 - 20 / w;
    const double top = 1 - (figure.title.empty() ? 36 : 62) / h;
    out += fmt::format("set multiplot layout 1,{} title {} margins {},{},{},{} spacing {},0\n",
                       count, quoted(figure.title), number(85 / w), number(right), number(60 / h),
                       number(top), number(12 / w));
  }
  for (std::size_t p = 0; p < count; ++p) {
    const Panel& panel = figure.panels[p];
    const bool first = p == 0;
    const std::string title = !panel.title.empty() || row ? panel.title : figure.title;
    out += title.empty() ? "unset title\n" : "set title " + quoted(title) + "\n";
    put_axis(out, "x", with_log_ticks(panel.x, panel, 0));
    put_axis(out, "y", with_log_ticks(panel.y, panel, 1), first);  // a row shares its y axis
    put_axis(out, "cb", panel.color);
    out += has_image(panel) && (!row || p + 1 == count) ? "set colorbox\n" : "unset colorbox\n";
    out += panel.equal_scales ? "set size ratio -1\n" : "set size noratio\n";
    out += legend(panel.legend);
    std::string clauses;
    for (std::size_t l = 0; l < panel.layers.size(); ++l)
      clauses += (l ? ", \\\n     " : "") + plot_clause(panel.layers[l], block_name(p, l));
    out += clauses.empty() ? "plot NaN notitle\n" : "plot " + clauses + "\n";
  }
  if (row) out += "unset multiplot\n";
  return out;
}

}  // namespace sde::plot

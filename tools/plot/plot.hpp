// Figures as plain data, and the gnuplot programs that draw them.
//
// A Figure is one panel or a row of panels that share their axes; a panel
// holds layers (histogram bars, lines, points, an image, contour lines), each
// with its own table of numbers. gnuplot_script() turns a figure into one
// self-contained gnuplot program with the data inline (named datablocks), so
// rendering is a single child process fed on stdin (plot_gnuplot.hpp) and
// everything here can be tested as text, without gnuplot.
//
// Text is UTF-8 and shown literally (gnuplot's "enhanced" markup is off, so a
// file name with '_' in a title stays as it is); write x₁ or σ directly.
#pragma once
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sde::plot {

enum class Format { png, svg, pdf };
// The format named by a path's extension (.png, .svg, .pdf, any case);
// throws sde::Error listing the supported extensions otherwise.
Format format_of(const std::string& path);

// An axis interval; min > max shows the axis reversed (time running backwards).
struct Range {
  double min = 0, max = 1;
};
// "a:b", as in --xrange -6:6; throws sde::Error on anything else.
Range parse_range(const std::string& text);

// Rows of numbers; an empty row ends a curve or a scan line of a grid.
using Table = std::vector<std::vector<double>>;

enum class Style {
  bars,         // x, height, width: histogram boxes
  line,         // x, y
  dashed_line,  // x, y
  line_points,  // x, y: a line through marked points
  error_line,   // x, y, standard error: a line through points with error bars
  points,       // x, y
  rgb_points,   // x, y, 0xRRGGBB: every point its own colour
  image,        // x, y, z on a regular grid (scan lines along x), coloured by the palette
  contours,     // x, y, z on a regular grid (scan lines along x), drawn at `levels` of z
  vectors,      // x, y, dx, dy, c: an arrow from (x, y) by (dx, dy), coloured by c through the palette
};

struct Layer {
  Style style = Style::line;
  std::string title;  // legend entry; empty keeps the layer out of the legend
  std::string color;  // "#rrggbb"; empty lets gnuplot choose
  double size = 1;    // line width or point size
  Table data;
  std::vector<double> levels;  // contours only
};

struct Axis {
  std::string label;
  std::optional<Range> range;  // automatic when empty
  bool log = false;
  // Labels at chosen positions (times at frame indices); empty: automatic tics.
  std::vector<std::pair<double, std::string>> ticks;
};

enum class Legend { top_right, outside_right, below, none };

struct Panel {
  std::string title;
  Axis x, y;
  Axis color;                 // the colour bar of image layers
  bool equal_scales = false;  // a unit as long on both axes (2-D data)
  Legend legend = Legend::top_right;
  std::vector<Layer> layers;
};

struct Figure {
  std::string title;              // above the row of panels; a single panel uses its own title
  int width = 640, height = 480;  // pixels (PDF: 96 to the inch)
  std::vector<Panel> panels;      // several: one row, sharing the y axis
};

// What the command line may change on any figure: labels, ranges, scales, size.
// Unset fields leave the figure's own choices.
struct FigureOptions {
  std::string title, xlabel, ylabel, colorlabel;
  std::optional<Range> xrange, yrange, colorrange;
  bool logx = false, logy = false;
  int width = 0, height = 0;
};
// "800x600"; throws sde::Error unless both are whole numbers in [16, 10000].
std::pair<int, int> parse_size(const std::string& text);
// Applies the options to every panel (the title to the figure when it has
// several panels).
void apply(const FigureOptions& options, Figure& figure);

// The complete gnuplot program: terminal, data blocks, panels. The image goes
// to gnuplot's standard output.
std::string gnuplot_script(const Figure& figure, Format format);

}  // namespace sde::plot

// sde-plot without gnuplot: option parsing, the gnuplot programs the figures
// become, the numbers inside them (histograms, contour levels, frame axes),
// the input checks, and the PDF date rewrite that makes output deterministic.
#include <doctest/doctest.h>

#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include "error.hpp"
#include "plot.hpp"
#include "plot_figures.hpp"
#include "plot_gnuplot.hpp"
#include "plot_inputs.hpp"
#include "test_mixtures.hpp"

namespace plot = sde::plot;
using sde::Matrix;

namespace {

std::string error_of(const auto& action) {
  try {
    action();
  } catch (const sde::Error& e) {
    return e.message();
  }
  return "(no error)";
}

// Draws from a normal by inverting its CDF on a regular grid of quantiles:
// deterministic, and the empirical distribution is the normal to O(1/n).
Matrix normal_quantiles(int n, double mean, double sd) {
  Matrix x(n, 1);
  for (int i = 0; i < n; ++i) {
    const double u = (i + 0.5) / n;
    // Bisection on the CDF: plenty for a test.
    double lo = -10, hi = 10;
    for (int k = 0; k < 80; ++k) {
      const double mid = (lo + hi) / 2;
      (0.5 * std::erfc(-mid / std::sqrt(2.0)) < u ? lo : hi) = mid;
    }
    x(i, 0) = mean + sd * lo;
  }
  return x;
}

sde::NpyArray array(std::vector<std::size_t> shape, std::vector<double> data) {
  sde::NpyArray a;
  a.shape = std::move(shape);
  a.data = std::move(data);
  return a;
}

plot::ExactDensity standard_normal_2d() {
  Matrix mean = Matrix::Zero(1, 2);
  return {sde::GaussianMixture::isotropic({1.0}, mean, {1.0}), sde::Sde::vp(), 0};
}

// The rows of the named datablock in a script, as text lines.
std::vector<std::string> block(const std::string& script, const std::string& name) {
  std::vector<std::string> lines;
  auto at = script.find(name + " << EOD\n");
  REQUIRE(at != std::string::npos);
  at = script.find('\n', at) + 1;
  for (auto end = script.find('\n', at); script.compare(at, 3, "EOD") != 0;
       at = end + 1, end = script.find('\n', at))
    lines.push_back(script.substr(at, end - at));
  return lines;
}

}  // namespace

TEST_CASE("the output format comes from the extension") {
  CHECK(plot::format_of("a/b.png") == plot::Format::png);
  CHECK(plot::format_of("fig.SVG") == plot::Format::svg);
  CHECK(plot::format_of("x.y.pdf") == plot::Format::pdf);
  CHECK(error_of([] { plot::format_of("fig.gif"); }) ==
        "fig.gif: cannot tell the figure format: use a .png, .svg or .pdf file name");
  CHECK(error_of([] { plot::format_of("figure"); }).find("cannot tell") != std::string::npos);
}

TEST_CASE("ranges, sizes and grids parse strictly") {
  CHECK(plot::parse_range("-6:6").min == -6);
  CHECK(plot::parse_range("-6:6").max == 6);
  CHECK(plot::parse_range("1:-1e-3").max == -1e-3);  // reversed axes are allowed
  for (const char* bad : {"3", "a:b", "1:1", ":2", "1:", "1:2:3", "nan:1"})
    CHECK_MESSAGE(error_of([&] { plot::parse_range(bad); }).find("MIN:MAX") != std::string::npos,
                  bad);
  CHECK(plot::parse_size("800x600") == std::pair(800, 600));
  for (const char* bad : {"800", "10x600", "800x600x", "800X600", "x600"})
    CHECK_MESSAGE(error_of([&] { plot::parse_size(bad); }) != "(no error)", bad);

  const plot::GridSpec four = plot::parse_grid_spec("-6,6,-5,5");
  CHECK(four.x.min == -6);
  CHECK(four.y.max == 5);
  CHECK(four.nx == 0);
  const plot::GridSpec six = plot::parse_grid_spec("0,1,0,2,30,20");
  CHECK(six.nx == 30);
  CHECK(six.ny == 20);
  for (const char* bad :
       {"0,1,0", "0,1,0,1,5", "1,0,0,1", "0,1,0,1,2.5,3", "0,1,0,1,1,5", "0,,0,1", "0,1,0,x"})
    CHECK_MESSAGE(error_of([&] { plot::parse_grid_spec(bad); }) != "(no error)", bad);
}

TEST_CASE("a figure becomes one gnuplot program with its data inline") {
  plot::Figure figure;
  plot::Panel panel;
  panel.title = "it's \"quoted\"\nno newline";
  panel.x.label = "x₁";
  plot::Layer line;
  line.style = plot::Style::line;
  line.title = "curve";
  line.color = "#123456";
  line.data = {{0, 1}, {0.5, 2.25}, {}, {1, std::nan("")}};
  panel.layers.push_back(line);
  figure.panels.push_back(panel);

  const std::string png = plot::gnuplot_script(figure, plot::Format::png);
  CHECK(png.find("set terminal pngcairo size 640,480") != std::string::npos);
  CHECK(plot::gnuplot_script(figure, plot::Format::svg).find("set terminal svg size 640,480") !=
        std::string::npos);
  CHECK(plot::gnuplot_script(figure, plot::Format::pdf)
            .find("set terminal pdfcairo size 6.666667in,5in fontscale 0.9") != std::string::npos);
  // Rows as written, a blank line where a curve breaks, NaN for a missing value.
  CHECK(block(png, "$p0l0") == std::vector<std::string>{"0 1", "0.5 2.25", "", "1 NaN"});
  // Single quotes keep backslashes literal; an inner quote is doubled; no newline.
  CHECK(png.find("set title 'it''s \"quoted\"no newline'") != std::string::npos);
  CHECK(png.find("set xlabel 'x₁'") != std::string::npos);
  CHECK(png.find("plot $p0l0 using 1:2 with lines lw 1 lc rgb '#123456' title 'curve'") !=
        std::string::npos);
  CHECK(png.find("noenhanced") != std::string::npos);
  CHECK(png.find("multiplot") == std::string::npos);
  CHECK(png == plot::gnuplot_script(figure, plot::Format::png));
}

TEST_CASE("a row of panels shares the y axis and traces contours before any axis is set") {
  plot::Figure figure;
  figure.title = "row";
  for (int k = 0; k < 3; ++k) {
    plot::Panel panel;
    panel.y.label = "x₂";
    plot::Layer contours;
    contours.style = plot::Style::contours;
    contours.levels = {0.5, 0.25};
    contours.data = {{0, 0, 1}, {1, 0, 0}, {}, {0, 1, 0}, {1, 1, 1}, {}};
    panel.layers.push_back(contours);
    figure.panels.push_back(panel);
  }
  const std::string script = plot::gnuplot_script(figure, plot::Format::png);
  CHECK(script.find("set multiplot layout 1,3 title 'row'") != std::string::npos);
  CHECK(script.find("unset multiplot") != std::string::npos);
  // Only the first panel labels y; the others blank its tic labels.
  CHECK(script.find("set ylabel 'x₂'") == script.rfind("set ylabel 'x₂'"));
  CHECK(script.find("set format y ''") != std::string::npos);
  // gnuplot writes traced contours with the current axis formats: every
  // trace must come before the first axis setting.
  CHECK(script.rfind("set table $p2l0c") < script.find("set format"));
  CHECK(script.find("set cntrparam levels discrete 0.5,0.25") != std::string::npos);
  CHECK(script.find("plot $p1l0c using 1:2 with lines") != std::string::npos);
}

TEST_CASE("log axes get ticks at 1, 2 and 5 times powers of ten over their data") {
  plot::Figure figure;
  plot::Panel panel;
  panel.y.log = true;
  plot::Layer line;
  line.data = {{0, 0.3}, {1, 0.9}};
  panel.layers.push_back(line);
  figure.panels.push_back(panel);
  std::string script = plot::gnuplot_script(figure, plot::Format::png);
  // Under a decade, 1-2-5 gives one tick: every digit is used instead.
  CHECK(script.find("set ytics ('0.3' 0.3, '0.4' 0.4, '0.5' 0.5, '0.6' 0.6, '0.7' 0.7, "
                    "'0.8' 0.8, '0.9' 0.9)") != std::string::npos);
  figure.panels[0].layers[0].data = {{0, 3}, {1, 900}};
  script = plot::gnuplot_script(figure, plot::Format::png);
  CHECK(script.find("set ytics ('5' 5, '10' 10, '20' 20, '50' 50, '100' 100, '200' 200, "
                    "'500' 500)") != std::string::npos);
  CHECK(script.find("set logscale y") != std::string::npos);
}

TEST_CASE("the command-line options override any figure's own choices") {
  plot::Figure figure;
  figure.panels.resize(2);
  figure.panels[0].x.label = "own";
  plot::FigureOptions options;
  options.title = "T";
  options.xlabel = "X";
  options.yrange = plot::Range{-1, 1};
  options.logx = true;
  options.width = 900;
  plot::apply(options, figure);
  CHECK(figure.title == "T");  // several panels: the figure's title
  CHECK(figure.width == 900);
  CHECK(figure.height == 480);
  for (const plot::Panel& p : figure.panels) {
    CHECK(p.x.label == "X");
    CHECK(p.y.range->min == -1);
    CHECK(p.x.log);
    CHECK_FALSE(p.y.log);
  }
  figure.panels.resize(1);
  plot::apply(options, figure);
  CHECK(figure.panels[0].title == "T");  // one panel: its own title
}

TEST_CASE("histograms are densities and the exact curve is the mixture's") {
  const Matrix x = normal_quantiles(20000, 1.0, 0.5);
  const plot::ExactDensity exact{
      sde::GaussianMixture::isotropic({1.0}, Matrix::Constant(1, 1, 1.0), {0.5}), sde::Sde::vp(),
      0};
  plot::FigureOptions options;
  options.xrange = plot::Range{-2, 4};
  const plot::Figure figure = plot::histogram_figure({x, x}, {"a", "b"}, 60, exact, options);
  REQUIRE(figure.panels.size() == 2);
  CHECK(figure.panels[1].title == "b");
  const plot::Table& bars = figure.panels[0].layers[0].data;
  REQUIRE(bars.size() == 60);
  double mass = 0;
  for (const auto& bar : bars) mass += bar[1] * bar[2];
  CHECK(mass == doctest::Approx(1.0).epsilon(1e-9));  // every sample is inside [-2, 4]
  CHECK(bars[0][0] == doctest::Approx(-2 + 0.05));    // bar centres
  const plot::Table& curve = figure.panels[0].layers[1].data;
  for (const auto& point : curve) {
    const double z = (point[0] - 1) / 0.5;
    CHECK(point[1] ==
          doctest::Approx(std::exp(-z * z / 2) / (0.5 * std::sqrt(2 * std::numbers::pi))));
  }
  // The histogram follows the density it was drawn from.
  for (const auto& bar : bars) {
    const double z = (bar[0] - 1) / 0.5;
    CHECK(bar[1] == doctest::Approx(std::exp(-z * z / 2) / (0.5 * std::sqrt(2 * std::numbers::pi)))
                        .epsilon(0.05)
                        .scale(1));
  }
  // Panels share their y range, with room above the tallest bar or curve.
  CHECK(figure.panels[0].y.range->max == figure.panels[1].y.range->max);
  CHECK(figure.panels[0].y.range->max > 0.79);
}

TEST_CASE("scatter contours enclose 50, 90 and 99% of the exact mass") {
  // For N(0, I) in 2-D the region of mass q is the disc r^2 <= -2 ln(1 - q),
  // whose edge has density (1 - q) / (2 pi).
  plot::FigureOptions options;
  options.xrange = plot::Range{-6, 6};
  options.yrange = plot::Range{-6, 6};
  const Matrix x = Matrix::Zero(3, 2);
  const plot::Figure figure =
      plot::scatter_figure({x}, {}, standard_normal_2d(), false, 0, options);
  const plot::Layer& contours = figure.panels[0].layers.at(1);
  REQUIRE(contours.style == plot::Style::contours);
  REQUIRE(contours.levels.size() == 3);
  const double masses[] = {0.5, 0.9, 0.99};
  for (int k = 0; k < 3; ++k)
    CHECK(contours.levels[k] ==
          doctest::Approx((1 - masses[k]) / (2 * std::numbers::pi)).epsilon(0.03));
  CHECK(figure.panels[0].equal_scales);
  CHECK(error_of([&] { plot::scatter_figure({x}, {}, std::nullopt, true, 0, options); }) ==
        "colouring by component needs the mixture");
}

TEST_CASE("colouring by component uses each point's likeliest component") {
  const sde::GaussianMixture mixture = sde::testing::anisotropic_2d();
  Matrix x(3, 2);
  x << -2, 0, 2, 1, 0, -2.5;  // the three means
  const plot::Figure figure =
      plot::scatter_figure({x}, {}, plot::ExactDensity{mixture, sde::Sde::vp(), 0}, true, 0, {});
  const plot::Table& points = figure.panels[0].layers[0].data;
  REQUIRE(points.size() == 3);
  CHECK(points[0][2] == 0x1f77b4);
  CHECK(points[1][2] == 0xff7f0e);
  CHECK(points[2][2] == 0x2ca02c);
}

TEST_CASE("heatmaps: the grid layout of sde-likelihood, the exact panel, one colour scale") {
  // ny x nx = 2 x 3 values r * 10 + c; row r is at y = y.min + r (y.max - y.min).
  const plot::Grid grid =
      plot::as_grid(array({2, 3}, {0, 1, 2, 10, 11, 12}), plot::parse_grid_spec("0,2,-1,1"));
  const plot::Figure figure = plot::heatmap_figure({grid}, std::nullopt, {}, {}, false, {});
  const plot::Table& image = figure.panels[0].layers[0].data;
  CHECK(
      image ==
      plot::Table{{0, -1, 0}, {1, -1, 1}, {2, -1, 2}, {}, {0, 1, 10}, {1, 1, 11}, {2, 1, 12}, {}});
  CHECK(figure.panels[0].color.range->max == 12);
  CHECK(figure.panels[0].color.range->min == 0);  // the top 12 nats
  CHECK(figure.panels[0].x.range->min == -0.5);   // cells centred on the points

  const plot::ExactDensity exact = standard_normal_2d();
  const plot::Figure both =
      plot::heatmap_figure({grid}, exact, plot::parse_grid_spec("0,2,-1,1"), {"a", "b"}, true, {});
  REQUIRE(both.panels.size() == 2);
  CHECK(both.panels[1].title == "b");
  const plot::Table& exact_image = both.panels[1].layers[0].data;
  CHECK(exact_image[0][2] == doctest::Approx(std::exp(-0.5) / (2 * std::numbers::pi)));
  CHECK(both.panels[0].color.range->max == both.panels[1].color.range->max);
  CHECK(error_of([&] {
          plot::heatmap_figure({}, exact, plot::parse_grid_spec("0,1,0,1"), {}, false, {});
        }).find("nx,ny") != std::string::npos);
  CHECK(error_of([&] {
          plot::as_grid(array({2, 3}, {0, 1, 2, 3, 4, 5}), plot::parse_grid_spec("0,1,0,1,2,3"));
        }) == "shape (2, 3) is not the ny x nx = 3 x 2 of the grid");
}

TEST_CASE("evolution: one histogram per frame, frames placed at their times") {
  // Frame k holds N copies of k: each image column is a spike at its frame.
  plot::Trajectory trajectory{3, 4, 1, {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2}};
  plot::FigureOptions options;
  options.yrange = plot::Range{-0.5, 2.5};
  plot::Figure figure = plot::evolution_figure(trajectory, {{1.0, 0.5, 0.0}, "t"}, 3, 2, options);
  const plot::Panel& p = figure.panels[0];
  CHECK(p.x.range->min == doctest::Approx(1.25));  // time runs backwards: a reversed axis
  CHECK(p.x.range->max == doctest::Approx(-0.25));
  const plot::Table& image = p.layers[0].data;
  // Bin b of frame k is row b * 4 + k (scan lines along time, then a break).
  for (int b = 0; b < 3; ++b)
    for (int k = 0; k < 3; ++k) CHECK(image[b * 4 + k][2] == (b == k ? 1.0 : 0.0));
  CHECK(p.layers[1].data.size() == 2 * 4);  // two paths of three frames, each ended by a break
  CHECK(p.layers[1].data[1] == std::vector<double>{0.5, 1});

  // Times that do not fit even columns: frame numbers, labelled with times.
  figure = plot::evolution_figure(trajectory, {{0.0, 0.1, 1.0}, "t"}, 3, 0, options);
  CHECK(figure.panels[0].x.ticks.size() == 3);
  CHECK(figure.panels[0].x.ticks[2] == std::pair<double, std::string>(2, "1"));
  CHECK(figure.panels[0].layers.size() == 1);  // no paths asked for
}

TEST_CASE("strips: chosen frames in a row, titled with their times, contours of p_t") {
  plot::Trajectory trajectory{11, 2, 2, std::vector<double>(11 * 2 * 2, 0.0)};
  for (std::size_t i = 0; i < trajectory.values.size(); ++i) trajectory.values[i] = double(i % 5);
  plot::FrameAxis axis = plot::frame_numbers(11);
  for (double& v : axis.values) v /= 10;
  axis.label = "t";
  const plot::Figure figure = plot::strip_figure(trajectory, {}, axis, standard_normal_2d(), 0, {});
  REQUIRE(figure.panels.size() == 6);  // up to six, first and last included
  CHECK(figure.panels[1].title == "t = 0.2");
  CHECK(figure.panels[5].title == "t = 1");
  CHECK(figure.panels[0].x.range->min == figure.panels[5].x.range->min);  // shared axes
  // Contours of p_t: under the VP SDE N(0, I) stays N(0, I), at every t.
  for (std::size_t k = 0; k < 3; ++k)
    CHECK(figure.panels[3].layers[1].levels[k] ==
          doctest::Approx(figure.panels[0].layers[1].levels[k]));

  const plot::Figure two =
      plot::strip_figure(trajectory, {0, -1}, plot::frame_numbers(11), std::nullopt, 1, {});
  REQUIRE(two.panels.size() == 2);
  CHECK(two.panels[1].title == "frame 10");
  CHECK(two.panels[1].layers[0].data.size() == 1);  // max_points
  CHECK(error_of([&] { plot::strip_figure(trajectory, {11}, axis, std::nullopt, 0, {}); }) ==
        "--frames: frame 11 is out of range for 11 frames");
}

TEST_CASE("frame axes come from run summaries, lists or frame numbers") {
  using sde::Json;
  CHECK(plot::frame_axis_from_summary(Json{{"trajectory_times", {1.0, 0.5}}}).label == "t");
  CHECK(plot::frame_axis_from_summary(Json{{"trajectory_steps", {0, 50, 100}}}).values[2] == 100);
  CHECK(plot::frame_axis_from_summary(Json{{"trajectory_steps", {0, 50}}}).label == "step");
  const Json perturb{{"kernel", Json::array({Json{{"t", 0.0}}, Json{{"t", 0.5}}})}};
  CHECK(plot::frame_axis_from_summary(perturb).values == std::vector<double>{0, 0.5});
  CHECK(error_of([] { plot::frame_axis_from_summary(Json::object()); }).find("no frame times") !=
        std::string::npos);
  CHECK(plot::read_frame_axis(3, "").label == "frame");
  CHECK(plot::read_frame_axis(3, "0,0.5,1").values == std::vector<double>{0, 0.5, 1});
  CHECK(error_of([] { plot::read_frame_axis(2, "0,0.5,1"); }) ==
        "3 frame times for a trajectory of 2 frames");
  CHECK(error_of([] { plot::read_frame_axis(2, "0,x"); }).find("not a number") !=
        std::string::npos);
}

TEST_CASE("loss logs: CSV or JSON lines, a trailing mean, log scale only for positive losses") {
  const plot::LossLog csv = plot::parse_loss_log("step,loss\n10,4\n20,2\n30,0\n", false);
  CHECK(csv.steps == std::vector<double>{10, 20, 30});
  const plot::LossLog jsonl =
      plot::parse_loss_log("{\"step\": 10, \"loss\": 4}\n\n{\"step\": 20, \"loss\": 2}\n", true);
  CHECK(jsonl.losses == std::vector<double>{4, 2});
  CHECK(error_of([] { plot::parse_loss_log("{\"step\": 1}\n", true); }).find("line 1") == 0);
  CHECK(error_of([] { plot::parse_loss_log("step,loss\n", false); }) != "(no error)");

  const plot::Figure figure = plot::loss_figure(csv, 2);
  CHECK_FALSE(figure.panels[0].y.log);  // a zero loss
  CHECK(figure.panels[0].layers[1].data ==
        plot::Table{{10, 4}, {20, 3}, {30, 1}});  // mean of the last two
  CHECK(plot::loss_figure(jsonl, 0).panels[0].y.log);
  CHECK(plot::loss_figure(jsonl, 0).panels[0].layers.size() == 1);
}

TEST_CASE("curves: one line per label, sorted by x, read through dotted keys") {
  using sde::Json;
  const auto run = [](const char* sampler, double nfe, double quality) {
    return plot::NamedJson{
        sampler,
        Json{{"settings", {{"sampler", sampler}}}, {"nfe", nfe}, {"q", {{"ed", quality}}}}};
  };
  const std::vector<plot::NamedJson> runs = {run("pc", 100, 0.1), run("ode", 50, 0.2),
                                             run("pc", 10, 0.3)};
  const plot::Figure figure = plot::curves_figure(runs, {"nfe", "q.ed", {"settings.sampler"}, ""},
                                                  run("exact", 0, 0.05), "exact draws");
  const plot::Panel& p = figure.panels[0];
  REQUIRE(p.layers.size() == 3);
  CHECK(p.layers[0].title == "pc");
  CHECK(p.layers[0].data == plot::Table{{10, 0.3}, {100, 0.1}});
  CHECK(p.layers[1].title == "ode");
  CHECK(p.layers[2].data == plot::Table{{10, 0.05}, {100, 0.05}});  // across the x range
  CHECK(p.x.label == "nfe");
  CHECK(error_of([&] {
          plot::curves_figure(runs, {"nfe", "q.missing", {}, ""}, std::nullopt, "");
        }) == "pc: no key 'q.missing'");
  CHECK(error_of([&] {
          plot::curves_figure(runs, {"settings", "nfe", {}, ""}, std::nullopt, "");
        }).find("is not a number") != std::string::npos);
}

TEST_CASE("the exact density: p_t, one class, or the conditional of known coordinates") {
  const sde::GaussianMixture mixture = sde::testing::anisotropic_2d();
  const double x[2] = {0.3, -0.7};
  const plot::ExactDensity all = plot::exact_density(mixture, sde::Sde::vp(), 0.4, -1, {});
  CHECK(all.log_density(x) ==
        mixture.log_density(x, sde::Sde::vp().mean_coeff(0.4), sde::Sde::vp().std(0.4)));
  const plot::ExactDensity one = plot::exact_density(mixture, sde::Sde::vp(), 0, 2, {});
  CHECK(one.mixture.components() == 1);
  CHECK(one.mixture.means()(0, 1) == -2.5);
  const plot::ExactDensity given =
      plot::exact_density(mixture, sde::Sde::vp(), 0, -1, {1.0, std::nan("")});
  CHECK(given.mixture.dim() == 1);
  CHECK(error_of([&] { plot::exact_density(mixture, sde::Sde::vp(), 0, 3, {}); }) ==
        "class 3 does not exist: the mixture has 3 components");
  CHECK(error_of([&] {
          plot::exact_density(mixture, sde::Sde::vp(), 0.5, -1, {1.0, std::nan("")});
        }).find("t = 0 only") != std::string::npos);
}

TEST_CASE("inputs are checked for shape and values") {
  CHECK(plot::as_samples(array({3}, {1, 2, 3}), 1).rows() == 3);  // flat 1-D samples
  CHECK(error_of([] {
          plot::as_samples(array({2, 2}, {1, 2, 3, 4}), 1);
        }) == "expected N x 1 samples (N >= 1), got shape (2, 2)");
  CHECK(error_of([] {
          plot::as_samples(array({2, 1}, {1, std::nan("")}), 1);
        }) == "row 1 has a non-finite value (nan)");
  // With known coordinates only the unknown columns remain.
  const Matrix unknown =
      plot::as_samples(array({2, 3}, {1, 2, 3, 4, 5, 6}), 1, {std::nan(""), 0.0, 0.0});
  CHECK(unknown(1, 0) == 4);
  CHECK(plot::as_known(array({1, 2}, {1, std::nan("")})).size() == 2);
  CHECK(error_of([] {
          plot::as_known(array({2, 2}, {1, 2, 3, 4}));
        }).find("one row") != std::string::npos);
  CHECK(error_of([] {
          plot::as_trajectory(array({4, 2}, std::vector<double>(8)), 1);
        }) == "expected a K x N x 1 trajectory, got shape (4, 2)");
  std::vector<double> values(2 * 3 * 2, 0.0);
  values[(1 * 3 + 2) * 2 + 1] = INFINITY;
  CHECK(error_of([&] {
          plot::as_trajectory(array({2, 3, 2}, values), 2);
        }) == "frame 1, row 2 has a non-finite value (inf)");
}

TEST_CASE("PDF dates are rewritten in place, so the bytes depend only on the script") {
  const std::string pdf =
      "%PDF-1.5\n<< /CreationDate (D:20261123192437Z)\n/ModDate (D:20261123192438+01'00') >>\n";
  const std::string fixed = plot::with_pdf_dates(pdf, 0);
  CHECK(fixed.size() == pdf.size());  // cross-reference offsets stay valid
  CHECK(fixed ==
        "%PDF-1.5\n<< /CreationDate (D:19700101000000Z)\n/ModDate (D:19700101000000+01'00') >>\n");
  CHECK(plot::with_pdf_dates(pdf, 1700000000).find("D:20231114221320Z") != std::string::npos);
  CHECK(plot::with_pdf_dates("no dates", 0) == "no dates");
}

// Arrows: one per grid point, centred on it, the longest of all panels 0.9
// grid cells long (or each, normalised), coloured by length on one scale.
TEST_CASE("quiver: arrows centred on the grid, scaled to the cell, coloured by length") {
  plot::VectorField a{{0, 2}, {0, 1}, 3, 2, {1, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 0.5}, "a"};
  plot::VectorField b = a;
  b.u = {0, 0, 0, 0, 0, 0};
  b.v = {0, 0, 2, 0, 0, 0};
  for (const bool normalize : {false, true}) {
    CAPTURE(normalize);
    const plot::Figure f = plot::quiver_figure({a, b}, {}, std::nullopt, normalize, {});
    REQUIRE(f.panels.size() == 2);
    const plot::Layer& arrows = f.panels[0].layers.back();
    CHECK(arrows.style == plot::Style::vectors);
    REQUIRE(arrows.data.size() == 6);
    // Cell = 0.9 min(dx, dy) = 0.9; the longest vector (b's, 2) sets the scale.
    const double first = normalize ? 0.9 : 0.9 / 2;
    CHECK(arrows.data[0][2] == doctest::Approx(first));      // dx of (1, 0) at (0, 0)
    CHECK(arrows.data[0][0] == doctest::Approx(-first / 2));  // centred on x = 0
    CHECK(arrows.data[0][4] == 1);                            // coloured by length
    CHECK(arrows.data[5][3] == doctest::Approx(normalize ? 0.9 : 0.9 / 4));
    CHECK(arrows.data[5][1] == doctest::Approx(1 - arrows.data[5][3] / 2));
    CHECK(arrows.data[1][2] == 0);  // a zero vector stays a point
    CHECK(f.panels[1].color.range->max == 2);
  }
  CHECK_THROWS_AS(plot::quiver_figure({a}, {"one", "two"}, std::nullopt, false, {}), sde::Error);
}

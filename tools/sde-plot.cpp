// sde-plot: figures from .npy data, training logs and run summaries, drawn by
// gnuplot (a child process) into PNG, SVG or PDF, chosen by the output's
// extension. The figures are built in lib/plot_figures, the gnuplot program
// in lib/plot; the image file appears only once gnuplot has succeeded.
#include <optional>

#include "cli.hpp"
#include "error.hpp"
#include "plot_figures.hpp"
#include "plot_gnuplot.hpp"

namespace {

namespace plot = sde::plot;

// An option whose text `parse` turns into its value; parse errors are usage errors.
template <class T, class Parse>
CLI::Option* add_parsed(CLI::App& app, const std::string& name, T& value, Parse parse,
                        const std::string& help, const std::string& type) {
  const auto set = [&value, parse, name](const std::string& text) {
    try {
      value = parse(text);
    } catch (const sde::Error& e) {
      throw CLI::ValidationError(name, e.what());
    }
  };
  return app.add_option_function<std::string>(name, set, help)->type_name(type);
}

}  // namespace

int main(int argc, char** argv) {
  sde::cli::Tool tool("sde-plot",
                      "Draw figures from .npy data, training logs and run summaries with gnuplot "
                      "(PNG, SVG or PDF by the output's extension)",
                      "sde-plot scatter pc.npy --mixture data/ring8.json --color-by-component -o scatter.png\n"
                      "sde-plot hist lang.npy --mixture data/seed000_1d.json -o hist.png\n"
                      "sde-plot heatmap grid.npy --mixture data/ring8.json --grid -6,6,-6,6 -o heatmap.png\n"
                      "sde-plot quiver field.npy --grid=-6,6,-6,6,25,25 --mixture data/ring8.json --t 0.1 -o field.png\n");
  CLI::App& app = tool.app();
  tool.require_subcommand("hist, scatter, heatmap, quiver, evolution, strip, loss, curves");
  std::string output, script_path;
  app.add_option("-o,--output", output, "Figure file: .png, .svg or .pdf")->required();
  app.add_option("--script", script_path, "Also write the gnuplot program to this file");
  plot::FigureOptions look;
  app.add_option("--title", look.title, "Figure title");
  app.add_option("--xlabel", look.xlabel, "x-axis label");
  app.add_option("--ylabel", look.ylabel, "y-axis label");
  app.add_option("--zlabel", look.colorlabel, "Colour-bar label (heatmaps)");
  const auto range = [](const std::string& text) { return std::optional(plot::parse_range(text)); };
  add_parsed(app, "--xrange", look.xrange, range, "x range (reversed when MIN > MAX)", "MIN:MAX");
  add_parsed(app, "--yrange", look.yrange, range, "y range", "MIN:MAX");
  add_parsed(app, "--zrange", look.colorrange, range, "Colour-scale range (heatmaps)", "MIN:MAX");
  std::pair<int, int> size;
  add_parsed(app, "--size", size, plot::parse_size, "Image size in pixels", "WxH");
  app.add_flag("--logx", look.logx, "Logarithmic x axis");
  app.add_flag("--logy", look.logy, "Logarithmic y axis");
  const std::string& mixture_path = tool.add_mixture(false);
  const sde::cli::SdeOptions& sde_options = tool.add_sde();
  double t = 0;
  app.add_option("--t", t, "Time of the exact density p_t of --mixture (0: the data)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  int class_label = -1;
  std::string known_path;
  app.add_option("--class", class_label, "Exact density of component K alone")
      ->check(sde::cli::NonNegativeCount);
  app.add_option("--known", known_path, "Known coordinates (NaN: unknown): exact conditional");

  // Every subcommand reads `files`: exactly one, at least one, or any number.
  std::vector<std::string> files;
  enum Inputs { one, some, any };
  const auto command = [&](const char* name, const char* help, Inputs inputs, const char* what) {
    CLI::App* sub = app.add_subcommand(name, help);
    sub->footer("Shared options (-o, --title, --xrange, --mixture, ...): sde-plot --help\n");
    CLI::Option* input = sub->add_option(inputs == one ? "file" : "files", files, what);
    if (inputs != any) input->required();
    if (inputs == one) input->expected(1);
    return sub;
  };
  CLI::App* hist =
      command("hist", "Histograms of 1-D samples against the exact density", some, "N x 1 samples");
  CLI::App* scatter =
      command("scatter", "2-D samples with the exact density's contours", some, "N x 2 samples");
  CLI::App* heatmap =
      command("heatmap", "Log-density grids (sde-likelihood --grid) beside the exact one", any,
              "ny x nx log-density grids");
  CLI::App* quiver = command("quiver", "Vector fields (sde-score --grid) as arrows over the exact density's contours",
                             some, "nx ny x 2 vectors");
  CLI::App* evolution =
      command("evolution", "Density over time of a 1-D trajectory, with sample paths", one,
              "K x N x 1 trajectory");
  CLI::App* strip = command("strip", "A row of 2-D frames of a trajectory on shared axes", one,
                            "K x N x 2 trajectory");
  CLI::App* loss = command("loss", "Training loss against step (sde-train --log)", one,
                           "step,loss CSV or .jsonl");
  CLI::App* curves = command("curves", "Lines through values of run summaries (NFE vs quality)",
                             some, "JSON files, one per point (a.json+b.json: merged)");

  int bins = 60, paths = 5, smooth = 0;
  for (CLI::App* sub : {hist, evolution})
    sub->add_option("--bins", bins, "Histogram bins (per frame)")
        ->check(CLI::Range(2, 100000))
        ->capture_default_str();
  bool color_by_component = false, exp = false;
  scatter->add_flag("--color-by-component", color_by_component,
                    "Colour points by their likeliest component (needs --mixture)");
  plot::GridSpec grid;
  std::vector<std::string> panel_titles;
  add_parsed(*heatmap, "--grid", grid, plot::parse_grid_spec,
             "The grids' extent, and size (needed for --mixture alone)",
             "XMIN,XMAX,YMIN,YMAX[,NX,NY]")
      ->required();
  heatmap->add_flag("--exp", exp, "Show the density instead of the log-density");
  add_parsed(*quiver, "--grid", grid, plot::parse_grid_spec, "The grid the field was evaluated on (sde-score --grid)",
             "XMIN,XMAX,YMIN,YMAX,NX,NY")
      ->required();
  bool normalize = false;
  quiver->add_flag("--normalize", normalize, "Arrows of one length: directions only (colour still shows length)");
  for (CLI::App* sub : {hist, scatter, heatmap, quiver})
    sub->add_option("--panel-title", panel_titles, "Title of the next panel (repeat per panel)")
        ->expected(1)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  std::string times;
  for (CLI::App* sub : {evolution, strip})
    sub->add_option("--times", times,
                    "Frame times: T1,T2,... or the run summary of the trajectory");
  evolution->add_option("--paths", paths, "Sample paths drawn on top")
      ->check(sde::cli::NonNegativeCount)
      ->capture_default_str();
  std::vector<long> frames;
  strip->add_option("--frames", frames, "Frames (negative: from the end; default: up to 6)")
      ->delimiter(',');
  std::size_t max_points = 5000;
  for (CLI::App* sub : {scatter, strip})
    sub->add_option("--max-points", max_points, "Draw at most this many samples (0: all)")
        ->capture_default_str();
  loss->add_option("--smooth", smooth, "Also draw the mean over this many log entries")
      ->check(sde::cli::NonNegativeCount);
  plot::CurveKeys keys;
  std::string reference_path, reference_label = "reference";
  curves->add_option("--x", keys.x, "Key of x, dotted for nested objects (nfe_mean)")->required();
  curves->add_option("--y", keys.y, "Key of y (quality.mean_log_density)")->required();
  curves->add_option("--label", keys.label, "Keys whose values name the lines (comma-separated)")
      ->delimiter(',');
  curves->add_option("--yerr", keys.error, "Key of y's standard error (error bars)");
  curves->add_option("--reference", reference_path, "JSON file whose y is drawn as a dashed line");
  curves->add_option("--reference-label", reference_label, "Legend entry of --reference")
      ->capture_default_str();

  return tool.run(argc, argv, [&] {
    const plot::Format format = plot::format_of(output);
    std::tie(look.width, look.height) = size;
    const std::vector<double> known =
        known_path.empty() ? std::vector<double>() : plot::read_known(known_path);
    const std::optional<plot::ExactDensity> exact =
        plot::read_exact_density(mixture_path, sde_options.make(), t, class_label, known);
    const auto build = [&]() -> plot::Figure {
      if (hist->parsed() || scatter->parsed()) {
        const int dim = hist->parsed() ? 1 : 2;
        std::vector<sde::Matrix> samples;
        for (const std::string& f : files) samples.push_back(plot::read_samples(f, dim, known));
        return dim == 1 ? plot::histogram_figure(samples, panel_titles, bins, exact, look)
                        : plot::scatter_figure(samples, panel_titles, exact, color_by_component,
                                               max_points, look);
      }
      if (heatmap->parsed()) {
        if (files.empty() && !exact) throw sde::Error("give grid .npy files, --mixture, or both");
        std::vector<plot::Grid> grids;
        for (const std::string& f : files) grids.push_back(plot::read_grid(f, grid));
        return plot::heatmap_figure(grids, exact, grid, panel_titles, exp, look);
      }
      if (quiver->parsed()) {
        std::vector<plot::VectorField> fields;
        for (const std::string& f : files) fields.push_back(plot::read_vector_field(f, grid));
        return plot::quiver_figure(fields, panel_titles, exact, normalize, look);
      }
      if (evolution->parsed() || strip->parsed()) {
        const plot::Trajectory trajectory =
            plot::read_trajectory(files[0], strip->parsed() ? 2 : 1);
        const plot::FrameAxis axis = plot::read_frame_axis(trajectory.frames, times);
        return strip->parsed()
                   ? plot::strip_figure(trajectory, frames, axis, exact, max_points, look)
                   : plot::evolution_figure(trajectory, axis, bins, paths, look);
      }
      if (loss->parsed()) return plot::loss_figure(plot::read_loss_log(files[0]), smooth);
      std::vector<plot::NamedJson> runs;
      for (const std::string& f : files) runs.push_back(plot::read_merged_json(f));
      std::optional<plot::NamedJson> reference;
      if (!reference_path.empty()) reference = plot::read_merged_json(reference_path);
      return plot::curves_figure(runs, keys, reference, reference_label);
    };

    tool.summary()["command"] = app.get_subcommands().front()->get_name();
    plot::Figure figure = build();
    plot::apply(look, figure);
    const std::string script = plot::gnuplot_script(figure, format);
    if (!script_path.empty()) sde::cli::write_text(script_path, script);
    const std::string warnings = plot::render_to_file(script, format, output);
    if (!warnings.empty()) sde::cli::note(tool, "gnuplot: " + warnings);
  });
}

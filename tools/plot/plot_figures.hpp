// The figures of sde-plot, built from loaded data: histograms against the
// exact density, 2-D scatter with the mixture's contours, density heatmaps,
// the time evolution of 1-D trajectories, strips of 2-D frames, training
// loss, and curves through run summaries (NFE vs quality).
//
// Builders that bin or evaluate over a range take it from FigureOptions; the
// labels and the rest are applied afterwards with plot::apply.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "plot.hpp"
#include "plot_inputs.hpp"
#include "types.hpp"

namespace sde::plot {

// log p_t of the exact density at the spec's grid points.
Grid exact_log_density_grid(const ExactDensity& density, const GridSpec& spec);

// Density-normalised histograms of 1-D samples, one panel each in a row on
// shared axes, titled by `titles` (when given), with the exact density overlaid.
Figure histogram_figure(const std::vector<Matrix>& samples, const std::vector<std::string>& titles,
                        int bins, const std::optional<ExactDensity>& exact,
                        const FigureOptions& options);

// 2-D samples (the first max_points rows of each), one panel each in a row
// on shared axes, titled by `titles` (when given), optionally coloured by
// their most likely mixture component, with contours of the exact density
// that enclose 50, 90 and 99% of its mass.
Figure scatter_figure(const std::vector<Matrix>& samples, const std::vector<std::string>& titles,
                      const std::optional<ExactDensity>& exact, bool color_by_component,
                      std::size_t max_points, const FigureOptions& options);

// One panel per grid, in a row with one shared colour scale, then (with
// `exact`) the exact log-density on the same points; titles, when given,
// name the panels. as_density shows densities instead of log-densities. The spec
// needs nx, ny only when there is no other grid to take them from.
Figure heatmap_figure(std::vector<Grid> grids, const std::optional<ExactDensity>& exact,
                      GridSpec spec, const std::vector<std::string>& titles, bool as_density,
                      const FigureOptions& options);

// One panel per 2-D vector field (sde-score --grid), in a row on shared,
// equally scaled axes: an arrow at every grid point, coloured by its length
// (one colour scale for all panels), over the exact density's contours when
// given. Arrows are scaled so that the longest of all panels spans 0.9 grid
// cells, or with `normalize` every arrow does (directions only).
Figure quiver_figure(const std::vector<VectorField>& fields, const std::vector<std::string>& titles,
                     const std::optional<ExactDensity>& exact, bool normalize,
                     const FigureOptions& options);

// 1-D trajectory: the histogram of every frame as a heatmap over (frame, x),
// with the first `paths` sample paths drawn on top. Needs K >= 2 frames.
Figure evolution_figure(const Trajectory& trajectory, const FrameAxis& axis, int bins, int paths,
                        const FigureOptions& options);

// A row of 2-D scatter panels on shared axes, one per chosen frame (negative
// indices count from the end; none chosen: up to six evenly spaced, first
// and last included), each titled with its time; with an exact density, its
// contours at each frame's time (at its own time when the frames are not times).
Figure strip_figure(const Trajectory& trajectory, const std::vector<long>& frames,
                    const FrameAxis& axis, const std::optional<ExactDensity>& exact,
                    std::size_t max_points, const FigureOptions& options);

// Loss against step, with its trailing mean over `smooth` entries when
// smooth > 1; a log scale when every loss is positive.
Figure loss_figure(const LossLog& log, int smooth);

// Points (x, y) read from JSON documents by dotted keys ("quality.mean_log_density"),
// joined into one line per value of the label keys, sorted by x.
struct CurveKeys {
  std::string x, y;
  std::vector<std::string> label;  // values joined with ", "; none: one line
  std::string error;               // optional key of y's standard error
};
// A reference (e.g. exact samples) is drawn as a dashed horizontal line at its y.
Figure curves_figure(const std::vector<NamedJson>& runs, const CurveKeys& keys,
                     const std::optional<NamedJson>& reference, const std::string& reference_label);

}  // namespace sde::plot

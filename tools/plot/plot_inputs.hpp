// The inputs of sde-plot's figures, checked: the exact density to compare
// with, samples, trajectories, log-density grids, frame times, training logs
// and JSON run summaries.
//
// The converters (as_samples, as_trajectory, as_grid, parse_*) throw
// sde::Error with the cause; the readers add the file name, as in
// "x.npy: expected N x 2 samples (N >= 1), got shape (5, 3)".
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "mixture.hpp"
#include "npy.hpp"
#include "plot.hpp"
#include "sde.hpp"
#include "spec.hpp"
#include "types.hpp"

namespace sde::plot {

// The exact density p_t of mixture data at time t of an SDE (t = 0 is the
// mixture itself, for every SDE).
struct ExactDensity {
  GaussianMixture mixture;
  Sde sde;
  double t = 0;

  double mean_coeff() const { return sde.mean_coeff(t); }
  double std() const { return sde.std(t); }
  double log_density(const double* x) const;
  ExactDensity at(double time) const;
};
// What samples are compared with: the mixture's p_t; of class k alone when
// class_label >= 0 (class-conditional sampling); or, at t = 0, the
// distribution of the unknown coordinates given the known ones (imputation;
// `known` as as_known reads it, empty for none).
ExactDensity exact_density(const GaussianMixture& mixture, const Sde& sde, double t,
                           int class_label, const std::vector<double>& known);
// The same from a mixture spec file; none when mixture_path is empty (then
// class_label must be negative and known empty).
std::optional<ExactDensity> read_exact_density(const std::string& mixture_path, const Sde& sde,
                                               double t, int class_label,
                                               const std::vector<double>& known);

// N x dim finite samples; a flat (N,) array counts as N x 1.
// With `known` (d entries, NaN where unknown: imputation), N x d samples
// reduced to their unknown columns, which must be dim.
Matrix as_samples(const NpyArray& a, int dim, const std::vector<double>& known = {});
// The known coordinates of an imputation: one row, NaN where unknown (as
// sde-sample --known takes them).
std::vector<double> as_known(const NpyArray& a);

// K x N x d frames of N paths.
struct Trajectory {
  std::size_t frames = 0, rows = 0, dim = 0;
  std::vector<double> values;  // C order
  double at(std::size_t frame, std::size_t row, std::size_t j) const {
    return values[(frame * rows + row) * dim + j];
  }
};
// A finite K x N x dim array.
Trajectory as_trajectory(const NpyArray& a, std::size_t dim);

// A scalar field on a regular 2-D grid that includes its end points:
// values[r * nx + c] is at x = x.min + c (x.max - x.min) / (nx - 1) and y
// likewise with r, the layout of sde-likelihood --grid (ny x nx).
struct Grid {
  Range x, y;
  std::size_t nx = 0, ny = 0;
  std::vector<double> values;
  std::string title;
};
// Where a grid lies: "xmin,xmax,ymin,ymax" or, with its size,
// "xmin,xmax,ymin,ymax,nx,ny" (as sde-likelihood --grid takes it).
struct GridSpec {
  Range x, y;
  std::size_t nx = 0, ny = 0;  // 0: not given
};
GridSpec parse_grid_spec(const std::string& text);  // throws sde::Error
// A finite ny x nx array (nx, ny >= 2) placed by the spec, whose size it
// must have when the spec gives one.
Grid as_grid(const NpyArray& a, const GridSpec& spec);

// A 2-D vector field on a regular grid (sde-score --grid): u[r * nx + c]
// and v[...] at the points of Grid's layout.
struct VectorField {
  Range x, y;
  std::size_t nx = 0, ny = 0;
  std::vector<double> u, v;
  std::string title;
};
// A finite (nx ny) x 2 array of vectors, x fastest, on a spec that gives
// its size.
VectorField as_vector_field(const NpyArray& a, const GridSpec& spec);

// What the frames of a trajectory are: their times (label "t"), Langevin
// steps ("step") or just frame numbers ("frame").
struct FrameAxis {
  std::vector<double> values;
  std::string label;
};
// Frame numbers 0..K-1.
FrameAxis frame_numbers(std::size_t frames);
// From the run summary of the tool that wrote the trajectory:
// "trajectory_times" (sde-sample, sde-langevin --snr), "trajectory_steps"
// (sde-langevin) or the times of "kernel" (sde-perturb).
FrameAxis frame_axis_from_summary(const Json& summary);

// One number per row of a training log: "step,loss" CSV or JSON lines
// {"step": s, "loss": l} (sde-train --log).
struct LossLog {
  std::vector<double> steps, losses;
};
LossLog parse_loss_log(const std::string& text, bool json_lines);

// A JSON document and where it came from (for messages).
struct NamedJson {
  std::string name;
  Json json;
};
// One JSON file, or several joined by '+' ("run.json+stats.json") merged
// into one document (RFC 7386), so that one point of a curve can take its x
// from a run summary and its y from `sde-npy stats`.
NamedJson read_merged_json(const std::string& paths);

// The readers: the converters above applied to a file, its name in errors.
Matrix read_samples(const std::string& path, int dim, const std::vector<double>& known = {});
std::vector<double> read_known(const std::string& path);
Trajectory read_trajectory(const std::string& path, std::size_t dim);
Grid read_grid(const std::string& path, const GridSpec& spec);  // titled with the path
VectorField read_vector_field(const std::string& path, const GridSpec& spec);  // titled with the path
// The axis of K frames from `times`: empty for frame numbers, a run summary
// (a .json file) for its frame times, or comma-separated times ("0,0.5,1").
// Throws unless there are exactly K of them.
FrameAxis read_frame_axis(std::size_t frames, const std::string& times);
LossLog read_loss_log(const std::string& path);  // JSON lines when it ends in .jsonl

}  // namespace sde::plot

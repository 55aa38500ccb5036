// The loss log of a training run: CSV (step, loss, then the evaluation
// columns asked for, empty between evaluations) or JSON lines, chosen by
// the file's extension (.jsonl). A resumed run continues the log of the
// checkpoint: lines after the checkpoint's step (written by the run that was
// interrupted after it) are dropped first, so the log has every step once.
// Write errors are reported, and flush() makes the log current at each
// checkpoint.
#pragma once
#include <cstdint>
#include <fstream>
#include <span>
#include <string>

#include "spec.hpp"

namespace sde {

class TrainingLog {
public:
  // band_edges: the t bands of the score-error columns (empty: none).
  // resume_step < 0: a new log; otherwise the log continues after it.
  TrainingLog(const std::string& path, bool validation, std::span<const double> band_edges,
              std::int64_t resume_step);
  // row: {"step", "loss"} and, at evaluations, "validation" and
  // "score_error_by_t_band" (one per band).
  void write(const Json& row);
  void flush();  // throws sde::Error naming the file on a write error

private:
  std::string path_;
  bool jsonl_, validation_;
  std::size_t bands_;
  std::ofstream out_;
};

}  // namespace sde

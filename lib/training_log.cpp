#include "training_log.hpp"

#include <fmt/format.h>

#include <sstream>

#include "error.hpp"
#include "io.hpp"

namespace sde {

namespace {

// The step of a log line: the first CSV field, or the JSON line's "step".
std::int64_t step_of(const std::string& line, bool jsonl) {
  try {
    if (jsonl) return Json::parse(line).at("step").get<std::int64_t>();
    return std::stoll(line.substr(0, line.find(',')));
  } catch (const std::exception&) {
    throw Error("not a training log line: " + line.substr(0, 40));
  }
}

}  // namespace

TrainingLog::TrainingLog(const std::string& path, bool validation, std::span<const double> band_edges,
                         std::int64_t resume_step)
    : path_(path), jsonl_(path.ends_with(".jsonl")), validation_(validation),
      bands_(band_edges.empty() ? 0 : band_edges.size() - 1) {
  std::string kept;
  if (resume_step >= 0) {
    try {
      std::istringstream old(read_text_file(path));
      std::string line;
      for (bool first = true; std::getline(old, line); first = false)
        if ((first && !jsonl_) || step_of(line, jsonl_) <= resume_step) kept += line + "\n";
    } catch (const Error& e) {
      throw e.with_file(path);
    }
  } else if (!jsonl_) {
    kept = "step,loss";
    if (validation_) kept += ",validation";
    for (std::size_t b = 0; b < bands_; ++b)
      kept += fmt::format(",score_error_t{}_{}", band_edges[b], band_edges[b + 1]);
    kept += "\n";
  }
  out_.open(path, std::ios::trunc);
  if (!out_) throw Error(path, "cannot open for writing");
  out_ << kept;
  flush();
}

void TrainingLog::write(const Json& row) {
  if (jsonl_) {
    out_ << row.dump() << "\n";
    return;
  }
  out_ << row["step"].get<std::int64_t>() << ',' << fmt::format("{}", row["loss"].get<double>());
  if (validation_) out_ << ',' << (row.contains("validation") ? fmt::format("{}", row["validation"].get<double>()) : "");
  for (std::size_t b = 0; b < bands_; ++b)
    out_ << ',' << (row.contains("score_error_by_t_band") ? fmt::format("{}", row["score_error_by_t_band"][b].get<double>()) : "");
  out_ << '\n';
}

void TrainingLog::flush() {
  out_.flush();
  if (!out_) throw Error(path_, "write error");
}

}  // namespace sde

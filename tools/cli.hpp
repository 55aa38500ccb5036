// What every sde-* tool shares: option groups defined once, the run wrapper
// with the one error printer and exit codes, the run summary and progress.
//
//   int main(int argc, char** argv) {
//     sde::cli::Tool tool("sde-foo", "What it does.", "sde-foo in.npy -o out.npy\n");
//     auto& out = tool.add_output();          // -o/--output, --dtype
//     ...
//     return tool.run(argc, argv, [&] { ...; tool.summary()["figure"] = ...; });
//   }
//
// Exit status: 0 success, 2 usage error, 1 anything else. Errors are printed
// as "sde-foo: file: cause".
#pragma once
#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "npy.hpp"
#include "progress.hpp"
#include "score.hpp"
#include "sde.hpp"
#include "spec.hpp"

namespace sde::cli {

// Checks of counts (whole numbers) and of real values, with messages that
// say what was expected (CLI11's PositiveNumber prints a 300-digit range).
extern const CLI::Validator PositiveCount, NonNegativeCount, Positive, NonNegative;

struct OutputOptions {
  std::string path = "-";  // "-" is stdout
  std::string dtype = "f8";
  DType type() const { return dtype == "f4" ? DType::f4 : DType::f8; }
};

struct SdeOptions {
  std::string kind = "vp";
  double sigma_min = 0.01, sigma_max = 50.0;
  double beta_min = 0.1, beta_max = 20.0;
  Sde make() const;
};

// Which rows of an N-row run this invocation produces: --shard k/n.
struct Shard {
  std::size_t index = 0, count = 1;
  std::size_t begin(std::size_t n) const { return index * n / count; }
  std::size_t end(std::size_t n) const { return (index + 1) * n / count; }
};

// Where scores come from: a trained model file or the exact mixture oracle
// (whose SDE then comes from the --sde flags).
struct ScoreSourceOptions {
  std::string model;
  std::string mixture;
  std::string prior = "standard";  // --prior, where the tool has it
};

struct ScoreSource {
  std::unique_ptr<ScoreModel> score;
  std::optional<GaussianMixture> mixture;  // set for the oracle
  std::string description;                 // "mixture ring8.json" / "model m.json"
  bool exact_prior_wanted = false;         // --prior exact (checked: the oracle)
  // The oracle's mixture when --prior exact asks for its exact p_T, else null.
  const GaussianMixture* exact_prior() const { return exact_prior_wanted ? &*mixture : nullptr; }
};

class Tool {
public:
  // examples: command lines, one per line, shown at the end of --help.
  Tool(std::string name, const std::string& description, const std::string& examples);

  CLI::App& app() { return app_; }
  // For a tool made of subcommands: the shared options may follow the
  // subcommand, and a run without one is a usage error listing `names`.
  void require_subcommand(const std::string& names);
  const std::string& name() const { return name_; }

  // Option groups; each returns the struct its options fill.
  OutputOptions& add_output();              // -o/--output, --dtype f4|f8
  std::uint64_t& add_seed();                // --seed (default 0)
  SdeOptions& add_sde();                    // --sde, --sigma-min/max, --beta-min/max
  Shard& add_shard();                       // --shard k/n
  std::string& add_mixture(bool required);  // --mixture spec.json
  // --model model.json | --mixture spec.json (exactly one), plus the SDE
  // flags; with_prior adds --prior standard|exact: x(T) from the SDE's prior,
  // or (oracle only) from the exact p_T, which leaves only the solver's error.
  // sde_for_oracle_only: the SDE flags describe the oracle's SDE and nothing
  // else, so with --model (which carries its own) they are a usage error.
  ScoreSourceOptions& add_score_source(bool with_prior = false, bool sde_for_oracle_only = false);
  ScoreSource load_score_source() const;

  int threads() const { return threads_; }
  bool quiet() const { return quiet_; }

  // The JSON run summary written to --summary FILE after a successful run:
  // tool, version, every option's value, seed, elapsed seconds; tools add figures.
  Json& summary() { return summary_; }

  // Progress on stderr when it is a terminal and --quiet is not given.
  std::unique_ptr<Progress> progress(const std::string& what, std::size_t total) const;

  // A bash completion script for the tool, from its options (and subcommands).
  std::string bash_completion() const;

  // Parse argv, run body, write the summary; map errors to messages and exit codes.
  int run(int argc, char** argv, const std::function<void()>& body);

private:
  std::string name_;
  CLI::App app_;
  int threads_;
  bool quiet_ = false;
  std::string summary_path_;
  Json summary_;
  std::unique_ptr<OutputOptions> output_;
  std::unique_ptr<SdeOptions> sde_;
  std::unique_ptr<Shard> shard_;
  std::unique_ptr<std::string> mixture_;
  std::unique_ptr<ScoreSourceOptions> score_source_;
  std::uint64_t seed_ = 0;
};

// Write an N x d (or any-shape) array to the -o target, atomically.
void write_array(const OutputOptions& out, const std::vector<std::size_t>& shape,
                 const double* data);
void write_matrix(const OutputOptions& out, const Matrix& x);
// Text (JSON, CSV) to a file or "-", atomically; errors name the file.
void write_text(const std::string& path, const std::string& text);

// Per-row score evaluations into the summary: "nfe_mean" and "nfe_max".
void add_nfe(Json& summary, const std::vector<int>& nfe);

// A short message on stderr unless quiet (e.g. where the output went).
void note(const Tool& tool, const std::string& text);

}  // namespace sde::cli

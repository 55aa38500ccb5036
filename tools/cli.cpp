#include "cli.hpp"

#include <algorithm>
#include <cmath>
#include <csignal>
#include <type_traits>

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <new>

#include "dense.hpp"
#include "enum_names.hpp"
#include "error.hpp"
#include "io.hpp"
#include "model.hpp"
#include "parallel.hpp"
#include "version.hpp"

namespace sde::cli {

namespace {

// A validator from a parser of the whole text and a test of its value.
template <class T>
CLI::Validator number_check(const char* expected, bool (*accept)(T)) {
  return CLI::Validator(
      [expected, accept](std::string& text) -> std::string {
        std::size_t used = 0;
        T value{};
        try {
          if constexpr (std::is_integral_v<T>) value = std::stoll(text, &used);
          else value = std::stod(text, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used != text.size() || !accept(value)) return std::string("expected ") + expected + ", got '" + text + "'";
        return "";
      },
      std::is_integral_v<T> ? "COUNT" : "NUMBER");
}

}  // namespace

const CLI::Validator PositiveCount =
    number_check<long long>("a positive whole number", [](long long v) { return v > 0; });
const CLI::Validator NonNegativeCount =
    number_check<long long>("a whole number >= 0", [](long long v) { return v >= 0; });
const CLI::Validator Positive =
    number_check<double>("a positive number", [](double v) { return std::isfinite(v) && v > 0; });
const CLI::Validator NonNegative =
    number_check<double>("a number >= 0", [](double v) { return std::isfinite(v) && v >= 0; });

Sde SdeOptions::make() const {
  switch (parse_sde_kind(kind)) {
    case SdeKind::ve:
      if (!(sigma_min > 0 && sigma_max > sigma_min))
        throw Error("--sigma-min/--sigma-max: need 0 < sigma-min < sigma-max");
      return Sde::ve(sigma_min, sigma_max);
    case SdeKind::vp:
    case SdeKind::subvp:
      if (!(beta_min > 0 && beta_max >= beta_min))
        throw Error("--beta-min/--beta-max: need 0 < beta-min <= beta-max");
      return parse_sde_kind(kind) == SdeKind::vp ? Sde::vp(beta_min, beta_max)
                                                 : Sde::subvp(beta_min, beta_max);
  }
  throw Error("unknown SDE");
}

Tool::Tool(std::string name, const std::string& description, const std::string& examples)
    : name_(std::move(name)), app_(description, name_), threads_(hardware_threads()) {
  std::string footer = "\nExamples:\n";
  for (std::size_t at = 0, end; at < examples.size(); at = end + 1) {
    end = examples.find('\n', at);
    if (end == std::string::npos) end = examples.size();
    footer += "  " + examples.substr(at, end - at) + "\n";
  }
  app_.footer(footer);
  // Hidden: the tool's bash completion, generated from its option table
  // (installed to share/bash-completion; see CMakeLists.txt).
  app_.add_flag_callback("--bash-completion", [this] {
        std::cout << bash_completion();
        throw CLI::Success();
      })
      ->group("")
      ->trigger_on_parse();
  app_.set_version_flag("--version", name_ + " " + version());
  app_.add_option("--threads", threads_, "Worker threads (output does not depend on it)")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app_.add_option("--summary", summary_path_, "Write a JSON run summary to FILE");
  app_.add_flag("-q,--quiet", quiet_, "No progress or notes on stderr");
}

OutputOptions& Tool::add_output() {
  output_ = std::make_unique<OutputOptions>();
  app_.add_option("-o,--output", output_->path, "Output .npy file ('-' for stdout)")
      ->capture_default_str();
  app_.add_option("--dtype", output_->dtype, "Output dtype")
      ->check(CLI::IsMember({"f4", "f8"}))
      ->capture_default_str();
  return *output_;
}

std::uint64_t& Tool::add_seed() {
  app_.add_option("--seed", seed_, "Random seed")->capture_default_str();
  return seed_;
}

SdeOptions& Tool::add_sde() {
  sde_ = std::make_unique<SdeOptions>();
  auto* group = app_.add_option_group("SDE");
  group->add_option("--sde", sde_->kind, "SDE: ve, vp or subvp")
      ->check(CLI::IsMember({"ve", "vp", "subvp"}))
      ->capture_default_str();
  group->add_option("--sigma-min", sde_->sigma_min, "VE sigma(0)")->capture_default_str();
  group->add_option("--sigma-max", sde_->sigma_max, "VE sigma(1)")->capture_default_str();
  group->add_option("--beta-min", sde_->beta_min, "VP/sub-VP beta(0)")->capture_default_str();
  group->add_option("--beta-max", sde_->beta_max, "VP/sub-VP beta(1)")->capture_default_str();
  return *sde_;
}

Shard& Tool::add_shard() {
  shard_ = std::make_unique<Shard>();
  app_.add_option_function<std::string>(
          "--shard",
          [this](const std::string& text) {
            std::size_t k = 0, n = 0;
            char slash = 0, extra = 0;
            if (std::sscanf(text.c_str(), "%zu%c%zu%c", &k, &slash, &n, &extra) != 3 ||
                slash != '/' || n == 0 || k >= n)
              throw CLI::ValidationError("--shard", "expected k/n with 0 <= k < n, got '" + text + "'");
            shard_->index = k;
            shard_->count = n;
          },
          "Produce only shard k of n: rows [k*N/n, (k+1)*N/n) of the full run")
      ->type_name("k/n");
  return *shard_;
}

std::string& Tool::add_mixture(bool required) {
  mixture_ = std::make_unique<std::string>();
  auto* opt = app_.add_option("--mixture", *mixture_, "Gaussian-mixture spec (JSON)");
  if (required) opt->required();
  return *mixture_;
}

ScoreSourceOptions& Tool::add_score_source(bool with_prior, bool sde_for_oracle_only) {
  score_source_ = std::make_unique<ScoreSourceOptions>();
  auto* group = app_.add_option_group("Score source", "Exactly one of --model and --mixture");
  auto* model = group->add_option("--model", score_source_->model, "Trained model file (JSON)");
  auto* mixture = group->add_option("--mixture", score_source_->mixture,
                                    "Gaussian-mixture spec: the exact score (SDE from --sde ...)");
  model->excludes(mixture);
  group->require_option(1);
  if (with_prior)
    app_.add_option("--prior", score_source_->prior,
                    "standard (the SDE's Gaussian prior, centred on the data mean) or exact "
                    "(the oracle's p_T: only the solver's error is left)")
        ->check(CLI::IsMember({"standard", "exact"}))
        ->capture_default_str();
  if (!sde_) add_sde();
  if (sde_for_oracle_only)
    for (const char* name : {"--sde", "--sigma-min", "--sigma-max", "--beta-min", "--beta-max"})
      app_.get_option(name)->excludes(model);
  return *score_source_;
}

ScoreSource Tool::load_score_source() const {
  ScoreSource source;
  source.exact_prior_wanted = score_source_->prior == "exact";
  if (!score_source_->mixture.empty()) {
    source.mixture = read_mixture(score_source_->mixture);
    source.score = std::make_unique<MixtureScore>(*source.mixture, sde_->make());
    source.description = "mixture " + score_source_->mixture;
    return source;
  }
  if (source.exact_prior_wanted) throw Error("--prior exact needs the oracle (--mixture)");
  const Model model = read_model(score_source_->model);
  source.score = std::make_unique<NetScore>(model);
  source.description = "model " + score_source_->model;
  return source;
}

namespace {

// A command-line value as JSON: integers exactly (seeds), other numbers as
// doubles, everything else as text.
Json value_of(const std::string& text) {
  char* end = nullptr;
  errno = 0;
  const long long integer = std::strtoll(text.c_str(), &end, 10);
  if (!text.empty() && *end == '\0' && errno == 0) return integer;
  const double number = std::strtod(text.c_str(), &end);
  if (!text.empty() && *end == '\0') return number;
  return text;
}

// The options of one (sub)command, with those of its option groups (which
// CLI11 keeps as unnamed subcommands).
std::vector<const CLI::Option*> options_of(const CLI::App& app) {
  std::vector<const CLI::Option*> all = app.get_options();
  for (const CLI::App* group : app.get_subcommands({}))
    if (group->get_name().empty())
      for (const CLI::Option* opt : options_of(*group))
        if (opt != group->get_help_ptr()) all.push_back(opt);
  return all;
}

// Every option's value as JSON: flags as booleans, repeated or list options
// as arrays, defaults where the option was not given.
Json settings_of(const CLI::App& app) {
  Json settings = Json::object();
  for (const CLI::Option* opt : options_of(app)) {  // option groups' too
    if (opt == app.get_help_ptr() || opt == app.get_help_all_ptr() || opt->get_single_name() == "version" ||
        opt->get_single_name() == "summary" || opt->get_single_name() == "bash-completion")
      continue;
    const std::string key = opt->get_single_name();
    if (opt->get_expected_max() == 0) {  // a flag
      settings[key] = opt->count() > 0;
      continue;
    }
    const auto& results = opt->results();
    if (results.empty()) {
      settings[key] = opt->get_default_str().empty() ? Json(nullptr) : value_of(opt->get_default_str());
    } else if (results.size() == 1 && opt->get_expected_max() <= 1) {
      settings[key] = value_of(results.front());
    } else {
      Json list = Json::array();
      for (const std::string& r : results) list.push_back(value_of(r));
      settings[key] = list;
    }
  }
  for (const CLI::App* sub : app.get_subcommands())
    if (!sub->get_name().empty()) settings.update(settings_of(*sub));
  return settings;
}

class TerminalProgress final : public Progress {
public:
  TerminalProgress(std::string what, std::size_t total)
      : what_(std::move(what)), total_(total), start_(std::chrono::steady_clock::now()) {}
  ~TerminalProgress() override { std::fprintf(stderr, "\r\033[K"); }

  void detail(const std::string& text) override {
    std::lock_guard lock(mutex_);
    detail_ = text;
  }

  void advance(std::size_t n) override {
    const std::size_t done = done_ += n;
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (done < total_ && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double fraction = total_ ? static_cast<double>(done) / static_cast<double>(total_) : 1;
    const double eta = fraction > 0 ? elapsed * (1 - fraction) / fraction : 0;
    std::fprintf(stderr, "\r\033[K%s %3.0f%% (%zu/%zu) %.1f/s, %.1fs elapsed, ETA %.1fs %s",
                 what_.c_str(), 100 * fraction, done, total_, elapsed > 0 ? done / elapsed : 0.0,
                 elapsed, eta, detail_.c_str());
    std::fflush(stderr);
  }

private:
  std::string what_;
  std::size_t total_;
  std::atomic<std::size_t> done_{0};
  std::mutex mutex_;
  std::string detail_;
  std::chrono::steady_clock::time_point start_, last_{};
};

}  // namespace

std::unique_ptr<Progress> Tool::progress(const std::string& what, std::size_t total) const {
  if (quiet_ || !isatty(STDERR_FILENO)) return std::make_unique<NoProgress>();
  return std::make_unique<TerminalProgress>(what, total);
}

void Tool::require_subcommand(const std::string& names) {
  app_.fallthrough();
  // Checked after CLI11's own checks (not with CLI11's require_subcommand) so
  // that an unknown subcommand is reported as such, not as a missing one.
  app_.final_callback([this, names] {
    if (app_.get_subcommands().empty()) throw CLI::RequiredError("A subcommand (" + names + ")");
  });
}

namespace {

// The values an option accepts, from the set CLI11 shows in its type name
// ("TEXT:{f4,f8}" -> "f4 f8"); empty when it is not a fixed set.
std::string choices_of(const CLI::Option& opt) {
  std::string type = opt.get_type_name();
  const auto open = type.find('{'), close = type.rfind('}');
  if (open == std::string::npos || close == std::string::npos || close < open) return "";
  type = type.substr(open + 1, close - open - 1);
  std::replace(type.begin(), type.end(), ',', ' ');
  return type;
}

// The visible option names of one (sub)command, space-separated.
std::string option_words(const CLI::App& app) {
  std::string words;
  for (const CLI::Option* opt : options_of(app)) {
    if (opt->get_group().empty()) continue;  // hidden
    for (const std::string& n : opt->get_lnames()) words += " --" + n;
    for (const std::string& n : opt->get_snames()) words += " -" + n;
  }
  return words;
}

}  // namespace

std::string Tool::bash_completion() const {
  std::string function = "_" + name_;
  std::replace(function.begin(), function.end(), '-', '_');
  std::string subcommands, choices, sub_options;
  auto add_choices = [&](const CLI::App& app) {
    for (const CLI::Option* opt : options_of(app))
      if (const std::string values = choices_of(*opt); !values.empty())
        for (const std::string& n : opt->get_lnames())
          choices += fmt::format("    --{}) COMPREPLY=($(compgen -W \"{}\" -- \"$cur\")); return ;;\n", n, values);
  };
  add_choices(app_);
  for (const CLI::App* sub : app_.get_subcommands({})) {
    if (sub->get_name().empty()) continue;  // an option group: its options are the tool's
    subcommands += (subcommands.empty() ? "" : " ") + sub->get_name();
    sub_options += fmt::format("      {}) opts+=\"{}\" ;;\n", sub->get_name(), option_words(*sub));
    add_choices(*sub);
  }
  std::string s = fmt::format(
      "# bash completion of {0}, generated from its option table by `{0} --bash-completion`\n"
      "{1}() {{\n"
      "  local cur=${{COMP_WORDS[COMP_CWORD]}} prev=${{COMP_WORDS[COMP_CWORD-1]}} sub= w opts\n",
      name_, function);
  if (!subcommands.empty()) {
    std::string alternatives = subcommands;
    std::replace(alternatives.begin(), alternatives.end(), ' ', '|');
    s += fmt::format("  for w in \"${{COMP_WORDS[@]:1:COMP_CWORD-1}}\"; do case $w in {}) sub=$w ;; esac; done\n",
                     alternatives);
  }
  if (!choices.empty()) s += "  case $prev in\n" + choices + "  esac\n";
  s += fmt::format("  if [[ $cur == -* ]]; then\n    opts=\"{}\"\n", option_words(app_));
  if (!sub_options.empty()) s += "    case $sub in\n" + sub_options + "    esac\n";
  s += "    COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\")); return\n  fi\n";
  if (!subcommands.empty())
    s += fmt::format("  [ -z \"$sub\" ] && COMPREPLY=($(compgen -W \"{}\" -- \"$cur\"))\n", subcommands);
  s += fmt::format("  COMPREPLY+=($(compgen -f -- \"$cur\"))\n}}\ncomplete -o filenames -F {} {}\n", function, name_);
  return s;
}

namespace {
// A message as it may reach a terminal: control characters (an escape
// sequence in a .npy header or a file name, a stray newline) shown as \xNN
// instead of acting on the terminal; UTF-8 text passes unchanged.
std::string printable(const std::string& message) {
  std::string out;
  for (const char c : message) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f)
      out += fmt::format("\\x{:02x}", byte);
    else
      out += c;
  }
  return out;
}

// INT, TERM, HUP: remove the temporaries of unfinished outputs, then die of
// the signal as the default action would (exit status 128 + signal).
extern "C" void remove_outputs_and_reraise(int signal_number) {
  remove_temporary_outputs();
  ::signal(signal_number, SIG_DFL);
  ::raise(signal_number);
}

// SDE_ISA=generic|avx2|avx512 forces one network kernel (to compare them, or
// to time one); without it the best this CPU has runs. Results are the same.
void select_isa_from_environment() {
  const char* value = std::getenv("SDE_ISA");
  if (!value || !*value) return;
  try {
    dense::select_isa(parse_name(dense::kIsaNames, value, "instruction set"));
  } catch (const Error& e) {
    throw e.with_file("SDE_ISA");
  }
}
}  // namespace

int Tool::run(int argc, char** argv, const std::function<void()>& body) {
  for (const int signal_number : {SIGINT, SIGTERM, SIGHUP}) ::signal(signal_number, remove_outputs_and_reraise);
  try {
    app_.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --version
    return app_.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << name_ << ": " << printable(e.what()) << "\n";
    std::cerr << "Run with --help for more information.\n";
    return 2;
  }
  try {
    select_isa_from_environment();
  } catch (const Error& e) {
    std::cerr << name_ << ": " << printable(e.message()) << "\n";
    return 2;
  }
  try {
    const auto start = std::chrono::steady_clock::now();
    summary_ = Json{{"tool", name_}, {"version", version()}, {"settings", settings_of(app_)}};
    if (app_.get_option_no_throw("--seed")) summary_["seed"] = seed_;
    summary_["isa"] = name_of(dense::kIsaNames, dense::active_isa());
    body();
    summary_["seconds"] =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!summary_path_.empty()) write_text(summary_path_, summary_.dump(2) + "\n");
    return 0;
  } catch (const Error& e) {
    std::cerr << name_ << ": " << printable(e.message()) << "\n";
  } catch (const std::bad_alloc&) {
    std::cerr << name_ << ": out of memory\n";
  } catch (const Json::exception& e) {
    // The readers turn JSON problems into sde::Error with the file; should
    // one slip through, say what is wrong without nlohmann's "[json.exception.type_error.302] ".
    const std::string what = e.what();
    const std::size_t cause = what.find("] ");
    std::cerr << name_ << ": unexpected JSON: "
              << printable(cause == std::string::npos ? what : what.substr(cause + 2)) << "\n";
  } catch (const std::exception& e) {
    std::cerr << name_ << ": " << printable(e.what()) << "\n";
  }
  return 1;
}

namespace {
std::string shown(const std::string& path) { return path == "-" ? "<stdout>" : path; }
}  // namespace

void write_text(const std::string& path, const std::string& text) {
  try {
    OutputFile file(path, /*binary=*/false);
    file.stream() << text;
    file.commit();
  } catch (const Error& e) {
    throw e.with_file(shown(path));
  }
}

void write_array(const OutputOptions& out, const std::vector<std::size_t>& shape,
                 const double* data) {
  try {
    OutputFile file(out.path);
    write_npy(file.stream(), shape, data, out.type());
    file.commit();
  } catch (const Error& e) {
    throw e.with_file(shown(out.path));
  }
}

void write_matrix(const OutputOptions& out, const Matrix& x) {
  write_array(out, {static_cast<std::size_t>(x.rows()), static_cast<std::size_t>(x.cols())},
              x.data());
}

void add_nfe(Json& summary, const std::vector<int>& nfe) {
  double sum = 0;
  int most = 0;
  for (int k : nfe) sum += k, most = std::max(most, k);
  summary["nfe_mean"] = nfe.empty() ? 0.0 : sum / static_cast<double>(nfe.size());
  summary["nfe_max"] = most;
}

void note(const Tool& tool, const std::string& text) {
  if (!tool.quiet()) std::cerr << tool.name() << ": " << text << "\n";
}

}  // namespace sde::cli

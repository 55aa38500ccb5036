#include "spec.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "error.hpp"
#include "io.hpp"
#include "json_fields.hpp"

namespace sde {

namespace {

using json::array;
using json::number;
using json::numbers;
using json::reject_unknown_fields;

// An array with one entry per component.
const Json& per_component(const Json& j, const std::string& field, std::size_t K) {
  if (array(j, field).size() != K)
    throw Error(fmt::format("{}: expected {} entries (one per weight), got {}", field, K, j.size()));
  return j;
}

// Means are K points of dimension d, d taken from the first; 1-D points may
// be plain numbers.
Matrix parse_means(const Json& j, std::size_t K) {
  per_component(j, "means", K);
  const std::size_t d = j[0].is_number() ? 1 : array(j[0], "means[0]").size();
  if (d == 0) throw Error("means[0]: must have at least one coordinate");
  Matrix means(K, d);
  for (std::size_t k = 0; k < K; ++k) {
    const std::string field = fmt::format("means[{}]", k);
    if (d == 1 && j[k].is_number()) {
      means(k, 0) = number(j[k], field);
      continue;
    }
    const std::vector<double> row = numbers(j[k], field, d);
    std::copy(row.begin(), row.end(), means.row(k).data());
  }
  return means;
}

Matrix parse_covariance(const Json& j, const std::string& field, std::size_t d) {
  if (array(j, field).size() != d)
    throw Error(fmt::format("{}: expected {} rows, got {}", field, d, j.size()));
  Matrix c(d, d);
  for (std::size_t r = 0; r < d; ++r) {
    const std::vector<double> row = numbers(j[r], fmt::format("{}[{}]", field, r), d);
    std::copy(row.begin(), row.end(), c.row(r).data());
  }
  return c;
}

// An optional positive number, default when absent.
double positive(const Json& j, const char* field, double fallback) {
  if (!j.contains(field)) return fallback;
  const double value = number(j[field], field);
  if (!(value > 0.0) || !std::isfinite(value))
    throw Error(fmt::format("{}: must be positive (got {})", field, value));
  return value;
}

}  // namespace

GaussianMixture mixture_from_json(const Json& j) {
  if (!j.is_object())
    throw Error(fmt::format("mixture spec: expected a JSON object, got {}", j.type_name()));
  reject_unknown_fields(j, {"weights", "means", "stds", "covariances"}, "a mixture spec");
  const Json& weights_json = array(json::field(j, "weights", "mixture spec"), "weights");
  if (weights_json.empty()) throw Error("weights: must not be empty");
  const std::size_t K = weights_json.size();
  std::vector<double> weights = numbers(weights_json, "weights", K);
  Matrix means = parse_means(json::field(j, "means", "mixture spec"), K);
  const auto d = static_cast<std::size_t>(means.cols());

  if (j.contains("stds") == j.contains("covariances"))
    throw Error("stds, covariances: give exactly one of the two");
  // Value checks (positivity, sums, definiteness) live in GaussianMixture,
  // whose messages already name the fields as written here.
  if (j.contains("stds")) {
    const std::vector<double> stds = numbers(per_component(j["stds"], "stds", K), "stds", K);
    return GaussianMixture::isotropic(std::move(weights), std::move(means), stds);
  }
  const Json& covs = per_component(j["covariances"], "covariances", K);
  std::vector<Matrix> covariances;
  for (std::size_t k = 0; k < K; ++k)
    covariances.push_back(parse_covariance(covs[k], fmt::format("covariances[{}]", k), d));
  return GaussianMixture(std::move(weights), std::move(means), std::move(covariances));
}

// Isotropic mixtures are written with "stds" and 1-D means as plain numbers,
// the shortest form mixture_from_json reads back to the same mixture.
Json mixture_to_json(const GaussianMixture& m) {
  Json j;
  j["weights"] = m.weights();
  Json means = Json::array();
  for (int k = 0; k < m.components(); ++k) {
    if (m.dim() == 1) {
      means.push_back(m.means()(k, 0));
    } else {
      const RowVector row = m.means().row(k);
      means.push_back(std::vector<double>(row.data(), row.data() + row.size()));
    }
  }
  j["means"] = std::move(means);
  if (m.isotropic_components()) {
    Json stds = Json::array();
    for (int k = 0; k < m.components(); ++k) stds.push_back(std::sqrt(m.covariance(k)(0, 0)));
    j["stds"] = std::move(stds);
  } else {
    Json covs = Json::array();
    for (int k = 0; k < m.components(); ++k) {
      Json rows = Json::array();
      const Matrix& c = m.covariance(k);
      for (Eigen::Index r = 0; r < c.rows(); ++r)
        rows.push_back(std::vector<double>(c.row(r).data(), c.row(r).data() + c.cols()));
      covs.push_back(std::move(rows));
    }
    j["covariances"] = std::move(covs);
  }
  return j;
}

GaussianMixture read_mixture(const std::string& path) {
  try {
    return mixture_from_json(parse_json(read_text_file(path)));
  } catch (const Error& e) {
    throw e.with_file(path);
  }
}

Sde sde_from_json(const Json& j) {
  if (!j.is_object())
    throw Error(fmt::format("SDE spec: expected a JSON object, got {}", j.type_name()));
  const std::string& type = json::string(json::field(j, "type", "SDE spec"), "type");
  SdeKind kind;
  try {
    kind = parse_sde_kind(type);
  } catch (const Error& e) {
    throw Error(std::string("type: ") + e.what());
  }
  // Missing parameters take the defaults of the --sde flags.
  const Sde defaults;
  if (kind == SdeKind::ve) {
    reject_unknown_fields(j, {"type", "sigma_min", "sigma_max"}, "a 've' SDE");
    const double lo = positive(j, "sigma_min", defaults.sigma_min);
    const double hi = positive(j, "sigma_max", defaults.sigma_max);
    if (!(hi > lo))
      throw Error(fmt::format("sigma_max: must be greater than sigma_min ({}), got {}", lo, hi));
    return Sde::ve(lo, hi);
  }
  reject_unknown_fields(j, {"type", "beta_min", "beta_max"},
                        kind == SdeKind::vp ? "a 'vp' SDE" : "a 'subvp' SDE");
  const double lo = positive(j, "beta_min", defaults.beta_min);
  const double hi = positive(j, "beta_max", defaults.beta_max);
  if (!(hi > lo))
    throw Error(fmt::format("beta_max: must be greater than beta_min ({}), got {}", lo, hi));
  return kind == SdeKind::vp ? Sde::vp(lo, hi) : Sde::subvp(lo, hi);
}

Json sde_to_json(const Sde& s) {
  Json j;
  j["type"] = s.name();
  if (s.kind == SdeKind::ve) {
    j["sigma_min"] = s.sigma_min;
    j["sigma_max"] = s.sigma_max;
  } else {
    j["beta_min"] = s.beta_min;
    j["beta_max"] = s.beta_max;
  }
  return j;
}

namespace {
// Deeper nesting is refused before parsing: every spec we read is a few
// levels deep, and tens of thousands of levels overflow the stack of code
// that walks the document recursively.
constexpr int kMaxJsonDepth = 64;

void check_json_depth(const std::string& text) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > kMaxJsonDepth)
        throw Error(fmt::format("invalid JSON: nested deeper than {} levels", kMaxJsonDepth));
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
}
}  // namespace

Json parse_json(const std::string& text) {
  check_json_depth(text);
  try {
    return Json::parse(text);
  } catch (const Json::parse_error& e) {
    // nlohmann says "[json.exception.parse_error.101] parse error at line L,
    // column C: <what is wrong>"; keep the position and the cause.
    const std::string what = e.what();
    const std::size_t at = what.find("at line ");
    throw Error(at == std::string::npos ? "invalid JSON: " + what
                                        : "invalid JSON " + what.substr(at));
  } catch (const Json::out_of_range& e) {
    // A number beyond double's range: "[json.exception.out_of_range.406]
    // number overflow parsing '1E400'".
    const std::string what = e.what();
    const std::size_t at = what.find("] ");
    throw Error("invalid JSON: " + (at == std::string::npos ? what : what.substr(at + 2)));
  }
}

}  // namespace sde

// JSON specs: every shipped mixture spec parses, every invalid input is
// reported with the field it concerns, and what we write reads back.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "error.hpp"
#include "spec.hpp"

namespace fs = std::filesystem;
using sde::GaussianMixture;
using sde::Json;

namespace {

// The project's data/ directory (SDE_TEST_DATA is tests/data), resolved
// lexically so that tests/data need not exist.
const fs::path kSpecDir = fs::path(SDE_TEST_DATA).parent_path().parent_path() / "data";

std::string mixture_error(const std::string& text) {
  try {
    sde::mixture_from_json(sde::parse_json(text));
  } catch (const sde::Error& e) {
    return e.what();
  }
  return "(no error)";
}

std::string sde_error(const std::string& text) {
  try {
    sde::sde_from_json(sde::parse_json(text));
  } catch (const sde::Error& e) {
    return e.what();
  }
  return "(no error)";
}

void check_same_mixture(const GaussianMixture& a, const GaussianMixture& b) {
  REQUIRE(a.components() == b.components());
  REQUIRE(a.dim() == b.dim());
  CHECK(a.isotropic_components() == b.isotropic_components());
  CHECK(a.means() == b.means());
  for (int k = 0; k < a.components(); ++k) {
    // Weights are rescaled to an exact sum on reading, which may move the last bit.
    CHECK(a.weights()[k] == doctest::Approx(b.weights()[k]).epsilon(1e-15));
    CHECK(a.covariance(k) == b.covariance(k));
  }
}

fs::path write_temp(const std::string& name, const std::string& text) {
  const fs::path path = fs::temp_directory_path() / name;
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST_CASE("every shipped mixture spec parses") {
  int count = 0;
  for (const auto& entry : fs::directory_iterator(kSpecDir)) {
    if (entry.path().extension() != ".json") continue;
    INFO(entry.path().string());
    CHECK_NOTHROW(sde::read_mixture(entry.path().string()));
    ++count;
  }
  CHECK(count >= 5);

  const GaussianMixture ring = sde::read_mixture((kSpecDir / "ring8.json").string());
  CHECK(ring.components() == 8);
  CHECK(ring.dim() == 2);
  CHECK(ring.isotropic_components());
  for (int k = 0; k < 8; ++k) {
    CHECK(ring.weights()[k] == 0.125);
    CHECK(ring.means().row(k).norm() == doctest::Approx(4.0).epsilon(1e-15));
    CHECK(ring.covariance(k)(0, 0) == 0.3 * 0.3);
  }
  CHECK(ring.means()(0, 0) == 4.0);
  CHECK(ring.means()(2, 1) == 4.0);

  const GaussianMixture one_d = sde::read_mixture((kSpecDir / "seed000_1d.json").string());
  CHECK(one_d.dim() == 1);
  CHECK(one_d.weights() == std::vector<double>{0.6, 0.4});
  CHECK(one_d.means()(1, 0) == -2.0);
  CHECK(one_d.covariance(1)(0, 0) == 0.2 * 0.2);

  CHECK(sde::read_mixture((kSpecDir / "grid25.json").string()).components() == 25);
  const GaussianMixture aniso = sde::read_mixture((kSpecDir / "aniso2d.json").string());
  CHECK(aniso.components() == 3);
  CHECK_FALSE(aniso.isotropic_components());
}

TEST_CASE("round trip: to_json, text, from_json") {
  std::vector<GaussianMixture> mixtures;
  for (const char* name : {"seed000_1d.json", "seed001_1d.json", "ring8.json", "grid25.json", "aniso2d.json"})
    mixtures.push_back(sde::read_mixture((kSpecDir / name).string()));
  mixtures.push_back(GaussianMixture({0.25, 0.75}, sde::Matrix{{0.1, 1.0 / 3.0, -7.0}, {1e-8, 2.0, 3e5}},
                                     {sde::Matrix{{2.0, 0.3, 0.1}, {0.3, 1.0, 0.2}, {0.1, 0.2, 0.5}},
                                      sde::Matrix::Identity(3, 3) * 0.7}));
  for (const GaussianMixture& m : mixtures) {
    const Json j = sde::mixture_to_json(m);
    CHECK(j.contains(m.isotropic_components() ? "stds" : "covariances"));
    check_same_mixture(m, sde::mixture_from_json(j));
    check_same_mixture(m, sde::mixture_from_json(sde::parse_json(j.dump())));
  }
  // 1-D means are written as plain numbers.
  CHECK(sde::mixture_to_json(mixtures[0])["means"][0].is_number());
}

TEST_CASE("1-D means: plain numbers or one-element arrays") {
  const GaussianMixture plain = sde::mixture_from_json(
      sde::parse_json(R"({"weights": [0.6, 0.4], "means": [2, -2], "stds": [0.5, 0.2]})"));
  const GaussianMixture arrays = sde::mixture_from_json(
      sde::parse_json(R"({"weights": [0.6, 0.4], "means": [[2], -2], "stds": [0.5, 0.2]})"));
  check_same_mixture(plain, arrays);
  // The same mixture with 1x1 covariances (0.2^2 rounds to 0.04 + 1 ulp).
  const GaussianMixture full = sde::mixture_from_json(sde::parse_json(
      R"({"weights": [0.6, 0.4], "means": [2, -2], "covariances": [[[0.25]], [[0.04]]]})"));
  CHECK(full.means() == plain.means());
  CHECK(full.covariance(1)(0, 0) == doctest::Approx(plain.covariance(1)(0, 0)).epsilon(1e-15));
}

TEST_CASE("invalid mixture specs: the message names the field") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"([1, 2])", "mixture spec: expected a JSON object, got array"},
      {R"({"weigths": [1], "means": [0], "stds": [1]})",
       "unknown field 'weigths' (a mixture spec takes weights, means, stds, covariances)"},
      {R"({"means": [0], "stds": [1]})", "mixture spec: missing field 'weights'"},
      {R"({"weights": [1], "stds": [1]})", "mixture spec: missing field 'means'"},
      {R"({"weights": "all", "means": [0], "stds": [1]})", "weights: expected an array, got string"},
      {R"({"weights": null, "means": [0], "stds": [1]})", "weights: expected an array, got null"},
      {R"({"weights": [], "means": [], "stds": []})", "weights: must not be empty"},
      {R"({"weights": [0.5, "x"], "means": [0, 1], "stds": [1, 1]})",
       "weights[1]: expected a number, got string"},
      {R"({"weights": [0.5, 0.4], "means": [0, 1], "stds": [1, 1]})",
       "weights: must sum to 1 (sum is 0.9)"},
      {R"({"weights": [1.5, -0.5], "means": [0, 1], "stds": [1, 1]})",
       "weights[1]: must be positive (got -0.5)"},
      {R"({"weights": [0.2, 0.3, 0.5], "means": [[0, 0], [1, 1]], "stds": [1, 1, 1]})",
       "means: expected 3 entries (one per weight), got 2"},
      {R"({"weights": [0.2, 0.3, 0.5], "means": [[0, 0], [1, 1], [1, 2, 3]], "stds": [1, 1, 1]})",
       "means[2]: expected 2 numbers, got 3"},
      {R"({"weights": [0.5, 0.5], "means": [[0, 0], 1], "stds": [1, 1]})",
       "means[1]: expected 2 numbers, got a single number"},
      {R"({"weights": [0.5, 0.5], "means": [[0, 0], [1, true]], "stds": [1, 1]})",
       "means[1][1]: expected a number, got boolean"},
      {R"({"weights": [0.5, 0.5], "means": [[], []], "stds": [1, 1]})",
       "means[0]: must have at least one coordinate"},
      {R"({"weights": [0.5, 0.5], "means": [0, 1]})", "stds, covariances: give exactly one of the two"},
      {R"({"weights": [1], "means": [0], "stds": [1], "covariances": [[[1]]]})",
       "stds, covariances: give exactly one of the two"},
      {R"({"weights": [0.5, 0.5], "means": [0, 1], "stds": [1, -1]})", "stds[1]: must be positive (got -1)"},
      {R"({"weights": [0.5, 0.5], "means": [0, 1], "stds": [1]})",
       "stds: expected 2 entries (one per weight), got 1"},
      {R"({"weights": [0.5, 0.5], "means": [0, 1], "stds": 1})", "stds: expected an array, got number"},
      {R"({"weights": [0.5, 0.5], "means": [[0, 0], [1, 1]],
           "covariances": [[[1, 0], [0, 1]], [[1, 2], [2, 1]]]})",
       "covariances[1]: not positive definite (smallest eigenvalue -1)"},
      {R"({"weights": [0.5, 0.5], "means": [[0, 0], [1, 1]],
           "covariances": [[[1, 0.5], [0.4, 1]], [[1, 0], [0, 1]]]})",
       "covariances[0]: not symmetric"},
      {R"({"weights": [0.5, 0.5], "means": [[0, 0], [1, 1]], "covariances": [[[1, 0]], [[1, 0], [0, 1]]]})",
       "covariances[0]: expected 2 rows, got 1"},
      {R"({"weights": [0.5, 0.5], "means": [[0, 0], [1, 1]],
           "covariances": [[[1, 0], [0, 1, 0]], [[1, 0], [0, 1]]]})",
       "covariances[0][1]: expected 2 numbers, got 3"},
      {R"({"weights": [0.5, 0.5], "means": [0, 1], "covariances": [0.25, 0.04]})",
       "covariances[0]: expected an array, got number"},
  };
  for (const auto& [text, message] : cases) {
    INFO(text);
    CHECK(mixture_error(text) == message);
  }
}

TEST_CASE("parse_json reports the position of a syntax error") {
  const std::string message = [] {
    try {
      sde::parse_json("{\"weights\": [1],\n  \"means\": [0,]\n}");
    } catch (const sde::Error& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  }();
  CHECK(message.rfind("invalid JSON at line 2, column 15: syntax error", 0) == 0);
  CHECK(message.find("json.exception") == std::string::npos);
}

// Found by tests/fuzz/fuzz_mixture: a number past double's range was
// nlohmann's out_of_range, which escaped as an unhandled exception.
TEST_CASE("parse_json: a number beyond double's range is an sde::Error") {
  try {
    sde::parse_json("{\"weights\": [1], \"means\": [-2.8E461907], \"stds\": [1]}");
    FAIL("no error");
  } catch (const sde::Error& e) {
    CHECK(std::string(e.what()) == "invalid JSON: number overflow parsing '-2.8E461907'");
  }
}

TEST_CASE("read_mixture: errors carry the path") {
  const fs::path bad = write_temp("sde_test_spec_bad.json",
                                  R"({"weights": [0.5, 0.4], "means": [0, 1], "stds": [1, 1]})");
  try {
    sde::read_mixture(bad.string());
    FAIL("no error");
  } catch (const sde::Error& e) {
    CHECK(e.file() == bad.string());
    CHECK(e.message() == bad.string() + ": weights: must sum to 1 (sum is 0.9)");
  }
  const fs::path broken = write_temp("sde_test_spec_broken.json", "{\"weights\": [1");
  try {
    sde::read_mixture(broken.string());
    FAIL("no error");
  } catch (const sde::Error& e) {
    CHECK(e.file() == broken.string());
    CHECK(std::string(e.what()).rfind("invalid JSON at line 1", 0) == 0);
  }
  const std::string missing = (fs::temp_directory_path() / "sde_test_no_such_spec.json").string();
  try {
    sde::read_mixture(missing);
    FAIL("no error");
  } catch (const sde::Error& e) {
    CHECK(e.message().find(missing) != std::string::npos);
  }
  fs::remove(bad);
  fs::remove(broken);
}

TEST_CASE("SDE specs") {
  const sde::Sde ve = sde::sde_from_json(sde::parse_json(R"({"type": "ve", "sigma_min": 0.05, "sigma_max": 20})"));
  CHECK(ve.kind == sde::SdeKind::ve);
  CHECK(ve.sigma_min == 0.05);
  CHECK(ve.sigma_max == 20.0);
  const sde::Sde subvp = sde::sde_from_json(sde::parse_json(R"({"type": "subvp", "beta_max": 10})"));
  CHECK(subvp.kind == sde::SdeKind::subvp);
  CHECK(subvp.beta_min == 0.1);  // the --beta-min default
  CHECK(subvp.beta_max == 10.0);

  for (const sde::Sde& s : {sde::Sde::ve(0.02, 30), sde::Sde::vp(0.2, 15), sde::Sde::subvp()}) {
    const sde::Sde back = sde::sde_from_json(sde::parse_json(sde::sde_to_json(s).dump()));
    CHECK(back.kind == s.kind);
    CHECK(back.sigma_min == s.sigma_min);
    CHECK(back.sigma_max == s.sigma_max);
    CHECK(back.beta_min == s.beta_min);
    CHECK(back.beta_max == s.beta_max);
  }
  CHECK(sde::sde_to_json(sde::Sde::vp()).dump() == R"({"type":"vp","beta_min":0.1,"beta_max":20.0})");

  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"("vp")", "SDE spec: expected a JSON object, got string"},
      {R"({"beta_min": 0.1})", "SDE spec: missing field 'type'"},
      {R"({"type": 1})", "type: expected a string, got number"},
      {R"({"type": "ode"})", "type: unknown SDE 'ode' (expected ve, vp or subvp)"},
      {R"({"type": "ve", "sigma_min": -1})", "sigma_min: must be positive (got -1)"},
      {R"({"type": "ve", "sigma_min": 5, "sigma_max": 1})",
       "sigma_max: must be greater than sigma_min (5), got 1"},
      {R"({"type": "vp", "beta_min": 0})", "beta_min: must be positive (got 0)"},
      {R"({"type": "vp", "beta_max": "20"})", "beta_max: expected a number, got string"},
      {R"({"type": "subvp", "beta_min": 3, "beta_max": 3})",
       "beta_max: must be greater than beta_min (3), got 3"},
      {R"({"type": "vp", "sigma_min": 0.01})",
       "unknown field 'sigma_min' (a 'vp' SDE takes type, beta_min, beta_max)"},
      {R"({"type": "ve", "sigma_mx": 50})",
       "unknown field 'sigma_mx' (a 've' SDE takes type, sigma_min, sigma_max)"},
  };
  for (const auto& [text, message] : cases) {
    INFO(text);
    CHECK(sde_error(text) == message);
  }
}

TEST_CASE("deeply nested JSON is refused before parsing, not a stack overflow") {
  // 100 000 levels inside an object crashed the tools (issue 15); 64 is
  // far deeper than any spec, model file or summary we read.
  const std::string deep = "{\"weights\": " + std::string(100000, '[') + std::string(100000, ']') + "}";
  CHECK_THROWS_WITH_AS(sde::parse_json(deep), doctest::Contains("nested deeper than 64 levels"), sde::Error);
  // Brackets inside strings do not count; 64 levels are fine.
  CHECK_NOTHROW(sde::parse_json("{\"a\": \"" + std::string(1000, '[') + "\"}"));
  CHECK_NOTHROW(sde::parse_json(std::string(64, '[') + std::string(64, ']')));
  CHECK_THROWS_AS(sde::parse_json(std::string(65, '[') + std::string(65, ']')), sde::Error);
}

// JSON specs: the mixture spec and the SDE spec (the run summary is built by tools/cli).
// Validation errors name the field: "means[2]: expected 2 numbers, got 3".
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "mixture.hpp"
#include "sde.hpp"

namespace sde {

using Json = nlohmann::ordered_json;

// {"weights": [...], "means": [[...], ...] (1-D: plain numbers allowed),
//  "stds": [...] | "covariances": [[[...]]]}. Weights positive, summing to 1
// within 1e-6; stds positive; covariances symmetric positive-definite;
// exactly one of stds and covariances. Unknown fields are rejected (a typo
// silently ignored is worse than an error).
GaussianMixture mixture_from_json(const Json& j);
// Isotropic mixtures are written with "stds", others with "covariances";
// 1-D means as plain numbers. Numbers are written to round-trip exactly.
Json mixture_to_json(const GaussianMixture& m);
// Reads and validates a spec file; errors carry the path.
GaussianMixture read_mixture(const std::string& path);

// {"type": "ve", "sigma_min": 0.01, "sigma_max": 50} or
// {"type": "vp" | "subvp", "beta_min": 0.1, "beta_max": 20}. Missing
// parameters take these defaults (those of the --sde flags); parameters must
// be positive with min < max; fields of the other family are rejected.
Sde sde_from_json(const Json& j);
Json sde_to_json(const Sde& s);

// Parse JSON text, turning syntax errors into sde::Error with line/column.
Json parse_json(const std::string& text);

}  // namespace sde

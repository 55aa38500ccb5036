// JSON specs: the mixture spec, the SDE spec and the run summary.
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
// within 1e-6; stds positive; covariances symmetric positive-definite.
GaussianMixture mixture_from_json(const Json& j);
Json mixture_to_json(const GaussianMixture& m);
// Reads and validates a spec file; errors carry the path.
GaussianMixture read_mixture(const std::string& path);

// {"type": "vp", "beta_min": 0.1, "beta_max": 20} and the like.
Sde sde_from_json(const Json& j);
Json sde_to_json(const Sde& s);

// Parse JSON text, turning syntax errors into sde::Error with line/column.
Json parse_json(const std::string& text);

}  // namespace sde

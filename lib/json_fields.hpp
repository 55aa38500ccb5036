// Reading validated fields out of JSON documents (specs, model files) with
// errors that name the field: "weights[2]: expected a number, got string".
#pragma once
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "spec.hpp"

namespace sde::json {

// A typo in a key ("weigths") silently ignored would be worse than an error.
void reject_unknown_fields(const Json& j, std::initializer_list<std::string_view> allowed,
                           std::string_view what);
// j[key], or an error "what: missing field 'key'".
const Json& field(const Json& j, const std::string& key, std::string_view what);
double number(const Json& j, const std::string& name);
std::int64_t integer(const Json& j, const std::string& name);
// A whole number that fits an int (sizes, counts): 16.7 or 2^32 + 2 are
// errors, not truncated.
int small_integer(const Json& j, const std::string& name);
const std::string& string(const Json& j, const std::string& name);
const Json& array(const Json& j, const std::string& name);
// An array of exactly n numbers (n = 0: any length).
std::vector<double> numbers(const Json& j, const std::string& name, std::size_t n = 0);
std::vector<float> floats(const Json& j, const std::string& name, std::size_t n = 0);

// A float32 value as the double with the fewest decimal digits that reads
// back to the same float, so JSON files of fp32 weights stay short and exact.
double short_float(float f);

}  // namespace sde::json

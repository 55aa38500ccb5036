#include "json_fields.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "error.hpp"

namespace sde::json {

void reject_unknown_fields(const Json& j, std::initializer_list<std::string_view> allowed,
                           std::string_view what) {
  for (const auto& item : j.items()) {
    if (std::find(allowed.begin(), allowed.end(), item.key()) == allowed.end()) {
      std::string list;
      for (std::string_view name : allowed) list += (list.empty() ? "" : ", ") + std::string(name);
      throw Error(fmt::format("unknown field '{}' ({} takes {})", item.key(), what, list));
    }
  }
}

const Json& field(const Json& j, const std::string& key, std::string_view what) {
  if (!j.is_object()) throw Error(fmt::format("{}: expected an object, got {}", what, j.type_name()));
  const auto it = j.find(key);
  if (it == j.end()) throw Error(fmt::format("{}: missing field '{}'", what, key));
  return *it;
}

double number(const Json& j, const std::string& name) {
  if (!j.is_number()) throw Error(fmt::format("{}: expected a number, got {}", name, j.type_name()));
  return j.get<double>();
}

std::int64_t integer(const Json& j, const std::string& name) {
  if (!j.is_number_integer())
    throw Error(fmt::format("{}: expected an integer, got {}", name, j.type_name()));
  if (j.is_number_unsigned() && j.get<std::uint64_t>() > std::uint64_t(std::numeric_limits<std::int64_t>::max()))
    throw Error(fmt::format("{}: {} is too large", name, j.get<std::uint64_t>()));
  return j.get<std::int64_t>();
}

int small_integer(const Json& j, const std::string& name) {
  const std::int64_t value = integer(j, name);
  if (value < std::numeric_limits<int>::min() || value > std::numeric_limits<int>::max())
    throw Error(fmt::format("{}: {} is out of range", name, value));
  return static_cast<int>(value);
}

const std::string& string(const Json& j, const std::string& name) {
  if (!j.is_string()) throw Error(fmt::format("{}: expected a string, got {}", name, j.type_name()));
  return j.get_ref<const std::string&>();
}

const Json& array(const Json& j, const std::string& name) {
  if (!j.is_array()) throw Error(fmt::format("{}: expected an array, got {}", name, j.type_name()));
  return j;
}

std::vector<double> numbers(const Json& j, const std::string& name, std::size_t n) {
  if (j.is_number())
    throw Error(fmt::format("{}: expected {} numbers, got a single number", name, n));
  if (n > 0 && array(j, name).size() != n)
    throw Error(fmt::format("{}: expected {} numbers, got {}", name, n, j.size()));
  std::vector<double> out;
  out.reserve(array(j, name).size());
  for (std::size_t i = 0; i < j.size(); ++i) {
    const Json& v = j[i];
    if (!v.is_number()) number(v, fmt::format("{}[{}]", name, i));  // throws with the index
    out.push_back(v.get<double>());
  }
  return out;
}

std::vector<float> floats(const Json& j, const std::string& name, std::size_t n) {
  const std::vector<double> d = numbers(j, name, n);
  std::vector<float> out(d.size());
  for (std::size_t i = 0; i < d.size(); ++i) {
    out[i] = static_cast<float>(d[i]);
    if (!std::isfinite(out[i])) throw Error(fmt::format("{}[{}]: not a finite float32", name, i));
  }
  return out;
}

double short_float(float f) {
  // fmt's shortest round-trip form for float, read back as a double.
  return std::strtod(fmt::format("{}", f).c_str(), nullptr);
}

}  // namespace sde::json

// Each enum's names live in one table of {value, name} pairs; these read
// and write them, so parsing, printing and the error's list of choices
// never disagree.
#pragma once
#include <fmt/format.h>

#include <cstddef>
#include <string>
#include <utility>

#include "error.hpp"

namespace sde {

template <class E, std::size_t N>
E parse_name(const std::pair<E, const char*> (&table)[N], const std::string& s, const char* what) {
  std::string names;
  for (const auto& [value, name] : table) {
    if (s == name) return value;
    names += (names.empty() ? "" : ", ") + std::string(name);
  }
  throw Error(fmt::format("unknown {} '{}' (expected {})", what, s, names));
}

template <class E, std::size_t N>
std::string name_of(const std::pair<E, const char*> (&table)[N], E e) {
  for (const auto& [value, name] : table)
    if (value == e) return name;
  return "?";
}

}  // namespace sde

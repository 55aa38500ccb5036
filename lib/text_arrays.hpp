// Arrays as text: CSV in and out, and Python-style index specs ("1:5",
// "-3:", "::-1", "0,-1,2:4") for cutting arrays.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "npy.hpp"
#include "types.hpp"

namespace sde {

// Numbers separated by commas (or, on a line without commas, by
// whitespace); '#' starts a comment; a first line without any number is a
// header. Errors name the line and column: "line 2, column 2: not a number: 'abc'".
NpyArray parse_csv(const std::string& text);
// One row per line, the shortest text that reads back to the same value (as
// float32 when as_float).
std::string format_csv(const Matrix& x, bool as_float);

// Comma-separated items, each a Python slice "a:b[:step]" (parts optional,
// negative indices count from the end) or a single index.
struct IndexItem {
  std::optional<long> start, stop;
  long step = 1;
  bool single = false;
};
using IndexSpec = std::vector<IndexItem>;
extern const IndexSpec everything;  // ":"

IndexSpec parse_index_spec(const std::string& text);  // throws sde::Error
// The indices into an axis of length n that a spec selects, as Python would;
// `option` names the spec in errors ("--rows: index 7 is out of range for length 5").
std::vector<std::size_t> resolve(const IndexSpec& spec, std::size_t n, const std::string& option);

}  // namespace sde

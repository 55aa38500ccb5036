#include "text_arrays.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <iterator>
#include <sstream>

#include "error.hpp"

namespace sde {

const IndexSpec everything{IndexItem{}};

namespace {

// The whole of `text` as a T (a number), or nothing.
template <class T>
std::optional<T> parse_whole(std::string_view text) {
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// A CSV cell as a number; from_chars alone would reject a leading '+'.
std::optional<double> parse_number(std::string_view cell) {
  if (cell.starts_with('+') && !cell.starts_with("+-")) cell.remove_prefix(1);
  return parse_whole<double>(cell);
}

// Numbers separated by commas (or, on a line without commas, by whitespace).
// '#' starts a comment; a first line without any number is a header.
}  // namespace

NpyArray parse_csv(const std::string& text) {
  NpyArray a;
  std::optional<std::size_t> cols;
  std::size_t rows = 0, line_number = 0;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    ++line_number;
    line.erase(std::min(line.find('#'), line.size()));
    std::vector<std::string> cells;
    std::istringstream fields(line);
    const bool commas = line.find(',') != std::string::npos;
    for (std::string cell; commas ? bool(std::getline(fields, cell, ',')) : bool(fields >> cell);) {
      const auto first = cell.find_first_not_of(" \t\r"), last = cell.find_last_not_of(" \t\r");
      cells.push_back(first == std::string::npos ? "" : cell.substr(first, last - first + 1));
    }
    if (commas && line.ends_with(',')) cells.emplace_back();
    if (cells.empty()) continue;
    if (!cols) {
      cols = cells.size();
      if (std::none_of(cells.begin(), cells.end(),
                       [](const auto& c) { return parse_number(c).has_value(); }))
        continue;  // the header
    }
    if (cells.size() != *cols)
      throw Error(
          fmt::format("line {}: expected {} columns, got {}", line_number, *cols, cells.size()));
    for (std::size_t k = 0; k < cells.size(); ++k) {
      const auto value = parse_number(cells[k]);
      if (!value)
        throw Error(
            fmt::format("line {}, column {}: not a number: '{}'", line_number, k + 1, cells[k]));
      a.data.push_back(*value);
    }
    ++rows;
  }
  a.shape = {rows, cols.value_or(0)};
  return a;
}


std::string format_csv(const Matrix& x, bool as_float) {
  std::string text;
  auto out = std::back_inserter(text);
  for (Eigen::Index i = 0; i < x.rows(); ++i)
    for (Eigen::Index k = 0; k < x.cols(); ++k) {
      if (as_float)
        fmt::format_to(out, "{}", static_cast<float>(x(i, k)));
      else
        fmt::format_to(out, "{}", x(i, k));
      text += k + 1 < x.cols() ? ',' : '\n';
    }
  return text;
}

IndexSpec parse_index_spec(const std::string& text) {
  const auto fail = [&] {
    return Error("expected a:b[:step] or an index, comma-separated; got '" + text + "'");
  };
  const auto index = [&](const std::string& part) -> std::optional<long> {
    if (part.empty()) return std::nullopt;
    if (const auto value = parse_whole<long>(part)) return value;
    throw fail();
  };
  IndexSpec spec;
  std::istringstream items(text);
  for (std::string item; std::getline(items, item, ',');) {
    std::vector<std::string> parts;
    std::istringstream fields(item);
    for (std::string part; std::getline(fields, part, ':');) parts.push_back(part);
    if (item.ends_with(':')) parts.emplace_back();
    if (parts.empty() || parts.size() > 3) throw fail();
    IndexItem parsed{index(parts[0]), parts.size() > 1 ? index(parts[1]) : std::nullopt,
                     parts.size() > 2 ? index(parts[2]).value_or(1) : 1, parts.size() == 1};
    if ((parsed.single && !parsed.start) || parsed.step == 0) throw fail();
    spec.push_back(parsed);
  }
  if (spec.empty()) throw fail();
  return spec;
}

std::vector<std::size_t> resolve(const IndexSpec& spec, std::size_t n, const std::string& option) {
  const long size = static_cast<long>(n);
  const auto wrap = [size](long i) { return i < 0 ? i + size : i; };
  std::vector<std::size_t> picked;
  for (const IndexItem& item : spec) {
    if (item.single) {
      const long i = wrap(*item.start);
      if (i < 0 || i >= size)
        throw Error(
            fmt::format("{}: index {} is out of range for length {}", option, *item.start, n));
      picked.push_back(static_cast<std::size_t>(i));
      continue;
    }
    // slice.indices(): defaults and clamping depend on the direction.
    const long lower = item.step > 0 ? 0 : -1, upper = item.step > 0 ? size : size - 1;
    const auto bound = [&](std::optional<long> i, long fallback) {
      return i ? std::clamp(wrap(*i), lower, upper) : fallback;
    };
    const long start = bound(item.start, item.step > 0 ? lower : upper);
    const long stop = bound(item.stop, item.step > 0 ? upper : lower);
    for (long i = start; item.step > 0 ? i < stop : i > stop; i += item.step)
      picked.push_back(static_cast<std::size_t>(i));
  }
  return picked;
}


}  // namespace sde

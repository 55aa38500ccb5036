#include "npy.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <iostream>
#include <limits>
#include <string_view>

#include "error.hpp"
#include "io.hpp"

namespace sde {
namespace {

constexpr std::string_view kMagic = "\x93NUMPY";
// numpy aligns the start of the data to this many bytes.
constexpr std::size_t kAlign = 64;
// numpy leaves room in the header for the first axis to grow to this many
// digits without rewriting the file; we must do the same to match its bytes.
constexpr std::size_t kGrowthAxisDigits = 21;
// Version 1.0 stores the header length in 16 bits.
constexpr std::size_t kMaxHeaderV1 = 0xFFFF;
// Input is read and converted in pieces of this size, so that memory follows
// the bytes that actually arrive rather than the size a header claims.
constexpr std::size_t kChunkBytes = std::size_t{1} << 20;
// numpy dimensions and byte counts are signed (npy_intp); so are Eigen's.
constexpr std::size_t kMaxExtent = std::numeric_limits<std::ptrdiff_t>::max();

constexpr bool kLittleHost = std::endian::native == std::endian::little;

std::string shape_repr(const std::vector<std::size_t>& shape) {
  if (shape.size() == 1) return fmt::format("({},)", shape[0]);
  return fmt::format("({})", fmt::join(shape, ", "));
}

// Product of the dimensions times the item size, or an error if it cannot exist.
std::size_t byte_count(const std::vector<std::size_t>& shape, std::size_t item_size) {
  std::size_t bytes = item_size;
  for (std::size_t d : shape) {
    if (d != 0 && bytes > kMaxExtent / d)
      throw Error(fmt::format("shape {} is too large", shape_repr(shape)));
    bytes *= d;
  }
  return bytes;
}

// ---------------------------------------------------------------- reading

// Reads up to n bytes; fewer only at the end of the input.
std::size_t read_some(std::istream& in, char* buf, std::size_t n) {
  in.read(buf, static_cast<std::streamsize>(n));
  if (in.bad()) throw Error("read error");
  return static_cast<std::size_t>(in.gcount());
}

// Reads exactly n bytes of the header (version, length or dict), growing the
// buffer only as bytes arrive.
std::string read_header_bytes(std::istream& in, std::size_t n) {
  std::string bytes;
  while (bytes.size() < n) {
    const std::size_t have = bytes.size();
    const std::size_t want = std::min(n - have, kChunkBytes);
    bytes.resize(have + want);
    const std::size_t got = read_some(in, bytes.data() + have, want);
    if (got < want)
      throw Error(fmt::format("truncated header: expected {} bytes, got {}", n, have + got));
  }
  return bytes;
}

std::size_t little_endian_uint(std::string_view bytes) {
  std::size_t value = 0;
  for (std::size_t i = bytes.size(); i-- > 0;)
    value = (value << 8) | static_cast<unsigned char>(bytes[i]);
  return value;
}

// The header dict's text, after checking magic and version.
std::string read_header_dict(std::istream& in) {
  std::string magic(kMagic.size(), '\0');
  const std::size_t got = read_some(in, magic.data(), magic.size());
  if (got == 0) throw Error("empty file");
  if (std::string_view(magic).substr(0, got) != kMagic.substr(0, got))
    throw Error("not a .npy file (bad magic)");
  if (got < kMagic.size()) throw Error("truncated header");

  const std::string version = read_header_bytes(in, 2);
  const int major = static_cast<unsigned char>(version[0]);
  const int minor = static_cast<unsigned char>(version[1]);
  if (minor != 0 || major < 1 || major > 3)
    throw Error(
        fmt::format("unsupported .npy format version {}.{} (1.0, 2.0 and 3.0 are)", major, minor));
  // 1.0 has a 16-bit header length; 2.0 a 32-bit one; 3.0 is 2.0 with a UTF-8
  // header, which needs nothing more here: every key and supported dtype is ASCII.
  const std::size_t length = little_endian_uint(read_header_bytes(in, major == 1 ? 2 : 4));
  return read_header_bytes(in, length);
}

struct Header {
  std::string descr;
  bool fortran_order = false;
  std::vector<std::size_t> shape;
};

// Parses the Python dict literal numpy writes with repr(), e.g.
//   {'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }
// Keys may come in any order, with either quote, any spacing and trailing
// commas; Python 2 long literals (3L) are accepted as old numpy wrote them.
class HeaderParser {
public:
  explicit HeaderParser(std::string_view text) : text_(text) {}

  Header parse() {
    Header header;
    bool seen_descr = false, seen_order = false, seen_shape = false;
    const auto mark = [&](bool& seen, const std::string& key) {
      if (seen) fail(fmt::format("duplicate key '{}'", key));
      seen = true;
    };
    expect('{');
    while (!accept('}')) {
      const std::string key = parse_string();
      expect(':');
      if (key == "descr") {
        mark(seen_descr, key);
        skip_space();
        // A list describes a structured (record) dtype.
        if (peek() == '[') throw Error("unsupported dtype (structured array)");
        header.descr = parse_string();
      } else if (key == "fortran_order") {
        mark(seen_order, key);
        header.fortran_order = parse_bool();
      } else if (key == "shape") {
        mark(seen_shape, key);
        header.shape = parse_shape();
      } else {
        fail(fmt::format("unexpected key '{}'", key));
      }
      if (!accept(',')) {
        expect('}');
        break;
      }
    }
    skip_space();
    if (pos_ != text_.size()) fail("text after the closing '}'");
    if (!seen_descr) fail("missing key 'descr'");
    if (!seen_order) fail("missing key 'fortran_order'");
    if (!seen_shape) fail("missing key 'shape'");
    return header;
  }

private:
  [[noreturn]] void fail(const std::string& what) const {
    // Show the header without its padding, cut short if long.
    constexpr std::size_t kShown = 80;
    const std::string_view shown = text_.substr(0, text_.find_last_not_of(kSpace) + 1);
    const bool cut = shown.size() > kShown;
    throw Error(fmt::format("invalid .npy header: {} at character {} of \"{}{}\"", what, pos_,
                            shown.substr(0, kShown), cut ? "..." : ""));
  }
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void skip_space() { pos_ = std::min(text_.find_first_not_of(kSpace, pos_), text_.size()); }
  bool accept(char c) {
    skip_space();
    if (peek() != c) return false;
    ++pos_;
    return true;
  }
  void expect(char c) {
    if (!accept(c)) fail(fmt::format("expected '{}'", c));
  }
  // A quoted string without escapes (no key or supported dtype has any).
  std::string parse_string() {
    skip_space();
    const char quote = peek();
    if (quote != '\'' && quote != '"') fail("expected a quoted string");
    const std::size_t end = text_.find(quote, pos_ + 1);
    if (end == std::string_view::npos) fail("unterminated string");
    std::string value(text_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return value;
  }
  bool parse_bool() {
    skip_space();
    for (const auto& [word, value] : {std::pair{"True", true}, std::pair{"False", false}}) {
      if (text_.substr(pos_).starts_with(word)) {
        pos_ += std::strlen(word);
        return value;
      }
    }
    fail("'fortran_order' must be True or False");
  }
  // A tuple of non-negative integers: "()", "(5,)", "(3, 2)", "(3, 2,)".
  std::vector<std::size_t> parse_shape() {
    std::vector<std::size_t> shape;
    expect('(');
    bool comma_after_last = false;
    while (!accept(')')) {
      shape.push_back(parse_dimension());
      comma_after_last = accept(',');
      if (!comma_after_last) {
        expect(')');
        break;
      }
    }
    // In Python "(5)" is the integer 5, not a tuple.
    if (shape.size() == 1 && !comma_after_last) fail("'shape' must be a tuple");
    return shape;
  }
  std::size_t parse_dimension() {
    skip_space();
    if (peek() < '0' || peek() > '9') fail("expected a non-negative integer");
    std::size_t value = 0;
    while (peek() >= '0' && peek() <= '9') {
      const std::size_t digit = static_cast<std::size_t>(peek() - '0');
      if (value > (kMaxExtent - digit) / 10) fail("dimension too large");
      value = value * 10 + digit;
      ++pos_;
    }
    if (peek() == 'L' || peek() == 'l') ++pos_;
    return value;
  }

  static constexpr std::string_view kSpace = " \t\n\r\f\v";  // Python's whitespace
  std::string_view text_;
  std::size_t pos_ = 0;
};

// Converts n packed elements of the file's type to double.
using Converter = void (*)(const char* src, std::size_t n, double* dst);

template <class T, bool Swap>
void convert(const char* src, std::size_t n, double* dst) {
  for (std::size_t i = 0; i < n; ++i) {
    char bytes[sizeof(T)];
    std::memcpy(bytes, src + i * sizeof(T), sizeof(T));
    if constexpr (Swap) std::reverse(bytes, bytes + sizeof(T));
    T value;
    std::memcpy(&value, bytes, sizeof(T));
    dst[i] = static_cast<double>(value);
  }
}

// numpy's bool is one byte; any nonzero byte is true.
void convert_bool(const char* src, std::size_t n, double* dst) {
  for (std::size_t i = 0; i < n; ++i) dst[i] = src[i] != 0 ? 1.0 : 0.0;
}

template <class T>
Converter converter_for(bool swap) {
  return swap ? convert<T, true> : convert<T, false>;
}

struct ElementType {
  std::size_t size;
  Converter convert;
  DType stored;
};

// descr is numpy's dtype.str: byte order ('<' little, '>' big, '|' not
// applicable for single bytes), kind and size in bytes, e.g. '<f8', '|b1'.
ElementType element_type(const std::string& descr) {
  const Error unsupported(fmt::format("unsupported dtype '{}'", descr));
  if (descr.size() != 3 || descr[2] < '1' || descr[2] > '8') throw unsupported;
  const char order = descr[0], kind = descr[1];
  const std::size_t size = static_cast<std::size_t>(descr[2] - '0');
  if (!(order == '<' || order == '>' || (order == '|' && size == 1))) throw unsupported;
  const bool swap = size > 1 && (order == '<') != kLittleHost;

  Converter convert = nullptr;
  if (kind == 'f') {
    if (size == 4) convert = converter_for<float>(swap);
    if (size == 8) convert = converter_for<double>(swap);
  } else if (kind == 'i') {
    if (size == 1) convert = converter_for<std::int8_t>(swap);
    if (size == 2) convert = converter_for<std::int16_t>(swap);
    if (size == 4) convert = converter_for<std::int32_t>(swap);
    if (size == 8) convert = converter_for<std::int64_t>(swap);
  } else if (kind == 'u') {
    if (size == 1) convert = converter_for<std::uint8_t>(swap);
    if (size == 2) convert = converter_for<std::uint16_t>(swap);
    if (size == 4) convert = converter_for<std::uint32_t>(swap);
    if (size == 8) convert = converter_for<std::uint64_t>(swap);
  } else if (kind == 'b' && size == 1) {
    convert = convert_bool;
  }
  if (convert == nullptr) throw unsupported;
  return {size, convert, kind == 'f' && size == 4 ? DType::f4 : DType::f8};
}

// Reads `bytes` bytes of elements and converts them, one chunk at a time.
std::vector<double> read_data(std::istream& in, const ElementType& type, std::size_t bytes) {
  const std::size_t count = bytes / type.size;
  std::vector<double> data;
  // Trust the header only up to one chunk's worth; beyond that the vector
  // grows as data really arrive.
  data.reserve(std::min(count, kChunkBytes / sizeof(double)));
  // kChunkBytes is a power of two, hence a multiple of every item size.
  std::vector<char> chunk(std::min(bytes, kChunkBytes));
  for (std::size_t done = 0; done < bytes;) {
    const std::size_t want = std::min(bytes - done, chunk.size());
    const std::size_t got = read_some(in, chunk.data(), want);
    if (got < want)
      throw Error(fmt::format("truncated data: expected {} bytes, got {}", bytes, done + got));
    const std::size_t n = want / type.size;
    data.resize(data.size() + n);
    type.convert(chunk.data(), n, data.data() + data.size() - n);
    done += want;
  }
  return data;
}

// A Fortran-order array of this shape holds its elements in the C order of the
// reversed shape; walk the C-order destination with an odometer over the
// indices, moving the source offset by the Fortran strides.
std::vector<double> fortran_to_c(std::vector<double> src, const std::vector<std::size_t>& shape) {
  const std::size_t ndim = shape.size();
  if (ndim < 2 || src.empty()) return src;
  std::vector<std::size_t> stride(ndim, 1), index(ndim, 0);
  for (std::size_t k = 1; k < ndim; ++k) stride[k] = stride[k - 1] * shape[k - 1];

  std::vector<double> dst(src.size());
  std::size_t offset = 0;
  for (double& value : dst) {
    value = src[offset];
    for (std::size_t k = ndim; k-- > 0;) {
      offset += stride[k];
      if (++index[k] < shape[k]) break;
      offset -= shape[k] * stride[k];
      index[k] = 0;
    }
  }
  return dst;
}

// ---------------------------------------------------------------- writing

// Magic, version, header length, then the dict exactly as numpy.save renders
// it: keys sorted, spare spaces for the first axis to grow, padded with
// spaces and a final '\n' so that the data start on a 64-byte boundary.
std::string preamble(const std::vector<std::size_t>& shape, DType dtype) {
  std::string dict = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
                                 dtype == DType::f4 ? "<f4" : "<f8", shape_repr(shape));
  if (!shape.empty()) dict.append(kGrowthAxisDigits - fmt::formatted_size("{}", shape[0]), ' ');

  for (const int major : {1, 2}) {
    const std::size_t length_bytes = major == 1 ? 2 : 4;
    const std::size_t unpadded = kMagic.size() + 2 + length_bytes + dict.size() + 1;
    const std::size_t padding = kAlign - unpadded % kAlign;  // 1..64, as numpy does
    const std::size_t header_length = dict.size() + padding + 1;
    if (major == 1 && header_length > kMaxHeaderV1) continue;

    std::string out(kMagic);
    out += static_cast<char>(major);
    out += '\0';
    for (std::size_t i = 0; i < length_bytes; ++i)
      out += static_cast<char>((header_length >> (8 * i)) & 0xFF);
    out += dict;
    out.append(padding, ' ');
    out += '\n';
    return out;
  }
  throw Error("header too large for .npy format 2.0");
}

// Writes n values as little-endian T, converting a chunk at a time.
template <class T>
void write_values(std::ostream& out, const double* data, std::size_t n) {
  constexpr std::size_t kPerChunk = kChunkBytes / sizeof(T);
  std::vector<char> chunk(std::min(n, kPerChunk) * sizeof(T));
  for (std::size_t begin = 0; begin < n; begin += kPerChunk) {
    const std::size_t count = std::min(n - begin, kPerChunk);
    for (std::size_t i = 0; i < count; ++i) {
      const T value = static_cast<T>(data[begin + i]);
      char* bytes = chunk.data() + i * sizeof(T);
      std::memcpy(bytes, &value, sizeof(T));
      if constexpr (!kLittleHost) std::reverse(bytes, bytes + sizeof(T));
    }
    out.write(chunk.data(), static_cast<std::streamsize>(count * sizeof(T)));
  }
}

}  // namespace

std::size_t NpyArray::size() const {
  std::size_t n = 1;
  for (std::size_t d : shape) n *= d;
  return n;
}

std::string NpyArray::shape_string() const { return shape_repr(shape); }

NpyArray read_npy(std::istream& in) {
  const std::string dict = read_header_dict(in);
  Header header = HeaderParser(dict).parse();
  const ElementType type = element_type(header.descr);
  const std::size_t bytes = byte_count(header.shape, type.size);

  NpyArray array;
  array.data = read_data(in, type, bytes);
  if (header.fortran_order) array.data = fortran_to_c(std::move(array.data), header.shape);
  array.shape = std::move(header.shape);
  array.stored = type.stored;
  array.descr = header.descr;
  return array;
}

std::string NpyArray::dtype_name() const {
  if (descr.size() != 3) return "float64";  // made in memory, not read
  const int bits = 8 * (descr[2] - '0');
  switch (descr[1]) {
    case 'f': return fmt::format("float{}", bits);
    case 'i': return fmt::format("int{}", bits);
    case 'u': return fmt::format("uint{}", bits);
    case 'b': return "bool";
  }
  return descr;
}

NpyArray read_npy_file(const std::string& path) {
  try {
    if (path == "-") {
      // Nobody types .npy bytes; without this a tool would silently wait.
      if (::isatty(STDIN_FILENO))
        throw Error("refusing to read binary data from a terminal; give a file or a pipe");
      // std::cin is binary on POSIX: no newline translation.
      return read_npy(std::cin);
    }
    std::ifstream in = open_input_file(path);
    return read_npy(in);
  } catch (const Error& e) {
    throw e.with_file(input_name(path));
  }
}

void write_npy(std::ostream& out, const std::vector<std::size_t>& shape, const double* data,
               DType dtype) {
  const std::size_t item_size = dtype == DType::f4 ? sizeof(float) : sizeof(double);
  const std::size_t count = byte_count(shape, item_size) / item_size;
  const std::string header = preamble(shape, dtype);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  if (dtype == DType::f4)
    write_values<float>(out, data, count);
  else
    write_values<double>(out, data, count);
  if (!out) throw Error("write error");
}

Matrix as_matrix(const NpyArray& a, bool allow_1d) {
  const auto extent = [](std::size_t n) { return static_cast<Eigen::Index>(n); };
  if (a.shape.size() == 2)
    return Eigen::Map<const Matrix>(a.data.data(), extent(a.shape[0]), extent(a.shape[1]));
  if (a.shape.size() == 1 && allow_1d)
    return Eigen::Map<const Matrix>(a.data.data(), extent(a.shape[0]), 1);
  throw Error(fmt::format("expected 2-D float array, got shape {}", a.shape_string()));
}

void require_finite(const Matrix& x) {
  for (Eigen::Index r = 0; r < x.rows(); ++r) {
    if (x.row(r).allFinite()) continue;
    for (Eigen::Index c = 0; c < x.cols(); ++c)
      if (!std::isfinite(x(r, c)))
        throw Error(fmt::format("row {} has a non-finite value ({})", r, x(r, c)));
  }
}

Matrix read_matrix(const std::string& path, bool allow_1d) {
  try {
    return as_matrix(read_npy_file(path), allow_1d);
  } catch (const Error& e) {
    throw e.with_file(input_name(path));
  }
}

}  // namespace sde

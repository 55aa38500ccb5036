// Tests of the .npy module (lib/npy) and of output/input files (lib/io).
// Golden files in data/npy/ are written by numpy itself with
// data/make_golden_npy.py; its docstring explains the names and values.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <sstream>
#include <streambuf>
#include <string>
#include <thread>
#include <vector>

#include "error.hpp"
#include "io.hpp"
#include "npy.hpp"

namespace fs = std::filesystem;
using sde::DType;
using sde::NpyArray;
using Shape = std::vector<std::size_t>;

namespace {

const fs::path kGolden = fs::path(SDE_TEST_DATA) / "npy";

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

NpyArray read_golden(const std::string& name) {
  return sde::read_npy_file((kGolden / name).string());
}

NpyArray read_bytes(const std::string& bytes) {
  std::istringstream in(bytes);
  return sde::read_npy(in);
}

// The message read_npy gives for these bytes, or "no error".
std::string read_error(const std::string& bytes) {
  try {
    read_bytes(bytes);
  } catch (const sde::Error& e) {
    return e.what();
  }
  return "no error";
}

std::string write_bytes(const Shape& shape, const std::vector<double>& data, DType dtype) {
  std::ostringstream out;
  sde::write_npy(out, shape, data.data(), dtype);
  return out.str();
}

// What make_golden_npy.py stores in float arrays: (i - 2) / 3, rounded to the dtype.
std::vector<double> golden_values(std::size_t count, DType dtype) {
  std::vector<double> v(count);
  for (std::size_t i = 0; i < count; ++i) {
    const double x = (static_cast<double>(i) - 2) / 3;
    v[i] = dtype == DType::f4 ? static_cast<float>(x) : x;
  }
  return v;
}

// The special values of make_golden_npy.py.
const std::vector<double> kSpecials = {std::numeric_limits<double>::quiet_NaN(),
                                       std::numeric_limits<double>::infinity(),
                                       -std::numeric_limits<double>::infinity(),
                                       -0.0,
                                       1e-40,
                                       1e300,
                                       0.1,
                                       -2.5};

// Bitwise equality, so that NaN equals NaN and -0 differs from 0.
bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

// A .npy preamble around a hand-written header dict (no alignment padding,
// which readers must not require), followed by `data`.
std::string npy_with_header(const std::string& dict, int major = 1, const std::string& data = "") {
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += '\0';
  const std::size_t length = dict.size() + 1;
  for (int i = 0; i < (major == 1 ? 2 : 4); ++i)
    out += static_cast<char>((length >> (8 * i)) & 0xFF);
  return out + dict + "\n" + data;
}

// Serves its bytes a few at a time, as a pipe does, and records any seek or
// tell (a std::streambuf cannot seek by default; here we also notice trying).
class PipeBuf : public std::streambuf {
public:
  PipeBuf(std::string bytes, std::size_t piece) : bytes_(std::move(bytes)), piece_(piece) {}
  bool seeked = false;

protected:
  int_type underflow() override {
    if (pos_ == bytes_.size()) return traits_type::eof();
    const std::size_t n = std::min(piece_, bytes_.size() - pos_);
    char* p = bytes_.data() + pos_;
    setg(p, p, p + n);
    pos_ += n;
    return traits_type::to_int_type(*p);
  }
  pos_type seekoff(off_type, std::ios_base::seekdir, std::ios_base::openmode) override {
    seeked = true;
    return pos_type(off_type(-1));
  }
  pos_type seekpos(pos_type, std::ios_base::openmode) override {
    seeked = true;
    return pos_type(off_type(-1));
  }

private:
  std::string bytes_;
  std::size_t piece_;
  std::size_t pos_ = 0;
};

// Some tests redirect the standard descriptors. If the test runs with one of
// them closed (CI may give no stdin), a new pipe or file would land on it and
// be clobbered by the redirection; so make sure 0, 1 and 2 are open from the start.
const bool kStandardDescriptorsOpen = [] {
  for (int fd = 0; fd <= 2; ++fd)
    if (::fcntl(fd, F_GETFD) == -1 && ::open("/dev/null", O_RDWR) != fd) return false;
  return true;
}();

// Points standard descriptor `fd` at `target` until destroyed.
class Redirect {
public:
  Redirect(int fd, int target) : fd_(fd) {
    REQUIRE(kStandardDescriptorsOpen);
    std::cout.flush();
    std::fflush(stdout);
    saved_ = ::dup(fd_);
    REQUIRE(saved_ >= 0);
    REQUIRE(::dup2(target, fd_) == fd_);
  }
  ~Redirect() {
    std::cout.flush();
    std::fflush(stdout);
    ::dup2(saved_, fd_);
    ::close(saved_);
  }
  Redirect(const Redirect&) = delete;
  Redirect& operator=(const Redirect&) = delete;

private:
  int fd_;
  int saved_ = -1;
};

// A fresh directory, removed with its content at the end.
struct ScratchDir {
  fs::path path;
  ScratchDir() {
    std::string name = (fs::temp_directory_path() / "sde-test-npy.XXXXXX").string();
    REQUIRE(::mkdtemp(name.data()) != nullptr);
    path = name;
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::permissions(path, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path, ec);
  }
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(path))
      names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
};

mode_t current_umask() {
  const mode_t m = ::umask(0);
  ::umask(m);
  return m;
}

}  // namespace

// ------------------------------------------------------------------ reading

TEST_CASE("reads numpy's float arrays in every layout and format version") {
  struct Case {
    const char* file;
    Shape shape;
    DType stored;
  };
  const Case cases[] = {
      {"f8_3x2.npy", {3, 2}, DType::f8},
      {"f4_3x2.npy", {3, 2}, DType::f4},
      {"f8_5.npy", {5}, DType::f8},
      {"f4_5.npy", {5}, DType::f4},
      {"f8_scalar.npy", {}, DType::f8},
      {"f4_scalar.npy", {}, DType::f4},
      {"f8_0x2.npy", {0, 2}, DType::f8},
      {"f4_0x2.npy", {0, 2}, DType::f4},
      {"f8_2x3x4.npy", {2, 3, 4}, DType::f8},
      {"f4_2x3x4.npy", {2, 3, 4}, DType::f4},
      {"be_f8_3x2.npy", {3, 2}, DType::f8},
      {"be_f4_3x2.npy", {3, 2}, DType::f4},
      {"fortran_f8_3x2.npy", {3, 2}, DType::f8},
      {"fortran_f4_2x3x4.npy", {2, 3, 4}, DType::f4},
      {"fortran_be_f8_4x3.npy", {4, 3}, DType::f8},
      {"v2_f8_3x2.npy", {3, 2}, DType::f8},
      {"v3_f4_3x2.npy", {3, 2}, DType::f4},
  };
  for (const Case& c : cases) {
    CAPTURE(c.file);
    const NpyArray a = read_golden(c.file);
    CHECK(a.shape == c.shape);
    CHECK(a.stored == c.stored);
    CHECK(a.size() == a.data.size());
    CHECK(a.data == golden_values(a.size(), c.stored));
  }
}

TEST_CASE("reads zero-size arrays with long dimensions") {
  const NpyArray wide = read_golden("f8_0x123456789.npy");
  CHECK(wide.shape == Shape{0, 123456789});
  CHECK(wide.data.empty());
  CHECK(wide.shape_string() == "(0, 123456789)");
  const NpyArray tall = read_golden("f8_12345678901234567x0.npy");
  CHECK(tall.shape == Shape{12345678901234567, 0});
  CHECK(tall.rows() == 12345678901234567);
  CHECK(tall.data.empty());
}

template <class T>
void check_integer_file(const std::string& file) {
  CAPTURE(file);
  using Limits = std::numeric_limits<T>;
  const std::vector<double> expected = {
      static_cast<double>(Limits::min()),     static_cast<double>(Limits::min() + 1), 0.0, 1.0,
      static_cast<double>(Limits::max() - 1), static_cast<double>(Limits::max())};
  const NpyArray a = read_golden(file);
  CHECK(a.shape == Shape{6});
  CHECK(a.stored == DType::f8);
  CHECK(a.data == expected);
}

TEST_CASE("reads integer and bool arrays as doubles, in either byte order") {
  check_integer_file<std::int8_t>("int_i1.npy");
  check_integer_file<std::uint8_t>("int_u1.npy");
  for (const std::string order : {"le", "be"}) {
    check_integer_file<std::int16_t>("int_" + order + "_i2.npy");
    check_integer_file<std::int32_t>("int_" + order + "_i4.npy");
    check_integer_file<std::int64_t>("int_" + order + "_i8.npy");
    check_integer_file<std::uint16_t>("int_" + order + "_u2.npy");
    check_integer_file<std::uint32_t>("int_" + order + "_u4.npy");
    check_integer_file<std::uint64_t>("int_" + order + "_u8.npy");
  }
  const NpyArray b = read_golden("bool_5.npy");
  CHECK(b.shape == Shape{5});
  CHECK(b.data == std::vector<double>{1, 0, 1, 1, 0});
}

TEST_CASE("reads special values") {
  CHECK(same_bits(read_golden("specials_f8.npy").data, kSpecials));
  std::vector<double> as_float(kSpecials.size());
  for (std::size_t i = 0; i < kSpecials.size(); ++i) as_float[i] = static_cast<float>(kSpecials[i]);
  const NpyArray f4 = read_golden("specials_f4.npy");
  CHECK(same_bits(f4.data, as_float));
  CHECK(std::signbit(f4.data[3]));
  CHECK(f4.data[4] > 0);          // 1e-40 survives as a float32 subnormal
  CHECK(std::isinf(f4.data[5]));  // 1e300 overflows float32
}

TEST_CASE("reads without seeking, a few bytes at a time, several arrays back to back") {
  const std::string first = slurp(kGolden / "fortran_f4_2x3x4.npy");
  const std::string second = slurp(kGolden / "f8_5.npy");
  PipeBuf pipe(first + second, 3);
  std::istream in(&pipe);
  const NpyArray a = sde::read_npy(in);
  const NpyArray b = sde::read_npy(in);
  CHECK(a.shape == Shape{2, 3, 4});
  CHECK(a.data == golden_values(24, DType::f4));
  CHECK(b.shape == Shape{5});
  CHECK(b.data == golden_values(5, DType::f8));
  CHECK_FALSE(pipe.seeked);
}

TEST_CASE("read_npy_file(\"-\") reads standard input through a pipe") {
  const std::string bytes = slurp(kGolden / "f8_3x2.npy");
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  // The writer runs alongside: a pipe holds only so much.
  ssize_t written = 0;
  std::thread writer([&] {
    written = ::write(fds[1], bytes.data(), bytes.size());
    ::close(fds[1]);
  });
  NpyArray a;
  {
    Redirect stdin_from_pipe(STDIN_FILENO, fds[0]);
    ::close(fds[0]);
    a = sde::read_npy_file("-");
  }
  writer.join();
  CHECK(written == static_cast<ssize_t>(bytes.size()));
  std::clearerr(stdin);
  std::cin.clear();
  CHECK(a.shape == Shape{3, 2});
  CHECK(a.data == golden_values(6, DType::f8));
}

TEST_CASE("parses any valid spelling of the header dict") {
  const std::string data(6 * sizeof(double), '\0');
  SUBCASE("keys in any order, double quotes, odd spacing, trailing commas") {
    const NpyArray a = read_bytes(npy_with_header(
        "{ \"shape\" :( 3 ,2 , ) ,\t\"fortran_order\":False,'descr' :'<f8' , }", 1, data));
    CHECK(a.shape == Shape{3, 2});
  }
  SUBCASE("no trailing comma") {
    CHECK(read_bytes(
              npy_with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (6,)}", 1, data))
              .shape == Shape{6});
  }
  SUBCASE("Python 2 long integers, as old numpy wrote them") {
    CHECK(read_bytes(npy_with_header(
                         "{'descr': '<f8', 'fortran_order': False, 'shape': (3L, 2L), }", 1, data))
              .shape == Shape{3, 2});
  }
  SUBCASE("an empty tuple is a 0-D scalar") {
    const NpyArray a = read_bytes(
        npy_with_header("{'descr': '<f8', 'fortran_order': True, 'shape': ()}", 1, data));
    CHECK(a.shape.empty());
    CHECK(a.data == std::vector<double>{0.0});
    CHECK(a.shape_string() == "()");
  }
}

TEST_CASE("rejects malformed header dicts, saying what is wrong") {
  const auto error = [](const std::string& dict) { return read_error(npy_with_header(dict)); };
  const auto starts = [](const std::string& message, const std::string& prefix) {
    CAPTURE(message);
    CHECK(message.starts_with(prefix));
  };
  starts(error("{'descr': '<f8', 'fortran_order': False}"),
         "invalid .npy header: missing key 'shape'");
  starts(error("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'x': 1}"),
         "invalid .npy header: unexpected key 'x'");
  starts(error("{'descr': '<f8', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}"),
         "invalid .npy header: duplicate key 'descr'");
  starts(error("{'descr': '<f8', 'fortran_order': 0, 'shape': (1,)}"),
         "invalid .npy header: 'fortran_order' must be True or False");
  starts(error("{'descr': '<f8', 'fortran_order': False, 'shape': (5)}"),
         "invalid .npy header: 'shape' must be a tuple");
  starts(error("{'descr': '<f8', 'fortran_order': False, 'shape': (,)}"),
         "invalid .npy header: expected a non-negative integer");
  starts(error("{'descr': '<f8', 'fortran_order': False, 'shape': (-1,)}"),
         "invalid .npy header: expected a non-negative integer");
  starts(error("{'descr': '<f8', 'fortran_order': False, 'shape': (1,)"),
         "invalid .npy header: expected '}'");
  starts(error("{'descr': '<f8', 'fortran_order': False, 'shape': (1,)} x"),
         "invalid .npy header: text after the closing '}'");
  starts(error("{'descr"), "invalid .npy header: unterminated string");
  starts(error(""), "invalid .npy header: expected '{'");
  // The message shows where and in what.
  CHECK(error("{'descr' '<f8'}") ==
        "invalid .npy header: expected ':' at character 9 of \"{'descr' '<f8'}\"");
}

TEST_CASE("rejects bad input with a clear message") {
  const std::string good = slurp(kGolden / "f8_3x2.npy");  // 128-byte preamble, 48 data bytes
  CHECK(read_error("") == "empty file");
  CHECK(read_error("hello world, this is text") == "not a .npy file (bad magic)");
  CHECK(read_error("\x93NUM") == "truncated header");
  CHECK(read_error(good.substr(0, 7)) == "truncated header: expected 2 bytes, got 1");
  CHECK(read_error(good.substr(0, 50)) == "truncated header: expected 118 bytes, got 40");
  CHECK(read_error(good.substr(0, 128 + 20)) == "truncated data: expected 48 bytes, got 20");

  std::string version = good;
  version[6] = 4;
  CHECK(read_error(version) == "unsupported .npy format version 4.0 (1.0, 2.0 and 3.0 are)");
  version[6] = 1;
  version[7] = 1;
  CHECK(read_error(version) == "unsupported .npy format version 1.1 (1.0, 2.0 and 3.0 are)");
}

TEST_CASE("refuses dtypes other than real numbers, naming the dtype and the file") {
  struct Case {
    const char* file;
    const char* message;
  };
  const Case cases[] = {
      {"bad_c16.npy", "unsupported dtype '<c16'"},
      {"bad_f2.npy", "unsupported dtype '<f2'"},
      {"bad_U3.npy", "unsupported dtype '<U3'"},
      {"bad_M8.npy", "unsupported dtype '<M8[D]'"},
      {"bad_object.npy", "unsupported dtype '|O'"},
      {"bad_structured.npy", "unsupported dtype (structured array)"},
      {"bad_structured_v3.npy", "unsupported dtype (structured array)"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.file);
    const std::string path = (kGolden / c.file).string();
    try {
      sde::read_npy_file(path);
      FAIL("no error");
    } catch (const sde::Error& e) {
      CHECK(std::string(e.what()) == c.message);
      CHECK(e.file() == path);
    }
  }
}

TEST_CASE("a hostile header costs neither a crash nor absurd memory") {
  // Each would need terabytes if the reader trusted the header.
  CHECK(read_error(npy_with_header(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,)}")) ==
        "truncated data: expected 8000000000000 bytes, got 0");
  CHECK(read_error(npy_with_header(
            "{'descr': '<i2', 'fortran_order': True, 'shape': (1000000, 1000000)}", 1, "abc")) ==
        "truncated data: expected 2000000000000 bytes, got 3");
  std::string long_header = "\x93NUMPY\x02";
  long_header += std::string("\0\xff\xff\xff\xff", 5);
  CHECK(read_error(long_header + "{'descr'") ==
        "truncated header: expected 4294967295 bytes, got 8");
  // Sizes that cannot exist at all.
  CHECK(read_error(npy_with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, "
                                   "4294967296, 4294967296)}")) ==
        "shape (4294967296, 4294967296, 4294967296) is too large");
  CHECK(read_error(
            npy_with_header(
                "{'descr': '<u1', 'fortran_order': False, 'shape': (0, 99999999999999999999)}"))
            .starts_with("invalid .npy header: dimension too large"));
}

TEST_CASE("read_npy_file names the path of a missing file or a directory") {
  const std::string missing = (kGolden / "no-such-file.npy").string();
  try {
    sde::read_npy_file(missing);
    FAIL("no error");
  } catch (const sde::Error& e) {
    CHECK(e.file() == missing);
    CHECK(std::string(e.what()) == "cannot open: No such file or directory");
  }
  try {
    sde::read_npy_file(kGolden.string());
    FAIL("no error");
  } catch (const sde::Error& e) {
    CHECK(e.message() == kGolden.string() + ": is a directory");
  }
}

// ------------------------------------------------------------------ writing

TEST_CASE("writes the same bytes as numpy.save") {
  const char* files[] = {
      "f8_3x2.npy",         "f4_3x2.npy",
      "f8_5.npy",           "f4_5.npy",
      "f8_scalar.npy",      "f4_scalar.npy",
      "f8_0x2.npy",         "f4_0x2.npy",
      "f8_2x3x4.npy",       "f4_2x3x4.npy",
      "f8_pad1.npy",        "f8_pad64.npy",
      "f8_0x123456789.npy", "f8_12345678901234567x0.npy",
  };
  for (const char* file : files) {
    CAPTURE(file);
    // The golden file gives shape and dtype; the values come from the formula,
    // so f4 files also test rounding double -> float.
    const NpyArray golden = read_golden(file);
    CHECK(write_bytes(golden.shape, golden_values(golden.size(), DType::f8), golden.stored) ==
          slurp(kGolden / file));
  }
  CHECK(write_bytes({kSpecials.size()}, kSpecials, DType::f8) ==
        slurp(kGolden / "specials_f8.npy"));
  CHECK(write_bytes({kSpecials.size()}, kSpecials, DType::f4) ==
        slurp(kGolden / "specials_f4.npy"));
}

TEST_CASE("round trips, f4 and f8, including zero rows and chunk boundaries") {
  const std::vector<double> extremes = {std::numeric_limits<double>::max(),
                                        std::numeric_limits<double>::lowest(),
                                        std::numeric_limits<double>::denorm_min(),
                                        -0.0,
                                        1.0 / 3,
                                        std::numeric_limits<double>::infinity()};
  const NpyArray exact = read_bytes(write_bytes({3, 2}, extremes, DType::f8));
  CHECK(exact.shape == Shape{3, 2});
  CHECK(exact.stored == DType::f8);
  CHECK(same_bits(exact.data, extremes));

  const NpyArray empty = read_bytes(write_bytes({0, 3}, {}, DType::f4));
  CHECK(empty.shape == Shape{0, 3});
  CHECK(empty.stored == DType::f4);
  CHECK(empty.data.empty());

  // More than a read/write chunk (1 MiB), ending mid-chunk.
  const std::size_t n = (std::size_t{1} << 18) + 3;
  std::vector<double> big(n * 2);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = std::sin(static_cast<double>(i)) * 1e3;
  for (const DType dtype : {DType::f4, DType::f8}) {
    const NpyArray back = read_bytes(write_bytes({n, 2}, big, dtype));
    CHECK(back.shape == Shape{n, 2});
    bool all_equal = true;
    for (std::size_t i = 0; i < big.size(); ++i) {
      const double expected = dtype == DType::f4 ? static_cast<float>(big[i]) : big[i];
      all_equal = all_equal && back.data[i] == expected;
    }
    CHECK(all_equal);
  }
}

TEST_CASE("a header longer than 65535 bytes is written as format 2.0") {
  const Shape shape(22000, 1);  // "(1, 1, ..., 1)" takes 66000 characters
  const std::string bytes = write_bytes(shape, {4.5}, DType::f8);
  REQUIRE(bytes.size() > 12);
  CHECK(bytes[6] == 2);
  CHECK(bytes[7] == 0);
  std::size_t length = 0;
  for (int i = 3; i >= 0; --i) length = (length << 8) | static_cast<unsigned char>(bytes[8 + i]);
  CHECK(length > 65535);
  CHECK((12 + length) % 64 == 0);
  CHECK(bytes[12 + length - 1] == '\n');
  CHECK(bytes.size() == 12 + length + 8);
  const NpyArray back = read_bytes(bytes);
  CHECK(back.shape == shape);
  CHECK(back.data == std::vector<double>{4.5});
}

TEST_CASE("write_npy reports a failing stream") {
  std::ostringstream out;
  out.setstate(std::ios::badbit);
  const double x = 1.0;
  CHECK_THROWS_WITH_AS(sde::write_npy(out, {1}, &x), "write error", sde::Error);
}

// ------------------------------------------------------------------ matrices

TEST_CASE("as_matrix takes 2-D arrays, and 1-D ones as a column when allowed") {
  const sde::Matrix m = sde::as_matrix(read_golden("f8_3x2.npy"));
  REQUIRE(m.rows() == 3);
  REQUIRE(m.cols() == 2);
  CHECK(m(2, 1) == doctest::Approx(1.0));  // (5 - 2) / 3
  CHECK(m(0, 1) == doctest::Approx(-1.0 / 3));

  const sde::Matrix column = sde::as_matrix(read_golden("f8_5.npy"));
  CHECK(column.rows() == 5);
  CHECK(column.cols() == 1);

  const sde::Matrix none = sde::as_matrix(read_golden("f4_0x2.npy"));
  CHECK(none.rows() == 0);
  CHECK(none.cols() == 2);

  CHECK_THROWS_WITH_AS(sde::as_matrix(read_golden("f8_5.npy"), false),
                       "expected 2-D float array, got shape (5,)", sde::Error);
  CHECK_THROWS_WITH_AS(sde::as_matrix(read_golden("f8_2x3x4.npy")),
                       "expected 2-D float array, got shape (2, 3, 4)", sde::Error);
  CHECK_THROWS_WITH_AS(sde::as_matrix(read_golden("f8_scalar.npy")),
                       "expected 2-D float array, got shape ()", sde::Error);
}

TEST_CASE("require_finite names the first bad row, counted from 0") {
  sde::Matrix x = sde::Matrix::Ones(20, 3);
  CHECK_NOTHROW(sde::require_finite(x));
  x(15, 0) = -std::numeric_limits<double>::infinity();
  x(12, 2) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH_AS(sde::require_finite(x), "row 12 has a non-finite value (nan)", sde::Error);
  x(12, 2) = 0;
  CHECK_THROWS_WITH_AS(sde::require_finite(x), "row 15 has a non-finite value (-inf)", sde::Error);
}

TEST_CASE("read_matrix converts and attaches the path to errors") {
  CHECK(sde::read_matrix((kGolden / "fortran_f8_3x2.npy").string()) ==
        sde::as_matrix(read_golden("f8_3x2.npy")));
  const std::string path = (kGolden / "f8_2x3x4.npy").string();
  try {
    sde::read_matrix(path);
    FAIL("no error");
  } catch (const sde::Error& e) {
    CHECK(e.message() == path + ": expected 2-D float array, got shape (2, 3, 4)");
  }
}

// ------------------------------------------------------------------ files

TEST_CASE("OutputFile: the file appears on commit, with no temporary left") {
  ScratchDir dir;
  const std::string path = (dir.path / "out.npy").string();
  {
    sde::OutputFile out(path);
    out.stream() << "partial";
    CHECK(dir.entries().size() == 1);  // only the temporary
    CHECK_FALSE(fs::exists(path));     // not visible until commit
    out.stream() << " and complete";
    out.commit();
    out.commit();  // a second commit does nothing
  }
  CHECK(dir.entries() == std::vector<std::string>{"out.npy"});
  CHECK(slurp(path) == "partial and complete");
  // The mode is what any new file gets, not mkstemp's 0600.
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == (0666 & ~current_umask()));
}

TEST_CASE("OutputFile: without commit nothing appears and an old file is untouched") {
  ScratchDir dir;
  const std::string path = (dir.path / "out.npy").string();
  {
    sde::OutputFile out(path);
    out.stream() << "never committed";
  }
  CHECK(dir.entries().empty());

  std::ofstream(path) << "old content";
  try {
    sde::OutputFile out(path);
    out.stream() << "new content";
    throw sde::Error("the run failed");
  } catch (const sde::Error&) {
  }
  CHECK(dir.entries() == std::vector<std::string>{"out.npy"});
  CHECK(slurp(path) == "old content");

  {
    sde::OutputFile out(path);
    out.stream() << "replaced";
    out.commit();
  }
  CHECK(slurp(path) == "replaced");
}

TEST_CASE("OutputFile: errors name the path") {
  ScratchDir dir;
  const std::string in_missing_dir = (dir.path / "missing" / "out.npy").string();
  try {
    sde::OutputFile out(in_missing_dir);
    FAIL("no error");
  } catch (const sde::Error& e) {
    CHECK(e.message() == in_missing_dir + ": cannot create: No such file or directory");
  }
  try {
    sde::OutputFile out(dir.path.string());
    FAIL("no error");
  } catch (const sde::Error& e) {
    CHECK(e.message() == dir.path.string() + ": is a directory");
  }
  if (::geteuid() == 0) {
    MESSAGE("running as root: the permission check is bypassed, not tested");
  } else {
    fs::permissions(dir.path, fs::perms::owner_read | fs::perms::owner_exec);
    const std::string locked = (dir.path / "out.npy").string();
    CHECK_THROWS_WITH_AS(sde::OutputFile{locked}, doctest::Contains("Permission denied"),
                         sde::Error);
  }
  CHECK(dir.entries().empty());
}

TEST_CASE("OutputFile: a FIFO is written in place, not replaced") {
  ScratchDir dir;
  const std::string fifo = (dir.path / "fifo").string();
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  std::string received;
  // Opening a FIFO blocks until the other end opens too.
  std::thread reader([&] {
    std::ifstream in(fifo, std::ios::binary);
    received.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  });
  {
    sde::OutputFile out(fifo);
    out.stream() << "through the fifo";
    out.commit();
  }
  reader.join();
  CHECK(received == "through the fifo");
  CHECK(dir.entries() == std::vector<std::string>{"fifo"});
  CHECK(fs::is_fifo(fifo));
}

TEST_CASE("OutputFile: a symlink is written through, not replaced") {
  ScratchDir dir;
  const fs::path target = dir.path / "target.txt", link = dir.path / "link.txt";
  { std::ofstream(target) << "old"; }
  fs::create_symlink(target, link);
  {
    sde::OutputFile out(link.string());
    out.stream() << "new";
    out.commit();
  }
  CHECK(fs::is_symlink(link));
  std::ifstream in(target);
  CHECK(std::string(std::istreambuf_iterator<char>(in), {}) == "new");
}

TEST_CASE("OutputFile(\"-\") writes to standard output") {
  ScratchDir dir;
  const std::string captured = (dir.path / "stdout").string();
  const int file = ::open(captured.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  REQUIRE(file >= 0);
  {
    Redirect stdout_to_file(STDOUT_FILENO, file);
    sde::OutputFile out("-");
    const double x = 2.0;
    sde::write_npy(out.stream(), {1}, &x);
    out.commit();
  }
  ::close(file);
  CHECK(read_bytes(slurp(captured)).data == std::vector<double>{2.0});
}

TEST_CASE("binary data neither go to nor come from a terminal; text may") {
  const int terminal = ::posix_openpt(O_RDWR | O_NOCTTY);
  if (terminal < 0 || ::grantpt(terminal) != 0 || ::unlockpt(terminal) != 0) {
    MESSAGE("no pseudo-terminal available: the terminal checks are not tested");
    return;
  }
  const int tty = ::open(::ptsname(terminal), O_RDWR | O_NOCTTY);
  REQUIRE(tty >= 0);
  // The message of the sde::Error `action` throws, or "no error".
  const auto error_of = [](const auto& action) -> std::string {
    try {
      action();
    } catch (const sde::Error& e) {
      return e.what();
    }
    return "no error";
  };
  std::string write_binary, write_text, read_binary;
  {
    Redirect stdout_to_tty(STDOUT_FILENO, tty);
    Redirect stdin_from_tty(STDIN_FILENO, tty);
    write_binary = error_of([] { sde::OutputFile out("-"); });
    write_text = error_of([] { sde::OutputFile out("-", false); });
    read_binary = error_of([] { sde::read_npy_file("-"); });
  }
  ::close(tty);
  ::close(terminal);
  CHECK(write_binary == "refusing to write binary data to a terminal; use -o FILE");
  CHECK(write_text == "no error");
  CHECK(read_binary == "refusing to read binary data from a terminal; give a file or a pipe");
}

TEST_CASE("read_text_file reads files and stdin, naming the path on errors") {
  ScratchDir dir;
  const std::string path = (dir.path / "spec.json").string();
  std::ofstream(path) << "{\"weights\": [1]}\n";
  CHECK(sde::read_text_file(path) == "{\"weights\": [1]}\n");
  std::ofstream(path, std::ios::trunc).close();
  CHECK(sde::read_text_file(path).empty());

  const std::string missing = (dir.path / "missing.json").string();
  CHECK_THROWS_WITH_AS(sde::read_text_file(missing), "cannot open: No such file or directory",
                       sde::Error);
  try {
    sde::read_text_file(dir.path.string());
    FAIL("no error");
  } catch (const sde::Error& e) {
    CHECK(e.message() == dir.path.string() + ": is a directory");
  }

  const int text = ::open(path.c_str(), O_WRONLY | O_TRUNC);
  REQUIRE(::write(text, "from stdin", 10) == 10);
  ::close(text);
  const int in = ::open(path.c_str(), O_RDONLY);
  std::string got;
  {
    Redirect stdin_from_file(STDIN_FILENO, in);
    got = sde::read_text_file("-");
  }
  ::close(in);
  std::clearerr(stdin);
  std::cin.clear();
  CHECK(got == "from stdin");
}

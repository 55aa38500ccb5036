// .npy reading and writing (format versions 1.0, 2.0 and 3.0).
//
// Reading accepts what numpy.save writes for real numeric dtypes: float32/64
// (either byte order), integer and bool arrays (converted to double), C or
// Fortran order (Fortran is transposed into C order), any number of rows
// including zero, 0-D scalars and N-D arrays. It never seeks and reads exactly
// the array's bytes, so it works on pipes and several arrays can be read back
// to back from one stream. Memory grows with the bytes actually received, not
// with the size a header claims, so a hostile header cannot exhaust memory.
//
// Writing produces version 1.0 (2.0 only when the header would not fit),
// little-endian <f4 or <f8, C order, with the header laid out exactly as
// numpy.save lays it out (same spare space, padding to a 64-byte boundary):
// our bytes are identical to numpy.save's for the same array and dtype.
//
// Every failure throws sde::Error with the cause, e.g.
//   "not a .npy file (bad magic)", "empty file", "unsupported dtype '<c16'",
//   "truncated data: expected 48 bytes, got 20".
#pragma once
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "types.hpp"

namespace sde {

enum class DType { f4, f8 };

struct NpyArray {
  std::vector<std::size_t> shape;  // empty for a 0-D scalar
  std::vector<double> data;        // C order, size() values
  DType stored = DType::f8;        // dtype found in the file (f4 for float32, f8 otherwise)
  std::string descr;               // the file's dtype as numpy writes it: '<f8', '<i8', '|b1'

  // numpy's name of the file's dtype: "float32", "int64", "uint8", "bool".
  std::string dtype_name() const;

  // Number of elements: the product of shape (1 for a 0-D scalar).
  std::size_t size() const;
  std::size_t rows() const { return shape.empty() ? 1 : shape[0]; }
  // Python's tuple notation, as numpy prints shapes: "()", "(5,)", "(3, 2)".
  std::string shape_string() const;
};

// Reads one array, leaving the stream just past its last byte. The cause of a
// failure is in the sde::Error; the caller attaches the file name.
NpyArray read_npy(std::istream& in);
// "-" reads standard input, refused when it is a terminal. Errors carry the
// path ("<stdin>" for "-").
NpyArray read_npy_file(const std::string& path);

// Writes product(shape) values from `data` (C order) as a .npy array of the
// given dtype; f4 rounds each value to nearest float, as numpy's astype does.
// Throws sde::Error if the stream fails.
void write_npy(std::ostream& out, const std::vector<std::size_t>& shape, const double* data,
               DType dtype = DType::f8);

// A 2-D N x d array as a Matrix; otherwise throws
// "expected 2-D float array, got shape (5, 2, 3)". With allow_1d a 1-D (N,)
// array becomes N x 1 (1-D samples are often saved flat).
Matrix as_matrix(const NpyArray& a, bool allow_1d = true);
// Throws "row 12 has a non-finite value (nan)" for the first row holding NaN
// or infinity. Rows are counted from 0, as numpy indexes them.
void require_finite(const Matrix& x);

// Convenience: read a file and convert with as_matrix, attaching the path to any error.
Matrix read_matrix(const std::string& path, bool allow_1d = true);

}  // namespace sde

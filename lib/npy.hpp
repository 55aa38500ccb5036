// .npy reading and writing (format versions 1.0, 2.0 and 3.0).
//
// Reading accepts what numpy.save writes for real numeric dtypes: float32/64
// (either byte order), integer and bool arrays (converted to double), C or
// Fortran order (Fortran is transposed into C order), any number of rows
// including zero. It never seeks, so it works on pipes. Writing produces
// version 1.0 (2.0 only when the header would not fit), little-endian <f4 or
// <f8, C order, header padded so the data start on a 64-byte boundary.
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
  std::vector<std::size_t> shape;
  std::vector<double> data;  // C order
  DType stored = DType::f8;  // dtype found in the file (f4 for float32, f8 otherwise)

  std::size_t size() const;
  std::size_t rows() const { return shape.empty() ? 1 : shape[0]; }
  // "(5,)", "(3, 2)"
  std::string shape_string() const;
};

// Throws sde::Error naming the cause ("truncated data: expected 80 bytes, got 12").
// `name` is only used for messages; read_npy_file attaches the path.
NpyArray read_npy(std::istream& in);
// "-" reads standard input.
NpyArray read_npy_file(const std::string& path);

void write_npy(std::ostream& out, const std::vector<std::size_t>& shape, const double* data,
               DType dtype = DType::f8);

// A 2-D N x d float array as a Matrix; `what` names the role in messages:
// "expected 2-D float array, got shape (5,)". A 1-D array is read as N x 1
// when allow_1d is set (1-D samples are often saved flat).
Matrix as_matrix(const NpyArray& a, bool allow_1d = true);
// Rows containing NaN or infinity: throws "row 12 has a non-finite value" for the first.
void require_finite(const Matrix& x);

// Convenience: read a file and convert, attaching the path to any error.
Matrix read_matrix(const std::string& path, bool allow_1d = true);

}  // namespace sde

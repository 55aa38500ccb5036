// Array types shared by the library: rows are samples, columns dimensions,
// row-major so that a Matrix maps 1:1 onto a C-order .npy array.
#pragma once
#include <Eigen/Dense>
#include <vector>

namespace sde {

using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vector = Eigen::VectorXd;
using RowVector = Eigen::RowVectorXd;
using MatrixF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Flat fp32 buffers (parameters, gradients, optimizer moments) aligned like
// Eigen's own storage (64 bytes with AVX-512). Alignment matters for
// reproducibility, not only speed: Eigen handles the unaligned head of a
// buffer with scalar code whose rounding (fused multiply-adds, summation
// order) differs from its vector code, so with malloc's 16-byte alignment a
// result could change with where the heap happened to put a buffer.
using FloatBuffer = std::vector<float, Eigen::aligned_allocator<float>>;

// Views that bind to a whole Matrix or to a block of its top rows without a
// copy (a row-major block of whole rows is contiguous), so batched math can
// work on the active part of a preallocated buffer.
using MatrixRef = Eigen::Ref<Matrix>;
using ConstMatrixRef = Eigen::Ref<const Matrix>;
using VectorRef = Eigen::Ref<Vector>;
using ConstVectorRef = Eigen::Ref<const Vector>;

}  // namespace sde

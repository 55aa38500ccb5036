// Array types shared by the library: rows are samples, columns dimensions,
// row-major so that a Matrix maps 1:1 onto a C-order .npy array.
#pragma once
#include <Eigen/Dense>

namespace sde {

using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vector = Eigen::VectorXd;
using RowVector = Eigen::RowVectorXd;
using MatrixF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Views that bind to a whole Matrix or to a block of its top rows without a
// copy (a row-major block of whole rows is contiguous), so batched math can
// work on the active part of a preallocated buffer.
using MatrixRef = Eigen::Ref<Matrix>;
using ConstMatrixRef = Eigen::Ref<const Matrix>;
using VectorRef = Eigen::Ref<Vector>;
using ConstVectorRef = Eigen::Ref<const Vector>;

}  // namespace sde

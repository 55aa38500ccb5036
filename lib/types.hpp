// Array types shared by the library: rows are samples, columns dimensions,
// row-major so that a Matrix maps 1:1 onto a C-order .npy array.
#pragma once
#include <Eigen/Dense>

namespace sde {

using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vector = Eigen::VectorXd;
using RowVector = Eigen::RowVectorXd;
using MatrixF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

}  // namespace sde

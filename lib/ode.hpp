// Batched adaptive Dormand-Prince 5(4) in which every row is its own ODE
// with its own time, step size and error control. (The paper's code shares
// one step and one RMS error over the whole flattened batch, so one hard
// sample slows all of them and the error of one sample is hidden among the
// others.) A row's result depends only on its own trajectory: it is the same
// whatever other rows it is batched with, given a right-hand side that is
// row-wise independent.
#pragma once
#include <functional>
#include <span>
#include <vector>

#include "types.hpp"

namespace sde {

// dy/dt for the rows of y, row i at time t(i); dy is sized like y. The
// solver passes only the rows still being integrated, in any order: rows[i]
// is the index (in the caller's matrix) of y's row i, for right-hand sides
// with per-row data.
using OdeRhs = std::function<void(ConstMatrixRef y, ConstVectorRef t,
                                  std::span<const Eigen::Index> rows, MatrixRef dy)>;

struct OdeOptions {
  double rtol = 1e-5;
  double atol = 1e-5;
  long max_steps = 100000;  // per row, accepted plus rejected
};

struct OdeRowStats {
  int nfe = 0;       // right-hand-side evaluations of this row
  int accepted = 0;  // accepted steps
  int rejected = 0;  // rejected steps
};

// Integrates every row of y from t0 through each time in `stops` (monotone,
// all on the same side of t0; the last is the end). frames, if not null,
// receives one matrix per stop (the state there). y is overwritten with the
// state at the last stop. stats gets one entry per row. Throws sde::Error
// when a row's step size underflows, max_steps is exceeded or the state
// becomes non-finite (the message names the row's time).
void integrate_dopri5(const OdeRhs& rhs, Matrix& y, double t0, const std::vector<double>& stops,
                      const OdeOptions& options, std::vector<OdeRowStats>& stats,
                      std::vector<Matrix>* frames = nullptr);

}  // namespace sde

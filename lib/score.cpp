#include "score.hpp"

#include <fmt/format.h>

#include "error.hpp"

namespace sde {

void MixtureScore::score(const Matrix& x, const Vector& t, Matrix& out) const {
  if (t.size() != x.rows())
    throw Error(fmt::format("score: {} points but {} times", x.rows(), t.size()));
  // Kernel coefficients per row; samplers pass one t for the whole batch, so
  // reuse the previous row's instead of recomputing exp/pow.
  Vector m(t.size()), s(t.size());
  for (Eigen::Index i = 0; i < t.size(); ++i) {
    if (i > 0 && t[i] == t[i - 1]) {
      m[i] = m[i - 1];
      s[i] = s[i - 1];
    } else {
      m[i] = sde_.mean_coeff(t[i]);
      s[i] = sde_.std(t[i]);
    }
  }
  mix_.score(x, m, s, out);
}

}  // namespace sde

// Test mixtures shared by the sampler and likelihood tests.
#pragma once
#include "mixture.hpp"

namespace sde::testing {

// 2-D, unequal weights, full anisotropic covariances.
inline GaussianMixture anisotropic_2d() {
  Matrix mu(3, 2);
  mu << -2, 0, 2, 1, 0, -2.5;
  Matrix c0(2, 2), c1(2, 2), c2(2, 2);
  c0 << 0.3, 0.2, 0.2, 0.4;
  c1 << 0.2, 0, 0, 0.2;
  c2 << 0.5, -0.1, -0.1, 0.1;
  return GaussianMixture({0.5, 0.3, 0.2}, mu, {c0, c1, c2});
}

}  // namespace sde::testing

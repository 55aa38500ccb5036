#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "rng.hpp"

using sde::Purpose;
using sde::Stream;

TEST_CASE("Philox4x32-10 known-answer vectors (Random123 kat_vectors)") {
  using A4 = std::array<std::uint32_t, 4>;
  using A2 = std::array<std::uint32_t, 2>;
  CHECK(sde::philox4x32_10(A4{0, 0, 0, 0}, A2{0, 0}) ==
        A4{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8});
  CHECK(sde::philox4x32_10(A4{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
                           A2{0xffffffff, 0xffffffff}) ==
        A4{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd});
  CHECK(sde::philox4x32_10(A4{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
                           A2{0xa4093822, 0x299f31d0}) ==
        A4{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1});
}

TEST_CASE("streams are pure functions of (seed, purpose, sample, step)") {
  Stream a(7, Purpose::noise, 12345, 3), b(7, Purpose::noise, 12345, 3);
  for (int i = 0; i < 100; ++i) CHECK(a.normal() == b.normal());
  // Any change of one coordinate gives a different stream.
  const double first = Stream(7, Purpose::noise, 12345, 3).uniform();
  CHECK(Stream(8, Purpose::noise, 12345, 3).uniform() != first);
  CHECK(Stream(7, Purpose::prior, 12345, 3).uniform() != first);
  CHECK(Stream(7, Purpose::noise, 12346, 3).uniform() != first);
  CHECK(Stream(7, Purpose::noise, 12345, 4).uniform() != first);
  CHECK(Stream(7, Purpose::noise, 12345 + (1ull << 32), 3).uniform() != first);
  CHECK(Stream(7 + (1ull << 32), Purpose::noise, 12345, 3).uniform() != first);
}

TEST_CASE("uniforms lie in (0,1) with the right moments") {
  // n = 200000: the mean of U(0,1) has SE sqrt(1/12/n) = 6.5e-4; check at 4 SE.
  const int n = 200000;
  double sum = 0, sum2 = 0, lo = 1, hi = 0;
  for (int i = 0; i < n; ++i) {
    const double u = Stream(1, Purpose::data, static_cast<std::uint64_t>(i)).uniform();
    sum += u;
    sum2 += u * u;
    lo = std::min(lo, u);
    hi = std::max(hi, u);
  }
  CHECK(lo > 0.0);
  CHECK(hi < 1.0);
  CHECK(std::abs(sum / n - 0.5) < 4 * std::sqrt(1.0 / 12 / n));
  // E[U^2] = 1/3, Var[U^2] = 1/5 - 1/9 = 4/45.
  CHECK(std::abs(sum2 / n - 1.0 / 3) < 4 * std::sqrt(4.0 / 45 / n));
}

TEST_CASE("Box-Muller normals: moments and tails") {
  // 100 samples x 4000 draws = 400000 normals: SE of the mean 1.6e-3, of the
  // variance sqrt(2/n) = 2.2e-3, of the 4th moment sqrt(96/n) = 1.5e-2.
  std::vector<double> z;
  for (std::uint64_t s = 0; s < 100; ++s) {
    Stream st(3, Purpose::noise, s);
    for (int i = 0; i < 4000; ++i) z.push_back(st.normal());
  }
  const double n = static_cast<double>(z.size());
  double m1 = 0, m2 = 0, m4 = 0, beyond2 = 0;
  for (double v : z) {
    m1 += v;
    m2 += v * v;
    m4 += v * v * v * v;
    beyond2 += std::abs(v) > 2.0;
  }
  m1 /= n, m2 /= n, m4 /= n, beyond2 /= n;
  CHECK(std::abs(m1) < 4 * std::sqrt(1 / n));
  CHECK(std::abs(m2 - 1) < 4 * std::sqrt(2 / n));
  CHECK(std::abs(m4 - 3) < 4 * std::sqrt(96 / n));
  // P(|Z| > 2) = 0.0455003; binomial SE sqrt(p(1-p)/n).
  const double p = 0.04550026389635842;
  CHECK(std::abs(beyond2 - p) < 4 * std::sqrt(p * (1 - p) / n));
}

TEST_CASE("below() is uniform and in range") {
  // 7 bins x 70000 draws: each count has SE sqrt(n p (1-p)); check 4 SE.
  const int n = 70000;
  std::vector<int> counts(7, 0);
  Stream st(11, Purpose::batch, 0);
  for (int i = 0; i < n; ++i) {
    const auto k = st.below(7);
    REQUIRE(k < 7u);
    ++counts[k];
  }
  for (int c : counts) CHECK(std::abs(c - n / 7.0) < 4 * std::sqrt(n * (1.0 / 7) * (6.0 / 7)));
  CHECK(st.below(1) == 0u);
}

#include "rng.hpp"

#include <Random123/philox.h>

#include <cmath>

namespace sde {

namespace {
using Philox = r123::Philox4x32_R<10>;
constexpr double kTwoPi = 6.283185307179586476925286766559;
}  // namespace

// Key: the 64-bit seed. Counter: (block, step, sample, purpose) with the
// sample's high bits folded into the purpose word, so 2^32 samples x 2^32
// steps x 2^32 blocks of four words each are independent streams.
Stream::Stream(std::uint64_t seed, Purpose purpose, std::uint64_t sample, std::uint64_t step)
    : key_{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)},
      ctr_{0, static_cast<std::uint32_t>(step), static_cast<std::uint32_t>(sample),
           (static_cast<std::uint32_t>(purpose) << 16) ^
               static_cast<std::uint32_t>(sample >> 32) ^
               (static_cast<std::uint32_t>(step >> 32) << 24)} {}

std::array<std::uint32_t, 4> philox4x32_10(const std::array<std::uint32_t, 4>& counter,
                                           const std::array<std::uint32_t, 2>& key) {
  const Philox::ctr_type c = {{counter[0], counter[1], counter[2], counter[3]}};
  const Philox::key_type k = {{key[0], key[1]}};
  const Philox::ctr_type r = Philox()(c, k);
  return {r.v[0], r.v[1], r.v[2], r.v[3]};
}

void Stream::refill() {
  out_ = philox4x32_10(ctr_, key_);
  ++ctr_[0];
  used_ = 0;
}

std::uint32_t Stream::next_u32() {
  if (used_ == 4) refill();
  return out_[used_++];
}

double Stream::uniform() {
  // 53 bits: 27 from the first word, 26 from the second; +0.5 keeps it off 0.
  const std::uint64_t hi = next_u32() >> 5, lo = next_u32() >> 6;
  return (static_cast<double>((hi << 26) | lo) + 0.5) * 0x1.0p-53;
}

double Stream::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  const double u1 = uniform(), u2 = uniform();
  const double radius = std::sqrt(-2.0 * std::log(u1));
  spare_ = radius * std::sin(kTwoPi * u2);
  has_spare_ = true;
  return radius * std::cos(kTwoPi * u2);
}

void Stream::normals(double* out, int n) {
  for (int i = 0; i < n; ++i) out[i] = normal();
}

std::uint32_t Stream::below(std::uint32_t n) {
  // Lemire's multiply-shift with rejection of the biased low range.
  std::uint64_t product = static_cast<std::uint64_t>(next_u32()) * n;
  auto low = static_cast<std::uint32_t>(product);
  if (low < n) {
    const std::uint32_t threshold = (0u - n) % n;
    while (low < threshold) {
      product = static_cast<std::uint64_t>(next_u32()) * n;
      low = static_cast<std::uint32_t>(product);
    }
  }
  return static_cast<std::uint32_t>(product >> 32);
}

}  // namespace sde

// Counter-based random numbers: every draw is a pure function of
// (seed, purpose, sample index, step, position), computed with
// Philox4x32-10 (Random123). Nothing carries state between samples, so the
// output of any tool is the same for any --threads, batch size or --shard.
#pragma once
#include <array>
#include <cstdint>

namespace sde {

// The raw block function: one Philox4x32-10 evaluation (Random123).
std::array<std::uint32_t, 4> philox4x32_10(const std::array<std::uint32_t, 4>& counter,
                                           const std::array<std::uint32_t, 2>& key);

// What the numbers are for; distinct purposes give independent streams.
enum class Purpose : std::uint32_t {
  data = 1,       // exact mixture draws: component choice and Gaussian noise
  noise = 2,      // SDE / kernel noise z
  prior = 3,      // x(T) ~ prior
  init = 4,       // initial points of Langevin chains
  accept = 5,     // Metropolis accept / reject
  probe = 6,      // Hutchinson probes
  time = 7,       // training times t ~ U(eps, 1)
  batch = 8,      // training minibatch indices
  corrector = 9,  // corrector noise inside a predictor step
  weights = 10,   // network initialisation
  projection = 11,  // sliced score matching / sliced Wasserstein directions
  imputation = 12   // kernel draws of known coordinates during imputation
};

class Stream {
public:
  Stream(std::uint64_t seed, Purpose purpose, std::uint64_t sample, std::uint64_t step = 0);

  std::uint32_t next_u32();
  // Uniform on the open interval (0, 1) with 53 random bits.
  double uniform();
  // Standard normal by double-precision Box-Muller (pairs are cached).
  double normal();
  // n standard normals.
  void normals(double* out, int n);
  // Uniform integer in [0, n) without modulo bias.
  std::uint32_t below(std::uint32_t n);

private:
  void refill();
  std::array<std::uint32_t, 2> key_;
  std::array<std::uint32_t, 4> ctr_;
  std::array<std::uint32_t, 4> out_{};
  int used_ = 4;
  bool has_spare_ = false;
  double spare_ = 0.0;
};

}  // namespace sde

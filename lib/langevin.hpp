// Langevin MCMC from a score (seed 000 Eq. 17, paper Eq. 2) and annealed
// Langevin dynamics (NCSN, seed 000 Algorithm 1), with an optional
// Metropolis adjustment (MALA) where the exact log-density is known.
//
// Every chain runs through a list of levels, each a (time, step) pair run
// for the same number of steps:
//
//   x <- x + e s(x, t) + sqrt(2 e) z
//
// Plain Langevin is one level at a fixed t (t = 0 with the mixture oracle is
// the mixture itself). Annealed Langevin has L levels at the noise scales
// sigma_1 = sigma_max > ... > sigma_L = sigma_min (geometric), with the
// step alpha_i = E sigma_i^2 / sigma_L^2 of Algorithm 1; its update
// x + (alpha_i/2) s + sqrt(alpha_i) z is the form above with e = alpha_i / 2.
// A noise scale sigma is a VE time t = sde.time_of_std(sigma): for a VE
// score model p_t is the data convolved with N(0, sigma^2 I).
//
// Randomness is keyed by the chain's global row i and the step's index j
// over the whole run (all levels): the initial point from
// Stream(seed, Purpose::init, i), z from Stream(seed, Purpose::noise, i, j),
// MALA's uniform from Stream(seed, Purpose::accept, i, j). Chains are
// independent, so results are the same for any --threads and a shard equals
// the same rows of the full run.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "progress.hpp"
#include "score.hpp"
#include "types.hpp"

namespace sde {

// Where the chains start: i.i.d. uniform on [a, b] or normal N(a, b^2) in
// every coordinate, or given points (one row per chain of the run).
struct LangevinInit {
  enum class Kind { uniform, normal, points };
  Kind kind = Kind::normal;
  double a = 0.0, b = 1.0;
  const Matrix* points = nullptr;
};
// "uniform:A,B" (A < B) or "normal:M,S" (S > 0); throws sde::Error otherwise.
LangevinInit parse_init(const std::string& spec);
// True when spec names a distribution rather than a file of points.
bool is_init_distribution(const std::string& spec);

struct LangevinLevel {
  double t;          // the score's time
  double step;       // e in x + e s + sqrt(2 e) z
  double sigma = 0;  // the noise scale, when the level was given as one (else 0)
};

// Plain Langevin at time t (in [0, T] of the model's SDE) with step E.
std::vector<LangevinLevel> fixed_time_level(const Sde& sde, double t, double step_size);
// Plain Langevin at the VE noise scale sigma (needs a VE SDE).
std::vector<LangevinLevel> noise_scale_level(const Sde& sde, double sigma, double step_size);
// Annealed Langevin (Algorithm 1): `levels` geometric noise scales from
// sigma_max down to sigma_min (one level at sigma_min when levels is 1),
// step alpha_i / 2 = E sigma_i^2 / (2 sigma_min^2). Needs a VE SDE.
std::vector<LangevinLevel> annealed_levels(const Sde& sde, double sigma_max, double sigma_min,
                                           int levels, double step_size);

struct LangevinRun {
  std::uint64_t seed = 0;
  std::uint64_t first_row = 0;  // global index of the first chain (for shards)
  int threads = 1;
  int trajectory_frames = 0;  // K > 0: record K frames (K >= 2)
};

struct LangevinOptions {
  std::vector<LangevinLevel> levels;
  int steps = 100;    // per level
  bool mala = false;  // Metropolis-adjusted (needs the mixture oracle)
};

struct LangevinResult {
  Matrix x;                       // N x d, the final states
  Matrix trajectory;              // (K N) x d, frame k in rows [k N, (k+1) N)
  std::vector<long> frame_steps;  // steps done before each frame (0: the initial points)
  long score_evaluations = 0;     // per chain
  long density_evaluations = 0;   // per chain (MALA)
  std::vector<long> accepted;     // MALA: accepted proposals per level, over all chains
  long proposals_per_level = 0;   // MALA: chains x steps

  // Accepted fraction of all proposals (MALA), or of one level's.
  double acceptance_rate() const;
  double acceptance_rate(std::size_t level) const;
};

// Runs n chains (rows run.first_row ... of the whole run). With K
// trajectory frames, frame 0 is the start, frame K-1 the result and frame k the state after
// step round(k S / (K-1)) of all S steps. Progress advances by one per chain
// and step (n x levels x steps in all). Throws sde::Error on bad parameters
// and on a non-finite state (naming the step).
LangevinResult run_langevin(const ScoreModel& model, std::size_t n, const LangevinOptions& options,
                            const LangevinInit& init, const LangevinRun& run, Progress& progress);

// The oracle's p_t as a mixture, the law a chain at time t targets: means
// m mu_k, covariances m^2 Sigma_k + s^2 I with (m, s) of the oracle's SDE at t.
GaussianMixture perturbed_mixture(const MixtureScore& oracle, double t);

}  // namespace sde

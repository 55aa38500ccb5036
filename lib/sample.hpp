// Sampling by reversing an SDE (Song et al. 2021, Sections 3.2, 4 and
// Appendices D-G): predictor-corrector samplers, the probability-flow ODE,
// and the fast solvers after the paper (DDIM, DPM-Solver++, UniPC).
//
// All samplers work on any ScoreModel (the exact mixture oracle or a
// network). Row i of a run (global index first_row + i) draws its prior
// point from Stream(seed, Purpose::prior, i) and the noise of step j from
// Stream(seed, Purpose::noise, i, j) (Purpose::corrector for corrector
// steps), and every step is computed row by row, so the samples are the
// same for any --threads and a shard equals the same rows of the full run.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ode.hpp"
#include "progress.hpp"
#include "score.hpp"
#include "types.hpp"

namespace sde {

class GaussianMixture;

enum class Predictor { reverse_diffusion, euler_maruyama, ancestral, none };
enum class Corrector { langevin, ald, none };
enum class OdeSolver { dopri5, euler, heun };
enum class Schedule { uniform, logsnr, karras };

Predictor parse_predictor(const std::string& s);
Corrector parse_corrector(const std::string& s);
OdeSolver parse_ode_solver(const std::string& s);
Schedule parse_schedule(const std::string& s);

struct SampleRun {
  std::uint64_t seed = 0;
  std::uint64_t first_row = 0;  // global index of the first row (for shards)
  int threads = 1;
  int trajectory_frames = 0;  // K > 0: record K frames of the reverse process
  // Prior draws are replaced by these rows when given (latent decoding):
  // x(T) of row i is latent.row(i).
  const Matrix* latent = nullptr;
  // Or by exact draws of this mixture's p_T (the oracle's; its row i from
  // Stream(seed, Purpose::prior, i)): then only the solver's error is left.
  const GaussianMixture* exact_prior = nullptr;
  // Imputation by replacement (PC sampler; Appendix I.2): NaN marks a
  // coordinate to sample. 1 row for all samples or one per row of the whole
  // run (indexed by global row).
  const Matrix* known = nullptr;
};

struct SampleResult {
  Matrix x;                         // N x d
  Matrix trajectory;                // (K N) x d, frame k in rows [k N, (k+1) N)
  std::vector<double> frame_times;  // time of each frame
  std::vector<int> nfe;             // score evaluations per row
};

struct PcOptions {
  Predictor predictor = Predictor::reverse_diffusion;
  Corrector corrector = Corrector::langevin;
  int steps = 1000;           // N predictor steps from T to eps
  int corrector_steps = 1;    // M corrector steps before each predictor step
  // Target signal-to-noise ratio r of the corrector. The corrector is
  // unadjusted Langevin: its stationary law is wider than p_t, by about
  // r^2 d / 2 nats in mean log-density for Gaussians. The paper tunes r per
  // setting (its Table 5: 0.16 for VE, 0.01 for VP on CIFAR-10). Here 0.1:
  // with the exact score, 0.16 is 4.2-4.4 SE low in 5-D at 20 000 samples and
  // 0.1 within 2 SE (bench/ORACLE.md). With trained networks it is mixed
  // (bench/SAMPLERS.md): 0.16's sharpening offsets a network's spread in mean
  // log-density on VP and VE, but gives worse mode weights and energy
  // distance on VE and fewer samples within 3 std on sub-VP.
  double snr = 0.1;
  double eps = -1;            // smallest time; < 0 means the SDE's default
  bool denoise = true;        // final Tweedie step E[x(0) | x(eps)]
};

struct OdeSampleOptions {
  OdeSolver solver = OdeSolver::dopri5;
  OdeOptions tolerances;  // dopri5
  int steps = 100;        // euler, heun
  double eps = -1;
  bool denoise = true;
};

struct FastOptions {
  int steps = 0;      // 0: default_fast_steps
  int order = 2;      // DPM-Solver++ multistep order (1, 2 or 3; 1 or 2 stochastic)
  bool stochastic = false;  // SDE-DPM-Solver++: fresh noise each step, which
                            // contracts score errors as the PC sampler does
  bool unipc = false;       // UniPC (Zhao et al. 2023): the multistep predictor
                            // and its corrector UniC, one order more at no extra NFE
  double eta = 0.0;   // DDIM stochasticity (0: deterministic)
  Schedule schedule = Schedule::karras;
  std::vector<double> times;  // explicit decreasing times (overrides schedule)
  double eps = -1;
  bool denoise = true;
};

// n rows of samples.
SampleResult sample_pc(const ScoreModel& model, std::size_t n, const PcOptions& options,
                       const SampleRun& run, Progress& progress);
SampleResult sample_ode(const ScoreModel& model, std::size_t n, const OdeSampleOptions& options,
                        const SampleRun& run, Progress& progress);
SampleResult sample_ddim(const ScoreModel& model, std::size_t n, const FastOptions& options,
                         const SampleRun& run, Progress& progress);
// DPM-Solver++ and, with options.unipc, UniPC.
SampleResult sample_dpm_solver(const ScoreModel& model, std::size_t n, const FastOptions& options,
                               const SampleRun& run, Progress& progress);

// The default step count of a fast solver (DDIM when ddim, otherwise
// DPM-Solver++ or UniPC as options say). Chosen on the exact score of both
// test mixtures (data/aniso2d.json, data/full5d.json) under VE, VP and
// sub-VP at 20 000 samples, trying 20, 30, 40, 50, 60, 80, 100, 150 and 200
// steps (the session scans; bench/ORACLE.md has the defaults and 20-40):
//   60 for DPM-Solver++ and UniPC: the second-order ones need 50-60 to stay
//      within 3 SE in mean log-density (DPM-Solver++ 2M at 50: 3.8 SE off),
//      the third-order ones 30-40;
//   100 for the stochastic 2M (4.5 SE off at 60);
//   200 for the first-order solvers, DDIM and DPM-Solver++ of order 1
//      (4.4 SE off at 100, 2.7 at 150, 1.9 at 200).
// Not the stochastic order 1 (= DDIM with eta = 1): it is biased towards the
// modes at any practical step count (+7 SE at 200 steps in 5-D, +3 at 1000).
// At 20 steps the solvers are up to 19 SE off; --steps trades accuracy for time.
int default_fast_steps(bool ddim, const FastOptions& options);

// The decreasing time grid T = t_0 > ... > t_steps = eps of a fast solver.
std::vector<double> time_grid(const Sde& sde, const FastOptions& options);

}  // namespace sde
